#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: job_status
short_description: Wait a while for a background job and say what it is doing
version_added: 0.1.0
description:
  - Follows a job started with C(async) and C(poll=0) (M(buildfarm.images.image_build), M(buildfarm.images.image_test),
    M(buildfarm.images.image_push)) - waits up to O(timeout) seconds for it to end, then returns whether it ended
    and the one-line summary of the status file its module writes (which entries it is building, testing or
    pushing and for how long).
  - One task per round of a polling loop instead of a M(ansible.builtin.wait_for), an M(ansible.builtin.async_status),
    an M(ansible.builtin.slurp) and a M(ansible.builtin.debug) - a round is what the play costs a builder whose CPU is
    compiling, so it is one short-lived module run every O(timeout) seconds.
  - The job's end is read from its Ansible results file, not from the status file, so a module killed before it
    could write its status still ends the loop. The job's result itself is M(ansible.builtin.async_status)'s to get.
  - The result is always shown, like M(ansible.builtin.debug)'s (its C(msg) is the summary), and once the job has
    ended the module sets the fact C(ansible_facts.buildfarm_job_status_finished) to its id, for the loop's
    remaining rounds to skip with a C(when) (a skipped task's registered result would hide it).
author: buildfarm.images contributors (@buildfarm)
attributes:
  action:
    support: full
    description: The action plugin gives O(async_dir) and shows the result without C(-v).
  platform:
    support: full
    platforms: posix
    description: Runs on the builder that runs the job.
extends_documentation_fragment:
  - buildfarm.images.attributes.info_module
options:
  jid:
    description: The job's id, C(ansible_job_id) of the task that started it.
    type: str
    required: true
  status_file:
    description:
      - The status file the job's module writes (its O(buildfarm.images.image_build#module:status_file)).
      - Without it, or while the job has not written it yet, the summary only says whether the job is running.
    type: path
  timeout:
    description:
      - Seconds to wait for the job to end before answering. A job that has already ended is answered at once.
      - The play's output shows a line per answer, so this is also the longest silence of a polling loop.
    type: int
    default: 25
  async_dir:
    description:
      - The folder of the job's Ansible results file.
      - Without it, the shell's C(async_dir) (the default unless configured), where the job's C(async) wrote it and
        M(ansible.builtin.async_status) reads it.
    type: path
    default: ~/.ansible_async
notes:
  - The job must run on the same host as this task, as for M(ansible.builtin.async_status).
seealso:
  - module: ansible.builtin.async_status
"""

EXAMPLES = r"""
- name: Start building the share
  buildfarm.images.image_build:
    release: /var/lib/buildfarm/release.tar
    work_dir: /var/lib/buildfarm
    arch: amd64
    registry: 127.0.0.1:5000
    status_file: /var/lib/buildfarm/image_build.status.json
  async: 21600
  poll: 0
  register: build_job

# repeat this task (import_tasks of a file holding it, several times) until the fact says the job ended
- name: Follow the build
  buildfarm.images.job_status:
    jid: "{{ build_job.ansible_job_id }}"
    status_file: /var/lib/buildfarm/image_build.status.json
    timeout: 25
  when: ansible_facts.buildfarm_job_status_finished | default('') != build_job.ansible_job_id

- name: Get the build's result
  ansible.builtin.async_status:
    jid: "{{ build_job.ansible_job_id }}"
  register: build
"""

RETURN = r"""
msg:
  description: The job's summary line (what it is doing on which host, for how long), as the play shows it.
  returned: always
  type: str
  sample: "builder-amd64 (amd64), 3m05s; building python:3.13-slim-trixie (2m58s); done: debian:trixie-slim
    unchanged in 0s"
finished:
  description: Whether the job has ended (successfully or not).
  returned: always
  type: bool
  sample: false
ansible_facts:
  description: C(buildfarm_job_status_finished), the job's id, once it has ended.
  returned: when finished
  type: dict
  sample: {"buildfarm_job_status_finished": "j123456789.4242"}
"""

from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import job_status
from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule

ARGUMENT_SPEC = dict(
    jid=dict(type="str", required=True),
    status_file=dict(type="path"),
    timeout=dict(type="int", default=25),
    # the action plugin gives the shell's when the task does not
    async_dir=dict(type="path", default="~/.ansible_async"),
)


def work(module: BuildfarmModule) -> dict:
    p = module.params
    return job_status(p["async_dir"], p["jid"], p["status_file"] or "", p["timeout"])


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC).run(work)


if __name__ == "__main__":
    main()
