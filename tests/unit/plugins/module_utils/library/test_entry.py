"""library/entry.py: the one library entry (from a library file through the adapter, from and to its dict form), its
shared-tag groups and the dropped-entry record; bad input names the file (or record), the field and the value."""
from __future__ import annotations

import pathlib

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import (
    NO_BUILDER_IN_RELEASE,
    DroppedEntry,
    Entry,
    EntryError,
    SharedTagGroup,
    group_shared_tags,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release import model

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "library"
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
OTHER = "0123456789abcdef0123456789abcdef01234567"
TEXT = (
    "Maintainers: Jane Doe <jane@example.com> (@jane)\n"
    "GitRepo: https://github.com/example/app.git\n"
    "Builder: buildkit\n"
    "arm64v8-GitFetch: refs/heads/arm64\n"
    "\n"
    "Tags: 1.2.3, 1.2\n"
    "SharedTags: 1, latest\n"
    "Architectures: amd64, arm64v8\n"
    "GitCommit: %s\n"
    "Directory: 1.2/bookworm\n"
    "arm64v8-GitCommit: %s\n"
    "\n"
    "Tags: 1.2.3-alpine\n"
    "SharedTags: 1, latest\n"
    "Architectures: s390x\n"
    "GitCommit: %s\n"
    "Directory: 1.2/alpine\n"
    "File: Dockerfile.alpine\n" % (COMMIT, OTHER, COMMIT)
)


def _entries(text: str = TEXT, name: str = "library/app") -> list[Entry]:
    m = lm.parse(text, name)
    return [lm.entry_from_paragraph(p, m.globals, name) for p in m.paragraphs]


def test_the_schema_and_the_library_name_one_class():
    assert model.Entry is Entry and model.SharedTagGroup is SharedTagGroup and model.DroppedEntry is DroppedEntry
    assert issubclass(EntryError, BuildfarmError)


# ---------------------------------------------------------------- parse (through the adapter)


def test_a_paragraph_becomes_an_entry_with_effective_values():
    bookworm, alpine = _entries()
    assert bookworm == lm.parse(TEXT, "library/app").entries[0]
    assert (bookworm.where, bookworm.line, alpine.line) == ("library/app", 6, 13)
    assert bookworm.tags == ["1.2.3", "1.2"] and bookworm.shared_tags == ["1", "latest"]
    assert bookworm.all_tags == ["1.2.3", "1.2", "1", "latest"]
    assert bookworm.git_repo == "https://github.com/example/app.git"  # the global paragraph's
    assert bookworm.builder == "buildkit" and bookworm.file == "Dockerfile"  # global, bashbrew's default
    assert bookworm.version == "1.2.3" and bookworm.from_ == [] and bookworm.repo == ""
    # the entry's own GitCommit beats the global one; the global arm64v8-GitFetch applies to arm64v8 only
    assert bookworm.arch_overrides == {"arm64v8": {"GitFetch": "refs/heads/arm64", "GitCommit": OTHER}}
    assert bookworm.arch_value("arm64v8", "GitCommit") == OTHER
    assert bookworm.arch_value("amd64", "GitCommit") == COMMIT
    assert bookworm.value("Architectures") == "amd64, arm64v8" and bookworm.value("Directory") == "1.2/bookworm"
    assert bookworm.has_architecture("arm64v8") and not bookworm.has_architecture("s390x")
    arm = bookworm.for_arch("arm64v8")
    assert (arm.git_commit, arm.git_fetch, arm.directory) == (OTHER, "refs/heads/arm64", "1.2/bookworm")
    assert bookworm.for_arch("amd64") is bookworm
    assert alpine.file == "Dockerfile.alpine" and alpine.arch_overrides == {}


def test_a_file_without_architectures_builds_amd64_from_its_root():
    (entry,) = _entries("Maintainers: A <a@x> (@a)\nGitRepo: https://x/y.git\n\nTags: a\nGitCommit: %s\n" % COMMIT)
    assert entry.architectures == ["amd64"] and entry.directory == "." and entry.file == "Dockerfile"


# ---------------------------------------------------------------- write and round trips


def test_entries_written_back_give_the_same_entries_and_leave_defaults_out():
    src = lm.parse(TEXT, "library/app")
    rebuilt = lm.LibraryManifest.build(global_fields=[(f.name, f.value) for f in src.globals.fields],
                                       entries=src.entries, filename="library/app")
    assert rebuilt.entries == src.entries
    assert [f.name for f in rebuilt.paragraphs[0].fields] == [
        "Tags", "SharedTags", "Architectures", "GitCommit", "Directory", "arm64v8-GitCommit"]
    # the text written parses to the same entries, and numbers its lines as written
    again = lm.parse(lm.dumps(rebuilt), "library/app")
    assert again.entries == src.entries
    assert [p.line for p in rebuilt.paragraphs] == [p.line for p in again.paragraphs] == [6, 13]
    assert rebuilt.errors() == []


def test_a_bashbrew_file_round_trips_byte_for_byte():
    text = (FIXTURES / "sample").read_text()
    assert lm.dumps(lm.parse(text, "sample")) == text


def test_dict_form_round_trips():
    bookworm, _alpine = _entries()
    data = bookworm.to_dict()
    assert list(data) == ["tags", "shared_tags", "architectures", "directory", "file", "git_commit", "constraints",
                          "builder", "from", "version", "variant", "git_repo", "git_fetch", "arch_overrides"]
    back = Entry.from_dict(data, "release.json (app)", repo="app")
    assert back == Entry(**{**vars(bookworm), "repo": "app"}) and back.key == "app:1.2.3"
    assert back.to_dict() == data
    # the publishing view: no directory needed, the library file's names and comma-separated text accepted
    published = Entry.from_dict({"Tags": "1, 1.2", "architectures": ["amd64"]}, "entries[0]", publish=True)
    assert published.tags == ["1", "1.2"] and published.directory == ""


def test_a_missing_version_is_read_from_the_first_tag():
    assert Entry.from_dict({"tags": ["1.35.0-glibc"], "directory": "x"}, "t").version == "1.35.0"
    assert Entry.from_dict({"tags": ["glibc"], "directory": "x"}, "t").version == ""


# ---------------------------------------------------------------- shared-tag groups


def test_shared_tags_with_one_entry_set_form_one_group():
    entries = _entries()
    (group,) = group_shared_tags(entries)
    assert group == SharedTagGroup(["1", "latest"], entries, [0, 1])
    assert group.to_dict() == {"tags": ["1", "latest"], "entries": ["1.2.3", "1.2.3-alpine"]}
    assert lm.parse(TEXT).shared_tag_groups() == [group]


def test_groups_split_where_entry_sets_differ_in_order_of_first_appearance():
    entries = [Entry(["a"], shared_tags=["x", "y"]), Entry(["b"], shared_tags=["y", "z", "x2"]),
               Entry(["c"], shared_tags=["z", "x2"])]
    assert [(g.tags, g.indexes) for g in group_shared_tags(entries)] == [
        (["x"], [0]), (["y"], [0, 1]), (["z", "x2"], [1, 2])]
    assert group_shared_tags([Entry(["a"])]) == []


# ---------------------------------------------------------------- dropped entries


def test_dropped_entry_record():
    family = DroppedEntry(directory="3.14/trixie", tags=["3.14"], architectures=["s390x"])
    assert family.to_dict() == {"directory": "3.14/trixie", "tags": ["3.14"], "architectures": ["s390x"],
                                "reason": "no builder for any of its architectures"}
    library = DroppedEntry(tags=["1.0"], architectures=["s390x"], reason=NO_BUILDER_IN_RELEASE)
    assert list(library.to_dict()) == ["tags", "architectures", "reason"]  # a library file's names no folder
    for d in (family, library):
        assert DroppedEntry.from_dict(d.to_dict(), "dropped[0]") == d
    with pytest.raises(BuildfarmError, match="dropped\\[0\\]: field tags: must be a list of strings"):
        DroppedEntry.from_dict({"tags": "1.0", "architectures": []}, "dropped[0]")


# ---------------------------------------------------------------- bad input


GOOD = {"tags": ["1.0"], "architectures": ["amd64"], "directory": "1.0"}


@pytest.mark.parametrize("data, field, value, message", [
    ({**GOOD, "tags": []}, "tags", None, "entry has no tags"),
    ({**GOOD, "tags": ["1.0", ""]}, "tags", ["1.0", ""], "must be a list of non-empty strings"),
    ({**GOOD, "tags": ["../x"]}, "tags", "../x", "not a valid tag"),
    ({**GOOD, "shared_tags": ["a" * 129]}, "shared_tags", "a" * 129, "not a valid tag"),
    ({**GOOD, "architectures": ["amd64", "arm65"]}, "architectures", "arm65", "unknown architecture"),
    ({**GOOD, "architectures": ["amd64", "amd64"]}, "architectures", "amd64", "architecture listed twice"),
    ({**GOOD, "directory": ""}, "directory", "", "missing (entry 1.0)"),
    ({**GOOD, "builder": "kaniko"}, "builder", "kaniko", "unknown builder"),
    ({**GOOD, "arch_overrides": {"arm65": {}}}, "arch_overrides", "arm65", "unknown architecture"),
    ({**GOOD, "arch_overrides": {"amd64": {"Colour": "x"}}}, "arch_overrides", {"Colour": "x"}, "must be some of"),
    ({**GOOD, "arch_overrides": {"amd64": {"Builder": "kaniko"}}}, "arch_overrides.amd64.Builder", "kaniko",
     "unknown builder"),
])
def test_bad_dict_names_where_field_and_value(data, field, value, message):
    with pytest.raises(BuildfarmError) as err:
        Entry.from_dict(data, "release.json (app)")
    assert err.value.file == "release.json (app)" and err.value.field == field
    if value is not None:
        assert err.value.value == value
    assert message in str(err.value) and str(err.value).startswith("release.json (app): field %s: " % field)


def test_not_a_mapping_and_no_architectures_to_publish():
    with pytest.raises(EntryError, match="entries\\[2\\]: not a mapping"):
        Entry.from_dict(["1.0"], "entries[2]")
    with pytest.raises(EntryError) as err:
        Entry.from_dict({"tags": ["1.0"]}, "entries[0]", publish=True)
    assert (err.value.file, err.value.field, err.value.value) == ("entries[0]", "architectures", [])


def test_a_bad_paragraph_is_named_by_file_line_field_and_value():
    # the adapter reads what is there; the file's validation names the line, field and value at fault
    text = TEXT.replace("Architectures: s390x", "Architectures: s390x, arm65")
    assert _entries(text)[1].architectures == ["s390x", "arm65"]
    (err,) = lm.parse(text, "library/app").errors()
    assert (err.file, err.line, err.field, err.value) == ("library/app", 15, "Architectures", "arm65")
    assert str(err).startswith("library/app:15: field Architectures, value 'arm65': unknown architecture")


def test_entries_as_data_are_validated_naming_their_index():
    m = lm.manifest_from_dicts([{"tags": ["a"], "directory": "a"}, {"tags": "b, c", "directory": "b"}])
    assert [e.tags for e in m.entries] == [["a"], ["b", "c"]]
    with pytest.raises(lm.InvalidLibraryManifest) as err:
        lm.manifest_from_dicts([{"tags": ["a"], "directory": "a"}, {"tags": ["b"], "directory": "../b"}])
    assert str(err.value).startswith("entries[1]: field Directory, value '../b': Directory must be a relative path")
