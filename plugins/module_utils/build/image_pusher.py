# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pushing a builder's images tag by tag, skipping tags whose registry digest is already the local image's.

The push goes through the engine; what the registry holds is asked of the registry itself, a manifest HEAD
per tag, before the push (unchanged: nothing else is asked) and after it. The engine's memory (RepoDigests,
the layers it believes a registry has) and the push's own report are never taken as proof: a registry whose
storage was replaced, or one that accepts a push it then does not serve, must not let a tag count as pushed.
"""
from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient

# Words in an engine error that mean the registry or the network hiccupped, not that the push is wrong.
_TRANSIENT = ("timeout", "timed out", "connection reset", "eof", "broken pipe",
              "502", "503", "504", "500", "429", "too many requests", "temporary", "i/o timeout", "unavailable")
# A refused port, a name that does not resolve or a TLS failure is a wrong address or trust setting, not a passing
# fault: retrying only delays the error (as the registry client does, these fail at once).
_PERMANENT = ("unauthorized", "denied", "authentication required", "manifest invalid", "name unknown",
              "connection refused", "no such host", "certificate", "x509", "tls:")


class PushError(BuildfarmError, RuntimeError):
    pass


class PushInputError(ValueError, BuildfarmError):
    """Bad `images` input, found before anything is pushed: `field` (e.g. images[2].key) and `value` say which."""

    def __init__(self, field: str, value: Any, problem: str) -> None:
        self.file = "images"  # the option: the modules report every bad input as file, field and value
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__("field %s: %s (value: %r)" % (field, problem, value))


def _not_found(exc: Exception) -> bool:
    """Whether an engine error means the image does not exist (docker.errors.ImageNotFound / NotFound: 404)."""
    return getattr(exc, "status_code", None) == 404 or type(exc).__name__ in ("ImageNotFound", "NotFound")


def push_items(images: Sequence[Any], check_mode: bool = False) -> list[tuple[str, str, list[str]]]:
    """The (key, image_id, tags) to push from `images` (the image_build result's items), each item checked: every
    item is a mapping with a string `key`; those to push (status built or unchanged) name an `image_id` and a list
    of `tags`. A PushInputError names the first bad item, so a malformed list never half-pushes."""
    todo: list[tuple[str, str, list[str]]] = []
    for n, item in enumerate(images):
        where = "images[%d]" % n
        if not isinstance(item, dict):
            raise PushInputError(where, item, "must be a mapping with key, image_id, tags and status")
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise PushInputError(where + ".key", key, "missing or not a string: every item needs the key of its"
                                                      " entry (items are the images result of image_build)")
        status = item.get("status")
        if status not in ("built", "unchanged") and not (check_mode and status == "would-build"):
            continue
        tags = item.get("tags")
        if (not isinstance(tags, (list, tuple)) or not tags
                or not all(isinstance(t, str) and t.strip() and not any(c.isspace() for c in t) for t in tags)):
            raise PushInputError(where + ".tags", tags, "must be a non-empty list of full image references"
                                                        " (entry %s)" % key)
        image_id = item.get("image_id")
        if status != "would-build" and (not isinstance(image_id, str) or not image_id.strip()):
            raise PushInputError(where + ".image_id", image_id, "missing or not a string (entry %s, status %s)"
                                 % (key, status))
        # a dry run's would-build item has no image yet: "" marks it, whatever image_id it carries
        todo.append((key, "" if status == "would-build" else str(image_id), list(tags)))
    return todo


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


def local_digests(image_attrs: dict, repo: str) -> list[str]:
    """The manifest digests the engine remembers for this image in ``repo`` (from pushes or pulls)."""
    out = []
    for rd in image_attrs.get("RepoDigests") or []:
        name, digest = rd.partition("@")[::2]
        if name == repo:
            out.append(digest)
    return out


def remote_digest(registry: RegistryClient, ref: str) -> str:
    """The manifest digest the registry serves for ``ref`` (one HEAD), '' when it has no such tag."""
    image = ImageRef.parse(ref, default_tag="latest")
    desc = registry.head_manifest(image.path, image.tag)
    return desc.digest if desc else ""


@dataclass
class Pusher:
    """``client_factory``: a new engine client (one per worker); ``registry_for``: the registry client of a
    registry host (shared by the workers); ``progress`` (job ``push``): every image's state while run() works."""

    client_factory: Callable[[], Any]
    registry_for: Callable[[str], RegistryClient]
    retries: int = 3
    backoff: float = 2.0
    check_mode: bool = False
    max_workers: int = 2
    sleep: Callable[[float], None] = time.sleep
    progress: Progress | None = None

    def _push_tag(self, client: Any, ref: str) -> str:
        image = ImageRef.parse(ref, default_tag="latest")
        digest = ""
        for line in client.api.push(image.familiar_repository, image.tag, stream=True, decode=True):
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

    def check_images(self, images: Sequence[tuple[str, str, Sequence[str]]]) -> None:
        """Every image id is known to the engine, or a PushInputError naming each unknown one, before anything is
        pushed (an engine that cannot be asked is left to push_image, which fails the tags with its error)."""
        if not images:
            return
        try:
            client = self.client_factory()
        except Exception:
            return
        unknown = []
        for key, image_id, _refs in images:
            try:
                client.api.inspect_image(image_id)
            except Exception as exc:
                if not _not_found(exc):
                    return
                unknown.append("%s (entry %s)" % (image_id, key))
        if unknown:
            raise PushInputError("image_id", ", ".join(unknown), "no such image in the engine: was it built on this"
                                 " host, or removed since? Nothing was pushed")

    def push_image(self, key: str, image_id: str, refs: Sequence[str]) -> ImagePushResult:
        out = ImagePushResult(key, image_id)
        try:
            client = self.client_factory()
            attrs = client.api.inspect_image(image_id)
        except Exception as exc:  # the engine or the image is gone: every tag fails, saying why; the others go on
            error = "%s: %s" % (type(exc).__name__, exc)
            if _not_found(exc):
                error = "image %s of entry %s is not in the engine (%s)" % (image_id, key, error)
            out.tags = [TagResult(ref, "failed", error=error) for ref in refs]
            return out
        for ref in refs:
            res = TagResult(ref, "failed")
            out.tags.append(res)
            try:
                image = ImageRef.parse(ref, default_tag="latest")
                registry = self.registry_for(image.api_host)
                # partial binds this iteration's registry and ref (a closure in a loop would see later ones)
                remote = self._with_retries(res, functools.partial(remote_digest, registry, ref))
                if remote and remote in local_digests(attrs, image.familiar_repository):
                    res.status, res.digest = "unchanged", remote
                elif self.check_mode:
                    res.status = "would-push"
                else:
                    res.attempts = 0
                    pushed = self._with_retries(res, functools.partial(self._push_tag, client, ref))
                    served = self._with_retries(TagResult(ref, "pushed"),
                                                functools.partial(remote_digest, registry, ref))
                    if served != pushed:
                        raise PushError(
                            "the registry accepted the push of %s (%s) but serves %s for it: the engine pushed "
                            "elsewhere (a mirror, a proxy, another address), or the registry lost what it accepted "
                            "(storage wiped or replaced while it runs: restart it)"
                            % (ref, pushed, served or "nothing"))
                    res.status, res.digest = "pushed", pushed
                    attrs = client.api.inspect_image(image_id)
            except Exception as exc:
                res.status, res.error = "failed", "%s: %s" % (type(exc).__name__, exc)
        return out

    def run(self, images: Sequence[tuple[str, str, Sequence[str]]]) -> list[ImagePushResult]:
        progress = self.progress or Progress("", "", "", job="push")

        def tracked(item: tuple[str, str, Sequence[str]]) -> ImagePushResult:
            progress.start(item[0])
            res = self.push_image(*item)
            progress.finish(item[0], image_state(res))
            return res

        progress.waiting([i[0] for i in images])
        progress.set_stage("pushing")
        with ThreadPoolExecutor(max_workers=max(1, self.max_workers)) as pool:
            return list(pool.map(tracked, images))


def image_state(res: ImagePushResult) -> str:
    """One word for an image's push: failed when a tag failed, else pushed (or would-push) when a tag was, else
    unchanged."""
    statuses = {t.status for t in res.tags}
    for state in ("failed", "pushed", "would-push"):
        if state in statuses:
            return state
    return "unchanged"
