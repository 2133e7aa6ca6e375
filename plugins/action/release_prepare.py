# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of buildfarm.images.release_prepare (documented in plugins/modules): relative paths are made
absolute against the directory ansible-playbook runs in, so a release reads and writes the user's project, never
the playbook's folder inside an installed collection; then the module runs."""
from __future__ import annotations

import os

from ansible_collections.buildfarm.images.plugins.plugin_utils.action import ModuleAction
from ansible_collections.buildfarm.images.plugins.plugin_utils.paths import absolute_path, absolute_paths

_PATH_OPTIONS = ("families_dir", "work_dir", "artifacts_dir", "parents_library")


class ActionModule(ModuleAction):
    MODULE = "buildfarm.images.release_prepare"

    def module_args(self, args, task_vars):
        args = absolute_paths(args, _PATH_OPTIONS)
        overrides = args.get("overrides")
        if isinstance(overrides, dict):  # the module checks the rest of it
            args["overrides"] = {
                name: dict(o, versions_file=absolute_path(o["versions_file"]))
                if isinstance(o, dict) and isinstance(o.get("versions_file"), str) and o["versions_file"] else o
                for name, o in overrides.items()}
        # library files are named relative to the project (library_base_dir), which is itself relative to the
        # directory ansible-playbook runs in
        base = absolute_path(args.pop("library_base_dir", None) or ".")

        def under_base(path):
            return os.path.normpath(os.path.join(base, os.path.expanduser(path)))

        libraries = args.get("library_files")
        if isinstance(libraries, list):  # paths, or {file, tests}: the module checks the rest
            args["library_files"] = [
                under_base(lib) if isinstance(lib, str) and lib else
                dict(lib, **{k: under_base(lib[k]) for k in ("file", "tests")
                             if isinstance(lib.get(k), str) and lib[k]}) if isinstance(lib, dict) else lib
                for lib in libraries]
        return args
