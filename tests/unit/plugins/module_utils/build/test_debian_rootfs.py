"""Debian base images: the Release file as versions source (served over real HTTP on loopback), the distribution
tag policy, the family.yml validation of debian_rootfs, slimify and the builder's cache.

mmdebstrap itself runs in tests/integration/chain (the real archive); here nothing bootstraps."""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import pathlib
import shutil
import tarfile
import threading

import pytest
import yaml

from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_rootfs import (
    RootfsError,
    archive_mirror,
    fetch_release,
    make_rootfs,
    parse_release,
    slimify,
    variant_inputs,
)
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import FamilyError, load_family
from ansible_collections.buildfarm.images.plugins.module_utils.release import batch

REPO = pathlib.Path(__file__).resolve().parents[5]

RELEASE = """Origin: Debian
Label: Debian
Suite: stable
Version: 13.8
Codename: trixie
Date: Sat, 21 Nov 2026 09:15:44 UTC
Architectures: all amd64 arm64 s390x
Components: main
MD5Sum:
 3e498904a30e240573dac8ddac594e6f  1961125 main/Contents-all
"""

# the family's other suite: oldstable, its own point release and date
BOOKWORM_RELEASE = (RELEASE.replace("Suite: stable", "Suite: oldstable").replace("13.8", "12.13")
                    .replace("trixie", "bookworm").replace("Sat, 21 Nov 2026", "Sat, 14 Nov 2026"))


@pytest.fixture()
def mirror(tmp_path):
    """A directory served by a real HTTP server on loopback, laid out as a Debian archive."""
    root = tmp_path / "mirror"
    (root / "dists" / "trixie").mkdir(parents=True)
    (root / "dists" / "trixie" / "Release").write_text(RELEASE)
    (root / "dists" / "bookworm").mkdir(parents=True)
    (root / "dists" / "bookworm" / "Release").write_text(BOOKWORM_RELEASE)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):  # keep pytest output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def test_parse_release_reads_version_codename_and_date():
    name, version, date, epoch = parse_release(RELEASE, "Release")
    assert (name, version, date) == ("trixie", "13.8", "Sat, 21 Nov 2026 09:15:44 UTC")
    assert epoch == 1795252544


@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace("Version: 13.8\n", ""), "Version"),
    (lambda t: t.replace("Version: 13.8", "Version: thirteen"), "Version"),
    (lambda t: t.replace("Sat, 21 Nov 2026 09:15:44 UTC", "yesterday"), "Date"),
    (lambda t: t.replace("Codename: trixie\n", ""), "Codename"),
])
def test_parse_release_names_the_bad_field(edit, field):
    with pytest.raises(RootfsError, match=r"http://m/dists/trixie/Release: field %s" % field):
        parse_release(edit(RELEASE), "http://m/dists/trixie/Release")


def test_fetch_release_over_http_and_its_checksum(mirror):
    root, url = mirror
    rel = fetch_release("trixie", url)
    assert rel.version == "13.8" and rel.serial == "20261121" and rel.codename == "trixie"
    assert rel.sha256 == hashlib.sha256((root / "dists/trixie/Release").read_bytes()).hexdigest()
    with pytest.raises(RootfsError, match=r"cannot fetch %s/dists/sid/Release" % url):
        fetch_release("sid", url)


def test_archive_mirror_is_the_host_release_source(tmp_path):
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n")
    os_release = tmp_path / "os-release"
    os_release.write_text('ID=debian\nVERSION_CODENAME=bookworm\n')
    assert archive_mirror(str(d), str(os_release)) == ("http://mirror.example/debian",
                                                       "http://security.example/debian-security")


def _debian_copy(tmp_path) -> pathlib.Path:
    dst = tmp_path / "families" / "debian"
    shutil.copytree(REPO / "families" / "debian", dst)
    return dst


def test_debian_family_planned_from_the_release_file(tmp_path, mirror):
    _root, url = mirror
    _debian_copy(tmp_path)
    release = batch.prepare(str(tmp_path / "families"), ["debian"], ["amd64", "s390x"], debian_mirror=url)
    plan = release.families[0].plan
    assert [e.tags for e in plan.entries] == [
        ["trixie", "trixie-20261121", "13.8", "13", "latest"],
        ["trixie-slim", "trixie-20261121-slim", "13.8-slim", "13-slim"],
        ["bookworm", "bookworm-20261114", "12.13", "12"],
        ["bookworm-slim", "bookworm-20261114-slim", "12.13-slim", "12-slim"],
    ]
    assert [e.architectures for e in plan.entries] == [["amd64", "s390x"]] * 4
    assert [e.version for e in plan.entries] == ["13.8", "13.8", "12.13", "12.13"]
    ctx = release.families[0].record().context["debian_rootfs"]
    assert ctx["releases"]["trixie"]["version"] == "13.8" and len(ctx["releases"]["trixie"]["sha256"]) == 64
    assert ctx["releases"]["bookworm"]["version"] == "12.13"
    assert ctx["slim"] == ["*/slim"]
    assert "ADD trixie/slim/rootfs.tar /" in release.families[0].rendered["13/trixie/slim/Dockerfile"]


def test_a_release_of_another_major_is_a_clear_error(tmp_path, mirror):
    root, url = mirror
    (root / "dists/trixie/Release").write_text(RELEASE.replace("13.8", "14.1"))
    fam = _debian_copy(tmp_path)
    with pytest.raises(FamilyError, match=r"versions.json: field versions_source: .*Debian 14.1, not of versions "
                                          r"key 13"):
        batch.prepare(str(fam.parent), ["debian"], debian_mirror=url)


def test_a_variant_of_another_suite_is_a_clear_error(tmp_path, mirror):
    _root, url = mirror
    fam = _debian_copy(tmp_path)
    data = json.loads((fam / "versions.json").read_text())
    data["13"]["variants"].append("bookworm/slim")
    (fam / "versions.json").write_text(json.dumps(data))
    with pytest.raises(FamilyError, match=r"field 13.variants: a variant must be `trixie` or `trixie/<name>` "
                                          r"\(value: 'bookworm/slim'\)"):
        batch.prepare(str(fam.parent), ["debian"], debian_mirror=url)


@pytest.mark.parametrize("change, field, value", [
    ({"versions_source": None}, "build.context.debian_rootfs", None),
    ({"versions_source": "pypi"}, "versions_source", "pypi"),
    ({"tag_policy": "semver"}, "tag_policy", "semver"),
    ({"build": {"context": {"debian_rootfs": {"include": ["Not A Package"]}}}}, "build.context.debian_rootfs.include",
     "Not A Package"),
    ({"build": {"context": {"debian_rootfs": {"variant": "buildd"}}}}, "build.context.debian_rootfs.variant",
     "buildd"),
])
def test_family_yml_errors_name_file_field_value(tmp_path, change, field, value):
    fam = _debian_copy(tmp_path)
    data = yaml.safe_load((fam / "family.yml").read_text())
    for k, v in change.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    (fam / "family.yml").write_text(yaml.safe_dump(data))
    with pytest.raises(FamilyError) as exc:
        load_family(str(fam))
    assert exc.value.file.endswith("debian/family.yml") and exc.value.field == field
    if value is not None:
        assert exc.value.value == value


def _tar(path: pathlib.Path, files: dict[str, bytes], links: dict[str, str] | None = None,
         more: dict[str, bytes] | None = None) -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("./", "./etc/", "./etc/dpkg/", "./etc/dpkg/dpkg.cfg.d/", "./usr/", "./usr/share/",
                  "./usr/share/doc/", "./usr/share/doc/bash/", "./usr/share/man/", "./usr/share/man/man1/",
                  "./usr/share/locale/"):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1000
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1000
            tar.addfile(info, io.BytesIO(data))
        for name, data in (more or {}).items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1000
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mtime = tarfile.LNKTYPE, target, 1000
            tar.addfile(info)


def test_slimify_drops_docs_man_locales_keeps_copyright_and_config(tmp_path):
    full, slim = tmp_path / "full.tar", tmp_path / "slim.tar"
    _tar(full, {"./usr/share/doc/bash/copyright": b"GPL", "./usr/share/doc/bash/README": b"read me",
                "./usr/share/man/man1/bash.1.gz": b"man", "./usr/share/locale/locale.alias": b"alias",
                "./bin/bash": b"ELF"},
         links={"./usr/share/doc/bash/README.again": "./usr/share/doc/bash/README",
                "./bin/bash-hard": "./usr/share/man/man1/bash.1.gz",
                "./bin/bash-hard2": "./usr/share/man/man1/bash.1.gz"},
         more={"./var/cache/apt/pkgcache.bin": b"cache", "./var/lib/apt/lists/lock": b""})
    slimify(str(full), str(slim))
    with tarfile.open(slim) as tar:
        names = tar.getnames()
        cfg = tar.extractfile("./etc/dpkg/dpkg.cfg.d/docker").read().decode()
        kept_link = tar.getmember("./bin/bash-hard")
        assert tar.extractfile(kept_link).read() == b"man"  # a hard link to a dropped file keeps its data
        assert tar.getmember("./bin/bash-hard2").linkname == "./bin/bash-hard"
    assert "./usr/share/doc/bash/copyright" in names and "./usr/share/locale/locale.alias" in names
    assert "./usr/share/doc/bash/README" not in names and "./usr/share/man/man1/bash.1.gz" not in names
    assert "./usr/share/doc/bash/README.again" not in names
    assert "./var/cache/apt/pkgcache.bin" not in names and "./var/lib/apt/lists/lock" in names
    assert "./usr/share/man/man1" in names  # folders stay, as with dpkg's path-exclude
    assert "path-exclude /usr/share/man/*" in cfg and "path-include /usr/share/doc/*/copyright" in cfg
    again = tmp_path / "again.tar"
    slimify(str(full), str(again))
    assert again.read_bytes() == slim.read_bytes()
    plain = tmp_path / "plain.tar"
    slimify(str(full), str(plain), slim=False)
    with tarfile.open(plain) as tar:
        names = tar.getnames()
    assert "./usr/share/doc/bash/README" in names and "./etc/dpkg/dpkg.cfg.d/docker" not in names
    assert "./var/cache/apt/pkgcache.bin" not in names


def _spec(sha: str) -> dict:
    return {"include": [], "slim": ["*/slim"], "releases": {"trixie": {"sha256": sha, "epoch": 1795252544}}}


def test_make_rootfs_reuses_the_cache_without_running_anything(tmp_path, mirror):
    _root, url = mirror
    dest = tmp_path / "ctx" / "amd64"
    for v in ("trixie", "trixie/slim"):
        (dest / v).mkdir(parents=True)
        (dest / v / "rootfs.tar").write_bytes(b"tar of " + v.encode())
    inputs = variant_inputs(_spec("a" * 64), ["trixie", "trixie/slim"], "amd64", url, "")
    assert inputs["trixie/slim"]["slim"] and not inputs["trixie"]["slim"]
    stamp = {"trixie": {"input": inputs["trixie"], "sha256": "1" * 64},
             "trixie/slim": {"input": inputs["trixie/slim"], "sha256": "2" * 64}}
    (tmp_path / "ctx" / "amd64.rootfs.json").write_text(json.dumps(stamp))

    def never(argv, cwd):
        raise AssertionError("nothing may run for an unchanged Release: %s" % argv)

    got = make_rootfs(never, _spec("a" * 64), ["trixie/slim", "trixie"], "amd64", str(dest), mirror=url,
                      security="")
    assert not got.changed
    assert got.files == {"trixie/rootfs.tar": "1" * 64, "trixie/slim/rootfs.tar": "2" * 64}
    # another planned Release checksum means making it again, from an archive that must still be the planned one:
    # the mirror serves a Release whose checksum is not "b"*64, so the builder refuses (the tags would lie)
    with pytest.raises(RootfsError, match=r"Release file of trixie on %s changed since the release was planned"
                       % url):
        make_rootfs(never, _spec("b" * 64), ["trixie"], "amd64", str(dest), mirror=url, security="")


def test_make_rootfs_needs_a_planned_release_for_the_suite(tmp_path):
    with pytest.raises(RootfsError, match=r"variant bookworm/slim: suite bookworm has no planned Release"):
        make_rootfs(lambda a, c: (0, "", ""), _spec("a" * 64), ["bookworm/slim"], "amd64", str(tmp_path / "d"),
                    mirror="http://127.0.0.1:9", security="")
