"""Run one of the collection's modules in process, as Ansible would (arguments through AnsibleModule, check and
diff mode as task keywords), and return its JSON result."""
from __future__ import annotations

import contextlib
import importlib
import io
import json

from ansible.module_utils.testing import patch_module_args


def run_module(name: str, args: dict, check: bool = False, diff: bool = False) -> dict:
    module = importlib.import_module("ansible_collections.buildfarm.images.plugins.modules." + name)
    full = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(full), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    return json.loads(out.getvalue())
