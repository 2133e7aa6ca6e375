# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering a family: Jinja2 (StrictUndefined) writes `<out>/<version>/<variant>/Dockerfile` for every versions key
and variant.

The tree is first rendered in memory (planning reads the FROM lines from it), then compared with what is on disk;
only when something differs is it written into a temporary folder beside the destination and swapped in whole, so
a reader never sees a half-written tree and an unchanged render changes nothing.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import traceback
from dataclasses import dataclass, field

from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import file_diff
from ansible_collections.buildfarm.images.plugins.module_utils.family.family import Family, FamilyError, Version

try:
    import jinja2
    JINJA2_IMPORT_ERROR = None
except ImportError:  # reported by the modules with missing_required_lib()
    jinja2 = None
    JINJA2_IMPORT_ERROR = traceback.format_exc()

DOCKERFILE = "Dockerfile"

_VERSION_DIR_RE = re.compile(r"^\d+(?:\.\d+)*[0-9A-Za-z.+-]*$")


class RenderError(FamilyError):
    """A template that does not parse or does not render (undefined variable, raised error)."""


@dataclass
class SyncResult:
    """What rendering did (or, in check mode, would do) to the destination tree; paths relative to it."""

    changed: bool
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    diff: list[dict] = field(default_factory=list)


def dockerfile_path(version: Version, variant: str) -> str:
    return "%s/%s/%s" % (version.key, variant, DOCKERFILE)


def _environment(family: Family) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(family.path),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Dockerfiles, not HTML
    )


def _context(family: Family, version: Version, variant: str) -> dict:
    numeric = version.key.split("-", 1)[0]
    return {
        "family": family.name,
        "key": version.key,  # versions.json key, e.g. 3.15-rc
        "version": version.version,  # full version, e.g. 3.15.0b3
        "series": numeric,  # the key without its pre-release suffix, e.g. 3.15
        "version_info": tuple(int(p) for p in numeric.split(".") if p.isdigit()),  # (3, 15): for comparisons
        "variant": variant,  # e.g. slim-trixie, windows/windowsservercore-ltsc2025
        "variant_name": variant.rsplit("/", 1)[-1],
        "data": version.data,  # the versions.json object for this key, unchanged
        "vars": family.template_vars,
    }


def _template_line(template_file: str) -> int | None:
    """The line of the template being rendered when an exception was raised (Jinja rewrites the traceback)."""
    line = None
    for frame in traceback.extract_tb(sys.exc_info()[2]):
        if frame.filename == template_file:
            line = frame.lineno
    return line


def render_family(family: Family) -> dict[str, str]:
    """Every Dockerfile of the family in memory: {"<key>/<variant>/Dockerfile": text}, in versions-file order."""
    env = _environment(family)
    templates: dict[str, jinja2.Template] = {}
    out: dict[str, str] = {}
    for version in family.versions:
        for variant in version.variants:
            name = family.template_for(variant)
            file = os.path.join(family.path, name)
            if name not in templates:
                try:
                    templates[name] = env.get_template(name)
                except jinja2.TemplateSyntaxError as e:
                    raise RenderError(file, "(template syntax)", e.message, "template does not parse",
                                      line=e.lineno) from None
            try:
                text = templates[name].render(_context(family, version, variant))
            except jinja2.UndefinedError as e:
                raise RenderError(file, "%s/%s" % (version.key, variant), e.message,
                                  "undefined template variable", line=_template_line(file)) from None
            except jinja2.TemplateError as e:
                raise RenderError(file, "%s/%s" % (version.key, variant), e.message or str(e),
                                  "template failed to render", line=_template_line(file)) from None
            out[dockerfile_path(version, variant)] = text
    return out


def _read_tree(dest: str) -> dict[str, str]:
    """The files of an existing rendered tree (top-level hidden entries such as .git are not part of it)."""
    found: dict[str, str] = {}
    if not os.path.isdir(dest):
        return found
    for top in sorted(os.listdir(dest)):
        if top.startswith("."):
            continue
        full = os.path.join(dest, top)
        if not os.path.isdir(full) or not _VERSION_DIR_RE.match(top):
            # Refuse to swap away something that is not a rendered tree (a typo'd destination such as the repo).
            raise RenderError(dest, "dest", top, "destination holds something that is not a rendered version folder;"
                                                 " refusing to replace it")
        for root, _dirs, files in os.walk(full):
            for name in files:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, dest).replace(os.sep, "/")
                with open(path, encoding="utf-8", errors="replace") as f:
                    found[rel] = f.read()
    return found


def compare(dest: str, files: dict[str, str], want_diff: bool = False) -> SyncResult:
    """How the tree on disk differs from `files`."""
    current = _read_tree(dest)
    res = SyncResult(changed=False)
    for rel, text in files.items():
        if rel not in current:
            res.added.append(rel)
        elif current[rel] != text:
            res.modified.append(rel)
    res.removed = sorted(set(current) - set(files))
    res.changed = bool(res.added or res.modified or res.removed)
    if want_diff:
        res.diff = [file_diff(os.path.join(dest, rel), current.get(rel), files.get(rel))
                    for rel in res.added + res.modified + res.removed]
    return res


def write_tree(dest: str, files: dict[str, str]) -> None:
    """Write `files` into a temporary folder beside `dest` and swap it in whole (hidden top-level entries of the
    old tree, e.g. .git, move over). On any failure the previous tree is left as it was."""
    dest = os.path.abspath(dest)
    parent, base = os.path.dirname(dest), os.path.basename(dest)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".%s.render-" % base, dir=parent)
    old = None
    moved: list[str] = []
    try:
        os.chmod(tmp, 0o755)
        for rel, text in files.items():
            path = os.path.join(tmp, *rel.split("/"))
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            os.chmod(path, 0o644)
        if os.path.isdir(dest):
            for top in sorted(os.listdir(dest)):
                if top.startswith("."):
                    os.rename(os.path.join(dest, top), os.path.join(tmp, top))
                    moved.append(top)
            old = tempfile.mkdtemp(prefix=".%s.old-" % base, dir=parent)
            os.rename(dest, os.path.join(old, base))
        os.rename(tmp, dest)
    except BaseException:
        if old and not os.path.exists(dest) and os.path.isdir(os.path.join(old, base)):
            os.rename(os.path.join(old, base), dest)
        for top in moved:  # give the hidden entries back to the previous tree
            if os.path.exists(os.path.join(tmp, top)):
                os.rename(os.path.join(tmp, top), os.path.join(dest, top))
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old:
            shutil.rmtree(old, ignore_errors=True)


def sync(family: Family, dest: str, files: dict[str, str] | None = None, check: bool = False,
         want_diff: bool = False) -> SyncResult:
    """Render `family` into `dest` (`files`: its render, when already made): nothing is written when the tree is
    unchanged or in check mode."""
    if files is None:
        files = render_family(family)
    if os.path.abspath(dest) == family.path:
        raise RenderError(family.family_file, "dest", dest, "destination is the family folder itself")
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise RenderError(dest, "dest", dest, "destination exists and is not a folder")
    result = compare(dest, files, want_diff)
    if result.changed and not check:
        write_tree(dest, files)
    return result
