#!/bin/bash
# The README's first command: install what is missing, build, and run the
# main job, the device info tool. On a machine without a virtio-gpu render
# node vws-info says so and runs itself on the kernel model.
# Extra arguments go to vws-info (e.g. --kernel v2, --json).
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
dir=build-gcc
[ -f "$dir/build.ninja" ] || meson setup "$dir" --werror >/dev/null
ninja -C "$dir" >/dev/null
if [ -x "$dir/src/tools/vws-info" ]; then
	exec "$dir/src/tools/vws-info" "$@"
fi
exec "$dir/src/virtio/shim/vgshim-selfcheck" "$@"
