#!/usr/bin/env bash
# Installs the Debian packages the farm needs on the local default (idempotent, quiet when done).
set -euo pipefail
need=()
pkgs=(docker.io docker-registry qemu-user-static binfmt-support debootstrap mmdebstrap arch-test apache2-utils openssl git make curl jq shellcheck)
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "bootstrap-system: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The registry package would start its own service on :5000 where systemd runs; the role owns that port.
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
