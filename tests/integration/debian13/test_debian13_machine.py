"""The checkout on a fresh Debian 13 machine (issue 26), so that a change that breaks Debian 13 fails CI on Debian 12
too: the README's set-up scripts (scripts/bootstrap-system.sh, scripts/bootstrap-python.sh, scripts/dockerd.sh)
install and start what Debian 13 names (docker.io 26 with docker-cli and docker-buildx apart); the sanity script
runs ansible-test on Debian 13's Python; then `make release` on a short copy of the local default (busybox for
amd64 and for s390x under qemu, debian trixie-slim for amd64, to the machine's own registry on its 127.0.0.1:5000)
builds, tests and publishes on Docker 26; the images run, and a second release changes nothing. Then the machine's
engine is switched to the containerd image store (daemon.json `features: {"containerd-snapshotter": true}`,
Docker's default from 29 on) and a new release (a new build argument: every image, the emulated one too, is built
and pushed again) and an unchanged one run on it.

The tests run in order and build on each other (one machine for the module: conftest's `machine`). About 10-15
minutes on two cores with warm caches (.cache/debian13), most of it the set-up's downloads and the first release.
"""
from __future__ import annotations

import json
import shlex
import uuid

import pytest
import yaml

from ansible_collections.buildfarm.images.tests.integration.debian13.conftest import Machine

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INVENTORY = "/root/debian13-inventory"
REGISTRY = "127.0.0.1:5000"  # the machine's own (its network namespace), as the local default's
# The local default, short: busybox natively and for s390x under qemu (a static binary: cheap to emulate, and the
# one emulated architecture built on each image store) and debian's trixie-slim natively, no python (the chain's
# tests build CPython).
SETTINGS = {
    "buildfarm_families": ["busybox", "debian"],
    "buildfarm_family_overrides": {
        "busybox": {"architectures": ["amd64", "s390x"]},
        "debian": {"architectures": ["amd64"], "variants": ["trixie/slim"]},
    },
}
# A build argument of this module's own: the machine is new, but its caches (and so its image ids) are not.
RUN = {"buildfarm_build_args": {"BUILDFARM_DEBIAN13_RUN": uuid.uuid4().hex}}
NEXT = {"buildfarm_build_args": {"BUILDFARM_DEBIAN13_RUN": uuid.uuid4().hex}}


def release(machine: Machine, step: str, extra: dict) -> tuple[int, dict, dict]:
    """`make release` on the short inventory, as a user runs it (the Makefile's set-up first): rc, the
    ansible.posix.json document and this run's artifacts/release-report.json."""
    machine.put("/root/extra.json", json.dumps(extra))
    machine.sh("rm -f artifacts/release-report.json")
    proc = machine.sh("ANSIBLE_STDOUT_CALLBACK=ansible.posix.json ANSIBLE_NOCOLOR=1 make --no-print-directory "
                      "release INVENTORY=%s ARGS='-e @/root/extra.json'" % INVENTORY,
                      timeout=1500, check=False, step=step)
    # make echoes the command first; the playbook's JSON document follows
    start = 0 if proc.stdout.startswith("{") else proc.stdout.find("\n{") + 1
    try:
        doc = json.loads(proc.stdout[start:]) if proc.stdout[start:start + 1] == "{" else {}
    except json.JSONDecodeError:
        doc = {}
    if not doc:
        raise AssertionError("%s: no JSON from the release (rc=%d):\n%s\n%s"
                             % (step, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    report = machine.sh("cat artifacts/release-report.json", check=False).stdout
    return proc.returncode, doc, json.loads(report) if report else {}


def _failures(doc: dict) -> str:
    """Each failed task of the release with its host and message, one a line (in full: pytest shortens reprs)."""
    out = []
    for play in doc.get("plays", []):
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if (res.get("failed") or res.get("unreachable")) and not res.get("ignore_errors"):
                    out.append("%s | %s: %s" % (host, task["task"]["name"], res.get("msg", "")))
    return "\n".join(out)


def _changed(doc: dict) -> dict[str, int]:
    return {h: s["changed"] for h, s in doc["stats"].items()}


def _pushes(report: dict) -> set[str]:
    return {c["push"] for r in report["rows"] for c in r["architectures"].values()}


def _runs(machine: Machine) -> None:
    """The README's checks, on the machine's engine, of what the release published."""
    out = machine.sh("docker run --rm %s/library/busybox:latest uname -m" % REGISTRY).stdout.split()
    assert out == ["x86_64"], out
    # the emulated member, pulled by its platform from the list and run under qemu
    out = machine.sh("docker run --rm --pull always --platform linux/s390x %s/library/busybox:latest uname -m"
                     % REGISTRY).stdout.split()
    assert out == ["s390x"], out
    out = machine.sh("docker run --rm %s/library/debian:trixie-slim sh -c "
                     "'. /etc/os-release && echo $VERSION_CODENAME $(dpkg --print-architecture)'"
                     % REGISTRY).stdout.split()
    assert out == ["trixie", "amd64"], out


@pytest.fixture(scope="module")
def set_up(machine):
    """The README's set-up on the fresh machine, script by script (what `make release` runs first)."""
    machine.sh("scripts/bootstrap-system.sh", timeout=1200, step="bootstrap-system")
    machine.sh("scripts/bootstrap-python.sh", timeout=1200, step="bootstrap-python")
    machine.sh("scripts/dockerd.sh", timeout=300, step="dockerd")
    return machine


@pytest.fixture(scope="module")
def released(set_up):
    """The first release of the short local default, on the machine's Docker 26 (overlay2)."""
    machine = set_up
    machine.sh("cp -r inventories/local %s" % INVENTORY)
    hosts = yaml.safe_load(machine.read("%s/hosts.yml" % INVENTORY))
    builders = hosts["all"]["children"]["builders"]["children"]
    del builders["builders_arm64v8"]
    machine.put("%s/hosts.yml" % INVENTORY, yaml.safe_dump(hosts, sort_keys=False))
    machine.put("%s/group_vars/all/zz-debian13.yml" % INVENTORY, yaml.safe_dump(SETTINGS, sort_keys=False))
    rc, doc, report = release(machine, "first release", RUN)
    assert rc == 0, "%s\n(log: %s)" % (_failures(doc), machine.log)
    return machine, report


def test_the_set_up_installs_and_starts_debian_13s_engine_cli_and_buildx(set_up):
    machine = set_up
    assert machine.read("/etc/os-release").count("VERSION_CODENAME=trixie") == 1
    versions = machine.sh("docker version --format '{{ .Server.Version }} {{ .Client.Version }}'").stdout.split()
    assert int(versions[0].split(".")[0]) >= 26 and int(versions[1].split(".")[0]) >= 26, versions
    # on Debian 13 the CLI and buildx are packages of their own, docker.io only Recommends them
    packages = machine.sh("dpkg-query -W -f '${Package} ${Status}\\n' docker.io docker-cli docker-buildx").stdout
    assert packages.count("install ok installed") == 3, packages
    assert "buildx" in machine.sh("docker buildx version").stdout
    info = json.loads(machine.sh("docker info --format '{{ json . }}'").stdout)
    assert info["Driver"] == "overlay2", info["Driver"]
    # a second set-up is quiet and changes nothing
    again = machine.sh("scripts/bootstrap-system.sh && scripts/bootstrap-python.sh && scripts/dockerd.sh",
                       timeout=300, step="second set-up")
    assert again.stdout.strip() == "", again.stdout


def test_the_sanity_script_runs_on_debian_13s_python(set_up):
    """ansible-test on the .venv's Python (3.13 here, no python3.12 on Debian 13), its venvs given pip from
    Debian's python3-pip-whl (Debian's ensurepip has no bundled wheel): one quick test stands for the whole run."""
    proc = set_up.sh("scripts/sanity.sh --test compile", timeout=900, step="sanity (compile)")
    assert "== ansible-test sanity --python 3.13" in proc.stdout and "sanity: passed" in proc.stdout, proc.stdout


def test_a_short_release_publishes_images_that_run(released):
    machine, report = released
    assert report["ok"] and report["failed_hosts"] == {}, report.get("failed_hosts")
    assert _pushes(report) == {"pushed"}, report["rows"]
    _runs(machine)


def test_a_second_release_changes_nothing(released):
    machine, dummy = released
    rc, doc, report = release(machine, "unchanged release", RUN)
    assert rc == 0, _failures(doc)
    assert set(_changed(doc).values()) == {0}, _changed(doc)
    assert _pushes(report) == {"unchanged"}, report["rows"]


def test_the_containerd_image_store_builds_publishes_and_changes_nothing_again(released):
    machine, dummy = released
    # the engine restarted with the containerd image store (Docker 26: an opt-in feature in daemon.json)
    machine.sh("""set -e
        python3 - <<'EOF'
import json, os
path = "/etc/docker/daemon.json"
cfg = json.load(open(path)) if os.path.exists(path) else {}
cfg.setdefault("features", {})["containerd-snapshotter"] = True
os.makedirs(os.path.dirname(path), exist_ok=True)
json.dump(cfg, open(path, "w"))
EOF
        pid=$(cat /var/run/docker.pid)
        kill "$pid"
        for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        ! kill -0 "$pid" 2>/dev/null
        scripts/dockerd.sh""", timeout=180, step="engine restart")
    status = json.loads(machine.sh("docker info --format '{{ json .DriverStatus }}'").stdout)
    assert ["driver-type", "io.containerd.snapshotter.v1"] in status, status

    rc, doc, report = release(machine, "release on the containerd store", NEXT)
    assert rc == 0, "%s\n(log: %s)" % (_failures(doc), machine.log)
    assert report["ok"] and _pushes(report) == {"pushed"}, report["rows"]
    # what was pushed is pulled back from the registry into the containerd store and runs (the lists were pulled
    # into the overlay2 store by the first checks: the containerd store starts without them, but a name may be
    # there from the release, so it is removed when it is)
    for image in ("library/busybox:latest", "library/debian:trixie-slim"):
        ref = shlex.quote("%s/%s" % (REGISTRY, image))
        machine.sh("! docker image inspect %s >/dev/null 2>&1 || docker rmi %s" % (ref, ref))
        machine.sh("docker pull -q %s" % ref)
    _runs(machine)

    rc, doc, report = release(machine, "unchanged release on the containerd store", NEXT)
    assert rc == 0, _failures(doc)
    assert set(_changed(doc).values()) == {0}, _changed(doc)
    assert _pushes(report) == {"unchanged"}, report["rows"]


def test_the_test_set_up_installs_what_the_test_suites_run(set_up):
    """`make test`'s set-up (--test) on Debian 13: chromium for the report page, the ssh client for the SSH farm's
    tests and the builder role's ssh scenario (a fresh Debian 13 machine has no ssh-keygen); then a second run is
    quiet."""
    machine = set_up
    machine.sh("scripts/bootstrap-system.sh --test", timeout=1200, step="bootstrap-system --test")
    found = machine.sh("command -v chromium ssh ssh-keygen").stdout.split()
    assert [p.rsplit("/", 1)[-1] for p in found] == ["chromium", "ssh", "ssh-keygen"], found
    assert machine.sh("scripts/bootstrap-system.sh --test").stdout.strip() == ""
