# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.windows_release_check (documented in plugins/modules)."""
from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.buildfarm.images.plugins.module_utils.build import scheduling

_ARGUMENT_SPEC = {
    "release": {"type": "str", "required": True, "choices": list(scheduling.WINDOWS_RELEASES)},
    "build": {"type": "str", "required": True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=_ARGUMENT_SPEC)
        try:
            release = scheduling.check_windows_release(args["release"], args["build"])
        except scheduling.WindowsReleaseError as e:
            result.update(failed=True, msg="%s: %s" % (task_vars.get("inventory_hostname"), e))
            return result
        result.update(
            changed=False,
            release=release,
            build=scheduling.WINDOWS_RELEASES[release],
            constraints=scheduling.host_constraints(release),
        )
        return result
