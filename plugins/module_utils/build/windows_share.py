# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Windows builder's share of a release, computed on the controller.

The Windows builders build with the Docker CLI in PowerShell (no Docker SDK or Python there), so everything a
build needs is prepared here: the host's share (scheduling.assign with the Windows releases), full tags, the
content digest of each entry's rendered context (build_inputs), the labels (labels.py, as on Linux) and the
PowerShell smoke tests as argument lists (smoke_tests). Plain typed Python; the action plugin windows_share is thin.
"""
from __future__ import annotations

import string
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.build import scheduling, smoke_tests
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import (
    INPUT_DIGEST_LABEL,
    BuildInputError,
    BuildInputs,
    scan_context,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.labels import image_labels
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures

__all__ = ["windows_share", "BuildInputError"]


def _win_join(*parts: str) -> str:
    return "\\".join(p.strip("\\/").replace("/", "\\") for p in parts if p)


def _job(fam: Mapping[str, Any], entry: Mapping[str, Any], repository: str, context_dir: str,
         tests: list[smoke_tests.SmokeTest], arch: str, build_args: Mapping[str, str]) -> dict:
    """One entry as the PowerShell build script takes it."""
    directory = str(entry["directory"])
    root = "%s/%s" % (fam["render_dir"], directory)
    dockerfile = str(entry.get("file") or "Dockerfile")
    files = scan_context([root])
    if dockerfile not in files:
        raise BuildInputError("%s: no %s in the rendered context (entry %s, field directory)"
                              % (root, dockerfile, directory))
    with open(files[dockerfile][0], encoding="utf-8") as fh:
        text = fh.read()
    # the parents' image ids are not known here; the build script adds them to this digest on the host
    platform = architectures.get(arch).platform
    digest = BuildInputs("%s/%s" % (platform.os, platform.architecture), dockerfile, text, files,
                         build_args=dict(build_args)).digest()
    version = str(entry.get("version") or "")
    subs = smoke_tests.substitutions(arch, version)
    tags = [str(t) for t in entry["tags"]] + [str(t) for t in entry.get("shared_tags") or []]
    # the same labels as on Linux (build/labels.py); the script adds the input digest once the parents are known
    labels = image_labels(source=str(fam.get("source") or ""),
                          revision=str(entry.get("git_commit") or fam.get("revision") or ""), version=version,
                          created=str(fam.get("created") or ""), base=str((entry.get("from") or [""])[0]))
    return {
        "key": "%s:%s" % (fam["name"], entry["tags"][0]),
        "repo": fam["name"],
        "context": _win_join(context_dir, fam["name"], directory),
        "dockerfile": dockerfile,
        "from": list(entry.get("from") or []),
        "tags": ["%s:%s" % (repository, t) for t in tags],
        "input_digest": digest,
        "labels": labels,
        "build_args": dict(build_args),
        "tests": [{"name": t.name, "command": smoke_tests.command_for(t, "windows", subs),
                   "stdout": string.Template(t.stdout).safe_substitute(subs) if t.stdout else "",
                   "exit_code": t.exit_code, "timeout": t.timeout} for t in tests],
    }


def windows_share(release: Sequence[Mapping[str, Any]], families: Sequence[str], host: str,
                  releases: Mapping[str, str], registry: str, context_dir: str, *, namespace: str = "",
                  build_args: Mapping[str, str] | None = None, arch: str = "windows-amd64") -> dict:
    """The build jobs of ``host`` (in build order) and the release's entries no Windows host can build."""
    if not architectures.get(arch).is_windows:
        raise scheduling.SchedulingError("windows_share: %s is not a Windows architecture" % arch)
    if host not in releases:
        raise scheduling.SchedulingError("windows_share: host %s is not among the Windows builders %s"
                                         % (host, ", ".join(sorted(releases))))
    ns = architectures.namespace_for(arch) if not namespace else namespace
    jobs: list[dict] = []
    unroutable: list[dict] = []
    for fam in release:
        if fam["name"] not in families:
            continue
        repository = "%s/%s/%s" % (registry.rstrip("/"), ns, fam["name"]) if registry else "%s/%s" % (ns, fam["name"])
        result = scheduling.assign(list(fam.get("entries") or []), list(releases), arch,
                                   repo=str(fam.get("repository") or fam["name"]), releases=releases)
        for u in result.unroutable:
            unroutable.append(dict(u.to_dict(), repo=fam["name"], arch=arch,
                                   key="%s:%s" % (fam["name"], u.entry["tags"][0])))
        share = result.shares.get(host) or []
        if not share:
            continue
        if fam.get("tests"):  # release_prepare hands the tests over as data
            tests = smoke_tests.parse(fam["tests"], "%s tests" % fam["name"]).for_os("windows")
        else:
            tests = smoke_tests.load(fam["tests_file"]).for_os("windows") if fam.get("tests_file") else []
        jobs += [_job(fam, e, repository, context_dir, tests, arch, build_args or {}) for e in share]
    return {"jobs": jobs, "unroutable": unroutable, "families": sorted({j["repo"] for j in jobs}),
            "label": INPUT_DIGEST_LABEL}
