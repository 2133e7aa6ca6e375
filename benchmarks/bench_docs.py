"""How long writing the generic README of the largest library file in the golden data takes (eclipse-temurin of
2026-08-21, 148 entries), in process (parse, render, write) and through playbooks/docs.yml (first and unchanged).

The library file comes from ../shared/golden/2026-08-21/library (BUILDFARM_SHARED overrides ../shared); without
it the benchmark says so and exits.
Run: .venv/bin/python benchmarks/bench_docs.py [--repeat N] [--format 2024|2019]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("BUILDFARM_SHARED", REPO.parent / "shared"))
LIBRARY = SHARED / "golden" / "2026-08-21" / "library"

sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import write_text  # noqa: E402
from ansible_collections.buildfarm.images.plugins.module_utils.docs import readme as docs  # noqa: E402
from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm  # noqa: E402


def largest() -> pathlib.Path:
    """The library file with the most entries (eclipse-temurin in the 2026-08-21 golden data)."""
    return max(LIBRARY.iterdir(), key=lambda p: len(lm.load(p).entries))


def in_process(library: pathlib.Path, dest: pathlib.Path, fmt: str) -> float:
    start = time.perf_counter()
    manifest = lm.load(library).validate()
    write_text(str(dest), docs.render_readme(manifest, library.name, None, fmt=fmt))
    return time.perf_counter() - start


def playbook(extra: dict[str, str]) -> float:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    cmd = ["ansible-playbook", str(REPO / "playbooks" / "docs.yml")]
    for k, v in extra.items():
        cmd += ["-e", "%s=%s" % (k, v)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("docs.yml failed:\n%s%s" % (proc.stdout[-2000:], proc.stderr[-2000:]))
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--repeat", type=int, default=20, help="in-process repetitions (default 20)")
    ap.add_argument("--format", default=docs.DEFAULT_FORMAT, choices=docs.FORMATS, help="README format")
    args = ap.parse_args()
    if not LIBRARY.is_dir():
        print("SKIP: %s not found (the golden library files)" % LIBRARY)
        return
    library = largest()
    entries = len(lm.load(library).entries)
    with tempfile.TemporaryDirectory(prefix="bench-docs-") as tmp:
        dest = pathlib.Path(tmp) / "README.md"
        first = in_process(library, dest, args.format)
        unchanged = [in_process(library, dest, args.format) for run in range(args.repeat)]
        print("generic README of library/%s (%d entries, %d bytes), format %s" % (
            library.name, entries, dest.stat().st_size, args.format))
        print("in process (parse + validate + render + write):")
        print("  first run (writes the file)  %.4f s" % first)
        print("  unchanged runs (n=%d)        median %.4f s, max %.4f s" % (
            len(unchanged), statistics.median(unchanged), max(unchanged)))
        print("through playbooks/docs.yml (one ansible-playbook call):")
        pb_dest = pathlib.Path(tmp) / "pb-README.md"
        for label in ("first", "unchanged"):
            print("  docs.yml (%s)%s %.2f s" % (label, " " * (10 - len(label)), playbook({
                "buildfarm_library_file": str(library), "buildfarm_docs_out": str(pb_dest),
                "buildfarm_docs_format": args.format})))


if __name__ == "__main__":
    main()
