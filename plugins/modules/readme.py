#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: readme
short_description: Write the generic and per-architecture READMEs of an image repository
version_added: 0.1.0
description:
  - Renders the README of a repository in the docker-library/docs format from its library file (or from its
    entries given as data), with the generated-file warning, the per-architecture note, the quick reference, the
    supported Simple and Shared tags with links to their Dockerfiles, the supported architectures, then the
    family's own content from C(<family_dir>/docs/).
  - One call writes a whole batch, the generic README and/or one README per architecture, of one repository or,
    with I(families), of several. Everything is rendered (and the input validated) before the first file is
    written; each file is replaced atomically and only when its content or mode changes.
  - Two README formats, as the docker-library/docs templates wrote them. C(2024), the template since 2024-07-05
    and what Docker Hub shows today, follows every simple-tag entry and every shared-tag group with a blank line;
    C(2019), the template of 2019-09-13 .. 2024-07-05, writes them one line after the other.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Reports which files would change, writes nothing.
  diff_mode:
    support: full
    description: Shows the changes of each README.
options:
  library_file:
    description:
      - The library file to document. Mutually exclusive with I(entries) and I(families).
    type: path
  entries:
    description:
      - The entries as data instead of a file, in the shape C(buildfarm.images.library_manifest) returns
        (C(tags), C(shared_tags), C(architectures), C(git_repo), C(git_commit), C(directory), C(file),
        C(arch_overrides) ...). Needs I(name). Mutually exclusive with I(families).
    type: list
    elements: dict
  families:
    description:
      - Several repositories in one call (a release's families), each written to its own I(dest_dir) as
        C(README.md) and C(README.<arch>.md); I(generic), I(architectures), I(format) and I(mode) apply to every
        one. Mutually exclusive with I(library_file), I(entries), I(name), I(family_dir), I(dest) and I(dest_dir).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The repository name, for example C(python).
        type: str
        required: true
      entries:
        description:
          - Its entries as data, in the shape I(entries) takes (a release plan's entries).
        type: list
        elements: dict
        required: true
      family_dir:
        description:
          - The family folder whose C(docs/) sub-folder holds its README content (see I(family_dir) above).
        type: path
      dest_dir:
        description:
          - The folder its READMEs are written to. Created if missing.
        type: path
        required: true
  format:
    description:
      - The README format; C(2024) is the docs template of today, C(2019) the one of 2019-09-13 .. 2024-07-05.
    type: str
    choices: ["2024", "2019"]
    default: "2024"
  name:
    description:
      - The repository name, for example C(python). Defaults to the base name of I(library_file).
    type: str
  family_dir:
    description:
      - The family folder whose C(docs/) sub-folder holds the README content (C(meta.yml), C(content.md),
        C(variant*.md), C(license.md), C(quick-reference.md)). Without it, or without that sub-folder, the
        README gets default content.
      - C(docs/) and every file read from it must resolve, symlinks followed, inside the family folder; a symlink
        out of it fails naming it (a family is data anyone may propose).
    type: path
  generic:
    description:
      - Write the generic README (every entry, links to each entry's amd64 build or else its first
        architecture).
    type: bool
    default: true
  architectures:
    description:
      - Write one per-architecture README for each of these bashbrew architectures (only the entries with that
        architecture; an architecture without entries gets the "not supported" warning).
    type: list
    elements: str
    default: []
  dest:
    description:
      - The file to write when exactly one README is requested. Mutually exclusive with I(dest_dir).
      - A I(dest) (or I(dest_dir)) below a regular file, or a README path that is a folder, fails naming it before
        any README is written.
      - One of I(dest) and I(dest_dir) is required unless I(families) is given.
    type: path
  dest_dir:
    description:
      - The folder to write the READMEs to, as C(README.md) (generic) and C(README.<arch>.md). Created if missing.
    type: path
  mode:
    description:
      - Permissions of the written files, as an octal string such as C("0644") (an integer is taken as the mode
        itself, which is what YAML makes of an unquoted C(0644)).
      - At most C("0777"); setuid, setgid and sticky bits fail naming the value before anything is written.
    type: raw
    default: "0644"
"""

EXAMPLES = r"""
- name: Generic and per-architecture READMEs of the python repository
  buildfarm.images.readme:
    library_file: "{{ buildfarm_library_out }}"
    family_dir: families/python
    architectures: [amd64, arm64v8, s390x, windows-amd64]
    dest_dir: artifacts/docs/python

- name: The amd64 README only, into one file
  buildfarm.images.readme:
    library_file: library/python
    generic: false
    architectures: [amd64]
    dest: artifacts/docs/amd64-python-README.md

- name: The README format of 2019-09-13 .. 2024-07-05
  buildfarm.images.readme:
    library_file: library/python
    format: "2019"
    dest: artifacts/docs/python-README.md

- name: Every family of a release in one call
  buildfarm.images.readme:
    families:
      - name: busybox
        entries: "{{ busybox_plan.entries }}"
        family_dir: families/busybox
        dest_dir: artifacts/docs/busybox
      - name: python
        entries: "{{ python_plan.entries }}"
        family_dir: families/python
        dest_dir: artifacts/docs/python
    architectures: [amd64, arm64v8]

- name: From entries as data (for example a release plan)
  buildfarm.images.readme:
    name: busybox
    entries:
      - tags: ["1.35.0-glibc", "1.35-glibc"]
        shared_tags: ["1.35.0", "1.35", "latest"]
        architectures: [amd64, arm64v8]
        git_repo: https://example.com/buildfarm/images.git
        git_commit: 0123456789abcdef0123456789abcdef01234567
        directory: 1.35/glibc
    family_dir: families/busybox
    dest: artifacts/docs/busybox-README.md
"""

RETURN = r"""
readmes:
  description: Every README of the batch.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The repository the README is of.
      type: str
    arch:
      description: The architecture, or null for the generic README.
      type: str
    path:
      description: Where it is written.
      type: str
    changed:
      description: Whether the file was (or in check mode would be) written.
      type: bool
  sample:
    - name: python
      arch: null
      path: artifacts/docs/python/README.md
      changed: true
    - name: python
      arch: amd64
      path: artifacts/docs/python/README.amd64.md
      changed: false
families:
  description: With I(families), one result per family, in order.
  returned: when families is given
  type: list
  elements: dict
  contains:
    name:
      description: The repository name.
      type: str
    changed:
      description: Whether any of its READMEs was (or would be) written.
      type: bool
    changed_files:
      description: Its READMEs written (or that would be).
      type: list
      elements: str
    readmes:
      description: Its READMEs, as in I(readmes).
      type: list
      elements: dict
  sample:
    - name: busybox
      changed: false
      changed_files: []
      readmes:
        - {name: busybox, arch: null, path: artifacts/docs/busybox/README.md, changed: false}
changed_files:
  description: The paths of the READMEs written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["artifacts/docs/python/README.md"]
"""

from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule
from ansible_collections.buildfarm.images.plugins.module_utils.docs.readme import DEFAULT_FORMAT, FORMATS
from ansible_collections.buildfarm.images.plugins.module_utils.docs.readme_batch import run_batch


def main() -> None:
    module = BuildfarmModule(
        argument_spec=dict(
            library_file={"type": "path"},
            entries={"type": "list", "elements": "dict"},
            families={"type": "list", "elements": "dict", "options": dict(
                name={"type": "str", "required": True},
                entries={"type": "list", "elements": "dict", "required": True},
                family_dir={"type": "path"},
                dest_dir={"type": "path", "required": True},
            )},
            format={"type": "str", "choices": list(FORMATS), "default": DEFAULT_FORMAT},
            name={"type": "str"},
            family_dir={"type": "path"},
            generic={"type": "bool", "default": True},
            architectures={"type": "list", "elements": "str", "default": []},
            dest={"type": "path"},
            dest_dir={"type": "path"},
            mode={"type": "raw", "default": "0644"},
        ),
        mutually_exclusive=[("library_file", "entries", "families"), ("dest", "dest_dir"),
                            ("families", "name"), ("families", "family_dir"), ("families", "dest"),
                            ("families", "dest_dir")],
        required_one_of=[("library_file", "entries", "families")],
        required_by={"entries": "name"},
    )
    # the batch (every README rendered and checked before the first is written) is docs/readme_batch.py's
    module.run(lambda m: run_batch(m.params, check_mode=m.check_mode))


if __name__ == "__main__":
    main()
