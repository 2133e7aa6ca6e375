"""Library files in the release (release/library_release.py through batch.prepare): entries with their
per-architecture sources, FROM dependencies across library files, the generic run test, and every bad input failing
before anything is written, naming the library file, the line, the field and the value."""
from __future__ import annotations

import pathlib
import subprocess

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.release import batch
from ansible_collections.buildfarm.images.plugins.module_utils.release.library_release import (
    GENERIC_TESTS,
    LibraryReleaseError,
)

FAMILIES = pathlib.Path(__file__).resolve().parents[5] / "families"


def _git(cwd: pathlib.Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def project(tmp_path: pathlib.Path) -> dict:
    src = tmp_path / "src" / "app"
    src.mkdir(parents=True)
    _git(src, "init", "-q", "-b", "main")
    for rel, text in {"amd64/Dockerfile": "FROM busybox:latest\n", "arm64/Dockerfile": "FROM busybox:glibc\n",
                      "child/Dockerfile": "FROM app:1.0 AS base\nFROM base\n",
                      "oci/index.json": "{}"}.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    _git(src, "add", "-A")
    _git(src, "commit", "-q", "-m", "one")
    commit = _git(src, "rev-parse", "HEAD")
    lib = tmp_path / "library"
    lib.mkdir()
    (lib / "app").write_text(
        "Maintainers: Team <team@example.org> (@team)\nGitRepo: ../src/app\n\n"
        f"Tags: 1.0, latest\nArchitectures: amd64, arm64v8, s390x\nGitCommit: {commit}\nDirectory: amd64\n"
        "arm64v8-Directory: arm64\n")
    (lib / "tool").write_text(
        "Maintainers: Team <team@example.org> (@team)\nGitRepo: ../src/app\n\n"
        f"Tags: 2.0\nArchitectures: amd64\nGitCommit: {commit}\nDirectory: child\n")
    return {"lib": lib, "commit": commit, "src": src, "cache": str(tmp_path / "git")}


def _prepare(project, files, architectures=("amd64", "arm64v8")):
    return batch.prepare(str(FAMILIES), ["busybox"], list(architectures), library_files=files,
                         git_cache_dir=project["cache"])


def _record(family) -> dict:
    """A family of the release as release.json holds it."""
    return batch.family_record(family).to_dict()


def test_library_files_join_the_release_after_what_they_are_built_from(project):
    # tool (FROM app) is listed first: it still comes after app, and both after the busybox family
    release = _prepare(project, [str(project["lib"] / "tool"), str(project["lib"] / "app")])
    assert [f.name for f in release.families] == ["busybox", "app", "tool"]
    app = _record(release.families[1])
    assert app["kind"] == "library" and app["repository"] == "library/app"
    (entry,) = app["entries"]
    assert entry["architectures"] == ["amd64", "arm64v8"]  # s390x: no builder in this release
    assert entry["git_repo"] == str(project["src"])  # relative to the library file
    assert entry["arch_overrides"] == {"arm64v8": {"Directory": "arm64"}}
    assert entry["from"] == ["busybox:latest", "busybox:glibc"]  # every architecture's Dockerfile
    assert app["depends_on"] == ["busybox"] and app["tests"] == GENERIC_TESTS
    tool = _record(release.families[2])
    assert tool["depends_on"] == ["app"] and tool["entries"][0]["from"] == ["app:1.0"]


def test_a_tests_file_replaces_the_generic_run_test(project, tmp_path):
    tests = tmp_path / "tests.yml"
    tests.write_text("linux:\n  - name: hello\n    command: [echo, hi]\n    stdout: hi\n")
    release = _prepare(project, [{"file": str(project["lib"] / "app"), "tests": str(tests)}])
    assert _record(release.families[1])["tests"]["linux"][0]["name"] == "hello"


def _line_of(path: pathlib.Path, prefix: str) -> int:
    return next(i for i, x in enumerate(path.read_text().splitlines(), 1) if x.startswith(prefix))


@pytest.mark.parametrize("old, new, field, value", [
    ("Directory: amd64", "Directory: missing", "Directory", "missing"),
    ("arm64v8-Directory: arm64", "arm64v8-Directory: nope", "arm64v8-Directory", "nope"),
    ("Directory: amd64", "Directory: amd64\nFile: Containerfile", "File", "Containerfile"),
    ("Directory: amd64", "Directory: amd64\nBuilder: kaniko", "Builder", "kaniko"),
    ("Directory: amd64", "Directory: amd64\narm64v8-GitCommit: " + "d" * 40, "arm64v8-GitCommit", "d" * 40),
])
def test_bad_entries_fail_naming_file_line_field_and_value(project, old, new, field, value):
    path = project["lib"] / "app"
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(LibraryReleaseError) as err:
        _prepare(project, [str(path)])
    line = _line_of(path, field + ":")
    assert err.value.file == str(path) and err.value.line == line and err.value.field == field
    assert err.value.value == value
    assert str(err.value).startswith("%s:%d: field %s" % (path, line, field))


def test_a_bad_commit_names_the_commit(project):
    path = project["lib"] / "app"
    path.write_text(path.read_text().replace(project["commit"], "e" * 40))
    with pytest.raises(LibraryReleaseError) as err:
        _prepare(project, [str(path)])
    assert err.value.field == "GitCommit" and err.value.line == _line_of(path, "GitCommit:")
    assert "does not exist" in str(err.value)


def test_syntax_errors_and_name_clashes(project):
    path = project["lib"] / "app"
    path.write_text(path.read_text() + "Colour: blue\n")
    with pytest.raises(LibraryReleaseError) as err:
        _prepare(project, [str(path)])
    assert err.value.field == "Colour" and err.value.line == _line_of(path, "Colour:")
    clash = project["lib"] / "busybox"
    clash.write_text("Maintainers: A <a@example.org> (@a)\n\nTags: 1\nGitRepo: x\nGitCommit: " + "a" * 40 + "\n")
    with pytest.raises(BuildfarmError, match="a family of the release has this repository name"):
        _prepare(project, [str(clash)])
    with pytest.raises(BuildfarmError, match="library file not found"):
        _prepare(project, [str(project["lib"] / "absent")])


def test_oci_import_needs_only_the_layout_index(project):
    path = project["lib"] / "app"
    path.write_text(path.read_text().replace("Directory: amd64\narm64v8-Directory: arm64",
                                             "Directory: oci\nFile: index.json\nBuilder: oci-import"))
    (entry,) = _record(_prepare(project, [str(path)]).families[1])["entries"]
    assert entry["builder"] == "oci-import" and entry["from"] == []
