"""What a release costs as the number of families grows: the local default with 1 and with 20 families (copies of
busybox under other folder names, in a temporary families folder, nothing else changed), in one run.

Prints, for 1 and for 20 families, the first release (fresh build argument: every input digest is new; the 20
copies share their build inputs, so 19 of them come from the first one's image - the build cache) and the
unchanged release (changed=0), and the ratios. Target: unchanged 20 / unchanged 1 at most 1.5.

Each size runs against its own throw-away registry; images and tags made are removed afterwards; the Debian
package cache is kept (the mirror is not what is measured).
"""
from __future__ import annotations

import os
import pathlib
import shutil
import sys
import tempfile
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_release  # noqa: E402  (the one way the benchmarks run a release)
from ansible_collections.buildfarm.images.tests.support.local_inventory import local_farm  # noqa: E402


def families_folder(root: pathlib.Path, count: int) -> list[str]:
    """``count`` families: busybox itself and copies of its folder under other names (family.yml untouched)."""
    folder = root / "families"
    folder.mkdir()
    names = ["busybox"] + ["box%02d" % i for i in range(1, count)]
    for name in names:
        shutil.copytree(REPO / "families" / "busybox", folder / name)
    return names


def run(count: int) -> tuple[float, float, int, int]:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        root = pathlib.Path(tmp)
        names = families_folder(root, count)
        with local_farm(root, {
            "buildfarm_families_dir": str(root / "families"),
            "buildfarm_families": names,
            "buildfarm_work_dir": str(root / "work"),
            "buildfarm_artifacts_dir": str(root / "artifacts"),
            "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),
            "buildfarm_build_args": {"BUILDFARM_BENCH_RUN": uuid.uuid4().hex},
        }, bench_release.BENCH_PORTS, "zz-bench.yml") as (inv, _registry):
            first, rc1, _doc = bench_release.release(inv)
            unchanged, rc2, doc = bench_release.release(inv)
    if rc1 or rc2:
        print("%d families: release failed (rc %d, %d)" % (count, rc1, rc2), file=sys.stderr)
    return first, unchanged, bench_release.changed(doc), rc1 or rc2


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [1, 20]
    results = {n: run(n) for n in sizes}
    print("release of the local default as families grow (busybox copies x amd64, arm64v8, s390x; %d CPUs, load %.1f)"
          % (os.cpu_count() or 0, os.getloadavg()[0]))
    for n, (first, unchanged, changed, rc) in results.items():
        print("  %2d families: first %7.1f s, unchanged %6.1f s (changed=%d, rc=%d)"
              % (n, first, unchanged, changed, rc))
    lo, hi = min(sizes), max(sizes)
    if lo != hi:
        print("  unchanged %d/%d: %.2fx (target <= 1.5)" % (hi, lo, results[hi][1] / results[lo][1]))
        print("  first     %d/%d: %.2fx (the copies share their build inputs: built once, then from the cache)"
              % (hi, lo, results[hi][0] / results[lo][0]))
    return 0 if all(r[3] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
