#!/bin/bash
# Reproduces docs/performance.md: a release build and the full vws-bench
# run on the kernel model (table, JSON, plot; the instruction counts run
# inside it under callgrind).
#
#   scripts/bench.sh [OUTDIR]          (default: bench-out)
#
# With VGSHIM_VTEST_SOCKET set to a virglrenderer server's socket, the model
# forwards the host's work to that server (docs/kernel-model.md, "The real
# host") and the alloc workload shows the real host's latencies:
#
#   . scripts/host-lib.sh; host_start "$(bash scripts/host-build.sh | tail -1)"
#   VGSHIM_VTEST_SOCKET=$VWS_HOST_SOCKET scripts/bench.sh bench-out/realhost \
#       --workload alloc; host_stop
#
# Extra arguments go to vws-bench.
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench-out}
shift || true
mkdir -p "$out"
bash scripts/deps.sh gnuplot-nox valgrind
dir=build-release
[ -f "$dir/build.ninja" ] || meson setup "$dir" --buildtype=release -Dtests=disabled >/dev/null
ninja -C "$dir" src/tools/vws-bench src/virtio/shim/libvirtgpu-shim.so >/dev/null
bench=$dir/src/tools/vws-bench

plot=()
case " $* " in *" --workload "*) ;; *) plot=(--plot "$out/window.png") ;; esac
{ echo "# $(date -u +%F) $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$bench" --model --json-file "$out/results.json" "${plot[@]}" "$@"; } | tee "$out/table.txt"
