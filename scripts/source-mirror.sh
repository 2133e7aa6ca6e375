#!/usr/bin/env bash
# The local default's python.org source mirror and HKP key server (plugins/module_utils/build/source_mirror.py):
# CPython release tarballs, their signatures and the release managers' keys, taken byte for byte from Debian's
# source packages of the machine's own Debian mirror, served where build containers reach the host (the Docker
# bridge's gateway; 127.0.0.1 inside a build container is the container itself).
#   scripts/source-mirror.sh start DIR PORT [VERSIONS_JSON] fill DIR with every `version` of VERSIONS_JSON (files
#                                                           that differ from Debian's are replaced), serve it; without
#                                                           VERSIONS_JSON serve DIR as it is
#   scripts/source-mirror.sh stop DIR
#   scripts/source-mirror.sh address                        the host the mirror listens on (for build arguments)
# Idempotent: an unchanged mirror that already answers is left running.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
py="$here/.venv/bin/python3"; [ -x "$py" ] || py=python3
export PYTHONPATH="$here/.collections${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
mod=ansible_collections.buildfarm.images.plugins.module_utils.build.source_mirror
address() {
  # the gateway docker names, else the bridge interface's own address (dockerd often leaves Gateway empty)
  local gw
  gw=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null | head -n1 || true)
  if [ -z "$gw" ]; then
    local ifname
    ifname=$(docker network inspect bridge -f '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null || true)
    gw=$(ip -4 -o addr show "${ifname:-docker0}" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n1)
  fi
  echo "$gw"
}
cmd=${1:?usage: source-mirror.sh start DIR PORT [VERSIONS_JSON] | stop DIR | address}
case "$cmd" in
  address) address ;;
  start)
    dir=${2:?folder} port=${3:?port} versions=${4:-}
    host=$(address); [ -n "$host" ] || { echo "source-mirror.sh: no Docker bridge gateway (is dockerd up?)" >&2; exit 1; }
    mkdir -p "$dir"
    if [ -n "$versions" ]; then
      for v in $(jq -r '.[].version' "$versions"); do
        "$py" -m "$mod" fill "$dir" "$v" | sed 's/^/source-mirror: /'
      done
    fi
    if [ -f "$dir/mirror.pid" ] && kill -0 "$(cat "$dir/mirror.pid")" 2>/dev/null \
       && [ "$(cat "$dir/mirror.addr" 2>/dev/null)" = "$host:$port" ]; then
      exit 0
    fi
    "$0" stop "$dir"
    setsid "$py" -m "$mod" serve "$dir" "$host" "$port" >>"$dir/mirror.log" 2>&1 </dev/null &
    echo $! >"$dir/mirror.pid"
    echo "$host:$port" >"$dir/mirror.addr"
    for _ in $(seq 1 50); do
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://$host:$port/ftp/" || true)
      [ "$code" = 000 ] || exit 0
      sleep 0.1
    done
    echo "source-mirror.sh: nothing answers on $host:$port; log:" >&2
    tail -20 "$dir/mirror.log" >&2
    exit 1
    ;;
  stop)
    dir=${2:?folder}
    if [ -f "$dir/mirror.pid" ]; then
      pid=$(cat "$dir/mirror.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/mirror.pid" "$dir/mirror.addr"
    fi
    ;;
  *) echo "source-mirror.sh: unknown command $cmd" >&2; exit 2 ;;
esac
