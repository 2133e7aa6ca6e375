"""Run one of the collection's playbooks with ansible-playbook (a real subprocess, the repo's ansible.cfg) and
return its JSON-callback result."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def ansible_playbook(playbook: str, extra_vars: dict, cwd: pathlib.Path = REPO, *args: str) -> tuple[int, dict, str]:
    """(return code, JSON result, stderr)."""
    env = dict(os.environ,
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               PWD=str(cwd),
               PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    cmd = ["ansible-playbook", str(REPO / "playbooks" / playbook)]
    for k, v in extra_vars.items():
        cmd += ["-e", json.dumps({k: v})]
    proc = subprocess.run(cmd + list(args), cwd=str(cwd), env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def task_result(result: dict, task_name: str) -> dict:
    for play in result["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == task_name:
                return task["hosts"]["localhost"]
    raise KeyError(task_name)


def run_ansible(repo_root: pathlib.Path, tmp_path: pathlib.Path, args, play=None, extra_vars=None):
    """Run an ansible command (e.g. ansible-playbook ...) with the repo's settings and the default callback in
    JSON format; `play` is written to tmp_path/play.yml and appended, `extra_vars` passed as a vars file."""
    import yaml

    env = dict(
        os.environ,
        PATH="%s:%s" % (repo_root / ".venv" / "bin", os.environ.get("PATH", "")),
        ANSIBLE_CONFIG=str(repo_root / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(repo_root / ".collections"),
        ANSIBLE_ROLES_PATH=str(repo_root / "roles"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    cmd = list(args)
    if play is not None:
        path = tmp_path / "play.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        cmd.append(str(path))
    if extra_vars is not None:
        (tmp_path / "vars.json").write_text(json.dumps(extra_vars))
        cmd += ["-e", "@%s" % (tmp_path / "vars.json")]
    return subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True, text=True, check=False, timeout=300)
