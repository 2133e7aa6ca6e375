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
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.build.labels import OCI
from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    BuildResult,
    BuildStatus,
    ImageSmokeResult,
    SmokeResult,
    TestStatus,
    build_results,
)

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


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Output:
    """A container's stdout and stderr as `docker run` gets them: attached before it starts, read to the end of the
    stream. `logs` read right after `wait` came back empty under load on Docker 26 (a test that echoes exited 0
    with no output: the exit was reported before its output reached the log), which failed a good image."""

    def __init__(self, container: Any) -> None:
        self.container = container
        self.chunks: list[bytes] = []
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=True)
        self.reader = threading.Thread(target=lambda: self.chunks.extend(stream), daemon=True)
        self.reader.start()

    def text(self) -> str:
        """Everything the container wrote; once it has exited the stream ends at once (the logs if it does not)."""
        self.reader.join(timeout=30)
        data = b"".join(self.chunks) if not self.reader.is_alive() else self.container.logs(stdout=True, stderr=True)
        return data.decode("utf-8", "replace")


def run_test(client: Any, image_id: str, test: SmokeTest, os_name: str,
             subs: Mapping[str, str], name_prefix: str) -> SmokeResult:
    """Run one test in a fresh container (removed afterwards) and judge exit code and output.

    The image is named by id, so the engine runs exactly that architecture (through binfmt when foreign)."""
    cmd = command_for(test, os_name, subs)
    container = client.containers.create(image_id, command=cmd, detach=True,
                                         name="%s-%s" % (name_prefix, re.sub(r"[^\w.-]", "-", test.name)),
                                         network_disabled=True)
    try:
        attached = _Output(container)
        container.start()
        try:
            status = container.wait(timeout=test.timeout)
        except Exception:  # requests' ReadTimeout: the container is still running
            container.kill()
            return SmokeResult(test.name, False, None, "", "timed out after %ds" % test.timeout)
        output = attached.text()
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


TESTABLE = (BuildStatus.BUILT, BuildStatus.UNCHANGED)


@dataclass
class SuiteRunner:
    """Runs suites in images on one engine (``connect`` makes a Docker client), keeping pass markers in
    ``cache_dir`` ("" = none): an image that passed this exact suite before is not tested again."""

    connect: Any
    arch: architectures.Architecture
    cache_dir: str = ""
    version_label: str = "org.opencontainers.image.version"

    def run(self, image_id: str, suite: SmokeSuite, key: str) -> ImageSmokeResult:
        began = time.monotonic()
        res = ImageSmokeResult(key, image_id, True, started=_utc_now())
        try:
            return self._run(res, image_id, suite, key)
        finally:
            res.finished = _utc_now()
            res.seconds = round(time.monotonic() - began, 3)

    def _run(self, res: ImageSmokeResult, image_id: str, suite: SmokeSuite, key: str) -> ImageSmokeResult:
        marker = pass_marker(self.cache_dir, image_id, suite) if self.cache_dir else ""
        if marker and os.path.exists(marker):
            res.cached = True
            return res
        try:
            client = self.connect()
            labels = client.images.get(image_id).labels or {}
        except Exception as exc:  # noqa: BLE001 - an engine that cannot be asked fails this image, not the share
            res.passed = False
            res.tests.append(SmokeResult("engine", False, None, "", "%s: %s" % (type(exc).__name__, exc)))
            return res
        os_name = self.arch.platform.os
        subs = substitutions(self.arch.name, labels.get(self.version_label, ""))
        # unique per run: one image is never tested twice at once (see run_suites), but other runs may share the
        # engine
        prefix = "buildfarm-test-%s-%s-%d-%s" % (self.arch.name, image_id.replace("sha256:", "")[:12], os.getpid(),
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


def run_suites(connect: Any, images: Sequence[BuildResult | Mapping[str, Any]], suites: Mapping[str, SmokeSuite],
               arch: str, cache_dir: str = "", max_workers: int = 2,
               version_label: str = "org.opencontainers.image.version",
               progress: Progress | None = None) -> list[ImageSmokeResult]:
    """Test every built or unchanged image of ``images`` (image_build's results, parsed as BuildResults) with its
    repository's suite, at most ``max_workers`` at once. An image that passed this exact suite before (a pass
    marker in ``cache_dir``) is not tested again; an engine error is that image's failure, not the share's.
    ``progress`` (job ``test``) gets every entry's state: waiting, testing, then passed, failed or untested."""
    from concurrent.futures import ThreadPoolExecutor

    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
    runner = SuiteRunner(connect, architectures.get(arch), cache_dir, version_label)
    testable = [i for i in build_results(images) if i.status in TESTABLE]
    # One run per (image, suite): entries sharing an image (a family copied under another name, a Dockerfile two
    # repositories use) and the same tests get that run's result instead of testing the image again.
    runs: dict[tuple[str, str], tuple[str, SmokeSuite]] = {}
    for img in testable:
        suite = suites.get(img.repo)
        if suite is not None:
            runs.setdefault((img.image_id, suite.sha256), (img.key, suite))
    progress = progress or Progress("", "", arch, job="test")

    def tracked(run: tuple[str, str]) -> ImageSmokeResult:
        key, suite = runs[run]
        progress.start(key)
        try:
            res = runner.run(run[0], suite, key)
        except BaseException:
            progress.finish(key, TestStatus.FAILED)
            raise
        progress.finish(key, res.state)
        return res

    progress.waiting([img.key for img in testable])
    progress.set_stage("testing")
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        done = dict(zip(runs, pool.map(tracked, list(runs))))
    return [_share_result(img, suites.get(img.repo), done, progress) for img in testable]


def _share_result(img: BuildResult, suite: SmokeSuite | None, done: Mapping[tuple[str, str], ImageSmokeResult],
                  progress: Progress) -> ImageSmokeResult:
    """The result of ``img``: untested without a suite, else its (image, suite) run's, under its own key."""
    if suite is None:
        progress.finish(img.key, TestStatus.UNTESTED)
        return ImageSmokeResult(img.key, img.image_id, True)
    first = done[(img.image_id, suite.sha256)]
    if first.key != img.key:  # the same image and suite as another entry: that run's result is this one's
        progress.finish(img.key, first.state)
    return dataclasses.replace(first, key=img.key, tests=list(first.tests))


def run_image_tests(p: Mapping[str, Any], check_mode: bool, connect: Any, tests: Mapping[str, Any]) -> dict[str, Any]:
    """The whole image_test call: its parameters ``p`` and the test data by repository (``tests``: the bundle's
    or the `tests` option's, a path or the parsed YAML) in, its result out."""
    arch = architectures.get(p["arch"])
    suites = {repo: load(t) if isinstance(t, str) else parse(t, "tests[%s]" % repo) for repo, t in tests.items()}
    images = build_results(p["images"])
    if check_mode:
        return dict(changed=False, results=[], passed=[], failed_entries=[],
                    would_test=[i.key for i in images if i.status in TESTABLE])
    progress = Progress(p["status_file"] or "", p["host"] or "localhost", arch.name, interval=5.0, job="test")
    progress.tick()
    try:
        results = run_suites(connect, images, suites, arch.name, p["cache_dir"] or "", p["max_workers"],
                             OCI + "version", progress=progress)
    finally:
        progress.done()
    out: dict[str, Any] = dict(changed=False, results=[r.to_dict() for r in results],
                               passed=[r.key for r in results if r.passed],
                               failed_entries=[r.key for r in results if not r.passed])
    if out["failed_entries"] and p["fail_on_error"]:
        out.update(failed=True, msg="%s: smoke tests failed: %s" % (arch.platform, "; ".join(
            "%s (%s)" % (r.key, ", ".join("%s: %s" % (t.name, t.reason) for t in r.tests if not t.passed))
            for r in results if not r.passed)))
    return out
