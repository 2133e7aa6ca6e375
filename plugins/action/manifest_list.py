# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.manifest_list (documented in plugins/modules): with I(builders), what each
builder pushed (C(buildfarm_build_result.pushed)) is read from the hostvars here, in Python, instead of being
assembled by a template in the playbook; then the module publishes, listing those pushes without reading them
back."""
from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.plugin_utils.action import ModuleAction
from ansible_collections.buildfarm.images.plugins.plugin_utils.hostvars import build_results


class ActionModule(ModuleAction):
    MODULE = "buildfarm.images.manifest_list"

    def module_args(self, args: dict[str, Any], task_vars: Mapping[str, Any]) -> dict[str, Any]:
        builders = args.get("builders")
        if isinstance(builders, list) and not args.get("pushed"):
            args["pushed"] = [item for res in build_results(task_vars, builders).values() if isinstance(res, dict)
                              for item in res.get("pushed") or []]
        return args
