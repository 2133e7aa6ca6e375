#!/usr/bin/env bash
# A throw-away registry v2 (Debian's docker-registry) for tests and benchmarks, on its own port and folder.
# The embedded registry of the farm (127.0.0.1:5000) is the `registry` role's; never use port 5000 here.
#   scripts/registry.sh start DIR PORT [HTPASSWD_FILE [CERT KEY]]   -> prints the pid, waits until /v2/ answers
#   scripts/registry.sh stop DIR
# Each one is its folder (config, data, pid file, log), so any number run side by side, like the registry role's
# named registries. BUILDFARM_REGISTRY_HOST (default 127.0.0.1) is the address it listens on, e.g. a docker
# bridge's gateway for containers to reach it.
set -euo pipefail
cmd=${1:?usage: registry.sh start DIR PORT [HTPASSWD [CERT KEY]] | stop DIR}
dir=${2:?registry folder}
case "$cmd" in
  start)
    port=${3:?port}
    host=${BUILDFARM_REGISTRY_HOST:-127.0.0.1}
    htpasswd=${4:-}
    cert=${5:-}
    key=${6:-}
    [ "$port" != 5000 ] || { echo "registry.sh: port 5000 belongs to the embedded registry" >&2; exit 2; }
    mkdir -p "$dir/data"
    # Configured like the registry role's (roles/registry/templates/config.yml.j2): no blob descriptor cache,
    # so benchmarks measure the registry the farm runs.
    {
      echo "version: 0.1"
      echo "log: {level: warn, accesslog: {disabled: true}}"
      echo "storage:"
      echo "  filesystem: {rootdirectory: $dir/data}"
      echo "  delete: {enabled: true}"
      echo "http:"
      echo "  addr: $host:$port"
      if [ -n "$cert" ]; then echo "  tls: {certificate: $cert, key: $key}"; fi
      if [ -n "$htpasswd" ]; then
        echo "auth:"
        echo "  htpasswd: {realm: buildfarm, path: $htpasswd}"
      fi
    } >"$dir/config.yml"
    # As the registry role runs it (buildfarm_registry_gogc): the Go collector is a third of the registry's
    # CPU during a publish, and a larger heap (tens of MB) is cheap.
    GOGC=${GOGC:-400} setsid docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
    echo $! >"$dir/registry.pid"
    scheme=http; [ -z "$cert" ] || scheme=https
    for _ in $(seq 1 100); do
      code=$(curl -sk -o /dev/null -w '%{http_code}' "$scheme://$host:$port/v2/" || true)
      case "$code" in 200|401) cat "$dir/registry.pid"; exit 0 ;; esac
      kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null || break
      sleep 0.1
    done
    echo "registry.sh: registry on port $port did not answer; log:" >&2
    tail -20 "$dir/registry.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/registry.pid" ]; then
      pid=$(cat "$dir/registry.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/registry.pid"
    fi
    ;;
  *) echo "registry.sh: unknown command $cmd" >&2; exit 2 ;;
esac
