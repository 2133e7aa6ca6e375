# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files from a Debian package of any Debian architecture, fetched from the host's own Debian mirror.

apt runs with a private state, cache and sources folder per architecture (under ``cache_dir``): the host's
dpkg architectures and package lists are left alone, several architectures can be fetched at once, and only
the Debian archive's own stanzas of /etc/apt are used (third-party repositories often lack foreign
architectures). Plain typed Python; needs apt-get and dpkg-deb on the host.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

SOURCES_DIR = "/etc/apt/sources.list.d"
# Debian releases (codenames) a family may name as the suite it takes a package from, oldest first; sid is unstable.
DEBIAN_SUITES = ("bullseye", "bookworm", "trixie", "forky", "sid")
# Runs a command: (argv, cwd) -> (rc, stdout, stderr); the module passes AnsibleModule.run_command.
Runner = Callable[[Sequence[str], Optional[str]], Tuple[int, str, str]]
STAMP_SUFFIX = ".package.json"  # next to dest, so it is not part of a build context


class PackageError(BuildfarmError, RuntimeError):
    pass


@dataclass(frozen=True)
class Source:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str = ""

    def deb822(self) -> str:
        lines = ["Types: deb", "URIs: " + self.uri, "Suites: " + " ".join(self.suites),
                 "Components: " + " ".join(self.components)]
        if self.signed_by:
            lines.append("Signed-By: " + self.signed_by)
        return "\n".join(lines) + "\n"


def codename(os_release: str = "/etc/os-release") -> str:
    with open(os_release, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    raise PackageError("%s: no VERSION_CODENAME" % os_release)


def _parse_deb822(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, last = {}, ""
        elif line.startswith("#"):
            continue
        elif line[0] in " \t" and last:
            cur[last] += "\n" + line.strip()
        else:
            key, val = line.partition(":")[::2]
            last = key.strip().lower()
            cur[last] = val.strip()
    if cur:
        stanzas.append(cur)
    return stanzas


def debian_sources(dist: str, sources_dir: str = SOURCES_DIR) -> list[Source]:
    """The host's apt sources that serve the Debian release ``dist`` (its suites start with the codename)."""
    found: list[Source] = []
    for path in sorted(glob.glob(os.path.join(sources_dir, "*.sources"))):
        with open(path, encoding="utf-8") as fh:
            for st in _parse_deb822(fh.read()):
                if "deb" not in st.get("types", "").split() or st.get("enabled", "yes").lower() == "no":
                    continue
                suites = tuple(s for s in st.get("suites", "").split() if s == dist or s.startswith(dist + "-"))
                if suites:
                    for uri in st.get("uris", "").split():
                        found.append(Source(uri, suites, tuple(st.get("components", "main").split()),
                                            st.get("signed-by", "")))
    list_files = sorted(glob.glob(os.path.join(sources_dir, "*.list")))
    if os.path.exists(os.path.join(os.path.dirname(sources_dir), "sources.list")):
        list_files.insert(0, os.path.join(os.path.dirname(sources_dir), "sources.list"))
    for path in list_files:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                m = re.match(r"^deb\s+(?:\[(?P<opts>[^]]*)\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)\s+(?P<comps>.+)$",
                             line.strip())
                if m and (m.group("suite") == dist or m.group("suite").startswith(dist + "-")):
                    opts = dict(o.split("=", 1) for o in (m.group("opts") or "").split() if "=" in o)
                    found.append(Source(m.group("uri"), (m.group("suite"),), tuple(m.group("comps").split()),
                                        opts.get("signed-by", "")))
    if not found:
        raise PackageError("no apt source for Debian %s in %s (a deb822 or one-line source whose suite is %s[-*])"
                           % (dist, sources_dir, dist))
    return found


def suite_sources(suite: str = "", sources_dir: str = SOURCES_DIR, os_release: str = "/etc/os-release") -> list[Source]:
    """The apt sources to read the Debian release ``suite`` from, on the host's own Debian mirror: the stanzas of
    the host's release with its suites renamed (on a trixie host, bookworm is read as trixie is: trixie ->
    bookworm, trixie-updates -> bookworm-updates, trixie-security -> bookworm-security; sid has neither), so a
    family that names its suite gets the same package whatever release the host runs. Empty: the host's release
    (its sources as they are)."""
    host = codename(os_release)
    if not suite or suite == host:
        return debian_sources(host, sources_dir)
    if suite not in DEBIAN_SUITES:
        raise PackageError("unknown Debian suite %r (known: %s)" % (suite, ", ".join(DEBIAN_SUITES)))
    out: list[Source] = []
    for src in debian_sources(host, sources_dir):
        suites = []
        for s in src.suites:
            tail = s[len(host):]  # "", "-updates", "-security", "-backports" ...
            if tail in ("", "-updates", "-security") and not (suite == "sid" and tail):
                suites.append(suite + tail)
        if suites:
            out.append(Source(src.uri, tuple(suites), src.components, src.signed_by))
    if not out:
        raise PackageError("no apt source of the host's Debian %s in %s to read %s from" % (host, sources_dir, suite))
    return out


@dataclass
class PackageFetcher:
    """apt with a private state for one Debian architecture."""

    cache_dir: str
    debian_arch: str
    sources: list[Source]
    run: Runner
    max_list_age: int = 6 * 3600  # seconds before the package lists are refreshed
    update_attempts: int = 3
    warnings: list[str] = field(default_factory=list)
    suite: str = ""  # a suite named by the caller: its lists are kept apart from the host release's

    @property
    def root(self) -> str:
        if self.suite:
            return os.path.join(self.cache_dir, "apt", self.suite, self.debian_arch)
        return os.path.join(self.cache_dir, "apt", self.debian_arch)

    def _opts(self) -> list[str]:
        r = self.root
        return [
            "-o", "Dir::State=" + os.path.join(r, "state"),
            "-o", "Dir::State::status=/dev/null",
            "-o", "Dir::Cache=" + os.path.join(r, "cache"),
            "-o", "Dir::Etc::SourceList=/dev/null",
            "-o", "Dir::Etc::SourceParts=" + os.path.join(r, "sources"),
            "-o", "APT::Architecture=" + self.debian_arch,
            "-o", "APT::Architectures::=" + self.debian_arch,
            "-o", "Acquire::Languages=none",
            "-o", "APT::Sandbox::User=root",
            "-o", "Debug::NoLocking=1",
            "-q",
        ]

    def _apt(self, tool: str, *args: str, cwd: str | None = None) -> str:
        rc, out, err = self.run([tool] + self._opts() + list(args), cwd)
        if rc != 0:
            raise PackageError("%s %s for %s failed (rc=%d): %s" % (
                tool, " ".join(args), self.debian_arch, rc, err.strip()[-2000:]))
        return out

    def update(self) -> bool:
        """Refresh the package lists when they are older than max_list_age; True when refreshed.

        When some index keeps failing, the lists that did download are used and the error is kept in
        ``warnings``: candidate() still fails clearly if the package is not found in them."""
        r = self.root
        for d in ("state/lists/partial", "cache/archives/partial", "sources"):
            os.makedirs(os.path.join(r, d), exist_ok=True)
        sources_file = os.path.join(r, "sources", "debian.sources")
        content = "\n".join(s.deb822() for s in self.sources)
        stamp = os.path.join(r, "state", "updated")
        old = open(sources_file, encoding="utf-8").read() if os.path.exists(sources_file) else None
        if old == content and os.path.exists(stamp) and time.time() - os.path.getmtime(stamp) < self.max_list_age:
            return False
        with open(sources_file, "w", encoding="utf-8") as fh:
            fh.write(content)
        for attempt in range(1, self.update_attempts + 1):
            try:
                self._apt("apt-get", "update")
                break
            except PackageError as exc:
                # a mirror mid-sync serves a stale index for a while; the other indexes are usable meanwhile
                if attempt == self.update_attempts:
                    self.warnings.append(str(exc))
                    return True
                time.sleep(2 * attempt)
        with open(stamp, "w", encoding="utf-8") as fh:
            fh.write(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        return True

    def candidate(self, package: str) -> str:
        out = self._apt("apt-cache", "policy", "%s:%s" % (package, self.debian_arch))
        m = re.search(r"Candidate:\s*(\S+)", out)
        if not m or m.group(1) == "(none)":
            raise PackageError("package %s:%s not found on the mirror (%s, suites %s)"
                               % (package, self.debian_arch, ", ".join(s.uri for s in self.sources),
                                  " ".join(sorted({x for s in self.sources for x in s.suites}))))
        return m.group(1)

    def download(self, package: str, version: str) -> str:
        debs = os.path.join(self.root, "debs")
        os.makedirs(debs, exist_ok=True)
        existing = [p for p in glob.glob(os.path.join(debs, "%s_*_%s.deb" % (package, self.debian_arch)))
                    if deb_version(self.run, p) == version]
        if existing:
            return existing[0]
        self._apt("apt-get", "download", "%s:%s=%s" % (package, self.debian_arch, version), cwd=debs)
        for p in glob.glob(os.path.join(debs, "%s_*_%s.deb" % (package, self.debian_arch))):
            if deb_version(self.run, p) == version:
                return p
        raise PackageError("apt-get download %s:%s=%s left no .deb in %s" % (package, self.debian_arch, version, debs))


def deb_version(run: Runner, path: str) -> str:
    rc, out, err = run(["dpkg-deb", "-f", path, "Version"], None)
    if rc != 0:
        raise PackageError("dpkg-deb -f %s Version failed: %s" % (path, err.strip()))
    return out.strip()


def upstream_version(debian_version: str) -> str:
    """1:1.35.0-4+deb12u1+b1 -> 1.35.0"""
    v = debian_version.split(":", 1)[-1]
    return v.rsplit("-", 1)[0] if "-" in v else v


@dataclass
class ExtractResult:
    changed: bool
    package_version: str
    files: dict[str, str]  # dest relative path -> sha256


def extract(run: Runner, deb: str, files: Mapping[str, str], dest: str, package_version: str,
            check: bool = False) -> ExtractResult:
    """Place ``files`` (path in the package -> path under dest) from ``deb`` in ``dest``, replaced whole."""
    stamp_path = os.path.abspath(dest).rstrip("/") + STAMP_SUFFIX
    want = {"package_version": package_version, "files": dict(sorted(files.items()))}
    if os.path.exists(stamp_path):
        with open(stamp_path, encoding="utf-8") as fh:
            have = json.load(fh)
        if ({k: have.get(k) for k in want} == want
                and all(os.path.exists(os.path.join(dest, d)) for d in files.values())):
            return ExtractResult(False, package_version, have.get("sha256", {}))
    if check:
        return ExtractResult(True, package_version, {})
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as tmp:
        unpacked = os.path.join(tmp, "deb")
        rc, _out, err = run(["dpkg-deb", "-x", deb, unpacked], None)
        if rc != 0:
            raise PackageError("dpkg-deb -x %s failed: %s" % (deb, err.strip()))
        staged = os.path.join(tmp, "out")
        sums = {}
        for src, dst in files.items():
            s = os.path.join(unpacked, src.lstrip("/"))
            if not os.path.isfile(s):
                raise PackageError("%s has no file %s" % (os.path.basename(deb), src))
            d = os.path.join(staged, dst)
            os.makedirs(os.path.dirname(d), exist_ok=True)
            shutil.copy2(s, d)
            with open(d, "rb") as fh:
                sums[dst] = hashlib.sha256(fh.read()).hexdigest()
        # swap in whole: the old folder is moved aside first so dest is never half-written
        old = os.path.join(tmp, "old")
        if os.path.exists(dest):
            os.rename(dest, old)
        os.rename(staged, dest)
    with open(stamp_path, "w", encoding="utf-8") as fh:
        json.dump(dict(want, sha256=sums), fh, indent=1, sort_keys=True)
    return ExtractResult(True, package_version, sums)


@dataclass
class PackageFiles:
    """What fetch_package_files placed: the package's Debian version and the files' digests."""

    version: str
    result: ExtractResult
    warnings: list[str] = field(default_factory=list)


def fetch_package_files(run: Runner, cache_dir: str, debian_arch: str, package: str, files: Mapping[str, str],
                        dest: str, suite: str = "", expect_version: str = "", check: bool = False,
                        max_list_age: int = 21600) -> PackageFiles:
    """Files of the mirror's candidate of ``package`` for ``debian_arch`` placed in ``dest`` (package lists and
    .debs cached in ``cache_dir``); ``suite``: the Debian release to take it from (read from the host's own mirror,
    see suite_sources; default the host's release); ``expect_version``: the upstream version the package must have."""
    fetcher = PackageFetcher(cache_dir, debian_arch, suite_sources(suite), run, max_list_age, suite=suite)
    fetcher.update()
    version = fetcher.candidate(package)
    if expect_version and upstream_version(version) != expect_version:
        raise PackageError("%s:%s on the mirror (suite %s) is %s, the family expects upstream version %s"
                           % (package, debian_arch, suite or "%s, the host's" % codename(), version, expect_version))
    deb = fetcher.download(package, version)
    return PackageFiles(version, extract(run, deb, files, dest, version, check), list(fetcher.warnings))


def package_files(p: Mapping[str, Any], check: bool, run: Runner) -> dict[str, Any]:
    """debian_package_files' result for its parameters ``p``."""
    debian_arch = architectures.get(p["arch"]).debian_arch
    if not debian_arch:
        raise PackageError("architecture %s has no Debian architecture" % p["arch"])
    fetched = fetch_package_files(run, p["cache_dir"], debian_arch, p["package"],
                                  {str(k): str(v) for k, v in p["files"].items()}, p["dest_dir"], p["suite"] or "",
                                  p["expect_version"] or "", check, p["max_list_age"])
    res = fetched.result
    return dict(changed=res.changed, package_version=fetched.version, debian_arch=debian_arch, sha256=res.files,
                diff=dict(before="", after="%s %s\n" % (p["package"], fetched.version)) if res.changed else {},
                warnings=["package lists of %s partly refreshed: %s" % (debian_arch, w) for w in fetched.warnings])
