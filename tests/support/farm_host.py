"""The recipe of a separate builder host (issue 14): a container with sshd and, once role builder ran, its own
dockerd, reached over SSH on a loopback port. One copy for the farm's integration tests
(tests/integration/farm/conftest.py) and role builder's molecule scenario `ssh`, which runs this file as a script.

This engine refuses `--privileged` (its bounding set lacks CAP_SYS_RESOURCE), so a host gets every capability but
that one, with seccomp, AppArmor and the masked /proc paths unconfined (dockerd inside, and binfmt_misc mounted by
role builder) and a private cgroup namespace. /var/lib/docker is a volume: overlay2 cannot stack on the
container's own overlay.

Standard library only: molecule's create playbook runs it by path (``python farm_host.py spec``), without the
collection on sys.path.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys

BASE_IMAGE = "buildfarm/debian:bookworm"
HOST_IMAGE = "buildfarm/debian-sshd:bookworm"
# The host's boot: a container that is not privileged gets the cgroup hierarchies read-only (on a cgroup v1 machine
# the host's dockerd then cannot start a single container: "mkdir /sys/fs/cgroup/cpuset/docker: read-only file
# system"); they are mounted again writable, inside the host's private cgroup namespace, as a real machine has them.
# Then sshd with host keys of its own.
HOST_BOOT = r"""awk '$3 == "cgroup" || $3 == "cgroup2" {print $2, $3, $4}' /proc/self/mounts |
while read -r dir type opts; do
  case ",$opts," in *,ro,*) umount "$dir" && mount -t "$type" -o "rw,${opts#ro,}" "$type" "$dir" ;; esac
done
ssh-keygen -A >/dev/null && exec /usr/sbin/sshd -D -e"""
# openssh-server makes the base image a bare host Ansible can reach; apt keeps its .debs (in the cache volume).
HOST_DOCKERFILE = """FROM %s
RUN apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq -y --no-install-recommends \\
      install openssh-server >/dev/null \\
 && rm -rf /var/lib/apt/lists/* && touch -d @0 /var/lib/apt/lists \\
 && rm -f /etc/apt/apt.conf.d/docker-clean /etc/ssh/ssh_host_* && mkdir -p /run/sshd
CMD %s
""" % (BASE_IMAGE, json.dumps(["sh", "-c", HOST_BOOT]))
# `docker run` options. community.docker.docker_container cannot give systempaths=unconfined (the docker CLI turns it
# into empty MaskedPaths/ReadonlyPaths), so the molecule scenario runs the CLI with these too.
HOST_OPTIONS = [
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined", "--cgroupns", "private",
    "--init", "-v", "/var/lib/docker",
]


class NoBaseImage(RuntimeError):
    """The base image is missing: scripts/base-image.sh builds it (no registry to pull from here)."""


def _docker(*args: str, stdin: str | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)


def host_image() -> str:
    """The sshd image, rebuilt only when its recipe (or the base image) changed."""
    if _docker("image", "inspect", BASE_IMAGE).returncode != 0:
        raise NoBaseImage("no %s: scripts/base-image.sh builds it" % BASE_IMAGE)
    base_id = _docker("image", "inspect", "-f", "{{ .Id }}", BASE_IMAGE).stdout.strip()
    recipe = hashlib.sha256((HOST_DOCKERFILE + base_id).encode()).hexdigest()[:16]
    have = _docker("image", "inspect", "-f", '{{ index .Config.Labels "buildfarm.recipe" }}', HOST_IMAGE).stdout
    if have.strip() != recipe:
        proc = _docker("build", "-q", "--label", "buildfarm.recipe=" + recipe, "-t", HOST_IMAGE, "-",
                       stdin=HOST_DOCKERFILE)
        if proc.returncode != 0:
            raise RuntimeError("docker build %s: %s" % (HOST_IMAGE, proc.stderr[-2000:]))
    return HOST_IMAGE


def main(argv: list[str]) -> int:
    """``spec``: build the image if needed, print {"image": ..., "options": [docker run options]} as JSON."""
    if argv != ["spec"]:
        print("usage: farm_host.py spec", file=sys.stderr)
        return 2
    try:
        image = host_image()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps({"image": image, "options": HOST_OPTIONS}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
