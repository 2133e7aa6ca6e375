"""Fixtures of the release integration tests: the real release.yml run by ansible-playbook on copies of the
local inventory, each with its own throw-away registry (scripts/registry.sh, ports 5300-5399), on this machine's
dockerd with qemu binfmt for the emulated builders."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest
import requests
import yaml
from ansible_collections.buildfarm.images.tests.support.local_inventory import local_farm
from ansible_collections.buildfarm.images.tests.support.oci_conformance import runnable_platforms
from ansible_collections.buildfarm.images.tests.support.ports import free_port
from ansible_collections.buildfarm.images.tests.support.registry import ThrowAwayRegistry, registry_fixture

REPO = pathlib.Path(__file__).resolve().parents[3]
LIST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
])


RELEASE_PORTS = (5300, 5399)  # see tests/support/ports.py


def _free_port() -> int:
    return free_port(*RELEASE_PORTS)


@dataclass
class Run:
    rc: int
    result: dict  # the ansible.posix.json callback's document
    stderr: str
    report: dict  # artifacts/release-report.json

    def changed(self) -> dict[str, int]:
        return {h: s["changed"] for h, s in self.result["stats"].items()}

    def failed_hosts(self) -> set[str]:
        return {h for h, s in self.result["stats"].items() if s.get("failures") or s.get("unreachable")}

    def messages(self) -> str:
        return json.dumps(self.result)

    def cells(self, tag: str = "latest") -> dict[str, dict]:
        return next(r for r in self.report["rows"] if r["tag"] == tag)["architectures"]


def _ansible_env() -> dict[str, str]:
    return dict(os.environ,
                ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                ANSIBLE_ROLES_PATH=str(REPO / "roles"),
                PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def run_release(inventory: pathlib.Path, artifacts: pathlib.Path, *args: str) -> Run:
    env = _ansible_env()
    report = artifacts / "release-report.json"
    if report.exists():
        report.unlink()
    cmd = ["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "release.yml"),
           "-e", json.dumps({"buildfarm_artifacts_dir": str(artifacts)})] + list(args)
    proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=1200, check=False)
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError("ansible-playbook printed no JSON (rc=%d): %s\n%s"
                             % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from None
    return Run(proc.returncode, result, proc.stderr, json.loads(report.read_text()) if report.exists() else {})


Registry = ThrowAwayRegistry
registry = registry_fixture(_free_port, untag=True)


@dataclass
class LocalDefault:
    """What `make release` runs - inventories/local, the registry role's embedded registry on 127.0.0.1:5000 -
    with this test's own registry storage, registry configuration and work folders."""

    root: pathlib.Path

    @property
    def registry_storage(self) -> pathlib.Path:
        return self.root / "registry" / "docker"

    @property
    def artifacts(self) -> pathlib.Path:
        return self.root / "artifacts"

    def extra_vars(self) -> str:
        return json.dumps({
            "buildfarm_registry_root": str(self.root / "registry"),
            "buildfarm_registry_config_dir": str(self.root / "registry-config"),
            "buildfarm_work_dir": str(self.root / "work"),
            "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),  # the Debian package cache
            # the release mechanics on busybox; the debian -> python chain is tests/integration/chain's
            "buildfarm_families": ["busybox"],
        })

    def release(self, *args: str) -> Run:
        return run_release(REPO / "inventories" / "local", self.artifacts, "-e", self.extra_vars(), *args)

    def wipe_registry(self) -> None:
        """Lose every blob and tag, the registry running on."""
        shutil.rmtree(self.registry_storage)

    def stop_registry(self) -> None:
        subprocess.run(["ansible-playbook", "-i", str(REPO / "inventories" / "local"),
                        str(REPO / "playbooks" / "release.yml"), "--tags", "provision", "--limit", "registry",
                        "-e", self.extra_vars(), "-e", "buildfarm_registry_state=stopped"],
                       cwd=str(REPO), env=_ansible_env(), capture_output=True, check=False)


@pytest.fixture
def local_default(tmp_path):
    """The local default on its own registry storage: the role restarts the registry on 127.0.0.1:5000 with this
    test's folders (the port is the local default's); the test stops it at the end, and the next `make release`
    starts the checkout's own again."""
    farm = LocalDefault(tmp_path)
    yield farm
    farm.stop_registry()


@dataclass
class Farm:
    """A copy of inventories/local pointing at its own registry; builders can be added or broken."""

    root: pathlib.Path
    port: int

    @property
    def registry(self) -> str:
        return "127.0.0.1:%d" % self.port

    @property
    def inventory(self) -> pathlib.Path:
        return self.root / "inventory"

    @property
    def artifacts(self) -> pathlib.Path:
        return self.root / "artifacts"

    def hosts(self) -> dict:
        return yaml.safe_load((self.inventory / "hosts.yml").read_text())

    def write_hosts(self, data: dict) -> None:
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump(data, sort_keys=False))

    def set_builder(self, arch: str, **hostvars) -> None:
        """Add (or change) the builder of `arch`, group builders_<arch>, host builder-<arch>."""
        data = self.hosts()
        groups = data["all"]["children"]["builders"]["children"]
        host = groups.setdefault("builders_" + arch, {"hosts": {}})["hosts"].setdefault("builder-" + arch, {}) or {}
        host.update({"buildfarm_arch": arch}, **hostvars)
        groups["builders_" + arch]["hosts"]["builder-" + arch] = host
        self.write_hosts(data)

    def release(self, *args: str) -> Run:
        return run_release(self.inventory, self.artifacts, *args)

    def manifest(self, repo: str, tag: str) -> requests.Response:
        return requests.get("http://%s/v2/%s/manifests/%s" % (self.registry, repo, tag),
                            headers={"Accept": LIST_TYPES}, timeout=10)

    def platforms(self, repo: str = "library/busybox", tag: str = "latest") -> set[str]:
        r = self.manifest(repo, tag)
        r.raise_for_status()
        return runnable_platforms(r.json())


@pytest.fixture
def farm(tmp_path):
    """inventories/local with its own registry and work folder (the Debian package cache is shared)."""
    root = tmp_path
    with local_farm(root, {
        "buildfarm_work_dir": str(root / "work"),
        "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),
        # the playbook's own folders live next to the copied inventory, not the checkout
        "buildfarm_artifacts_dir": str(root / "artifacts"),
    }, RELEASE_PORTS) as (inventory, registry):
        # busybox only: the debian -> python chain is tests/integration/chain's (one CPython build per session); a
        # test's own zz-families.yml, loaded after this file, still chooses its families
        (inventory / "group_vars" / "all" / "zy-busybox.yml").write_text(
            yaml.safe_dump({"buildfarm_families": ["busybox"]}))
        yield Farm(root, registry.port)
