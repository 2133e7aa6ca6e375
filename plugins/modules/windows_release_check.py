#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: windows_release_check
short_description: Check a Windows builder's stated release against its build number
version_added: 0.1.0
description:
  - Compares the Windows Server release a builder states (C(buildfarm_windows_release)) with the OS build
    number the host runs (26100 is ltsc2025, 20348 is ltsc2022, 17763 is ltsc2019 and 1809) and fails with a
    message naming both and the release to state instead.
  - Returns the Constraints the builder satisfies (C(windowsservercore-<release>), C(nanoserver-<release>)),
    the ones plan entries are routed by.
  - Runs on the controller (an action plugin) from values the host's facts give, so it changes nothing on the
    host and needs no module on it.
author: buildfarm.images contributors (@buildfarm)
attributes:
  platform:
    support: full
    platforms: windows
    description: Checks Windows builders, from the controller.
extends_documentation_fragment:
  - buildfarm.images.attributes.info_module
options:
  release:
    description: The release the builder states, normally C(buildfarm_windows_release).
    type: str
    required: true
    choices: [ltsc2025, ltsc2022, ltsc2019, "1809"]
  build:
    description:
      - The host's build number, or its OS version such as C(10.0.20348.0) (the C(distribution_version) fact
        of M(ansible.windows.setup)).
    type: str
    required: true
notes:
  - The logic lives in the collection's C(scheduling) module utility, which also routes Windows plan entries.
"""

EXAMPLES = r"""
- name: Check the stated Windows release
  buildfarm.images.windows_release_check:
    release: "{{ buildfarm_windows_release }}"
    build: "{{ ansible_facts['distribution_version'] }}"
"""

RETURN = r"""
release:
  description: The checked release.
  returned: success
  type: str
  sample: ltsc2022
build:
  description: The host's build number.
  returned: success
  type: int
  sample: 20348
constraints:
  description: The plan Constraints this builder satisfies.
  returned: success
  type: list
  elements: str
  sample: [windowsservercore-ltsc2022, nanoserver-ltsc2022]
"""
