# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one reader of the release bundle: the one file the controller sends (release.json and every family's
rendered tree, made by release/batch.py). Every stage that reads the bundle gets release.json as the typed record
(release/model/_family.py `ReleaseBundle`), checked once here, never as a raw dict.

`open_bundle` unpacks it on a builder, once per content, into ``<work_dir>/bundle/<sha256 prefix>``: strictly
(regular files and folders only, no absolute path, no `..`, no link) and atomically (a temporary folder renamed into
place), so a reader never sees half a bundle and a bundle cannot write outside its folder. `load_bundle` reads
release.json alone, without unpacking (the controller's readers). Plain typed Python.
"""
from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from typing import IO, Any

from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import sha256_file
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import ModelError, ReleaseBundle

RELEASE_JSON = "release.json"


class BundleError(BuildfarmError, ValueError):
    """The bundle cannot be read: names the file and what is wrong."""


@dataclass
class Bundle:
    """A release bundle unpacked on a builder: its release.json as the typed record (`release`: families,
    `entry(key)`, `tests()`), and where the rendered trees are."""

    root: str  # the unpacked folder
    release: ReleaseBundle  # release.json

    def render_dir(self, family: str) -> str:
        return os.path.join(self.root, "render", family)

    def tests(self) -> dict[str, Any]:
        """Family name -> its smoke tests data, for the families that have tests."""
        return self.release.tests()


def _safe_members(tar: tarfile.TarFile, path: str) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        parts = m.name.split("/")
        if m.name.startswith("/") or ".." in parts or not (m.isfile() or m.isdir()):
            raise BundleError("%s: member %r: only relative regular files and folders may be in a release bundle"
                              % (path, m.name))
    return members


def open_bundle(path: str, work_dir: str, keep: int = 2) -> Bundle:
    """The bundle ``path`` unpacked under ``work_dir/bundle`` (once per content); older unpacked bundles beyond the
    ``keep`` most recent are removed."""
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise BundleError("%s: cannot read the release bundle: %s" % (path, exc.strerror)) from None
    base = os.path.join(work_dir, "bundle")
    root = os.path.join(base, digest[:16])
    if not os.path.isdir(root):
        os.makedirs(base, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".unpack-", dir=base)
        try:
            with tarfile.open(path, "r:") as tar:
                for m in _safe_members(tar, path):
                    dest = os.path.join(tmp, *m.name.split("/"))
                    if m.isdir():
                        os.makedirs(dest, exist_ok=True)
                        continue
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    src = tar.extractfile(m)
                    if src is None:
                        raise BundleError("%s: member %r cannot be read" % (path, m.name))
                    with open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
                    os.chmod(dest, 0o644)
            os.chmod(tmp, 0o755)
            try:
                os.rename(tmp, root)
            except OSError:
                if not os.path.isdir(root):
                    raise
                # unpacked meanwhile by another build on this host (same content, same folder): use that one
                shutil.rmtree(tmp, ignore_errors=True)
        except (tarfile.TarError, OSError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise BundleError("%s: not a release bundle: %s" % (path, exc)) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    os.utime(root)  # most recently used first when pruning
    others = sorted((os.path.join(base, d) for d in os.listdir(base) if not d.startswith(".")),
                    key=os.path.getmtime, reverse=True)
    for old in others[keep:]:
        if old != root:
            shutil.rmtree(old, ignore_errors=True)
    try:
        with open(os.path.join(root, RELEASE_JSON), "rb") as fh:
            return Bundle(root, _release(fh, path))
    except OSError as exc:
        raise BundleError("%s: %s missing: %s" % (path, RELEASE_JSON, exc.strerror)) from None


def _release(fh: IO[bytes] | None, path: str) -> ReleaseBundle:
    """release.json (read from ``fh``) as the typed record; errors name the bundle ``path``, the field and value."""
    try:
        data = json.load(fh) if fh is not None else None
    except ValueError as exc:
        raise BundleError("%s: %s is not JSON: %s" % (path, RELEASE_JSON, exc)) from None
    if data is None:
        raise BundleError("%s: %s missing" % (path, RELEASE_JSON))
    try:
        return ReleaseBundle.from_dict(data, "%s (%s)" % (path, RELEASE_JSON))
    except ModelError as exc:  # the consumers' one error for a bundle they cannot read
        raise BundleError(exc.problem, exc.file, exc.field,
                          **({"value": exc.value} if exc.has_value else {})) from None


def load_bundle(path: str) -> ReleaseBundle:
    """The release.json of the bundle ``path`` as the typed record, read from the tar without unpacking it (a
    reader that needs no rendered tree: the controller's report, the Windows share)."""
    try:
        with tarfile.open(path, "r:") as tar:
            try:
                member = tar.getmember(RELEASE_JSON)
            except KeyError:
                raise BundleError("%s: %s missing" % (path, RELEASE_JSON)) from None
            return _release(tar.extractfile(member), path)
    except tarfile.TarError as exc:
        raise BundleError("%s: not a release bundle: %s" % (path, exc)) from None
    except OSError as exc:
        raise BundleError("%s: cannot read the release bundle: %s" % (path, exc.strerror)) from None
