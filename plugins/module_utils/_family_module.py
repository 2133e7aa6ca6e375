# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules reading an image family (dockerfiles, release_plan) share: the libraries they need and how bad
family input fails the task."""
from __future__ import annotations

from typing import NoReturn

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.buildfarm.images.plugins.module_utils.family import YAML_IMPORT_ERROR
from ansible_collections.buildfarm.images.plugins.module_utils.render import JINJA2_IMPORT_ERROR


def require_libraries(module: AnsibleModule) -> None:
    """Fail the task when PyYAML or Jinja2 cannot be imported on the host."""
    for lib, error in (("PyYAML", YAML_IMPORT_ERROR), ("Jinja2", JINJA2_IMPORT_ERROR)):
        if error:
            module.fail_json(msg=missing_required_lib(lib), exception=error)


def fail_bad_input(module: AnsibleModule, exc: Exception) -> NoReturn:
    """Fail the task with the file, field and value of a FamilyError (the file alone for an OSError)."""
    module.fail_json(msg=str(exc), file=getattr(exc, "file", None) or getattr(exc, "filename", None),
                     field=getattr(exc, "field", None), value=str(getattr(exc, "value", "")))
