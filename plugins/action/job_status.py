# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.job_status (documented in plugins/modules): finds the job's results file
where async_status does and shows the answer the way debug does."""
from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if "async_dir" not in args:
            # the shell's async_dir, as ansible.builtin.async_status finds it (the job wrote its results file there)
            args["async_dir"] = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        result.update(self._execute_module(module_name="buildfarm.images.job_status", module_args=args,
                                           task_vars=task_vars))
        # a progress line for every answer, without -v (as debug's): what the polling loop is for
        result["_ansible_verbose_always"] = True
        return result
