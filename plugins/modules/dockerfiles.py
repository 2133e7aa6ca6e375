#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: dockerfiles
short_description: Render an image family's Dockerfiles
version_added: 0.1.0
description:
  - Loads and validates an image family (C(families/<name>/family.yml), its versions file and templates) and renders
    C(<dest_dir>/<version>/<variant>/Dockerfile) for every versions key and variant with Jinja2 (undefined variables are
    errors).
  - The new tree is written into a temporary folder beside I(dest_dir) and swapped in whole, so nothing is ever
    half-written; files of an older render that are no longer rendered go away. Hidden top-level entries of
    I(dest_dir)
    (such as C(.git)) are kept.
  - When the render equals what is in I(dest_dir), nothing is written and the task reports no change.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Reports which Dockerfiles would be added, modified or removed, writing nothing.
  diff_mode:
    support: full
    description: Shows every Dockerfile that changes, before and after.
extends_documentation_fragment:
  - buildfarm.images.family
options:
  dest_dir:
    description:
      - The folder to render into. It is replaced as a whole, so it must hold only a rendered tree (version folders
        and hidden entries); anything else makes the module fail rather than remove it.
    type: path
    required: true
    aliases: [dest]
"""

EXAMPLES = r"""
- name: Render the python family
  buildfarm.images.dockerfiles:
    family_dir: families/python
    dest_dir: artifacts/render/python
  register: buildfarm_python_render

- name: What a new versions.json would change
  buildfarm.images.dockerfiles:
    family_dir: families/python
    dest_dir: artifacts/render/python
  check_mode: true
  diff: true
"""

RETURN = r"""
dest:
  description: The rendered tree (I(dest_dir)).
  returned: always
  type: str
files:
  description: Every rendered Dockerfile, relative to I(dest_dir) (C(<version>/<variant>/Dockerfile)).
  returned: always
  type: list
  elements: str
added:
  description: Dockerfiles that are new (or would be, in check mode).
  returned: always
  type: list
  elements: str
modified:
  description: Dockerfiles whose content changes.
  returned: always
  type: list
  elements: str
removed:
  description: Files of the previous tree that the render no longer produces.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule
from ansible_collections.buildfarm.images.plugins.module_utils.family._family_module import (
    FAMILY_DIR_ARG,
    FAMILY_REQUIRES,
)
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import FamilyError, load_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import render_family, sync

ARGUMENT_SPEC = dict(FAMILY_DIR_ARG, dest_dir=dict(type="path", required=True, aliases=["dest"]))


def work(module: BuildfarmModule) -> dict:
    p = module.params
    family = load_family(p["family_dir"])
    files = render_family(family)
    try:
        result = sync(family, p["dest_dir"], files=files, check=module.check_mode, want_diff=module._diff)
    except FamilyError as e:
        if e.field != "dest":
            raise
        # the render core's name for what this module's option calls dest_dir
        raise FamilyError(e.file, "dest_dir", e.value, e.problem, e.line) from None
    return dict(changed=result.changed, dest=p["dest_dir"], files=list(files), added=result.added,
                modified=result.modified, removed=result.removed, diff=result.diff)


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC, requires=FAMILY_REQUIRES).run(work)


if __name__ == "__main__":
    main()
