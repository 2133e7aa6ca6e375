# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The manifest_list module's work: its jobs (one repository, or the batch form's `repositories`), their publish in
one pool, and the module's result (per repository, flat, the diff)."""
from __future__ import annotations

import string
from typing import Any, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.registry._registry_args import client_from_params
from ansible_collections.buildfarm.images.plugins.module_utils.registry import list_plan
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_members import KnownManifests
from ansible_collections.buildfarm.images.plugins.module_utils.registry.list_publish import Publisher, publish_many
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import ImagePushResult, RepositoryLists

# The batch form's items (argument spec `options` of `repositories`; the single form has the same three options).
JOB_OPTIONS: dict[str, dict[str, Any]] = {
    "repository": {"type": "str", "required": True},
    "entries": {"type": "list", "elements": "dict"},
    "library_file": {"type": "path"},
}


def list_jobs(params: Mapping[str, Any]) -> list[tuple[str, list[list_plan.ListSpec]]]:
    """(repository, specs) per repository to publish; every item checked before any request."""
    if params["repository"]:
        if not (params["entries"] or params["library_file"]):
            raise list_plan.PublishError("repository %s: one of entries and library_file is required"
                                         % params["repository"])
        items: Sequence[Mapping[str, Any]] = [{k: params[k] for k in JOB_OPTIONS}]
        where = ""
    else:
        items = params["repositories"]
        where = "repositories"
    out = []
    for i, item in enumerate(items):
        at = "%s[%d]" % (where, i) if where else ""
        if bool(item.get("entries")) == bool(item.get("library_file")):
            raise list_plan.PublishError("%s%sexactly one of entries and library_file is required (repository %s)"
                                         % (at, ": " if at else "", item["repository"]))
        if item.get("library_file"):
            entries = list_plan.load_library_file(str(item["library_file"]))
        else:
            entries = list_plan.load_entries(item["entries"], "%s.entries" % at if at else "entries")
        specs = list_plan.plan_lists(entries, item["repository"], params["arch_namespaces"])
        out.append((item["repository"], specs))
    return out


def index_annotations(annotations: Mapping[str, Any], namespace: str, repo: str) -> dict[str, Any]:
    """The index annotations of one repository: ${name} and ${repository} filled in."""
    path = repo if "/" in repo or not namespace else "%s/%s" % (namespace, repo)
    subs = {"name": path.rsplit("/", 1)[-1], "repository": path}
    # only strings are filled in: anything else goes on unchanged, for the publisher to refuse with its own message
    return {k: string.Template(v).safe_substitute(subs) if isinstance(v, str) else v
            for k, v in (annotations or {}).items()}


def known_manifests(pushed: Sequence[Any], registry: str) -> KnownManifests:
    """What the push stage wrote, from image_push's `images` items (`pushed`), each checked by the push record's
    own reader (naming the item, field and value of anything malformed)."""
    return KnownManifests.from_pushes([ImagePushResult.from_dict(item, "pushed[%d]" % i)
                                       for i, item in enumerate(pushed)], registry)


def _publisher(client: RegistryClient, params: Mapping[str, Any], repo: str, check_mode: bool,
               known: KnownManifests) -> Publisher:
    p = params
    return Publisher(client, p["namespace"], repo, p["missing_architectures"], max(1, p["max_workers"]), check_mode,
                     index_annotations(p["annotations"], p["namespace"], repo), p["member_annotations"],
                     drop_architectures=p["drop_architectures"], lock_timeout=p["lock_timeout"],
                     require_attestations=p["require_attestations"],
                     check_unchanged_members=p["check_unchanged_members"], known=known)


def publish_lists(params: Mapping[str, Any], check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
    """Check every job, publish them all in one pool and return the module's result (`failed` with a message
    naming each tag not published, the other tags' results beside it)."""
    jobs = list_jobs(params)
    client = client_from_params(params)
    known = known_manifests(params.get("pushed") or [], client.registry)
    try:
        publishers = [(_publisher(client, params, repo, check_mode, known), specs) for repo, specs in jobs]
        all_results = publish_many(publishers, max(1, params["max_workers"]))
    except (BuildfarmError, OSError, ValueError) as exc:
        raise BuildfarmError(str(exc), details={"retries": client.retry_count,
                                                "requests": client.request_count}) from exc
    batch = not params["repository"]
    repos = [RepositoryLists(pub.target, results, [r.tag for r in results if r.written])
             for (pub, _specs), results in zip(publishers, all_results)]
    flat = [(pub, r) for (pub, _specs), results in zip(publishers, all_results) for r in results]
    out: dict[str, Any] = {
        "changed": any(r.written if check_mode else r.changed for _pub, r in flat),
        "lists": [r.to_dict() for _pub, r in flat],
        "published": [("%s:%s" % (pub.repository, r.tag)) if batch else r.tag for pub, r in flat if r.written],
        "retries": client.retry_count,
        "requests": client.request_count,
        "members_from_push": sum(pub.reader.from_record for pub, _specs in publishers),
        "warnings": client.warnings + [w for pub, _specs in publishers for w in pub.warnings],
    }
    if batch:
        out["repositories"] = [repo.to_dict() for repo in repos]
    if diff:
        out["diff"] = [r.diff() for _pub, r in flat if r.written]
    failed = [(pub, r) for pub, r in flat if r.failed]
    if failed:
        out["failed"] = True
        out["msg"] = "%d of %d tags%s not published: %s" % (
            len(failed), len(flat), "" if batch else " of %s" % publishers[0][0].target, "; ".join(
                ("%s:%s: %s" % (pub.target, r.tag, r.message)) if batch else "%s: %s" % (r.tag, r.message)
                for pub, r in failed))
    return out
