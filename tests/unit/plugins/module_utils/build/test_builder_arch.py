"""Architecture check of a builder; binfmt handlers read from a folder laid out like /proc/sys/fs/binfmt_misc
(the real one is used too when this machine has qemu-s390x registered)."""
from __future__ import annotations

import os

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.builder_arch import ArchitectureMismatch, check


def _binfmt(tmp_path, name, text):
    (tmp_path / "status").write_text("enabled\n")  # a mounted binfmt_misc has it
    (tmp_path / name).write_text(text)
    return str(tmp_path)


def test_native_builder_matches():
    assert check("amd64", False, "x86_64", "x86_64").emulated is False
    assert check("arm64v8", False, "aarch64", "aarch64").native == "arm64v8"


def test_mismatch_without_emulation_says_what_to_do():
    with pytest.raises(ArchitectureMismatch,
                       match="buildfarm_arch is s390x but this host is amd64.*buildfarm_emulated"):
        check("s390x", False, "x86_64", "x86_64")


def test_host_and_engine_disagree():
    with pytest.raises(ArchitectureMismatch, match="engine reports i386"):
        check("amd64", False, "x86_64", "i686")


def test_emulated_needs_an_enabled_fix_binary_handler(tmp_path):
    d = _binfmt(tmp_path, "qemu-s390x", "enabled\ninterpreter /usr/libexec/qemu-binfmt/s390x-binfmt-P\nflags: PF\n")
    assert check("s390x", True, "x86_64", "x86_64", d).binfmt.endswith("qemu-s390x")
    with pytest.raises(ArchitectureMismatch, match="no binfmt handler .*qemu-aarch64"):
        check("arm64v8", True, "x86_64", "x86_64", d)
    _binfmt(tmp_path, "qemu-s390x", "enabled\nflags: P\n")
    with pytest.raises(ArchitectureMismatch, match="lacks the F"):
        check("s390x", True, "x86_64", "x86_64", d)
    _binfmt(tmp_path, "qemu-s390x", "disabled\nflags: PF\n")
    with pytest.raises(ArchitectureMismatch, match="disabled"):
        check("s390x", True, "x86_64", "x86_64", d)


def test_unmounted_binfmt_misc_is_named_with_the_fix(tmp_path):
    # a host without systemd: the folder exists (procfs) but nothing mounted binfmt_misc on it
    with pytest.raises(ArchitectureMismatch, match="binfmt_misc is not mounted on %s: mount it" % tmp_path):
        check("s390x", True, "x86_64", "x86_64", str(tmp_path))
    d = _binfmt(tmp_path, "qemu-aarch64", "enabled\nflags: PF\n")
    with pytest.raises(ArchitectureMismatch,
                       match="no binfmt handler .*qemu-s390x.*update-binfmts --enable qemu-s390x"):
        check("s390x", True, "x86_64", "x86_64", d)


@pytest.mark.skipif(not os.path.exists("/proc/sys/fs/binfmt_misc/qemu-s390x"), reason="no qemu-s390x handler here")
def test_this_machine_emulates_s390x():
    import platform

    machine = platform.machine()
    assert check("s390x", True, machine, machine).emulated is True
