"""The registry_image_info module in process: references are checked before any request."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.buildfarm.images.plugins.modules import registry_image_info

NOWHERE = "127.0.0.1:1"  # nothing listens there: a request would fail with a connection error instead


def test_a_bad_reference_is_named_before_any_request(capsys):
    with patch_module_args({"registry": NOWHERE, "references": ["library/a:1", "library/b:la test"]}), \
            pytest.raises(SystemExit):
        registry_image_info.main()
    res = json.loads(capsys.readouterr().out)
    assert res["failed"] and res["retries"] == 0
    assert res["msg"].startswith("field references[1]: not a valid tag"), res["msg"]
    assert res["value"] == "library/b:la test"
