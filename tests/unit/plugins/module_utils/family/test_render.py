"""Rendering: template context, StrictUndefined, the whole-tree swap and unchanged detection."""
from __future__ import annotations

import json
import os
import pathlib

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.family.definition import FamilyError, load_family
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


# A family is data, not code: templates render in Jinja's immutable sandbox and read only the family's own files.
ESCAPES = [
    ("python-internals", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "refused by the sandbox"),
    ("cycler-globals", "{{ cycler.__init__.__globals__.os.popen('id').read() }}", "refused by the sandbox"),
    ("self-module", "{{ self._TemplateReference__context }}", "refused by the sandbox"),
    ("mutate-data", "{{ data.update({'version': 'x'}) }}", "refused by the sandbox"),
    ("huge-string", "{{ 'x' * 100000000 }}", "result too large"),
    ("huge-power", "{{ 10 ** 100000000 }}", "exponent too large"),
    ("python-error", "{{ 1 // 0 }}", "template raised an error"),
    ("include-parent", "{% include '../escape.txt' %}", "template resolves outside the family folder"),
    ("include-absolute", "{% include '/etc/passwd' %}", "template resolves outside the family folder"),
    ("include-missing", "{% include 'nowhere.j2' %}", "included template not found"),
]


@pytest.mark.parametrize("source,problem", [c[1:] for c in ESCAPES], ids=[c[0] for c in ESCAPES])
def test_template_cannot_escape_its_data(tiny, tmp_path, source, problem):
    marker = tmp_path / "escape.txt"
    marker.write_text("outside\n")
    (tiny / "linux.j2").write_text("FROM scratch\n" + source + "\n")
    dest = tmp_path / "render"
    with pytest.raises(RenderError) as e:
        sync(load_family(str(tiny)), str(dest))
    assert problem in str(e.value)
    assert str(tiny / "linux.j2") in str(e.value) or "(template)" in str(e.value)
    assert not dest.exists()


def test_sandbox_error_names_template_line_and_entry(tiny):
    (tiny / "linux.j2").write_text("FROM scratch\nRUN {{ ''.__class__ }}\n")
    with pytest.raises(RenderError) as e:
        render_family(load_family(str(tiny)))
    assert e.value.file == str(tiny / "linux.j2") and e.value.line == 2
    assert e.value.field == "1.9/bookworm" and "__class__" in str(e.value.value)


def test_symlinked_template_outside_the_family_is_refused(tiny, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("root:x:0:0\n")
    (tiny / "linux.j2").unlink()
    (tiny / "linux.j2").symlink_to(secret)
    with pytest.raises(FamilyError) as e:  # family.yml names it: loading refuses it already
        render_family(load_family(str(tiny)))
    assert e.value.value == "linux.j2" and "inside the family folder" in str(e.value)
    assert "root:x" not in str(e.value)


def test_include_through_a_symlink_outside_is_refused(tiny, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("root:x:0:0\n")
    (tiny / "parts").mkdir()
    (tiny / "parts" / "common.j2").symlink_to(secret)
    (tiny / "linux.j2").write_text("FROM scratch\n{% include 'parts/common.j2' %}\n")
    with pytest.raises(RenderError) as e:
        render_family(load_family(str(tiny)))
    assert e.value.value == "parts/common.j2" and e.value.file == str(tiny / "parts" / "common.j2")
    assert "resolves outside the family folder (it resolves to %s)" % secret in str(e.value)


def test_include_and_symlink_inside_the_family_still_work(tiny):
    (tiny / "parts").mkdir()
    (tiny / "parts" / "real.j2").write_text("LABEL part={{ key }}\n")
    (tiny / "parts" / "alias.j2").symlink_to(tiny / "parts" / "real.j2")
    (tiny / "linux.j2").write_text("FROM scratch\n{% include 'parts/alias.j2' %}{{ vars.get('greeting') }}\n")
    files = render_family(load_family(str(tiny)))
    assert files["1.9/bookworm/Dockerfile"] == "FROM scratch\nLABEL part=1.9\nhello\n"


def test_template_that_is_not_utf8_is_named(tiny):
    (tiny / "linux.j2").write_bytes(b"FROM scratch\nLABEL x=\xff\n")
    with pytest.raises(RenderError, match="template is not UTF-8 text") as e:
        render_family(load_family(str(tiny)))
    assert e.value.file == str(tiny / "linux.j2")


def test_dest_below_a_regular_file_is_named(tmp_path):
    (tmp_path / "blocker").write_text("a file\n")
    dest = tmp_path / "blocker" / "render"
    with pytest.raises(RenderError) as e:
        sync(load_family(str(FIXTURES / "tiny")), str(dest), check=True)
    assert e.value.field == "dest" and "%s is a file, not a folder" % (tmp_path / "blocker") in str(e.value)
