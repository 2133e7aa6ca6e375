"""The module runner: one catch of BuildfarmError and OSError, failing with file, field, value and details."""
from __future__ import annotations

import contextlib
import io
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule


def _run(work, args=None, requires=()) -> dict:
    out = io.StringIO()
    with patch_module_args(dict(args or {}, _ansible_check_mode=False)), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit):
            BuildfarmModule(argument_spec={"name": {"type": "str"}}, requires=requires).run(work)
    return json.loads(out.getvalue())


def test_result_is_returned_and_warnings_are_warned():
    out = _run(lambda m: {"changed": True, "name": m.params["name"], "warnings": ["careful"]}, {"name": "x"})
    assert out["changed"] is True and out["name"] == "x"
    assert "careful" in json.dumps(out["warnings"])  # ansible-core 2.19+ wraps warnings in events


def test_buildfarm_error_fails_with_file_field_value_and_details():
    def work(_m):
        raise BuildfarmError("not a tag", "library/python", "Tags", "3.13 rc", details={"published": ["a"]})

    out = _run(work)
    assert out["failed"] is True
    assert out["msg"] == "library/python: field Tags: not a tag (value: '3.13 rc')"
    assert (out["file"], out["field"], out["value"], out["published"]) == ("library/python", "Tags", "3.13 rc", ["a"])


def test_oserror_names_its_file():
    def work(_m):
        open("/nonexistent/buildfarm/family.yml")

    out = _run(work)
    assert out["failed"] is True and out["file"] == "/nonexistent/buildfarm/family.yml"


def test_failed_result_fails_the_task_with_its_result():
    out = _run(lambda _m: {"failed": True, "msg": "2 of 3 tags not published", "lists": [1]})
    assert out["failed"] is True and out["msg"] == "2 of 3 tags not published" and out["lists"] == [1]


def test_missing_library_fails_before_work():
    called = []
    out = _run(lambda _m: called.append(1) or {}, requires=[("PyYAML", "No module named 'yaml'")])
    assert out["failed"] is True and "PyYAML" in out["msg"] and not called


def test_other_exceptions_are_bugs_and_propagate():
    with patch_module_args({}), pytest.raises(ZeroDivisionError):
        BuildfarmModule(argument_spec={}).run(lambda _m: {"x": 1 / 0})
