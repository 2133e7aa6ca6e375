# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the Windows action plugins (windows_share, windows_release_check, windows_attest) end: they run on
the controller (their hosts are Windows builders without Python), so they cannot use common/module.py's
BuildfarmModule, but they fail as it does: a BuildfarmError (or an OSError naming its file), caught once, fails
the task with the message and the file, field and value it names, plus the results it carries (`details`).

Plain Python, no Ansible import: the action plugin passes its result dict in.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError


def error_fields(exc: BaseException) -> dict[str, Any]:
    """The file, field and value an error names (as BuildfarmModule.fail_from_exception returns them)."""
    out: dict[str, Any] = {}
    if isinstance(exc, BuildfarmError):
        out.update(exc.details)
        out.update({k: getattr(exc, k) for k in ("file", "field") if getattr(exc, k)})
        if exc.has_value:
            out["value"] = exc.value if isinstance(exc.value, (str, int, float, bool)) else str(exc.value)
    elif isinstance(exc, OSError) and exc.filename:
        out["file"] = str(exc.filename)
    return out


def run_action(result: dict[str, Any], what: str, work: Callable[[], Mapping[str, Any]]) -> dict[str, Any]:
    """``result`` updated with ``work()``'s result, or failed with `<what>: <error class>: <message>`."""
    try:
        out = work()
    except (BuildfarmError, OSError) as exc:
        result.update(error_fields(exc), failed=True, msg="%s: %s: %s" % (what, type(exc).__name__, exc))
        return result
    result.update(out)
    return result
