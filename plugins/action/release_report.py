# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.release_report (documented in plugins/modules): with I(builders) given as
a list of hosts, each builder's architecture (C(buildfarm_arch)) and registered result (C(buildfarm_build_result))
are read from the hostvars here, in Python, instead of being assembled by a template in the playbook, with the
facts the page shows of each builder (emulated, native architecture); then the module writes the report. A
relative I(dest_dir) resolves against the directory ansible-playbook runs in."""
from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.plugin_utils.action import ModuleAction
from ansible_collections.buildfarm.images.plugins.plugin_utils.hostvars import build_results, builder_vars
from ansible_collections.buildfarm.images.plugins.plugin_utils.paths import absolute_paths


def _facts(hv: Mapping[str, Any]) -> dict[str, Any]:
    """What the page says of a builder: emulated or native (the inventory), the host's own architecture (the
    builder role's check, when it ran)."""
    f: dict[str, Any] = {}
    if isinstance(hv.get("buildfarm_emulated"), bool):
        f["emulated"] = hv["buildfarm_emulated"]
    checked = hv.get("buildfarm_builder_arch")
    if isinstance(checked, dict) and checked.get("native"):
        f["native"] = str(checked["native"])
    return f


class ActionModule(ModuleAction):
    MODULE = "buildfarm.images.release_report"

    def module_args(self, args: dict[str, Any], task_vars: Mapping[str, Any]) -> dict[str, Any]:
        builders = args.get("builders")
        if isinstance(builders, list):
            hosts = builder_vars(task_vars, builders)
            args["builders"] = {h: str(hv.get("buildfarm_arch", "")) for h, hv in hosts.items()}
            # why a builder failed before it recorded a result (the release playbook's rescue sets it)
            args.setdefault("errors", {h: str(hv["buildfarm_build_error"]) for h, hv in hosts.items()
                                       if hv.get("buildfarm_build_error")})
            args.setdefault("builder_facts", {h: f for h, f in ((h, _facts(hv)) for h, hv in hosts.items()) if f})
            args.setdefault("results", build_results(task_vars, builders))
        return absolute_paths(args, ("dest_dir", "dest"))  # dest is dest_dir's old name, an alias
