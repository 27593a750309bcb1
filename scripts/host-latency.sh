#!/bin/bash
# Measures what the real host takes for RESOURCE_CREATE_BLOB and MAP_BLOB,
# through the real-host stack (the kernel model forwarding to a
# virglrenderer server over vtest; docs/kernel-model.md, "The real host"),
# which is what the model's VGSHIM_CREATE_LATENCY_US / VGSHIM_MAP_LATENCY_US
# and vws-bench's defaults are calibrated from (docs/performance.md, "Host
# latencies").
#
#   scripts/host-latency.sh [OUTDIR]        (default: bench-out/host-latency)
#
# 1. vws-bench's alloc workload with the real host behind the model (no
#    latency of the model's own): allocation, first map right after and long
#    after, for eager, lazy-blob and deferred (Venus-style blob_id 0 blobs);
# 2. stock Venus (vk-roundtrip, 64 mapped buffers) on the model with the real
#    host, RUNS times: the model's host_create_named_ns / blobs_blob_id is the
#    mean time a blob of Vulkan memory waited for the server.
# The server is started and stopped by scripts/host-lib.sh (by pid, also when
# this script fails); every program runs under a timeout.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$ROOT/bench-out/host-latency}
runs=${RUNS:-3}
T=${HOST_LATENCY_TIMEOUT:-600}
mkdir -p "$out"
cd "$ROOT"

server=$(bash scripts/host-build.sh | tail -1)
[ -f build-release/build.ninja ] ||
	meson setup build-release --buildtype=release -Dtests=disabled >/dev/null
ninja -C build-release src/tools/vws-bench src/virtio/shim/libvirtgpu-shim.so >/dev/null
[ -f build-gcc/build.ninja ] || meson setup build-gcc --werror >/dev/null
ninja -C build-gcc tests/realhost/vk-roundtrip >/dev/null

. scripts/host-lib.sh
host_start "$server"
trap 'host_stop' EXIT
echo "# $(date -u +%F) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/alloc.txt"
VGSHIM_VTEST_SOCKET=$VWS_HOST_SOCKET timeout -k 5 "$T" build-release/src/tools/vws-bench \
	--model --workload alloc --json-file "$out/alloc.json" | tee -a "$out/alloc.txt"
host_stop
trap - EXIT

# vk-run.sh starts (and stops) a server of its own for each run
: > "$out/venus.txt"
for i in $(seq 1 "$runs"); do
	VGSHIM_STATS=$out/venus-$i.stats timeout -k 5 "$T" bash scripts/vk-run.sh --driver stock \
		--transport model -- build-gcc/tests/realhost/vk-roundtrip --buffers 64 \
		--size 65536 >"$out/venus-$i.out" 2>"$out/venus-$i.err" ||
		{ echo "host-latency: vk-roundtrip failed: $(tail -1 "$out/venus-$i.err")" >&2; exit 1; }
	awk '/^blobs_created /{c=$2} /^blobs_blob_id /{n=$2} /^host_create_ns /{t=$2}
	     /^host_create_named_ns /{tn=$2}
	     END { if (n > 0) printf "stock Venus: %d Vulkan memory blobs, %.1f us each; %d other blobs, %.1f us each\n",
	           n, tn / n / 1000, c - n, (c > n ? (t - tn) / (c - n) / 1000 : 0) }' "$out/venus-$i.stats" |
		tee -a "$out/venus.txt"
done
