# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whole-file writes of the text files the farm generates (library files, READMEs, release reports).

The text goes to a temporary file beside the target, is flushed to disk and renamed over the target, so a reader
never sees half a file and a crash leaves the old one. A file that already holds the text is not touched.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

NEW_FILE_MODE = 0o644


def file_diff(path: str, before: str | None, after: str | None) -> dict:
    """Ansible's diff of one file; None for the side where the file does not exist."""
    return {"before_header": path if before is not None else "/dev/null",
            "after_header": path if after is not None else "/dev/null",
            "before": before or "", "after": after or ""}


@dataclass
class TextWrite:
    """What writing ``after`` to ``path`` did (or, in check mode, would do)."""

    path: str
    before: str | None  # the previous content; None when the file did not exist
    after: str
    changed: bool  # the content or the mode differed

    @property
    def content_changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> dict:
        return file_diff(self.path, self.before, self.after)


def read_text(path: str) -> str | None:
    """The file's content, or None when there is no such file."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_text(path: str, text: str, mode: int | None = None, check_mode: bool = False) -> TextWrite:
    """Give ``path`` the content ``text`` and the permissions ``mode`` (None: an existing file keeps its mode and
    owner, a new one gets 0644), writing only what differs; in check mode nothing is written."""
    before = read_text(path)
    old = os.stat(path) if before is not None else None
    old_mode = old.st_mode & 0o7777 if old else None
    if mode is None:
        mode = NEW_FILE_MODE if old_mode is None else old_mode
    result = TextWrite(path, before, text, changed=before != text or old_mode != mode)
    if not result.changed or check_mode:
        return result
    if before == text:
        os.chmod(path, mode)  # only the mode differs
        return result
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if old is not None and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
            try:
                os.chown(tmp, old.st_uid, old.st_gid)
            except PermissionError:  # only root may give a file away; the content matters more than its owner
                pass
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return result
