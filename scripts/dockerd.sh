#!/usr/bin/env bash
# Ensures a Docker engine answers on /var/run/docker.sock and that qemu binfmt handlers are registered,
# so one machine can build and run arm64, s390x, ppc64le ... images. Used by make and CI where no
# init system runs the engine; where systemd runs, the service is started instead.
# Debian 12 and 13: the engine is docker.io on both; the `docker` command is docker.io's on 12 and docker-cli's on 13
# (docker.io 26 no longer ships it), and is checked first: without it every `docker info` below would fail and the
# engine would look as if it never came up.
set -euo pipefail
log=${BUILDFARM_DOCKERD_LOG:-/var/log/buildfarm-dockerd.log}

# shellcheck disable=SC1091 # the machine's os-release, read at run time
release=$( . /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}" ) || release=unknown
# shellcheck disable=SC1091
codename=$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}" ) || codename=""
case $codename in
  bookworm) cli_pkg=docker.io ;;
  *) cli_pkg=docker-cli ;;
esac
if ! command -v docker >/dev/null; then
  echo "dockerd.sh: the docker command is not installed on this $release machine (package $cli_pkg; run" \
    "scripts/bootstrap-system.sh)" >&2
  exit 1
fi

if ! docker info >/dev/null 2>&1; then
  if [ -d /run/systemd/system ] && systemctl list-unit-files docker.service >/dev/null 2>&1; then
    systemctl start docker
  else
    command -v dockerd >/dev/null || {
      echo "dockerd.sh: dockerd is not installed on this $release machine (package docker.io; run" \
        "scripts/bootstrap-system.sh)" >&2
      exit 1
    }
    # A supervised engine: setsid detaches it from make's process group so it outlives this script.
    setsid nohup dockerd --host unix:///var/run/docker.sock >>"$log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  if ! err=$(docker info 2>&1 >/dev/null); then
    echo "dockerd did not come up: \`$(command -v docker) info\` says: $(echo "$err" | tail -3); see $log" >&2
    tail -20 "$log" >&2 || true
    exit 1
  fi
fi

# binfmt: the kernel needs the qemu interpreters registered with the F (fix-binary) flag so containers
# of other architectures find them without the interpreter inside the image.
if [ -d /proc/sys/fs/binfmt_misc ] && [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
fi
if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  # Debian 12: qemu-user-static registers its handlers with binfmt-support (update-binfmts).
  update-binfmts --enable >/dev/null 2>&1 || true
  # Debian 13: qemu-user-binfmt ships only systemd-binfmt's /usr/lib/binfmt.d files (flags F included); without
  # systemd nothing reads them, so write them to the kernel as systemd-binfmt does.
  for conf in /usr/lib/binfmt.d/qemu-*.conf; do
    [ -f "$conf" ] || continue
    name=$(basename "$conf" .conf)
    [ -e "/proc/sys/fs/binfmt_misc/$name" ] && continue
    grep -v '^[#;]' "$conf" | grep . >/proc/sys/fs/binfmt_misc/register 2>/dev/null || true
  done
fi
