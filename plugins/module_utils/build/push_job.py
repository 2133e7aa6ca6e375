# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image_push module's job: check its options and image_build's items, push (build/image_pusher.py) and shape
the module's result. Plain typed Python: the module passes its parameters and the engine and registry
connections."""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Sequence

from ansible_collections.buildfarm.images.plugins.module_utils.attest.provenance import default_builder_id
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import (
    FarmAttester,
    Pusher,
    build_items,
    push_items,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress
from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import (
    ImagePushResult,
    PushedTag,
    PushStatus,
)


def check_options(p: Mapping[str, Any]) -> None:
    """The numeric options and `arch`, before anything is read or pushed."""
    for name, least in (("retries", 0), ("max_workers", 1), ("scan_timeout", 1)):
        if p[name] < least:
            raise BuildfarmError("must be %d or more" % least, None, name, p[name])
    if p["arch"] and not architectures.is_known(p["arch"]):
        raise BuildfarmError("unknown architecture (known: %s)" % ", ".join(architectures.ARCHITECTURES), None,
                             "arch", p["arch"])


def attester_of(p: Mapping[str, Any]) -> FarmAttester | None:
    """The attester of image_push's options, None with `attestations: false`."""
    if not p["attestations"]:
        return None
    # the provenance is made from the bundle: without it, say so before anything is pushed
    if not p["release"] or not os.path.isfile(p["release"]):
        raise BuildfarmError("%s: the provenance is made from the release bundle; set attestations: false to "
                             "publish without attestations" % ("required when attestations is true"
                                                               if not p["release"] else "no such file"),
                             None, "release", str(p["release"]))
    return FarmAttester(release=p["release"], work_dir=p["work_dir"] or os.path.dirname(p["release"]),
                        builder_id=p["builder_id"].strip() or default_builder_id(p["host"]),
                        cache_dir=p["cache_dir"] or "", syft=p["syft_path"] or "",
                        docker_host=p.get("docker_host") or "", timeout=float(p["scan_timeout"]))


def push_result(results: Sequence[ImagePushResult], fail_on_error: bool) -> dict[str, Any]:
    """image_push's result: `images`, `digests`, `failed_entries`, the diff; `failed` and `msg` when a tag failed
    and ``fail_on_error``."""
    tags = [t for r in results for t in r.tags]
    touched = [t for t in tags if t.status in (PushStatus.PUSHED, PushStatus.WOULD_PUSH)]
    out: dict[str, Any] = dict(
        changed=bool(touched),
        images=[r.to_dict() for r in results],
        digests={t.text: t.digest for t in tags if t.status in (PushStatus.PUSHED, PushStatus.UNCHANGED)},
        failed_entries=[r.key for r in results if not r.ok],
        diff=dict(before="", after="".join("%s %s\n" % (t.text, t.digest or "(would push)") for t in touched)),
    )
    if out["failed_entries"] and fail_on_error:
        out.update(failed=True, msg="push failed: %s" % "; ".join(
            "%s: %s" % (t.text, t.error) for t in tags if t.status == PushStatus.FAILED))
    return out


def push_share(p: Mapping[str, Any], check_mode: bool, connect: Callable[[], Any],
               registry_for: Callable[[str], Any]) -> dict[str, Any]:
    """The whole image_push call: its parameters ``p`` in, its result out."""
    check_options(p)
    todo = push_items(p["images"], check_mode)
    attester = attester_of(p)
    # a dry run writes nothing on the builder (and runs in the foreground: nobody polls)
    progress = Progress("" if check_mode else p["status_file"] or "", p["host"] or "localhost", "",
                        interval=5.0, job="push")
    progress.tick()
    pusher = Pusher(client_factory=connect, registry_for=registry_for,
                    # retries are the pusher's, per tag, so that they show in the result
                    retries=max(1, p["retries"]), check_mode=check_mode, max_workers=p["max_workers"],
                    progress=progress, arch=p["arch"], attester=attester,
                    build_items={item.key: item for item in build_items(p["images"])})
    would_build = [t for t in todo if not t[1]]  # check mode: images a dry run would build
    todo = [t for t in todo if t[1]]
    try:
        progress.set_stage("checking the images")
        pusher.check_images(todo)
        results = pusher.run(todo)
    finally:
        progress.done()
    # images a dry run would build: every tag would be pushed
    results += [ImagePushResult(key, "", [PushedTag(t, PushStatus.WOULD_PUSH) for t in tags])
                for key, _id, tags in would_build]
    return push_result(results, p["fail_on_error"])
