"""The engine's image store and what its image ids mean (issue 26), on outputs recorded from real engines
(fixtures/engine_store/): Docker 20.10 (overlay2, this Debian 12 host), Docker 26.1.5 on Debian 13 with overlay2 and
with the containerd image store (`docker info`, `docker image inspect` of one buildx-built image on each store and of
an image pulled by the farm's index tag, buildx's --metadata-file, the engine's push stream, and the manifests the
registry served, byte for byte). The builds and pushes themselves: tests/integration/debian13/."""
from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build import _buildx, engine_store
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import BuildInputs
from ansible_collections.buildfarm.images.plugins.module_utils.common.dockerfile import pin_from
from ansible_collections.buildfarm.images.plugins.module_utils.registry.oci_index import digest_of
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import Manifest

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "engine_store"
AMD64 = {"architecture": "amd64", "os": "linux"}
# the buildx-built image on the containerd store: its engine id (manifest), its config (what buildx's iidfile says)
MANIFEST = "sha256:a511efa7a7b2cbf470fd8a9e521a222a3f48e9ec45a0ae5251372421c3bcdffd"
CONFIG = "sha256:2bd88975de7d6257e8f8f45a81c019f1bd4ed0c9dc28a4dfdcb6dc4fec0daa45"
FARM_INDEX = "sha256:261efcf9e0778b9ee1facadd29dfcf310d78225a03d1e3ff509aac9465256a7f"
FARM_MANIFEST = "sha256:2a48f9f4e94679c7533f70d4621d258842a5946542c4fc36020ecb42896d1164"


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


class RecordedRegistry:
    """The manifests a registry served in the recording, by digest (get_manifest's answer: None when unknown)."""

    def __init__(self, *names: str) -> None:
        self.manifests: dict[str, Manifest] = {}
        for name in names:
            data = (FIXTURES / name).read_bytes()
            self.manifests[digest_of(data)] = Manifest(json.loads(data)["mediaType"], digest_of(data), data)
        self.asked: list[str] = []

    def get_manifest(self, repository: str, reference: str) -> Manifest | None:
        self.asked.append(reference)
        return self.manifests.get(reference)


@pytest.mark.parametrize("name, expected", [
    ("docker20-overlay2-info.json", False),
    ("docker26-containerd-info.json", True),
])
def test_the_containerd_store_is_told_by_docker_infos_driver_type(name, expected):
    assert engine_store.containerd_store(load(name)) is expected


def test_an_engine_that_cannot_say_counts_as_the_graph_driver_store():
    class Broken:
        def info(self):
            raise ConnectionError("no engine")

    assert engine_store.engine_containerd_store(Broken()) is False
    assert engine_store.containerd_store({"DriverStatus": None}) is False


def test_the_engine_info_of_buildkit_builds_carries_the_store():
    class Client:
        def __init__(self, info: dict) -> None:
            self._info = info

        def version(self):
            return {"Version": self._info["ServerVersion"]}

        def info(self):
            return self._info

    containerd = _buildx.engine_info(Client(load("docker26-containerd-info.json")))
    assert containerd.containerd_store and containerd.named_contexts
    assert "containerd image store" in containerd.describe()
    assert not _buildx.engine_info(Client(load("docker20-overlay2-info.json"))).containerd_store


def test_on_the_graph_driver_store_the_image_id_is_the_config_digest_buildx_reports():
    inspect = load("docker26-overlay2-inspect.json")[0]
    # recorded on the same engine before the switch: iidfile == containerimage.config.digest == Id
    assert inspect["Id"] == "sha256:6c9f431f9af19802f901f975887e727ebbb92bad600e133b1303392a9f11a4e7"
    assert "Descriptor" not in inspect


def test_on_the_containerd_store_the_image_id_is_the_manifest_digest_and_inspect_has_no_config_digest():
    inspect = load("docker26-containerd-inspect.json")[0]
    meta = load("docker26-containerd-buildx-metadata.json")
    assert inspect["Id"] == MANIFEST == meta["containerimage.digest"]
    # what buildx 0.13's --iidfile holds (docker/buildx#3952): not an id this engine knows
    assert meta["containerimage.config.digest"] == CONFIG != inspect["Id"]
    assert CONFIG not in json.dumps(inspect)


def test_the_config_digest_of_a_containerd_image_is_read_from_the_manifest_its_id_names():
    registry = RecordedRegistry("engine-manifest-a511efa7.json")
    assert engine_store.config_digest(registry, "amd64/t", MANIFEST, AMD64) == CONFIG
    assert registry.asked == [MANIFEST]


def test_an_image_pulled_by_the_farms_index_tag_has_the_index_as_id_and_its_platforms_config():
    inspect = load("docker26-containerd-pulled-index-inspect.json")[0]
    assert inspect["Id"] == FARM_INDEX
    registry = RecordedRegistry("farm-index-261efcf9.json", "farm-manifest-2a48f9f4.json")
    assert engine_store.config_digest(registry, "amd64/u", FARM_INDEX, AMD64) == CONFIG
    assert registry.asked == [FARM_INDEX, FARM_MANIFEST]
    # another platform has no image in it: no config digest, so no tag counts as serving it
    assert engine_store.config_digest(registry, "amd64/u", FARM_INDEX, {"os": "linux", "architecture": "s390x"}) == ""


def test_a_manifest_the_registry_does_not_serve_has_no_config_digest():
    assert engine_store.config_digest(RecordedRegistry(), "amd64/t", MANIFEST, AMD64) == ""


def test_the_platforms_image_is_picked_from_an_index_its_attestations_left_out():
    image = "sha256:" + "1" * 64
    index = {"manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "2" * 64,
         "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "3" * 64,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image, "platform": AMD64},
    ]}
    assert engine_store.platform_manifest(index, AMD64) == image
    assert engine_store.platform_manifest(index, {"os": "linux", "architecture": "arm64", "variant": "v8"}) \
        == "sha256:" + "3" * 64
    assert engine_store.platform_manifest(index, {"os": "linux", "architecture": "arm", "variant": "v7"}) == ""


def test_the_pushed_digest_is_read_from_either_stores_push_stream():
    lines = [json.loads(x) for x in (FIXTURES / "docker26-containerd-push-stream.jsonl").read_text().splitlines()]
    # the containerd store sends no aux line: its digest is in the last status only
    assert not any("aux" in x for x in lines)
    assert [engine_store.pushed_digest(x) for x in lines] == ["", "", FARM_INDEX]
    # the graph-driver store's aux line
    assert engine_store.pushed_digest({"progressDetail": {}, "aux": {"Tag": "v1", "Digest": MANIFEST, "Size": 497}}) \
        == MANIFEST


def test_one_config_under_two_manifests_is_one_parent_identity():
    built = load("docker26-containerd-inspect.json")[0]
    pulled = load("docker26-containerd-pulled-index-inspect.json")[0]
    # the same image built here and pulled back from the farm's index: two engine ids, one config
    assert built["Id"] != pulled["Id"]
    assert engine_store.image_identity(built) == engine_store.image_identity(pulled)
    assert engine_store.image_identity(built) != engine_store.image_identity(load("docker26-overlay2-inspect.json")[0])


def test_a_childs_input_digest_covers_its_parents_identity_not_its_engine_id():
    built = load("docker26-containerd-inspect.json")[0]
    pulled = load("docker26-containerd-pulled-index-inspect.json")[0]

    def inputs(parent_id: str, identities: dict) -> BuildInputs:
        return BuildInputs(platform="linux/amd64", dockerfile_name="Dockerfile",
                           dockerfile=pin_from("FROM base:1\nRUN true\n", {"base:1": parent_id}), files={},
                           parents={"base:1": parent_id}, builder="buildkit", identities=identities)

    on_built = inputs(built["Id"], {"base:1": engine_store.image_identity(built)})
    on_pulled = inputs(pulled["Id"], {"base:1": engine_store.image_identity(pulled)})
    assert on_built.digest() == on_pulled.digest()
    # the graph-driver store (no identities): the engine id, as before (so 20.10's images stay unchanged)
    assert inputs(built["Id"], {}).digest() != inputs(pulled["Id"], {}).digest()
    assert inputs(built["Id"], {}).digest() != on_built.digest()
