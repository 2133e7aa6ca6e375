# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What changed since the previous release: its JSON report against this one's.

Tags added and removed, members (tag x architecture) whose pushed digest changed (old -> new), appeared or went,
lists whose digest changed, and the images rebuilt with why: each image's input digest covers its recipe, its
parents and its sources, so a rebuild is explained by what the results carry (the family's revision or the
entry's commit, a parent's image, a source's checksum); when none of them differs, the input digest itself is
named. A previous report of an older format (without image details) still gives the tag and digest changes.

A member that failed (or was skipped, or not built) has no digest in its report, yet its tag still holds what an
earlier release pushed: the changes record that digest (``last_digests``), so the next report compares with it
(a digest changed, not a member added) however many failed releases lie between. A release in which nothing
published changed but images failed or were skipped says so, never "nothing changed".
"""
from __future__ import annotations

from typing import Any, Mapping


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12] if digest else ""


def _members(report: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
    out = {}
    for r in report.get("rows") or []:
        for arch, c in (r.get("architectures") or {}).items():
            out[(r.get("repository", ""), r.get("tag", ""), arch)] = str((c or {}).get("digest") or "")
    return out


def _last_digests(report: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
    """The digests ``report`` carried forward for its members without one (its changes' ``last_digests``)."""
    out = {}
    for m in (report.get("changes") or {}).get("last_digests") or []:
        if isinstance(m, Mapping) and m.get("digest"):
            out[(str(m.get("repository", "")), str(m.get("tag", "")), str(m.get("arch", "")))] = str(m["digest"])
    return out


def _not_done(current: Mapping[str, Any]) -> list[tuple[int, str]]:
    """How many of ``current``'s images failed, were skipped or were not built (their builder unreachable), as
    (count, noun phrase) with the counts that are not 0. An unroutable entry (no builder can build it) is left out:
    a standing state of the farm, listed on its own, not something this release did not do."""
    n = {"failed": 0, "skipped": 0, "not built": 0}
    for i in current.get("images") or []:
        st = str((i or {}).get("status") or "")
        if st == "failed":
            n["failed"] += 1
        elif st.startswith("skipped"):
            n["skipped"] += 1
        elif st in ("not-built", "unreachable"):
            n["not built"] += 1
    return [(c, "%s %s" % ("image" if c == 1 else "images", what)) for what, c in n.items() if c]


def _tags(report: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(r.get("repository", ""), r.get("tag", "")): r for r in report.get("rows") or []}


def _parent_id(p: Mapping[str, Any]) -> str:
    return str(p.get("digest") or p.get("image_id") or "")


def rebuild_reasons(old: Mapping[str, Any] | None, new: Mapping[str, Any],
                    rebuilt_keys: set[tuple[str, str]]) -> list[str]:
    """Why image ``new`` (a report image) was built again, compared with ``old`` (the previous report's image of
    the same entry and architecture, None when it had none). ``rebuilt_keys``: (key, arch) built in this release,
    so a parent built FROM in the same release is named even without its ids."""
    if old is None:
        return ["new image (not in the previous report)"]
    reasons = []
    if old.get("revision") and new.get("revision") and old["revision"] != new["revision"]:
        reasons.append("recipe changed (revision %s -> %s)" % (old["revision"][:12], new["revision"][:12]))
    if old.get("git_commit") and new.get("git_commit") and old["git_commit"] != new["git_commit"]:
        reasons.append("recipe changed (commit %s -> %s)" % (old["git_commit"][:12], new["git_commit"][:12]))
    if old.get("version") and new.get("version") and old["version"] != new["version"]:
        reasons.append("version changed (%s -> %s)" % (old["version"], new["version"]))
    before = {p.get("name"): p for p in old.get("parents") or []}
    for p in new.get("parents") or []:
        prev = before.get(p.get("name"))
        if prev is not None and _parent_id(prev) and _parent_id(p) and _parent_id(prev) != _parent_id(p):
            reasons.append("parent %s changed (%s -> %s)" % (p.get("name"), _short(_parent_id(prev)),
                                                             _short(_parent_id(p))))
        elif p.get("key") and (p["key"], new.get("arch")) in rebuilt_keys and prev is None:
            reasons.append("parent %s rebuilt in this release" % p.get("key"))
        elif prev is None and before:
            reasons.append("new parent %s" % p.get("name"))
    old_src = {s.get("name") or s.get("url"): s for s in old.get("sources") or []}
    for s in new.get("sources") or []:
        o = old_src.get(s.get("name") or s.get("url"))
        if o is None and old_src:
            reasons.append("new source %s" % (s.get("name") or s.get("url")))
        elif o is not None and o.get("sha256") != s.get("sha256"):
            reasons.append("source %s changed" % (s.get("name") or s.get("url")))
    if not reasons:
        a, b = str(old.get("input_digest") or ""), str(new.get("input_digest") or "")
        was = str(old.get("status") or "")
        if was == "failed" or was.startswith("skipped"):
            reasons.append("not built in the previous release (%s)" % was)
        elif a and b and a != b:
            reasons.append("input digest changed: its recipe, a parent or a source")
        elif a and a == b:
            reasons.append("same inputs: the image was missing on its builder")
        else:
            reasons.append("inputs changed (no input digest to compare)")
    return reasons


def _member_changes(out: dict[str, Any], previous: Mapping[str, Any], current: Mapping[str, Any],
                    old_tags: Mapping[tuple[str, str], Any], new_tags: Mapping[tuple[str, str], Any]) -> None:
    """Members whose digest changed, added or removed (of tags both reports have), and the digests carried."""
    old_m, new_m = _members(previous), _members(current)
    # what each member's tag held after the previous release: its digest there, else the one it carried forward
    old_m = {**_last_digests(previous), **{k: v for k, v in old_m.items() if v}}
    for (repo, tag, arch), digest in new_m.items():
        before = old_m.get((repo, tag, arch), "")
        item = {"repository": repo, "tag": tag, "arch": arch}
        if before and not digest:
            out["last_digests"].append(dict(item, digest=before))  # not pushed now: the tag still holds it
        if (repo, tag) not in old_tags:
            continue  # the whole tag is new: listed once, above
        if before and digest and before != digest:
            out["digests_changed"].append(dict(item, old=before, new=digest))
        elif digest and not before:
            out["members_added"].append(dict(item, new=digest))
    for (repo, tag, arch), before in old_m.items():
        if before and (repo, tag) in new_tags and (repo, tag, arch) not in new_m:
            out["members_removed"].append({"repository": repo, "tag": tag, "arch": arch, "old": before})
    for key, row in new_tags.items():
        prev_row = old_tags.get(key)
        a, b = str((prev_row or {}).get("published_digest") or ""), str(row.get("published_digest") or "")
        if prev_row is not None and a and b and a != b:
            out["lists_changed"].append({"repository": key[0], "tag": key[1], "old": a, "new": b})


def _rebuilt(previous: Mapping[str, Any], current: Mapping[str, Any], rebuilt_keys: set) -> list[dict]:
    """The images built in this release, and why (compared with the previous report's details)."""
    old_images = {(i.get("key"), i.get("arch")): i for i in previous.get("images") or [] if isinstance(i, Mapping)}
    has_details = bool(old_images)
    out = []
    for i in current.get("images") or []:
        if i.get("status") != "built":
            continue
        old = old_images.get((i["key"], i["arch"]))
        reasons = (rebuild_reasons(old, i, rebuilt_keys) if has_details
                   else ["the previous report has no image details"])
        out.append({"repository": i["repository"], "key": i["key"], "arch": i["arch"],
                    "old_input_digest": str((old or {}).get("input_digest") or ""),
                    "new_input_digest": str(i.get("input_digest") or ""), "reasons": reasons})
    return out


def _summarize(out: dict[str, Any], current: Mapping[str, Any]) -> None:
    """`summary`, `not_done` and `nothing_changed` of the changes found."""
    counts = [(len(out[k]), label) for k, label in (
        ("tags_added", "tags added"), ("tags_removed", "tags removed"), ("digests_changed", "digests changed"),
        ("members_added", "members added"), ("members_removed", "members removed"), ("rebuilt", "images rebuilt"))]
    if not any(n for n, _label in counts) and out["lists_changed"]:
        counts.append((len(out["lists_changed"]), "lists changed"))  # else a rebuilt member's list says it
    changed = any(n for n, _label in counts)
    out["not_done"] = not_done = ", ".join("%d %s" % x for x in _not_done(current))
    out["nothing_changed"] = not changed and not not_done
    if changed:
        out["summary"] = "since the previous release: " + ", ".join("%d %s" % (n, label) for n, label in counts if n)
        if not_done:
            out["summary"] += "; " + not_done
    elif not_done:  # nothing published changed because images did not make it: not "nothing changed"
        out["summary"] = "no published tag changed since the previous release; " + not_done
    else:
        out["summary"] = "nothing changed since the previous release"


def compare(previous: Mapping[str, Any] | None, current: Mapping[str, Any], previous_file: str = "") -> dict:
    """The changes from ``previous`` (a release-report.json's data, None for a first report) to ``current``
    (this report's data). ``previous_file``: where the previous report is kept (history), shown as a link."""
    out: dict[str, Any] = {
        "previous": None, "tags_added": [], "tags_removed": [], "digests_changed": [], "members_added": [],
        "members_removed": [], "lists_changed": [], "rebuilt": [], "nothing_changed": False, "summary": "",
        "not_done": "", "last_digests": []}
    rebuilt_keys = {(i["key"], i["arch"]) for i in current.get("images") or [] if i.get("status") == "built"}
    if previous is None:
        out["summary"] = "first report: no previous release to compare with"
        return out
    out["previous"] = {"generated": str(previous.get("generated") or ""), "file": previous_file,
                       "ok": previous.get("ok")}
    old_tags, new_tags = _tags(previous), _tags(current)
    out["tags_added"] = [{"repository": r, "tag": t} for (r, t) in new_tags if (r, t) not in old_tags]
    out["tags_removed"] = [{"repository": r, "tag": t} for (r, t) in old_tags if (r, t) not in new_tags]
    _member_changes(out, previous, current, old_tags, new_tags)
    out["rebuilt"] = _rebuilt(previous, current, rebuilt_keys)
    _summarize(out, current)
    return out


def changed_repositories(changes: Mapping[str, Any]) -> list[str]:
    """The repositories any change names, sorted."""
    names: set[str] = set()
    for k in ("tags_added", "tags_removed", "digests_changed", "members_added", "members_removed",
              "lists_changed", "rebuilt"):
        names.update(str(x.get("repository", "")) for x in changes.get(k) or [])
    return sorted(n for n in names if n)
