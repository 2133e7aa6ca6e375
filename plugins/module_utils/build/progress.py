# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status of a long builder job (build, test or push), written by its module while it works, for the play to show.

A CPython build takes many minutes and a root filesystem under qemu as many, and so do smoke tests under qemu and
pushes of big images: image_build, image_test and image_push run in the background (async) and rewrite a small JSON
file at least every ``interval`` seconds - the job, the stage, each entry's state (waiting, then the job's
``action`` - building, testing or pushing - then its result: built, passed, pushed, failed, ...) with its start and
duration, and a one-line ``summary`` - which the build role prints while it polls. Writes are atomic (temporary
file, rename), so a reader never sees half a file. Plain typed Python.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError


def duration(seconds: float) -> str:
    """90 -> 1m30s, 3725 -> 1h02m05s."""
    s = int(seconds)
    if s < 60:
        return "%ds" % s
    if s < 3600:
        return "%dm%02ds" % (s // 60, s % 60)
    return "%dh%02dm%02ds" % (s // 3600, s % 3600 // 60, s % 60)


# job -> what an entry of it is doing while it is the job's turn (its state until its result)
ACTIONS = {"build": "building", "test": "testing", "push": "pushing"}


class Progress:
    """Thread-safe status of one image_build, image_test or image_push call (``job``); ``path`` "" keeps it in
    memory only (durations still count). ``arch`` "" when the job has none (a push)."""

    def __init__(self, path: str, host: str, arch: str, interval: float = 10.0, clock=time.time,
                 job: str = "build"):
        if job not in ACTIONS:
            raise ValueError("job %r: not one of %s" % (job, ", ".join(ACTIONS)))
        self.path = path
        self.host = host
        self.arch = arch
        self.job = job
        self.action = ACTIONS[job]
        self.clock = clock
        self.started = clock()
        self.stage = "starting"
        self.stage_started = self.started
        self.entries: dict[str, dict[str, Any]] = {}
        self.finished = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.interval = interval

    # -- events ---------------------------------------------------------------------------------------
    def set_stage(self, stage: str) -> None:
        with self._lock:
            self.stage, self.stage_started = stage, self.clock()
        self.write()

    def waiting(self, keys: Sequence[str]) -> None:
        with self._lock:
            for k in keys:
                self.entries.setdefault(k, {"state": "waiting", "started": 0.0, "seconds": 0.0})
        self.write()

    def start(self, key: str) -> None:
        with self._lock:
            self.entries[key] = {"state": self.action, "started": self.clock(), "seconds": 0.0}
        self.write()

    def finish(self, key: str, state: str) -> float:
        """Mark ``key`` done with its result status; returns how long it took."""
        with self._lock:
            e = self.entries.setdefault(key, {"started": self.clock()})
            e["seconds"] = round(self.clock() - e["started"], 1) if e.get("started") else 0.0
            e["state"] = state
            took = e["seconds"]
        self.write()
        return took

    def done(self) -> None:
        self._stop.set()
        with self._lock:
            self.finished = True
            self.stage = "finished"
        self.write()

    # -- output ---------------------------------------------------------------------------------------
    def summary(self) -> str:
        now = self.clock()
        with self._lock:
            active = ["%s (%s)" % (k, duration(now - e["started"])) for k, e in self.entries.items()
                      if e["state"] == self.action]
            done = ["%s %s in %s" % (k, e["state"], duration(e["seconds"])) for k, e in self.entries.items()
                    if e["state"] not in (self.action, "waiting")]
            waiting = [k for k, e in self.entries.items() if e["state"] == "waiting"]
            who = "%s (%s)" % (self.host, self.arch) if self.arch else self.host
            parts = ["%s, %s" % (who, duration(now - self.started))]
            if self.finished:  # the last line the play shows of this job: which one it was
                parts.append("%s finished" % self.job)
            elif not active:
                parts.append("%s for %s" % (self.stage, duration(now - self.stage_started)))
            if active:
                parts.append(self.action + " " + ", ".join(active))
            if waiting:
                parts.append("waiting: " + ", ".join(waiting))
            if done:
                parts.append("done: " + ", ".join(done))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        summary = self.summary()
        with self._lock:
            return {"job": self.job, "host": self.host, "arch": self.arch, "started": self.started,
                    "updated": self.clock(),
                    "stage": self.stage, "entries": {k: dict(v) for k, v in self.entries.items()},
                    "finished": self.finished, "summary": summary}

    def write(self) -> None:
        if not self.path:
            return
        data = json.dumps(self.to_dict(), indent=1, sort_keys=True)
        tmp = "%s.%d.tmp" % (self.path, threading.get_ident())
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(data)
            os.replace(tmp, self.path)
        except OSError:
            pass  # progress is informative only: a full disk must not fail the build here

    def tick(self) -> None:
        """Rewrite the file every ``interval`` seconds (the durations in ``summary`` move) until done()."""
        def run() -> None:
            while not self._stop.wait(self.interval):
                self.write()

        self.write()
        self._ticker = threading.Thread(target=run, name="progress", daemon=True)
        self._ticker.start()


# -- the reading side: the play following a background job ----------------------------------------------------------
class JobNotFound(BuildfarmError):
    """The async job a play follows has no results file."""


def job_finished(job_file: str) -> bool:
    """Whether the Ansible async job whose results file is ``job_file`` has ended. async_wrapper writes
    ``{"started": ..., "finished": false}`` when it starts the module and replaces it (atomically) with the module's
    result, which has no ``started``, when the module ends, however it ends; a missing file is a job that does not
    exist (JobNotFound)."""
    try:
        with open(job_file, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise JobNotFound("no such async job (it never started, or its results file was cleaned up)",
                          file=job_file) from None
    except (OSError, ValueError):
        return False  # not written yet: the job has just started
    return "started" not in data or bool(data.get("finished"))


def read_status(path: str) -> dict[str, Any]:
    """The status file a module writes (Progress.write), {} while there is none or it cannot be read."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def wait_for_job(job_file: str, status_file: str, timeout: float, clock=time.monotonic, sleep=time.sleep,
                 poll: float = 1.0) -> tuple[bool, dict[str, Any]]:
    """Wait up to ``timeout`` seconds for the async job to end (its results file, the truth: a module killed before
    writing its status still ends its job), checking every ``poll`` seconds; returns whether it ended and its
    status file. One module run per round of the play instead of a wait, an async_status and a read: the round's
    cost on the builder's CPU - which a compile is using - is what the play adds to a build."""
    deadline = clock() + max(0.0, timeout)
    finished = job_finished(job_file)
    while not finished and clock() < deadline:
        sleep(min(poll, max(0.0, deadline - clock())))
        finished = job_finished(job_file)
    return finished, read_status(status_file)


def job_status(async_dir: str, jid: str, status_file: str, timeout: int) -> dict[str, Any]:
    """job_status's result: the job's summary line and whether it ended, waiting up to ``timeout`` seconds."""
    if timeout < 0:
        raise BuildfarmError("timeout: must be 0 or more seconds (value: %d)" % timeout)
    try:
        finished, status = wait_for_job(os.path.join(async_dir, jid), status_file, timeout)
    except JobNotFound as exc:
        exc.details.update(ansible_job_id=jid, finished=True)
        raise
    summary = status.get("summary") or "job %s %s" % (jid, "ended" if finished else "running")
    # only what the play shows every round: the summary, and whether the job ended
    out: dict[str, Any] = dict(changed=False, msg=str(summary), finished=finished)
    if finished:
        out["ansible_facts"] = {"buildfarm_job_status_finished": jid}
    return out
