"""The smoke-test file format: the shipped busybox tests parse, bad files get named errors, substitutions."""
from __future__ import annotations

import re

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.smoke_tests import (
    SmokeTestError,
    command_for,
    load,
    parse,
    substitutions,
)


def test_busybox_tests_parse(repo_root):
    suite = load(str(repo_root / "families/busybox/tests.yml"))
    names = [t.name for t in suite.for_os("linux")]
    assert {"version", "architecture", "default-cmd"} <= set(names)
    assert next(t for t in suite.for_os("linux") if t.name == "default-cmd").command is None


def test_python_tests_cover_the_official_checks(repo_root):
    path = repo_root / "families/python/tests.yml"
    if not path.exists():
        pytest.skip("families/python/tests.yml not present")
    suite = load(str(path))
    linux = " ".join(str(t.command) for t in suite.for_os("linux"))
    for needle in ("dbm.gnu", "lzma", "sqlite3", ".pyc", "%Z", "shadow", "RecursionError"):
        assert needle in linux
    assert suite.for_os("windows"), "PowerShell equivalents for Windows entries"


@pytest.mark.parametrize("data, message", [
    ([], "must be a mapping"),
    ({"macos": []}, "field macos: unknown key"),
    ({"linux": {"name": "x"}}, "field linux: must be a list"),
    ({"linux": [{"command": ["true"]}]}, r"linux\[0\]: a test is a mapping with a `name`"),
    ({"linux": [{"name": "a"}, {"name": "a"}]}, r"linux\[1\].name: 'a' is used twice"),
    ({"linux": [{"name": "a", "stdout": "("}]}, r"linux\[0\].stdout: not a regex"),
    ({"linux": [{"name": "a", "command": []}]}, r"linux\[0\].command: must be a string or a non-empty list"),
    ({"linux": [{"name": "a", "exit_code": "0"}]}, r"linux\[0\].exit_code: must be an integer"),
    ({"linux": [{"name": "a", "expect": "x"}]}, r"linux\[0\].expect: unknown key"),
])
def test_bad_test_files_are_named(data, message):
    with pytest.raises(SmokeTestError, match="tests.yml: .*" + message):
        parse(data, "families/x/tests.yml")


def test_unreadable_file_is_named(tmp_path):
    with pytest.raises(SmokeTestError, match="nope.yml: cannot read"):
        load(str(tmp_path / "nope.yml"))


def test_substitutions_and_shell_wrapping():
    subs = substitutions("arm64v8", "1.35.0")
    assert re.fullmatch(subs["uname_m"], "aarch64") and not re.fullmatch(subs["uname_m"], "x86_64")
    suite = parse({"linux": [{"name": "a", "command": "echo ${version}"}],
                   "windows": [{"name": "b", "command": "echo ${arch}"}]}, "t")
    assert command_for(suite.for_os("linux")[0], "linux", subs) == ["sh", "-c", "echo 1.35.0"]
    assert command_for(suite.for_os("windows")[0], "windows", subs) == ["powershell", "-Command", "echo arm64v8"]


def test_digest_tracks_content():
    a = parse({"linux": [{"name": "a"}]}, "t")
    b = parse({"linux": [{"name": "a", "exit_code": 1}]}, "t")
    assert a.sha256 != b.sha256 and a.sha256 == parse({"linux": [{"name": "a"}]}, "u").sha256
