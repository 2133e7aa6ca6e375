#!/bin/sh
# Prints the URI this machine's apt uses for the Debian suite $1 (e.g. bookworm): deb822 sources
# (/etc/apt/sources.list.d/*.sources) first, then one-line lists (/etc/apt/sources.list, sources.list.d/*.list);
# disabled stanzas (Enabled: no) and the file $2 (a source this caller writes itself) are skipped. Exit 1 when none.
# Used by role builder (Debian 12 builders get Debian 13's docker-buildx from their own mirror) and by
# scripts/bootstrap-system.sh (the local default): the mirror is read where it is used, never stored in the repo.
set -eu
suite=${1:?usage: debian-mirror.sh SUITE [SKIP_FILE]}
skip=${2:-}
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  [ "$f" != "$skip" ] || continue
  uri=$(awk -v s="$suite" '
    function flush() { if (ok && u && en != "no") { print u; exit } ; u = ""; ok = 0; en = "" }
    /^[[:space:]]*$/ { flush(); next }
    /^[[:space:]]*#/ { next }
    tolower($1) == "uris:" { u = $2 }
    tolower($1) == "enabled:" { en = tolower($2) }
    tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
    END { flush() }' "$f" | head -n 1)
  if [ -n "$uri" ]; then echo "$uri"; exit 0; fi
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  [ "$f" != "$skip" ] || continue
  # deb [options] URI SUITE COMPONENTS...
  uri=$(awk -v s="$suite" '$1 == "deb" {
      i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if ($(i + 1) == s) { print $i; exit } }' "$f")
  if [ -n "$uri" ]; then echo "$uri"; exit 0; fi
done
exit 1
