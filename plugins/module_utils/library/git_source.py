# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a library entry's Dockerfile comes from, the bashbrew way: a Git repository (``GitRepo``), a commit
(``GitCommit``, reached through ``GitFetch``), a folder (``Directory``) and a file in it (``File``), each with its
``<arch>-`` override; and the cache of those repositories on a host.

The cache keeps one bare repository per ``GitRepo`` URL (https, ssh, a local path), under
``<cache>/git/<sha256 of the URL>.git``. A commit is fetched at most once: first shallow, by id (servers that allow
it: GitHub, local repositories); else the ``GitFetch`` ref (default: the repository's default branch),
whole, as bashbrew does. A commit's folder is exported
once, atomically, to ``<trees>/<commit>-<folder digest>``, the build context every later release reuses.

The controller uses the same cache to check every entry before anything is built (the commit exists, the folder is
a folder, the file a file) and to read the Dockerfiles' FROM lines (dependency order); every builder fetches for
itself. Plain typed Python: git runs through the ``run(argv, cwd) -> (rc, stdout, stderr)`` callable given, so the
same code serves an Ansible module (module.run_command) and plain Python (subprocess).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Callable, Sequence, Tuple

from ansible_collections.buildfarm.images.plugins.module_utils.common.builders import OCI_IMPORT
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

Runner = Callable[[Sequence[str], "str | None"], Tuple[int, str, str]]
# Without GitFetch: the repository's default branch (bashbrew assumes refs/heads/master, which many repositories
# no longer have)
DEFAULT_FETCH = "HEAD"


class GitSourceError(BuildfarmError, ValueError):
    """An entry's Git source cannot be had: names the repository, commit and path at fault."""


@dataclass(frozen=True)
class GitSource:
    """One architecture's source of one entry (the entry's fields with that architecture's overrides applied)."""

    repo: str
    commit: str
    directory: str = "."
    file: str = "Dockerfile"
    fetch: str = ""

    @property
    def file_path(self) -> str:
        """The file's path in the repository."""
        return _join(self.directory, self.file)

    def describe(self) -> str:
        return "%s@%s %s" % (self.repo, self.commit[:12], self.file_path)


def _join(directory: str, name: str) -> str:
    d = directory.strip("/")
    return name if d in ("", ".") else "%s/%s" % (d, name)


def subprocess_runner(argv: Sequence[str], cwd: "str | None" = None) -> Tuple[int, str, str]:
    """A Runner for plain Python (the controller's release_prepare)."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")  # never wait for a password prompt
    proc = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False,  # pylint: disable=ansible-bad-function
                          env=env, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


class GitCache:
    """Bare repositories per GitRepo under ``root``; exported trees under ``trees`` (default ``root/trees``)."""

    def __init__(self, root: str, run: Runner, trees: str = ""):
        self.root = root
        self.trees = trees or os.path.join(root, "trees")
        self.run = run
        self._fetched: set[tuple[str, str]] = set()

    def repo_dir(self, repo: str) -> str:
        return os.path.join(self.root, hashlib.sha256(repo.encode()).hexdigest()[:24] + ".git")

    def _git(self, gitdir: str, *args: str) -> Tuple[int, str, str]:
        return self.run(["git", "--git-dir", gitdir, *args], None)

    def _has(self, gitdir: str, obj: str) -> bool:
        return self._git(gitdir, "cat-file", "-e", obj)[0] == 0

    def ensure(self, src: GitSource) -> str:
        """The bare repository of ``src.repo`` holding ``src.commit`` (fetched if it does not yet)."""
        if not src.repo:
            raise GitSourceError("no GitRepo: an entry built from a library file needs GitRepo and GitCommit",
                                 field="GitRepo")
        if not src.commit:
            raise GitSourceError("%s: no GitCommit: an entry built from a library file needs one" % src.repo,
                                 field="GitCommit")
        gitdir = self.repo_dir(src.repo)
        if (gitdir, src.commit) in self._fetched:
            return gitdir
        if not os.path.isdir(gitdir):
            os.makedirs(self.root, exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=".init-", dir=self.root)
            rc, _out, err = self.run(["git", "init", "-q", "--bare", tmp], None)
            if rc != 0:
                shutil.rmtree(tmp, ignore_errors=True)
                raise GitSourceError("cannot make a git cache in %s: %s" % (self.root, err.strip()))
            try:
                os.rename(tmp, gitdir)
            except OSError:  # another process made it first: use theirs
                shutil.rmtree(tmp, ignore_errors=True)
        commit = src.commit + "^{commit}"
        if not self._has(gitdir, commit):
            # by id and shallow first (one commit's objects); a server that refuses ids gets the ref, whole
            rc, _out, err = self._git(gitdir, "fetch", "-q", "--no-tags", "--depth", "1", src.repo, src.commit)
            if rc != 0 or not self._has(gitdir, commit):
                ref = src.fetch or DEFAULT_FETCH
                rc2, _out, err2 = self._git(gitdir, "fetch", "-q", "--no-tags", src.repo,
                                            "+%s:refs/buildfarm/fetch/%s" % (ref, hashlib.sha256(
                                                ref.encode()).hexdigest()[:12]))
                if rc2 != 0:
                    raise GitSourceError("%s: cannot fetch GitCommit %s (by id: %s) nor GitFetch %s: %s"
                                         % (src.repo, src.commit, _last(err) or "not found", ref, _last(err2)),
                                         field="GitCommit")
                if not self._has(gitdir, commit):
                    raise GitSourceError("%s: GitCommit %s does not exist (not fetchable by id, not in GitFetch %s)"
                                         % (src.repo, src.commit, ref), field="GitCommit")
        self._fetched.add((gitdir, src.commit))
        return gitdir

    def check(self, src: GitSource, builder: str = "") -> None:
        """Fetch ``src`` and check that its Directory is a folder and its File a file at its commit."""
        gitdir = self.ensure(src)
        if self._type(gitdir, src.commit, src.directory) != "tree":
            raise GitSourceError("%s: Directory %r is not a folder at commit %s"
                                 % (src.repo, src.directory, src.commit), field="Directory")
        if self._type(gitdir, src.commit, src.file_path) != "blob":
            raise GitSourceError("%s: File %r is not a file in Directory %r at commit %s%s"
                                 % (src.repo, src.file, src.directory, src.commit,
                                    " (oci-import: File names the OCI layout's index.json)"
                                    if builder == OCI_IMPORT else ""), field="File")

    def _type(self, gitdir: str, commit: str, path: str) -> str:
        obj = commit + ":" + ("" if path.strip("/") in ("", ".") else path.strip("/"))
        rc, out, _err = self._git(gitdir, "cat-file", "-t", obj)
        return out.strip() if rc == 0 else ""

    def read(self, src: GitSource) -> str:
        """The text of ``src``'s File at its commit (the Dockerfile: its FROM lines order the release)."""
        gitdir = self.ensure(src)
        rc, out, err = self._git(gitdir, "cat-file", "blob", "%s:%s" % (src.commit, src.file_path))
        if rc != 0:
            raise GitSourceError("%s: cannot read %s at %s: %s" % (src.repo, src.file_path, src.commit, _last(err)))
        return out

    def export(self, src: GitSource) -> str:
        """The folder ``src.directory`` at ``src.commit`` as a plain folder (made once, atomically)."""
        gitdir = self.ensure(src)
        dest = os.path.join(self.trees, "%s-%s" % (src.commit, hashlib.sha256(
            src.directory.strip("/").encode()).hexdigest()[:12]))
        if os.path.isdir(dest):
            return dest
        os.makedirs(self.trees, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".export-", dir=self.trees)
        archive = os.path.join(tmp, ".tree.tar")
        tree = "%s:%s" % (src.commit, "" if src.directory.strip("/") in ("", ".") else src.directory.strip("/"))
        try:
            rc, _out, err = self._git(gitdir, "archive", "--format=tar", "-o", archive, tree)
            if rc != 0:
                raise GitSourceError("%s: cannot export Directory %r at %s: %s"
                                     % (src.repo, src.directory, src.commit, _last(err)))
            root = os.path.join(tmp, "tree")
            os.mkdir(root)
            _extract(archive, root, src)
            os.unlink(archive)
            try:
                os.rename(root, dest)
            except OSError:  # exported meanwhile by another release on this host: the same bytes
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest


def _last(err: str) -> str:
    lines = [x.strip() for x in (err or "").splitlines() if x.strip()]
    return lines[-1] if lines else ""


def _extract(archive: str, root: str, src: GitSource) -> None:
    """A git archive of one tree: folders, regular files and symlinks that stay inside it (a repository is data
    from contributors; git writes no other member type)."""
    real_root = os.path.realpath(root)
    with tarfile.open(archive, "r:") as tar:
        for m in tar.getmembers():
            if m.type == tarfile.XGLTYPE or m.name in ("pax_global_header",):
                continue
            parts = [p for p in m.name.split("/") if p not in ("", ".")]
            if m.name.startswith("/") or ".." in parts:
                raise GitSourceError("%s: %s at %s: path %r leaves the folder"
                                     % (src.repo, src.directory, src.commit, m.name))
            if not parts:
                continue
            dest = os.path.join(root, *parts)
            if m.isdir():
                os.makedirs(dest, exist_ok=True)
            elif m.issym():
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                target = os.path.normpath(os.path.join(os.path.realpath(os.path.dirname(dest)), m.linkname))
                if os.path.isabs(m.linkname) or not (target + os.sep).startswith(real_root + os.sep):
                    # a link out of the build context would read the builder's files: left out
                    continue
                os.symlink(m.linkname, dest)
            elif m.isfile():
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                fh = tar.extractfile(m)
                if fh is None:
                    continue
                with open(dest, "wb") as out:
                    shutil.copyfileobj(fh, out)
                os.chmod(dest, 0o755 if m.mode & stat.S_IXUSR else 0o644)
