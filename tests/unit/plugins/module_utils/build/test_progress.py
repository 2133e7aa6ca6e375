"""The status image_build, image_test and image_push write while they work (what the build role prints every 30 s)."""
from __future__ import annotations

import json
import time

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import (
    JobNotFound,
    Progress,
    duration,
    job_finished,
    read_status,
    wait_for_job,
)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_duration():
    assert [duration(s) for s in (5, 90, 3725)] == ["5s", "1m30s", "1h02m05s"]


def test_status_names_host_entries_and_how_long(tmp_path):
    clock = Clock()
    path = tmp_path / "status.json"
    p = Progress(str(path), "builder-amd64", "amd64", clock=clock)
    p.set_stage("making the root filesystems of debian")
    clock.now += 75
    assert json.loads(path.read_text())["summary"] == ("builder-amd64 (amd64), 0s; making the root filesystems "
                                                       "of debian for 0s")
    p.write()  # what the ticker does: the durations move
    assert "making the root filesystems of debian for 1m15s" in json.loads(path.read_text())["summary"]
    p.waiting(["debian:trixie", "python:3.13.5-slim-trixie"])
    p.start("debian:trixie")
    clock.now += 20
    assert p.finish("debian:trixie", "built") == 20.0
    p.start("python:3.13.5-slim-trixie")
    clock.now += 700
    p.write()
    status = json.loads(path.read_text())
    assert status["summary"] == ("builder-amd64 (amd64), 13m15s; building python:3.13.5-slim-trixie (11m40s); "
                                 "done: debian:trixie built in 20s")
    assert status["entries"]["python:3.13.5-slim-trixie"]["state"] == "building" and not status["finished"]
    p.finish("python:3.13.5-slim-trixie", "failed")
    p.done()
    status = json.loads(path.read_text())
    assert status["finished"] is True and '"finished": true' in path.read_text()  # what the role waits for
    assert status["entries"]["python:3.13.5-slim-trixie"] == {"state": "failed", "started": 1095.0,
                                                              "seconds": 700.0}


def test_ticker_rewrites_the_file(tmp_path):
    path = tmp_path / "status.json"
    p = Progress(str(path), "h", "s390x", interval=0.05)
    p.tick()
    first = json.loads(path.read_text())["updated"]
    deadline = time.time() + 5
    while json.loads(path.read_text())["updated"] == first and time.time() < deadline:
        time.sleep(0.02)
    assert json.loads(path.read_text())["updated"] > first
    p.done()


def test_test_and_push_jobs_say_testing_and_pushing(tmp_path):
    """image_test and image_push write the same file: their entries are testing / pushing while it is their turn."""
    clock = Clock()
    path = tmp_path / "status.json"
    p = Progress(str(path), "builder-s390x", "s390x", clock=clock, job="test")
    p.waiting(["busybox:1.35.0-glibc", "busybox:1.35.0-musl"])
    p.set_stage("testing")
    p.start("busybox:1.35.0-glibc")
    clock.now += 42
    p.write()
    status = json.loads(path.read_text())
    assert status["job"] == "test" and status["entries"]["busybox:1.35.0-glibc"]["state"] == "testing"
    assert status["summary"] == ("builder-s390x (s390x), 42s; testing busybox:1.35.0-glibc (42s); "
                                 "waiting: busybox:1.35.0-musl")
    p.finish("busybox:1.35.0-glibc", "passed")
    p.done()
    assert json.loads(path.read_text())["summary"] == ("builder-s390x (s390x), 42s; test finished; waiting: "
                                                       "busybox:1.35.0-musl; done: busybox:1.35.0-glibc passed in 42s")

    # a push has no architecture of its own: the summary names the host alone
    push = Progress(str(tmp_path / "push.json"), "builder-amd64", "", clock=clock, job="push")
    push.start("busybox:latest")
    clock.now += 3
    push.write()
    assert json.loads((tmp_path / "push.json").read_text())["summary"] == (
        "builder-amd64, 3s; pushing busybox:latest (3s)")


def test_an_unknown_job_is_refused():
    with pytest.raises(ValueError, match="job 'deploy': not one of build, test, push"):
        Progress("", "h", "amd64", job="deploy")


# -- following a job: the files async_wrapper writes (its own first line, then the module's result) ----------------
def test_job_finished_reads_the_async_results_file(tmp_path):
    job = tmp_path / "j1.42"
    job.write_text(json.dumps({"started": True, "finished": False, "ansible_job_id": "j1.42"}))
    assert job_finished(str(job)) is False
    job.write_text("")  # created, not written yet
    assert job_finished(str(job)) is False
    job.write_text(json.dumps({"changed": True, "images": []}))  # the module's result: the job ended
    assert job_finished(str(job)) is True
    job.write_text(json.dumps({"failed": True, "msg": "Timeout exceeded", "child_pid": 7}))  # killed by the wrapper
    assert job_finished(str(job)) is True


def test_a_missing_job_names_its_file(tmp_path):
    with pytest.raises(JobNotFound, match="j9.9: no such async job"):
        job_finished(str(tmp_path / "j9.9"))


def test_read_status_is_empty_without_a_readable_file(tmp_path):
    assert read_status("") == {}
    assert read_status(str(tmp_path / "none.json")) == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert read_status(str(tmp_path / "bad.json")) == {}
    p = Progress(str(tmp_path / "s.json"), "builder-1", "amd64")
    p.set_stage("building")
    assert read_status(str(tmp_path / "s.json"))["stage"] == "building"


def test_wait_for_job_waits_until_the_job_ends_or_the_timeout(tmp_path):
    job = tmp_path / "j2.1"
    job.write_text(json.dumps({"started": True, "finished": False}))
    clock = Clock()
    slept: list[float] = []

    def sleep(s):
        slept.append(s)
        clock.now += s
        if len(slept) == 3:  # the module ends during the third second
            job.write_text(json.dumps({"changed": False}))

    finished, status = wait_for_job(str(job), "", 25, clock=clock, sleep=sleep)
    assert finished is True and status == {} and slept == [1.0, 1.0, 1.0]

    job.write_text(json.dumps({"started": True, "finished": False}))
    slept.clear()

    def sleep_only(s):
        slept.append(s)
        clock.now += s

    finished, _status = wait_for_job(str(job), "", 2.5, clock=clock, sleep=sleep_only)
    assert finished is False and slept == [1.0, 1.0, 0.5]  # never past the timeout


def test_wait_for_job_answers_an_ended_job_at_once(tmp_path):
    job = tmp_path / "j3.1"
    job.write_text(json.dumps({"changed": True}))
    status = tmp_path / "s.json"
    p = Progress(str(status), "builder-1", "amd64")
    p.done()

    def sleep(_s):
        raise AssertionError("an ended job is not waited for")

    finished, got = wait_for_job(str(job), str(status), 25, clock=Clock(), sleep=sleep)
    assert finished is True and got["finished"] is True and "build finished" in got["summary"]
