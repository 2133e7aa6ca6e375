"""Fixtures of the unit tests of the family code (family, render, plan) and its modules."""
from __future__ import annotations

import pathlib
import shutil

import pytest

FAMILIES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "families"


@pytest.fixture
def tiny(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of the tiny fixture family in the test's folder, free to edit."""
    dest = tmp_path / "tiny"
    shutil.copytree(FAMILIES / "tiny", dest)
    return dest
