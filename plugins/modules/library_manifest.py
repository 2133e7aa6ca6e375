#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: library_manifest
short_description: Read and validate an official-images library file
version_added: 0.1.0
description:
  - Parses a bashbrew library file (the official-images C(library/<repo>) format) and checks it. Every problem
    is reported with the file, line, field and value it concerns; the task fails listing them all
    unless I(fail_on_error=false).
  - Checks a global Maintainers, no Tags in the global paragraph, tag syntax C(^\w[\w.-]{0,127}$), no tag used
    twice, known architectures (also in C(<arch>-Field) overrides), GitCommit of 40 or 64 hex digits, GitFetch
    C(refs/heads/...) or C(refs/tags/...), no unknown fields, C(Directory) and C(File) (and their
    C(<arch>-Directory), C(<arch>-File) overrides) relative paths that stay inside the repository (no C(..), no
    absolute path, no backslash), and no two entries of one architecture under one shared tag (Windows entries
    with different Constraints excepted).
  - A file that is not UTF-8 text fails naming the line and the bytes at fault.
  - Returns the entries with their effective values and the shared-tag groups.
author: buildfarm.images contributors (@buildfarm)
extends_documentation_fragment:
  - buildfarm.images.attributes.info_module
options:
  library_file:
    description:
      - The library file, for example C(library/python).
    type: path
    required: true
    aliases: [path]
  fail_on_error:
    description:
      - Fail the task when the file has validation errors. With C(false) the errors are returned in I(errors).
      - Syntax errors (a line that is no field, a field given twice in a paragraph) always fail.
    type: bool
    default: true
    aliases: [fail_on_errors]
"""

EXAMPLES = r"""
- name: Check the generated library file before anything is built from it
  buildfarm.images.library_manifest:
    library_file: "{{ buildfarm_library_out }}"
  register: buildfarm_library

- name: Every architecture the release builds
  ansible.builtin.debug:
    msg: "{{ buildfarm_library.architectures }}"

- name: Collect the problems of a hand-edited file instead of failing
  buildfarm.images.library_manifest:
    library_file: library/python
    fail_on_error: false
  register: buildfarm_library_check
"""

RETURN = r"""
name:
  description: The repository name (the file's base name).
  returned: always
  type: str
  sample: python
maintainers:
  description: The global Maintainers.
  returned: always
  type: list
  elements: str
global_fields:
  description: The global paragraph, field name to value.
  returned: always
  type: dict
  sample: {"Maintainers": "Tianon Gravi <admwiggin@gmail.com> (@tianon)", "GitRepo": "https://github.com/docker-library/python.git"}
architectures:
  description: Every architecture of any entry, sorted.
  returned: always
  type: list
  elements: str
entries:
  description: The entries in file order, with effective values (the entry's, else the global default).
  returned: always
  type: list
  elements: dict
  contains:
    line:
      description: Line of the entry's first field.
      type: int
    tags:
      description: Tags.
      type: list
      elements: str
    shared_tags:
      description: SharedTags.
      type: list
      elements: str
    architectures:
      description: Architectures.
      type: list
      elements: str
    git_repo:
      description: GitRepo.
      type: str
    git_fetch:
      description: GitFetch (empty when not set).
      type: str
    git_commit:
      description: GitCommit.
      type: str
    directory:
      description: Directory (default C(.)).
      type: str
    file:
      description: File (default C(Dockerfile)).
      type: str
    builder:
      description: Builder (empty when not set).
      type: str
    constraints:
      description: Constraints.
      type: list
      elements: str
    arch_overrides:
      description: Per-architecture values that differ from the entry's own, architecture to field to value.
      type: dict
  sample:
    - line: 7
      tags: ["3.9.0-buster", "3.9-buster", "3-buster", "buster"]
      shared_tags: ["3.9.0", "3.9", "3", "latest"]
      architectures: ["amd64", "arm64v8"]
      git_repo: https://github.com/docker-library/python.git
      git_fetch: ""
      git_commit: ed08d468b219d19de869ba669bc4e91e2dc00cb3
      directory: 3.9/buster
      file: Dockerfile
      builder: ""
      constraints: []
      arch_overrides: {}
shared_tag_groups:
  description: Shared tags with identical entry sets, in order of first appearance; entries by their first tag.
  returned: always
  type: list
  elements: dict
  contains:
    tags:
      description: The shared tags of the group.
      type: list
      elements: str
    entries:
      description: First tag of each entry in the group.
      type: list
      elements: str
  sample:
    - tags: ["3.9.0", "3.9", "3", "latest"]
      entries: ["3.9.0-buster", "3.9.0-windowsservercore-1809"]
errors:
  description: Validation errors (empty when the file is valid).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The file.
      type: str
    line:
      description: The line.
      type: int
    field:
      description: The field.
      type: str
    value:
      description: The offending value.
      type: str
    message:
      description: What is wrong.
      type: str
    msg:
      description: All of the above in one sentence.
      type: str
valid:
  description: Whether the file has no validation errors.
  returned: always
  type: bool
"""

from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule
from ansible_collections.buildfarm.images.plugins.module_utils.library.library_summary import library_summary

ARGUMENT_SPEC = dict(
    library_file={"type": "path", "required": True, "aliases": ["path"]},
    fail_on_error={"type": "bool", "default": True, "aliases": ["fail_on_errors"]},
)


def work(module: BuildfarmModule) -> dict:
    result = library_summary(module.params["library_file"])
    if result.get("errors") and not result.get("failed") and module.params["fail_on_error"]:
        result.update(failed=True, msg="; ".join(e["msg"] for e in result["errors"]))
    return result


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC).run(work)


if __name__ == "__main__":
    main()
