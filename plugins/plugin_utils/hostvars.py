# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the action plugins read of the builders from the hostvars, in one place: each builder's recorded result
(`buildfarm_build_result`, set by the build role) and its other variables. Action-side only (the hostvars exist on
the controller), hence not in module_utils."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

BUILD_RESULT = "buildfarm_build_result"


def builder_vars(task_vars: Mapping[str, Any] | None, builders: Iterable[str]) -> dict[str, Mapping[str, Any]]:
    """Host -> its hostvars, of each builder the inventory knows (in the order given)."""
    hostvars = (task_vars or {}).get("hostvars", {})
    return {h: hostvars[h] for h in builders if h in hostvars}


def build_results(task_vars: Mapping[str, Any] | None, builders: Iterable[str]) -> dict[str, Any]:
    """Host -> its recorded result, of each builder that recorded one (the others never reported)."""
    return {h: hv[BUILD_RESULT] for h, hv in builder_vars(task_vars, builders).items()
            if hv.get(BUILD_RESULT) is not None}
