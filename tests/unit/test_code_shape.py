"""The shape issue 24 set for the code, kept by a test: no function in plugins/ over 60 lines, and no module with
more than 40 lines of code beyond its documentation, imports and argument spec (the logic lives in module_utils,
where it is unit-tested without Ansible)."""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
MAX_FUNCTION = 60
MAX_MODULE_LOGIC = 40
_DOC_NAMES = {"DOCUMENTATION", "EXAMPLES", "RETURN", "__metaclass__"}


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _code_lines(source: list[str], first: int, last: int) -> set[int]:
    """The lines first..last (1-based) that hold code: not blank, not only a comment."""
    return {n for n in range(first, last + 1) if source[n - 1].strip() and not source[n - 1].strip().startswith("#")}


def _spec_lines(tree: ast.AST, source: list[str]) -> set[int]:
    """Lines of the argument spec: the value of an `argument_spec=` keyword or of a name ending in SPEC/ARGS,
    and the AnsibleModule keywords that only describe options (mutually_exclusive and the like)."""
    lines: set[int] = set()
    spec_keywords = {"argument_spec", "mutually_exclusive", "required_one_of", "required_together", "required_if",
                     "required_by", "supports_check_mode", "requires"}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in spec_keywords:
            lines |= _code_lines(source, node.value.lineno, node.value.end_lineno or node.value.lineno)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.endswith(("SPEC", "ARGS", "_spec"))
                                                for t in node.targets):
            lines |= _code_lines(source, node.lineno, node.end_lineno or node.lineno)
    return lines


def _module_logic(path: pathlib.Path) -> int:
    source = path.read_text().splitlines()
    tree = ast.parse("\n".join(source))
    lines: set[int] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # the module docstring
        if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) and t.id in _DOC_NAMES for t in stmt.targets):
            continue
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test):
            continue
        if isinstance(stmt, ast.Try) and all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Assign, ast.Pass))
                                             for s in stmt.body + [h for x in stmt.handlers for h in x.body]):
            continue  # an optional import and its fallback
        lines |= _code_lines(source, stmt.lineno, stmt.end_lineno or stmt.lineno)
    # a def line and a docstring are not logic either
    for fn in _functions(tree):
        lines.discard(fn.lineno)
        if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant):
            lines -= set(range(fn.body[0].lineno, (fn.body[0].end_lineno or fn.body[0].lineno) + 1))
    return len(lines - _spec_lines(tree, source))


def _long_functions() -> list[str]:
    out = []
    for path in sorted(PLUGINS.rglob("*.py")):
        for fn in _functions(ast.parse(path.read_text())):
            length = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if length > MAX_FUNCTION:
                out.append("%s:%d %s (%d lines)" % (path.relative_to(ROOT), fn.lineno, fn.name, length))
    return out


def test_no_function_over_60_lines():
    assert _long_functions() == []


@pytest.mark.parametrize("path", sorted((PLUGINS / "modules").glob("*.py")), ids=lambda p: p.name)
def test_modules_are_thin(path):
    assert _module_logic(path) <= MAX_MODULE_LOGIC, "%s: %d lines of logic beyond documentation and argument spec" % (
        path.name, _module_logic(path))


def test_the_measure_sees_logic():
    """The counter is not blind: a module with a 50-line function counts at least 50."""
    body = "\n".join("    x%d = %d" % (i, i) for i in range(50))
    sample = PLUGINS.parent / ".cache" / "shape_sample.py"
    sample.parent.mkdir(exist_ok=True)
    sample.write_text('DOCUMENTATION = "x"\nimport os\n\ndef main():\n    """doc"""\n%s\n' % body)
    try:
        assert _module_logic(sample) == 50
    finally:
        sample.unlink()
