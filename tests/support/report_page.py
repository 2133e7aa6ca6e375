"""The release report's page of a real release, as a person sees it in headless Chromium (tests/support/browser.py):
the integration tests that already run releases (the chain, the failing builder) open the page their release wrote,
check it against the JSON report written beside it, and keep a screenshot of each width under
tests/output/report-page/ (gitignored). One browser start per look: a few seconds."""
from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.buildfarm.images.tests.support import browser

REPO = pathlib.Path(__file__).resolve().parents[2]
SHOTS = REPO / "tests" / "output" / "report-page"
WIDTHS = (1280, 400)

# what the tests read of the rendered page, in the page itself (innerText: only what is displayed)
_PROBE = """(() => {
  const texts = sel => Array.from(document.querySelectorAll(sel)).map(x => x.innerText.trim());
  const rows = sel => Array.from(document.querySelectorAll(sel))
                        .map(tr => Array.from(tr.children).map(c => c.innerText.trim()));
  const matrix = {};
  for (const sec of document.querySelectorAll('section[id^="repo-"]')) {
    const t = sec.querySelector('table.matrix');
    if (!t) continue;
    const head = Array.from(t.querySelectorAll('thead th')).map(th => th.innerText.trim());
    const rows = {};
    for (const tr of t.querySelectorAll('tbody tr')) {
      const cells = Array.from(tr.children).map(c => c.innerText.trim());
      rows[tr.querySelector('th code').innerText.trim()] = cells;
    }
    const links = Array.from(sec.querySelectorAll(':scope > p a'))
                    .map(a => [a.innerText.trim(), a.getAttribute('href')]);
    matrix[sec.querySelector('h2').innerText.trim()] = {head: head, rows: rows, links: links};
  }
  const changes = document.querySelector('#changes');
  return {banner: texts('.banner')[0] || '', counts: texts('#summary ul.counts li'),
          failures: texts('#failures + ul > li'), builders: texts('#summary table tbody tr'),
          changes: changes ? changes.innerText : '',
          rebuilt: rows('#changes > div.scroll table tbody tr'),
          members: rows('#changes details table tbody tr'),
          matrix: matrix};
})()"""


@dataclass
class Seen:
    """What the page showed at one width."""
    width: int
    text: str
    probe: dict[str, Any] = field(default_factory=dict)
    screenshot: str = ""

    @property
    def counts(self) -> dict[str, int]:
        """The summary's count boxes: word -> number (e.g. {"built": 3, "unchanged": 11, ...})."""
        out = {}
        for box in self.probe["counts"]:
            m = re.match(r"^(\d+)\s+(.+)$", box, re.S)
            if m:
                out[m.group(2).strip()] = int(m.group(1))
        return out


def look(artifacts: pathlib.Path, name: str, unfold: bool = False) -> dict[int, Seen]:
    """The page ``artifacts``/release-report.html at each width of WIDTHS: checks the page does not scroll
    sideways, keeps a screenshot tests/output/report-page/<name>-<width>.png, returns what it showed.
    ``unfold``: first open the folded lists of "What changed" (a long list of digests is folded; a person opens
    it with a click) so the text and the screenshot show them."""
    page_path = artifacts / "release-report.html"
    assert page_path.is_file(), "the release wrote no page: %s" % page_path
    seen = {}
    with browser.Chromium() as chromium:
        for width in WIDTHS:
            page = chromium.open(str(page_path), width=width, height=2000)
            try:
                if unfold:
                    page.evaluate("document.querySelectorAll('#changes details').forEach(d => d.open = true)")
                assert page.overflows() == 0, "%s scrolls sideways at %d px" % (page_path, width)
                shot = page.screenshot(str(SHOTS / ("%s-%d.png" % (name, width))))
                seen[width] = Seen(width, page.text, page.evaluate(_PROBE), shot)
            finally:
                page.close()
    return seen


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12] if digest else ""


def check_summary(view: Seen, report: Mapping[str, Any]) -> None:
    """The banner is the JSON's headline and the count boxes are its counts."""
    assert report["headline"] in view.probe["banner"], (view.width, view.probe["banner"], report["headline"])
    c = report["counts"]
    shown = view.counts
    for k in ("built", "unchanged", "failed", "skipped"):
        assert shown.get(k) == c[k], (view.width, k, shown, c)


def check_matrix(view: Seen, report: Mapping[str, Any], repository: str, arches: list[str]) -> None:
    """The repository's matrix: the header is Tag, ``arches``, List; every tag of the JSON is a row whose cell of
    each architecture shows the member's status word and its short digest ("not planned" where it has none)."""
    m = view.probe["matrix"].get(repository)
    assert m, "no matrix of %s at %d px: %s" % (repository, view.width, sorted(view.probe["matrix"]))
    assert m["head"] == ["Tag"] + arches + ["List"], (view.width, m["head"])
    rows = [r for r in report["rows"] if r["repository"] == repository]
    assert rows and set(m["rows"]) == {r["tag"] for r in rows}, (sorted(m["rows"]), [r["tag"] for r in rows])
    for r in rows:
        cells = m["rows"][r["tag"]]
        for i, arch in enumerate(arches, start=1):
            want = r["architectures"].get(arch)
            if want is None:  # no member of this architecture (e.g. trixie has no s390x here)
                assert "not planned" in cells[i], (r["tag"], arch, cells[i])
                continue
            assert want["status"] in cells[i], (r["tag"], arch, cells[i], want)
            assert want["digest"] and short(want["digest"]) in cells[i], (r["tag"], arch, cells[i], want)


def check_links(view: Seen, artifacts: pathlib.Path, repository: str) -> None:
    """The repository's README and library file are linked, and each link is a file the release wrote."""
    links = dict(view.probe["matrix"][repository]["links"])
    assert "README" in links and "library file" in links, links
    for label, href in links.items():
        assert (artifacts / href).is_file(), (label, href)


def check_failure(view: Seen, host: str, *words: str) -> str:
    """The summary's Failures list has an item naming ``host`` and every one of ``words`` (compared as rendered:
    runs of white space are one space, as HTML shows them); returns it."""
    items = view.probe["failures"]
    words = tuple(" ".join(w.split()) for w in words)
    hit = [f for f in items if host in f and all(w in " ".join(f.split()) for w in words)]
    assert hit, "no failure on %s with %s at %d px: %s" % (host, words, view.width, items)
    return hit[0]
