#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: debian_package_files
short_description: Files of a Debian package for any architecture, from the host's Debian mirror
version_added: 0.1.0
description:
  - Downloads a Debian package for the Debian architecture of a bashbrew architecture (for example
    C(busybox-static) for C(arm64v8) -> C(arm64)) and places selected files of it in a folder, for example the
    per-architecture build context of a C(FROM scratch) image.
  - The mirror is read at run time from the host's apt sources (/etc/apt/sources.list.d and
    /etc/apt/sources.list), keeping the stanzas of the host's Debian release; I(suite) reads another release
    from the same mirror. apt runs with a private state
    under I(cache_dir), so the host's dpkg architectures and package lists are not changed.
  - The folder is replaced whole; it is left alone when it already holds the files of the candidate version.
author: buildfarm.images contributors (@buildfarm)
requirements:
  - apt-get and dpkg-deb on the host (Debian or Ubuntu)
attributes:
  check_mode:
    support: full
    description: Refreshes the private package lists, reports whether the folder would change, writes nothing there.
  diff_mode:
    support: full
    description: The package version before and after.
options:
  package:
    description: Debian package name.
    type: str
    required: true
  arch:
    description: Bashbrew architecture (mapped to the Debian architecture with the collection's table).
    type: str
    required: true
  files:
    description: Path inside the package -> path under I(dest_dir).
    type: dict
    required: true
  dest_dir:
    description: Folder that receives the files.
    type: path
    required: true
    aliases: [dest]
  cache_dir:
    description: Private apt state, package lists and downloaded packages, one folder per Debian architecture.
    type: path
    required: true
  suite:
    description:
      - The Debian release (codename, for example C(bookworm)) the package is taken from, read from the host's own
        Debian mirror whatever release the host runs (the stanzas of the host's release with their suites renamed, so
        C(trixie-security) becomes C(bookworm-security)). Known are bullseye, bookworm, trixie, forky and sid.
      - Default the host's C(VERSION_CODENAME); name it, so the package does not depend on the host.
    type: str
  expect_version:
    description:
      - Upstream version the package must have (for example C(1.35.0)); a different candidate fails before
        anything is written, so tags never disagree with the binary.
    type: str
  max_list_age:
    description: Seconds before the private package lists are refreshed.
    type: int
    default: 21600
"""

EXAMPLES = r"""
- name: Static busybox for s390x
  buildfarm.images.debian_package_files:
    package: busybox-static
    arch: s390x
    files: {bin/busybox: busybox}
    dest_dir: /var/cache/buildfarm/context/busybox/s390x
    cache_dir: /var/cache/buildfarm/apt
    suite: bookworm
    expect_version: 1.35.0
"""

RETURN = r"""
package_version:
  description: The Debian version placed (the mirror's candidate).
  returned: always
  type: str
  sample: "1:1.35.0-4+deb12u1+b1"
debian_arch:
  description: The Debian architecture fetched.
  returned: always
  type: str
  sample: arm64
sha256:
  description: Placed file -> its SHA-256 (empty in check mode when the folder would change).
  returned: always
  type: dict
"""

from ansible_collections.buildfarm.images.plugins.module_utils.build.debian_packages import package_files
from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule

ARGUMENT_SPEC = dict(
    package=dict(type="str", required=True),
    arch=dict(type="str", required=True),
    files=dict(type="dict", required=True),
    dest_dir=dict(type="path", required=True, aliases=["dest"]),
    cache_dir=dict(type="path", required=True),
    suite=dict(type="str"),
    expect_version=dict(type="str"),
    max_list_age=dict(type="int", default=21600),
)


def work(module: BuildfarmModule) -> dict:
    def run(argv, cwd):
        return module.run_command(list(argv), cwd=cwd)

    return package_files(module.params, module.check_mode, run)


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC).run(work)


if __name__ == "__main__":
    main()
