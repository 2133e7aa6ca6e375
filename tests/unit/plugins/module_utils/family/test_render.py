"""Rendering: template context, StrictUndefined, the whole-tree swap and unchanged detection."""
from __future__ import annotations

import json
import os
import pathlib

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.family.family import load_family
from ansible_collections.buildfarm.images.plugins.module_utils.family.render import RenderError, render_family, sync
from ansible_collections.buildfarm.images.tests.support.dockerfile_facts import facts

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "families"


def _tree(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()
            and ".git" not in p.relative_to(root).parts}


def test_render_every_version_and_variant():
    files = render_family(load_family(str(FIXTURES / "tiny")))
    assert len(files) == 16
    assert list(files)[:3] == ["1.9/bookworm/Dockerfile", "1.9/slim-bookworm/Dockerfile", "1.9/alpine3.20/Dockerfile"]
    f = facts(files["2.1-rc/slim-trixie/Dockerfile"])
    assert f == {"from": ["debian:trixie-slim"], "cmd": '["tiny"]', "env": {
        "TINY_VERSION": "2.1.0b1", "TINY_SHA256": "4" * 64, "GREETING": "hello"}}
    assert "2.1-rc 2.1 2.1" in files["2.1-rc/slim-trixie/Dockerfile"]  # key, series, version_info
    win = files["2.0/windows/windowsservercore-ltsc2025/Dockerfile"]
    assert win.startswith("# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2025\n")


def test_sync_writes_then_reports_unchanged(tmp_path):
    family = load_family(str(FIXTURES / "tiny"))
    dest = tmp_path / "out" / "tiny"
    first = sync(family, str(dest))
    assert first.changed and len(first.added) == 16 and not first.modified
    assert _tree(dest) == render_family(family)
    assert oct(os.stat(dest / "2.0" / "trixie" / "Dockerfile").st_mode & 0o777) == "0o644"
    mtime = os.stat(dest).st_mtime_ns
    second = sync(family, str(dest))
    assert not second.changed and not (second.added or second.modified or second.removed)
    assert os.stat(dest).st_mtime_ns == mtime  # nothing was swapped
    assert sorted(os.listdir(tmp_path / "out")) == ["tiny"]  # no temporary folder left behind


def test_check_mode_writes_nothing_and_diff_shows_changes(tiny, tmp_path):
    dest = tmp_path / "render"
    sync(load_family(str(tiny)), str(dest))
    before = _tree(dest)
    data = json.loads((tiny / "versions.json").read_text())
    data["2.0"]["version"] = "2.0.2"
    del data["1.9"]
    (tiny / "versions.json").write_text(json.dumps(data))
    res = sync(load_family(str(tiny)), str(dest), check=True, want_diff=True)
    assert res.changed
    assert len(res.modified) == 8 and res.added == []
    assert res.removed == ["1.9/alpine3.20/Dockerfile", "1.9/bookworm/Dockerfile", "1.9/slim-bookworm/Dockerfile"]
    assert _tree(dest) == before
    d = next(x for x in res.diff if x["after_header"].endswith("2.0/trixie/Dockerfile"))
    assert "TINY_VERSION=2.0.1" in d["before"] and "TINY_VERSION=2.0.2" in d["after"]
    # applied: the removed version's folder goes away with the swap
    sync(load_family(str(tiny)), str(dest))
    assert not (dest / "1.9").exists() and "TINY_VERSION=2.0.2" in (dest / "2.0/trixie/Dockerfile").read_text()


def test_hidden_entries_of_dest_survive_the_swap(tiny, tmp_path):
    dest = tmp_path / "render"
    sync(load_family(str(tiny)), str(dest))
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tiny / "linux.j2").write_text((tiny / "linux.j2").read_text() + "LABEL x=y\n")
    assert sync(load_family(str(tiny)), str(dest)).changed
    assert (dest / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert "LABEL x=y" in (dest / "1.9/bookworm/Dockerfile").read_text()


def test_refuses_to_replace_a_folder_that_is_not_a_render(tmp_path):
    dest = tmp_path / "precious"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    with pytest.raises(RenderError, match="field dest: destination holds something that is not a rendered"):
        sync(load_family(str(FIXTURES / "tiny")), str(dest))
    assert (dest / "notes.txt").read_text() == "keep me"


def test_undefined_variable_names_template_line_and_variable(tiny, tmp_path):
    (tiny / "windows.j2").write_text("# escape=`\nFROM x\nENV A={{ version }}\n"
                                     "ENV B={{ data.checksums.windows.sha256 }}\n")
    dest = tmp_path / "render"
    with pytest.raises(RenderError) as e:
        sync(load_family(str(tiny)), str(dest))
    msg = str(e.value)
    assert "%s:4" % (tiny / "windows.j2") in msg
    assert "2.0/windows/windowsservercore-ltsc2025" in msg and "'windows'" in msg
    assert not dest.exists()


def test_previous_tree_kept_when_render_fails(tiny, tmp_path):
    dest = tmp_path / "render"
    sync(load_family(str(tiny)), str(dest))
    before = _tree(dest)
    (tiny / "linux.j2").write_text("FROM {{ nope }}\n")
    with pytest.raises(RenderError, match="undefined template variable"):
        sync(load_family(str(tiny)), str(dest))
    assert _tree(dest) == before
    assert sorted(os.listdir(tmp_path)) == ["render", "tiny"]


def test_failed_swap_restores_previous_tree_and_hidden_entries(tiny, tmp_path, monkeypatch):
    """The last rename failing (a full disk, which cannot be produced here, so that one rename is made to fail):
    the previous tree and its .git are back in place and no temporary folder is left."""
    dest = tmp_path / "render"
    sync(load_family(str(tiny)), str(dest))
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    before = _tree(dest)
    (tiny / "linux.j2").write_text((tiny / "linux.j2").read_text() + "LABEL changed=1\n")

    real_rename = os.rename

    def failing_rename(src, dst):
        if os.path.basename(str(src)).startswith(".render.render-"):  # the final swap of the new tree
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(OSError, match="No space left"):
        sync(load_family(str(tiny)), str(dest))
    monkeypatch.undo()
    assert _tree(dest) == before
    assert (dest / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert sorted(os.listdir(tmp_path)) == ["render", "tiny"]
