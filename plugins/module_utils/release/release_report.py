# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release report: one row per tag, one column per architecture (digest and built / unchanged / failed),
and what was published, as JSON and Markdown. Plain typed Python, importable without Ansible.

Beside the rows the report keeps each image's details (build, test and push times, size, builder, input digest,
parents, attestation and verification of its tags), each builder's share and time, every failure with its host,
and the release's changes since the previous report (report_changes); report_html renders it as a page.
Optional fields of the stages' results are read defensively: a result without them (an older builder, a dry
run) gives empty values, never an error.
"""
from __future__ import annotations

import calendar
import json
import time
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
    # every planned image (entry x architecture), see image_details
    images: list[dict] = field(default_factory=list)
    # every builder: host, arch, emulated, engines, images, started, finished, seconds, ok, error
    builders: list[dict] = field(default_factory=list)
    # every failure: host, arch, key ('' for a builder's own), stage (builder|build|test|push|publish), message
    failures: list[dict] = field(default_factory=list)
    # the release's time: started, finished (RFC 3339 UTC), seconds
    times: dict = field(default_factory=dict)
    # when the report was made (RFC 3339 UTC)
    generated: str = ""
    # what changed since the previous report (report_changes.compare); empty until compared
    changes: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed_hosts and not any(r.published == "failed" for r in self.rows)

    def counts(self) -> dict[str, int]:
        """Images by outcome: built, unchanged (pulled ones too), failed, skipped, and other (not built: an
        unreachable builder, no builder, a dry run)."""
        out = {"built": 0, "unchanged": 0, "failed": 0, "skipped": 0, "other": 0}
        for img in self.images:
            st = img["status"]
            k = ("built" if st == "built" else "unchanged" if st in ("unchanged", "pulled")
                 else "failed" if st == "failed" else "skipped" if st.startswith("skipped") else "other")
            out[k] += 1
        return out

    def lists(self) -> dict[str, list[str]]:
        """Published lists by action (created, updated, unchanged, failed, not-published ...): repo:tag names."""
        out: dict[str, list[str]] = {}
        for r in self.rows:
            out.setdefault(r.published or "not-published", []).append("%s:%s" % (r.repository, r.tag))
        return out

    def headline(self) -> str:
        """The one-line summary: result, image counts, lists, changes, time."""
        c = self.counts()
        parts = ["%d built, %d unchanged, %d failed, %d skipped" % (c["built"], c["unchanged"], c["failed"],
                                                                    c["skipped"])]
        lists = self.lists()
        parts.append("lists: " + (", ".join("%d %s" % (len(lists[a]), a) for a in sorted(lists)) or "none"))
        ch = self.changes
        if ch:
            parts.append(ch.get("summary") or "")
        if self.times.get("seconds") is not None:
            parts.append("took " + _duration(self.times["seconds"]))
        head = "Release complete" if self.ok else "Release incomplete (failed: %s)" % ", ".join(
            sorted(self.failed_hosts) or ["lists"])
        return "%s: %s." % (head, "; ".join(p for p in parts if p))

    def as_dict(self) -> dict:
        return {"ok": self.ok, "architectures": self.architectures, "failed_hosts": self.failed_hosts,
                "failed_entries": self.failed_entries, "unroutable": self.unroutable,
                "rows": [r.as_dict() for r in self.rows], "build_times": self.build_times,
                # the page's data (report_html): images with times, builders, failures, changes
                "images": self.images, "builders": self.builders, "failures": self.failures,
                "counts": self.counts(), "lists": self.lists(), "times": self.times, "generated": self.generated,
                "changes": self.changes, "headline": self.headline()}


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12] if digest else ""


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 UTC time (``2026-12-07T01:20:03Z``, fractions and ``+00:00``
    allowed); None for anything else (a field a stage did not give)."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    try:
        return float(calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def format_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _span(items: Sequence[Mapping[str, Any]]) -> dict:
    """started (earliest), finished (latest) and seconds between them of timed items; {} when none is timed."""
    starts = [t for t in (parse_time(i.get("started")) for i in items) if t is not None]
    ends = [t for t in (parse_time(i.get("finished")) for i in items) if t is not None]
    if not starts or not ends:
        return {}
    return {"started": format_time(min(starts)), "finished": format_time(max(ends)),
            "seconds": max(0.0, max(ends) - min(starts))}


def _timed(item: Mapping[str, Any] | None) -> dict:
    """A stage's times of one image: started, finished, seconds (given, or from the two times)."""
    if not item:
        return {}
    out = {k: item[k] for k in ("started", "finished") if isinstance(item.get(k), str) and item.get(k)}
    secs = item.get("seconds")
    if not isinstance(secs, (int, float)) or isinstance(secs, bool):
        a, b = parse_time(item.get("started")), parse_time(item.get("finished"))
        secs = (b - a) if a is not None and b is not None else None
    if secs is not None:
        out["seconds"] = round(float(secs), 3)
    return out


def _repo_name(value: Any) -> str:
    """``python`` of python, library/python, 127.0.0.1:5000/amd64/python:3.13 (a verify result's naming)."""
    text = str(value or "")
    last = text.rsplit("/", 1)[-1]
    return last.split(":", 1)[0] if ":" in last else last


def _flag(item: Mapping[str, Any], *names: str) -> bool | None:
    for n in names:
        v = item.get(n)
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v:
            return v.lower() in ("ok", "passed", "verified", "true", "present", "yes")
        if isinstance(v, (dict, list)):  # a statement or digest given: present
            return bool(v)
    return None


def verified_index(verified: Sequence[Any] | Mapping[str, Any] | None) -> dict[tuple[str, str, str], dict]:
    """(repository, tag, arch) -> {ok, sbom, provenance, message} of the verify stage's results.

    The documented shape (module option ``verified``) is a list of items with ``repository``, ``tag``, ``arch``,
    ``ok``, ``sbom``, ``provenance`` and ``message``; items may also group members (``members``: items with
    ``arch``) or tags (``tags``: items with ``tag``), and name fields ``repo``/``architecture``/``verified``/
    ``passed``/``error``. Anything unreadable is left out: verification is shown where known, never guessed."""
    out: dict[tuple[str, str, str], dict] = {}

    def walk(item: Any, ctx: dict) -> None:
        if not isinstance(item, Mapping):
            return
        here = dict(ctx)
        if item.get("repository") or item.get("repo"):
            here["repo"] = _repo_name(item.get("repository") or item.get("repo"))
        if isinstance(item.get("tag"), str):
            here["tag"] = item["tag"]
        if item.get("arch") or item.get("architecture"):
            here["arch"] = str(item.get("arch") or item.get("architecture"))
        for sub in ("tags", "members"):
            if isinstance(item.get(sub), list) and all(isinstance(x, Mapping) for x in item[sub]) and item[sub]:
                for x in item[sub]:
                    walk(x, here)
                return
        if not all(here.get(k) for k in ("repo", "tag", "arch")):
            return
        msg = item.get("message") or item.get("error") or item.get("errors") or ""
        out[(here["repo"], here["tag"], here["arch"])] = {
            "ok": _flag(item, "ok", "verified", "passed", "status"),
            "sbom": _flag(item, "sbom"), "provenance": _flag(item, "provenance"),
            "message": "; ".join(map(str, msg)) if isinstance(msg, list) else str(msg)}

    if isinstance(verified, Mapping):  # the verify stage's whole result: its tags
        walk(verified, {})
    else:
        for it in verified or []:
            walk(it, {})
    return out


def build_report(release: Sequence[Mapping[str, Any]], builders: Mapping[str, str],
                 results: Mapping[str, Mapping[str, Any]], published: Mapping[str, Sequence[Mapping[str, Any]]],
                 errors: Mapping[str, str] | None = None,
                 verified: Sequence[Any] | Mapping[str, Any] | None = None,
                 hosts: Mapping[str, Mapping[str, Any]] | None = None, generated: str = "",
                 started: str = "") -> Report:
    """``release``: items with name and entries (release_plan's); ``builders``: host -> arch of every builder;
    ``results``: host -> the build role's buildfarm_build_result (absent for hosts that never reported; Windows
    builders add ``unroutable``, the entries no Windows builder's release can build, each with a reason);
    ``published``: repository name -> manifest_list's ``lists``; ``verified``: the verify stage's results (see
    verified_index); ``hosts``: host -> facts of the builder (``emulated``, ``native``); ``generated``: the
    report's time (default now); ``started``: the release's start (default the first stage time reported)."""
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
    # (repo, key, arch) -> (host, image_build item); (host, key) -> image_test result / image_push item
    items: dict[tuple[str, str, str], tuple[str, Mapping[str, Any]]] = {}
    tests: dict[tuple[str, str], Mapping[str, Any]] = {}
    push_items: dict[tuple[str, str], Mapping[str, Any]] = {}
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
            items[(img["repo"], img["key"], arch)] = (host, img)
            status = "failed" if img["key"] in failed and img["status"] in ("built", "unchanged") else img["status"]
            if status == "skipped" and str(img.get("error") or "").startswith("parent failed"):
                status = "skipped: parent failed"  # not attempted: an image it is built FROM failed here
            digest = next((digests[t] for t in img.get("tags") or [] if t in digests), "")
            cells[(img["repo"], img["key"], arch)] = Cell(status, digest, host)
            if "seconds" in img:
                times.append({"key": img["key"], "arch": arch, "host": host, "status": img["status"],
                              "seconds": img["seconds"]})
        for tested in res.get("tests") or []:
            if isinstance(tested, Mapping) and tested.get("key"):
                tests[(host, tested["key"])] = tested
        for pushed in res.get("pushed") or []:
            push_items[(host, pushed.get("key", ""))] = pushed
            for t in pushed.get("tags") or []:
                repo = t["ref"].rsplit("/", 1)[-1].rsplit(":", 1)[0]
                pushes.setdefault((repo, pushed["key"], arch), {})[t["ref"].rsplit(":", 1)[1]] = (
                    t["status"], t.get("digest", ""))
    rows: list[Row] = []
    bases: dict[tuple[str, str, str], tuple[Mapping[str, Any], Mapping[str, Any], Cell]] = {}
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
                    bases.setdefault((name, key, arch), (fam, e, base))
    times.sort(key=lambda t: (t["key"], t["arch"]))
    report = Report(arches, rows, failed_hosts, failed_entries, [unroutable[k] for k in sorted(unroutable)], times)
    report.generated = generated or format_time(time.time())
    report.images = _image_details(bases, items, tests, push_items, verified_index(verified))
    report.builders = _builders(builders, results, failed_hosts, report.images, hosts or {})
    report.failures = _failures(failed_hosts, results, report.images, rows)
    span = _span(report.builders)
    first = parse_time(started) or parse_time(span.get("started"))
    end = parse_time(report.generated)
    if first is not None and end is not None:
        report.times = {"started": format_time(first), "finished": report.generated, "seconds": max(0.0, end - first)}
    return report


def _image_details(bases: Mapping[tuple[str, str, str], tuple[Mapping[str, Any], Mapping[str, Any], Cell]],
                   items: Mapping[tuple[str, str, str], tuple[str, Mapping[str, Any]]],
                   tests: Mapping[tuple[str, str], Mapping[str, Any]],
                   push_items: Mapping[tuple[str, str], Mapping[str, Any]],
                   verified: Mapping[tuple[str, str, str], dict]) -> list[dict]:
    """One item per planned image (entry x architecture of the report), in the release's order."""
    out = []
    for (name, key, arch), (fam, e, base) in bases.items():
        host, img = items.get((name, key, arch), (base.host, {}))
        status = base.status
        if status == "unchanged" and img.get("pulled"):
            status = "pulled"  # the engine did not have it: taken from the registry, not rebuilt
        test = tests.get((host, key)) or {}
        push = push_items.get((host, key)) or {}
        pushed_tags = {}
        for t in push.get("tags") or []:
            if isinstance(t, Mapping) and ":" in str(t.get("ref", "")):
                pushed_tags[str(t["ref"]).rsplit(":", 1)[1]] = t
        members = []
        for tag in list(e.get("tags") or []) + list(e.get("shared_tags") or []):
            t = pushed_tags.get(tag) or {}
            members.append({"tag": tag, "push": t.get("status", ""), "digest": t.get("digest", ""),
                            "image_digest": t.get("image_digest", ""),
                            "attestation_digest": t.get("attestation_digest", ""),
                            "verified": verified.get((name, tag, arch))})
        size = img.get("size")
        out.append({
            "repository": name, "key": key, "arch": arch, "host": host, "status": status,
            "error": str(img.get("error") or ""),
            "builder": str(img.get("builder") or ""), "image_id": str(img.get("image_id") or ""),
            "input_digest": str(img.get("input_digest") or ""), "pulled": str(img.get("pulled") or ""),
            "parents": [dict(p) for p in img.get("parents") or [] if isinstance(p, Mapping)],
            "size": size if isinstance(size, int) and not isinstance(size, bool) else None,
            # the recipe as planned: the family's commit and the entry's (a library file's GitCommit)
            "revision": str(fam.get("revision") or ""), "git_commit": str(e.get("git_commit") or ""),
            "version": str(e.get("version") or ""),
            "sources": [dict(x) for x in (img.get("sources") or e.get("sources") or []) if isinstance(x, Mapping)],
            "build": _timed(img) if img else {},
            "test": dict(_timed(test), passed=test.get("passed"), cached=bool(test.get("cached")),
                         failed_tests=list(test.get("failed_tests") or [])) if test else {},
            "push": dict(_timed(push), ok=push.get("ok")) if push else {},
            "tags": members,
        })
    return out


def _builders(builders: Mapping[str, str], results: Mapping[str, Mapping[str, Any]], failed_hosts: Mapping[str, str],
              images: Sequence[Mapping[str, Any]], hosts: Mapping[str, Mapping[str, Any]]) -> list[dict]:
    out = []
    order = architectures.sort_names(set(builders.values()))
    for host in sorted(builders, key=lambda h: (order.index(builders[h]), h)):
        mine = [i for i in images if i["host"] == host and host in results]
        stages = [i[s] for i in mine for s in ("build", "test", "push") if i.get(s)]
        span = _span(stages)
        if not span and stages:  # no times given: the stages' seconds, one after the other
            span = {"seconds": sum(float(s.get("seconds") or 0) for s in stages)}
        facts = hosts.get(host) or {}
        out.append(dict({"host": host, "arch": builders[host], "ok": host not in failed_hosts,
                         "error": failed_hosts.get(host, ""), "reported": host in results,
                         "emulated": facts.get("emulated") if isinstance(facts.get("emulated"), bool) else None,
                         "native": str(facts.get("native") or ""),
                         "engines": sorted({i["builder"] for i in mine if i["builder"]}),
                         "images": len(mine)}, **span))
    return out


def _failures(failed_hosts: Mapping[str, str], results: Mapping[str, Mapping[str, Any]],
              images: Sequence[Mapping[str, Any]], rows: Sequence[Row]) -> list[dict]:
    out = []
    for host, why in sorted(failed_hosts.items()):
        if host not in results:
            out.append({"host": host, "arch": "", "key": "", "stage": "builder", "message": why})
    for i in images:
        if i["host"] not in results:
            continue
        base = {"host": i["host"], "arch": i["arch"], "key": i["key"]}
        if i["status"] == "failed" and i["error"]:
            out.append(dict(base, stage="build", message=i["error"]))
        if i["test"] and i["test"].get("passed") is False:
            out.append(dict(base, stage="test", message="smoke tests failed: " + (
                ", ".join(i["test"]["failed_tests"]) or "see the builder's log")))
        if i["push"] and i["push"].get("ok") is False:
            out.append(dict(base, stage="push", message="not pushed: " + ", ".join(
                t["tag"] for t in i["tags"] if t["push"] == "failed")))
    for host, res in sorted(results.items()):
        for key in res.get("failed") or []:  # a failed entry no stage above explains
            if not any(f["host"] == host and f["key"] == key for f in out):
                out.append({"host": host, "arch": res.get("arch", ""), "key": key, "stage": "build",
                            "message": "failed"})
    # lists not published: one failure per repository and reason (a missing architecture fails many tags at once)
    grouped: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        if r.published == "failed":
            grouped.setdefault((r.repository, r.message), []).append(r.tag)
    for (repo, why), tags in grouped.items():
        out.append({"host": "", "arch": "", "key": repo, "stage": "publish",
                    "message": "%d list%s not published (%s): %s" % (
                        len(tags), "" if len(tags) == 1 else "s",
                        ("missing: " + why) if why and " " not in why else (why or "see the publish step"),
                        ", ".join(tags))})
    return out


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
