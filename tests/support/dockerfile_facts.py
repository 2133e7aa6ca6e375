"""The facts a Dockerfile states, as ../shared/golden/*/dockerfile-facts.json lists them: FROM lines, every ENV
name and value, and CMD. A small, independent reading of the Dockerfile syntax (parser directives, line
continuations with `\\` or the `# escape=` character, comment lines inside continuations, `ENV A=1 B=2` and the
legacy `ENV A 1`), so tests check rendered output with something other than the code that produced it."""
from __future__ import annotations

import re
import shlex

_DIRECTIVE_RE = re.compile(r"^#\s*escape\s*=\s*(\S)\s*$", re.IGNORECASE)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for every instruction, continuation lines joined."""
    lines = text.splitlines()
    escape = "\\"
    for line in lines:  # parser directives come first, before any comment or instruction
        m = _DIRECTIVE_RE.match(line)
        if m:
            escape = m.group(1)
            continue
        break
    out: list[tuple[str, str]] = []
    current = ""
    for line in lines:
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment line inside a continued instruction is dropped by the builder
        if stripped.endswith(escape):
            current += stripped[:-1] + " "
            continue
        current += stripped
        out.append(_split(current))
        current = ""
    if current.strip():
        out.append(_split(current))
    return out


def _split(instruction: str) -> tuple[str, str]:
    word, args = (instruction.strip().split(None, 1) + [""])[:2]
    return word.upper(), args.strip()


def env_pairs(args: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of one ENV instruction."""
    first = args.split(None, 1)[0]
    if "=" not in first:  # legacy form: ENV NAME the rest is the value
        name, value = (args.split(None, 1) + [""])[:2]
        return [(name, value.strip())]
    pairs = []
    for token in shlex.split(args, posix=True):
        name, value = token.split("=", 1)
        pairs.append((name, value))
    return pairs


def facts(text: str) -> dict:
    """{"from": [...], "env": {name: value}, "cmd": "..."} of a Dockerfile."""
    froms: list[str] = []
    env: dict[str, str] = {}
    cmd = None
    for word, args in instructions(text):
        if word == "FROM":
            froms.append(args.split()[0] if not args.startswith("--") else args.split()[1])
        elif word == "ENV":
            env.update(env_pairs(args))
        elif word == "CMD":
            cmd = args
    return {"from": froms, "env": env, "cmd": cmd}
