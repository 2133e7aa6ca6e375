#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: builder_arch
short_description: Check that a builder host builds the architecture its inventory names
version_added: 0.1.0
description:
  - Maps C(uname -m) and the Docker engine's reported architecture to bashbrew names and compares them with
    I(arch). A native builder must match; an emulated one (I(emulated=true)) needs an enabled qemu binfmt
    handler with the F flag for I(arch), so containers of that architecture run.
  - Fails with the facts (host, engine and wanted architecture) before anything is built.
author: buildfarm.images contributors (@buildfarm)
extends_documentation_fragment:
  - buildfarm.images.attributes.info_module
  - buildfarm.images.docker_engine
options:
  arch:
    description: The inventory's C(buildfarm_arch) (bashbrew name).
    type: str
    required: true
  emulated:
    description: The inventory's C(buildfarm_emulated).
    type: bool
    default: false
  binfmt_dir:
    description: Where the kernel's binfmt_misc handlers are visible (a bind mount of it inside a container).
    type: path
    default: /proc/sys/fs/binfmt_misc
"""

EXAMPLES = r"""
- name: This builder builds s390x under qemu
  buildfarm.images.builder_arch:
    arch: s390x
    emulated: true
"""

RETURN = r"""
arch:
  description: The architecture checked.
  returned: success
  type: str
native:
  description: The host's own architecture (bashbrew name).
  returned: success
  type: str
  sample: amd64
engine:
  description: The engine's architecture (bashbrew name).
  returned: success
  type: str
emulated:
  description: Whether I(arch) is built under emulation.
  returned: success
  type: bool
binfmt:
  description: The binfmt handler used for an emulated architecture.
  returned: success
  type: str
  sample: /proc/sys/fs/binfmt_misc/qemu-s390x
platform:
  description: The OCI platform of I(arch).
  returned: success
  type: str
  sample: linux/s390x
"""

import platform

from ansible_collections.buildfarm.images.plugins.module_utils.build._docker_engine import ENGINE_ARGS, engine_factory
from ansible_collections.buildfarm.images.plugins.module_utils.build.builder_arch import check_engine
from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule

ARGUMENT_SPEC = dict(
    arch=dict(type="str", required=True),
    emulated=dict(type="bool", default=False),
    binfmt_dir=dict(type="path", default="/proc/sys/fs/binfmt_misc"),
    **ENGINE_ARGS
)


def work(module: BuildfarmModule) -> dict:
    p = module.params
    return check_engine(engine_factory(module), p["arch"], p["emulated"], platform.machine(), p["binfmt_dir"])


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC).run(work)


if __name__ == "__main__":
    main()
