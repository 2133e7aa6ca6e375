"""Role builder_windows, tested without a Windows host (none runs here; see the role's README).

What runs: `ansible-playbook --syntax-check` of a playbook using the role; the role's argument spec and its
settings checks against bad variables on localhost, which fail before the first task that would reach a host;
the spec accepting good variables; and the release check module the role calls (it runs on the controller).
"""
from __future__ import annotations

import json

import pytest
import yaml

from ansible_collections.buildfarm.images.tests.support.playbook import run_ansible

GOOD_SHA = "a" * 64
GOOD = {"buildfarm_windows_release": "ltsc2022", "buildfarm_windows_docker_sha256": GOOD_SHA}
SECRET = "s3cret-never-logged"

ROLE_PLAY = [{
    "name": "Provision Windows builders",
    "hosts": "builders_windows_amd64",
    "gather_facts": False,
    "roles": [{"role": "buildfarm.images.builder_windows"}],
}]


def test_syntax_check_with_the_production_example():
    result = run_ansible(["ansible-playbook", "-i", "inventories/production.example", "--syntax-check"],
                         play=ROLE_PLAY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "playbook:" in result.stdout


def test_syntax_check_catches_a_broken_role_reference():
    # the check above is meaningful: a play naming a role that does not resolve fails it
    play = [dict(ROLE_PLAY[0], roles=[{"role": "buildfarm.images.builder_windowz"}])]
    result = run_ansible(["ansible-playbook", "-i", "localhost,", "--syntax-check"], play=play)
    assert result.returncode != 0
    assert "builder_windowz" in result.stdout + result.stderr


LOCAL_PLAY = [{
    "name": "Apply the role to localhost (it must fail before reaching the host)",
    "hosts": "localhost",
    "connection": "local",
    "gather_facts": False,
    "tasks": [{"name": "Run the role", "ansible.builtin.include_role": {"name": "buildfarm.images.builder_windows"}}],
}]


@pytest.mark.parametrize("overrides, message", [
    ({"buildfarm_windows_release": None},
     "missing required arguments: buildfarm_windows_release"),
    ({"buildfarm_windows_docker_sha256": None},
     "missing required arguments: buildfarm_windows_docker_sha256"),
    ({"buildfarm_windows_release": "ltsc2023"},
     "value of buildfarm_windows_release must be one of: ltsc2025, ltsc2022, ltsc2019, 1809, got: ltsc2023"),
    ({"buildfarm_windows_docker_tls_port": "twenty"},
     "argument 'buildfarm_windows_docker_tls_port' is of type str and we were unable to convert to int"),
    ({"buildfarm_windows_reboot": "perhaps"},
     "argument 'buildfarm_windows_reboot' is of type str and we were unable to convert to bool"),
    ({"buildfarm_windows_docker_daemon_options": "debug"},
     "argument 'buildfarm_windows_docker_daemon_options' is of type str and we were unable to convert to dict"),
    ({"buildfarm_windows_docker_registry_mirrors": {"url": "https://mirror.example.net"}},
     "argument 'buildfarm_windows_docker_registry_mirrors' is of type dict and we were unable to convert to list"),
    # the settings checks that follow the argument spec, still on the controller
    ({"buildfarm_windows_docker_sha256": "d41d8cd98f00b204e9800998ecf8427e"},
     "buildfarm_windows_docker_sha256 must be the 64 hex digits of the zip's sha256, "
     "got d41d8cd98f00b204e9800998ecf8427e"),
    ({"buildfarm_windows_docker_tls": True, "buildfarm_windows_docker_tls_ca": "/etc/pki/ca.pem"},
     "buildfarm_windows_docker_tls is true, so buildfarm_windows_docker_tls_ca, _tls_cert and _tls_key must all "
     "be set"),
    ({"buildfarm_windows_prune_time": "3am"}, "buildfarm_windows_prune_time must be HH:MM, got 3am"),
    ({"buildfarm_registry": "registry.example.net", "buildfarm_registry_password": SECRET},
     "buildfarm_registry is registry.example.net, so buildfarm_registry_username and buildfarm_registry_password "
     "must be set"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_bad_variables_fail_clearly_before_touching_the_host(overrides, message):
    extra = {k: v for k, v in dict(GOOD, **overrides).items() if v is not None}
    result = run_ansible(["ansible-playbook", "-i", "localhost,"], play=LOCAL_PLAY, extra_vars=extra)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert message in " ".join(out.split()), out
    # nothing reached the host: the first task that would (reading its Windows version) never started
    assert "Read the host's Windows version" not in out
    assert "failed=1" in out
    assert SECRET not in out


def test_good_variables_pass_the_argument_spec(repo_root):
    spec = yaml.safe_load((repo_root / "roles/builder_windows/meta/argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    play = [{
        "name": "Validate good variables against the role's argument spec",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [{
            "name": "Validate",
            "ansible.builtin.validate_argument_spec": {"argument_spec": options},
        }],
    }]
    # the spec's documented default of the URL refers to the version
    extra = dict(GOOD, buildfarm_windows_docker_version="27.5.1", buildfarm_windows_docker_tls=True,
                 buildfarm_windows_docker_tls_port=2376,
                 buildfarm_windows_docker_registry_mirrors=["https://mirror.example.net"],
                 buildfarm_registry="registry.example.net", buildfarm_registry_username="buildfarm",
                 buildfarm_registry_password=SECRET)
    result = run_ansible(["ansible-playbook", "-i", "localhost,"], play=play, extra_vars=extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok=1" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_every_default_is_in_the_argument_spec(repo_root):
    defaults = yaml.safe_load((repo_root / "roles/builder_windows/defaults/main.yml").read_text())
    spec = yaml.safe_load((repo_root / "roles/builder_windows/meta/argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert set(defaults) <= set(options)
    for name, value in defaults.items():
        assert options[name].get("default") == value, name
    readme = (repo_root / "roles/builder_windows/README.md").read_text()
    assert [name for name in options if name not in readme] == []


@pytest.mark.parametrize("release, build, expected", [
    ("ltsc2022", "10.0.20348.0", ["windowsservercore-ltsc2022", "nanoserver-ltsc2022"]),
    ("ltsc2025", "10.0.26100.1742", ["windowsservercore-ltsc2025", "nanoserver-ltsc2025"]),
    ("ltsc2022", "10.0.26100.0", "buildfarm_windows_release is 'ltsc2022' (build 20348) but the host runs "
                                 "Windows build 26100: set buildfarm_windows_release to ltsc2025"),
    ("ltsc2019", "10.0.20348.0", "set buildfarm_windows_release to ltsc2022"),
])
def test_release_check_module(release, build, expected):
    result = run_ansible(["ansible", "-i", "localhost,", "-c", "local", "localhost",
                          "-m", "buildfarm.images.windows_release_check",
                          "-a", "release=%s build=%s" % (release, build)])
    out = result.stdout + result.stderr
    if isinstance(expected, list):
        assert result.returncode == 0, out
        data = json.loads(result.stdout.split("=>", 1)[1])
        assert data["constraints"] == expected and data["release"] == release and data["changed"] is False
    else:
        assert result.returncode != 0
        assert json.loads(result.stdout.split("=>", 1)[1])["msg"].startswith("localhost: buildfarm_windows_release is")
        assert expected in out


def render_role_vars(repo_root, names, extra):
    """The role's derived variables (vars/main.yml over defaults/main.yml) as Ansible templates them."""
    role = repo_root / "roles" / "builder_windows"
    play = [{
        "name": "Render the role's derived variables",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [
            {"name": "Load the defaults", "ansible.builtin.include_vars": str(role / "defaults" / "main.yml")},
            {"name": "Load the derived variables", "ansible.builtin.include_vars": str(role / "vars" / "main.yml")},
            {"name": "Show them", "ansible.builtin.debug": {
                "msg": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (n, n) for n in names)}},
        ],
    }]
    result = run_ansible(["ansible-playbook", "-i", "localhost,"], play=play, extra_vars=extra)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = result.stdout[result.stdout.index("ok: [localhost] => ") + len("ok: [localhost] => "):]
    return json.loads(json.JSONDecoder().raw_decode(shown)[0]["msg"])


TLS = {"buildfarm_windows_docker_tls": True, "buildfarm_windows_docker_tls_port": 2376,
       "buildfarm_windows_docker_tls_ca": "/pki/ca.pem", "buildfarm_windows_docker_tls_cert": "/pki/cert.pem",
       "buildfarm_windows_docker_tls_key": "/pki/key.pem"}


@pytest.mark.parametrize("overrides, daemon_json", [
    # the engine API only on the local named pipe unless TLS is configured
    ({}, {"hosts": ["npipe://"]}),
    (TLS, {"hosts": ["npipe://", "tcp://0.0.0.0:2376"], "tlsverify": True,
           "tlscacert": "C:\\ProgramData\\docker\\tls\\ca.pem",
           "tlscert": "C:\\ProgramData\\docker\\tls\\server-cert.pem",
           "tlskey": "C:\\ProgramData\\docker\\tls\\server-key.pem"}),
    ({"buildfarm_windows_docker_data_root": "D:\\docker",
      "buildfarm_windows_docker_registry_mirrors": ["https://mirror.example.net"],
      "buildfarm_windows_docker_insecure_registries": ["lab-registry:5000"],
      "buildfarm_windows_docker_daemon_options": {"debug": True, "hosts": ["npipe:////./pipe/docker_engine"]}},
     {"hosts": ["npipe:////./pipe/docker_engine"], "data-root": "D:\\docker",
      "registry-mirrors": ["https://mirror.example.net"], "insecure-registries": ["lab-registry:5000"],
      "debug": True}),
])
def test_daemon_json(repo_root, overrides, daemon_json):
    out = render_role_vars(repo_root, ["buildfarm_windows_daemon_json"], dict(GOOD, **overrides))
    assert out["buildfarm_windows_daemon_json"] == daemon_json


@pytest.mark.parametrize("registry, key", [
    ("registry.example.net", "registry.example.net"),
    ("registry.example.net:5000", "registry.example.net:5000"),
    ("docker.io", "https://index.docker.io/v1/"),
])
def test_login_compares_credentials_under_dockers_key(repo_root, registry, key):
    out = render_role_vars(repo_root, ["buildfarm_windows_registry_key", "buildfarm_windows_docker_staging"],
                           dict(GOOD, buildfarm_registry=registry))
    assert out["buildfarm_windows_registry_key"] == key
    # a new pin (version or checksum) unpacks into its own folder
    staging = "C:\\ProgramData\\buildfarm\\downloads\\docker-27.5.1-aaaaaaaaaaaa"
    assert out["buildfarm_windows_docker_staging"] == staging
