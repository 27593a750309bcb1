#!/bin/bash
# The real-host stage: a real Vulkan driver (stock Venus here, Venus on
# libvirtio-winsys in venus-vws.sh, called at the end) on the kernel model
# whose host is a real renderer (virglrenderer 1.1 + lavapipe), and the
# model's real-host mode by raw ioctls. Every check is one PASS/FAIL/SKIP line (to $RESULTS
# when set, else stdout); exits non-zero when one failed.
#
#   tests/realhost/run.sh [BUILD_DIR]
#
# Skips (with the reason) only when the host renderer cannot be built here.
# Every Vulkan program runs under a timeout: a hang is a failure, not a wait.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$ROOT/build-gcc}
out=${RESULTS:-/dev/stdout}
work=$(mktemp -d "${TMPDIR:-/tmp}/vws-realhost.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
T=${REALHOST_TIMEOUT:-120}

result() { # STATUS NAME [REASON]
	echo "$1 realhost:$2${3:+ ($3)}" >> "$out"
	[ "$1" = FAIL ] && { failed=1; echo "realhost: FAIL $2${3:+: $3}" >&2; }
	return 0
}
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# 1. The host renderer and stock Venus, built and unpacked by the project.
if ! server=$(bash "$ROOT/scripts/host-build.sh" 2>"$work/host-build.log" | tail -1) || [ ! -x "$server" ]; then
	result SKIP host "the host renderer cannot be built here: $(tail -1 "$work/host-build.log")"
	exit 0
fi
result PASS host-build
if grep -q VKR_SHM_HOST_VISIBLE "$(dirname "$server")/../libexec/virgl_render_server"; then
	result PASS host-patched
else
	result FAIL host-patched "virgl_render_server does not know VKR_SHM_HOST_VISIBLE"
fi
if ! bash "$ROOT/scripts/venus-stock.sh" >"$work/stock.log" 2>&1; then
	result FAIL stock-venus "$(tail -1 "$work/stock.log")"
	exit 1
fi
result PASS stock-venus
ninja -C "$build" >/dev/null 2>&1 || { result FAIL build "ninja -C $build"; exit 1; }

# 2. The model's real-host mode by raw ioctls (tests/realhost/test_rhost.c);
# its last cases stop and kill the server it is given.
(
	. "$ROOT/scripts/host-lib.sh"
	host_start "$server" || exit 3
	VGSHIM_VTEST_SOCKET=$VWS_HOST_SOCKET VWS_HOST_PID=$VWS_HOST_PID \
		CMOCKA_MESSAGE_OUTPUT=TAP meson test -C "$build" --no-rebuild --suite realhost \
		--print-errorlogs >"$work/meson.log" 2>&1
	host_stop
) || true
python3 "$ROOT/scripts/tally.py" meson "$build" realhost > "$work/model.results"
cat "$work/model.results" >> "$out"
grep -q '^FAIL' "$work/model.results" && failed=1

vkrun() { # NAME VK-RUN-OPTIONS... -- COMMAND...: runs with a timeout, output in $work/NAME.*
	local name=$1; shift
	VGSHIM_STATS=$work/$name.stats timeout -k 5 "$T" bash "$ROOT/scripts/vk-run.sh" "$@" \
		>"$work/$name.out" 2>"$work/$name.err"
}
roundtrip=$build/tests/realhost/vk-roundtrip

# 3. vulkaninfo names the Venus device, on both transports.
for tr in vtest model; do
	if vkrun "info-$tr" --driver stock --transport "$tr" -- vulkaninfo --summary &&
	   grep -q 'deviceName *= Virtio-GPU Venus' "$work/info-$tr.out"; then
		result PASS "stock/$tr/vulkaninfo"
	else
		result FAIL "stock/$tr/vulkaninfo" "$(tail -1 "$work/info-$tr.err")"
	fi
done

# 4. The round trip on vtest and on every generation; on the model the
# counters must agree with what Venus did: with 3 of 6 buffers mapped, two
# more blobs naming host memory, two more host maps and two buffers more
# region than with one (stock Venus creates a buffer's blob at its first
# map). One is the baseline because the first GPU submission makes Venus
# allocate memory of its own (command and feedback buffers).
size=$((1 << 20))
if vkrun rt-vtest --driver stock --transport vtest -- "$roundtrip" --buffers 4 &&
   grep -q ': ok$' "$work/rt-vtest.out"; then
	result PASS stock/vtest/roundtrip
else
	result FAIL stock/vtest/roundtrip "$(tail -1 "$work/rt-vtest.err")"
fi
for k in legacy v1 v2 fixed; do
	ok=1
	vkrun "rt-$k-1" --driver stock --kernel "$k" -- "$roundtrip" --buffers 6 --map 1 --size $size || ok=0
	vkrun "rt-$k" --driver stock --kernel "$k" -- "$roundtrip" --buffers 6 --map 3 --size $size || ok=0
	grep -q ': ok$' "$work/rt-$k.out" || ok=0
	if [ $ok = 0 ]; then
		result FAIL "stock/model-$k/roundtrip" "$(tail -1 "$work/rt-$k.err")"
		continue
	fi
	result PASS "stock/model-$k/roundtrip"
	a=$work/rt-$k-1.stats b=$work/rt-$k.stats
	d_blobs=$(( $(stat_of blobs_blob_id "$b") - $(stat_of blobs_blob_id "$a") ))
	d_maps=$(( $(stat_of host_map_cmds "$b") - $(stat_of host_map_cmds "$a") ))
	d_region=$(( $(stat_of region_bytes_peak "$b") - $(stat_of region_bytes_peak "$a") ))
	leaks=$(( $(stat_of live_objects "$b") + $(stat_of live_mappings "$b") + $(stat_of live_files "$b") ))
	if [ "$d_blobs" = 2 ] && [ "$d_maps" = 2 ] && [ "$d_region" = $((2 * size)) ] &&
	   [ "$(stat_of blobs_deferred "$b")" = 0 ] && [ "$leaks" = 0 ]; then
		result PASS "stock/model-$k/counters"
	else
		result FAIL "stock/model-$k/counters" \
			"blobs +$d_blobs maps +$d_maps region +$d_region (want 2, 2, $((2 * size))), deferred $(stat_of blobs_deferred "$b"), live $leaks"
	fi
done

# Sizes that are neither page nor word multiples (the blob is page-rounded,
# the buffer not), on both transports.
for tr in vtest model; do
	ok=1
	for sz in 16 1000 4097 70000 $(((4 << 20) + 12)); do
		vkrun "odd-$tr-$sz" --driver stock --transport "$tr" -- "$roundtrip" --buffers 2 --size "$sz" &&
			grep -q ': ok$' "$work/odd-$tr-$sz.out" || { ok=0; break; }
	done
	if [ $ok = 1 ]; then
		result PASS "stock/$tr/odd-sizes"
	else
		result FAIL "stock/$tr/odd-sizes" "size $sz: $(tail -1 "$work/odd-$tr-$sz.err")"
	fi
done

# 5. A host-visible region smaller than all the program allocates: 16 x 4 MiB
# into 32 MiB, two mapped. Stock Venus only makes blobs for what is mapped.
for k in legacy v2 fixed; do
	if vkrun "small-$k" --driver stock --kernel "$k" --hostmem 32M -- \
		"$roundtrip" --buffers 16 --size $((4 << 20)) --map 2 &&
	   grep -q ': ok$' "$work/small-$k.out"; then
		result PASS "stock/model-$k/region-smaller-than-allocations"
	else
		result FAIL "stock/model-$k/region-smaller-than-allocations" "$(tail -1 "$work/small-$k.err")"
	fi
done

# 6. The server killed under a running program: an error, not a hang. The
# model loses the connection (its message) and fails the host's calls with
# EIO; Venus turns that into VK_ERROR_DEVICE_LOST or _OUT_OF_DEVICE_MEMORY,
# or, when it was waiting on its ring at that moment, its own watchdog
# aborts the process ("aborting on expired ring alive status"): both end the
# program. The stack line names the server's pid; "ready" says a round
# passed. The program's output comes through a FIFO read with a deadline.
mkfifo "$work/kill.fifo"
(
	timeout -k 5 "$T" bash "$ROOT/scripts/vk-run.sh" --driver stock -- \
		"$roundtrip" --loop --buffers 2 >"$work/kill.fifo" 2>"$work/kill.err"
	echo $? > "$work/kill.status"
) &
runner=$!
exec {kfd}<"$work/kill.fifo"
pid= ready=
while [ -z "$ready" ] && IFS= read -r -t "$T" -u "$kfd" line; do
	case "$line" in
	"vk-run: "*"(pid "*) pid=${line##*(pid }; pid=${pid%%)*} ;;
	ready) ready=1 ;;
	esac
done
if [ -n "$pid" ] && [ -n "$ready" ]; then
	kill -KILL "$pid" 2>/dev/null # the server's PID namespace ends with it
	wait $runner
	st=$(cat "$work/kill.status")
	why=$(grep -o -m1 -e 'VK_ERROR_[A-Z_]*' -e 'aborting on expired ring alive status' "$work/kill.err")
	if { [ "$st" = 4 ] || [ "$st" = 3 ] || [ "$st" = 134 ]; } && [ -n "$why" ]; then
		result PASS stock/model/server-killed "exit $st: $why"
	else
		result FAIL stock/model/server-killed "exit status $st (124 = hung): $(tail -1 "$work/kill.err")"
	fi
else
	kill $runner 2>/dev/null
	wait $runner
	result FAIL stock/model/server-killed "the program never got ready: $(tail -1 "$work/kill.err")"
fi
exec {kfd}<&-
grep -q '^vgshim: lost the real host' "$work/kill.err" && result PASS stock/model/server-killed-seen ||
	result FAIL stock/model/server-killed-seen "the model did not report the lost connection"

# 7. host_stop leaves nothing of the server: no process, no directory.
(
	. "$ROOT/scripts/host-lib.sh"
	host_start "$server" || exit 3
	VN_DEBUG=vtest VTEST_SOCKET_NAME=$VWS_HOST_SOCKET VK_ICD_FILENAMES=$ROOT/build-venus/stock/virtio_icd.json \
		timeout -k 5 "$T" vulkaninfo --summary >/dev/null 2>&1 || exit 4
	dir=$VWS_HOST_DIR procs=()
	for p in "$VWS_HOST_PID" $(_host_descendants "$VWS_HOST_PID"); do
		t=$(_host_starttime "$p") && procs+=("$p $t")
	done
	host_stop
	for p in "${procs[@]}"; do
		[ "$(_host_starttime "${p% *}")" = "${p#* }" ] && exit 5
	done
	[ ! -e "$dir" ] && [ ${#procs[@]} -gt 1 ] || exit 6
)
st=$?
case $st in
0) result PASS host-stop-leaves-nothing ;;
5) result FAIL host-stop-leaves-nothing "a process of the server is still running" ;;
*) result FAIL host-stop-leaves-nothing "status $st" ;;
esac

# 8. Venus on libvirtio-winsys (mesa/): the same stack with our driver, its
# memory strategy per generation and policy, and the region against stock.
bash "$ROOT/tests/realhost/venus-vws.sh" "$build" || failed=1

exit $failed
