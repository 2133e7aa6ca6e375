"""Publish 100 tags x 4 architectures into a throw-away local registry: the manifest_list module vs the
`docker manifest create` + `docker manifest push` loop a user would write. Prints both times, the ratio
(target >= 20x), the unchanged re-publish time (target < 2 s, HEAD requests only) and HTTP requests per tag.

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
sys.path.insert(0, str(REPO / "tests" / "integration" / "registry"))

from _synthetic import push_image  # noqa: E402  (test helper: tiny images through the registry API)
from conftest import _free_port  # noqa: E402

from ansible_collections.buildfarm.images.plugins.module_utils.registry.manifest_list import (  # noqa: E402
    Publisher,
    load_entries,
    plan_lists,
)
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient  # noqa: E402

ARCHS = {"amd64": ("amd64", ""), "arm64v8": ("arm64", "v8"), "ppc64le": ("ppc64le", ""), "s390x": ("s390x", "")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tags", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-publish-"))
    port = _free_port()
    address = "127.0.0.1:%d" % port
    subprocess.run([str(REPO / "scripts" / "registry.sh"), "start", str(work / "registry"), str(port)], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        run(address, args.tags, max(1, args.runs), work)
    finally:
        subprocess.run([str(REPO / "scripts" / "registry.sh"), "stop", str(work / "registry")], check=True)
        shutil.rmtree(work, ignore_errors=True)


TAGS_PER_ENTRY = 4


def run(address: str, n: int, runs: int, work: pathlib.Path) -> None:
    entries = [{"tags": ["e%03d-t%d" % (e, t) for t in range(TAGS_PER_ENTRY)], "architectures": list(ARCHS)}
               for e in range(n // TAGS_PER_ENTRY)]
    tags = [t for e in entries for t in e["tags"]]
    n = len(tags)
    first_tag = {t: e["tags"][0] for e in entries for t in e["tags"]}
    setup = RegistryClient(address)
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda job: push_image(setup, "%s/bench" % job[0], job[1], architecture=ARCHS[job[0]][0],
                                             variant=ARCHS[job[0]][1], content=("%s %s" % job).encode()),
                      [(a, e["tags"][0]) for e in entries for a in ARCHS]))
    print("setup: %d member images pushed in %.1f s" % (len(entries) * len(ARCHS), time.monotonic() - t0))
    specs = plan_lists(load_entries(entries), "bench")

    first, unchanged = [], []
    for i in range(runs):
        # Each timed run starts with nothing left to write back from the one before (or the setup).
        os.sync()
        client = RegistryClient(address)
        t0 = time.monotonic()
        results = Publisher(client, "library", "bench-module-%d" % i).publish(specs)
        first.append(time.monotonic() - t0)
        assert all(r.action == "created" for r in results), [r.message for r in results if r.message][:3]
        first_requests = client.request_count

        client = RegistryClient(address)
        t0 = time.monotonic()
        results = Publisher(client, "library", "bench-module-%d" % i).publish(specs)
        unchanged.append(time.monotonic() - t0)
        assert all(r.action == "unchanged" for r in results)
    module_time, unchanged_time = statistics.median(first), statistics.median(unchanged)

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
        members = ["%s/%s/bench:%s" % (address, a, first_tag[tag]) for a in ARCHS]
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
    print("HTTP requests per tag:            first %.1f, unchanged %.1f (all HEAD: %s)" % (
        first_requests / n, client.request_count / n, client.request_count == n + len(entries) * len(ARCHS)))


if __name__ == "__main__":
    main()
