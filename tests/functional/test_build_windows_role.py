"""Role build_windows and the Windows play of release.yml, tested without a Windows host (none runs here).

What runs: `ansible-playbook --syntax-check` of release.yml with the production example inventory; the role's
argument spec against bad variables, on localhost, failing before the first task; the windows_share action
plugin through ansible-playbook (it runs on the controller). The PowerShell scripts never run here.
"""
from __future__ import annotations

import pytest
import yaml

from ansible_collections.buildfarm.images.tests.support.playbook import run_ansible


def test_release_syntax_check_with_the_production_example():
    result = run_ansible(["ansible-playbook", "-i", "inventories/production.example", "--syntax-check",
                          "playbooks/release.yml"])
    assert result.returncode == 0, result.stdout + result.stderr
    listed = run_ansible(["ansible-playbook", "-i", "inventories/production.example", "--list-hosts",
                          "--tags", "build", "playbooks/release.yml"])
    assert listed.returncode == 0, listed.stdout + listed.stderr
    # the Windows build play runs on exactly the Windows builders, one per release
    play = listed.stdout.split("Build, test and push each Windows builder's share")[1].split("play #")[0]
    hosts = [line.strip() for line in play.split("hosts (")[1].splitlines()[1:] if line.strip()]
    assert sorted(hosts) == ["win-ltsc2019-01.example.net", "win-ltsc2022-01.example.net",
                             "win-ltsc2025-01.example.net"]


LOCAL_PLAY = [{
    "name": "Apply the role to localhost (it must fail before reaching the host)",
    "hosts": "localhost",
    "connection": "local",
    "gather_facts": False,
    "tasks": [{"name": "Run the role", "ansible.builtin.include_role": {"name": "buildfarm.images.build_windows"}}],
}]


@pytest.mark.parametrize("overrides, message", [
    ({}, "missing required arguments: buildfarm_windows_release"),
    ({"buildfarm_windows_release": "ltsc2023"},
     "value of buildfarm_windows_release must be one of: ltsc2025, ltsc2022, ltsc2019, 1809, got: ltsc2023"),
    ({"buildfarm_windows_release": "ltsc2022", "buildfarm_build_windows_isolation": "vm"},
     "value of buildfarm_build_windows_isolation must be one of: , process, hyperv, got: vm"),
    ({"buildfarm_windows_release": "ltsc2022", "buildfarm_build_push_retries": "often"},
     "argument 'buildfarm_build_push_retries' is of type str and we were unable to convert to int"),
])
def test_bad_variables_fail_clearly_before_touching_the_host(overrides, message):
    result = run_ansible(["ansible-playbook", "-i", "localhost,"], play=LOCAL_PLAY, extra_vars=overrides)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert message in " ".join(out.split()), out
    assert "Compute this builder's share" not in out


def test_windows_share_runs_on_the_controller(tmp_path):
    render = tmp_path / "render" / "3.14" / "windowsservercore-ltsc2022"
    render.mkdir(parents=True)
    (render / "Dockerfile").write_text("FROM mcr.microsoft.com/windows/servercore:ltsc2022\n")
    entry = {"tags": ["3.14-windowsservercore-ltsc2022"], "architectures": ["windows-amd64"],
             "directory": "3.14/windowsservercore-ltsc2022", "constraints": ["windowsservercore-ltsc2022"],
             "from": ["mcr.microsoft.com/windows/servercore:ltsc2022"], "version": "3.14.1"}
    release = [{"name": "python", "repository": "python", "entries": [entry],
                "render_dir": str(tmp_path / "render"), "tests_file": ""}]

    def share(host, releases):
        play = [{"name": "Share", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [{
            "name": "Compute the share",
            "buildfarm.images.windows_share": {"release": release, "families": ["python"], "host": host,
                                               "releases": releases, "registry": "r.example.net",
                                               "context_dir": "C:\\b"},
            "register": "share"}, {"name": "Show", "ansible.builtin.debug": {"var": "share.jobs"}}]}]
        return run_ansible(["ansible-playbook", "-i", "localhost,"], play=play)

    ok = share("win2022", {"win2022": "ltsc2022", "win2025": "ltsc2025"})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "r.example.net/winamd64/python:3.14-windowsservercore-ltsc2022" in ok.stdout
    assert "changed=0" in ok.stdout
    bad = share("win2022", {"win2022": "ltsc2022", "win2025": None})
    assert bad.returncode != 0
    assert "windows_share (win2022): SchedulingError: Windows builder win2025 has no buildfarm_windows_release" \
        in bad.stdout


def test_every_default_is_in_the_argument_spec(repo_root):
    defaults = yaml.safe_load((repo_root / "roles/build_windows/defaults/main.yml").read_text())
    spec = yaml.safe_load((repo_root / "roles/build_windows/meta/argument_specs.yml").read_text())
    assert set(defaults) <= set(spec["argument_specs"]["main"]["options"])
