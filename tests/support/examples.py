"""Run a module's EXAMPLES as they are documented: the tasks of its EXAMPLES string in one playbook under
ansible-playbook, against inputs a test prepares (files in the folder the play runs in, variables the tasks read).

The tasks are the documented text; what a test may change is stated by the test: `subs` replaces strings of the
EXAMPLES before they are parsed (a path like /var/cache/buildfarm becomes a folder of the test, the documented
registry 127.0.0.1:5000 the test's own), and `skip` names tasks that cannot run here (a Windows host), each with
the reason. Every other task must succeed."""
from __future__ import annotations

import ast
import dataclasses
import json
import pathlib
import sys
from typing import Any

import yaml

from playbook import REPO, run_ansible


def module_examples(name: str) -> str:
    """The EXAMPLES string of plugins/modules/<name>.py, read without importing the module."""
    tree = ast.parse((REPO / "plugins" / "modules" / (name + ".py")).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "EXAMPLES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("plugins/modules/%s.py has no EXAMPLES" % name)


@dataclasses.dataclass
class ExampleRun:
    rc: int
    results: list[tuple[str, dict]]  # (task name, the host's result), in order
    output: str

    def result(self, name: str) -> dict:
        for task, res in self.results:
            if task == name:
                return res
        raise AssertionError("no task %r ran: %s" % (name, [task for task, _res in self.results]))


def run_examples(module: str, cwd: pathlib.Path, variables: dict | None = None, subs: dict | None = None,
                 skip: dict | None = None, check: bool = False, host: str = "localhost",
                 hosts: dict | None = None, groups: dict | None = None) -> ExampleRun:
    """Play `module`'s EXAMPLES on `host` (a local connection) in `cwd`. `skip`: task name -> why it cannot run
    here. `hosts`: further inventory hosts and their variables (for hostvars lookups); `groups`: group -> hosts."""
    text = module_examples(module)
    for old, new in (subs or {}).items():
        assert old in text, "%s's EXAMPLES no longer contain %r: update the test" % (module, old)
        text = text.replace(old, new)
    tasks = yaml.safe_load(text)
    names = [t.get("name") for t in tasks]
    for name in skip or {}:
        assert name in names, "%s's EXAMPLES have no task %r to skip" % (module, name)
    tasks = [t for t in tasks if t.get("name") not in (skip or {})]
    assert tasks, "%s: every example skipped" % module
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory_hosts = {host: dict(local)}
    for other, hv in (hosts or {}).items():
        inventory_hosts[other] = dict(local, **hv)
    inventory = {"all": {"hosts": inventory_hosts,
                         "children": {g: {"hosts": {h: {} for h in members}} for g, members in (groups or {}).items()}}}
    inv = cwd / ".examples-inventory.json"
    inv.write_text(json.dumps(inventory))
    play = [{"name": "EXAMPLES of buildfarm.images.%s" % module, "hosts": host, "gather_facts": False,
             "vars": variables or {}, "tasks": tasks}]
    # the play sits in the folder it runs in, as a project's playbook does: a module's relative path is relative to
    # both (modules without an action plugin run in the playbook's folder, action plugins in the current one)
    path = cwd / ".examples-play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    args = ["ansible-playbook", "-i", str(inv)] + (["--check"] if check else []) + [str(path)]
    proc = run_ansible(args, cwd=cwd, json_callback=True)
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError("%s's EXAMPLES: no JSON from ansible-playbook (rc=%d): %s %s"
                             % (module, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from None
    results: list[tuple[str, dict]] = []
    for p in doc.get("plays", []):
        for t in p.get("tasks", []):
            results.append((t["task"]["name"], t["hosts"].get(host, {})))
    return ExampleRun(proc.returncode, results, proc.stdout[-6000:] + proc.stderr[-3000:])


def assert_all_ran(run: ExampleRun, module: str, skipped: dict | None = None) -> None:
    """Every documented task (but the skipped ones) ran on the host and none failed."""
    names = [t.get("name") for t in yaml.safe_load(module_examples(module)) if t.get("name") not in (skipped or {})]
    ran = [name for name, _res in run.results]
    assert ran == names, "%s's EXAMPLES: ran %s, documented %s\n%s" % (module, ran, names, run.output)
    for name, res in run.results:
        assert not res.get("failed") and not res.get("skipped"), "%s / %r: %s" % (module, name, _short(res))
    assert run.rc == 0, run.output


def _short(res: dict[str, Any]) -> str:
    return json.dumps({k: res[k] for k in ("msg", "errors", "exception", "stderr") if k in res})[:3000]
