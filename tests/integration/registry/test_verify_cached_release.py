"""The verify stage's cache of passes (release_verify `cache_file`) against a real registry and real attested
lists: an unchanged release verifies again with one read per list instead of every member's image, config,
attestation, statements and layers; a list changed since its pass (here: an attestation swapped for one that does
not say what the release built, the list re-published) has another digest and is verified in full, and fails,
with the cache as without it; failures are never recorded; check mode reads the cache and never writes it."""
from __future__ import annotations

import json
import time

import pytest
from test_verify import LINUX, _publish, _push_results, _release, _verify

from ansible_collections.buildfarm.images.tests.support.run_module import run_module

pytestmark = pytest.mark.integration


def _timed(registry, published, images, builds, **kw) -> tuple[dict, float]:
    started = time.monotonic()
    res = _verify(registry, published, images, builds, **kw)
    return res, time.monotonic() - started


def test_an_unchanged_release_verifies_from_the_cache_with_one_read_per_list(registry, tmp_path):
    cache = str(tmp_path / "work" / "verify" / "cache.json")
    pushed = _release(registry, "vk")
    published = _publish(registry, "vk")
    images, builds = _push_results(registry, "vk", pushed)
    full, full_s = _timed(registry, published, images, builds, cache_file=cache)
    assert full["ok"] is True and full["cached"] == 0, full["failures"]
    assert [t["cached"] for t in full["tags"]] == [False, False]
    again, again_s = _timed(registry, published, images, builds, cache_file=cache)
    print("verify of 2 tags x 2 members: full %d requests %.3f s, cached %d requests %.3f s"
          % (full["requests"], full_s, again["requests"], again_s))
    assert again["ok"] is True and again["summary"] == "2 of 2 tags verified" and again["cached"] == 2
    assert again["requests"] == 2 and full["requests"] >= 5 * again["requests"]  # the lists, nothing else
    assert [t["cached"] for t in again["tags"]] == [True, True]
    # the tags as they passed: digest, members, SBOM and provenance summaries (what the report shows)
    assert [dict(t, cached=False) for t in again["tags"]] == full["tags"]
    recorded = json.loads(open(cache).read())["tags"]
    assert sorted(recorded) == ["%s/library/vk:%s" % (registry.address, t) for t in ("3.13", "3.13.5")]
    assert {e["digest"] for e in recorded.values()} == {t["digest"] for t in full["tags"]}
    # other expectations (another declared package version) verify in full again, and fail
    other = _verify(registry, published, images, builds, cache_file=cache, expect_packages={"vk": {"python": "3.14"}})
    assert other["ok"] is False and other["cached"] == 0 and other["requests"] > again["requests"]


def test_a_swapped_attestation_changes_the_list_and_fails_even_with_a_cache(registry, tmp_path):
    cache = str(tmp_path / "verify-cache.json")
    pushed = _release(registry, "vw")
    published = _publish(registry, "vw")
    images, builds = _push_results(registry, "vw", pushed)
    assert _verify(registry, published, images, builds, cache_file=cache)["ok"] is True
    # the same arm64v8 image with another attestation (its SBOM names python 3.13.4), the lists re-published
    swapped = _release(registry, "vw", archs=["arm64v8"], packages=[("python", "3.13.4")])
    assert swapped["arm64v8"]["image_digest"] == pushed["arm64v8"]["image_digest"]
    assert swapped["arm64v8"]["attestation_digest"] != pushed["arm64v8"]["attestation_digest"]
    republished = _publish(registry, "vw")
    assert republished["repositories"][0]["lists"][0]["digest"] != published["repositories"][0]["lists"][0]["digest"]
    for _run in range(2):  # a failure is not recorded: the second run verifies in full and fails again
        res = _verify(registry, republished, images, builds, cache_file=cache)
        assert res["failed"] and res["ok"] is False and res["cached"] == 0
        assert "library/vw:3.13.5: arm64v8 (arm64v8/vw:3.13.5): attestation is %s, but the release pushed %s" % (
            swapped["arm64v8"]["attestation_digest"], pushed["arm64v8"]["attestation_digest"]) in res["failures"]
        assert any("SBOM does not name python 3.13.5 (it has 3.13.4)" in x for x in res["failures"]), res["failures"]
    assert json.loads(open(cache).read())["tags"] == {}


def test_stand_alone_the_per_architecture_tags_are_part_of_the_expectations(registry, tmp_path):
    cache = str(tmp_path / "verify-cache.json")
    _release(registry, "vn")
    _publish(registry, "vn")
    plan = [{"repository": "vn", "entries": [{"tags": ["3.13.5", "3.13"], "architectures": list(LINUX)}]}]
    # check mode reads the cache and never writes it
    dry = run_module("release_verify", {"registry": registry.address, "repositories": plan, "cache_file": cache},
                     check=True)
    assert dry["ok"] is True and dry["cached"] == 0 and not (tmp_path / "verify-cache.json").exists()
    full = run_module("release_verify", {"registry": registry.address, "repositories": plan, "cache_file": cache})
    again = run_module("release_verify", {"registry": registry.address, "repositories": plan, "cache_file": cache},
                       check=True)
    # the lists and what each per-architecture tag holds now (it is what the members are compared with)
    assert again["ok"] is True and again["cached"] == 2 and again["requests"] == 2 + len(LINUX) < full["requests"]
    # a per-architecture tag moved on (a new image) while the lists stay: verified in full, and fails
    _release(registry, "vn", archs=["amd64"], salt=" rebuilt")
    moved = run_module("release_verify", {"registry": registry.address, "repositories": plan, "cache_file": cache})
    assert moved["ok"] is False and moved["cached"] == 0
    assert any("amd64 (amd64/vn:3.13.5): member is" in x for x in moved["failures"]), moved["failures"]
