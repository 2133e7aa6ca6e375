"""family.yml and versions.json: loading, validation, variant matching and version order."""
from __future__ import annotations

import json
import pathlib

import pytest
import yaml

from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import (
    ExcludeRule, FamilyError, Version, load_family, version_sort_key,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "families"


def _edit_yaml(path: pathlib.Path, **changes) -> None:
    data = yaml.safe_load(path.read_text())
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    path.write_text(yaml.safe_dump(data))


def test_load_tiny_family():
    f = load_family(str(FIXTURES / "tiny"))
    assert f.name == "tiny"
    assert f.maintainers == ("Jane Doe <jane@example.invalid> (@jane)", "John Roe <john@example.invalid> (@john)")
    assert f.builder == "buildkit"
    assert [v.key for v in f.versions] == ["1.9", "1.10", "2.0", "2.1-rc"]  # file order kept
    assert [v.key for v in f.sorted_versions()] == ["2.1-rc", "2.0", "1.10", "1.9"]
    assert f.aliases == {"2.0": ("2", "latest")}
    assert f.exclude_architectures[1] == ExcludeRule(arch="riscv64", unless_versions=("2.0",))
    assert f.template_for("windows/windowsservercore-ltsc2022") == "windows.j2"
    assert f.template_for("slim-trixie") == "linux.j2"
    assert f.architectures_for("trixie") is None


def test_architectures_key_by_variant():
    f = load_family(str(FIXTURES / "scratchbox"))
    assert f.architectures_for("uclibc") == ("amd64", "arm64v8")
    assert f.architectures_for("glibc") == ("amd64", "arm32v7", "arm64v8", "s390x")


def test_architectures_key_as_list(tiny):
    _edit_yaml(tiny / "family.yml", architectures=["amd64", "s390x"])
    assert load_family(str(tiny)).architectures_for("anything") == ("amd64", "s390x")


@pytest.mark.parametrize("keys, expected", [
    (["3.9", "3.10", "3.15-rc", "3.14", "3.15"], ["3.15", "3.15-rc", "3.14", "3.10", "3.9"]),
    (["1", "1.2", "0.9"], ["1.2", "1", "0.9"]),
])
def test_version_order(keys, expected):
    assert sorted(keys, key=version_sort_key, reverse=True) == expected


def test_exclude_rule_matching():
    v = Version(key="3.14", version="3.14.6", variants=("trixie", "alpine3.24"), data={})
    assert ExcludeRule("s390x").matches(v, "trixie")
    assert ExcludeRule("s390x", versions=("3.14.6",)).matches(v, "trixie")  # a full version
    assert ExcludeRule("s390x", versions=("3.14",)).matches(v, "trixie")  # a key
    assert not ExcludeRule("s390x", versions=("3.13",)).matches(v, "trixie")
    assert ExcludeRule("s390x", variants=("alpine*",)).matches(v, "alpine3.24")
    assert not ExcludeRule("s390x", variants=("alpine*",)).matches(v, "trixie")
    assert not ExcludeRule("riscv64", unless_versions=("3.14",)).matches(v, "trixie")
    assert ExcludeRule("riscv64", unless_versions=("3.9", "3.10")).matches(v, "trixie")


def test_exclude_shorthand_string(tiny):
    _edit_yaml(tiny / "family.yml", exclude_architectures=["mips64le"])
    assert load_family(str(tiny)).exclude_architectures == (ExcludeRule("mips64le"),)


def test_unquoted_yaml_version_key_is_explained(tiny):
    (tiny / "family.yml").write_text((tiny / "family.yml").read_text().replace('"2.0": ["2", "latest"]',
                                                                               '2.0: ["2", "latest"]'))
    with pytest.raises(FamilyError) as e:
        load_family(str(tiny))
    assert e.value.field == "aliases" and e.value.value == 2.0
    assert "quote" in str(e.value)


def test_versions_json_error_has_line(tiny):
    (tiny / "versions.json").write_text('{\n  "1.0": {"version": "1.0.0",\n  "variants": [}\n}\n')
    with pytest.raises(FamilyError) as e:
        load_family(str(tiny))
    assert e.value.line == 3
    assert str(tiny / "versions.json") + ":3" in str(e.value)


def test_version_must_belong_to_key(tiny):
    data = json.loads((tiny / "versions.json").read_text())
    data["2.0"]["version"] = "2.1.0"
    (tiny / "versions.json").write_text(json.dumps(data))
    with pytest.raises(FamilyError, match=r"field 2\.0\.version: does not belong to versions key '2\.0'"):
        load_family(str(tiny))


# Every file a family reads resolves, symlinks followed, inside its folder: family.yml, versions, templates, tests.
def _outside(tmp_path: pathlib.Path, name: str, text: str) -> pathlib.Path:
    target = tmp_path / name
    target.write_text(text)
    return target


def test_versions_file_outside_the_family_is_refused(tiny, tmp_path):
    _outside(tmp_path, "versions.json", (tiny / "versions.json").read_text())
    _edit_yaml(tiny / "family.yml", versions="../versions.json")
    with pytest.raises(FamilyError) as e:
        load_family(str(tiny))
    assert e.value.field == "versions" and e.value.value == "../versions.json"
    assert "versions file must be inside the family folder" in str(e.value)


def test_absolute_versions_path_is_refused(tiny):
    _edit_yaml(tiny / "family.yml", versions=str(tiny / "versions.json"))
    with pytest.raises(FamilyError, match="versions file must be inside the family folder"):
        load_family(str(tiny))


@pytest.mark.parametrize("name,field", [("versions.json", "versions"), ("linux.j2", "templates.*"),
                                        ("family.yml", "(file)"), ("tests.yml", "build.tests")])
def test_symlink_out_of_the_family_is_refused(tiny, tmp_path, name, field):
    target = _outside(tmp_path, "elsewhere-" + name, (FIXTURES / "tiny" / "family.yml").read_text()
                      if name == "family.yml" else (tiny / name).read_text() if (tiny / name).exists() else "[]\n")
    (tiny / name).unlink(missing_ok=True)
    (tiny / name).symlink_to(target)
    with pytest.raises(FamilyError) as e:
        load_family(str(tiny))
    assert e.value.field == field and e.value.value == name
    assert "must be inside the family folder (it resolves to %s)" % target in str(e.value)


def test_symlinks_inside_the_family_are_fine(tiny):
    (tiny / "data").mkdir()
    (tiny / "versions.json").rename(tiny / "data" / "versions.json")
    (tiny / "versions.json").symlink_to(tiny / "data" / "versions.json")
    assert [v.key for v in load_family(str(tiny)).versions] == ["1.9", "1.10", "2.0", "2.1-rc"]


def test_family_folder_reached_through_a_symlink_is_fine(tiny, tmp_path):
    (tmp_path / "link").symlink_to(tiny)
    assert load_family(str(tmp_path / "link")).name == "tiny"
