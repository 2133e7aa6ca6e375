#!/usr/bin/env bash
# Runs `molecule test` for every scenario of every role (roles/<role>/molecule/<scenario>: default first),
# two at a time (BUILDFARM_MOLECULE_JOBS; instances are containers of the local images buildfarm/debian:bookworm and
# buildfarm/debian-systemd:bookworm, built first if needed). A scenario's full output goes to
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
names=() logs_of=() roles_of=() scenarios_of=()
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
    if [ "$scenario" = default ]; then
      names+=("$role") logs_of+=("$logs/$role.log")
    else
      names+=("$role/$scenario") logs_of+=("$logs/$role-$scenario.log")
    fi
    roles_of+=("$role") scenarios_of+=("$scenario")
  done
done

# One scenario, its verdict in <log>.result (one line) for the summary, which keeps the order above.
run_one() {
  local role=$1 scenario=$2 name=$3 log=$4 start=$SECONDS before left
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
for i in "${!names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  echo "molecule: testing ${names[$i]} (log: ${logs_of[$i]#"$top"/})"
  rm -f "${logs_of[$i]}.result"
  run_one "${roles_of[$i]}" "${scenarios_of[$i]}" "${names[$i]}" "${logs_of[$i]}" &
done
wait || true
for i in "${!names[@]}"; do
  result=$(cat "${logs_of[$i]}.result" 2>/dev/null || echo "molecule: ${names[$i]} FAILED: no result")
  summary+=("$result")
  case $result in
    *FAILED*|*MISSING*)
      failed=1
      echo "---- last lines of ${names[$i]}'s log:" >&2
      tail -n 60 "${logs_of[$i]}" >&2
      ;;
  esac
done

echo "molecule: summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
