#!/usr/bin/env bash
# Runs `ansible-test sanity` (and `ansible-test units` when tests/unit has tests) on the collection, offline
# except for PyPI.
#
# ansible-test insists on running from inside .../ansible_collections/<namespace>/<name>, so the checkout's
# git-tracked and untracked-but-not-ignored files are copied to .cache/sanity/ansible_collections/buildfarm/images
# (a fresh copy each run, so deleted files don't linger). The copy gets its own `git init`: otherwise
# ansible-test would find /work/main/.git above it and list no files, the copy being in an ignored folder.
#
# ansible-test bootstraps pip into each venv with get-pip.py from ci-files.testing.ansible.com, which is
# unreachable here; the script it caches is replaced by one that runs the pip wheel bundled with CPython's
# ensurepip, which then installs the pinned pip (and everything else) from PyPI.
#
# Usage: scripts/sanity.sh [extra ansible-test sanity options, e.g. --test validate-modules]
#   BUILDFARM_SANITY_PYTHON (default: the .venv's, 3.12 on Debian 12 from pyenv, 3.13 on Debian 13's own): the
#   Python version the full sanity run and the units use.
#   BUILDFARM_SANITY_MIN_PYTHON (default 3.9): modules and module_utils also run on builder hosts, so the
#   compile and import tests run again with the oldest Python tests/config.yml allows, when one is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
export PATH=$top/.venv/bin:$PATH
# the Python the checkout's tools run on is the one sure to be here (Debian 13 has no python3.12)
python=${BUILDFARM_SANITY_PYTHON:-$("$top/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}
min_python=${BUILDFARM_SANITY_MIN_PYTHON:-3.9}

# find_python_dir VERSION: a directory holding a working pythonVERSION (pyenv shims only work for the
# versions pyenv has activated, so look in pyenv's versions too).
find_python_dir() {
  local c
  for c in "$(command -v "python$1" 2>/dev/null)" "$HOME"/.pyenv/versions/"$1".*/bin/"python$1"; do
    if [ -x "$c" ] && "$c" -c '' 2>/dev/null; then dirname "$c"; return 0; fi
  done
  return 1
}

install_get_pip() {
  local version cache_path
  version=$(python - <<'PY'
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=None))["pip"])
PY
)
  cache_path=$HOME/.ansible/test/cache/get_pip_${version//./_}.py
  [ -f "$cache_path" ] && grep -q 'buildfarm: offline get-pip (2)' "$cache_path" && return 0
  mkdir -p "$(dirname "$cache_path")"
  cat >"$cache_path.tmp" <<'PY'
"""buildfarm: offline get-pip (2) stand-in (written by scripts/sanity.sh).

Runs `pip install --upgrade --force-reinstall <args>` with the pip wheel that CPython bundles for ensurepip,
so a venv made with --without-pip gets the pip version ansible-test pins from PyPI.
"""
import glob
import os
import sys

import ensurepip

# CPython's own bundled wheel (pyenv's builds), else Debian's: its Pythons have ensurepip without _bundled and
# take pip from python3-pip-whl (/usr/share/python-wheels, what python3-venv depends on)
wheels = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))
wheels = wheels or sorted(glob.glob("/usr/share/python-wheels/pip-*.whl"))
if not wheels:
    sys.exit("get-pip stand-in: this Python has no pip wheel for ensurepip (on Debian: apt install python3-pip-whl)")
sys.path.insert(0, wheels[-1])

from pip._internal.cli.main import main  # noqa: E402  (importable only once the wheel is on sys.path)

# --no-setuptools/--no-wheel belong to get-pip.py itself, not to `pip install`.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall"] + args))
PY
  mv "$cache_path.tmp" "$cache_path"
}

copy_collection() {
  local dest=$1
  rm -rf "$dest"
  mkdir -p "$dest"
  # Tracked files still on disk plus untracked files that .gitignore does not exclude.
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar --null --no-recursion -T - -cf - | tar -C "$dest" -xf -
  git -C "$dest" init -q
  # tests/conftest.py finds the read-only upstream data at <checkout>/../shared (ansible-test passes no
  # BUILDFARM_SHARED through); link it, never copy it, so golden-data unit tests run here as well.
  local shared=${BUILDFARM_SHARED:-$top/../shared}
  if [ -d "$shared" ]; then ln -sfn "$(cd "$shared" && pwd)" "$(dirname "$dest")/shared"; fi
}

# Several people run this in one checkout: one run at a time, or they would delete each other's copy.
mkdir -p .cache
exec 9>.cache/sanity.lock
if ! flock -n 9; then
  echo "sanity: another scripts/sanity.sh is running in this checkout; waiting for it"
  flock 9
fi

install_get_pip
dest=$top/.cache/sanity/ansible_collections/buildfarm/images
copy_collection "$dest"
cd "$dest"

status=0
echo "== ansible-test sanity --python $python"
ansible-test sanity --venv --python "$python" --color no "$@" || status=1

if [ $# -eq 0 ]; then
  if min_dir=$(find_python_dir "$min_python"); then
    echo "== ansible-test sanity --test compile --test import --python $min_python"
    PATH=$PATH:$min_dir ansible-test sanity --venv --python "$min_python" --color no --test compile --test import \
      || status=1
  else
    echo "sanity: no python$min_python here; compile/import on the oldest supported Python skipped" >&2
  fi
fi

if [ $# -eq 0 ] && [ -n "$(find tests/unit -name 'test_*.py' -print -quit 2>/dev/null)" ]; then
  echo "== ansible-test units --python $python"
  ansible-test units --venv --python "$python" --color no || status=1
fi

[ "$status" = 0 ] && echo "sanity: passed" || echo "sanity: FAILED (reports in $dest/tests/output)" >&2
exit "$status"
