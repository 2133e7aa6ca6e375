"""The verify stage's cache of passes: a pass is reused only by the same list digest and expectations, failures are
never recorded, a missing or corrupt file is an empty cache, and the file is written atomically. The reading back
with a cache is tested against a real registry in tests/integration/registry/test_verify_cached_release.py."""
from __future__ import annotations

import json

from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    MemberVerification,
    TagVerification,
)
from ansible_collections.buildfarm.images.plugins.module_utils.verify.release_verify import summary
from ansible_collections.buildfarm.images.plugins.module_utils.verify.verify_cache import (
    CACHE_VERSION,
    VerifyCache,
    cache_key,
    expectations_hash,
)

DIGEST = "sha256:" + "1" * 64
KEY = cache_key("127.0.0.1:5000", "library/python", "3.13")


def _passed(digest: str = DIGEST) -> TagVerification:
    member = MemberVerification("amd64", "linux/amd64", "sha256:" + "2" * 64, "sha256:" + "3" * 64,
                                "amd64/python:3.13.5", sbom={"packages": 3}, provenance={"builder_id": "farm"})
    return TagVerification("library/python", "3.13", digest, [member])


def _saved(tmp_path, result: TagVerification, expectations: str = "sha256:e") -> str:
    path = str(tmp_path / "verify" / "cache.json")
    cache = VerifyCache.load(path)
    cache.record(KEY, result, expectations)
    cache.save()
    return path


def test_a_recorded_pass_is_reused_by_the_same_digest_and_expectations(tmp_path):
    path = _saved(tmp_path, _passed())
    cache = VerifyCache.load(path)
    hit = cache.hit(KEY, DIGEST, "sha256:e")
    assert hit is not None and hit.ok and cache.hits == 1
    assert hit.to_dict() == _passed().to_dict()  # the tag's members as they passed (the report shows them)
    entry = json.loads((tmp_path / "verify" / "cache.json").read_text())["tags"][KEY]
    assert entry["digest"] == DIGEST and entry["expectations"] == "sha256:e" and entry["verified_at"].endswith("Z")


def test_a_changed_digest_or_expectation_is_no_hit(tmp_path):
    cache = VerifyCache.load(_saved(tmp_path, _passed()))
    assert cache.hit(KEY, "sha256:" + "9" * 64, "sha256:e") is None
    assert cache.hit(KEY, DIGEST, "sha256:other") is None
    assert cache.hit(cache_key("127.0.0.1:5001", "library/python", "3.13"), DIGEST, "sha256:e") is None
    assert cache.hits == 0


def test_expectations_hash_follows_every_field():
    base = {"pushed": {"amd64/python:3.13.5": ["sha256:a", "sha256:b"]}, "expect": [["python", "3.13.5"]]}
    assert expectations_hash(base) == expectations_hash(dict(reversed(list(base.items()))))
    assert expectations_hash(base) != expectations_hash(dict(base, expect=[["python", "3.13.6"]]))
    assert expectations_hash(base) != expectations_hash(dict(base, pushed={}))


def test_a_failure_is_never_recorded_and_drops_an_earlier_pass(tmp_path):
    failed = _passed()
    failed.failures.append("amd64 (amd64/python:3.13.5): SBOM does not name python 3.13.5")
    cache = VerifyCache.load(_saved(tmp_path, failed))
    assert cache.entries == {} and cache.hit(KEY, DIGEST, "sha256:e") is None
    path = _saved(tmp_path, _passed())
    cache = VerifyCache.load(path)
    cache.record(KEY, failed, "sha256:e")
    cache.save()
    assert VerifyCache.load(path).hit(KEY, DIGEST, "sha256:e") is None


def test_a_missing_corrupt_or_foreign_file_is_an_empty_cache(tmp_path):
    assert VerifyCache.load(str(tmp_path / "none.json")).entries == {}
    assert VerifyCache.load(None).path is None
    bad = tmp_path / "cache.json"
    for text in ("{not json", "[]", json.dumps({"version": CACHE_VERSION + 1, "tags": {KEY: {}}}),
                 json.dumps({"version": CACHE_VERSION, "tags": {KEY: {"digest": DIGEST, "expectations": "sha256:e",
                                                                      "result": {"repository": 3}}}})):
        bad.write_text(text)
        assert VerifyCache.load(str(bad)).hit(KEY, DIGEST, "sha256:e") is None, text


def test_the_file_is_replaced_atomically_and_without_a_path_nothing_is_written(tmp_path):
    path = _saved(tmp_path, _passed())
    assert sorted(p.name for p in (tmp_path / "verify").iterdir()) == ["cache.json"]  # no temporary file left
    VerifyCache(None).save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["verify"] and path


def test_the_summary_says_which_tags_came_from_the_cache():
    out = summary([_passed(), TagVerification("library/python", "3.12", DIGEST)], cached={"library/python:3.13"})
    assert [(t["reference"], t["cached"]) for t in out["tags"]] == [("library/python:3.13", True),
                                                                    ("library/python:3.12", False)]
