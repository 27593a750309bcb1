#!/bin/bash
# Installs the Debian packages the build and the tests need, only those
# missing, so a warm machine pays nothing. Usage: scripts/deps.sh [extra...]
set -eu
pkgs=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev
      libdrm-dev libvulkan-dev libexpat1-dev libcmocka-dev valgrind
      python3 virgl-server mesa-vulkan-drivers vulkan-tools "$@")
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	# other users of the machine may hold dpkg's lock for a while
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
	$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi
