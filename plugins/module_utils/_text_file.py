# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whole-file writes for the documents the farm publishes (library files, READMEs, reports): written to a
temporary file beside the target and renamed over it, so a reader never sees half a file."""
from __future__ import annotations

import os
import tempfile


def write_text(path: str, text: str, mode: int = 0o644) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_atomic(path: str, text: str, mode: int = 0o644) -> bool:
    """Write ``text`` to ``path`` unless it is already there; True when the file was written."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return False
    write_text(path, text, mode)
    return True
