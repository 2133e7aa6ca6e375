# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does this builder build the architecture the inventory says it does?

A builder is native when both `uname -m` and its Docker engine's reported architecture map to
``buildfarm_arch``; otherwise it must be marked emulated and have an enabled qemu binfmt handler with the
F (fix-binary) flag, which lets containers of that architecture run without qemu inside the image.
Plain typed Python, importable without Ansible.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures

BINFMT_DIR = "/proc/sys/fs/binfmt_misc"


class ArchitectureMismatch(BuildfarmError, ValueError):
    pass


@dataclass(frozen=True)
class ArchReport:
    arch: str  # the inventory's buildfarm_arch
    native: str  # what the host runs (bashbrew name)
    engine: str  # what the engine reports (bashbrew name)
    emulated: bool
    binfmt: str = ""  # handler used for an emulated architecture

    def to_dict(self) -> dict:
        return {"arch": self.arch, "native": self.native, "engine": self.engine, "emulated": self.emulated,
                "binfmt": self.binfmt, "platform": str(architectures.get(self.arch).platform)}


def binfmt_handler(arch: str, binfmt_dir: str = BINFMT_DIR) -> str:
    """The enabled qemu handler able to run ``arch`` binaries in containers; raises when there is none."""
    a = architectures.get(arch)
    if not a.qemu:
        raise ArchitectureMismatch("architecture %s cannot be emulated with qemu-user" % arch)
    path = os.path.join(binfmt_dir, "qemu-" + a.qemu)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        if not os.path.exists(os.path.join(binfmt_dir, "status")):
            # Not the handler but the file system is missing: hosts without systemd never mount it by themselves.
            raise ArchitectureMismatch(
                "%s is emulated but binfmt_misc is not mounted on %s: mount it (mount -t binfmt_misc binfmt_misc %s; "
                "role builder does with buildfarm_builder_setup_binfmt) or, in a container, mount the host's "
                "there" % (arch, binfmt_dir, binfmt_dir)) from None
        raise ArchitectureMismatch(
            "%s is emulated but no binfmt handler %s is registered: install qemu-user-static and binfmt-support "
            "and run update-binfmts --enable qemu-%s (role builder does both)" % (arch, path, a.qemu)) from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "enabled":
        raise ArchitectureMismatch("binfmt handler %s is registered but disabled" % path)
    flags = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("flags:")), "")
    if "F" not in flags:
        raise ArchitectureMismatch("binfmt handler %s lacks the F (fix-binary) flag, so containers cannot use it "
                                   "(flags: %r; use qemu-user-static's handlers)" % (path, flags))
    return path


def check(arch: str, emulated: bool, uname_m: str, engine_uname: str, binfmt_dir: str = BINFMT_DIR) -> ArchReport:
    """Compare the inventory's ``arch`` with the host and its engine; raise ArchitectureMismatch with the facts."""
    want = architectures.get(arch)
    native = architectures.from_uname(uname_m).name
    engine = architectures.from_uname(engine_uname).name
    if native != engine:
        raise ArchitectureMismatch("host runs %s (uname -m %s) but its Docker engine reports %s (%s)"
                                   % (native, uname_m, engine, engine_uname))
    if want.name == native:
        return ArchReport(arch, native, engine, False)
    if not emulated:
        raise ArchitectureMismatch(
            "buildfarm_arch is %s but this host is %s (uname -m %s); set buildfarm_emulated: true to build %s "
            "under qemu, or move the host to the builders_%s group" % (arch, native, uname_m, arch, native))
    return ArchReport(arch, native, engine, True, binfmt_handler(arch, binfmt_dir))


def check_engine(connect: Callable[[], Any], arch: str, emulated: bool, uname_m: str, binfmt_dir: str = BINFMT_DIR
                 ) -> dict[str, Any]:
    """builder_arch's result: the engine (``connect`` makes a client) must answer, then ``check``."""
    try:
        engine = connect().info().get("Architecture", "")
    except Exception as exc:  # the engine must answer before anything is built
        raise BuildfarmError("the Docker engine does not answer: %s" % exc) from None
    return dict(changed=False, **check(arch, emulated, uname_m, engine, binfmt_dir).to_dict())
