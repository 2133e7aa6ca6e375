"""Wall time of a first and of an unchanged release over a farm of two SSH builders, next to the same release on
the local default: the SSH farm's overhead.

The farm is tests/integration/farm's: two containers with sshd and their own dockerd (amd64 as root, s390x under
qemu as a user with `become`), a TLS registry with role registry's CA on the farm network's bridge address. It is
provisioned from bare first (timed apart: installing Docker is not what is compared). The local default is a copy
of inventories/local with the same architectures (amd64 native, s390x under qemu) and a throw-away registry, as in
bench_release.py. Both release busybox; a fresh build argument per side makes every input digest new, so each
first release really builds, tests and pushes. Needs root, dockerd and docker-registry; containers, network,
registries and the local images it tagged are removed afterwards.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import uuid


REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_release import BENCH_PORTS, changed, release  # noqa: E402

from ansible_collections.buildfarm.images.tests.integration.farm import conftest as farm_support  # noqa: E402
from ansible_collections.buildfarm.images.tests.support.local_inventory import local_farm  # noqa: E402


def farm_side(root: pathlib.Path) -> tuple[float, tuple[float, int, int], tuple[float, int, int]]:
    """(provisioning s, (first s, rc, changed), (unchanged s, rc, changed)) over two SSH builders."""
    farm_support.host_image()
    name = "bf-farm-bench-%s" % os.urandom(3).hex()
    farm_support.docker("network", "create", name)
    gateway = json.loads(farm_support.docker("network", "inspect", name).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    key = root / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    farm = farm_support.Farm(root, name, gateway, key, root / "known_hosts")
    farm.known_hosts.touch()
    farm.registry_port = farm_support._free_port(gateway)
    try:
        farm.add_host("farm-amd64", "amd64")
        farm.add_host("farm-s390x", "s390x", emulated=True, user="farmer")
        start = time.monotonic()
        rc, _result, stderr = farm.provision()
        provisioning = time.monotonic() - start
        if rc != 0:
            raise RuntimeError("provisioning the farm failed (rc=%d): %s" % (rc, stderr[-2000:]))
        run_vars = {"buildfarm_families": ["busybox"],
                    "buildfarm_build_args": {"BUILDFARM_BENCH_RUN": uuid.uuid4().hex}}
        sides = []
        for _attempt in range(2):
            start = time.monotonic()
            run = farm.release(**run_vars)
            elapsed = time.monotonic() - start
            if run.rc != 0:
                print(run.messages()[-2000:], file=sys.stderr)
            sides.append((elapsed, run.rc, sum(run.changed().values())))
        return provisioning, sides[0], sides[1]
    finally:
        for h in farm.hosts:
            farm_support.docker("rm", "-f", "-v", h.container, check=False)
        farm_support.docker("network", "rm", name, check=False)
        farm_support._stop_registry(farm)


def local_side(root: pathlib.Path) -> tuple[tuple[float, int, int], tuple[float, int, int]]:
    """The same release on a copy of the local default limited to the farm's architectures."""
    with local_farm(root, {
        "buildfarm_families": ["busybox"],
        "buildfarm_work_dir": str(root / "work"),
        "buildfarm_artifacts_dir": str(root / "artifacts"),
        "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),
        "buildfarm_build_args": {"BUILDFARM_BENCH_RUN": uuid.uuid4().hex},
    }, BENCH_PORTS, "zz-bench.yml", without_builders=["builders_arm64v8"]) as (inv, _registry):
        out = []
        for _attempt in range(2):
            elapsed, rc, doc = release(inv)
            out.append((elapsed, rc, changed(doc)))
        return out[0], out[1]


def main() -> int:
    if os.geteuid() != 0 or shutil.which("docker-registry") is None:
        print("bench_farm needs root and docker-registry (scripts/bootstrap-system.sh)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-farm-") as tmp:
        root = pathlib.Path(tmp)
        (root / "farm").mkdir()
        (root / "local").mkdir()
        local_first, local_again = local_side(root / "local")
        provisioning, farm_first, farm_again = farm_side(root / "farm")
    print("release of busybox x amd64 (native), s390x (qemu); %d CPUs, load %.1f"
          % (os.cpu_count() or 0, os.getloadavg()[0]))
    print("  %-30s %10s %10s %10s" % ("", "local", "SSH farm", "overhead"))
    for label, local, farm in (("first release", local_first, farm_first),
                               ("unchanged release", local_again, farm_again)):
        print("  %-30s %9.1fs %9.1fs %+9.1fs  (rc %d/%d, changed %d/%d)"
              % (label, local[0], farm[0], farm[0] - local[0], local[1], farm[1], local[2], farm[2]))
    print("  %-30s %10s %9.1fs  (Docker installed on two bare hosts over SSH; not compared)"
          % ("farm provisioning from bare", "-", provisioning))
    ok = all(side[1] == 0 for side in (local_first, local_again, farm_first, farm_again))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
