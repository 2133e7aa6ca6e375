# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.windows_share (documented in plugins/modules): argument checking around
module_utils/build/windows_share.py, which computes the share from the release bundle."""
from __future__ import annotations

import os

from ansible_collections.buildfarm.images.plugins.module_utils.build._windows_action import run_action
from ansible_collections.buildfarm.images.plugins.module_utils.build.windows_share import windows_share_from_bundle
from ansible_collections.buildfarm.images.plugins.plugin_utils.action import ControllerAction

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


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = _ARGUMENT_SPEC

    def work(self, result, args, task_vars):
        # relative to the directory ansible-playbook runs in, as release_prepare's paths
        return run_action(result, "windows_share (%s)" % args["host"], lambda: dict(windows_share_from_bundle(
            os.path.abspath(args["bundle"]), args["families"], args["host"], args["releases"], args["registry"],
            args["work_dir"], namespace=args["namespace"], build_args=args["build_args"], arch=args["arch"]),
            changed=False))
