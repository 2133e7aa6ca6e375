# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every record of the release schema shares: one `to_dict`, one validating `from_dict`, status Enums.

Records are dataclasses. `to_dict` is generic (Enums become their value, ImageRefs their string, records and lists
of them recurse; fields whose metadata says `omit_empty` are left out when empty, `ref: familiar` fields give
references as the engine names them). `from_dict` is written per
record with a `Fields` reader, which names the record, the field and the value of anything malformed: a stage
that reads another stage's output gets a `ModelError`, never a KeyError.

No type evaluation at run time: modules run on builder hosts with Python 3.9, whose typing cannot read `str | None`.
"""
from __future__ import annotations

import builtins
import dataclasses
from enum import Enum
from typing import Any, Mapping, TypeVar

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef

E = TypeVar("E", bound=Enum)
R = TypeVar("R", bound="Record")
_MISSING: Any = object()
OMIT_EMPTY = {"omit_empty": True}
# a field of image references serialized as the engine names them (`amd64/busybox:1`), not fully qualified
FAMILIAR_REF = {"ref": "familiar"}


class ModelError(BuildfarmError, ValueError):
    """A record that does not have the shape of the schema (the record, field and value are named)."""


class Status(str, Enum):
    """Base of the stages' status Enums: members compare equal to their value (`Status.X == "x"`), and print and
    serialize as it, so results, reports and golden files read as before."""

    def __str__(self) -> str:
        return str(self.value)


def plain(value: Any, familiar: bool = False) -> Any:
    """`value` as JSON-able data (the one serialization of the schema). `familiar`: image references as the
    engine names them (`ImageRef.familiar()`) instead of fully qualified."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, ImageRef):
        return value.familiar() if familiar else str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v, familiar) for v in value]
    if isinstance(value, dict):
        return {k: plain(v, familiar) for k, v in value.items()}
    return value


class Record:
    """Mixin of the schema's dataclasses: `to_dict` here, `from_dict` per class (see `Fields`)."""

    @classmethod
    def from_dict(cls: type[R], data: Any, where: str) -> R:
        raise NotImplementedError("%s reads its own fields" % cls.__name__)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name.startswith("_") or f.metadata.get("skip"):
                continue
            value = getattr(self, f.name)
            if f.metadata.get("omit_empty") and value in (None, "", [], {}, ()):
                continue
            out[f.metadata.get("key", f.name)] = plain(value, f.metadata.get("ref") == "familiar")
        return out


class Fields:
    """A validating reader of one mapping: `where` names the record (and its place) in every error."""

    def __init__(self, data: Any, where: builtins.str) -> None:
        if not isinstance(data, Mapping):
            raise ModelError("not a mapping", where, None, type(data).__name__)
        self.data = data
        self.where = where

    def _get(self, key: builtins.str, default: Any) -> Any:
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is _MISSING:
            raise ModelError("missing", self.where, key)
        return default

    def _bad(self, key: builtins.str, what: builtins.str, value: Any) -> ModelError:
        return ModelError("must be %s" % what, self.where, key, value)

    def str(self, key: builtins.str, default: Any = _MISSING) -> builtins.str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise self._bad(key, "a string", value)
        return value

    def int(self, key: builtins.str, default: Any = _MISSING) -> builtins.int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an integer", value)
        return value

    def float(self, key: builtins.str, default: Any = _MISSING) -> builtins.float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(key, "a number", value)
        return float(value)

    def bool(self, key: builtins.str, default: Any = _MISSING) -> builtins.bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false", value)
        return value

    def strs(self, key: builtins.str, default: Any = _MISSING) -> list[builtins.str]:
        value = self._get(key, [] if default is _MISSING else default)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings", value)
        return list(value)

    def str_map(self, key: builtins.str, default: Any = _MISSING) -> dict[builtins.str, builtins.str]:
        value = self._get(key, {} if default is _MISSING else default)
        if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in value.items()):
            raise self._bad(key, "a mapping of strings to strings", value)
        return dict(value)

    def mapping(self, key: builtins.str, default: Any = _MISSING) -> dict[builtins.str, Any]:
        value = self._get(key, {} if default is _MISSING else default)
        if not isinstance(value, Mapping):
            raise self._bad(key, "a mapping", value)
        return dict(value)

    def enum(self, enum: type[E], key: builtins.str, default: Any = _MISSING) -> E:
        value = self._get(key, default)
        if isinstance(value, enum):
            return value
        try:
            return enum(value)
        except ValueError:
            raise self._bad(key, "one of %s" % ", ".join(str(m.value) for m in enum), value) from None

    def ref(self, key: builtins.str, default: Any = _MISSING) -> ImageRef:
        """An image reference (parsed by the one reference type; its error names this record and field)."""
        value = self._get(key, default)
        if isinstance(value, ImageRef):
            return value
        if not isinstance(value, str):
            raise self._bad(key, "an image reference", value)
        return ImageRef.parse(value, where=self.where, field=key)

    def record(self, cls: type[R], key: builtins.str, default: Any = _MISSING) -> R:
        """A nested record, read by its own from_dict (its errors name `where.key`)."""
        value = self._get(key, default)
        if isinstance(value, cls):
            return value
        return cls.from_dict(value, "%s.%s" % (self.where, key))

    def records(self, cls: type[R], key: builtins.str, default: Any = _MISSING) -> list[R]:
        """A list of nested records (errors name `where.key[i]`)."""
        value = self._get(key, [] if default is _MISSING else default)
        if not isinstance(value, (list, tuple)):
            raise self._bad(key, "a list", value)
        return [v if isinstance(v, cls) else cls.from_dict(v, "%s.%s[%d]" % (self.where, key, i))
                for i, v in enumerate(value)]
