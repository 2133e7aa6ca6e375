"""A copy of the local default's inventory (inventories/local) for a test or a benchmark: the same builders and
settings as `make release`, with its own registry, folders and families given in one settings file.

The copy has no `registry` group: the caller starts its own throw-away registry on a port of its range (see
ports.py) rather than the role starting the local default's on 5000.
"""
from __future__ import annotations

import contextlib
import pathlib
import shutil
from typing import Any, Iterable, Iterator

import yaml

from ansible_collections.buildfarm.images.tests.support.ports import free_port
from ansible_collections.buildfarm.images.tests.support.registry import ThrowAwayRegistry

REPO = pathlib.Path(__file__).resolve().parents[2]
LOCAL = REPO / "inventories" / "local"


def local_inventory(root: pathlib.Path, settings: dict[str, Any], settings_file: str = "zz-test.yml",
                    without_builders: Iterable[str] = ()) -> pathlib.Path:
    """``root``/inventory: inventories/local without its registry group and the builder groups named in
    ``without_builders``, ``settings`` written to group_vars/all/``settings_file`` (loaded after the local default's
    own files: a name after `main.yml`). Returns the inventory folder."""
    inv = root / "inventory"
    shutil.copytree(LOCAL, inv)
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    hosts["all"]["children"].pop("registry", None)
    for group in without_builders:
        if hosts["all"]["children"]["builders"]["children"].pop(group, None) is None:
            raise KeyError("inventories/local has no builder group %s" % group)
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    (inv / "group_vars" / "all" / settings_file).write_text(yaml.safe_dump(settings, sort_keys=False))
    return inv


@contextlib.contextmanager
def local_farm(root: pathlib.Path, settings: dict[str, Any], ports: tuple[int, int],
               settings_file: str = "zz-test.yml", without_builders: Iterable[str] = (),
               ) -> Iterator[tuple[pathlib.Path, ThrowAwayRegistry]]:
    """local_inventory releasing to a throw-away registry of its own (a free port of ``ports``, folder
    ``root``/registry; ``buildfarm_registry`` names it), started for the block: yields the inventory and the
    registry, then stops it and removes the engine's tags of it (the images stay: the builders' cache)."""
    registry = ThrowAwayRegistry(root / "registry", free_port(*ports))
    inv = local_inventory(root, {"buildfarm_registry": registry.address, **settings}, settings_file, without_builders)
    registry.start()
    try:
        yield inv, registry
    finally:
        registry.stop()
        registry.untag()
