"""playbooks/docs.yml through ansible-playbook, on the golden library files of 2020-12-03 (format 2019) and of
2026-08-21 (format 2024, the default)."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def playbook(*extra: str) -> subprocess.CompletedProcess:
    # the environment `make unit` gives (Makefile exports)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_NOCOLOR="1",
               PATH="%s:%s" % (REPO / ".venv/bin", os.environ.get("PATH", "")))
    cmd = ["ansible-playbook", str(REPO / "playbooks/docs.yml")]
    for e in extra:
        cmd += ["-e", e]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def recap_changed(out: str) -> int:
    m = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", out)
    assert m, out
    return int(m.group(1))


def tags_section(text: str) -> str:
    return text[text.index("# Supported tags"):text.index("# Quick reference (cont.)")]


@pytest.mark.parametrize("arch,expected", [
    ("amd64", "spec/amd64-python-README.md"),
    ("", "golden/2020-12-03/generic-python-README.md"),
])
def test_docs_playbook_reproduces_tags_sections(shared_dir, tmp_path, arch, expected):
    out = tmp_path / "README.md"
    args = ["buildfarm_library_file=%s" % (shared_dir / "golden/2020-12-03/library/python"),
            "buildfarm_docs_out=%s" % out, "buildfarm_docs_format=2019"]
    if arch:
        args.append("buildfarm_docs_arch=%s" % arch)
    first = playbook(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap_changed(first.stdout) == 1
    assert tags_section(out.read_text()) == tags_section((shared_dir / expected).read_text())
    second = playbook(*args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap_changed(second.stdout) == 0


def test_docs_playbook_writes_todays_format_by_default(shared_dir, tmp_path):
    out = tmp_path / "README.md"
    result = playbook("buildfarm_library_file=%s" % (shared_dir / "golden/2026-08-21/library/hello-world"),
                      "buildfarm_docs_out=%s" % out)
    assert result.returncode == 0, result.stdout + result.stderr
    published = (shared_dir / "golden/2026-08-21/readme/hello-world.md").read_text()
    assert tags_section(out.read_text()) == tags_section(published)


def test_docs_playbook_rejects_an_unknown_format(tmp_path):
    result = playbook("buildfarm_library_file=%s" % (REPO / "tests/unit/fixtures/library/sample"),
                      "buildfarm_docs_out=%s" % (tmp_path / "README.md"), "buildfarm_docs_format=2023")
    assert result.returncode != 0
    assert "value of format must be one of: 2024, 2019, got: 2023" in result.stdout
    assert not (tmp_path / "README.md").exists()


def test_docs_playbook_needs_its_variables(tmp_path):
    result = playbook("buildfarm_docs_out=%s" % (tmp_path / "README.md"))
    assert result.returncode != 0
    assert "docs.yml needs -e buildfarm_library_file=FILE and -e buildfarm_docs_out=FILE" in result.stdout
    assert "buildfarm_library_file=(missing)" in result.stdout
    assert not (tmp_path / "README.md").exists()


def test_docs_playbook_reports_a_bad_library_file(tmp_path):
    bad = tmp_path / "python"
    bad.write_text("Maintainers: A <a@x> (@a)\n\nTags: 3.9, 3.9\n")
    result = playbook("buildfarm_library_file=%s" % bad, "buildfarm_docs_out=%s" % (tmp_path / "README.md"))
    assert result.returncode != 0
    assert "%s:3: field Tags, value '3.9': tag listed twice in this entry" % bad in result.stdout
    assert not (tmp_path / "README.md").exists()
