"""List planning (registry/list_plan.py): entries, shared-tag groups and member sources, checked before any
request."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import Entry, EntryError, SharedTagGroup
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import (
    PublishError,
    check_annotations,
    load_entries,
    load_library_file,
    plan_lists,
)

ENTRIES = [
    {"tags": ["3.14.6-trixie", "3.14-trixie"], "shared_tags": ["3.14", "latest"],
     "architectures": ["amd64", "arm64v8"]},
    {"tags": ["3.14.6-windowsservercore-ltsc2022"], "shared_tags": ["3.14", "latest"],
     "architectures": ["windows-amd64"]},
    {"Tags": "3.13.9-slim", "Architectures": "amd64, s390x"},
]


def test_plan_entry_tags_then_shared_tags():
    specs = plan_lists(load_entries(ENTRIES), "python", {"arm64v8": "arm64"})
    assert [(s.tag, s.shared) for s in specs] == [
        ("3.14.6-trixie", False), ("3.14-trixie", False), ("3.14.6-windowsservercore-ltsc2022", False),
        ("3.13.9-slim", False), ("3.14", True), ("latest", True)]
    assert [s.reference for s in specs[1].sources] == ["amd64/python:3.14.6-trixie", "arm64/python:3.14.6-trixie"]
    assert [s.reference for s in specs[4].sources] == [
        "amd64/python:3.14.6-trixie", "arm64/python:3.14.6-trixie",
        "winamd64/python:3.14.6-windowsservercore-ltsc2022"]
    assert [s.reference for s in specs[3].sources] == ["amd64/python:3.13.9-slim", "s390x/python:3.13.9-slim"]


def test_plan_with_explicit_groups():
    specs = plan_lists(load_entries(ENTRIES), "python", groups=[SharedTagGroup(["3.14", "latest"], [], [0, 1])])
    assert [s.tag for s in specs][-2:] == ["3.14", "latest"]
    assert specs[-1].sources == specs[-2].sources


@pytest.mark.parametrize("entries,message", [
    ([{"tags": ["a"], "architectures": ["amd64", "sparc"]}],
     r"entries\[0\]: field architectures: unknown architecture \(entry a; known: amd64, .*\) \(value: 'sparc'\)"),
    ([{"tags": [], "architectures": ["amd64"]}], r"entries\[0\]: field tags: entry has no tags"),
    ([{"tags": ["a"]}], r"entries\[0\]: field architectures: entry a has no architectures"),
    ([{"tags": "a", "architectures": 5}], r"entries\[0\]: field architectures: must be a list .*\(value: 5\)"),
    ([{"tags": ["a"], "architectures": ["amd64", "amd64"]}],
     r"entries\[0\]: field architectures: architecture listed twice \(entry a\) \(value: 'amd64'\)"),
    ([{"tags": ["ok"], "architectures": ["amd64"]}, {"tags": ["../v2/_catalog"], "architectures": ["amd64"]}],
     r"entries\[1\]: field tags: not a valid tag .*\(value: '../v2/_catalog'\)"),
    ([{"tags": ["ok"], "shared_tags": ["bad tag"], "architectures": ["amd64"]}],
     r"entries\[0\]: field shared_tags: not a valid tag .*\(value: 'bad tag'\)"),
])
def test_bad_entries_named(entries, message):
    with pytest.raises(BuildfarmError, match=message):
        load_entries(entries)


def test_entries_are_the_library_model_entry():
    """The publish path reads the release's one entry model: its publishing view needs no directory, takes the
    library file's field names and comma-separated values, and ignores the keys a list does not use."""
    entry, = load_entries([{"Tags": "1.36-glibc, 1.36", "SharedTags": "latest", "Architectures": "amd64, s390x",
                            "Constraints": "b, a", "from": "not checked here", "builder": 5}])
    assert isinstance(entry, Entry)
    assert (entry.tags, entry.shared_tags, entry.architectures, entry.constraints) == (
        ["1.36-glibc", "1.36"], ["latest"], ["amd64", "s390x"], ["b", "a"])
    # A plan's entry (to_dict) publishes as it is.
    planned = Entry.from_dict({"tags": ["1.36"], "shared_tags": ["1"], "architectures": ["amd64"],
                               "constraints": ["c"], "directory": "d"}, "p")
    published = load_entries([planned.to_dict()])[0]
    assert (published.tags, published.shared_tags, published.architectures, published.constraints,
            published.directory) == (["1.36"], ["1"], ["amd64"], ["c"], "d")
    # The build view still wants its directory.
    with pytest.raises(EntryError, match="field directory: missing"):
        Entry.from_dict({"tags": ["1"], "architectures": ["amd64"]}, "p")


def test_constraints_order_does_not_make_another_platform():
    entries = load_entries([
        {"tags": ["a"], "shared_tags": ["s"], "architectures": ["windows-amd64"], "Constraints": "x, y"},
        {"tags": ["b"], "shared_tags": ["s"], "architectures": ["windows-amd64"], "constraints": ["y", "x"]}])
    with pytest.raises(PublishError, match="shared tag 's': entries a and b both have architecture windows-amd64"):
        plan_lists(entries, "w")


def test_duplicate_tag_rejected_before_anything():
    entries = load_entries([{"tags": ["a", "b"], "architectures": ["amd64"]},
                            {"tags": ["c"], "shared_tags": ["b"], "architectures": ["amd64"]}])
    with pytest.raises(PublishError, match="tag 'b' is claimed twice"):
        plan_lists(entries, "x")


@pytest.mark.parametrize("annotations, message", [
    ({"org.opencontainers.image.version": 3.14}, r"annotations: value of org.opencontainers.image.version must "
                                                 r"be a string, got 3.14 \(quote it\)"),
    ({"": "x"}, "annotations: key '' is not a non-empty string"),
])
def test_bad_annotations_named(annotations, message):
    with pytest.raises(PublishError, match=message):
        check_annotations(annotations)


LIBRARY = """Maintainers: Someone <someone@example.org> (@someone)
GitRepo: https://github.com/example/busybox.git

Tags: 1.36.1-glibc, 1.36-glibc
SharedTags: 1.36.1, 1.36, latest
Architectures: amd64, arm64v8
GitCommit: 0123456789abcdef0123456789abcdef01234567
Directory: latest/glibc

Tags: 1.36.1-musl, 1.36-musl
SharedTags: 1.36.1, 1.36, latest
Architectures: ppc64le, s390x
GitCommit: 0123456789abcdef0123456789abcdef01234567
Directory: latest/musl
"""


def test_library_file_input_uses_the_collection_parser(tmp_path):
    path = tmp_path / "busybox"
    path.write_text(LIBRARY)
    entries = load_library_file(str(path))
    assert [e.tags for e in entries] == [["1.36.1-glibc", "1.36-glibc"], ["1.36.1-musl", "1.36-musl"]]
    specs = plan_lists(entries, "busybox")
    assert [s.tag for s in specs if s.shared] == ["1.36.1", "1.36", "latest"]
    latest = [s for s in specs if s.tag == "latest"][0]
    assert [s.reference for s in latest.sources] == [
        "amd64/busybox:1.36.1-glibc", "arm64v8/busybox:1.36.1-glibc", "ppc64le/busybox:1.36.1-musl",
        "s390x/busybox:1.36.1-musl"]
