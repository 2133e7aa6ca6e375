#!/usr/bin/env bash
# The integration tests in two streams: the debian -> python chain (tests/integration/chain: CPython's build and a
# root filesystem under qemu, about 20 minutes) beside every other integration test (one stream, in order: several
# of them take the local default's registry port 5000). The chain shares nothing the others change: its registry
# ports (5600-5699, tests/support/ports.py), work folders and source mirror ports are its own, and the engine's
# images it removes are those tagged for its own registry. On two cores the streams overlap the waits of each other
# (pushes, pulls, playbook start-up, polling) and the chain's compile runs beside the other releases.
#
# pytest-xdist's `--dist loadgroup` would do this in one process, but with pytest 9 its group marks are ignored
# (xdist 3.8 renames items through `_nodeid`, which pytest 9 no longer reads): two pytest processes instead.
#
# Usage: scripts/integration.sh [pytest options for both streams]
#   The chain's output goes to .cache/integration-chain.log while it runs and is printed when both are done.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
mkdir -p .cache
log=.cache/integration-chain.log
common=(-q -p no:cacheprovider --durations=25)

pytest "${common[@]}" tests/integration/chain "$@" >"$log" 2>&1 &
chain=$!
trap 'kill -TERM "$chain" 2>/dev/null; wait "$chain" 2>/dev/null; exit 130' INT TERM
echo "integration: tests/integration/chain runs beside the others (pid $chain, log: $log)"

pytest "${common[@]}" tests/integration --ignore=tests/integration/chain "$@"
rest=$?

started=$SECONDS
next=$SECONDS
while kill -0 "$chain" 2>/dev/null; do
  if (( SECONDS >= next )); then
    echo "integration: waiting for the chain ($((SECONDS - started)) s so far): $(tail -n 1 "$log" | cut -c1-100)"
    next=$((SECONDS + 60))
  fi
  sleep 2
done
wait "$chain"
chain_rc=$?

echo "==== tests/integration/chain (log: $log)"
cat "$log"
echo "integration: the others rc=$rest, the chain rc=$chain_rc"
if (( rest != 0 || chain_rc != 0 )); then
  exit 1
fi
