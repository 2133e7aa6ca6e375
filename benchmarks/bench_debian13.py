"""Wall time of an unchanged release on a Debian 13 builder (Docker 26) next to a Debian 12 one (Docker 20.10).

The builders are tests/integration/farm's: a container with sshd, provisioned from bare by role builder over SSH
(engine, CLI, buildx from each release's packages), with a TLS registry of role registry on the farm network's
bridge address. One farm per release, each with one amd64 host (root), both up at once; each releases busybox for
amd64 once (a fresh build argument: it really builds, tests and pushes), then the unchanged release is timed in
ABBA rounds (Debian 12, 13, 13, 12, ...) so that the machine's load drifts onto both sides alike. What differs is the
builder's release: its engine and its API, buildx, Python and the modules' work on it; the controller is the same.
Provisioning and the first releases are printed, not compared (installing Docker is the mirror's speed).

Needs root, dockerd, docker-registry and the base images (scripts/base-image.sh); containers, networks and
registries are removed afterwards.

Usage: python benchmarks/bench_debian13.py [--rounds N] [-- ANSIBLE-PLAYBOOK ARGS]
  N ABBA pairs of unchanged releases (default 2); the arguments after `--` go to every release's ansible-playbook
  (e.g. `-- --tags provision,plan,build,publish,docs,report` to time the releases without their verify stage).
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

from ansible_collections.buildfarm.images.tests.integration.farm import conftest as farm_support  # noqa: E402
from ansible_collections.buildfarm.images.tests.support import farm_host  # noqa: E402

SUITES = ("bookworm", "trixie")


def make_farm(root: pathlib.Path, suite: str, first_port: int) -> farm_support.Farm:
    """A farm of one bare amd64 host of Debian ``suite`` on a network of its own (not provisioned yet), its registry
    on a free port from ``first_port`` on (each farm keeps its registry's pid file and log in its own folder; two
    ports all the same, so that the two registries' logs and certificates are told apart by port)."""
    farm_host.host_image(suite)
    name = "bf-bench-d13-%s-%s" % (suite, os.urandom(3).hex())
    farm_support.docker("network", "create", name)
    gateway = json.loads(farm_support.docker("network", "inspect", name).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    root.mkdir(parents=True, exist_ok=True)
    key = root / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    farm = farm_support.Farm(root, name, gateway, key, root / "known_hosts")
    farm.known_hosts.touch()
    farm.registry_port = farm_support._free_port(gateway, first_port)
    farm.add_host("bench-amd64-%s" % suite, "amd64", suite=suite)
    return farm


def remove_farm(farm: farm_support.Farm) -> None:
    for h in farm.hosts:
        farm_support.docker("rm", "-f", "-v", h.container, check=False)
    farm_support.docker("network", "rm", farm.network, check=False)
    farm_support._stop_registry(farm)


def timed_release(farm: farm_support.Farm, run_vars: dict, args: list[str]) -> tuple[float, int, int]:
    """(wall time s, rc, changed summed over the hosts) of one release over ``farm`` (``args``: ansible-playbook's)."""
    start = time.monotonic()
    run = farm.release(*args, **run_vars)
    elapsed = time.monotonic() - start
    if run.rc != 0:
        print(run.messages()[-2000:], file=sys.stderr)
    return elapsed, run.rc, sum(run.changed().values())


def engine(farm: farm_support.Farm) -> str:
    return farm.hosts[0].sh("docker version --format '{{ .Server.Version }}'").stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="ABBA pairs of unchanged releases (default 2)")
    parser.add_argument("playbook_args", nargs="*", help="after --: arguments of every release's ansible-playbook")
    opts = parser.parse_args()
    rounds, args = opts.rounds, opts.playbook_args
    if os.geteuid() != 0 or shutil.which("docker-registry") is None:
        print("bench_debian13 needs root and docker-registry (scripts/bootstrap-system.sh)", file=sys.stderr)
        return 2
    farms: dict[str, farm_support.Farm] = {}
    provisioning: dict[str, float] = {}
    first: dict[str, tuple[float, int, int]] = {}
    unchanged: dict[str, list[tuple[float, int, int]]] = {s: [] for s in SUITES}
    run_vars = {"buildfarm_families": ["busybox"],
                "buildfarm_build_args": {"BUILDFARM_BENCH_RUN": uuid.uuid4().hex}}
    with tempfile.TemporaryDirectory(prefix="bench-debian13-") as tmp:
        try:
            for suite in SUITES:
                first_port = max([f.registry_port for f in farms.values()], default=5499) + 1
                farms[suite] = make_farm(pathlib.Path(tmp) / suite, suite, first_port)
                start = time.monotonic()
                rc, _result, stderr = farms[suite].provision()
                provisioning[suite] = time.monotonic() - start
                if rc != 0:
                    raise RuntimeError("provisioning the %s host failed (rc=%d): %s" % (suite, rc, stderr[-2000:]))
                first[suite] = timed_release(farms[suite], run_vars, args)
            for _round in range(rounds):
                for suite in SUITES + SUITES[::-1]:
                    unchanged[suite].append(timed_release(farms[suite], run_vars, args))
            engines = {s: engine(farms[s]) for s in SUITES}
        finally:
            for farm in farms.values():
                remove_farm(farm)
    print("release of busybox x amd64 on one SSH builder; %d CPUs, load %.1f%s"
          % (os.cpu_count() or 0, os.getloadavg()[0], "; ansible-playbook %s" % " ".join(args) if args else ""))
    print("  %-34s %16s %16s %10s" % ("", "Debian 12", "Debian 13", "13 - 12"))
    print("  %-34s %16s %16s" % ("engine", engines["bookworm"], engines["trixie"]))
    print("  %-34s %15.1fs %15.1fs  (not compared: the mirror's speed)"
          % ("provisioning from bare", provisioning["bookworm"], provisioning["trixie"]))
    print("  %-34s %15.1fs %15.1fs  (rc %d/%d, changed %d/%d)"
          % ("first release", first["bookworm"][0], first["trixie"][0], first["bookworm"][1], first["trixie"][1],
             first["bookworm"][2], first["trixie"][2]))
    med = {s: statistics.median(t[0] for t in unchanged[s]) for s in SUITES}
    print("  %-34s %15.1fs %15.1fs %+9.1fs  (median of %d; changed %s/%s)"
          % ("unchanged release", med["bookworm"], med["trixie"], med["trixie"] - med["bookworm"],
             len(unchanged["trixie"]), sorted({t[2] for t in unchanged["bookworm"]}),
             sorted({t[2] for t in unchanged["trixie"]})))
    print("  %-34s %16s %16s" % ("unchanged runs (s)", " ".join("%.0f" % t[0] for t in unchanged["bookworm"]),
                                 " ".join("%.0f" % t[0] for t in unchanged["trixie"])))
    runs = list(first.values()) + [t for s in SUITES for t in unchanged[s]]
    ok = all(r[1] == 0 for r in runs) and all(t[2] == 0 for s in SUITES for t in unchanged[s])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
