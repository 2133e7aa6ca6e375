"""dockerfiles module, run in process: check mode, diff, changed only when something changed."""
from __future__ import annotations

import json
import pathlib

from ansible_collections.buildfarm.images.tests.support.run_module import run_module

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "families"


def test_check_write_unchanged(tmp_path):
    dest = tmp_path / "render"
    args = {"family_dir": str(FIXTURES / "tiny"), "dest_dir": str(dest)}
    checked = run_module("dockerfiles", args, check=True, diff=True)
    assert checked["changed"] is True and len(checked["added"]) == 16 and not dest.exists()
    assert len(checked["diff"]) == 16 and checked["diff"][0]["before_header"] == "/dev/null"

    written = run_module("dockerfiles", args)
    assert written["changed"] is True
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("Dockerfile")) == sorted(written["files"])

    again = run_module("dockerfiles", args, diff=True)
    assert again["changed"] is False and again["added"] == again["modified"] == again["removed"] == []
    assert "diff" not in again


def test_check_mode_lists_what_would_change(tiny, tmp_path):
    dest = tmp_path / "render"
    args = {"family": str(tiny), "dest": str(dest)}
    run_module("dockerfiles", args)
    (tiny / "windows.j2").write_text((tiny / "windows.j2").read_text().replace('CMD ["tiny.exe"]', 'CMD ["tiny"]'))
    r = run_module("dockerfiles", args, check=True, diff=True)
    assert r["changed"] is True
    assert r["modified"] == ["2.0/windows/windowsservercore-ltsc2025/Dockerfile",
                             "2.0/windows/windowsservercore-ltsc2022/Dockerfile"]
    assert 'CMD ["tiny.exe"]' in (dest / "2.0/windows/windowsservercore-ltsc2025/Dockerfile").read_text()


def test_an_unwritable_dest_fails_naming_the_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder\n")
    r = run_module("dockerfiles", {"family_dir": str(FIXTURES / "tiny"), "dest_dir": str(blocker / "render")})
    assert r["failed"] is True and r["file"] == str(blocker / "render") and r["field"] == "dest_dir"
    assert "%s is a file, not a folder" % blocker in r["msg"]
    assert blocker.read_text() == "not a folder\n"


def test_old_option_names_are_aliases(tmp_path):
    """family and dest, the names before family_dir and dest_dir (issue 9 item 4), keep users' playbooks working."""
    old = run_module("dockerfiles", {"family": str(FIXTURES / "tiny"), "dest": str(tmp_path / "old")})
    new = run_module("dockerfiles", {"family_dir": str(FIXTURES / "tiny"), "dest_dir": str(tmp_path / "new")})
    assert old["changed"] is True and new["changed"] is True and old["files"] == new["files"]
    assert (tmp_path / "old" / old["files"][0]).read_text() == (tmp_path / "new" / new["files"][0]).read_text()
    # both names at once: Ansible's own rule for aliases, a warning naming them (checked here, written nothing)
    both = run_module("dockerfiles", {"family_dir": str(FIXTURES / "tiny"), "dest": str(tmp_path / "a"),
                                      "dest_dir": str(tmp_path / "b")}, check=True)
    assert "Both option dest_dir and its alias dest are set" in json.dumps(both.get("warnings")), both
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
