# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release_report module's job: the report made, compared with the previous one, rendered (Markdown, JSON,
page, history) and written into its folder. Plain typed Python, importable without Ansible.

Every file is rendered, and every target checked, before the first is written: a bad folder fails naming it,
in check mode too. The Markdown and the JSON (what consumers read) are written first, then the page and the
history, each file whole.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import check_target, write_text
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.release import report_history
from ansible_collections.buildfarm.images.plugins.module_utils.release.release_report import (
    Report,
    build_report,
    markdown,
    release_families,
    render_files,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.report_changes import compare
from ansible_collections.buildfarm.images.plugins.module_utils.release.report_html import render, render_index

_WHERE = "release_report"  # the errors of the module's own options name the module, as they always did


class ReportInputError(BuildfarmError, ValueError):
    """An option of release_report that has not the shape it needs (names the option and the value)."""


def published_by_repository(published: Any) -> dict[str, Any]:
    """Repository name -> manifest_list's `lists`, from that mapping or from a batch call's `repositories`."""
    if isinstance(published, list):  # manifest_list's batch result
        return {str(r.get("repository", "")).rsplit("/", 1)[-1]: r.get("lists") or [] for r in published
                if isinstance(r, Mapping)}
    return published or {}


def check_options(p: Mapping[str, Any]) -> dict[str, Any]:
    """The options checked; gives `published` by repository name."""
    published = published_by_repository(p["published"])
    if not isinstance(p["verified"], (list, dict)):
        raise ReportInputError("a list of per-member results or the verify stage's result (value type: %s)"
                               % type(p["verified"]).__name__, _WHERE, "verified")
    if not isinstance(p["builders"], dict) or not isinstance(published, dict):
        raise ReportInputError("builders must be a mapping host -> architecture (or a list of hosts, through the "
                               "action plugin) and published a mapping or a list (value types: %s, %s)"
                               % (type(p["builders"]).__name__, type(published).__name__), _WHERE)
    if p["history"] < 0:
        raise ReportInputError("a number of reports to keep, 0 or more", _WHERE, "history", p["history"])
    return published


@dataclass
class ReportFiles:
    """Every file of one report, by path: the ones consumers read first, then the page and the history."""

    report: Report
    data: dict[str, Any]
    first: dict[str, str]  # path -> text: release-report.json and .md
    more: dict[str, str]  # path -> text: the page, the history's files
    history: report_history.HistoryPlan
    removed: list[str] = field(default_factory=list)


def render_report(p: Mapping[str, Any], published: Mapping[str, Any]) -> ReportFiles:
    """The report of the options, compared with the previous one in dest_dir, and all its files' texts."""
    dest = p["dest_dir"]
    release = release_families(p["release"])  # the typed families: a malformed one fails naming release[n]
    report = build_report(release, p["builders"], p["results"], published, p["errors"],
                          verified=p["verified"], hosts=p["builder_facts"], started=p["started"])
    previous, previous_file = report_history.read_previous(dest)
    report.changes = compare(previous, report.to_dict(), previous_file)
    data = report.to_dict()
    names = [f.name for f in release]
    nav = [("JSON", "release-report.json"), ("Markdown", "release-report.md")]
    page = render(data, report_history.repository_links(dest, names),
                  nav + ([("History", "history/index.html")] if p["history"] > 0 else []))
    files_text = render_files(report)
    history = report_history.plan_history(
        dest, data, files_text["release-report.json"],
        render(data, report_history.repository_links(dest, names, "../"),
               [("Latest report", "../release-report.html"), ("All reports", "index.html")], "../"),
        p["history"], render_index)
    more = {os.path.join(dest, report_history.REPORT_HTML): page}
    more.update({os.path.join(dest, rel): text for rel, text in history.writes.items()})
    return ReportFiles(report, data, {os.path.join(dest, n): t for n, t in files_text.items()}, more, history)


def write_files(out: ReportFiles, dest: str, check_mode: bool) -> list[str]:
    """Every target checked, then (unless in check mode) every file written and the old history removed; gives
    the Markdown and JSON files written."""
    files: list[str] = []
    try:  # a TextFileError (a bad target) names its file, field and value itself
        for path in list(out.first) + list(out.more):
            check_target(path, "dest_dir")
        if check_mode:
            return files
        for path, text in out.first.items():
            write_text(path, text, 0o644, field="dest_dir")
            files.append(path)
        for path, text in out.more.items():
            write_text(path, text, 0o644, field="dest_dir")
        for rel in out.history.removes:
            os.remove(os.path.join(dest, rel))
            out.removed.append(os.path.join(dest, rel))
    except OSError as exc:
        raise ReportInputError("cannot be written: %s" % exc.strerror, str(exc.filename), "dest_dir",
                               details={"value": dest}) from exc
    return files


def write_report(p: Mapping[str, Any], check_mode: bool = False) -> dict[str, Any]:
    """The release_report module's job: its options (`p`) -> its result."""
    out = render_report(p, check_options(p))
    dest = p["dest_dir"]
    files = write_files(out, dest, check_mode)
    report, data = out.report, out.data
    summary = " ".join("%s: %s." % (h, why) for h, why in sorted(report.failed_hosts.items()))
    hist_dir = os.path.join(dest, report_history.HISTORY_DIR)
    return dict(changed=False, ok=report.ok, summary=("Failed builders: " + summary) if summary else "",
                failed_hosts=report.failed_hosts, failed_entries=report.failed_entries, files=files,
                markdown=markdown(report), report=data, page=os.path.join(dest, report_history.REPORT_HTML),
                headline=data["headline"], changes=data["changes"],
                history={"dir": hist_dir, "index": os.path.join(hist_dir, "index.html") if p["history"] else "",
                         "name": out.history.name, "kept": out.history.kept, "removed": out.removed})
