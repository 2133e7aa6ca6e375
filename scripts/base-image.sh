#!/usr/bin/env bash
# Builds the local Debian images that molecule scenarios run their instances from and that the SSH farm's hosts
# (tests/support/farm_host.py) start from, one per Debian release the farm supports: buildfarm/debian:<suite>, and
# buildfarm/debian-systemd:<suite> (the same plus systemd as PID 1) for scenarios that need systemd, for bookworm
# (Debian 12) and trixie (Debian 13). No registry can be pulled from here, so the root filesystems come from the
# Debian mirror this machine's apt already uses (read at run time, never stored in the repo): bookworm's from
# debootstrap (as always), trixie's from mmdebstrap (debootstrap 1.0.128 of Debian 12 knows trixie only as a copy
# of sid's script; mmdebstrap resolves with apt and downloads in parallel).
#
# Idempotent: each image carries a label with a hash of this recipe and is left alone while it matches.
# The root filesystem tarballs and the downloaded .debs are cached under .cache/base-image/, so a rebuild
# (e.g. after `docker rmi`) is an import of a few seconds.
#
# Usage: scripts/base-image.sh [--force] [SUITE ...]   (SUITE: bookworm, trixie; default: both)
#   BUILDFARM_DEBIAN_MIRROR overrides the mirror found in /etc/apt/sources.list{,.d}.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3/python3-apt: Ansible modules (apt, package facts); sudo: become; procps/iproute2: ps, ss, ip
# used by tests and facts; ca-certificates: TLS to registries; gnupg/curl: apt keys and HTTP checks.
packages=python3,python3-apt,sudo,ca-certificates,procps,iproute2,curl,gnupg,less
cache=.cache/base-image
force=0
suites=()
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    bookworm|trixie) suites+=("$arg") ;;
    *) echo "base-image: unknown argument or unsupported suite '$arg' (suites: bookworm trixie)" >&2; exit 2 ;;
  esac
done
[ "${#suites[@]}" -gt 0 ] || suites=(bookworm trixie)

# molecule.sh runs this for everyone; concurrent callers wait for one build instead of racing.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# A second image, for scenarios that need systemd as PID 1 (the registry role's unit): the base image plus
# systemd, installed with the base image's own apt sources (the mirror read when the base was built). Its recipe
# includes the base image's id, so it follows a rebuilt base; its .debs are cached like the base's.
# policy-rc.d is removed: as on a real systemd host, a package install starts the package's services.
systemd_packages="systemd systemd-sysv"
# Units that make no sense in a container (a privileged one sees the host's ttys and kernel file systems).
# An empty machine-id: each container's systemd makes its own.
systemd_masked="getty.target console-getty.service systemd-udevd.service systemd-modules-load.service
  systemd-remount-fs.service systemd-firstboot.service sys-kernel-debug.mount sys-kernel-tracing.mount
  sys-kernel-config.mount sys-fs-fuse-connections.mount dev-hugepages.mount"
build_systemd_image() {
  local base_id recipe_s name previous_s
  base_id=$(docker image inspect -f '{{ .Id }}' "$image")
  recipe_s=$( { cat "$0"; echo "$systemd_image $base_id $systemd_packages $systemd_masked"; } | sha256sum | cut -c1-16)
  if [ "$force" = 0 ] && [ "$(docker image inspect -f '{{ index .Config.Labels "buildfarm.recipe" }}' "$systemd_image" 2>/dev/null)" = "$recipe_s" ]; then
    echo "base-image: $systemd_image is up to date (recipe $recipe_s)"
    return
  fi
  mkdir -p "$cache/debs-systemd-$suite"
  name=buildfarm-base-image-systemd-$suite-$$
  echo "base-image: installing systemd into $systemd_image (log: $cache/systemd-$suite.log)"
  # The cache is mounted outside /var/cache/apt/archives, which the base image's docker-clean empties.
  if ! docker run --name "$name" -v "$(pwd)/$cache/debs-systemd-$suite:/tmp/debs" "$image" bash -euc "
      mkdir -p /tmp/debs/partial
      apt-get -qq -o APT::Sandbox::User=root update
      DEBIAN_FRONTEND=noninteractive apt-get -qq -y --no-install-recommends -o APT::Sandbox::User=root \
        -o Dir::Cache::Archives=/tmp/debs/ install $systemd_packages
      rm -f /usr/sbin/policy-rc.d
      systemctl mask ${systemd_masked//$'\n'/ }
      : >/etc/machine-id
      systemctl set-default multi-user.target
      rm -rf /var/lib/apt/lists/* /var/log/*.log
      touch -d @0 /var/lib/apt/lists" >"$cache/systemd-$suite.log" 2>&1; then
    tail -30 "$cache/systemd-$suite.log" >&2
    docker rm -f "$name" >/dev/null
    exit 1
  fi
  previous_s=$(docker image inspect -f '{{ .Id }}' "$systemd_image" 2>/dev/null || true)
  # container=docker: systemd's own test for running in a container.
  docker commit \
    --change "LABEL buildfarm.recipe=$recipe_s" \
    --change 'ENV container=docker' \
    --change 'CMD ["/lib/systemd/systemd"]' \
    "$name" "$systemd_image" >/dev/null || { docker rm -f "$name" >/dev/null; exit 1; }
  docker rm "$name" >/dev/null
  if [ -n "$previous_s" ] && [ "$previous_s" != "$(docker image inspect -f '{{ .Id }}' "$systemd_image")" ]; then
    docker rmi "$previous_s" >/dev/null 2>&1 || true
  fi
  echo "base-image: built $systemd_image (recipe $recipe_s)"
}

# apt_uri SUITE: the URI this machine's apt uses for SUITE (deb822 .sources first, then one-line lists).
apt_uri() {
  local suite=$1 f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v s="$suite" '
      /^[[:space:]]*$/ { if (ok && u) { print u; exit } ; u=""; ok=0; next }
      /^URIs:/ { u=$2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok=1 }
      END { if (ok && u) print u }' "$f" | head -1)
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v s="$suite" '$1 == "deb" { for (i = 2; i < NF; i++) if ($i !~ /^\[/ && $(i + 1) == s) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  return 1
}

# The machine's own release: where apt names no source for a suite, the URI it uses for its own release's suite
# serves the other releases too (one Debian archive holds every suite).
host_suite=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null || true)

debian_mirror() {
  if [ -n "${BUILDFARM_DEBIAN_MIRROR:-}" ]; then echo "$BUILDFARM_DEBIAN_MIRROR"; return; fi
  apt_uri "$suite" && return
  [ -n "$host_suite" ] && apt_uri "$host_suite" && return
  echo "base-image: no '$suite' Debian mirror in /etc/apt/sources.list{,.d}; set BUILDFARM_DEBIAN_MIRROR" >&2
  return 1
}

security_mirror() {
  apt_uri "$suite-security" && return
  [ -n "$host_suite" ] && apt_uri "$host_suite-security"
}

# bootstrap ROOT MIRROR: a minbase root filesystem of $suite with $packages in ROOT, the .debs cached in $debs.
bootstrap() {
  local root=$1 mirror=$2
  if [ "$suite" = bookworm ]; then
    debootstrap --variant=minbase --include="$packages" --cache-dir="$(pwd)/$debs" \
      "$suite" "$root" "$mirror"
  else
    # mmdebstrap has no cache folder: its documented hooks copy the .debs in before and out after.
    # shellcheck disable=SC2016 # $1 is the hook's argument (the root), expanded by mmdebstrap
    mmdebstrap --variant=minbase --include="$packages" --components=main --skip=essential/unlink \
      --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
      --setup-hook="sync-in $(pwd)/$debs /var/cache/apt/archives/" \
      --customize-hook="sync-out /var/cache/apt/archives $(pwd)/$debs" \
      "$suite" "$root" "$mirror"
  fi
}

# build_base: $image from a root filesystem of $suite (cached as a tarball), unless its recipe label matches.
build_base() {
  local mirror root security previous debs tarball
  if [ "$force" = 0 ] && [ "$(docker image inspect -f '{{ index .Config.Labels "buildfarm.recipe" }}' "$image" 2>/dev/null)" = "$recipe" ]; then
    echo "base-image: $image is up to date (recipe $recipe)"
    return
  fi
  debs=$cache/debs-$suite
  [ "$suite" = bookworm ] && debs=$cache/debs  # the folder of the recipe before trixie
  mkdir -p "$debs"
  tarball=$cache/rootfs-$suite-$recipe.tar
  if [ ! -f "$tarball" ]; then
    mirror=$(debian_mirror)
    echo "base-image: bootstrapping $suite from $mirror (a few minutes; cached in $tarball)"
    root=$(mktemp -d "$cache/rootfs.XXXXXX")
    trap 'rm -rf "$root" "$tarball.tmp"' EXIT
    bootstrap "$root" "$mirror" >"$cache/bootstrap-$suite.log" 2>&1 \
      || { tail -30 "$cache/bootstrap-$suite.log" >&2; exit 1; }
    # Same tweaks as the official debian images: services are not started by package installs in a
    # container (no init), apt keeps no downloaded .debs, and no docs/man pages bloat the image.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
EOF
    # Instances reach the mirror through the docker bridge (roles apt-install what they need), with the same
    # suites as this machine so they get the same package versions (updates and security included).
    rm -f "$root/etc/apt/sources.list"
    {
      printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
        "$mirror" "$suite" "$suite" /usr/share/keyrings/debian-archive-keyring.gpg
      if security=$(security_mirror); then
        printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
          "$security" "$suite" /usr/share/keyrings/debian-archive-keyring.gpg
      fi
    } >"$root/etc/apt/sources.list.d/debian.sources"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/lock "$root"/var/cache/apt/archives/partial/* "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* \
      "$root"/usr/share/info/* "$root"/tmp/* "$root"/var/log/*.log
    find "$root/usr/share/doc" -type f ! -name copyright -delete
    # The lists are empty: an old mtime makes apt's cache age (the apt module's cache_valid_time) say so too.
    touch -d @0 "$root/var/lib/apt/lists"
    : >"$root/etc/hostname"
    # mmdebstrap copies the machine's resolver configuration; the engine mounts each container's own
    rm -f "$root/etc/resolv.conf"
    tar --numeric-owner --xattrs -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
    trap - EXIT
    # Older recipes' tarballs are never used again.
    find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name 'rootfs-*-*.tar' -delete
    find "$cache" -maxdepth 1 -name "rootfs-$suite-*.tar" ! -name "rootfs-$suite-$recipe.tar" -delete
  fi

  previous=$(docker image inspect -f '{{ .Id }}' "$image" 2>/dev/null || true)
  docker import \
    --change "LABEL buildfarm.recipe=$recipe" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    "$tarball" "$image" >/dev/null
  # The image this one replaces is untagged now; drop it unless a container still uses it.
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{ .Id }}' "$image")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
  echo "base-image: built $image (recipe $recipe)"
}

for suite in "${suites[@]}"; do
  image=buildfarm/debian:$suite
  systemd_image=buildfarm/debian-systemd:$suite
  recipe=$( { cat "$0"; echo "$image $suite $packages"; } | sha256sum | cut -c1-16)
  build_base
  build_systemd_image
done
