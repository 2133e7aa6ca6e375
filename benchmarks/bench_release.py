"""Wall time of a first and of an unchanged release of the local default (targets: < 5 min and < 60 s).

Runs playbooks/release.yml with ansible-playbook on a copy of inventories/local (amd64 native, arm64v8 and s390x
under qemu) against a throw-away registry. A fresh build argument makes every input digest new, so the first
run really builds, tests and pushes everything (as on a fresh builder); the Debian package cache is kept (the
mirror is not what is measured). Images and tags it made are removed afterwards.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.buildfarm.images.tests.support.local_inventory import local_farm  # noqa: E402

BENCH_PORTS = (5400, 5499)


def release(inventory: pathlib.Path, extra: dict | None = None) -> tuple[float, int, dict]:
    """release.yml on ``inventory`` (``extra``: extra vars): wall time, rc and the ansible.posix.json document."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_ROLES_PATH=str(REPO / "roles"),
               PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    argv = ["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "release.yml")]
    if extra:
        argv += ["-e", json.dumps(extra)]
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=str(REPO), env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        doc = {}
    if proc.returncode != 0:
        # the whole run for a look afterwards: the tail of a JSON document rarely says which task failed
        kept = pathlib.Path(tempfile.gettempdir()) / "bench-failed-release.json"
        kept.write_text(proc.stdout)
        print("release failed (rc %d), its output kept in %s" % (proc.returncode, kept), file=sys.stderr)
        print(proc.stderr[-2000:], file=sys.stderr)
    return elapsed, proc.returncode, doc


def changed(doc: dict) -> int:
    """The play's changed count, summed over the hosts."""
    return sum(s.get("changed", 0) for s in (doc.get("stats") or {}).values())


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        root = pathlib.Path(tmp)
        with local_farm(root, {
            "buildfarm_work_dir": str(root / "work"),
            "buildfarm_artifacts_dir": str(root / "artifacts"),
            "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),
            "buildfarm_build_args": {"BUILDFARM_BENCH_RUN": uuid.uuid4().hex},
            "buildfarm_families": ["busybox"],  # the debian -> python chain is bench_chain.py's
        }, BENCH_PORTS, "zz-bench.yml") as (inv, _registry):
            first, rc1, _doc = release(inv)
            second, rc2, doc = release(inv)
    print("release of the local default (busybox x amd64, arm64v8, s390x; %d CPUs, load %.1f)"
          % (os.cpu_count() or 0, os.getloadavg()[0]))
    print("  first release:     %7.1f s  (rc=%d, target < 300 s)" % (first, rc1))
    print("  unchanged release: %7.1f s  (rc=%d, changed=%d, target < 60 s)" % (second, rc2, changed(doc)))
    return 0 if rc1 == rc2 == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
