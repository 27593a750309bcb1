#!/bin/bash
# Installs the Debian packages the build and the tests need, only those
# missing, so a warm machine pays nothing. Usage: scripts/deps.sh [extra...]
exec bash "$(dirname "$0")/apt-need.sh" deps meson ninja-build pkg-config gcc clang \
	libclang-rt-14-dev libdrm-dev libvulkan-dev libexpat1-dev libcmocka-dev valgrind \
	python3 virgl-server mesa-vulkan-drivers vulkan-tools "$@"
