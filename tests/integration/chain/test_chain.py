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

from ansible_collections.buildfarm.images.tests.support import browser, report_page
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


def _page(chain, name: str, unfold: bool = False) -> dict:
    """The page the last release wrote, at 1280 and 400 px (no sideways scrolling), screenshots kept under
    tests/output/report-page/chain-<name>-<width>.png; {} where chromium is not installed."""
    if not browser.available():
        print("chromium is not installed: the report page of the chain is not looked at")
        return {}
    return report_page.look(chain.root / "artifacts", "chain-" + name, unfold)


def _what_changed(view) -> str:
    assert "What changed" in view.probe["changes"], view.probe["changes"][:500]
    return view.probe["changes"]


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
    # what python was built from, as the report names it: the tarball the family declares (version, SHA-256 of
    # the python-versions.json the release used) and debian:trixie-slim by the image it was built FROM
    py = next(i for i in run.report["images"] if i["key"] == PY_KEY and i["arch"] == "amd64")
    assert [(s["name"], s["version"]) for s in py["sources"]] == [("python", "3.13.5")], py["sources"]
    assert len(py["sources"][0]["sha256"]) == 64 and py["sources"][0]["url"].endswith("Python-3.13.5.tar.xz")
    assert [p["name"] for p in py["parents"]] == ["debian:trixie-slim"] and py["parents"][0]["image_id"]
    # a long build was followed: the play printed what was building. "built" alone does not make it long: on an
    # engine whose BuildKit cache holds this very build (an earlier run of the same recipe) it takes a second
    if amd64[PY_KEY]["status"] == "built" and times[(PY_KEY, "amd64")]["seconds"] > 30:
        assert any("building %s" % PY_KEY in m for m in run.progress("builder-amd64"))

    # the page as a person sees it: the JSON's counts, python's matrix with its one column, amd64, each cell the
    # member's status word and short digest, and links to the README and library file the release wrote
    for view in _page(chain, "first").values():
        report_page.check_summary(view, run.report)
        report_page.check_matrix(view, run.report, "python", ["amd64"])
        report_page.check_links(view, chain.root / "artifacts", "python")
        report_page.check_matrix(view, run.report, "debian", ["amd64", "arm64v8", "s390x"])
        assert "no previous release to compare with" in _what_changed(view)


def test_an_unchanged_release_changes_nothing(chain, first_release):
    assert first_release.rc == 0
    second = chain.release()
    assert second.rc == 0, second.messages()[-3000:]
    print("unchanged release of the chain: %.0f s" % second.seconds)
    assert set(second.changed().values()) == {0}, second.changed()
    assert {i["status"] for i in second.images("builder-amd64").values()} == {"unchanged"}
    assert second.report["changes"]["nothing_changed"] is True, second.report["changes"]["summary"]
    for view in _page(chain, "unchanged").values():
        report_page.check_summary(view, second.report)
        assert "nothing changed" in _what_changed(view)
        assert not view.probe["rebuilt"]


# what a tag can be: an image manifest (docker or OCI) or, as the farm pushes per-architecture tags, an OCI index
MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"])


def _manifest(chain, repo: str, reference: str) -> requests.Response:
    r = requests.get("http://%s/v2/%s/manifests/%s" % (chain.registry, repo, reference),
                     headers={"Accept": MANIFEST_TYPES}, timeout=10)
    r.raise_for_status()
    return r


def _tag_digest(chain, repo: str, tag: str) -> str:
    """The digest a tag serves (the index a per-architecture tag is)."""
    return _manifest(chain, repo, tag).headers["Docker-Content-Digest"]


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


def _fails_and_pushes_nothing(chain, first_release, tmp_path, break_it, message: str, name: str) -> None:
    assert first_release.rc == 0
    pushed = _tag_digest(chain, "amd64/python", "3.13.5-slim-trixie")
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
    after = _tag_digest(chain, "amd64/python", "3.13.5-slim-trixie")
    assert after == pushed  # the published image is still the verified one
    # the page names the failure (the JSON's message: the build's error) and its host in the summary, and python's
    # amd64 cell says failed
    failure = next(f for f in run.report["failures"] if f["key"] == PY_KEY and f["arch"] == "amd64")
    assert failure["host"] == "builder-amd64" and failure["stage"] == "build" and failure["message"], failure
    for view in _page(chain, name).values():
        report_page.check_summary(view, run.report)
        report_page.check_failure(view, "builder-amd64", PY_KEY, failure["message"])
        assert "failed" in view.probe["matrix"]["python"]["rows"]["3.13.5-slim-trixie"][1]


def test_a_tampered_tarball_fails_the_build_and_pushes_nothing(chain, first_release, tmp_path):
    def tamper(folder: pathlib.Path) -> None:
        with open(folder / "Python-3.13.5.tar.xz", "ab") as fh:
            fh.write(b"\0")

    _fails_and_pushes_nothing(chain, first_release, tmp_path, tamper,
                              "is not the release: its SHA-256 is not the pinned", "tampered")


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
                              "is not a good signature by the release manager's key", "other-key")


def _image_id(chain, repo: str, tag: str) -> str:
    """The config digest (the image id) of the image a tag serves: the same image whatever blobs a push made. A
    per-architecture tag is an OCI index (the image manifest first, then its attestation): its first manifest's."""
    doc = _manifest(chain, repo, tag).json()
    if "manifests" in doc:
        doc = _manifest(chain, repo, doc["manifests"][0]["digest"]).json()
    return doc["config"]["digest"]


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

    # "What changed" on the page: debian and python rebuilt (python because its parent debian:trixie-slim did),
    # debian's members old -> new digest, python's new digest (old -> new, or only new when the release before
    # was a failed python build); each as the JSON's changes say
    ch = run.report["changes"]
    rebuilt = {(r["key"], r["arch"]): r for r in ch["rebuilt"]}
    assert {(SLIM_KEY, "amd64"), (SLIM_KEY, "arm64v8"), (PY_KEY, "amd64")} <= set(rebuilt), sorted(rebuilt)
    assert any("debian:trixie-slim" in why for why in rebuilt[(PY_KEY, "amd64")]["reasons"]), rebuilt[(PY_KEY, "amd64")]
    debian = [m for m in ch["digests_changed"] if m["repository"] == "debian" and m["tag"] == "trixie-slim"]
    assert {m["arch"] for m in debian} == {"amd64", "arm64v8"}, ch["digests_changed"]
    py = [m for m in ch["digests_changed"] + ch["members_added"]
          if m["repository"] == "python" and m["tag"] == "3.13.5-slim-trixie"]
    assert [m["new"] for m in py] == [next(r for r in run.report["rows"] if r["repository"] == "python" and
                                           r["tag"] == "3.13.5-slim-trixie")["architectures"]["amd64"]["digest"]]
    for width, view in _page(chain, "debian-changed", unfold=True).items():
        report_page.check_summary(view, run.report)  # the headline ends with the changes' summary
        section = _what_changed(view)
        assert "Images rebuilt and why" in section and "Members whose digest changed" in section
        shown = {tuple(r[:2]): r[2] for r in view.probe["rebuilt"]}
        for key in ((SLIM_KEY, "amd64"), (SLIM_KEY, "arm64v8"), (PY_KEY, "amd64")):
            assert key in shown, (width, sorted(shown))
            assert all(why in shown[key] for why in rebuilt[key]["reasons"]), (width, key, shown[key])
        # Tag, Architecture, Change, Old, New
        members = {(r[0], r[1]): r for r in view.probe["members"]}
        for m in debian + py:
            cells = members.get(("%s:%s" % (m["repository"], m["tag"]), m["arch"]))
            assert cells, (width, m, sorted(members))
            assert cells[3:] == [report_page.short(m.get("old", "")), report_page.short(m["new"])], (width, cells, m)

    back = chain.release()
    assert back.rc == 0, back.messages()[-3000:]
    assert {i["status"] for i in back.images("builder-amd64").values()} == {"unchanged"}
    # the tag serves the image built before again (an engine's push may compress its layers anew: the manifest
    # digest can differ, the image cannot)
    assert _image_id(chain, "amd64/python", "3.13.5-slim-trixie") == before
