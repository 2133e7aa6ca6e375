"""The release as one batch, on a real farm (this machine's dockerd, qemu, a throw-away registry): a copied family
folder is a new image; a family FROM another family's image is built after it, FROM the image just built, rebuilt
when only the parent changed, and skipped (`skipped: parent failed`) where the parent failed."""
from __future__ import annotations

import json
import pathlib
import shutil
import uuid

import pytest
import requests
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.integration

CHILD = {
    "family.yml": "name: childbox\nmaintainers: [buildfarm.images tests]\nversions: versions.json\n"
                  "templates: {'*': Dockerfile.j2}\naliases: {'2': [latest]}\n",
    "versions.json": json.dumps({"2": {"version": "2.0.0", "variants": ["glibc"]}}),
    # built FROM the busybox image the same release builds (the family's own tag), on every architecture
    "Dockerfile.j2": "FROM busybox:1.35.0-glibc\nRUN echo child of $(uname -m) > /child\nCMD [\"cat\", \"/child\"]\n",
    "tests.yml": "linux:\n  - name: child\n    stdout: 'child of ${uname_m}'\n",
}


def _families(farm, names) -> pathlib.Path:
    folder = farm.root / "families"
    folder.mkdir(exist_ok=True)
    shutil.copytree(REPO / "families" / "busybox", folder / "busybox", dirs_exist_ok=True)
    extra = farm.inventory / "group_vars" / "all" / "zz-families.yml"
    # a fresh build argument: the first release really builds, whatever an earlier run left on the engine
    extra.write_text(yaml.safe_dump({"buildfarm_families_dir": str(folder), "buildfarm_families": list(names),
                                     "buildfarm_build_args": {"BUILDFARM_TEST_RUN": uuid.uuid4().hex}}))
    return folder


def _two_arches(farm) -> None:
    """amd64 natively and s390x under qemu: enough to see an architecture fail alone, quicker than three."""
    data = farm.hosts()
    data["all"]["children"]["builders"]["children"].pop("builders_arm64v8", None)
    farm.write_hosts(data)


def _platforms(farm, repo: str, tag: str = "latest") -> set[str]:
    """The platforms of a published list's members; each member must be followed by its attestation manifest
    (platform unknown/unknown, naming the member), as the release publishes by default."""
    r = farm.manifest(repo, tag)
    r.raise_for_status()
    manifests = r.json()["manifests"]
    images = [m for m in manifests if (m.get("annotations") or {}).get("vnd.docker.reference.type")
              != "attestation-manifest"]
    for m in images:
        following = manifests[manifests.index(m) + 1] if manifests.index(m) + 1 < len(manifests) else {}
        assert (following.get("annotations") or {}).get("vnd.docker.reference.digest") == m["digest"], (
            "%s:%s: member %s has no attestation after it" % (repo, tag, m["digest"]), manifests)
        assert following["platform"] == {"architecture": "unknown", "os": "unknown"}, following
    return {"/".join(x for x in (m["platform"]["os"], m["platform"]["architecture"], m["platform"].get("variant", ""))
                     if x) for m in images}


def _verified(run) -> dict:
    """The verify stage's result (release_verify on the controller)."""
    for play in run.result["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].startswith("Read every list of the release back"):
                return task["hosts"]["localhost"]
    raise AssertionError("the verify stage did not run")


def _images(run, host: str) -> dict[str, dict]:
    for play in run.result["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith("Build the share") and host in task["hosts"]:
                return {i["key"]: i for i in task["hosts"][host].get("images") or []}
    return {}


def test_a_copied_family_folder_is_released_with_no_other_change(farm):
    _two_arches(farm)
    folder = _families(farm, ["busybox", "mybox"])
    shutil.copytree(folder / "busybox", folder / "mybox")  # family.yml still says `name: busybox`
    run = farm.release()
    assert run.rc == 0, run.messages()[-3000:]
    assert _platforms(farm, "library/mybox", "latest") == {"linux/amd64", "linux/s390x"}
    assert _platforms(farm, "library/busybox", "latest") == {"linux/amd64", "linux/s390x"}
    r = requests.get("http://%s/v2/s390x/mybox/tags/list" % farm.registry, timeout=10)
    assert "1.35.0-glibc" in r.json()["tags"]
    assert (farm.artifacts / "library" / "mybox").is_file()
    # the verify stage read every list back: each member the image pushed, with its SBOM and provenance
    verified = _verified(run)
    assert verified["ok"] is True and verified["failures"] == [], verified.get("msg")
    assert {t["reference"] for t in verified["tags"]} >= {"library/mybox:latest", "library/busybox:latest"}
    assert all(m["sbom"] and m["provenance"] and m["arch"] in ("amd64", "s390x")
               for t in verified["tags"] for m in t["members"]), verified["tags"]
    assert "mybox" in (farm.artifacts / "docs" / "mybox" / "README.md").read_text()
    again = farm.release()
    assert again.rc == 0 and sum(again.changed().values()) == 0, again.changed()


def test_a_family_from_another_family_of_the_release(farm):
    _two_arches(farm)
    folder = _families(farm, ["childbox", "busybox"])
    (folder / "childbox").mkdir()
    for name, text in CHILD.items():
        (folder / "childbox" / name).write_text(text)

    first = farm.release()
    assert first.rc == 0, first.messages()[-3000:]
    built = _images(first, "builder-s390x")
    parent, child = built["busybox:1.35.0-glibc"], built["childbox:2.0.0-glibc"]
    assert parent["status"] in ("built", "unchanged") and child["status"] == "built"
    # built FROM the image this builder just built: its id is what the child's FROM was pinned to
    assert _platforms(farm, "library/childbox", "latest") == {"linux/amd64", "linux/s390x"}
    digest_before = child["input_digest"]

    # only the parent changes: the child is rebuilt, its input digest follows the parent's image
    template = folder / "busybox" / "Dockerfile.j2"
    template.write_text(template.read_text().replace('CMD ["sh"]', 'ENV BUILDFARM_TEST_PARENT=2\nCMD ["sh"]'))
    second = farm.release()
    assert second.rc == 0, second.messages()[-3000:]
    rebuilt = _images(second, "builder-s390x")
    assert rebuilt["busybox:1.35.0-glibc"]["status"] == "built"
    assert rebuilt["childbox:2.0.0-glibc"]["status"] == "built"
    assert rebuilt["childbox:2.0.0-glibc"]["input_digest"] != digest_before

    # the parent fails on s390x only: the child is not attempted there, and says why
    template.write_text(template.read_text().replace(
        'CMD ["sh"]', 'RUN ["/bin/busybox", "sh", "-c", "[ \\"$(uname -m)\\" != s390x ]"]\nCMD ["sh"]'))
    third = farm.release()
    assert third.rc != 0
    s390x = _images(third, "builder-s390x")
    assert s390x["busybox:1.35.0-glibc"]["status"] == "failed"
    assert s390x["childbox:2.0.0-glibc"]["status"] == "skipped"
    assert "parent failed" in s390x["childbox:2.0.0-glibc"]["error"]
    amd64 = _images(third, "builder-amd64")
    assert amd64["childbox:2.0.0-glibc"]["status"] == "built"
    row = next(r for r in third.report["rows"] if r["repository"] == "childbox" and r["tag"] == "2.0.0-glibc")
    assert row["architectures"]["s390x"]["status"] == "skipped: parent failed"
    assert row["architectures"]["amd64"]["status"] == "built"
    # under the default policy (fail) the child's published list keeps s390x: it is not rewritten without it
    assert _platforms(farm, "library/childbox", "latest") == {"linux/amd64", "linux/s390x"}
