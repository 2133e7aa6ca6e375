# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Windows builder's share of a release, computed on the controller.

The Windows builders build with the Docker CLI in PowerShell (no Docker SDK or Python there), so everything a
build needs is prepared here: the host's share (scheduling.assign with the Windows releases), full tags, the
content digest of each entry's rendered context (build_inputs), the labels (labels.py, as on Linux) and the
PowerShell smoke tests as argument lists (smoke_tests). Plain typed Python; the action plugin windows_share is thin.

The share is read from the release bundle (release_prepare's release.tar, the one file sent to every builder, as
on Linux): the host gets that one file and unpacks it into ``<work_dir>\\bundle\\<bundle id>``, and the digests
computed here are of the very files it builds from (unpacked from the same bytes, checked by its sha256).
"""
from __future__ import annotations

import os
import string
import tempfile
from typing import Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.build import scheduling, smoke_tests
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import (
    INPUT_DIGEST_LABEL,
    BuildInputError,
    BuildInputs,
    scan_context,
    sha256_file,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import BundleError, open_bundle
from ansible_collections.buildfarm.images.plugins.module_utils.build.labels import image_labels
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import BundleFamily, Entry

__all__ = ["windows_share", "windows_share_from_bundle", "BuildInputError", "BundleError", "BUNDLE_FILE"]

# the name of the bundle on the host, as on a Linux builder (role build)
BUNDLE_FILE = "release.tar"


def _win_join(*parts: str) -> str:
    return "\\".join(p.strip("\\/").replace("/", "\\") for p in parts if p)


def _input_digest(render_dir: str, entry: Entry, arch: str, build_args: Mapping[str, str]) -> str:
    """The content digest of the entry's rendered context (the host adds its parents' image ids to it)."""
    root = "%s/%s" % (render_dir, entry.directory)
    dockerfile = entry.file or "Dockerfile"
    files = scan_context([root])
    if dockerfile not in files:
        raise BuildInputError("no %s in the rendered context (entry %s)" % (dockerfile, entry.key), root,
                              "directory", entry.directory)
    with open(files[dockerfile][0], encoding="utf-8") as fh:
        text = fh.read()
    platform = architectures.get(arch).platform
    return BuildInputs("%s/%s" % (platform.os, platform.architecture), dockerfile, text, files,
                       build_args=dict(build_args)).digest()


def _job(fam: BundleFamily, entry: Entry, render_dir: str, repository: str, context_dir: str,
         tests: list[smoke_tests.SmokeTest], arch: str, build_args: Mapping[str, str]) -> dict:
    """One entry as the PowerShell build script takes it."""
    subs = smoke_tests.substitutions(arch, entry.version)
    # the same labels as on Linux (build/labels.py); the script adds the input digest once the parents are known
    labels = image_labels(source=fam.source, revision=entry.git_commit or fam.revision, version=entry.version,
                          created=fam.created, base=(entry.from_ or [""])[0])
    return {
        "key": entry.key,
        "repo": fam.name,
        "context": _win_join(context_dir, fam.name, entry.directory),
        "dockerfile": entry.file or "Dockerfile",
        "from": list(entry.from_),
        "tags": ["%s:%s" % (repository, t) for t in entry.tags + entry.shared_tags],
        "input_digest": _input_digest(render_dir, entry, arch, build_args),
        "labels": labels,
        "build_args": dict(build_args),
        "tests": [{"name": t.name, "command": smoke_tests.command_for(t, "windows", subs),
                   "stdout": string.Template(t.stdout).safe_substitute(subs) if t.stdout else "",
                   "exit_code": t.exit_code, "timeout": t.timeout} for t in tests],
    }


def _check(host: str, releases: Mapping[str, str], arch: str) -> None:
    if not architectures.get(arch).is_windows:
        raise scheduling.SchedulingError("windows_share: %s is not a Windows architecture" % arch)
    if host not in releases:
        raise scheduling.SchedulingError("windows_share: host %s is not among the Windows builders %s"
                                         % (host, ", ".join(sorted(releases))))


def windows_share(release: Sequence[BundleFamily], render_dirs: Mapping[str, str], families: Sequence[str],
                  host: str, releases: Mapping[str, str], registry: str, context_dir: str, *, namespace: str = "",
                  build_args: Mapping[str, str] | None = None, arch: str = "windows-amd64") -> dict:
    """The build jobs of ``host`` (in build order) and the release's entries no Windows host can build;
    ``render_dirs``: each family's rendered tree on the controller."""
    _check(host, releases, arch)
    ns = namespace or architectures.namespace_for(arch)
    jobs: list[dict] = []
    unroutable: list[dict] = []
    for fam in (f for f in release if f.name in families):
        repository = "%s/%s/%s" % (registry.rstrip("/"), ns, fam.name) if registry else "%s/%s" % (ns, fam.name)
        # scheduling routes plain entry data; its shares hold the very dicts given, mapped back to the entries
        data = [e.to_dict() for e in fam.entries]
        entry_of = {id(d): e for d, e in zip(data, fam.entries)}
        result = scheduling.assign(data, list(releases), arch, repo=fam.repository or fam.name, releases=releases)
        unroutable += [dict(u.to_dict(), repo=fam.name, arch=arch, key=entry_of[id(u.entry)].key)
                       for u in result.unroutable]
        share = [entry_of[id(d)] for d in result.shares.get(host) or []]
        if not share:
            continue
        # release_prepare hands the tests over as data
        tests = smoke_tests.parse(fam.tests, "%s tests" % fam.name).for_os("windows") if fam.tests else []
        jobs += [_job(fam, e, render_dirs[fam.name], repository, context_dir, tests, arch, build_args or {})
                 for e in share]
    return {"jobs": jobs, "unroutable": unroutable, "families": sorted({j["repo"] for j in jobs}),
            "label": INPUT_DIGEST_LABEL}


def windows_share_from_bundle(bundle: str, families: Sequence[str] | None, host: str, releases: Mapping[str, str],
                              registry: str, work_dir: str, *, namespace: str = "",
                              build_args: Mapping[str, str] | None = None, arch: str = "windows-amd64") -> dict:
    """``windows_share`` of the release bundle ``bundle`` (on the controller) for a host whose folder is ``work_dir``:
    the jobs' contexts are in ``<work_dir>\\bundle\\<bundle id>\\render``, where the host unpacks the one file it
    gets. ``families`` None: every family of the bundle. Adds ``bundle_file``, ``bundle_dir`` and ``bundle_sha256``."""
    # Unpacked (strictly: regular files and folders only, see bundle.py) into a folder of this call's own, so that
    # several Windows hosts computing their shares at once never race on one folder; the trees are a few kB.
    with tempfile.TemporaryDirectory(prefix="buildfarm-windows-share-") as tmp:
        unpacked = open_bundle(bundle, tmp)
        names = unpacked.release.names
        unknown = [f for f in families or () if f not in names]
        if unknown:
            raise BundleError("%s not in the release bundle (its families: %s)" % (
                ", ".join(unknown), ", ".join(names) or "none"), bundle, "families")
        # the same folder name as bundle.py's on a Linux builder: a prefix of the bundle's sha256
        bundle_dir = _win_join(work_dir, "bundle", os.path.basename(unpacked.root))
        share = windows_share(unpacked.release.families, {n: unpacked.render_dir(n) for n in names},
                              names if families is None else families, host, releases, registry,
                              _win_join(bundle_dir, "render"), namespace=namespace, build_args=build_args, arch=arch)
    share.update(bundle_file=_win_join(work_dir, BUNDLE_FILE), bundle_dir=bundle_dir, bundle_sha256=sha256_file(bundle))
    return share
