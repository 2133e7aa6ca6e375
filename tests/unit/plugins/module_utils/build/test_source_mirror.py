"""The source mirror and key server: OpenPGP fingerprints read in Python agree with gpg's, the Sources index is
read as Debian writes it, and the server answers python.org's paths, HKP lookups and the keyring gpg's http
keyserver scheme fetches (a real server on loopback). Filling from the real archive runs in tests/integration/chain.
"""
from __future__ import annotations

import io
import lzma
import os
import shutil
import subprocess
import tarfile
import threading
import urllib.error
import urllib.request

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.source_mirror import (
    MirrorError,
    fill_python,
    fingerprints,
    parse_sources,
    server,
)

pytestmark = pytest.mark.skipif(not shutil.which("gpg"), reason="needs gpg")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two throw-away keys made by gpg: (armored block of both, their fingerprints as gpg prints them)."""
    home = tmp_path_factory.mktemp("gnupg")
    env = dict(os.environ, GNUPGHOME=str(home))
    for uid, algo in (("Release Manager <rm@example.invalid>", "rsa2048"), ("Other <o@example.invalid>", "ed25519")):
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, algo, "sign", "1d"],
                       env=env, check=True, capture_output=True)
    armored = subprocess.run(["gpg", "--batch", "--armor", "--export"], env=env, check=True, capture_output=True,
                             text=True).stdout
    listing = subprocess.run(["gpg", "--batch", "--with-colons", "--list-keys"], env=env, check=True,
                             capture_output=True, text=True).stdout.splitlines()
    fprs = [ln.split(":")[9] for i, ln in enumerate(listing)
            if ln.startswith("fpr:") and listing[i - 1].startswith("pub:")]
    subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)
    return armored, fprs


def test_fingerprints_agree_with_gpg(keys):
    armored, fprs = keys
    assert len(fprs) == 2
    assert fingerprints(armored) == fprs


def test_fingerprints_of_garbage_is_an_error():
    with pytest.raises(MirrorError, match="not an armored OpenPGP public key block"):
        fingerprints("hello")


SOURCES = """Package: python3.13
Binary: python3.13
Version: 3.13.5-2
Directory: pool/main/p/python3.13
Checksums-Sha256:
 aaaa 100 python3.13_3.13.5-2.dsc
 bbbb 200 python3.13_3.13.5.orig.tar.xz
 cccc 10 python3.13_3.13.5.orig.tar.xz.asc
 dddd 20 python3.13_3.13.5-2.debian.tar.xz

Package: python3.12
Version: 3.12.9-1
Directory: pool/main/p/python3.12
"""


def test_parse_sources_finds_the_upstream_version():
    src = parse_sources(SOURCES, "python3.13", "3.13.5")
    assert (src.version, src.directory) == ("3.13.5-2", "pool/main/p/python3.13")
    assert src.files["python3.13_3.13.5.orig.tar.xz.asc"] == "cccc"
    with pytest.raises(MirrorError, match=r"python3.13 3.13.4 is not in the suite \(versions there: 3.13.5-2\)"):
        parse_sources(SOURCES, "python3.13", "3.13.4")


def _archive(keys_text: str) -> dict[str, bytes]:
    """A Debian archive with one source package, as URL path -> bytes."""
    import hashlib
    tarball, sig = b"the release", b"-----BEGIN PGP SIGNATURE-----\n"
    deb = io.BytesIO()
    with tarfile.open(fileobj=deb, mode="w:xz") as tar:
        data = keys_text.encode()
        info = tarfile.TarInfo("debian/upstream/signing-key.asc")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    files = {"python3.13_3.13.5.orig.tar.xz": tarball, "python3.13_3.13.5.orig.tar.xz.asc": sig,
             "python3.13_3.13.5-2.debian.tar.xz": deb.getvalue()}
    index = "Package: python3.13\nVersion: 3.13.5-2\nDirectory: pool/main/p/python3.13\nChecksums-Sha256:\n" + "".join(
        " %s %d %s\n" % (hashlib.sha256(b).hexdigest(), len(b), n) for n, b in files.items())
    out = {"/dists/trixie/main/source/Sources.xz": lzma.compress(index.encode())}
    out.update({"/pool/main/p/python3.13/" + n: b for n, b in files.items()})
    return out


@pytest.fixture()
def serve_archive(tmp_path):
    """Serve an archive (URL path -> bytes) over real HTTP on loopback; returns the mirror URL."""
    import http.server
    servers = []

    def start(archive: dict[str, bytes]) -> str:
        root = tmp_path / "archive"
        for path, data in archive.items():
            (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (root / path.lstrip("/")).write_bytes(data)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(root), **kw)

            def log_message(self, *a):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return "http://127.0.0.1:%d" % httpd.server_address[1]

    yield start
    for httpd in servers:
        httpd.shutdown()


def test_fill_and_serve(tmp_path, keys, serve_archive):
    armored, fprs = keys
    mirror = serve_archive(_archive(armored))
    got = fill_python(str(tmp_path), "3.13.5", mirror=mirror)
    assert got.changed and got.fingerprints == fprs and got.debian_version == "3.13.5-2"
    assert (tmp_path / "ftp/python/3.13.5/Python-3.13.5.tar.xz").read_bytes() == b"the release"
    again = fill_python(str(tmp_path), "3.13.5", mirror=mirror)
    assert not again.changed

    httpd = server(str(tmp_path), "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % httpd.server_address[1]
    try:
        with urllib.request.urlopen(base + "/ftp/python/3.13.5/Python-3.13.5.tar.xz") as r:
            assert r.read() == b"the release"
        with urllib.request.urlopen(base + "/pks/lookup?op=get&options=mr&search=0x" + fprs[0].lower()) as r:
            assert fingerprints(r.read().decode()) == fprs
        with urllib.request.urlopen(base + "/pks/keys.asc") as r:
            assert fingerprints(r.read().decode()) == fprs
        for path, code in (("/pks/lookup?op=get&search=0x" + "0" * 40, 404), ("/pks/lookup?op=index&search=x", 400),
                           ("/mirror.pid", 404)):
            with pytest.raises(urllib.error.HTTPError) as exc:
                urllib.request.urlopen(base + path)
            assert exc.value.code == code
    finally:
        httpd.shutdown()


def test_a_tarball_unlike_the_index_is_refused(tmp_path, keys, serve_archive):
    archive = _archive(keys[0])
    archive["/pool/main/p/python3.13/python3.13_3.13.5.orig.tar.xz"] += b"!"
    mirror = serve_archive(archive)
    with pytest.raises(MirrorError, match=r"python3.13_3.13.5.orig.tar.xz does not have the SHA-256 of the suite's "
                                          r"Sources index"):
        fill_python(str(tmp_path / "out"), "3.13.5", mirror=mirror)
    assert not (tmp_path / "out").exists()
