"""ReleaseBuilder's planning side: share selection, in-release FROM detection and dependency waves.

No engine is needed to plan; the client factory is never called here (the integration tests build for real)."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import BuildInputError
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import Entry, EntryError
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_builder import (
    BuildSettings,
    FamilyShare,
    ReleaseBuilder,
    local_repository,
)


def _never():
    raise AssertionError("planning must not talk to the engine")


def _family(tmp_path, repo, dockerfiles: dict[str, str], arches=("amd64", "s390x")):
    entries = []
    for directory, text in dockerfiles.items():
        d = tmp_path / repo / directory
        d.mkdir(parents=True)
        (d / "Dockerfile").write_text(text)
        tag = directory.replace("/", "-")
        entries.append(Entry.from_dict({"tags": [tag], "shared_tags": [tag + "-shared"],
                                        "architectures": list(arches), "directory": directory}, "t", repo=repo))
    return FamilyShare(repo, str(tmp_path / repo), entries)


def test_entries_from_other_entries_build_after_them(tmp_path):
    fam = _family(tmp_path, "python", {
        "3.14/slim": "FROM python:3.14-base\n",
        "3.14/base": "FROM debian:trixie\n",
        "3.14/tools": "FROM docker.io/library/python:3.14-slim-shared\n",
    })
    b = ReleaseBuilder([fam], BuildSettings("amd64", "127.0.0.1:5000", "amd64"), _never)
    assert b.waves == [["python:3.14-base"], ["python:3.14-slim"], ["python:3.14-tools"]]
    assert b.parent_keys["python:3.14-slim"] == ["python:3.14-base"]


def test_share_is_only_the_builders_architecture(tmp_path):
    fam = _family(tmp_path, "busybox", {"1.35/glibc": "FROM scratch\n"}, arches=("amd64",))
    assert ReleaseBuilder([fam], BuildSettings("s390x", "", "s390x"), _never).jobs == []


def test_tags_go_under_registry_and_arch_namespace(tmp_path):
    fam = _family(tmp_path, "busybox", {"1.35/glibc": "FROM scratch\n"})
    b = ReleaseBuilder([fam], BuildSettings("s390x", "127.0.0.1:5000", "s390x"), _never)
    assert [str(t) for t in b._full_tags(fam.entries[0])] == ["127.0.0.1:5000/s390x/busybox:1.35-glibc",
                                                              "127.0.0.1:5000/s390x/busybox:1.35-glibc-shared"]
    assert local_repository(BuildSettings("amd64", "", "amd64"), "busybox") == "amd64/busybox"


def test_missing_dockerfile_names_entry_and_path(tmp_path):
    fam = _family(tmp_path, "busybox", {"1.35/glibc": "FROM scratch\n"})
    fam.entries[0].file = "Dockerfile.missing"
    with pytest.raises(BuildInputError, match=r"busybox:1.35-glibc.*Dockerfile.missing"):
        ReleaseBuilder([fam], BuildSettings("amd64", "", "amd64"), _never)


@pytest.mark.parametrize("entry, message", [
    ({"architectures": ["amd64"], "directory": "x"}, "field tags: entry has no tags"),
    ({"tags": ["a"], "architectures": ["amd65"], "directory": "x"},
     "field architectures: unknown architecture .* 'amd65'"),
    ({"tags": ["a"], "architectures": ["amd64"]}, "field directory: missing"),
])
def test_bad_plan_entries_are_named(entry, message):
    with pytest.raises(EntryError, match=message):
        Entry.from_dict(entry, "families[0]", repo="busybox")


def test_version_label_comes_from_the_plan_or_the_first_tag():
    assert Entry.from_dict({"tags": ["1.35.0-glibc"], "directory": "x"}, "t", repo="b").version == "1.35.0"
    entry = Entry.from_dict({"tags": ["x"], "version": "3.14.6", "directory": "x"}, "t", repo="b")
    assert entry.version == "3.14.6"
