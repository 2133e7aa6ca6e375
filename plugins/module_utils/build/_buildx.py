# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`Builder: buildkit` (the default on Linux): the build through the Docker CLI's `docker buildx build`, as bashbrew
and docker-library/meta-scripts drive it (the Docker SDK cannot), with the engine's own BuildKit (buildx's `docker`
driver, builder `default`): no BuildKit image, no Dockerfile frontend is pulled from a registry, the image is loaded
into the engine (`--load`) where the smoke tests and the push find it as they find a classic one.

Parents are pinned, never resolved by name during the build: each parent image (its engine image id, resolved
before the build) gets a content-addressed local tag ``buildfarm-pin/<repository>:<image id hex>``, which the
engine's BuildKit resolves locally without pulling - by ``--build-context <FROM>=docker-image://<pin tag>`` where
the engine's BuildKit has named contexts (Docker >= 23), by the FROM line rewritten to the pin tag where it has not
(Docker 20.10: `FROM <image id>` makes BuildKit pull `docker.io/library/sha256`, `FROM <local tag>` does not). A
local tag by image id, not the parent's `<name>@<digest>`: several architectures build on one engine (the emulated
builders of the local default), and the engine's reference store maps a list digest to one platform's image only.

A Dockerfile's `# syntax=` directive would have BuildKit pull that frontend image: it is taken out, the engine's
built-in Dockerfile frontend builds it, as upstream overrides the directive with its own pinned frontend
(meta-scripts' `--build-arg BUILDKIT_SYNTAX`). What the engine's frontend lacks (heredocs, `COPY --link`,
`ADD --checksum`, named contexts) is found before the build where the Dockerfile shows it, else in buildx's error,
and reported naming the entry, the feature and the engine's version. Plain typed Python; the CLI runs as a
subprocess.
"""
from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import IO, Callable, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef, ImageRefError
from ansible_collections.buildfarm.images.plugins.module_utils.build.engine_store import engine_containerd_store
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

PIN_REPOSITORY = "buildfarm-pin"
# The first Docker engine whose BuildKit (v0.10+, Dockerfile frontend 1.4) has named build contexts, heredocs and
# `COPY --link`; 20.10's is BuildKit v0.8 (frontend 1.2): `RUN --mount` and `COPY --chmod`, none of these.
NAMED_CONTEXTS_SINCE = 23
LOG_TAIL = 20
# upstream's build arguments of every BuildKit build that change nothing in the image: no Dockerfile lint
# (meta-scripts' build_command; an older frontend ignores it)
FIXED_BUILD_ARGS = {"BUILDKIT_DOCKERFILE_CHECK": "skip=all"}


class BuildkitError(BuildfarmError):
    """A BuildKit build that cannot be made or failed: names the entry and why; ``log_tail`` holds buildx's last
    lines."""

    def __init__(self, problem: str, file: str | None = None, log_tail: Sequence[str] = ()) -> None:
        super().__init__(problem, file)
        self.log_tail = list(log_tail)


@dataclass(frozen=True)
class EngineInfo:
    """The engine the build runs on, as it reports itself (`docker version`'s Server Version; `docker info`'s
    DriverStatus for the image store: on the containerd store buildx's `--iidfile` holds the config digest, which
    that engine does not know as an image id - docker/buildx#3952 - so the image is found by its tag)."""

    version: str
    containerd_store: bool = False

    @property
    def major(self) -> int | None:
        m = re.match(r"^v?(\d+)\.", self.version or "")
        return int(m.group(1)) if m else None

    @property
    def named_contexts(self) -> bool:
        """Whether ``--build-context`` works (an engine that does not say its version is not trusted with it)."""
        major = self.major
        return major is not None and major >= NAMED_CONTEXTS_SINCE

    def describe(self) -> str:
        return "Docker %s%s" % (self.version or "(version unknown)",
                                " (containerd image store)" if self.containerd_store else "")


def engine_info(client) -> EngineInfo:
    """What the engine of ``client`` (a docker SDK client) says it is."""
    return EngineInfo(str((client.version() or {}).get("Version") or ""), engine_containerd_store(client))


# -- the Dockerfile ------------------------------------------------------------------------------------------------
_DIRECTIVE_RE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")


def strip_syntax(dockerfile: str) -> tuple[str, str]:
    """The Dockerfile without its `# syntax=` parser directive, and the frontend it named ("" when none). Only the
    leading directive lines are looked at, as BuildKit does; the line is removed, not emptied, so a following
    `# escape=` stays a directive."""
    lines = dockerfile.splitlines(keepends=True)
    for i, line in enumerate(lines):
        m = _DIRECTIVE_RE.match(line.rstrip("\r\n"))
        if not m:
            break
        if m.group(1).lower() == "syntax":
            return "".join(lines[:i] + lines[i + 1:]), m.group(2)
    return dockerfile, ""


@dataclass(frozen=True)
class Feature:
    """A Dockerfile feature an engine's BuildKit may lack: what it is, the first Docker major version whose
    BuildKit has it, and where the Dockerfile uses it (1-based line, 0 when not from the file)."""

    name: str
    since: int
    line: int = 0

    def describe(self) -> str:
        return self.name + (" (line %d)" % self.line if self.line else "")


_INSTRUCTION_RE = re.compile(r"^\s*([A-Za-z]+)\b(.*)$", re.S)
_HEREDOC_RE = re.compile(r"(?<![<\w])<<-?\s*([\"']?)[A-Za-z_][\w.-]*\1(?!<)")
# flag -> (instructions, feature, since)
_FLAG_FEATURES = {
    "link": (("COPY", "ADD"), "`%s --link`", NAMED_CONTEXTS_SINCE),
    "checksum": (("ADD",), "`%s --checksum`", 25),
}


def _logical_lines(dockerfile: str) -> list[tuple[int, str]]:
    """(first line number, text) of each instruction, continuation lines joined (the default escape `\\`; the
    Windows families' backtick escape is for the classic builder)."""
    out: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for n, raw in enumerate(dockerfile.splitlines(), 1):
        line = raw.rstrip()
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not current:
            start = n
        if line.endswith("\\"):
            current.append(line[:-1])
            continue
        current.append(line)
        out.append((start, " ".join(current)))
        current = []
    if current:
        out.append((start, " ".join(current)))
    return out


def _leading_flags(rest: str) -> list[str]:
    """The names of the `--flag[=value]` options an instruction starts with (`COPY --chmod=755 --link a b`)."""
    out = []
    for token in rest.split():
        if not token.startswith("--"):
            break
        out.append(token[2:].split("=", 1)[0].lower())
    return out


def scan_features(dockerfile: str) -> list[Feature]:
    """The features of ``dockerfile`` that not every engine's BuildKit has, in the order they appear."""
    found: list[Feature] = []
    for line_no, text in _logical_lines(dockerfile):
        m = _INSTRUCTION_RE.match(text)
        if not m:
            continue
        instruction, rest = m.group(1).upper(), m.group(2)
        if instruction in ("RUN", "COPY", "ADD") and _HEREDOC_RE.search(rest):
            found.append(Feature("heredocs (`%s <<EOF`)" % instruction, NAMED_CONTEXTS_SINCE, line_no))
        for flag in _leading_flags(rest):
            spec = _FLAG_FEATURES.get(flag)
            if spec and instruction in spec[0]:
                found.append(Feature(spec[1] % instruction, spec[2], line_no))
    return found


def check_features(entry: str, dockerfile: str, engine: EngineInfo) -> None:
    """BuildkitError naming ``entry``, the first feature the engine's BuildKit lacks and the engine's version."""
    major = engine.major
    if major is None:
        return  # an engine that does not say its version: buildx's own error will tell
    for f in scan_features(dockerfile):
        if major < f.since:
            raise BuildkitError("the Dockerfile uses %s, which the BuildKit of this engine (%s) lacks: it needs "
                                "Docker >= %d (or Builder: classic where the Dockerfile allows it)"
                                % (f.describe(), engine.describe(), f.since), entry)


_FAILURES = (
    (re.compile(r"unsupported frontend capability moby\.buildkit\.frontend\.contexts"),
     lambda m: "named build contexts (--build-context)"),
    (re.compile(r"dockerfile parse error (?:on )?line (\d+): [Uu]nknown flag: ([\w-]+)"),
     lambda m: "the flag --%s (line %s)" % (m.group(2), m.group(1))),
    (re.compile(r"dockerfile parse error (?:on )?line (\d+): unknown instruction: (\S+)"),
     lambda m: "what line %s holds (`%s` is no instruction to it: a heredoc's body?)" % (m.group(1), m.group(2))),
)


def explain_failure(entry: str, lines: Sequence[str], engine: EngineInfo, step: FailedStep | None = None) -> str:
    """The message of a failed build from buildx's output: a feature the engine's BuildKit lacks named as such, else
    the step that failed (``step``, else the one ``lines`` show) with its exit code and last output, else buildx's
    last error line."""
    text = "\n".join(lines)
    if re.search(r"'buildx' is not a docker command|unknown command: docker buildx|unknown flag: --builder", text):
        return ("%s: the docker CLI on this builder has no buildx plugin (Builder buildkit needs it; role builder "
                "installs docker-buildx): %s" % (entry, _error_line(lines)))
    for pattern, name in _FAILURES:
        m = pattern.search(text)
        if m:
            return ("%s: the BuildKit of this engine (%s) does not support %s: %s"
                    % (entry, engine.describe(), name(m), _error_line(lines)))
    step = step or failed_step(lines)
    return "%s: docker buildx build failed on %s: %s" % (entry, engine.describe(),
                                                         step.describe() if step else _error_line(lines))


def _error_line(lines: Sequence[str]) -> str:
    for line in reversed(lines):
        if line.startswith("ERROR:") or line.startswith("error:"):
            return line
    return next((line for line in reversed(lines) if line.strip()), "(no output)")


# -- the step that failed ------------------------------------------------------------------------------------------
# buildx's `ERROR: failed to solve: executor failed running [<the whole RUN script>]: exit code: 1` holds no reason:
# that is in what the failing step printed (`#N 0.383 error: ... is not the release`), lines the log tail of a
# long build may have lost by the time buildx prints its summary - so the output is followed step by step.
STEP_LINES = 10  # the last lines kept of each step
REASON_LINES = 3  # of those, how many a failure's message quotes
COMMAND_CHARS = 120
_STEP_RE = re.compile(r"^#(\d+) (.*)$")
_STEP_OUTPUT_RE = re.compile(r"^\d+\.\d+(?: (.*))?$")
_XTRACE_RE = re.compile(r"^\++ ")
_EXIT_CODE_RE = re.compile(r"exit code: (\d+)\s*$")


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + "..."


@dataclass(frozen=True)
class FailedStep:
    """The build step buildx reported as failed: its name as buildx prints it (`[3/3] RUN set -eux; ...`), its
    error and the last lines it printed (timestamps taken off)."""

    name: str
    error: str
    output: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int | None:
        m = _EXIT_CODE_RE.search(self.error)
        return int(m.group(1)) if m else None

    def reason(self) -> list[str]:
        """The last lines the step printed that say something: the shell's `set -x` trace left out (the command is
        named already) unless the step printed nothing else."""
        said = [line for line in self.output if line.strip() and not _XTRACE_RE.match(line)]
        return [_shorten(line, 300) for line in (said or list(self.output))[-REASON_LINES:]]

    def describe(self) -> str:
        code = self.exit_code
        # the error of a command that exits repeats the whole command: its exit code is what it adds
        failed = "exited with code %d" % code if code is not None else "failed: %s" % _shorten(self.error, 300)
        text = "step %s %s" % (_shorten(self.name, COMMAND_CHARS), failed)
        reason = self.reason()
        return text + ("; its last output: %s" % " | ".join(reason) if reason else "")


class StepLog:
    """Follows buildx's `--progress=plain` output: the name and last STEP_LINES lines of each step (`#N ...`), and
    the first step that reported `#N ERROR: ...`."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._lines: dict[str, collections.deque[str]] = {}
        self.failed: FailedStep | None = None

    def add(self, line: str) -> None:
        m = _STEP_RE.match(line)
        if not m:
            return
        step, rest = m.groups()
        if step not in self._names:
            self._names[step] = rest  # a step's first line names it
            return
        out = _STEP_OUTPUT_RE.match(rest)
        if out:
            self._lines.setdefault(step, collections.deque(maxlen=STEP_LINES)).append(out.group(1) or "")
        elif rest.startswith("ERROR: ") and self.failed is None:
            self.failed = FailedStep(self._names[step], rest[len("ERROR: "):], tuple(self._lines.get(step, ())))


def failed_step(lines: Sequence[str]) -> FailedStep | None:
    """The step ``lines`` (buildx's plain output, or its tail) show failed, None when they show none."""
    log = StepLog()
    for line in lines:
        log.add(line)
    return log.failed


# -- pinning parents ---------------------------------------------------------------------------------------------
def pin_tag(ref: str, image_id: str) -> str:
    """The local tag an image id is pinned to for a build: `buildfarm-pin/<repository>:<id hex>` (the repository of
    the FROM reference, made a valid name), the same for the same image on every run (the input digest covers the
    image id, not this tag)."""
    try:
        name = ImageRef.parse(ref).familiar_repository
    except ImageRefError:  # not a reference (an unexpanded ARG): its text, made a valid name
        name = ref
    name = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "image"
    hexid = image_id.split(":", 1)[-1]
    if not re.fullmatch(r"[0-9a-f]{64}", hexid):
        raise BuildkitError("cannot pin parent %s: %r is not an image id" % (ref, image_id))
    return "%s/%s:%s" % (PIN_REPOSITORY, name[:100], hexid)


# -- the command -------------------------------------------------------------------------------------------------
def buildx_argv(*, docker: str, platform: str, dockerfile_name: str, tags: Sequence[str],
                labels: Mapping[str, str], build_args: Mapping[str, str], contexts: Mapping[str, str],
                iidfile: str) -> list[str]:
    """The `docker buildx build` command line of one image, its context a tar read from stdin (`-`): ``contexts``
    maps a FROM reference to the `docker-image://` source it is built from (named build contexts)."""
    argv = [docker, "buildx", "build", "--builder", "default", "--progress=plain", "--load",
            "--provenance=false", "--sbom=false",  # the farm makes the attestations itself, for every builder
            "--platform", platform, "--file", dockerfile_name, "--iidfile", iidfile]
    for tag in tags:
        argv += ["--tag", tag]
    for key in sorted(labels):
        argv += ["--label", "%s=%s" % (key, labels[key])]
    for key, value in sorted(dict(FIXED_BUILD_ARGS, **build_args).items()):
        argv += ["--build-arg", "%s=%s" % (key, value)]
    for ref in sorted(contexts):
        argv += ["--build-context", "%s=%s" % (ref, contexts[ref])]
    return argv + ["-"]


def buildx_env(docker_host: str = "", base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The CLI's environment: the engine the SDK talks to (``docker_host``, else the environment's), the builder
    `default` of that engine whatever `docker buildx use` chose, plain progress."""
    env = dict(os.environ if base is None else base)
    for key in ("BUILDX_BUILDER", "DOCKER_CONTEXT"):
        env.pop(key, None)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    env["BUILDKIT_PROGRESS"] = "plain"
    return env


def find_docker(docker: str = "") -> str:
    """The docker CLI (``docker`` if given); BuildkitError when there is none."""
    path = shutil.which(docker or "docker")
    if not path:
        raise BuildkitError("Builder buildkit needs the docker CLI with the buildx plugin on the builder (role "
                            "builder installs it); %s is not on PATH" % (docker or "docker"))
    return path


def run_buildx(argv: Sequence[str], write_context: Callable[[IO[bytes]], None], env: Mapping[str, str],
               cwd: str | None = None) -> tuple[int, list[str], FailedStep | None]:
    """Run ``argv`` in ``cwd`` (an empty folder: `--file` then names the file in the context tar only) with the
    context tar (written by ``write_context`` to a temporary file, so a big root filesystem is not held in memory)
    on stdin; returns the exit code, the last LOG_TAIL lines of its output and the step that failed (if one did)."""
    tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL)
    steps = StepLog()
    with tempfile.TemporaryFile(prefix="buildfarm-context-") as ctx:
        write_context(ctx)
        ctx.flush()
        ctx.seek(0)
        proc = subprocess.Popen(list(argv), stdin=ctx, stdout=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                                stderr=subprocess.STDOUT, env=dict(env), cwd=cwd)
        for raw in proc.stdout or ():
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                tail.append(line)
                steps.add(line)
        rc = proc.wait()
    return rc, list(tail), steps.failed


def read_iidfile(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError:
        return ""
