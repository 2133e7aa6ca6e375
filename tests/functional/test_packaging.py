"""The collection as a user gets it, with nothing of the checkout around it: `ansible-galaxy collection build`
makes a tarball that carries what a user needs and none of the developers' tooling; it installs with exactly its
declared dependencies (from the checkout's .collections copies: Galaxy is unreachable here) into a temporary
collections path; `buildfarm.images.project` writes a working project from there without touching the installed
collection; the project's release.yml passes --syntax-check with only the declared dependencies; the action groups
only group modules that share their options; `ansible-builder introspect` lists only runtime requirements."""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.buildfarm.images.tests.support import installed_collection

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
CHECKOUT_COLLECTIONS = REPO / ".collections" / "ansible_collections"
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
# Collections a Linux-only farm does not install: only the Windows builders' roles use them (galaxy.yml says how).
OPTIONAL_WINDOWS = {"ansible.windows", "community.windows"}
# The options that make each action group (meta/runtime.yml): module_defaults of a group reach every member, so
# every member takes them (under their name or an alias). Alternatives: options renamed to community.docker's names
# keep the old ones as aliases, so either spelling identifies the group.
GROUP_OPTIONS = {
    "registry": [{"registry", "username", "password", "docker_config", "timeout"}],
    "engine": [{"docker_host"}],
    "family": [{"family_dir"}, {"family"}],
}


def _run(args: list, cwd: pathlib.Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return installed_collection.run(args, cwd, env, timeout)


_tree_digest = installed_collection.tree_digest
_declared_closure = installed_collection.declared_closure


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tarball built and installed with its declared dependencies, and only those, into a temp collections
    path (tests/support/installed_collection.py)."""
    return installed_collection.install(tmp_path_factory.mktemp("packaging"))


def test_installs_with_exactly_the_declared_dependencies(installed: dict) -> None:
    found = sorted(f"{ns.name}.{c.name}" for ns in (installed["tmp"] / "collections" / "ansible_collections").iterdir()
                   for c in ns.iterdir())
    assert found == sorted(["buildfarm.images"] + installed["deps"])
    assert "community.docker" in installed["deps"]
    assert not set(found) & (OPTIONAL_WINDOWS | {"ansible.posix"}), found


def test_tarball_carries_what_users_need(installed: dict) -> None:
    needed = {"LICENSE", "README.md", "requirements.txt", "bindep.txt", "meta/runtime.yml",
              "meta/execution-environment.yml", "playbooks/project.yml", "playbooks/files/project/release.yml",
              "playbooks/files/project/inventory/hosts.yml", "families/busybox/family.yml",
              "roles/builder/tasks/main.yml", "roles/builder_windows/tasks/facts.yml",
              "roles/build_windows/tasks/windows.yml", "inventories/production.example/hosts.yml"}
    assert needed <= installed["names"], sorted(needed - installed["names"])


def test_tarball_leaves_out_development_tooling_and_local_state(installed: dict) -> None:
    tops = {pathlib.PurePosixPath(n).parts[0] for n in installed["names"]}
    assert not tops & {"Makefile", "scripts", "tests", "benchmarks", ".ci", ".config", "requirements-dev.txt",
                       "pyproject.toml", "ansible.cfg", ".venv", ".collections", ".cache", ".git", "artifacts",
                       ".ruff_cache", ".pytest_cache", ".ansible-lint", ".yamllint"}, sorted(tops)
    dev = [n for n in installed["names"] if "/molecule/" in n + "/" or "__pycache__" in n or n.endswith(".pyc")]
    assert not dev, dev[:10]


def test_license_is_the_gpl3_the_headers_name() -> None:
    text = (REPO / "LICENSE").read_text()
    assert text.lstrip().startswith("GNU GENERAL PUBLIC LICENSE") and "Version 3, 29 June 2007" in text[:200]
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a pointer to it
    assert yaml.safe_load((REPO / "galaxy.yml").read_text())["license"] == ["GPL-3.0-or-later"]
    assert "GNU General Public License v3.0+" in (REPO / "plugins" / "modules" / "manifest_list.py").read_text()


ACTION = re.compile(r"^\s*-?\s*([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+:\s*(#.*)?$", re.M)


def _collections_used(paths: list[pathlib.Path]) -> dict[str, set[str]]:
    """Collection -> the files whose tasks call one of its actions (keys written `ns.coll.action:`)."""
    used: dict[str, set[str]] = {}
    for path in paths:
        for m in ACTION.finditer(path.read_text()):
            used.setdefault(m.group(1), set()).add(str(path.relative_to(REPO)))
    return used


def _content_yaml() -> list[pathlib.Path]:
    files = [p for p in (REPO / "roles").rglob("*.yml") if "molecule" not in p.parts]
    return files + sorted((REPO / "playbooks").rglob("*.yml"))


def test_galaxy_declares_exactly_what_the_content_uses() -> None:
    used = _collections_used(_content_yaml())
    external = set(used) - {"ansible.builtin", "ansible.legacy", "buildfarm.images"}
    declared = set(yaml.safe_load((REPO / "galaxy.yml").read_text()).get("dependencies") or {})
    assert declared == external - OPTIONAL_WINDOWS, {c: sorted(f) for c, f in used.items()}
    # ansible.posix is the tests' (json callback), not the content's
    assert "ansible.posix" not in declared


def test_windows_roles_resolve_windows_modules_only_when_they_run() -> None:
    # Roles' tasks/main.yml and handlers/main.yml are parsed with the play; included files only when they run.
    static = [REPO / "roles" / r / d / "main.yml" for r in ("builder_windows", "build_windows")
              for d in ("tasks", "handlers") if (REPO / "roles" / r / d / "main.yml").exists()]
    used = _collections_used(static)
    assert not set(used) & OPTIONAL_WINDOWS, used
    imports = [p for p in static if re.search(r"ansible\.builtin\.import_tasks:", p.read_text())]
    assert not imports, imports
    # ... and they still use them, in included files
    assert set(_collections_used(sorted((REPO / "roles").glob("build*_windows/*/*.yml")))) >= OPTIONAL_WINDOWS


def test_windows_task_files_parse_with_the_windows_collections(tmp_path: pathlib.Path) -> None:
    """--syntax-check of a role no longer reaches the included Windows files: import each one statically here,
    with the checkout's collections (ansible.windows and community.windows included)."""
    files = sorted(p for p in (REPO / "roles").glob("build*_windows/*/*.yml") if p.name != "main.yml"
                   and p.parent.name in ("tasks", "handlers"))
    assert len(files) >= 7, files
    play = [{"name": "Parse the Windows task files", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": f"Import {p.relative_to(REPO)}", "ansible.builtin.import_tasks": str(p)}
                       for p in files]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    result = _run([BIN / "ansible-playbook", "-i", "localhost,", "--syntax-check", "play.yml"], tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text("- name: Unknown\n  ansible.windows.win_nonexistent_module: {}\n")
    play[0]["tasks"].append({"name": "Import broken", "ansible.builtin.import_tasks": str(broken)})
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    result = _run([BIN / "ansible-playbook", "-i", "localhost,", "--syntax-check", "play.yml"], tmp_path, env)
    assert result.returncode != 0 and "win_nonexistent_module" in result.stdout + result.stderr


def test_action_groups_group_modules_that_share_their_options(installed: dict) -> None:
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["action_groups"]
    assert sorted(runtime["images"]) == MODULES
    assert set(runtime) == set(GROUP_OPTIONS) | {"images"}
    doc = _run([BIN / "ansible-doc", "--json", "-t", "module"] + [f"buildfarm.images.{m}" for m in MODULES],
               installed["tmp"], installed["env"])
    assert doc.returncode == 0, doc.stderr
    options = {}
    for key, value in json.loads(doc.stdout).items():
        opts = value["doc"]["options"]
        options[key.rsplit(".", 1)[1]] = set(opts) | {a for o in opts.values() for a in o.get("aliases", [])}
    for group, alternatives in GROUP_OPTIONS.items():
        assert len(runtime[group]) >= 2, group
        shared = next((alt for alt in alternatives if all(alt <= options[m] for m in runtime[group])), None)
        assert shared, f"group {group}: members {runtime[group]} do not all take {alternatives}: " + str(
            {m: sorted(options[m]) for m in runtime[group]})
        # the group is every module that takes those options
        assert sorted(runtime[group]) == sorted(m for m in MODULES if shared <= options[m]), group


def _playbook(installed: dict, args: list, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return _run([BIN / "ansible-playbook"] + args, cwd, installed["env"])


def test_module_defaults_of_a_group_reach_only_its_members(installed: dict) -> None:
    """The issue's failure: registry defaults given to every module broke library_manifest. Given to
    group/buildfarm.images.registry they leave it alone; family defaults reach dockerfiles and release_plan."""
    tmp = installed["tmp"] / "groups"
    tmp.mkdir()
    (tmp / "library").write_text("Maintainers: Someone <someone@example.org> (@someone)\nGitRepo: "
                                 "https://example.org/repo.git\n\nTags: 1.0\nGitCommit: " + "a" * 40 + "\n")
    play = [{"name": "Groups", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "module_defaults": {"group/buildfarm.images.registry": {"registry": "127.0.0.1:9", "username": "u"},
                                 "group/buildfarm.images.family": {"family_dir": str(REPO / "families" / "busybox")}},
             "tasks": [
                 {"name": "Read a library file", "buildfarm.images.library_manifest": {"path": str(tmp / "library")},
                  "register": "lib"},
                 {"name": "Plan with the group's family", "buildfarm.images.release_plan": {
                     "architectures": ["amd64"]}, "register": "plan"},
                 {"name": "Check", "ansible.builtin.assert": {"that": [
                     "lib.manifest is defined or lib.entries is defined",
                     "plan.plan.name == 'busybox'"]}},
             ]}]
    (tmp / "play.yml").write_text(yaml.safe_dump(play))
    result = _playbook(installed, ["-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}",
                                   "play.yml"], tmp)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "failed=0" in result.stdout


@pytest.fixture(scope="module")
def project(installed: dict) -> dict:
    """`ansible-playbook buildfarm.images.project -e buildfarm_project_dir=my-farm` from a folder of the user's."""
    cwd = installed["tmp"] / "work"
    cwd.mkdir()
    first = _playbook(installed, ["buildfarm.images.project", "-e", "buildfarm_project_dir=my-farm"], cwd)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    return {"dir": cwd / "my-farm", "cwd": cwd, "first": first}


def test_project_has_everything_a_release_needs(project: dict) -> None:
    d = project["dir"]
    for rel in ("ansible.cfg", "inventory/hosts.yml", "inventory/group_vars/all/main.yml", "release.yml",
                "README.md", "requirements.yml", ".gitignore", "families/busybox/family.yml",
                "families/busybox/versions.json", "families/busybox/Dockerfile.j2", "families/busybox/tests.yml"):
        assert (d / rel).is_file(), rel
    assert (d / "library").is_dir() and not list((d / "library").iterdir())
    assert not (d / ".buildfarm").exists() and not (d / "artifacts").exists()
    release = yaml.safe_load((d / "release.yml").read_text())
    assert release == [{"name": "Release", "ansible.builtin.import_playbook": "buildfarm.images.release"}]
    hosts = yaml.safe_load((d / "inventory" / "hosts.yml").read_text())["all"]["children"]
    builders = hosts["builders"]["children"]
    assert builders["builders_amd64"]["hosts"]["builder-amd64"] == {"buildfarm_arch": "amd64"}
    for arch in ("arm64v8", "s390x"):
        assert builders[f"builders_{arch}"]["hosts"][f"builder-{arch}"] == {
            "buildfarm_arch": arch, "buildfarm_emulated": True}
    assert "localhost" in hosts["registry"]["hosts"]
    readme = (d / "README.md").read_text()
    for section in ("## Add a family", "## Add a library file", "## Add an architecture", "## A production builder"):
        assert section in readme
    assert (d / "families" / "busybox" / "family.yml").read_bytes() == (
        REPO / "families" / "busybox" / "family.yml").read_bytes()
    # the collection README's own commands are the ones run here
    top = (REPO / "README.md").read_text()
    assert "ansible-playbook buildfarm.images.project -e buildfarm_project_dir=my-farm\ncd my-farm\n" in top


def test_project_inventory_points_at_the_project_from_anywhere(installed: dict, project: dict) -> None:
    # the project is the inventory's folder, whatever the current directory: registry storage goes there too
    result = _run([BIN / "ansible", "-i", project["dir"] / "inventory", "localhost", "-m", "ansible.builtin.debug",
                   "-a", "msg={{ buildfarm_project_dir }}|{{ buildfarm_registry_root }}|{{ buildfarm_registry }}"],
                  installed["tmp"], installed["env"])
    assert result.returncode == 0, result.stdout + result.stderr
    d = str(project["dir"])
    assert f'"msg": "{d}|{d}/.buildfarm/registry|127.0.0.1:5000"' in result.stdout, result.stdout


def test_project_generator_is_idempotent_and_keeps_the_users_files(installed: dict, project: dict) -> None:
    d = project["dir"]
    again = _playbook(installed, ["buildfarm.images.project", "-e", f"buildfarm_project_dir={d}"], project["cwd"])
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-2000:] + again.stderr
    hosts = d / "inventory" / "hosts.yml"
    original = hosts.read_text()
    try:
        hosts.write_text(original + "# my own builders\n")
        (d / "README.md").unlink()
        third = _playbook(installed, ["buildfarm.images.project", "-e", "buildfarm_project_dir=my-farm"],
                          project["cwd"])
        assert third.returncode == 0, third.stdout[-2000:] + third.stderr
        assert hosts.read_text().endswith("# my own builders\n")  # never overwritten
        assert (d / "README.md").is_file()  # a missing file is written again
        assert "inventory/hosts.yml" in third.stdout and "Kept as they are" in third.stdout
        assert "changed=1" in third.stdout
    finally:
        hosts.write_text(original)


def test_project_generator_check_mode_writes_nothing(installed: dict) -> None:
    cwd = installed["tmp"] / "check"
    cwd.mkdir()
    result = _playbook(installed, ["buildfarm.images.project", "-e", "buildfarm_project_dir=dry", "--check",
                                   "--diff"], cwd)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert int(re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", result.stdout).group(1)) > 0, result.stdout[-500:]
    assert not (cwd / "dry").exists()


def test_project_generator_needs_its_folder(installed: dict) -> None:
    result = _playbook(installed, ["buildfarm.images.project"], installed["tmp"])
    assert result.returncode != 0 and "needs -e buildfarm_project_dir=DIR" in result.stdout


_STATIC_WINDOWS = re.compile(r"^\s*-?\s*(ansible|community)\.windows\.\w+:", re.M)


def test_project_release_syntax_check_with_only_the_declared_dependencies(installed: dict, project: dict) -> None:
    result = _playbook(installed, ["release.yml", "--syntax-check"], project["dir"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


def test_nothing_under_the_installed_collection_changed(installed: dict, project: dict) -> None:
    # after the generator's runs (project fixture and the tests above that use it): same files, same bytes
    assert _tree_digest(installed["tmp"] / "collections") == installed["digest"]


def test_ansible_builder_introspect_lists_only_runtime_requirements(installed: dict) -> None:
    builder = BIN / "ansible-builder"
    if not builder.exists():
        pytest.skip("ansible-builder is not installed (requirements-dev.txt has it: scripts/bootstrap-python.sh)")
    result = _run([builder, "introspect", installed["tmp"] / "collections"], installed["tmp"], installed["env"])
    assert result.returncode == 0, result.stdout + result.stderr
    data = yaml.safe_load(result.stdout)
    ours = [r.split("#")[0].strip() for r in data["python"] if "from collection buildfarm.images" in r]
    assert ours and any(r.startswith("docker") for r in ours), data
    dev = ("pytest", "molecule", "ansible-lint", "ansible-builder", "cryptography", "ansible-core")
    assert not [r for r in data["python"] if r.startswith(dev)], data["python"]
    system = " ".join(data["system"])
    assert "dpkg" in system and "git" in system, data["system"]
    ee = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert ee["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}


def test_development_requirements_extend_the_runtime_ones() -> None:
    dev = (REPO / "requirements-dev.txt").read_text().splitlines()
    runtime = [line for line in (REPO / "requirements.txt").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert "-r requirements.txt" in dev
    assert not [r for r in runtime if r.split(">")[0].split("=")[0] in ("pytest", "molecule", "ansible-lint")]
    assert "requirements-dev.txt" in (REPO / "scripts" / "bootstrap-python.sh").read_text()
