# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An image family: `families/<name>/family.yml`, its versions file (docker-library's versions.json format)
and its templates, loaded and validated.

Every error names the file, the field and the offending value, so bad input stops before anything is rendered,
built or pushed. Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import traceback
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import LineError
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.builders import BUILDERS
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_packages import DEBIAN_SUITES

try:
    import yaml
    YAML_IMPORT_ERROR = None
except ImportError:  # reported by the modules with missing_required_lib()
    yaml = None
    YAML_IMPORT_ERROR = traceback.format_exc()

FAMILY_FILE = "family.yml"

_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_TAG_RE = re.compile(r"^\w[\w.-]{0,127}$")
# A variant is a directory below the version: `trixie`, `alpine3.24`, `windows/windowsservercore-ltsc2025` ...
_VARIANT_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*(?:/[a-z0-9][a-z0-9.-]*)?$")
_VERSION_RE = re.compile(r"^\d+(?:\.\d+)*[0-9A-Za-z.+-]*$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

_KEYS_REQUIRED = ("name", "maintainers", "versions", "templates")
_KEYS_OPTIONAL = ("git_repo", "aliases", "builder", "exclude_architectures", "architectures", "template_vars", "build",
                  "versions_source", "tag_policy", "sources")
_BUILD_KEYS = ("context", "tests")
_CONTEXT_SOURCES = ("debian_package", "debian_rootfs")
# Where versions come from beyond the versions file, resolved by the controller when a release is prepared
# (release/batch.py): `debian_release` sets each key's full version from its suite's Release file on the host's
# Debian mirror (13.8) and adds `data.release` (codename, version, date, epoch, serial, sha256).
VERSIONS_SOURCES = ("debian_release",)
# How an entry's tags are made: `python` (docker-library/python's rules, the default) or `distribution`
# (docker-library/debian's: <suite>, <suite>-<serial>, <full version>, <key>, aliases; variant <suite>/<name> adds
# -<name> to each).
TAG_POLICIES = ("python", "distribution")
TESTS_FILE = "tests.yml"
_RULE_KEYS = ("arch", "versions", "variants", "unless_versions")
# `sources:` what a family's recipe downloads, verifies and builds from (python's CPython tarball): rendered per
# entry (family/render.py render_sources) into the release bundle, named in each image's SBOM and provenance
SOURCE_KEYS = ("name", "url", "sha256", "signing_key", "purl", "version", "variants", "exclude_variants", "url_arg")
SOURCE_TEMPLATED = ("name", "url", "sha256", "signing_key", "purl", "version")
_BUILD_ARG_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FamilyError(LineError, ValueError):
    """Bad family input. `file`, `field` and `value` say exactly what is wrong and where (`line`: in the file)."""


@dataclass(frozen=True)
class Version:
    """One key of versions.json: `3.14` -> full version `3.14.6` and its variants, in the file's order."""

    key: str
    version: str
    variants: tuple[str, ...]
    data: Mapping[str, Any]  # the whole versions.json object, handed to templates unchanged
    # the versions file's variants when a release builds only some of them (release_prepare `overrides`): the
    # tags are still those of the whole family (`3.13-slim` stays the slim entry of the default suite)
    tag_variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExcludeRule:
    """Drops `arch` from every entry it matches (all conditions given must hold)."""

    arch: str
    versions: tuple[str, ...] = ()  # a versions key or a full version
    variants: tuple[str, ...] = ()  # globs
    unless_versions: tuple[str, ...] = ()  # the rule does not apply to these (key or full version)

    def matches(self, version: Version, variant: str) -> bool:
        ids = (version.key, version.version)
        if self.versions and not any(v in ids for v in self.versions):
            return False
        if self.variants and not any(fnmatch.fnmatchcase(variant, g) for g in self.variants):
            return False
        if any(v in ids for v in self.unless_versions):
            return False
        return True


@dataclass(frozen=True)
class BuildRecipe:
    """How a family's images are built beyond the rendered Dockerfiles: `build:` of family.yml.

    `context` names per-architecture files the builder adds to every entry's build context, e.g.
    `{"debian_package": {"package": "busybox-static", "files": {"bin/busybox": "busybox"}}}` (the files of that
    Debian package for the builder's architecture, checked against the entry's version); `tests_file` is the smoke
    tests file (default `tests.yml` of the family when present)."""

    context: Mapping[str, Any] = field(default_factory=dict)
    tests_file: str = ""

    def to_dict(self) -> dict:
        return {"context": dict(self.context), "tests_file": self.tests_file}


@dataclass(frozen=True)
class SourceSpec:
    """One item of family.yml `sources:`: a source the family's recipe downloads, verifies and builds from.

    `name`, `url`, `sha256`, `signing_key`, `purl` and `version` are templates, rendered per entry in the sandbox
    the family's Dockerfile templates render in, with the same variables (render_sources); `variants` /
    `exclude_variants` (globs) say which entries build from it (default every one); `url_arg` names the build
    argument that replaces the start `default` of the URL (a mirror), so the provenance records where the build
    really fetched from beside the upstream URL."""

    index: int  # position in `sources:` (errors name `sources[<index>]`)
    name: str
    url: str
    sha256: str = ""
    signing_key: str = ""
    purl: str = ""
    version: str = "{{ version }}"
    variants: tuple[str, ...] = ("*",)
    exclude_variants: tuple[str, ...] = ()
    url_arg: Mapping[str, str] = field(default_factory=dict)  # {name: ARG, default: its default value}

    def applies_to(self, variant: str) -> bool:
        return (any(fnmatch.fnmatchcase(variant, g) for g in self.variants)
                and not any(fnmatch.fnmatchcase(variant, g) for g in self.exclude_variants))


@dataclass(frozen=True)
class Family:
    path: str
    name: str
    maintainers: tuple[str, ...]
    versions_file: str
    versions: tuple[Version, ...]  # in versions-file order
    templates: tuple[tuple[str, str], ...]  # (variant glob, template path relative to the family folder)
    git_repo: str = ""
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    builder: str = ""
    exclude_architectures: tuple[ExcludeRule, ...] = ()
    # (variant glob, architectures): the list for `FROM scratch` entries, and a restriction for all others
    architectures: tuple[tuple[str, tuple[str, ...]], ...] = ()
    template_vars: Mapping[str, Any] = field(default_factory=dict)
    build: BuildRecipe = field(default_factory=BuildRecipe)
    versions_source: str = ""  # one of VERSIONS_SOURCES, resolved by the controller (release/batch.py)
    tag_policy: str = "python"  # one of TAG_POLICIES
    sources: tuple["SourceSpec", ...] = ()  # `sources:`, rendered per entry by family/render.py render_sources

    @property
    def family_file(self) -> str:
        return os.path.join(self.path, FAMILY_FILE)

    def template_for(self, variant: str) -> str:
        """The template of a variant: the first glob of `templates` that matches it."""
        for glob, template in self.templates:
            if fnmatch.fnmatchcase(variant, glob):
                return template
        raise FamilyError(self.family_file, "templates", variant,
                          "no template glob matches variant (globs: %s)" % ", ".join(g for g, t in self.templates))

    def architectures_for(self, variant: str) -> tuple[str, ...] | None:
        """The family's own architecture list for a variant, or None when family.yml gives none."""
        for glob, archs in self.architectures:
            if fnmatch.fnmatchcase(variant, glob):
                return archs
        return None

    def sorted_versions(self) -> list[Version]:
        """Newest first, as the library file lists them."""
        return sorted(self.versions, key=lambda v: version_sort_key(v.key), reverse=True)


def version_sort_key(key: str) -> tuple:
    """`3.15` > `3.15-rc` > `3.14` > `3.9`: numeric parts, then a release above its pre-release."""
    numeric, dash, suffix = key.partition("-")
    parts = tuple(int(p) if p.isdigit() else -1 for p in numeric.split("."))
    return parts, 0 if dash else 1, suffix


def _str_list(file: str, fld: str, value: Any, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise FamilyError(file, fld, value, "must be a list of strings")
    for item in value:
        if not isinstance(item, str) or not item:
            raise FamilyError(file, fld, item, "every item must be a non-empty string (quote numbers such as \"3.10\")")
    if not value and not allow_empty:
        raise FamilyError(file, fld, value, "must not be empty")
    return tuple(value)


def _arch_list(file: str, fld: str, value: Any) -> tuple[str, ...]:
    archs = _str_list(file, fld, value)
    for a in archs:
        if not architectures.is_known(a):
            raise FamilyError(file, fld, a, "unknown architecture (known: %s)" % ", ".join(architectures.ARCHITECTURES))
    return archs


def load_tests_data(path: str) -> Any:
    """A smoke tests file's data (a family's `build.tests`, a library file's `tests`), validated before anything is
    built; errors name the file."""
    from ansible_collections.buildfarm.images.plugins.module_utils.build.smoke_tests import SmokeTestError, parse

    if not os.path.isfile(path):
        raise FamilyError(path, "(file)", path, "tests file not found")
    raw = _load_yaml(path)
    try:
        parse(raw, path)
    except SmokeTestError as exc:
        raise FamilyError(path, "(tests)", str(exc), "invalid smoke tests") from None
    return raw


def _load_yaml(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise FamilyError(path, "(file)", path, "family file not found") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise FamilyError(path, "(yaml)", getattr(e, "problem", str(e)), "not valid YAML",
                          line=mark.line + 1 if mark else None) from None


def load_versions(path: str) -> tuple[Version, ...]:
    """Read and validate a versions.json: {key: {"version": full, "variants": [...], ...}}."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FamilyError(path, "(file)", path, "versions file not found") from None
    except json.JSONDecodeError as e:
        raise FamilyError(path, "(json)", e.msg, "not valid JSON (column %d)" % e.colno, line=e.lineno) from None
    if not isinstance(data, dict) or not data:
        raise FamilyError(path, "(top level)", type(data).__name__, "must be a non-empty object of versions")
    out = []
    for key, entry in data.items():
        if not _VERSION_RE.match(key):
            raise FamilyError(path, key, key, "versions key is not a version (e.g. 3.14 or 3.15-rc)")
        if not isinstance(entry, dict):
            raise FamilyError(path, key, entry, "must be an object")
        full = entry.get("version")
        if not isinstance(full, str) or not _VERSION_RE.match(full) or not _TAG_RE.match(full):
            raise FamilyError(path, key + ".version", full, "missing or not a version string")
        base = key.split("-", 1)[0]
        if full != base and not full.startswith(base + "."):
            raise FamilyError(path, key + ".version", full, "does not belong to versions key %r" % key)
        variants = _str_list(path, key + ".variants", entry.get("variants"))
        for variant in variants:
            if not _VARIANT_RE.match(variant):
                raise FamilyError(path, key + ".variants", variant, "not a valid variant directory name")
        dups = sorted({v for v in variants if variants.count(v) > 1})
        if dups:
            raise FamilyError(path, key + ".variants", dups[0], "variant listed twice")
        sha = ((entry.get("checksums") or {}).get("source") or {}).get("sha256")
        if sha is not None and not (isinstance(sha, str) and _SHA256_RE.match(sha)):
            raise FamilyError(path, key + ".checksums.source.sha256", sha, "not 64 lowercase hex digits")
        out.append(Version(key=key, version=full, variants=variants, data=entry))
    return tuple(out)


def _templates(file: str, family_dir: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not value:
        raise FamilyError(file, "templates", value, "must be a non-empty mapping of variant glob -> template file")
    out = []
    for glob, template in value.items():
        if not isinstance(glob, str) or not isinstance(template, str) or not template:
            raise FamilyError(file, "templates", {glob: template}, "glob and template must be strings")
        path = _inside(file, family_dir, "templates." + glob, template, "template")
        if not os.path.isfile(path):
            raise FamilyError(file, "templates." + glob, template, "template file not found")
        out.append((glob, template))
    return tuple(out)


def _exclude_rules(file: str, value: Any) -> tuple[ExcludeRule, ...]:
    if not isinstance(value, list):
        raise FamilyError(file, "exclude_architectures", value, "must be a list of rules")
    rules = []
    for i, raw in enumerate(value):
        fld = "exclude_architectures[%d]" % i
        if isinstance(raw, str):  # shorthand: `- mips64le`
            raw = {"arch": raw}
        if not isinstance(raw, dict):
            raise FamilyError(file, fld, raw, "a rule must be a mapping with `arch`")
        unknown = sorted(set(raw) - set(_RULE_KEYS))
        if unknown:
            raise FamilyError(file, fld + "." + unknown[0], raw[unknown[0]],
                              "unknown rule key (known: %s)" % ", ".join(_RULE_KEYS))
        arch = raw.get("arch")
        if not isinstance(arch, str) or not architectures.is_known(arch):
            raise FamilyError(file, fld + ".arch", arch, "unknown architecture")
        lists = {k: _str_list(file, "%s.%s" % (fld, k), raw[k]) for k in _RULE_KEYS[1:] if k in raw}
        rules.append(ExcludeRule(arch=arch, **lists))
    return tuple(rules)


def _architectures(file: str, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if isinstance(value, list):
        return (("*", _arch_list(file, "architectures", value)),)
    if isinstance(value, dict) and value:
        return tuple((str(g), _arch_list(file, "architectures." + str(g), archs)) for g, archs in value.items())
    raise FamilyError(file, "architectures", value, "must be a list of architectures or a mapping variant glob -> list")


def _debian_package(file: str, fld: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise FamilyError(file, fld, value, "must be a mapping with package and files")
    unknown = sorted(set(value) - {"package", "files", "suite", "match_version"})
    if unknown:
        raise FamilyError(file, fld + "." + unknown[0], value[unknown[0]],
                          "unknown key (known: files, match_version, package, suite)")
    package = value.get("package")
    if not isinstance(package, str) or not re.match(r"^[a-z0-9][a-z0-9+.-]+$", package):
        raise FamilyError(file, fld + ".package", package, "not a Debian package name")
    files = value.get("files")
    if not isinstance(files, dict) or not files:
        raise FamilyError(file, fld + ".files", files, "must be a mapping path in the package -> path in the context")
    for src, dest in files.items():
        for what, p in (("package path", src), ("context path", dest)):
            if (not isinstance(p, str) or not p or p.startswith("/") or ".." in p.split("/")
                    or not re.match(r"^[\w./+-]+$", p)):
                raise FamilyError(file, fld + ".files", p, "not a relative %s inside the package/context" % what)
    # The Debian release the package is taken from, read from the host's own mirror whatever release the host
    # runs. A family should name it: without it the host's release is used (as before `suite` existed), and the
    # same family then builds different things on a Debian 12 and a Debian 13 controller.
    suite = value.get("suite", "")
    if not isinstance(suite, str) or (suite and suite not in DEBIAN_SUITES):
        raise FamilyError(file, fld + ".suite", suite,
                          "unknown Debian suite (known: %s)" % ", ".join(DEBIAN_SUITES))
    match = value.get("match_version", True)
    if not isinstance(match, bool):
        raise FamilyError(file, fld + ".match_version", match, "must be true or false")
    return {"package": package, "files": {str(k): str(v) for k, v in files.items()}, "suite": suite,
            "match_version": match}


def _debian_rootfs(file: str, fld: str, value: Any) -> dict:
    """`build.context.debian_rootfs`: a minbase root filesystem per entry variant (`<suite>` or `<suite>/<name>`),
    placed at `<variant>/rootfs.tar` of the context; `slim` (variant globs) makes those variants slim, `include`
    adds packages. The suites' Release files come from the family's versions_source."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise FamilyError(file, fld, value, "must be a mapping (keys: include, slim)")
    unknown = sorted(set(value) - {"include", "slim"})
    if unknown:
        raise FamilyError(file, fld + "." + unknown[0], value[unknown[0]], "unknown key (known: include, slim)")
    include = _str_list(file, fld + ".include", value.get("include") or [], allow_empty=True)
    for pkg in include:
        if not re.match(r"^[a-z0-9][a-z0-9+.-]+$", pkg):
            raise FamilyError(file, fld + ".include", pkg, "not a Debian package name")
    slim = _str_list(file, fld + ".slim", value.get("slim") or [], allow_empty=True)
    return {"include": list(include), "slim": list(slim)}


def _build_recipe(file: str, family_dir: str, value: Any) -> BuildRecipe:
    """`build:` of family.yml; every file it names stays inside the family folder."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise FamilyError(file, "build", value, "must be a mapping (keys: %s)" % ", ".join(_BUILD_KEYS))
    unknown = sorted(set(value) - set(_BUILD_KEYS))
    if unknown:
        raise FamilyError(file, "build." + unknown[0], value[unknown[0]],
                          "unknown key (known: %s)" % ", ".join(_BUILD_KEYS))
    context_raw = value.get("context") or {}
    if not isinstance(context_raw, dict):
        raise FamilyError(file, "build.context", context_raw,
                          "must be a mapping of context sources (known: %s)" % ", ".join(_CONTEXT_SOURCES))
    context: dict[str, Any] = {}
    for kind, spec in context_raw.items():
        if kind not in _CONTEXT_SOURCES:
            raise FamilyError(file, "build.context." + str(kind), spec,
                              "unknown context source (known: %s)" % ", ".join(_CONTEXT_SOURCES))
        if kind == "debian_rootfs":
            context[kind] = _debian_rootfs(file, "build.context." + kind, spec)
        else:
            context[kind] = _debian_package(file, "build.context." + kind, spec)
    tests = value.get("tests")
    if tests is None:
        tests_file = ""
        if os.path.isfile(os.path.join(family_dir, TESTS_FILE)):
            tests_file = _inside(file, family_dir, "build.tests", TESTS_FILE, "tests file")
    else:
        if not isinstance(tests, str) or not tests:
            raise FamilyError(file, "build.tests", tests, "must be the tests file name")
        tests_file = _inside(file, family_dir, "build.tests", tests)
        if not os.path.isfile(tests_file):
            raise FamilyError(file, "build.tests", tests, "tests file not found")
    return BuildRecipe(context=context, tests_file=tests_file)


def _sources(file: str, value: Any, versions: tuple[Version, ...]) -> tuple[SourceSpec, ...]:
    """`sources:` of family.yml: a list of mappings (keys SOURCE_KEYS; `name` and `url` required). The templated
    values are checked once rendered (render_sources); here their types, the variant globs (each must match a
    variant of the versions file: a typo would silently drop the source) and `url_arg`."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FamilyError(file, "sources", value, "must be a list of sources (keys: %s)" % ", ".join(SOURCE_KEYS))
    known = sorted({v for version in versions for v in version.variants})
    out = []
    for i, raw in enumerate(value):
        fld = "sources[%d]" % i
        if not isinstance(raw, dict):
            raise FamilyError(file, fld, raw, "a source must be a mapping (keys: %s)" % ", ".join(SOURCE_KEYS))
        unknown = sorted(set(raw) - set(SOURCE_KEYS), key=str)
        if unknown:
            raise FamilyError(file, "%s.%s" % (fld, unknown[0]), raw[unknown[0]],
                              "unknown key (known: %s)" % ", ".join(SOURCE_KEYS))
        for key in ("name", "url"):
            if key not in raw:
                raise FamilyError(file, "%s.%s" % (fld, key), None, "required key missing")
        values = {}
        for key in SOURCE_TEMPLATED:
            if key not in raw:
                continue
            v = raw[key]
            if v is None:
                v = ""
            if not isinstance(v, str):
                raise FamilyError(file, "%s.%s" % (fld, key), v, "must be a string (a template: quote it)")
            if key in ("name", "url") and not v.strip():
                raise FamilyError(file, "%s.%s" % (fld, key), v, "must not be empty")
            values[key] = v
        globs = {}
        for key in ("variants", "exclude_variants"):
            if key not in raw:
                continue
            globs[key] = _str_list(file, "%s.%s" % (fld, key), raw[key])
            for g in globs[key]:
                if not any(fnmatch.fnmatchcase(v, g) for v in known):
                    raise FamilyError(file, "%s.%s" % (fld, key), g, "matches no variant of the versions file "
                                      "(variants: %s)" % ", ".join(known))
        url_arg = _url_arg(file, fld, raw.get("url_arg"))
        out.append(SourceSpec(index=i, url_arg=url_arg, **values, **globs))  # type: ignore[arg-type]
    return tuple(out)


def _url_arg(file: str, fld: str, arg: Any) -> dict[str, str]:
    """A source's `url_arg`: the build argument (and its default) its url's start is fetched from."""
    if arg is None:
        return {}
    if not isinstance(arg, dict) or sorted(arg) != ["default", "name"]:
        raise FamilyError(file, fld + ".url_arg", arg, "must be a mapping with name (the build argument)"
                          " and default (its default value, the start of url)")
    if not isinstance(arg["name"], str) or not _BUILD_ARG_RE.match(arg["name"]):
        raise FamilyError(file, fld + ".url_arg.name", arg["name"], "not a build argument name")
    if not isinstance(arg["default"], str) or not re.match(r"^(https?|ftp)://\S+$", arg["default"]):
        raise FamilyError(file, fld + ".url_arg.default", arg["default"], "must be an http(s) or ftp URL")
    return {"name": arg["name"], "default": arg["default"]}


def _inside(file: str, family_dir: str, fld: str, rel: str, what: str = "file") -> str:
    """`rel` resolved (symlinks too) inside the family folder, or a FamilyError naming it: a family is data anyone
    may propose, so neither `../`, an absolute path nor a symlink may make it read the controller's files."""
    root = os.path.realpath(family_dir)
    path = os.path.realpath(os.path.join(root, rel))
    if os.path.isabs(rel) or not path.startswith(root + os.sep):
        link = "" if os.path.isabs(rel) or ".." in rel.split("/") else " (it resolves to %s)" % path
        raise FamilyError(file, fld, rel, "%s must be inside the family folder%s" % (what, link))
    return path


def _read_family_file(path: str) -> tuple[str, dict[str, Any]]:
    """(`<path>/family.yml`, its mapping), its keys checked: none unknown, every required one there."""
    file = os.path.join(path, FAMILY_FILE)
    if not os.path.isdir(path):
        raise FamilyError(path, "(folder)", path, "family folder not found")
    if os.path.lexists(file):
        _inside(file, path, "(file)", FAMILY_FILE, FAMILY_FILE)
    raw = _load_yaml(file)
    if not isinstance(raw, dict):
        raise FamilyError(file, "(top level)", raw, "must be a mapping")
    unknown = sorted(set(raw) - set(_KEYS_REQUIRED) - set(_KEYS_OPTIONAL))
    if unknown:
        raise FamilyError(file, unknown[0], raw[unknown[0]],
                          "unknown key (known: %s)" % ", ".join(_KEYS_REQUIRED + _KEYS_OPTIONAL))
    for key in _KEYS_REQUIRED:
        if key not in raw:
            raise FamilyError(file, key, None, "required key missing")
    return file, raw


def _identity(file: str, raw: dict[str, Any], name: str | None) -> dict[str, Any]:
    """name, maintainers, git_repo and builder of family.yml, checked."""
    if name is None:
        name = raw["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise FamilyError(file, "name", name, "not a valid repository name (lowercase letters, digits, . _ -)")
    maintainers = _str_list(file, "maintainers", raw["maintainers"])
    git_repo = raw.get("git_repo") or ""
    if not isinstance(git_repo, str) or (git_repo and not re.match(r"^(https?|git|ssh)://\S+$", git_repo)):
        raise FamilyError(file, "git_repo", git_repo, "must be an https://, git:// or ssh:// URL")
    # none given: the entries are built as common/builders.py normalizes it (buildkit on Linux, classic on Windows)
    builder = raw.get("builder") or ""
    if builder and builder not in BUILDERS:
        raise FamilyError(file, "builder", builder, "unknown builder (known: %s)" % ", ".join(BUILDERS))
    return {"name": name, "maintainers": maintainers, "git_repo": git_repo, "builder": builder}


def _family_versions(file: str, path: str, raw: dict[str, Any]) -> tuple[str, tuple[Version, ...]]:
    """(the versions file, its versions) named by family.yml `versions`."""
    if not isinstance(raw["versions"], str) or not raw["versions"]:
        raise FamilyError(file, "versions", raw["versions"], "must be the versions file name")
    versions_file = os.path.join(path, raw["versions"])
    _inside(file, path, "versions", raw["versions"], "versions file")
    return versions_file, load_versions(versions_file)


def _aliases(file: str, raw: dict[str, Any], keys: list[str]) -> dict[str, tuple[str, ...]]:
    """family.yml `aliases`: versions key -> more tags of it."""
    aliases_raw = raw.get("aliases") or {}
    if not isinstance(aliases_raw, dict):
        raise FamilyError(file, "aliases", aliases_raw, "must be a mapping versions key -> list of aliases")
    aliases = {}
    for key, names in aliases_raw.items():
        if not isinstance(key, str) or key not in keys:
            raise FamilyError(file, "aliases", key, "not a key of %s (keys: %s; quote keys such as \"3.10\")"
                              % (raw["versions"], ", ".join(keys)))
        names = _str_list(file, "aliases." + key, names)
        for alias in names:
            if not _TAG_RE.match(alias):
                raise FamilyError(file, "aliases." + key, alias, "not a valid tag")
        aliases[key] = names
    return aliases


def _policies(file: str, path: str, raw: dict[str, Any]) -> dict[str, Any]:
    """template_vars, versions_source, tag_policy and the build recipe of family.yml, checked together (a
    `debian_rootfs` context needs the Release files of `versions_source: debian_release`)."""
    template_vars = raw.get("template_vars") or {}
    if not isinstance(template_vars, dict):
        raise FamilyError(file, "template_vars", template_vars, "must be a mapping")
    versions_source = raw.get("versions_source") or ""
    if versions_source not in ("",) + VERSIONS_SOURCES:
        raise FamilyError(file, "versions_source", versions_source,
                          "unknown versions source (known: %s)" % ", ".join(VERSIONS_SOURCES))
    tag_policy = raw.get("tag_policy") or "python"
    if tag_policy not in TAG_POLICIES:
        raise FamilyError(file, "tag_policy", tag_policy, "unknown tag policy (known: %s)" % ", ".join(TAG_POLICIES))
    build = _build_recipe(file, path, raw.get("build"))
    if "debian_rootfs" in build.context and versions_source != "debian_release":
        raise FamilyError(file, "build.context.debian_rootfs", build.context["debian_rootfs"],
                          "needs `versions_source: debian_release` (the Release files the root filesystems are "
                          "made from)")
    return {"template_vars": template_vars, "versions_source": versions_source, "tag_policy": tag_policy,
            "build": build}


def load_family(path: str, name: str | None = None) -> Family:
    """Load `<path>/family.yml` and the versions file it names; validate both and the templates mapping.

    `name` (a release passes the folder's name) is the repository the family is released as, whatever family.yml
    says: a copy of a family folder under another name is another image, with no other file changed."""
    path = os.path.abspath(path)
    file, raw = _read_family_file(path)
    identity = _identity(file, raw, name)
    versions_file, versions = _family_versions(file, path, raw)
    aliases = _aliases(file, raw, [v.key for v in versions])
    policies = _policies(file, path, raw)
    return Family(
        path=path,
        versions_file=versions_file,
        versions=versions,
        templates=_templates(file, path, raw["templates"]),
        aliases=aliases,
        exclude_architectures=_exclude_rules(file, raw.get("exclude_architectures") or []),
        architectures=_architectures(file, raw["architectures"]) if "architectures" in raw else (),
        sources=_sources(file, raw.get("sources"), versions),
        **identity,
        **policies,
    )
