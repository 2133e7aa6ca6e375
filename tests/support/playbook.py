"""Run ansible commands (ansible-playbook, ansible) as real subprocesses with the repo's settings, and read the
results of the JSON callback."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
from typing import Sequence

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


def run_ansible(args: Sequence[str], play: list | None = None, extra_vars: dict | None = None,
                cwd: pathlib.Path = REPO, json_callback: bool = False,
                timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``args`` in ``cwd`` with the repo's ansible.cfg, collections and roles. ``play`` is written to a playbook
    appended to the command, ``extra_vars`` passed as JSON. The output is the default callback's with results as
    JSON, or with ``json_callback`` the ansible.posix.json callback's document."""
    env = dict(os.environ,
               PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_ROLES_PATH=str(REPO / "roles"),
               ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json" if json_callback else "default",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               PWD=str(cwd))
    cmd = [str(a) for a in args]
    if extra_vars is not None:
        cmd += ["-e", json.dumps(extra_vars)]
    with tempfile.TemporaryDirectory(prefix="buildfarm-play-") as tmp:
        if play is not None:
            path = os.path.join(tmp, "play.yml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(play, f, sort_keys=False)
            cmd.append(path)
        return subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)


def task_result(result: dict, task_name: str) -> dict:
    for play in result["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == task_name:
                return task["hosts"]["localhost"]
    raise KeyError(task_name)
