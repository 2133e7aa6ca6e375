# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image_build module's job: resolve this builder's share of a release (from the bundle or from `families`),
prepare each family's context on this host (Debian package files, root filesystems, Git sources), build it
(build/image_builder.py) and shape the module's result.

Plain typed Python: the module passes its parameters, a command runner (its run_command) and the engine
connection.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

from ansible_collections.buildfarm.images.plugins.module_utils.build import scheduling
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import BuildInputError
from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import open_bundle
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_packages import (
    PackageError,
    fetch_package_files,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_rootfs import RootfsError, make_rootfs
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_builder import (
    BuildSettings,
    FamilyShare,
    ReleaseBuilder,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import Entry
from ansible_collections.buildfarm.images.plugins.module_utils.library.git_source import (
    GitCache,
    GitSource,
    GitSourceError,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BuildResult,
    BuildStatus,
    BundleFamily,
    FamilyKind,
)

# (argv, cwd, environ_update) -> (rc, stdout, stderr): the module's run_command
Runner = Callable[[Sequence[str], Optional[str], Mapping[str, str]], Tuple[int, str, str]]


class TimedBuilder(ReleaseBuilder):
    """ReleaseBuilder that records each entry's state and build time in a Progress (the status file the build
    role prints while image_build runs in the background)."""

    def __init__(self, *args: Any, progress: Progress, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.progress = progress

    def _build_one(self, key: str) -> BuildResult:
        self.progress.start(key)
        res = super()._build_one(key)
        res.seconds = self.progress.finish(key, res.status)
        return res


def share(entries: list[dict[str, Any]], arch: str, group_hosts: Sequence[str], host: str) -> list[dict[str, Any]]:
    """The entries (dicts, each with its `repo`) this host builds: all of them on a one-host architecture group, its
    deterministic share otherwise (a FROM chain, across families too, stays on one host)."""
    mine = [e for e in entries if arch in (e.get("architectures") or [])]
    if len(group_hosts) <= 1:
        return mine
    if host not in group_hosts:
        raise BuildInputError("host %r is not one of group_hosts %s" % (host, ", ".join(group_hosts)))
    return scheduling.assign(mine, list(group_hosts), arch).shares[host]


def given_families(raw: Sequence[Mapping[str, Any]], arch: str, group_hosts: Sequence[str],
                   host: str) -> list[FamilyShare]:
    """The share of the `families` option (families given as data, their trees already on this builder)."""
    out = []
    for i, f in enumerate(raw):
        where = "families[%d]" % i
        # `name` is the repository name everywhere else (release plan, bundle, readme); `repo` was its name here
        if f.get("name") and f.get("repo") and f["name"] != f["repo"]:
            raise BuildInputError("%s: fields name %r and repo %r differ (repo is the old name of name: give one)"
                                  % (where, f["name"], f["repo"]))
        name = f.get("name") or f.get("repo")
        if not name:
            raise BuildInputError("%s: field name is missing" % where)
        if not f.get("context_root"):
            raise BuildInputError("%s: field context_root is missing" % where)
        planned = share([dict(e, repo=name) for e in f.get("entries") or []], arch, group_hosts, host)
        entries = [Entry.from_dict(e, repo=name, where="%s (%s)" % (where, name)) for e in planned]
        out.append(FamilyShare(repo=name, context_root=f["context_root"], entries=entries,
                               extra_context=f.get("extra_context") or "", source=f.get("source") or "",
                               created=f.get("created") or "", revision=f.get("revision") or ""))
    return out


@dataclass
class ContextMaker:
    """Makes the per-architecture context files of a release's families on this builder: Debian package files
    (fetched once per source in this call), root filesystems (cached by their Release files), Git sources."""

    run: Runner
    arch: str
    work_dir: str
    cache_dir: str
    made: list[dict[str, Any]] = field(default_factory=list)  # the root filesystems (the context_sources result)
    warnings: list[str] = field(default_factory=list)
    _fetched: dict[str, str] = field(default_factory=dict)

    @property
    def debian_arch(self) -> str:
        return architectures.get(self.arch).debian_arch

    def _plain(self, argv: Sequence[str], cwd: Optional[str]) -> Tuple[int, str, str]:
        return self.run(argv, cwd, {})

    def packages(self, spec: Mapping[str, Any], versions: set[str]) -> str:
        """The folder of a family's Debian package files for this architecture (`build.context.debian_package`)."""
        key = json.dumps(spec, sort_keys=True)
        if key not in self._fetched:
            if not self.debian_arch:
                raise PackageError("architecture %s has no Debian architecture" % self.arch)
            match = spec.get("match_version", True)
            if match and len(versions) > 1:
                raise PackageError("entries of versions %s share one Debian package: set match_version: false"
                                   % ", ".join(sorted(versions)))
            dest = os.path.join(self.work_dir, "context", hashlib.sha256(key.encode()).hexdigest()[:16], self.arch)
            # scratch space: fetched in check mode too, the digest of what would be built needs the files
            got = fetch_package_files(self._plain, os.path.join(self.cache_dir, "apt"), self.debian_arch,
                                      spec["package"], spec["files"], dest, spec.get("suite") or "",
                                      next(iter(versions)) if match and versions else "")
            self.warnings += ["package lists of %s partly refreshed: %s" % (self.debian_arch, w)
                              for w in got.warnings]
            self._fetched[key] = dest
        return self._fetched[key]

    def rootfs(self, family: str, spec: Mapping[str, Any], variants: Sequence[str]) -> str:
        """The folder of a family's root filesystems (`<variant>/rootfs.tar`) for this architecture, made with
        mmdebstrap unless the stamp beside it says they are those of the planned Release files. They live in the
        cache folder (shared by releases on this builder: minutes of qemu each), keyed by the spec."""
        if not self.debian_arch:
            raise RootfsError("architecture %s has no Debian architecture" % self.arch)
        key = json.dumps(spec, sort_keys=True)
        dest = os.path.join(self.cache_dir, "rootfs", hashlib.sha256(key.encode()).hexdigest()[:16], self.arch)
        # scratch space: made in check mode too, the digest of what would be built needs the files
        got = make_rootfs(self._plain, spec, sorted(set(variants)), self.debian_arch, dest)
        self.made.append({"kind": "debian_rootfs", "arch": self.arch, "changed": got.changed,
                          "seconds": round(got.seconds, 1), "files": got.files, "family": family})
        return dest

    def library(self, f: BundleFamily, mine: Sequence[Entry]) -> FamilyShare:
        """A library file's share: each entry as this architecture builds it (its `<arch>-` overrides), its
        Directory fetched from GitRepo into this builder's git cache (one bare repository per GitRepo, shallow by
        commit) and exported once per commit and folder. An entry whose source cannot be had fails alone."""
        def run(argv: Sequence[str], cwd: Optional[str]) -> Tuple[int, str, str]:
            return self.run(argv, cwd, {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})

        # scratch space: fetched in check mode too, the digest of what would be built needs the files
        cache = GitCache(os.path.join(self.cache_dir, "git"), run, trees=os.path.join(self.cache_dir, "git-trees"))
        out = FamilyShare(repo=f.name, context_root="", entries=[], source=f.source)
        for e in (d.for_arch(self.arch) for d in mine):
            out.entries.append(e)
            try:
                out.context_dirs[e.key] = cache.export(GitSource(e.git_repo, e.git_commit, e.directory, e.file,
                                                                 e.git_fetch))
            except (GitSourceError, OSError) as exc:
                out.entry_errors[e.key] = "%s: %s" % (f.library_file or f.name, exc)
        return out

    def extra(self, f: BundleFamily, mine: Sequence[Entry], progress: Progress) -> tuple[str, str]:
        """(the family's per-architecture context folder or "", why it could not be made or "")."""
        spec, rootfs = f.context.get("debian_package"), f.context.get("debian_rootfs")
        if rootfs is not None:
            progress.set_stage("making the root filesystems of %s" % f.name)
            try:
                return self.rootfs(f.name, rootfs, [e.variant or "" for e in mine]), ""
            except (RootfsError, PackageError, OSError) as exc:
                return "", "%s: build.context.debian_rootfs: %s" % (f.name, exc)
        if spec:
            try:
                return self.packages(spec, {e.version or "" for e in mine}), ""
            except (PackageError, OSError) as exc:
                return "", "%s: build.context.debian_package %s: %s" % (f.name, spec.get("package"), exc)
        return "", ""


def bundle_families(release: str, maker: ContextMaker, group_hosts: Sequence[str], host: str,
                    progress: Progress) -> list[FamilyShare]:
    """The share of the release bundle ``release`` (unpacked under the maker's work_dir), contexts made here."""
    bundle = open_bundle(release, maker.work_dir)
    families = bundle.release.families
    flat = [dict(e.to_dict(), repo=f.name, key=e.key) for f in families for e in f.entries]
    mine_keys = {d["key"] for d in share(flat, maker.arch, group_hosts, host)}
    out = []
    for f in families:
        mine = [e for e in f.entries if e.key in mine_keys]
        if not mine:
            continue
        if f.kind == FamilyKind.LIBRARY:
            progress.set_stage("fetching the Git sources of %s" % f.name)
            out.append(maker.library(f, mine))
            continue
        extra, error = maker.extra(f, mine, progress)
        out.append(FamilyShare(repo=f.name, context_root=bundle.render_dir(f.name), entries=mine,
                               extra_context=extra, source=f.source, created=f.created, revision=f.revision,
                               error=error, build_args=dict(f.build_args)))
    return out


def settings_of(p: Mapping[str, Any], check_mode: bool) -> BuildSettings:
    """The build settings of image_build's parameters ``p``."""
    arch = architectures.get(p["arch"])
    return BuildSettings(arch=arch.name, registry=p["registry"], namespace=p["namespace"] or arch.namespace,
                         created=p["created"], revision=p["revision"],
                         build_args={k: str(v) for k, v in p["build_args"].items()},
                         pull_parents=p["pull_parents"], max_workers=p["max_workers"], check_mode=check_mode,
                         docker_host=p["docker_host"] or "")


def build_result(results: Sequence[BuildResult], settings: BuildSettings, made: list[dict[str, Any]],
                 fail_on_error: bool) -> dict[str, Any]:
    """image_build's result: `images`, `failed_entries`, `platform`, `context_sources`, the diff; `failed` and
    `msg` when an entry failed and ``fail_on_error``."""
    failed = [r for r in results if r.status.is_failure]
    touched = [r for r in results if r.touched]
    out: dict[str, Any] = dict(
        changed=bool(touched),
        images=[r.to_dict() for r in results],
        failed_entries=[r.key for r in failed],
        platform=settings.platform,
        context_sources=made,
        diff=dict(before="", after="".join("%s: %s%s %s\n" % (
            r.key, r.status, " (pulled %s)" % r.pulled if r.pulled else "",
            " ".join(ref.familiar() for ref in r.retagged)) for r in touched)),
    )
    if failed and fail_on_error:
        out.update(failed=True, msg="%s: %d entries failed: %s" % (settings.platform, len(failed), "; ".join(
            "%s: %s" % (r.key, r.error) for r in failed)))
    return out


def build_share(p: Mapping[str, Any], check_mode: bool, run: Runner, connect: Callable[[], Any],
                registry_for: Any, log: Callable[[str], None]) -> dict[str, Any]:
    """The whole image_build call: its parameters ``p`` in, its result out."""
    settings = settings_of(p, check_mode)
    progress = Progress(p["status_file"] or "", p["host"] or "localhost", settings.arch, interval=5.0)
    progress.tick()
    progress.set_stage("preparing the contexts")
    maker = ContextMaker(run, settings.arch, p["work_dir"] or "", "")
    if p["release"]:
        if not p["work_dir"]:
            raise BuildInputError("work_dir is required with release")
        maker.cache_dir = p["cache_dir"] or os.path.join(p["work_dir"], "cache")
        families = bundle_families(p["release"], maker, p["group_hosts"], p["host"], progress)
    else:
        families = given_families(p["families"], settings.arch, p["group_hosts"], p["host"])
    builder = TimedBuilder(families, settings, connect, registry_for, progress=progress)
    progress.waiting([e.key for _f, e in builder.jobs])
    progress.set_stage("building")
    try:
        results = builder.run()
    finally:
        progress.done()
    for r in results:  # the play's log says what took the time
        if r.status == BuildStatus.BUILT:
            log("%s built in %.0f s" % (r.key, r.seconds or 0.0))
    return dict(build_result(results, settings, maker.made, p["fail_on_error"]), warnings=maker.warnings)
