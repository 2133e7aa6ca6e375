"""build/_windows_action.py: the Windows action plugins fail as BuildfarmModule does (message, file, field, value)."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build._windows_action import run_action
from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import BundleError
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError


def test_a_result_is_merged():
    assert run_action({"changed": False}, "x", lambda: {"jobs": []}) == {"changed": False, "jobs": []}


def test_a_buildfarm_error_fails_naming_class_file_field_and_value():
    def work():
        raise BundleError("pyhton not in the release bundle", "/r/release.tar", "families", "pyhton",
                          details={"partial": [1]})

    out = run_action({}, "windows_share (win2022)", work)
    assert out == {"failed": True, "file": "/r/release.tar", "field": "families", "value": "pyhton",
                   "partial": [1], "msg": "windows_share (win2022): BundleError: /r/release.tar: field families: "
                                          "pyhton not in the release bundle (value: 'pyhton')"}


def test_an_os_error_names_its_file_and_anything_else_is_a_bug():
    def missing():
        raise FileNotFoundError(2, "No such file or directory", "/nope")

    assert run_action({}, "w", missing)["file"] == "/nope"
    with pytest.raises(KeyError):
        run_action({}, "w", lambda: {}["key"])
    assert issubclass(BundleError, BuildfarmError)
