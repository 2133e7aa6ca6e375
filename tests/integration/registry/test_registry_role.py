"""The `registry` role on this machine (no systemd: the supervised path), on a test port with htpasswd auth and
TLS (a dry run first, the real run with -vvv: no password in the output), then the modules against it, then
`buildfarm_registry_state: stopped`."""
from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess

import pytest
from ansible_collections.buildfarm.images.tests.support.synthetic_images import push_image
from conftest import REPO, _free_port

from ansible_collections.buildfarm.images.tests.support.ports import port_range

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Credentials,
    RegistryClient,
    RegistryError,
)

pytestmark = pytest.mark.integration


def test_role_runs_registry_with_tls_and_auth_idempotent_and_stops(tmp_path, run_playbook):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs here: the role would install a unit; this test covers the supervised path")
    port = _free_port()
    password = "role-%s" % os.urandom(6).hex()
    role_vars = {
        "buildfarm_registry_install": False,
        "buildfarm_registry_port": port,
        "buildfarm_registry_root": str(tmp_path / "data"),
        "buildfarm_registry_config_dir": str(tmp_path / "etc"),
        "buildfarm_registry_log": str(tmp_path / "registry.log"),
        "buildfarm_registry_pidfile": str(tmp_path / "registry.pid"),
        "buildfarm_registry_docker_certs_dir": str(tmp_path / "certs.d"),
        "buildfarm_registry_ca_export": str(tmp_path / "work" / "registry-ca.crt"),
        "buildfarm_registry_tls": True,
        "buildfarm_registry_users": [{"username": "farm", "password": password}],
    }
    role = {"name": "Registry role", "ansible.builtin.include_role": {"name": "registry"}, "vars": role_vars}
    env_extra = {"ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_INJECT_INVOCATION": "1"}
    os.environ.update(env_extra)
    try:
        rc, out = run_playbook([role], check=True)[:2]
        assert rc == 0, out  # a dry run on a fresh host works and writes nothing
        assert not (tmp_path / "etc").exists() and not (tmp_path / "registry.pid").exists()

        # -vvv with invocations injected shows every module's arguments: the password must still be absent.
        rc, out = run_playbook([role], "-vvv")[:2]
        assert rc == 0, out
        assert "module_args" in out and password not in out
        ca = tmp_path / "certs.d" / ("127.0.0.1:%d" % port) / "ca.crt"
        assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
        # the copy on the controller, for the builders and the modules
        assert (tmp_path / "work" / "registry-ca.crt").read_text() == ca.read_text()

        htpasswd = (tmp_path / "etc" / "htpasswd").read_text()
        assert htpasswd.startswith("farm:$2y$")  # bcrypt
        rc, out = run_playbook([role])[:2]
        assert rc == 0 and "changed=0" in out, out
        assert (tmp_path / "etc" / "htpasswd").read_text() == htpasswd  # a new salt would change the hash

        address = "127.0.0.1:%d" % port
        creds = Credentials("farm", password)
        client = RegistryClient(address, creds, ca_cert=str(ca))
        assert client.scheme == "https" and client.ping()
        push_image(client, "amd64/web", "1", content=b"web")
        with pytest.raises(RegistryError, match="not trusted|certificate verify failed"):
            RegistryClient("https://" + address, creds, retries=0).ping()
        publish = {"name": "Publish", "register": "publish", "buildfarm.images.manifest_list": {
            "registry": address, "repository": "web", "username": "farm", "password": password,
            "ca_cert": str(ca), "entries": [{"tags": ["1", "latest"], "architectures": ["amd64"]}],
            # the synthetic image has no attestation: this test is about the registry, not the lists' rules
            "require_attestations": False}}
        rc, out, res = run_playbook([publish])
        assert rc == 0 and res["publish"]["changed"] is True, out

        stop = dict(role, vars=dict(role_vars, buildfarm_registry_state="stopped"))
        rc, out = run_playbook([stop])[:2]
        assert rc == 0, out
        with pytest.raises(RegistryError, match="refused"):
            RegistryClient(address, creds, ca_cert=str(ca), retries=0).ping()
    finally:
        pidfile = tmp_path / "registry.pid"
        if pidfile.exists():  # a failed assertion must not leave the supervisor behind
            subprocess.run(["kill", pidfile.read_text().strip()], check=False)
        for key in env_extra:
            del os.environ[key]


def test_a_broken_htpasswd_file_is_named_with_what_htpasswd_said_never_the_password(tmp_path, run_playbook):
    """`htpasswd -v` runs under no_log (the password is its input): when it fails for another reason than a wrong
    password or a missing user, the role says the return code, htpasswd's message and the file's state, and leaves
    the file alone (issue 26: a molecule run once failed there and its log could not say why)."""
    port = _free_port()
    password = "broken-%s" % os.urandom(6).hex()
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "htpasswd").write_text("not an htpasswd line\n")
    (etc / "htpasswd").chmod(0o640)
    role_vars = {
        "buildfarm_registry_install": False,
        "buildfarm_registry_port": port,
        "buildfarm_registry_root": str(tmp_path / "data"),
        "buildfarm_registry_config_dir": str(etc),
        "buildfarm_registry_log": str(tmp_path / "registry.log"),
        "buildfarm_registry_pidfile": str(tmp_path / "registry.pid"),
        "buildfarm_registry_users": [{"username": "farm", "password": password}],
    }
    role = {"name": "Registry role", "ansible.builtin.include_role": {"name": "registry"}, "vars": role_vars}
    os.environ["ANSIBLE_ROLES_PATH"] = str(REPO / "roles")
    try:
        rc, out = run_playbook([role], "-vvv")[:2]
    finally:
        del os.environ["ANSIBLE_ROLES_PATH"]
    assert rc != 0, out
    assert password not in out
    msg = out[out.index("Say why the htpasswd file cannot be used"):]
    assert "reading its user names gave rc=7 (lines that are not user:hash: 1)" in msg, msg[:2000]
    assert "mode 640, owner root:root" in msg and "1 lines" in msg, msg[:2000]
    assert (etc / "htpasswd").read_text() == "not an htpasswd line\n"  # not overwritten
    assert not (tmp_path / "registry.pid").exists()


def test_two_registries_on_one_host_each_have_their_own_name(tmp_path, run_playbook):
    """Two projects' registries side by side (issue 14): each port gets its own name, so its own pid file and log;
    the second is started although the first runs, and stopping one leaves the other."""
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs here: the role would install units; this test covers the supervised path")
    ports = [_free_port()]
    ports.append(_second_port(ports[0]))
    roles = []
    for port in ports:
        role_vars = {
            "buildfarm_registry_install": False,
            "buildfarm_registry_port": port,
            "buildfarm_registry_root": str(tmp_path / str(port) / "data"),
            "buildfarm_registry_config_dir": str(tmp_path / str(port) / "etc"),
        }
        roles.append({"name": "Registry %d" % port, "ansible.builtin.include_role": {"name": "registry"},
                      "vars": role_vars})
    env_extra = {"ANSIBLE_ROLES_PATH": str(REPO / "roles")}
    os.environ.update(env_extra)
    # configured outside /etc/buildfarm: the folder's hash follows the name (test_registry_role_instances.py)
    instances = ["buildfarm-registry-%d-%s" % (p, hashlib.sha1(str(tmp_path / str(p) / "etc").encode()).hexdigest()[:8])
                 for p in ports]
    pidfiles = [pathlib.Path("/run/%s.pid" % i) for i in instances]
    logs = [pathlib.Path("/var/log/%s.log" % i) for i in instances]
    try:
        for role in roles:
            rc, out = run_playbook([role])[:2]
            assert rc == 0, out
        for port, pidfile in zip(ports, pidfiles):
            assert RegistryClient("127.0.0.1:%d" % port, retries=0).ping()
            assert pidfile.read_text().strip().isdigit()
        assert pidfiles[0].read_text() != pidfiles[1].read_text()
        stop = dict(roles[0], vars=dict(roles[0]["vars"], buildfarm_registry_state="stopped"))
        rc, out = run_playbook([stop])[:2]
        assert rc == 0, out
        assert not pidfiles[0].exists()
        with pytest.raises(RegistryError, match="refused"):
            RegistryClient("127.0.0.1:%d" % ports[0], retries=0).ping()
        assert RegistryClient("127.0.0.1:%d" % ports[1], retries=0).ping()
    finally:
        for pidfile in pidfiles:
            if pidfile.exists():
                subprocess.run(["kill", pidfile.read_text().strip()], check=False)
                pidfile.unlink(missing_ok=True)
        for log in logs:
            log.unlink(missing_ok=True)
        for key in env_extra:
            del os.environ[key]


def _second_port(taken: int) -> int:
    import socket

    for port in range(taken + 1, port_range(5100, 5199)[1] + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no second free port")
