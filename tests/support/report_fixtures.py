"""Release report inputs shaped like the local default's release (busybox for amd64, arm64v8 and s390x; debian
trixie and bookworm, full and slim; python 3.13-slim-trixie for amd64 FROM debian:trixie-slim), as the stages
return them with today's contract fields (image_build's builder, started, finished, size, parents; image_push's
per-tag image_digest and attestation_digest; image_test's times; the verify stage's results).

``release(...)`` gives the arguments of release_report.build_report for: a first release where everything is
built, a release whose s390x builder failed, and a later release where one family (debian) changed and python was
rebuilt FROM it. Shared by the unit tests, the browser tests and benchmarks/bench_report_page.py.
"""
from __future__ import annotations

import calendar
import hashlib
import time
from typing import Any

REGISTRY = "127.0.0.1:5000"
BUILDERS = {"builder-amd64": "amd64", "builder-arm64v8": "arm64v8", "builder-s390x": "s390x"}
NS = {"amd64": "amd64", "arm64v8": "arm64v8", "s390x": "s390x"}


def _d(*parts: Any) -> str:
    return "sha256:" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def families(debian_point: str = "13.2") -> list[dict]:
    """The release's families (release_prepare's ``families``)."""
    busybox = {"name": "busybox", "revision": "b" * 40, "entries": [
        {"tags": ["1.37.0-%s" % v, "1.37-%s" % v, "1-%s" % v, v], "directory": "stable/" + v,
         "shared_tags": ["1.37.0", "1.37", "1", "stable", "latest"] if v == "glibc" else [],
         "architectures": ["amd64", "arm64v8", "s390x"], "version": "1.37.0", "variant": v, "from": ["scratch"]}
        for v in ("glibc", "musl", "uclibc")]}
    deb_entries = []
    for suite, num, arches in (("trixie", debian_point, ["amd64", "arm64v8"]),
                               ("bookworm", "12.12", ["amd64", "arm64v8", "s390x"])):
        major = num.split(".")[0]
        for slim in ("", "-slim"):
            tags = [suite + slim, "%s-20261201%s" % (suite, slim), num + slim, major + slim]
            shared = ["latest"] if suite == "trixie" and not slim else []
            deb_entries.append({"tags": tags, "shared_tags": shared, "architectures": arches, "version": num,
                                "directory": suite + ("/slim" if slim else ""),
                                "variant": suite + slim, "from": ["scratch"]})
    debian = {"name": "debian", "revision": "d" * 40, "entries": deb_entries}
    # what family.yml `sources:` renders for the entry (a made-up digest: the page and the JSON only show it)
    tarball = {"name": "python", "version": "3.13.5", "sha256": "5" * 64, "purl": "pkg:generic/python@3.13.5",
               "url": "https://www.python.org/ftp/python/3.13.5/Python-3.13.5.tar.xz"}
    python = {"name": "python", "revision": "p" * 40, "sources": {"3.13/slim-trixie": [tarball]}, "entries": [
        {"tags": ["3.13.5-slim-trixie", "3.13-slim-trixie", "3-slim-trixie", "slim-trixie"],
         "directory": "3.13/slim-trixie",
         "shared_tags": ["3.13.5-slim", "3.13-slim", "3-slim", "slim"], "architectures": ["amd64"],
         "version": "3.13.5", "variant": "slim-trixie", "from": ["debian:trixie-slim"]}]}
    return [busybox, debian, python]


def _base(repo: str) -> str:
    """busybox of busybox and of its copies (busybox-c2 ...)."""
    return repo.split("-c", 1)[0]


def _image(repo: str, e: dict, arch: str, round_: int, status: str, start: int, seconds: float,
           parents: list[dict], rev: str) -> dict:
    key = "%s:%s" % (repo, e["tags"][0])
    refs = ["%s/%s/%s:%s" % (REGISTRY, NS[arch], repo, t) for t in e["tags"] + e["shared_tags"]]
    h, m = divmod(start, 60)
    began = "2026-12-07T01:%02d:%02dZ" % (h % 60, m)
    end_s = start + int(seconds)
    return {"key": key, "repo": repo, "tags": refs, "status": status,
            "image_id": _d("id", key, arch, rev), "input_digest": _d("in", key, arch, rev),
            "builder": "buildkit", "started": began,
            "finished": "2026-12-07T%02d:%02d:%02dZ" % (1 + end_s // 3600, end_s // 60 % 60, end_s % 60),
            "seconds": seconds, "parents": parents, "error": "", "pulled": "",
            "size": {"busybox": 4_400_000, "debian": 120_000_000, "python": 128_000_000}[_base(repo)]
            // (2 if "slim" in key else 1)}


def _later(when: str, seconds: int) -> str:
    """An RFC 3339 UTC time ``seconds`` after ``when``."""
    t = calendar.timegm(time.strptime(when, "%Y-%m-%dT%H:%M:%SZ")) + seconds
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def results(fams: list[dict], statuses: dict[str, str] | None = None, rev: dict[str, str] | None = None,
            failing: str = "") -> dict[str, dict]:
    """Every builder's buildfarm_build_result. ``statuses``: repository -> built|unchanged (default built);
    ``rev``: repository -> a token of its inputs (a changed token changes its digests); ``failing``: a builder
    whose build failed (its busybox entries failed with an error, its debian ones skipped)."""
    statuses, rev = statuses or {}, rev or {}
    out: dict[str, dict] = {}
    for host, arch in BUILDERS.items():
        images, tests, pushed, digests, failed = [], [], [], {}, []
        clock = 0
        for fam in fams:
            repo = fam["name"]
            for e in fam["entries"]:
                if arch not in e["architectures"]:
                    continue
                token = rev.get(repo, "1")
                parents = []
                if _base(repo) == "python":
                    token += "/" + rev.get("debian", "1")
                    parents = [{"name": "debian:trixie-slim", "key": "debian:trixie-slim",
                                "image_id": _d("id", "debian:trixie-slim", arch, rev.get("debian", "1")),
                                "digest": _d("img", "debian:trixie-slim", arch, rev.get("debian", "1"))}]
                status = statuses.get(repo, "built")
                secs = {"busybox": 12.0, "debian": 95.0, "python": 1104.0}[_base(repo)] if status == "built" else 0.4
                img = _image(repo, e, arch, 1, status, clock, secs, parents, token)
                clock += int(secs) + 1
                if host == failing:
                    if _base(repo) == "busybox":
                        img.update(status="failed", image_id="", seconds=3.0,
                                   error="%s: build failed: exec /bin/sh: exec format error (qemu-s390x not "
                                         "registered)" % img["key"])
                    else:
                        img.update(status="skipped", image_id="", error="skipped: the builder stopped after busybox "
                                                                        "failed")
                    failed.append(img["key"])
                    images.append(img)
                    continue
                images.append(img)
                tests.append({"key": img["key"], "image_id": img["image_id"], "passed": True,
                              "cached": status != "built", "tests": [], "failed_tests": [],
                              "started": img["finished"], "finished": img["finished"],
                              "seconds": 7.5 if status == "built" else 0.0})
                ptags = []
                for ref in img["tags"]:
                    idx = _d("idx", ref, token)
                    digests[ref] = idx
                    ptags.append({"ref": ref, "status": "pushed" if status == "built" else "unchanged",
                                  "digest": idx, "image_digest": _d("img", img["key"], arch, token),
                                  "attestation_digest": _d("att", img["key"], arch, token), "attempts": 1,
                                  "error": ""})
                pushed.append({"key": img["key"], "image_id": img["image_id"], "ok": True, "tags": ptags,
                               # image_push gives its times, not seconds: the report takes them from the times
                               "started": img["finished"], "finished": _later(img["finished"], 3 if status == "built"
                                                                              else 0)})
        out[host] = {"host": host, "arch": arch, "images": images, "tests": tests, "pushed": pushed,
                     "digests": digests, "failed": failed}
    return out


def published(fams: list[dict], res: dict[str, dict], action: str = "created") -> dict[str, list[dict]]:
    """manifest_list's lists per repository: every tag with the digest of its members (a list per tag)."""
    out: dict[str, list[dict]] = {}
    failed_arches = {r["arch"] for r in res.values() if r["failed"]}
    for fam in fams:
        lists = []
        for e in fam["entries"]:
            for t in e["tags"] + e["shared_tags"]:
                missing = sorted(failed_arches & set(e["architectures"]))
                members = "".join(sorted(d for r in res.values() for ref, d in r["digests"].items()
                                         if ref.endswith("/%s:%s" % (fam["name"], t))))
                if missing:
                    lists.append({"tag": t, "action": "failed", "digest": "", "missing_architectures": missing})
                else:
                    lists.append({"tag": t, "action": action, "digest": _d("list", members)})
        out[fam["name"]] = lists
    return out


def verified(fams: list[dict], res: dict[str, dict]) -> list[dict]:
    """The verify stage's per-member results: every member pushed verified, with SBOM and provenance."""
    out = []
    for r in res.values():
        for p in r["pushed"]:
            for t in p["tags"]:
                repo, tag = t["ref"].rsplit("/", 1)[1].split(":", 1)
                out.append({"repository": repo, "tag": tag, "arch": r["arch"], "ok": True, "sbom": True,
                            "provenance": True, "message": ""})
    return out


def _copies(fams: list[dict], copies: int) -> list[dict]:
    """The families and ``copies - 1`` copies of them under other names (busybox-c2 ...): a bigger release."""
    out = list(fams)
    for n in range(2, copies + 1):
        out += [dict(f, name="%s-c%d" % (f["name"], n)) for f in fams]
    return out


def release(kind: str, copies: int = 1) -> dict[str, Any]:
    """build_report's keyword arguments for ``kind``: ``first`` (all built), ``failed`` (builder-s390x failed),
    ``unchanged`` (the first again, nothing rebuilt), ``changed`` (debian's trixie point release moved: debian
    rebuilt, python rebuilt FROM it; busybox unchanged). ``copies``: the three families that many times."""
    if kind == "changed":
        fams = _copies(families(debian_point="13.3"), copies)
        res = results(fams, statuses={f["name"]: "unchanged" for f in fams if _base(f["name"]) == "busybox"},
                      rev={f["name"]: "2" for f in fams if _base(f["name"]) == "debian"})
        pub = published(fams, res, "updated")
        for name, lists in pub.items():
            if _base(name) == "busybox":
                for lst in lists:
                    lst["action"] = "unchanged"
    else:
        fams = _copies(families(), copies)
        res = results(fams, statuses={f["name"]: "unchanged" for f in fams} if kind == "unchanged" else None,
                      failing="builder-s390x" if kind == "failed" else "")
        pub = published(fams, res, "unchanged" if kind == "unchanged" else "created")
    return {"release": fams, "builders": dict(BUILDERS), "results": res, "published": pub,
            "verified": verified(fams, res),
            "hosts": {"builder-amd64": {"emulated": False, "native": "amd64"},
                      "builder-arm64v8": {"emulated": True, "native": "amd64"},
                      "builder-s390x": {"emulated": True, "native": "amd64"}}}
