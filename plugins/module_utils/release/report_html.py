# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release report as one self-contained HTML page (release-report.html): styles inline, no script, no
network, readable from the file system. Rendered from the report's JSON data (release_report.Report.to_dict), so a
kept report can be rendered again from its JSON alone.

Every status is a word and a symbol as well as a colour (readable in grey, printed, or by a screen reader); every
table has header cells; wide tables scroll inside their box so the page itself fits a 400 px screen.
"""
from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

# status -> (symbol, css class); the word is the status itself
STATUS = {
    "built": ("\u2714", "ok"),  # heavy check mark
    "unchanged": ("=", "same"),
    "pulled": ("\u2193", "pulled"),  # downwards arrow
    "failed": ("\u2716", "bad"),  # heavy multiplication x
    "skipped: parent failed": ("\u2298", "warn"),  # circled division slash
    "skipped": ("\u2298", "warn"),
    "unreachable": ("\u2716", "bad"),
    "unroutable": ("\u2298", "warn"),
    "would-build": ("\u2026", "same"),
    "not-built": ("\u2013", "none"),
    "not planned": ("\u2013", "none"),
}

CSS = """
:root{--ok:#1a7f37;--ok-bg:#dafbe1;--bad:#b42318;--bad-bg:#ffe4e0;--warn:#8a5300;--warn-bg:#fff1c2;
--same:#3d4c5e;--same-bg:#eef2f6;--pulled:#0b5cad;--pulled-bg:#ddeeff;--none:#6b7280;--none-bg:#f6f7f9;
--line:#d0d7de;--fg:#1f2328;--muted:#57606a}
*{box-sizing:border-box}
body{margin:0;padding:12px;font:14px/1.45 "DejaVu Sans","Liberation Sans",Arial,sans-serif;color:var(--fg);
background:#fff;max-width:1400px}
h1{font-size:1.5em;margin:.2em 0 .4em}h2{font-size:1.25em;margin:1.4em 0 .4em;border-bottom:1px solid var(--line)}
h3{font-size:1.05em;margin:1em 0 .3em}
code{font:12px/1.3 "DejaVu Sans Mono","Liberation Mono",monospace;background:var(--none-bg);padding:0 2px;
border-radius:3px;overflow-wrap:anywhere}
a{color:#0b5cad}
.scroll{overflow-x:auto;max-width:100%;margin:.3em 0 1em}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
thead th{background:var(--same-bg);position:sticky;top:0}
tbody th{font-weight:normal;background:#fafbfc;white-space:nowrap}
th code{white-space:nowrap;overflow-wrap:normal}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.st{display:inline-block;border-radius:3px;padding:0 4px;font-weight:bold;white-space:nowrap}
.ok{color:var(--ok);background:var(--ok-bg)}.bad{color:var(--bad);background:var(--bad-bg)}
.warn{color:var(--warn);background:var(--warn-bg)}.same{color:var(--same);background:var(--same-bg)}
.pulled{color:var(--pulled);background:var(--pulled-bg)}.none{color:var(--none);background:var(--none-bg)}
td.cell-bad{background:var(--bad-bg)}td.cell-ok{background:#f3fcf5}td.cell-warn{background:#fffaeb}
td.cell-none{background:var(--none-bg)}
.small{font-size:12px;color:var(--muted)}
.banner{border:2px solid;border-radius:6px;padding:8px 12px;margin:0 0 12px}
.banner.ok{border-color:var(--ok)}.banner.bad{border-color:var(--bad)}
.counts{display:flex;flex-wrap:wrap;gap:8px;margin:0;padding:0;list-style:none}
.counts li{border:1px solid var(--line);border-radius:6px;padding:6px 10px;min-width:7em}
.counts b{display:block;font-size:1.5em}
ul.plain{margin:.2em 0;padding-left:1.2em}
details{margin:.3em 0}summary{cursor:pointer}
nav a{margin-right:1em}
.shared{font-style:italic}
@media (max-width:600px){body{padding:6px;font-size:13px}.counts li{min-width:6em;padding:4px 6px}
h1{font-size:1.25em}.wide{display:none}tbody th{white-space:normal}th,td{padding:3px 4px}}
@media print{.scroll{overflow:visible}}
"""


def e(value: Any) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12] if digest else ""


def duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return ""
    s = int(round(float(seconds)))
    if s >= 3600:
        return "%dh%02dm%02ds" % (s // 3600, s % 3600 // 60, s % 60)
    return "%dm%02ds" % (s // 60, s % 60) if s >= 60 else "%ds" % s


def size(n: Any) -> str:
    if not isinstance(n, int) or isinstance(n, bool):
        return ""
    f = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if f < 1000 or unit == "GB":
            return ("%d %s" % (f, unit)) if unit == "B" else "%.1f %s" % (f, unit)
        f /= 1000
    return ""  # pragma: no cover


def badge(status: str) -> str:
    sym, cls = STATUS.get(status, ("\u2022", "same"))
    return '<span class="st %s">%s %s</span>' % (cls, sym, e(status))


def _cls(status: str) -> str:
    return STATUS.get(status, ("", "same"))[1]


def _yes_no(value: Any, word: str) -> str:
    if value is True:
        return '<span class="st ok">\u2714 %s</span>' % e(word)
    if value is False:
        return '<span class="st bad">\u2716 no %s</span>' % e(word)
    return ""


def _table(head: Sequence[str], rows: Sequence[str], caption: str = "", cls: str = "",
           wide: Sequence[int] = ()) -> str:
    """A table with a header row; ``wide``: indexes of columns left out on narrow screens (their cells carry
    class "wide" too)."""
    cap = "<caption class=\"small\">%s</caption>" % e(caption) if caption else ""
    return ('<div class="scroll"><table%s>%s<thead><tr>%s</tr></thead><tbody>%s</tbody></table></div>'
            % (' class="%s"' % cls if cls else "", cap,
               "".join('<th scope="col"%s>%s</th>' % (' class="wide"' if i in wide else "", e(h))
                       for i, h in enumerate(head)),
               "".join(rows)))


def _summary(data: Mapping[str, Any]) -> str:
    c = data.get("counts") or {}
    out = ['<section id="summary"><h2>Summary</h2>', '<ul class="counts">']
    for k, cls in (("built", "ok"), ("unchanged", "same"), ("failed", "bad"), ("skipped", "warn")):
        out.append('<li class="%s"><b>%d</b>%s</li>' % (cls if c.get(k) else "", int(c.get(k) or 0), e(k)))
    if c.get("other"):
        out.append('<li class="none"><b>%d</b>not built</li>' % int(c["other"]))
    t = data.get("times") or {}
    if t.get("seconds") is not None:
        out.append('<li><b>%s</b>total time</li>' % e(duration(t["seconds"])))
    out.append("</ul>")
    out.append(_failures(data))
    lists = data.get("lists") or {}
    if lists:
        out.append("<h3>Manifest lists</h3>")
        rows = []
        for action in sorted(lists):
            names = lists[action]
            cls = {"created": "ok", "updated": "ok", "unchanged": "same", "failed": "bad"}.get(action, "none")
            text = ", ".join("<code>%s</code>" % e(n) for n in names)
            if len(names) > 8:  # a long list folds: the counts are the summary, the names one click away
                text = "<details><summary>%d tags</summary>%s</details>" % (len(names), text)
            rows.append('<tr><th scope="row"><span class="st %s">%s</span></th><td class="num">%d</td><td>%s</td></tr>'
                        % (cls, e(action), len(names), text))
        out.append(_table(["Action", "Count", "Lists"], rows))
    builders = data.get("builders") or []
    if builders:
        out.append("<h3>Builders</h3>")
        rows = []
        for b in builders:
            engine = ", ".join(b.get("engines") or []) or "\u2013"
            if b.get("emulated") is True:
                engine += " (emulated%s)" % (" on " + b["native"] if b.get("native") else "")
            elif b.get("emulated") is False:
                engine += " (native)"
            state = ('<span class="st ok">\u2714 ok</span>' if b.get("ok")
                     else '<span class="st bad">\u2716 failed</span>')
            rows.append("<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td><td class=\"num\">%s</td>"
                        "<td class=\"num\">%s</td><td>%s%s</td></tr>" % (
                            e(b.get("host")), e(b.get("arch")), e(engine), e(b.get("images", 0)),
                            e(duration(b.get("seconds"))), state,
                            (" " + e(b.get("error"))) if b.get("error") else ""))
        out.append(_table(["Host", "Architecture", "Engine", "Images", "Time", "Result"], rows))
    if data.get("unroutable"):
        out.append("<h3>Unroutable entries</h3><ul class=\"plain\">")
        out += ["<li><code>%s</code> (%s): %s</li>" % (e(u.get("key")), e(u.get("arch")), e(u.get("reason")))
                for u in data["unroutable"]]
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def _failures(data: Mapping[str, Any]) -> str:
    out = []
    failures = data.get("failures") or []
    if failures:
        out.append('<h3 id="failures">Failures</h3><ul class="plain">')
        for f in failures:
            what = " ".join(x for x in (f.get("key") and "<code>%s</code>" % e(f["key"]),
                                        f.get("arch") and "(%s)" % e(f["arch"])) if x)
            out.append('<li><span class="st bad">\u2716 %s</span> on <b>%s</b>%s: %s</li>' % (
                e(f.get("stage")), e(f.get("host") or "the controller"), (" " + what) if what else "",
                e(f.get("message"))))
        out.append("</ul>")
    return "".join(out)


def _changed_tags(ch: Mapping[str, Any], key: str, title: str, cls: str, sym: str) -> str:
    if not ch.get(key):
        return ""
    return "<h3>%s</h3><ul class=\"plain\">%s</ul>" % (e(title), "".join(
        '<li><span class="st %s">%s</span> <code>%s:%s</code></li>' % (cls, sym, e(t["repository"]), e(t["tag"]))
        for t in ch[key]))


def _rebuilt(ch: Mapping[str, Any]) -> str:
    if not ch.get("rebuilt"):
        return ""
    return "<h3>Images rebuilt and why</h3>" + _table(["Image", "Architecture", "Why", "Input digest"], [
        "<tr><th scope=\"row\"><code>%s</code></th><td>%s</td><td>%s</td><td class=\"wide\"><code>%s</code> \u2192 "
        "<code>%s</code></td></tr>" % (
            e(r["key"]), e(r["arch"]), "<br>".join(e(x) for x in r.get("reasons") or []),
            e(short(r.get("old_input_digest", ""))) or "\u2013", e(short(r.get("new_input_digest", ""))))
        for r in ch["rebuilt"]], wide=(3,))


def _changed_digests(ch: Mapping[str, Any]) -> str:
    """Members and lists whose digest changed (a long table folds, its count stays in view)."""
    out = []
    rows = []
    for label, key in (("changed", "digests_changed"), ("added", "members_added"), ("removed", "members_removed")):
        for m in ch.get(key) or []:
            rows.append("<tr><th scope=\"row\"><code>%s:%s</code></th><td>%s</td><td>%s</td><td><code>%s</code></td>"
                        "<td><code>%s</code></td></tr>" % (
                            e(m["repository"]), e(m["tag"]), e(m["arch"]), e(label), e(short(m.get("old", ""))),
                            e(short(m.get("new", "")))))
    if rows:
        # a rebuilt image changes every tag's digest
        out.append("<details%s><summary><b>Members whose digest changed</b> (%d)</summary>"
                   % (" open" if len(rows) <= 12 else "", len(rows)))
        out.append(_table(["Tag", "Architecture", "Change", "Old", "New"], rows))
        out.append("</details>")
    if ch.get("lists_changed"):
        out.append("<details%s><summary><b>Lists whose digest changed</b> (%d)</summary><ul class=\"plain\">"
                   % (" open" if len(ch["lists_changed"]) <= 12 else "", len(ch["lists_changed"])))
        out.extend("<li><code>%s:%s</code> <code>%s</code> \u2192 <code>%s</code></li>" % (
            e(x["repository"]), e(x["tag"]), e(short(x["old"])), e(short(x["new"]))) for x in ch["lists_changed"])
        out.append("</ul></details>")
    return "".join(out)


def _changes(ch: Mapping[str, Any], link_prefix: str) -> str:
    out = ['<section id="changes"><h2>What changed</h2>']
    prev = ch.get("previous")
    if not ch:
        return ""
    if prev is None:
        out.append("<p>%s.</p></section>" % e(ch.get("summary") or "First report: nothing to compare with"))
        return "".join(out)
    since = "the previous release"
    if prev.get("generated"):
        since = "the release of %s" % e(prev["generated"])
        if prev.get("file"):
            since = '<a href="%s">%s</a>' % (e(link_prefix + prev["file"]), since)
    out.append("<p>Compared with %s.</p>" % since)
    if ch.get("nothing_changed"):
        out.append('<p><span class="st same">= nothing changed</span> No tag, digest or image differs.</p>'
                   "</section>")
        return "".join(out)
    if not any(ch.get(k) for k in ("tags_added", "tags_removed", "digests_changed", "members_added",
                                   "members_removed", "lists_changed", "rebuilt")):
        # nothing published changed, yet images failed or were skipped: the summary says which, not "nothing"
        out.append('<p><span class="st warn">\u2298 no published tag changed</span> %s: their tags keep what an '
                   'earlier release pushed.</p></section>' % e(ch.get("not_done") or ch.get("summary") or ""))
        return "".join(out)
    out.append(_changed_tags(ch, "tags_added", "Tags added", "ok", "+"))
    out.append(_changed_tags(ch, "tags_removed", "Tags removed", "bad", "\u2212"))
    out.append(_rebuilt(ch))
    out.append(_changed_digests(ch))
    out.append("</section>")
    return "".join(out)


def _member_cell(img: Mapping[str, Any] | None, tag: str, row_cell: Mapping[str, Any] | None) -> tuple[str, str]:
    """The matrix cell of one tag x architecture: (css class, inner HTML)."""
    if img is None and row_cell is None:
        return "cell-none", badge("not planned")
    status = (img or {}).get("status") or (row_cell or {}).get("status") or "not-built"
    if row_cell and row_cell.get("status") == "failed":
        status = "failed"  # built, then a test or the push failed
    parts = [badge(status)]
    digest = (row_cell or {}).get("digest") or ""
    if digest:
        parts.append("<code>%s</code>" % e(short(digest)))
    push = (row_cell or {}).get("push")
    if push and push not in ("unchanged",):
        parts.append('<span class="small">%s</span>' % e(push))
    member = next((m for m in (img or {}).get("tags") or [] if m.get("tag") == tag), None) or {}
    extra = []
    v = member.get("verified")
    if isinstance(v, Mapping):
        # one badge when all is well (a big release has thousands of cells), each failing part named otherwise
        if v.get("ok") is True and v.get("sbom") is not False and v.get("provenance") is not False:
            have = [w for w, k in (("SBOM", "sbom"), ("provenance", "provenance")) if v.get(k) is True]
            extra.append('<span class="st ok">\u2714 verified%s</span>' % "".join(", " + w for w in have))
        else:
            if v.get("ok") is True:
                extra.append('<span class="st ok">\u2714 verified</span>')
            elif v.get("ok") is False:
                extra.append('<span class="st bad">\u2716 verify failed%s</span>'
                             % (": " + e(v["message"]) if v.get("message") else ""))
            extra += [x for x in (_yes_no(v.get("sbom"), "SBOM"), _yes_no(v.get("provenance"), "provenance")) if x]
    elif member.get("attestation_digest"):
        extra.append('<span class="st ok" title="%s">\u2714 attestation</span>' % e(member["attestation_digest"]))
    if extra:
        parts.append("<br>" + " ".join(extra))
    return "cell-" + _cls(status), " ".join(parts)


def _repository(name: str, rows: Sequence[Mapping[str, Any]], images: Sequence[Mapping[str, Any]],
                arches: Sequence[str], links: Sequence[tuple[str, str]]) -> str:
    anchor = "repo-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)
    out = ['<section id="%s"><h2>%s</h2>' % (e(anchor), e(name))]
    if links:
        out.append("<p class=\"small\">%s</p>" % " \u00b7 ".join(
            '<a href="%s">%s</a>' % (e(href), e(label)) for label, href in links))
    mine = [i for i in images if i.get("repository") == name]
    cols = [a for a in arches if any(i.get("arch") == a for i in mine)
            or any(a in (r.get("architectures") or {}) for r in rows)]
    by_tag: dict[tuple[str, str], Mapping[str, Any]] = {}
    for i in mine:
        for m in i.get("tags") or []:
            by_tag.setdefault((m.get("tag", ""), i.get("arch", "")), i)
    body = []
    for r in rows:
        tag = r.get("tag", "")
        label = "<code>%s</code>%s" % (e(tag), ' <span class="small shared">(shared)</span>' if r.get("shared") else "")
        cells = []
        for a in cols:
            cls, inner = _member_cell(by_tag.get((tag, a)), tag, (r.get("architectures") or {}).get(a))
            cells.append('<td class="%s">%s</td>' % (cls, inner))
        pub = r.get("published") or ""
        pcls = {"created": "ok", "updated": "ok", "unchanged": "same", "failed": "bad"}.get(pub, "none")
        pub_html = '<span class="st %s">%s</span>' % (pcls, e(pub))
        if r.get("published_digest"):
            pub_html += " " + _digest_html(r["published_digest"])
        if r.get("message"):
            pub_html += ' <span class="small">%s</span>' % e(r["message"])
        body.append('<tr><th scope="row">%s</th>%s<td>%s</td></tr>' % (label, "".join(cells), pub_html))
    out.append(_table(["Tag"] + list(cols) + ["List"], body, cls="matrix",
                      caption="%s: tags by architecture (status, pushed digest)" % name))
    if mine:
        irows = []
        for i in mine:
            b, t, p = i.get("build") or {}, i.get("test") or {}, i.get("push") or {}
            test = duration(t.get("seconds"))
            if t.get("cached"):
                test = (test + " " if test else "") + "(cached)"
            if t.get("passed") is False:
                test += " \u2716 " + ", ".join(t.get("failed_tests") or [])
            irows.append("<tr><th scope=\"row\"><code>%s</code></th><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                         "<td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
                         "<td class=\"num\">%s</td></tr>" % (
                             e(i.get("key")), e(i.get("arch")), e(i.get("host")), badge(i.get("status") or ""),
                             e(i.get("builder")), e(duration(b.get("seconds"))), e(test),
                             e(duration(p.get("seconds"))), e(size(i.get("size")))))
        out.append("<details open><summary>Images: build, test and push times, size</summary>")
        out.append(_table(["Image", "Architecture", "Host", "Status", "Builder", "Build", "Test", "Push", "Size"],
                          irows))
        out.append("</details>")
        out.append(_built_from(mine))
    out.append("</section>")
    return "".join(out)


def _digest_html(digest: str) -> str:
    return '<code title="%s">%s</code>' % (e(digest), e(short(digest))) if digest else ""


def _parent_html(p: Mapping[str, Any]) -> str:
    """A FROM image: its name and the digest (or image id) it was built from."""
    return " ".join(x for x in ("<code>%s</code>" % e(p.get("name")),
                                _digest_html(str(p.get("digest") or p.get("image_id") or ""))) if x)


def _source_html(src: Mapping[str, Any]) -> str:
    """A declared source: name, version, its SHA-256 and where it is fetched from."""
    sha = str(src.get("sha256") or "")
    return " ".join(x for x in (e(src.get("name")), e(src.get("version")), _digest_html("sha256:" + sha if sha else ""),
                                '<span class="small">%s</span>' % e(src["url"]) if src.get("url") else "") if x)


def _built_from(images: Sequence[Mapping[str, Any]]) -> str:
    """What each image was built from (what its provenance says): the recipe's commit, the parents by digest and
    the sources the family declares; '' when no image names any."""
    rows = []
    for i in images:
        parents = [_parent_html(p) for p in i.get("parents") or [] if isinstance(p, Mapping)]
        sources = [_source_html(x) for x in i.get("sources") or [] if isinstance(x, Mapping)]
        commit = str(i.get("git_commit") or i.get("revision") or "")
        if not (parents or sources or commit):
            continue
        recipe = '<code title="%s">%s</code>' % (e(commit), e(commit[:12])) if commit else "\u2013"
        rows.append('<tr><th scope="row"><code>%s</code></th><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            e(i.get("key")), e(i.get("arch")), recipe, "<br>".join(parents) or "\u2013",
            "<br>".join(sources) or "\u2013"))
    if not rows:
        return ""
    return ("<details><summary>Built from: recipe, parents and sources</summary>%s</details>"
            % _table(["Image", "Architecture", "Recipe commit", "Parents", "Sources"], rows))


def render(data: Mapping[str, Any], links: Mapping[str, Sequence[tuple[str, str]]] | None = None,
           nav: Sequence[tuple[str, str]] = (), link_prefix: str = "") -> str:
    """The page of one report. ``data``: Report.to_dict(); ``links``: repository -> (label, relative href) of its
    README and library file; ``nav``: (label, href) links at the top (the JSON, the Markdown, the history);
    ``link_prefix``: prefix of links to files kept beside the report (``../`` for a copy in history/)."""
    ok = bool(data.get("ok"))
    title = "Release report %s" % (data.get("generated") or "")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>%s</title><style>%s</style></head><body>" % (e(title.strip()), CSS)]
    out.append("<header><h1>Release report</h1>")
    if nav:
        out.append("<nav class=\"small\">%s</nav>" % "".join('<a href="%s">%s</a>' % (e(h), e(label))
                                                             for label, h in nav))
    out.append('<div class="banner %s" role="status"><span class="st %s">%s</span> %s</div>' % (
        "ok" if ok else "bad", "ok" if ok else "bad", "\u2714" if ok else "\u2716",
        e(data.get("headline") or ("Release complete" if ok else "Release incomplete"))))
    gen = data.get("generated")
    if gen:
        out.append('<p class="small">Generated %s.</p>' % e(gen))
    out.append("</header><main>")
    out.append(_summary(data))
    out.append(_changes(data.get("changes") or {}, link_prefix))
    rows = data.get("rows") or []
    repos: list[str] = []
    for r in rows:
        if r.get("repository") not in repos:
            repos.append(r.get("repository"))
    images = data.get("images") or []
    if repos:
        out.append('<nav class="small" aria-label="Repositories">Repositories: %s</nav>' % " ".join(
            '<a href="#repo-%s">%s</a>' % (e("".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in n)), e(n))
            for n in repos))
    for name in repos:
        out.append(_repository(name, [r for r in rows if r.get("repository") == name], images,
                               data.get("architectures") or [], (links or {}).get(name) or []))
    out.append('</main><footer class="small"><p>Legend: %s.</p></footer></body></html>' % ", ".join(
        badge(s) for s in ("built", "unchanged", "pulled", "failed", "skipped: parent failed", "not planned")))
    return "\n".join(out) + "\n"


def render_index(entries: Sequence[Mapping[str, Any]], current: str = "../release-report.html") -> str:
    """The history's index page: one row per kept report (newest first) with its result and one-line summary.
    ``entries``: items with ``name`` (file stem), ``generated``, ``ok``, ``headline``."""
    rows = []
    for x in entries:
        ok = x.get("ok")
        state = ('<span class="st ok">\u2714 complete</span>' if ok
                 else '<span class="st bad">\u2716 incomplete</span>')
        rows.append('<tr><th scope="row"><a href="%s.html">%s</a></th><td>%s</td><td>%s</td>'
                    '<td><a href="%s.json">JSON</a></td></tr>' % (
                        e(x["name"]), e(x.get("generated") or x["name"]), state, e(x.get("headline") or ""),
                        e(x["name"])))
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Release reports</title><style>%s</style></head><body>" % CSS,
        '<header><h1>Release reports</h1><nav class="small"><a href="%s">Latest report</a></nav></header><main>'
        % e(current),
        "<p>The last %d reports, newest first.</p>" % len(entries),
        _table(["Report", "Result", "Summary", "Data"], rows),
        "</main></body></html>"]) + "\n"
