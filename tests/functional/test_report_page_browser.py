"""The release report's page as a person sees it, in headless Chromium (Debian's chromium, driven over the
DevTools pipe by tests/support/browser.py): written by the release_report module from a release shaped like the
local default's (three families), a release whose s390x builder failed, and a later release after one family
changed. Checks the rendered text (summary counts, the python matrix with its amd64 column, the failure and its
host, what changed) and that the page fits 1280 and 400 px wide windows; keeps screenshots of each under
tests/output/report-page/. Skips when chromium is not installed."""
from __future__ import annotations

import pathlib
import re

import pytest

from ansible_collections.buildfarm.images.tests.support import browser, report_fixtures
from ansible_collections.buildfarm.images.tests.support.run_module import run_module

REPO = pathlib.Path(__file__).resolve().parents[2]
SHOTS = REPO / "tests" / "output" / "report-page"

pytestmark = pytest.mark.skipif(not browser.available(), reason="chromium is not installed (apt-get install chromium)")


def _write(kind: str, dest: pathlib.Path) -> dict:
    a = report_fixtures.release(kind)
    r = run_module("release_report", {"release": a["release"], "builders": a["builders"], "results": a["results"],
                                      "published": a["published"], "verified": a["verified"],
                                      "builder_facts": a["hosts"], "dest_dir": str(dest)})
    assert not r.get("failed"), r
    return r


@pytest.fixture(scope="module")
def chromium():
    with browser.Chromium() as b:
        yield b


def _look(chromium, page_path: str, name: str) -> dict:
    """The page at 1280 and at 400 px: its text, its python header row, and a screenshot of each."""
    seen = {}
    for width in (1280, 400):
        page = chromium.open(page_path, width=width, height=2000)
        try:
            assert page.overflows() == 0, "the page scrolls sideways at %d px" % width
            # tag names and image keys heading a table's rows stay whole on one line (the table scrolls in its
            # box): an inline element broken over lines has a box per line
            broken = page.evaluate("Array.from(document.querySelectorAll('tbody th code'))"
                                   ".filter(c => c.getClientRects().length > 1).map(c => c.textContent)")
            assert broken == [], "names broken over lines at %d px: %s" % (width, broken)
            seen[width] = {"text": page.text, "python_columns": page.evaluate(
                "Array.from(document.querySelectorAll('#repo-python table.matrix thead th'))"
                ".map(th => th.innerText)")}
            page.screenshot(str(SHOTS / ("%s-%d.png" % (name, width))))
        finally:
            page.close()
    assert (SHOTS / ("%s-400.png" % name)).stat().st_size > 10_000
    return seen


def test_a_release_of_three_families(chromium, tmp_path):
    r = _write("first", tmp_path)
    seen = _look(chromium, r["page"], "first")
    for width, view in seen.items():
        text = view["text"]
        assert "Release complete: 20 built, 0 unchanged, 0 failed, 0 skipped" in text, width
        assert re.search(r"20\s+built", text) and re.search(r"0\s+failed", text)
        assert view["python_columns"] == ["Tag", "amd64", "List"]
        assert "3.13-slim-trixie" in text and "builder-s390x" in text
        assert "first report: no previous release to compare with" in text


def test_a_release_whose_builder_failed_shows_the_failure_and_its_host(chromium, tmp_path):
    r = _write("failed", tmp_path)
    seen = _look(chromium, r["page"], "failed-builder")
    text = seen[1280]["text"]
    assert "Release incomplete (failed: builder-s390x)" in text
    assert re.search(r"3\s+failed", text) and re.search(r"2\s+skipped", text)
    assert "build on builder-s390x busybox:1.37.0-glibc (s390x): busybox:1.37.0-glibc: build failed: exec " \
           "/bin/sh: exec format error" in text
    assert "Failures" in seen[400]["text"] and "exec format error" in seen[400]["text"]


def test_what_changed_after_one_family_changed(chromium, tmp_path):
    _write("first", tmp_path)
    r = _write("changed", tmp_path)
    seen = _look(chromium, r["page"], "what-changed")
    text = seen[1280]["text"]
    section = text.split("What changed", 1)[1]
    assert "Tags added" in section and "debian:13.3" in section and "Tags removed" in section
    assert "Images rebuilt and why" in section and "parent debian:trixie-slim changed" in section
    assert "version changed (13.2 -> 13.3)" in section
    assert "since the previous release: 2 tags added, 2 tags removed, 46 digests changed, 11 images rebuilt" in text
    # the previous release's page is kept and linked
    assert (tmp_path / r["changes"]["previous"]["file"]).is_file()
