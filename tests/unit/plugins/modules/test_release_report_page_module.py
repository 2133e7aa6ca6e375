"""release_report module, run in process: the page beside the Markdown and JSON, links to what the release wrote,
what changed since the previous run's report, and the history of the last N reports with its index."""
from __future__ import annotations

import json

from ansible_collections.buildfarm.images.tests.support import html_check, report_fixtures
from ansible_collections.buildfarm.images.tests.support.run_module import run_module


def _args(kind: str, dest, **more) -> dict:
    a = report_fixtures.release(kind)
    return dict({"release": a["release"], "builders": a["builders"], "results": a["results"],
                 "published": a["published"], "verified": a["verified"], "builder_facts": a["hosts"],
                 "dest_dir": str(dest)}, **more)


def test_page_links_changes_and_history(tmp_path):
    (tmp_path / "docs" / "python").mkdir(parents=True)
    (tmp_path / "docs" / "python" / "README.md").write_text("# python\n")
    (tmp_path / "docs" / "python" / "README.amd64.md").write_text("# python amd64\n")
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "python").write_text("Tags: 3.13\n")
    first = run_module("release_report", _args("first", tmp_path))
    assert not first.get("failed") and first["changed"] is False, first
    assert first["page"] == str(tmp_path / "release-report.html")
    page = (tmp_path / "release-report.html").read_text()
    assert html_check.check(page) == []
    assert 'href="docs/python/README.md"' in page and 'href="docs/python/README.amd64.md"' in page
    assert 'href="library/python"' in page and 'href="history/index.html"' in page
    assert first["changes"]["previous"] is None and first["headline"].startswith("Release complete: 20 built")
    changed = run_module("release_report", _args("changed", tmp_path))
    ch = changed["changes"]
    # compared with the first run's JSON, kept in the history with its page
    assert ch["previous"]["generated"] == first["report"]["generated"]
    assert ch["previous"]["file"] == "history/%s.html" % first["history"]["name"]
    assert len(ch["tags_added"]) == 2 and len(ch["rebuilt"]) == 11
    assert json.loads((tmp_path / "release-report.json").read_text())["changes"] == ch
    kept = (tmp_path / "history" / (first["history"]["name"] + ".html")).read_text()
    assert 'href="../docs/python/README.md"' in kept and html_check.check(kept) == []


def test_history_keeps_the_last_n_and_lists_them(tmp_path):
    names = []
    for _attempt in range(4):
        r = run_module("release_report", _args("unchanged", tmp_path, history=2))
        assert not r.get("failed"), r
        names.append(r["history"]["name"])
    assert len(set(names)) == 4  # several runs within one second get their own names
    kept = sorted(p.name for p in (tmp_path / "history").iterdir())
    assert kept == sorted(["index.html"] + [n + ext for n in names[-2:] for ext in (".json", ".html")])
    assert r["history"]["kept"] == [names[3], names[2]] and len(r["history"]["removed"]) == 2
    index = (tmp_path / "history" / "index.html").read_text()
    assert html_check.check(index) == []
    assert index.index(names[3] + ".html") < index.index(names[2] + ".html")
    assert 'href="%s.html"' % names[1] not in index
    assert r["changes"]["nothing_changed"] is True and "nothing changed" in r["headline"]


def test_other_files_in_history_are_left_alone_and_history_0_writes_none(tmp_path):
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "notes.txt").write_text("mine\n")
    r = run_module("release_report", _args("first", tmp_path, history=0))
    assert not r.get("failed") and r["history"]["name"] == "" and r["history"]["index"] == "", r
    assert [p.name for p in (tmp_path / "history").iterdir()] == ["notes.txt"]
    assert (tmp_path / "release-report.html").exists()
    bad = run_module("release_report", _args("first", tmp_path, history=-1))
    assert bad["failed"] and bad["field"] == "history", bad


def test_check_mode_writes_nothing(tmp_path):
    r = run_module("release_report", _args("first", tmp_path / "out"), check=True)
    assert not r.get("failed") and r["files"] == [] and r["page"].endswith("release-report.html"), r
    assert not (tmp_path / "out").exists()


def test_a_page_path_that_is_a_folder_fails_before_anything_is_written(tmp_path):
    (tmp_path / "release-report.html").mkdir()
    r = run_module("release_report", _args("first", tmp_path))
    assert r["failed"] and r["field"] == "dest_dir" and "release-report.html" in r["file"], r
    assert not (tmp_path / "release-report.json").exists()
