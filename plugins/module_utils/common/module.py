# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one runner every module of the collection goes through (as kubernetes.core's AnsibleK8SModule).

A module is its argument spec, a call of `BuildfarmModule(...).run(work)` and nothing else: `work(module)` does the
job through module_utils and returns the result dict (with its `diff`, which goes out only in diff mode and when
not empty). Bad input and faults are `BuildfarmError`s; they are caught here, once, and fail the task with the
file, field and value they name, plus any result the error carries (`BuildfarmError.details`, e.g. the lists that
were published before one failed). An OSError (a file that cannot be read) fails the same way, naming its file.
Anything else is a bug and keeps Ansible's traceback.
"""
from __future__ import annotations

from typing import Any, Callable, NoReturn, Sequence

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError


class BuildfarmModule(AnsibleModule):
    """AnsibleModule with one way to fail from an exception and one way to run.

    `requires`: (library name, import error or None) pairs, checked before anything runs, so a missing PyYAML
    says so instead of failing with a NameError later.
    """

    def __init__(self, *args: Any, requires: Sequence[tuple[str, Any]] = (), **kwargs: Any) -> None:
        kwargs.setdefault("supports_check_mode", True)
        super().__init__(*args, **kwargs)
        for lib, error in requires:
            if error:
                self.fail_json(msg=missing_required_lib(lib), exception=error)

    def fail_from_exception(self, exc: BaseException, **result: Any) -> NoReturn:
        """Fail the task with `exc`'s message, and its file, field and value where it names them."""
        out: dict[str, Any] = dict(result)
        if isinstance(exc, BuildfarmError):
            # getattr: a subclass with an __init__ of its own may not have run BuildfarmError's
            out.update(getattr(exc, "details", None) or {})
            for key in ("file", "field"):
                if getattr(exc, key, None):
                    out[key] = getattr(exc, key)
            if getattr(exc, "has_value", False):
                out["value"] = exc.value if isinstance(exc.value, (str, int, float, bool)) else str(exc.value)
        elif isinstance(exc, OSError) and exc.filename:
            out["file"] = str(exc.filename)
        self.fail_json(msg=str(exc), **out)
        raise SystemExit(1)  # fail_json exits; this tells the type checker so

    def run(self, work: Callable[["BuildfarmModule"], dict[str, Any]]) -> NoReturn:
        """Run `work(self)` and exit with its result; a BuildfarmError or OSError fails the task (see above)."""
        try:
            result = work(self)
        except (BuildfarmError, OSError) as exc:
            self.fail_from_exception(exc)
        diff = result.pop("diff", None)
        if self._diff and diff:
            # one rule for every module: a diff goes out only in diff mode, where Ansible shows it (elsewhere a
            # release's build and push diffs would only make every registered result longer), and only when
            # something changed
            result["diff"] = diff
        for warning in result.pop("warnings", None) or ():
            self.warn(warning)
        if result.get("failed"):
            msg = result.pop("msg", "failed")
            result.pop("failed")
            self.fail_json(msg=msg, **result)
        self.exit_json(**result)
        raise SystemExit(0)  # exit_json exits; this tells the type checker so
