"""playbooks/plan.yml and playbooks/render.yml through ansible-playbook: the python family against upstream's
2026-06-24 data (skipped without ../shared), a second run with changed=0, GitCommit from a committed render,
relative paths and missing variables."""
from __future__ import annotations

import json
import pathlib
import subprocess

import pytest

from ansible_collections.buildfarm.images.tests.support.dockerfile_facts import facts
from ansible_collections.buildfarm.images.tests.support.playbook import REPO, run_ansible, task_result

DAY = "2026-06-24"
FIXTURES = REPO / "tests" / "unit" / "fixtures" / "families"


def ansible_playbook(playbook: str, extra_vars: dict, cwd: pathlib.Path = REPO) -> tuple[int, dict, str]:
    """(return code, JSON callback result, stderr) of one of the collection's playbooks."""
    proc = run_ansible(["ansible-playbook", REPO / "playbooks" / playbook], extra_vars=extra_vars, cwd=cwd,
                       json_callback=True)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def _changed(result: dict) -> int:
    return result["stats"]["localhost"]["changed"]


def _without_commits(text: str) -> list[str]:
    return [line for line in text.split("\n") if not line.startswith("GitCommit:")][2:]


def test_render_playbook_reproduces_golden_facts_then_changes_nothing(golden, tmp_path):
    out = tmp_path / "render" / "python"
    rc, result, err = ansible_playbook("render.yml", {"buildfarm_family": str(REPO / "families" / "python"),
                                                      "buildfarm_render_out": str(out)})
    assert rc == 0, err
    assert _changed(result) == 1
    expected = json.loads((golden / DAY / "dockerfile-facts.json").read_text())["directories"]
    rendered = sorted(str(p.parent.relative_to(out)) for p in out.rglob("Dockerfile"))
    assert rendered == sorted(expected)
    for directory, want in expected.items():
        assert facts((out / directory / "Dockerfile").read_text()) == want, directory

    rc, again, err = ansible_playbook("render.yml", {"buildfarm_family": str(REPO / "families" / "python"),
                                                     "buildfarm_render_out": str(out)})
    assert rc == 0, err
    assert _changed(again) == 0
    assert task_result(again, "Render the Dockerfiles")["added"] == []


def test_plan_playbook_reproduces_golden_library_then_changes_nothing(golden, tmp_path):
    library = tmp_path / "library" / "python"
    extra = {"buildfarm_family": str(REPO / "families" / "python"),
             "buildfarm_parents_library": str(golden / DAY / "library"),
             "buildfarm_library_out": str(library)}
    rc, result, err = ansible_playbook("plan.yml", extra)
    assert rc == 0, err
    assert _changed(result) == 1
    assert _without_commits(library.read_text()) == _without_commits((golden / DAY / "library" / "python").read_text())
    plan = task_result(result, "Plan the family and write its library file")["plan"]
    assert plan["repository"] == "library/python" and len(plan["entries"]) == 42

    rc, again, err = ansible_playbook("plan.yml", extra)
    assert rc == 0, err
    assert _changed(again) == 0


def test_plan_of_committed_render_has_git_commits(tmp_path):
    """render.yml into a git work tree, commit, plan.yml with buildfarm_render_out: every entry's GitCommit is the
    last commit of its Dockerfile."""
    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
                              + list(args), check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    family = str(FIXTURES / "tiny")
    render_vars = {"buildfarm_family": family, "buildfarm_render_out": "render"}
    rc, rendered, err = ansible_playbook("render.yml", render_vars, tmp_path)
    assert rc == 0, err
    assert len(task_result(rendered, "Render the Dockerfiles")["added"]) == 16
    git("add", "render")
    git("commit", "-qm", "render tiny")
    head = git("rev-parse", "HEAD")
    rc, result, err = ansible_playbook("plan.yml", {
        "buildfarm_family": family, "buildfarm_parents_library": str(FIXTURES / "parents"),
        "buildfarm_render_out": "render", "buildfarm_library_out": "library/tiny"}, tmp_path)
    assert rc == 0, err
    text = (tmp_path / "library" / "tiny").read_text()  # relative paths are relative to the current directory
    assert text.count("GitCommit: %s" % head) == 16
    entries = task_result(result, "Plan the family and write its library file")["plan"]["entries"]
    assert {e["git_commit"] for e in entries} == {head}


@pytest.mark.parametrize("playbook, extra, missing", [
    ("plan.yml", {"buildfarm_library_out": "/tmp/never-written"}, "buildfarm_family"),
    ("plan.yml", {"buildfarm_family": "families/python"}, "buildfarm_library_out"),
    ("render.yml", {"buildfarm_family": "families/python"}, "buildfarm_render_out"),
    ("render.yml", {"buildfarm_render_out": "/tmp/never-written"}, "buildfarm_family"),
])
def test_missing_variable_is_a_clear_error(playbook, extra, missing):
    rc, result, stderr = ansible_playbook(playbook, extra)
    assert rc != 0, stderr
    failed = task_result(result, "Check the required variables")
    assert failed["failed"] is True
    assert "%s=(missing)" % missing in failed["msg"]
    assert not pathlib.Path("/tmp/never-written").exists()
