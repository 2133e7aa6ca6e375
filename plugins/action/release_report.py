# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.release_report (documented in plugins/modules): with I(builders) given as
a list of hosts, each builder's architecture (C(buildfarm_arch)) and registered result (C(buildfarm_build_result))
are read from the hostvars here, in Python, instead of being assembled by a template in the playbook, with the
facts the page shows of each builder (emulated, native architecture); then the module writes the report. A
relative I(dest_dir) resolves against the directory ansible-playbook runs in."""
from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.buildfarm.images.plugins.plugin_utils.paths import absolute_paths


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        hostvars = (task_vars or {}).get("hostvars", {})
        builders = args.get("builders")
        if isinstance(builders, list):
            args["builders"] = {h: str(hostvars[h].get("buildfarm_arch", "")) for h in builders if h in hostvars}
            # why a builder failed before it recorded a result (the release playbook's rescue sets it)
            args.setdefault("errors", {h: str(hostvars[h]["buildfarm_build_error"]) for h in builders
                                       if h in hostvars and hostvars[h].get("buildfarm_build_error")})
            # what the page says of each builder: emulated or native (the inventory), the host's own architecture
            # (the builder role's check, when it ran)
            if "builder_facts" not in args:
                facts = {}
                for h in builders:
                    hv = hostvars.get(h) or {}
                    f = {}
                    if isinstance(hv.get("buildfarm_emulated"), bool):
                        f["emulated"] = hv["buildfarm_emulated"]
                    checked = hv.get("buildfarm_builder_arch")
                    if isinstance(checked, dict) and checked.get("native"):
                        f["native"] = str(checked["native"])
                    if f:
                        facts[h] = f
                args["builder_facts"] = facts
            if "results" not in args:
                results = {}
                for h in builders:
                    res = hostvars[h].get("buildfarm_build_result") if h in hostvars else None
                    if res is not None:
                        results[h] = res
                args["results"] = results
        args = absolute_paths(args, ("dest_dir", "dest"))  # dest is dest_dir's old name, an alias
        result.update(self._execute_module(module_name="buildfarm.images.release_report", module_args=args,
                                           task_vars=task_vars))
        return result
