"""busybox's package comes from the suite the family names, read from this machine's own Debian mirror whatever
release the host runs: a Debian 13 host (its apt sources made here from this machine's mirror URIs) asked for
bookworm gets bookworm's busybox-static 1.35.0, and the same mirror's trixie has another version, so the suite
really decides. The real mirror; package lists of one architecture and suite (a few MB each)."""
from __future__ import annotations

import pathlib
import subprocess

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_packages import (
    PackageFetcher,
    codename,
    debian_sources,
    extract,
    suite_sources,
    upstream_version,
)

pytestmark = pytest.mark.integration


def _run(argv, cwd):
    proc = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def trixie_host(tmp_path_factory) -> tuple[str, str]:
    """(sources dir, os-release) of a Debian 13 host on this machine's mirror."""
    try:
        mine = debian_sources(codename())
    except Exception as exc:  # noqa: BLE001 - a machine without Debian sources cannot run this test
        pytest.skip("no Debian apt sources on this machine: %s" % exc)
    host = codename()
    root = tmp_path_factory.mktemp("trixie-host")
    d = root / "sources.list.d"
    d.mkdir()
    stanzas = []
    for src in mine:
        suites = tuple("trixie" + s[len(host):] for s in src.suites if s[len(host):] in ("", "-security"))
        key = src.signed_by or "/usr/share/keyrings/debian-archive-keyring.gpg"
        if suites:
            stanzas.append("Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n"
                           % (src.uri, " ".join(suites), key))
    (d / "debian.sources").write_text("\n".join(stanzas))
    (root / "os-release").write_text("ID=debian\nVERSION_ID=\"13\"\nVERSION_CODENAME=trixie\n")
    return str(d), str(root / "os-release")


def test_bookworm_busybox_on_a_trixie_host(trixie_host, tmp_path):
    sources_dir, osr = trixie_host
    sources = suite_sources("bookworm", sources_dir, osr)
    assert all(s.suites[0].startswith("bookworm") for s in sources)
    fetcher = PackageFetcher(str(tmp_path / "cache"), "amd64", sources, _run, suite="bookworm")
    fetcher.update()
    version = fetcher.candidate("busybox-static")
    assert upstream_version(version) == "1.35.0", version
    deb = fetcher.download("busybox-static", version)
    res = extract(_run, deb, {"bin/busybox": "busybox"}, str(tmp_path / "ctx"), version)
    busybox = pathlib.Path(tmp_path / "ctx" / "busybox")
    assert res.changed and busybox.stat().st_size > 500_000
    # a static amd64 executable: it runs here and says which BusyBox it is
    busybox.chmod(0o755)
    out = subprocess.run([str(busybox)], capture_output=True, text=True, check=False).stdout
    assert "BusyBox v1.35.0" in out


def test_the_hosts_own_suite_has_another_busybox(trixie_host, tmp_path):
    sources_dir, osr = trixie_host
    fetcher = PackageFetcher(str(tmp_path / "cache"), "amd64", suite_sources("", sources_dir, osr), _run)
    fetcher.update()
    assert upstream_version(fetcher.candidate("busybox-static")) != "1.35.0"
