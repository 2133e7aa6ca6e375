# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.release_prepare (documented in plugins/modules): relative paths are made
absolute against the directory ansible-playbook runs in, so a release reads and writes the user's project, never
the playbook's folder inside an installed collection; then the module runs."""
from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

_PATH_OPTIONS = ("families_dir", "work_dir", "artifacts_dir", "parents_library")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        for key in _PATH_OPTIONS:
            if args.get(key):
                args[key] = os.path.abspath(os.path.expanduser(str(args[key])))
        overrides = args.get("overrides")
        if isinstance(overrides, dict):  # the module checks the rest of it
            args["overrides"] = {
                name: dict(o, versions_file=os.path.abspath(os.path.expanduser(str(o["versions_file"]))))
                if isinstance(o, dict) and isinstance(o.get("versions_file"), str) and o["versions_file"] else o
                for name, o in overrides.items()}
        result.update(self._execute_module(module_name="buildfarm.images.release_prepare", module_args=args,
                                           task_vars=task_vars))
        return result
