"""Whole-file writes: written only when the content or mode differs, never half-written, check mode writes nothing."""
from __future__ import annotations

import os

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import file_diff, read_text, write_text


def _mode(path) -> int:
    return os.stat(path).st_mode & 0o7777


def test_new_file_in_a_new_folder_then_unchanged(tmp_path):
    path = tmp_path / "out" / "library" / "tiny"
    first = write_text(str(path), "Tags: a\n")
    assert first.changed and first.before is None and path.read_text() == "Tags: a\n"
    assert _mode(path) == 0o644
    assert first.diff() == {"before_header": "/dev/null", "after_header": str(path), "before": "", "after": "Tags: a\n"}
    mtime = path.stat().st_mtime_ns
    again = write_text(str(path), "Tags: a\n")
    assert not again.changed and not again.content_changed and path.stat().st_mtime_ns == mtime
    assert os.listdir(path.parent) == ["tiny"]  # no temporary file left


def test_without_a_mode_an_existing_file_keeps_its_own(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("old\n")
    path.chmod(0o640)
    assert not write_text(str(path), "old\n").changed
    written = write_text(str(path), "new\n")
    assert written.changed and written.before == "old\n" and path.read_text() == "new\n"
    assert _mode(path) == 0o640


def test_a_mode_difference_alone_is_a_change(tmp_path):
    path = tmp_path / "README.md"
    write_text(str(path), "same\n", 0o600)
    assert _mode(path) == 0o600
    inode = path.stat().st_ino
    result = write_text(str(path), "same\n", 0o644)
    assert result.changed and not result.content_changed
    assert _mode(path) == 0o644 and path.stat().st_ino == inode  # permissions fixed in place, not rewritten


def test_check_mode_reports_and_writes_nothing(tmp_path):
    path = tmp_path / "sub" / "README.md"
    result = write_text(str(path), "text\n", check_mode=True)
    assert result.changed and result.diff()["after"] == "text\n"
    assert not (tmp_path / "sub").exists()
    path.parent.mkdir()
    path.write_text("before\n")
    path.chmod(0o600)
    assert write_text(str(path), "text\n", 0o644, check_mode=True).changed
    assert path.read_text() == "before\n" and _mode(path) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "release-report.md"
    path.write_text("published\n")
    with pytest.raises(UnicodeEncodeError):
        write_text(str(path), "half \udc80 written\n")  # a lone surrogate cannot be encoded: the write fails midway
    assert path.read_text() == "published\n"
    assert os.listdir(tmp_path) == ["release-report.md"]


def test_read_text_and_file_diff(tmp_path):
    assert read_text(str(tmp_path / "absent")) is None
    (tmp_path / "empty").write_text("")
    assert read_text(str(tmp_path / "empty")) == ""
    assert file_diff("gone", "x\n", None) == {"before_header": "gone", "after_header": "/dev/null",
                                              "before": "x\n", "after": ""}
