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
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.buildfarm.images.tests.support.ports import free_port  # noqa: E402


def release(inventory: pathlib.Path) -> tuple[float, int, dict]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_ROLES_PATH=str(REPO / "roles"),
               PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    start = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "release.yml")],
                          cwd=str(REPO), env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    try:
        stats = json.loads(proc.stdout)["stats"]
    except (json.JSONDecodeError, KeyError):
        stats = {}
    if proc.returncode != 0:
        # the whole run for a look afterwards: the tail of a JSON document rarely says which task failed
        kept = pathlib.Path(tempfile.gettempdir()) / "bench-failed-release.json"
        kept.write_text(proc.stdout)
        print("release failed (rc %d), its output kept in %s" % (proc.returncode, kept), file=sys.stderr)
        print(proc.stderr[-2000:], file=sys.stderr)
    return elapsed, proc.returncode, stats


def main() -> int:
    port = free_port(5400, 5499)
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        root = pathlib.Path(tmp)
        inv = root / "inventory"
        shutil.copytree(REPO / "inventories" / "local", inv)
        hosts = yaml.safe_load((inv / "hosts.yml").read_text())
        hosts["all"]["children"].pop("registry", None)
        (inv / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
        (inv / "group_vars" / "all" / "zz-bench.yml").write_text(yaml.safe_dump({
            "buildfarm_registry": "127.0.0.1:%d" % port,
            "buildfarm_work_dir": str(root / "work"),
            "buildfarm_artifacts_dir": str(root / "artifacts"),
            "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),
            "buildfarm_build_args": {"BUILDFARM_BENCH_RUN": uuid.uuid4().hex},
            "buildfarm_families": ["busybox"],  # the debian -> python chain is bench_chain.py's
        }))
        subprocess.run([str(REPO / "scripts" / "registry.sh"), "start", str(root / "registry"), str(port)],
                       check=True, stdout=subprocess.DEVNULL)
        try:
            first, rc1, _stats = release(inv)
            second, rc2, stats = release(inv)
        finally:
            subprocess.run([str(REPO / "scripts" / "registry.sh"), "stop", str(root / "registry")], check=False)
            out = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                                 capture_output=True, text=True, check=False).stdout.split()
            mine = [t for t in out if t.startswith("127.0.0.1:%d/" % port)]
            if mine:
                subprocess.run(["docker", "rmi"] + mine, capture_output=True, check=False)
    changed = sum(s.get("changed", 0) for s in stats.values())
    print("release of the local default (busybox x amd64, arm64v8, s390x; %d CPUs, load %.1f)"
          % (os.cpu_count() or 0, os.getloadavg()[0]))
    print("  first release:     %7.1f s  (rc=%d, target < 300 s)" % (first, rc1))
    print("  unchanged release: %7.1f s  (rc=%d, changed=%d, target < 60 s)" % (second, rc2, changed))
    return 0 if rc1 == rc2 == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
