"""Shared pytest set-up: the checkout is importable as ansible_collections.buildfarm.images, and the
read-only upstream data in ../shared is offered to tests that skip cleanly without it."""
from __future__ import annotations

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".collections"
SHARED = pathlib.Path(os.environ.get("BUILDFARM_SHARED", REPO.parent / "shared"))


def _ensure_collection_path() -> None:
    # scripts/bootstrap-python.sh makes the link; tests also work from a bare checkout without it.
    link = COLLECTIONS / "ansible_collections" / "buildfarm" / "images"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))


_ensure_collection_path()


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> pathlib.Path:
    if not (SHARED / "golden").is_dir():
        pytest.skip("../shared is not present; golden-data tests skipped")
    return SHARED


@pytest.fixture(scope="session")
def golden(shared_dir: pathlib.Path) -> pathlib.Path:
    return shared_dir / "golden"
