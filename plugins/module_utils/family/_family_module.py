# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules reading an image family (dockerfiles, release_plan) share: their AnsibleModule with the family
option (documented in doc_fragments/family.py) and the libraries they need, and how bad family input fails the
task."""
from __future__ import annotations

from typing import Any, NoReturn

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.buildfarm.images.plugins.module_utils.family.family import YAML_IMPORT_ERROR
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import JINJA2_IMPORT_ERROR


def family_module(argument_spec: dict[str, dict[str, Any]]) -> AnsibleModule:
    """The AnsibleModule of a module reading an image family: the family_dir option (old name family, an alias)
    besides ``argument_spec``, check mode, and the task failed when PyYAML or Jinja2 cannot be imported."""
    module = AnsibleModule(argument_spec=dict(family_dir=dict(type="path", required=True, aliases=["family"]),
                                              **argument_spec),
                           supports_check_mode=True)
    for lib, error in (("PyYAML", YAML_IMPORT_ERROR), ("Jinja2", JINJA2_IMPORT_ERROR)):
        if error:
            module.fail_json(msg=missing_required_lib(lib), exception=error)
    return module


def fail_bad_input(module: AnsibleModule, exc: Exception) -> NoReturn:
    """Fail the task with the file, field and value of a FamilyError (the file alone for an OSError)."""
    module.fail_json(msg=str(exc), file=getattr(exc, "file", None) or getattr(exc, "filename", None),
                     field=getattr(exc, "field", None), value=str(getattr(exc, "value", "")))
    raise SystemExit(1)  # fail_json exits; this tells the type checker so
