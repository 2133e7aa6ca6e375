"""A family names the Debian suite it takes a package from (build.context.debian_package.suite): the parsing and
its errors, and which mirror and suites are read for it whatever release the host runs (sources are files in
tmp_path; the real mirror is read by tests/integration/release/test_debian_package_suite.py)."""
from __future__ import annotations

import pathlib
import shutil

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_packages import (
    DEBIAN_SUITES,
    PackageError,
    PackageFetcher,
    suite_sources,
)
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import FamilyError, load_family

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "families"
REPO = pathlib.Path(__file__).resolve().parents[5]

TRIXIE_HOST = """Types: deb
URIs: http://mirror.example/debian
Suites: trixie trixie-updates trixie-backports
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def _host(tmp_path: pathlib.Path, release: str, deb822: str = "", one_line: str = "") -> tuple[str, str]:
    etc = tmp_path / "etc"
    d = etc / "sources.list.d"
    d.mkdir(parents=True)
    if deb822:
        (d / "debian.sources").write_text(deb822)
    if one_line:
        (etc / "sources.list").write_text(one_line)
    osr = tmp_path / "os-release"
    osr.write_text("ID=debian\nVERSION_CODENAME=%s\n" % release)
    return str(d), str(osr)


def test_a_named_suite_is_read_from_the_hosts_own_mirror(tmp_path):
    sources_dir, osr = _host(tmp_path, "trixie", deb822=TRIXIE_HOST)
    got = suite_sources("bookworm", sources_dir, osr)
    # same URIs, components and keys; the host's suites renamed; backports are not followed
    assert [(s.uri, s.suites, s.components) for s in got] == [
        ("http://mirror.example/debian", ("bookworm", "bookworm-updates"), ("main", "contrib")),
        ("http://security.example/debian-security", ("bookworm-security",), ("main",))]
    assert all(s.signed_by == "/usr/share/keyrings/debian-archive-keyring.gpg" for s in got)
    assert "Suites: bookworm bookworm-updates" in got[0].deb822()


def test_one_line_sources_of_a_bookworm_host_give_trixie(tmp_path):
    sources_dir, osr = _host(tmp_path, "bookworm", one_line=(
        "deb [signed-by=/k.gpg] http://m.example/debian bookworm main\n"
        "deb http://m.example/debian-security bookworm-security main\n"
        "deb http://m.example/debian trixie main\n"))  # a hand-made trixie line is not what is used
    got = suite_sources("trixie", sources_dir, osr)
    assert [(s.uri, s.suites, s.signed_by) for s in got] == [
        ("http://m.example/debian", ("trixie",), "/k.gpg"),
        ("http://m.example/debian-security", ("trixie-security",), "")]


def test_no_suite_or_the_hosts_own_is_the_host_release_as_it_is(tmp_path):
    sources_dir, osr = _host(tmp_path, "trixie", deb822=TRIXIE_HOST)
    host = [(s.uri, s.suites) for s in suite_sources("", sources_dir, osr)]
    assert host == [(s.uri, s.suites) for s in suite_sources("trixie", sources_dir, osr)]
    assert host[0] == ("http://mirror.example/debian", ("trixie", "trixie-updates", "trixie-backports"))


def test_sid_has_no_updates_or_security(tmp_path):
    sources_dir, osr = _host(tmp_path, "trixie", deb822=TRIXIE_HOST)
    assert [(s.uri, s.suites) for s in suite_sources("sid", sources_dir, osr)] == [
        ("http://mirror.example/debian", ("sid",))]


def test_an_unknown_suite_is_refused_before_apt_runs(tmp_path):
    sources_dir, osr = _host(tmp_path, "trixie", deb822=TRIXIE_HOST)
    with pytest.raises(PackageError, match=r"unknown Debian suite 'stable' \(known: bullseye, bookworm"):
        suite_sources("stable", sources_dir, osr)


def test_a_named_suite_keeps_its_package_lists_apart(tmp_path):
    def never(argv, cwd):
        raise AssertionError("no command expected")

    host = PackageFetcher(str(tmp_path), "s390x", [], never)
    named = PackageFetcher(str(tmp_path), "s390x", [], never, suite="bookworm")
    assert host.root == str(tmp_path / "apt" / "s390x")
    assert named.root == str(tmp_path / "apt" / "bookworm" / "s390x")


def _scratchbox(tmp_path: pathlib.Path, spec: str) -> pathlib.Path:
    d = tmp_path / "scratchbox"
    shutil.copytree(FIXTURES / "scratchbox", d)
    fy = d / "family.yml"
    fy.write_text(fy.read_text() + "build:\n  context:\n    debian_package:\n      package: busybox-static\n"
                  "      files: {bin/busybox: busybox}\n" + spec)
    return d


@pytest.mark.parametrize("suite", DEBIAN_SUITES)
def test_family_names_a_known_suite(tmp_path, suite):
    fam = load_family(str(_scratchbox(tmp_path, "      suite: %s\n" % suite)))
    assert fam.build.context["debian_package"]["suite"] == suite


def test_family_without_suite_keeps_the_hosts(tmp_path):
    fam = load_family(str(_scratchbox(tmp_path, "")))
    assert fam.build.context["debian_package"]["suite"] == ""


@pytest.mark.parametrize("value, shown", [("stable", "'stable'"), ("Bookworm", "'Bookworm'"), ("12", "'12'"),
                                          ("[bookworm]", "['bookworm']"), ("13", "13")])
def test_an_unknown_suite_names_file_field_and_value(tmp_path, value, shown):
    d = _scratchbox(tmp_path, "      suite: %s\n" % (value if value != "12" else "'12'"))
    with pytest.raises(FamilyError) as e:
        load_family(str(d))
    assert e.value.field == "build.context.debian_package.suite"
    assert str(d / "family.yml") in str(e.value)
    assert shown in str(e.value) and "unknown Debian suite" in str(e.value)


def test_busybox_names_bookworm_as_its_versions_say():
    fam = load_family(str(REPO / "families" / "busybox"))
    spec = fam.build.context["debian_package"]
    assert spec["suite"] == "bookworm" and spec["package"] == "busybox-static"
    assert [v.version for v in fam.versions] == ["1.35.0"]
