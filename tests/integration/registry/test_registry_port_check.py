"""The `registry` role's port check on this machine (the supervised path): a real stray `docker-registry serve`
of another folder (tests/support/registry.py) on the role's port makes the role fail before it writes or starts
anything, naming the port and the process; with the port free the role starts its registry, and a second run,
where its own registry holds the port, passes the check and changes nothing."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess

import pytest
from conftest import REPO

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import RegistryClient

pytestmark = pytest.mark.integration


def test_a_stray_registry_on_the_port_fails_the_role_early_and_its_own_does_not(tmp_path, registry, run_playbook):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs here: the role would install a unit; this test covers the supervised path")
    port = int(registry.address.rsplit(":", 1)[1])
    role_vars = {
        "buildfarm_registry_install": False,
        "buildfarm_registry_port": port,
        "buildfarm_registry_root": str(tmp_path / "data"),
        "buildfarm_registry_config_dir": str(tmp_path / "etc"),
        "buildfarm_registry_log": str(tmp_path / "registry.log"),
        "buildfarm_registry_pidfile": str(tmp_path / "registry.pid"),
    }
    role = {"name": "Registry role", "ansible.builtin.include_role": {"name": "registry"}, "vars": role_vars}
    os.environ["ANSIBLE_ROLES_PATH"] = str(REPO / "roles")
    pidfile = pathlib.Path(role_vars["buildfarm_registry_pidfile"])
    try:
        for check in (True, False):  # a dry run says so too
            rc, out = run_playbook([role], check=check)[:2]
            assert rc != 0, out
            flat = " ".join(out.split())
            expected = (r"buildfarm_registry_port: port %d \(127\.0\.0\.1:%d\) is already in use by pid (\d+) "
                        r"\((\S*docker-registry serve \S+)\) on 127\.0\.0\.1, not by this registry "
                        r"\(buildfarm-registry-%d, serving %s/config\.yml\)"
                        % (port, port, port, re.escape(str(tmp_path / "etc"))))
            match = re.search(expected, flat)
            assert match, flat
            # the stray's own configuration, in its own folder
            assert str(registry.folder) in match.group(2)
            assert pathlib.Path("/proc/%s" % match.group(1)).exists()
            # failed before writing or starting anything
            assert not (tmp_path / "etc").exists() and not pidfile.exists()
        registry.stop()

        rc, out = run_playbook([role])[:2]
        assert rc == 0, out
        assert RegistryClient("127.0.0.1:%d" % port, retries=0).ping()
        rc, out = run_playbook([role])[:2]
        assert rc == 0 and "changed=0" in out, out

        stop = dict(role, vars=dict(role_vars, buildfarm_registry_state="stopped"))
        rc, out = run_playbook([stop])[:2]
        assert rc == 0, out
    finally:
        if pidfile.exists():
            subprocess.run(["kill", pidfile.read_text().strip()], check=False)
        del os.environ["ANSIBLE_ROLES_PATH"]
