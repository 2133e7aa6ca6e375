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
