"""A user's project from the installed collection, end to end: the tarball built and installed (with its declared
dependencies) into a temporary collections path; `buildfarm.images.project` writes a project; the user adds a family
of their own (the example copied under another name) and a library file whose entries point at Git repositories the
test creates (two architectures: amd64 natively, arm64v8 under qemu through `arm64v8-Directory`; one entry FROM
another entry, one FROM the user's family); `ansible-playbook release.yml` from the project (the registry role
starting the project's registry on a port of its own). Checked: the lists and per-architecture images in the
registry, the READMEs and the report in the project, nothing under the installed collection changed, and a second
run reports changed=0."""
from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess

import pytest
import requests
import yaml

from ansible_collections.buildfarm.images.tests.support import installed_collection
from ansible_collections.buildfarm.images.tests.support.ports import free_port

REPO = installed_collection.REPO
BIN = installed_collection.BIN
LIST_TYPES = ", ".join(["application/vnd.docker.distribution.manifest.list.v2+json",
                        "application/vnd.oci.image.index.v1+json"])


def _git(cwd: pathlib.Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=cwd,
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def _source_repo(path: pathlib.Path, files: dict[str, str]) -> str:
    """A Git repository with ``files``, one commit; its id."""
    path.mkdir(parents=True)
    _git(path, "init", "-q")
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "images")
    return _git(path, "rev-parse", "HEAD")


def _recap(stdout: str) -> dict[str, dict[str, int]]:
    out = {}
    for m in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", stdout, re.M):
        out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("user-project")
    installed = installed_collection.install(tmp)
    env = dict(installed["env"])
    # the install's HOME is a folder of the test (no user collections): the async jobs of the build stage then
    # write their results under it, while async_status looks under the remote user's home (~root); one absolute
    # folder for both, as a real user's HOME gives
    env["ANSIBLE_ASYNC_DIR"] = str(tmp / "home" / ".ansible_async")
    work = tmp / "work"
    work.mkdir()
    made = installed_collection.run([BIN / "ansible-playbook", "buildfarm.images.project", "-e",
                                     "buildfarm_project_dir=my-farm"], work, env)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr
    d = work / "my-farm"

    # the user's own family: the example copied under another name, as the project's README says
    shutil.copytree(d / "families" / "busybox", d / "families" / "mybox")
    fy = d / "families" / "mybox" / "family.yml"
    fy.write_text(re.sub(r"^name: busybox$", "name: mybox", fy.read_text(), flags=re.M))
    shutil.rmtree(d / "families" / "busybox")

    # the user's images in Git: one repository per team, a library file naming them
    app = _source_repo(tmp / "src" / "myapp", {
        "amd64/Dockerfile": "FROM mybox:latest\nCOPY flavour /flavour\nCMD [\"cat\", \"/flavour\"]\n",
        "amd64/flavour": "plain amd64\n",
        "arm64/Dockerfile": "FROM mybox:latest\nCOPY flavour /flavour\nCMD [\"cat\", \"/flavour\"]\n",
        "arm64/flavour": "tuned for arm64\n",
    })
    extra = _source_repo(tmp / "src" / "myapp-extra", {
        "Dockerfile": "FROM myapp:1.0\nCOPY extra /extra\nCMD [\"cat\", \"/flavour\", \"/extra\"]\n",
        "extra": "with extras\n",
    })
    (d / "library" / "myapp").write_text(
        "Maintainers: Team <team@example.org> (@team)\n"
        f"GitRepo: {tmp / 'src' / 'myapp'}\n\n"
        "Tags: 1.0, 1, latest\nArchitectures: amd64, arm64v8\n"
        f"GitCommit: {app}\nDirectory: amd64\narm64v8-Directory: arm64\n\n"
        "Tags: 1.0-extra, extra\nArchitectures: amd64, arm64v8\n"
        f"GitRepo: {tmp / 'src' / 'myapp-extra'}\nGitCommit: {extra}\n")

    # the inventory: two architectures, a registry port of this test's own, the library file listed, the
    # checkout's Debian package cache (the example family's busybox-static .debs)
    hosts = yaml.safe_load((d / "inventory" / "hosts.yml").read_text())
    hosts["all"]["children"]["builders"]["children"].pop("builders_s390x")
    (d / "inventory" / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    port = free_port(5300, 5399)
    # loaded after main.yml (files of a group_vars folder load in name order): its values win
    (d / "inventory" / "group_vars" / "all" / "zz-farm.yml").write_text(yaml.safe_dump({
        "buildfarm_registry": f"127.0.0.1:{port}",
        "buildfarm_registry_port": port,
        "buildfarm_registry_install": False,
        "buildfarm_library_files": ["library/myapp"],
        "buildfarm_build_cache_dir": str(REPO / ".cache" / "release" / "cache"),
    }))
    yield {"dir": d, "env": env, "installed": installed, "registry": f"127.0.0.1:{port}"}
    installed_collection.run([BIN / "ansible-playbook", "release.yml", "--tags", "provision", "--limit", "registry",
                              "-e", "buildfarm_registry_state=stopped"], d, env)
    out = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                         text=True, check=False).stdout.split()
    tags = [t for t in out if t.startswith(f"127.0.0.1:{port}/")]
    if tags:
        subprocess.run(["docker", "rmi", *tags], capture_output=True, check=False)


@pytest.fixture(scope="module")
def released(project):
    first = installed_collection.run([BIN / "ansible-playbook", "release.yml"], project["dir"], project["env"],
                                     timeout=1800)
    return first


def _platforms(registry: str, repo: str, tag: str) -> set[str]:
    r = requests.get(f"http://{registry}/v2/{repo}/manifests/{tag}", headers={"Accept": LIST_TYPES}, timeout=10)
    assert r.status_code == 200, (repo, tag, r.status_code, r.text[:300])
    # attestation manifests (platform unknown/unknown) sit next to their members: not a platform of the list
    return {"%s/%s" % (m["platform"]["os"], m["platform"]["architecture"]) for m in r.json()["manifests"]
            if (m.get("annotations") or {}).get("vnd.docker.reference.type") != "attestation-manifest"}


def test_release_from_the_project_publishes_the_family_and_the_library_file(project, released):
    assert released.returncode == 0, released.stdout[-5000:] + released.stderr[-2000:]
    reg = project["registry"]
    both = {"linux/amd64", "linux/arm64"}
    assert _platforms(reg, "library/mybox", "latest") == both
    for tag in ("1.0", "1", "latest", "1.0-extra", "extra"):
        assert _platforms(reg, "library/myapp", tag) == both, tag
    # each architecture built from its own Directory; the child FROM the parent entry just built
    runs = {
        ("arm64v8/myapp:1.0", "linux/arm64"): "tuned for arm64\n",
        ("amd64/myapp:1.0", "linux/amd64"): "plain amd64\n",
        ("arm64v8/myapp:1.0-extra", "linux/arm64"): "tuned for arm64\nwith extras\n",
    }
    for (image, platform), want in runs.items():
        proc = subprocess.run(["docker", "run", "--rm", "--platform", platform, f"{reg}/{image}"],
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0 and proc.stdout == want, (image, proc.stdout, proc.stderr)


def test_the_project_has_the_readmes_and_the_report(project, released):
    d = project["dir"]
    readme = (d / "artifacts" / "docs" / "myapp" / "README.md").read_text()
    assert "`1.0`, `1`, `latest`" in readme and "`1.0-extra`, `extra`" in readme, readme[:2000]
    assert (d / "artifacts" / "docs" / "myapp" / "README.arm64v8.md").is_file()
    assert (d / "artifacts" / "docs" / "mybox" / "README.md").is_file()
    report = json.loads((d / "artifacts" / "release-report.json").read_text())
    assert report["ok"] is True, report
    assert not (d / ".buildfarm").exists() or (d / ".buildfarm" / "git").is_dir()


def test_nothing_under_the_installed_collection_changed(project, released):
    installed = project["installed"]
    assert installed_collection.tree_digest(installed["tmp"] / "collections") == installed["digest"]


def test_a_second_release_changes_nothing(project, released):
    again = installed_collection.run([BIN / "ansible-playbook", "release.yml"], project["dir"], project["env"],
                                     timeout=1800)
    assert again.returncode == 0, again.stdout[-5000:] + again.stderr[-2000:]
    recap = _recap(again.stdout)
    assert recap and all(s["changed"] == 0 for s in recap.values()), {h: s for h, s in recap.items()
                                                                      if s["changed"]}


def test_a_bad_commit_fails_before_anything_is_built_naming_file_line_and_value(project, released):
    d = project["dir"]
    lib = d / "library" / "myapp"
    good = lib.read_text()
    try:
        lib.write_text(good.replace("Tags: 1.0-extra, extra", "Tags: 1.0-extra, extra\narm64v8-GitCommit: " + "b" * 40))
        bad = installed_collection.run([BIN / "ansible-playbook", "release.yml", "--tags", "plan"], d,
                                       project["env"])
    finally:
        lib.write_text(good)
    assert bad.returncode != 0
    line = next(i for i, x in enumerate(lib.read_text().splitlines(), 1) if x.startswith("Tags: 1.0-extra")) + 1
    assert f"{lib}:{line}: field arm64v8-GitCommit" in bad.stdout, bad.stdout[-3000:]
    assert "b" * 40 in bad.stdout
