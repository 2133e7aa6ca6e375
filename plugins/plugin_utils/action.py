# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two shapes of the collection's action plugins. `ModuleAction`: prepare the module's arguments on the
controller (from the hostvars, paths made absolute), then run the module (a plugin names its module and overrides
`module_args`). `ControllerAction`: do the whole job on the controller, the arguments validated against the
plugin's spec (a plugin sets `ARGUMENT_SPEC` and defines `work`)."""
from __future__ import annotations

from typing import Any, Mapping

from ansible.plugins.action import ActionBase


class ModuleAction(ActionBase):
    """Runs `MODULE` with the task's arguments as `module_args` prepares them."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    MODULE = ""  # the module's full name, e.g. buildfarm.images.release_report

    def module_args(self, args: dict[str, Any], task_vars: Mapping[str, Any]) -> dict[str, Any]:
        """The module's arguments of the task's (a copy, free to change)."""
        return args

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.module_args(dict(self._task.args), task_vars or {})
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        return result


class ControllerAction(ActionBase):
    """An action that does its job on the controller, without a module: the task's arguments are validated
    against `ARGUMENT_SPEC`, then `work(result, args, task_vars)` gives the task's result."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    ARGUMENT_SPEC: dict[str, Any] = {}

    def work(self, result: dict[str, Any], args: dict[str, Any], task_vars: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _data, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        return self.work(result, args, task_vars or {})
