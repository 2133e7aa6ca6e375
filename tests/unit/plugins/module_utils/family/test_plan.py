"""Planning rules on the tiny fixture family: one test per rule, then restriction, FROM scratch and GitCommit."""
from __future__ import annotations

import json
import pathlib
import subprocess

import pytest
import yaml

from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import load_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.plan import PlanError, plan_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import sync

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "families"
PARENTS = str(FIXTURES / "parents")


@pytest.fixture(scope="module")
def plan():
    return plan_family(load_family(str(FIXTURES / "tiny")), PARENTS)


def entry(plan, directory):
    return next(e for e in plan.entries if e.directory == directory)


def test_versions_newest_first_variants_in_file_order(plan):
    assert [e.directory for e in plan.entries] == [
        "2.1-rc/trixie", "2.1-rc/slim-trixie", "2.1-rc/alpine3.21",
        "2.0/trixie", "2.0/slim-trixie", "2.0/bookworm", "2.0/slim-bookworm", "2.0/alpine3.21", "2.0/alpine3.20",
        "2.0/windows/windowsservercore-ltsc2025", "2.0/windows/windowsservercore-ltsc2022",
        "1.10/bookworm", "1.10/alpine3.20",
        "1.9/bookworm", "1.9/slim-bookworm", "1.9/alpine3.20",
    ]


def test_default_suite_gets_bare_aliases_as_shared_tags(plan):
    e = entry(plan, "2.0/trixie")
    assert e.tags == ["2.0.1-trixie", "2.0-trixie", "2-trixie", "trixie"]  # latest-trixie -> trixie
    assert e.shared_tags == ["2.0.1", "2.0", "2", "latest"]
    # the default suite is the first plain variant, even when it is not the first of the list for another version
    assert entry(plan, "1.9/bookworm").shared_tags == ["1.9.4", "1.9"]
    assert entry(plan, "2.0/bookworm").shared_tags == []


def test_slim_of_default_suite_gets_slim_tags(plan):
    assert entry(plan, "2.0/slim-trixie").tags == [
        "2.0.1-slim-trixie", "2.0-slim-trixie", "2-slim-trixie", "slim-trixie", "2.0.1-slim", "2.0-slim", "2-slim",
        "slim"]
    assert entry(plan, "2.0/slim-bookworm").tags == [
        "2.0.1-slim-bookworm", "2.0-slim-bookworm", "2-slim-bookworm", "slim-bookworm"]
    assert entry(plan, "1.9/slim-bookworm").tags[-2:] == ["1.9.4-slim", "1.9-slim"]


def test_first_alpine_gets_alpine_tags(plan):
    assert entry(plan, "2.0/alpine3.21").tags[-4:] == ["2.0.1-alpine", "2.0-alpine", "2-alpine", "alpine"]
    assert "alpine" not in entry(plan, "2.0/alpine3.20").tags
    assert entry(plan, "1.10/alpine3.20").tags == ["1.10.2-alpine3.20", "1.10-alpine3.20", "1.10.2-alpine",
                                                   "1.10-alpine"]


def test_aliases_only_for_their_key(plan):
    assert entry(plan, "2.1-rc/trixie").tags == ["2.1.0b1-trixie", "2.1-rc-trixie"]
    assert entry(plan, "2.1-rc/trixie").shared_tags == ["2.1.0b1", "2.1-rc"]
    assert not any(t.startswith("latest") for e in plan.entries for t in e.tags + e.shared_tags if t != "latest")


def test_windows_entries(plan):
    e = entry(plan, "2.0/windows/windowsservercore-ltsc2022")
    assert e.tags == ["2.0.1-windowsservercore-ltsc2022", "2.0-windowsservercore-ltsc2022",
                      "2-windowsservercore-ltsc2022", "windowsservercore-ltsc2022"]
    assert e.shared_tags == ["2.0.1-windowsservercore", "2.0-windowsservercore", "2-windowsservercore",
                             "windowsservercore", "2.0.1", "2.0", "2", "latest"]
    assert e.constraints == ["windowsservercore-ltsc2022"]
    assert e.architectures == ["windows-amd64"]
    assert e.builder == "classic"
    assert e.from_ == ["mcr.microsoft.com/windows/servercore:ltsc2022"]
    assert entry(plan, "2.0/trixie").builder == "buildkit"


def test_architectures_from_parent_sorted_minus_exclusions(plan):
    # parent alpine:3.21 lists arm64v8, s390x, riscv64, ppc64le, amd64
    assert entry(plan, "2.0/alpine3.21").architectures == ["amd64", "arm64v8", "ppc64le", "riscv64", "s390x"]
    # mips64le everywhere; riscv64 unless 2.0; s390x for alpine* of 2.1-rc
    assert entry(plan, "2.1-rc/alpine3.21").architectures == ["amd64", "arm64v8", "ppc64le"]
    assert entry(plan, "2.1-rc/trixie").architectures == ["amd64", "arm64v8", "s390x"]
    assert entry(plan, "2.0/trixie").architectures == ["amd64", "arm64v8", "riscv64", "s390x"]
    # ppc64le by full version 1.9.4; the parent bookworm has it
    assert entry(plan, "1.9/bookworm").architectures == ["amd64", "arm64v8", "s390x"]
    assert entry(plan, "1.10/bookworm").architectures == ["amd64", "arm64v8", "ppc64le", "s390x"]
    # the global Architectures of a parent file applies to entries without their own
    assert entry(plan, "2.0/slim-bookworm").architectures == ["amd64", "arm64v8", "ppc64le", "s390x"]


def test_library_file_round_trips_and_validates(plan):
    text = plan.library_text()
    m = lm.parse(text, "planned").validate()
    assert lm.dumps(m) == text
    assert m.global_fields["Builder"] == "buildkit"
    assert [e.directory for e in m.entries] == [e.directory for e in plan.entries]
    windows = m.entries[9]
    assert m.paragraphs[9].get("Builder") == "classic" and windows.constraints == ["windowsservercore-ltsc2025"]
    assert m.paragraphs[0].get("Builder") is None  # the global default is not repeated
    assert text.startswith("# this file is generated by buildfarm.images (release_plan) from families/tiny\n\n")


def test_plan_dict_contract(plan):
    d = plan.to_dict()
    assert d["name"] == "tiny" and d["repository"] == "library/tiny" and d["dropped"] == []
    assert set(d["entries"][0]) >= {"tags", "shared_tags", "architectures", "directory", "file", "git_commit",
                                    "constraints", "builder", "from"}
    assert d["entries"][0]["from"] == ["buildpack-deps:trixie"]
    assert d["entries"][0]["file"] == "Dockerfile"


def test_release_restricted_to_builder_architectures():
    p = plan_family(load_family(str(FIXTURES / "tiny")), PARENTS, architectures=["amd64", "s390x"])
    assert {tuple(e.architectures) for e in p.entries} == {("amd64",), ("amd64", "s390x")}
    assert [d.directory for d in p.dropped] == ["2.0/windows/windowsservercore-ltsc2025",
                                                "2.0/windows/windowsservercore-ltsc2022"]
    assert p.to_dict()["dropped"][0]["architectures"] == ["windows-amd64"]
    assert "windowsservercore" not in p.library_text()

    only_windows = plan_family(load_family(str(FIXTURES / "tiny")), PARENTS, architectures=["windows-amd64"])
    assert [e.directory for e in only_windows.entries] == ["2.0/windows/windowsservercore-ltsc2025",
                                                           "2.0/windows/windowsservercore-ltsc2022"]
    assert len(only_windows.dropped) == 14


def test_restriction_with_unknown_architecture_is_an_error():
    with pytest.raises(PlanError, match="field architectures: unknown architecture .*'arm65'"):
        plan_family(load_family(str(FIXTURES / "tiny")), PARENTS, architectures=["amd64", "arm65"])


def test_scratch_family_uses_family_architectures():
    p = plan_family(load_family(str(FIXTURES / "scratchbox")), None)
    assert [(e.directory, e.architectures) for e in p.entries] == [
        ("1.2/glibc", ["amd64", "arm32v7", "arm64v8", "s390x"]),
        ("1.2/musl", ["amd64", "arm32v7", "arm64v8"]),  # s390x excluded for musl
        ("1.2/uclibc", ["amd64", "arm64v8"]),
    ]
    assert p.entries[0].from_ == ["scratch"]
    assert p.entries[0].tags == ["1.2.3-glibc", "1.2-glibc", "1-glibc", "glibc"]
    assert p.entries[0].shared_tags == ["1.2.3", "1.2", "1", "latest"]
    assert "Builder" not in p.library_text()


def test_family_architectures_restrict_parent_architectures(tiny):
    data = yaml.safe_load((tiny / "family.yml").read_text())
    data["architectures"] = ["amd64", "riscv64"]
    (tiny / "family.yml").write_text(yaml.safe_dump(data))
    p = plan_family(load_family(str(tiny)), PARENTS)
    assert entry(p, "2.0/trixie").architectures == ["amd64", "riscv64"]
    assert entry(p, "1.9/bookworm").architectures == ["amd64"]
    assert entry(p, "2.0/windows/windowsservercore-ltsc2022").architectures == ["windows-amd64"]


def test_multi_stage_from_lists_images_not_stages(tiny):
    (tiny / "linux.j2").write_text("FROM buildpack-deps:trixie AS build\nRUN make\n"
                                   "FROM debian:bookworm-slim\nCOPY --from=build /x /x\nFROM build AS again\n")
    p = plan_family(load_family(str(tiny)), PARENTS)
    assert p.entries[0].from_ == ["buildpack-deps:trixie", "debian:bookworm-slim"]
    # Architectures come from the first FROM
    assert p.entries[0].architectures == ["amd64", "arm64v8", "s390x"]


def _git(cwd, *args):
    return subprocess.run(["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
                          + list(args), check=True, capture_output=True, text=True).stdout.strip()


def test_git_commit_is_last_commit_touching_each_dockerfile(tiny, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    tree = repo / "tiny"
    family = load_family(str(tiny))
    sync(family, str(tree))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "render")
    first = _git(repo, "rev-parse", "HEAD")

    data = json.loads((tiny / "versions.json").read_text())
    data["1.9"]["version"] = "1.9.5"
    (tiny / "versions.json").write_text(json.dumps(data))
    family = load_family(str(tiny))
    sync(family, str(tree))
    _git(repo, "commit", "-qam", "1.9.5")
    second = _git(repo, "rev-parse", "HEAD")

    p = plan_family(family, PARENTS, tree=str(tree))
    commits = {e.directory: e.git_commit for e in p.entries}
    assert commits["1.9/bookworm"] == second
    assert second == _git(repo, "log", "-1", "--format=%H", "--", "tiny/1.9/bookworm/Dockerfile")
    assert commits["2.0/trixie"] == first
    assert p.warnings == []
    assert "GitCommit: %s" % second in p.library_text()

    # re-rendered but not committed: no GitCommit for what changed (and a warning), the others keep theirs
    data["1.9"]["version"] = "1.9.6"
    (tiny / "versions.json").write_text(json.dumps(data))
    family = load_family(str(tiny))
    sync(family, str(tree))
    p = plan_family(family, PARENTS, tree=str(tree))
    assert entry(p, "1.9/bookworm").git_commit == ""
    assert entry(p, "2.0/trixie").git_commit == first
    assert len(p.warnings) == 3 and all("not committed as rendered" in w for w in p.warnings)

    # a tree that is not the current render is refused: its commits would not be what the plan describes
    with open(tree / "2.0" / "trixie" / "Dockerfile", "a") as f:
        f.write("# local edit\n")
    with pytest.raises(PlanError, match=r"2\.0/trixie/Dockerfile: field \(rendered tree\).*not the current render"):
        plan_family(family, PARENTS, tree=str(tree))


def test_git_commit_omitted_when_tree_not_in_git_or_dirty(tmp_path):
    family = load_family(str(FIXTURES / "tiny"))
    tree = tmp_path / "render"
    sync(family, str(tree))
    p = plan_family(family, PARENTS, tree=str(tree))
    assert all(e.git_commit == "" for e in p.entries) and p.warnings == []
    assert "GitCommit" not in p.library_text()

    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "render/2.0")
    _git(tmp_path, "commit", "-qm", "only 2.0")
    p = plan_family(family, PARENTS, tree=str(tree))
    assert entry(p, "2.0/trixie").git_commit == _git(tmp_path, "rev-parse", "HEAD")
    assert entry(p, "1.9/bookworm").git_commit == ""
    assert any("1.9/bookworm/Dockerfile: not committed" in w for w in p.warnings)
