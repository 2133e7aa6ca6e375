"""A release over the farm of SSH builders (issue 14): playbooks/release.yml on the busybox family, amd64 on a root
host of Debian 12 (Docker 20.10) and s390x under qemu on a host of Debian 13 (Docker 26, issue 26) reached with
`become`, pushing to the TLS registry on the bridge address that every stage trusts through the registry role's CA.
Then a builder stopped mid-farm and brought back.

The tests run in order and build on each other (one farm for the session: conftest's farm_hosts)."""
from __future__ import annotations

import uuid

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAMILY = {"buildfarm_families": ["busybox"]}
# A build argument of this session's own: every input digest is new, so the first release really builds and pushes
# (the hosts' engines and the registry may have earlier images); a second value is a new release of everything.
RUN = {"buildfarm_build_args": {"BUILDFARM_FARM_RUN": uuid.uuid4().hex}}
NEXT = {"buildfarm_build_args": {"BUILDFARM_FARM_RUN": uuid.uuid4().hex}}


def _client(farm) -> RegistryClient:
    # the CA the registry role exported: the registry is checked as the builders and the publish stage see it
    client = RegistryClient(farm.registry, ca_cert=str(farm.work_dir / "registry-ca.crt"))
    assert client.scheme == "https"
    return client


ATTESTATION = "attestation-manifest"


def _platforms(farm, repository: str = "library/busybox", tag: str = "latest") -> dict[str, str]:
    """platform -> image digest of a published list, whose every image descriptor is followed by its attestation
    descriptor (issue 23's list contract)."""
    manifest = _client(farm).get_manifest(repository, tag)
    assert manifest is not None, "%s:%s is not in the registry" % (repository, tag)
    members = manifest.json()["manifests"]
    images = [m for m in members if m.get("annotations", {}).get("vnd.docker.reference.type") != ATTESTATION]
    for image in images:
        after = members[members.index(image) + 1] if members.index(image) + 1 < len(members) else {}
        ann = after.get("annotations", {})
        assert (ann.get("vnd.docker.reference.type"), ann.get("vnd.docker.reference.digest")) == \
            (ATTESTATION, image["digest"]), members
    assert len(members) == 2 * len(images), members
    return {"/".join(x for x in (m["platform"]["os"], m["platform"]["architecture"],
                                 m["platform"].get("variant", "")) if x): m["digest"]
            for m in images}


def _arch_digest(farm, arch: str, tag: str = "latest") -> str:
    """The image digest of an architecture's tag: the first manifest of its index (issue 23's per-architecture
    contract: the image manifest, then its attestation)."""
    manifest = _client(farm).get_manifest(arch + "/busybox", tag)
    assert manifest is not None, (arch, tag)
    index = manifest.json()
    assert index.get("mediaType") == "application/vnd.oci.image.index.v1+json", index
    return index["manifests"][0]["digest"]


@pytest.fixture(scope="module")
def released(farm_hosts):
    """The first release over the farm (provisioning the hosts from bare unless test_farm.py did)."""
    farm = farm_hosts
    run = farm.release(**FAMILY, **RUN)
    assert run.rc == 0, run.messages()[-4000:]
    return farm, run


def test_both_architectures_are_built_on_their_hosts_and_published(released):
    farm, run = released
    assert run.report["ok"] and run.report["failed_hosts"] == {}
    assert run.report["architectures"] == ["amd64", "s390x"]
    cells = run.cells()
    assert (cells["amd64"]["push"], cells["s390x"]["push"]) == ("pushed", "pushed"), cells
    platforms = _platforms(farm)
    assert set(platforms) == {"linux/amd64", "linux/s390x"}, platforms
    # the list's members are what each host pushed to its architecture's repository
    assert platforms["linux/amd64"] == _arch_digest(farm, "amd64")
    assert platforms["linux/s390x"] == _arch_digest(farm, "s390x")
    # each image was built on its own host's engine (not on the control machine's)
    for host in farm.hosts:
        tags = host.sh("docker images --format '{{.Repository}}:{{.Tag}}'").stdout.split()
        assert "%s/%s/busybox:latest" % (farm.registry, host.arch) in tags, (host.name, tags)


def test_a_second_release_changes_nothing(released):
    farm, dummy = released
    run = farm.release(**FAMILY, **RUN)
    assert run.rc == 0, run.messages()[-4000:]
    assert set(run.changed().values()) == {0}, run.changed()
    assert {c["push"] for r in run.report["rows"] for c in r["architectures"].values()} == {"unchanged"}
    assert {r["published"] for r in run.report["rows"]} == {"unchanged"}


def test_a_stopped_host_is_named_and_the_other_one_publishes_then_it_converges(released):
    farm, dummy = released
    before = _platforms(farm)
    stale = farm.artifacts / "release-report.md"
    stale.write_text("a report of an earlier run\n")

    # a new release (new build argument) while the s390x host is down
    farm.stop_host("farm-s390x")
    try:
        down = farm.release(**FAMILY, **NEXT)
    finally:
        farm.start_host("farm-s390x")
    assert down.rc != 0
    assert "unreachable" in down.report["failed_hosts"]["farm-s390x"], down.report["failed_hosts"]
    assert set(down.report["failed_hosts"]) == {"farm-s390x"}
    assert "Failed builders: farm-s390x" in down.messages()
    # the report on disk is this run's
    assert "earlier run" not in stale.read_text() and "farm-s390x" in stale.read_text()
    # amd64 built and pushed the new release; the list keeps s390x (policy fail: a list never loses an
    # architecture): its member is still the image s390x's tags point to, the previous release's
    assert down.cells()["amd64"]["push"] == "pushed"
    assert down.cells()["s390x"]["status"] == "unreachable"
    new_amd64 = _arch_digest(farm, "amd64")
    assert new_amd64 != before["linux/amd64"]
    assert _platforms(farm) == {"linux/amd64": new_amd64, "linux/s390x": before["linux/s390x"]}

    # the host back: provisioned again (its engine restarted), its architecture built and pushed, lists complete
    back = farm.release(**FAMILY, **NEXT)
    assert back.rc == 0, back.messages()[-4000:]
    cells = back.cells()
    assert (cells["amd64"]["push"], cells["s390x"]["push"]) == ("unchanged", "pushed"), cells
    after = _platforms(farm)
    assert after == {"linux/amd64": new_amd64, "linux/s390x": _arch_digest(farm, "s390x")}
    assert after["linux/s390x"] != before["linux/s390x"]

    again = farm.release(**FAMILY, **NEXT)
    assert again.rc == 0, again.messages()[-4000:]
    assert set(again.changed().values()) == {0}, again.changed()
    assert _platforms(farm) == after
