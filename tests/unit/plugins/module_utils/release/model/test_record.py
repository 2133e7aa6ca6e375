"""The schema's base: generic to_dict, the validating Fields reader, str-valued status Enums."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    ModelError,
    Record,
    Status,
)
# the schema's private base (Fields, OMIT_EMPTY) is tested where it is defined; users import the records above
from ansible_collections.buildfarm.images.plugins.module_utils.release.model._record import OMIT_EMPTY, Fields


class Colour(Status):
    RED = "red"
    WOULD_PAINT = "would-paint"


@dataclass
class Leaf(Record):
    name: str

    @classmethod
    def from_dict(cls, data, where):
        return cls(name=Fields(data, where).str("name"))


@dataclass
class Tree(Record):
    colour: Colour
    ref: ImageRef
    leaves: list = field(default_factory=list)
    note: str = field(default="", metadata=OMIT_EMPTY)

    @classmethod
    def from_dict(cls, data, where):
        f = Fields(data, where)
        return cls(colour=f.enum(Colour, "colour"), ref=f.ref("ref"), leaves=f.records(Leaf, "leaves"),
                   note=f.str("note", ""))


def test_round_trip_is_json_and_stable():
    data = {"colour": "would-paint", "ref": "registry.example:5000/library/python:3.13",
            "leaves": [{"name": "a"}, {"name": "b"}]}
    tree = Tree.from_dict(data, "build result")
    assert tree.colour is Colour.WOULD_PAINT and tree.colour == "would-paint" and str(tree.colour) == "would-paint"
    assert tree.ref.tag == "3.13"
    assert json.loads(json.dumps(tree.to_dict())) == data  # empty note left out, enum and ref as strings
    assert Tree.from_dict(tree.to_dict(), "again") == tree


@pytest.mark.parametrize("data, message", [
    ({"ref": "a:b", "leaves": []}, "build result: field colour: missing"),
    ({"colour": "blue", "ref": "a:b"}, "build result: field colour: must be one of red, would-paint (value: 'blue')"),
    ({"colour": "red", "ref": "a:b", "leaves": [{"name": 3}]},
     "build result.leaves[0]: field name: must be a string (value: 3)"),
    ({"colour": "red", "ref": "Not A Ref!"}, "build result: field ref: "),
    ([1, 2], "build result: not a mapping (value: 'list')"),
])
def test_malformed_input_names_record_field_and_value(data, message):
    # a bad reference fails with the reference type's own error, which is a BuildfarmError like ModelError
    with pytest.raises(BuildfarmError) as exc:
        Tree.from_dict(data, "build result")
    assert str(exc.value).startswith(message)


def test_fields_types():
    f = Fields({"n": 1, "b": True, "x": 1.5, "l": ["a"], "m": {"k": "v"}}, "r")
    assert (f.int("n"), f.bool("b"), f.float("x"), f.strs("l"), f.str_map("m")) == (1, True, 1.5, ["a"], {"k": "v"})
    assert f.strs("absent") == [] and f.str("absent", "d") == "d"
    with pytest.raises(ModelError, match="field b: must be an integer"):
        f.int("b")  # a bool is not an integer here, though Python says it is


def test_familiar_ref_fields_serialize_as_the_engine_names_them():
    from ansible_collections.buildfarm.images.plugins.module_utils.release.model._record import FAMILIAR_REF

    @dataclass
    class Pushed(Record):
        tags: list = field(default_factory=list, metadata=FAMILIAR_REF)
        ref: ImageRef = field(default=None, metadata=FAMILIAR_REF)
        full: ImageRef = field(default=None)

    hub = ImageRef.parse("amd64/busybox:1")
    assert Pushed([hub], hub, hub).to_dict() == {"tags": ["amd64/busybox:1"], "ref": "amd64/busybox:1",
                                                 "full": "docker.io/amd64/busybox:1"}
