"""image_build's input handling: sharing an architecture group's entries among its hosts (scheduling.assign)."""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.build_inputs import BuildInputError
from ansible_collections.buildfarm.images.plugins.module_utils.build.build_share import given_families as _families

ENTRIES = [{"tags": ["v%d" % i], "architectures": ["arm64v8"], "directory": "d%d" % i} for i in range(6)]
ENTRIES.append({"tags": ["v6"], "architectures": ["arm64v8"], "directory": "d6", "from": ["busybox:v0"]})


def _share(host):
    fam = {"name": "busybox", "context_root": "/r", "entries": ENTRIES}
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


def test_family_name_or_its_old_name_repo():
    """`name` is the repository name as everywhere else; `repo`, its old name here, still works; both must agree."""
    by_name = _families([{"name": "busybox", "context_root": "/r", "entries": ENTRIES}], "arm64v8", [], "")[0]
    by_repo = _families([{"repo": "busybox", "context_root": "/r", "entries": ENTRIES}], "arm64v8", [], "")[0]
    assert by_name.repo == by_repo.repo == "busybox" and [e.key for e in by_name.entries] == [
        e.key for e in by_repo.entries] and by_name.entries[0].key == "busybox:v0"
    with pytest.raises(BuildInputError, match=r"families\[0\]: fields name 'a' and repo 'b' differ"):
        _families([{"name": "a", "repo": "b", "context_root": "/r"}], "arm64v8", [], "")
    with pytest.raises(BuildInputError, match=r"families\[0\]: field name is missing"):
        _families([{"context_root": "/r"}], "arm64v8", [], "")
