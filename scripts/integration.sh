#!/usr/bin/env bash
# The integration tests in three streams: the debian -> python chain (tests/integration/chain: CPython's build and a
# root filesystem under qemu, about 20 minutes) and the fresh Debian 13 machine (tests/integration/debian13: the
# set-up scripts and a short release inside a container machine with its own Docker 26, 10-15 minutes) beside every
# other integration test (one stream, in order: several of them take the local default's registry port 5000). The
# chain shares nothing the others change: its registry ports (5600-5699, tests/support/ports.py), work folders and
# source mirror ports are its own, and the engine's images it removes are those tagged for its own registry. The
# Debian 13 machine has its own engine, registry and network namespace; on this engine it only adds its container
# (and volume) and the images scripts/base-image.sh makes. On two cores the streams overlap the waits of each other
# (downloads, pushes, pulls, playbook start-up, polling) and the chain's compile runs beside the other releases.
#
# pytest-xdist's `--dist loadgroup` would do this in one process, but with pytest 9 its group marks are ignored
# (xdist 3.8 renames items through `_nodeid`, which pytest 9 no longer reads): one pytest process per stream.
#
# Usage: scripts/integration.sh [pytest options for every stream]
#   A side stream's output goes to .cache/integration-<name>.log while it runs and is printed when all are done.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
mkdir -p .cache
common=(-q -p no:cacheprovider --durations=25)
side=(chain debian13)  # tests/integration/<name>, each in a stream of its own

pids=()
for name in "${side[@]}"; do
  pytest "${common[@]}" "tests/integration/$name" "$@" >".cache/integration-$name.log" 2>&1 &
  pids+=($!)
  echo "integration: tests/integration/$name runs beside the others (pid $!, log: .cache/integration-$name.log)"
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; exit 130' INT TERM

ignore=()
for name in "${side[@]}"; do
  ignore+=("--ignore=tests/integration/$name")
done
pytest "${common[@]}" tests/integration "${ignore[@]}" "$@"
rest=$?

failed=$(( rest != 0 ))
summary="the others rc=$rest"
for i in "${!side[@]}"; do
  name=${side[$i]}
  log=.cache/integration-$name.log
  started=$SECONDS
  next=$SECONDS
  while kill -0 "${pids[$i]}" 2>/dev/null; do
    if (( SECONDS >= next )); then
      echo "integration: waiting for $name ($((SECONDS - started)) s so far): $(tail -n 1 "$log" | cut -c1-100)"
      next=$((SECONDS + 60))
    fi
    sleep 2
  done
  wait "${pids[$i]}"
  rc=$?
  echo "==== tests/integration/$name (log: $log)"
  cat "$log"
  summary+=", $name rc=$rc"
  (( rc == 0 )) || failed=1
done

echo "integration: $summary"
exit "$failed"
