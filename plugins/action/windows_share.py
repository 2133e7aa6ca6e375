# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.windows_share (documented in plugins/modules): argument checking around
module_utils/build/windows_share.py, which computes the share from the release bundle."""
from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.buildfarm.images.plugins.module_utils.build import scheduling, smoke_tests
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import BuildInputError
from ansible_collections.buildfarm.images.plugins.module_utils.build.windows_share import (
    BundleError,
    windows_share_from_bundle,
)
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures

_ARGUMENT_SPEC = {
    "bundle": {"type": "path", "required": True},
    "families": {"type": "list", "elements": "str"},
    "host": {"type": "str", "required": True},
    "releases": {"type": "dict", "required": True},
    "registry": {"type": "str", "required": True},
    "namespace": {"type": "str", "default": ""},
    "work_dir": {"type": "str", "required": True},
    "build_args": {"type": "dict", "default": {}},
    "arch": {"type": "str", "default": "windows-amd64"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=_ARGUMENT_SPEC)
        try:
            # relative to the directory ansible-playbook runs in, as release_prepare's paths
            share = windows_share_from_bundle(os.path.abspath(args["bundle"]), args["families"], args["host"],
                                              args["releases"], args["registry"], args["work_dir"],
                                              namespace=args["namespace"], build_args=args["build_args"],
                                              arch=args["arch"])
        except (BundleError, scheduling.SchedulingError, BuildInputError, smoke_tests.SmokeTestError,
                architectures.UnknownArchitecture, KeyError, IndexError) as e:
            result.update(failed=True, msg="windows_share (%s): %s: %s" % (args["host"], type(e).__name__, e))
            return result
        result.update(changed=False, **share)
        return result
