# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One image reference type: parse, validate and normalise `[registry/]path[:tag][@digest]`.

The grammar is the distribution project's (github.com/distribution/reference, as Docker applies it):
the first component is a registry when it has a `.` or a `:` or is `localhost`; Docker Hub (`docker.io`) is
the default registry and a one-component Hub path gets `library/`. Validating here, before any request, means
a bad tag or repository fails with its value named instead of as an HTTP 301/400 after members were copied.

Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

DOCKER_HUB = "docker.io"
# Where Docker Hub's registry API answers (docker.io is only its name in references).
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(r"(?:%s(?:\.%s)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?" % (_DOMAIN_LABEL, _DOMAIN_LABEL))
MAX_NAME = 255  # registry host and path together, as the distribution reference limits them


class ImageRefError(BuildfarmError, ValueError):
    """A reference, repository, tag or digest outside the distribution grammar (the value is named)."""


def _fail(problem: str, value: str, where: str, field: str) -> ImageRefError:
    return ImageRefError(problem, where or None, field or None, value)


def validate_tag(tag: str, where: str = "", field: str = "tag") -> str:
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise _fail("not a valid tag (letters, digits, '_', '.', '-'; at most 128, not starting with '.' or '-')",
                    tag, where, field)
    return tag


def validate_digest(digest: str, where: str = "", field: str = "digest") -> str:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise _fail("not a valid digest (algorithm:hex)", digest, where, field)
    algo, _sep, hex_ = digest.partition(":")
    if algo == "sha256" and not re.fullmatch(r"[a-f0-9]{64}", hex_):
        raise _fail("a sha256 digest is 64 lower-case hex digits", digest, where, field)
    if algo == "sha512" and not re.fullmatch(r"[a-f0-9]{128}", hex_):
        raise _fail("a sha512 digest is 128 lower-case hex digits", digest, where, field)
    return digest


def validate_repository(path: str, where: str = "", field: str = "repository") -> str:
    """A repository path inside a registry (`library/python`, `arm64v8/python`): lower-case components."""
    if not isinstance(path, str) or not path:
        raise _fail("empty repository", path if isinstance(path, str) else str(path), where, field)
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            raise _fail("not a valid repository path (lower-case components of letters and digits separated "
                        "by '.', '_', '__' or '-', joined by '/')", path, where, field)
    if len(path) > MAX_NAME:
        raise _fail("repository path longer than %d characters" % MAX_NAME, path, where, field)
    return path


def _is_domain(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost" or component != component.lower()


@dataclass(frozen=True)
class ImageRef:
    """A parsed reference. `registry`: `docker.io` or `host[:port]`; `path`: the repository inside it
    (`library/busybox`); `tag`, `digest`: "" when absent."""

    registry: str
    path: str
    tag: str = ""
    digest: str = ""

    @classmethod
    def parse(cls, text: str, where: str = "", field: str = "image", default_tag: str = "") -> "ImageRef":
        """Parse and normalise `text`; `where`/`field` name the input in the error. `default_tag` fills a
        reference with neither tag nor digest (the engine's `latest`)."""
        if not isinstance(text, str) or not text:
            raise _fail("empty image reference", text if isinstance(text, str) else str(text), where, field)
        if text != text.strip() or "://" in text:
            raise _fail("not an image reference ([registry/]repository[:tag][@digest], no scheme or blanks)",
                        text, where, field)
        rest, _at, digest = text.partition("@")
        first, slash, remainder = rest.partition("/")
        if slash and _is_domain(first):
            registry, rest = first, remainder
            if not _DOMAIN.fullmatch(registry):
                raise _fail("not a valid registry host[:port] %r" % registry, text, where, field)
        else:
            registry = DOCKER_HUB
        if registry.lower() in _HUB_ALIASES:
            registry = DOCKER_HUB
        return cls._build(registry, rest, digest if _at else None, text, where, field, default_tag)

    @classmethod
    def parse_in(cls, registry: str, text: str, where: str = "", field: str = "image",
                 default_tag: str = "") -> "ImageRef":
        """Parse `text` as a reference inside `registry` (`library/busybox:1`, `arm64v8/python@sha256:...`): its
        first component is never a registry and nothing is prefixed (no `library/`), as a registry's API names
        repositories."""
        if not isinstance(text, str) or not text or text != text.strip() or "://" in text:
            raise _fail("not a repository reference (repository[:tag][@digest], no scheme or blanks)",
                        text if isinstance(text, str) else str(text), where, field)
        if not _DOMAIN.fullmatch(registry):
            raise _fail("not a valid registry host[:port]", registry, where, "registry")
        rest, _at, digest = text.partition("@")
        return cls._build(registry, rest, digest if _at else None, text, where, field, default_tag, hub_library=False)

    @classmethod
    def _build(cls, registry: str, rest: str, digest: str | None, text: str, where: str, field: str,
               default_tag: str, hub_library: bool = True) -> "ImageRef":
        """The reference of `rest` (`path[:tag]`) in `registry`, validated; `digest` None when there was no `@`."""
        path, colon, tag = rest.rpartition(":")
        if not colon:
            path, tag = rest, ""
        elif "/" in tag:  # not a tag: a registry's port would have been taken as the registry above
            path, tag, colon = rest, "", ""
        if hub_library and registry == DOCKER_HUB and path and "/" not in path:
            path = "library/" + path
        if not path:
            raise _fail("no repository", text, where, field)
        try:
            validate_repository(path)
            if colon:
                validate_tag(tag)
            if digest is not None:
                validate_digest(digest)
        except ImageRefError as exc:
            raise _fail(exc.problem, text, where, field) from None
        if len(registry) + 1 + len(path) > MAX_NAME:
            raise _fail("name longer than %d characters" % MAX_NAME, text, where, field)
        if not tag and not digest:
            tag = default_tag
        return cls(registry, path, tag, digest or "")

    # -- parts ----------------------------------------------------------------------------------------------

    @property
    def is_docker_hub(self) -> bool:
        return self.registry == DOCKER_HUB

    @property
    def api_host(self) -> str:
        """Where the registry API answers: `registry-1.docker.io` for Docker Hub, else the registry."""
        return DOCKER_HUB_API if self.is_docker_hub else self.registry

    @property
    def namespace(self) -> str:
        """All but the last path component (`library`, `arm64v8`), "" for a one-component path."""
        return self.path.rpartition("/")[0]

    @property
    def name(self) -> str:
        """The last path component (`busybox`)."""
        return self.path.rpartition("/")[2]

    @property
    def short_repo(self) -> str:
        """The path as Docker shows it: without `library/` on Docker Hub."""
        if self.is_docker_hub and self.path.startswith("library/") and self.path.count("/") == 1:
            return self.path[len("library/"):]
        return self.path

    @property
    def repository(self) -> str:
        """The full repository name, registry included: `docker.io/library/busybox`."""
        return "%s/%s" % (self.registry, self.path)

    @property
    def familiar_repository(self) -> str:
        """The repository as the engine names it: `busybox`, `arm64v8/busybox`, `127.0.0.1:5000/s390x/busybox`."""
        return self.short_repo if self.is_docker_hub else self.repository

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when there is one, else the tag."""
        return self.digest or self.tag

    def with_tag(self, tag: str) -> "ImageRef":
        return replace(self, tag=validate_tag(tag), digest="")

    def with_digest(self, digest: str) -> "ImageRef":
        return replace(self, digest=validate_digest(digest))

    def with_path(self, path: str) -> "ImageRef":
        return replace(self, path=validate_repository(path))

    def _suffix(self) -> str:
        return (":" + self.tag if self.tag else "") + ("@" + self.digest if self.digest else "")

    @property
    def remote(self) -> str:
        """The reference inside its registry, as the registry API names it: `library/busybox:1.35[@digest]`."""
        return self.path + self._suffix()

    def familiar(self) -> str:
        """The reference as Docker prints it (`busybox:1.35`)."""
        return self.familiar_repository + self._suffix()

    def __str__(self) -> str:
        return self.repository + self._suffix()
