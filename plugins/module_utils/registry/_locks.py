# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One publisher per repository at a time, on one controller.

The registry API has no compare-and-swap, so two publishers of one repository could each PUT a list computed
from what the other is overwriting: the lock is the controller's (an flock, released by the kernel if the holder
dies).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import time
from typing import Callable, Iterator

from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_plan import PublishError


def default_lock_dir() -> str:
    """Per user, so that another user's folder never decides whether this one's publish may run."""
    return os.path.join(tempfile.gettempdir(), "buildfarm-publish-locks-%d" % os.getuid())


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False


@contextlib.contextmanager
def repository_lock(registry: str, target: str, timeout: float, lock_dir: str = "",
                    sleep: Callable[[float], None] = time.sleep) -> Iterator[str]:
    """Hold the controller's lock of `<registry>/<target>` while publishing: a second publisher of the same
    repository waits up to `timeout` seconds, then stops with a message naming the holder."""
    folder = lock_dir or default_lock_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    name = "%s/%s" % (registry, target)
    path = os.path.join(folder, hashlib.sha256(name.encode("utf-8")).hexdigest()[:32] + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        waited = 0.0
        while not _try_lock(fd):
            if waited >= timeout:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
                raise PublishError("another publish of %s is running (%s; lock %s): waited %g s (lock_timeout); "
                                   "nothing was published, run again when it has finished" % (
                                       name, holder, path, waited))
            step = min(0.5, timeout - waited)
            sleep(step)
            waited += step
        os.ftruncate(fd, 0)
        os.pwrite(fd, ("pid %d since %s" % (os.getpid(), time.strftime("%Y-%m-%dT%H:%M:%S%z"))).encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing releases the flock
