# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one error base: bad input is reported with the file, the field and the value at fault.

Plain Python, importable without Ansible. Modules catch `BuildfarmError` and fail with `str(exc)`, so every
error message has one shape: `file: field X: problem (value: V)` (each part only when known).
"""
from __future__ import annotations

from typing import Any

_UNSET: Any = object()


class BuildfarmError(Exception):
    """An error naming where it comes from.

    `file`: the file (or input) at fault; `field`: the field in it; `value`: the offending value (never pass a
    secret: it is printed). `problem` is the bare description, kept for callers that re-wrap the error;
    `details`: results the failed task still returns (see common/module.py).
    """

    def __init__(self, problem: str, file: str | None = None, field: str | None = None, value: Any = _UNSET,
                 details: dict[str, Any] | None = None) -> None:
        self.problem = problem
        # what the task returns beside the message when this error fails it (the module runner adds it)
        self.details: dict[str, Any] = dict(details or {})
        self.file = file
        self.field = field
        self.value = None if value is _UNSET else value
        self.has_value = value is not _UNSET
        super().__init__(self.format())

    def format(self) -> str:
        out = "%s: " % self.file if self.file else ""
        if self.field:
            out += "field %s: " % self.field
        out += self.problem
        if self.has_value:
            # repr for strings: an empty value, trailing blanks or non-ASCII characters stay visible.
            out += " (value: %s)" % (repr(self.value) if isinstance(self.value, str) else self.value)
        return out


class LineError(BuildfarmError):
    """An error in a line of a contributor's file (family.yml, a library file): `file:line: field F: problem
    (value: 'V')`, the value always shown (as repr: an empty string, None or trailing blanks stay visible).

    Arguments in the order the family and library loaders name them: file, field, value, problem, line.
    """

    def __init__(self, file: str, field: str, value: Any, problem: str, line: int | None = None,
                 details: dict[str, Any] | None = None) -> None:
        self.line = line  # before the base's __init__, which formats the message with it
        super().__init__(problem, file, field, value, details=details)

    def format(self) -> str:
        where = "%s:%d" % (self.file, self.line) if self.line else self.file
        return "%s: field %s: %s (value: %r)" % (where, self.field, self.problem, self.value)
