# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Paths of a task made absolute on the controller, for the action plugins that run a module after them.

A module runs in a temporary folder, and a playbook run from an installed collection sits in the collection: a
relative path given with `-e` or in the inventory is meant against the directory ansible-playbook runs in, so the
action plugin (which runs there) makes it absolute before the module sees it. Action-side only, hence not in
module_utils (which is shipped to the hosts).
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping


def absolute_path(value: Any) -> str:
    """`value` (`~` expanded) absolute against the current directory, the one ansible-playbook runs in."""
    return os.path.abspath(os.path.expanduser(str(value)))


def absolute_paths(args: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """A copy of a task's `args` with each of `keys` that is set made absolute; unset or empty ones are left for
    the module to default or refuse."""
    out = dict(args)
    for key in keys:
        if out.get(key):
            out[key] = absolute_path(out[key])
    return out
