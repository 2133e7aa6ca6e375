#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: windows_share
short_description: Compute a Windows builder's share of the release and the build jobs for it
version_added: 0.1.0
description:
  - Routes the release's Windows entries among the Windows builders by their Constraints and each builder's
    C(buildfarm_windows_release) (the collection's C(scheduling) module utility, as in M(buildfarm.images.image_build)),
    and returns this host's entries in build order (an entry after the entries it is built FROM).
  - For each entry, everything the PowerShell build on the host needs, read from the release bundle on the
    controller - full tags under C(<registry>/<namespace>/<repo>), the content digest
    of the rendered context (the host adds its parents' image ids), the C(org.opencontainers.image.*) labels and
    the family's C(windows) smoke tests as argument lists.
  - Also returns the entries no Windows builder can build, with the reason (the release report lists them).
  - Runs on the controller (an action plugin); reads the bundle (unpacked into a temporary folder, strictly -
    regular files and folders only) and changes nothing. The bundle itself is sent to the host by the caller, once
    (role C(build_windows) does it with C(ansible.windows.win_copy)).
author: buildfarm.images contributors (@buildfarm)
attributes:
  platform:
    support: full
    platforms: windows
    description: Prepares the Windows builders' builds from the bundle on the controller; the hosts run no Python.
extends_documentation_fragment:
  - buildfarm.images.attributes.info_module
options:
  bundle:
    description:
      - The release bundle on the controller, the C(bundle) of M(buildfarm.images.release_prepare) (C(release.tar),
        with every family's entries, smoke tests and rendered tree). The host is sent this one file and builds from it
        unpacked; the entries, tests and input digests are read from it here.
      - A relative path is relative to the directory ansible-playbook runs in.
    type: path
    required: true
  families:
    description:
      - The families built; the others' entries are neither shared nor reported unroutable.
      - Omitted, every family of the bundle. A name the bundle does not have is an error.
    type: list
    elements: str
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
  work_dir:
    description:
      - The host's folder that receives the bundle as C(<work_dir>\release.tar) and holds it unpacked in
        C(<work_dir>\bundle\<bundle id>) (returned as RV(bundle_file) and RV(bundle_dir)); the jobs' contexts are
        C(<bundle_dir>\render\<family>\<entry directory>).
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
notes:
  - Routing raises a clear error for a Windows builder without C(buildfarm_windows_release) or a FROM cycle; a
    bundle that cannot be read or lacks one of I(families) fails naming the file and the field.
"""

EXAMPLES = r"""
- name: Compute this builder's share of the release
  buildfarm.images.windows_share:
    bundle: "{{ hostvars['localhost']['buildfarm_release']['bundle'] }}"
    families: [python]
    host: "{{ inventory_hostname }}"
    releases: {win-ltsc2022-01: ltsc2022, win-ltsc2025-01: ltsc2025}
    registry: registry.example.net
    work_dir: 'C:\ProgramData\buildfarm\builds'
  register: share

- name: Send the bundle, the one file the share is built from (role build_windows then unpacks it into share.bundle_dir)
  ansible.windows.win_copy:
    src: "{{ hostvars['localhost']['buildfarm_release']['bundle'] }}"
    dest: "{{ share.bundle_file }}"
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
  description: The families with entries in this host's share.
  returned: success
  type: list
  elements: str
bundle_file:
  description: Where the host keeps the bundle, C(<work_dir>\release.tar).
  returned: success
  type: str
  sample: 'C:\ProgramData\buildfarm\builds\release.tar'
bundle_dir:
  description: The folder the host unpacks the bundle into, C(<work_dir>\bundle\<first 16 hex digits of its sha256>).
  returned: success
  type: str
  sample: 'C:\ProgramData\buildfarm\builds\bundle\0123456789abcdef'
bundle_sha256:
  description: The bundle's SHA-256; the host checks the file it received against it before unpacking it.
  returned: success
  type: str
label:
  description: The image label that holds the input digest.
  returned: success
  type: str
  sample: io.buildfarm.input-digest
"""
