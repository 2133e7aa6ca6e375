# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A python.org source mirror and an HKP key server for builders without the internet, filled from Debian's source
packages.

Debian's archive carries CPython's upstream release tarballs byte for byte: `python3.13_3.13.5.orig.tar.xz` is
python.org's `Python-3.13.5.tar.xz`, with upstream's signature (`.orig.tar.xz.asc`) and the release manager's key
(`debian/upstream/signing-key.asc` of the `.debian.tar.xz`). ``fill`` lays them out as python.org does
(`<root>/ftp/python/3.13.5/Python-3.13.5.tar.xz` and `.asc`) plus the keys by fingerprint, each file checked
against the SHA-256 of the suite's Sources index; ``serve`` answers `GET /ftp/python/...`, HKP's
`GET /pks/lookup?op=get&search=0x<fingerprint>` and `GET /pks/keys.asc` (every key: gpg's http keyserver scheme),
so the python template's build arguments `PYTHON_SOURCE_URL` and `GPG_KEYSERVER` point at it and the build verifies
exactly as against python.org and keys.openpgp.org (`gpg --recv-keys <fingerprint>`, then the signature).

Nothing is trusted because it came from the mirror: the build still checks the pinned SHA-256 and the signature by
the fingerprint of the family's data. Plain typed Python (standard library only).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import io
import lzma
import os
import re
import struct
import sys
import tarfile
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_packages import _parse_deb822
from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_rootfs import (
    RootfsError,
    _fetch_url,
    archive_mirror,
)

Fetch = Callable[[str], bytes]
KEYS_DIR = "keys"
KEYRING_PATH = "/pks/keys.asc"
SIGNING_KEY = "debian/upstream/signing-key.asc"


class MirrorError(BuildfarmError, RuntimeError):
    """The mirror cannot be filled: names the package, the file and what is wrong."""


@dataclass(frozen=True)
class SourcePackage:
    package: str
    version: str  # Debian version, 3.13.5-2
    directory: str  # pool/main/p/python3.13
    files: dict[str, str]  # file name -> sha256


def parse_sources(text: str, package: str, upstream: str) -> SourcePackage:
    """The stanza of ``package`` whose upstream version is ``upstream`` in a Sources index."""
    found = []
    for st in _parse_deb822(text):
        if st.get("package") != package:
            continue
        version = st.get("version", "")
        if version.split(":", 1)[-1].rsplit("-", 1)[0] != upstream:
            found.append(version)
            continue
        files = {}
        for line in st.get("checksums-sha256", "").splitlines():
            parts = line.split()
            if len(parts) == 3:
                files[parts[2]] = parts[0]
        return SourcePackage(package, version, st.get("directory", ""), files)
    raise MirrorError("source package %s %s is not in the suite (versions there: %s)"
                      % (package, upstream, ", ".join(found) or "none"))


def _armor_body(text: str) -> bytes:
    lines = text.strip().splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.startswith("-----BEGIN PGP PUBLIC KEY BLOCK"))
    except StopIteration:
        raise MirrorError("not an armored OpenPGP public key block") from None
    body = []
    i = start + 1
    while i < len(lines) and lines[i].strip() and ":" in lines[i]:  # armor headers
        i += 1
    for ln in lines[i:]:
        ln = ln.strip()
        if not ln:
            continue
        if ln.startswith("=") or ln.startswith("-----END"):
            break
        body.append(ln)
    return base64.b64decode("".join(body))


def fingerprints(armored: str) -> list[str]:
    """The v4 fingerprints of the primary keys of an armored key block (RFC 4880 5.5.2 and 12.2: SHA-1 of 0x99,
    the two-byte length and the public-key packet body)."""
    data, pos, out = _armor_body(armored), 0, []
    while pos < len(data):
        tag_byte = data[pos]
        if not tag_byte & 0x80:
            raise MirrorError("malformed OpenPGP packet at byte %d" % pos)
        if tag_byte & 0x40:  # new format
            tag = tag_byte & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, hdr = first, 2
            elif first < 224:
                length, hdr = ((first - 192) << 8) + data[pos + 2] + 192, 3
            elif first == 255:
                length, hdr = struct.unpack(">I", data[pos + 2:pos + 6])[0], 6
            else:
                raise MirrorError("partial OpenPGP packet lengths are not used in keys")
        else:  # old format
            tag, ltype = (tag_byte >> 2) & 0x0F, tag_byte & 0x03
            size = {0: 1, 1: 2, 2: 4}.get(ltype)
            if size is None:
                raise MirrorError("indeterminate OpenPGP packet length")
            length = int.from_bytes(data[pos + 1:pos + 1 + size], "big")
            hdr = 1 + size
        body = data[pos + hdr:pos + hdr + length]
        if tag == 6 and body[:1] == b"\x04":  # public key, version 4
            out.append(hashlib.sha1(b"\x99" + struct.pack(">H", len(body)) + body).hexdigest().upper())  # noqa: S324
        pos += hdr + length
    return out


def _checked(fetch: Fetch, url: str, sha256: str) -> bytes:
    data = fetch(url)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise MirrorError("%s does not have the SHA-256 of the suite's Sources index (%s)" % (url, sha256))
    return data


def _write(path: str, data: bytes) -> bool:
    """Write ``data`` to ``path`` (whole, via a temporary file) unless it is already there; True when written."""
    try:
        with open(path, "rb") as fh:
            if fh.read() == data:
                return False
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as fh:
        fh.write(data)
    os.replace(path + ".tmp", path)
    return True


@dataclass
class Filled:
    changed: bool
    tarball: str
    sha256: str
    fingerprints: list[str]
    debian_version: str


def fill_python(root: str, version: str, suite: str = "trixie", mirror: str = "",
                fetch: Fetch = _fetch_url) -> Filled:
    """Lay out CPython ``version`` (3.13.5) from Debian's python<series> source package of ``suite``."""
    if not re.match(r"^\d+\.\d+\.\d+$", version):
        raise MirrorError("not a final CPython release version: %r" % (version,))
    series = ".".join(version.split(".")[:2])
    package = "python" + series
    try:
        mirror = (mirror or archive_mirror()[0]).rstrip("/")
        index = lzma.decompress(fetch("%s/dists/%s/main/source/Sources.xz" % (mirror, suite))).decode("utf-8")
    except (RootfsError, lzma.LZMAError) as exc:
        raise MirrorError("the Sources index of %s: %s" % (suite, exc)) from None
    src = parse_sources(index, package, version)
    orig = "%s_%s.orig.tar.xz" % (package, version)
    names = [n for n in src.files if n.endswith(".debian.tar.xz")]
    for need in (orig, orig + ".asc"):
        if need not in src.files:
            raise MirrorError("source package %s %s has no %s (files: %s)"
                              % (package, src.version, need, ", ".join(sorted(src.files))))
    if not names:
        raise MirrorError("source package %s %s has no .debian.tar.xz" % (package, src.version))
    base = "%s/%s/" % (mirror, src.directory)
    tarball = _checked(fetch, base + orig, src.files[orig])
    signature = _checked(fetch, base + orig + ".asc", src.files[orig + ".asc"])
    debian = _checked(fetch, base + names[0], src.files[names[0]])
    try:
        with tarfile.open(fileobj=io.BytesIO(debian), mode="r:xz") as tar:
            member = tar.extractfile(SIGNING_KEY)
            key = member.read().decode("ascii") if member else ""
    except (KeyError, tarfile.TarError):
        key = ""
    if not key:
        raise MirrorError("%s has no %s" % (names[0], SIGNING_KEY))
    fprs = fingerprints(key)
    dest = os.path.join(root, "ftp", "python", version)
    changed = _write(os.path.join(dest, "Python-%s.tar.xz" % version), tarball)
    changed = _write(os.path.join(dest, "Python-%s.tar.xz.asc" % version), signature) or changed
    for fpr in fprs:
        changed = _write(os.path.join(root, KEYS_DIR, fpr + ".asc"), key.encode()) or changed
    return Filled(changed, os.path.join(dest, "Python-%s.tar.xz" % version), hashlib.sha256(tarball).hexdigest(),
                  fprs, src.version)


class _Handler(http.server.SimpleHTTPRequestHandler):
    root = "."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=self.root, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/pks/lookup":
            self._lookup(urllib.parse.parse_qs(url.query))
            return
        if url.path == KEYRING_PATH:
            self._keyring()
            return
        if not url.path.startswith("/ftp/"):
            self.send_error(404, "only /ftp/ and /pks/lookup are served")
            return
        super().do_GET()

    def _lookup(self, query: dict) -> None:
        """HKP: op=get&search=0x<fingerprint or long key id> -> the armored key, as keys.openpgp.org answers."""
        search = (query.get("search") or [""])[0].upper()
        if (query.get("op") or [""])[0] != "get" or not re.match(r"^0X[0-9A-F]{16,40}$", search):
            self.send_error(400, "HKP: op=get&search=0x<fingerprint> only")
            return
        folder = os.path.join(self.root, KEYS_DIR)
        names = sorted(n for n in os.listdir(folder) if n.endswith(".asc")) if os.path.isdir(folder) else []
        match = [n for n in names if n[:-4].endswith(search[2:])]
        if not match:
            self.send_error(404, "no key %s" % search)
            return
        with open(os.path.join(folder, match[0]), "rb") as fh:
            data = fh.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/pgp-keys")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _keyring(self) -> None:
        """Every key, one armored block after the other: gpg's `--keyserver http://<host>/pks/keys.asc` fetches
        this URL as it is (dirmngr's http scheme) and `--recv-keys <fingerprint>` imports only the key asked for.
        (dirmngr refuses hkp:// to an IP address without a reverse DNS name, which a build container lacks.)"""
        folder = os.path.join(self.root, KEYS_DIR)
        blocks: list[bytes] = []
        for n in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            with open(os.path.join(folder, n), "rb") as fh:
                data = fh.read()
            if n.endswith(".asc") and data not in blocks:
                blocks.append(data)
        body = b"\n".join(blocks)
        self.send_response(200 if blocks else 404)
        self.send_header("Content-Type", "application/pgp-keys")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        sys.stderr.write("source-mirror: %s\n" % (format % args))


def server(root: str, host: str, port: int) -> http.server.ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"root": os.path.abspath(root)})
    return http.server.ThreadingHTTPServer((host, port), handler)


def main(argv: Sequence[str] | None = None) -> int:
    """`fill ROOT VERSION [--suite S]` prints the tarball's SHA-256 and the key fingerprints; `serve ROOT HOST PORT`
    serves until killed (scripts/source-mirror.sh runs both)."""
    ap = argparse.ArgumentParser(prog="source-mirror")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fill")
    f.add_argument("root")
    f.add_argument("version")
    f.add_argument("--suite", default="trixie")
    f.add_argument("--mirror", default="")
    s = sub.add_parser("serve")
    s.add_argument("root")
    s.add_argument("host")
    s.add_argument("port", type=int)
    args = ap.parse_args(argv)
    if args.cmd == "fill":
        try:
            got = fill_python(args.root, args.version, args.suite, args.mirror)
        except (MirrorError, RootfsError) as exc:
            sys.stderr.write("source-mirror: %s\n" % exc)
            return 1
        # the command line of scripts/source-mirror.sh, not a module: it prints and exits
        print("Python-%s.tar.xz sha256 %s (Debian %s), keys %s%s" % (  # pylint: disable=ansible-bad-function
            args.version, got.sha256, got.debian_version, " ".join(got.fingerprints),
            "" if got.changed else " (unchanged)"))
        return 0
    server(args.root, args.host, args.port).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())  # pylint: disable=ansible-bad-function
