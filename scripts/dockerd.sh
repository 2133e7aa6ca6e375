#!/usr/bin/env bash
# Ensures a Docker engine answers on /var/run/docker.sock and that qemu binfmt handlers are registered,
# so one machine can build and run arm64, s390x, ppc64le ... images. Used by make and CI where no
# init system runs the engine; where systemd runs, the service is started instead.
set -euo pipefail
log=${BUILDFARM_DOCKERD_LOG:-/var/log/buildfarm-dockerd.log}

if ! docker info >/dev/null 2>&1; then
  if [ -d /run/systemd/system ] && systemctl list-unit-files docker.service >/dev/null 2>&1; then
    systemctl start docker
  else
    command -v dockerd >/dev/null || { echo "dockerd: not installed (run scripts/bootstrap-system.sh)" >&2; exit 1; }
    # A supervised engine: setsid detaches it from make's process group so it outlives this script.
    setsid nohup dockerd --host unix:///var/run/docker.sock >>"$log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not come up; see $log" >&2; tail -20 "$log" >&2; exit 1; }
fi

# binfmt: the kernel needs the qemu interpreters registered with the F (fix-binary) flag so containers
# of other architectures find them without the interpreter inside the image.
if [ -d /proc/sys/fs/binfmt_misc ] && [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
fi
if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable >/dev/null 2>&1 || true
fi
