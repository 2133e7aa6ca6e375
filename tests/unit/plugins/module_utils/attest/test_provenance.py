"""The provenance attestation (attest/provenance.py): its input read from a real release bundle (made by
release/batch.py from the repository's python family, a library file built from Git and the debian family planned
from a Release file served over HTTP), and the statement's shape: in-toto Statement v0.1, SLSA provenance v0.2 as
BuildKit writes it, the subject's digest."""
from __future__ import annotations

import http.server
import io
import json
import pathlib
import shutil
import subprocess
import tarfile
import threading

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.attest.errors import AttestationError
from ansible_collections.buildfarm.images.plugins.module_utils.attest.provenance import (
    BUILD_TYPE,
    DEFAULT_BUILDER_ID,
    SLSA_PREDICATE,
    ProvenanceInput,
    default_builder_id,
    provenance_input,
    provenance_statement,
)
from ansible_collections.buildfarm.images.plugins.module_utils.attest.sbom import STATEMENT_TYPE
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_rootfs import make_rootfs, rootfs_dest
from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import open_bundle
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.release import batch

REPO = pathlib.Path(__file__).resolve().parents[5]
PARENTS = REPO / "tests" / "unit" / "fixtures" / "families" / "parents"
LOCAL_VERSIONS = REPO / "inventories" / "local-files" / "python-versions.json"
MIRROR = "http://172.17.0.1:8791/ftp/python"
SUBJECT = "sha256:" + "ab" * 32
PARENT_DIGEST = "sha256:" + "cd" * 32
KEY = "python:3.13.5-slim-trixie"


def _item(**kw):
    item = {"key": KEY, "status": "built", "builder": "buildkit", "started": "2026-12-07T01:00:00Z",
            "finished": "2026-12-07T01:20:00Z", "image_id": "sha256:" + "ee" * 32,
            "parents": [{"name": "debian:trixie-slim", "key": "", "image_id": "sha256:" + "99" * 32,
                         "digest": PARENT_DIGEST}]}
    item.update(kw)
    return item


@pytest.fixture
def python_bundle(tmp_path):
    """The release bundle of python 3.13-slim-trixie as the local default releases it: its pinned versions file
    and the source mirror as PYTHON_SOURCE_URL."""
    families = tmp_path / "families"
    shutil.copytree(REPO / "families" / "python", families / "python")
    release = batch.prepare(str(families), ["python"], ["amd64"], parents_dir=str(PARENTS), overrides={
        "python": {"versions_file": str(LOCAL_VERSIONS), "variants": ["slim-trixie"],
                   "build_args": {"PYTHON_SOURCE_URL": MIRROR}}})
    return batch.write(release, str(tmp_path / "work"), str(tmp_path / "artifacts")).bundle


def test_provenance_input_of_a_family_entry(python_bundle, tmp_path):
    inp = provenance_input(python_bundle, str(tmp_path / "builder"), KEY, "amd64", _item(), "")
    assert inp.builder_id == DEFAULT_BUILDER_ID and inp.build_type == BUILD_TYPE
    assert (inp.arch, inp.repo, inp.key, inp.variant, inp.builder) == ("amd64", "python", KEY, "slim-trixie",
                                                                       "buildkit")
    assert inp.tags[:3] == ["3.13.5-slim-trixie", "3.13-slim-trixie", "3.13.5-slim"]
    assert inp.recipe["kind"] == "family" and inp.recipe["name"] == "python"
    assert inp.recipe["source"] == "https://github.com/docker-library/python.git"
    assert inp.recipe["directory"] == "families/python" and inp.recipe["file"] == "Dockerfile-linux.j2"
    assert inp.recipe["rendered"] == "3.13/slim-trixie/Dockerfile"
    assert inp.build_args == {"PYTHON_SOURCE_URL": MIRROR}
    assert inp.sources == [{
        "name": "python", "version": "3.13.5",
        "url": "https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz",
        "sha256": json.loads(LOCAL_VERSIONS.read_text())["3.13"]["checksums"]["source"]["sha256"],
        "signing_key": "7169605F62C751356D054A26A821E680E5FA6305",
        "purl": "pkg:generic/python@3.13.5?download_url=https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz",
        "download_location": MIRROR + "/3.13.5/Python-3.13.5.tar.xz",
    }]
    assert inp.parents == [{"name": "debian:trixie-slim", "digest": PARENT_DIGEST, "image_id": "sha256:" + "99" * 32,
                            "key": ""}]
    assert inp.rootfs == [] and inp.git_commits == []
    assert (inp.started, inp.finished) == ("2026-12-07T01:00:00Z", "2026-12-07T01:20:00Z")


def test_provenance_statement_shape(python_bundle, tmp_path):
    inp = provenance_input(python_bundle, str(tmp_path / "builder"), KEY, "amd64", _item(),
                           default_builder_id("builder-1"))
    st = provenance_statement("pkg:docker/amd64/python@3.13.5-slim-trixie?platform=linux%2Famd64", SUBJECT, inp)
    assert st["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v0.1"
    assert st["predicateType"] == SLSA_PREDICATE == "https://slsa.dev/provenance/v0.2"
    assert st["subject"] == [{"name": "pkg:docker/amd64/python@3.13.5-slim-trixie?platform=linux%2Famd64",
                              "digest": {"sha256": "ab" * 32}}]
    pred = st["predicate"]
    assert pred["builder"] == {"id": DEFAULT_BUILDER_ID + "#builder-1"}
    assert pred["buildType"] == BUILD_TYPE
    inv = pred["invocation"]
    assert inv["configSource"]["uri"] == "https://github.com/docker-library/python.git"
    assert inv["configSource"]["entryPoint"] == "families/python/Dockerfile-linux.j2"
    assert inv["environment"] == {"platform": "linux/amd64"}
    params = inv["parameters"]
    assert params["family"] == "python" and params["variant"] == "slim-trixie"
    assert params["architecture"] == "amd64" and "3.13-slim-trixie" in params["tags"]
    assert params["args"] == {"PYTHON_SOURCE_URL": MIRROR} and params["builder"] == "buildkit"
    mats = {m["uri"]: m for m in pred["materials"]}
    parent = mats["pkg:docker/debian@trixie-slim?platform=linux%2Famd64"]
    assert parent["digest"] == {"sha256": "cd" * 32}
    src = mats["https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz"]
    assert src["digest"] == {"sha256": inp.sources[0]["sha256"]}
    assert src["annotations"]["signing_key"] == "7169605F62C751356D054A26A821E680E5FA6305"
    assert src["annotations"]["download_location"] == MIRROR + "/3.13.5/Python-3.13.5.tar.xz"
    meta = pred["metadata"]
    assert meta == {"buildStartedOn": "2026-12-07T01:00:00Z", "buildFinishedOn": "2026-12-07T01:20:00Z",
                    "completeness": {"parameters": True, "environment": True, "materials": True},
                    "reproducible": False}
    # JSON as it is published, the same bytes for the same input
    assert json.dumps(st, sort_keys=True) == json.dumps(provenance_statement(
        "pkg:docker/amd64/python@3.13.5-slim-trixie?platform=linux%2Famd64", SUBJECT, inp), sort_keys=True)


def test_a_parent_without_its_digest_makes_materials_incomplete(python_bundle, tmp_path):
    item = _item(parents=[{"name": "debian:trixie-slim", "key": "debian:trixie", "image_id": "sha256:" + "99" * 32,
                           "digest": ""}])
    st = provenance_statement("x", SUBJECT, provenance_input(python_bundle, str(tmp_path / "b"), KEY, "amd64", item,
                                                             "https://farm.example/builder"))
    assert st["predicate"]["builder"]["id"] == "https://farm.example/builder"
    assert st["predicate"]["metadata"]["completeness"]["materials"] is False
    parent = st["predicate"]["materials"][0]
    assert parent["digest"] == {} and parent["annotations"] == {"image_id": "sha256:" + "99" * 32}


def test_credentials_in_build_args_stay_out(python_bundle, tmp_path):
    item = _item(build_args={"PYTHON_SOURCE_URL": "https://user:secret@mirror.example/python"})
    inp = provenance_input(python_bundle, str(tmp_path / "b"), KEY, "amd64", item, "")
    text = json.dumps(provenance_statement("x", SUBJECT, inp))
    assert "secret" not in text and "https://mirror.example/python/3.13.5/Python-3.13.5.tar.xz" in text


@pytest.mark.parametrize("key, arch, match", [
    ("python:no-such-tag", "amd64", r"no entry python:no-such-tag in the release bundle"),
    (KEY, "s390x", r"not built for s390x"),
])
def test_unknown_entry_or_architecture_is_an_attestation_error(python_bundle, tmp_path, key, arch, match):
    with pytest.raises(AttestationError, match=match) as exc:
        provenance_input(python_bundle, str(tmp_path / "b"), key, arch, _item(), "")
    assert isinstance(exc.value, BuildfarmError) and key in str(exc.value)


def test_a_bad_subject_digest_is_named():
    with pytest.raises(AttestationError,
                       match=r"^image python:3: field subject_digest: not a sha256 digest \(value: 'sha256:12'\)$"):
        provenance_statement("x", "sha256:12", ProvenanceInput(builder_id="b", key="python:3"))


def test_not_a_bundle_is_an_attestation_error(tmp_path):
    bad = tmp_path / "release.tar"
    bad.write_bytes(b"not a tar")
    with pytest.raises(AttestationError, match="cannot read the release bundle"):
        provenance_input(str(bad), str(tmp_path / "b"), KEY, "amd64", _item(), "")


def _git(cwd: pathlib.Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


def test_a_library_file_entry_names_its_git_commit(tmp_path):
    src = tmp_path / "src" / "app"
    (src / "amd64").mkdir(parents=True)
    (src / "amd64" / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    _git(src, "init", "-q", "-b", "main")
    _git(src, "add", "-A")
    _git(src, "commit", "-q", "-m", "one")
    commit = _git(src, "rev-parse", "HEAD")
    lib = tmp_path / "library"
    lib.mkdir()
    (lib / "app").write_text("Maintainers: Team <team@example.org> (@team)\nGitRepo: ../src/app\n\n"
                             "Tags: 1.0, latest\nArchitectures: amd64\nGitCommit: %s\nDirectory: amd64\n" % commit)
    families = tmp_path / "families"
    families.mkdir()
    release = batch.prepare(str(families), [], ["amd64"], library_files=[str(lib / "app")],
                            git_cache_dir=str(tmp_path / "git"))
    bundle = batch.write(release, str(tmp_path / "work"), str(tmp_path / "artifacts")).bundle
    inp = provenance_input(bundle, str(tmp_path / "b"), "app:1.0", "amd64",
                           _item(key="app:1.0", builder="classic", parents=[]), "")
    assert inp.recipe["kind"] == "library" and inp.recipe["revision"] == commit
    assert inp.recipe["directory"] == "amd64" and inp.recipe["file"] == "Dockerfile"
    assert inp.recipe["library_file"] == str(lib / "app")
    assert inp.git_commits == [{"repo": inp.recipe["source"], "commit": commit}] and inp.recipe["source"]
    pred = provenance_statement("app", SUBJECT, inp)["predicate"]
    assert pred["invocation"]["configSource"]["digest"] == {"sha1": commit}
    assert pred["invocation"]["configSource"]["entryPoint"] == "amd64/Dockerfile"
    assert pred["invocation"]["parameters"]["library"] == str(lib / "app")
    git = [m for m in pred["materials"] if m["uri"].startswith("git+")]
    assert git == [{"uri": "git+%s@%s" % (inp.recipe["source"], commit), "digest": {"sha1": commit}}]
    assert pred["metadata"]["completeness"]["materials"] is True  # FROM scratch: nothing missing


RELEASE = """Origin: Debian
Label: Debian
Suite: stable
Version: 13.8
Codename: trixie
Date: Sat, 21 Nov 2026 09:15:44 UTC
Architectures: all amd64 arm64 s390x
Components: main
"""


@pytest.fixture
def mirror(tmp_path):
    """A Debian archive's dists/ served over real HTTP on loopback."""
    root = tmp_path / "mirror"
    for suite, text in (("trixie", RELEASE), ("bookworm", RELEASE.replace("13.8", "12.13")
                                              .replace("trixie", "bookworm").replace("stable", "oldstable"))):
        (root / "dists" / suite).mkdir(parents=True)
        (root / "dists" / suite / "Release").write_text(text)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def test_a_root_filesystem_names_its_release_file(tmp_path, mirror):
    root, url = mirror
    families = tmp_path / "families"
    shutil.copytree(REPO / "families" / "debian", families / "debian")
    release = batch.prepare(str(families), ["debian"], ["amd64"], debian_mirror=url)
    bundle = batch.write(release, str(tmp_path / "work"), str(tmp_path / "artifacts")).bundle
    release_sha = __import__("hashlib").sha256((root / "dists/trixie/Release").read_bytes()).hexdigest()
    item = _item(key="debian:trixie-slim", parents=[{"name": "scratch", "key": "", "image_id": "", "digest": ""}])

    # no record on this builder (made elsewhere, or by an older collection): the release's plan, whose Release
    # file the builder checks before it makes anything, and the mirror the controller read it from
    inp = provenance_input(bundle, str(tmp_path / "builder"), "debian:trixie-slim", "amd64", item, "")
    assert inp.rootfs == [{"suite": "trixie", "version": "13.8", "release_sha256": release_sha, "mirror": url,
                           "url": url + "/dists/trixie/Release", "arch": "amd64"}]

    # the builder's record beside its root filesystems (make_rootfs's stamp), with the builder's own mirror
    family, _entry = open_bundle(bundle, str(tmp_path / "builder")).release.entry("debian:trixie-slim")
    spec = family.context["debian_rootfs"]
    cache = tmp_path / "cache"
    dest = rootfs_dest(str(cache), spec, "amd64")

    def bootstrap(argv, cwd):  # stands in for mmdebstrap (tests/integration/chain runs the real one)
        with tarfile.open(argv[-2], "w") as tar:
            info = tarfile.TarInfo("./etc/debian_version")
            info.size = 4
            tar.addfile(info, io.BytesIO(b"13.8"))
        return 0, "", ""

    make_rootfs(bootstrap, spec, ["trixie/slim"], "amd64", dest, mirror=url + "/", security="")
    inp = provenance_input(bundle, str(tmp_path / "builder"), "debian:trixie-slim", "amd64", item, "",
                           cache_dir=str(cache))
    assert inp.rootfs[0]["mirror"] == url + "/" and inp.rootfs[0]["release_sha256"] == release_sha
    pred = provenance_statement("debian", SUBJECT, inp)["predicate"]
    assert pred["materials"] == [{"uri": url + "/dists/trixie/Release", "digest": {"sha256": release_sha},
                                  "annotations": {"suite": "trixie", "version": "13.8"}}]
    assert pred["metadata"]["completeness"]["materials"] is True
