#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: release_report
short_description: Write the release report (Markdown and JSON) of a release run
version_added: 0.1.0
description:
  - One row per tag (the entries' tags and shared tags), one column per architecture with the builder's status
    (C(built), C(unchanged), C(failed), C(skipped), C(unreachable), C(unroutable), C(not-built)) and the pushed
    digest, and a
    column with what was published (the manifest list's action and digest).
  - Lists the builders that failed or never reported, with their failed entries.
  - Lists the entries no builder can build (a Windows builder's result names them under C(unroutable), with the
    reason); their cells read C(unroutable).
  - Writes C(release-report.md) and C(release-report.json) into I(dest_dir) atomically. A I(dest_dir) below a
    regular file, or a report file that is a folder, fails naming it before anything is written.
  - The report records a run; writing it is not a change of the farm, so the module reports C(changed=false)
    and an unchanged release stays at changed=0.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Writes nothing; returns the Markdown.
  diff_mode:
    support: none
    description: The report is returned whole.
options:
  release:
    description: The release, items with C(name) and C(entries) (release_plan's C(plan.entries)).
    type: list
    elements: dict
    required: true
  builders:
    description:
      - Every builder host of the inventory -> its architecture.
      - Or the list of builder hosts (C(groups['builders'])); the action plugin then reads each host's architecture
        (C(buildfarm_arch)) and, unless I(results) is given, its C(buildfarm_build_result) from the hostvars.
    type: raw
    required: true
  results:
    description: Host -> the build role's C(buildfarm_build_result); hosts missing here never reported.
    type: dict
    default: {}
  errors:
    description: Host -> why it failed before recording a result (the release playbook's rescue); the action plugin
      reads C(buildfarm_build_error) from the hostvars.
    type: dict
    default: {}
  published:
    description:
      - Repository name -> the C(lists) result of M(buildfarm.images.manifest_list).
      - Or the C(repositories) result of one batch call of M(buildfarm.images.manifest_list) (a list of items with
        C(repository) and C(lists)).
    type: raw
    default: {}
  dest_dir:
    description:
      - Folder of the report files. Created if missing.
      - A relative path resolves against the directory C(ansible-playbook) runs in.
    type: path
    required: true
    aliases: [dest]
"""

EXAMPLES = r"""
- name: Write the release report (each builder's architecture and result read from its hostvars)
  buildfarm.images.release_report:
    release: "{{ buildfarm_release.families }}"
    builders: "{{ groups['builders'] }}"
    published: "{{ buildfarm_published.repositories }}"
    dest_dir: artifacts

- name: Write a report from results given as data
  buildfarm.images.release_report:
    release: "{{ buildfarm_release.families }}"
    builders: {builder-amd64: amd64, builder-arm64v8: arm64v8}
    results: "{{ buildfarm_results }}"
    published: {busybox: "{{ buildfarm_published_busybox.lists }}"}
    dest_dir: artifacts/by-hand
"""

RETURN = r"""
ok:
  description: True when every builder reported without failures and nothing failed to publish.
  returned: always
  type: bool
summary:
  description: One sentence per failed builder naming it and why (empty when none failed).
  returned: always
  type: str
failed_hosts:
  description: Builder -> why it failed.
  returned: always
  type: dict
failed_entries:
  description: Builder -> keys of its failed entries.
  returned: always
  type: dict
files:
  description: The files written (none in check mode).
  returned: always
  type: list
  elements: str
markdown:
  description: The Markdown report.
  returned: always
  type: str
report:
  description: The JSON report (architectures, rows with per-architecture cells and what was published).
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import (
    TextFileError,
    check_target,
    write_text,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.release_report import (
    build_report,
    markdown,
    render_files,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            release=dict(type="list", elements="dict", required=True),
            builders=dict(type="raw", required=True),
            results=dict(type="dict", default={}),
            errors=dict(type="dict", default={}),
            published=dict(type="raw", default={}),
            dest_dir=dict(type="path", required=True, aliases=["dest"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    published = p["published"] or {}
    if isinstance(published, list):  # manifest_list's batch result
        published = {str(r.get("repository", "")).rsplit("/", 1)[-1]: r.get("lists") or [] for r in published}
    if not isinstance(p["builders"], dict) or not isinstance(published, dict):
        module.fail_json(msg="release_report: builders must be a mapping host -> architecture (or a list of hosts, "
                             "through the action plugin) and published a mapping or a list (value types: %s, %s)"
                         % (type(p["builders"]).__name__, type(published).__name__))
    try:
        report = build_report(p["release"], p["builders"], p["results"], published, p["errors"])
    except (KeyError, TypeError, ValueError) as exc:
        module.fail_json(msg="release_report: malformed input: %s: %s" % (type(exc).__name__, exc))
    files = []
    rendered = {os.path.join(p["dest_dir"], name): text for name, text in render_files(report).items()}
    try:
        # both files are checked before the first is written: a bad dest_dir fails naming it, in check mode too
        for path in rendered:
            check_target(path, "dest_dir")
        if not module.check_mode:
            for path, text in rendered.items():
                write_text(path, text, 0o644, field="dest_dir")
                files.append(path)
    except TextFileError as exc:
        module.fail_json(msg=str(exc), file=exc.file, field=exc.field, value=str(exc.value))
    except OSError as exc:
        module.fail_json(msg="%s: field dest_dir: cannot be written: %s" % (exc.filename, exc.strerror),
                         file=exc.filename, field="dest_dir", value=p["dest_dir"])
    summary = " ".join("%s: %s." % (h, why) for h, why in sorted(report.failed_hosts.items()))
    module.exit_json(changed=False, ok=report.ok, summary=("Failed builders: " + summary) if summary else "",
                     failed_hosts=report.failed_hosts,
                     failed_entries=report.failed_entries, files=files, markdown=markdown(report),
                     report=report.as_dict())


if __name__ == "__main__":
    main()
