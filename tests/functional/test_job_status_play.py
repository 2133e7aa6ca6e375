"""The build role's progress loop (roles/build/tasks/progress.yml, one buildfarm.images.job_status task a round)
under ansible-playbook, following real async jobs on two local hosts: each round shows the job's status line, the
loop ends with the job (its later rounds skipped, the next stage's loop not), and a host whose job ended early
stops polling while the other's continues."""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]

# the shell lines write JSON with Jinja in it, through str.format: {{ }} is a brace, {{{{ }}}} Jinja's
PLAY = """
- name: Follow two stages of background jobs
  hosts: all
  gather_facts: false
  tasks:
    - name: Start a job that writes a status file like the farm's modules
      ansible.builtin.shell: |
        h={{{{ inventory_hostname }}}}
        printf '{{"summary": "%s stage one running", "stage": "building"}}' $h > {tmp}/$h.json
        sleep {{{{ 6 if inventory_hostname == 'slow' else 0 }}}}
        printf '{{"summary": "%s stage one done", "finished": true}}' $h > {tmp}/$h.json
      async: 120
      poll: 0
      register: one
      changed_when: false

    - name: Follow stage one
      ansible.builtin.include_tasks: {repo}/roles/build/tasks/progress.yml
      vars:
        buildfarm_build_progress_jid: "{{{{ one.ansible_job_id }}}}"
        buildfarm_build_progress_status_file: "{tmp}/{{{{ inventory_hostname }}}}.json"

    - name: Start stage two
      ansible.builtin.shell: |
        h={{{{ inventory_hostname }}}}
        printf '{{"summary": "%s stage two done"}}' $h > {tmp}/$h-2.json
      async: 120
      poll: 0
      register: two
      changed_when: false

    - name: Follow stage two
      ansible.builtin.include_tasks: {repo}/roles/build/tasks/progress.yml
      vars:
        buildfarm_build_progress_jid: "{{{{ two.ansible_job_id }}}}"
        buildfarm_build_progress_status_file: "{tmp}/{{{{ inventory_hostname }}}}-2.json"
"""


def test_progress_loop_follows_async_jobs(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(tmp=tmp_path, repo=REPO))
    inventory = tmp_path / "hosts.yml"
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    inventory.write_text(json.dumps({"all": {"hosts": {"slow": local, "quick": local}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_FORCE_COLOR="0",
               PATH="%s:%s" % (REPO / ".venv/bin", os.environ.get("PATH", "")))
    run = subprocess.run(["ansible-playbook", "-i", str(inventory), str(play)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "failed=0" in out
    # every answer is shown without -v, as debug's
    assert "msg: slow stage one running" in out or "msg: slow stage one done" in out, out
    assert "msg: quick stage one done" in out and "msg: slow stage one done" in out, out
    assert "msg: slow stage two done" in out and "msg: quick stage two done" in out, out
    # the quick host stops polling once its job ended, the slow one goes on (its 6 s job, 25 s rounds: one more)
    rounds = out.split("TASK [Show what the builder is doing]")
    assert len(rounds) - 1 == 20, "ten rounds a stage, no nested level (both jobs end in the first)"
    answered = [r for r in rounds[1:11] if re.search(r"ok: \[slow\]", r)]
    assert 1 <= len(answered) <= 2 and all("skipping: [quick]" in r for r in rounds[2:11]), out
    # the second stage's first round answers for both hosts: the first stage's fact does not skip it
    assert "ok: [slow]" in rounds[11] and "ok: [quick]" in rounds[11] and "skipping" not in rounds[11], out
    assert "DEPRECATION" not in out + run.stderr
