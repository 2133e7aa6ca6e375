"""`Builder: buildkit` without an engine: the `docker buildx build` command line, the `# syntax=` directive taken
out, the features an engine's BuildKit lacks found up front or read from buildx's error, the engine's version read,
parents pinned to content-addressed local tags, the input digest covering the builder, and ReleaseBuilder checking
every entry's builder before anything is built (the real builds: tests/integration/release/test_buildkit.py)."""
from __future__ import annotations

import io
import tarfile

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build import _buildx
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import (
    BuildInputError,
    BuildInputs,
    scan_context,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_builder import (
    BuildSettings,
    FamilyShare,
    ReleaseBuilder,
    _index_image,
)
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import Entry

ID = "sha256:" + "ab" * 32
OLD = _buildx.EngineInfo("20.10.24+dfsg1")
NEW = _buildx.EngineInfo("26.1.5")


def test_the_command_line():
    argv = _buildx.buildx_argv(
        docker="/usr/bin/docker", platform="linux/arm64/v8", dockerfile_name="Dockerfile.slim",
        tags=["127.0.0.1:5000/arm64v8/python:3.13", "127.0.0.1:5000/arm64v8/python:3"],
        labels={"org.opencontainers.image.version": "3.13.5", "io.buildfarm.input-digest": "sha256:1"},
        build_args={"PYTHON_MIRROR": "http://mirror"},
        contexts={"debian:trixie-slim": "docker-image://buildfarm-pin/debian:" + "ab" * 32}, iidfile="/tmp/x/iid")
    assert argv == [
        "/usr/bin/docker", "buildx", "build", "--builder", "default", "--progress=plain", "--load",
        "--provenance=false", "--sbom=false", "--platform", "linux/arm64/v8", "--file", "Dockerfile.slim",
        "--iidfile", "/tmp/x/iid",
        "--tag", "127.0.0.1:5000/arm64v8/python:3.13", "--tag", "127.0.0.1:5000/arm64v8/python:3",
        "--label", "io.buildfarm.input-digest=sha256:1", "--label", "org.opencontainers.image.version=3.13.5",
        "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=all", "--build-arg", "PYTHON_MIRROR=http://mirror",
        "--build-context", "debian:trixie-slim=docker-image://buildfarm-pin/debian:" + "ab" * 32,
        "-"]


def test_the_cli_builds_on_the_engine_the_sdk_talks_to():
    env = _buildx.buildx_env("tcp://10.0.0.5:2376", {"PATH": "/bin", "BUILDX_BUILDER": "remote",
                                                     "DOCKER_CONTEXT": "other", "DOCKER_TLS_VERIFY": "1"})
    assert env == {"PATH": "/bin", "DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_TLS_VERIFY": "1",
                   "BUILDKIT_PROGRESS": "plain"}
    assert "DOCKER_HOST" not in _buildx.buildx_env("", {"PATH": "/bin"})


@pytest.mark.parametrize("text, stripped, frontend", [
    ("# syntax=docker/dockerfile:1\nFROM x\n", "FROM x\n", "docker/dockerfile:1"),
    # a following escape directive stays a directive (the line is removed, not blanked)
    ("# escape=`\n#syntax = docker.io/docker/dockerfile:1.7-labs\n# check=skip=all\nFROM x\n",
     "# escape=`\n# check=skip=all\nFROM x\n", "docker.io/docker/dockerfile:1.7-labs"),
    # not at the top: a comment, not a directive
    ("FROM x\n# syntax=docker/dockerfile:1\n", "FROM x\n# syntax=docker/dockerfile:1\n", ""),
    ("# a comment\n# syntax=docker/dockerfile:1\nFROM x\n", "# a comment\n# syntax=docker/dockerfile:1\nFROM x\n", ""),
])
def test_syntax_directive_is_taken_out(text, stripped, frontend):
    assert _buildx.strip_syntax(text) == (stripped, frontend)


def test_features_found_with_their_lines():
    dockerfile = (
        "FROM debian\n"
        "RUN --mount=type=cache,target=/var/cache/apt apt-get update\n"  # BuildKit v0.8 has it
        "COPY --chmod=0755 entry.sh /\n"  # and this
        "RUN echo $((1<<4)) && cat <<<word\n"  # shell arithmetic and a here-string: no heredoc
        "RUN <<EOF\n"
        "set -e\n"
        "EOF\n"
        "COPY --chown=0:0 \\\n"
        "     --link a /a\n"
        "ADD --checksum=sha256:00 https://example.org/x /x\n"
        "COPY <<-'EOT' /etc/motd\n"
        "hello\n"
        "EOT\n"
        "RUN apt-get install --link-duplicates\n"  # a flag of the command, not of RUN
    )
    found = [(f.name, f.since, f.line) for f in _buildx.scan_features(dockerfile)]
    assert found == [("heredocs (`RUN <<EOF`)", 23, 5), ("`COPY --link`", 23, 8), ("`ADD --checksum`", 25, 10),
                     ("heredocs (`COPY <<EOF`)", 23, 11)]


def test_a_feature_the_engine_lacks_names_entry_feature_and_version():
    with pytest.raises(_buildx.BuildkitError) as err:
        _buildx.check_features("app:1.0", "FROM x\nCOPY --link a /a\n", OLD)
    assert str(err.value) == ("app:1.0: the Dockerfile uses `COPY --link` (line 2), which the BuildKit of this engine "
                              "(Docker 20.10.24+dfsg1) lacks: it needs Docker >= 23 (or Builder: classic where the "
                              "Dockerfile allows it)")
    _buildx.check_features("app:1.0", "FROM x\nCOPY --link a /a\nRUN <<EOF\nEOF\n", NEW)
    with pytest.raises(_buildx.BuildkitError, match="`ADD --checksum`.*Docker 24.0.9.*Docker >= 25"):
        _buildx.check_features("app:1.0", "FROM x\nADD --checksum=sha256:00 http://x /x\n",
                               _buildx.EngineInfo("24.0.9"))
    # an engine that does not say its version: buildx's own error will tell
    _buildx.check_features("app:1.0", "FROM x\nCOPY --link a /a\n", _buildx.EngineInfo(""))


def test_engine_versions():
    assert (OLD.major, OLD.named_contexts) == (20, False)
    assert (NEW.major, NEW.named_contexts) == (26, True)
    assert (_buildx.EngineInfo("23.0.0").named_contexts, _buildx.EngineInfo("22.06.0-beta").named_contexts) == (
        True, False)
    assert _buildx.EngineInfo("master-dockerproject").named_contexts is False  # never assumed
    assert _buildx.EngineInfo("").describe() == "Docker (version unknown)"


# buildx 0.13.1 on Docker 20.10 (BuildKit v0.8), as printed on this machine
_CONTEXTS = ["#2 copy /context /", "#2 DONE 0.1s",
             "ERROR: failed to solve: rpc error: code = Unknown desc = failed to solve with frontend dockerfile.v0: "
             "unsupported frontend capability moby.buildkit.frontend.contexts"]
_LINK = ["ERROR: failed to solve: rpc error: code = Unknown desc = failed to solve with frontend dockerfile.v0: "
         "failed to create LLB definition: dockerfile parse error line 2: Unknown flag: link"]
_RUN = ["#5 [2/2] RUN false", "#5 ERROR: executor failed running [/bin/sh -c false]: exit code: 1",
        "------", "ERROR: failed to solve: executor failed running [/bin/sh -c false]: exit code: 1"]


def test_buildx_errors_explained():
    msg = _buildx.explain_failure("app:1.0", _CONTEXTS, OLD)
    assert msg.startswith("app:1.0: the BuildKit of this engine (Docker 20.10.24+dfsg1) does not support named build "
                          "contexts (--build-context): ERROR: failed to solve")
    assert "does not support the flag --link (line 2)" in _buildx.explain_failure("app:1.0", _LINK, OLD)
    assert _buildx.explain_failure("app:1.0", _RUN, OLD) == (
        "app:1.0: docker buildx build failed on Docker 20.10.24+dfsg1: step [2/2] RUN false exited with code 1")
    assert _buildx.explain_failure("app:1.0", _RUN[-1:], OLD) == (  # no step seen: buildx's error line
        "app:1.0: docker buildx build failed on Docker 20.10.24+dfsg1: ERROR: failed to solve: executor failed "
        "running [/bin/sh -c false]: exit code: 1")
    assert _buildx.explain_failure("app:1.0", [], OLD).endswith("(no output)")


# buildx 0.13.1 on Docker 20.10 as printed on this machine: a `set -eux` RUN whose check fails
_SCRIPT = ('set -eux;   for i in 1 2 3; do echo line $i; done;   src=/tmp/x.tar.xz;   echo "downloading";   '
           'test -e /nonexist || { echo >&2 "error: $src is not the release: its SHA-256 is not the pinned abc"; '
           'exit 1; };   echo never')
_STEP_FAILED = [
    "#5 [2/3] RUN echo hello", "#5 0.872 hello", "#5 DONE 1.0s",
    "#6 [3/3] RUN " + _SCRIPT,
    "#6 0.357 + echo line 1", "#6 0.360 line 1", "#6 0.362 + echo line 3", "#6 0.363 line 3",
    "#6 0.363 + src=/tmp/x.tar.xz", "#6 0.374 + echo downloading", "#6 0.380 downloading",
    "#6 0.380 + test -e /nonexist",
    "#6 0.382 + echo error: /tmp/x.tar.xz is not the release: its SHA-256 is not the pinned abc",
    "#6 0.383 error: /tmp/x.tar.xz is not the release: its SHA-256 is not the pinned abc", "#6 0.383 + exit 1",
    "#6 ERROR: executor failed running [/bin/sh -c %s]: exit code: 1" % _SCRIPT,
    "------", " > [3/3] RUN %s:" % _SCRIPT, "0.380 downloading", "0.383 + exit 1", "------",
    "ERROR: failed to solve: executor failed running [/bin/sh -c %s]: exit code: 1" % _SCRIPT]


def test_a_failed_step_is_named_with_its_exit_code_and_what_it_printed():
    msg = _buildx.explain_failure("python:3.13", _STEP_FAILED, OLD)
    assert msg == (
        "python:3.13: docker buildx build failed on Docker 20.10.24+dfsg1: step [3/3] RUN set -eux; for i in 1 2 3; "
        "do echo line $i; done; src=/tmp/x.tar.xz; echo \"downloading\"; test -e /nonexist || {... exited with code 1; "
        "its last output: line 3 | downloading | error: /tmp/x.tar.xz is not the release: its SHA-256 is not the "
        "pinned abc")
    assert "echo never" not in msg  # the whole script is buildx's error, not the farm's
    # a step whose error has no exit code (a COPY of a file not in the context) says its error; a step that printed
    # only its trace quotes the trace
    copy = _buildx.failed_step(["#4 [2/2] COPY nope /nope",
                                "#4 ERROR: failed to compute cache key: \"/nope\" not found"])
    assert copy is not None and copy.describe() == (
        "step [2/2] COPY nope /nope failed: failed to compute cache key: \"/nope\" not found")
    traced = _buildx.failed_step(["#7 [3/3] RUN set -x; false", "#7 0.1 + false",
                                  "#7 ERROR: process \"/bin/sh -c set -x; false\" did not complete successfully: "
                                  "exit code: 2"])
    assert traced is not None and traced.describe() == (
        "step [3/3] RUN set -x; false exited with code 2; its last output: + false")
    assert _buildx.failed_step(_CONTEXTS) is None  # no step failed: the frontend did


def test_the_failed_step_is_followed_past_the_log_tail(tmp_path):
    # a real process printing as buildx does: the step's lines, then more lines than the tail keeps (a newer
    # BuildKit's Dockerfile excerpt)
    error = "process \"/bin/sh -c ./configure && make\" did not complete successfully: exit code: 77"
    printed = (["#6 [3/3] RUN ./configure && make", "#6 1.5 checking for gcc... no",
                "#6 1.6 configure: error: no C compiler", "#6 ERROR: " + error]
               + ["  %d | filler" % n for n in range(_buildx.LOG_TAIL + 5)] + ["ERROR: failed to solve: " + error])
    script = tmp_path / "fake-buildx.sh"
    script.write_text("cat >/dev/null\n" + "".join("echo %s\n" % _quote(line) for line in printed) + "exit 1\n")

    def context(fh) -> None:
        fh.write(b"context")

    rc, tail, failed = _buildx.run_buildx(["sh", str(script)], context, {"PATH": "/bin:/usr/bin"}, cwd=str(tmp_path))
    assert rc == 1 and len(tail) == _buildx.LOG_TAIL and not any(line.startswith("#6") for line in tail)
    assert failed is not None and failed.describe() == (
        "step [3/3] RUN ./configure && make exited with code 77; its last output: checking for gcc... no | "
        "configure: error: no C compiler")
    assert "configure: error: no C compiler" in _buildx.explain_failure("app:1.0", tail, OLD, failed)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def test_pin_tags_are_content_addressed_local_tags():
    assert _buildx.pin_tag("debian:trixie-slim", ID) == "buildfarm-pin/debian:" + "ab" * 32
    assert _buildx.pin_tag("127.0.0.1:5000/amd64/busybox:1.35.0-glibc", ID) == (
        "buildfarm-pin/127-0-0-1-5000-amd64-busybox:" + "ab" * 32)
    assert _buildx.pin_tag("busybox@sha256:" + "cd" * 32, ID) == "buildfarm-pin/busybox:" + "ab" * 32
    with pytest.raises(_buildx.BuildkitError, match="not an image id"):
        _buildx.pin_tag("debian", "would-build:debian")


def test_input_digest_covers_the_builder(tmp_path):
    (tmp_path / "f").write_text("x")

    def digest(builder: str) -> str:
        return BuildInputs("linux/amd64", "Dockerfile", "FROM %s\n" % ID, scan_context([str(tmp_path)]),
                           {"debian": ID}, builder=builder).digest()

    assert len({digest("buildkit"), digest("classic")}) == 2  # a family switching builders is rebuilt
    # classic keeps the digest it had before builders counted (its images stay unchanged)
    assert digest("classic") == BuildInputs("linux/amd64", "Dockerfile", "FROM %s\n" % ID,
                                            scan_context([str(tmp_path)]), {"debian": ID}).digest()
    assert digest("buildkit") == digest("buildkit")


def test_the_tar_carries_the_dockerfile_buildkit_builds(tmp_path):
    (tmp_path / "run.sh").write_text("echo\n")
    inputs = BuildInputs("linux/amd64", "Dockerfile.x", "FROM %s\n" % ID, scan_context([str(tmp_path)]))
    buf = io.BytesIO()
    inputs.write_tar(buf, "FROM buildfarm-pin/debian:%s\n" % ("ab" * 32))
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        member = tar.extractfile("Dockerfile.x")
        assert member is not None and member.read().decode() == "FROM buildfarm-pin/debian:%s\n" % ("ab" * 32)
        assert sorted(tar.getnames()) == ["Dockerfile.x", "run.sh"]
    with tarfile.open(fileobj=inputs.tar()) as tar:  # the default: the pinned Dockerfile, as classic builds it
        member = tar.extractfile("Dockerfile.x")
        assert member is not None and member.read().decode() == "FROM %s\n" % ID


def _never():
    raise AssertionError("planning must not talk to the engine")


def _share(tmp_path, builder, arch="amd64"):
    (tmp_path / "1.0").mkdir(exist_ok=True)
    (tmp_path / "1.0" / "Dockerfile").write_text("FROM scratch\n")
    entry = Entry(tags=["1.0"], architectures=[arch], directory="1.0", builder=builder, repo="app")
    return FamilyShare("app", str(tmp_path), [entry])


def test_every_entry_gets_its_normalized_builder_before_anything_is_built(tmp_path):
    assert ReleaseBuilder([_share(tmp_path, "")], BuildSettings("amd64", "", "amd64"), _never).builders == {
        "app:1.0": "buildkit"}
    assert ReleaseBuilder([_share(tmp_path, "classic")], BuildSettings("amd64", "", "amd64"), _never).builders == {
        "app:1.0": "classic"}
    with pytest.raises(BuildInputError) as err:
        ReleaseBuilder([_share(tmp_path, "kaniko")], BuildSettings("amd64", "", "amd64"), _never)
    assert str(err.value).startswith("app: entry app:1.0: field builder: unknown builder") and "'kaniko'" in str(
        err.value)


def test_the_image_of_a_per_architecture_index():
    image = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "1" * 64,
             "platform": {"os": "linux", "architecture": "amd64"}}
    attestation = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "2" * 64,
                   "platform": {"os": "unknown", "architecture": "unknown"}}
    assert _index_image({"manifests": [image, attestation]}) == "sha256:" + "1" * 64
    assert _index_image({"manifests": [attestation, image]}) == "sha256:" + "1" * 64
    assert _index_image({"manifests": [attestation]}) == ""
    nested = dict(image, mediaType="application/vnd.oci.image.index.v1+json")
    assert _index_image({"manifests": [nested]}) == ""  # an index of indexes is no per-architecture tag


def test_a_cli_without_buildx_is_named():
    # docker 20.10's CLI without the plugin, and a newer one
    for out in (["docker: 'buildx' is not a docker command.", "See 'docker --help'"],
                ["unknown flag: --builder", "See 'docker --help'."]):
        assert _buildx.explain_failure("app:1.0", out, OLD).startswith(
            "app:1.0: the docker CLI on this builder has no buildx plugin (Builder buildkit needs it; role builder "
            "installs docker-buildx)")
