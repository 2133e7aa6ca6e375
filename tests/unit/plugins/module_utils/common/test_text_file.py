"""Whole-file writes: written only when the content or mode differs, never half-written, check mode writes nothing."""
from __future__ import annotations

import os

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common._text_file import (
    TextFileError, file_diff, parse_mode, read_text, write_text,
)


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


@pytest.mark.parametrize("mode", [0o6777, 0o4755, 0o2644, 0o1777, 0o17777, -1])
def test_special_bits_are_refused_and_nothing_is_written(tmp_path, mode):
    path = tmp_path / "README.md"
    with pytest.raises(TextFileError) as e:
        write_text(str(path), "text\n", mode)
    assert e.value.file == str(path) and e.value.field == "mode"
    assert not path.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("value,expected", [(None, None), ("0644", 0o644), ("600", 0o600), (420, 0o644),
                                            ("0o640", 0o640), ("6777", None), ("rw-r--r--", None), (True, None),
                                            (4095, None), ([644], None)])
def test_parse_mode(value, expected):
    if expected is None and value is not None:
        with pytest.raises(TextFileError) as e:
            parse_mode(value, "out/README.md")
        assert e.value.field == "mode" and e.value.value == value and "out/README.md" in str(e.value)
    else:
        assert parse_mode(value) == expected


def test_new_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_text(str(tmp_path / "private"), "x\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "private") == 0o600


def test_existing_special_bits_are_dropped_when_no_mode_is_given(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("same\n")
    path.chmod(0o6755)
    result = write_text(str(path), "same\n")
    assert result.changed and _mode(path) == 0o755


def test_dest_below_a_regular_file_is_named(tmp_path):
    (tmp_path / "blocker").write_text("a file\n")
    path = tmp_path / "blocker" / "sub" / "README.md"
    with pytest.raises(TextFileError) as e:
        write_text(str(path), "x\n", check_mode=True)  # check mode sees it too
    assert e.value.field == "dest" and e.value.value == str(path)
    assert "%s is a file, not a folder" % (tmp_path / "blocker") in str(e.value)
    assert (tmp_path / "blocker").read_text() == "a file\n"


def test_dest_that_is_a_folder_is_named(tmp_path):
    with pytest.raises(TextFileError, match="is a folder, not a file") as e:
        write_text(str(tmp_path), "x\n", field="dest_dir")
    assert e.value.field == "dest_dir"


def test_a_non_utf8_file_is_replaced_not_a_crash(tmp_path):
    path = tmp_path / "README.md"
    path.write_bytes(b"\xff\xfe binary\n")
    result = write_text(str(path), "text\n")
    assert result.changed and path.read_text() == "text\n"
