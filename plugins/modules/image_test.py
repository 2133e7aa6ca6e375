#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_test
short_description: Run each family's smoke tests in the images a builder built
version_added: 0.1.0
description:
  - For every image of I(images) (the C(images) result of M(buildfarm.images.image_build)) whose status is
    C(built) or C(unchanged), runs the tests of its repository's test file in fresh containers on the image's
    platform (emulated builders run them under qemu), and reports each image as passed or failed.
  - "Test files are C(families/<name>/tests.yml): lists C(linux) and C(windows) of tests with C(name),
    C(command) (exec list, or a string for C(sh -c) / C(powershell -Command); omitted runs the image's CMD),
    C(stdout) (regex), C(exit_code) and C(timeout). C(${version}), C(${arch}) and C(${uname_m}) are substituted."
  - An image that already passed the same test file is not tested again when I(cache_dir) is set.
  - Containers are named C(buildfarm-test-*), have no network, and are removed afterwards.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Runs nothing (no I(status_file) either); lists the images that would be tested.
  diff_mode:
    support: none
    description: Changes nothing on the builder.
extends_documentation_fragment:
  - buildfarm.images.docker_engine
  - buildfarm.images.progress
options:
  images:
    description: Items with C(key), C(repo), C(image_id) and C(status), as returned by M(buildfarm.images.image_build).
    type: list
    elements: dict
    required: true
  release:
    description:
      - The release bundle on this builder (as given to M(buildfarm.images.image_build)); every family's tests
        come from it. Mutually exclusive with I(tests).
    type: path
  work_dir:
    description: This builder's folder the bundle is unpacked in (as given to M(buildfarm.images.image_build)).
    type: path
  tests:
    description:
      - Repository name -> its tests, either the path of a test file on the builder or the test data itself (the
        parsed YAML, for example C(lookup('file', 'families/busybox/tests.yml') | from_yaml) on the control node).
      - Repositories without tests are reported as untested and pass.
    type: dict
    default: {}
  arch:
    description: Bashbrew architecture of the images.
    type: str
    required: true
  cache_dir:
    description: Folder of pass markers (image id + test file digest). Empty to test every time.
    type: path
  max_workers:
    description: How many images are tested at once.
    type: int
    default: 2
  fail_on_error:
    description:
      - Fail the task when an image failed a test. The build role sets it to false, pushes what passed, then
        fails.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Smoke-test the share before anything is pushed
  buildfarm.images.image_test:
    arch: s390x
    images: "{{ buildfarm_built.images }}"
    tests:
      busybox: "{{ lookup('ansible.builtin.file', 'families/busybox/tests.yml') | from_yaml }}"
    cache_dir: /var/cache/buildfarm/tests
  register: buildfarm_tested
"""

RETURN = r"""
results:
  description: One item per image tested (or found in the pass cache).
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The entry key (C(<repository>:<first tag>)).
      type: str
    image_id:
      description: The image tested.
      type: str
    passed:
      description: Whether every test passed.
      type: bool
    cached:
      description: True when a pass marker for this image and test file made the run unnecessary.
      type: bool
    tests:
      description: Per test C(name), C(passed), C(exit_code), C(output) (tail) and C(reason).
      type: list
      elements: dict
    failed_tests:
      description: Names of the failed tests.
      type: list
      elements: str
    started:
      description: When the image's tests began (RFC 3339, UTC); empty for an image without tests.
      type: str
      sample: "2026-12-07T01:20:03Z"
    finished:
      description: When they ended (RFC 3339, UTC); empty for an image without tests.
      type: str
    seconds:
      description: How long they took, in seconds (about 0 for a pass found in the cache).
      type: float
passed:
  description: Keys of the images that passed (those the push may take).
  returned: always
  type: list
  elements: str
failed_entries:
  description: Keys of the images that failed a test.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.buildfarm.images.plugins.module_utils.build._docker_engine import ENGINE_ARGS, engine_factory
from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import open_bundle
from ansible_collections.buildfarm.images.plugins.module_utils.build.smoke_tests import run_image_tests
from ansible_collections.buildfarm.images.plugins.module_utils.common.module import BuildfarmModule

ARGUMENT_SPEC = dict(
    images=dict(type="list", elements="dict", required=True),
    tests=dict(type="dict", default={}),
    release=dict(type="path"),
    work_dir=dict(type="path"),
    arch=dict(type="str", required=True),
    cache_dir=dict(type="path"),
    max_workers=dict(type="int", default=2),
    fail_on_error=dict(type="bool", default=True),
    host=dict(type="str", default=""),
    status_file=dict(type="path"),
    **ENGINE_ARGS
)


def work(module: BuildfarmModule) -> dict:
    p = module.params
    connect = engine_factory(module)
    tests = open_bundle(p["release"], p["work_dir"]).tests() if p["release"] else p["tests"]
    return run_image_tests(p, module.check_mode, connect, tests)


def main() -> None:
    BuildfarmModule(argument_spec=ARGUMENT_SPEC, mutually_exclusive=[("tests", "release")],
                    required_by={"release": "work_dir"}).run(work)


if __name__ == "__main__":
    main()
