"""Sharing an architecture group's entries among its hosts, and routing Windows entries by release.

No Windows host runs here: Windows builders are only hostnames with a stated release, and build numbers are
the values the hosts' facts would give.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.build.scheduling import (
    SchedulingError,
    WindowsReleaseError,
    assign,
    check_windows_release,
    host_constraints,
)

LINUX = ["amd64", "arm64v8", "s390x"]


def entry(directory, tags, frm="debian:trixie", arches=None, constraints=None, shared=None):
    e = {"directory": directory, "tags": tags, "architectures": arches or LINUX, "from": frm,
         "constraints": constraints or []}
    if shared:
        e["shared_tags"] = shared
    return e


def flat(n, arch_list=None):
    """n independent entries (every FROM outside the release)."""
    return [entry("v%d/trixie" % i, ["v%d-trixie" % i], arches=arch_list) for i in range(n)]


def chained(suites):
    """buildpack-deps-like chains: <suite>-curl <- <suite>-scm <- <suite> for each suite."""
    out = []
    for s in suites:
        out.append(entry("%s/curl" % s, ["%s-curl" % s], frm="debian:%s" % s))
        out.append(entry("%s/scm" % s, ["%s-scm" % s], frm="buildpack-deps:%s-curl" % s))
        out.append(entry(s, [s], frm="buildpack-deps:%s-scm" % s))
    return out


def placement(result):
    return {e["directory"]: host for host, share in result.shares.items() for e in share}


def hosts(n):
    return ["builder-%02d" % i for i in range(n)]


# Hand-written from python's 2026-06-24 library file: its Windows entries and two Linux ones.
PYTHON = [
    entry("3.15-rc/trixie", ["3.15.0b3-trixie", "3.15-rc-trixie"], frm="buildpack-deps:trixie"),
    entry("3.15-rc/windows/windowsservercore-ltsc2025", ["3.15.0b3-windowsservercore-ltsc2025"],
          frm="mcr.microsoft.com/windows/servercore:ltsc2025", arches=["windows-amd64"],
          constraints=["windowsservercore-ltsc2025"]),
    entry("3.15-rc/windows/windowsservercore-ltsc2022", ["3.15.0b3-windowsservercore-ltsc2022"],
          frm="mcr.microsoft.com/windows/servercore:ltsc2022", arches=["windows-amd64"],
          constraints=["windowsservercore-ltsc2022"]),
    entry("3.14/trixie", ["3.14.6-trixie", "trixie"], frm="buildpack-deps:trixie"),
    entry("3.14/windows/windowsservercore-ltsc2025", ["3.14.6-windowsservercore-ltsc2025"],
          frm="mcr.microsoft.com/windows/servercore:ltsc2025", arches=["windows-amd64"],
          constraints="windowsservercore-ltsc2025"),
    entry("3.14/windows/windowsservercore-ltsc2022", ["3.14.6-windowsservercore-ltsc2022"],
          frm="mcr.microsoft.com/windows/servercore:ltsc2022", arches=["windows-amd64"],
          constraints="windowsservercore-ltsc2022"),
    entry("3.13/windows/windowsservercore-ltsc2025", ["3.13.14-windowsservercore-ltsc2025"],
          frm="mcr.microsoft.com/windows/servercore:ltsc2025", arches=["windows-amd64"],
          constraints=["windowsservercore-ltsc2025"]),
    entry("3.13/windows/windowsservercore-ltsc2022", ["3.13.14-windowsservercore-ltsc2022"],
          frm="mcr.microsoft.com/windows/servercore:ltsc2022", arches=["windows-amd64"],
          constraints=["windowsservercore-ltsc2022"]),
]
# production.example's Windows group: one host per release
WINDOWS_HOSTS = {"win-ltsc2025-01": "ltsc2025", "win-ltsc2022-01": "ltsc2022", "win-ltsc2019-01": "ltsc2019"}


# --- balance ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("entries, n_hosts", [
    (flat(24), 2), (flat(24), 3), (flat(42), 4), (flat(42), 5), (flat(100), 8), (flat(7), 3), (flat(2), 4),
    (chained(["bookworm", "trixie", "noble", "jammy", "focal", "bullseye", "sid"]), 3),
    (chained(["bookworm", "trixie", "noble", "jammy"]) + flat(13), 4),
])
def test_balance(entries, n_hosts):
    result = assign(entries, hosts(n_hosts), "amd64", repo="buildpack-deps")
    loads = [len(share) for share in result.shares.values()]
    biggest_chain = 3 if any(e["directory"].endswith("/scm") for e in entries) else 1
    assert sum(loads) == len(entries) and not result.unroutable
    assert len(loads) == n_hosts
    # bounded-load rendezvous: nobody exceeds the even share by more than one chain
    assert max(loads) <= math.ceil(len(entries) / n_hosts) + biggest_chain - 1, loads
    if len(entries) >= 2 * n_hosts * biggest_chain:
        assert min(loads) >= len(entries) // n_hosts - biggest_chain, loads


# --- determinism -----------------------------------------------------------------------------------------

def test_same_result_whatever_the_host_order():
    entries = chained(["bookworm", "trixie", "noble"]) + flat(30)
    names = hosts(5)
    expected = placement(assign(entries, names, "amd64", repo="buildpack-deps"))
    for order in (list(reversed(names)), names[2:] + names[:2], names + names[:1]):
        assert placement(assign(entries, order, "amd64", repo="buildpack-deps")) == expected


_IN_A_FRESH_INTERPRETER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.buildfarm.images.plugins.module_utils.build.scheduling import assign
entries = [{"directory": "v%d" % i, "tags": ["t%d" % i], "architectures": ["amd64"], "from": "x:y",
            "constraints": []} for i in range(40)]
result = assign(entries, ["a", "b", "c", "d"], "amd64", repo="r")
print(json.dumps({h: [e["directory"] for e in s] for h, s in result.shares.items()}, sort_keys=True))
"""


def test_same_result_across_runs(repo_root):
    # string hashing is salted per interpreter: a scheduler using hash() would differ between these runs
    outputs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outputs.add(subprocess.run(
            [sys.executable, "-c", _IN_A_FRESH_INTERPRETER, str(repo_root / ".collections")],
            env=env, check=True, capture_output=True, text=True).stdout)
    assert len(outputs) == 1
    shares = json.loads(outputs.pop())
    assert sorted(shares) == ["a", "b", "c", "d"] and all(len(s) == 10 for s in shares.values())


# --- dependency chains -----------------------------------------------------------------------------------

@pytest.mark.parametrize("frm, chained_with", [
    ("buildpack-deps:bookworm-curl", "bookworm/curl"),
    ("docker.io/library/buildpack-deps:bookworm-curl", "bookworm/curl"),
    ("registry.example:5000/amd64/buildpack-deps:bookworm-curl@sha256:" + "0" * 64, "bookworm/curl"),
    ("buildpack-deps:shared-curl", "bookworm/curl"),  # a SharedTag names the entry too
    ("buildpack-deps", "bookworm/latest"),  # no tag is latest
    ("debian:bookworm-curl", None),  # same tag, another repository: not a dependency
    ("buildpack-deps:nowhere", None),
])
def test_from_links_entries(frm, chained_with):
    entries = [entry("bookworm/curl", ["bookworm-curl"], shared=["shared-curl"]),
               entry("bookworm/latest", ["latest"])] + flat(12) + [entry("child", ["child"], frm=frm)]
    for n in (2, 3, 4, 6):
        where = placement(assign(entries, hosts(n), "amd64", repo="buildpack-deps"))
        if chained_with:
            assert where["child"] == where[chained_with]
    if chained_with is None:
        # an unlinked entry is free to go elsewhere: over several host counts it does at least once
        assert any(placement(assign(entries, hosts(n), "amd64", repo="buildpack-deps"))["child"]
                   != placement(assign(entries, hosts(n), "amd64", repo="buildpack-deps"))["bookworm/curl"]
                   for n in (2, 3, 4, 6))


@pytest.mark.parametrize("repo", ["buildpack-deps", "library/buildpack-deps", "arm64v8/buildpack-deps"])
def test_repo_may_carry_a_namespace(repo):
    entries = chained(["bookworm", "trixie"]) + flat(10)
    where = placement(assign(entries, hosts(4), "amd64", repo=repo))
    assert where["bookworm/curl"] == where["bookworm/scm"] == where["bookworm"]
    assert where["trixie/curl"] == where["trixie/scm"] == where["trixie"]


def test_chains_stay_on_one_host_and_build_parents_first():
    suites = ["bookworm", "trixie", "noble", "jammy", "bullseye"]
    # the plan lists children before their parents: the share must still build parents first
    entries = list(reversed(chained(suites))) + flat(10)
    result = assign(entries, hosts(3), "amd64", repo="buildpack-deps")
    where = placement(result)
    for s in suites:
        assert where["%s/curl" % s] == where["%s/scm" % s] == where[s]
    for share in result.shares.values():
        dirs = [e["directory"] for e in share]
        for s in suites:
            if s in dirs:
                assert dirs.index("%s/curl" % s) < dirs.index("%s/scm" % s) < dirs.index(s)


def test_from_cycle_is_an_error():
    entries = [entry("a", ["a"], frm="img:b"), entry("b", ["b"], frm="img:a")]
    with pytest.raises(SchedulingError, match="a, b.*FROM cycle"):
        assign(entries, hosts(2), "amd64", repo="img")


# --- host added / removed --------------------------------------------------------------------------------

@pytest.mark.parametrize("n_hosts", [3, 4, 6])
@pytest.mark.parametrize("entries", [flat(60), chained(["bookworm", "trixie", "noble", "jammy"]) + flat(48)],
                         ids=["flat", "chains"])
def test_removing_a_host_moves_mostly_its_own_entries(entries, n_hosts):
    before = placement(assign(entries, hosts(n_hosts), "amd64", repo="buildpack-deps"))
    gone = hosts(n_hosts)[1]
    after = placement(assign(entries, [h for h in hosts(n_hosts) if h != gone], "amd64", repo="buildpack-deps"))
    assert gone not in after.values()
    others_moved = [d for d in before if before[d] != gone and after[d] != before[d]]
    # modulo hashing would move about (n-1)/n of them; rendezvous moves those of the removed host
    # plus a few the load bound pushes on
    assert len(others_moved) <= len(entries) // 10, others_moved


@pytest.mark.parametrize("n_hosts", [2, 3, 5])
@pytest.mark.parametrize("entries", [flat(60), chained(["bookworm", "trixie", "noble", "jammy"]) + flat(48)],
                         ids=["flat", "chains"])
def test_adding_a_host_moves_about_its_fair_share(entries, n_hosts):
    before = placement(assign(entries, hosts(n_hosts), "amd64", repo="buildpack-deps"))
    after = placement(assign(entries, hosts(n_hosts) + ["builder-new"], "amd64", repo="buildpack-deps"))
    moved = [d for d in before if after[d] != before[d]]
    fair_share = len(entries) / (n_hosts + 1)
    assert fair_share * 0.5 <= len(moved) <= fair_share * 1.5, (len(moved), fair_share)
    assert sum(1 for h in after.values() if h == "builder-new") >= fair_share * 0.5


# --- which entries take part -----------------------------------------------------------------------------

def test_only_entries_of_the_architecture_take_part():
    entries = flat(4, ["amd64"]) + flat(3, ["s390x"])
    result = assign(entries, hosts(2), "s390x", repo="img")
    assert sorted(placement(result)) == ["v0/trixie", "v1/trixie", "v2/trixie"]
    assert not result.unroutable


def test_comma_separated_fields_are_read_like_lists():
    entries = [entry("a", "a, a1", arches="amd64, s390x"), entry("b", "b", frm="img:a1", arches="amd64, s390x")]
    where = placement(assign(entries, hosts(5), "s390x", repo="img"))
    assert set(where) == {"a", "b"} and where["a"] == where["b"]


def test_a_group_without_hosts_leaves_its_entries_unroutable():
    result = assign(flat(3), [], "arm64v8", repo="img")
    assert result.shares == {}
    assert [u.entry["directory"] for u in result.unroutable] == ["v0/trixie", "v1/trixie", "v2/trixie"]
    assert result.unroutable[0].to_dict() == {"directory": "v0/trixie", "tags": ["v0-trixie"],
                                              "reason": "no builder host in the arm64v8 group"}


def test_linux_hosts_satisfy_negated_constraints_only():
    entries = [entry("a", ["a"], constraints=["!aufs"]), entry("b", ["b"], constraints=["aufs"])]
    result = assign(entries, hosts(2), "amd64", repo="img")
    assert list(placement(result)) == ["a"]
    assert [(u.entry["directory"], u.reason) for u in result.unroutable] == \
        [("b", "no amd64 builder satisfies Constraints aufs")]


def test_unknown_architecture_is_an_error():
    with pytest.raises(architectures.UnknownArchitecture, match="'amd65'"):
        assign(flat(1), hosts(1), "amd65", repo="img")


# --- Windows routing -------------------------------------------------------------------------------------

def test_python_windows_entries_route_to_their_release_hosts():
    result = assign(PYTHON, list(WINDOWS_HOSTS), "windows-amd64", repo="python", releases=WINDOWS_HOSTS)
    assert not result.unroutable
    shares = {h: [e["directory"] for e in s] for h, s in result.shares.items()}
    assert shares == {
        "win-ltsc2025-01": ["3.15-rc/windows/windowsservercore-ltsc2025", "3.14/windows/windowsservercore-ltsc2025",
                            "3.13/windows/windowsservercore-ltsc2025"],
        "win-ltsc2022-01": ["3.15-rc/windows/windowsservercore-ltsc2022", "3.14/windows/windowsservercore-ltsc2022",
                            "3.13/windows/windowsservercore-ltsc2022"],
        "win-ltsc2019-01": [],
    }


@pytest.mark.parametrize("releases, expected_hosts, unroutable", [
    # two hosts of one release share its entries; the other release has none: its entries are unroutable
    ({"w25a": "ltsc2025", "w25b": "ltsc2025"}, {"w25a", "w25b"},
     ["3.15-rc/windows/windowsservercore-ltsc2022", "3.14/windows/windowsservercore-ltsc2022",
      "3.13/windows/windowsservercore-ltsc2022"]),
    ({"w22": "ltsc2022", "w19": "ltsc2019", "w1809": "1809"}, {"w22"},
     ["3.15-rc/windows/windowsservercore-ltsc2025", "3.14/windows/windowsservercore-ltsc2025",
      "3.13/windows/windowsservercore-ltsc2025"]),
    ({}, set(), [e["directory"] for e in PYTHON if "windows-amd64" in e["architectures"]]),
])
def test_windows_entries_without_a_release_host_are_unroutable(releases, expected_hosts, unroutable):
    result = assign(PYTHON, list(releases), "windows-amd64", repo="python", releases=releases)
    used = {h for h, share in result.shares.items() if share}
    assert used == expected_hosts
    assert [u.entry["directory"] for u in result.unroutable] == unroutable
    if releases:
        assert "no windows-amd64 builder states the release its Constraints name" in result.unroutable[0].reason


@pytest.mark.parametrize("constraints, release, routed", [
    (["windowsservercore-1809"], "ltsc2019", True),  # same build, 17763
    (["windowsservercore-ltsc2019"], "1809", True),
    (["nanoserver-ltsc2022", "windowsservercore-ltsc2022"], "ltsc2022", True),
    (["nanoserver-ltsc2022", "windowsservercore-ltsc2025"], "ltsc2022", False),
    (["windowsservercore-ltsc2022"], "ltsc2025", False),
    ([], "ltsc2022", True),  # an entry without Constraints runs on any Windows builder
    (["!windowsservercore-ltsc2022"], "ltsc2022", False),
])
def test_windows_constraints_against_host_release(constraints, release, routed):
    entries = [entry("e", ["e"], frm="mcr.microsoft.com/windows/servercore:x", arches=["windows-amd64"],
                     constraints=constraints)]
    result = assign(entries, ["w"], "windows-amd64", repo="img", releases={"w": release})
    assert (placement(result) == {"e": "w"}) is routed
    assert len(result.unroutable) == (0 if routed else 1)


def test_a_windows_chain_routes_whole_or_not_at_all():
    entries = [
        entry("core", ["core"], frm="mcr.microsoft.com/windows/servercore:ltsc2022", arches=["windows-amd64"],
              constraints=["windowsservercore-ltsc2022"]),
        entry("nano", ["nano"], frm="img:core", arches=["windows-amd64"],
              constraints=["nanoserver-ltsc2025", "windowsservercore-ltsc2025"]),
    ]
    result = assign(entries, ["w22", "w25"], "windows-amd64", repo="img",
                    releases={"w22": "ltsc2022", "w25": "ltsc2025"})
    assert placement(result) == {}
    assert [u.entry["directory"] for u in result.unroutable] == ["core", "nano"]


def test_windows_host_without_release_is_an_error():
    with pytest.raises(SchedulingError, match="win-b has no buildfarm_windows_release"):
        assign(PYTHON, ["win-a", "win-b"], "windows-amd64", repo="python", releases={"win-a": "ltsc2022"})


# --- the release check -----------------------------------------------------------------------------------

@pytest.mark.parametrize("release, build", [
    ("ltsc2025", 26100), ("ltsc2022", "20348"), ("ltsc2019", "10.0.17763.0"), ("1809", "10.0.17763.6893"),
])
def test_matching_build_number_passes(release, build):
    assert check_windows_release(release, build) == release


@pytest.mark.parametrize("release, build, message", [
    ("ltsc2022", "10.0.26100.0",
     "buildfarm_windows_release is 'ltsc2022' (build 20348) but the host runs Windows build 26100: "
     "set buildfarm_windows_release to ltsc2025"),
    ("ltsc2025", 17763, "host runs Windows build 17763: set buildfarm_windows_release to ltsc2019 or 1809"),
    ("ltsc2022", "10.0.19041.0", "build 19041: this build is none of the supported releases (ltsc2025=26100"),
    ("ltsc2023", 20348, "buildfarm_windows_release 'ltsc2023' is not a known Windows release (known: ltsc2025"),
    ("ltsc2022", "Windows", "cannot read a Windows build number from 'Windows'"),
])
def test_mismatched_build_number_is_a_clear_error(release, build, message):
    with pytest.raises(WindowsReleaseError) as err:
        check_windows_release(release, build)
    assert message in str(err.value)


@pytest.mark.parametrize("release, constraints", [
    ("ltsc2022", ["windowsservercore-ltsc2022", "nanoserver-ltsc2022"]),
    ("1809", ["windowsservercore-ltsc2019", "windowsservercore-1809", "nanoserver-ltsc2019", "nanoserver-1809"]),
])
def test_host_constraints(release, constraints):
    assert host_constraints(release) == constraints


def test_every_architecture_of_the_table_can_be_scheduled():
    for name in architectures.ARCHITECTURES:
        releases = {"h": "ltsc2022"} if architectures.get(name).is_windows else None
        result = assign(flat(2, [name]), ["h"], name, repo="img", releases=releases)
        assert len(result.shares["h"]) == 2, name


def test_windows_host_with_an_unknown_release_is_an_error():
    with pytest.raises(WindowsReleaseError, match="'ltsc2030' is not a known Windows release"):
        assign(PYTHON, ["w"], "windows-amd64", repo="python", releases={"w": "ltsc2030"})
