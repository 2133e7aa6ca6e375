# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whole-file writes of the text files the farm generates (library files, READMEs, release reports).

The text goes to a temporary file beside the target, is flushed to disk and renamed over the target, so a reader
never sees half a file and a crash leaves the old one. A file that already holds the text is not touched.

A new file gets 0644 narrowed by the umask unless a mode is given; a mode is plain permissions (at most 0777):
a generated text file has no use for setuid, setgid or the sticky bit, so they are refused, not written. A target
that cannot be a file (a folder, or a path below a regular file) is a TextFileError naming it, before anything
is written.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

NEW_FILE_MODE = 0o644
MAX_MODE = 0o777


class TextFileError(ValueError, BuildfarmError):
    """A file that cannot be written as asked. `file`, `field` (the option: dest, mode ...) and `value` say what."""

    def __init__(self, file: str, field: str, value: Any, problem: str) -> None:
        # BuildfarmError's own init (ValueError's would run first in this MRO): the runner reads details and value
        BuildfarmError.__init__(self, problem, file, field, value)


def parse_mode(value: Any, file: str = "", field: str = "mode") -> int | None:
    """A file mode option as an int: None stays None, an int is taken as is (YAML reads an unquoted 0644 as 420),
    a string is octal ("0644", "644"); anything else, or bits beyond 0777, is a TextFileError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TextFileError(file, field, value, "not a file mode (an octal string such as \"0644\")")
    if isinstance(value, str):
        try:
            mode = int(value.strip(), 8)
        except ValueError:
            raise TextFileError(file, field, value, "not an octal file mode such as \"0644\"") from None
    else:
        mode = value
    try:
        check_mode_bits(mode, file, field, value)
    except TextFileError as exc:
        if isinstance(value, str) or not 0 <= value <= 0o7777:
            raise
        # YAML's unquoted 04644 arrives as 2468, a number the user never wrote: say it in octal too
        raise TextFileError(file, field, value, "%s; %d is %04o in octal" % (exc.problem, value, value)) from None
    return mode


def check_mode_bits(mode: int, file: str = "", field: str = "mode", shown: Any = None) -> None:
    if mode < 0 or mode > 0o7777:
        raise TextFileError(file, field, shown if shown is not None else oct(mode), "not a file mode")
    if mode & ~MAX_MODE:
        raise TextFileError(file, field, shown if shown is not None else "%04o" % mode,
                            "setuid, setgid and sticky bits are refused for a generated text file (at most 0777)")


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (os.umask can only set it, and setting it
    even briefly would race with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def default_mode() -> int:
    """The mode of a new file written without one: 0644, narrowed by the umask (a umask of 077 gives 0600)."""
    return NEW_FILE_MODE & ~current_umask()


def check_target(path: str, field: str = "dest") -> None:
    """A TextFileError when `path` cannot become a file: it is a folder, or a path component above it is a
    regular file (makedirs would fail with a bare NotADirectoryError/FileExistsError)."""
    if os.path.isdir(path):
        raise TextFileError(path, field, path, "is a folder, not a file")
    blocker = file_above(path)
    if blocker:
        raise TextFileError(path, field, path, "cannot be written: %s is a file, not a folder" % blocker)


def file_above(path: str) -> str:
    """The nearest existing ancestor of `path` when it is not a folder (so nothing can be created below it),
    else ''."""
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(parent):
        up = os.path.dirname(parent)
        if up == parent:
            return ""
        parent = up
    return "" if os.path.isdir(parent) else parent


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
        """Ansible's diff of the file; {} when the content is the same (a mode-only change has nothing to show)."""
        return file_diff(self.path, self.before, self.after) if self.content_changed else {}


def read_text(path: str) -> str | None:
    """The file's content, or None when there is no such file (bytes that are not UTF-8 read as U+FFFD: the
    content is only compared and shown, and such a file is replaced, not a reason to fail)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_text(path: str, text: str, mode: int | None = None, check_mode: bool = False,
               field: str = "dest") -> TextWrite:
    """Give ``path`` the content ``text`` and the permissions ``mode`` (None: an existing file keeps its mode, less
    any setuid/setgid/sticky bit, and owner; a new one gets 0644 narrowed by the umask), writing only what
    differs; in check mode nothing is written. ``field`` is the option that named ``path``, for errors."""
    if mode is not None:
        check_mode_bits(mode, path)
    check_target(path, field)
    before = read_text(path)
    old = os.stat(path) if before is not None else None
    old_mode = old.st_mode & 0o7777 if old else None
    if mode is None:
        mode = default_mode() if old_mode is None else old_mode & MAX_MODE
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
