"""release_plan module, run in process: result contract, dest written atomically, check mode, diff, idempotence."""
from __future__ import annotations

import os
import pathlib

from ansible_collections.buildfarm.images.tests.support.run_module import run_module

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "families"
ARGS = {"family_dir": str(FIXTURES / "tiny"), "parents_library": str(FIXTURES / "parents")}


def test_returns_plan_and_library_without_dest():
    r = run_module("release_plan", ARGS)
    assert not r.get("failed") and r["changed"] is False
    assert r["plan"]["name"] == "tiny" and r["plan"]["repository"] == "library/tiny"
    assert len(r["plan"]["entries"]) == 16 and r["plan"]["dropped"] == []
    assert r["plan"]["entries"][0]["from"] == ["buildpack-deps:trixie"]
    assert r["library"].count("\nTags: ") == 16


def test_dest_check_mode_diff_then_write_then_unchanged(tmp_path):
    dest = tmp_path / "library" / "tiny"
    args = dict(ARGS, dest=str(dest))
    checked = run_module("release_plan", args, check=True, diff=True)
    assert checked["changed"] is True and not dest.exists()
    assert checked["diff"]["before"] == "" and checked["diff"]["after"] == checked["library"]

    written = run_module("release_plan", args)
    assert written["changed"] is True and dest.read_text() == written["library"]
    assert oct(os.stat(dest).st_mode & 0o777) == "0o644"
    assert os.listdir(dest.parent) == ["tiny"]  # no temporary file left

    again = run_module("release_plan", args, diff=True)
    assert again["changed"] is False and "diff" not in again


def test_architecture_restriction_reports_dropped(tmp_path):
    r = run_module("release_plan", dict(ARGS, architectures=["amd64", "arm64v8"]))
    dropped = [d["directory"] for d in r["plan"]["dropped"]]
    assert dropped == ["2.0/windows/windowsservercore-ltsc2025", "2.0/windows/windowsservercore-ltsc2022"]
    assert all(set(e["architectures"]) <= {"amd64", "arm64v8"} for e in r["plan"]["entries"])


def test_bad_input_fails_with_file_field_value(tmp_path):
    dest = tmp_path / "library" / "tiny"
    r = run_module("release_plan", dict(ARGS, parents_library=str(tmp_path / "nowhere"), dest=str(dest)))
    assert r["failed"] and r["field"] == "parents_library" and r["value"] == str(tmp_path / "nowhere")
    assert "parents library folder not found" in r["msg"]
    assert not dest.parent.exists()


def test_dest_below_a_regular_file_fails_naming_it(tmp_path):
    (tmp_path / "library").write_text("a file, not a folder\n")
    dest = tmp_path / "library" / "tiny"
    for check in (True, False):
        r = run_module("release_plan", dict(ARGS, dest=str(dest)), check=check)
        assert r["failed"] is True and r["field"] == "dest" and r["file"] == str(dest), r
        assert "%s is a file, not a folder" % (tmp_path / "library") in r["msg"]
        assert "Traceback" not in r["msg"] and "exception" not in r
    assert (tmp_path / "library").read_text() == "a file, not a folder\n"


def test_dest_that_is_a_folder_fails_naming_it(tmp_path):
    r = run_module("release_plan", dict(ARGS, dest=str(tmp_path)))
    assert r["failed"] is True and r["field"] == "dest" and "is a folder, not a file" in r["msg"]
    assert os.listdir(tmp_path) == []
