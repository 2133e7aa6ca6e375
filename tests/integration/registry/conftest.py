"""Fixtures of the registry/publish integration tests: throw-away registries (scripts/registry.sh, ports
5100-5199), tiny real busybox images per architecture, and running the modules as Ansible runs them."""
from __future__ import annotations

import glob
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import pytest

from ansible_collections.buildfarm.images.tests.support.ports import free_port
from ansible_collections.buildfarm.images.tests.support.registry import ThrowAwayRegistry, registry_fixture

REPO = pathlib.Path(__file__).resolve().parents[3]
CACHE = REPO / ".cache" / "registry-tests"
PREFIX = "h3test"  # local image names of this area

pytestmark = pytest.mark.integration


def _free_port() -> int:
    """A port of this area's range (5100-5199), or of BUILDFARM_REGISTRY_TEST_PORTS (`first-last`) when set, so
    that suites run side by side on one machine can each be given their own range."""
    first, _sep, last = os.environ.get("BUILDFARM_REGISTRY_TEST_PORTS", "5100-5199").partition("-")
    return free_port(int(first), int(last or first))


Registry = ThrowAwayRegistry
registry = registry_fixture(_free_port)


@pytest.fixture
def auth_registry(tmp_path):
    """A registry with htpasswd basic auth: user `farm`, password in `.password`."""
    password = "s3cret-%s" % os.urandom(6).hex()
    htpasswd = tmp_path / "htpasswd"
    out = subprocess.run(["htpasswd", "-Bbn", "farm", password], check=True, capture_output=True, text=True).stdout
    htpasswd.write_text(out)
    reg = Registry(tmp_path / "registry", _free_port(), str(htpasswd))
    reg.start()
    reg.password = password  # type: ignore[attr-defined]
    yield reg
    reg.stop()


# -- tiny real images: Debian's busybox-static per architecture ------------------------------------------------

def _debian_source() -> tuple[str, str]:
    """(URI, signed-by keyring) of the Debian main archive configured on this machine (never hard-coded)."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in pathlib.Path(path).read_text().split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
            suites = fields.get("Suites", "").split()
            if any(s in ("bookworm", "trixie") for s in suites) and fields.get("URIs", "").rstrip("/").endswith(
                    "/debian"):
                return fields["URIs"].split()[0] + " " + suites[0], fields.get("Signed-By", "")
    for line in pathlib.Path("/etc/apt/sources.list").read_text().splitlines() if os.path.exists(
            "/etc/apt/sources.list") else []:
        m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s+(\S+)\s+main", line)
        if m:
            return "%s %s" % (m.group(1), m.group(2)), ""
    pytest.skip("no Debian archive configured in /etc/apt")


def busybox_deb(debian_arch: str) -> pathlib.Path:
    """The busybox-static .deb of one dpkg architecture, downloaded once into .cache (a private apt state,
    so the machine's dpkg architectures are left alone)."""
    debs = CACHE / "debs"
    found = sorted(debs.glob("busybox-static_*_%s.deb" % debian_arch))
    if found:
        return found[-1]
    state = CACHE / "apt" / debian_arch
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "parts").mkdir(exist_ok=True)
    uri_suite, keyring = _debian_source()
    signed = " [signed-by=%s]" % keyring if keyring else ""
    (state / "sources.list").write_text("deb%s %s main\n" % (signed, uri_suite))
    opts = ["-o", "APT::Architecture=%s" % debian_arch, "-o", "APT::Architectures=%s" % debian_arch,
            "-o", "Dir::State::Lists=%s" % (state / "lists"), "-o", "Dir::Cache=%s" % state,
            "-o", "Dir::State::status=/dev/null", "-o", "Dir::Etc::sourcelist=%s" % (state / "sources.list"),
            "-o", "Dir::Etc::sourceparts=%s" % (state / "parts"), "-o", "APT::Sandbox::User=root", "-qq"]
    subprocess.run(["apt-get", *opts, "update"], check=True)
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", *opts, "download", "busybox-static:%s" % debian_arch], check=True, cwd=debs)
    return sorted(debs.glob("busybox-static_*_%s.deb" % debian_arch))[-1]


def _extract_busybox(deb: pathlib.Path, dest: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        # bookworm's package has bin/busybox; trixie's (merged /usr, Debian 13 hosts) usr/bin/busybox
        found = [p for p in (os.path.join(tmp, "bin", "busybox"), os.path.join(tmp, "usr", "bin", "busybox"))
                 if os.path.isfile(p)]
        assert found, "%s holds neither bin/busybox nor usr/bin/busybox" % deb
        shutil.copy2(found[0], dest / "busybox")


@dataclass
class BusyboxImages:
    version: str
    architectures: list[str]

    def push(self, registry: Registry, repository: str, tags_by_arch: dict[str, str]) -> None:
        """Tag the built images into `<registry>/<arch namespace>/<repository>:<tag>` and push them."""
        from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures

        for arch, tag in tags_by_arch.items():
            ref = "%s/%s/%s:%s" % (registry.address, architectures.get(arch).namespace, repository, tag)
            subprocess.run(["docker", "tag", "%s-busybox:%s" % (PREFIX, arch), ref], check=True)
            subprocess.run(["docker", "push", "-q", ref], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["docker", "rmi", ref], check=True, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def busybox_images() -> BusyboxImages:
    """`h3test-busybox:<arch>` for amd64, arm64v8 and s390x: FROM scratch + the static busybox, built with
    --platform (classic builder, nothing runs at build time)."""
    from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures

    engine = subprocess.run(["docker", "info"], capture_output=True, check=False) if shutil.which("docker") else None
    if engine is None or engine.returncode:
        pytest.skip("no Docker engine (scripts/dockerd.sh starts one)")
    names = ["amd64", "arm64v8", "s390x"]
    version = ""
    for name in names:
        arch = architectures.get(name)
        deb = busybox_deb(arch.debian_arch)
        version = deb.name.split("_")[1]
        with tempfile.TemporaryDirectory() as ctx:
            _extract_busybox(deb, pathlib.Path(ctx))
            pathlib.Path(ctx, "Dockerfile").write_text(
                'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\nCMD ["sh"]\n')
            subprocess.run(["docker", "build", "-q", "--platform", str(arch.platform), "-t",
                            "%s-busybox:%s" % (PREFIX, name), ctx], check=True, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, DOCKER_BUILDKIT="0"))
    return BusyboxImages(version, names)


# -- running the modules as Ansible does ---------------------------------------------------------------------

@pytest.fixture
def run_playbook(tmp_path):
    """Run a one-play playbook of tasks against localhost; returns (rc, stdout+stderr, registered results)."""
    def run(tasks: list[dict], *args: str, check: bool = False) -> tuple[int, str, dict]:
        out_file = tmp_path / "results.json"
        play = [{
            "name": "Registry integration test", "hosts": "localhost", "gather_facts": False,
            "tasks": tasks + [{
                "name": "Save the results",
                "ansible.builtin.copy": {
                    "content": "{{ {%s} | to_json }}" % ", ".join(
                        "'%s': (%s | default({}))" % (t["register"], t["register"]) for t in tasks if "register" in t),
                    "dest": str(out_file), "mode": "0600"},
                "check_mode": False,
            }],
        }]
        playbook = tmp_path / "play.yml"
        playbook.write_text(json.dumps(play))
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
        cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e",
               "ansible_python_interpreter=%s" % sys.executable, str(playbook), *args]
        if check:
            cmd.append("--check")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO), check=False)
        results = json.loads(out_file.read_text()) if out_file.exists() else {}
        return proc.returncode, proc.stdout + proc.stderr, results

    return run
