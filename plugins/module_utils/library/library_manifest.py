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
Reading::

    m = parse(text, filename="library/python")     # or load(path); syntax errors raise LibraryManifestError
    m.errors()            -> list[LibraryManifestError]   # every validation problem, in file order
    m.validate()          -> m, or raises InvalidLibraryManifest (all errors; .errors is the list)
    m.global_fields       -> dict[str, str]               # global paragraph, field -> value
    m.maintainers         -> list[str]
    m.entries             -> list[Entry]
    m.entry_for_tag("3.9-slim") -> Entry | None
    m.architectures()     -> list[str]                    # every architecture of any entry, sorted by name
    shared_tag_groups(m)  -> list[SharedTagGroup]         # .tags, .entries
    dumps(m)              -> str

    e.tags, e.shared_tags, e.architectures, e.constraints          # lists (architectures: effective)
    e.git_repo, e.git_fetch, e.git_commit, e.directory, e.file, e.builder   # effective values
    e.arch_value("arm64v8", "GitCommit")  # <arch>-Field of the entry, the entry's Field, global <arch>-Field,
                                          # global Field, then the built-in default
    e.has_architecture("amd64"), e.line, e.to_dict()

Building (the planner writes the generated library file with this)::

    m = LibraryManifest.build(
        header_comments=["# this file is generated via ..."],
        global_fields=[("Maintainers", "A <a@x> (@a), B <b@x> (@b)"), ("GitRepo", "https://..."),
                       ("Builder", "buildkit")],
        entries=[[("Tags", "3.14.6-trixie, 3.14-trixie"), ("SharedTags", "3.14.6, 3.14"),
                  ("Architectures", "amd64, arm64v8"), ("GitCommit", "<40 hex>"), ("Directory", "3.14/trixie")]],
    )
    text = dumps(m)

Values may be strings or lists of strings (lists are joined with ", "); fields with an empty value are left out.
``Entry.from_dict(d, defaults=m.globals)`` builds one entry from the ``to_dict()`` shape (fields in the order
Tags, SharedTags, Architectures, GitRepo, GitFetch, GitCommit, Directory, File, Constraints, Builder, then
per-arch overrides; values equal to the global default are left out); ``m.add_entry(entry)`` appends it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence, Union, overload

from ansible_collections.buildfarm.images.plugins.module_utils.common.builders import BUILDERS
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures as _arches

LIST_FIELDS = ("Maintainers", "Tags", "SharedTags", "Architectures", "Constraints")
ENTRY_FIELDS = (
    "Tags", "SharedTags", "Architectures", "GitRepo", "GitFetch", "GitCommit", "Directory", "File",
    "Constraints", "Builder",
)
GLOBAL_FIELDS = ("Maintainers",) + tuple(f for f in ENTRY_FIELDS if f not in ("Tags", "SharedTags"))
ARCH_FIELDS = ("GitRepo", "GitFetch", "GitCommit", "Directory", "File", "Builder")
# bashbrew's defaults when neither the entry nor the global paragraph sets a field
DEFAULTS = {"Architectures": "amd64", "Directory": ".", "File": "Dockerfile"}

TAG_RE = re.compile(r"^\w[\w.-]{0,127}$", re.ASCII)
COMMIT_RE = re.compile(r"^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")
FETCH_RE = re.compile(r"^refs/(?:heads|tags)/\S+$")
_FIELD_LINE_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*):(.*)$")
_ARCH_FIELD_RE = re.compile(r"^(.+)-(%s)$" % "|".join(ARCH_FIELDS))


class LibraryManifestError(ValueError, BuildfarmError):
    """One problem in a library file; str() names the file, line, field and value."""

    def __init__(self, file: str, line: int, field: str, value: str, message: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.value = value
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = "%s:%d" % (self.file, self.line) if self.line else self.file
        what = "field %s" % self.field if self.field else "line"
        return "%s: %s, value %r: %s" % (where, what, self.value, self.message)

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "value": self.value,
                "message": self.message, "msg": str(self)}


class InvalidLibraryManifest(ValueError, BuildfarmError):
    """Every validation error of one library file."""

    def __init__(self, errors: Sequence[LibraryManifestError]) -> None:
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
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

    def as_dict(self) -> dict[str, str]:
        return {f.name: f.value for f in self.fields}


class Entry(Paragraph):
    """One entry paragraph; `defaults` is the global paragraph its missing fields fall back to."""

    def __init__(self, items=None, line: int = 0, leading=None, defaults: Union[Paragraph, None] = None):
        super().__init__(items if items is not None else [], line, leading)
        self.defaults = defaults if defaults is not None else Paragraph()

    def __repr__(self) -> str:
        return "Entry(line=%d, tags=%r)" % (self.line, self.tags)

    def value(self, name: str) -> str:
        """Effective value of a field: the entry's, else the global paragraph's, else bashbrew's default."""
        v = self.get(name)
        if v is None:
            v = self.defaults.get(name)
        if v is None:
            v = DEFAULTS.get(name, "")
        return v

    def arch_value(self, arch: str, name: str) -> str:
        """Effective `<arch>-<name>` value: the entry's arch override, the entry's field, the global arch
        override, the global field, the default."""
        for source in (self, self.defaults):
            for key in ("%s-%s" % (arch, name), name):
                v = source.get(key)
                if v is not None:
                    return v
        return DEFAULTS.get(name, "")

    @property
    def tags(self) -> list[str]:
        return split_list(self.get("Tags", ""))

    @property
    def shared_tags(self) -> list[str]:
        return split_list(self.get("SharedTags", ""))

    @property
    def all_tags(self) -> list[str]:
        return self.tags + self.shared_tags

    @property
    def architectures(self) -> list[str]:
        return split_list(self.value("Architectures"))

    @property
    def constraints(self) -> list[str]:
        return split_list(self.value("Constraints"))

    @property
    def git_repo(self) -> str:
        return self.value("GitRepo")

    @property
    def git_fetch(self) -> str:
        return self.value("GitFetch")

    @property
    def git_commit(self) -> str:
        return self.value("GitCommit")

    @property
    def directory(self) -> str:
        return self.value("Directory")

    @property
    def file(self) -> str:
        return self.value("File")

    @property
    def builder(self) -> str:
        return self.value("Builder")

    def has_architecture(self, arch: str) -> bool:
        return arch in self.architectures

    def arch_overrides(self) -> dict[str, dict[str, str]]:
        """Effective per-architecture values that differ from the entry's own: {arch: {Field: value}}."""
        out: dict[str, dict[str, str]] = {}
        for arch in self.architectures:
            diff = {
                name: self.arch_value(arch, name)
                for name in ARCH_FIELDS
                if self.arch_value(arch, name) != self.value(name)
            }
            if diff:
                out[arch] = diff
        return out

    def to_dict(self) -> dict:
        return {
            "tags": self.tags,
            "shared_tags": self.shared_tags,
            "architectures": self.architectures,
            "git_repo": self.git_repo,
            "git_fetch": self.git_fetch,
            "git_commit": self.git_commit,
            "directory": self.directory,
            "file": self.file,
            "builder": self.builder,
            "constraints": self.constraints,
            "arch_overrides": self.arch_overrides(),
        }

    @classmethod
    def from_dict(cls, data: dict, defaults: Union[Paragraph, None] = None) -> "Entry":
        """An entry from the to_dict() shape; values equal to the global default (or bashbrew's) are left out."""
        entry = cls(defaults=defaults)
        for name in ENTRY_FIELDS:
            text = _value_text(data.get(_snake(name)) or "")
            if text and text != _value_text(entry.defaults.get(name) or DEFAULTS.get(name, "")):
                entry.items.append(Field(name, text))
        for arch, values in (data.get("arch_overrides") or {}).items():
            for name in ARCH_FIELDS:
                text = _value_text(values.get(name) or "")
                if text and text != entry.value(name):
                    entry.items.append(Field("%s-%s" % (arch, name), text))
        return entry


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@dataclass
class SharedTagGroup:
    tags: list[str]
    entries: list[Entry]


@dataclass
class LibraryManifest:
    globals: Paragraph
    entries: list[Entry]
    filename: str = "<string>"
    trailing: list[str] = field(default_factory=lambda: [""])  # lines after the last paragraph ("" = final \n)

    @property
    def global_fields(self) -> dict[str, str]:
        return self.globals.as_dict()

    @property
    def maintainers(self) -> list[str]:
        return split_list(self.globals.get("Maintainers", ""))

    def architectures(self) -> list[str]:
        found = {a for e in self.entries for a in e.architectures}
        return sorted(found)

    def entry_for_tag(self, tag: str) -> Union[Entry, None]:
        for e in self.entries:
            if tag in e.tags:
                return e
        return None

    def add_entry(self, entry: Entry) -> Entry:
        entry.defaults = self.globals
        self.entries.append(entry)
        return entry

    @classmethod
    def build(
        cls,
        header_comments: Sequence[str] = (),
        global_fields: Sequence[tuple] = (),
        entries: Sequence[Sequence[tuple]] = (),
        filename: str = "<built>",
    ) -> "LibraryManifest":
        """A manifest from data: header comment lines (with or without the leading '# '), the global fields and
        each entry's fields, as (name, value) pairs in the order to write them."""
        comments = [c if c.startswith("#") else "# " + c for c in header_comments]
        globals_ = Paragraph(leading=comments + [""] if comments else [])
        for name, value in global_fields:
            globals_.set(name, value)
        m = cls(globals_, [], filename)
        for pairs in entries:
            entry = Entry()
            for name, value in pairs:
                entry.set(name, value)
            m.add_entry(entry)
        return m

    def errors(self) -> list[LibraryManifestError]:
        return _Validator(self).run()

    def validate(self) -> "LibraryManifest":
        errs = self.errors()
        if errs:
            raise InvalidLibraryManifest(errs)
        return self


def _lines_of(p: Paragraph) -> list[str]:
    return [i.text if isinstance(i, Comment) else i.text() for i in p.items]


def dumps(manifest: LibraryManifest) -> str:
    out: list[str] = []
    for n, p in enumerate([manifest.globals] + list(manifest.entries)):
        if n == 0 and not p.fields and not p.items:
            continue  # an empty global paragraph writes nothing
        leading = p.leading if p.leading is not None else ([] if not out else [""])
        out.extend(leading)
        out.extend(_lines_of(p))
    out.extend(manifest.trailing)
    return "\n".join(out)


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
    globals_, rest = paragraphs[0], paragraphs[1:]
    entries = [Entry(p.items, p.line, p.leading, globals_) for p in rest]
    return LibraryManifest(globals_, entries, filename, trailing=pending)


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


def group_shared_tags(entries: Sequence[Any]) -> list[tuple[list[str], list[int]]]:
    """The one shared-tag grouping (READMEs, validation, manifest lists): shared tags whose entry sets are identical
    form one group, groups and tags in order of first appearance. `entries`: anything with `shared_tags` (library
    entries, planned entries); a group is (its tags, the indexes of its entries)."""
    tag_entries: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        for t in e.shared_tags:
            lst = tag_entries.setdefault(t, [])
            if i not in lst:
                lst.append(i)
    groups: dict[tuple[int, ...], list[str]] = {}
    for t, idx in tag_entries.items():
        groups.setdefault(tuple(idx), []).append(t)
    return [(tags, list(idx)) for idx, tags in groups.items()]


def shared_tag_groups(manifest: LibraryManifest) -> list[SharedTagGroup]:
    """A library file's shared-tag groups (group_shared_tags) with their entries."""
    return [SharedTagGroup(tags, [manifest.entries[i] for i in idx])
            for tags, idx in group_shared_tags(manifest.entries)]


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
        for e in self.m.entries:
            self._fields(e, ENTRY_FIELDS + ("Maintainers",))
            self._tags(e, tag_seen)
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

    def _tags(self, e: Entry, seen: dict[str, tuple[int, str]]) -> None:
        if not e.tags:
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
        for group in shared_tag_groups(self.m):
            owner: dict[tuple, Entry] = {}
            for e in group.entries:
                for a in e.architectures:
                    key = (a, tuple(sorted(e.constraints)))
                    if key in owner:
                        f = e.field("SharedTags")
                        self.err(f.line if f else e.line, "SharedTags", ", ".join(group.tags),
                                 "entries at lines %d and %d share architecture %s under one shared tag;"
                                 " one manifest list cannot hold both" % (owner[key].line, e.line, a))
                        break
                    owner[key] = e
