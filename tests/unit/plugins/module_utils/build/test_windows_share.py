"""windows_share (action plugin): a Windows builder's share and its build jobs, prepared on the controller.

No Windows host runs here: these tests cover everything the controller computes (routing by release, build
order, tags, input digests, smoke-test commands, unroutable entries); the PowerShell scripts that consume the
jobs on the host are checked only for syntax and lint (see roles/build_windows/README.md).
"""
from __future__ import annotations

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.build.windows_share import windows_share
from ansible_collections.buildfarm.images.plugins.module_utils.build.scheduling import SchedulingError
from ansible_collections.buildfarm.images.plugins.module_utils.release.model import BundleFamily

HOSTS = {"win2022": "ltsc2022", "win2025": "ltsc2025"}
TESTS = {
    "linux": [{"name": "version", "command": ["python", "--version"]}],
    "windows": [
        {"name": "version", "command": "python --version", "stdout": "^Python ${version}\\b"},
        {"name": "cmd", "exit_code": 0},
    ],
}


def _entry(version, variant, arches, constraints=(), from_=("mcr.microsoft.com/windows/servercore:ltsc2022",)):
    return {"tags": ["%s-%s" % (version, variant)], "shared_tags": ["%s" % version] if "ltsc" in variant else [],
            "architectures": list(arches), "directory": "%s/%s" % (version, variant),
            "constraints": list(constraints), "from": list(from_), "version": version + ".1", "file": "Dockerfile"}


@pytest.fixture
def release(tmp_path):
    """The release's one family as release.json holds it (BundleFamily), rendered under tmp_path/render."""
    entries = [
        _entry("3.14", "bookworm", ["amd64", "arm64v8"], from_=("debian:bookworm",)),
        _entry("3.14", "windowsservercore-ltsc2025", ["windows-amd64"], ["windowsservercore-ltsc2025"],
               ("mcr.microsoft.com/windows/servercore:ltsc2025",)),
        _entry("3.14", "windowsservercore-ltsc2022", ["windows-amd64"], ["windowsservercore-ltsc2022"]),
        _entry("3.13", "windowsservercore-ltsc2022", ["windows-amd64"], ["windowsservercore-ltsc2022"]),
        _entry("3.13", "windowsservercore-1809", ["windows-amd64"], ["windowsservercore-1809"]),
    ]
    render = tmp_path / "render"
    for e in entries:
        d = render / e["directory"]
        d.mkdir(parents=True)
        (d / "Dockerfile").write_text("FROM %s\nRUN echo %s\n" % (e["from"][0], e["directory"]))
    family = BundleFamily.from_dict({
        "name": "python", "kind": "family", "repository": "library/python", "entries": entries, "tests": TESTS,
        "source": "https://example.net/python.git", "revision": "abc", "created": "2026-01-01T00:00:00Z"},
        "release.json (python)")
    return [family], {"python": str(render)}


def _share(release, host="win2022", **kw):
    families, render_dirs = release
    return windows_share(families, render_dirs, ["python"], host, HOSTS, "registry.example.net", "C:\\builds", **kw)


def test_a_host_gets_the_entries_of_its_release_in_plan_order(release):
    jobs = _share(release)["jobs"]
    assert [j["key"] for j in jobs] == ["python:3.14-windowsservercore-ltsc2022",
                                        "python:3.13-windowsservercore-ltsc2022"]
    assert [j["key"] for j in _share(release, "win2025")["jobs"]] == ["python:3.14-windowsservercore-ltsc2025"]


def test_entries_without_a_host_of_their_release_are_unroutable_with_the_reason(release):
    result = _share(release)
    assert [(u["key"], u["arch"]) for u in result["unroutable"]] == [
        ("python:3.13-windowsservercore-1809", "windows-amd64")]
    assert "windowsservercore-1809" in result["unroutable"][0]["reason"]
    # every host reports the same unroutable entries; Linux entries are never in a Windows share
    assert _share(release, "win2025")["unroutable"] == result["unroutable"]


def test_a_job_has_full_tags_labels_context_and_the_windows_tests(release):
    job = _share(release)["jobs"][0]
    assert job["tags"] == ["registry.example.net/winamd64/python:3.14-windowsservercore-ltsc2022",
                           "registry.example.net/winamd64/python:3.14"]
    assert job["context"] == "C:\\builds\\python\\3.14\\windowsservercore-ltsc2022"
    assert job["labels"]["org.opencontainers.image.version"] == "3.14.1"
    assert job["labels"]["org.opencontainers.image.revision"] == "abc"
    assert job["from"] == ["mcr.microsoft.com/windows/servercore:ltsc2022"]
    # string commands run through PowerShell; ${version} is the entry's version; no command: the image's CMD
    assert job["tests"][0]["command"] == ["powershell", "-Command", "python --version"]
    assert job["tests"][0]["stdout"] == "^Python 3.14.1\\b"
    assert job["tests"][1]["command"] is None
    assert job["input_digest"].startswith("sha256:")


def test_the_namespace_can_be_overridden(release):
    assert _share(release, namespace="win")["jobs"][0]["tags"][0].startswith("registry.example.net/win/python:")


def test_the_input_digest_follows_the_context_and_build_args_only(release, tmp_path):
    before = _share(release)["jobs"][0]["input_digest"]
    assert _share(release)["jobs"][0]["input_digest"] == before
    assert _share(release, build_args={"X": "1"})["jobs"][0]["input_digest"] != before
    (tmp_path / "render/3.14/windowsservercore-ltsc2022/extra.ps1").write_text("Write-Host hi\n")
    changed = _share(release)["jobs"]
    assert changed[0]["input_digest"] != before
    # the other entry's context did not change
    assert changed[1]["input_digest"] == _share(release)["jobs"][1]["input_digest"]


def test_families_not_built_here_are_left_out(release):
    result = windows_share(*release, ["busybox"], "win2022", HOSTS, "r", "C:\\b")
    assert result == {"jobs": [], "unroutable": [], "families": [], "label": "io.buildfarm.input-digest"}


def test_bad_input_fails_clearly(release):
    with pytest.raises(SchedulingError, match="host win2019 is not among the Windows builders"):
        _share(release, "win2019")
    with pytest.raises(SchedulingError, match="amd64 is not a Windows architecture"):
        _share(release, arch="amd64")
    with pytest.raises(SchedulingError, match="win2025 has no buildfarm_windows_release"):
        windows_share(*release, ["python"], "win2022", {"win2022": "ltsc2022", "win2025": ""}, "r", "C:\\b")
