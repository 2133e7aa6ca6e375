# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""READMEs of an image repository, generic or per architecture, from its library file (docker-library/docs format).

Plain typed Python, importable without Ansible.

    content = load_content("families/python", name="python")   # families/<name>/docs/, or defaults
    text = render_readme(manifest, "python", arch="amd64", content=content)   # arch=None: the generic README
    text = render_readme(manifest, "python", fmt="2019")        # the docs template of 2019-09-13 .. 2024-07-05
    tags_markdown(manifest, arch=None)                          # just the "Supported tags" body

A family's own content lives in ``families/<name>/docs/``:

- ``meta.yml`` (every key optional)::

      maintained_by: "[the Docker Community](https://github.com/docker-library/python)"   # markdown
      get_help: "[the Docker Community Forums](https://forums.docker.com/), ..."          # markdown
      issues: "[https://github.com/x/y/issues](https://github.com/x/y/issues)"           # default: GitRepo/issues
      logo: https://.../logo.png                   # %%LOGO%% in content.md becomes ![logo](...)
      build_badge:                                 # per-architecture READMEs only; {arch} {name} {image}
        image: https://img.shields.io/...{arch}...
        link: https://ci.example/{arch}/{name}/
      variants: [slim, alpine, windowsservercore]  # order of the variant-<v>.md sections

- ``quick-reference.md``: more "Quick reference (cont.)" items (markdown list items);
- ``content.md``: the sections after the quick reference (what it is, how to use it);
- ``variant.md``: the start of "# Image Variants" (the default variant); ``variant-<v>.md``: one section per
  variant, included only when a listed tag names that variant (a ``-``-separated part of the tag equals <v>);
- ``license.md``: the body of "# License".

In every file ``%%IMAGE%%`` becomes the image name (``python`` or ``amd64/python``), ``%%REPO%%`` the
repository name and ``%%LOGO%%`` the logo line. Without a docs folder the README gets sensible defaults.
"""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Sequence, Union
from urllib.parse import urlsplit

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as _arches
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import Entry
from ansible_collections.buildfarm.images.plugins.module_utils.library.library_manifest import LibraryManifest

try:
    import yaml as _yaml
except ImportError:  # only needed when a family has a meta.yml; checked where it is read
    _yaml = None

FAQ_SHARED = (
    "(See [\"What's the difference between 'Shared' and 'Simple' tags?\" in the FAQ]"
    "(https://github.com/docker-library/faq#whats-the-difference-between-shared-and-simple-tags).)"
)
ARCHES_MORE_INFO = "https://github.com/docker-library/official-images#architectures-other-than-amd64"
DEFAULT_GET_HELP = (
    "[the Docker Community Forums](https://forums.docker.com/), [the Docker Community Slack]"
    "(https://dockr.ly/slack), or [Stack Overflow](https://stackoverflow.com/search?tab=newest&q=docker)"
)
_STARS = "*" * 80
# the docs template of 2024-07-05 onwards, and the one of 2019-09-13 .. 2024-07-05 (see tags_markdown)
FORMATS = ("2024", "2019")
DEFAULT_FORMAT = "2024"
NO_SUPPORTED_TAGS = "**No supported tags**"
DEFAULT_GIT_FETCH = "refs/heads/master"  # bashbrew's, for an entry without GitFetch
META_KEYS = ("maintained_by", "get_help", "issues", "logo", "build_badge", "variants")


class DocsError(BuildfarmError, ValueError):
    """A README that cannot be written from this input. `file`, `field` and `value` say where, when known; the
    message already names them (it is the message users have always read), so they only add the result's keys."""

    def __init__(self, msg: str, file: str = "", field: str = "", value: str = "") -> None:
        super().__init__(msg)
        self.file, self.field = file or None, field or None
        if value:
            self.value, self.has_value = value, True


@dataclass
class DocsContent:
    """A family's own README content (see the module docstring for the files it comes from)."""

    maintained_by: str = ""
    get_help: str = DEFAULT_GET_HELP
    issues: str = ""
    logo: str = ""
    build_badge: dict = field(default_factory=dict)
    quick_reference_extra: str = ""
    content: str = ""
    variant: str = ""
    variants: dict = field(default_factory=dict)  # variant name -> markdown, in README order
    license: str = ""


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip("\n")


def _inside(family_dir: str, path: str) -> str:
    """`path` (below `family_dir`) when it resolves, symlinks followed, inside the family folder; else a DocsError
    naming it. A family is data anyone may propose, so a symlink in its docs/ must not make the README publish a
    file of the controller (the rule of family/definition.py's _inside())."""
    root = os.path.realpath(family_dir)
    resolved = os.path.realpath(path)
    if not resolved.startswith(root + os.sep):
        rel = os.path.relpath(path, family_dir)
        raise DocsError("%s: field family_dir: README content must be inside the family folder (it resolves to %s)"
                        " (value: %r)" % (path, resolved, rel), file=path, field="family_dir", value=rel)
    return path


def load_content(family_dir: Union[str, None]) -> DocsContent:
    """The content of `<family_dir>/docs/` (a missing folder gives the defaults). Every file read, and the docs
    folder itself, must resolve inside the family folder: a symlink out of it is a DocsError naming it."""
    content = DocsContent()
    if not family_dir:
        return content
    docs = os.path.join(family_dir, "docs")
    if not os.path.isdir(family_dir):
        raise DocsError("family folder %s does not exist" % family_dir)
    if not os.path.isdir(docs):
        return content
    _inside(family_dir, docs)
    meta: dict = {}
    meta_path = os.path.join(docs, "meta.yml")
    if os.path.lexists(meta_path):
        _inside(family_dir, meta_path)
        if _yaml is None:
            raise DocsError("reading %s needs PyYAML" % meta_path)
        with open(meta_path, encoding="utf-8") as f:
            meta = _yaml.safe_load(f) or {}
        if not isinstance(meta, dict):
            raise DocsError("%s: expected a mapping, got %r" % (meta_path, type(meta).__name__))
        unknown = sorted(set(meta) - set(META_KEYS))
        if unknown:
            raise DocsError("%s: unknown key(s) %s (known: %s)" % (meta_path, ", ".join(unknown), ", ".join(META_KEYS)))
        badge = meta.get("build_badge") or {}
        if badge and (not isinstance(badge, dict) or set(badge) != {"image", "link"}):
            raise DocsError("%s: build_badge must be a mapping with exactly the keys image and link, got %r"
                            % (meta_path, badge))
    for key in ("maintained_by", "get_help", "issues", "logo"):
        if meta.get(key):
            setattr(content, key, str(meta[key]).strip("\n"))
    content.build_badge = dict(meta.get("build_badge") or {})
    for key, name in (("quick_reference_extra", "quick-reference.md"), ("content", "content.md"),
                      ("variant", "variant.md"), ("license", "license.md")):
        path = os.path.join(docs, name)
        if os.path.lexists(path):  # lexists: a dangling symlink out of the family is refused, not skipped
            setattr(content, key, _read(_inside(family_dir, path)))
    for v in meta.get("variants") or []:
        path = os.path.join(docs, "variant-%s.md" % v)
        if not os.path.lexists(path):
            raise DocsError("%s: variant %r is listed but %s does not exist" % (meta_path, v, path))
        content.variants[str(v)] = _read(_inside(family_dir, path))
    return content


def _repo_web_url(git_repo: str) -> str:
    url = re.sub(r"\.git$", "", git_repo.strip())
    return re.sub(r"^git@([^:]+):", r"https://\1/", url)


def clean_path(directory: str) -> str:
    """A Directory as bashbrew reads it (Go's path.Clean): ``./2.3/x`` -> ``2.3/x``, ``""`` -> ``.``."""
    cleaned = posixpath.normpath(directory or ".")
    # POSIX keeps a leading "//"; Go's path.Clean does not
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def dockerfile_url(entry: Entry, arch: str) -> str:
    """Where the entry's Dockerfile for `arch` can be read, as the docs template links it ("" for no link).

    The GitRepo, GitCommit, GitFetch, Directory and File are those of `arch` (its overrides first). The template
    reads ``git://`` as ``https://`` and drops a trailing ``.git``; it links GitHub (``/blob/<commit>/<path>``),
    GitLab (``/-/blob/<commit>/<path>``) and Launchpad (``/tree/<path>?h=<GitFetch>&id=<commit>``) and lists the
    tags of any other host without a link.
    """
    repo, commit = entry.arch_value(arch, "GitRepo").strip(), entry.arch_value(arch, "GitCommit")
    if not repo or not commit:
        return ""
    base = repo.replace("git://", "https://")
    if base.endswith(".git"):
        base = base[:-len(".git")]
    directory, dockerfile = clean_path(entry.arch_value(arch, "Directory")), entry.arch_value(arch, "File")
    path = dockerfile if directory == "." else "%s/%s" % (directory, dockerfile)
    host = urlsplit(base).netloc.lower() if base.startswith("https://") else ""
    if host == "github.com":
        return "%s/blob/%s/%s" % (base, commit, path)
    if host == "gitlab.com" or host.startswith("gitlab."):
        return "%s/-/blob/%s/%s" % (base, commit, path)
    if host == "git.launchpad.net":
        fetch = entry.arch_value(arch, "GitFetch") or DEFAULT_GIT_FETCH
        return "%s/tree/%s?h=%s&id=%s" % (base, path, fetch, commit)
    return ""


def _link_arch(entry: Entry, arch: Union[str, None]) -> str:
    if arch:
        return arch
    return "amd64" if entry.has_architecture("amd64") else entry.architectures[0]


def _tags_line(tags: Sequence[str]) -> str:
    return ", ".join("`%s`" % t for t in tags)


def _linked(tags: Sequence[str], entry: Entry, arch: Union[str, None]) -> str:
    url = dockerfile_url(entry, _link_arch(entry, arch))
    return "[%s](%s)" % (_tags_line(tags), url) if url else _tags_line(tags)


def check_format(fmt: str) -> str:
    """`fmt` if it names a README format, else a DocsError naming it."""
    if fmt not in FORMATS:
        raise DocsError("format: %r is not a README format (known: %s)" % (fmt, ", ".join(FORMATS)))
    return fmt


def tags_markdown(manifest: LibraryManifest, arch: Union[str, None] = None, fmt: str = DEFAULT_FORMAT) -> str:
    """The body of "Supported tags and respective `Dockerfile` links" ("" when no entry has `arch`).

    Format ``2024`` (the docs template since 2024-07-05) follows every simple-tag entry and every shared-tag
    group header and group with a blank line; ``2019`` (2019-09-13 .. 2024-07-05) writes one line after the other.
    The "Simple Tags" and "Shared Tags" headings depend on the library file as a whole having shared tags, as the
    template decides, so an architecture none of whose entries has a shared tag still gets both.
    """
    check_format(fmt)
    entries = [e for e in manifest.entries if arch is None or e.has_architecture(arch)]
    if not entries:
        return ""
    all_groups = manifest.shared_tag_groups()
    groups = []
    for g in all_groups:
        kept = [e for e in g.entries if arch is None or e.has_architecture(arch)]
        if kept:
            groups.append((g.tags, kept))
    spaced = fmt == "2024"
    simple = ("\n\n" if spaced else "\n").join("-\t" + _linked(e.tags, e, arch) for e in entries)
    if not all_groups:
        return simple
    shared = ("\n\n" if spaced else "\n").join(
        "-\t%s:\n%s%s" % (_tags_line(tags), "\n" if spaced else "",
                          "\n".join("\t-\t" + _linked(e.tags[:1], e, arch) for e in kept))
        for tags, kept in groups
    )
    text = "%s\n\n## Simple Tags\n\n%s\n\n## Shared Tags" % (FAQ_SHARED, simple)
    return text + "\n\n" + shared if shared else text


def _image(name: str, arch: Union[str, None]) -> str:
    return "%s/%s" % (_arches.namespace_for(arch), name) if arch else name


def _fill(text: str, name: str, arch: Union[str, None], content: DocsContent) -> str:
    logo = "![logo](%s)" % content.logo if content.logo else ""
    return text.replace("%%IMAGE%%", _image(name, arch)).replace("%%REPO%%", name).replace("%%LOGO%%", logo)


def _item(title: str, body: str) -> str:
    return "-\t**%s**:  \n\t%s" % (title, body)


def _variant_wanted(variant: str, tags: Sequence[str]) -> bool:
    return any(variant in t.split("-") for t in tags)


def _head(name: str, arch: Union[str, None], maintained_by: str, content: DocsContent) -> list[str]:
    """The generated-file warning, the per-architecture note and the quick reference."""
    parts = [
        "<!--\n\n%s\n\nWARNING:\n\n    DO NOT EDIT \"%s/README.md\"\n\n    IT IS AUTO-GENERATED\n\n"
        "    (from the other files in \"%s/\" combined with a set of templates)\n\n%s\n\n-->"
        % (_STARS, name, name, _STARS)
    ]
    if arch:
        parts.append(
            "**Note:** this is the \"per-architecture\" repository for the `%s` builds of [the `%s` official image]"
            "(https://hub.docker.com/_/%s) -- for more information, see [\"Architectures other than amd64?\" in the "
            "official images documentation](%s) and [\"An image's source changed in Git, now what?\" in the "
            "official images FAQ](https://github.com/docker-library/faq#an-images-source-changed-in-git-now-what)."
            % (arch, name, name, ARCHES_MORE_INFO)
        )
    parts.append("# Quick reference")
    parts.append(_item("Maintained by", maintained_by))
    parts.append(_item("Where to get help", content.get_help))
    return parts


def _supported_tags(manifest: LibraryManifest, name: str, arch: Union[str, None], content: DocsContent,
                    fmt: str) -> list[str]:
    """"Supported tags": the tags (and a per-architecture build badge), or why there are none."""
    parts = ["# Supported tags and respective `Dockerfile` links"]
    tags = tags_markdown(manifest, arch, fmt)
    if tags:
        parts.append(tags)
        if arch and content.build_badge:
            image = _image(name, arch)
            badge = {"arch": arch, "name": name, "image": image}
            parts.append("[![%s build status badge](%s)](%s)" % (
                image, content.build_badge["image"].format(**badge), content.build_badge["link"].format(**badge)))
    elif arch:
        parts.append("**WARNING:** THIS IMAGE *IS NOT SUPPORTED* ON THE `%s` ARCHITECTURE" % arch)
    else:  # a library file without entries (an image no longer maintained)
        parts.append(NO_SUPPORTED_TAGS)
    return parts


def _quick_reference_cont(manifest: LibraryManifest, name: str, web: str, content: DocsContent) -> list[str]:
    parts = ["# Quick reference (cont.)"]
    issues = content.issues or ("[%s/issues](%s/issues)" % (web, web) if web else "")
    if issues:
        parts.append(_item("Where to file issues", issues))
    arch_links = ", ".join(
        "[`%s`](https://hub.docker.com/r/%s/%s/)" % (a, _arches.namespace_for(a), name)
        for a in manifest.architectures()
    )
    parts.append("-\t**Supported architectures**: ([more info](%s))  \n\t%s" % (ARCHES_MORE_INFO, arch_links))
    if content.quick_reference_extra:
        parts.append(content.quick_reference_extra)
    return parts


def _body(manifest: LibraryManifest, arch: Union[str, None], web: str, content: DocsContent) -> list[str]:
    """The family's content, its image variants (those a listed tag names) and the licence."""
    parts = [content.content] if content.content else []
    listed = [t for e in manifest.entries if arch is None or e.has_architecture(arch) for t in e.all_tags]
    variants = [text for v, text in content.variants.items() if _variant_wanted(v, listed)]
    if content.variant or variants:
        parts.append("# Image Variants")
        parts.extend(p for p in [content.variant] + variants if p)
    parts.append("# License")
    parts.append(content.license or (
        "View the license information of the software contained in this image in its source repository%s.\n\n"
        "As for any pre-built image usage, it is the image user's responsibility to ensure that any use of this "
        "image complies with any relevant licenses for all software contained within."
        % (" ([%s](%s))" % (web, web) if web else "")
    ))
    return parts


def render_readme(
    manifest: LibraryManifest,
    name: str,
    arch: Union[str, None] = None,
    content: Union[DocsContent, None] = None,
    fmt: str = DEFAULT_FORMAT,
) -> str:
    """The README of repository `name` (the generic one when `arch` is None) in README format `fmt`."""
    check_format(fmt)
    if arch is not None:
        _arches.get(arch)  # an unknown architecture is an error, not an empty README
    content = content or DocsContent()
    git_repo = manifest.globals.get("GitRepo") or next((e.git_repo for e in manifest.entries if e.git_repo), "")
    web = _repo_web_url(git_repo) if git_repo else ""
    maintained_by = content.maintained_by or (
        "[the %s maintainers](%s)" % (name, web) if web else ", ".join(manifest.maintainers) or "unknown")
    parts = (_head(name, arch, maintained_by, content) + _supported_tags(manifest, name, arch, content, fmt)
             + _quick_reference_cont(manifest, name, web, content) + _body(manifest, arch, web, content))
    return _fill("\n\n".join(parts), name, arch, content) + "\n"


def readme_filename(arch: Union[str, None]) -> str:
    """The file name of a README in a batch output folder: README.md, README.<arch>.md."""
    return "README.%s.md" % arch if arch else "README.md"
