#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: release_report
short_description: Write the release report (Markdown, JSON and an HTML page) of a release run
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
  - Also writes C(release-report.html), one self-contained page (styles inline, no script, no network) to open
    from the file system - a summary (result, images built / unchanged / failed / skipped, the lists created /
    updated / unchanged, each builder with its architecture, engine and time, the total time, each failure with
    its host), what changed since the previous release, and per repository a matrix of tags by architecture
    (each member's status as a word, a symbol and a colour, its short digest, its verification and attestations
    where known) with each image's build, test and push times and size, and links to the repository's READMEs
    and library file written in I(dest_dir).
  - "What changed: the previous run's C(release-report.json) in I(dest_dir) (else the newest kept in the
    history) is compared with this one: tags added and removed, members whose digest changed (old -> new), lists
    whose digest changed, the images rebuilt and why (the recipe's revision or commit, a parent, a source, else
    the input digest), or nothing changed."
  - "History: the last I(history) reports are kept as C(history/<time>.json) and C(.html) (UTC, for example
    C(history/20261207T011542Z.html)) with C(history/index.html) listing them; older ones are removed (only files
    named so)."
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
    description:
      - The release's families, release_prepare's C(families) (C(name), C(entries), C(revision), C(sources) ...),
        each parsed as the release bundle's family record; a malformed one fails naming C(release[n]), the field
        and the value.
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
  verified:
    description:
      - The verify stage's results, shown per member (tag x architecture) on the page and kept in the JSON; none
        by default (the page then shows each member's attestation digest where the push gave one).
      - "One item per member: C(repository) (C(python), C(library/python) or a full reference), C(tag), C(arch)
        (bashbrew name), C(ok) (bool: the member verified), C(sbom) and C(provenance) (bool: the attestation
        holds it) and C(message) (why it failed). Items may also group members under C(members) (items with
        C(arch)) or tags under C(tags) (items with C(tag)); unreadable items are left out."
      - Or the verify stage's whole result (a mapping whose C(tags) are items with C(repository), C(tag) and
        C(members)).
    type: raw
    default: []
  builder_facts:
    description:
      - Host -> facts of the builder shown on the page, C(emulated) (bool) and C(native) (the host's own
        architecture). The action plugin reads them from the hostvars (C(buildfarm_emulated),
        C(buildfarm_builder_arch.native)) when I(builders) is a list.
    type: dict
    default: {}
  started:
    description:
      - When the release began (RFC 3339 UTC), for the total time; by default the earliest stage time the builders
        reported.
    type: str
    default: ""
  history:
    description:
      - How many reports are kept in C(history/) (this one included); older ones are removed. C(0) keeps no
        history (nothing written or removed there). The release playbook passes C(buildfarm_report_history).
    type: int
    default: 20
"""

EXAMPLES = r"""
- name: Write the release report (each builder's architecture and result read from its hostvars)
  buildfarm.images.release_report:
    release: "{{ buildfarm_release.families }}"
    builders: "{{ groups['builders'] }}"
    published: "{{ buildfarm_published.repositories }}"
    dest_dir: artifacts
  register: buildfarm_report

- name: Write a report from results given as data
  buildfarm.images.release_report:
    release: "{{ buildfarm_release.families }}"
    builders: {builder-amd64: amd64, builder-arm64v8: arm64v8}
    results: "{{ buildfarm_results }}"
    published: {busybox: "{{ buildfarm_published_busybox.lists }}"}
    dest_dir: artifacts/by-hand
    history: 5

- name: Show where the page is and the one-line summary
  ansible.builtin.debug:
    msg: "{{ buildfarm_report.page }}: {{ buildfarm_report.headline }}"
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
  description: The Markdown and JSON report files written (none in check mode).
  returned: always
  type: list
  elements: str
page:
  description: The HTML page, C(<dest_dir>/release-report.html) (written unless in check mode).
  returned: always
  type: str
headline:
  description: The one-line summary (result, image counts, lists, changes, total time).
  returned: always
  type: str
  sample: "Release complete: 3 built, 26 unchanged, 0 failed, 0 skipped; lists: 2 updated, 27 unchanged;
    since the previous release: 2 digests changed, 3 images rebuilt; took 4m12s."
history:
  description: The history kept, C(dir), C(index) (its C(index.html)), C(name) (this report's time stamp, empty
    when I(history=0)), C(kept) (stamps, newest first) and C(removed) (files removed).
  returned: always
  type: dict
changes:
  description: What changed since the previous release (the JSON's C(changes), see I(report)).
  returned: always
  type: dict
markdown:
  description: The Markdown report.
  returned: always
  type: str
report:
  description:
    - The JSON report (architectures, rows with per-architecture cells and what was published), with, since the
      HTML page, the page's data.
    - "C(images): one item per planned image (entry x architecture): C(repository), C(key), C(arch), C(host),
      C(status) (as the cells, C(pulled) for an unchanged image taken from the registry), C(error), C(builder),
      C(image_id), C(input_digest), C(pulled), C(parents), C(size) (bytes or null), C(revision), C(git_commit),
      C(version), C(sources), C(build) / C(test) / C(push) (C(started), C(finished), C(seconds); the test also
      C(passed), C(cached), C(failed_tests); the push C(ok)) and C(tags) (per tag C(tag), C(push), C(digest),
      C(image_digest), C(attestation_digest), C(verified): null or C(ok), C(sbom), C(provenance), C(message))."
    - "C(builders): per builder C(host), C(arch), C(ok), C(error), C(reported), C(emulated), C(native),
      C(engines), C(images), C(started), C(finished), C(seconds). C(failures): per failure C(host), C(arch),
      C(key), C(stage) (C(builder), C(build), C(test), C(push), C(publish)) and C(message)."
    - "C(counts) (C(built), C(unchanged), C(failed), C(skipped), C(other)), C(lists) (action -> repo:tag),
      C(times) (C(started), C(finished), C(seconds) of the release), C(generated) (the report's time),
      C(headline)."
    - "C(changes): C(previous) (null for a first report, else C(generated), C(file), C(ok)), C(tags_added),
      C(tags_removed) (C(repository), C(tag)), C(digests_changed), C(members_added), C(members_removed)
      (C(repository), C(tag), C(arch), C(old), C(new)), C(lists_changed), C(rebuilt) (C(repository), C(key),
      C(arch), C(old_input_digest), C(new_input_digest), C(reasons)), C(nothing_changed), C(not_done) (what
      did not get done, e.g. C(1 image failed)), C(last_digests) (C(repository), C(tag), C(arch), C(digest): the
      digest a member's tag still holds when the member has none in this report, so the next report compares
      against it) and C(summary)."
  returned: always
  type: dict
"""

from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule
from ansible_collections.buildfarm.images.plugins.module_utils.release.report_writer import write_report


def main() -> None:
    module = BuildfarmModule(
        argument_spec=dict(
            release=dict(type="list", elements="dict", required=True),
            builders=dict(type="raw", required=True),
            results=dict(type="dict", default={}),
            errors=dict(type="dict", default={}),
            published=dict(type="raw", default={}),
            dest_dir=dict(type="path", required=True, aliases=["dest"]),
            verified=dict(type="raw", default=[]),
            builder_facts=dict(type="dict", default={}),
            started=dict(type="str", default=""),
            history=dict(type="int", default=20),
        ),
    )
    # the report made, compared, rendered and written (every target checked first): release/report_writer.py
    module.run(lambda m: write_report(m.params, check_mode=m.check_mode))


if __name__ == "__main__":
    main()
