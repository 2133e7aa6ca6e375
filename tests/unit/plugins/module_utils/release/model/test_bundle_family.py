"""The release bundle's records (release/model/_family.py): one validating from_dict, one to_dict, the same JSON
release_prepare always wrote; and build/bundle.py, the one reader of the bundle file."""
from __future__ import annotations

import copy
import io
import json
import pathlib
import shutil
import tarfile

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import (
    BundleError,
    load_bundle,
    open_bundle,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release import batch
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BUNDLE_FORMAT,
    BundleFamily,
    FamilyKind,
    ModelError,
    ReleaseBundle,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[4] / "fixtures" / "families"

ENTRY = {"tags": ["1.0.0-glibc", "1.0-glibc"], "shared_tags": ["1.0.0", "latest"], "architectures": ["amd64"],
         "directory": "1.0/glibc", "file": "Dockerfile", "git_commit": "", "constraints": [], "builder": "",
         "from": ["scratch"], "version": "1.0.0", "variant": "glibc", "git_repo": "", "git_fetch": "",
         "arch_overrides": {}}
FAMILY = {"name": "box", "kind": "family", "repository": "library/box", "entries": [ENTRY],
          "dropped": [{"directory": "1.0/musl", "tags": ["1.0.0-musl"], "architectures": ["s390x"],
                       "reason": "no builder for any of its architectures"}],
          "depends_on": [], "scratch": True, "context": {}, "build_args": {"MIRROR": "http://m.invalid"},
          "tests": {"linux": [{"name": "runs"}]}, "source": "https://example.invalid/box.git", "revision": "abc",
          "created": "2026-01-01T00:00:00Z", "family_folder": "families/box",
          "templates": {"1.0/glibc": "Dockerfile.j2"}, "sources": {}, "debian_releases": {}}
LIBRARY = {"name": "app", "kind": "library", "library_file": "/p/library/app", "repository": "library/app",
           "entries": [dict(ENTRY, tags=["2.0"], shared_tags=[], directory=".", variant="", version="2.0",
                            git_repo="https://example.invalid/app.git", git_commit="0" * 40)],
           "dropped": [{"tags": ["2.0-arm"], "architectures": ["arm32v7"],
                        "reason": "no builder for its architectures in this release"}],
           "depends_on": ["box"], "scratch": False, "context": {}, "build_args": {}, "tests": None,
           "source": "https://example.invalid/app.git", "revision": "", "created": ""}
RELEASE = {"format": BUNDLE_FORMAT, "architectures": ["amd64"], "families": [FAMILY, LIBRARY]}


def test_round_trip_gives_release_json_back_key_for_key():
    record = ReleaseBundle.from_dict(copy.deepcopy(RELEASE), "release.json")
    assert record.to_dict() == RELEASE
    assert ReleaseBundle.from_dict(json.loads(json.dumps(record.to_dict())), "again") == record


def test_each_kind_keeps_only_its_own_keys():
    record = ReleaseBundle.from_dict(RELEASE, "release.json")
    box, app = record.families
    assert (box.kind, app.kind) == (FamilyKind.FAMILY, FamilyKind.LIBRARY)
    assert "library_file" not in box.to_dict() and "templates" in box.to_dict()
    assert "family_folder" not in app.to_dict() and app.to_dict()["library_file"] == "/p/library/app"


def test_entries_know_their_family_and_are_found_by_key():
    record = ReleaseBundle.from_dict(RELEASE, "release.json")
    fam, entry = record.entry("app:2.0")
    assert fam.name == "app" and entry.git_repo == "https://example.invalid/app.git" and entry.repo == "app"
    assert record.entry("box:1.0.0-glibc")[1].directory == "1.0/glibc"
    assert record.entry("box:1.0.0") is None  # a shared tag names no entry
    assert record.tests() == {"box": {"linux": [{"name": "runs"}]}}
    assert record.names == ["box", "app"] and record.family("app") is record.families[1]
    assert record.family("nosuch") is None


def test_release_prepare_families_result_reads_back():
    # the report reads release_prepare's `families` (no context/build_args/attestation keys, a render_dir)
    result = {k: FAMILY[k] for k in ("name", "kind", "repository", "entries", "dropped", "depends_on", "scratch",
                                     "tests", "source", "revision", "created")}
    fam = BundleFamily.from_dict(dict(result, render_dir="/w/render/box"), "families[0]")
    assert fam.entries[0].key == "box:1.0.0-glibc" and fam.context == {} and fam.build_args == {}


@pytest.mark.parametrize("change, where, field, value", [
    (lambda d: d.update(format="buildfarm-release/0"), "release.json", "format", "buildfarm-release/0"),
    (lambda d: d.update(architectures="amd64"), "release.json", "architectures", "amd64"),
    (lambda d: d.update(families={"box": FAMILY}), "release.json", "families", {"box": FAMILY}),
    (lambda d: d["families"][0].pop("name"), "release.json.families[0]", "name", None),
    (lambda d: d["families"][0].update(kind="image"), "release.json.families[0] (box)", "kind", "image"),
    (lambda d: d["families"][0].update(scratch="yes"), "release.json.families[0] (box)", "scratch", "yes"),
    (lambda d: d["families"][1].update(depends_on="box"), "release.json.families[1] (app)", "depends_on", "box"),
    (lambda d: d["families"][0].update(build_args=["A=1"]), "release.json.families[0] (box)", "build_args",
     ["A=1"]),
    (lambda d: d["families"][0].update(tests="tests.yml"), "release.json.families[0] (box)", "tests",
     "tests.yml"),
    (lambda d: d["families"][0]["entries"][0].update(architectures=["amd65"]),
     "release.json.families[0] (box).entries[0]", "architectures", "amd65"),
    (lambda d: d["families"][0]["dropped"][0].update(tags="1.0.0-musl"),
     "release.json.families[0] (box).dropped[0]", "tags", "1.0.0-musl"),
])
def test_from_dict_errors_name_the_record_field_and_value(change, where, field, value):
    data = copy.deepcopy(RELEASE)
    change(data)
    with pytest.raises(ModelError) as err:
        ReleaseBundle.from_dict(data, "release.json")
    assert (err.value.file, err.value.field) == (where, field), str(err.value)
    if value is not None:
        assert err.value.value == value
    assert where in str(err.value) and "field %s" % field in str(err.value)


# -- build/bundle.py: the one reader of the bundle file --

@pytest.fixture
def written(tmp_path: pathlib.Path):
    families = tmp_path / "families"
    shutil.copytree(FIXTURES / "scratchbox", families / "scratchbox")
    release = batch.prepare(str(families), ["scratchbox"], source_date_epoch="0")
    return release, batch.write(release, str(tmp_path / "work"), str(tmp_path / "artifacts"))


def test_the_bundle_reads_back_as_the_record_release_prepare_wrote(written, tmp_path):
    release, res = written
    record = release.record()
    with tarfile.open(res.bundle) as tar:
        member = tar.extractfile("release.json")
        assert member is not None
        text = member.read()
    assert text == json.dumps(record.to_dict(), indent=1, sort_keys=True).encode()  # serialized once, as before
    assert res.data == record.to_dict()
    assert load_bundle(res.bundle) == record
    opened = open_bundle(res.bundle, str(tmp_path / "builder"))
    assert opened.release == record and opened.tests() == record.tests()
    assert pathlib.Path(opened.render_dir("scratchbox")).is_dir()


def _tar(path: pathlib.Path, files: dict[str, bytes]) -> str:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


@pytest.mark.parametrize("files, problem", [
    ({}, "release.json missing"),
    ({"release.json": b"{not json"}, "is not JSON"),
    ({"release.json": json.dumps({"format": "other"}).encode()}, "field format: not a buildfarm-release/1 bundle"),
])
def test_a_bad_bundle_is_a_bundle_error_naming_it(tmp_path, files, problem):
    bundle = _tar(tmp_path / "bad.tar", files)
    for read in (lambda: load_bundle(bundle), lambda: open_bundle(bundle, str(tmp_path / "builder"))):
        with pytest.raises(BundleError) as err:
            read()
        assert bundle in str(err.value) and problem in str(err.value)


def test_not_a_tar_and_no_file_are_bundle_errors(tmp_path):
    (tmp_path / "x.tar").write_text("plain text")
    with pytest.raises(BundleError, match="not a release bundle"):
        load_bundle(str(tmp_path / "x.tar"))
    with pytest.raises(BundleError, match="cannot read the release bundle"):
        load_bundle(str(tmp_path / "none.tar"))
