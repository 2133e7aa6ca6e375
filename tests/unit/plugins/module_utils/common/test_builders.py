"""The one builder list and its normalization (upstream's meta-scripts `normalized_builder`), and every reader of a
builder value refusing an unknown one naming the file, the field and the value."""
from __future__ import annotations

import pathlib
import shutil

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common import builders
from ansible_collections.buildfarm.images.plugins.module_utils.common.builders import (
    BUILDERS,
    UnknownBuilder,
    check_builder,
    normalized_builder,
)
from ansible_collections.buildfarm.images.plugins.module_utils.family import definition as family
from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import Entry, EntryError


def test_one_builder_list_everywhere():
    assert BUILDERS == ("buildkit", "classic", "oci-import")
    # family.yml and the library readers check against this very tuple, not a copy of it
    assert family.BUILDERS is builders.BUILDERS and lm.BUILDERS is builders.BUILDERS


@pytest.mark.parametrize("arch, entry, fam, expected", [
    ("amd64", "", "", "buildkit"),  # none given: BuildKit on Linux
    ("s390x", "", "", "buildkit"),
    ("windows-amd64", "", "", "classic"),  # and the classic builder on Windows
    ("amd64", "", "classic", "classic"),  # the family's
    ("amd64", "oci-import", "classic", "oci-import"),  # the entry's over the family's
    ("amd64", "classic", "", "classic"),
    ("windows-amd64", "buildkit", "", "buildkit"),  # an entry's own Builder is taken as named, as upstream
    ("windows-amd64", "", "buildkit", "classic"),  # a family's builder is about its Linux entries
])
def test_normalized_builder(arch, entry, fam, expected):
    assert normalized_builder(arch, entry, fam) == expected


def test_unknown_builder_names_field_and_value():
    with pytest.raises(UnknownBuilder) as err:
        check_builder("kaniko", "library/app", "arm64v8-Builder")
    assert str(err.value) == ("library/app: field arm64v8-Builder: unknown builder (known: buildkit, classic, "
                              "oci-import) (value: 'kaniko')")
    assert check_builder("") == "" and check_builder(None) == ""
    with pytest.raises(UnknownBuilder):
        normalized_builder("amd64", "BuildKit")  # no case folding: bashbrew compares exactly


def test_release_entries_refuse_an_unknown_builder():
    good = {"tags": ["1.0"], "architectures": ["amd64"], "directory": "1.0"}
    assert Entry.from_dict(dict(good, builder="buildkit"), "release.json").builder == "buildkit"
    assert Entry.from_dict(good, "release.json").builder == ""
    with pytest.raises(EntryError) as err:
        Entry.from_dict(dict(good, builder="docker"), "release.json (app)")
    assert err.value.file == "release.json (app)" and err.value.field == "builder" and err.value.value == "docker"
    with pytest.raises(EntryError) as err:
        Entry.from_dict(dict(good, arch_overrides={"amd64": {"Builder": "kaniko"}}), "release.json")
    assert err.value.field == "arch_overrides.amd64.Builder" and err.value.value == "kaniko"


def test_library_file_refuses_an_unknown_builder_with_its_line():
    text = ("Maintainers: A <a@example.org> (@a)\nGitRepo: https://example.org/a.git\n\n"
            "Tags: 1.0\nArchitectures: amd64, arm64v8\nGitCommit: " + "a" * 40 + "\nDirectory: 1.0\n"
            "arm64v8-Builder: kaniko\n")
    errors = lm.parse(text, "library/app").errors()
    assert [(e.line, e.field, e.value) for e in errors] == [(8, "arm64v8-Builder", "kaniko")]
    assert "unknown Builder (known: buildkit, classic, oci-import)" in str(errors[0])
    assert lm.parse(text.replace("kaniko", "classic"), "library/app").errors() == []


def test_family_yml_refuses_an_unknown_builder(tmp_path):
    fixtures = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "families"
    shutil.copytree(fixtures / "tiny", tmp_path / "tiny")
    path = tmp_path / "tiny" / "family.yml"
    path.write_text(path.read_text().replace("builder: buildkit", "builder: kaniko"))
    with pytest.raises(family.FamilyError) as err:
        family.load_family(str(tmp_path / "tiny"))
    assert (err.value.file, err.value.field, err.value.value) == (str(path), "builder", "kaniko")
    path.write_text(path.read_text().replace("builder: kaniko\n", ""))
    assert family.load_family(str(tmp_path / "tiny")).builder == ""  # none: normalized per architecture
