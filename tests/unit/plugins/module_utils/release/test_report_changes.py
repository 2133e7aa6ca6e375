"""What changed around a release in which images failed: such a release never says "nothing changed", and the
releases after it compare each member with the digest its tag last held (carried through the failed reports), so a
member that failed once is "changed", not "added". Inputs: tests/support/report_fixtures.py (the local default's
three families as the stages return them; builder-s390x's busybox builds fail and its debian builds are skipped)."""
from __future__ import annotations

import json

from ansible_collections.buildfarm.images.plugins.module_utils.release.release_report import build_report
from ansible_collections.buildfarm.images.plugins.module_utils.release.report_changes import compare
from ansible_collections.buildfarm.images.plugins.module_utils.release.report_html import render
from ansible_collections.buildfarm.images.tests.support import html_check, report_fixtures


def _release(previous: dict | None, generated: str, rev: dict[str, str] | None = None, failing: str = "",
             built: tuple[str, ...] = (), silent: str = "") -> dict:
    """A release's report data (as the JSON keeps it) compared with ``previous``: every family unchanged except
    those in ``built`` (rebuilt with the input tokens ``rev``); ``failing``: a builder whose builds fail;
    ``silent``: a builder that gave no result (unreachable)."""
    fams = report_fixtures.families()
    statuses = {f["name"]: "built" if f["name"] in built else "unchanged" for f in fams}
    res = report_fixtures.results(fams, statuses=statuses, rev=rev, failing=failing)
    res.pop(silent, None)
    pub = report_fixtures.published(fams, res, "unchanged")
    report = build_report(fams, dict(report_fixtures.BUILDERS), res, pub, generated=generated)
    report.changes = compare(previous, report.to_dict())
    return json.loads(json.dumps(report.to_dict()))  # what the next release reads back


def _members(data: dict, arch: str, repo: str) -> dict[str, str]:
    return {r["tag"]: r["architectures"][arch]["digest"] for r in data["rows"]
            if r["repository"] == repo and arch in r["architectures"]}


def test_a_release_whose_images_failed_does_not_say_nothing_changed():
    first = _release(None, "2026-12-07T01:00:00Z")
    failed = _release(first, "2026-12-07T02:00:00Z", failing="builder-s390x")
    ch = failed["changes"]
    assert not ch["nothing_changed"] and ch["not_done"] == "3 images failed, 2 images skipped"
    assert ch["summary"] == "no published tag changed since the previous release; 3 images failed, 2 images skipped"
    assert "nothing changed" not in failed["headline"] and "3 images failed" in failed["headline"]
    assert ch["digests_changed"] == ch["members_added"] == ch["members_removed"] == []
    page = render(failed)
    assert html_check.check(page) == []
    assert "= nothing changed" not in page and "\u2298 no published tag changed</span> 3 images failed" in page
    # the failed members keep the digest their tags still hold: the first release's
    kept = {(m["repository"], m["tag"], m["arch"]): m["digest"] for m in ch["last_digests"]}
    s390x = {("busybox", t, "s390x"): d for t, d in _members(first, "s390x", "busybox").items()}
    s390x.update({("debian", t, "s390x"): d for t, d in _members(first, "s390x", "debian").items()})
    assert kept == s390x and len(kept) == 3 * 4 + 5 + 2 * 4  # busybox's tags and shared ones, bookworm's
    # a builder that was not reached: its images were not built, its members keep their digests too
    silent = _release(first, "2026-12-07T02:00:00Z", silent="builder-s390x")["changes"]
    assert not silent["nothing_changed"] and silent["not_done"] == "5 images not built"
    # the fixture's lists are made of the members pushed: without s390x's their digests moved, and a summary of
    # lists only names them
    assert silent["summary"].startswith("since the previous release: ") and silent["lists_changed"]
    assert silent["summary"].endswith(" lists changed; 5 images not built")
    assert {(m["repository"], m["tag"], m["arch"]): m["digest"] for m in silent["last_digests"]} == s390x
    # a release with everything done still says nothing changed
    again = _release(first, "2026-12-07T02:00:00Z")["changes"]
    assert again["nothing_changed"] and again["summary"] == "nothing changed since the previous release"
    assert again["last_digests"] == [] and again["not_done"] == ""


def test_the_release_after_a_failed_one_compares_with_the_digest_last_published():
    first = _release(None, "2026-12-07T01:00:00Z")
    failed = _release(first, "2026-12-07T02:00:00Z", failing="builder-s390x")
    failed_again = _release(failed, "2026-12-07T03:00:00Z", failing="builder-s390x")
    assert failed_again["changes"]["last_digests"] == failed["changes"]["last_digests"]  # carried on
    # s390x builds again and busybox's inputs moved: every busybox member changed, s390x's against the first
    # release's digests (two failed releases ago), none "added"
    fixed = _release(failed_again, "2026-12-07T04:00:00Z", rev={"busybox": "2"}, built=("busybox",))
    ch = fixed["changes"]
    assert ch["members_added"] == [] and ch["last_digests"] == []
    changed = {(m["repository"], m["tag"], m["arch"]): (m["old"], m["new"]) for m in ch["digests_changed"]}
    before, after = _members(first, "s390x", "busybox"), _members(fixed, "s390x", "busybox")
    for tag, old in before.items():
        assert changed[("busybox", tag, "s390x")] == (old, after[tag]) and old != after[tag]
    assert {k[0] for k in changed} == {"busybox"}  # debian's s390x images are what its tags held: unchanged
    assert ch["summary"] == "since the previous release: %d digests changed, 9 images rebuilt" % len(changed)
    why = {(r["key"], r["arch"]): r["reasons"] for r in ch["rebuilt"]}
    assert why[("busybox:1.37.0-glibc", "s390x")] == ["not built in the previous release (failed)"]
    assert why[("busybox:1.37.0-glibc", "amd64")] == ["input digest changed: its recipe, a parent or a source"]
    page = render(fixed)
    assert html_check.check(page) == [] and ">added<" not in page
