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


def _replace(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def _versions(fam: pathlib.Path, change: Callable[[dict], None]) -> None:
    data = json.loads((fam / "versions.json").read_text())
    change(data)
    (fam / "versions.json").write_text(json.dumps(data, indent=2))


@dataclass
class Case:
    id: str
    breaks: Callable[[pathlib.Path, pathlib.Path], None]  # (family folder, parents folder)
    file: str  # the error's file ends with this
    field: str
    value: str  # appears in the message
    problem: str  # appears in the message
    render_fails: bool = True  # False: only planning can see it (render succeeds, so only release_plan is run)


CASES = [
    # family.yml
    Case("family-file-missing", lambda f, p: (f / "family.yml").unlink(),
         "tiny/family.yml", "(file)", "family.yml", "family file not found"),
    Case("family-yaml-syntax", lambda f, p: _replace(f / "family.yml", "builder: buildkit", "builder: [buildkit"),
         "tiny/family.yml", "(yaml)", "expected ',' or ']'", "not valid YAML"),
    Case("family-unknown-key", lambda f, p: _replace(f / "family.yml", "exclude_architectures:",
                                                     "exclude_architecture:"),
         "tiny/family.yml", "exclude_architecture", "mips64le", "unknown key"),
    Case("family-missing-maintainers", lambda f, p: _replace(f / "family.yml", "maintainers:", "maintainer_list:"),
         "tiny/family.yml", "maintainer_list", "Jane Doe", "unknown key"),
    Case("family-required-key", lambda f, p: _replace(f / "family.yml", "templates:", "# templates:")
         or _replace(f / "family.yml", '  "windows/*": windows.j2\n  "*": linux.j2\n', ""),
         "tiny/family.yml", "templates", "None", "required key missing"),
    Case("family-bad-name", lambda f, p: _replace(f / "family.yml", "name: tiny", "name: Tiny"),
         "tiny/family.yml", "name", "'Tiny'", "not a valid repository name"),
    Case("family-template-missing", lambda f, p: _replace(f / "family.yml", '"*": linux.j2', '"*": linux.jinja'),
         "tiny/family.yml", "templates.*", "linux.jinja", "template file not found"),
    Case("family-template-outside", lambda f, p: _replace(f / "family.yml", '"*": linux.j2', '"*": ../tiny.j2'),
         "tiny/family.yml", "templates.*", "../tiny.j2", "template must be inside the family folder"),
    Case("family-alias-unknown-version", lambda f, p: _replace(f / "family.yml", '"2.0": ["2", "latest"]',
                                                               '"3.0": ["3", "latest"]'),
         "tiny/family.yml", "aliases", "'3.0'", "not a key of versions.json"),
    Case("family-alias-bad-tag", lambda f, p: _replace(f / "family.yml", '["2", "latest"]', '["2", "la test"]'),
         "tiny/family.yml", "aliases.2.0", "'la test'", "not a valid tag"),
    Case("family-exclude-unknown-arch", lambda f, p: _replace(f / "family.yml", "arch: mips64le", "arch: arm65"),
         "tiny/family.yml", "exclude_architectures[0].arch", "'arm65'", "unknown architecture"),
    Case("family-exclude-unknown-rule-key", lambda f, p: _replace(f / "family.yml", 'variants: ["alpine*"]',
                                                                  'variant: ["alpine*"]'),
         "tiny/family.yml", "exclude_architectures[2].variant", "alpine*", "unknown rule key"),
    Case("family-unknown-builder", lambda f, p: _replace(f / "family.yml", "builder: buildkit", "builder: kaniko"),
         "tiny/family.yml", "builder", "'kaniko'", "unknown builder"),
    Case("family-architectures-unknown", lambda f, p: _replace(f / "family.yml", "builder: buildkit",
                                                               "builder: buildkit\narchitectures: [amd64, x86]"),
         "tiny/family.yml", "architectures", "'x86'", "unknown architecture"),
    Case("family-no-template-for-variant", lambda f, p: _replace(f / "family.yml", '  "*": linux.j2\n', ""),
         "tiny/family.yml", "templates", "'bookworm'", "no template glob matches variant"),
    # versions.json
    Case("versions-invalid-json", lambda f, p: _replace(f / "versions.json", '"version": "1.9.4"', '"version": 1.9.4,'),
         "tiny/versions.json", "(json)", "Expecting", "not valid JSON"),
    Case("versions-missing-version", lambda f, p: _versions(f, lambda d: d["2.0"].pop("version")),
         "tiny/versions.json", "2.0.version", "None", "missing or not a version string"),
    Case("versions-variant-twice", lambda f, p: _versions(f, lambda d: d["1.10"]["variants"].append("bookworm")),
         "tiny/versions.json", "1.10.variants", "'bookworm'", "variant listed twice"),
    Case("versions-bad-variant", lambda f, p: _versions(f, lambda d: d["1.9"]["variants"].append("Slim Trixie")),
         "tiny/versions.json", "1.9.variants", "'Slim Trixie'", "not a valid variant directory name"),
    Case("versions-version-of-other-key", lambda f, p: _versions(f, lambda d: d["2.0"].update(version="2.1.0")),
         "tiny/versions.json", "2.0.version", "'2.1.0'", "does not belong to versions key '2.0'"),
    Case("versions-bad-sha256", lambda f, p: _versions(f, lambda d: d["1.9"]["checksums"]["source"].update(
        sha256="abc")), "tiny/versions.json", "1.9.checksums.source.sha256", "'abc'", "not 64 lowercase hex digits"),
    Case("versions-empty-variants", lambda f, p: _versions(f, lambda d: d["1.9"].update(variants=[])),
         "tiny/versions.json", "1.9.variants", "[]", "must not be empty"),
    # templates
    Case("template-syntax", lambda f, p: _replace(f / "linux.j2", "{%- endif %}", "{%- endfor %}"),
         "tiny/linux.j2", "(template syntax)", "endfor", "template does not parse"),
    Case("template-undefined", lambda f, p: _replace(f / "windows.j2", "{{ version }}", "{{ full_version }}"),
         "tiny/windows.j2", "2.0/windows/windowsservercore-ltsc2025", "'full_version' is undefined",
         "undefined template variable"),
    Case("template-no-from", lambda f, p: _replace(f / "windows.j2", "FROM mcr", "LABEL base=mcr"),
         "windowsservercore-ltsc2025/Dockerfile (rendered from %s)", "FROM", "''",
         "the rendered Dockerfile has no FROM line", render_fails=False),
    # parents' library files (and planning)
    Case("parent-library-missing", lambda f, p: (p / "alpine").unlink(),
         "2.1-rc/alpine3.21/Dockerfile (rendered from %s)", "FROM", "'alpine:3.21'",
         "parent image not found: no library file", render_fails=False),
    Case("parent-tag-missing", lambda f, p: _replace(p / "alpine", "Tags: 3.20.5, 3.20", "Tags: 3.20.5"),
         "2.0/alpine3.20/Dockerfile (rendered from %s)", "FROM", "'alpine:3.20'", "tag '3.20' is not in",
         render_fails=False),
    Case("parent-library-syntax", lambda f, p: _replace(p / "debian", "Directory: bookworm/slim",
                                                        "Directory bookworm/slim"),
         "parents/debian", "(library file)", "'debian'", "not a 'Field: value' line", render_fails=False),
    Case("parent-library-invalid", lambda f, p: _replace(p / "buildpack-deps", "amd64, arm64v8, mips64le, riscv64",
                                                         "amd64, arm64v8, mips64le, riscv32"),
         "parents/buildpack-deps", "(library file)", "'buildpack-deps'", "'riscv32': unknown architecture",
         render_fails=False),
    Case("plan-no-architecture-left", lambda f, p: _replace(
        f / "family.yml", "  - arch: mips64le\n",
        "  - arch: mips64le\n" + "".join("  - {arch: %s, versions: [\"1.10\"]}\n" % a
                                         for a in ("amd64", "arm64v8", "ppc64le", "s390x"))),
         "tiny/family.yml", "exclude_architectures", "'1.10/bookworm'", "no architecture left for this entry",
         render_fails=False),
    Case("plan-duplicate-tags", lambda f, p: _replace(f / "family.yml", '["2", "latest"]', '["2", "2.1-rc"]'),
         "tiny/family.yml", "Tags", "'2.1-rc-trixie'", "the planned library file would be invalid",
         render_fails=False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: pathlib.Path):
    fam, parents, out = tmp_path / "tiny", tmp_path / "parents", tmp_path / "out"
    shutil.copytree(FIXTURES / "tiny", fam)
    shutil.copytree(FIXTURES / "parents", parents)
    case.breaks(fam, parents)
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
