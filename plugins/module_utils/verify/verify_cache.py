# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify stage's cache of passes: (registry, repository:tag) -> the list's digest, a hash of what the check
compared it with, when, and the tag's verification as it passed.

Why it is sound: a registry is content-addressed, so a list read by the same digest is byte for byte the list that
passed, and with it every member, attestation and layer it names (each addressed by digest from the list). What
else the checks compare (the release's pushes, the declared packages, the settings) goes into the expectations
hash; a pass is reused only when both match. Failures are never recorded. A missing or unreadable file is an
empty cache (a full verification, never an error); the file is replaced atomically.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.release.model import TagVerification

# Bump when the checks change: a pass under older checks is not one under today's.
CACHE_VERSION = 1


def expectations_hash(expectations: Mapping[str, Any]) -> str:
    """A stable hash of what a tag was checked against (JSON, keys sorted)."""
    data = json.dumps({"version": CACHE_VERSION, "expectations": expectations}, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


def cache_key(registry: str, repository: str, tag: str) -> str:
    return "%s/%s:%s" % (registry, repository, tag)


@dataclass
class VerifyCache:
    """Recorded passes, read from `path` (None: no cache; nothing is read or written)."""

    path: str | None = None
    entries: dict[str, dict] = field(default_factory=dict)
    hits: int = 0

    @classmethod
    def load(cls, path: str | None) -> "VerifyCache":
        """The passes recorded in `path`; a missing, unreadable or foreign file (another version) is empty."""
        if not path:
            return cls(None)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return cls(path)
        if not isinstance(data, Mapping) or data.get("version") != CACHE_VERSION:
            return cls(path)
        tags = data.get("tags")
        entries = {str(k): dict(v) for k, v in tags.items() if isinstance(v, Mapping)} if isinstance(
            tags, Mapping) else {}
        return cls(path, entries)

    def hit(self, key: str, digest: str, expectations: str) -> TagVerification | None:
        """The recorded pass of `key` when the list is still `digest` and was checked against the same
        expectations; None otherwise (a malformed entry included)."""
        entry = self.entries.get(key)
        if not entry or not digest or entry.get("digest") != digest or entry.get("expectations") != expectations:
            return None
        try:
            result = TagVerification.from_dict(entry.get("result"), "verify cache %s" % key)
        except (ValueError, TypeError):  # ModelError is a ValueError: an entry we cannot read is no pass
            return None
        if not result.ok or result.digest != digest:
            return None
        self.hits += 1
        return result

    def record(self, key: str, result: TagVerification, expectations: str) -> None:
        """Record a pass; a failure drops what was recorded of the tag."""
        if not result.ok or not result.digest:
            self.entries.pop(key, None)
            return
        self.entries[key] = {"digest": result.digest, "expectations": expectations,
                             "verified_at": datetime.datetime.now(datetime.timezone.utc).strftime(
                                 "%Y-%m-%dT%H:%M:%SZ"),
                             "result": result.to_dict()}

    def record_all(self, items: Sequence[tuple[str, TagVerification, str]]) -> None:
        for key, result, expectations in items:
            self.record(key, result, expectations)

    def save(self) -> None:
        """Write the file atomically (a temporary file in its folder, then renamed over it)."""
        if not self.path:
            return
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".verify-cache-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": CACHE_VERSION, "tags": self.entries}, f, sort_keys=True, indent=1)
                f.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
