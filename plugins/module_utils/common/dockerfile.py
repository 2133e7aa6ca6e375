# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one reader of a Dockerfile's FROM lines: which images it is built FROM, and the same text with them pinned.

The planner (family/), the release (release/) and the builders (build/) all ask a Dockerfile what it is built
FROM; they ask here, so a `--platform=` flag, a stage name or `scratch` means the same thing to each of them.
Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

_FROM_RE = re.compile(r"^(?P<lead>\s*FROM\s+(?:--platform=\S+\s+)?)(?P<ref>\S+)(?P<rest>.*)$", re.IGNORECASE)
_STAGE_RE = re.compile(r"\s+AS\s+(?P<name>\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class FromLine:
    line_no: int  # 0-based index into the Dockerfile's lines
    ref: str  # as written
    stage_parent: bool  # refers to an earlier build stage (or `scratch`, or an unexpanded $ARG), not an image


def from_lines(dockerfile: str) -> list[FromLine]:
    """Every FROM of a Dockerfile; references to earlier stages and `scratch` are marked as not images."""
    stages: set[str] = set()
    out: list[FromLine] = []
    for i, line in enumerate(dockerfile.splitlines()):
        m = _FROM_RE.match(line)
        if not m:
            continue
        ref = m.group("ref")
        out.append(FromLine(i, ref, ref.lower() in stages or ref == "scratch" or "$" in ref))
        s = _STAGE_RE.search(m.group("rest"))
        if s:
            stages.add(s.group("name").lower())
    return out


def pin_from(dockerfile: str, pins: Mapping[str, str]) -> str:
    """The Dockerfile with each FROM reference in ``pins`` replaced by its pinned value (an image id).

    Pinning to image ids keeps parallel builds of several architectures on one engine from reading
    each other's parent tags."""
    lines = dockerfile.splitlines(keepends=True)
    for f in from_lines(dockerfile):
        body = lines[f.line_no].rstrip("\r\n")
        m = _FROM_RE.match(body)  # from_lines found this line with the same pattern
        if f.ref in pins and m:
            lines[f.line_no] = m.group("lead") + pins[f.ref] + m.group("rest") + lines[f.line_no][len(body):]
    return "".join(lines)
