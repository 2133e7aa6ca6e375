"""The chain on a real farm: debian made from the Debian archive (mmdebstrap, qemu for arm64v8), python 3.13.5 built
from source FROM the debian:trixie-slim the same release just built, verified against the source mirror and key
server of scripts/source-mirror.sh, tested and published. The one session that builds CPython: every test of this
folder shares it.

The farm is the local default (its overrides, build arguments and builders) with its own registry and work folder;
the Debian root filesystems and the engine's images are the machine's cache, so a machine that already ran
`make release` rebuilds nothing here, and a fresh one builds the chain once (see the report for the wall time).
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time
from dataclasses import dataclass

import pytest
import requests

from ansible_collections.buildfarm.images.tests.support.local_inventory import LOCAL, local_farm
from ansible_collections.buildfarm.images.tests.support.oci_conformance import runnable_platforms

REPO = pathlib.Path(__file__).resolve().parents[3]
PY_VERSIONS = LOCAL.parent / "local-files" / "python-versions.json"
MIRROR = REPO / "scripts" / "source-mirror.sh"
CHAIN_PORTS = (5600, 5699)  # see tests/support/ports.py
LIST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
])


def _env() -> dict[str, str]:
    import sys
    return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_ROLES_PATH=str(REPO / "roles"),
                PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


@dataclass
class Run:
    rc: int
    result: dict
    report: dict
    seconds: float

    def changed(self) -> dict[str, int]:
        return {h: s["changed"] for h, s in self.result["stats"].items()}

    def messages(self) -> str:
        return json.dumps(self.result)

    def images(self, host: str) -> dict[str, dict]:
        """The final image_build result of a builder (task `Build the share`), by entry key."""
        for play in self.result["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"].endswith("Build the share") and host in task["hosts"]:
                    return {i["key"]: i for i in task["hosts"][host].get("images") or []}
        return {}

    def progress(self, host: str) -> list[str]:
        """What the play printed while the builder worked (task `Show what the builder is doing`)."""
        out = []
        for play in self.result["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"].endswith("Show what the builder is doing") and host in task["hosts"]:
                    msg = task["hosts"][host].get("msg")
                    if msg:
                        out.append(msg)
        return out


@dataclass
class Chain:
    root: pathlib.Path
    port: int
    first: Run | None = None

    @property
    def registry(self) -> str:
        return "127.0.0.1:%d" % self.port

    @property
    def inventory(self) -> pathlib.Path:
        return self.root / "inventory"

    def release(self, *args: str, extra: dict | None = None) -> Run:
        artifacts = self.root / "artifacts"
        report = artifacts / "release-report.json"
        if report.exists():
            report.unlink()
        cmd = ["ansible-playbook", "-i", str(self.inventory), str(REPO / "playbooks" / "release.yml")]
        if extra:
            cmd += ["-e", json.dumps(extra)]
        started = time.monotonic()
        proc = subprocess.run(cmd + list(args), cwd=str(REPO), env=_env(), capture_output=True, text=True,
                              timeout=7200, check=False)
        took = time.monotonic() - started
        try:
            result = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError("ansible-playbook printed no JSON (rc=%d): %s\n%s"
                                 % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from None
        return Run(proc.returncode, result, json.loads(report.read_text()) if report.exists() else {}, took)

    def platforms(self, repo: str, tag: str) -> set[str]:
        r = requests.get("http://%s/v2/%s/manifests/%s" % (self.registry, repo, tag),
                         headers={"Accept": LIST_TYPES}, timeout=10)
        r.raise_for_status()
        return runnable_platforms(r.json())

    @staticmethod
    def mirror_address() -> str:
        return subprocess.run([str(MIRROR), "address"], capture_output=True, text=True, check=True).stdout.strip()

    @staticmethod
    def start_mirror(folder: pathlib.Path, port: int, fill: bool = True) -> None:
        _start_mirror(folder, port, fill)

    @staticmethod
    def stop_mirror(folder: pathlib.Path) -> None:
        _stop_mirror(folder)

    def has_tag(self, repo: str, tag: str) -> bool:
        r = requests.head("http://%s/v2/%s/manifests/%s" % (self.registry, repo, tag),
                          headers={"Accept": LIST_TYPES + ", application/vnd.docker.distribution.manifest.v2+json"},
                          timeout=10)
        return r.status_code == 200


def _start_mirror(folder: pathlib.Path, port: int, fill: bool = True) -> None:
    """Serve ``folder``; ``fill`` first fills it from Debian's source packages (which would undo a test's
    tampering: a fault test serves its folder as it is)."""
    subprocess.run([str(MIRROR), "start", str(folder), str(port)] + ([str(PY_VERSIONS)] if fill else []),
                   check=True, capture_output=True, text=True)


def _stop_mirror(folder: pathlib.Path) -> None:
    subprocess.run([str(MIRROR), "stop", str(folder)], check=False, capture_output=True)


@pytest.fixture(scope="session")
def chain(tmp_path_factory):
    """The local default releasing debian and python (no busybox: other suites cover it) to its own registry, with
    the source mirror of `make release`. In `make test` python is built with PYTHON_OPTIMIZE=0 (no PGO, no LTO:
    minutes instead of half an hour; the recipe, verification and tests are the same); `make test-chain`
    (BUILDFARM_TEST_CHAIN=full) builds it as production does, with the build arguments of `make release`, whose
    image it then reuses. Its first release runs once, in the first test that asks for it."""
    root = tmp_path_factory.mktemp("chain")
    _start_mirror(REPO / ".cache" / "source-mirror", 8791)
    # the images stay under their other tags and input digests afterwards: the builders' cache
    with local_farm(root, {
        "buildfarm_work_dir": str(root / "work"),
        "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),
        "buildfarm_artifacts_dir": str(root / "artifacts"),
        "buildfarm_families": ["debian", "python"],
    } | ({} if os.environ.get("BUILDFARM_TEST_CHAIN") == "full" else {
        # added to every family's build arguments; only python's template declares it
        "buildfarm_build_args": {"PYTHON_OPTIMIZE": "0"},
    }), CHAIN_PORTS) as (_inventory, registry):
        yield Chain(root, registry.port)


@pytest.fixture(scope="session")
def first_release(chain) -> Run:
    if chain.first is None:
        chain.first = chain.release()
    return chain.first
