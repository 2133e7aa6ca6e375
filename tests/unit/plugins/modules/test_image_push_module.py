"""image_push, run in process: the status file it writes while it pushes (what the build role prints while it
polls), on an engine that cannot be reached (every tag of an image to push fails, saying why)."""
from __future__ import annotations

import json

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build._docker_engine import client_factory
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import Pusher
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    ImagePushResult,
    PushedTag,
    PushStatus,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress
from ansible_collections.buildfarm.images.tests.support.run_module import run_module

# the modules need the Docker SDK (ansible-test units installs only tests/unit/requirements.txt): `make unit` runs these
pytest.importorskip("docker")

NO_ENGINE = "unix:///nonexistent/buildfarm-no-engine.sock"
REF = "127.0.0.1:5399/amd64/busybox"
IMAGES = [
    {"key": "busybox:1.35.0-glibc", "image_id": "sha256:" + "a" * 64, "tags": [REF + ":1.35.0-glibc", REF + ":latest"],
     "status": "built"},
    {"key": "busybox:1.35.0-musl", "image_id": "sha256:" + "b" * 64, "tags": [REF + ":1.35.0-musl"],
     "status": "unchanged"},
    {"key": "busybox:broken", "status": "failed"},  # failed to build: nothing to push, not listed
]


def _args(tmp_path, **kw):
    return dict({"images": IMAGES, "docker_host": NO_ENGINE, "retries": 0, "fail_on_error": False,
                 "host": "builder-amd64", "status_file": str(tmp_path / "image_push.status.json"),
                 "attestations": False}, **kw)


@pytest.mark.parametrize("args,field,problem", [
    ({"attestations": True}, "release", "required when attestations is true"),
    ({"attestations": True, "release": "/nonexistent/release.tar"}, "release", "no such file"),
    ({"arch": "amd65"}, "arch", "unknown architecture"),
    ({"scan_timeout": 0}, "scan_timeout", "must be 1 or more"),
])
def test_attestation_options_are_checked_before_anything_is_pushed(tmp_path, args, field, problem):
    r = run_module("image_push", _args(tmp_path, **args))
    assert r["failed"] and r["field"] == field and problem in r["msg"], r
    assert "field %s" % field in r["msg"] and "images" not in r
    assert not (tmp_path / "image_push.status.json").exists()


def test_the_status_file_says_what_was_pushed_on_which_host(tmp_path):
    r = run_module("image_push", _args(tmp_path))
    assert r["failed_entries"] == ["busybox:1.35.0-glibc", "busybox:1.35.0-musl"], r
    status = json.loads((tmp_path / "image_push.status.json").read_text())
    assert (status["job"], status["host"], status["finished"]) == ("push", "builder-amd64", True)
    assert {k: e["state"] for k, e in status["entries"].items()} == {
        "busybox:1.35.0-glibc": "failed", "busybox:1.35.0-musl": "failed"}
    assert status["summary"].startswith("builder-amd64, ")
    assert "; push finished; done: busybox:1.35.0-glibc failed in" in status["summary"]


def test_a_dry_run_writes_no_status_file(tmp_path):
    r = run_module("image_push", _args(tmp_path), check=True)
    assert r["failed_entries"] == ["busybox:1.35.0-glibc", "busybox:1.35.0-musl"], r
    assert not (tmp_path / "image_push.status.json").exists()


def test_while_an_image_is_pushed_the_file_says_pushing_it(tmp_path):
    path = tmp_path / "status.json"
    seen = []
    engine = client_factory({"docker_host": NO_ENGINE})

    def connect():
        seen.append(json.loads(path.read_text()))  # what the play would print at this moment
        return engine()

    def registry_for(host):
        raise AssertionError("an image the engine cannot show is not asked of the registry")

    progress = Progress(str(path), "builder-amd64", "", job="push")
    pusher = Pusher(client_factory=connect, registry_for=registry_for, max_workers=1, progress=progress)
    [res] = pusher.run([("busybox:latest", "sha256:" + "a" * 64, [REF + ":latest"])])
    assert not res.ok and "DockerException" in res.tags[0].error
    assert seen[0]["entries"]["busybox:latest"]["state"] == "pushing"
    assert seen[0]["summary"] == "builder-amd64, 0s; pushing busybox:latest (0s)"
    assert json.loads(path.read_text())["entries"]["busybox:latest"]["state"] == "failed"


def test_an_image_is_pushed_when_a_tag_was_and_failed_when_one_failed():
    def result(*statuses):
        return ImagePushResult("k", "sha256:a", [PushedTag(ImageRef.parse("r:%d" % i), PushStatus(s))
                                                 for i, s in enumerate(statuses)])

    assert result("unchanged", "pushed").state == "pushed"
    assert result("unchanged", "unchanged").state == "unchanged"
    assert result("pushed", "failed").state == "failed"
    assert result("would-push").state == "would-push"
