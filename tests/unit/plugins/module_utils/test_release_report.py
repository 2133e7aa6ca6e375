"""The release report: rows per tag, columns per architecture, failed and silent builders, atomic files."""
from __future__ import annotations

import json

from ansible_collections.buildfarm.images.plugins.module_utils.release_report import (
    build_report,
    markdown,
    render_files,
    write_atomic,
)

RELEASE = [{"name": "busybox", "entries": [{
    "tags": ["1.35.0-glibc", "glibc"], "shared_tags": ["latest"], "architectures": ["amd64", "s390x", "arm64v8"]}]}]
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
    assert write_atomic(path, files["release-report.md"]) is True
    assert write_atomic(path, files["release-report.md"]) is False
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["release-report.md"]
