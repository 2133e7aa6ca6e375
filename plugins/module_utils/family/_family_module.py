# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules reading an image family (dockerfiles, release_plan, release_prepare) share: the family option
(documented in doc_fragments/family.py) and the libraries they need, checked by the module runner
(common/module.py `requires=`)."""
from __future__ import annotations

from typing import Any

from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import YAML_IMPORT_ERROR
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import JINJA2_IMPORT_ERROR

# the family folder option of dockerfiles and release_plan (its old name `family` is an alias)
FAMILY_DIR_ARG: dict[str, dict[str, Any]] = {"family_dir": dict(type="path", required=True, aliases=["family"])}
# a module reading families fails naming the library that is missing, before it reads anything
FAMILY_REQUIRES = (("PyYAML", YAML_IMPORT_ERROR), ("Jinja2", JINJA2_IMPORT_ERROR))
