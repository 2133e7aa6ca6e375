"""Bad inputs, table-driven: each broken family.yml, versions.json, template or parent library file gets its own
clear error from the modules (naming the file, the field and the value) and nothing is written to the output.

Each case breaks a copy of the tiny fixture family (or its parents' library files) and runs the modules the way the
playbooks do: `dockerfiles` into <out>/render and `release_plan` into <out>/library/tiny (only `release_plan` for
problems that only planning can see: parents, exclusions, the resulting library file)."""
from __future__ import annotations

import json
import pathlib
import shutil
from dataclasses import dataclass
from typing import Callable

import pytest

from ansible_collections.buildfarm.images.tests.support.run_module import run_module

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "families"
FAMILY, VERSIONS = "tiny/family.yml", "tiny/versions.json"
Breaks = Callable[[pathlib.Path], None]  # breaks a copy of the fixtures: tiny/ and parents/ in the given folder


def _replace(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def _edit(path: str, old: str, new: str) -> Breaks:
    return lambda root: _replace(root / path, old, new)


def _delete(path: str) -> Breaks:
    return lambda root: (root / path).unlink()


def _versions(change: Callable[[dict], None]) -> Breaks:
    def breaks(root: pathlib.Path) -> None:
        data = json.loads((root / VERSIONS).read_text())
        change(data)
        (root / VERSIONS).write_text(json.dumps(data, indent=2))
    return breaks


@dataclass
class Case:
    id: str
    breaks: Breaks
    file: str  # the error's file ends with this
    field: str
    value: str  # appears in the message
    problem: str  # appears in the message
    render_fails: bool = True  # False: only planning can see it (render succeeds, so only release_plan is run)


# text edits of family.yml: (id, old text, new text, field, value, problem)
FAMILY_EDITS = [
    ("family-yaml-syntax", "builder: buildkit", "builder: [buildkit", "(yaml)", "expected ',' or ']'",
     "not valid YAML"),
    ("family-unknown-key", "exclude_architectures:", "exclude_architecture:", "exclude_architecture", "mips64le",
     "unknown key"),
    ("family-missing-maintainers", "maintainers:", "maintainer_list:", "maintainer_list", "Jane Doe", "unknown key"),
    ("family-required-key", 'templates:\n  "windows/*": windows.j2\n  "*": linux.j2\n', "# templates:\n",
     "templates", "None", "required key missing"),
    ("family-bad-name", "name: tiny", "name: Tiny", "name", "'Tiny'", "not a valid repository name"),
    ("family-template-missing", '"*": linux.j2', '"*": linux.jinja', "templates.*", "linux.jinja",
     "template file not found"),
    ("family-template-outside", '"*": linux.j2', '"*": ../tiny.j2', "templates.*", "../tiny.j2",
     "template must be inside the family folder"),
    ("family-alias-unknown-version", '"2.0": ["2", "latest"]', '"3.0": ["3", "latest"]', "aliases", "'3.0'",
     "not a key of versions.json"),
    ("family-alias-bad-tag", '["2", "latest"]', '["2", "la test"]', "aliases.2.0", "'la test'", "not a valid tag"),
    ("family-exclude-unknown-arch", "arch: mips64le", "arch: arm65", "exclude_architectures[0].arch", "'arm65'",
     "unknown architecture"),
    ("family-exclude-unknown-rule-key", 'variants: ["alpine*"]', 'variant: ["alpine*"]',
     "exclude_architectures[2].variant", "alpine*", "unknown rule key"),
    ("family-unknown-builder", "builder: buildkit", "builder: kaniko", "builder", "'kaniko'", "unknown builder"),
    ("family-architectures-unknown", "builder: buildkit", "builder: buildkit\narchitectures: [amd64, x86]",
     "architectures", "'x86'", "unknown architecture"),
    ("family-no-template-for-variant", '  "*": linux.j2\n', "", "templates", "'bookworm'",
     "no template glob matches variant"),
]

# changes of the versions.json data: (id, change, field, value, problem)
VERSIONS_CHANGES = [
    ("versions-missing-version", lambda d: d["2.0"].pop("version"), "2.0.version", "None",
     "missing or not a version string"),
    ("versions-variant-twice", lambda d: d["1.10"]["variants"].append("bookworm"), "1.10.variants", "'bookworm'",
     "variant listed twice"),
    ("versions-bad-variant", lambda d: d["1.9"]["variants"].append("Slim Trixie"), "1.9.variants", "'Slim Trixie'",
     "not a valid variant directory name"),
    ("versions-version-of-other-key", lambda d: d["2.0"].update(version="2.1.0"), "2.0.version", "'2.1.0'",
     "does not belong to versions key '2.0'"),
    ("versions-bad-sha256", lambda d: d["1.9"]["checksums"]["source"].update(sha256="abc"),
     "1.9.checksums.source.sha256", "'abc'", "not 64 lowercase hex digits"),
    ("versions-empty-variants", lambda d: d["1.9"].update(variants=[]), "1.9.variants", "[]", "must not be empty"),
]

# every planned entry of 1.10 loses its last architecture
NO_ARCH_LEFT = "  - arch: mips64le\n" + "".join("  - {arch: %s, versions: [\"1.10\"]}\n" % a
                                                for a in ("amd64", "arm64v8", "ppc64le", "s390x"))

CASES = [Case(id, _edit(FAMILY, old, new), FAMILY, *error) for id, old, new, *error in FAMILY_EDITS] + [
    Case(id, _versions(change), VERSIONS, *error) for id, change, *error in VERSIONS_CHANGES] + [
    Case("family-file-missing", _delete(FAMILY), FAMILY, "(file)", "family.yml", "family file not found"),
    Case("versions-invalid-json", _edit(VERSIONS, '"version": "1.9.4"', '"version": 1.9.4,'),
         VERSIONS, "(json)", "Expecting", "not valid JSON"),
    # templates
    Case("template-syntax", _edit("tiny/linux.j2", "{%- endif %}", "{%- endfor %}"),
         "tiny/linux.j2", "(template syntax)", "endfor", "template does not parse"),
    Case("template-undefined", _edit("tiny/windows.j2", "{{ version }}", "{{ full_version }}"),
         "tiny/windows.j2", "2.0/windows/windowsservercore-ltsc2025", "'full_version' is undefined",
         "undefined template variable"),
    # problems only planning sees: render succeeds, so only release_plan runs
    Case("template-no-from", _edit("tiny/windows.j2", "FROM mcr", "LABEL base=mcr"),
         "windowsservercore-ltsc2025/Dockerfile (rendered from %s)", "FROM", "''",
         "the rendered Dockerfile has no FROM line", render_fails=False),
    Case("parent-library-missing", _delete("parents/alpine"),
         "2.1-rc/alpine3.21/Dockerfile (rendered from %s)", "FROM", "'alpine:3.21'",
         "parent image not found: no library file", render_fails=False),
    Case("parent-tag-missing", _edit("parents/alpine", "Tags: 3.20.5, 3.20", "Tags: 3.20.5"),
         "2.0/alpine3.20/Dockerfile (rendered from %s)", "FROM", "'alpine:3.20'", "tag '3.20' is not in",
         render_fails=False),
    Case("parent-library-syntax", _edit("parents/debian", "Directory: bookworm/slim", "Directory bookworm/slim"),
         "parents/debian", "(library file)", "'debian'", "not a 'Field: value' line", render_fails=False),
    Case("parent-library-invalid", _edit("parents/buildpack-deps", "amd64, arm64v8, mips64le, riscv64",
                                         "amd64, arm64v8, mips64le, riscv32"),
         "parents/buildpack-deps", "(library file)", "'buildpack-deps'", "'riscv32': unknown architecture",
         render_fails=False),
    Case("plan-no-architecture-left", _edit(FAMILY, "  - arch: mips64le\n", NO_ARCH_LEFT),
         FAMILY, "exclude_architectures", "'1.10/bookworm'", "no architecture left for this entry",
         render_fails=False),
    Case("plan-duplicate-tags", _edit(FAMILY, '["2", "latest"]', '["2", "2.1-rc"]'),
         FAMILY, "Tags", "'2.1-rc-trixie'", "the planned library file would be invalid", render_fails=False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: pathlib.Path):
    fam, parents, out = tmp_path / "tiny", tmp_path / "parents", tmp_path / "out"
    shutil.copytree(FIXTURES / "tiny", fam)
    shutil.copytree(FIXTURES / "parents", parents)
    case.breaks(tmp_path)
    file = case.file.replace("%s", str(fam / ("windows.j2" if "windows" in case.file else "linux.j2")))

    results = []
    if case.render_fails:
        results.append(run_module("dockerfiles", {"family": str(fam), "dest": str(out / "render")}))
    results.append(run_module("release_plan", {"family": str(fam), "parents_library": str(parents),
                                               "dest": str(out / "library" / "tiny")}))
    for r in results:
        assert r.get("failed") is True, r
        assert r["file"].endswith(file), r["msg"]
        assert r["field"] == case.field, r["msg"]
        assert case.value in r["msg"], r["msg"]
        assert case.problem in r["msg"], r["msg"]
        assert file in r["msg"] and "field %s" % case.field in r["msg"]
    assert not out.exists(), sorted(str(p) for p in out.rglob("*"))


def test_every_case_has_its_own_error():
    assert len(CASES) >= 15
    assert len({(c.field, c.problem) for c in CASES}) == len(CASES)
