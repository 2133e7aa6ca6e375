"""Run one benchmark on an earlier commit and on this checkout, one after the other, and print both.

A refactoring that must leave the figures "within noise of before" is judged by running the same benchmark, on the
same machine, at the same time, before and after: numbers copied from an older session's notes were measured on
another machine under another load. The earlier commit is exported with `git archive` into a temporary folder
(nothing in this checkout changes), linked to this checkout's .venv and its other collections, and its own copy of
the benchmark runs there; then this checkout's copy runs here. The outputs are printed in full, then every
`label: value` line of this checkout's output next to the lines of the same label before. A machine's speed drifts
(other guests, the page cache, a registry's fsyncs): `--rounds 2` runs before, now, now, before (ABBA), so a drift
falls on both sides alike, and prints each side's values in the order they were measured.

Usage: python benchmarks/compare.py [--before REV] [--rounds N] bench_batch.py [the benchmark's arguments]
"""
from __future__ import annotations

import argparse
import math
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
# the commit issue 24 (one typed release record) measured its "before" on
DEFAULT_BEFORE = "fc62128"
LABEL = re.compile(r"^\s*([^:]{3,60}):\s+(\S.*)$")


def export(rev: str, dest: pathlib.Path) -> pathlib.Path:
    """``rev``'s tree in ``dest/tree``, set up as a checkout whose bootstrap has run (links to ours)."""
    tree = dest / "tree"
    tree.mkdir()
    archive = dest / "tree.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    archive.unlink()
    (tree / ".venv").symlink_to(REPO / ".venv")
    colls = tree / ".collections" / "ansible_collections"
    (colls / "buildfarm").mkdir(parents=True)
    (colls / "buildfarm" / "images").symlink_to(tree)
    # community.docker, ansible.posix ... as this checkout's bootstrap unpacked them
    for namespace in (REPO / ".collections" / "ansible_collections").iterdir():
        if namespace.name != "buildfarm":
            (colls / namespace.name).symlink_to(namespace)
    return tree


def run(tree: pathlib.Path, bench: str, args: list[str]) -> tuple[str, float, int]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(tree / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(tree / ".collections"), ANSIBLE_ROLES_PATH=str(tree / "roles"),
               PATH="%s:%s" % (REPO / ".venv" / "bin", os.environ.get("PATH", "")), PYTHONDONTWRITEBYTECODE="1")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, str(tree / "benchmarks" / bench), *args], cwd=tree, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return proc.stdout, time.monotonic() - t0, proc.returncode


def labelled(output: str) -> dict[str, str]:
    """The output's `label: value` lines (the first of each label)."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        m = LABEL.match(line)
        if m:
            found.setdefault(m.group(1).strip(), m.group(2).strip())
    return found


NUMBER = re.compile(r"([A-Za-z_]+)?[\s=]*([-+]?\d+(?:\.\d+)?)")


def _numbers(value: str) -> list[tuple[str, float]]:
    """The numbers of a value, each named by the word right before it (`first 37.8 s, unchanged 28.7 s`)."""
    return [(m.group(1) or "#%d" % i, float(m.group(2))) for i, m in enumerate(NUMBER.finditer(value))]


def summary(before: list[str], now: list[str]) -> list[str]:
    """For each number of a label's value, with 2 or more runs a side: each side's mean and range, and Welch's t of
    the difference of the means. "within noise" when |t| < 2: with 2 to 4 runs a side that is well short of 95 %
    confidence, so a real difference is flagged rather than missed."""
    sides = [[_numbers(v) for v in side] for side in (before, now)]
    shapes = {tuple(name for name, _value in run) for side in sides for run in side}
    if min(len(sides[0]), len(sides[1])) < 2 or len(shapes) != 1:
        return []
    rows = []
    for i, name in enumerate(next(iter(shapes))):
        nums = [[run[i][1] for run in side] for side in sides]
        if len(set(nums[0] + nums[1])) == 1:
            continue  # the same on every run (a count, rc=0): nothing to compare
        means = [statistics.fmean(n) for n in nums]
        diff = means[1] - means[0]
        error = math.sqrt(sum(statistics.variance(n) / len(n) for n in nums))
        t = diff / error if error else (math.inf if diff else 0.0)
        rows.append("    mean %s: before %.2f (%.2f-%.2f), now %.2f (%.2f-%.2f): %+.2f, t=%.2f, %s" % (
            name, means[0], min(nums[0]), max(nums[0]), means[1], min(nums[1]), max(nums[1]), diff, t,
            "within noise" if abs(t) < 2 else "BEYOND noise"))
    return rows


def side_by_side(before: list[str], now: list[str]) -> list[str]:
    """Per label of this checkout's output: every run's value before, then every run's value now, then the means."""
    earlier = [labelled(o) for o in before]
    later = [labelled(o) for o in now]
    rows = []
    for label in later[0] if later else []:
        rows.append("%s:" % label)
        values = ([e.get(label, "(no such line)") for e in earlier], [n.get(label, "(no such line)") for n in later])
        rows += ["    before: %s" % v for v in values[0]]
        rows += ["    now:    %s" % v for v in values[1]]
        rows += summary(*values)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=DEFAULT_BEFORE, help="the earlier commit (default %(default)s)")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each side, in ABBA order (default 1)")
    ap.add_argument("bench", help="a file under benchmarks/, e.g. bench_batch.py")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    opts = ap.parse_args()
    bench = pathlib.Path(opts.bench).name
    if not (REPO / "benchmarks" / bench).is_file():
        ap.error("benchmarks/%s: no such benchmark in this checkout" % bench)
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", opts.before + "^{commit}"],
                         check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    head = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], stdout=subprocess.PIPE,
                          text=True, check=True).stdout.strip()
    outputs: dict[str, list[str]] = {"before": [], "now": []}
    failed = 0
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        tree = export(rev, pathlib.Path(tmp))
        if not (tree / "benchmarks" / bench).is_file():
            print("benchmarks/%s does not exist at %s" % (bench, rev), file=sys.stderr)
            return 2
        for i in range(max(1, opts.rounds)):
            for side in (("before", "now") if i % 2 == 0 else ("now", "before")):
                output, seconds, rc = run(tree if side == "before" else REPO, bench, opts.args)
                failed = failed or rc
                outputs[side].append(output)
                print("== %s (round %d): %s at %s (rc %d, %.0f s)\n%s" % (
                    side, i + 1, bench, rev if side == "before" else head, rc, seconds, output.rstrip()), flush=True)
    print("== side by side (before = %s, now = %s; each side's runs in the order measured)" % (rev, head))
    print("\n".join(side_by_side(outputs["before"], outputs["now"])))
    return failed


if __name__ == "__main__":
    sys.exit(main())
