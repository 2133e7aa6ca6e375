# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one architecture of one release entry is built from, and the content digest of those inputs.

A builder reuses an image whose ``INPUT_DIGEST_LABEL`` equals the digest computed here, so the digest
covers everything that changes the image (the Dockerfile after FROM pinning, every context file with
its mode, the resolved parent images, the platform and build args) and nothing that doesn't (time,
paths on the builder, metadata labels). Plain typed Python, no Docker or Ansible imports.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
from dataclasses import dataclass, field
from typing import IO, Iterable, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.dockerfile import pin_from
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

INPUT_DIGEST_LABEL = "io.buildfarm.input-digest"
SCHEME = "buildfarm-inputs/1"


class BuildInputError(BuildfarmError, ValueError):
    """A plan entry or its rendered context cannot be built; the message names the file/field/value."""


@dataclass(frozen=True)
class ContextFile:
    path: str  # relative, '/'-separated
    mode: int  # 0o755 or 0o644 (only the exec bit matters to a build)
    sha256: str = ""
    link: str = ""  # symlink target, for symlinks


def _norm_mode(st_mode: int) -> int:
    return 0o755 if st_mode & stat.S_IXUSR else 0o644


def scan_context(roots: Sequence[str]) -> dict[str, tuple[str, ContextFile]]:
    """Files of the build context: later roots overlay earlier ones. Returns rel path -> (abs path, file)."""
    files: dict[str, tuple[str, ContextFile]] = {}
    for root in roots:
        if not os.path.isdir(root):
            raise BuildInputError("build context %s: not a directory" % root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    files[rel] = (full, ContextFile(rel, 0o777, link=os.readlink(full)))
                elif stat.S_ISREG(st.st_mode):
                    files[rel] = (full, ContextFile(rel, _norm_mode(st.st_mode), sha256_file(full)))
    return files


def sha256_file(path: str) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks (context files, bundles, root filesystems)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class BuildInputs:
    """Everything one image is built from."""

    platform: str
    dockerfile_name: str
    dockerfile: str  # after FROM pinning
    files: dict[str, tuple[str, ContextFile]]  # without the Dockerfile itself
    parents: dict[str, str] = field(default_factory=dict)  # FROM reference -> resolved image id/digest
    build_args: dict[str, str] = field(default_factory=dict)
    # the normalized builder (common/builders.py): the same Dockerfile built by BuildKit is another image (other
    # layers, other history), so a family switching builders is rebuilt. `classic` leaves the digest as it was
    # before builders counted, so a classic image built then is still found unchanged.
    builder: str = "classic"
    # FROM reference -> what the parent is, where its engine id is no identity (the containerd image store: one
    # config, several manifests, several ids; build/engine_store.py image_identity): the digest covers these instead
    identities: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        dockerfile, parents = self.dockerfile, self.parents
        if self.identities:
            by_id = {v: self.identities.get(k, v) for k, v in self.parents.items()}
            dockerfile = pin_from(self.dockerfile, by_id)  # FROM <image id> becomes FROM <identity>
            parents = {k: self.identities.get(k, v) for k, v in self.parents.items()}
        doc = {
            "scheme": SCHEME,
            "platform": self.platform,
            "dockerfile": hashlib.sha256(dockerfile.encode()).hexdigest(),
            "files": [[f.path, "%o" % f.mode, f.sha256, f.link]
                      for f in sorted((cf for _path, cf in self.files.values()), key=lambda x: x.path)
                      if f.path != self.dockerfile_name],
            "parents": sorted(parents.items()),
            "build_args": sorted(self.build_args.items()),
        }
        if self.builder and self.builder != "classic":
            doc["builder"] = self.builder
        return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def tar(self, dockerfile: str | None = None) -> io.BytesIO:
        """The build context as an uncompressed tar with normalised owners and times, in memory."""
        buf = io.BytesIO()
        self.write_tar(buf, dockerfile)
        buf.seek(0)
        return buf

    def write_tar(self, fileobj: IO[bytes], dockerfile: str | None = None) -> None:
        """Write the build context tar to ``fileobj``; ``dockerfile`` replaces the pinned Dockerfile's text (a
        BuildKit build pins its parents otherwise: build_inputs.pin_from's image ids are what the digest covers)."""
        with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for full, f in sorted(self.files.values(), key=lambda x: x[1].path):
                if f.path == self.dockerfile_name:
                    continue
                info = tarfile.TarInfo(f.path)
                info.mtime = 0
                if f.link:
                    info.type = tarfile.SYMTYPE
                    info.linkname = f.link
                    tar.addfile(info)
                    continue
                info.mode = f.mode
                info.size = os.path.getsize(full)
                with open(full, "rb") as fh:
                    tar.addfile(info, fh)
            data = (self.dockerfile if dockerfile is None else dockerfile).encode()
            info = tarfile.TarInfo(self.dockerfile_name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))


def build_order(keys: Sequence[str], parents: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Waves of keys such that every key comes after the keys it depends on; order inside a wave keeps
    the input order. ``parents`` maps a key to the keys (of this same list) it is built FROM."""
    known = set(keys)
    deps = {k: {p for p in parents.get(k, ()) if p in known and p != k} for k in keys}
    done: set[str] = set()
    waves: list[list[str]] = []
    while len(done) < len(keys):
        wave = [k for k in keys if k not in done and deps[k] <= done]
        if not wave:
            cycle = [k for k in keys if k not in done]
            raise BuildInputError("dependency cycle between entries: %s" % ", ".join(cycle))
        waves.append(wave)
        done.update(wave)
    return waves
