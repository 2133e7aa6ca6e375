"""Reading the Debian mirror from apt sources (deb822 and one-line), versions, and the whole-folder swap.

The real mirror is exercised by the release integration tests; here sources are files in tmp_path."""
from __future__ import annotations

import json
import subprocess

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_packages import (
    PackageError,
    debian_sources,
    extract,
    upstream_version,
)

DEB822 = """Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main
"""


def test_only_the_debian_release_stanzas_are_used(tmp_path):
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(DEB822)
    (d / "extra.list").write_text("deb [signed-by=/k.gpg] http://security.example/debian-security "
                                  "bookworm-security main\n"
                                  "deb http://other.example/ubuntu noble main\n")
    sources = debian_sources("bookworm", str(d))
    assert [(s.uri, s.suites) for s in sources] == [
        ("http://mirror.example/debian", ("bookworm", "bookworm-updates")),
        ("http://security.example/debian-security", ("bookworm-security",))]
    assert sources[1].signed_by == "/k.gpg"
    assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" in sources[0].deb822()


def test_no_debian_source_is_a_clear_error(tmp_path):
    with pytest.raises(PackageError, match="no apt source for Debian trixie"):
        debian_sources("trixie", str(tmp_path))


@pytest.mark.parametrize("debian, upstream", [("1:1.35.0-4+deb12u1+b1", "1.35.0"), ("1.36.1-9", "1.36.1"),
                                              ("2.0", "2.0")])
def test_upstream_version(debian, upstream):
    assert upstream_version(debian) == upstream


def _deb(tmp_path, content: bytes):
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "bin").mkdir()
    (root / "bin/busybox").write_bytes(content)
    (root / "DEBIAN/control").write_text("Package: fake\nVersion: 1:1.0-1\nArchitecture: all\n"
                                         "Maintainer: t <t@t>\nDescription: t\n")
    deb = tmp_path / "fake.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True)
    return str(deb)


def _run(argv, cwd):
    proc = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_extract_swaps_in_whole_and_is_idempotent(tmp_path):
    deb = _deb(tmp_path, b"static binary")
    dest = tmp_path / "ctx" / "busybox"
    first = extract(_run, deb, {"bin/busybox": "busybox"}, str(dest), "1:1.0-1")
    assert first.changed and (dest / "busybox").read_bytes() == b"static binary"
    assert json.loads((tmp_path / "ctx" / "busybox.package.json").read_text())["package_version"] == "1:1.0-1"
    assert not extract(_run, deb, {"bin/busybox": "busybox"}, str(dest), "1:1.0-1").changed
    assert extract(_run, deb, {"bin/busybox": "busybox"}, str(dest), "1:1.0-2", check=True).changed
    with pytest.raises(PackageError, match="has no file bin/missing"):
        extract(_run, deb, {"bin/missing": "x"}, str(dest), "1:1.0-3")
    assert (dest / "busybox").read_bytes() == b"static binary"
