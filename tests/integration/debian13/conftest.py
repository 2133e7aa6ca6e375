"""A fresh Debian 13 machine for the checkout (issue 26): a container of scripts/base-image.sh's trixie image with
what a new user's machine has - python3, git, make, this machine's CA certificates and pip configuration (files and
PIP_* environment) - and a copy of the checkout, on which the README's set-up scripts and a short release run as
they would on a real machine.

The machine runs its own engine (Docker 26, installed by scripts/bootstrap-system.sh, started by scripts/dockerd.sh),
so it is the SSH farm's host container without sshd (tests/support/farm_host.py): every capability but
CAP_SYS_RESOURCE (this engine refuses `--privileged`), seccomp, AppArmor and the masked /proc paths unconfined, a
private cgroup namespace with the hierarchies made writable, /var/lib/docker a volume (overlay2, and the containerd
image store's snapshots under /var/lib/docker/containerd, cannot stack on the container's own overlay).

The copy is the checkout folder as it is (uncommitted and new files included, as CI's fresh clone would be copied),
without what the set-up makes (.venv, .collections, .cache, artifacts). apt's downloads and pip's cache are kept in
.cache/debian13/ between runs (they change how long the set-up takes, not what it does).
"""
from __future__ import annotations

import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass, field

import pytest

from ansible_collections.buildfarm.images.tests.support.farm_host import (CGROUPS_WRITABLE, HOST_OPTIONS, TRUST_STEPS,
                                                                          build_image, options_refused)
from ansible_collections.buildfarm.images.tests.support.playbook import REPO

BASE_IMAGE = "buildfarm/debian:trixie"
MACHINE_IMAGE = "buildfarm/debian-machine:trixie"
CHECKOUT = "/root/buildfarm"
CACHE = REPO / ".cache" / "debian13"
# What the set-up makes in a checkout: a fresh clone has none of it.
NOT_COPIED = {".venv", ".collections", ".cache", "artifacts", "tests/output", ".pytest_cache", ".mypy_cache",
              ".ruff_cache"}
# A new user's Debian 13 machine: python3 (in the base image), git and make, this machine's CA certificates and pip
# configuration files (farm_host.py's TRUST_STEPS); apt keeps its downloads (the cache folder mounted from the
# checkout); the cgroup hierarchies writable, as on a real machine (farm_host.py).
MACHINE_DOCKERFILE = "FROM " + BASE_IMAGE + "\n" + TRUST_STEPS + """RUN apt-get -qq update \\
 && DEBIAN_FRONTEND=noninteractive apt-get -qq -y --no-install-recommends install git make >/dev/null \\
 && rm -rf /var/lib/apt/lists/* && touch -d @0 /var/lib/apt/lists \\
 && rm -f /etc/apt/apt.conf.d/docker-clean
CMD """ + json.dumps(["sh", "-c", CGROUPS_WRITABLE + "exec sleep infinity"]) + "\n"
# The machine's pip and proxy environment (how PyPI is reached here, with the files above), handed to the new one.
PASSED_ENV = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def docker(*args: str, check: bool = True, timeout: int = 600, stdin: bytes | None = None
           ) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], input=stdin, capture_output=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args[:3]), proc.stderr.decode(errors="replace")[-2000:]))
    return proc


def machine_image() -> str:
    """The machine image, rebuilt when its recipe or the base image changed (scripts/base-image.sh trixie first)."""
    proc = subprocess.run([str(REPO / "scripts" / "base-image.sh"), "trixie"], capture_output=True, text=True,
                          timeout=1200, check=False)
    if proc.returncode != 0:
        raise AssertionError("scripts/base-image.sh trixie: %s" % (proc.stdout + proc.stderr)[-2000:])
    return build_image(MACHINE_IMAGE, MACHINE_DOCKERFILE, BASE_IMAGE)


def checkout_tar() -> bytes:
    """The checkout folder as a tar (what a copy of a fresh clone with its uncommitted changes holds)."""
    buf = io.BytesIO()

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        rel = info.name.split("/", 1)[1] if "/" in info.name else ""
        if rel in NOT_COPIED or "__pycache__" in rel.split("/"):
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(REPO), arcname="buildfarm", filter=keep)
    return buf.getvalue()


@dataclass
class Machine:
    container: str
    log: pathlib.Path  # every command and its output, kept in the test's folder for a post-mortem
    timings: dict[str, float] = field(default_factory=dict)

    def sh(self, script: str, timeout: int = 600, check: bool = True, step: str = "") -> subprocess.CompletedProcess:
        """``script`` by bash as root in the checkout's copy; ``step`` names it in the timings."""
        start = time.monotonic()
        try:
            proc = subprocess.run(["docker", "exec", "-w", CHECKOUT, self.container, "bash", "-c", script],
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            with self.log.open("a") as f:
                f.write("$ %s\nTIMEOUT after %d s\n%s\n" % (script, timeout, exc.stdout or ""))
            raise AssertionError("%s: no end after %d s (log: %s)" % (step or script, timeout, self.log)) from None
        elapsed = time.monotonic() - start
        if step:
            self.timings[step] = elapsed
        with self.log.open("a") as f:
            f.write("$ %s\n[rc=%d, %.1f s]\n%s\n%s\n" % (script, proc.returncode, elapsed, proc.stdout, proc.stderr))
        if check and proc.returncode != 0:
            raise AssertionError("%s failed (rc=%d; log: %s):\n%s\n%s"
                                 % (step or script, proc.returncode, self.log, proc.stdout[-3000:],
                                    proc.stderr[-3000:]))
        return proc

    def read(self, path: str) -> str:
        return self.sh("cat %s" % path).stdout

    def put(self, path: str, content: str) -> None:
        docker("exec", "-i", self.container, "sh", "-c", 'mkdir -p "$(dirname "$1")" && cat >"$1"', "sh", path,
               stdin=content.encode())


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    """The fresh Debian 13 machine with the checkout copied in (nothing run yet); removed with its engine's volume."""
    if shutil.which("docker") is None or docker("info", check=False).returncode != 0:
        pytest.skip("no dockerd")
    if os.geteuid() != 0:
        pytest.skip("the Debian 13 machine's base image and caches need root")
    image = machine_image()
    why = options_refused(image)
    if why:
        pytest.skip("this engine cannot run a machine container with its own engine (%s): %s"
                    % (" ".join(HOST_OPTIONS), why))
    root = tmp_path_factory.mktemp("debian13")
    for d in ("apt/partial", "pip"):
        (CACHE / d).mkdir(parents=True, exist_ok=True)
    name = "bf-debian13-%s" % os.urandom(3).hex()
    args = ["run", "-d", "--name", name, "--hostname", "debian13", *HOST_OPTIONS,
            "-v", "%s:/var/cache/apt/archives" % (CACHE / "apt"), "-v", "%s:/root/.cache/pip" % (CACHE / "pip")]
    for k, v in os.environ.items():
        if k.startswith("PIP_") or k in PASSED_ENV:
            args += ["-e", "%s=%s" % (k, v)]
    docker(*args, image)
    machine = Machine(name, root / "machine.log")
    try:
        docker("exec", "-i", name, "tar", "-C", "/root", "-xf", "-", stdin=checkout_tar())
        yield machine
    finally:
        timings = ", ".join("%s %.0f s" % kv for kv in machine.timings.items())
        print("debian13 machine timings: %s (log: %s)" % (timings, machine.log))
        docker("rm", "-f", "-v", name, check=False)
