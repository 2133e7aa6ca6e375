# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which builder host builds which plan entry: sharing an architecture group, routing Windows releases.

Plain typed Python, importable without Ansible (runs on Python >= 3.9).

API
---
``assign(entries, hosts, arch, *, repo, releases=None) -> Assignment``
    ``entries`` are the release plan's entries (``release_plan``'s ``plan.entries``): dicts with at least
    ``tags``, ``architectures``, ``directory``, ``from`` and ``constraints`` (``shared_tags`` is honoured
    when present). ``tags``/``architectures``/``constraints``/``from`` may be lists or comma-separated strings.
    Only entries listing ``arch`` take part; the others are neither assigned nor unroutable.
    ``hosts`` are the inventory hostnames of the architecture's group (order does not matter).
    ``repo`` is the repository the plan publishes (``python`` or ``library/python``), unless an entry names its
    own in a ``repo`` field (a release of several families): an entry whose FROM names an entry's repository (with
    any registry or namespace prefix) and one of its tags depends on it, across families too.
    ``releases`` maps each host to its ``buildfarm_windows_release``; it is required for Windows architectures.

    The result's ``shares`` maps every host to the entries it builds, in plan order except that an entry
    always comes after the entries it is built FROM (build them in that order); ``unroutable`` lists the
    entries no host can build, each with a reason (the release report lists them; their manifest lists follow
    the completeness policy). A FROM cycle raises ``SchedulingError``.

    Guarantees: a dependency chain (entries linked by FROM, transitively) stays on one host; the result depends
    only on the entries and the set of hosts (never on their order, a seed or the run); no host exceeds
    ``ceil(total / hosts)`` by more than one chain (bounded-load rendezvous hashing on the chain root's
    directory), and adding or removing a host moves few chains (mostly those of the removed host, or about a
    fair share to the new host).

``check_windows_release(release, build) -> str``
    Checks a Windows builder's stated ``buildfarm_windows_release`` against the host's build number (an int,
    ``"20348"`` or an OS version such as ``"10.0.20348.0"``, the ``distribution_version`` fact) and returns the
    release; raises ``WindowsReleaseError`` with a message naming both and the release to state instead.

``host_constraints(release) -> list[str]``
    The Constraints a Windows host of that release satisfies: ``windowsservercore-<r>`` and ``nanoserver-<r>``
    for its release and any other name of the same build (1809 and ltsc2019 are both build 17763).

Constraints follow bashbrew: every plain constraint must be one the host satisfies and no ``!negated`` one
may be; Linux hosts satisfy no constraint.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef

# Windows Server releases a builder can state, and the OS build number each runs.
WINDOWS_RELEASES: dict[str, int] = {
    "ltsc2025": 26100,
    "ltsc2022": 20348,
    "ltsc2019": 17763,
    "1809": 17763,
}
# Base images whose tags carry the release; bashbrew's Windows Constraints name them.
_WINDOWS_BASES = ("windowsservercore", "nanoserver")
CLASSIC = "classic"


class SchedulingError(BuildfarmError, ValueError):
    """Input that cannot be scheduled (unknown architecture, a Windows host without a release...)."""


class WindowsReleaseError(SchedulingError):
    """A Windows builder's stated release does not match the host's build number."""


@dataclass(frozen=True)
class Unroutable:
    """A plan entry no host of its architecture group can build, and why."""

    entry: dict
    reason: str

    def to_dict(self) -> dict:
        return {"directory": self.entry.get("directory"), "tags": _as_list(self.entry.get("tags")),
                "reason": self.reason}


@dataclass
class Assignment:
    """The result of ``assign``: each host's share, in plan order, and the entries no host can build."""

    arch: str
    shares: dict[str, list[dict]] = field(default_factory=dict)
    unroutable: list[Unroutable] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"arch": self.arch, "shares": self.shares, "unroutable": [u.to_dict() for u in self.unroutable]}


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


# --- Windows releases ------------------------------------------------------------------------------------

def _build_number(build) -> int:
    text = str(build).strip()
    parts = text.split(".")
    # "10.0.20348.0" (major.minor.build.revision) or a bare build number
    candidate = parts[2] if len(parts) >= 3 else parts[0]
    if not candidate.isdigit():
        raise WindowsReleaseError("cannot read a Windows build number from %r" % (build,))
    return int(candidate)


def releases_for_build(build) -> list[str]:
    """The release names of a Windows build number (17763 -> ['ltsc2019', '1809'])."""
    number = _build_number(build)
    return [r for r, b in WINDOWS_RELEASES.items() if b == number]


def _known_release(release: str) -> int:
    """The build number of a release name, or a clear error."""
    if release not in WINDOWS_RELEASES:
        raise WindowsReleaseError(
            "buildfarm_windows_release %r is not a known Windows release (known: %s)"
            % (release, ", ".join(WINDOWS_RELEASES))
        )
    return WINDOWS_RELEASES[release]


def check_windows_release(release: str, build) -> str:
    expected = _known_release(release)
    number = _build_number(build)
    if expected != number:
        actual = releases_for_build(number)
        hint = ("set buildfarm_windows_release to %s" % " or ".join(actual)) if actual else (
            "this build is none of the supported releases (%s)"
            % ", ".join("%s=%d" % kv for kv in WINDOWS_RELEASES.items()))
        raise WindowsReleaseError(
            "buildfarm_windows_release is %r (build %d) but the host runs Windows build %d: %s"
            % (release, expected, number, hint)
        )
    return release


def host_constraints(release: str) -> list[str]:
    build = _known_release(release)
    same_build = [r for r, b in WINDOWS_RELEASES.items() if b == build]
    return ["%s-%s" % (base, r) for base in _WINDOWS_BASES for r in same_build]


def _satisfies(constraints: Sequence[str], capabilities: frozenset[str]) -> bool:
    for c in constraints:
        if c.startswith("!"):
            if c[1:] in capabilities:
                return False
        elif c not in capabilities:
            return False
    return True


# --- dependency chains -----------------------------------------------------------------------------------

def _from_ref(ref: str) -> tuple[str, str]:
    """(repository's last path component, tag) of a FROM reference: any registry or namespace prefix names the
    same repository (the farm's per-architecture copies included)."""
    image = ImageRef.parse(ref.strip(), default_tag="latest")
    return image.name, image.tag


def _dependencies(entries: list[dict], repo: str) -> list[set[int]]:
    """For each entry, the indexes of the entries of ``entries`` it is built FROM. An entry's repository is its
    own ``repo`` field (a release of several families) or ``repo``."""
    by_tag: dict[tuple[str, str], int] = {}
    for i, e in enumerate(entries):
        # "library/python" and "python" name the same repository
        name = str(e.get("repo") or repo).rsplit("/", 1)[-1]
        for t in _as_list(e.get("tags")) + _as_list(e.get("shared_tags")):
            by_tag.setdefault((name, t), i)
    deps: list[set[int]] = []
    for i, e in enumerate(entries):
        refs = (_from_ref(ref) for ref in _as_list(e.get("from")))
        deps.append({by_tag[ref] for ref in refs if ref in by_tag} - {i})
    return deps


def _chains(deps: list[set[int]]) -> list[list[int]]:
    """Entries linked by FROM (either way, transitively), each chain in plan order, chains ordered by root."""
    parent = list(range(len(deps)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, parents in enumerate(deps):
        for j in parents:
            a, b = find(i), find(j)
            # the representative is the earliest entry, so chains sort by their first entry in plan order
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(deps)):
        groups.setdefault(find(i), []).append(i)
    return [groups[k] for k in sorted(groups)]


def _build_order(indexes: list[int], deps: list[set[int]], entries: list[dict]) -> list[int]:
    """``indexes`` in plan order, except that an entry comes after every entry it is built FROM."""
    done: set[int] = set()
    order: list[int] = []
    pending = list(indexes)
    while pending:
        ready = next((i for i in pending if deps[i] <= done), None)
        if ready is None:
            raise SchedulingError("entries %s are built FROM each other (a FROM cycle)"
                                  % ", ".join(str(entries[i].get("directory")) for i in pending))
        pending.remove(ready)
        done.add(ready)
        order.append(ready)
    return order


def _score(host: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(("%s\0%s" % (host, key)).encode()).digest()[:8], "big")


# --- assignment ------------------------------------------------------------------------------------------

def assign(
    entries: list[dict],
    hosts: Sequence[str],
    arch: str,
    *,
    repo: str = "",
    releases: Mapping[str, str] | None = None,
) -> Assignment:
    is_windows = architectures.get(arch).is_windows
    hostnames = sorted(set(hosts))
    capabilities: dict[str, frozenset[str]] = {}
    for h in hostnames:
        if not is_windows:
            capabilities[h] = frozenset()
            continue
        release = (releases or {}).get(h)
        if not release:
            raise SchedulingError("Windows builder %s has no buildfarm_windows_release" % h)
        capabilities[h] = frozenset(host_constraints(release))

    mine = [e for e in entries if arch in _as_list(e.get("architectures"))]
    result = Assignment(arch=arch, shares={h: [] for h in hostnames})

    # chains with the hosts able to build every entry of them
    routable: dict[tuple[str, ...], list[tuple[str, list[int]]]] = {}
    deps = _dependencies(mine, repo)
    order = _build_order(list(range(len(mine))), deps, mine)
    for chain in _chains(deps):
        constraints = list(dict.fromkeys(c for i in chain for c in _as_list(mine[i].get("constraints"))))
        eligible = tuple(h for h in hostnames if _satisfies(constraints, capabilities[h]))
        if not eligible:
            reason = _unroutable_reason(arch, hostnames, constraints, is_windows)
            result.unroutable.extend(Unroutable(mine[i], reason) for i in chain)
            continue
        root = next(i for i in chain if not deps[i])
        routable.setdefault(eligible, []).append((str(mine[root].get("directory")), chain))

    placed: dict[int, str] = {}
    load = {h: 0 for h in hostnames}
    for eligible in sorted(routable):
        placed.update(_place(routable[eligible], eligible, load))
    for i in order:
        if i in placed:
            result.shares[placed[i]].append(mine[i])
    return result


def _place(chains: list[tuple[str, list[int]]], eligible: tuple[str, ...], load: dict[str, int]) -> dict[int, str]:
    """Bounded-load rendezvous hashing of (key, chain) pairs onto ``eligible`` hosts, updating ``load``.

    A host takes at most an even share (total // hosts, plus one for as many hosts as the remainder), so loads
    differ by at most one chain; within that bound a chain goes to its best-scoring host, which is what keeps
    placements stable when hosts come and go.
    """
    even, extra = divmod(sum(len(kc[1]) for kc in chains), len(eligible))

    def fits(host: str, size: int) -> bool:
        if load[host] + size <= even:
            return True
        above = sum(1 for h in eligible if h != host and load[h] > even)
        return load[host] + size <= even + 1 and above < extra

    placed: dict[int, str] = {}
    # largest chains first so that small ones fill the gaps; the key breaks ties independently of order
    for key, chain in sorted(chains, key=lambda kc: (-len(kc[1]), kc[0])):
        ranked = sorted(eligible, key=lambda h: (-_score(h, key), h))
        host = next((h for h in ranked if fits(h, len(chain))), min(ranked, key=lambda h: load[h]))
        load[host] += len(chain)
        placed.update((i, host) for i in chain)
    return placed


def _unroutable_reason(arch: str, hosts: list[str], constraints: list[str], is_windows: bool) -> str:
    if not hosts:
        return "no builder host in the %s group" % arch
    if is_windows:
        return "no %s builder states the release its Constraints name (%s)" % (arch, ", ".join(constraints))
    return "no %s builder satisfies Constraints %s" % (arch, ", ".join(constraints))
