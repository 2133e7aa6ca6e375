"""The action plugins' one way of making a task's paths absolute (against the directory ansible-playbook runs in)."""
from __future__ import annotations

from ansible_collections.buildfarm.images.plugins.plugin_utils.paths import absolute_path, absolute_paths


def test_relative_paths_resolve_against_the_current_directory_and_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    args = {"work_dir": ".buildfarm", "artifacts_dir": "~/artifacts", "families_dir": "/abs/families",
            "parents_library": "", "other": "keep/me"}
    out = absolute_paths(args, ("work_dir", "artifacts_dir", "families_dir", "parents_library", "dest"))
    assert out == {"work_dir": str(tmp_path / ".buildfarm"), "artifacts_dir": str(tmp_path / "home/artifacts"),
                   "families_dir": "/abs/families", "parents_library": "", "other": "keep/me"}
    assert "dest" not in out  # an option not given stays not given (the module defaults it)
    assert args["work_dir"] == ".buildfarm"  # the task's own args are not changed
    assert absolute_path("a/../b") == str(tmp_path / "b")
