"""The collection as a user installs it: `ansible-galaxy collection build`, then `ansible-galaxy collection install`
of the tarball with exactly its declared dependencies (the checkout's .collections copies: Galaxy is unreachable
here) into a temporary collections path, and an environment that sees only that path (no checkout, no ansible.cfg,
no user or system collections). Used by tests/functional/test_packaging.py and tests/integration/project."""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tarfile

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
CHECKOUT_COLLECTIONS = REPO / ".collections" / "ansible_collections"


def run(args: list, cwd: pathlib.Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def tree_digest(root: pathlib.Path) -> dict[str, str]:
    """Every file under root (symlinks as their target), with its sha256: what 'unchanged' means."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def declared_closure() -> list[str]:
    """galaxy.yml's dependencies and theirs (from each one's MANIFEST.json), as namespace.name."""
    todo = list(yaml.safe_load((REPO / "galaxy.yml").read_text()).get("dependencies") or {})
    seen: list[str] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        manifest = CHECKOUT_COLLECTIONS.joinpath(*name.split("."), "MANIFEST.json")
        if not manifest.is_file():
            raise AssertionError(f"{name} (a dependency) is not in {CHECKOUT_COLLECTIONS}: "
                                 "run scripts/bootstrap-python.sh")
        todo += list(json.loads(manifest.read_text())["collection_info"].get("dependencies") or {})
    return sorted(seen)


def install(tmp: pathlib.Path) -> dict:
    """Build and install into ``tmp/collections``; returns tmp, env, root (the installed collection), names (the
    tarball's members), deps and digest (of the collections path right after the install)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", ANSIBLE_NOCOLOR="1", HOME=str(tmp / "home"),
               ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_LOCAL_TEMP=str(tmp / "home" / ".ansible" / "tmp"))
    build = run([BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp / "dist", REPO], tmp, env)
    if build.returncode != 0:
        raise AssertionError(build.stdout + build.stderr)
    (tarball,) = (tmp / "dist").glob("buildfarm-images-*.tar.gz")
    deps = declared_closure()
    requirements = {"collections": [{"name": str(tarball), "type": "file"}] + [
        {"name": str(CHECKOUT_COLLECTIONS.joinpath(*d.split("."))), "type": "dir"} for d in deps]}
    (tmp / "requirements.yml").write_text(yaml.safe_dump(requirements))
    inst = run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-r", tmp / "requirements.yml",
                "-p", tmp / "collections"], tmp, env)
    if inst.returncode != 0:
        raise AssertionError(inst.stdout + inst.stderr)
    root = tmp / "collections" / "ansible_collections" / "buildfarm" / "images"
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    return {"tmp": tmp, "env": env, "root": root, "names": names, "deps": deps,
            "digest": tree_digest(tmp / "collections")}
