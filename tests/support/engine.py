"""The Docker engine the tests run on, as it says itself - read once per test session from the engine (not from the
product's own engine probe, so a test of what depends on the engine does not take the product's word for it).

CI runs the tests on Debian 12 (Docker 20.10, API 1.41, BuildKit v0.8) or Debian 13 (Docker 26.1, API 1.45,
BuildKit v0.12): what differs between them and the tests assert both ways:
- the Dockerfile frontend of the engine's BuildKit: heredocs, `COPY --link`, `ADD --checksum` and named build
  contexts (`--build-context`) from Docker 23 on (BuildKit v0.10, frontend 1.4); 20.10's refuses them;
- the image store: the graph-driver store (overlay2, the default of both) names an image by its config digest, so
  an image pulled back from a registry has the id of the one built; the containerd image store (Docker >= 24,
  opt-in before 29) names it by its manifest or index digest, so the two differ and only the config they show is
  one (plugins/module_utils/build/engine_store.py).
"""
from __future__ import annotations

import functools
import json
import re
import subprocess
from dataclasses import dataclass

# The first Docker whose BuildKit has heredocs, `COPY --link` and named contexts (docs.docker.com release notes 23.0:
# BuildKit v0.10 / dockerfile frontend 1.4 built in). Written here again on purpose, not imported from _buildx.
FRONTEND_1_4_SINCE = 23
CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter.v1"


@dataclass(frozen=True)
class Engine:
    version: str  # `docker version`'s Server Version, e.g. "20.10.24+dfsg1", "26.1.5+dfsg1"
    api_version: str  # e.g. "1.41", "1.45"
    containerd_store: bool  # `docker info` DriverStatus says driver-type io.containerd.snapshotter.v1

    @property
    def major(self) -> int:
        m = re.match(r"^v?(\d+)\.", self.version)
        if not m:
            raise AssertionError("the engine's version %r has no major number" % self.version)
        return int(m.group(1))

    @property
    def frontend_1_4(self) -> bool:
        """Whether the engine's BuildKit builds heredocs, `COPY --link` and named contexts."""
        return self.major >= FRONTEND_1_4_SINCE

    @property
    def ids_are_config_digests(self) -> bool:
        """Whether an engine image id is the image's config digest (the graph-driver store: overlay2)."""
        return not self.containerd_store


def _docker(*args: str) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout.strip()


@functools.lru_cache(maxsize=None)
def engine() -> Engine:
    """The engine of the `docker` CLI's default context (DOCKER_HOST), read once."""
    version = json.loads(_docker("version", "--format", "{{json .Server}}"))
    driver_status = json.loads(_docker("info", "--format", "{{json .DriverStatus}}")) or []
    containerd = any(len(pair) == 2 and pair[0] == "driver-type" and pair[1] == CONTAINERD_SNAPSHOTTER
                     for pair in driver_status)
    return Engine(str(version.get("Version") or ""), str(version.get("ApiVersion") or ""), containerd)


def engine_version() -> str:
    """The engine's Server Version, as `docker version` says it."""
    return engine().version
