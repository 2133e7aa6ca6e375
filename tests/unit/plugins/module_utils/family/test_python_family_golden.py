"""families/python against upstream's 2026-06-24 data (../shared/golden; skipped without it): the plan gives that
day's library/python for every field but GitCommit and the header comment, and the render states every fact of
dockerfile-facts.json."""
from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import load_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.plan import plan_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import render_family
from ansible_collections.buildfarm.images.tests.support.dockerfile_facts import facts

DAY = "2026-06-24"


@pytest.fixture(scope="module")
def python_family(repo_root: pathlib.Path):
    return load_family(str(repo_root / "families" / "python"))


def without_commits(text: str) -> list[str]:
    """The library text minus GitCommit lines and the header comment."""
    lines = [line for line in text.split("\n") if not line.startswith("GitCommit:")]
    assert lines[0].startswith("#") and lines[1] == ""
    return lines[2:]


def test_versions_json_is_upstreams(python_family, golden):
    assert json.loads(pathlib.Path(python_family.versions_file).read_text()) == json.loads(
        (golden / DAY / "versions.json").read_text())


def test_plan_reproduces_golden_library(python_family, golden):
    plan = plan_family(python_family, str(golden / DAY / "library"))
    want = (golden / DAY / "library" / "python").read_text()
    assert without_commits(plan.library_text()) == without_commits(want)

    # field by field as well, so a difference names the entry
    ours, theirs = lm.parse(plan.library_text()), lm.parse(want)
    assert len(ours.entries) == len(theirs.entries) == 42
    for a, b in zip(ours.entries, theirs.entries):
        for name in ("Tags", "SharedTags", "Architectures", "Directory", "Constraints", "Builder", "File"):
            assert a.value(name) == b.value(name), (b.directory, name)
    assert ours.global_fields == theirs.global_fields


def test_render_states_every_golden_fact(python_family, golden):
    expected = json.loads((golden / DAY / "dockerfile-facts.json").read_text())["directories"]
    files = render_family(python_family)
    assert sorted(f.rsplit("/", 1)[0] for f in files) == sorted(expected)
    for directory, want in expected.items():
        assert facts(files[directory + "/Dockerfile"]) == want, directory


def test_windows_dockerfiles_start_with_escape_directive(python_family):
    files = render_family(python_family)
    windows = [text for path, text in files.items() if "/windows/" in path]
    assert len(windows) == 6
    assert all(text.startswith("# escape=`\n") for text in windows)
