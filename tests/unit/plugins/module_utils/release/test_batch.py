"""The release as one batch (module_utils/release/batch.py): families planned together, families FROM families,
copied family folders, the bundle."""
from __future__ import annotations

import io
import json
import pathlib
import shutil
import tarfile

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.bundle import BundleError, open_bundle
from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import FamilyError
from ansible_collections.buildfarm.images.plugins.module_utils.release import batch

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "families"

CHILD_TEMPLATE = """FROM {parent}:1.2.3-{{{{ variant }}}}
RUN echo child
"""


def _child(families: pathlib.Path, name: str, parent: str, variants=("glibc", "uclibc")) -> pathlib.Path:
    d = families / name
    d.mkdir()
    (d / "family.yml").write_text(
        "name: %s\nmaintainers: [Jane Doe <jane@example.invalid> (@jane)]\nversions: versions.json\n"
        "templates: {'*': Dockerfile.j2}\n" % name)
    (d / "versions.json").write_text(json.dumps({"2.0": {"version": "2.0.1", "variants": list(variants)}}))
    (d / "Dockerfile.j2").write_text(CHILD_TEMPLATE.format(parent=parent))
    return d


@pytest.fixture
def families(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "families"
    root.mkdir()
    shutil.copytree(FIXTURES / "scratchbox", root / "scratchbox")
    return root


def test_every_family_of_the_folder_by_default(families):
    shutil.copytree(families / "scratchbox", families / "otherbox")
    release = batch.prepare(str(families))
    assert [f.name for f in release.families] == ["otherbox", "scratchbox"]


def test_a_copied_folder_is_a_new_image_named_after_the_folder(families):
    # family.yml still says `name: scratchbox`: nothing but the folder's name changes
    shutil.copytree(families / "scratchbox", families / "mybox")
    release = batch.prepare(str(families), ["mybox"])
    fam = release.families[0]
    assert fam.name == "mybox"
    assert fam.plan.repository == "library/mybox"
    assert fam.record().entries[0].tags[0] == "1.2.3-glibc"


def test_child_family_takes_the_parents_architectures_and_comes_after_it(families):
    _child(families, "childbox", "scratchbox")
    # named child first: the order of the release is the dependency order
    release = batch.prepare(str(families), ["childbox", "scratchbox"])
    assert [f.name for f in release.families] == ["scratchbox", "childbox"]
    child = release.families[1]
    assert child.depends_on == ["scratchbox"]
    by_dir = {e.directory: e.architectures for e in child.plan.entries}
    # scratchbox: uclibc [amd64, arm64v8]; glibc [amd64, arm32v7, arm64v8, s390x]
    assert by_dir == {"2.0/glibc": ["amd64", "arm32v7", "arm64v8", "s390x"], "2.0/uclibc": ["amd64", "arm64v8"]}


def test_child_follows_the_parents_restriction_to_the_farms_architectures(families):
    _child(families, "childbox", "scratchbox")
    release = batch.prepare(str(families), ["scratchbox", "childbox"], architectures=["s390x"])
    child = release.families[1]
    # uclibc has no s390x in the parent: dropped in both, not an error
    assert [e.directory for e in child.plan.entries] == ["2.0/glibc"]
    assert child.plan.entries[0].architectures == ["s390x"]
    assert [d.directory for d in child.plan.dropped] == ["2.0/uclibc"]


def test_child_of_a_tag_the_parent_does_not_plan_names_it(families):
    _child(families, "childbox", "scratchbox", variants=("nosuch",))
    with pytest.raises(FamilyError) as e:
        batch.prepare(str(families), ["scratchbox", "childbox"])
    assert "scratchbox:1.2.3-nosuch" in str(e.value) and "not planned in family scratchbox" in str(e.value)


def test_child_without_its_parent_in_the_release_needs_a_parents_library(families):
    _child(families, "childbox", "scratchbox")
    with pytest.raises(FamilyError) as e:
        batch.prepare(str(families), ["childbox"])
    assert e.value.field == "FROM" and "no parents library folder" in str(e.value)


def test_a_from_cycle_between_families_is_refused(families):
    _child(families, "abox", "bbox")
    _child(families, "bbox", "abox")
    with pytest.raises(batch.ReleaseError) as e:
        batch.prepare(str(families), ["abox", "bbox"])
    assert "cycle" in str(e.value) and "abox" in str(e.value)


@pytest.mark.parametrize("names, problem", [
    (["nosuch"], "no such family folder"),
    (["scratchbox", "scratchbox"], "family named twice"),
    (["../scratchbox"], "not a family folder name"),
    ([], "no family to release"),
])
def test_bad_family_names(families, names, problem):
    with pytest.raises(batch.ReleaseError) as e:
        batch.prepare(str(families), names)
    assert problem in str(e.value)
    assert e.value.field == "families"


def test_scratch_is_known_from_the_render(families):
    _child(families, "childbox", "scratchbox")
    release = batch.prepare(str(families), ["scratchbox", "childbox"])
    assert [f.record().scratch for f in release.families] == [True, False]


def test_build_recipe_lives_in_family_yml(families):
    fy = families / "scratchbox" / "family.yml"
    fy.write_text(fy.read_text() + "build:\n  context:\n    debian_package:\n      package: busybox-static\n"
                  "      files: {bin/busybox: busybox}\n  tests: tests.yml\n")
    (families / "scratchbox" / "tests.yml").write_text("linux:\n  - name: runs\n    command: ['true']\n")
    fam = batch.prepare(str(families), ["scratchbox"]).families[0].record().to_dict()
    assert fam["context"] == {"debian_package": {"package": "busybox-static", "files": {"bin/busybox": "busybox"},
                                                 "suite": "", "match_version": True}}
    assert fam["tests"] == {"linux": [{"name": "runs", "command": ["true"]}]}


@pytest.mark.parametrize("build, field", [
    ("build: {context: {rpm: {}}}", "build.context.rpm"),
    ("build: {context: {debian_package: {package: busybox-static, files: {../x: busybox}}}}",
     "build.context.debian_package.files"),
    ("build: {tests: ../../etc/passwd}", "build.tests"),
    ("build: {tests: nosuch.yml}", "build.tests"),
    ("build: {nosuch: 1}", "build.nosuch"),
])
def test_bad_build_recipe_names_the_field(families, build, field):
    fy = families / "scratchbox" / "family.yml"
    fy.write_text(fy.read_text() + build + "\n")
    with pytest.raises(FamilyError) as e:
        batch.prepare(str(families), ["scratchbox"])
    assert e.value.field == field
    assert str(fy) in str(e.value)


def test_bad_tests_file_fails_before_anything_is_written(families, tmp_path):
    (families / "scratchbox" / "tests.yml").write_text("linux:\n  - command: [true]\n")
    with pytest.raises(FamilyError) as e:
        batch.prepare(str(families), ["scratchbox"])
    assert "tests.yml" in str(e.value)
    assert not (tmp_path / "work").exists()


def test_write_is_idempotent_and_the_bundle_deterministic(families, tmp_path):
    _child(families, "childbox", "scratchbox")
    release = batch.prepare(str(families), ["scratchbox", "childbox"], source_date_epoch="0")
    first = batch.write(release, str(tmp_path / "work"), str(tmp_path / "artifacts"))
    assert first.changed and sorted(first.library_files) == ["childbox", "scratchbox"]
    data = pathlib.Path(first.bundle).read_bytes()
    again = batch.write(batch.prepare(str(families), ["scratchbox", "childbox"], source_date_epoch="0"),
                        str(tmp_path / "work"), str(tmp_path / "artifacts"))
    assert not again.changed
    assert pathlib.Path(again.bundle).read_bytes() == data
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        assert all(m.mtime == 0 and m.uid == 0 for m in tar.getmembers())
    assert "render/childbox/2.0/glibc/Dockerfile" in names and "release.json" in names


def test_check_mode_writes_no_library_file(families, tmp_path):
    release = batch.prepare(str(families), ["scratchbox"])
    res = batch.write(release, str(tmp_path / "work"), str(tmp_path / "artifacts"), check=True)
    assert res.changed
    assert not (tmp_path / "artifacts").exists()
    assert pathlib.Path(res.bundle).is_file()  # scratch: the builders' dry run needs it


def test_bundle_opens_on_a_builder(families, tmp_path):
    _child(families, "childbox", "scratchbox")
    res = batch.write(batch.prepare(str(families), ["scratchbox", "childbox"]), str(tmp_path / "work"),
                      str(tmp_path / "artifacts"))
    b = open_bundle(res.bundle, str(tmp_path / "builder"))
    assert b.release.names == ["scratchbox", "childbox"]
    assert (pathlib.Path(b.render_dir("childbox")) / "2.0" / "glibc" / "Dockerfile").read_text().startswith(
        "FROM scratchbox:1.2.3-glibc")
    assert open_bundle(res.bundle, str(tmp_path / "builder")).root == b.root  # unpacked once per content


def test_bundle_with_a_traversal_member_is_refused(tmp_path):
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tar:
        info = tarfile.TarInfo("../evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BundleError) as e:
        open_bundle(str(bad), str(tmp_path / "builder"))
    assert "../evil" in str(e.value)
    assert not (tmp_path / "evil").exists()


def test_release_prepare_views_derive_from_the_one_serialization(families, tmp_path):
    _child(families, "childbox", "scratchbox")
    release = batch.prepare(str(families), ["scratchbox", "childbox"])
    res = batch.write(release, str(tmp_path / "work"), str(tmp_path / "artifacts"))
    assert res.data == release.record().to_dict()
    fams = batch.result_families(res.data, str(tmp_path / "work"))
    work = tmp_path / "work"
    assert [f["render_dir"] for f in fams] == [str(work / "render" / n) for n in ("scratchbox", "childbox")]
    assert set(fams[0]) == {"name", "kind", "repository", "entries", "dropped", "depends_on", "scratch", "tests",
                            "source", "revision", "created", "sources", "render_dir"}
    assert fams[1]["depends_on"] == ["scratchbox"]
    publish = batch.publish_view(res.data)
    assert [p["repository"] for p in publish] == ["scratchbox", "childbox"]
    assert publish[1]["entries"] is res.data["families"][1]["entries"]  # the same entries, not a copy
    docs = batch.docs_view(release, res.data, str(tmp_path / "artifacts"))
    assert docs[0] == {"name": "scratchbox", "entries": res.data["families"][0]["entries"],
                       "dest_dir": str(tmp_path / "artifacts" / "docs" / "scratchbox"),
                       "family_dir": str(families / "scratchbox")}


def test_release_errors_are_buildfarm_errors_not_family_errors(families):
    from ansible_collections.buildfarm.images.plugins.module_utils.common.errors import BuildfarmError

    with pytest.raises(batch.ReleaseError) as e:
        batch.prepare(str(families), ["nosuch"])
    assert isinstance(e.value, BuildfarmError) and not isinstance(e.value, FamilyError)
    assert (e.value.file, e.value.field, e.value.value, e.value.details) == (str(families), "families", "nosuch", {})
    assert str(e.value).startswith("%s: field families: no such family folder" % families)
    assert str(e.value).endswith("(value: 'nosuch')")
