"""A throw-away registry v2 for tests (scripts/registry.sh): its own port and folder, optionally htpasswd
basic auth, TLS, and docker-registry's environment overrides of its configuration (e.g. `auth: token`)."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest

from ansible_collections.buildfarm.images.plugins.module_utils.registry.registry_client import (
    Credentials,
    RegistryClient,
)

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "registry.sh"


@dataclass
class ThrowAwayRegistry:
    folder: pathlib.Path
    port: int
    htpasswd: str = ""
    tls: tuple[str, ...] = ()  # certificate and key: HTTPS, the certificate is the clients' CA
    env: dict = field(default_factory=dict)

    @property
    def address(self) -> str:
        return "127.0.0.1:%d" % self.port

    @property
    def storage(self) -> pathlib.Path:
        return self.folder / "data" / "docker"

    def start(self) -> None:
        args = [str(SCRIPT), "start", str(self.folder), str(self.port)]
        if self.htpasswd or self.tls:
            args += [self.htpasswd, *self.tls]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, **self.env))

    def stop(self) -> None:
        subprocess.run([str(SCRIPT), "stop", str(self.folder)], check=True)

    def wipe(self) -> None:
        """Lose every blob and tag, the registry running on."""
        shutil.rmtree(self.storage, ignore_errors=True)

    def untag(self) -> None:
        """Remove the engine's tags of this registry's images (the images stay under their other tags: they are
        the builders' cache)."""
        out = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                             text=True, check=False)
        tags = [t for t in out.stdout.split() if t.startswith(self.address + "/")]
        if tags:
            subprocess.run(["docker", "rmi"] + tags, capture_output=True, check=False)

    def client(self, credentials: Credentials | None = None, **kw) -> RegistryClient:
        if self.tls:
            kw.setdefault("ca_cert", self.tls[0])
        return RegistryClient(self.address, credentials, **kw)


def registry_fixture(free_port: Callable[[], int], untag: bool = False) -> Any:
    """The `registry` fixture of a suite: a throw-away registry on a port of the suite's range (`free_port`), in the
    test's tmp_path, stopped after the test; `untag` also removes the engine's tags of its images (suites that push
    with the engine)."""

    @pytest.fixture
    def registry(tmp_path: pathlib.Path) -> Iterator[ThrowAwayRegistry]:
        reg = ThrowAwayRegistry(tmp_path / "registry", free_port())
        reg.start()
        yield reg
        reg.stop()
        if untag:
            reg.untag()

    return registry
