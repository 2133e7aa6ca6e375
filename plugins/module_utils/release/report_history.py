# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's neighbours in the artifacts folder: the previous release's JSON (what this one is compared with),
the links to each repository's READMEs and library file, and the history of the last N reports
(``history/<time>.json`` and ``.html``, an ``index.html`` listing them; older ones are removed).

Only files this module names are ever removed: ``history/`` entries whose names are report times
(``20261207T011542Z.json``), never anything else a user put there.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.release.release_report import parse_time

HISTORY_DIR = "history"
REPORT_JSON = "release-report.json"
REPORT_HTML = "release-report.html"
STEM = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d+))?$")
_NAME = re.compile(r"^(\d{8}T\d{6}Z(?:-\d+)?)\.(json|html)$")


def stamp(generated: str) -> str:
    """The history name of a report made at ``generated`` (RFC 3339 UTC): 20261207T011542Z."""
    t = parse_time(generated)
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t if t is not None else time.time()))


def kept_stems(history_dir: str) -> list[str]:
    """The names of the reports kept in ``history_dir``, oldest first."""
    try:
        names = os.listdir(history_dir)
    except OSError:
        return []
    stems = {m.group(1) for m in (_NAME.match(n) for n in names) if m}

    def order(s: str) -> tuple[str, int]:
        m = STEM.match(s)
        return (m.group(1), int(m.group(2) or 0)) if m else (s, 0)

    return sorted(stems, key=order)


def _load(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("rows"), list) else None


def read_previous(dest_dir: str) -> tuple[dict | None, str]:
    """The previous release's report data and its kept copy's path relative to ``dest_dir`` ('' when not kept).

    The report of the last run (``release-report.json``) when readable, else the newest kept in the history; None
    for a first release. An unreadable previous report is treated as none (the page says so), never an error:
    the report of this release must still be written."""
    data = _load(os.path.join(dest_dir, REPORT_JSON))
    hist = os.path.join(dest_dir, HISTORY_DIR)
    stems = kept_stems(hist)
    if data is None and stems:
        data = _load(os.path.join(hist, stems[-1] + ".json"))
    if data is None:
        return None, ""
    name = stamp(str(data.get("generated") or "")) if data.get("generated") else ""
    same = [s for s in stems if s.split("-")[0] == name]
    kept = ""
    for s in reversed(same):
        copy = _load(os.path.join(hist, s + ".json"))
        if copy is not None and copy.get("generated") == data.get("generated"):
            kept = "%s/%s.html" % (HISTORY_DIR, s)
            break
    return data, kept


def repository_links(dest_dir: str, names: list[str], prefix: str = "") -> dict[str, list[tuple[str, str]]]:
    """Repository -> (label, relative href) of what the release wrote for it in ``dest_dir``: its generic README
    (``docs/<name>/README.md``), its per-architecture READMEs and its library file (``library/<name>``)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        links: list[tuple[str, str]] = []
        docs = os.path.join(dest_dir, "docs", name)
        try:
            readmes = sorted(n for n in os.listdir(docs) if n.startswith("README") and n.endswith(".md"))
        except OSError:
            readmes = []
        for n in sorted(readmes, key=lambda x: (x != "README.md", x)):
            label = "README" if n == "README.md" else "README (%s)" % n[len("README."):-len(".md")]
            links.append((label, "%sdocs/%s/%s" % (prefix, name, n)))
        if os.path.isfile(os.path.join(dest_dir, "library", name)):
            links.append(("library file", "%slibrary/%s" % (prefix, name)))
        out[name] = links
    return out


@dataclass
class HistoryPlan:
    """What keeping this report in the history writes and removes (paths inside ``dest_dir``)."""
    name: str = ""
    writes: dict[str, str] = field(default_factory=dict)  # relative path -> text (the index last)
    removes: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the stems kept after this run, newest first


def plan_history(dest_dir: str, data: Mapping[str, Any], json_text: str, html_text: str, keep: int,
                 render_index: Any) -> HistoryPlan:
    """The history after this report: ``history/<stamp>.json`` (``json_text``) and ``.html`` (``html_text``), the
    oldest beyond ``keep`` removed, ``index.html`` listing the rest. ``keep`` 0 turns the history off (nothing
    written or removed). ``render_index``: report_html.render_index."""
    plan = HistoryPlan()
    if keep <= 0:
        return plan
    hist = os.path.join(dest_dir, HISTORY_DIR)
    stems = kept_stems(hist)
    base = name = stamp(str(data.get("generated") or ""))
    # two reports within one second (a rerun of the report stage alone): the next free suffix after every kept
    # one of that second, so the names keep sorting in the order the reports were made
    same = [int(m.group(2) or 1) for m in (STEM.match(x) for x in stems) if m and m.group(1) == base]
    if same:
        name = "%s-%d" % (base, max(same) + 1)
    plan.name = name
    plan.writes["%s/%s.json" % (HISTORY_DIR, name)] = json_text
    plan.writes["%s/%s.html" % (HISTORY_DIR, name)] = html_text
    # this report is the newest whatever the clock says; the oldest of the others beyond keep go
    older = stems[-(keep - 1):] if keep > 1 else []
    drop = [x for x in stems if x not in older]
    plan.kept = [name] + list(reversed(older))
    for s in drop:
        for ext in ("json", "html"):
            if os.path.exists(os.path.join(hist, "%s.%s" % (s, ext))):
                plan.removes.append("%s/%s.%s" % (HISTORY_DIR, s, ext))
    entries = []
    for s in plan.kept:
        d = dict(data) if s == name else (_load(os.path.join(hist, s + ".json")) or {})
        entries.append({"name": s, "generated": d.get("generated", ""), "ok": d.get("ok"),
                        "headline": d.get("headline", "")})
    plan.writes["%s/index.html" % HISTORY_DIR] = render_index(entries)
    return plan
