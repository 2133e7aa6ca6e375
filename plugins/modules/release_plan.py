#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: release_plan
short_description: Plan the release of an image family and write its library file
version_added: 0.1.0
description:
  - Loads and validates an image family (C(families/<name>/family.yml), its versions file and templates), renders
    its Dockerfiles in memory and plans every library entry the docker-library way (Tags, SharedTags,
    Architectures from the parent image's library file, Directory, Constraints, Builder, GitCommit).
  - Returns the plan that building and publishing consume, and the generated bashbrew library file; with I(dest)
    writes that file atomically, only when its content changes.
  - Bad input (family.yml, versions file, templates, parent library files) fails before anything is written, with
    an error naming the file, the field and the value.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Plans as usual; reports whether I(dest) would change without writing it.
  diff_mode:
    support: full
    description: Shows the library file before and after.
extends_documentation_fragment:
  - buildfarm.images.family
options:
  parents_library:
    description:
      - Folder of the parent images' library files (C(debian), C(buildpack-deps), C(alpine) ...), where the first
        C(FROM) of every Linux entry is looked up to get its architectures.
      - May be left out for a family whose entries are all C(FROM scratch) or Windows.
    type: path
  architectures:
    description:
      - Restrict the release to these bashbrew architectures (those the farm has builders for). Entries keep only
        these; entries left with none are dropped and listed in C(plan.dropped).
      - Left out, every planned architecture is kept.
    type: list
    elements: str
  rendered:
    description:
      - Where the family's Dockerfiles were rendered (by M(buildfarm.images.dockerfiles)). It must hold the current
        render. Where it is committed in git, each entry's GitCommit is the last commit touching its Dockerfile.
    type: path
  dest:
    description:
      - Write the library file here (atomically, only when it changes; a new file gets mode 0644 narrowed by the
        umask, an existing one keeps its mode).
      - A folder, or a path below a regular file, fails naming it before anything is written.
    type: path
"""

EXAMPLES = r"""
- name: Plan the python family against the parents' library files
  buildfarm.images.release_plan:
    family_dir: families/python
    parents_library: /srv/official-images/library
    dest: artifacts/library/python
  register: buildfarm_python_plan

- name: Plan only what the farm's builders can build
  buildfarm.images.release_plan:
    family_dir: families/busybox
    architectures: [amd64, arm64v8, s390x]
  register: buildfarm_busybox_plan

- name: Show the dropped entries
  ansible.builtin.debug:
    var: buildfarm_busybox_plan.plan.dropped
"""

RETURN = r"""
plan:
  description: The release plan.
  returned: always
  type: dict
  contains:
    name:
      description: The family (repository) name, for example C(python).
      type: str
    repository:
      description: The repository the manifest lists are published to, for example C(library/python).
      type: str
    entries:
      description:
        - One item per library entry, in library order, with C(tags), C(shared_tags), C(architectures),
          C(directory), C(file), C(git_commit) (empty when not committed), C(constraints), C(builder) (effective),
          C(from) (every FROM image, the first one first), C(version) (full version) and C(variant).
      type: list
      elements: dict
    dropped:
      description: Entries left out by I(architectures), each with C(directory), C(tags), C(architectures), C(reason).
      type: list
      elements: dict
library:
  description: The generated library file (bashbrew format).
  returned: always
  type: str
dest:
  description: The library file written (or that would be written in check mode).
  returned: when I(dest) is given
  type: str
"""

from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import write_text
from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule
from ansible_collections.buildfarm.images.plugins.module_utils.family._family_module import (
    FAMILY_DIR_ARG,
    FAMILY_REQUIRES,
)
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import load_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.plan import plan_family

ARGUMENT_SPEC = dict(
    FAMILY_DIR_ARG,
    parents_library=dict(type="path"),
    architectures=dict(type="list", elements="str"),
    rendered=dict(type="path"),
    dest=dict(type="path"),
)


def work(module: BuildfarmModule) -> dict:
    p = module.params
    plan = plan_family(load_family(p["family_dir"]), p["parents_library"], architectures=p["architectures"],
                       tree=p["rendered"])
    library = plan.library_text()
    result = dict(changed=False, plan=plan.to_dict(), library=library, warnings=plan.warnings)
    if p["dest"]:
        # a folder, or a path below a regular file, fails naming it (TextFileError, OSError: the runner's)
        written = write_text(p["dest"], library, check_mode=module.check_mode)
        result.update(dest=p["dest"], changed=written.changed, diff=written.diff())
    return result


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC, requires=FAMILY_REQUIRES).run(work)


if __name__ == "__main__":
    main()
