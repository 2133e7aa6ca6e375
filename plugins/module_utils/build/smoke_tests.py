# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A family's smoke tests (``families/<name>/tests.yml``) and running them in built images.

Format (the whole contract)::

    linux:                       # tests for Linux images; `windows:` for Windows images (PowerShell)
      - name: version            # unique within its list
        command: ["busybox"]     # exec form, or a string run by `sh -c` (Linux) / `powershell -Command` (Windows);
                                 # omitted: the image's own CMD runs
        stdout: 'BusyBox v${version}\b'   # optional regex searched in stdout+stderr
        exit_code: 0             # optional, default 0
        timeout: 120             # optional seconds, default 300 (emulated builders are slow)

``${version}`` (the image's org.opencontainers.image.version label), ``${arch}`` (bashbrew name) and
``${uname_m}`` (a regex matching what `uname -m` prints for the architecture) are substituted in
``command`` and ``stdout``. Plain typed Python; the Docker client is passed in.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import string
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures

_KEYS = {"name", "command", "stdout", "exit_code", "timeout"}
_OS_KEYS = ("linux", "windows")


class SmokeTestError(BuildfarmError, ValueError):
    pass


@dataclass(frozen=True)
class SmokeTest:
    name: str
    command: tuple[str, ...] | str | None
    stdout: str = ""
    exit_code: int = 0
    timeout: int = 300


@dataclass
class SmokeSuite:
    path: str
    sha256: str
    tests: dict[str, list[SmokeTest]]  # os -> tests

    def for_os(self, os_name: str) -> list[SmokeTest]:
        return self.tests.get(os_name, [])


def load(path: str) -> SmokeSuite:
    """A test file from disk (needs PyYAML; builders given the tests as data do not)."""
    import yaml

    try:
        with open(path, "rb") as fh:
            raw_bytes = fh.read()
    except OSError as exc:
        raise SmokeTestError("%s: cannot read: %s" % (path, exc.strerror)) from None
    try:
        raw = yaml.safe_load(raw_bytes)
    except yaml.YAMLError as exc:
        raise SmokeTestError("%s: not valid YAML: %s" % (path, exc)) from None
    return parse(raw, path)


def parse(raw: Any, path: str) -> SmokeSuite:
    """Validate test data (the parsed YAML); ``path`` names it in errors."""
    if not isinstance(raw, dict) or not raw:
        raise SmokeTestError("%s: must be a mapping with `linux` and/or `windows` lists" % path)
    tests: dict[str, list[SmokeTest]] = {}
    for os_name, items in raw.items():
        if os_name not in _OS_KEYS:
            raise SmokeTestError("%s: field %s: unknown key (known: %s)" % (path, os_name, ", ".join(_OS_KEYS)))
        if not isinstance(items, list):
            raise SmokeTestError("%s: field %s: must be a list of tests" % (path, os_name))
        seen: set[str] = set()
        out = []
        for i, item in enumerate(items):
            where = "%s: field %s[%d]" % (path, os_name, i)
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise SmokeTestError("%s: a test is a mapping with a `name`: %r" % (where, item))
            unknown = sorted(set(item) - _KEYS)
            if unknown:
                raise SmokeTestError("%s.%s: unknown key (known: %s)" % (where, unknown[0], ", ".join(sorted(_KEYS))))
            if item["name"] in seen:
                raise SmokeTestError("%s.name: %r is used twice" % (where, item["name"]))
            seen.add(item["name"])
            cmd = item.get("command")
            if cmd is not None and not isinstance(cmd, str) and not (
                    isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd)):
                raise SmokeTestError("%s.command: must be a string or a non-empty list of strings: %r" % (where, cmd))
            pattern = item.get("stdout") or ""
            try:
                re.compile(pattern)
            except re.error as exc:
                raise SmokeTestError("%s.stdout: not a regex (%s): %r" % (where, exc, pattern)) from None
            for k in ("exit_code", "timeout"):
                if k in item and not isinstance(item[k], int):
                    raise SmokeTestError("%s.%s: must be an integer: %r" % (where, k, item[k]))
            out.append(SmokeTest(item["name"], tuple(cmd) if isinstance(cmd, list) else cmd, pattern,
                                 item.get("exit_code", 0), item.get("timeout", 300)))
        tests[os_name] = out
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
    return SmokeSuite(path, digest, tests)


def substitutions(arch: str, version: str) -> dict[str, str]:
    a = architectures.get(arch)
    return {"arch": arch, "version": version, "uname_m": "(?:%s)" % "|".join(re.escape(u) for u in a.uname_m)}


def command_for(test: SmokeTest, os_name: str, subs: Mapping[str, str]) -> list[str] | None:
    if test.command is None:
        return None
    if isinstance(test.command, str):
        text = string.Template(test.command).safe_substitute(subs)
        return ["powershell", "-Command", text] if os_name == "windows" else ["sh", "-c", text]
    return [string.Template(c).safe_substitute(subs) for c in test.command]


@dataclass
class SmokeResult:
    name: str
    passed: bool
    exit_code: int | None = None
    output: str = ""
    reason: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "exit_code": self.exit_code,
                "output": self.output, "reason": self.reason}


@dataclass
class ImageSmokeResult:
    key: str
    image_id: str
    passed: bool
    cached: bool = False
    tests: list[SmokeResult] = field(default_factory=list)
    # when this image's suite ran (RFC 3339 UTC) and how long, for the release report; a cached pass took no time
    started: str = ""
    finished: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"key": self.key, "image_id": self.image_id, "passed": self.passed, "cached": self.cached,
                "tests": [t.as_dict() for t in self.tests],
                "failed_tests": [t.name for t in self.tests if not t.passed],
                "started": self.started, "finished": self.finished, "seconds": self.seconds}


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def run_test(client: Any, image_id: str, test: SmokeTest, os_name: str,
             subs: Mapping[str, str], name_prefix: str) -> SmokeResult:
    """Run one test in a fresh container (removed afterwards) and judge exit code and output.

    The image is named by id, so the engine runs exactly that architecture (through binfmt when foreign)."""
    cmd = command_for(test, os_name, subs)
    container = client.containers.create(image_id, command=cmd, detach=True,
                                         name="%s-%s" % (name_prefix, re.sub(r"[^\w.-]", "-", test.name)),
                                         network_disabled=True)
    try:
        container.start()
        try:
            status = container.wait(timeout=test.timeout)
        except Exception:  # requests' ReadTimeout: the container is still running
            container.kill()
            return SmokeResult(test.name, False, None, "", "timed out after %ds" % test.timeout)
        output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    finally:
        container.remove(force=True)
    code = int(status.get("StatusCode", -1))
    tail = output[-1000:]
    if code != test.exit_code:
        return SmokeResult(test.name, False, code, tail, "exit code %d, expected %d" % (code, test.exit_code))
    if test.stdout:
        pattern = string.Template(test.stdout).safe_substitute(subs)
        if not re.search(pattern, output):
            return SmokeResult(test.name, False, code, tail, "output does not match %r" % pattern)
    return SmokeResult(test.name, True, code, tail)


def pass_marker(cache_dir: str, image_id: str, suite: SmokeSuite) -> str:
    """A file recording that this exact image passed this exact test file (tests are not rerun then)."""
    return os.path.join(cache_dir, "%s-%s.passed" % (image_id.replace("sha256:", "")[:32], suite.sha256[:32]))


TESTABLE = ("built", "unchanged")


def run_suites(connect: Any, images: list[Mapping[str, Any]], suites: Mapping[str, SmokeSuite], arch: str,
               cache_dir: str = "", max_workers: int = 2, version_label: str = "org.opencontainers.image.version",
               progress: Progress | None = None) -> list[ImageSmokeResult]:
    """Test every built or unchanged image of ``images`` (image_build's results) with its repository's suite, at
    most ``max_workers`` at once. An image that passed this exact suite before (a pass marker in ``cache_dir``) is
    not tested again; an engine error is that image's failure, not the share's. ``connect`` makes a Docker client.
    ``progress`` (job ``test``) gets every entry's state: waiting, testing, then passed, failed or untested."""
    from concurrent.futures import ThreadPoolExecutor

    a = architectures.get(arch)
    os_name = a.platform.os
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)

    def run_suite(image_id: str, suite: SmokeSuite, key: str) -> ImageSmokeResult:
        began = time.monotonic()
        res = ImageSmokeResult(key, image_id, True, started=_utc_now())
        try:
            return _run_suite(res, image_id, suite, key)
        finally:
            res.finished = _utc_now()
            res.seconds = round(time.monotonic() - began, 3)

    def _run_suite(res: ImageSmokeResult, image_id: str, suite: SmokeSuite, key: str) -> ImageSmokeResult:
        marker = pass_marker(cache_dir, image_id, suite) if cache_dir else ""
        if marker and os.path.exists(marker):
            res.cached = True
            return res
        try:
            client = connect()
            labels = client.images.get(image_id).labels or {}
        except Exception as exc:  # noqa: BLE001 - an engine that cannot be asked fails this image, not the share
            res.passed = False
            res.tests.append(SmokeResult("engine", False, None, "", "%s: %s" % (type(exc).__name__, exc)))
            return res
        subs = substitutions(a.name, labels.get(version_label, ""))
        # unique per run: one image is never tested twice at once (see below), but other runs may share the engine
        prefix = "buildfarm-test-%s-%s-%d-%s" % (a.name, image_id.replace("sha256:", "")[:12], os.getpid(),
                                                 uuid.uuid4().hex[:6])
        for t in suite.for_os(os_name):
            try:
                res.tests.append(run_test(client, image_id, t, os_name, subs, prefix))
            except Exception as exc:  # noqa: BLE001 - reported as this test's failure
                res.tests.append(SmokeResult(t.name, False, None, "", "%s: %s" % (type(exc).__name__, exc)))
        res.passed = all(t.passed for t in res.tests)
        if res.passed and marker:
            with open(marker, "w", encoding="utf-8") as fh:
                fh.write(key + "\n")
        return res

    testable = [i for i in images if i.get("status") in TESTABLE]
    # One run per (image, suite): entries sharing an image (a family copied under another name, a Dockerfile two
    # repositories use) and the same tests get that run's result instead of testing the image again.
    runs: dict[tuple[str, str], tuple[str, SmokeSuite]] = {}
    for img in testable:
        suite = suites.get(img["repo"])
        if suite is not None:
            runs.setdefault((img["image_id"], suite.sha256), (img["key"], suite))
    progress = progress or Progress("", "", arch, job="test")

    def tracked(run: tuple[str, str]) -> ImageSmokeResult:
        key, suite = runs[run]
        progress.start(key)
        try:
            res = run_suite(run[0], suite, key)
        except BaseException:
            progress.finish(key, "failed")
            raise
        progress.finish(key, "passed" if res.passed else "failed")
        return res

    progress.waiting([img["key"] for img in testable])
    progress.set_stage("testing")
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        done = dict(zip(runs, pool.map(tracked, list(runs))))
    out = []
    for img in testable:
        suite = suites.get(img["repo"])
        if suite is None:
            out.append(ImageSmokeResult(img["key"], img["image_id"], True))
            progress.finish(img["key"], "untested")
            continue
        first = done[(img["image_id"], suite.sha256)]
        out.append(dataclasses.replace(first, key=img["key"], tests=list(first.tests)))
        if first.key != img["key"]:  # the same image and suite as another entry: that run's result is this one's
            progress.finish(img["key"], "passed" if first.passed else "failed")
    return out
