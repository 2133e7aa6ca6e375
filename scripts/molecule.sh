#!/usr/bin/env bash
# Runs `molecule test` for every scenario of every role (roles/<role>/molecule/<scenario>: default first),
# one after the other (instances are containers of the local images buildfarm/debian:bookworm and
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
      name=$role log=$logs/$role.log
    else
      name=$role/$scenario log=$logs/$role-$scenario.log
    fi
    start=$SECONDS
    echo "molecule: testing $name (log: ${log#"$top"/})"
    # a scenario runs in its folder: whatever it writes relative to the current directory lands in the checkout
    before=$(git status --porcelain --untracked-files=all -- "roles/$role" 2>/dev/null || true)
    if (cd "roles/$role" && molecule test -s "$scenario") >"$log" 2>&1; then
      left=$(comm -13 <(echo "$before" | sort) <(git status --porcelain --untracked-files=all -- "roles/$role" 2>/dev/null | sort))
      if [ -n "$left" ]; then
        summary+=("molecule: $name FAILED: it left files in the checkout: $(echo "$left" | tr '\n' ' ')")
        failed=1
      else
        summary+=("molecule: $name passed in $((SECONDS - start))s")
      fi
    else
      summary+=("molecule: $name FAILED in $((SECONDS - start))s, see ${log#"$top"/}")
      failed=1
      echo "---- last lines of $name's log:" >&2
      tail -n 60 "$log" >&2
    fi
  done
done

printf '%s\n' "${summary[@]}"
exit "$failed"
