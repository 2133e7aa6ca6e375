"""image_build's input handling: sharing an architecture group's entries among its hosts (scheduling.assign)."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import BuildInputError
from ansible_collections.buildfarm.images.plugins.modules.image_build import _families

ENTRIES = [{"tags": ["v%d" % i], "architectures": ["arm64v8"], "directory": "d%d" % i} for i in range(6)]
ENTRIES.append({"tags": ["v6"], "architectures": ["arm64v8"], "directory": "d6", "from": ["busybox:v0"]})


def _share(host):
    fam = {"repo": "busybox", "context_root": "/r", "entries": ENTRIES}
    return [e.tags[0] for e in _families([fam], "arm64v8", ["b1", "b2"], host)[0].entries]


def test_group_hosts_split_the_share_without_overlap_and_keep_chains_together():
    one, two = _share("b1"), _share("b2")
    assert sorted(one + two) == sorted("v%d" % i for i in range(7))
    assert not set(one) & set(two)
    assert ("v0" in one) == ("v6" in one)  # v6 is built FROM v0: same host
    assert _share("b1") == one  # deterministic


def test_single_host_builds_everything_and_unknown_host_is_an_error():
    fam = {"repo": "busybox", "context_root": "/r", "entries": ENTRIES}
    assert len(_families([fam], "arm64v8", [], "")[0].entries) == 7
    with pytest.raises(BuildInputError, match="host 'b3' is not one of group_hosts"):
        _families([fam], "arm64v8", ["b1", "b2"], "b3")
    with pytest.raises(BuildInputError, match=r"families\[0\]: field context_root is missing"):
        _families([{"repo": "busybox"}], "arm64v8", [], "")
