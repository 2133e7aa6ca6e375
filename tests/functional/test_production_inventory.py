"""inventories/production.example: it parses, has a group per architecture, documents its variables, its
vault decrypts with the documented example password, and its Windows hosts receive python's Windows entries."""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.common import architectures
from ansible_collections.buildfarm.images.plugins.module_utils.build.scheduling import WINDOWS_RELEASES, assign

INVENTORY = "inventories/production.example"
EXAMPLE_VAULT_PASSWORD = "buildfarm-example-only"


def ansible(repo_root, *args):
    env = dict(os.environ, PATH="%s:%s" % (repo_root / ".venv" / "bin", os.environ.get("PATH", "")),
               ANSIBLE_CONFIG=str(repo_root / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    return subprocess.run(list(args), cwd=repo_root, env=env, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def inventory(repo_root):
    result = ansible(repo_root, "ansible-inventory", "-i", INVENTORY, "--list")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def group_hosts(inv, group):
    hosts = list(inv.get(group, {}).get("hosts", []))
    for child in inv.get(group, {}).get("children", []):
        hosts += group_hosts(inv, child)
    return hosts


def test_one_builder_group_per_architecture(inventory):
    expected = ["builders_" + name.replace("-", "_") for name in architectures.ARCHITECTURES]
    assert sorted(inventory["builders"]["children"]) == sorted(expected)
    hostvars = inventory["_meta"]["hostvars"]
    for group in expected:
        hosts = group_hosts(inventory, group)
        assert hosts, group
        arch = group[len("builders_"):].replace("_", "-")
        assert {hostvars[h]["buildfarm_arch"] for h in hosts} == {arch}
    assert group_hosts(inventory, "registry") == ["registry.example.net"]


def test_connection_settings(inventory):
    hostvars = inventory["_meta"]["hostvars"]
    windows = set(group_hosts(inventory, "builders_windows_amd64"))
    for host, hv in hostvars.items():
        if host in windows:
            assert hv["ansible_connection"] == "winrm" and hv["ansible_winrm_scheme"] == "https"
            assert hv["ansible_winrm_server_cert_validation"] == "validate"
            assert hv["ansible_winrm_ca_trust_path"].endswith(".pem")
            assert "ansible_python_interpreter" not in hv and "ansible_become" not in hv
        else:
            assert hv["ansible_connection"] == "ssh" and hv["ansible_become"] is True


def test_one_windows_host_per_release(inventory):
    hostvars = inventory["_meta"]["hostvars"]
    releases = [hostvars[h]["buildfarm_windows_release"] for h in group_hosts(inventory, "builders_windows_amd64")]
    assert sorted(releases) == sorted({r for r in WINDOWS_RELEASES if r != "1809"})  # 1809 is ltsc2019's build


def test_variables_are_prefixed_and_documented(repo_root, inventory):
    readme = (repo_root / INVENTORY / "README.md").read_text()
    names = {n for hv in inventory["_meta"]["hostvars"].values() for n in hv}
    # a commented-out requirement is documented too
    text = "\n".join(p.read_text() for p in (repo_root / INVENTORY).rglob("*.yml"))
    names |= set(re.findall(r"^# (buildfarm_\w+):", text, re.M))
    assert names
    for name in sorted(names):
        assert re.match(r"^(buildfarm_|ansible_|vault_buildfarm_)", name), name
        assert "`%s`" % name in readme, "%s is not documented in %s/README.md" % (name, INVENTORY)


def test_registry_password_is_vaulted(repo_root, inventory):
    hv = inventory["_meta"]["hostvars"]["registry.example.net"]
    assert hv["buildfarm_registry_password"] == "{{ vault_buildfarm_registry_password }}"
    assert "__ansible_vault" in hv["vault_buildfarm_registry_password"]
    vault_file = (repo_root / INVENTORY / "group_vars/all/vault.yml").read_text()
    # only the comment names the example value; no clear-text value sits in any variable
    assert all("example-registry-password" not in line for line in vault_file.splitlines()
               if not line.startswith("#"))


def test_example_vault_decrypts_with_the_documented_password(repo_root, tmp_path):
    readme = (repo_root / INVENTORY / "README.md").read_text()
    assert "`%s`" % EXAMPLE_VAULT_PASSWORD in readme
    password_file = tmp_path / "vault-pass"
    password_file.write_text(EXAMPLE_VAULT_PASSWORD + "\n")
    result = ansible(repo_root, "ansible", "-i", INVENTORY, "localhost", "--vault-password-file", str(password_file),
                     "-m", "ansible.builtin.debug",
                     "-a", "var=hostvars['registry.example.net'].buildfarm_registry_password")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"example-registry-password"' in result.stdout


def _windows_hosts(inventory):
    hostvars = inventory["_meta"]["hostvars"]
    return {h: hostvars[h]["buildfarm_windows_release"] for h in group_hosts(inventory, "builders_windows_amd64")}


def _check_windows_routing(entries, hosts):
    result = assign(entries, list(hosts), "windows-amd64", repo="python", releases=hosts)
    windows = [e for e in entries if "windows-amd64" in e["architectures"]]
    assert windows and not result.unroutable
    for e in windows:
        owners = [h for h, share in result.shares.items() if e in share]
        assert len(owners) == 1, e["directory"]
        release = hosts[owners[0]]
        assert e["constraints"] == ["windowsservercore-" + release], (e["directory"], owners)
        assert e["directory"].endswith("windowsservercore-" + release)
    return result


def test_python_windows_entries_route_to_their_release_hosts(inventory):
    # hand-written from python's library file: the Windows entries of two versions and a Linux one
    entries = [
        {"directory": "3.14/trixie", "tags": ["3.14.6-trixie"], "architectures": ["amd64", "arm64v8"],
         "from": ["buildpack-deps:trixie"], "constraints": []},
    ] + [
        {"directory": "%s/windows/windowsservercore-%s" % (v, r), "tags": ["%s-windowsservercore-%s" % (v, r)],
         "architectures": ["windows-amd64"], "from": ["mcr.microsoft.com/windows/servercore:" + r],
         "constraints": ["windowsservercore-" + r]}
        for v in ("3.14", "3.13") for r in ("ltsc2025", "ltsc2022")
    ]
    result = _check_windows_routing(entries, _windows_hosts(inventory))
    assert [e["directory"] for e in result.shares["win-ltsc2019-01.example.net"]] == []


def test_golden_python_windows_entries_route_to_exactly_one_host(golden, inventory):
    library_manifest = pytest.importorskip(
        "ansible_collections.buildfarm.images.plugins.module_utils.library.library_manifest")
    manifest = library_manifest.load(golden / "2026-06-24" / "library" / "python")
    entries = [e.to_dict() for e in manifest.entries]
    result = _check_windows_routing(entries, _windows_hosts(inventory))
    assert sum(len(s) for s in result.shares.values()) == 6  # 3.15-rc, 3.14, 3.13 x ltsc2025, ltsc2022


def test_planned_python_release_routes_on_production_example(repo_root, golden, inventory):
    """The release plan of families/python (the plan module's own output, FROM lines included), shared out over
    the example's builder groups: every Windows entry goes to its release's host, nothing is unroutable."""
    family = pytest.importorskip("ansible_collections.buildfarm.images.plugins.module_utils.family.definition")
    plan = pytest.importorskip("ansible_collections.buildfarm.images.plugins.module_utils.family.plan")
    planned = plan.plan_family(family.load_family(str(repo_root / "families" / "python")),
                               str(golden / "2026-06-24" / "library"))
    entries = [e.to_dict() for e in planned.entries]
    _check_windows_routing(entries, _windows_hosts(inventory))
    for group in ("builders_amd64", "builders_arm64v8"):
        arch = group[len("builders_"):]
        result = assign(entries, group_hosts(inventory, group), arch, repo=planned.name)
        mine = [e for e in entries if arch in e["architectures"]]
        loads = sorted(len(share) for share in result.shares.values())
        assert not result.unroutable and sum(loads) == len(mine) and loads[-1] - loads[0] <= 1, (group, loads)
