"""The chain of the local default: a first and an unchanged release of debian (trixie: amd64 native, arm64v8 under
qemu; bookworm: the same and s390x under qemu) and python 3.13.5 (amd64, built from source FROM the
debian:trixie-slim just built), each image's build time, and the farm's overhead on the python build against a
plain `docker build` of the same rendered Dockerfile.

Targets (issue 12): first release < 30 min on a 2-core machine, unchanged release < 60 s, overhead < 5 %.

The first release is a fresh builder's: its own root filesystem cache and a fresh build argument (every input
digest new). For the overhead, a third release changes only python's recipe (a label), so python is built again,
FROM the same debian, as the release's only build (the local default's builders share this machine: a debian change
would have arm64v8's builder test its new image under qemu beside it); then a plain `docker build --no-cache` of
the same rendered python Dockerfile, FROM the same debian image, with the same build arguments. With production's
CPython build this takes well over an hour on a 2-core machine: run it alone (`python benchmarks/bench_chain.py`;
`--no-plain` skips the comparison; `--quick` builds CPython without PGO/LTO as `make test` does, about 20 minutes,
the overhead then measured against a build of minutes, where the farm's fixed costs weigh more; `--rounds 2`
measures the overhead twice in ABBA order - farm, plain, plain, farm - as a build's own time drifts between runs).
Images and tags it made are removed afterwards (the engine's build cache aside).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_release  # noqa: E402  (the one way the benchmarks run a release)
from ansible_collections.buildfarm.images.tests.support.chain_families import family_changed  # noqa: E402
from ansible_collections.buildfarm.images.tests.support.local_inventory import local_farm  # noqa: E402

PY_KEY = "python:3.13.5-slim-trixie"


def release(inventory: pathlib.Path, extra: dict | None = None) -> tuple[float, int, dict, dict]:
    """bench_release's run, with the release report and the root filesystems each builder made."""
    elapsed, rc, doc = bench_release.release(inventory, extra)
    path = inventory.parent / "artifacts" / "release-report.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    # the root filesystems a builder made for its share (image_build's context_sources): not in the images' times
    report["context_sources"] = [dict(src, host=host) for play in doc.get("plays") or []
                                 for task in play.get("tasks") or [] if task["task"]["name"].endswith("Build the share")
                                 for host, res in task["hosts"].items() for src in res.get("context_sources") or []]
    return elapsed, rc, doc, report


def farm_build(report: dict) -> float:
    """The build time of python on amd64 in a release's report (0 when it was not built)."""
    return next((t["seconds"] for t in report.get("build_times") or []
                 if t["key"] == PY_KEY and t["arch"] == "amd64" and t["status"] == "built"), 0.0)


def _duration(s: float) -> str:
    return "%dm%02ds" % (s // 60, s % 60)


def plain_build(root: pathlib.Path, registry: str, build_args: dict[str, str]) -> float:
    """`docker build` of the rendered python Dockerfile the release built, FROM the same debian image."""
    render = root / "work" / "render" / "python" / "3.13" / "slim-trixie"
    text = (render / "Dockerfile").read_text()
    parent = "%s/amd64/debian:trixie-slim" % registry
    ctx = root / "plain"
    shutil.rmtree(ctx, ignore_errors=True)  # a context of its own each round: the render of the last release
    shutil.copytree(render, ctx)
    (ctx / "Dockerfile").write_text(text.replace("FROM debian:trixie-slim", "FROM " + parent, 1))
    argv = ["docker", "build", "--no-cache", "--platform", "linux/amd64", "-t", "buildfarm-bench/plain-python:x"]
    for k, v in build_args.items():
        argv += ["--build-arg", "%s=%s" % (k, v)]
    start = time.monotonic()
    proc = subprocess.run(argv + [str(ctx)], capture_output=True, text=True, check=False,
                          env=dict(os.environ, DOCKER_BUILDKIT="0"))  # the farm builds with the classic builder
    took = time.monotonic() - start
    subprocess.run(["docker", "rmi", "buildfarm-bench/plain-python:x"], capture_output=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return -1.0
    return took


def overhead(root: pathlib.Path, inv: pathlib.Path, registry: str, py_args: dict[str, str], run_id: str,
             rounds: int) -> list[tuple[float, float, float]]:
    """``rounds`` pairs of (farm build, plain build, whole farm release) of python alone, the order alternating
    (farm first, then plain first, ...: ABBA for two rounds), so that a drift of the machine (caches warming, the
    mirror's fetches) weighs on both sides alike. A pair whose farm release fails or does not build python ends
    the comparison."""
    pairs = []
    for n in range(rounds):
        got: dict[str, float] = {}
        for side in (("farm", "plain") if n % 2 == 0 else ("plain", "farm")):
            if side == "plain":
                # the rendered Dockerfile of the last farm release: the same recipe, FROM the same debian
                got["plain"] = plain_build(root, registry, dict(py_args, BUILDFARM_BENCH_RUN=run_id))
                continue
            # The first release builds python while arm64v8's root filesystem is made under qemu, and a debian
            # change would have arm64v8's builder test its new debian under qemu beside python's build (the local
            # default's builders share this machine): the farm side is a release where only python's recipe
            # changed (a label new each round), python being its only build.
            label = "%s-%d" % (run_id, n)
            elapsed, rc, _doc, report = release(
                inv, {"buildfarm_families_dir": str(family_changed(root / ("families-" + label), "python", label))})
            got["farm"], got["release"] = (farm_build(report) if rc == 0 else 0.0), elapsed
            if not got["farm"]:
                print("round %d: the farm release (rc=%d) did not build %s" % (n + 1, rc, PY_KEY), file=sys.stderr)
                return pairs
        if got["plain"] <= 0:
            return pairs
        pairs.append((got["farm"], got["plain"], got["release"]))
        print("round %d: farm %s, plain %s" % (n + 1, _duration(got["farm"]), _duration(got["plain"])),
              file=sys.stderr)
    return pairs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-plain", action="store_true", help="skip the plain docker build comparison")
    ap.add_argument("--rounds", type=int, default=1,
                    help="farm/plain pairs for the overhead, alternating which goes first (2: farm, plain, plain,"
                         " farm); each pair is two python builds")
    ap.add_argument("--quick", action="store_true",
                    help="build CPython with PYTHON_OPTIMIZE=0 (no PGO/LTO, as make test does): the farm's own"
                         " costs against a build of minutes, not the local default's first release")
    opts = ap.parse_args()
    run_id = uuid.uuid4().hex
    mirror = REPO / ".cache" / "source-mirror"
    subprocess.run([str(REPO / "scripts" / "source-mirror.sh"), "start", str(mirror), "8791",
                    str(REPO / "inventories" / "local-files" / "python-versions.json")], check=True,
                   stdout=subprocess.DEVNULL)
    host = subprocess.run([str(REPO / "scripts" / "source-mirror.sh"), "address"], capture_output=True,
                          text=True, check=True).stdout.strip()
    # every family's build arguments: PYTHON_OPTIMIZE=0 with --quick (only python's template declares it)
    build_args = {"PYTHON_OPTIMIZE": "0"} if opts.quick else {}
    # python's as the local default's overrides give them, for the plain build
    py_args = dict(build_args, PYTHON_SOURCE_URL="http://%s:8791/ftp/python" % host,
                   GPG_KEYSERVER="http://%s:8791/pks/keys.asc" % host)
    pairs: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp:
        root = pathlib.Path(tmp)
        with local_farm(root, {
            "buildfarm_work_dir": str(root / "work"),
            "buildfarm_artifacts_dir": str(root / "artifacts"),
            "buildfarm_build_cache_dir": str(root / "cache"),  # a fresh builder: root filesystems made again
            "buildfarm_families": ["debian", "python"],
            # every input digest new (the label of the run), so nothing is found already built; python's sources
            # are the local default's (its overrides, made from buildfarm_source_mirror)
            "buildfarm_build_args": dict(build_args, BUILDFARM_BENCH_RUN=run_id),
        }, bench_release.BENCH_PORTS, "zz-bench.yml") as (inv, registry):
            first, rc1, _doc, report = release(inv)
            second, rc2, doc, _report = release(inv)
            if not opts.no_plain and rc1 == 0:
                pairs = overhead(root, inv, registry.address, py_args, run_id, max(1, opts.rounds))
    print("release of the local default's chain (debian trixie x amd64, arm64v8, bookworm x amd64, arm64v8, s390x;"
          " python x amd64%s; %d CPUs, load %.1f)"
          % (", PYTHON_OPTIMIZE=0" if opts.quick else "", os.cpu_count() or 0, os.getloadavg()[0]))
    print("  first release:     %9s  (rc=%d, target < 30m00s)" % (_duration(first), rc1))
    print("  unchanged release: %9.1f s (rc=%d, changed=%d, target < 60 s)" % (second, rc2, bench_release.changed(doc)))
    print("  build time of each image (first release):")
    for t in report.get("build_times") or []:
        print("    %-32s %-8s %-8s %9s" % (t["key"], t["arch"], t["status"], _duration(t["seconds"])))
    for src in report.get("context_sources") or []:
        label = "(%s %s)" % (src["family"], src["kind"])
        state = "made" if src["changed"] else "cached"
        print("    %-32s %-8s %-8s %9s" % (label, src["arch"], state, _duration(src["seconds"])))
    if pairs:
        print("  python alone (its recipe changed by a label, built again FROM the same debian; order per round"
              " alternating, farm first in round 1):")
        for n, (farm, plain, whole) in enumerate(pairs, 1):
            print("    round %d: farm build %s, plain `docker build --no-cache` %s: %+.1f %%; the whole release"
                  " around it (plan, render, tests, push, publish, READMEs) %s, %+.1f %%"
                  % (n, _duration(farm), _duration(plain), 100.0 * (farm - plain) / plain, _duration(whole),
                     100.0 * (whole - plain) / plain))
        farms, plains = [p[0] for p in pairs], [p[1] for p in pairs]
        print("    overhead over %d round(s): %+.1f %% (sum of farm builds / sum of plain builds; per round median"
              " %+.1f %%; target < 5 %%)" % (len(pairs), 100.0 * (sum(farms) / sum(plains) - 1),
                                             statistics.median(100.0 * (f - p) / p for f, p in zip(farms, plains))))
    return 0 if rc1 == rc2 == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
