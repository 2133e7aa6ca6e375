"""job_status in process (AnsibleModule with patched arguments), on the files an async job leaves: async_wrapper's
results file and the status file the job's module writes. The action plugin (which adds _async_dir) runs in
tests/functional/test_job_status_play.py under ansible-playbook with a real async job."""
from __future__ import annotations

import json

from ansible_collections.buildfarm.images.tests.support.run_module import run_module

from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress


def test_running_job_shows_its_summary_after_the_timeout(tmp_path):
    (tmp_path / "j1.1").write_text(json.dumps({"started": True, "finished": False}))
    p = Progress(str(tmp_path / "status.json"), "builder-amd64", "amd64")
    p.waiting(["python:3.13-slim-trixie"])
    p.start("python:3.13-slim-trixie")
    out = run_module("job_status", dict(jid="j1.1", status_file=str(tmp_path / "status.json"), timeout=0,
                                        async_dir=str(tmp_path)))
    assert out["finished"] is False and out["changed"] is False and "ansible_facts" not in out
    assert out["msg"].startswith("builder-amd64 (amd64), ") and "building python:3.13-slim-trixie (" in out["msg"]


def test_ended_job_sets_the_fact_that_ends_the_loop(tmp_path):
    (tmp_path / "j1.2").write_text(json.dumps({"changed": True, "images": []}))
    out = run_module("job_status", dict(jid="j1.2", timeout=25, async_dir=str(tmp_path)), check=True)
    assert out["finished"] is True and out["ansible_facts"] == {"buildfarm_job_status_finished": "j1.2"}
    assert out["msg"] == "job j1.2 ended"  # no status file: the job's own word only


def test_unknown_job_and_negative_timeout_fail_naming_them(tmp_path):
    out = run_module("job_status", dict(jid="j404.1", timeout=1, async_dir=str(tmp_path)))
    assert out["failed"] is True and "j404.1: no such async job" in out["msg"]
    (tmp_path / "j1.3").write_text(json.dumps({"started": True}))
    out = run_module("job_status", dict(jid="j1.3", timeout=-5, async_dir=str(tmp_path)))
    assert out["failed"] is True and out["msg"] == "timeout: must be 0 or more seconds (value: -5)"
