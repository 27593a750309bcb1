#!/bin/bash
# Reproduces docs/performance.md: a release build, the full vws-bench run
# (table + plot) and the instruction counts of the overhead workload under
# callgrind. Usage: scripts/bench.sh [OUTDIR]   (default: bench-out)
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench-out}
mkdir -p "$out"
bash scripts/deps.sh gnuplot-nox
dir=build-release
[ -f "$dir/build.ninja" ] || meson setup "$dir" --buildtype=release -Dtests=disabled >/dev/null
ninja -C "$dir" src/tools/vws-bench src/virtio/shim/libvirtgpu-shim.so >/dev/null
bench=$dir/src/tools/vws-bench
shim=$PWD/$dir/src/virtio/shim/libvirtgpu-shim.so

{ echo "# $(date -u +%F) $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  "$bench" --plot "$out/window.png"; } | tee "$out/table.txt"
"$bench" --json > "$out/results.json"

# Instruction counts: the same lives through raw ioctls and through the
# winsys, in one process, inclusive of everything each loop calls.
LD_PRELOAD=$shim VGSHIM_KERNEL=fixed \
	valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
	"$bench" --workload overhead --overhead-iters 2000 >/dev/null 2>"$out/callgrind.log"
callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null |
	awk '/vws_bench_overhead_(raw|vws)_loop/ { gsub(",", "", $1); n[$0 ~ /raw/ ? "raw" : "vws"] = $1 }
	     END { if (n["raw"] > 0) printf "callgrind instructions: raw %d, winsys %d, ratio %.3f\n",
	           n["raw"], n["vws"], n["vws"] / n["raw"]; else print "callgrind: no counts" }' |
	tee "$out/callgrind.txt"
