"""The one FROM parser (common/dockerfile.py): which images a Dockerfile is built FROM, and pinning them."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common.dockerfile import FromLine, from_lines, pin_from

DOCKERFILE = "FROM python:3.14-trixie AS build\nRUN true\nFROM build\nFROM scratch\nCOPY --from=build / /\n"


def test_from_lines_marks_stages_and_scratch():
    lines = from_lines(DOCKERFILE)
    assert [(f.ref, f.stage_parent) for f in lines] == [
        ("python:3.14-trixie", False), ("build", True), ("scratch", True)]
    assert [f.line_no for f in lines] == [0, 2, 3]


@pytest.mark.parametrize("text, expected", [
    ("from debian:trixie\n", [FromLine(0, "debian:trixie", False)]),  # keywords are case-insensitive
    ("FROM --platform=$BUILDPLATFORM golang:1.24 AS Go\nFROM go\n",
     [FromLine(0, "golang:1.24", False), FromLine(1, "go", True)]),  # stage names too; --platform skipped
    ("ARG BASE=debian\nFROM $BASE\n", [FromLine(1, "$BASE", True)]),  # an unexpanded argument is no image
    ("  FROM alpine:3.22\r\nRUN true\r\n", [FromLine(0, "alpine:3.22", False)]),
    ("RUN echo FROM x\n# FROM y\n", []),
])
def test_from_lines_cases(text, expected):
    assert from_lines(text) == expected


def test_pin_from_replaces_only_pinned_refs_and_keeps_stage_names():
    out = pin_from(DOCKERFILE, {"python:3.14-trixie": "sha256:abc"})
    assert out.splitlines()[0] == "FROM sha256:abc AS build"
    assert out.splitlines()[2] == "FROM build"


def test_pin_from_keeps_line_endings_and_flags():
    text = "FROM --platform=linux/amd64 debian:trixie AS base\r\nRUN true\r\n"
    assert pin_from(text, {"debian:trixie": "sha256:1"}) == \
        "FROM --platform=linux/amd64 sha256:1 AS base\r\nRUN true\r\n"
    assert pin_from(text, {}) == text
