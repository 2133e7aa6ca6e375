"""Role build_windows and the Windows play of release.yml, tested without a Windows host (none runs here).

What runs: `ansible-playbook --syntax-check` of release.yml with the production example inventory; the role's
argument spec against bad variables, on localhost, failing before the first task; the windows_share action
plugin through ansible-playbook (it runs on the controller) on a release bundle; and the whole role against a
FAKE Windows side (see FAKE_WINDOWS: a stand-in ansible.windows whose modules act on a local folder), which
checks that one bundle is sent for several families and that every build job finds its context in it. The
PowerShell scripts never run here.
"""
from __future__ import annotations

import hashlib
import json
import pathlib
import sys

import pytest
import yaml

from ansible_collections.buildfarm.images.tests.support import oci_conformance
from ansible_collections.buildfarm.images.tests.support.playbook import run_ansible
from ansible_collections.buildfarm.images.tests.support.windows_image import (
    throwaway_registry,
    windows_entry,
    write_bundle,
)


def test_release_syntax_check_with_the_production_example():
    result = run_ansible(["ansible-playbook", "-i", "inventories/production.example", "--syntax-check",
                          "playbooks/release.yml"])
    assert result.returncode == 0, result.stdout + result.stderr
    listed = run_ansible(["ansible-playbook", "-i", "inventories/production.example", "--list-hosts",
                          "--tags", "build", "playbooks/release.yml"])
    assert listed.returncode == 0, listed.stdout + listed.stderr
    # the Windows build play runs on exactly the Windows builders, one per release
    play = listed.stdout.split("Build, test and push each Windows builder's share")[1].split("play #")[0]
    hosts = [line.strip() for line in play.split("hosts (")[1].splitlines()[1:] if line.strip()]
    assert sorted(hosts) == ["win-ltsc2019-01.example.net", "win-ltsc2022-01.example.net",
                             "win-ltsc2025-01.example.net"]


LOCAL_PLAY = [{
    "name": "Apply the role to localhost (it must fail before reaching the host)",
    "hosts": "localhost",
    "connection": "local",
    "gather_facts": False,
    "tasks": [{"name": "Run the role", "ansible.builtin.include_role": {"name": "buildfarm.images.build_windows"}}],
}]


@pytest.mark.parametrize("overrides, message", [
    ({}, "missing required arguments: buildfarm_windows_release"),
    ({"buildfarm_windows_release": "ltsc2023"},
     "value of buildfarm_windows_release must be one of: ltsc2025, ltsc2022, ltsc2019, 1809, got: ltsc2023"),
    ({"buildfarm_windows_release": "ltsc2022", "buildfarm_build_windows_isolation": "vm"},
     "value of buildfarm_build_windows_isolation must be one of: , process, hyperv, got: vm"),
    ({"buildfarm_windows_release": "ltsc2022", "buildfarm_build_push_retries": "often"},
     "argument 'buildfarm_build_push_retries' is of type str and we were unable to convert to int"),
])
def test_bad_variables_fail_clearly_before_touching_the_host(overrides, message):
    result = run_ansible(["ansible-playbook", "-i", "localhost,"], play=LOCAL_PLAY, extra_vars=overrides)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert message in " ".join(out.split()), out
    assert "Compute this builder's share" not in out


def share_play(bundle, host, releases, families=None):
    args = {"bundle": str(bundle), "host": host, "releases": releases, "registry": "r.example.net",
            "work_dir": "C:\\b"}
    if families is not None:
        args["families"] = families
    return [{"name": "Share", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "Compute the share", "buildfarm.images.windows_share": args, "register": "share"},
        {"name": "Show", "ansible.builtin.debug": {"var": "share"}}]}]


def test_windows_share_runs_on_the_controller(tmp_path):
    bundle = write_bundle(tmp_path / "release.tar", {"python": [windows_entry("3.14", "ltsc2022")]})
    ok = run_ansible(["ansible-playbook", "-i", "localhost,"],
                     play=share_play(bundle, "win2022", {"win2022": "ltsc2022", "win2025": "ltsc2025"}))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "r.example.net/winamd64/python:3.14-windowsservercore-ltsc2022" in ok.stdout
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    # the contexts are in the one unpacked bundle on the host, named like bundle.py's folder on a Linux builder
    assert json.dumps("C:\\b\\bundle\\%s\\render\\python\\3.14\\windowsservercore-ltsc2022" % digest[:16]) \
        in ok.stdout
    assert '"bundle_sha256": "%s"' % digest in ok.stdout
    assert "changed=0" in ok.stdout
    bad = run_ansible(["ansible-playbook", "-i", "localhost,"],
                      play=share_play(bundle, "win2022", {"win2022": "ltsc2022", "win2025": None}))
    assert bad.returncode != 0
    assert "windows_share (win2022): SchedulingError: Windows builder win2025 has no buildfarm_windows_release" \
        in bad.stdout


def test_windows_share_names_the_bundle_and_field_of_bad_input(tmp_path):
    bundle = write_bundle(tmp_path / "release.tar", {"python": [windows_entry("3.14", "ltsc2022")]})
    unknown = run_ansible(["ansible-playbook", "-i", "localhost,"],
                          play=share_play(bundle, "win2022", {"win2022": "ltsc2022"}, families=["pyhton"]))
    assert unknown.returncode != 0
    assert "%s: field families: pyhton not in the release bundle (its families: python)" % bundle in unknown.stdout
    (tmp_path / "not.tar").write_text("not a tar\n")
    broken = run_ansible(["ansible-playbook", "-i", "localhost,"],
                         play=share_play(tmp_path / "not.tar", "win2022", {"win2022": "ltsc2022"}))
    assert broken.returncode != 0
    assert "BundleError: %s: not a release bundle" % (tmp_path / "not.tar") in broken.stdout


# A fake ansible.windows, playbook-adjacent (Ansible looks for collections in the playbook's collections/ folder
# before the configured ones): no Windows host runs here. Its win_file, win_copy and win_powershell run on the
# controller against a folder standing for the host's drives (C:\x -> <host>/C/x) and log every call. Its
# win_powershell stands in for the role's scripts by their parameters: the unpack is done with Python's tarfile
# after the same sha256 check; the build checks that each job's Dockerfile is where the job says (in what was
# sent) and reports it built; tests pass; pushes succeed. It proves what the role sends and where the jobs look,
# not the PowerShell itself.
FAKE_WINDOWS = r'''
import hashlib, json, os, shutil, tarfile
from ansible.plugins.action import ActionBase
from ansible_collections.buildfarm.images.plugins.module_utils.common.image_ref import ImageRef
from ansible_collections.buildfarm.images.plugins.module_utils.registry.media_types import DOCKER_MANIFEST
from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient
from ansible_collections.buildfarm.images.tests.support.windows_image import windows_image


def served_image(client, ref):
    """The config digest of the image the tag serves (bare, or as an index's first manifest), '' when none."""
    m = client.get_manifest(ref.path, ref.tag)
    if m is None:
        return ""
    doc = m.json()
    if "manifests" in doc:
        m = client.get_manifest(ref.path, doc["manifests"][0]["digest"])
        doc = m.json()
    return doc["config"]["digest"]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = HERE.split(os.sep + "collections" + os.sep)[0]


def host_path(win):
    drive, rest = win.split(":", 1)
    return os.path.join(ROOT, "host", drive, *[p for p in rest.split("\\") if p])


def log(action, **kw):
    with open(os.path.join(ROOT, "calls.jsonl"), "a") as fh:
        fh.write(json.dumps(dict(kw, action=action)) + "\n")


class FakeAction(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self.fake(dict(self._task.args)))
        return result
'''

FAKE_ACTIONS = {
    "win_file": r'''
class ActionModule(FakeAction):
    def fake(self, args):
        log("win_file", **args)
        path = host_path(args["path"])
        changed = not os.path.isdir(path)
        os.makedirs(path, exist_ok=True)
        return {"changed": changed}
''',
    "win_copy": r'''
class ActionModule(FakeAction):
    def fake(self, args):
        dest = host_path(args["dest"])
        with open(args["src"], "rb") as fh:
            data = fh.read()
        changed = not os.path.exists(dest) or open(dest, "rb").read() != data
        log("win_copy", src=args["src"], dest=args["dest"], size=len(data), changed=changed)
        with open(dest, "wb") as fh:
            fh.write(data)
        return {"changed": changed, "dest": args["dest"]}
''',
    "win_powershell": r'''
class ActionModule(FakeAction):
    def fake(self, args):
        p = args["parameters"]
        if "Bundle" in p:
            log("unpack", **p)
            bundle, dest = host_path(p["Bundle"]), host_path(p["Dest"])
            if hashlib.sha256(open(bundle, "rb").read()).hexdigest() != p["Sha256"]:
                return {"failed": True, "msg": "sha256 mismatch"}
            unpacked = not os.path.isdir(dest)
            if unpacked:
                with tarfile.open(bundle) as tar:
                    tar.extractall(dest + ".tmp", filter="data")
                os.rename(dest + ".tmp", dest)
            return {"changed": False, "result": {"dir": p["Dest"], "unpacked": unpacked}}
        if "Label" in p:
            log("build", keys=[j["key"] for j in p["Jobs"]])
            out = []
            for j in p["Jobs"]:
                found = os.path.isfile(os.path.join(host_path(j["context"]), j["dockerfile"]))
                out.append({"key": j["key"], "repo": j["repo"], "tags": j["tags"],
                            "status": "built" if found else "failed",
                            "image_id": windows_image(j["labels"], j["key"].encode())[2], "builder": "classic",
                            "labels": j["labels"],
                            "started": "2026-12-07T01:00:00Z", "finished": "2026-12-07T01:10:00Z",
                            "parents": [{"name": j["from"][0], "key": "", "image_id": "sha256:" + "c" * 64,
                                         "digest": "sha256:" + "b" * 64}],
                            "error": "" if found else "no %s in %s" % (j["dockerfile"], j["context"])})
            return {"changed": True, "result": out}
        if "Jobs" in p:
            return {"changed": False, "result": [{"key": i["key"], "passed": True, "tests": []} for i in p["Images"]]}
        # the push: each image into the real registry its tags name, bare, as `docker push` leaves it (a tag that
        # already serves the image, bare or as the index windows_attest made, is unchanged, as push.ps1 finds)
        out = []
        for i in p["Images"]:
            # the fake build's result carries the job's labels: the image is the one it reported (same id)
            blobs, manifest, image_id = windows_image(i["labels"], i["key"].encode())
            tags = []
            for t in i["tags"]:
                ref = ImageRef.parse(t)
                client = RegistryClient(ref.registry)
                if served_image(client, ref) == image_id:
                    tags.append({"ref": t, "status": "unchanged", "digest": "", "error": ""})
                    continue
                for blob in blobs:
                    client.put_blob(ref.path, blob)
                digest = client.put_manifest(ref.path, ref.tag, manifest, DOCKER_MANIFEST)
                tags.append({"ref": t, "status": "pushed", "digest": digest, "error": ""})
            log("push", tags=[(t["ref"], t["status"]) for t in tags])
            out.append({"key": i["key"], "image_id": i["image_id"], "ok": True, "tags": tags})
        return {"changed": True, "result": out}
''',
}


def fake_windows(tmp_path: pathlib.Path) -> pathlib.Path:
    coll = tmp_path / "collections" / "ansible_collections" / "ansible" / "windows"
    (coll / "plugins" / "action").mkdir(parents=True)
    (coll / "meta").mkdir()
    (coll / "meta" / "runtime.yml").write_text("requires_ansible: '>=2.15'\n")
    for name, body in FAKE_ACTIONS.items():
        (coll / "plugins" / "action" / (name + ".py")).write_text(FAKE_WINDOWS + body)
    return tmp_path / "calls.jsonl"


ROLE_PLAY = [{"name": "Build the Windows share", "hosts": "all", "gather_facts": False,
              "roles": [{"role": "buildfarm.images.build_windows"}]}]


@pytest.fixture
def registry(tmp_path):
    with throwaway_registry(tmp_path / "registry") as reg:
        yield reg


def run_role(tmp_path, bundle, registry="r.example.net", host="win2022"):
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(ROLE_PLAY, sort_keys=False))
    inventory = {"all": {"hosts": {
        "win2022": {"buildfarm_windows_release": "ltsc2022"}, "win2025": {"buildfarm_windows_release": "ltsc2025"}},
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    return run_ansible(["ansible-playbook", "-i", tmp_path / "hosts.yml", "--limit", host, playbook],
                       extra_vars={"buildfarm_build_bundle": str(bundle), "buildfarm_registry": registry,
                                   "buildfarm_build_windows_hosts": ["win2022", "win2025"]})


def calls(log: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_the_role_sends_one_bundle_for_several_families(tmp_path, registry):
    log = fake_windows(tmp_path)
    bundle = write_bundle(tmp_path / "release.tar", {
        "python": [windows_entry("3.14", "ltsc2022"), windows_entry("3.13", "ltsc2022"),
                   windows_entry("3.14", "ltsc2025")],
        "pypy": [windows_entry("7.3", "ltsc2022")]})
    result = run_role(tmp_path, bundle, registry.address)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    copies = [c for c in calls(log) if c["action"] == "win_copy"]
    # one transfer, the bundle, for the two families and three entries of this host
    assert [(c["src"], c["dest"], c["size"]) for c in copies] == [
        (str(bundle), "C:\\ProgramData\\buildfarm\\builds\\release.tar", bundle.stat().st_size)]
    assert [c["action"] for c in calls(log)] == ["win_file", "win_copy", "unpack", "build", "push", "push", "push"]
    assert calls(log)[3]["keys"] == ["python:3.14-windowsservercore-ltsc2022",
                                     "python:3.13-windowsservercore-ltsc2022", "pypy:7.3-windowsservercore-ltsc2022"]
    # every job found its Dockerfile in the one unpacked bundle (the fake build fails a job that did not)
    assert "failed=0" in out and "not pushed" not in out
    unpacked = list((tmp_path / "host/C/ProgramData/buildfarm/builds/bundle").iterdir())
    assert [d.name for d in unpacked] == [hashlib.sha256(bundle.read_bytes()).hexdigest()[:16]]
    assert sorted(p.name for p in (unpacked[0] / "render").iterdir()) == ["pypy", "python"]
    # windows_attest (on the controller) made every pushed tag the OCI index of its image and attestation
    for repo, tag in (("winamd64/python", "3.14-windowsservercore-ltsc2022"),
                      ("winamd64/python", "3.13-windowsservercore-ltsc2022"),
                      ("winamd64/pypy", "7.3-windowsservercore-ltsc2022")):
        assert oci_conformance.check_registry_index(registry.address, repo, tag) == []
        index = registry.client().get_manifest(repo, tag).json()
        assert [m["platform"]["os"] for m in index["manifests"]] == ["windows", "unknown"]
    published = {t: registry.client().head_manifest("winamd64/python", t).digest
                 for t in ("3.14-windowsservercore-ltsc2022", "3.13-windowsservercore-ltsc2022")}

    # a second run sends the same file again (win_copy compares it), unpacks nothing, and finds every tag serving
    # its image: push.ps1 pushes nothing and windows_attest writes nothing
    again = run_role(tmp_path, bundle, registry.address)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [c["changed"] for c in calls(log) if c["action"] == "win_copy"] == [True, False]
    assert {s for c in calls(log)[-3:] for _ref, s in c["tags"]} == {"unchanged"}
    assert "TASK [buildfarm.images.build_windows : Make each pushed tag the OCI index" in again.stdout
    attest = again.stdout.split("Make each pushed tag the OCI index")[1].split("TASK [")[0]
    assert "ok: [win2022]" in attest and "changed:" not in attest
    assert published == {t: registry.client().head_manifest("winamd64/python", t).digest for t in published}


def test_a_host_with_nothing_to_build_is_sent_nothing(tmp_path):
    log = fake_windows(tmp_path)
    bundle = write_bundle(tmp_path / "release.tar", {"python": [windows_entry("3.14", "ltsc2022")]})
    result = run_role(tmp_path, bundle, host="win2025")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [c["action"] for c in calls(log)] == ["build"]
    assert calls(log)[0]["keys"] == []


def test_every_default_is_in_the_argument_spec(repo_root):
    defaults = yaml.safe_load((repo_root / "roles/build_windows/defaults/main.yml").read_text())
    spec = yaml.safe_load((repo_root / "roles/build_windows/meta/argument_specs.yml").read_text())
    assert set(defaults) <= set(spec["argument_specs"]["main"]["options"])
