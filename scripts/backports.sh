#!/bin/bash
# Makes Debian's bookworm-backports (binary and source indices) known to apt,
# with the archive address taken from the machine's own apt configuration:
# the URI that already serves "bookworm" is reused for "bookworm-backports".
# No host name is written into this repository. Backports is NotAutomatic,
# so nothing on the system is upgraded by this; packages are taken from it
# only where a caller asks with -t bookworm-backports or apt-get download/source.
#
# Usage: scripts/backports.sh         (idempotent; apt-get update only when added)
# Prints the suite name on success.
set -eu
suite=bookworm-backports
list=/etc/apt/sources.list.d/vws-bookworm-backports.sources
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

# The archive URI and keyring of the main suite, from deb822 files first,
# then one-line entries.
uri=; keyring=
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && [ "$f" != "$list" ] || continue
	# deb822: stanzas separated by blank lines; pick one whose Suites has bookworm
	read -r uri keyring < <(awk '
		BEGIN { RS = ""; FS = "\n" }
		{
			u = ""; s = ""; k = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u) }
				if ($i ~ /^Suites:/) s = " " substr($i, 8) " "
				if ($i ~ /^Signed-By:/) { k = $i; sub(/^Signed-By:[ \t]*/, "", k) }
			}
			if (u != "" && s ~ /[ \t]bookworm[ \t]/) { print u, (k == "" ? "-" : k); exit }
		}' "$f") || true
	[ -n "$uri" ] && break
done
if [ -z "$uri" ]; then
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { u = $i; if ($(i+1) == "bookworm") { print u; exit } break } }' "$f")
		[ -n "$uri" ] && break
	done
	keyring=-
fi
if [ -z "$uri" ]; then
	echo "backports: no apt source for bookworm found to derive $suite from" >&2
	exit 1
fi

want="Types: deb deb-src
URIs: $uri
Suites: $suite
Components: main"
[ "$keyring" != "-" ] && [ -n "$keyring" ] && want="$want
Signed-By: $keyring"

if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
	echo "backports: adding $suite (deb, deb-src) from the machine's bookworm source" >&2
	printf '%s\n' "$want" | $SUDO tee "$list" >/dev/null
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
elif ! apt-cache policy 2>/dev/null | grep -q " $suite/main"; then
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
fi
echo "$suite"
