"""debian for s390x through the farm, from the machine's Debian mirror: the local default's s390x builder (qemu)
makes the root filesystem with mmdebstrap, builds, smoke-tests and pushes it, and the list is published.

The local default releases trixie without s390x only because this machine's mirror lacks a few s390x packages of
trixie's current point release (see inventories/local/group_vars/all/main.yml); bookworm's are complete. So this
test releases bookworm-slim, the same family untouched, through a versions file of its own (the override a farm
uses for python's), and checks the image is an s390x Debian 12 where it runs."""
from __future__ import annotations

import json
import subprocess

import pytest

from conftest import CHAIN_PORTS, REPO, Chain
from ansible_collections.buildfarm.images.tests.support.local_inventory import local_farm

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s390x_farm(tmp_path_factory):
    root = tmp_path_factory.mktemp("s390x")
    versions = root / "debian-versions.json"
    versions.write_text(json.dumps({"12": {"version": "12", "suite": "bookworm", "variants": ["bookworm/slim"]}}))
    with local_farm(root, {
        "buildfarm_work_dir": str(root / "work"),
        # the machine's root filesystem cache, as make release's: made once per archive state
        "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),
        "buildfarm_artifacts_dir": str(root / "artifacts"),
        "buildfarm_families": ["debian"],
        "buildfarm_family_overrides": {"debian": {"versions_file": str(versions), "architectures": ["s390x"]}},
    }, CHAIN_PORTS) as (_inventory, registry):
        yield Chain(root, registry.port)


def test_debian_bookworm_slim_is_built_and_published_for_s390x(s390x_farm):
    run = s390x_farm.release()
    assert run.rc == 0, run.messages()[-4000:]
    images = run.images("builder-s390x")
    assert images and all(i["status"] in ("built", "unchanged") for i in images.values()), images
    assert s390x_farm.platforms("library/debian", "bookworm-slim") == {"linux/s390x"}
    # upstream's slim tags, the point release and date from bookworm's Release file
    point = [r["tag"] for r in run.report["rows"] if r["tag"].startswith("12.")]
    assert point and all(t.endswith("-slim") for t in point), point
    for tag in ["bookworm-slim", "12-slim"] + point:
        assert s390x_farm.has_tag("library/debian", tag), tag
    ref = "%s/library/debian:bookworm-slim" % s390x_farm.registry
    proc = subprocess.run(["docker", "run", "--rm", "--pull", "always", "--platform", "linux/s390x", ref, "sh", "-c",
                           "dpkg --print-architecture; cat /etc/debian_version;"
                           " find /usr/share/doc /usr/share/man -type f ! -name copyright | wc -l"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    arch, version, docs = proc.stdout.split()
    assert arch == "s390x" and version.startswith("12.")
    assert docs == "0"  # slim: of the docs and man pages only the copyright files stay
