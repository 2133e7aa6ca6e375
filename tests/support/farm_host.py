"""The recipe of a separate builder host (issue 14): a container with sshd and, once role builder ran, its own
dockerd, reached over SSH on a loopback port. One copy for the farm's integration tests
(tests/integration/farm/conftest.py), role builder's molecule scenario `ssh`, which runs this file as a script, and
the Debian 13 machine test (tests/integration/debian13/). One image per Debian release the farm supports (issue 26):
buildfarm/debian-sshd:bookworm (Debian 12, Docker 20.10 once provisioned) and buildfarm/debian-sshd:trixie (Debian
13, Docker 26), each from scripts/base-image.sh's image of that release.

This engine refuses `--privileged` (its bounding set lacks CAP_SYS_RESOURCE), so a host gets every capability but
that one, with seccomp, AppArmor and the masked /proc paths unconfined (dockerd inside, and binfmt_misc mounted by
role builder) and a private cgroup namespace. /var/lib/docker is a volume: overlay2 cannot stack on the
container's own overlay. The same holds for trixie's Docker 26: its overlay2 (and the containerd image store's
overlayfs snapshotter, which lives under /var/lib/docker/containerd) needs the volume, it runs on this machine's
cgroup v1 inside the private namespace, and its iptables (nft, trixie's default) uses the kernel's nf_tables in the
container's own network namespace.

Standard library only: molecule's create playbook runs it by path (``python farm_host.py spec``), without the
collection on sys.path.
"""
from __future__ import annotations

import hashlib
import io
import json
import pathlib
import subprocess
import sys
import tarfile

# Debian release (suite) -> its version: the releases a host can run.
SUITES = {"bookworm": "12", "trixie": "13"}
DEFAULT_SUITE = "bookworm"
BASE_IMAGE = "buildfarm/debian:%s"
HOST_IMAGE = "buildfarm/debian-sshd:%s"
# The host's boot: a container that is not privileged gets the cgroup hierarchies read-only (on a cgroup v1 machine
# the host's dockerd then cannot start a single container: "mkdir /sys/fs/cgroup/cpuset/docker: read-only file
# system"); they are mounted again writable, inside the host's private cgroup namespace, as a real machine has them.
# Then sshd with host keys of its own.
CGROUPS_WRITABLE = r"""awk '$3 == "cgroup" || $3 == "cgroup2" {print $2, $3, $4}' /proc/self/mounts |
while read -r dir type opts; do
  case ",$opts," in *,ro,*) umount "$dir" && mount -t "$type" -o "rw,${opts#ro,}" "$type" "$dir" ;; esac
done
"""
HOST_BOOT = CGROUPS_WRITABLE + "ssh-keygen -A >/dev/null && exec /usr/sbin/sshd -D -e"
# What a machine here needs to reach the Internet as this one does: its own CA certificates (a TLS-inspecting
# proxy's, a company's: /usr/local/share/ca-certificates) and pip's configuration files (how PyPI is reached; role
# builder installs syft from PyPI). The image build's context carries copies (trust/ca/, trust/etc/).
LOCAL_CAS = "/usr/local/share/ca-certificates"
PIP_FILES = ("/etc/pip.conf", "/etc/xdg/pip")
TRUST_STEPS = """COPY trust/ca/ /usr/local/share/ca-certificates/
COPY trust/etc/ /etc/
RUN update-ca-certificates >/dev/null
"""
# openssh-server makes the base image a bare host Ansible can reach; apt keeps its .debs (in the cache volume).
HOST_DOCKERFILE = "FROM %s\n" + TRUST_STEPS + """RUN apt-get -qq update && DEBIAN_FRONTEND=noninteractive \\
      apt-get -qq -y --no-install-recommends install openssh-server >/dev/null \\
 && rm -rf /var/lib/apt/lists/* && touch -d @0 /var/lib/apt/lists \\
 && rm -f /etc/apt/apt.conf.d/docker-clean /etc/ssh/ssh_host_* && mkdir -p /run/sshd
CMD """ + json.dumps(["sh", "-c", HOST_BOOT]).replace("%", "%%") + "\n"
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


def _context(dockerfile: str) -> bytes:
    """A build context: ``dockerfile`` and the machine's trust files (TRUST_STEPS copies them)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))

        for d in ("trust/ca", "trust/etc"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        add("Dockerfile", dockerfile.encode())
        for ca in sorted(pathlib.Path(LOCAL_CAS).glob("*.crt")):
            add("trust/ca/" + ca.name, ca.read_bytes())
        for top in map(pathlib.Path, PIP_FILES):
            for f in sorted([top] if top.is_file() else top.rglob("*")):
                if f.is_file():
                    add("trust/etc/" + str(f.relative_to("/etc")), f.read_bytes())
    return buf.getvalue()


def build_image(image: str, dockerfile: str, base: str) -> str:
    """``image`` from ``dockerfile`` (FROM ``base``, with TRUST_STEPS' context), rebuilt only when the recipe - the
    Dockerfile, the base image and the trust files - changed."""
    context = _context(dockerfile)
    base_id = _docker("image", "inspect", "-f", "{{ .Id }}", base).stdout.strip()
    recipe = hashlib.sha256(context + base_id.encode()).hexdigest()[:16]
    have = _docker("image", "inspect", "-f", '{{ index .Config.Labels "buildfarm.recipe" }}', image).stdout
    if have.strip() != recipe:
        proc = subprocess.run(["docker", "build", "-q", "--label", "buildfarm.recipe=" + recipe, "-t", image, "-"],
                              input=context, capture_output=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise RuntimeError("docker build %s: %s" % (image, proc.stderr.decode(errors="replace")[-2000:]))
    return image


def host_image(suite: str = DEFAULT_SUITE) -> str:
    """The sshd image of Debian ``suite``, rebuilt only when its recipe (or the base image) changed."""
    if suite not in SUITES:
        raise ValueError("farm hosts run %s, not %r" % (" or ".join(SUITES), suite))
    base, image = BASE_IMAGE % suite, HOST_IMAGE % suite
    if _docker("image", "inspect", base).returncode != 0:
        raise NoBaseImage("no %s: scripts/base-image.sh %s builds it" % (base, suite))
    return build_image(image, HOST_DOCKERFILE % base, base)


def options_refused(image: str) -> str:
    """Why this engine cannot run a host container of ``image`` with HOST_OPTIONS (its own engine inside: every
    capability, mounts), or ''. An engine that itself runs in such a container (a Debian 13 machine of
    tests/integration/debian13) refuses them: the capability it lacks cannot be handed on."""
    proc = subprocess.run(["docker", "run", "--rm", *HOST_OPTIONS, image, "sh", "-c",
                           "mount -t tmpfs none /mnt && umount /mnt"], capture_output=True, text=True, timeout=120,
                          check=False)
    return "" if proc.returncode == 0 else proc.stderr.strip()[-500:]


def main(argv: list[str]) -> int:
    """``spec [SUITE ...]``: build the images of the suites (default bookworm) if needed, print
    {"image": <the first suite's>, "images": {suite: image}, "options": [docker run options]} as JSON.
    ``refused``: print why this engine cannot run host containers (exit 1), nothing when it can (exit 0); exit 2
    when the host image cannot be made (not a refusal: the scenario fails on it as it would)."""
    if argv == ["refused"]:
        try:
            why = options_refused(host_image(DEFAULT_SUITE))
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 2
        if why:
            print(why.replace("\n", " "))
        return 1 if why else 0
    suites = argv[1:] or [DEFAULT_SUITE]
    if argv[:1] != ["spec"] or not set(suites) <= set(SUITES):
        print("usage: farm_host.py spec [%s ...]" % "|".join(SUITES), file=sys.stderr)
        return 2
    try:
        images = {suite: host_image(suite) for suite in suites}
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps({"image": images[suites[0]], "images": images, "options": HOST_OPTIONS}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
