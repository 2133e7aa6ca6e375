# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering a family: Jinja2 (StrictUndefined) writes `<out>/<version>/<variant>/Dockerfile` for every versions key
and variant.

A family is data, not code: its templates may come from anyone who can open a pull request, so they render in
Jinja's immutable sandbox (no Python internals, no changing the data handed to them, bounded `*` and `**`) and
read only files that resolve, symlinks followed, inside the family folder. A template that tries either fails
with a RenderError naming it; nothing runs and nothing is written.

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
from typing import Any

from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import file_above, file_diff
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import (
    Family,
    FamilyError,
    SourceSpec,
    Version,
)

try:
    import jinja2
    import jinja2.sandbox
    JINJA2_IMPORT_ERROR = None
except ImportError:  # reported by the modules with missing_required_lib()
    jinja2 = None  # type: ignore[assignment]
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


# Largest string, list or number `*` and `**` may make: far above any Dockerfile, far below what exhausts memory.
MAX_PRODUCT = 1 << 20


def _inside_family(root: str, base: str, name: str) -> tuple[str, str]:
    """(path as named, real path) of template `name` (as family.yml or an include names it) in the family folder
    `base` whose real path is `root`; a RenderError when it leaves the folder by `..`, an absolute path or a
    symlink."""
    path = os.path.join(base, *name.split("/"))
    real = os.path.realpath(os.path.join(root, *name.split("/")))
    if os.path.isabs(name) or ".." in name.replace("\\", "/").split("/") or not real.startswith(root + os.sep):
        where = " (it resolves to %s)" % real if real != os.path.normpath(path) else ""
        raise RenderError(path, "(template)", name, "template resolves outside the family folder%s;"
                                                    " a family may only read its own files" % where)
    return path, real


if jinja2 is not None:
    class _FamilyLoader(jinja2.BaseLoader):
        """Templates of one family folder; refuses any that resolves outside it (FileSystemLoader follows
        symlinks wherever they point)."""

        def __init__(self, base: str) -> None:
            self.base = base
            self.root = os.path.realpath(base)

        def get_source(self, environment, template):
            path, real = _inside_family(self.root, self.base, template)
            if not os.path.isfile(real):
                raise jinja2.TemplateNotFound(template)
            try:
                with open(real, encoding="utf-8") as f:
                    source = f.read()
            except UnicodeDecodeError as e:
                raise RenderError(path, "(template)", template,
                                  "template is not UTF-8 text (bad byte at offset %d)" % e.start) from None
            mtime = os.path.getmtime(real)
            # named as family.yml names it, so that errors and tracebacks (_template_line) point there
            return source, path, lambda: os.path.isfile(real) and os.path.getmtime(real) == mtime

    class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
        """No attribute of Python internals, no mutation of the context's data (ImmutableSandboxedEnvironment),
        and `*`/`**` refused when the result would be huge (the sandbox alone lets `"x" * 10**10` exhaust the
        builder's memory)."""

        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context, operator, left, right):
            if operator == "**" and isinstance(left, (int, float)) and isinstance(right, (int, float)):
                if abs(right) > 64 and abs(left) > 1:
                    raise jinja2.sandbox.SecurityError("%r ** %r: exponent too large" % (left, right))
            elif operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_PRODUCT:
                        raise jinja2.sandbox.SecurityError("repeating a %s %d times: result too large"
                                                           % (type(seq).__name__, n))
            return super().call_binop(context, operator, left, right)


def _environment(family: Family) -> jinja2.Environment:
    return _Sandbox(
        loader=_FamilyLoader(family.path),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Dockerfiles, not HTML
    )


def _numeric(version: str) -> str:
    """`3.15.0b3` -> `3.15.0`: the version up to its first letter (what `${PYTHON_VERSION%%[a-z]*}` keeps)."""
    m = re.match(r"^[0-9.]*", version)
    return (m.group(0) if m else "").rstrip(".") or version


def _context(family: Family, version: Version, variant: str) -> dict:
    numeric = version.key.split("-", 1)[0]
    return {
        "family": family.name,
        "key": version.key,  # versions.json key, e.g. 3.15-rc
        "version": version.version,  # full version, e.g. 3.15.0b3
        # the full version up to its first letter, e.g. 3.15.0 (python.org's folder of 3.15.0b3)
        "version_numeric": _numeric(version.version),
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
                except jinja2.TemplateNotFound as e:
                    raise RenderError(file, "(template)", e.name, "template file not found") from None
            fld = "%s/%s" % (version.key, variant)
            try:
                text = templates[name].render(_context(family, version, variant))
            except RenderError:
                raise  # an include that leaves the family folder: already says where
            except jinja2.UndefinedError as e:
                raise RenderError(file, fld, e.message, "undefined template variable",
                                  line=_template_line(file)) from None
            except jinja2.sandbox.SecurityError as e:
                raise RenderError(file, fld, str(e), "template reaches outside its data (refused by the sandbox:"
                                                     " a family template may only use its variables)",
                                  line=_template_line(file)) from None
            except jinja2.TemplateNotFound as e:
                raise RenderError(file, fld, e.name, "included template not found",
                                  line=_template_line(file)) from None
            except jinja2.TemplateError as e:
                raise RenderError(file, fld, e.message or str(e), "template failed to render",
                                  line=_template_line(file)) from None
            except Exception as e:  # e.g. 1/0 or a bad comparison: the template's fault, not a crash of ours
                raise RenderError(file, fld, "%s: %s" % (type(e).__name__, e), "template raised an error",
                                  line=_template_line(file)) from None
            out[dockerfile_path(version, variant)] = text
    return out


_SOURCE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_SOURCE_URL_RE = re.compile(r"^(https?|ftp)://[^\s/@]+/\S*$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# an OpenPGP fingerprint: v4 (40 hex digits) or v5/v6 (64), as gpg prints it (blanks are dropped)
_FINGERPRINT_RE = re.compile(r"^(?:[0-9A-F]{40}|[0-9A-F]{64})$")
_PURL_RE = re.compile(r"^pkg:[a-z][a-z0-9.+-]*/\S+$")


def _render_value(env: "jinja2.Environment", family: Family, spec: SourceSpec, key: str, version: Version,
                  variant: str) -> str:
    fld = "sources[%d].%s" % (spec.index, key)
    try:
        text = env.from_string(getattr(spec, key)).render(_context(family, version, variant))
    except jinja2.TemplateSyntaxError as e:
        raise RenderError(family.family_file, fld, e.message, "template does not parse") from None
    except jinja2.UndefinedError as e:
        raise RenderError(family.family_file, fld, e.message, "undefined template variable (entry %s/%s)"
                          % (version.key, variant)) from None
    except jinja2.sandbox.SecurityError as e:
        raise RenderError(family.family_file, fld, str(e), "template reaches outside its data (refused by the "
                          "sandbox; entry %s/%s)" % (version.key, variant)) from None
    except Exception as e:  # a template's fault (1/0, a bad comparison), named, not a crash of ours
        raise RenderError(family.family_file, fld, "%s: %s" % (type(e).__name__, e),
                          "template failed to render (entry %s/%s)" % (version.key, variant)) from None
    return text.strip()


def _purl(name: str, version: str, url: str) -> str:
    """`pkg:generic/<name>@<version>?download_url=<url>` (purl-spec's generic type), the default purl of a source."""
    from urllib.parse import quote

    return "pkg:generic/%s@%s?download_url=%s" % (quote(name, safe=""), quote(version, safe=""),
                                                  quote(url, safe=":/"))


def render_source(env: "jinja2.Environment", family: Family, spec: SourceSpec, version: Version,
                  variant: str) -> dict:
    """One `sources:` item rendered for one entry: {name, version, url, sha256, signing_key, purl, url_arg}, each
    value checked (a RenderError names family.yml, `sources[<i>].<key>`, the value and the entry)."""
    out: dict[str, Any] = {k: _render_value(env, family, spec, k, version, variant) for k in
                           ("name", "version", "url", "sha256", "signing_key", "purl")}
    where = "entry %s/%s" % (version.key, variant)

    def bad(key: str, problem: str) -> RenderError:
        return RenderError(family.family_file, "sources[%d].%s" % (spec.index, key), out[key],
                           "%s (rendered for %s)" % (problem, where))

    if not _SOURCE_NAME_RE.match(out["name"]):
        raise bad("name", "not a package name (letters, digits, . _ + -)")
    if not out["version"] or any(c.isspace() for c in out["version"]):
        raise bad("version", "must be a version without blanks")
    if not _SOURCE_URL_RE.match(out["url"]):
        raise bad("url", "not an http(s) or ftp URL without credentials")
    if out["sha256"] and not _SHA256_RE.match(out["sha256"]):
        raise bad("sha256", "not 64 lowercase hex digits")
    out["signing_key"] = out["signing_key"].replace(" ", "")
    if out["signing_key"] and not _FINGERPRINT_RE.match(out["signing_key"]):
        raise bad("signing_key", "not an OpenPGP fingerprint (40 or 64 uppercase hex digits)")
    if not out["purl"]:
        out["purl"] = _purl(out["name"], out["version"], out["url"])
    elif not _PURL_RE.match(out["purl"]):
        raise bad("purl", "not a package URL (pkg:<type>/<name>@<version>)")
    if spec.url_arg:
        if not out["url"].startswith(spec.url_arg["default"]):
            raise bad("url", "does not start with url_arg.default %r" % spec.url_arg["default"])
        out["url_arg"] = dict(spec.url_arg)
    return out


def render_sources(family: Family) -> dict[str, list[dict]]:
    """family.yml `sources:` rendered for every entry: {"<key>/<variant>": [source, ...]} (entries without a
    source left out), in the sandbox and with the variables of the family's templates."""
    if not family.sources:
        return {}
    env = _environment(family)
    out: dict[str, list[dict]] = {}
    for version in family.versions:
        for variant in version.variants:
            mine = [render_source(env, family, spec, version, variant) for spec in family.sources
                    if spec.applies_to(variant)]
            if mine:
                out["%s/%s" % (version.key, variant)] = mine
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
    blocker = file_above(dest)
    if blocker:
        raise RenderError(dest, "dest", dest, "cannot be written: %s is a file, not a folder" % blocker)
    result = compare(dest, files, want_diff)
    if result.changed and not check:
        write_tree(dest, files)
    return result
