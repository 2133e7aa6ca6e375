"""debian -> python on the local default, end to end: the root filesystems from the Debian archive, CPython 3.13.5
built FROM the debian:trixie-slim just built and verified as production verifies it (pinned SHA-256, signature by
the release manager's fingerprint), the official-images checks, the lists (debian's bookworm with s390x, built and
smoke-tested under qemu); an unchanged release changes nothing;
a tampered tarball or a signature by another key fails the build clearly and pushes nothing; a debian change
makes python a build again."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import uuid

import pytest
import requests

from ansible_collections.buildfarm.images.tests.support.chain_families import debian_changed
from ansible_collections.buildfarm.images.tests.support.ports import free_port

REPO = pathlib.Path(__file__).resolve().parents[3]

# The chain builds Debian root filesystems (one under qemu) and CPython from source. In `make test` CPython is built
# without PGO and LTO (PYTHON_OPTIMIZE=0, see conftest.py); `make test-chain` builds it as production does (~45 min).
pytestmark = [pytest.mark.integration]

PY_KEY = "python:3.13.5-slim-trixie"
SLIM_KEY = "debian:trixie-slim"


def _docker(*args: str) -> str:
    proc = subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_first_release_builds_debian_then_python_from_it(chain, first_release):
    run = first_release
    assert run.rc == 0, run.messages()[-4000:]
    print("first release of the chain: %.0f s" % run.seconds)
    amd64 = run.images("builder-amd64")
    assert amd64[PY_KEY]["status"] in ("built", "unchanged"), amd64[PY_KEY]
    assert run.images("builder-arm64v8")[SLIM_KEY]["status"] in ("built", "unchanged")
    assert PY_KEY not in run.images("builder-arm64v8")  # the inventory restricts python to amd64

    python = "%s/library/python:3.13-slim-trixie" % chain.registry
    out = _docker("run", "--rm", "--pull", "always", python, "python3", "-c",
                  'import ssl, sqlite3; print(__import__("sys").version)')
    assert out.startswith("3.13.5 "), out
    arch = _docker("run", "--rm", "--pull", "always", "--platform", "linux/arm64",
                   "%s/library/debian:trixie-slim" % chain.registry, "dpkg", "--print-architecture")
    assert arch == "arm64"
    # python is FROM the debian:trixie-slim this release built: its first layer is that image's only layer
    slim_layers = json.loads(_docker("image", "inspect", "-f", "{{json .RootFS.Layers}}",
                                     "%s/amd64/debian:trixie-slim" % chain.registry))
    py_layers = json.loads(_docker("image", "inspect", "-f", "{{json .RootFS.Layers}}",
                                   "%s/amd64/python:3.13-slim-trixie" % chain.registry))
    assert py_layers[:len(slim_layers)] == slim_layers and len(py_layers) > len(slim_layers)

    assert chain.platforms("library/python", "3.13-slim") == {"linux/amd64"}
    assert chain.platforms("library/debian", "trixie-slim") == {"linux/amd64", "linux/arm64/v8"}
    assert chain.platforms("library/debian", "latest") == {"linux/amd64", "linux/arm64/v8"}
    # bookworm for s390x as well (the local default's override: its mirror lacks trixie's s390x point release)
    three = {"linux/amd64", "linux/arm64/v8", "linux/s390x"}
    assert chain.platforms("library/debian", "bookworm") == chain.platforms("library/debian", "12-slim") == three
    point = [r["tag"] for r in run.report["rows"] if r["tag"].startswith("12.")]
    assert point and all(chain.has_tag("library/debian", t) for t in point), point
    out = _docker("run", "--rm", "--pull", "always", "--platform", "linux/s390x",
                  "%s/library/debian:bookworm-slim" % chain.registry, "sh", "-c",
                  "dpkg --print-architecture; cat /etc/debian_version;"
                  " find /usr/share/doc /usr/share/man -type f ! -name copyright | wc -l")
    arch, version, docs = out.split()
    assert arch == "s390x" and version.startswith("12.")
    assert docs == "0"  # slim: of the docs and man pages only the copyright files stay
    times = {(t["key"], t["arch"]): t for t in run.report["build_times"]}
    assert (PY_KEY, "amd64") in times and (SLIM_KEY, "arm64v8") in times
    if amd64[PY_KEY]["status"] == "built":  # a long build was followed: the play printed what was building
        assert any("building %s" % PY_KEY in m for m in run.progress("builder-amd64"))
        assert times[(PY_KEY, "amd64")]["seconds"] > 60


def test_an_unchanged_release_changes_nothing(chain, first_release):
    assert first_release.rc == 0
    second = chain.release()
    assert second.rc == 0, second.messages()[-3000:]
    print("unchanged release of the chain: %.0f s" % second.seconds)
    assert set(second.changed().values()) == {0}, second.changed()
    assert {i["status"] for i in second.images("builder-amd64").values()} == {"unchanged"}


def _bad_mirror(tmp_path: pathlib.Path, break_it) -> tuple[pathlib.Path, int]:
    good = REPO / ".cache" / "source-mirror"
    bad = tmp_path / "mirror"
    shutil.copytree(good / "ftp", bad / "ftp")
    shutil.copytree(good / "keys", bad / "keys")
    release = bad / "ftp" / "python" / "3.13.5"
    before = {p.name: p.read_bytes() for p in release.iterdir()}
    break_it(release)
    assert {p.name: p.read_bytes() for p in release.iterdir()} != before  # the fault is really there
    port = free_port(8792, 8799)
    return bad, port


def _fails_and_pushes_nothing(chain, first_release, tmp_path, break_it, message: str) -> None:
    assert first_release.rc == 0
    pushed = requests.head("http://%s/v2/amd64/python/manifests/3.13.5-slim-trixie" % chain.registry,
                           headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
                           timeout=10).headers["Docker-Content-Digest"]
    bad, port = _bad_mirror(tmp_path, break_it)
    host = chain.mirror_address()
    chain.start_mirror(bad, port, fill=False)  # as it is: filling would restore Debian's files
    try:
        # the local default's python build arguments are made from buildfarm_source_mirror
        run = chain.release(extra={"buildfarm_source_mirror": "http://%s:%d" % (host, port)})
    finally:
        chain.stop_mirror(bad)
    assert run.rc != 0
    py = run.images("builder-amd64")[PY_KEY]
    assert py["status"] == "failed"
    assert message in json.dumps(py), py
    cell = next(r for r in run.report["rows"] if r["tag"] == "3.13.5-slim-trixie")["architectures"]["amd64"]
    assert cell["push"] == ""  # nothing pushed
    after = requests.head("http://%s/v2/amd64/python/manifests/3.13.5-slim-trixie" % chain.registry,
                          headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
                          timeout=10).headers["Docker-Content-Digest"]
    assert after == pushed  # the published image is still the verified one


def test_a_tampered_tarball_fails_the_build_and_pushes_nothing(chain, first_release, tmp_path):
    def tamper(folder: pathlib.Path) -> None:
        with open(folder / "Python-3.13.5.tar.xz", "ab") as fh:
            fh.write(b"\0")

    _fails_and_pushes_nothing(chain, first_release, tmp_path, tamper,
                              "is not the release: its SHA-256 is not the pinned")


def test_a_signature_by_another_key_fails_the_build(chain, first_release, tmp_path):
    """The tarball is python.org's (its SHA-256 passes) but the .asc is a good signature by a key that is not the
    release manager's: the fingerprint of families/python is what counts."""
    def resign(folder: pathlib.Path) -> None:
        home = tempfile.mkdtemp(prefix="gnupg-", dir=str(tmp_path))
        env = dict(os.environ, GNUPGHOME=home)
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Mallory <m@example.invalid>",
                        "ed25519", "sign", "1d"], env=env, check=True, capture_output=True)
        sig = folder / "Python-3.13.5.tar.xz.asc"
        sig.unlink()
        subprocess.run(["gpg", "--batch", "--armor", "--detach-sign", "--output", str(sig),
                        str(folder / "Python-3.13.5.tar.xz")], env=env, check=True, capture_output=True)
        subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)

    _fails_and_pushes_nothing(chain, first_release, tmp_path, resign,
                              "is not a good signature by the release manager's key")


def _image_id(chain, repo: str, tag: str) -> str:
    """The config digest (the image id) of the image a tag serves: the same image whatever blobs a push made."""
    r = requests.get("http://%s/v2/%s/manifests/%s" % (chain.registry, repo, tag),
                     headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}, timeout=10)
    r.raise_for_status()
    return r.json()["config"]["digest"]


def test_a_debian_change_rebuilds_python_from_it(chain, first_release, tmp_path):
    """debian's recipe changed (a label), python's not: debian is built again (its root filesystems come from the
    cache, the archive is unchanged), python is built again FROM the new debian:trixie-slim (its image id is in
    python's input digest) and both are published; a release of the unchanged families then reuses the images
    built before (found by input digest) instead of building anything."""
    assert first_release.rc == 0
    before = _image_id(chain, "amd64/python", "3.13.5-slim-trixie")
    # a change of this run only: the same change made by an earlier run on this engine would find its images
    # (the farm reuses whatever has the input digest), and nothing would be built
    change = uuid.uuid4().hex
    families = debian_changed(tmp_path / "families", change)

    run = chain.release(extra={"buildfarm_families_dir": str(families)})
    assert run.rc == 0, run.messages()[-4000:]
    amd64 = run.images("builder-amd64")
    assert amd64[SLIM_KEY]["status"] == "built", amd64[SLIM_KEY]
    assert amd64[PY_KEY]["status"] == "built", amd64[PY_KEY]
    assert run.images("builder-arm64v8")[SLIM_KEY]["status"] == "built"
    assert _image_id(chain, "amd64/python", "3.13.5-slim-trixie") != before

    slim = "%s/amd64/debian:trixie-slim" % chain.registry
    python = "%s/amd64/python:3.13.5-slim-trixie" % chain.registry
    _docker("pull", slim)
    _docker("pull", python)
    assert _docker("image", "inspect", "-f", '{{index .Config.Labels "io.buildfarm.test"}}', slim) == change
    slim_layers = json.loads(_docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", slim))
    py_layers = json.loads(_docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", python))
    assert py_layers[:len(slim_layers)] == slim_layers
    # the new python is FROM the new debian: the label is inherited
    assert _docker("image", "inspect", "-f", '{{index .Config.Labels "io.buildfarm.test"}}', python) == change
    out = _docker("run", "--rm", python, "python3", "-c", 'print(__import__("sys").version)')
    assert out.startswith("3.13.5 "), out

    back = chain.release()
    assert back.rc == 0, back.messages()[-3000:]
    assert {i["status"] for i in back.images("builder-amd64").values()} == {"unchanged"}
    # the tag serves the image built before again (an engine's push may compress its layers anew: the manifest
    # digest can differ, the image cannot)
    assert _image_id(chain, "amd64/python", "3.13.5-slim-trixie") == before
