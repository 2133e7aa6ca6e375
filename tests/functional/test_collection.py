"""The collection as users get it: `ansible-galaxy collection build` makes a tarball that installs, the
installed copy documents every module (ansible-doc renders DOCUMENTATION, EXAMPLES and RETURN), and
meta/runtime.yml's action group lists exactly the modules in plugins/modules."""
from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import tarfile

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
BIN = pathlib.Path(sys.executable).parent


def _run(args: list[str], cwd: pathlib.Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Build the tarball, install it alone into a temp collections path, return paths and an environment
    in which ansible finds that installed copy first (the checkout's link comes after it only so that
    dependencies like community.docker resolve)."""
    tmp = tmp_path_factory.mktemp("collection")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    build = _run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp / "dist"), str(REPO)],
                 cwd=tmp, env=env)
    assert build.returncode == 0, build.stdout + build.stderr
    tarballs = list((tmp / "dist").glob("buildfarm-images-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    install = _run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(tmp / "collections"),
                    str(tarballs[0])], cwd=tmp, env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([str(tmp / "collections"), str(REPO / ".collections")])
    return {"tarball": tarballs[0], "root": tmp / "collections" / "ansible_collections" / "buildfarm" / "images",
            "env": env, "cwd": tmp}


@pytest.fixture(scope="module")
def rendered(installed: dict) -> dict[str, subprocess.CompletedProcess[str]]:
    """ansible-doc's text page (what a user reads) of every module, read from the installed copy. One call
    per module, a few at a time: ansible-doc prints nothing at all for a batch with one broken module."""
    env = dict(installed["env"], ANSIBLE_NOCOLOR="1")

    def doc(module: str) -> subprocess.CompletedProcess[str]:
        return _run([str(BIN / "ansible-doc"), "-t", "module", f"buildfarm.images.{module}"], cwd=installed["cwd"],
                    env=env)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(MODULES, pool.map(doc, MODULES)))


SHIPPED = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "bindep.txt", "requirements.txt", "changelogs",
           "meta", "plugins", "roles", "playbooks", "families", "inventories", "docs"}


def test_tarball_carries_metadata_and_no_local_state(installed: dict) -> None:
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    manifest = json.loads((installed["root"] / "MANIFEST.json").read_text())["collection_info"]
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == (
        galaxy["namespace"], galaxy["name"], galaxy["version"])
    with tarfile.open(installed["tarball"]) as tar:
        tops = {pathlib.PurePosixPath(n).parts[0] for n in tar.getnames()}
    assert "plugins" in tops and "meta" in tops
    # Local state must never ship: the venv, the collections link (a loop back to the checkout), caches.
    assert not tops & {".venv", ".collections", ".cache", ".git", "artifacts"}, sorted(tops)
    # Only what a user's install needs, nothing that happens to lie in the checkout (a stray 10 MB wheel once
    # shipped in every tarball): a new top-level folder is added here on purpose or kept out by build_ignore.
    assert tops <= SHIPPED, sorted(tops - SHIPPED)


def test_modules_exist() -> None:
    assert MODULES, "plugins/modules has no modules"


@pytest.mark.parametrize("module", MODULES)
def test_module_doc_renders_from_installed_copy(module: str, installed: dict, rendered: dict) -> None:
    result = rendered[module]
    assert result.returncode == 0 and "[ERROR]" not in result.stderr, result.stderr
    header = result.stdout.splitlines()[0] if result.stdout else ""
    assert header.startswith(f"> MODULE buildfarm.images.{module} ("), result.stdout[:500]
    source = pathlib.Path(header.rsplit("(", 1)[1].rstrip(")"))
    assert source.resolve() == (installed["root"] / "plugins" / "modules" / f"{module}.py").resolve()
    sections = {line.rstrip() for line in result.stdout.splitlines() if not line.startswith(" ")}
    assert {"EXAMPLES:", "RETURN VALUES:"} <= sections, f"{module}: page lacks EXAMPLES or RETURN VALUES"


def test_action_group_lists_every_module() -> None:
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    group = runtime.get("action_groups", {}).get("images", [])
    assert sorted(group) == MODULES, (
        f"meta/runtime.yml action_groups.images drifted from plugins/modules: "
        f"missing {sorted(set(MODULES) - set(group))}, unknown {sorted(set(group) - set(MODULES))}")
