# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.windows_release_check (documented in plugins/modules)."""
from __future__ import annotations

from ansible_collections.buildfarm.images.plugins.module_utils.build import scheduling
from ansible_collections.buildfarm.images.plugins.module_utils.build._windows_action import error_fields
from ansible_collections.buildfarm.images.plugins.plugin_utils.action import ControllerAction

_ARGUMENT_SPEC = {
    "release": {"type": "str", "required": True, "choices": list(scheduling.WINDOWS_RELEASES)},
    "build": {"type": "str", "required": True},
}


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = _ARGUMENT_SPEC

    def work(self, result, args, task_vars):
        try:
            release = scheduling.check_windows_release(args["release"], args["build"])
        except scheduling.WindowsReleaseError as e:
            # the message names the host (not the error class): the builder to fix is what the reader needs
            result.update(error_fields(e), failed=True, msg="%s: %s" % (task_vars.get("inventory_hostname"), e))
            return result
        result.update(changed=False, release=release, build=scheduling.WINDOWS_RELEASES[release],
                      constraints=scheduling.host_constraints(release))
        return result
