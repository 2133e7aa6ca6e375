"""release.yml end to end: real builds of the busybox family (amd64 natively, others under qemu), smoke tests,
pushes, manifest lists, report; idempotence; adding an architecture; failing and unreachable builders."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

import pytest
import yaml

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient
from ansible_collections.buildfarm.images.tests.support import browser, report_page
from ansible_collections.buildfarm.images.tests.support.playbook import task_result
from ansible_collections.buildfarm.images.tests.support.ports import LOCAL_DEFAULT_PORT, free_port

from conftest import RELEASE_PORTS, LocalDefault

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class OwnPortLocalDefault(LocalDefault):
    """The local default as `make release` runs it (inventories/local, its registry started by role registry),
    with a registry port of this test's own instead of 5000: a `make release` of this checkout or of another one
    leaves the local default's registry running on 5000, and this test must pass beside it without touching it."""

    port: int = 0

    @property
    def registry(self) -> str:
        return "127.0.0.1:%d" % self.port

    def extra_vars(self) -> str:
        data = json.loads(super().extra_vars())
        data.update({"buildfarm_registry": self.registry, "buildfarm_registry_port": self.port})
        return json.dumps(data)


PUBLISH_TASK = "Publish every family's lists (one call; completeness policy buildfarm_missing_architectures)"


@pytest.fixture
def local_default(tmp_path):
    """Overrides conftest's: the role starts the registry on a free port of the release range with this test's
    folders, and the test stops it at the end."""
    # the port is set after construction: pylint (ansible-test sanity) does not resolve `from conftest import`,
    # so it sees only this class's own fields and would take tmp_path for the port
    farm = OwnPortLocalDefault(tmp_path)
    farm.port = free_port(*RELEASE_PORTS)
    assert farm.port != LOCAL_DEFAULT_PORT
    yield farm
    farm.stop_registry()


def _run_platform(image: str, platform: str) -> str:
    return subprocess.run(["docker", "run", "--rm", "--pull", "always", "--platform", platform, image, "uname", "-m"],
                          capture_output=True, text=True, check=True).stdout.strip()


def _arch_images_complete(registry: str, arches=("amd64", "arm64v8", "s390x")) -> dict[str, str]:
    """arch -> digest of <arch>/busybox:1.35.0-glibc's image manifest, after checking the registry has the image's
    and its attestation's config and every layer."""
    api = RegistryClient(registry)
    out = {}
    for arch in arches:
        index = api.get_manifest(arch + "/busybox", "1.35.0-glibc")
        assert index is not None, arch
        # the tag is the farm's per-architecture index: the image, then its attestation (issue 23)
        for desc in index.json()["manifests"]:
            manifest = api.get_manifest(arch + "/busybox", desc["digest"])
            assert manifest is not None, (arch, desc["digest"])
            for blob in [manifest.json()["config"]] + manifest.json()["layers"]:
                assert api.head_blob(arch + "/busybox", blob["digest"]), (arch, blob["digest"])
        out[arch] = index.json()["manifests"][0]["digest"]  # the image manifest (the attestation's times vary)
    return out


def _progress(run, host: str) -> list[str]:
    """What the play printed of `host`'s stages while they ran (role build's task `Show what the builder is doing`:
    a line at least every 30 s, and each stage's last one)."""
    return [task["hosts"][host]["msg"] for play in run.result["plays"] for task in play["tasks"]
            if task["task"]["name"].endswith("Show what the builder is doing")
            and task["hosts"].get(host, {}).get("msg")]


def _published_from_the_push_records(run) -> None:
    """The publish stage listed every member from what the builders recorded of their pushes (the action plugin
    read them from the hostvars), not from reading the registry back."""
    published = task_result(run.result, PUBLISH_TASK)
    sources = {m["source"] for lst in published["lists"] for m in lst["members"]}
    assert sources == {"%s/busybox:1.35.0-glibc" % a for a in ("amd64", "arm64v8", "s390x")}, sources
    assert published["members_from_push"] == len(sources), published["members_from_push"]


def test_make_release_on_the_local_default_then_nothing_changes_then_a_lost_registry_is_refilled(local_default):
    """What `make release` runs: inventories/local, registry role (this test's own port and storage, so it passes
    beside the local default's registry on 5000).
    One test for the three releases of one farm that matter most: the first publishes, the second changes nothing,
    and after the registry's folder is wiped while it runs (what `make clean` does; the engine still remembers its
    pushes and keeps its images) the next one pushes every architecture's images again, whole, and publishes the
    lists; the one after that changes nothing again."""
    first = local_default.release()
    assert first.rc == 0, first.messages()[-3000:]
    assert _run_platform(local_default.registry + "/library/busybox:latest", "linux/s390x") == "s390x"
    assert first.report["architectures"] == ["amd64", "arm64v8", "s390x"]
    assert {r["tag"] for r in first.report["rows"]} == {
        "1.35.0-glibc", "1.35-glibc", "1-glibc", "glibc", "1.35.0", "1.35", "1", "latest"}
    pushed = _arch_images_complete(local_default.registry)
    _published_from_the_push_records(first)

    second = local_default.release()
    assert second.rc == 0
    assert set(second.changed().values()) == {0}, second.changed()
    for row in second.report["rows"]:
        assert row["published"] == "unchanged"
        for arch, cell in row["architectures"].items():
            assert (cell["status"], cell["push"]) == ("unchanged", "unchanged"), (row["tag"], arch, cell)
    assert (local_default.artifacts / "release-report.md").read_text().count("unchanged/unchanged") == 3 * 8
    _published_from_the_push_records(second)  # an unchanged push records what it found

    local_default.wipe_registry()
    refilled = local_default.release()
    assert refilled.rc == 0, refilled.messages()[-3000:]
    for row in refilled.report["rows"]:
        assert row["published"] == "created", row
        for arch, cell in row["architectures"].items():
            # the builds are the engine's (unchanged), the pushes are real
            assert (cell["status"], cell["push"]) == ("unchanged", "pushed"), (row["tag"], arch, cell)
            assert cell["digest"], (row["tag"], arch, cell)  # the index the tag serves now
    assert _arch_images_complete(local_default.registry) == pushed
    _published_from_the_push_records(refilled)

    again = local_default.release()
    assert again.rc == 0
    assert set(again.changed().values()) == {0}, again.changed()
    assert {c["push"] for r in again.report["rows"] for c in r["architectures"].values()} == {"unchanged"}


def test_check_mode_changes_nothing(farm):
    """--check on an empty registry: says what would be pushed and published, pushes and publishes nothing."""
    run = farm.release("--check")
    assert farm.manifest("library/busybox", "latest").status_code == 404
    assert farm.manifest("s390x/busybox", "latest").status_code == 404
    assert run.rc != 0 or run.report == {}  # nothing is published, so the release is not complete
    text = run.messages()
    assert "would-push" in text or "would-build" in text


def test_adding_an_emulated_ppc64le_builder_adds_the_platform(farm):
    farm.set_builder("ppc64le", buildfarm_emulated=True)
    run = farm.release()
    assert run.rc == 0, run.messages()[-3000:]
    assert farm.platforms() == {"linux/amd64", "linux/arm64/v8", "linux/ppc64le", "linux/s390x"}
    assert _run_platform(farm.registry + "/library/busybox:1.35", "linux/ppc64le") == "ppc64le"
    assert run.cells()["ppc64le"]["push"] == "pushed"
    # every builder's build, tests and push ran in the background, and the play said what each did on which host
    for arch in ("amd64", "arm64v8", "s390x", "ppc64le"):
        lines = _progress(run, "builder-" + arch)
        assert all(m.startswith("builder-%s (%s), " % (arch, arch)) or m.startswith("builder-%s, " % arch)
                   for m in lines), lines
        assert any("build finished" in m and "busybox:1.35.0-glibc" in m for m in lines), lines
        assert any("test finished" in m and "busybox:1.35.0-glibc passed in " in m for m in lines), lines
        assert any("push finished" in m and "busybox:1.35.0-glibc pushed in " in m for m in lines), lines


def test_the_inventory_asks_for_annotated_lists(farm):
    """buildfarm_member_annotations / buildfarm_list_annotations reach manifest_list; `item.name` is the family."""
    (farm.inventory / "group_vars" / "all" / "zz-annotations.yml").write_text(yaml.safe_dump({
        "buildfarm_member_annotations": True,
        "buildfarm_list_annotations": {"org.opencontainers.image.url": "https://registry.example.net/{{ item.name }}"},
    }))
    run = farm.release()
    assert run.rc == 0, run.messages()[-3000:]
    latest = farm.manifest("library/busybox", "latest")
    assert latest.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
    doc = latest.json()
    assert doc["annotations"] == {"org.opencontainers.image.url": "https://registry.example.net/busybox"}
    # each member is followed by its attestation manifest (which carries the reference annotations instead)
    assert [(m["annotations"]["com.docker.official-images.bashbrew.arch"],
             m["annotations"]["org.opencontainers.image.version"]) for m in doc["manifests"][0::2]] == [
        ("amd64", "1.35.0-glibc"), ("arm64v8", "1.35.0-glibc"), ("s390x", "1.35.0-glibc")]


def test_a_failing_builder_does_not_stop_the_others_and_a_rerun_repushes_nothing(farm):
    # builder-s390x claims to build s390x natively on an amd64 machine: its architecture check fails
    farm.set_builder("s390x", buildfarm_emulated=False)
    broken = farm.release()
    assert broken.rc != 0
    # the builder's failure is rescued and left to the report, which fails the release on the control node
    assert broken.failed_hosts() == {"localhost"}
    assert broken.result["stats"]["builder-s390x"]["rescued"] >= 1
    summary = broken.messages()
    assert "buildfarm_arch is s390x but this host is amd64" in summary
    assert "Failed builders: builder-s390x" in summary
    # the other architectures finished and pushed; the list that would lose s390x is not published (policy fail)
    for arch in ("amd64", "arm64v8"):
        assert farm.manifest(arch + "/busybox", "1.35.0-glibc").status_code == 200
        assert broken.cells()[arch]["push"] == "pushed"
    assert broken.cells()["s390x"]["status"] == "unreachable"
    assert farm.manifest("library/busybox", "latest").status_code == 404
    assert "builder-s390x" in broken.report["failed_hosts"]
    # the page as a person sees it (tests/output/report-page/failed-builder-<width>.png): the release incomplete
    # with the JSON's counts, the failure's message and its host in the summary, the builder marked failed, the
    # s390x column of busybox saying so
    if browser.available():
        for width, view in report_page.look(farm.artifacts, "failed-builder").items():
            report_page.check_summary(view, broken.report)
            assert "Release incomplete (failed: builder-s390x)" in view.probe["banner"], view.probe["banner"]
            report_page.check_failure(view, "builder-s390x", "buildfarm_arch is s390x but this host is amd64")
            row = next(b for b in view.probe["builders"] if b.startswith("builder-s390x"))
            assert "failed" in row, (width, row)
            latest = view.probe["matrix"]["busybox"]["rows"]["latest"]
            s390x = view.probe["matrix"]["busybox"]["head"].index("s390x")
            assert broken.cells()["s390x"]["status"] in latest[s390x], (width, latest)

    farm.set_builder("s390x", buildfarm_emulated=True)
    fixed = farm.release()
    assert fixed.rc == 0, fixed.messages()[-3000:]
    cells = fixed.cells()
    assert cells["amd64"]["push"] == cells["arm64v8"]["push"] == "unchanged"
    assert cells["s390x"]["push"] == "pushed"
    assert farm.platforms() == {"linux/amd64", "linux/arm64/v8", "linux/s390x"}


def test_an_unreachable_builder_is_named_and_the_others_push(farm):
    data = farm.hosts()
    builders = data["all"]["children"]["builders"]["children"]
    builders.pop("builders_arm64v8")
    # nothing listens on port 1: the connection is refused at once
    builders["builders_s390x"]["hosts"]["builder-s390x"].update(
        {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1})
    farm.write_hosts(data)
    run = farm.release("-e", yaml.safe_dump({"buildfarm_missing_architectures": "fail"}).strip())
    assert run.rc != 0
    # the play goes on past it (ignore_unreachable): the report names it
    assert "unreachable" in run.report["failed_hosts"]["builder-s390x"]
    assert run.cells()["amd64"]["push"] == "pushed"
    assert farm.manifest("amd64/busybox", "latest").status_code == 200
    assert farm.manifest("library/busybox", "latest").status_code == 404


def test_every_builder_failing_still_ends_with_this_runs_report(farm):
    # one shared cause: every builder claims to build natively what this amd64 machine is not
    farm.set_builder("arm64v8", buildfarm_emulated=False)
    farm.set_builder("s390x", buildfarm_emulated=False)
    data = farm.hosts()
    data["all"]["children"]["builders"]["children"].pop("builders_amd64")
    farm.write_hosts(data)
    stale = farm.artifacts / "release-report.md"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("a report of an earlier run\n")
    run = farm.release()
    assert run.rc != 0
    assert set(run.report["failed_hosts"]) == {"builder-arm64v8", "builder-s390x"}
    assert all("provisioning failed" in why for why in run.report["failed_hosts"].values())
    # the report is this run's, and the summary names each failed host and why
    assert "earlier run" not in stale.read_text()
    assert "Failed builders: builder-arm64v8" in run.messages()
    assert farm.manifest("library/busybox", "latest").status_code == 404
