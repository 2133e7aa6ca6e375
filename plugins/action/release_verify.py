# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.release_verify (documented in plugins/modules): with I(builders), each
builder's recorded result (C(buildfarm_build_result): its C(images) and C(pushed)) is read from the hostvars here,
in Python, instead of being assembled by a template in the playbook; then the module verifies."""
from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        hostvars = (task_vars or {}).get("hostvars", {})
        builders = args.get("builders")
        if isinstance(builders, list) and "results" not in args:
            results = {}
            for host in builders:
                res = hostvars[host].get("buildfarm_build_result") if host in hostvars else None
                if isinstance(res, dict):
                    results[host] = {"images": res.get("images") or [], "pushed": res.get("pushed") or []}
            args["results"] = results
        result.update(self._execute_module(module_name="buildfarm.images.release_verify", module_args=args,
                                           task_vars=task_vars))
        return result
