# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The official-images `library/<repo>` file (bashbrew's RFC 2822-like manifest): parse, validate, build, write.

Plain typed Python, importable without Ansible.

Format
------
Paragraphs of ``Field: value`` lines separated by blank lines; lines starting with whitespace continue the
previous field; lines starting with ``#`` are comments. The first paragraph with fields is the global one
(Maintainers, GitRepo, GitFetch, GitCommit, Directory, File, Builder, Architectures, Constraints and per-arch
overrides): it gives defaults to every entry. Each following paragraph is an entry.

Writing a parsed file gives it back byte for byte: every field keeps its source text for as long as its value
is unchanged; changed or new fields are written in the canonical layout (``Maintainers`` one per line, aligned
under the first; every other field on one line).

API (a contract other modules code against)
-------------------------------------------
This module is the file's text: paragraphs of fields and comments, parsed, written and validated. The entries
are library/entry.py's `Entry`; `entry_from_paragraph(p, defaults, where)` and `paragraph_from_entry(e, defaults)`
are the one adapter between the two. Reading::

    m = parse(text, filename="library/python")     # or load(path); syntax errors raise LibraryManifestError
    m.errors()            -> list[LibraryManifestError]   # every validation problem, in file order
    m.validate()          -> m, or raises InvalidLibraryManifest (all errors; .errors is the list)
    m.globals, m.paragraphs                               # the global paragraph, the entry paragraphs (text)
    m.global_fields       -> dict[str, str]               # global paragraph, field -> value
    m.maintainers         -> list[str]
    m.entries             -> list[Entry]                  # effective values (the global defaults applied)
    m.entry_for_tag("3.9-slim") -> Entry | None
    m.architectures()     -> list[str]                    # every architecture of any entry, sorted by name
    m.shared_tag_groups() -> list[SharedTagGroup]         # .tags, .entries, .indexes
    dumps(m)              -> str

Writing (the planner writes the generated library file with this)::

    m = LibraryManifest.build(
        header_comments=["# this file is generated via ..."],
        global_fields=[("Maintainers", "A <a@x> (@a), B <b@x> (@b)"), ("GitRepo", "https://..."),
                       ("Builder", "buildkit")],
        entries=[Entry(tags=["3.14.6-trixie"], architectures=["amd64", "arm64v8"], directory="3.14/trixie")],
    )
    text = dumps(m)

An entry is written with its fields in the order Tags, SharedTags, Architectures, GitRepo, GitFetch, GitCommit,
Directory, File, Constraints, Builder, then its per-arch overrides; empty values and values equal to the global
paragraph's (Directory `.` and File `Dockerfile` when it has none) are left out. `build` also takes an entry as
(name, value) pairs in the order to write them; values may be strings or lists of strings (joined with ", ").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence, Union, overload

from ansible_collections.buildfarm.images.plugins.module_utils.common.builders import BUILDERS
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as _arches
from ansible_collections.buildfarm.images.plugins.module_utils.library import entry as _entry
from ansible_collections.buildfarm.images.plugins.module_utils.library.entry import (
    FIELDS,
    Entry,
    SharedTagGroup,
    group_shared_tags,
    version_of,
)

LIST_FIELDS = ("Maintainers", "Tags", "SharedTags", "Architectures", "Constraints")
ENTRY_FIELDS = (
    "Tags", "SharedTags", "Architectures", "GitRepo", "GitFetch", "GitCommit", "Directory", "File",
    "Constraints", "Builder",
)
GLOBAL_FIELDS = ("Maintainers",) + tuple(f for f in ENTRY_FIELDS if f not in ("Tags", "SharedTags"))
ARCH_FIELDS = tuple(_entry.ARCH_FIELDS)
# bashbrew's defaults when neither the entry nor the global paragraph sets a field
DEFAULTS = {"Architectures": "amd64", "Directory": ".", "File": "Dockerfile"}

TAG_RE = re.compile(r"^\w[\w.-]{0,127}$", re.ASCII)
COMMIT_RE = re.compile(r"^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")
FETCH_RE = re.compile(r"^refs/(?:heads|tags)/\S+$")
_FIELD_LINE_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*):(.*)$")
_ARCH_FIELD_RE = re.compile(r"^(.+)-(%s)$" % "|".join(ARCH_FIELDS))


class LibraryManifestError(BuildfarmError, ValueError):
    """One problem in a library file; str() names the file, line, field and value."""

    value: Any

    def __init__(self, file: str, line: int, field: str, value: Any, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(message, file, field, value)

    def format(self) -> str:
        where = "%s:%d" % (self.file, self.line) if self.line else str(self.file)
        what = "field %s" % self.field if self.field else "line"
        return "%s: %s, value %r: %s" % (where, what, self.value, self.message)

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "value": self.value,
                "message": self.message, "msg": str(self)}


class InvalidLibraryManifest(BuildfarmError, ValueError):
    """Every validation error of one library file."""

    def __init__(self, errors: Sequence[LibraryManifestError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))

    def format(self) -> str:
        head = "%d error(s) in library file: " % len(self.errors) if len(self.errors) > 1 else ""
        return head + "; ".join(str(e) for e in self.errors)


def split_list(value: str) -> list[str]:
    """A comma-separated field value as a list (empty items dropped)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def _value_text(value: Union[str, Iterable[str]]) -> str:
    if isinstance(value, str):
        return value.strip()
    return ", ".join(str(v).strip() for v in value if str(v).strip())


def _unfold(raw: str) -> str:
    """The value of a field's source text: continuation lines joined with single spaces."""
    first, *rest = raw.split("\n")
    parts = [first.split(":", 1)[1].strip()] + [r.strip() for r in rest]
    return " ".join(p for p in parts if p)


def format_field(name: str, value: str) -> str:
    """Canonical text of a field: Maintainers one per line aligned under the first, others on one line."""
    if name == "Maintainers":
        items = split_list(value)
        if len(items) > 1:
            pad = "\n" + " " * (len(name) + 2)
            return "%s: %s" % (name, ("," + pad).join(items))
    return "%s: %s" % (name, value)


@dataclass
class Field:
    name: str
    value: str
    line: int = 0
    raw: Union[str, None] = None  # source text, reused on write while the value is unchanged

    def text(self) -> str:
        if self.raw is not None and _unfold(self.raw) == self.value:
            return self.raw
        return format_field(self.name, self.value)


@dataclass
class Comment:
    text: str
    line: int = 0


@dataclass
class Paragraph:
    items: list = field(default_factory=list)  # Field | Comment, in file order
    line: int = 0
    leading: Union[list, None] = None  # blank/comment lines before it; None: one blank line (none if first)

    @property
    def fields(self) -> list[Field]:
        return [i for i in self.items if isinstance(i, Field)]

    def field(self, name: str) -> Union[Field, None]:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    # With a str default the result is a str (`get("Tags", "")`); without one, None for a missing field.
    @overload
    def get(self, name: str) -> Union[str, None]: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    @overload
    def get(self, name: str, default: None) -> Union[str, None]: ...

    def get(self, name: str, default: Union[str, None] = None) -> Union[str, None]:
        f = self.field(name)
        return f.value if f is not None else default

    def set(self, name: str, value: Union[str, Iterable[str]]) -> None:
        """Set (or add at the end) a field; an empty value removes it."""
        text = _value_text(value)
        f = self.field(name)
        if not text:
            if f is not None:
                self.items.remove(f)
        elif f is None:
            self.items.append(Field(name, text))
        else:
            f.value = text

    def field_values(self) -> dict[str, str]:
        return {f.name: f.value for f in self.fields}


def _effective(p: Paragraph, defaults: Paragraph, name: str) -> str:
    """Effective value of a field: the paragraph's, else the global paragraph's, else bashbrew's default."""
    for source in (p, defaults):
        v = source.get(name)
        if v is not None:
            return v
    return DEFAULTS.get(name, "")


def _arch_value(p: Paragraph, defaults: Paragraph, arch: str, name: str) -> str:
    """Effective `<arch>-<name>` value: the entry's arch override, the entry's field, the global arch override, the
    global field, the default."""
    for source in (p, defaults):
        for key in ("%s-%s" % (arch, name), name):
            v = source.get(key)
            if v is not None:
                return v
    return DEFAULTS.get(name, "")


def entry_from_paragraph(p: Paragraph, defaults: Paragraph, where: str = "") -> Entry:
    """The adapter from the text: an entry paragraph's effective values (`defaults`: the global paragraph) as an
    Entry, `where` (the file) and the paragraph's line kept for messages. Nothing is checked here: validate() does
    that on the text, naming lines."""
    own, glob = p.field_values(), defaults.field_values()  # looked up once: READMEs convert every entry

    def text(name: str) -> str:
        return own.get(name, glob.get(name, DEFAULTS.get(name, "")))

    def arch_text(arch: str, name: str) -> str:  # _arch_value's order: entry (override, field), then global
        key = "%s-%s" % (arch, name)
        for source in (own, glob):
            for k in (key, name):
                if k in source:
                    return source[k]
        return DEFAULTS.get(name, "")

    tags = split_list(own.get("Tags", ""))
    architectures = split_list(text("Architectures"))
    overrides: dict[str, dict[str, str]] = {}
    for arch in architectures:
        # only an `<arch>-` field (the entry's or the global one) can make a value differ
        named = [n for n in ARCH_FIELDS if "%s-%s" % (arch, n) in own or "%s-%s" % (arch, n) in glob]
        diff = {n: arch_text(arch, n) for n in named if arch_text(arch, n) != text(n)}
        if diff:
            overrides[arch] = diff
    return Entry(tags=tags, shared_tags=split_list(own.get("SharedTags", "")), architectures=architectures,
                 directory=text("Directory"), file=text("File"), git_commit=text("GitCommit"),
                 constraints=split_list(text("Constraints")), builder=text("Builder"),
                 version=version_of(tags[0]) if tags else "", git_repo=text("GitRepo"), git_fetch=text("GitFetch"),
                 arch_overrides=overrides, where=where, line=p.line)


def paragraph_from_entry(entry: Entry, defaults: Paragraph) -> Paragraph:
    """The adapter to the text: an entry's paragraph, the values the global paragraph (`defaults`) gives left out."""
    return _paragraph_from_data(entry.to_dict(), defaults)


def _paragraph_from_data(data: Mapping[str, Any], defaults: Paragraph) -> Paragraph:
    """An entry paragraph from an entry's dict form (lists or comma-separated text), unchecked."""
    p = Paragraph()
    for name in ENTRY_FIELDS:
        text = _value_text(data.get(FIELDS[name]) or "")
        default = defaults.get(name)
        if default is None and name in ("Directory", "File"):
            default = DEFAULTS[name]  # bashbrew's own, which a file need not spell out
        if text and text != _value_text(default or ""):
            p.items.append(Field(name, text))
    for arch, values in (data.get("arch_overrides") or {}).items():
        for name in ARCH_FIELDS:
            text = _value_text(values.get(name) or "")
            if text and text != _arch_value(p, defaults, arch, name):  # a global <arch>- override is not repeated
                p.items.append(Field("%s-%s" % (arch, name), text))
    return p


@dataclass
class LibraryManifest:
    globals: Paragraph
    paragraphs: list[Paragraph]  # the entries' paragraphs
    filename: str = "<string>"
    trailing: list[str] = field(default_factory=lambda: [""])  # lines after the last paragraph ("" = final \n)

    _cache: tuple = field(default=(), init=False, repr=False, compare=False)

    @property
    def entries(self) -> list[Entry]:
        """The entries (effective values), read from the paragraphs as they are now: treat them as read-only (they
        are kept until a paragraph changes, as READMEs ask for them many times)."""
        key = (self.filename,) + tuple((p.line, tuple((f.name, f.value) for f in p.fields))
                                       for p in [self.globals] + self.paragraphs)
        if not self._cache or self._cache[0] != key:
            self._cache = (key, [entry_from_paragraph(p, self.globals, self.filename) for p in self.paragraphs])
        return list(self._cache[1])

    @property
    def global_fields(self) -> dict[str, str]:
        return self.globals.field_values()

    @property
    def maintainers(self) -> list[str]:
        return split_list(self.globals.get("Maintainers", ""))

    def architectures(self) -> list[str]:
        found = {a for e in self.entries for a in e.architectures}
        return sorted(found)

    def entry_for_tag(self, tag: str) -> Union[Entry, None]:
        for p in self.paragraphs:
            if tag in split_list(p.get("Tags", "")):
                return entry_from_paragraph(p, self.globals, self.filename)
        return None

    def shared_tag_groups(self) -> list[SharedTagGroup]:
        return group_shared_tags(self.entries)

    def add_entry(self, entry: Union[Entry, Paragraph]) -> Paragraph:
        """Append an entry (written without the values the global paragraph gives) and return its paragraph."""
        p = entry if isinstance(entry, Paragraph) else paragraph_from_entry(entry, self.globals)
        self.paragraphs.append(p)
        return p

    @classmethod
    def build(
        cls,
        header_comments: Sequence[str] = (),
        global_fields: Sequence[tuple] = (),
        entries: Sequence[Union[Entry, Sequence[tuple]]] = (),
        filename: str = "<built>",
    ) -> "LibraryManifest":
        """A manifest from data: header comment lines (with or without the leading '# '), the global fields and
        the entries (Entry, or (name, value) pairs in the order to write them). Its lines are numbered as
        dumps() writes them, so validation errors name lines of the text it writes."""
        comments = [c if c.startswith("#") else "# " + c for c in header_comments]
        globals_ = Paragraph(leading=comments + [""] if comments else [])
        for name, value in global_fields:
            globals_.set(name, value)
        m = cls(globals_, [], filename)
        for item in entries:
            if isinstance(item, Entry):
                m.add_entry(item)
                continue
            p = Paragraph()
            for name, value in item:
                p.set(name, value)
            m.add_entry(p)
        _number_lines(m)
        return m

    def errors(self) -> list[LibraryManifestError]:
        return _Validator(self).run()

    def validate(self) -> "LibraryManifest":
        errs = self.errors()
        if errs:
            raise InvalidLibraryManifest(errs)
        return self


def manifest_from_dicts(entries: Sequence[Mapping[str, Any]], where: str = "entries") -> LibraryManifest:
    """A library file of entries given as data (the entry dict form, lists or comma-separated text), validated as a
    file would be; errors name each entry by its index (`entries[1]`), as there is no file. Entries as data have no
    global paragraph, so its Maintainers are not asked for."""
    manifest = LibraryManifest.build(filename=where)
    for n, data in enumerate(entries):
        p = manifest.add_entry(_paragraph_from_data(data, manifest.globals))
        p.line = n + 1  # carries the entry's position to the errors below
        for f in p.fields:
            f.line = n + 1
    errors = [LibraryManifestError("%s[%d]" % (where, e.line - 1), 0, e.field or "", e.value, e.message)
              for e in manifest.errors() if e.field != "Maintainers"]
    if errors:
        raise InvalidLibraryManifest(errors)
    return manifest


def _layout(manifest: LibraryManifest) -> list[tuple[Union[Paragraph, Field, Comment, None], str]]:
    """What dumps() writes, line block by line block, with the paragraph or item each block belongs to."""
    out: list[tuple[Union[Paragraph, Field, Comment, None], str]] = []
    written = False  # any line yet
    for n, p in enumerate([manifest.globals] + list(manifest.paragraphs)):
        if n == 0 and not p.fields and not p.items:
            continue  # an empty global paragraph writes nothing
        leading = p.leading if p.leading is not None else ([""] if written else [])
        out.extend((None, line) for line in leading)
        out.append((p, ""))  # marks where the paragraph starts; writes nothing
        out.extend((i, i.text if isinstance(i, Comment) else i.text()) for i in p.items)
        written = written or bool(leading or p.items)
    out.extend((None, line) for line in manifest.trailing)
    return out


def _number_lines(manifest: LibraryManifest) -> None:
    """Number a built manifest's fields and paragraphs as dumps() writes them."""
    line = 1
    for item, text in _layout(manifest):
        if isinstance(item, Paragraph):
            item.line = line
            continue
        if item is not None:
            item.line = line
        line += text.count("\n") + 1


def dumps(manifest: LibraryManifest) -> str:
    return "\n".join(text for item, text in _layout(manifest) if not isinstance(item, Paragraph))


def parse(text: str, filename: str = "<string>") -> LibraryManifest:
    """Parse a library file (syntax only: call validate()/errors() for the content rules)."""
    lines = text.split("\n")
    paragraphs: list[Paragraph] = []
    pending: list[str] = []  # blank lines and comment-only blocks waiting for the next paragraph
    block: list[tuple[int, str]] = []

    def flush_block() -> None:
        if not block:
            return
        if all(text.startswith("#") for _n, text in block):
            pending.extend(text for _n, text in block)  # comment-only block
        else:
            paragraphs.append(_paragraph(block, list(pending), filename))
            pending.clear()
        block.clear()

    for n, line in enumerate(lines, 1):
        if line.strip() == "":
            flush_block()
            pending.append(line)
        else:
            block.append((n, line))
    flush_block()

    if not paragraphs:
        globals_ = Paragraph(leading=pending[:-1] or [], line=1)
        return LibraryManifest(globals_, [], filename, trailing=pending[-1:] or [""])
    return LibraryManifest(paragraphs[0], paragraphs[1:], filename, trailing=pending)


def _paragraph(block: list[tuple[int, str]], leading: list[str], filename: str) -> Paragraph:
    p = Paragraph(line=block[0][0], leading=leading)
    current: Union[Field, None] = None
    seen: dict[str, int] = {}
    for n, line in block:
        if line.startswith("#"):
            p.items.append(Comment(line, n))
            current = None
        elif line[0] in " \t":
            if current is None:
                raise LibraryManifestError(filename, n, "", line.strip(),
                                           "continuation line without a field before it")
            current.raw = (current.raw or "") + "\n" + line
            current.value = _unfold(current.raw)
        else:
            m = _FIELD_LINE_RE.match(line)
            if not m:
                raise LibraryManifestError(filename, n, "", line, "not a 'Field: value' line")
            name = m.group(1)
            if name in seen:
                raise LibraryManifestError(filename, n, name, m.group(2).strip(),
                                           "field given twice in one paragraph (first at line %d)" % seen[name])
            seen[name] = n
            current = Field(name, m.group(2).strip(), n, line)
            p.items.append(current)
    if p.items and isinstance(p.items[0], Field):
        p.line = p.items[0].line
    return p


def load(path) -> LibraryManifest:
    """Read and parse a library file; a file that is not UTF-8 text is a LibraryManifestError naming the line and
    the bytes at fault (bashbrew reads UTF-8 only)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise LibraryManifestError(str(path), line, "", repr(data[e.start:e.end]),
                                   "not UTF-8 text (byte offset %d); library files are UTF-8" % e.start) from None
    return parse(text, str(path))


def _path_problem(value: str) -> str:
    """Why a Directory or File value could leave the Git repository it names a path in ('' when it cannot): the
    builders join it to their checkout, so `..`, an absolute path or a Windows separator would read elsewhere."""
    if not value:
        return "empty"
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        return "control character"
    if "\\" in value:
        return "backslash (use /)"
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        return "absolute path"
    if ".." in value.split("/"):
        return "'..' leaves the repository"
    return ""


class _Validator:
    def __init__(self, manifest: LibraryManifest) -> None:
        self.m = manifest
        self.errs: list[LibraryManifestError] = []

    def err(self, line: int, fld: str, value: str, message: str) -> None:
        self.errs.append(LibraryManifestError(self.m.filename, line, fld, value, message))

    def run(self) -> list[LibraryManifestError]:
        g = self.m.globals
        for name in ("Tags", "SharedTags"):
            f = g.field(name)
            if f is not None:
                self.err(f.line, name, f.value, "%s belongs in an entry, not in the global paragraph" % name)
        if not split_list(g.get("Maintainers", "")):
            f = g.field("Maintainers")
            self.err(f.line if f else g.line or 1, "Maintainers", f.value if f else "",
                     "the global paragraph must name at least one maintainer")
        self._fields(g, GLOBAL_FIELDS + ("Tags", "SharedTags"))
        tag_seen: dict[str, tuple[int, str]] = {}
        for p in self.m.paragraphs:
            self._fields(p, ENTRY_FIELDS + ("Maintainers",))
            self._tags(p, tag_seen)
        self._shared_arches()
        return sorted(self.errs, key=lambda x: x.line)

    def _fields(self, p: Paragraph, allowed: tuple) -> None:
        for f in p.fields:
            am = _ARCH_FIELD_RE.match(f.name)
            base = f.name
            if am:
                base = am.group(2)
                if not _arches.is_known(am.group(1)):
                    self.err(f.line, f.name, f.value, "override for unknown architecture %r (known: %s)"
                             % (am.group(1), ", ".join(_arches.ARCHITECTURES)))
                    continue
            elif f.name not in allowed:
                known = ", ".join(allowed + tuple("<arch>-" + a for a in ARCH_FIELDS))
                self.err(f.line, f.name, f.value, "unknown field (known: %s)" % known)
                continue
            if base == "GitCommit" and not COMMIT_RE.match(f.value):
                self.err(f.line, f.name, f.value, "GitCommit must be a commit id of 40 or 64 hex digits")
            elif base == "GitFetch" and not FETCH_RE.match(f.value):
                self.err(f.line, f.name, f.value, "GitFetch must be refs/heads/... or refs/tags/...")
            elif base in ("Directory", "File"):
                problem = _path_problem(f.value)
                if problem:
                    self.err(f.line, f.name, f.value, "%s must be a relative path inside the repository: %s"
                             % (base, problem))
            elif base == "Builder" and f.value and f.value not in BUILDERS:
                self.err(f.line, f.name, f.value, "unknown Builder (known: %s)" % ", ".join(BUILDERS))
            elif base == "Architectures":
                for a in split_list(f.value):
                    if not _arches.is_known(a):
                        self.err(f.line, f.name, a, "unknown architecture (known: %s)"
                                 % ", ".join(_arches.ARCHITECTURES))

    def _tags(self, e: Paragraph, seen: dict[str, tuple[int, str]]) -> None:
        if not split_list(e.get("Tags", "")):
            self.err(e.line, "Tags", "", "every entry needs at least one tag")
        own: dict[str, str] = {}
        for name in ("Tags", "SharedTags"):
            f = e.field(name)
            if f is None:
                continue
            for t in split_list(f.value):
                if not TAG_RE.match(t):
                    self.err(f.line, name, t, r"a tag must match ^\w[\w.-]{0,127}$")
                    continue
                if t in own:
                    self.err(f.line, name, t, "tag listed twice in this entry (also in %s)" % own[t])
                    continue
                own[t] = name
                prev = seen.get(t)
                # a shared tag may span entries; any other repeat names one tag twice
                if prev is not None and not (name == "SharedTags" and prev[1] == "SharedTags"):
                    self.err(f.line, name, t, "tag already used in %s at line %d" % (prev[1], prev[0]))
                elif prev is None:
                    seen[t] = (f.line, name)

    def _shared_arches(self) -> None:
        # Windows entries of one architecture differ by os.version, which their Constraints name, so
        # one list holds them all; identical (architecture, Constraints) pairs cannot both be in one list.
        for group in self.m.shared_tag_groups():
            owner: dict[tuple, Entry] = {}
            for i, e in zip(group.indexes, group.entries):
                for a in e.architectures:
                    key = (a, tuple(sorted(e.constraints)))
                    if key in owner:
                        f = self.m.paragraphs[i].field("SharedTags")
                        self.err(f.line if f else e.line, "SharedTags", ", ".join(group.tags),
                                 "entries at lines %d and %d share architecture %s under one shared tag;"
                                 " one manifest list cannot hold both" % (owner[key].line, e.line, a))
                        break
                    owner[key] = e
