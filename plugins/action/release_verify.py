# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.release_verify (documented in plugins/modules): with I(builders), each
builder's recorded result (C(buildfarm_build_result): its C(images) and C(pushed)) is read from the hostvars here,
in Python, instead of being assembled by a template in the playbook; then the module verifies."""
from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.plugin_utils.action import ModuleAction
from ansible_collections.buildfarm.images.plugins.plugin_utils.hostvars import build_results


class ActionModule(ModuleAction):
    MODULE = "buildfarm.images.release_verify"

    def module_args(self, args: dict[str, Any], task_vars: Mapping[str, Any]) -> dict[str, Any]:
        builders = args.get("builders")
        if isinstance(builders, list) and "results" not in args:
            # the verify stage needs each builder's builds (for the parents) and pushes
            args["results"] = {h: {"images": res.get("images") or [], "pushed": res.get("pushed") or []}
                               for h, res in build_results(task_vars, builders).items() if isinstance(res, dict)}
        return args
