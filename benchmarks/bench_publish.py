"""Publish 100 tags x 4 architectures into a throw-away local registry: the manifest_list module vs the
`docker manifest create` + `docker manifest push` loop a user would write. Prints both times, the ratio
(target >= 20x), the unchanged re-publish time (target < 2 s, reads only) and HTTP requests per tag (by method).

Members are what the farm pushes: per-architecture OCI indexes of the image and its attestation manifest (SPDX
SBOM and SLSA provenance, tests/support/synthetic_images.py push_attested), so every list carries each
member's attestation and the publish copies both (manifests and blobs) into the target repository. The publish
is given the push record, as the release's is (manifest_list `builders`/`pushed`): it lists and copies what was
pushed without reading it back. The same publish without the record (the module on its own) is printed too.

The release has the shape of a library file: entries of 4 tags each (`1.2.3`, `1.2`, `1`, `1-variant` style),
members `<arch>/bench:<first tag>`. The publish is timed in-process (what the module runs); one module run through
ansible-playbook is timed too,
to show Ansible's own start-up cost apart. A first publish takes well under a second, so a passing hiccup of
the disk (the registry fsyncs every link it writes) moves it by a tenth of that: it is run --runs times, each
into its own empty repository, and the median is compared with the CLI loop (one run of ~200 CLI calls,
whose noise averages out).
Usage: python benchmarks/bench_publish.py [--tags 100] [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_jobs import known_manifests  # noqa: E402
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import (  # noqa: E402
    load_entries,
    plan_lists,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_publish import Publisher  # noqa: E402
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient  # noqa: E402
from ansible_collections.buildfarm.images.tests.support.ports import free_port  # noqa: E402
# test helper: tiny attested images through the registry API
from ansible_collections.buildfarm.images.tests.support.synthetic_images import (  # noqa: E402
    push_attested,
    push_record,
)

ARCHS = {"amd64": ("amd64", ""), "arm64v8": ("arm64", "v8"), "ppc64le": ("ppc64le", ""), "s390x": ("s390x", "")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tags", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=8, help="the module's concurrency (its default: 8)")
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-publish-"))
    port = free_port(5400, 5499)  # the benchmarks' range (tests/support/ports.py)
    address = "127.0.0.1:%d" % port
    subprocess.run([str(REPO / "scripts" / "registry.sh"), "start", str(work / "registry"), str(port)], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        run(address, args.tags, max(1, args.runs), work, args.concurrency)
    finally:
        subprocess.run([str(REPO / "scripts" / "registry.sh"), "stop", str(work / "registry")], check=True)
        shutil.rmtree(work, ignore_errors=True)


TAGS_PER_ENTRY = 4


def run(address: str, n: int, runs: int, work: pathlib.Path, concurrency: int = 8) -> None:
    entries = [{"tags": ["e%03d-t%d" % (e, t) for t in range(TAGS_PER_ENTRY)], "architectures": list(ARCHS)}
               for e in range(n // TAGS_PER_ENTRY)]
    tags = [t for e in entries for t in e["tags"]]
    n = len(tags)
    first_tag = {t: e["tags"][0] for e in entries for t in e["tags"]}
    setup = RegistryClient(address)
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        pushed = list(pool.map(lambda job: push_attested(
            setup, "%s/bench" % job[0], job[1], architecture=ARCHS[job[0]][0], variant=ARCHS[job[0]][1],
            content=("%s %s" % job).encode(), bashbrew_arch=job[0], packages=[("bench", "1.0")]),
            [(a, e["tags"][0]) for e in entries for a in ARCHS]))
    image_digest = dict(zip([(a, e["tags"][0]) for e in entries for a in ARCHS], [p["image_digest"] for p in pushed]))
    # what the release's push stage hands the publish (image_push's results): it lists these without reading them
    known = known_manifests([push_record(address, "%s/bench" % a, e["tags"][0], p) for (a, e), p in zip(
        [(a, e) for e in entries for a in ARCHS], pushed)], address)
    print("setup: %d member images with attestations pushed in %.1f s"
          % (len(entries) * len(ARCHS), time.monotonic() - t0))
    specs = plan_lists(load_entries(entries), "bench")
    floor = copy_floor(setup, entries) / n

    first, unchanged = [], []
    for i in range(runs):
        # Each timed run starts with nothing left to write back from the one before (or the setup).
        os.sync()
        client = RegistryClient(address)
        first_methods = _count_methods(client)
        t0 = time.monotonic()
        results = Publisher(client, "library", "bench-module-%d" % i, concurrency=concurrency,
                            known=known).publish(specs)
        first.append(time.monotonic() - t0)
        assert all(r.action == "created" for r in results), [r.message for r in results if r.message][:3]
        assert all(m.attestation is not None for r in results for m in r.members)
        first_requests = client.request_count

        client = RegistryClient(address)
        unchanged_methods = _count_methods(client)
        t0 = time.monotonic()
        results = Publisher(client, "library", "bench-module-%d" % i, concurrency=concurrency,
                            known=known).publish(specs)
        unchanged.append(time.monotonic() - t0)
        assert all(r.action == "unchanged" for r in results)

        # the same without the members' presence check of unchanged lists (check_unchanged_members: false)
        trusting = RegistryClient(address)
        trusting_methods = _count_methods(trusting)
        results = Publisher(trusting, "library", "bench-module-%d" % i,
                            check_unchanged_members=False, known=known).publish(specs)
        assert all(r.action == "unchanged" for r in results)
    module_time, unchanged_time = statistics.median(first), statistics.median(unchanged)

    # the module on its own (no push record): every member read from the registry
    reading = RegistryClient(address)
    reading_methods = _count_methods(reading)
    t0 = time.monotonic()
    results = Publisher(reading, "library", "bench-reading", concurrency=concurrency).publish(specs)
    reading_time = time.monotonic() - t0
    assert all(r.action == "created" for r in results)
    reading_unchanged = RegistryClient(address)
    Publisher(reading_unchanged, "library", "bench-reading", concurrency=concurrency).publish(specs)

    playbook = work / "publish.yml"
    playbook.write_text(json.dumps([{"name": "Publish", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "Publish the lists", "buildfarm.images.manifest_list": {
            "registry": address, "repository": "bench", "namespace": "library-ansible", "entries": entries}}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_LOCALHOST_WARNING="0")
    t0 = time.monotonic()
    subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "-e",
                    "ansible_python_interpreter=%s" % sys.executable, str(playbook)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    ansible_time = time.monotonic() - t0

    docker_config = work / "docker"
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"experimental": "enabled"}))
    denv = dict(os.environ, DOCKER_CONFIG=str(docker_config))
    os.sync()
    t0 = time.monotonic()
    for tag in tags:
        target = "%s/library/bench-cli:%s" % (address, tag)
        # `docker manifest create` refuses a member that is an index: it lists the images by digest (and can carry
        # no attestation, so it does less than the module)
        members = ["%s/%s/bench@%s" % (address, a, image_digest[a, first_tag[tag]]) for a in ARCHS]
        subprocess.run(["docker", "manifest", "create", "--insecure", target, *members], check=True, env=denv,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["docker", "manifest", "push", "--purge", "--insecure", target], check=True, env=denv,
                       stdout=subprocess.DEVNULL)
    cli_time = time.monotonic() - t0

    print("tags x architectures:            %d x %d (%d entries of %d tags)"
          % (n, len(ARCHS), len(entries), TAGS_PER_ENTRY))
    print("docker manifest create+push loop: %.2f s" % cli_time)
    print("manifest_list publish (module):   %.2f s  median of %d (%.2f-%.2f s); through ansible-playbook: %.2f s"
          % (module_time, runs, min(first), max(first), ansible_time))
    print("ratio CLI / module:               %.1fx (target >= 20x)" % (cli_time / module_time))
    print("unchanged re-publish:             %.2f s  median (target < 2 s)" % unchanged_time)
    reads = set(unchanged_methods) <= {"GET", "HEAD"}
    print("HTTP requests per tag:            first %.2f (target <= 4), unchanged %.2f (target <= 2; reads only: %s)"
          % (first_requests / n, client.request_count / n, reads))
    print("  a copying first publish's floor: %.2f per tag (writes only: a mount per blob and a PUT per manifest of "
          "each member copied into the list's repository, a PUT per tag; the reads of what is copied come on top)"
          % floor)
    print("  unchanged with check_unchanged_members false: %.2f (reads only: %s)" % (
        trusting.request_count / n, set(trusting_methods) <= {"GET", "HEAD"}))
    print("  without the push record (read from the registry): first %.2f, unchanged %.2f per tag; first %.2f s"
          % (reading.request_count / n, reading_unchanged.request_count / n, reading_time))
    for name, methods in (("first", first_methods), ("unchanged", unchanged_methods),
                          ("trusting", trusting_methods), ("reading", reading_methods)):
        print("  %-9s per tag by method:     %s" % (name, ", ".join(
            "%s %.2f" % (k, v / n) for k, v in sorted(methods.items()))))


def copy_floor(client: RegistryClient, entries: list[dict]) -> int:
    """The writes a first publish cannot do without: the registry accepts a list only when every manifest it names
    is in the list's repository, and a manifest only when its blobs are, so each member (the image and its
    attestation manifest) is copied from its architecture's repository - one mount per blob, one PUT per
    manifest - and each tag is one PUT. Counted from what the setup pushed, with reads the timed runs do not see."""
    writes = 0
    for entry in entries:
        writes += len(entry["tags"])
        for arch in entry["architectures"]:
            index = client.get_manifest("%s/bench" % arch, entry["tags"][0])
            assert index is not None
            for member in json.loads(index.data)["manifests"]:
                manifest = client.get_manifest("%s/bench" % arch, member["digest"])
                assert manifest is not None
                body = json.loads(manifest.data)
                writes += 1 + 1 + len(body["layers"])  # the manifest's PUT, its config's and its layers' mounts
    return writes


def _count_methods(client: RegistryClient) -> dict[str, int]:
    """Count the client's requests by HTTP method (the bench's own view; the client counts only the total)."""
    counts: dict[str, int] = {}
    request = client.request

    def counted(method, path, *args, **kw):
        counts[method] = counts.get(method, 0) + 1
        return request(method, path, *args, **kw)
    client.request = counted  # type: ignore[method-assign]
    return counts


if __name__ == "__main__":
    main()
