"""The release report: rows per tag, columns per architecture, failed and silent builders, atomic files."""
from __future__ import annotations

import json

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import write_text
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    MemberVerification,
    ModelError,
    TagVerification,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.release_report import (
    build_report,
    markdown,
    render_files,
)
from ansible_collections.buildfarm.images.plugins.module_utils.verify.release_verify import summary

RELEASE = [{"name": "busybox", "entries": [{
    "tags": ["1.35.0-glibc", "glibc"], "directory": "stable/glibc",
    "shared_tags": ["latest"], "architectures": ["amd64", "s390x", "arm64v8"]}]}]
BUILDERS = {"b-amd64": "amd64", "b-s390x": "s390x", "b-arm64": "arm64v8"}


def _result(arch, status="built", failed=(), pushed="pushed"):
    ns = "127.0.0.1:5000/%s/busybox" % arch
    tags = [ns + ":1.35.0-glibc", ns + ":glibc", ns + ":latest"]
    return {"arch": arch, "failed": list(failed),
            "images": [{"key": "busybox:1.35.0-glibc", "repo": "busybox", "status": status, "tags": tags}],
            "pushed": [{"key": "busybox:1.35.0-glibc", "tags": [
                {"ref": t, "status": pushed, "digest": "sha256:" + arch} for t in tags]}],
            "digests": {t: "sha256:" + arch for t in tags}}


def test_one_row_per_tag_one_column_per_arch_in_canonical_order():
    published = {"busybox": [{"tag": t, "action": "created", "digest": "sha256:list"}
                             for t in ("1.35.0-glibc", "glibc", "latest")]}
    results = {h: _result(a) for h, a in BUILDERS.items()}
    report = build_report(RELEASE, BUILDERS, results, published)
    assert report.ok
    assert report.architectures == ["amd64", "arm64v8", "s390x"]
    assert [(r.tag, r.shared) for r in report.rows] == [("1.35.0-glibc", False), ("glibc", False), ("latest", True)]
    cell = report.rows[2].cells["s390x"]
    assert (cell.status, cell.push, cell.digest, cell.host) == ("built", "pushed", "sha256:s390x", "b-s390x")
    assert report.rows[0].published == "created"


def test_silent_and_failed_builders_are_named():
    results = {"b-amd64": _result("amd64", pushed="unchanged"),
               "b-arm64": _result("arm64v8", failed=["busybox:1.35.0-glibc"])}
    published = {"busybox": [{"tag": "latest", "action": "failed", "digest": "", "missing_architectures": ["s390x"]}]}
    report = build_report(RELEASE, BUILDERS, results, published)
    assert not report.ok
    assert "did not report" in report.failed_hosts["b-s390x"]
    assert report.failed_entries == {"b-arm64": ["busybox:1.35.0-glibc"]}
    latest = report.rows[2]
    assert latest.cells["s390x"].status == "unreachable"
    assert latest.cells["arm64v8"].status == "failed"
    assert latest.cells["amd64"].push == "unchanged"
    assert latest.published == "failed" and latest.message == "s390x"
    md = markdown(report)
    assert "`b-s390x`" in md and "| busybox | `latest` (shared) |" in md


def test_files_are_written_whole_and_only_when_different(tmp_path):
    report = build_report(RELEASE, BUILDERS, {h: _result(a) for h, a in BUILDERS.items()}, {})
    files = render_files(report)
    assert json.loads(files["release-report.json"])["rows"][0]["published"] == "not-published"
    path = str(tmp_path / "out" / "release-report.md")
    assert write_text(path, files["release-report.md"]).changed is True
    assert write_text(path, files["release-report.md"]).changed is False
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["release-report.md"]


# Windows builders report like Linux ones (role build_windows), plus the entries no Windows builder can build.
WIN_RELEASE = [{"name": "python", "entries": [
    {"tags": ["3.14-bookworm"], "architectures": ["amd64"], "directory": "3.14/bookworm"},
    {"tags": ["3.14-windowsservercore-ltsc2022"], "shared_tags": ["3.14"], "architectures": ["windows-amd64"],
     "directory": "3.14/windows/windowsservercore-ltsc2022"},
    {"tags": ["3.13-windowsservercore-1809"], "architectures": ["windows-amd64"],
     "directory": "3.13/windows/windowsservercore-1809"},
]}]
WIN_BUILDERS = {"b-amd64": "amd64", "win2022": "windows-amd64", "win2025": "windows-amd64"}
UNROUTABLE = [{"repo": "python", "key": "python:3.13-windowsservercore-1809", "arch": "windows-amd64",
               "directory": "3.13/windowsservercore-1809", "tags": ["3.13-windowsservercore-1809"],
               "reason": "no windows-amd64 builder states the release its Constraints name (windowsservercore-1809)"}]


def _win_results():
    ref = "r/winamd64/python:"
    linux = "r/amd64/python:3.14-bookworm"
    return {
        "b-amd64": {"arch": "amd64", "failed": [], "digests": {linux: "sha256:lin"},
                    "images": [{"key": "python:3.14-bookworm", "repo": "python", "status": "built", "tags": [linux]}],
                    "pushed": [{"key": "python:3.14-bookworm",
                                "tags": [{"ref": linux, "status": "pushed", "digest": "sha256:lin"}]}]},
        "win2022": {"arch": "windows-amd64", "failed": [], "unroutable": UNROUTABLE,
                    "digests": {ref + "3.14-windowsservercore-ltsc2022": "sha256:win", ref + "3.14": "sha256:win"},
                    "images": [{"key": "python:3.14-windowsservercore-ltsc2022", "repo": "python",
                                "status": "unchanged",
                                "tags": [ref + "3.14-windowsservercore-ltsc2022", ref + "3.14"]}],
                    "pushed": [{"key": "python:3.14-windowsservercore-ltsc2022", "tags": [
                        {"ref": ref + "3.14-windowsservercore-ltsc2022", "status": "unchanged", "digest": "sha256:win"},
                        {"ref": ref + "3.14", "status": "unchanged", "digest": "sha256:win"}]}]},
        "win2025": {"arch": "windows-amd64", "failed": [], "unroutable": UNROUTABLE, "digests": {}, "images": [],
                    "pushed": []},
    }


def test_windows_entries_get_the_windows_column_and_unroutable_ones_are_listed():
    report = build_report(WIN_RELEASE, WIN_BUILDERS, _win_results(), {})
    assert report.architectures == ["amd64", "windows-amd64"]
    rows = {r.tag: r for r in report.rows}
    win = rows["3.14-windowsservercore-ltsc2022"].cells["windows-amd64"]
    assert (win.status, win.push, win.digest, win.host) == ("unchanged", "unchanged", "sha256:win", "win2022")
    assert rows["3.14"].shared and rows["3.14"].cells["windows-amd64"].digest == "sha256:win"
    assert "windows-amd64" not in rows["3.14-bookworm"].cells
    assert rows["3.13-windowsservercore-1809"].cells["windows-amd64"].status == "unroutable"
    # both Windows builders report it; it is listed once, with its reason
    assert report.unroutable == UNROUTABLE
    assert report.ok  # an unroutable entry's lists are the completeness policy's business, not a builder failure
    md = markdown(report)
    assert "**Unroutable entries**" in md
    assert "- `python:3.13-windowsservercore-1809` (windows-amd64): no windows-amd64 builder states" in md
    assert "| python | `3.13-windowsservercore-1809` |  | unroutable | not-published |" in md
    assert json.loads(render_files(report)["release-report.json"])["unroutable"] == UNROUTABLE


def test_a_silent_windows_builder_fails_the_report_and_its_entries_are_unreachable():
    results = _win_results()
    del results["win2022"]
    report = build_report(WIN_RELEASE, WIN_BUILDERS, results, {})
    assert not report.ok
    assert "win2022" in report.failed_hosts
    cell = next(r for r in report.rows if r.tag == "3.14-windowsservercore-ltsc2022").cells["windows-amd64"]
    assert cell.status == "unreachable"
    # the other Windows builder still reports the unroutable entry
    assert [u["key"] for u in report.unroutable] == ["python:3.13-windowsservercore-1809"]


def test_a_malformed_stage_result_names_host_item_and_field():
    """The results are parsed by the build stage's records: a malformed one is named, not a KeyError."""
    bad = _result("amd64")
    del bad["images"][0]["status"]
    with pytest.raises(ModelError, match=r"results\.b-amd64\.images\[0\]: field status: missing"):
        build_report(RELEASE, BUILDERS, {"b-amd64": bad}, {})
    with pytest.raises(ModelError, match=r"published\.busybox\[0\]: field action"):
        build_report(RELEASE, BUILDERS, {}, {"busybox": [{"tag": "latest", "action": "sent"}]})


def test_the_verify_stages_whole_result_is_read_by_its_record():
    tags = [TagVerification("library/busybox", "latest", "sha256:l", [
        MemberVerification("amd64", "linux/amd64", "sha256:a", sbom={"packages": 1}, provenance={"x": 1}),
        MemberVerification("s390x", "linux/s390x", "sha256:s", failures=["no SBOM (spdx) in the attestation"])])]
    results = {h: _result(a) for h, a in BUILDERS.items()}
    report = build_report(RELEASE, BUILDERS, results, {}, verified=summary(tags))
    latest = {(i["arch"], t["tag"]): t["verified"] for i in report.images for t in i["tags"]}
    assert latest[("amd64", "latest")] == {"ok": True, "sbom": True, "provenance": True, "message": ""}
    assert latest[("s390x", "latest")]["ok"] is False and latest[("s390x", "latest")]["sbom"] is False
    assert latest[("amd64", "glibc")] is None
    with pytest.raises(ModelError, match=r"verified.tags\[0\]: field tag"):
        build_report(RELEASE, BUILDERS, results, {}, verified={"tags": [{"repository": "busybox"}]})


def test_build_times_list_every_timed_image_an_unchanged_one_too():
    """image_build times every entry it handles: an unchanged image found in a blink (0.0 s) is listed with its
    time; an item with no time at all (a producer that gives none) is not."""
    results = {"b-amd64": _result("amd64", status="unchanged"), "b-s390x": _result("s390x"),
               "b-arm64": _result("arm64v8")}
    results["b-amd64"]["images"][0]["seconds"] = 0.0
    results["b-s390x"]["images"][0]["seconds"] = 42.5
    report = build_report(RELEASE, BUILDERS, results, {})
    times = {(t["arch"], t["status"]): t["seconds"] for t in report.build_times}
    assert times == {("amd64", "unchanged"): 0.0, ("s390x", "built"): 42.5}
