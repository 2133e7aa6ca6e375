#!/usr/bin/env bash
# Runs `molecule test` for every scenario of every role (roles/<role>/molecule/<scenario>: default first),
# two at a time (BUILDFARM_MOLECULE_JOBS; instances are containers of the local images buildfarm/debian:<suite> and
# buildfarm/debian-systemd:<suite> for Debian 12 (bookworm) and 13 (trixie), built first if needed). A scenario's full output goes to
# .cache/molecule/<role>.log (default) or <role>-<scenario>.log; the console gets one summary line per
# scenario and the end of the log of one that failed. A role without a default scenario counts as a failure:
# every role must have one.
#
# Usage: scripts/molecule.sh [role ...]   (default: every role under roles/)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
export PATH=$top/.venv/bin:$PATH
export ANSIBLE_ROLES_PATH=$top/roles
export ANSIBLE_COLLECTIONS_PATH=$top/.collections
export NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0

if [ $# -gt 0 ]; then
  roles=("$@")
else
  roles=()
  for d in roles/*/; do
    [ -d "$d" ] && roles+=("$(basename "$d")")
  done
fi
if [ "${#roles[@]}" -eq 0 ]; then
  echo "molecule: no roles under roles/"
  exit 0
fi

logs=$top/.cache/molecule
mkdir -p "$logs"
# Scenarios name their instances; two runs in one checkout would destroy each other's containers.
exec 9>"$logs/.lock"
if ! flock -n 9; then
  echo "molecule: another scripts/molecule.sh is running in this checkout; waiting for it"
  flock 9
fi
scripts/base-image.sh

failed=0
summary=()
pairs=()  # role/scenario, in order
for role in "${roles[@]}"; do
  if [ ! -f "roles/$role/molecule/default/molecule.yml" ]; then
    summary+=("molecule: $role MISSING (no roles/$role/molecule/default/molecule.yml)")
    failed=1
    continue
  fi
  scenarios=(default)
  for f in roles/"$role"/molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$f")")
    [ "$s" = default ] || scenarios+=("$s")
  done
  for scenario in "${scenarios[@]}"; do
    pairs+=("$role/$scenario")
  done
done

# A scenario's name (the role alone for its default) and log file, from its role/scenario pair.
name_of() { if [ "${1#*/}" = default ]; then echo "${1%%/*}"; else echo "$1"; fi; }
log_of() { local name; name=$(name_of "$1"); echo "$logs/${name//\//-}.log"; }

# Scenarios of bare hosts (the farm's host recipe, tests/support/farm_host.py) need an engine that runs containers
# with every capability; one inside a container (a Debian 13 machine of tests/integration/debian13) cannot hand
# them on: such a scenario is skipped there, saying why, as the farm's integration tests are.
bare_hosts() { grep -q 'tests/support/farm_host.py' "roles/$1/molecule/$2/molecule.yml"; }
host_refused=""
for pair in "${pairs[@]}"; do
  if bare_hosts "${pair%%/*}" "${pair#*/}"; then
    rc=0
    why=$(python tests/support/farm_host.py refused) || rc=$?
    if [ "$rc" = 1 ]; then host_refused=$why; fi
    break
  fi
done

# One scenario, its verdict in <log>.result (one line) for the summary, which keeps the order above.
run_one() {
  local role=$1 scenario=$2 name=$3 log=$4 start=$SECONDS before left
  if [ -n "$host_refused" ] && bare_hosts "$role" "$scenario"; then
    echo "molecule: $name skipped: this engine cannot run the farm's host containers: $host_refused" \
      | tee "$log.result" >"$log"
    return 0
  fi
  # a scenario runs in its role's folder: whatever it writes relative to the current directory lands in the
  # checkout (two scenarios of one role side by side would both report such a file: either way it fails)
  before=$(git status --porcelain --untracked-files=all -- "roles/$role" 2>/dev/null || true)
  if (cd "roles/$role" && molecule test -s "$scenario") >"$log" 2>&1; then
    left=$(comm -13 <(echo "$before" | sort) \
      <(git status --porcelain --untracked-files=all -- "roles/$role" 2>/dev/null | sort))
    if [ -n "$left" ]; then
      echo "molecule: $name FAILED: it left files in the checkout: $(echo "$left" | tr '\n' ' ')" >"$log.result"
    else
      echo "molecule: $name passed in $((SECONDS - start))s" >"$log.result"
    fi
  else
    echo "molecule: $name FAILED in $((SECONDS - start))s, see ${log#"$top"/}" >"$log.result"
  fi
  cat "$log.result"
}

# BUILDFARM_MOLECULE_JOBS scenarios at a time (default 2): instances, registries and ports are each scenario's
# own (names with the scenario's tag, the build scenario's registry on 5398, the registry scenarios' inside their
# own instances, builder/ssh's on free loopback ports), and most of a scenario's time is waiting on containers.
jobs=${BUILDFARM_MOLECULE_JOBS:-2}
for pair in "${pairs[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  name=$(name_of "$pair") log=$(log_of "$pair")
  echo "molecule: testing $name (log: ${log#"$top"/})"
  rm -f "$log.result"
  run_one "${pair%%/*}" "${pair#*/}" "$name" "$log" &
done
wait || true
for pair in "${pairs[@]}"; do
  name=$(name_of "$pair") log=$(log_of "$pair")
  result=$(cat "$log.result" 2>/dev/null || echo "molecule: $name FAILED: no result")
  summary+=("$result")
  case $result in
    *FAILED*|*MISSING*)
      failed=1
      echo "---- last lines of $name's log:" >&2
      tail -n 60 "$log" >&2
      ;;
  esac
done

echo "molecule: summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
