"""image_test, run in process: the status file it writes while it tests (what the build role prints while it
polls), on an engine that cannot be reached (an image that needs the engine fails, saying why; a cached pass and an
image without tests need none)."""
from __future__ import annotations

import json
import pathlib
import re

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress
from ansible_collections.buildfarm.images.plugins.module_utils.build.smoke_tests import parse, pass_marker, run_suites
from ansible_collections.buildfarm.images.plugins.module_utils.build._docker_engine import client_factory
from ansible_collections.buildfarm.images.tests.support.run_module import run_module

# the modules need the Docker SDK (ansible-test units installs only tests/unit/requirements.txt): `make unit` runs these
pytest.importorskip("docker")

TESTS = {"linux": [{"name": "version", "command": ["busybox"], "stdout": "BusyBox"}]}
# nothing listens there: every engine call fails at once
NO_ENGINE = "unix:///nonexistent/buildfarm-no-engine.sock"
CACHED = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
IMAGES = [
    {"key": "busybox:1.35.0-glibc", "repo": "busybox", "image_id": CACHED, "status": "unchanged"},
    {"key": "busybox:1.35.0-musl", "repo": "busybox", "image_id": OTHER, "status": "built"},
    {"key": "childbox:1", "repo": "childbox", "image_id": OTHER, "status": "built"},  # no tests: untested
    {"key": "busybox:broken", "repo": "busybox", "status": "failed"},  # not built: not tested, not listed
]


def _args(tmp_path, **kw):
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    # the glibc image passed these very tests before: its pass marker spares the engine
    pathlib.Path(pass_marker(str(cache), CACHED, parse(TESTS, "t"))).write_text("busybox:1.35.0-glibc\n")
    return dict({"images": IMAGES, "tests": {"busybox": TESTS}, "arch": "s390x", "cache_dir": str(cache),
                 "docker_host": NO_ENGINE, "fail_on_error": False, "host": "builder-s390x",
                 "status_file": str(tmp_path / "image_test.status.json")}, **kw)


def test_the_status_file_says_what_was_tested_on_which_host(tmp_path):
    r = run_module("image_test", _args(tmp_path))
    assert r["passed"] == ["busybox:1.35.0-glibc", "childbox:1"] and r["failed_entries"] == ["busybox:1.35.0-musl"], r
    assert "engine" in r["results"][1]["failed_tests"]
    status = json.loads((tmp_path / "image_test.status.json").read_text())
    assert (status["job"], status["host"], status["arch"], status["finished"]) == (
        "test", "builder-s390x", "s390x", True)
    assert {k: e["state"] for k, e in status["entries"].items()} == {
        "busybox:1.35.0-glibc": "passed", "busybox:1.35.0-musl": "failed", "childbox:1": "untested"}
    assert status["summary"].startswith("builder-s390x (s390x), ")
    assert ("; test finished; done: busybox:1.35.0-glibc passed in 0s, busybox:1.35.0-musl failed in"
            in status["summary"])


def test_a_dry_run_writes_no_status_file(tmp_path):
    r = run_module("image_test", _args(tmp_path), check=True)
    assert r["would_test"] == ["busybox:1.35.0-glibc", "busybox:1.35.0-musl", "childbox:1"], r
    assert not (tmp_path / "image_test.status.json").exists()


def test_while_an_image_is_tested_the_file_says_testing_it(tmp_path):
    path = tmp_path / "status.json"
    seen = []
    engine = client_factory({"docker_host": NO_ENGINE})

    def connect():
        seen.append(json.loads(path.read_text()))  # what the play would print at this moment
        return engine()

    progress = Progress(str(path), "builder-amd64", "amd64", job="test")
    [res] = run_suites(connect, IMAGES[1:2], {"busybox": parse(TESTS, "t")}, "amd64", progress=progress)
    assert not res.passed and "DockerException" in res.tests[0].reason
    assert seen[0]["entries"]["busybox:1.35.0-musl"]["state"] == "testing"
    assert "; testing busybox:1.35.0-musl (0s)" in seen[0]["summary"]
    assert json.loads(path.read_text())["entries"]["busybox:1.35.0-musl"]["state"] == "failed"


def test_each_tested_image_has_its_times(tmp_path):
    """For the release report: when each image's suite began and ended (RFC 3339 UTC) and how long it took; an
    image without tests has none, a cached pass took about no time."""
    r = run_module("image_test", _args(tmp_path))
    by_key = {x["key"]: x for x in r["results"]}
    stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
    for key in ("busybox:1.35.0-glibc", "busybox:1.35.0-musl"):
        res = by_key[key]
        assert re.match(stamp, res["started"]) and re.match(stamp, res["finished"]), res
        assert res["started"] <= res["finished"] and 0 <= res["seconds"] < 60
    assert by_key["busybox:1.35.0-glibc"]["cached"] and by_key["busybox:1.35.0-glibc"]["seconds"] < 1
    assert (by_key["childbox:1"]["started"], by_key["childbox:1"]["seconds"]) == ("", 0.0)
