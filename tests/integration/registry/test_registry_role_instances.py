"""Two registries of one name on one host (issue 26): two checkouts' SSH farm tests each take the first free port
of 5500-5599 on their own bridge address, so both registries were `buildfarm-registry-5500` and shared
/run/buildfarm-registry-5500.pid: the second run took the first's supervisor for a stale one and wrote over its pid
file, a rerun of the first started a second supervisor, and a clean-up killed the other checkout's registry.
Here two registries on one port number at two loopback addresses, each with its configuration folder of its own
and the role's default pid file and log: each keeps its own, a rerun of either changes nothing, stopping one leaves
the other running."""
from __future__ import annotations

import hashlib
import os
import pathlib
import socket
import subprocess
import time

import pytest
from conftest import REPO, _free_port

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    RegistryClient,
    RegistryError,
)

pytestmark = pytest.mark.integration

ADDRESSES = ("127.0.0.1", "127.0.0.2")


def _port_free_on_both() -> int:
    for _attempt in range(20):
        port = _free_port()
        try:
            with socket.socket() as s:
                s.bind((ADDRESSES[1], port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on both %s" % " and ".join(ADDRESSES))


def instance_files(name: str, config_dir: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """The pid file and log the role's defaults give a registry configured in ``config_dir`` (not the standard
    folder): the name and the folder's SHA-1, 8 hex digits."""
    instance = "%s-%s" % (name, hashlib.sha1(str(config_dir).encode()).hexdigest()[:8])
    return pathlib.Path("/run/%s.pid" % instance), pathlib.Path("/var/log/%s.log" % instance)


def _supervisor_runs(pidfile: pathlib.Path, config_dir: pathlib.Path) -> bool:
    try:
        cmdline = pathlib.Path("/proc/%s/cmdline" % pidfile.read_text().strip()).read_bytes()
    except (OSError, ValueError):
        return False
    return str(config_dir / "supervise.sh").encode() in cmdline


def test_two_registries_of_one_name_keep_their_own_pid_file_and_log(tmp_path, run_playbook):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs here: the role would install units; this test covers the supervised path")
    port = _port_free_on_both()
    name = "buildfarm-registry-%d" % port
    roles, files = [], []
    for n, address in enumerate(ADDRESSES):
        etc = tmp_path / ("checkout%d" % n) / "etc"
        roles.append({"name": "Registry on %s" % address, "ansible.builtin.include_role": {"name": "registry"},
                      "vars": {"buildfarm_registry_install": False, "buildfarm_registry_host": address,
                               "buildfarm_registry_port": port,
                               "buildfarm_registry_root": str(etc.parent / "data"),
                               "buildfarm_registry_config_dir": str(etc)}})
        files.append((etc,) + instance_files(name, etc))
    os.environ["ANSIBLE_ROLES_PATH"] = str(REPO / "roles")
    try:
        for role in roles:
            rc, out = run_playbook([role])[:2]
            assert rc == 0, out
        assert files[0][1] != files[1][1] and files[0][2] != files[1][2]
        assert not pathlib.Path("/run/%s.pid" % name).exists()  # the shared file of before
        for (etc, pidfile, log), address in zip(files, ADDRESSES):
            assert _supervisor_runs(pidfile, etc), pidfile
            assert RegistryClient("%s:%d" % (address, port), retries=0).ping()
            assert log.exists()
        # a rerun finds its own supervisor (it does not start a second one)
        for role in roles:
            rc, out = run_playbook([role])[:2]
            assert rc == 0 and "changed=0" in out, out
        stop = dict(roles[0], vars=dict(roles[0]["vars"], buildfarm_registry_state="stopped"))
        rc, out = run_playbook([stop])[:2]
        assert rc == 0, out
        assert not files[0][1].exists()
        with pytest.raises(RegistryError, match="refused"):
            RegistryClient("%s:%d" % (ADDRESSES[0], port), retries=0).ping()
        assert _supervisor_runs(files[1][1], files[1][0])
        assert RegistryClient("%s:%d" % (ADDRESSES[1], port), retries=0).ping()
    finally:
        del os.environ["ANSIBLE_ROLES_PATH"]
        for etc, pidfile, log in files:
            if _supervisor_runs(pidfile, etc):
                subprocess.run(["kill", pidfile.read_text().strip()], check=False)
            for f in (pidfile, log, pathlib.Path(str(pidfile) + ".child")):
                f.unlink(missing_ok=True)


def _supervisors(config_dir: pathlib.Path) -> list[str]:
    """Pids of the processes running ``config_dir``'s supervise.sh."""
    script = str(config_dir / "supervise.sh").encode()
    out = []
    for proc in pathlib.Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and script in (proc / "cmdline").read_bytes():
                out.append(proc.name)
        except OSError:
            continue
    return out


def test_a_supervisor_of_the_earlier_pid_file_is_replaced_not_doubled(tmp_path, run_playbook):
    """A registry configured outside /etc/buildfarm (the local default's) started by an earlier version has its pid
    file at /run/<name>.pid; the role now looks for /run/<name>-<hash>.pid: it stops the old supervisor (only one
    running this registry's script) and starts one under the new file, not a second beside it."""
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs here: the role would install units; this test covers the supervised path")
    port = _free_port()
    name = "buildfarm-registry-%d" % port
    etc = tmp_path / "etc"
    legacy = pathlib.Path("/run/%s.pid" % name)
    pidfile, log = instance_files(name, etc)
    role_vars = {"buildfarm_registry_install": False, "buildfarm_registry_port": port,
                 "buildfarm_registry_root": str(tmp_path / "data"), "buildfarm_registry_config_dir": str(etc)}
    role = {"name": "Registry", "ansible.builtin.include_role": {"name": "registry"}, "vars": role_vars}
    earlier = dict(role, vars=dict(role_vars, buildfarm_registry_pidfile=str(legacy),
                                   buildfarm_registry_log=str(tmp_path / "earlier.log")))
    os.environ["ANSIBLE_ROLES_PATH"] = str(REPO / "roles")
    try:
        rc, out = run_playbook([earlier])[:2]
        assert rc == 0, out
        assert _supervisor_runs(legacy, etc)
        rc, out = run_playbook([role])[:2]
        assert rc == 0, out
        assert not legacy.exists()
        assert _supervisor_runs(pidfile, etc)
        assert _supervisors(etc) == [pidfile.read_text().strip()]
        assert RegistryClient("127.0.0.1:%d" % port, retries=0).ping()
        # TERM stops the supervisor and its registry and removes both its files (no pid files pile up in /run)
        child = pathlib.Path(str(pidfile) + ".child")
        assert child.exists()
        subprocess.run(["kill", pidfile.read_text().strip()], check=True)
        for _attempt in range(100):
            if not pidfile.exists() and not child.exists():
                break
            time.sleep(0.1)
        assert not pidfile.exists() and not child.exists()
    finally:
        del os.environ["ANSIBLE_ROLES_PATH"]
        for pid in _supervisors(etc):
            subprocess.run(["kill", pid], check=False)
        for f in (legacy, pidfile, log, pathlib.Path(str(pidfile) + ".child")):
            f.unlink(missing_ok=True)
