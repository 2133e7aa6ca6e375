#!/usr/bin/python
# Copyright: buildfarm.images contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_push
short_description: Push a builder's images, tag by tag, skipping tags the registry already has
version_added: 0.1.0
description:
  - Pushes every tag of every image in I(images) (the C(images) result of M(buildfarm.images.image_build),
    usually only those that passed M(buildfarm.images.image_test)).
  - Before pushing a tag, asks the registry itself for the tag's digest (one manifest C(HEAD)) and compares it
    with the local image's C(RepoDigests); a tag that already points at this image is not pushed again, and
    nothing else is asked of the registry.
  - After pushing a tag, asks the registry again (one C(HEAD)); a tag counts as pushed only when the registry
    serves it with the digest the engine pushed. The engine's memory of earlier pushes is never taken as proof,
    so a registry whose storage was wiped or replaced gets the images again, and one that accepts a push it
    then does not serve makes the tag fail with a message saying so.
  - Transient failures (timeouts, connection resets, 5xx, 429) are retried with exponential backoff; an
    authorization error is not.
  - Returns the digest of every tag, which the publish step (manifest lists) and the release report consume.
author: buildfarm.images contributors (@buildfarm)
attributes:
  check_mode:
    support: full
    description: Asks the registry, pushes nothing (no I(status_file) either), lists the tags that would be pushed.
  diff_mode:
    support: full
    description: The tags pushed (or that would be) with their digest.
extends_documentation_fragment:
  - buildfarm.images.docker_engine
  - buildfarm.images.engine_registries
  - buildfarm.images.progress
options:
  images:
    description:
      - Items with C(key), C(image_id), C(tags) (full references) and C(status); items whose status is not
        C(built) or C(unchanged) are ignored, except C(would-build) in check mode (all its tags would be pushed).
      - Every item needs a C(key); those to push need an C(image_id) the engine knows and a non-empty list of
        C(tags). A bad item or an unknown image fails the task, naming it, before anything is pushed.
    type: list
    elements: dict
    required: true
  retries:
    description: Attempts per registry request or push, transient failures only (C(0) is one attempt, as C(1);
      a negative value fails the task).
    type: int
    default: 3
  max_workers:
    description: How many images push at once (tags of one image push one after the other, so its layers go up
      once); at least C(1).
    type: int
    default: 2
  fail_on_error:
    description: Fail the task when a tag could not be pushed.
    type: bool
    default: true
  host:
    description:
      - This builder's inventory hostname, named in the summary of I(status_file).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Push what passed the smoke tests
  buildfarm.images.image_push:
    images: "{{ buildfarm_built.images | selectattr('key', 'in', buildfarm_tested.passed) }}"
  register: buildfarm_pushed
"""

RETURN = r"""
images:
  description: One item per image pushed or checked.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The entry key.
      type: str
    image_id:
      description: Local image id.
      type: str
    ok:
      description: Whether the registry serves every tag with the image's digest now (or the tag would be
        pushed, in check mode).
      type: bool
    tags:
      description: Per tag C(ref), C(status) (C(pushed), C(unchanged), C(would-push), C(failed)), C(digest),
        C(attempts) and C(error).
      type: list
      elements: dict
digests:
  description: Full reference -> manifest digest in the registry, for every tag pushed or already there.
  returned: always
  type: dict
  sample: {"127.0.0.1:5000/s390x/busybox:1.35.0-glibc": "sha256:0f3e..."}
failed_entries:
  description: Keys of the images with a tag that could not be pushed.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.buildfarm.images.plugins.module_utils.build._docker_engine import ENGINE_ARGS, engine_factory
from ansible_collections.buildfarm.images.plugins.module_utils.build._engine_registries import (
    ENGINE_REGISTRY_ARGS,
    registry_clients,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.image_pusher import (
    ImagePushResult,
    PushInputError,
    Pusher,
    TagResult,
    push_items,
)
from ansible_collections.buildfarm.images.plugins.module_utils.build.progress import Progress


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            images=dict(type="list", elements="dict", required=True),
            retries=dict(type="int", default=3),
            max_workers=dict(type="int", default=2),
            fail_on_error=dict(type="bool", default=True),
            host=dict(type="str", default=""),
            status_file=dict(type="path"),
            **ENGINE_ARGS,
            **ENGINE_REGISTRY_ARGS
        ),
        supports_check_mode=True,
    )
    p = module.params
    for name, least in (("retries", 0), ("max_workers", 1)):
        if p[name] < least:
            module.fail_json(msg="field %s: must be %d or more (value: %d)" % (name, least, p[name]),
                             field=name, value=p[name])
    try:
        todo = push_items(p["images"], module.check_mode)
    except PushInputError as exc:
        module.fail_json(msg=str(exc), field=exc.field, value=str(exc.value))
    connect = engine_factory(module)
    # a dry run writes nothing on the builder (and runs in the foreground: nobody polls)
    progress = Progress("" if module.check_mode else p["status_file"] or "", p["host"] or "localhost", "",
                        interval=5.0, job="push")
    progress.tick()
    pusher = Pusher(
        client_factory=connect,
        # retries are the pusher's, per tag, so that they show in the result
        registry_for=registry_clients(p, retries=0),
        retries=max(1, p["retries"]),
        check_mode=module.check_mode,
        max_workers=p["max_workers"],
        progress=progress,
    )
    would_build = [t for t in todo if not t[1]]  # check mode: images a dry run would build
    todo = [t for t in todo if t[1]]
    try:
        progress.set_stage("checking the images")
        pusher.check_images(todo)
        results = pusher.run(todo)
    except PushInputError as exc:
        module.fail_json(msg=str(exc), field=exc.field, value=str(exc.value))
    finally:
        progress.done()
    # images a dry run would build: every tag would be pushed
    results += [ImagePushResult(key, "", [TagResult(t, "would-push") for t in tags]) for key, _id, tags in would_build]
    tags = [t for r in results for t in r.tags]
    touched = [t for t in tags if t.status in ("pushed", "would-push")]
    out = dict(
        changed=bool(touched),
        images=[r.as_dict() for r in results],
        digests={t.ref: t.digest for t in tags if t.status in ("pushed", "unchanged")},
        failed_entries=[r.key for r in results if not r.ok],
        diff=dict(before="", after="".join("%s %s\n" % (t.ref, t.digest or "(would push)") for t in touched)),
    )
    if out["failed_entries"] and p["fail_on_error"]:
        module.fail_json(msg="push failed: %s" % "; ".join(
            "%s: %s" % (t.ref, t.error) for t in tags if t.status == "failed"), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
