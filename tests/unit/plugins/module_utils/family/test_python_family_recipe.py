"""The python family's recipe (families/python templates), checked on its own render: every RUN is valid shell,
the source is verified before it is built, and each variant gets the build settings it needs."""
from __future__ import annotations

import pathlib
import subprocess

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import load_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import render_family
from ansible_collections.buildfarm.images.tests.support.dockerfile_facts import facts, instructions

FAMILY = pathlib.Path(__file__).resolve().parents[5] / "families" / "python"
FILES = render_family(load_family(str(FAMILY)))
LINUX = sorted(p for p in FILES if "/windows/" not in p)
WINDOWS = sorted(p for p in FILES if "/windows/" in p)


@pytest.mark.parametrize("path", LINUX)
def test_every_run_is_valid_shell(path):
    runs = [args for word, args in instructions(FILES[path]) if word == "RUN"]
    assert len(runs) == 3
    for body in runs:
        proc = subprocess.run(["sh", "-n", "-c", body], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (path, proc.stderr)


@pytest.mark.parametrize("path", LINUX)
def test_source_is_verified_before_it_is_unpacked(path):
    text = FILES[path]
    build = text.index("tar --extract")
    assert -1 < text.index('sha256sum -c -') < build
    if "GPG_KEY" in facts(text)["env"]:
        assert -1 < text.index("gpg --batch --verify python.tar.xz.asc python.tar.xz") < build
    else:  # 3.14+ ships no OpenPGP signatures (PEP 761)
        assert "gpg" not in text and path.split("/")[0] in ("3.14", "3.15-rc")


@pytest.mark.parametrize("path", LINUX)
def test_build_settings_per_variant(path):
    text, version, variant = FILES[path], path.split("/")[0], path.split("/")[1]
    assert ("--enable-optimizations" in text) is (not variant.startswith("alpine"))  # PGO on Debian
    assert ("-DTHREAD_STACK_SIZE=0x100000" in text) is variant.startswith("alpine")  # musl's small thread stacks
    zstd = "zstd-dev" if variant.startswith("alpine") else "libzstd-dev"
    assert (zstd in text) is (version in ("3.14", "3.15-rc"))  # compression.zstd
    assert ("'setuptools==79.0.1'" in text) is (version in ("3.10", "3.11"))
    assert "--enable-shared" in text and "--with-ensurepip" in text
    if variant.startswith("slim-"):
        assert "apt-get purge -y --auto-remove" in text and "apt-mark manual" in text
    if variant.startswith("alpine"):
        assert "apk del --no-network .build-deps" in text


@pytest.mark.parametrize("path", WINDOWS)
def test_windows_recipe(path):
    text = FILES[path]
    assert text.startswith("# escape=`\n")
    assert 'SHELL ["powershell", "-Command"' in text
    assert text.index("Get-FileHash python.exe -Algorithm sha256") < text.index("Start-Process python.exe")
    assert "`\n\tPYTHON_SHA256=" in text  # one ENV with two pairs, continued with the escape character


@pytest.mark.parametrize("optimize, arch, flags", [
    (None, "x86_64-linux-gnu", ["--enable-optimizations", "--with-lto"]),  # the default is upstream's build
    ("1", "riscv64-linux-gnu", ["--enable-optimizations"]),  # no LTO on riscv64, as upstream
    ("0", "x86_64-linux-gnu", []),  # PYTHON_OPTIMIZE=0: a plain build (the collection's chain tests)
])
def test_optimisation_is_a_build_argument_defaulting_to_upstreams(optimize, arch, flags):
    text = FILES["3.13/slim-trixie/Dockerfile"]
    default = next(args for word, args in instructions(text) if word == "ARG" and args.startswith("PYTHON_OPTIMIZE="))
    env = {"PATH": "/usr/bin:/bin", "gnuArch": arch,
           "PYTHON_OPTIMIZE": default.split("=", 1)[1] if optimize is None else optimize}
    configure = text[text.index("./configure"):text.index("nproc=")]
    words = [line.strip().rstrip("\\").strip() for line in configure.splitlines() if "PYTHON_OPTIMIZE" in line]
    assert len(words) == 2
    out = subprocess.run(["sh", "-c", "echo " + " ".join(words)], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == flags
