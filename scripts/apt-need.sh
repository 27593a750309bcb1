#!/bin/bash
# Installs the Debian packages named that are not installed yet, and nothing
# else, so a warm machine pays nothing:
#
#   scripts/apt-need.sh WHO PACKAGE...     (WHO names the caller in messages)
#
# Waits for dpkg's lock (other users of the machine may hold it). Exits
# non-zero when apt-get fails.
set -eu
who=$1; shift
[ $# -gt 0 ] || exit 0
installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
	awk '/ install ok installed$/ { printf "%s ", $1 }')"
missing=()
for p in "$@"; do
	[[ $installed == *" $p "* ]] || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0
echo "$who: installing ${missing[*]}" >&2
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
	"${missing[@]}" >&2 || { echo "$who: cannot install ${missing[*]}" >&2; exit 1; }
