# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release bundle on a builder: the one file the controller sends (release.json and every family's rendered
tree, made by release/batch.py), unpacked once per content into ``<work_dir>/bundle/<sha256 prefix>``.

Unpacking is strict (regular files and folders only, no absolute path, no `..`, no link) and atomic (a temporary
folder renamed into place), so a reader never sees half a bundle and a bundle cannot write outside its folder.
Plain typed Python.
"""
from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Any

from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import sha256_file
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

RELEASE_JSON = "release.json"
BUNDLE_FORMAT = "buildfarm-release/1"


class BundleError(BuildfarmError, ValueError):
    """The bundle cannot be read: names the file and what is wrong."""


@dataclass
class Bundle:
    root: str  # the unpacked folder
    data: dict[str, Any]  # release.json

    @property
    def families(self) -> list[dict[str, Any]]:
        return list(self.data.get("families") or [])

    def render_dir(self, family: str) -> str:
        return os.path.join(self.root, "render", family)

    def entry(self, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(family, entry) of entry ``key`` (`<repository>:<first tag>`), None when the release has no such entry.
        The family's dict carries what the images' attestations read beside the entries (batch.py
        ReleaseFamily.as_dict): `source`, `revision`, `family_folder`, `templates` and `sources` per entry
        directory, `build_args`, `context`, `debian_releases`; a library file's entries carry their Git source."""
        for f in self.families:
            for e in f.get("entries") or []:
                tags = e.get("tags") or []
                if tags and "%s:%s" % (f.get("name"), tags[0]) == key:
                    return f, e
        return None

    def tests(self) -> dict[str, Any]:
        """Family name -> its smoke tests data, for the families that have tests."""
        return {f["name"]: f["tests"] for f in self.families if f.get("tests")}


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
        with open(os.path.join(root, RELEASE_JSON), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise BundleError("%s: %s missing or not JSON: %s" % (path, RELEASE_JSON, exc)) from None
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise BundleError("%s: field format: not a %s bundle (value: %r)" % (
            path, BUNDLE_FORMAT, data.get("format") if isinstance(data, dict) else data))
    return Bundle(root, data)
