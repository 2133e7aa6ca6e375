"""What SBOM and provenance cost a release: the first release's time with and without attestations, and an unchanged
release's with and without them (issue 23's targets: attestations add under 5 % to the python build; an unchanged
release no slower than before, 33 s on the machine of the issue).

A first release of the local default with python takes a quarter of an hour or more here, twice that to compare two
of them, and a build's own time drifts by more than 5 % between runs. So the attestations' cost is measured where
it is spent, on the same images: the push stage (image_push makes the SBOM with syft, the provenance, and pushes
the attestation manifest and its layers beside each image). The releases, on a copy of the local default
(inventories/local) with amd64 builders only (nothing under qemu) and python built with PYTHON_OPTIMIZE=0 (`make
test`'s CPython build, minutes; `--optimize` builds it as `make release` does):

1. first release without attestations (`buildfarm_attestations: false`) to an empty registry A: everything is built
   (a fresh build argument: every input digest new), tested and pushed bare;
2. first release with attestations, same inputs, to an empty registry B: nothing is built again (the engine has
   every image: the farm finds it by its input digest), every image is pushed, now with its attestation;
3. unchanged releases, alternating B with attestations and A without them (ABBA over `--rounds` pairs).

Per image: the build time (release 1), the push time without (1) and with (2) attestations; the difference is what
the attestations cost, printed in seconds and as a share of the image's build time and of the first release.
Each release's wall time is printed too. The numbers are printed, never asserted: the machine is shared.
Images and tags it made are removed afterwards (the engine's build cache aside).

Usage: python benchmarks/bench_attestations.py [--families debian,python] [--rounds N] [--optimize]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import uuid

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_release  # noqa: E402  (the one way the benchmarks run a release)
from ansible_collections.buildfarm.images.tests.support.local_inventory import local_farm  # noqa: E402
from ansible_collections.buildfarm.images.tests.support.ports import free_port  # noqa: E402
from ansible_collections.buildfarm.images.tests.support.registry import ThrowAwayRegistry  # noqa: E402

OFF = {"buildfarm_attestations": False, "buildfarm_require_attestations": False}
ON = {"buildfarm_attestations": True, "buildfarm_require_attestations": True}


def settings(root: pathlib.Path, families: list[str], build_args: dict[str, str]) -> dict:
    """The local default's settings for amd64 only: its own folders, the families asked for, the local default's
    family overrides with every architecture but amd64 dropped (the arm64v8 and s390x builders are left out)."""
    main = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "all" / "main.yml").read_text())
    overrides = main.get("buildfarm_family_overrides") or {}
    for override in overrides.values():
        archs = override.get("architectures")
        if isinstance(archs, dict):
            override["architectures"] = {k: [a for a in v if a == "amd64"] for k, v in archs.items()}
        elif isinstance(archs, list):
            override["architectures"] = [a for a in archs if a == "amd64"]
    for fam in families:
        overrides.setdefault(fam, {})
        if fam not in ("debian", "python"):
            overrides[fam] = dict(overrides[fam], architectures=["amd64"])
    return {
        "buildfarm_work_dir": str(root / "work"),
        "buildfarm_artifacts_dir": str(root / "artifacts"),
        "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),  # root filesystems: the mirror's
        "buildfarm_families": families,
        "buildfarm_family_overrides": overrides,
        "buildfarm_build_args": build_args,
    }


def release(inv: pathlib.Path, registry: str, extra: dict) -> dict:
    """One release to ``registry``: wall time, rc, changed and the report's images (key -> build/push seconds)."""
    elapsed, rc, doc = bench_release.release(inv, dict(extra, buildfarm_registry=registry))
    path = inv.parent / "artifacts" / "release-report.json"
    report = json.loads(path.read_text()) if path.exists() and rc == 0 else {}
    images = {"%s %s" % (i["key"], i["arch"]): {"status": i["status"],
                                                "build": (i.get("build") or {}).get("seconds"),
                                                "push": (i.get("push") or {}).get("seconds")}
              for i in report.get("images") or []}
    return {"wall": elapsed, "rc": rc, "changed": bench_release.changed(doc), "images": images,
            "took": (report.get("times") or {}).get("seconds")}


def _s(value: float | None) -> str:
    return "%7.1fs" % value if isinstance(value, (int, float)) else "%8s" % "-"


def report(families: list[str], quick: bool, first: dict, attested: dict, unchanged: dict[str, list[dict]]) -> None:
    print("releases of the local default (%s x amd64%s; %d CPUs, load %.1f)"
          % (", ".join(families), ", PYTHON_OPTIMIZE=0" if quick else "", os.cpu_count() or 0, os.getloadavg()[0]))
    print("  %-40s %9s %9s  %s" % ("release", "wall", "report", ""))
    print("  %-40s %9s %9s  rc=%d changed=%d (builds everything)"
          % ("1. first, without attestations", _s(first["wall"]), _s(first["took"]), first["rc"], first["changed"]))
    print("  %-40s %9s %9s  rc=%d changed=%d (same images, nothing built: pushes with attestations)"
          % ("2. first push, with attestations", _s(attested["wall"]), _s(attested["took"]), attested["rc"],
             attested["changed"]))
    for side, label in (("off", "unchanged, without attestations"), ("on", "unchanged, with attestations")):
        runs = unchanged[side]
        if runs:
            print("  %-40s %9s %9s  rc=%s changed=%s; runs %s"
                  % ("3. " + label, _s(statistics.median(r["wall"] for r in runs)),
                     _s(statistics.median(r["took"] or 0 for r in runs)), sorted({r["rc"] for r in runs}),
                     sorted({r["changed"] for r in runs}), " ".join("%.0f" % r["wall"] for r in runs)))
    if unchanged["on"] and unchanged["off"]:
        on, off = (statistics.median(r["wall"] for r in unchanged[s]) for s in ("on", "off"))
        print("     unchanged with - without attestations: %+.1f s (%+.1f %%; target: no slower than before, 33 s"
              " on the issue's machine)" % (on - off, 100.0 * (on - off) / off))
    print("  per image: build (release 1), push without (1) and with (2) attestations, the attestations' cost")
    print("    %-34s %9s %9s %9s %9s %16s" % ("image", "build", "push", "push+att", "att.", "att./build"))
    total = {"build": 0.0, "att": 0.0}
    for name, img in sorted(first["images"].items()):
        other = attested["images"].get(name) or {}
        build, off, on = img["build"], img["push"], other.get("push")
        cost = (on - off) if isinstance(on, (int, float)) and isinstance(off, (int, float)) else None
        share = "%+15.1f%%" % (100.0 * cost / build) if cost is not None and build else "%16s" % "-"
        print("    %-34s %9s %9s %9s %9s %s" % (name, _s(build), _s(off), _s(on), _s(cost), share))
        if cost is not None and build:
            total["build"] += build
            total["att"] += cost
    if total["build"]:
        print("    %-34s %9s %19s %9s %+15.1f%%" % ("all images", _s(total["build"]), "", _s(total["att"]),
                                                    100.0 * total["att"] / total["build"]))
        print("  attestations' cost against the first release (wall %s): %+.1f %% (the pushes of a release run"
              " beside other builds: an upper bound)"
              % (_s(first["wall"]).strip(), 100.0 * total["att"] / first["wall"]))
    print("  target: under 5 % of the python build (push times are whole seconds: +-1 s per image)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", default="debian,python", help="families released (default debian,python)")
    ap.add_argument("--rounds", type=int, default=1, help="ABBA pairs of unchanged releases (default 1)")
    ap.add_argument("--optimize", action="store_true", help="build CPython as make release does (PGO/LTO: long)")
    opts = ap.parse_args()
    families = [f for f in opts.families.split(",") if f]
    quick = not opts.optimize
    build_args = dict({"PYTHON_OPTIMIZE": "0"} if quick else {}, BUILDFARM_BENCH_RUN=uuid.uuid4().hex)
    if "python" in families:  # python's sources: the local default's source mirror (make release starts it)
        subprocess.run([str(REPO / "scripts" / "source-mirror.sh"), "start", str(REPO / ".cache" / "source-mirror"),
                        "8791", str(REPO / "inventories" / "local-files" / "python-versions.json")], check=True,
                       stdout=subprocess.DEVNULL)
    unchanged: dict[str, list[dict]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="bench-attestations-") as tmp:
        root = pathlib.Path(tmp)
        with local_farm(root, settings(root, families, build_args), bench_release.BENCH_PORTS, "zz-bench.yml",
                        without_builders=["builders_arm64v8", "builders_s390x"]) as (inv, reg_a):
            reg_b = ThrowAwayRegistry(root / "registry-b", free_port(*bench_release.BENCH_PORTS))
            reg_b.start()
            try:
                first = release(inv, reg_a.address, OFF)
                attested = release(inv, reg_b.address, ON)
                for n in range(opts.rounds if first["rc"] == attested["rc"] == 0 else 0):
                    for side in (("on", "off") if n % 2 == 0 else ("off", "on")):
                        reg, extra = (reg_b, ON) if side == "on" else (reg_a, OFF)
                        unchanged[side].append(release(inv, reg.address, extra))
            finally:
                reg_b.stop()
                reg_b.untag()
    report(families, quick, first, attested, unchanged)
    runs = [first, attested] + unchanged["on"] + unchanged["off"]
    return 0 if all(r["rc"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
