"""The verify stage cannot hang: with fewer workers than tags it finishes (its tag checks once waited, inside the
thread pool, for member checks queued behind them in that same pool: a deadlock as soon as every worker held a
tag - a real release hung there with 8 workers), and a registry that never answers ends in a clear error within
the stage's deadline instead of a hung task."""
from __future__ import annotations

import socket
import threading
import time

import pytest
from test_verify import LINUX, _publish, _push_results, _release

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient
from ansible_collections.buildfarm.images.plugins.module_utils.verify.errors import VerifyTimeoutError
from ansible_collections.buildfarm.images.plugins.module_utils.verify.release_verify import ListCheck, Verifier
from ansible_collections.buildfarm.images.tests.support.run_module import run_module

pytestmark = pytest.mark.integration


def _in_thread(fn, limit: float) -> dict:
    """fn() in a daemon thread; the test fails (instead of hanging) when it has not returned within `limit`."""
    box: dict = {}

    def run() -> None:
        box["result"] = fn()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(limit)
    assert not t.is_alive(), "release_verify still runs after %g s (hung)" % limit
    return box["result"]


@pytest.mark.parametrize("workers", [1, 2])
def test_fewer_workers_than_tags_and_members_still_verify(registry, workers):
    pushed = _release(registry, "vb")
    published = _publish(registry, "vb")  # two tags (3.13.5, 3.13) of two members each
    images, builds = _push_results(registry, "vb", pushed)
    res = _in_thread(lambda: run_module("release_verify", {
        "registry": registry.address, "repositories": published["repositories"], "pushed": images, "built": builds,
        "expect_packages": {"vb": {"python": "3.13.5"}}, "max_workers": workers}), 120)
    assert not res.get("failed"), res.get("msg")
    assert res["ok"] is True and res["summary"] == "2 of 2 tags verified"
    # each member is checked once, whatever number of tags lists it, and reported under every tag
    for tag in res["tags"]:
        assert [m["arch"] for m in tag["members"]] == list(LINUX)
        assert all(m["ok"] and m["sbom"] and m["provenance"] for m in tag["members"])
    assert res["tags"][0]["members"][0]["digest"] == pushed["amd64"]["image_digest"]


def test_a_registry_that_never_answers_ends_in_a_clear_error_within_the_deadline():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections (the kernel does), never answers a request
    try:
        client = RegistryClient("127.0.0.1:%d" % silent.getsockname()[1], timeout=60, retries=0)
        checks = [ListCheck("library/vb", t) for t in ("3.13.5", "3.13", "latest")]
        started = time.monotonic()
        with pytest.raises(VerifyTimeoutError) as err:
            Verifier(client, concurrency=2, deadline=2).verify(checks)
        assert time.monotonic() - started < 10
        assert "did not finish within 2 s" in str(err.value) and "reading library/vb:3.13.5" in str(err.value)
        # through the module: the request's own timeout (bounded by the deadline) names the tag it could not read
        started = time.monotonic()
        res = _in_thread(lambda: run_module("release_verify", {
            "registry": client.registry, "repositories": [{"repository": "library/vb", "lists": [
                {"tag": "3.13", "action": "created", "digest": "", "members": []}]}],
            "timeout": 60, "retries": 0, "deadline": 3}), 60)
        assert time.monotonic() - started < 30
        assert res["failed"] and "library/vb:3.13: cannot read the list" in res["msg"], res["msg"]
    finally:
        silent.close()
