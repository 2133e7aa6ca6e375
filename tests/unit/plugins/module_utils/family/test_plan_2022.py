"""families/python's templates against upstream's data of 2022-01-28 (../shared/golden; skipped without it): with
that era's policy the plan gives that day's library/python for every field but GitCommit, and the templates render
a versions.json without `checksums` the way upstream's did (no PYTHON_SHA256, no sha256 check)."""
from __future__ import annotations

import json
import pathlib
import shutil

import pytest
import yaml

from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import load_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.plan import plan_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import RenderError, render_family
from ansible_collections.buildfarm.images.plugins.module_utils.library import library_manifest as lm

DAY = "2022-01-28"

# The policy of the era (golden/README.md): 3.10 was latest; mips64le was left out of 3.10 only; no global
# Builder. The OpenPGP keys are python.org's release managers' of the time.
POLICY_2022 = {
    "aliases": {"3.10": ["3", "latest"]},
    "exclude_architectures": [{"arch": "mips64le", "versions": ["3.10"]}],
    "template_vars": {"gpg_keys": {
        "3.7": "0D96DF4D4110E5C43FBFB17F2D347EA6AA65421D",  # Ned Deily
        "3.8": "E3FF2839C048B25C084DEBE9B26995E310250568",  # Łukasz Langa
        "3.9": "E3FF2839C048B25C084DEBE9B26995E310250568",  # Łukasz Langa
        "3.10": "A035C8C19219BA821ECEA86B64E628F8D684696D",  # Pablo Galindo Salgado
        "3.11": "A035C8C19219BA821ECEA86B64E628F8D684696D",  # Pablo Galindo Salgado
    }},
}


def family_of_era(repo_root: pathlib.Path, folder: pathlib.Path, versions: pathlib.Path, **policy) -> pathlib.Path:
    """families/python with another versions.json and family.yml keys (a throw-away copy in `folder`)."""
    shutil.copytree(repo_root / "families/python", folder)
    shutil.copyfile(versions, folder / "versions.json")
    doc = yaml.safe_load((folder / "family.yml").read_text())
    doc.pop("builder", None)
    doc.pop("exclude_architectures", None)
    doc.update(policy)
    (folder / "family.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def family_2022(repo_root, golden, tmp_path_factory):
    folder = tmp_path_factory.mktemp("era") / "python"
    return load_family(str(family_of_era(repo_root, folder, golden / DAY / "versions.json", **POLICY_2022)))


def test_versions_json_of_2022_has_no_checksums(golden):
    # what this test is about: upstream's data of the time
    data = json.loads((golden / DAY / "versions.json").read_text())
    assert data and not any("checksums" in v for v in data.values())


def test_plan_reproduces_the_2022_library(family_2022, golden):
    plan = plan_family(family_2022, str(golden / DAY / "library"))
    ours, theirs = lm.parse(plan.library_text()), lm.load(golden / DAY / "library" / "python")
    assert [e.directory for e in ours.entries] == [e.directory for e in theirs.entries]
    for a, b in zip(ours.entries, theirs.entries):
        for name in ("Tags", "SharedTags", "Architectures", "Directory", "Constraints", "Builder", "File"):
            assert a.value(name) == b.value(name), (b.directory, name)
    assert ours.global_fields == theirs.global_fields
    # no global Builder, so the Windows entries have none either (upstream's library had no Builder line)
    assert "Builder" not in plan.library_text()


def test_templates_render_2022_data_as_upstream_did(family_2022):
    files = render_family(family_2022)
    linux, windows = files["3.10/bullseye/Dockerfile"], files["3.10/windows/windowsservercore-ltsc2022/Dockerfile"]
    for text in files.values():
        assert "PYTHON_SHA256" not in text and "sha256sum" not in text and "Get-FileHash" not in text
    assert "ENV PYTHON_VERSION=3.10.2\n" in linux and "ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D" in linux
    assert 'gpg --batch --verify python.tar.xz.asc python.tar.xz' in linux
    assert "ENV PYTHON_VERSION=3.10.2\n" in windows and "FROM mcr.microsoft.com/windows/servercore:ltsc2022" in windows
    # setuptools is still pinned from the data of the time
    assert "'setuptools==58.1.0'" in linux


def test_no_gpg_key_and_no_checksum_means_no_check(repo_root, golden, tmp_path):
    policy = {**POLICY_2022, "template_vars": {"gpg_keys": {}}}
    family = load_family(str(family_of_era(repo_root, tmp_path / "python", golden / DAY / "versions.json",
                                           **policy)))
    text = render_family(family)["3.9/slim-bullseye/Dockerfile"]
    assert "GPG_KEY" not in text and "gpg " not in text and "gnupg" not in text and "sha256sum" not in text
    assert "nothing can be checked" in text


def test_a_key_the_template_needs_still_fails_naming_it(repo_root, golden, tmp_path):
    data = json.loads((golden / DAY / "versions.json").read_text())
    data["3.9"]["checksums"] = {"windows": {"sha256": "0" * 64}}  # no `source`: the data is wrong, not old
    versions = tmp_path / "versions.json"
    versions.write_text(json.dumps(data))
    family = load_family(str(family_of_era(repo_root, tmp_path / "python", versions, **POLICY_2022)))
    with pytest.raises(RenderError) as exc:
        render_family(family)
    message = str(exc.value)
    assert "Dockerfile-linux.j2" in message and "3.9/bullseye" in message and "source" in message
