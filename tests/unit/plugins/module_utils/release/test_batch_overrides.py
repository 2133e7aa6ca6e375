"""release_prepare `overrides`: a farm pins another versions file, restricts a family's architectures and variants,
without editing the family; the tags stay those of the whole versions file. Bad overrides name field and value."""
from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import FamilyError, load_family
from ansible_collections.buildfarm.images.plugins.module_utils.release import batch

REPO = pathlib.Path(__file__).resolve().parents[5]
LOCAL_VERSIONS = REPO / "inventories" / "local-files" / "python-versions.json"


def _library(tmp_path: pathlib.Path) -> str:
    """debian's library file as upstream has it: the python parents outside the release."""
    lib = tmp_path / "library"
    lib.mkdir()
    (lib / "debian").write_text(
        "Maintainers: x <x@example.invalid> (@x)\nGitRepo: https://example.invalid/debian.git\n\n"
        "Tags: trixie-slim\nArchitectures: amd64, arm64v8, s390x\nGitCommit: " + "a" * 40 + "\nDirectory: t\n")
    return str(lib)


def test_local_default_pins_python_to_its_versions_file(tmp_path):
    release = batch.prepare(str(REPO / "families"), ["python"], ["amd64", "arm64v8"], _library(tmp_path),
                            overrides={"python": {"versions_file": str(LOCAL_VERSIONS), "architectures": ["amd64"],
                                                  "variants": ["slim-trixie"]}})
    plan = release.families[0].plan
    assert [(e.directory, e.version, e.architectures) for e in plan.entries] == [
        ("3.13/slim-trixie", "3.13.5", ["amd64"])]
    # upstream's tags of the entry: the -slim aliases stay (slim of the default suite of the versions file)
    assert plan.entries[0].tags == ["3.13.5-slim-trixie", "3.13-slim-trixie", "3.13.5-slim", "3.13-slim"]
    text = release.families[0].rendered["3.13/slim-trixie/Dockerfile"]
    assert "FROM debian:trixie-slim" in text
    assert "PYTHON_SHA256=93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640" in text
    assert "ENV GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305" in text
    assert "ARG PYTHON_SOURCE_URL=https://www.python.org/ftp/python" in text
    assert "ARG GPG_KEYSERVER=hkps://keys.openpgp.org" in text
    # the family's own versions file is untouched and still upstream's
    assert json.loads((REPO / "families/python/versions.json").read_text())["3.13"]["version"] != "3.13.5"


def test_overrides_of_families_not_released_are_ignored(tmp_path):
    release = batch.prepare(str(REPO / "families"), ["busybox"], ["amd64"],
                            overrides={"python": {"architectures": ["amd64"]}})
    assert [f.name for f in release.families] == ["busybox"]


@pytest.mark.parametrize("override, field, value", [
    ({"variants": ["slim-bullseye"]}, "variants", "slim-bullseye"),
    ({"architectures": ["arm65"]}, "architectures", ["arm65"]),
    ({"versions_file": "relative.json"}, "versions_file", "relative.json"),
    ({"tags": ["x"]}, "tags", ["x"]),
])
def test_bad_overrides_name_field_and_value(tmp_path, override, field, value):
    with pytest.raises(batch.ReleaseError) as exc:
        batch.prepare(str(REPO / "families"), ["python"], ["amd64"], _library(tmp_path),
                      overrides={"python": override})
    assert (exc.value.file, exc.value.field, exc.value.value) == ("overrides.python", field, value)


def test_a_bad_pinned_versions_file_names_itself(tmp_path):
    bad = tmp_path / "versions.json"
    bad.write_text(json.dumps({"3.13": {"version": "3.12.1", "variants": ["slim-trixie"]}}))
    with pytest.raises(FamilyError, match=r"versions.json: field 3.13.version: does not belong"):
        batch.prepare(str(REPO / "families"), ["python"], ["amd64"], _library(tmp_path),
                      overrides={"python": {"versions_file": str(bad)}})


def _debian_two_suites(tmp_path: pathlib.Path) -> str:
    """A versions file of debian's with trixie and bookworm, resolved offline (data.release given)."""
    path = tmp_path / "debian-versions.json"
    path.write_text(json.dumps({
        "13": {"version": "13", "suite": "trixie", "variants": ["trixie", "trixie/slim"]},
        "12": {"version": "12", "suite": "bookworm", "variants": ["bookworm", "bookworm/slim"]},
    }))
    return str(path)


def test_architectures_by_variant_glob_restrict_each_variant(tmp_path):
    """A farm whose mirror lacks one architecture of one suite restricts that suite only (the local default's
    debian: s390x for bookworm, not trixie), the family untouched."""
    family = load_family(str(REPO / "families" / "debian"))
    family = batch.apply_overrides(family, {"versions_file": _debian_two_suites(tmp_path), "architectures": {
        "trixie*": ["amd64", "arm64v8"], "bookworm*": ["amd64", "arm64v8", "s390x"]}}, "overrides.debian")
    assert family.architectures_for("trixie") == family.architectures_for("trixie/slim") == ("amd64", "arm64v8")
    assert family.architectures_for("bookworm/slim") == ("amd64", "arm64v8", "s390x")


def test_architectures_list_and_unmatched_variants(tmp_path):
    family = load_family(str(REPO / "families" / "debian"))
    versions_file = _debian_two_suites(tmp_path)
    # a list restricts every variant; the family's order is kept
    listed = batch.apply_overrides(family, {"versions_file": versions_file, "architectures": ["s390x", "amd64"]},
                                   "overrides.debian")
    assert {listed.architectures_for(v) for v in ("trixie", "bookworm/slim")} == {("amd64", "s390x")}
    # a variant no glob matches keeps the family's own list
    partial = batch.apply_overrides(family, {"versions_file": versions_file, "architectures": {
        "bookworm/slim": ["amd64"]}}, "overrides.debian")
    assert partial.architectures_for("bookworm/slim") == ("amd64",)
    assert partial.architectures_for("trixie") == family.architectures_for("trixie")
    assert "riscv64" in partial.architectures_for("trixie")


@pytest.mark.parametrize("archs, field, value", [
    ({"bullseye*": ["amd64"]}, "architectures", "bullseye*"),  # a typo would restrict nothing
    ({"trixie*": ["arm65"]}, "architectures.trixie*", ["arm65"]),
    ({"trixie*": []}, "architectures.trixie*", []),
    ({}, "architectures", {}),
    ("amd64", "architectures", "amd64"),
])
def test_bad_architectures_by_glob_name_field_and_value(tmp_path, archs, field, value):
    family = load_family(str(REPO / "families" / "debian"))
    with pytest.raises(batch.ReleaseError) as exc:
        batch.apply_overrides(family, {"versions_file": _debian_two_suites(tmp_path), "architectures": archs},
                              "overrides.debian")
    assert (exc.value.file, exc.value.field, exc.value.value) == ("overrides.debian", field, value)
