# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release report: one row per tag, one column per architecture (digest and built / unchanged / failed),
and what was published, as JSON and Markdown. Plain typed Python, importable without Ansible.

Beside the rows the report keeps each image's details (build, test and push times, size, builder, input digest,
parents, attestation and verification of its tags), each builder's share and time, every failure with its host,
and the release's changes since the previous report (report_changes); report_html renders it as a page.
The stages' results are parsed by their own records (release.model: HostResult of the build, test and push
records, ListResult, TagVerification): a malformed result is a ModelError naming the host, item and field; an
optional field a result lacks (an older builder, a dry run) gives an empty value, never an error.
"""
from __future__ import annotations

import calendar
import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    NOT_PUBLISHED,
    BuildResult,
    BuildStatus,
    BundleFamily,
    Cell,
    CellStatus,
    Entry,
    HostResult,
    ImagePushResult,
    ImageSmokeResult,
    ListResult,
    ModelError,
    PushedTag,
    Row,
    Status,
    TagVerification,
    Unroutable,
)


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

    def to_dict(self) -> dict:
        return {"ok": self.ok, "architectures": self.architectures, "failed_hosts": self.failed_hosts,
                "failed_entries": self.failed_entries, "unroutable": self.unroutable,
                "rows": [r.to_dict() for r in self.rows], "build_times": self.build_times,
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


def _timed(started: str, finished: str, seconds: float | None) -> dict:
    """A stage's times of one image: started, finished, seconds (given, or from the two times)."""
    out: dict[str, Any] = {k: v for k, v in (("started", started), ("finished", finished)) if v}
    secs: float | None = seconds
    if not secs:  # not given (a stage that does not time itself, an older builder): from the two times
        a, b = parse_time(started), parse_time(finished)
        secs = (b - a) if a is not None and b is not None else seconds
    if secs is not None:
        out["seconds"] = round(float(secs), 3)
    return out


def _repo_name(value: Any) -> str:
    """``python`` of python, library/python, 127.0.0.1:5000/amd64/python:3.13 (a verify result's naming)."""
    text = str(value or "")
    try:
        return ImageRef.parse(text).name
    except BuildfarmError:
        return text  # not a reference: names no repository of the report (left out, never guessed)


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

    if isinstance(verified, Mapping):  # the verify stage's whole result: its tags, parsed by the stage's record
        return _verified_tags(verified)
    else:
        for it in verified or []:
            walk(it, {})
    return out


@dataclass
class _Reported:
    """What the builders reported, indexed by member: (repository, entry key, arch) or (host, entry key)."""

    hosts: dict[str, HostResult]  # host -> its parsed result
    failed_hosts: dict[str, str]  # host -> why
    failed_entries: dict[str, list[str]] = field(default_factory=dict)
    cells: dict[tuple[str, str, str], Cell] = field(default_factory=dict)
    # (repo, key, arch) -> tag -> the push of that tag
    pushes: dict[tuple[str, str, str], dict[str, PushedTag]] = field(default_factory=dict)
    # every Windows builder computes the same unroutable entries: one of each is kept
    unroutable: dict[tuple[str, str, str], Unroutable] = field(default_factory=dict)
    times: list[dict] = field(default_factory=list)
    builds: dict[tuple[str, str, str], tuple[str, BuildResult]] = field(default_factory=dict)
    tests: dict[tuple[str, str], ImageSmokeResult] = field(default_factory=dict)
    push_items: dict[tuple[str, str], ImagePushResult] = field(default_factory=dict)

    def add(self, host: str, res: HostResult, arch: str) -> None:
        for u in res.unroutable:
            u_arch = u.arch or arch
            self.unroutable.setdefault((u.repo, u.key, u_arch),
                                       Unroutable(u.repo, u.key, u_arch, u.directory, u.tags, u.reason))
        failed = set(res.failed)
        if failed:
            self.failed_entries[host] = sorted(failed)
            self.failed_hosts.setdefault(host, "entries failed: " + ", ".join(sorted(failed)))
        for img in res.images:
            self.builds[(img.repo, img.key, arch)] = (host, img)
            digest = next((res.digests[t.familiar()] for t in img.tags if t.familiar() in res.digests), "")
            self.cells[(img.repo, img.key, arch)] = Cell(_cell_status(img, failed), digest, host)
            if img.seconds is not None:  # image_build times every entry it handled, an unchanged one too
                self.times.append({"key": img.key, "arch": arch, "host": host, "status": img.status,
                                   "seconds": img.seconds})
        for tested in res.tests:
            if tested.key:
                self.tests[(host, tested.key)] = tested
        for pushed in res.pushed:
            self.push_items[(host, pushed.key)] = pushed
            for t in pushed.tags:
                self.pushes.setdefault((t.ref.name, pushed.key, arch), {})[t.ref.tag] = t


def _cell_status(img: BuildResult, failed: set[str]) -> Status:
    """The cell of a build: a later stage's failure of the entry fails an image that was made."""
    if img.key in failed and img.status.has_image:
        return CellStatus.FAILED
    if img.status == BuildStatus.SKIPPED and img.error.startswith("parent failed"):
        return CellStatus.SKIPPED_PARENT  # not attempted: an image it is built FROM failed here
    return img.status


def parse_results(results: Mapping[str, Any]) -> dict[str, HostResult]:
    """Host -> its recorded result, each parsed by the record (a malformed one names host, item and field)."""
    return {host: HostResult.from_dict(res, "results.%s" % host) for host, res in results.items()}


def parse_published(published: Mapping[str, Any]) -> dict[str, dict[str, ListResult]]:
    """Repository name -> tag -> what manifest_list did with it (its `lists`, each parsed by the record)."""
    out: dict[str, dict[str, ListResult]] = {}
    for name, lists in published.items():
        if not isinstance(lists, (list, tuple)):
            raise ModelError("must be manifest_list's lists", "published", name, type(lists).__name__)
        parsed = [ListResult.from_dict(x, "published.%s[%d]" % (name, n)) for n, x in enumerate(lists)]
        out[name] = {x.tag: x for x in parsed}
    return out


def _reported(builders: Mapping[str, str], hosts: Mapping[str, HostResult],
              errors: Mapping[str, str] | None) -> _Reported:
    # ``errors``: host -> why its build failed before it recorded a result
    failed_hosts = {h: (errors or {}).get(h) or "did not report (unreachable or failed before building)"
                    for h in builders if h not in hosts}
    out = _Reported(dict(hosts), failed_hosts)
    for host, res in hosts.items():
        out.add(host, res, res.arch or builders.get(host, ""))
    return out


def _new_row(name: str, tag: str, shared: bool, pub: ListResult | None) -> Row:
    row = Row(name, tag, shared)
    if pub is not None:
        row.published, row.published_digest = pub.action, pub.digest
        row.message = pub.message or ", ".join(pub.missing)
    else:
        row.published = NOT_PUBLISHED
    return row


class _Rows:
    """The report's rows (one per tag, in the release's order) and each planned member's first cell."""

    def __init__(self, arches: list[str], builders: Mapping[str, str], got: _Reported) -> None:
        self.arches, self.builders, self.got = arches, builders, got
        self.rows: list[Row] = []
        self.bases: dict[tuple[str, str, str], tuple[BundleFamily, Entry, Cell]] = {}

    def family(self, fam: BundleFamily, lists: Mapping[str, ListResult]) -> None:
        mine: dict[str, Row] = {}
        for e in fam.entries:
            for tag, shared in [(t, False) for t in e.tags] + [(t, True) for t in e.shared_tags]:
                row = mine.get(tag)
                if row is None:
                    row = mine[tag] = _new_row(fam.name, tag, shared, lists.get(tag))
                    self.rows.append(row)
                for arch in e.architectures:
                    if arch in self.arches:
                        self._cell(fam, e, row, (fam.name, e.key, arch))

    def _cell(self, fam: BundleFamily, e: Entry, row: Row, member: tuple[str, str, str]) -> None:
        name, key, arch = member
        got = self.got
        host = next((h for h, a in self.builders.items() if a == arch and h in got.failed_hosts
                     and h not in got.hosts), "")
        base = (got.cells.get(member)
                or (Cell(CellStatus.UNROUTABLE) if member in got.unroutable else None)
                or Cell(CellStatus.UNREACHABLE if host else CellStatus.NOT_BUILT, "", host))
        pushed = got.pushes.get(member, {}).get(row.tag)
        row.cells[arch] = Cell(base.status, (pushed.digest if pushed else "") or base.digest, base.host,
                               pushed.status if pushed else "")
        self.bases.setdefault(member, (fam, e, base))


def _verified_tags(result: Mapping[str, Any]) -> dict[tuple[str, str, str], dict]:
    """The index of verified_index of the verify stage's whole result (its `tags`, each a TagVerification)."""
    tags = result.get("tags") or []
    if not isinstance(tags, list):
        raise ModelError("must be a list of the verify stage's tags", "verified", "tags", type(tags).__name__)
    out: dict[tuple[str, str, str], dict] = {}
    for n, item in enumerate(tags):
        tag = TagVerification.from_dict(item, "verified.tags[%d]" % n)
        for m in tag.members:
            member = m.to_dict()
            out[(_repo_name(tag.repository), tag.tag, m.architecture)] = {
                "ok": m.ok, "sbom": member["sbom"], "provenance": member["provenance"], "message": member["message"]}
    return out


def release_families(release: Sequence[Any]) -> list[BundleFamily]:
    """The release's families as records: release_prepare's ``families`` (or release.json's), each item parsed by
    BundleFamily (a malformed one is a ModelError naming ``release[n]``, the field and the value)."""
    if not isinstance(release, (list, tuple)):
        raise ModelError("must be a list of the release's families (release_prepare's families)", "release_report",
                         "release", type(release).__name__)
    return [f if isinstance(f, BundleFamily) else BundleFamily.from_dict(f, "release[%d]" % n)
            for n, f in enumerate(release)]


def build_report(release: Sequence[BundleFamily | Mapping[str, Any]], builders: Mapping[str, str],
                 results: Mapping[str, Any], published: Mapping[str, Sequence[Mapping[str, Any]]],
                 errors: Mapping[str, str] | None = None,
                 verified: Sequence[Any] | Mapping[str, Any] | None = None,
                 hosts: Mapping[str, Mapping[str, Any]] | None = None, generated: str = "",
                 started: str = "") -> Report:
    """``release``: the release's families (see release_families); ``builders``: host -> arch of every builder;
    ``results``: host -> the build role's buildfarm_build_result (absent for hosts that never reported; Windows
    builders add ``unroutable``, the entries no Windows builder's release can build, each with a reason);
    ``published``: repository name -> manifest_list's ``lists``; ``verified``: the verify stage's results (see
    verified_index); ``hosts``: host -> facts of the builder (``emulated``, ``native``); ``generated``: the
    report's time (default now); ``started``: the release's start (default the first stage time reported).

    Results and lists are parsed by their stages' records: a malformed one is a ModelError naming it."""
    arches = architectures.sort_names(set(builders.values()))
    got = _reported(builders, parse_results(results), errors)
    lists = parse_published(published)
    table = _Rows(arches, builders, got)
    for fam in release_families(release):
        table.family(fam, lists.get(fam.name) or {})
    got.times.sort(key=lambda t: (t["key"], t["arch"]))
    report = Report(arches, table.rows, got.failed_hosts, got.failed_entries,
                    [got.unroutable[k].to_dict() for k in sorted(got.unroutable)], got.times)
    report.generated = generated or format_time(time.time())
    report.images = _image_details(table.bases, got, verified_index(verified))
    report.builders = _builders(builders, got, report.images, hosts or {})
    report.failures = _failures(got, report.images, table.rows)
    span = _span(report.builders)
    first = parse_time(started) or parse_time(span.get("started"))
    end = parse_time(report.generated)
    if first is not None and end is not None:
        report.times = {"started": format_time(first), "finished": report.generated, "seconds": max(0.0, end - first)}
    return report


def _members(name: str, arch: str, e: Entry, push: ImagePushResult | None,
             verified: Mapping[tuple[str, str, str], dict]) -> list[dict]:
    """An image's tags: each one's push and verification."""
    pushed_tags = {t.ref.tag: t for t in push.tags} if push else {}
    members = []
    for tag in e.all_tags:
        t = pushed_tags.get(tag)
        members.append({"tag": tag, "push": t.status if t else "", "digest": t.digest if t else "",
                        "image_digest": t.image_digest if t else "",
                        "attestation_digest": t.attestation_digest if t else "",
                        "verified": verified.get((name, tag, arch))})
    return members


def _image_details(bases: Mapping[tuple[str, str, str], tuple[BundleFamily, Entry, Cell]],
                   got: _Reported, verified: Mapping[tuple[str, str, str], dict]) -> list[dict]:
    """One item per planned image (entry x architecture of the report), in the release's order."""
    out = []
    for (name, key, arch), (fam, e, base) in bases.items():
        host, img = got.builds.get((name, key, arch), (base.host, None))
        status: Status = base.status
        if status == CellStatus.UNCHANGED and img is not None and img.pulled:
            status = CellStatus.PULLED  # the engine did not have it: taken from the registry, not rebuilt
        test = got.tests.get((host, key))
        push = got.push_items.get((host, key))
        out.append({
            "repository": name, "key": key, "arch": arch, "host": host, "status": status,
            "error": img.error if img else "",
            "builder": img.builder if img else "", "image_id": img.image_id if img else "",
            "input_digest": img.input_digest if img else "", "pulled": img.pulled if img else "",
            "parents": [p.to_dict() for p in img.parents] if img else [],
            # an image of no bytes is no image (a failed build's size is 0): no size shown
            "size": (img.size or None) if img else None,
            # the recipe as planned: the family's commit and the entry's (a library file's GitCommit)
            "revision": fam.revision, "git_commit": e.git_commit, "version": e.version,
            # what the family declares the entry is built from (family.yml `sources:`, rendered per entry)
            "sources": _sources(fam, e),
            "build": _timed(img.started, img.finished, img.seconds) if img else {},
            "test": dict(_timed(test.started, test.finished, test.seconds), passed=test.passed, cached=test.cached,
                         failed_tests=test.failed_tests) if test else {},
            "push": dict(_timed(push.started, push.finished, None), ok=push.ok) if push else {},
            "tags": _members(name, arch, e, push, verified),
        })
    return out


def _sources(fam: BundleFamily, e: Entry) -> list[dict]:
    """The entry's declared sources: name, version, url, sha256 (and what else the family names of each)."""
    return [dict(x) for x in fam.sources.get(e.directory) or [] if isinstance(x, Mapping)]


def _builders(builders: Mapping[str, str], got: _Reported, images: Sequence[Mapping[str, Any]],
              hosts: Mapping[str, Mapping[str, Any]]) -> list[dict]:
    out = []
    order = architectures.sort_names(set(builders.values()))
    for host in sorted(builders, key=lambda h: (order.index(builders[h]), h)):
        mine = [i for i in images if i["host"] == host and host in got.hosts]
        stages = [i[s] for i in mine for s in ("build", "test", "push") if i.get(s)]
        span = _span(stages)
        if not span and stages:  # no times given: the stages' seconds, one after the other
            span = {"seconds": sum(float(s.get("seconds") or 0) for s in stages)}
        facts = hosts.get(host) or {}
        out.append(dict({"host": host, "arch": builders[host], "ok": host not in got.failed_hosts,
                         "error": got.failed_hosts.get(host, ""), "reported": host in got.hosts,
                         "emulated": facts.get("emulated") if isinstance(facts.get("emulated"), bool) else None,
                         "native": str(facts.get("native") or ""),
                         "engines": sorted({i["builder"] for i in mine if i["builder"]}),
                         "images": len(mine)}, **span))
    return out


def _image_failures(i: Mapping[str, Any]) -> list[dict]:
    """The failures of one reported image: its build, its tests, its push."""
    base = {"host": i["host"], "arch": i["arch"], "key": i["key"]}
    out = []
    if i["status"] == "failed" and i["error"]:
        out.append(dict(base, stage="build", message=i["error"]))
    if i["test"] and i["test"].get("passed") is False:
        out.append(dict(base, stage="test", message="smoke tests failed: " + (
            ", ".join(i["test"]["failed_tests"]) or "see the builder's log")))
    if i["push"] and i["push"].get("ok") is False:
        out.append(dict(base, stage="push", message="not pushed: " + ", ".join(
            t["tag"] for t in i["tags"] if t["push"] == "failed")))
    return out


def _failures(got: _Reported, images: Sequence[Mapping[str, Any]], rows: Sequence[Row]) -> list[dict]:
    out = []
    for host, why in sorted(got.failed_hosts.items()):
        if host not in got.hosts:
            out.append({"host": host, "arch": "", "key": "", "stage": "builder", "message": why})
    for i in images:
        if i["host"] in got.hosts:
            out.extend(_image_failures(i))
    for host, res in sorted(got.hosts.items()):
        for key in res.failed:  # a failed entry no stage above explains
            if not any(f["host"] == host and f["key"] == key for f in out):
                out.append({"host": host, "arch": res.arch, "key": key, "stage": "build", "message": "failed"})
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
    return {"release-report.json": json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n",
            "release-report.md": markdown(report)}
