"""release_report module, run in process: where the report goes (dest_dir, old name dest) and bad targets."""
from __future__ import annotations

import json

import pytest

from ansible_collections.buildfarm.images.tests.support.run_module import run_module

RELEASE = [{"name": "tiny", "entries": [{"tags": ["1.0"], "architectures": ["amd64"], "directory": "1.0"}]}]
BUILDERS = {"b1": "amd64"}
RESULTS = {"b1": {"host": "b1", "arch": "amd64", "images": [], "failed": [], "pushed": [], "digests": {}}}


@pytest.mark.parametrize("option", ["dest_dir", "dest"])
def test_report_files_are_written_into_dest_dir_or_its_old_name(tmp_path, option):
    r = run_module("release_report", {"release": RELEASE, "builders": BUILDERS, "results": RESULTS,
                                      option: str(tmp_path / "out")})
    assert not r.get("failed") and r["changed"] is False, r
    assert sorted(r["files"]) == [str(tmp_path / "out" / n) for n in ("release-report.json", "release-report.md")]
    assert json.loads((tmp_path / "out" / "release-report.json").read_text()) == r["report"]


@pytest.mark.parametrize("check", [False, True])
def test_dest_dir_below_a_regular_file_fails_naming_it(tmp_path, check):
    (tmp_path / "blocker").write_text("a regular file\n")
    dest = tmp_path / "blocker" / "report"
    r = run_module("release_report", {"release": RELEASE, "builders": BUILDERS, "dest_dir": str(dest)}, check=check)
    assert r["failed"] is True and "exception" not in r, r
    assert r["field"] == "dest_dir" and r["file"].startswith(str(dest / "release-report.")), r
    assert "field dest_dir" in r["msg"] and "%s is a file, not a folder" % (tmp_path / "blocker") in r["msg"]
    assert (tmp_path / "blocker").read_text() == "a regular file\n"


def test_a_report_file_that_is_a_folder_fails_before_the_other_is_written(tmp_path):
    (tmp_path / "release-report.md").mkdir()
    r = run_module("release_report", {"release": RELEASE, "builders": BUILDERS, "dest_dir": str(tmp_path)})
    assert r["failed"] is True and r["field"] == "dest_dir" and "is a folder, not a file" in r["msg"], r
    assert not (tmp_path / "release-report.json").exists()


@pytest.mark.parametrize("family, field, value", [
    ({"name": "tiny", "entries": [{"tags": ["1.0"], "architectures": ["amd65"], "directory": "1.0"}]},
     "architectures", "amd65"),
    ({"name": "tiny", "entries": [{"tags": [], "architectures": ["amd64"], "directory": "1.0"}]}, "tags", None),
    ({"name": "tiny", "entries": "1.0"}, "entries", "1.0"),
    ({"entries": []}, "name", None),
])
def test_a_malformed_family_of_the_release_fails_naming_it_before_anything_is_written(tmp_path, family, field, value):
    r = run_module("release_report", {"release": RELEASE + [family], "builders": BUILDERS, "results": RESULTS,
                                      "dest_dir": str(tmp_path / "out")})
    assert r["failed"] is True and "exception" not in r, r
    assert r["file"].startswith("release[1]") and r["field"] == field, r
    if value is not None:
        assert r["value"] == value, r
    assert not (tmp_path / "out").exists()


def test_each_image_names_the_sources_its_family_declares_for_its_entry(tmp_path):
    source = {"name": "python", "version": "3.13.5", "url": "https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz",
              "sha256": "9" * 64, "purl": "pkg:generic/python@3.13.5"}
    release = [{"name": "tiny", "sources": {"1.0": [source]}, "entries": [
        {"tags": ["1.0"], "architectures": ["amd64"], "directory": "1.0"},
        {"tags": ["2.0"], "architectures": ["amd64"], "directory": "2.0"}]}]
    r = run_module("release_report", {"release": release, "builders": BUILDERS, "results": RESULTS,
                                      "dest_dir": str(tmp_path)})
    assert not r.get("failed"), r
    images = {i["key"]: i for i in r["report"]["images"]}
    assert images["tiny:1.0"]["sources"] == [source] and images["tiny:2.0"]["sources"] == []
