"""Fault soak: a publish of 100 tags x 4 architectures through a proxy that kills connections (before and after
the registry saw the request) and answers 5xx and 429 at random (seeded, bounded), run again until it
completes. Every state in between is checked: each tag is its old or its new list, no list points at a member
that is not in the repository, no list has lost a platform. It prints how many faults it survived."""
from __future__ import annotations

import functools
import random
import threading

import pytest
from ansible_collections.buildfarm.images.tests.support.synthetic_images import push_image

from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import (
    load_entries,
    plan_lists,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_publish import (
    Publisher as AttestedPublisher,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import ListAction, ListResult
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    RegistryClient,
    RegistryError,
)
from ansible_collections.buildfarm.images.tests.support.fault_proxy import FaultProxy, SeededFaults

pytestmark = pytest.mark.integration

# These tests publish bare members (Docker v2 manifests pushed by the engine or synthetic_images.push_image, no
# attestation): the explicit opt-out of the attestation requirement (test_attested_publish.py has the rest).
Publisher = functools.partial(AttestedPublisher, require_attestations=False)
BARE = {"require_attestations": False}

ARCHS = {"amd64": ("amd64", ""), "arm64v8": ("arm64", "v8"), "s390x": ("s390x", ""), "ppc64le": ("ppc64le", "")}
ENTRIES = 25  # x 4 tags = 100 lists, x 4 architectures = 100 member images
SEED = 10


def _push_all(client: RegistryClient, salt: str, archs) -> None:
    for e in range(ENTRIES):
        for a in archs:
            push_image(client, "%s/soak" % a, "e%02d-a" % e, architecture=ARCHS[a][0], variant=ARCHS[a][1],
                       content=("%s e%02d %s" % (a, e, salt)).encode())


class Checker:
    """What may be seen in the registry at any time: each tag absent or its old list (before), or its new list;
    every member of a list there; four platforms per list."""

    def __init__(self, client: RegistryClient, tags: list[str], old: dict[str, str | None]) -> None:
        self.client, self.tags, self.old = client, tags, old
        self.new: dict[str, str] = {}
        self.checks = 0
        self.members_ok: set[str] = set()

    def tag(self, tag: str) -> None:
        desc = self.client.head_manifest("library/soak", tag)
        now = desc.digest if desc else None
        allowed = {self.old[tag], self.new.get(tag)}
        assert now in allowed, "%s is %s: neither its old %s nor its new %s list" % (
            tag, now, self.old[tag], self.new.get(tag))
        if now is not None:
            doc = self.client.get_manifest("library/soak", now).json()
            assert len({(m["platform"]["architecture"], m["platform"].get("variant", ""))
                        for m in doc["manifests"]}) == 4, "%s lost a platform" % tag
            for m in doc["manifests"]:
                if m["digest"] not in self.members_ok:
                    assert self.client.head_manifest("library/soak", m["digest"]) is not None, \
                        "%s points at %s, not in the repository" % (tag, m["digest"])
                    self.members_ok.add(m["digest"])
        self.checks += 1

    def all(self) -> None:
        for tag in self.tags:
            self.tag(tag)


def _publish_until_complete(proxy: FaultProxy, specs, checker: Checker, tags: list[str]) -> int:
    # The new lists, known before anything is written (a check-mode run straight at the registry): the observer
    # must accept them as soon as the first one appears.
    planned = Publisher(checker.client, "library", "soak", check_mode=True).publish(specs)
    checker.new = {r.tag: r.digest for r in planned}
    assert all(r.action.is_dry_run and r.digest for r in planned)
    attempts = 0
    last = ""
    while True:
        attempts += 1
        assert attempts <= 40, "the publish did not complete in 40 attempts: %s" % last
        client = RegistryClient(proxy.address, retries=3, backoff_base=0.01, backoff_cap=0.1, retry_after_cap=0.1,
                                deadline=60, timeout=10)
        stop = threading.Event()
        errors: list[BaseException] = []

        # the defaults bind this attempt's values (errors is this attempt's own list, shared on purpose)
        def observe(attempts: int = attempts, stop: threading.Event = stop,  # pylint: disable=dangerous-default-value
                    errors: list[BaseException] = errors) -> None:  # the states in between, while it runs
            pick = random.Random(attempts)
            while not stop.is_set():
                try:
                    checker.tag(pick.choice(tags))
                except BaseException as exc:  # handed to the test thread
                    errors.append(exc)
                    return

        observer = threading.Thread(target=observe)
        observer.start()
        try:
            results = Publisher(client, "library", "soak", concurrency=8).publish(specs)
        except RegistryError as exc:  # the first HEAD failed: nothing done, a known state too
            results = [ListResult(spec.tag, ListAction.FAILED, message=str(exc)) for spec in specs]
        finally:
            stop.set()
            observer.join()
        if errors:
            raise errors[0]
        for r in results:
            assert r.digest in ("", checker.new[r.tag])  # the same desired list on every attempt
        checker.all()
        if all(r.action != "failed" for r in results):
            return attempts
        last = "; ".join("%s: %s" % (r.tag, r.message) for r in results if r.action == "failed")[:2000]


def test_publish_under_random_faults_always_leaves_old_or_new_lists(registry):
    direct = registry.client()
    tags = ["e%02d-%s" % (e, x) for e in range(ENTRIES) for x in ("a", "b", "c", "d")]
    specs = plan_lists(load_entries([{"tags": tags[4 * e:4 * e + 4], "architectures": list(ARCHS)}
                                     for e in range(ENTRIES)]), "soak")
    assert len(specs) == 100
    faults = SeededFaults(SEED, rate=0.25, limit=3000)
    proxy = FaultProxy(registry.port, faults)
    try:
        _push_all(direct, "v1", ARCHS)
        first = Checker(direct, tags, {t: None for t in tags})
        attempts_v1 = _publish_until_complete(proxy, specs, first, tags)
        assert first.new and all(first.client.head_manifest("library/soak", t).digest == first.new[t] for t in tags)

        # a second release changes two architectures of every entry: old and new lists side by side under faults
        _push_all(direct, "v2", ["arm64v8", "s390x"])
        second = Checker(direct, tags, dict(first.new))
        attempts_v2 = _publish_until_complete(proxy, specs, second, tags)
        assert all(direct.head_manifest("library/soak", t).digest == second.new[t] != first.new[t] for t in tags)
    finally:
        proxy.close()
    survived = proxy.faults()
    print("\nfault soak: survived %d faults (%s) over %d requests; %d + %d attempts; %d states checked" % (
        survived, ", ".join("%s %d" % kv for kv in sorted(proxy.counts.items()) if kv[0] != "forward"),
        sum(proxy.counts.values()), attempts_v1, attempts_v2, first.checks + second.checks))
    assert survived >= 100 and faults.count == survived
