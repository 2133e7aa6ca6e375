# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release report: one row per tag, one column per architecture (digest and built / unchanged / failed),
and what was published, as JSON and Markdown. Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures


@dataclass
class Cell:
    status: str  # built | unchanged | failed | skipped | not-built | would-build | unreachable | unroutable
    digest: str = ""
    host: str = ""
    push: str = ""  # pushed | unchanged | would-push | failed, for this tag; '' when not pushed at all

    def as_dict(self) -> dict:
        return {"status": self.status, "digest": self.digest, "host": self.host, "push": self.push}


@dataclass
class Row:
    repository: str
    tag: str
    shared: bool
    cells: dict[str, Cell] = field(default_factory=dict)  # arch -> cell
    published: str = ""  # created | updated | unchanged | failed | not-published | would_create ...
    published_digest: str = ""
    message: str = ""

    def as_dict(self) -> dict:
        return {"repository": self.repository, "tag": self.tag, "shared": self.shared,
                "architectures": {a: c.as_dict() for a, c in self.cells.items()},
                "published": self.published, "published_digest": self.published_digest, "message": self.message}


@dataclass
class Report:
    architectures: list[str]
    rows: list[Row]
    failed_hosts: dict[str, str]  # host -> why
    failed_entries: dict[str, list[str]]  # host -> entry keys
    # entries no builder of their architecture can build: repo, key, arch, tags, reason
    unroutable: list[dict] = field(default_factory=list)
    # each image's time on its builder: key, arch, host, status, seconds (image_build's `seconds`)
    build_times: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed_hosts and not any(r.published == "failed" for r in self.rows)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "architectures": self.architectures, "failed_hosts": self.failed_hosts,
                "failed_entries": self.failed_entries, "unroutable": self.unroutable,
                "rows": [r.as_dict() for r in self.rows], "build_times": self.build_times}


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12] if digest else ""


def build_report(release: Sequence[Mapping[str, Any]], builders: Mapping[str, str],
                 results: Mapping[str, Mapping[str, Any]], published: Mapping[str, Sequence[Mapping[str, Any]]],
                 errors: Mapping[str, str] | None = None) -> Report:
    """``release``: items with name and entries (release_plan's); ``builders``: host -> arch of every builder;
    ``results``: host -> the build role's buildfarm_build_result (absent for hosts that never reported; Windows
    builders add ``unroutable``, the entries no Windows builder's release can build, each with a reason);
    ``published``: repository name -> manifest_list's ``lists``."""
    arches = architectures.sort_names(set(builders.values()))
    # ``errors``: host -> why its build failed before it recorded a result
    failed_hosts = {h: (errors or {}).get(h) or "did not report (unreachable or failed before building)"
                    for h in builders if h not in results}
    failed_entries: dict[str, list[str]] = {}
    # (repo, entry key, arch) -> cell, and (repo, entry key, arch) -> {tag: push status}
    cells: dict[tuple[str, str, str], Cell] = {}
    pushes: dict[tuple[str, str, str], dict[str, tuple[str, str]]] = {}
    # every Windows builder computes the same unroutable entries: keep one of each
    unroutable: dict[tuple[str, str, str], dict] = {}
    times: list[dict] = []
    for host, res in results.items():
        arch = res.get("arch") or builders.get(host, "")
        for u in res.get("unroutable") or []:
            unroutable.setdefault((u["repo"], u["key"], u.get("arch") or arch), dict(u, arch=u.get("arch") or arch))
        digests = res.get("digests") or {}
        failed = set(res.get("failed") or [])
        if failed:
            failed_entries[host] = sorted(failed)
            failed_hosts.setdefault(host, "entries failed: " + ", ".join(sorted(failed)))
        for img in res.get("images") or []:
            status = "failed" if img["key"] in failed and img["status"] in ("built", "unchanged") else img["status"]
            if status == "skipped" and str(img.get("error") or "").startswith("parent failed"):
                status = "skipped: parent failed"  # not attempted: an image it is built FROM failed here
            digest = next((digests[t] for t in img.get("tags") or [] if t in digests), "")
            cells[(img["repo"], img["key"], arch)] = Cell(status, digest, host)
            if "seconds" in img:
                times.append({"key": img["key"], "arch": arch, "host": host, "status": img["status"],
                              "seconds": img["seconds"]})
        for pushed in res.get("pushed") or []:
            for t in pushed.get("tags") or []:
                repo = t["ref"].rsplit("/", 1)[-1].rsplit(":", 1)[0]
                pushes.setdefault((repo, pushed["key"], arch), {})[t["ref"].rsplit(":", 1)[1]] = (
                    t["status"], t.get("digest", ""))
    rows: list[Row] = []
    for fam in release:
        name = fam["name"]
        lists = {x["tag"]: x for x in published.get(name) or []}
        seen: set[str] = set()
        for e in fam.get("entries") or []:
            key = "%s:%s" % (name, e["tags"][0])
            for tag, shared in [(t, False) for t in e["tags"]] + [(t, True) for t in e.get("shared_tags") or []]:
                row = next((r for r in rows if r.repository == name and r.tag == tag), None) if tag in seen else None
                if row is None:
                    row = Row(name, tag, shared)
                    rows.append(row)
                    seen.add(tag)
                    pub = lists.get(tag)
                    if pub:
                        row.published, row.published_digest = pub.get("action", ""), pub.get("digest", "")
                        row.message = pub.get("message", "") or ", ".join(pub.get("missing_architectures") or [])
                    else:
                        row.published = "not-published"
                for arch in e.get("architectures") or []:
                    if arch not in arches:
                        continue
                    host = next((h for h, a in builders.items() if a == arch and h in failed_hosts
                                 and h not in results), "")
                    base = (cells.get((name, key, arch))
                            or (Cell("unroutable") if (name, key, arch) in unroutable else None)
                            or Cell("unreachable" if host else "not-built", "", host))
                    push, digest = pushes.get((name, key, arch), {}).get(tag, ("", ""))
                    row.cells[arch] = Cell(base.status, digest or base.digest, base.host, push)
    times.sort(key=lambda t: (t["key"], t["arch"]))
    return Report(arches, rows, failed_hosts, failed_entries, [unroutable[k] for k in sorted(unroutable)], times)


def markdown(report: Report) -> str:
    head = ["Repository", "Tag"] + report.architectures + ["Published"]
    out = ["# Release report", ""]
    if report.failed_hosts:
        out += ["**Failed builders:**", ""]
        out += ["- `%s`: %s" % (h, why) for h, why in sorted(report.failed_hosts.items())]
        out.append("")
    if report.unroutable:
        out += ["**Unroutable entries** (no builder can build them; their lists follow the completeness policy):", ""]
        out += ["- `%s` (%s): %s" % (u["key"], u["arch"], u["reason"]) for u in report.unroutable]
        out.append("")
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report.rows:
        cols = [r.repository, ("`%s` (shared)" if r.shared else "`%s`") % r.tag]
        for a in report.architectures:
            c = r.cells.get(a)
            if not c:
                cols.append("")
                continue
            push = "/" + c.push if c.push else ""
            cols.append("%s%s %s" % (c.status, push, ("`%s`" % _short(c.digest)) if c.digest else ""))
        pub = r.published + (" `%s`" % _short(r.published_digest) if r.published_digest else "")
        cols.append(pub + (" (%s)" % r.message if r.message else ""))
        out.append("| " + " | ".join(c.strip() for c in cols) + " |")
    if report.build_times:
        out += ["", "**Build times** (each image on its builder; unchanged images only looked up):", "",
                "| Image | Architecture | Host | Status | Time |", "|---|---|---|---|---|"]
        out += ["| `%s` | %s | %s | %s | %s |" % (t["key"], t["arch"], t["host"], t["status"], _duration(t["seconds"]))
                for t in report.build_times]
    return "\n".join(out) + "\n"


def _duration(seconds: float) -> str:
    s = int(round(float(seconds or 0)))
    return "%dm%02ds" % (s // 60, s % 60) if s >= 60 else "%ds" % s


def render_files(report: Report) -> dict[str, str]:
    return {"release-report.json": json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n",
            "release-report.md": markdown(report)}
