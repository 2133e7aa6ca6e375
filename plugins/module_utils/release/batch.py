# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release as one batch: every family of the release loaded, rendered once and planned together, then written
as the library files, the rendered trees and one bundle the builders build from.

Families depend on families: a family whose FROM names an image of another family of the release is planned after
it and takes its architectures from that family's plan (no parents' library file needed), so the builders build it
after its parent, FROM the image they just built. A family's folder is its whole recipe (family.yml, versions,
templates, `build:` context sources and smoke tests): nothing outside it names the family, and a folder copied
under another name is another image.

The bundle (`release.tar`, deterministic: sorted, owner 0, mtime 0) holds `release.json` and `render/<family>/...`;
it is rewritten only when its bytes change, so the one copy to each builder is a no-op in an unchanged release.
Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import ImageRef, from_lines
from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import BUNDLE_FORMAT, RELEASE_JSON
from ansible_collections.buildfarm.images.plugins.module_utils.build.smoke_tests import SmokeTestError, parse
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as _arches
from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import write_text
from ansible_collections.buildfarm.images.plugins.module_utils.family.family import (
    FAMILY_FILE,
    Family,
    FamilyError,
    load_family,
)
from ansible_collections.buildfarm.images.plugins.module_utils.family.plan import (
    ParentLibrary,
    Plan,
    PlanError,
    plan_family,
)
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import render_family, sync

BUNDLE_FILE = "release.tar"


class ReleaseError(FamilyError):
    """The release as a whole cannot be prepared: unknown family, a FROM cycle between families."""


class ReleaseParents(ParentLibrary):
    """Parents looked up in the families of this release first (their plans), then in the parents' library files."""

    def __init__(self, folder: str | None, release_names: set[str]):
        super().__init__(folder)
        self.release_names = release_names
        self.planned: dict[str, Plan] = {}

    def architectures(self, ref: str, where: str) -> list[str]:
        image = ImageRef.parse(ref)
        if image.repo not in self.release_names:
            return super().architectures(ref, where)
        plan = self.planned[image.repo]  # planned before its children (dependency order)
        tag = image.tag.split("@", 1)[0]
        for e in plan.entries:
            if tag in e.tags or tag in e.shared_tags:
                return list(e.architectures)
        for d in plan.dropped:  # no builder for the parent: its children drop out the same way
            if tag in d.tags:
                return list(d.architectures)
        raise PlanError(where, "FROM", ref, "parent image not found: tag %r is not planned in family %s of this "
                        "release" % (tag, image.repo))


@dataclass
class ReleaseFamily:
    family: Family
    rendered: dict[str, str]
    plan: Plan
    depends_on: list[str]
    revision: str = ""
    created: str = ""
    tests: Any = None  # the smoke tests file's data (validated), None without one

    @property
    def name(self) -> str:
        return self.family.name

    def as_dict(self) -> dict:
        """What the builders, the publisher and the report need of the family (release.json)."""
        return {
            "name": self.name,
            "repository": self.plan.repository,
            "entries": [e.to_dict() for e in self.plan.entries],
            "dropped": [d.to_dict() for d in self.plan.dropped],
            "depends_on": list(self.depends_on),
            "scratch": all(e.from_[:1] == ["scratch"] for e in self.plan.entries),
            "context": dict(self.family.build.context),
            "tests": self.tests,
            "source": self.plan.git_repo,
            "revision": self.revision,
            "created": self.created,
        }


@dataclass
class Release:
    families: list[ReleaseFamily]  # dependency order: a family after the families it is built FROM
    architectures: list[str]
    families_dir: str
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"format": BUNDLE_FORMAT, "architectures": list(self.architectures),
                "families": [f.as_dict() for f in self.families]}


def discover(families_dir: str) -> list[str]:
    """Every folder of ``families_dir`` holding a family.yml, by name."""
    return sorted(n for n in os.listdir(families_dir)
                  if not n.startswith(".") and os.path.isfile(os.path.join(families_dir, n, FAMILY_FILE)))


def family_parents(rendered: dict[str, str], names: set[str], own: str) -> list[str]:
    """The families of the release (``names``) whose images the rendered Dockerfiles are built FROM."""
    found: list[str] = []
    for text in rendered.values():
        for fl in from_lines(text):
            if fl.stage_parent:
                continue
            repo = ImageRef.parse(fl.ref).repo
            if repo in names and repo != own and repo not in found:
                found.append(repo)
    return found


def _dependency_order(deps: dict[str, list[str]], families_dir: str) -> list[str]:
    done: list[str] = []
    pending = list(deps)
    while pending:
        ready = [n for n in pending if all(d in done for d in deps[n])]
        if not ready:
            raise ReleaseError(families_dir, "FROM", ", ".join(pending),
                               "these families are built FROM each other (a cycle)")
        done.extend(ready)
        pending = [n for n in pending if n not in ready]
    return done


def _git_revision(folder: str) -> tuple[str, str]:
    """(last commit touching ``folder``, its commit time) or empty strings outside git."""
    try:
        out = subprocess.run(  # pylint: disable=ansible-bad-function
            ["git", "-C", folder, "log", "-1", "--format=%H%n%cI", "--", "."],
            check=True, capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "", ""
    return (out[0], out[1]) if len(out) == 2 else ("", "")


def _load_tests(family: Family) -> Any:
    if not family.build.tests_file:
        return None
    import yaml  # family.py needs PyYAML already

    path = family.build.tests_file
    try:
        with open(path, "rb") as fh:
            raw = yaml.safe_load(fh.read())
        parse(raw, path)  # validated here, before anything is built
    except OSError as exc:
        raise FamilyError(path, "(file)", path, "cannot read the tests file: %s" % exc.strerror) from None
    except yaml.YAMLError as exc:
        raise FamilyError(path, "(yaml)", str(exc), "not valid YAML") from None
    except SmokeTestError as exc:
        raise FamilyError(path, "(tests)", str(exc), "invalid smoke tests") from None
    return raw


def prepare(families_dir: str, names: Sequence[str] | None = None, architectures: Sequence[str] | None = None,
            parents_dir: str | None = None, source_date_epoch: str | None = None) -> Release:
    """Load, render and plan the release's families (``names``, default every family of ``families_dir``) for
    ``architectures`` (default all). Any bad input raises a FamilyError naming file, field and value."""
    families_dir = os.path.abspath(families_dir)
    if not os.path.isdir(families_dir):
        raise ReleaseError(families_dir, "families_dir", families_dir, "families folder not found")
    names = list(names) if names is not None else discover(families_dir)
    if not names:
        raise ReleaseError(families_dir, "families", [], "no family to release (no folder with a family.yml)")
    for a in architectures or ():
        if not _arches.is_known(a):
            raise ReleaseError("release", "architectures", a, "unknown architecture")
    seen: set[str] = set()
    loaded: dict[str, tuple[Family, dict[str, str]]] = {}
    for n in names:
        if not isinstance(n, str) or n in (".", "..") or "/" in n or n.startswith("."):
            raise ReleaseError(families_dir, "families", n, "not a family folder name")
        if n in seen:
            raise ReleaseError(families_dir, "families", n, "family named twice")
        seen.add(n)
        path = os.path.join(families_dir, n)
        if not os.path.isdir(path):
            raise ReleaseError(families_dir, "families", n, "no such family folder in %s (families there: %s)"
                               % (families_dir, ", ".join(discover(families_dir)) or "none"))
        family = load_family(path, name=n)
        loaded[n] = (family, render_family(family))
    deps = {n: family_parents(rendered, seen, n) for n, (_f, rendered) in loaded.items()}
    parents = ReleaseParents(parents_dir, seen)
    if parents_dir and not os.path.isdir(parents_dir):
        raise ReleaseError(parents_dir, "parents_library", parents_dir, "parents library folder not found")
    release = Release([], list(architectures) if architectures is not None else [], families_dir)
    for n in _dependency_order(deps, families_dir):
        family, rendered = loaded[n]
        plan = plan_family(family, parents_dir, rendered=rendered, architectures=architectures, parents=parents)
        plan.source = os.path.relpath(family.path, os.path.dirname(families_dir))
        parents.planned[n] = plan
        revision, created = _git_revision(family.path)
        if source_date_epoch:
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(source_date_epoch)))
        release.warnings += plan.warnings
        release.families.append(ReleaseFamily(family, rendered, plan, deps[n], revision, created,
                                              _load_tests(family)))
    return release


def bundle_bytes(release: Release) -> bytes:
    """The release bundle: release.json and every rendered tree, as a deterministic tar."""
    files: dict[str, bytes] = {RELEASE_JSON: json.dumps(release.as_dict(), indent=1, sort_keys=True).encode()}
    for f in release.families:
        for rel, text in f.rendered.items():
            files["render/%s/%s" % (f.name, rel)] = text.encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(files[name]))
    return buf.getvalue()


@dataclass
class WriteResult:
    changed: bool
    bundle: str
    library_files: dict[str, str]  # family -> path
    changed_files: list[str] = field(default_factory=list)
    diff: list[dict] = field(default_factory=list)


def write(release: Release, work_dir: str, artifacts_dir: str, check: bool = False,
          want_diff: bool = False) -> WriteResult:
    """Write the rendered trees (``work_dir/render/<family>``) and the bundle (``work_dir/release.tar``) - scratch
    space, written in check mode too so a dry run knows what would be built - and the library files
    (``artifacts_dir/library/<family>``, not in check mode). Each is replaced whole, and only when it changed."""
    work_dir, artifacts_dir = os.path.abspath(work_dir), os.path.abspath(artifacts_dir)
    res = WriteResult(False, os.path.join(work_dir, BUNDLE_FILE), {})
    for f in release.families:
        sync(f.family, os.path.join(work_dir, "render", f.name), files=f.rendered)
        path = os.path.join(artifacts_dir, "library", f.name)
        res.library_files[f.name] = path
        written = write_text(path, f.plan.library_text(), 0o644, check_mode=check)
        if written.changed:
            res.changed = True
            res.changed_files.append(path)
            if want_diff:
                res.diff.append(written.diff())
    data = bundle_bytes(release)
    try:
        with open(res.bundle, "rb") as fh:
            same = fh.read() == data
    except OSError:
        same = False
    if not same:
        os.makedirs(work_dir, exist_ok=True)
        tmp = res.bundle + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, res.bundle)
    return res
