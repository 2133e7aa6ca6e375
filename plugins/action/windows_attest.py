# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.windows_attest (documented in plugins/modules): the options checked, then
module_utils/build/_windows_publish.py does the job."""
from __future__ import annotations

import os

from ansible_collections.buildfarm.images.plugins.module_utils.attest.windows import SCANNERS
from ansible_collections.buildfarm.images.plugins.module_utils.build._windows_action import run_action
from ansible_collections.buildfarm.images.plugins.module_utils.build._windows_publish import attest_share
from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import REGISTRY_ARGS
from ansible_collections.buildfarm.images.plugins.plugin_utils.action import ControllerAction

_ARGUMENT_SPEC = dict(
    REGISTRY_ARGS,
    images={"type": "list", "elements": "dict", "required": True},
    builds={"type": "list", "elements": "dict", "default": []},
    bundle={"type": "path"},
    host={"type": "str", "required": True},
    arch={"type": "str", "default": "windows-amd64"},
    attestations={"type": "bool", "default": True},
    builder_id={"type": "str", "default": ""},
    scanner={"type": "str", "default": "syft", "choices": list(SCANNERS)},
    syft_path={"type": "path", "default": ""},
    scan_timeout={"type": "int", "default": 900},
)


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = _ARGUMENT_SPEC

    def work(self, result, args, task_vars):
        if args.get("bundle"):  # relative to the directory ansible-playbook runs in, as windows_share's
            args["bundle"] = os.path.abspath(args["bundle"])
        return run_action(result, "windows_attest (%s)" % args["host"],
                          lambda: attest_share(args, bool(self._play_context.check_mode)))
