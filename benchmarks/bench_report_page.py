"""The release report's page: its size and how long headless Chromium takes to render it (targets: under 1 MB and
under a second), for a release shaped like the local default's (busybox, debian and python; the later release
after debian changed, so "what changed" is full) and for bigger ones (the three families copied, --copies).

Each page is written by the release_report module (run in process, as the report step writes it); Chromium
(Debian's /usr/bin/chromium, tests/support/browser.py) opens it at 1280 and at 400 px wide, --repeat times each.
Printed per page: the page's bytes, the time to write the report (module, in process), and Chromium's load event
(ms from the navigation's start: parse, style, layout; as reported by the page's navigation timing) and the
wall time from navigate to the load event as seen over the DevTools pipe, median and worst.

Run: .venv/bin/python benchmarks/bench_report_page.py [--repeat N] [--copies 1,10,30]
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.buildfarm.images.tests.support import browser, report_fixtures  # noqa: E402
from ansible_collections.buildfarm.images.tests.support.run_module import run_module  # noqa: E402

PAGE_LIMIT = 1_000_000
RENDER_LIMIT = 1.0


def write(kind: str, dest: pathlib.Path, copies: int) -> tuple[str, float]:
    a = report_fixtures.release(kind, copies=copies)
    start = time.perf_counter()
    r = run_module("release_report", {"release": a["release"], "builders": a["builders"], "results": a["results"],
                                      "published": a["published"], "verified": a["verified"],
                                      "builder_facts": a["hosts"], "dest_dir": str(dest)})
    took = time.perf_counter() - start
    if r.get("failed"):
        raise SystemExit("release_report failed: %s" % r.get("msg"))
    return r["page"], took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--copies", default="1,10", help="comma-separated: the three families this many times")
    args = ap.parse_args()
    if not browser.available():
        print("chromium is not installed (apt-get install chromium): nothing measured")
        return 1
    worst_ok = True
    print("%-34s %9s %8s %22s %22s" % ("page", "bytes", "write", "load 1280 med/max ms", "load 400 med/max ms"))
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp, browser.Chromium() as chromium:
        warm = chromium.open("about:blank")  # the browser's own start-up is not the page's render time
        warm.close()
        for copies in [int(c) for c in args.copies.split(",")]:
            dest = pathlib.Path(tmp) / ("c%d" % copies)
            write("first", dest, copies)  # the previous release: the next page has its "what changed"
            page, took = write("changed", dest, copies)
            size = pathlib.Path(page).stat().st_size
            cols = []
            walls = []
            for width in (1280, 400):
                loads = []
                for _run in range(args.repeat):
                    p = chromium.open(page, width=width)
                    loads.append(float(p.timing["load"]))
                    walls.append(p.wall_seconds)
                    p.close()
                cols.append("%9.0f / %9.0f" % (statistics.median(loads), max(loads)))
                if copies == 1:  # the targets are the local default's; bigger releases show how it scales
                    worst_ok &= max(loads) < RENDER_LIMIT * 1000
            name = "local default (3 families)" if copies == 1 else "%d families (%dx the default)" % (
                3 * copies, copies)
            print("%-34s %9d %7.2fs %22s %22s   wall max %.3fs" % (name, size, took, cols[0], cols[1], max(walls)))
            if copies == 1:
                worst_ok &= size < PAGE_LIMIT
    print("targets (the local default's page): under %d bytes, every load under %.0f ms: %s"
          % (PAGE_LIMIT, RENDER_LIMIT * 1000, "met" if worst_ok else "NOT met"))
    return 0 if worst_ok else 1


if __name__ == "__main__":
    sys.exit(main())
