#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: windows_share
short_description: Compute a Windows builder's share of the release and the build jobs for it
version_added: 0.1.0
description:
  - Routes the release's Windows entries among the Windows builders by their Constraints and each builder's
    C(buildfarm_windows_release) (the collection's C(scheduling) module utility, as in M(buildfarm.images.image_build)),
    and returns this host's entries in build order (an entry after the entries it is built FROM).
  - For each entry, everything the PowerShell build on the host needs, prepared on the controller where the
    rendered contexts and the tests are - full tags under C(<registry>/<namespace>/<repo>), the content digest
    of the rendered context (the host adds its parents' image ids), the C(org.opencontainers.image.*) labels and
    the family's C(windows) smoke tests as argument lists.
  - Also returns the entries no Windows builder can build, with the reason (the release report lists them).
  - Runs on the controller (an action plugin); reads the rendered contexts and changes nothing.
author: buildfarm.images contributors (@buildfarm)
extends_documentation_fragment:
  - buildfarm.images.attributes.info_module
options:
  release:
    description:
      - The release, items with C(name), C(repository), C(entries) (release_plan's C(plan.entries)), C(render_dir)
        (on the controller), C(tests_file), C(source), C(revision), C(created).
    type: list
    elements: dict
    required: true
  families:
    description: The families built; the others' entries are neither shared nor reported unroutable.
    type: list
    elements: str
    required: true
  host:
    description: The builder whose share is returned, normally C(inventory_hostname).
    type: str
    required: true
  releases:
    description: Every Windows builder of the group -> its C(buildfarm_windows_release).
    type: dict
    required: true
  registry:
    description: Registry the images are tagged for.
    type: str
    required: true
  namespace:
    description: Namespace of the images; empty uses the architecture's (C(winamd64)).
    type: str
    default: ""
  context_dir:
    description: Folder on the host holding C(<family>\<entry directory>), the rendered contexts.
    type: str
    required: true
  build_args:
    description: Build arguments of every build (part of the input digest).
    type: dict
    default: {}
  arch:
    description: The Windows architecture built.
    type: str
    default: windows-amd64
attributes:
  platform:
    support: full
    platforms: windows
    description: Prepares Windows builds, on the controller.
notes:
  - Routing raises a clear error for a Windows builder without C(buildfarm_windows_release) or a FROM cycle.
"""

EXAMPLES = r"""
- name: Compute this builder's share of the release
  buildfarm.images.windows_share:
    release: "{{ hostvars['localhost']['buildfarm_release'] }}"
    families: [python]
    host: "{{ inventory_hostname }}"
    releases: {win-ltsc2022-01: ltsc2022, win-ltsc2025-01: ltsc2025}
    registry: registry.example.net
    context_dir: 'C:\ProgramData\buildfarm\builds'
  register: share
"""

RETURN = r"""
jobs:
  description:
    - This host's entries in build order, each with C(key) (C(<family>:<first tag>)), C(repo), C(context),
      C(dockerfile), C(from), C(tags) (full references), C(input_digest), C(labels), C(build_args) and C(tests)
      (C(name), C(command) as a list or null for the image's CMD, C(stdout) regex, C(exit_code), C(timeout)).
  returned: success
  type: list
  elements: dict
unroutable:
  description:
    - Entries no Windows builder can build, each with C(repo), C(key), C(arch), C(directory), C(tags),
      C(reason).
  returned: success
  type: list
  elements: dict
families:
  description: The families with entries in this host's share (their rendered contexts are copied to the host).
  returned: success
  type: list
  elements: str
label:
  description: The image label that holds the input digest.
  returned: success
  type: str
  sample: io.buildfarm.input-digest
"""
