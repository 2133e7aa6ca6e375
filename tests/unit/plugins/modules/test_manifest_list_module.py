"""The manifest_list module in process (AnsibleModule with patched arguments): its input checks, which fail before
any registry client exists (publishing itself is tested against real registries in tests/integration/registry)."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.buildfarm.images.plugins.modules import manifest_list as manifest_list_module

# Nothing listens on port 1: a module that sent a request would fail with a connection error instead.
NOWHERE = "127.0.0.1:1"


def run(capsys, **args) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        manifest_list_module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("entry, field, value", [
    ({"tags": ["1", "../../v2/_catalog"], "architectures": ["amd64"]}, "tags", "'../../v2/_catalog'"),
    ({"tags": ["1"], "shared_tags": ["la test"], "architectures": ["amd64"]}, "shared_tags", "'la test'"),
    ({"Tags": "1, -dash", "Architectures": "amd64"}, "tags", "'-dash'"),
])
def test_bad_tag_in_a_repositories_entry_names_item_field_and_value(capsys, entry, field, value):
    good = {"repository": "one", "entries": [{"tags": ["1"], "architectures": ["amd64"]}]}
    bad = {"repository": "two", "entries": [{"tags": ["2"], "architectures": ["amd64"]}, entry]}
    res = run(capsys, registry=NOWHERE, repositories=[good, bad])
    assert res["failed"]
    assert res["msg"].startswith("repositories[1].entries[1]: field %s: not a valid tag" % field), res["msg"]
    assert res["msg"].endswith("(value: %s)" % value)
    assert "requests" not in res  # failed before a registry client existed: nothing was asked


def test_entry_without_architectures_is_refused_naming_it(capsys):
    res = run(capsys, registry=NOWHERE, repository="app", entries=[{"tags": ["1"], "directory": "x"}])
    assert res["failed"] and res["msg"].startswith("entries[0]: field architectures: entry 1 has no architectures")
