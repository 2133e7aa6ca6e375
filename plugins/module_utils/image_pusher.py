# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pushing a builder's images tag by tag, skipping tags whose registry digest is already the local image's.

The registry is asked through the engine (distribution inspect), so the engine's own registry settings
(insecure registries, mirrors, credentials from docker_login) apply exactly as they do to the push.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

# Words in an engine error that mean the registry or the network hiccupped, not that the push is wrong.
_TRANSIENT = ("timeout", "timed out", "connection reset", "connection refused", "eof", "broken pipe",
              "502", "503", "504", "500", "429", "too many requests", "temporary", "i/o timeout", "unavailable")
_PERMANENT = ("unauthorized", "denied", "authentication required", "manifest invalid", "name unknown")


class PushError(RuntimeError):
    pass


def is_transient(message: str) -> bool:
    low = message.lower()
    return not any(w in low for w in _PERMANENT) and any(w in low for w in _TRANSIENT)


@dataclass
class TagResult:
    ref: str
    status: str  # pushed | unchanged | would-push | failed
    digest: str = ""
    attempts: int = 0
    error: str = ""

    def as_dict(self) -> dict:
        return {"ref": self.ref, "status": self.status, "digest": self.digest, "attempts": self.attempts,
                "error": self.error}


@dataclass
class ImagePushResult:
    key: str
    image_id: str
    tags: list[TagResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.status != "failed" for t in self.tags)

    def as_dict(self) -> dict:
        return {"key": self.key, "image_id": self.image_id, "ok": self.ok, "tags": [t.as_dict() for t in self.tags]}


def split_ref(ref: str) -> tuple[str, str]:
    repo, tag = ref.rpartition(":")[::2]
    if "/" in tag or not repo:
        return ref, "latest"
    return repo, tag


def local_digest(image_attrs: dict, repo: str) -> str:
    """The manifest digest this image has in ``repo`` (from a previous push or pull), or ''."""
    for rd in image_attrs.get("RepoDigests") or []:
        name, digest = rd.partition("@")[::2]
        if name == repo:
            return digest
    return ""


def remote_digest(client: Any, ref: str) -> str:
    """The registry's digest for ``ref``, '' when the tag does not exist."""
    try:
        return client.images.get_registry_data(ref).id
    except Exception as exc:  # docker.errors.NotFound / APIError; unknown tags are normal before a first push
        msg = str(exc).lower()
        if "not found" in msg or "manifest unknown" in msg or "404" in msg:
            return ""
        raise


@dataclass
class Pusher:
    client_factory: Callable[[], Any]
    retries: int = 3
    backoff: float = 2.0
    check_mode: bool = False
    max_workers: int = 2
    sleep: Callable[[float], None] = time.sleep

    def _push_tag(self, client: Any, ref: str) -> str:
        repo, tag = split_ref(ref)
        digest = ""
        for line in client.api.push(repo, tag, stream=True, decode=True):
            if "error" in line or "errorDetail" in line:
                raise PushError(str(line.get("error") or line.get("errorDetail")))
            aux = line.get("aux") or {}
            digest = aux.get("Digest", digest)
        if not digest:
            raise PushError("the engine reported no digest for %s" % ref)
        return digest

    def _with_retries(self, res: TagResult, fn: Callable[[], str]) -> str:
        while True:
            res.attempts += 1
            try:
                return fn()
            except Exception as exc:
                if res.attempts >= self.retries or not is_transient(str(exc)):
                    raise
                self.sleep(min(30.0, self.backoff ** res.attempts))

    def push_image(self, key: str, image_id: str, refs: Sequence[str]) -> ImagePushResult:
        out = ImagePushResult(key, image_id)
        client = self.client_factory()
        attrs = client.api.inspect_image(image_id)
        for ref in refs:
            res = TagResult(ref, "failed")
            out.tags.append(res)
            repo, _tag = split_ref(ref)
            try:
                remote = self._with_retries(res, lambda: remote_digest(client, ref))
                mine = local_digest(attrs, repo)
                if remote and remote == mine:
                    res.status, res.digest = "unchanged", remote
                elif self.check_mode:
                    res.status = "would-push"
                else:
                    res.attempts = 0
                    res.digest = self._with_retries(res, lambda: self._push_tag(client, ref))
                    res.status = "pushed"
                    attrs = client.api.inspect_image(image_id)
            except Exception as exc:
                res.status, res.error = "failed", "%s: %s" % (type(exc).__name__, exc)
        return out

    def run(self, images: Sequence[tuple[str, str, Sequence[str]]]) -> list[ImagePushResult]:
        with ThreadPoolExecutor(max_workers=max(1, self.max_workers)) as pool:
            return list(pool.map(lambda i: self.push_image(*i), images))
