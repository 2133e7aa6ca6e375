"""A farm of separate builder hosts for the integration tests: containers with sshd and their own dockerd, reached
over SSH on loopback ports, on the test's own docker network, provisioned from bare by the roles. The hosts run
Debian 12 (bookworm: Docker 20.10) or Debian 13 (trixie: Docker 26, docker-cli and docker-buildx apart), each from
its release's host image (tests/support/farm_host.py).

This engine refuses `--privileged` (its bounding set lacks CAP_SYS_RESOURCE), so a host gets every capability but
that one, with seccomp, AppArmor and the masked /proc paths unconfined (dockerd inside, and binfmt_misc mounted by
role builder) and a private cgroup namespace. /var/lib/docker is a volume: overlay2 cannot stack on the
container's own overlay. Host keys are checked (ansible.cfg): the test writes its own known_hosts.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest
import yaml

from ansible_collections.buildfarm.images.tests.support import farm_host
from ansible_collections.buildfarm.images.tests.support.farm_host import HOST_OPTIONS
from ansible_collections.buildfarm.images.tests.support.playbook import REPO, run_ansible

# apt's downloads, per Debian release (a farm has one host of each, so two hosts never wait for each other's lock);
# kept between runs, shared with role builder's molecule scenario `ssh` (which never runs beside these tests).
DEB_CACHE = REPO / ".cache" / "farm" / "debs"


def docker(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args), proc.stderr.strip()))
    return proc


def host_image(suite: str = farm_host.DEFAULT_SUITE) -> str:
    """The sshd image of Debian ``suite`` (tests/support/farm_host.py, shared with role builder's molecule scenario
    `ssh`)."""
    try:
        return farm_host.host_image(suite)
    except farm_host.NoBaseImage as exc:
        pytest.skip(str(exc))


def _free_port(address: str, first: int = 5500, last: int = 5599) -> int:
    """A port free on the bridge address (the farm's registry) and on loopback: farm tests use 5500-5599."""
    for port in range(first, last + 1):
        try:
            for host in (address, "127.0.0.1"):
                with socket.socket() as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port in %d-%d" % (first, last))


@dataclass
class Host:
    name: str  # inventory name, also the container's hostname
    container: str
    arch: str
    emulated: bool
    user: str  # root, or an unprivileged user with sudo (become)
    suite: str = farm_host.DEFAULT_SUITE  # its Debian release (bookworm, trixie)
    port: int = 0

    def sh(self, script: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
        """Run a shell script on the host as root (docker exec: the test's view, not Ansible's)."""
        return docker("exec", self.container, "sh", "-c", script, check=check, timeout=timeout)


@dataclass
class Release:
    rc: int
    result: dict  # the ansible.posix.json callback's document
    stderr: str
    report: dict  # this run's artifacts/release-report.json, {} when it wrote none

    def changed(self) -> dict[str, int]:
        return {h: s["changed"] for h, s in self.result["stats"].items()}

    def messages(self) -> str:
        return json.dumps(self.result)

    def cells(self, tag: str = "latest") -> dict[str, dict]:
        return next(r for r in self.report["rows"] if r["tag"] == tag)["architectures"]


@dataclass
class Farm:
    root: pathlib.Path
    network: str
    gateway: str  # the host machine on the farm's network: where the registry listens
    key: pathlib.Path
    known_hosts: pathlib.Path
    hosts: list[Host] = field(default_factory=list)
    registry_port: int = 0
    releases: int = 0

    @property
    def registry(self) -> str:
        return "%s:%d" % (self.gateway, self.registry_port)

    @property
    def work_dir(self) -> pathlib.Path:
        return self.root / "work"

    def host(self, name: str) -> Host:
        return next(h for h in self.hosts if h.name == name)

    def add_host(self, name: str, arch: str, emulated: bool = False, user: str = "root",
                 suite: str = farm_host.DEFAULT_SUITE) -> Host:
        container = "%s-%s" % (self.network, name)
        cache = DEB_CACHE / suite
        (cache / "partial").mkdir(parents=True, exist_ok=True)
        image = host_image(suite)
        docker("run", "-d", "--name", container, "--hostname", name, "--network", self.network,
               "-p", "127.0.0.1::22", "-v", "%s:/var/cache/apt/archives" % cache, *HOST_OPTIONS, image)
        host = Host(name, container, arch, emulated, user, suite)
        pub = (self.key.parent / (self.key.name + ".pub")).read_text().strip()
        home = "/root" if user == "root" else "/home/" + user
        setup = ("set -e\n"
                 + ("" if user == "root" else
                    "useradd -m -s /bin/bash %(u)s\n"
                    "echo '%(u)s ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/%(u)s && chmod 0440 /etc/sudoers.d/%(u)s\n")
                 + "mkdir -p %(h)s/.ssh && echo '%(k)s' >%(h)s/.ssh/authorized_keys\n"
                   "chmod 700 %(h)s/.ssh && chmod 600 %(h)s/.ssh/authorized_keys && chown -R %(u)s: %(h)s/.ssh\n"
                 ) % {"u": user, "h": home, "k": pub}
        host.sh(setup)
        host.port = int(docker("port", container, "22/tcp").stdout.split(":")[-1])
        for _attempt in range(100):  # the entry point makes the host keys, then sshd listens
            keys = host.sh("cat /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null", check=False).stdout.split()
            if keys and host.sh("ss -ltn | grep -q ':22 '", check=False).returncode == 0:
                break
            time.sleep(0.1)
        with self.known_hosts.open("a") as f:
            f.write("[127.0.0.1]:%d %s %s\n" % (host.port, keys[0], keys[1]))
        self.hosts.append(host)
        return host

    def stop_host(self, name: str) -> None:
        docker("stop", "-t", "1", self.host(name).container)

    def start_host(self, name: str) -> None:
        """A stopped host back; sshd answers again (the engine is the role's to start)."""
        host = self.host(name)
        docker("start", host.container)
        host.port = int(docker("port", host.container, "22/tcp").stdout.split(":")[-1])
        keys = host.sh("cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()
        with self.known_hosts.open("a") as f:
            f.write("[127.0.0.1]:%d %s %s\n" % (host.port, keys[0], keys[1]))
        for _attempt in range(100):
            if host.sh("ss -ltn | grep -q ':22 '", check=False).returncode == 0:
                return
            time.sleep(0.1)

    def inventory(self, **extra_vars) -> pathlib.Path:
        """The farm as an ops team would write it: builders per architecture over SSH, the registry on the
        control machine (local), TLS with the registry role's own CA."""
        builders: dict = {}
        for h in self.hosts:
            hv = {"ansible_host": "127.0.0.1", "ansible_port": h.port, "ansible_user": h.user,
                  "buildfarm_arch": h.arch}
            if h.emulated:
                hv["buildfarm_emulated"] = True
            if h.user != "root":
                hv["ansible_become"] = True
            builders.setdefault("builders_" + h.arch.replace("-", "_"), {"hosts": {}})["hosts"][h.name] = hv
        inv = {"all": {
            "vars": dict({
                "buildfarm_registry": self.registry,
                "buildfarm_registry_tls": True,
                "buildfarm_work_dir": str(self.work_dir),
                "buildfarm_artifacts_dir": str(self.root / "artifacts"),
            }, **extra_vars),
            "children": {
                "builders": {
                    "vars": {
                        "ansible_connection": "ssh",
                        "ansible_python_interpreter": "/usr/bin/python3",
                        "ansible_ssh_private_key_file": str(self.key),
                        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s" % self.known_hosts,
                    },
                    "children": builders,
                },
                "registry": {"hosts": {"localhost": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                    "buildfarm_registry_install": False,
                    "buildfarm_registry_host": self.gateway,
                    "buildfarm_registry_port": self.registry_port,
                    "buildfarm_registry_root": str(self.root / "registry" / "data"),
                    "buildfarm_registry_config_dir": str(self.root / "registry" / "etc"),
                    # in the farm's folder: another checkout's farm may have a registry on the same port number
                    "buildfarm_registry_pidfile": str(self.registry_pidfile),
                    "buildfarm_registry_log": str(self.registry_log),
                    # the machine's own engine is not the farm's: its trust store stays as it is
                    "buildfarm_registry_docker_certs_dir": str(self.root / "registry" / "certs.d"),
                }}},
            },
        }}
        path = self.root / "hosts.yml"
        path.write_text(yaml.safe_dump(inv, sort_keys=False))
        return path

    @property
    def registry_pidfile(self) -> pathlib.Path:
        return self.root / "registry" / "supervisor.pid"

    @property
    def registry_log(self) -> pathlib.Path:
        return self.root / "registry" / "registry.log"

    @property
    def artifacts(self) -> pathlib.Path:
        return self.root / "artifacts"

    def release(self, *args: str, timeout: int = 900, **extra_vars) -> Release:
        """playbooks/release.yml over the farm, run from the farm's folder (as a project of its own would) on the
        checkout's families; ``extra_vars`` go into the inventory. The report is read back only when this run
        wrote one (a stale one is removed first)."""
        report = self.artifacts / "release-report.json"
        report.unlink(missing_ok=True)
        inventory = self.inventory(buildfarm_families_dir=str(REPO / "families"), **extra_vars)
        env = dict(os.environ,
                   PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
                   ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                   ANSIBLE_ROLES_PATH=str(REPO / "roles"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_NOCOLOR="1", PWD=str(self.root))
        # a release under qemu takes longer than run_ansible's 300 s
        proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "release.yml"),
                               *args], cwd=str(self.root), env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        # every run's output stays in the farm's folder (pytest keeps the last sessions' folders) for a post-mortem
        self.releases += 1
        (self.root / ("release-%d.json" % self.releases)).write_text(proc.stdout)
        try:
            result = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError("no JSON from ansible-playbook (rc=%d): %s\n%s"
                                 % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from None
        return Release(proc.returncode, result, proc.stderr,
                       json.loads(report.read_text()) if report.exists() else {})

    def provision(self, *args: str, inventory: pathlib.Path | None = None) -> tuple[int, dict, str]:
        """The registry role on the registry, the builder role on the builders, as release.yml's provision stage."""
        play = [
            {"name": "Provision the registry", "hosts": "registry", "gather_facts": False,
             "roles": [{"role": "buildfarm.images.registry"}]},
            {"name": "Provision the Linux builders", "hosts": "builders", "gather_facts": False,
             "roles": [{"role": "buildfarm.images.builder"}]},
        ]
        # provisioning two bare hosts (engine, CLI, buildx, syft) beside the other test streams takes minutes
        proc = run_ansible(["ansible-playbook", "-i", str(inventory or self.inventory()), *args], play=play,
                           cwd=self.root, json_callback=True, timeout=900)
        try:
            result = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError("no JSON from ansible-playbook (rc=%d): %s\n%s"
                                 % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from None
        return proc.returncode, result, proc.stderr


def _stop_registry(farm: Farm) -> None:
    """Stops the farm's registry supervisor (its registry with it): only a process running this farm's
    supervise.sh, never what a stale pid file names."""
    pid = farm.registry_pidfile
    try:
        number = pid.read_text().strip()
        cmdline = pathlib.Path("/proc/%s/cmdline" % number).read_bytes()
    except OSError:
        cmdline = b""
    if str(farm.root / "registry" / "etc" / "supervise.sh").encode() in cmdline:
        subprocess.run(["kill", number], check=False)
    pid.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def farm(tmp_path_factory):
    """One farm for the whole session: the test modules share its hosts, so they are provisioned from bare once."""
    if shutil.which("docker") is None or docker("info", check=False).returncode != 0:
        pytest.skip("no dockerd")
    if shutil.which("docker-registry") is None:
        pytest.skip("no docker-registry (scripts/bootstrap-system.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("the farm's registry and its hosts' mounts need root")
    images = {suite: host_image(suite) for suite in farm_host.SUITES}
    why = farm_host.options_refused(images[farm_host.DEFAULT_SUITE])
    if why:
        pytest.skip("this engine cannot run the farm's host containers (%s): %s" % (" ".join(HOST_OPTIONS), why))
    root = tmp_path_factory.mktemp("farm")
    name = "bf-farm-%s" % os.urandom(3).hex()
    docker("network", "create", name)
    gateway = json.loads(docker("network", "inspect", name).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    key = root / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    farm = Farm(root, name, gateway, key, root / "known_hosts")
    farm.known_hosts.touch()
    farm.registry_port = _free_port(gateway)
    try:
        yield farm
    finally:
        for h in farm.hosts:
            docker("rm", "-f", "-v", h.container, check=False)
        docker("network", "rm", name, check=False)
        _stop_registry(farm)


@pytest.fixture(scope="session")
def farm_hosts(farm):
    """The farm's two bare hosts, one of each Debian release: amd64 on Debian 12 as root, s390x under qemu on
    Debian 13 as a user with sudo (become). Role builder's molecule scenario `ssh` pairs them the other way round."""
    farm.add_host("farm-amd64", "amd64", suite="bookworm")
    farm.add_host("farm-s390x", "s390x", emulated=True, user="farmer", suite="trixie")
    return farm
