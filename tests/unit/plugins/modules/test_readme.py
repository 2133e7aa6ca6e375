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
    args = dict(library_file=SAMPLE, architectures=["amd64", "riscv64"], dest_dir=str(tmp_path / "out"),
                _ansible_diff=True)
    first = run(readme_module, capsys, **args)
    assert first["changed"] is True and not first.get("failed")
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == ["README.amd64.md", "README.md", "README.riscv64.md"]
    assert [r["arch"] for r in first["readmes"]] == [None, "amd64", "riscv64"]
    assert "IS NOT SUPPORTED* ON THE `riscv64`" in (tmp_path / "out/README.riscv64.md").read_text()
    assert oct((tmp_path / "out/README.md").stat().st_mode & 0o777) == "0o644"
    assert [d["after_header"] for d in first["diff"]] == first["changed_files"]
    second = run(readme_module, capsys, **args)
    assert second["changed"] is False and second["changed_files"] == [] and "diff" not in second


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
    args = dict(library_file=SAMPLE, architectures=["amd64"], dest_dir=str(tmp_path), _ansible_diff=True)
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
    blob = "https://github.com/x/y/blob/%s" % ("a" * 40)
    assert "-\t[`1.35.0-glibc`, `1.35-glibc`](%s/1.35/glibc/Dockerfile)" % blob in text
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
    result = run(library_manifest_module, capsys, library_file=SAMPLE)
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
    failed = run(library_manifest_module, capsys, library_file=str(bad))
    assert failed["failed"] is True
    assert [e["field"] for e in failed["errors"]] == ["Maintainers", "Architectures"]
    assert "%s:4: field Architectures, value 'arm65': unknown architecture" % bad in failed["msg"]
    collected = run(library_manifest_module, capsys, library_file=str(bad), fail_on_error=False)
    old_names = run(library_manifest_module, capsys, path=str(bad), fail_on_errors=False)  # the aliases
    assert not old_names.get("failed") and old_names["errors"] == collected["errors"]
    assert not collected.get("failed") and collected["valid"] is False and len(collected["errors"]) == 2
    bad.write_text("Maintainers: A\n  \tx\nnot a field\n")
    syntax = run(library_manifest_module, capsys, library_file=str(bad))
    assert syntax["failed"] is True and "%s:3: line, value 'not a field'" % bad in syntax["msg"]


# ---------------------------------------------------------------- formats and the batch of families

BUSYBOX = [{"tags": ["1.35.0-glibc", "1.35-glibc"], "shared_tags": ["1.35.0", "latest"],
            "architectures": ["amd64", "arm64v8"], "git_repo": "https://github.com/x/busybox.git",
            "git_commit": "a" * 40, "directory": "1.35/glibc"},
           {"tags": ["1.35.0-musl", "1.35-musl"], "architectures": ["amd64"], "git_repo": "https://github.com/x/busybox.git",
            "git_commit": "a" * 40, "directory": "1.35/musl"}]
PYTHON = [{"tags": ["3.14.6-trixie", "3.14-trixie"], "architectures": ["amd64", "s390x"],
           "git_repo": "https://github.com/x/python.git", "git_commit": "b" * 40, "directory": "3.14/trixie"}]


def test_format_option(tmp_path, capsys):
    new, old = tmp_path / "new.md", tmp_path / "old.md"
    run(readme_module, capsys, library_file=SAMPLE, dest=str(new))
    run(readme_module, capsys, library_file=SAMPLE, dest=str(old), format="2019")
    # 2024 (the default) puts a blank line after each simple-tag entry, 2019 does not
    assert "(%s/1.2/bookworm/Dockerfile)\n\n-\t[`1.2.3-alpine`" % "https://github.com/example/sample/blob/" \
        "89abcdef0123456789abcdef0123456789abcdef" in new.read_text()
    assert "/1.2/bookworm/Dockerfile)\n-\t[`1.2.3-alpine`" in old.read_text()
    result = run(readme_module, capsys, library_file=SAMPLE, dest=str(old), format="2023")
    assert result["failed"] is True and "format" in result["msg"] and "2023" in result["msg"]


def test_families_in_one_call(tmp_path, capsys):
    families = [
        {"name": "busybox", "entries": BUSYBOX, "family_dir": str(REPO / "families/busybox"),
         "dest_dir": str(tmp_path / "busybox")},
        {"name": "python", "entries": PYTHON, "dest_dir": str(tmp_path / "python")},
    ]
    args = dict(families=families, architectures=["amd64", "s390x"], _ansible_diff=True)
    first = run(readme_module, capsys, **args)
    assert first["changed"] is True and not first.get("failed")
    assert sorted(os.listdir(tmp_path / "busybox")) == sorted(os.listdir(tmp_path / "python")) == \
        ["README.amd64.md", "README.md", "README.s390x.md"]
    assert [(f["name"], f["changed"], len(f["changed_files"])) for f in first["families"]] == \
        [("busybox", True, 3), ("python", True, 3)]
    assert [(r["name"], r["arch"]) for r in first["readmes"]] == [
        ("busybox", None), ("busybox", "amd64"), ("busybox", "s390x"),
        ("python", None), ("python", "amd64"), ("python", "s390x")]
    assert len(first["diff"]) == 6 and first["changed_files"] == [d["after_header"] for d in first["diff"]]
    # each family's own entries and content, the same READMEs as one call per family writes
    assert "# What is BusyBox?" in (tmp_path / "busybox/README.md").read_text()
    assert "IS NOT SUPPORTED* ON THE `s390x`" in (tmp_path / "busybox/README.s390x.md").read_text()
    single = tmp_path / "single.md"
    run(readme_module, capsys, name="python", entries=PYTHON, generic=False, architectures=["s390x"],
        dest=str(single))
    assert single.read_text() == (tmp_path / "python/README.s390x.md").read_text()
    # unchanged: nothing written; one family changed: only it is
    assert run(readme_module, capsys, **args)["changed"] is False
    (tmp_path / "python/README.md").write_text("stale\n")
    third = run(readme_module, capsys, **args)
    assert [f["changed"] for f in third["families"]] == [False, True]
    assert third["changed_files"] == [str(tmp_path / "python/README.md")]


def test_families_check_mode_and_diff(tmp_path, capsys):
    families = [{"name": n, "entries": e, "dest_dir": str(tmp_path / n)} for n, e in
                (("busybox", BUSYBOX), ("python", PYTHON))]
    result = run(readme_module, capsys, families=families, _ansible_check_mode=True, _ansible_diff=True)
    assert result.get("changed") is True, result
    assert [f["changed"] for f in result["families"]] == [True, True]
    assert [d["before_header"] for d in result["diff"]] == ["/dev/null", "/dev/null"]
    assert "`1.35.0-glibc`, `1.35-glibc`" in result["diff"][0]["after"]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args,message", [
    (dict(families=[{"name": "a", "entries": [{"tags": ["x"]}], "dest_dir": "a"},
                    {"name": "b", "entries": [{"tags": ["y"]}, {"tags": ["bad/tag"]}], "dest_dir": "b"}]),
     "families[1] (b): entries[1]: field Tags, value 'bad/tag'"),
    (dict(families=[{"name": "a", "entries": [{"tags": ["x"]}], "dest_dir": "d"},
                    {"name": "b", "entries": [{"tags": ["y"]}], "dest_dir": "d/"}]),
     "families[1] (b): dest_dir d/ is also families[0]'s"),
    (dict(families=[{"name": "a", "entries": [], "dest_dir": "a", "dest": "x"}]), "dest"),
    (dict(families=[{"entries": [], "dest_dir": "a"}]), "name"),
    (dict(families=[{"name": "a", "entries": [], "dest_dir": "a", "family_dir": "/nonexistent"}]),
     "family folder /nonexistent does not exist"),
    (dict(families=[], name="a"), "mutually exclusive"),
    (dict(families=[], dest_dir="a"), "mutually exclusive"),
    (dict(library_file=SAMPLE), "one of the following is required: dest, dest_dir"),
])
def test_bad_families_fail_before_writing(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = run(readme_module, capsys, **args)
    assert result["failed"] is True and message in result["msg"], result["msg"]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args,field,value,message", [
    (dict(dest="x.md", mode="6777"), "mode", "6777", "setuid, setgid and sticky bits are refused"),
    (dict(dest="x.md", mode=0o4644), "mode", "2468 is 4644 in octal", "setuid, setgid and sticky bits are refused"),
    (dict(dest="blocker/x.md"), "dest", "blocker/x.md", "blocker is a file, not a folder"),
    (dict(dest_dir="blocker/docs", architectures=["amd64"]), "dest_dir", "blocker/docs/README.md",
     "blocker is a file, not a folder"),
    (dict(dest="folder"), "dest", "folder", "is a folder, not a file"),
])
def test_bad_targets_fail_naming_file_field_value(tmp_path, capsys, monkeypatch, args, field, value, message):
    """Issue 10: a mode with setuid bits or a target that cannot be a file is a clear error, not a traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a regular file\n")
    (tmp_path / "folder").mkdir()
    result = run(readme_module, capsys, library_file=SAMPLE, **args)
    assert result["failed"] is True and "exception" not in result, result
    assert message in result["msg"] and "field %s" % field in result["msg"], result["msg"]
    assert result["field"] == field and value in result["msg"], result
    assert sorted(os.listdir(tmp_path)) == ["blocker", "folder"] and os.listdir(tmp_path / "folder") == []


def test_batch_with_one_bad_target_writes_nothing(tmp_path, capsys):
    (tmp_path / "blocker").write_text("a regular file\n")
    families = [{"name": "a", "entries": [{"tags": ["x"]}], "dest_dir": str(tmp_path / "a")},
                {"name": "b", "entries": [{"tags": ["y"]}], "dest_dir": str(tmp_path / "blocker" / "b")}]
    result = run(readme_module, capsys, families=families)
    assert result["failed"] is True and result["field"] == "families[1].dest_dir", result
    assert "blocker is a file, not a folder" in result["msg"]
    assert not (tmp_path / "a").exists()


def test_docs_symlink_out_of_the_family_is_refused(tmp_path, capsys):
    family = tmp_path / "fam"
    (family / "docs").mkdir(parents=True)
    (tmp_path / "secret").write_text("SECRET-OUTSIDE-THE-FAMILY")
    (family / "docs" / "content.md").symlink_to(tmp_path / "secret")
    result = run(readme_module, capsys, library_file=SAMPLE, family_dir=str(family), dest=str(tmp_path / "R.md"))
    assert result["failed"] is True and result["field"] == "family_dir", result
    assert "docs/content.md" in result["msg"] and "must be inside the family folder" in result["msg"]
    assert "SECRET" not in json.dumps(result) and not (tmp_path / "R.md").exists()


def test_the_diff_goes_out_in_diff_mode_only(tmp_path, capsys):
    # the runner's one rule (common/module.py): outside diff mode a changed task returns no diff
    result = run(readme_module, capsys, library_file=SAMPLE, architectures=["amd64"], dest_dir=str(tmp_path))
    assert result["changed"] is True and len(result["changed_files"]) == 2 and "diff" not in result
