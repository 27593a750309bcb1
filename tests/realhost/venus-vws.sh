#!/bin/bash
# Venus on libvirtio-winsys (mesa/, docs/venus.md) on the real stack: the
# part of the real-host stage that run.sh hands over to. Every check is one
# PASS/FAIL/SKIP line (to $RESULTS when set, else stdout); exits non-zero
# when one failed. Every Vulkan program runs under a timeout.
#
#   tests/realhost/venus-vws.sh [BUILD_DIR]
#
# What it proves, through scripts/vk-run.sh --driver vws:
#  1. vulkaninfo --summary and vk-roundtrip pass over vtest and on the kernel
#     model for every generation and policy but v1 under always; the driver
#     says which backend, policy and probe result it runs with;
#  2. the memory strategy, from the model's counters: where the hint is
#     sent and honoured (fixed under auto and always, v2 and v1 under
#     always) the blobs of all allocations exist (created in
#     vkAllocateMemory, hinted) and the region grows only by what is mapped;
#     elsewhere Venus-on-vws is lazy, as stock Venus: a blob only for
#     mapped memory; legacy under always shows the documented cost of
#     forcing the hint on a kernel that ignores it;
#  3. a region smaller than all allocations is fine under the hint;
#  4. v1 and v2 under always with a full region: an error, not a hang, and
#     with VWS_HOST_VISIBLE_SIZE the winsys's refusal before the kernel;
#  5. dma-buf export of never-mapped memory forces its mapping and gives the
#     memory's contents (on the host whose driver offers dma-buf export:
#     vk-run.sh --host udmabuf);
#  6. vk-membench's region figures: held = mapped, stock holds what it
#     created at allocation.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$ROOT/build-gcc}
out=${RESULTS:-/dev/stdout}
work=$(mktemp -d "${TMPDIR:-/tmp}/vws-venus.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
T=${REALHOST_TIMEOUT:-120}
MiB=$((1 << 20))

result() { # STATUS NAME [REASON]
	echo "$1 realhost:vws/$2${3:+ ($3)}" >> "$out"
	[ "$1" = FAIL ] && { failed=1; echo "realhost: FAIL vws/$2${3:+: $3}" >&2; }
	return 0
}
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
# stat_delta KEY NAME-A NAME-B: the counter in B's run minus in A's
stat_delta() { echo $(( $(stat_of "$1" "$work/$3.stats") - $(stat_of "$1" "$work/$2.stats") )); }
live_of() { # what a run left alive in the model
	local f=$work/$1.stats
	echo $(( $(stat_of live_objects "$f") + $(stat_of live_mappings "$f") + $(stat_of live_files "$f") ))
}
why() { tail -1 "$work/$1.err"; }

# vkrun NAME VK-RUN-OPTIONS... -- COMMAND...: Venus-on-vws (a --driver in
# the options wins: vk-run.sh takes the last), with a timeout; output in
# $work/NAME.{out,err,stats,status}
vkrun() {
	local name=$1; shift
	VGSHIM_STATS=$work/$name.stats timeout -k 5 "$T" bash "$ROOT/scripts/vk-run.sh" \
		--driver vws "$@" >"$work/$name.out" 2>"$work/$name.err"
	local st=$?
	echo $st > "$work/$name.status"
	return $st
}
ok_line() { grep -q ': ok$' "$work/$1.out"; }

roundtrip=$build/tests/realhost/vk-roundtrip
membench=$build/tests/realhost/vk-membench

# 0. The driver: Mesa's Venus with mesa/*.patch, on this tree's winsys.
if ! icd=$(bash "$ROOT/scripts/mesa-build.sh" 2>"$work/mesa-build.log" | tail -1) || [ ! -f "$icd" ]; then
	result FAIL build "scripts/mesa-build.sh: $(tail -1 "$work/mesa-build.log")"
	exit 1
fi
result PASS build
command -v vulkaninfo >/dev/null || bash "$ROOT/scripts/deps.sh" vulkan-tools >&2

# The configurations: transport/generation and policy. v1 under always is
# left to section 4 (the documented risk).
configs=(vtest:auto vtest:always)
for k in legacy v2 fixed; do
	for d in auto always never; do configs+=("$k:$d"); done
done
configs+=(v1:auto v1:never v1:always)

# What the probe must find and the hint must do, per configuration:
# hint = the probe's answer; mode = eager (blob at allocation, hinted,
# region at first map), lazy (blob at first map) or eager-unhinted (blob at
# allocation and the region with it: always on a kernel that ignores hints).
expect() { # GEN POLICY -> "HINT MODE"
	local hint=ignored mode=lazy
	case $1 in fixed) hint=validated ;; vtest) hint=none ;; esac
	case $1:$2 in
	fixed:auto | fixed:always | v2:always | v1:always) mode=eager ;;
	legacy:always) mode=eager-unhinted ;;
	vtest:always) mode=eager ;;
	esac
	echo "$hint $mode"
}
stack() { # GEN POLICY -> vk-run.sh options
	if [ "$1" = vtest ]; then
		echo "--transport vtest --defer $2"
	else
		echo "--transport model --kernel $1 --defer $2"
	fi
}

# 1 + 2. vulkaninfo, and the round trip twice: 8 buffers with 3 mapped
# against 2 with 1 mapped. The difference is this program's doing alone:
# Venus's own memory (rings, replies, feedback) is the same in both runs.
for c in "${configs[@]}"; do
	gen=${c%%:*} pol=${c#*:}
	read -r hint mode <<< "$(expect "$gen" "$pol")"
	# shellcheck disable=SC2046
	opts=($(stack "$gen" "$pol"))
	tag=$gen-$pol
	[ "$gen" = vtest ] || tag=model-$tag
	backend=kernel; [ "$gen" = vtest ] && backend=vtest

	if [ "$c" != v1:always ]; then
		if VN_DEBUG=init vkrun "info-$tag" "${opts[@]}" -- vulkaninfo --summary &&
		   grep -q 'deviceName *= Virtio-GPU Venus' "$work/info-$tag.out" &&
		   grep -q "vws: $backend backend on .*, defer policy $pol (environment), hint $hint" \
			"$work/info-$tag.err"; then
			result PASS "$tag/vulkaninfo" "$backend backend, hint $hint"
		else
			result FAIL "$tag/vulkaninfo" "status $(cat "$work/info-$tag.status"): $(why "info-$tag")"
		fi
	fi

	a=rt-$tag-a b=rt-$tag-b
	if ! VWS_DEBUG=bo vkrun "$a" "${opts[@]}" -- "$roundtrip" --buffers 2 --map 1 --size $MiB ||
	   ! VWS_DEBUG=bo vkrun "$b" "${opts[@]}" -- "$roundtrip" --buffers 8 --map 3 --size $MiB ||
	   ! ok_line "$a" || ! ok_line "$b"; then
		result FAIL "$tag/roundtrip" "status $(cat "$work/$a.status")/$(cat "$work/$b.status"): $(why "$b")"
		continue
	fi
	result PASS "$tag/roundtrip"

	# The winsys's own log: hinted blobs of this program's memory.
	hinted=$(( $(grep -c 'created .* hinted' "$work/$b.err") - $(grep -c 'created .* hinted' "$work/$a.err") ))
	if [ "$gen" = vtest ]; then
		# no kernel, no region: only the path taken can be seen
		want=0; [ "$mode" = eager ] && want=6
		if [ "$hinted" = "$want" ]; then
			result PASS "$tag/strategy" "$hinted more hinted blobs for 6 more allocations, 2 more maps"
		else
			result FAIL "$tag/strategy" "$hinted more hinted blobs, want $want"
		fi
		continue
	fi
	d_blobs=$(stat_delta blobs_blob_id "$a" "$b")
	d_deferred=$(stat_delta blobs_deferred "$a" "$b")
	d_maps=$(stat_delta host_map_cmds "$a" "$b")
	d_region=$(stat_delta region_bytes_peak "$a" "$b")
	case $mode in
	eager) want="6 6 2 $((2 * MiB)) 6" ;;          # every allocation a deferred blob
	lazy) want="2 0 2 $((2 * MiB)) 0" ;;           # as stock Venus
	eager-unhinted) want="6 0 6 $((6 * MiB)) 6" ;; # hint sent, kernel maps at creation
	esac
	got="$d_blobs $d_deferred $d_maps $d_region $hinted"
	if [ "$got" = "$want" ] && [ "$(live_of "$b")" = 0 ]; then
		result PASS "$tag/strategy" "$mode: 6 more allocations, 2 more maps: blobs +$d_blobs, deferred +$d_deferred, host maps +$d_maps, region +$((d_region / MiB)) MiB"
	else
		result FAIL "$tag/strategy" "$mode: blobs deferred host-maps region hinted = $got, want $want; live $(live_of "$b")"
	fi
done

# 3. A region smaller than all the program allocates: 16 x 4 MiB into
# 32 MiB, two mapped. Under the hint every allocation is a blob, and only
# the mapped ones hold region. On a kernel that ignores the hint, always
# makes the allocations themselves fail (cleanly) once the region is full.
for c in fixed:auto fixed:always v2:always legacy:auto legacy:always; do
	gen=${c%%:*} pol=${c#*:}
	name=small-$gen-$pol
	vkrun "$name" --kernel "$gen" --defer "$pol" --hostmem 32M -- \
		"$roundtrip" --buffers 16 --size $((4 * MiB)) --map 2
	st=$(cat "$work/$name.status")
	f=$work/$name.stats
	if [ "$c" = legacy:always ]; then
		if [ "$st" = 3 ] && grep -q 'vkAllocateMemory.*VK_ERROR_OUT_OF_DEVICE_MEMORY' "$work/$name.err"; then
			result PASS "model-$gen-$pol/region-smaller-than-allocations" "allocation fails with VK_ERROR_OUT_OF_DEVICE_MEMORY: the kernel maps hinted blobs at creation"
		else
			result FAIL "model-$gen-$pol/region-smaller-than-allocations" "status $st (want 3, VK_ERROR_OUT_OF_DEVICE_MEMORY): $(why "$name")"
		fi
		continue
	fi
	deferred=$(stat_of blobs_deferred "$f")
	want_deferred=16; [ "$pol" = auto ] && [ "$gen" = legacy ] && want_deferred=0
	if [ "$st" = 0 ] && ok_line "$name" && [ "${deferred:-0}" -ge "$want_deferred" ] &&
	   [ "$(stat_of region_bytes_peak "$f")" -le $((32 * MiB)) ]; then
		result PASS "model-$gen-$pol/region-smaller-than-allocations" "64 MiB allocated, $deferred deferred blobs, region peak $(( $(stat_of region_bytes_peak "$f") / MiB )) of 32 MiB"
	else
		result FAIL "model-$gen-$pol/region-smaller-than-allocations" "status $st, deferred ${deferred:-?} (want >= $want_deferred): $(why "$name")"
	fi
done

# 4. The documented risk: always on v1 (the first posting) and v2 (Linux
# 7.2 as merged), whose kernels drop a failed deferred map and let mmap
# wait forever. A full region: 8 x 2 MiB into 16 MiB, all mapped. The model
# turns the hang into EDEADLK after VGSHIM_HANG_MS; Venus must end with
# VK_ERROR_MEMORY_MAP_FAILED, well inside the timeout.
# With the region's size given (VWS_HOST_VISIBLE_SIZE: Venus cannot know
# it), the winsys refuses that map itself and the kernel never waits.
for c in v1:hang v2:hang v2:refused; do
	gen=${c%%:*} how=${c#*:}
	name=full-$gen-$how
	size_env=; [ "$how" = refused ] && size_env=16M
	VWS_HOST_VISIBLE_SIZE=$size_env VGSHIM_HANG_MS=500 vkrun "$name" --kernel "$gen" \
		--defer always --hostmem 16M -- "$roundtrip" --buffers 8 --size $((2 * MiB))
	st=$(cat "$work/$name.status")
	hangs=$(stat_of hangs_detected "$work/$name.stats")
	want_hangs=1; [ "$how" = refused ] && want_hangs=0
	if [ "$st" = 3 ] && grep -q 'vkMapMemory.*VK_ERROR_MEMORY_MAP_FAILED' "$work/$name.err" &&
	   [ "${hangs:-x}" = "$want_hangs" ]; then
		if [ "$how" = hang ]; then
			result PASS "model-$gen-always/full-region-no-hang" "VK_ERROR_MEMORY_MAP_FAILED after the map a real kernel would hang in"
		else
			result PASS "model-$gen-always/full-region-refused" "VK_ERROR_MEMORY_MAP_FAILED, refused by the winsys: the kernel never waited"
		fi
	else
		result FAIL "model-$gen-always/full-region-$how" "status $st (124: hung; want 3 with VK_ERROR_MEMORY_MAP_FAILED), hangs ${hangs:-?} (want $want_hangs): $(why "$name")"
	fi
done

# 5. Export of memory that was never mapped: the winsys makes its host mapping
# first (on a fixed kernel the MAP ioctl alone, on v2 MAP and mmap; its log
# says "forced by export"); the model sees one host map per export, and the
# GPU's writes are read back through the exported dma-buf.
# Venus offers dma-buf export only when the host's driver has
# VK_EXT_external_memory_dma_buf, VK_EXT_image_drm_format_modifier and
# VK_EXT_queue_family_foreign: lavapipe has them over a udmabuf device, so
# these runs use the host of --host udmabuf (backports' lavapipe over the
# model of /dev/udmabuf).
for cfg in fixed:auto v2:always; do
	gen=${cfg%%:*} pol=${cfg#*:}
	a=export-$gen-a b=export-$gen-b
	VWS_DEBUG=map vkrun "$a" --host udmabuf --kernel "$gen" --defer "$pol" -- \
		"$roundtrip" --buffers 2 --map 1 --size $MiB
	VWS_DEBUG=map vkrun "$b" --host udmabuf --kernel "$gen" --defer "$pol" -- \
		"$roundtrip" --buffers 2 --map 1 --size $MiB --export 2
	st=$(cat "$work/$b.status")
	# the winsys's log line of each kind of forced map
	want_how="MAP ioctl, no mmap" pat='forced by export (MAP ioctl, no mmap)'
	[ "$gen" = fixed ] || want_how="MAP ioctl and mmap" pat='mapped at .*, forced by export'
	if [ "$st" = 0 ] && ok_line "$b" && ok_line "$a"; then
		forced=$(grep -c -- "$pat" "$work/$b.err")
		d_maps=$(stat_delta host_map_cmds "$a" "$b")
		d_deferred=$(stat_delta blobs_deferred "$a" "$b")
		if [ "$forced" = 2 ] && [ "$d_maps" = 2 ] && [ "$d_deferred" = 2 ] &&
		   [ "$(live_of "$b")" = 0 ]; then
			result PASS "model-$gen-$pol/export-unmapped" "2 exports of unmapped memory: 2 forced maps ($want_how), host maps +2, the GPU's data read through the dma-bufs"
		else
			result FAIL "model-$gen-$pol/export-unmapped" "forced maps '$want_how' $forced, host maps +$d_maps, deferred +$d_deferred, left alive $(live_of "$b") (want 2, 2, 2, 0)"
		fi
	else
		result FAIL "model-$gen-$pol/export-unmapped" "status $st: $(why "$b")"
	fi
done
# The same program on stock Venus on that host: export works there too
# (its exportable memory is created, and mapped, at allocation).
if vkrun export-stock --driver stock --host udmabuf --kernel fixed -- \
	"$roundtrip" --buffers 2 --map 1 --size $MiB --export 2 && ok_line export-stock; then
	result PASS stock-fixed/export-unmapped "stock Venus exports on the same host: the GPU's data read through the dma-bufs"
else
	result FAIL stock-fixed/export-unmapped "$(why export-stock)"
fi

# 6. vk-membench's region phase on both drivers (scripts/venus-bench.sh):
# Venus-on-vws holds exactly what is mapped, from allocation on; stock Venus
# holds the mapped plain memory and all of the exportable memory.
if timeout -k 5 $((4 * T)) bash "$ROOT/scripts/venus-bench.sh" --quick --json \
	>"$work/bench.json" 2>"$work/bench.err" &&
   python3 - "$work/bench.json" >"$work/bench.check" 2>&1 <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
for drv in ('stock', 'vws'):
    g = r['runs'][drv][0]['region']
    held, mapped = g['held_after_map_exportable'], g['bytes_mapped']
    exp_bytes = g['exportable'] * r['size_rounded']
    if not g['export_supported'] or not g['exportable']:
        bad.append(f"{drv}: no exportable memory on the udmabuf host")
    if g['held_after_alloc_plain'] != 0:
        bad.append(f"{drv}: {g['held_after_alloc_plain']} bytes held by unmapped plain memory")
    want_alloc = exp_bytes if drv == 'stock' else 0
    if g['held_after_alloc_exportable'] != want_alloc:
        bad.append(f"{drv}: exportable memory holds {g['held_after_alloc_exportable']}, want {want_alloc}")
    plain_mapped = g['plain_mapped'] * r['size_rounded']
    want_end = plain_mapped + exp_bytes if drv == 'stock' else mapped
    if held != want_end:
        bad.append(f"{drv}: {held} bytes held at the end, want {want_end} ({mapped} mapped)")
print('; '.join(bad) if bad else
      f"vws holds {r['runs']['vws'][0]['region']['held_after_map_exportable']} bytes = mapped, "
      f"stock {r['runs']['stock'][0]['region']['held_after_map_exportable']}")
sys.exit(1 if bad else 0)
EOF
then
	result PASS bench-region "$(cat "$work/bench.check")"
else
	result FAIL bench-region "$(tail -1 "$work/bench.check" 2>/dev/null || tail -1 "$work/bench.err")"
fi

exit $failed
