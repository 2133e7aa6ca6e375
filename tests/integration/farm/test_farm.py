"""The farm on separate hosts (issue 14): bare Debian hosts reached over SSH become builders through the roles - one
host of Debian 12 (Docker 20.10) and one of Debian 13 (Docker 26, issue 26) - the Docker engine, its CLI and buildx
installed and started without systemd, the registry role's CA trusted, binfmt_misc mounted for the emulated one -
one of them as an unprivileged user with `become`, with a TLS registry on the docker bridge address (not loopback)
that the hosts pull from."""
from __future__ import annotations

import json

import pytest
from ansible_collections.buildfarm.images.tests.support.synthetic_images import push_image

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient

pytestmark = pytest.mark.integration


def _changed(result: dict) -> dict[str, int]:
    return {h: s["changed"] for h, s in result["stats"].items()}


def _failed(result: dict) -> dict[str, str]:
    """Each failed host with the message of its failing task."""
    out = {}
    for play in result["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed") or res.get("unreachable"):
                    out.setdefault(host, res.get("msg", ""))
    return out


@pytest.fixture(scope="module")
def provisioned(farm_hosts):
    """The two bare hosts (conftest's farm_hosts) provisioned once for the module."""
    farm = farm_hosts
    rc, result, stderr = farm.provision()
    assert rc == 0, (_failed(result), stderr[-2000:])
    return farm, result


# The engine each Debian release's docker.io brings (issue 26): the farm is tested on both.
ENGINE_MAJOR = {"bookworm": 20, "trixie": 26}


def test_bare_hosts_become_builders_over_ssh(provisioned):
    farm, result = provisioned
    assert _changed(result)["farm-amd64"] > 0 and _changed(result)["farm-s390x"] > 0
    assert {h.suite for h in farm.hosts} == {"bookworm", "trixie"}
    for host in farm.hosts:
        assert host.sh(". /etc/os-release && echo $VERSION_CODENAME").stdout.strip() == host.suite
        # the engine the role installed runs under its supervisor (no systemd on these hosts)
        info = json.loads(host.sh("docker info --format '{{ json . }}'").stdout)
        assert info["Architecture"] == "x86_64" and info["Driver"] == "overlay2", info
        assert int(info["ServerVersion"].split(".")[0]) == ENGINE_MAJOR[host.suite], (host.name, info["ServerVersion"])
        # the CLI and buildx (on trixie docker-cli and docker-buildx are packages apart from docker.io)
        buildx = host.sh("docker buildx version", check=False)
        assert buildx.returncode == 0 and "buildx" in buildx.stdout, (host.name, buildx.stderr)
        assert host.sh("cat /proc/1/comm").stdout.strip() != "systemd"
        # the registry role's CA, exported to the controller, is in the engine's trust store
        ca = host.sh("cat /etc/docker/certs.d/%s/ca.crt" % farm.registry).stdout
        assert ca == (farm.work_dir / "registry-ca.crt").read_text() and "BEGIN CERTIFICATE" in ca
        daemon = json.loads(host.sh("cat /etc/docker/daemon.json").stdout)
        assert "insecure-registries" not in daemon  # TLS: nothing is insecure
    # the emulated host mounted binfmt_misc itself, and sees an F-flag qemu handler for s390x
    s390x = farm.host("farm-s390x")
    assert "binfmt_misc on /proc/sys/fs/binfmt_misc" in s390x.sh("mount").stdout
    assert "flags: PF" in s390x.sh("cat /proc/sys/fs/binfmt_misc/qemu-s390x").stdout or \
        "F" in s390x.sh("sed -n 's/^flags: //p' /proc/sys/fs/binfmt_misc/qemu-s390x").stdout
    # the root-less builder reached root through sudo
    assert s390x.sh("id -u farmer").stdout.strip() != "0"


def test_builders_pull_from_the_tls_registry(provisioned):
    farm, dummy = provisioned
    client = RegistryClient(farm.registry, ca_cert=str(farm.work_dir / "registry-ca.crt"))
    assert client.scheme == "https" and client.ping()
    digest = push_image(client, "amd64/farm-hello", "1", content=b"hello from the farm\n")
    for host in farm.hosts:
        out = host.sh("docker pull %s/amd64/farm-hello:1" % farm.registry, check=False)
        assert out.returncode == 0, (host.name, out.stderr)
        assert digest in out.stdout
        # over SSH as the inventory's user: the unprivileged one uses the engine through sudo
        host.sh("docker rmi %s/amd64/farm-hello:1" % farm.registry)


def test_second_provision_changes_nothing(provisioned):
    farm, dummy = provisioned
    rc, result, stderr = farm.provision()
    assert rc == 0, (_failed(result), stderr[-2000:])
    assert _changed(result) == {"localhost": 0, "farm-amd64": 0, "farm-s390x": 0}, _changed(result)


def test_a_url_as_registry_is_refused_before_the_host_is_changed(provisioned):
    farm, dummy = provisioned
    inventory = farm.inventory(buildfarm_registry="https://%s" % farm.registry)
    rc, result, dummy = farm.provision("--limit", "farm-amd64", inventory=inventory)
    assert rc != 0
    msg = _failed(result)["farm-amd64"]
    assert "buildfarm_registry: \"https://%s\" is not host[:port]" % farm.registry in msg, msg
    assert "buildfarm_registry_tls" in msg


def test_an_untrusted_registry_is_named_with_the_fix(provisioned):
    """TLS not declared: the builder reaches the registry but cannot verify it, and says what to set."""
    farm, dummy = provisioned
    inventory = farm.inventory(buildfarm_registry_tls=False)
    rc, result, dummy = farm.provision("--limit", "farm-amd64", inventory=inventory)
    assert rc != 0
    msg = _failed(result)["farm-amd64"]
    assert "cannot use the registry %s" % farm.registry in msg and "buildfarm_registry_tls: true" in msg, msg
