# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The family option and requirements of the modules that read an image family (dockerfiles, release_plan; see
module_utils/family/_family_module.py)."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  family_dir:
    description:
      - The family folder, holding C(family.yml).
    type: path
    required: true
    aliases: [family]
requirements:
  - PyYAML
  - Jinja2
"""
