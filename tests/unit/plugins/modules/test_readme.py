"""The readme and library_manifest modules run in process (AnsibleModule with patched arguments)."""
from __future__ import annotations

import json
import os
import pathlib

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.buildfarm.images.plugins.modules import library_manifest as library_manifest_module
from ansible_collections.buildfarm.images.plugins.modules import readme as readme_module

REPO = pathlib.Path(__file__).resolve().parents[4]
SAMPLE = str(REPO / "tests/unit/fixtures/library/sample")


def run(module, capsys, **args) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def test_batch_writes_generic_and_arch_readmes_then_nothing(tmp_path, capsys):
    args = dict(library_file=SAMPLE, architectures=["amd64", "riscv64"], dest_dir=str(tmp_path / "out"))
    first = run(readme_module, capsys, **args)
    assert first["changed"] is True and not first.get("failed")
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == ["README.amd64.md", "README.md", "README.riscv64.md"]
    assert [r["arch"] for r in first["readmes"]] == [None, "amd64", "riscv64"]
    assert "IS NOT SUPPORTED* ON THE `riscv64`" in (tmp_path / "out/README.riscv64.md").read_text()
    assert oct((tmp_path / "out/README.md").stat().st_mode & 0o777) == "0o644"
    assert [d["after_header"] for d in first["diff"]] == first["changed_files"]
    second = run(readme_module, capsys, **args)
    assert second["changed"] is False and second["changed_files"] == [] and second["diff"] == []


@pytest.mark.parametrize("mode", ["0600", 0o600])
def test_mode_as_octal_string_or_int(tmp_path, capsys, mode):
    dest = tmp_path / "README.md"
    run(readme_module, capsys, library_file=SAMPLE, dest=str(dest), mode=mode)
    assert dest.stat().st_mode & 0o777 == 0o600
    # the same content with another mode is a change too
    assert run(readme_module, capsys, library_file=SAMPLE, dest=str(dest))["changed"] is True
    assert dest.stat().st_mode & 0o777 == 0o644


def test_check_mode_writes_nothing(tmp_path, capsys):
    dest = tmp_path / "README.md"
    result = run(readme_module, capsys, library_file=SAMPLE, dest=str(dest), _ansible_check_mode=True)
    assert result["changed"] is True and result["changed_files"] == [str(dest)]
    assert not dest.exists()


def test_only_changed_files_are_rewritten(tmp_path, capsys):
    args = dict(library_file=SAMPLE, architectures=["amd64"], dest_dir=str(tmp_path))
    run(readme_module, capsys, **args)
    (tmp_path / "README.amd64.md").write_text("stale\n")
    generic_mtime = (tmp_path / "README.md").stat().st_mtime_ns
    result = run(readme_module, capsys, **args)
    assert result["changed_files"] == [str(tmp_path / "README.amd64.md")]
    assert result["diff"][0]["before"] == "stale\n"
    assert (tmp_path / "README.md").stat().st_mtime_ns == generic_mtime
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temporary file left


def test_entries_as_data(tmp_path, capsys):
    dest = tmp_path / "busybox.md"
    result = run(readme_module, capsys, name="busybox", generic=False, architectures=["arm64v8"], dest=str(dest),
                 family_dir=str(REPO / "families/busybox"),
                 entries=[{"tags": ["1.35.0-glibc", "1.35-glibc"], "shared_tags": ["1.35.0", "latest"],
                           "architectures": ["amd64", "arm64v8"], "git_repo": "https://github.com/x/y.git",
                           "git_commit": "a" * 40, "directory": "1.35/glibc"}])
    assert result["changed"] is True
    text = dest.read_text()
    assert "-\t[`1.35.0-glibc`, `1.35-glibc`](https://github.com/x/y/blob/%s/1.35/glibc/Dockerfile)" % ("a" * 40) in text
    assert "# What is BusyBox?" in text


@pytest.mark.parametrize("args,message", [
    (dict(library_file=SAMPLE, architectures=["amd64"], dest="x.md"), "dest is one file but 2 READMEs"),
    (dict(library_file=SAMPLE, architectures=["arm65"], dest_dir="x"), "unknown architecture 'arm65'"),
    (dict(library_file=SAMPLE, generic=False, dest_dir="x"), "nothing to write"),
    (dict(library_file=SAMPLE, dest="x.md", mode="rw"), "not an octal file mode"),
    (dict(library_file="/nonexistent/library/x", dest="x.md"), "cannot read /nonexistent/library/x"),
    (dict(library_file=SAMPLE, dest="x.md", family_dir="/nonexistent"), "family folder /nonexistent does not"),
    (dict(name="x", entries=[{"tags": ["bad/tag"]}], dest="x.md"), "entries[0]: field Tags, value 'bad/tag'"),
    (dict(name="x", entries=[{"tags": ["a"]}, {"directory": "b"}], dest="x.md"),
     "entries[1]: field Tags, value '': every entry needs at least one tag"),
    (dict(entries=[{"tags": ["a"]}], dest="x.md"), "missing parameter(s) required by 'entries': name"),
    (dict(library_file=SAMPLE, entries=[], dest="x.md"), "mutually exclusive"),
])
def test_bad_arguments_fail_before_writing(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = run(readme_module, capsys, **args)
    assert result["failed"] is True and message in result["msg"]
    assert os.listdir(tmp_path) == []


def test_invalid_library_file_fails_with_file_line_field_value(tmp_path, capsys):
    bad = tmp_path / "python"
    bad.write_text("Maintainers: A <a@x> (@a)\n\nTags: a\nGitCommit: abc\n")
    result = run(readme_module, capsys, library_file=str(bad), dest=str(tmp_path / "README.md"))
    assert result["failed"] is True
    assert result["msg"].startswith("%s:4: field GitCommit, value 'abc': GitCommit must be" % bad)
    assert not (tmp_path / "README.md").exists()


def test_library_manifest_module_reports_entries_and_groups(capsys):
    result = run(library_manifest_module, capsys, path=SAMPLE)
    assert result["valid"] is True and result["changed"] is False and result["name"] == "sample"
    assert result["architectures"] == ["amd64", "arm32v6", "arm64v8", "i386", "s390x", "windows-amd64"]
    assert result["entries"][1]["arch_overrides"] == {"amd64": {"Directory": "1.2/alpine/amd64"}}
    assert result["entries"][0]["line"] == 12
    assert result["shared_tag_groups"][1] == {
        "tags": ["1.2.3-windowsservercore", "1.2-windowsservercore"],
        "entries": ["1.2.3-windowsservercore-ltsc2022", "1.2.3-windowsservercore-ltsc2025"],
    }


def test_library_manifest_module_errors(tmp_path, capsys):
    bad = tmp_path / "x"
    bad.write_text("GitRepo: https://x/y.git\n\nTags: a\nArchitectures: arm65\n")
    failed = run(library_manifest_module, capsys, path=str(bad))
    assert failed["failed"] is True
    assert [e["field"] for e in failed["errors"]] == ["Maintainers", "Architectures"]
    assert "%s:4: field Architectures, value 'arm65': unknown architecture" % bad in failed["msg"]
    collected = run(library_manifest_module, capsys, path=str(bad), fail_on_errors=False)
    assert not collected.get("failed") and collected["valid"] is False and len(collected["errors"]) == 2
    bad.write_text("Maintainers: A\n  \tx\nnot a field\n")
    syntax = run(library_manifest_module, capsys, path=str(bad))
    assert syntax["failed"] is True and "%s:3: line, value 'not a field'" % bad in syntax["msg"]
