"""Every module's EXAMPLES run as documented (tests/support/examples.py): the tasks of the EXAMPLES string, under
ansible-playbook, in a folder holding what they name (families/, library files, a release bundle). This file runs
the modules that need neither a Docker engine nor a registry nor the network;
tests/integration/release/test_module_examples_engine.py runs the others. test_every_module_has_an_examples_test
keeps the two files complete."""
from __future__ import annotations

import pathlib
import re
import shutil
import sys

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
from examples import assert_all_ran, run_examples  # noqa: E402
from run_module import run_module  # noqa: E402

# the modules of each file; the integration file's list is checked against its own tests
HERE = {"dockerfiles", "release_plan", "library_manifest", "readme", "release_report", "windows_release_check",
        "windows_share", "windows_attest"}
INTEGRATION = {"builder_arch", "debian_package_files", "release_prepare", "image_build", "image_test", "image_push",
               "job_status", "manifest_list", "registry_image_info", "release_verify"}
ALL_ARCHES = ["amd64", "arm32v5", "arm32v7", "arm64v8", "i386", "mips64le", "ppc64le", "riscv64", "s390x"]


def test_every_module_has_an_examples_test():
    modules = {p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_")}
    assert HERE | INTEGRATION == modules and not HERE & INTEGRATION
    names = set(re.findall(r"^def test_(\w+?)_examples\b", pathlib.Path(__file__).read_text(), re.M))
    other = REPO / "tests" / "integration" / "release" / "test_module_examples_engine.py"
    names_there = set(re.findall(r"^def test_(\w+?)_examples\b", other.read_text(), re.M))
    assert names == HERE and names_there == INTEGRATION


def parents_library(render_dir: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    """A library file per parent repository the rendered Linux Dockerfiles are built FROM (this test's own: every
    tag for every architecture), so the plan keeps each entry's architectures."""
    tags: dict[str, set[str]] = {}
    for dockerfile in render_dir.rglob("Dockerfile"):
        for m in re.finditer(r"^FROM\s+([a-z0-9.-]+):(\S+)", dockerfile.read_text(), re.M):
            tags.setdefault(m.group(1), set()).add(m.group(2))
    dest.mkdir(parents=True)
    for repo, repo_tags in tags.items():
        paragraphs = ["Maintainers: Example Keeper <keeper@example.invalid> (@keeper)\n"
                      "GitRepo: https://example.invalid/%s.git\n" % repo]
        for i, tag in enumerate(sorted(repo_tags)):
            paragraphs.append("Tags: %s\nArchitectures: %s\nGitCommit: %040x\n" % (tag, ", ".join(ALL_ARCHES), i + 1))
        (dest / repo).write_text("\n".join(paragraphs))
    return dest


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> pathlib.Path:
    """A project folder as the EXAMPLES assume one: families/ (the checkout's), the parents' library files."""
    ws = tmp_path_factory.mktemp("examples")
    shutil.copytree(REPO / "families", ws / "families")
    render = tmp_path_factory.mktemp("render")
    res = run_module("dockerfiles", {"family_dir": str(ws / "families" / "python"), "dest_dir": str(render)})
    assert not res.get("failed"), res
    parents_library(render, ws / "parents")
    return ws


def _plan(ws: pathlib.Path, family: str, **extra) -> dict:
    args = {"family_dir": str(ws / "families" / family)}
    if family == "python":
        args["parents_library"] = str(ws / "parents")
    res = run_module("release_plan", dict(args, **extra))
    assert not res.get("failed"), res
    return res


def test_dockerfiles_examples(workspace):
    run = run_examples("dockerfiles", workspace)
    assert_all_ran(run, "dockerfiles")
    rendered = sorted((workspace / "artifacts" / "render" / "python").rglob("Dockerfile"))
    versions = yaml.safe_load((workspace / "families" / "python" / "versions.json").read_text())
    # one Dockerfile per version and variant of the family's versions.json
    assert len(rendered) == sum(len(v["variants"]) for v in versions.values())
    assert run.result("Render the python family")["changed"]
    # the dry run after the render: nothing would change, so nothing to show
    again = run.result("What a new versions.json would change")
    assert not again["changed"]


def test_release_plan_examples(workspace):
    run = run_examples("release_plan", workspace, subs={"/srv/official-images/library": str(workspace / "parents")})
    assert_all_ran(run, "release_plan")
    library = (workspace / "artifacts" / "library" / "python").read_text()
    assert "\nMaintainers: " in library and "\nTags: 3.13" in library
    busybox = run.result("Plan only what the farm's builders can build")["plan"]
    assert busybox["entries"] and {a for e in busybox["entries"] for a in e["architectures"]} == {
        "amd64", "arm64v8", "s390x"}
    shown = run.result("Show the dropped entries")
    assert "buildfarm_busybox_plan.plan.dropped" in shown


def test_library_manifest_examples(workspace, tmp_path):
    shutil.copytree(workspace / "families", tmp_path / "families")
    generated = tmp_path / "generated-busybox"
    _plan(workspace, "busybox", architectures=["amd64", "s390x"], dest=str(generated))
    # the hand-edited file of the third task: a tag given twice, reported as a problem instead of failing
    (tmp_path / "library").mkdir()
    text = _plan(workspace, "python")["library"]
    first_tags = re.search(r"^Tags: (.+)$", text, re.M).group(1)
    (tmp_path / "library" / "python").write_text(text + "\nTags: %s\nArchitectures: amd64\nGitCommit: %s\n"
                                                 % (first_tags.split(",")[0], "f" * 40))
    run = run_examples("library_manifest", tmp_path, variables={"buildfarm_library_out": str(generated)})
    assert_all_ran(run, "library_manifest")
    assert run.result("Check the generated library file before anything is built from it")["architectures"] == [
        "amd64", "s390x"]
    assert "s390x" in run.result("Every architecture the release builds")["msg"]
    problems = run.result("Collect the problems of a hand-edited file instead of failing")
    assert first_tags.split(",")[0] in str(problems["errors"])


def test_readme_examples(workspace, tmp_path):
    shutil.copytree(workspace / "families", tmp_path / "families")
    python = _plan(workspace, "python", dest=str(tmp_path / "library" / "python"))
    busybox = _plan(workspace, "busybox")
    run = run_examples("readme", tmp_path, variables={
        "buildfarm_library_out": str(tmp_path / "library" / "python"),
        "busybox_plan": busybox["plan"], "python_plan": python["plan"]})
    assert_all_ran(run, "readme")
    docs = tmp_path / "artifacts" / "docs"
    # the first task's generic and per-architecture READMEs (s390x and windows-amd64: only the first task has them)
    assert sorted(p.name for p in (docs / "python").iterdir()) == [
        "README.amd64.md", "README.arm64v8.md", "README.md", "README.s390x.md", "README.windows-amd64.md"]
    assert "s390x/python" in (docs / "python" / "README.s390x.md").read_text()
    amd64 = (docs / "amd64-python-README.md").read_text()
    assert "amd64/python" in amd64 and "arm64v8/python" not in amd64.split("# Supported tags")[0]
    # the 2019 format of the same library file is another document than today's
    assert (docs / "python-README.md").read_text() != (docs / "python" / "README.md").read_text()
    busybox = ["README.amd64.md", "README.arm64v8.md", "README.md"]
    assert sorted(p.name for p in (docs / "busybox").iterdir()) == busybox
    assert "busybox" in (docs / "busybox-README.md").read_text()


def test_release_report_examples(workspace, tmp_path):
    busybox = _plan(workspace, "busybox", architectures=["amd64", "arm64v8"])["plan"]
    tag = busybox["entries"][0]["tags"][0]
    ref = "127.0.0.1:5000/amd64/busybox:" + tag
    digest = "sha256:" + "a" * 64
    # the build role's result of the amd64 builder (its shape: roles/build, "Record the builder's result"); the
    # arm64v8 builder never reported
    result = {"host": "builder-amd64", "arch": "amd64", "failed": [], "digests": {ref: digest},
              "images": [{"repo": "busybox", "key": "busybox:" + tag, "status": "built", "tags": [ref],
                          "seconds": 3.5}],
              "pushed": [{"key": "busybox:" + tag, "tags": [{"ref": ref, "status": "pushed", "digest": digest}]}]}
    lists = [{"tag": tag, "action": "created", "digest": "sha256:" + "b" * 64}]
    run = run_examples("release_report", tmp_path, variables={
        "buildfarm_release": {"families": [{"name": "busybox", "entries": busybox["entries"]}]},
        "buildfarm_results": {"builder-amd64": result},
        "buildfarm_published": {"repositories": [{"repository": "busybox", "lists": lists}]},
        "buildfarm_published_busybox": {"lists": lists}},
        hosts={"builder-amd64": {"buildfarm_arch": "amd64", "buildfarm_build_result": result},
               "builder-arm64v8": {"buildfarm_arch": "arm64v8"}},
        groups={"builders": ["builder-amd64", "builder-arm64v8"]})
    assert_all_ran(run, "release_report")
    from_hostvars = (tmp_path / "artifacts" / "release-report.md").read_text()
    by_hand = (tmp_path / "artifacts" / "by-hand" / "release-report.md").read_text()
    # the same run described twice: the same report, which names the silent builder and the pushed digest
    assert from_hostvars == by_hand
    assert "builder-arm64v8" in by_hand and tag in by_hand
    assert "`%s`" % ("a" * 12) in by_hand and "`%s`" % ("b" * 12) in by_hand  # pushed and published


def test_windows_release_check_examples(tmp_path):
    # The Windows host's fact is this test's value (no Windows host here): a Server 2022 build, stated as such.
    run = run_examples("windows_release_check", tmp_path,
                       variables={"buildfarm_windows_release": "ltsc2022", "buildfarm_test_os": "10.0.20348.0"},
                       subs={"ansible_facts['distribution_version']": "buildfarm_test_os"})
    assert_all_ran(run, "windows_release_check")
    res = run.result("Check the stated Windows release")
    assert "windowsservercore-ltsc2022" in res["constraints"]
    wrong = run_examples("windows_release_check", tmp_path,
                         variables={"buildfarm_windows_release": "ltsc2025", "buildfarm_test_os": "10.0.20348.0"},
                         subs={"ansible_facts['distribution_version']": "buildfarm_test_os"})
    assert wrong.rc != 0 and "ltsc2022" in wrong.result("Check the stated Windows release")["msg"]


def test_windows_share_examples(workspace, tmp_path):
    prepared = run_module("release_prepare", {
        "families_dir": str(workspace / "families"), "families": ["python"], "architectures": ["windows-amd64"],
        "parents_library": str(workspace / "parents"),
        "work_dir": str(tmp_path / "work"), "artifacts_dir": str(tmp_path / "artifacts")})
    assert not prepared.get("failed"), prepared
    # The share is computed on the controller for the host it names: the play runs as that host (a local
    # connection, no Windows here), and the bundle's copy to a Windows host is the task that cannot run.
    skip = {"Send the bundle, the one file the share is built from (role build_windows then unpacks it into"
            " share.bundle_dir)": "needs a Windows host"}
    run = run_examples("windows_share", tmp_path, host="win-ltsc2022-01", skip=skip,
                       hosts={"localhost": {"buildfarm_release": prepared}})
    assert_all_ran(run, "windows_share", skip)
    share = run.result("Compute this builder's share of the release")
    assert share["families"] == ["python"] and share["bundle_file"].startswith("C:\\ProgramData\\buildfarm\\builds")
    # the ltsc2022 builder is given the ltsc2022 entries only; the ltsc2025 ones are the other builder's
    assert share["jobs"] and all("ltsc2022" in " ".join(j["tags"]) for j in share["jobs"]), share["jobs"]
    assert all(j["tags"][0].startswith("registry.example.net/winamd64/python:") for j in share["jobs"])


def test_windows_attest_examples(tmp_path):
    """windows_attest reads and writes a registry: a throw-away one here, holding a synthetic Windows image pushed
    bare as push.ps1 pushes it (no Windows host runs here), of the bundle's one entry."""
    from ansible_collections.buildfarm.images.tests.support.windows_image import (
        push_windows_image,
        throwaway_registry,
        windows_entry,
        write_bundle,
    )
    bundle = write_bundle(tmp_path / "release.tar", {"python": [windows_entry("3.13", "ltsc2022")]})
    with throwaway_registry(tmp_path / "registry") as registry:
        refs = ["%s/winamd64/python:%s" % (registry.address, t) for t in ("3.13-windowsservercore-ltsc2022", "3.13")]
        _digest, image_id = push_windows_image(registry.client(), "winamd64/python",
                                               [r.rsplit(":", 1)[1] for r in refs])
        key = "python:3.13-windowsservercore-ltsc2022"
        pushed = [{"key": key, "image_id": image_id, "tags": [{"ref": r, "status": "pushed"} for r in refs]}]
        run = run_examples("windows_attest", tmp_path, host="win-ltsc2022-01",
                           variables={"pushed": {"result": pushed},
                                      "built": {"result": [{"key": key, "status": "built"}]}},
                           subs={"registry.example.net": registry.address},
                           hosts={"localhost": {"buildfarm_release": {"bundle": str(bundle)}}})
        assert_all_ran(run, "windows_attest", {})
    first = run.result("Make each pushed tag the OCI index of its image and attestation (role build_windows does this)")
    assert [t["status"] for t in first["images"][0]["tags"]] == ["pushed", "pushed"]
    assert all(t["attestation_digest"] for t in first["images"][0]["tags"])
    # the opt-out keeps the attestation already published: nothing to write
    second = run.result("Indexes with the annotations only, no attestation (the explicit opt-out; no bundle needed)")
    assert [t["status"] for t in second["images"][0]["tags"]] == ["unchanged", "unchanged"]
