"""library/git_source.py on real Git repositories made by the test: fetch by commit into the cache once, fall back
to GitFetch, checks of Directory and File, export of a folder (links leaving it dropped), errors naming the field."""
from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.library.git_source import (
    GitCache,
    GitSource,
    GitSourceError,
    subprocess_runner,
)


def _git(cwd: pathlib.Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> dict:
    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q", "-b", "main")
    (src / "app").mkdir()
    (src / "app" / "Dockerfile").write_text("FROM busybox:latest\n")
    (src / "app" / "run.sh").write_text("#!/bin/sh\n")
    (src / "app" / "run.sh").chmod(0o755)
    os.symlink("run.sh", src / "app" / "inside")
    os.symlink("../../../etc/passwd", src / "app" / "outside")
    _git(src, "add", "-A")
    _git(src, "commit", "-q", "-m", "one")
    first = _git(src, "rev-parse", "HEAD")
    (src / "app" / "Dockerfile").write_text("FROM busybox:1\n")
    _git(src, "commit", "-q", "-am", "two")
    return {"path": str(src), "first": first, "second": _git(src, "rev-parse", "HEAD")}


class CountingRunner:
    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, argv, cwd=None):
        self.calls.append(list(argv))
        return subprocess_runner(argv, cwd)

    def fetches(self) -> int:
        return sum(1 for c in self.calls if "fetch" in c)


def test_a_commit_is_fetched_once_and_read(tmp_path, repo):
    run = CountingRunner()
    cache = GitCache(str(tmp_path / "cache"), run)
    src = GitSource(repo["path"], repo["first"], "app", "Dockerfile")
    cache.check(src)
    assert cache.read(src) == "FROM busybox:latest\n"
    assert run.fetches() == 1
    # another cache object on the same folder (the next release) finds the commit without fetching
    again = CountingRunner()
    GitCache(str(tmp_path / "cache"), again).check(src)
    assert again.fetches() == 0
    newer = GitSource(repo["path"], repo["second"], "app", "Dockerfile")
    assert GitCache(str(tmp_path / "cache"), again).read(newer) == "FROM busybox:1\n"


def test_export_is_the_folder_at_the_commit_with_modes_and_inside_links_only(tmp_path, repo):
    cache = GitCache(str(tmp_path / "cache"), subprocess_runner)
    out = pathlib.Path(cache.export(GitSource(repo["path"], repo["first"], "app", "Dockerfile")))
    assert (out / "Dockerfile").read_text() == "FROM busybox:latest\n"
    assert os.access(out / "run.sh", os.X_OK) and not os.access(out / "Dockerfile", os.X_OK)
    assert os.readlink(out / "inside") == "run.sh"
    assert not os.path.lexists(out / "outside")  # would read the builder's own files
    # exported once: the same folder next time, even for another cache object
    assert cache.export(GitSource(repo["path"], repo["first"], "app")) == str(out)


@pytest.mark.parametrize("src, field, words", [
    (dict(commit="c" * 40), "GitCommit", "does not exist"),
    (dict(directory="nope"), "Directory", "is not a folder"),
    (dict(file="Nope"), "File", "is not a file"),
    (dict(commit=""), "GitCommit", "no GitCommit"),
])
def test_bad_sources_name_their_field(tmp_path, repo, src, field, words):
    base = dict(repo=repo["path"], commit=repo["first"], directory="app", file="Dockerfile")
    base.update(src)
    with pytest.raises(GitSourceError) as err:
        GitCache(str(tmp_path / "cache"), subprocess_runner).check(GitSource(**base))
    assert err.value.field == field and words in str(err.value)


def test_a_commit_only_reachable_through_gitfetch(tmp_path, repo):
    # a commit that is not the tip of the default branch, on a server that refuses ids: GitFetch finds it
    src = pathlib.Path(repo["path"])
    _git(src, "checkout", "-q", "-b", "feature")
    (src / "app" / "Dockerfile").write_text("FROM busybox:feature\n")
    _git(src, "commit", "-q", "-am", "feature")
    feature = _git(src, "rev-parse", "HEAD")
    _git(src, "checkout", "-q", "main")
    _git(src, "config", "uploadpack.allowAnySHA1InWant", "false")
    cache = GitCache(str(tmp_path / "cache"), subprocess_runner)
    assert cache.read(GitSource(repo["path"], feature, "app", fetch="refs/heads/feature")) == "FROM busybox:feature\n"
