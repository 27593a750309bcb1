#!/bin/bash
# The conformance stage: dEQP-VK on the reference (lavapipe) and on the Venus
# stacks, compared case by case (scripts/conformance.sh, docs/conformance.md).
# Every check is one PASS/FAIL/SKIP line (to $RESULTS when set, else
# stdout); exits non-zero when one failed.
#
#   tests/conformance/run.sh [--full]
#
# --full: the longer list and two more stacks, for manual runs (tens of
# minutes). Skips (with the reason) when there is no deqp-vk or the host
# renderer cannot be built here. Logs and the table of the last run:
# build-conformance/ (CONFORMANCE_OUT).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
res=${RESULTS:-/dev/stdout}
out=${CONFORMANCE_OUT:-$ROOT/build-conformance}
full=0
case "${1:-}" in
--full) full=1 ;;
'') ;;
*) echo "usage: $0 [--full]" >&2; exit 2 ;;
esac
failed=0
mkdir -p "$out"
start=$(date +%s)

result() { # LINE...: PASS/FAIL/SKIP lines, counted
	local l
	for l in "$@"; do
		echo "$l" >> "$res"
		case "$l" in FAIL*) failed=1; echo "conformance: $l" >&2 ;; esac
	done
	return 0
}

# The stage's list. api.external.memory: only Linux's handle types (opaque
# fd, dma-buf); the others (win32, kmt, Android, Zircon) are not supported
# by any Linux driver beyond their 4 property queries each, and cost a
# Venus instance per case. memory.allocation.random is cheap (1-3 s).
groups=(
	'dEQP-VK.memory.mapping.*'
	'dEQP-VK.memory.allocation.*'
	'dEQP-VK.api.external.memory.opaque_fd.*'
	'dEQP-VK.api.external.memory.dma_buf.*'
	'dEQP-VK.synchronization.basic.*'
)
if [ $full = 1 ]; then
	groups=(
		'dEQP-VK.memory.*'
		'dEQP-VK.api.external.*'
		'dEQP-VK.synchronization.basic.*'
		'dEQP-VK.synchronization.smoke.*'
		'dEQP-VK.synchronization.timeline_semaphore.wait.*'
		'dEQP-VK.synchronization.internally_synchronized_objects.*'
		'dEQP-VK.compute.basic.*'
	)
fi

# The stacks: name, then scripts/vk-run.sh options. The model's region is
# 1G: the largest single mapping of memory.mapping (implicit_unmap: 256 MiB,
# sized by the CTS from the 2 GiB heap lavapipe reports) fits next to
# Venus's own shared memory; 256M cannot hold it (docs/conformance.md).
stacks=(
	'stock-model-fixed --driver stock --kernel fixed --hostmem 1G'
	'vws-model-fixed-auto --driver vws --kernel fixed --defer auto --hostmem 1G'
	'vws-model-v2-always --driver vws --kernel v2 --defer always --hostmem 1G'
	'vws-model-legacy-auto --driver vws --kernel legacy --defer auto --hostmem 1G'
	'vws-vtest-auto --driver vws --transport vtest --defer auto'
)
# --full: also stock and always over vtest (the first Venus-on-vws comparison)
[ $full = 1 ] && stacks+=('stock-vtest --driver stock --transport vtest'
                          'vws-vtest-always --driver vws --transport vtest --defer always')
# memory.mapping once more in a region far smaller than what it allocates in
# total (about 116 GiB, at most 257 MiB mapped at once).
small=288M
small_stacks=('vws-model-fixed-small --driver vws --kernel fixed --defer auto --hostmem '$small)
[ $full = 1 ] && small_stacks+=('stock-model-fixed-small --driver stock --kernel fixed --hostmem '$small)

# Venus-on-vws (Mesa, about 4-5 minutes from a fresh clone) builds in the
# background while the runner's checks, the reference and stock Venus run;
# scripts/mesa-build.sh holds a lock, so a stack that needs it first waits.
# Its own session, so that an interrupted stage ends the whole build by id.
setsid bash "$ROOT/scripts/mesa-build.sh" >"$out/mesa-build.log" 2>&1 &
mesa_pid=$!
trap 'kill -TERM -- -$mesa_pid 2>/dev/null' EXIT

# 1. The runner itself, on a stand-in that crashes and hangs.
bash "$ROOT/tests/conformance/test-runner.sh" >> "$res" 2>"$out/test-runner.err" || failed=1

# 2. What the stage needs: deqp-vk and the host renderer.
# Bounds: the slowest case seen takes 1.5 s; a stack of the stage under a
# minute, of --full under ten.
conf=(bash "$ROOT/scripts/conformance.sh" --out "$out" --case-timeout 30 --run-timeout $((full ? 3600 : 600)))
# (the status taken apart from the test: after `if ! cmd`, $? is the
# negation's, always 0)
"${conf[@]}" --reference --name reference "${groups[@]}" >"$out/reference.out" 2>"$out/reference.err"
st=$?
if [ $st != 0 ]; then
	if [ $st = 77 ]; then
		result "SKIP conformance:all ($(head -1 "$out/reference.err" | sed 's/^conformance: //') see docs/conformance.md)"
		exit 0   # the trap ends the build
	fi
	result "FAIL conformance:reference ($(tail -1 "$out/reference.err"))"
	exit 1
fi
result "PASS conformance:reference ($(cat "$out/reference.summary"))"
if ! bash "$ROOT/scripts/host-build.sh" >"$out/host-build.log" 2>&1; then
	result "SKIP conformance:stacks (the host renderer cannot be built here: $(tail -1 "$out/host-build.log"))"
	exit $failed
fi

# 3. Every stack against the reference.
run_stack() { # NAME OPTIONS... -- PATTERNS...
	local name=$1; shift
	local -a opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	"${conf[@]}" "${opts[@]}" --name "$name" --compare "$out/${REF:-reference}.results" "$@" \
		>"$out/$name.out" 2>"$out/$name.err"
	local st=$?
	if [ -s "$out/$name.summary" ]; then
		result "$(if [ $st = 0 ]; then echo PASS; else echo FAIL; fi) conformance:$name ($(cat "$out/$name.summary"))"
	else
		result "FAIL conformance:$name (no results: $(tail -1 "$out/$name.err"))"
	fi
	while IFS= read -r line; do result "$line"; done < <(grep -E '^(PASS|FAIL) ' "$out/$name.out")
	return $st
}
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

for s in "${stacks[@]}"; do
	read -ra a <<< "$s"
	if [ "${a[2]}" = vws ] && [ -n "$mesa_pid" ]; then
		wait "$mesa_pid" ||
			result "FAIL conformance:build-vws (scripts/mesa-build.sh failed: $(tail -1 "$out/mesa-build.log"))"
		mesa_pid=
	fi
	run_stack "${a[@]}" -- "${groups[@]}"
done

# The path each model stack took, in the model's counters: stock Venus and
# Venus-on-vws on the legacy kernel never send the hint; on fixed (auto)
# and v2 (always) the hinted blobs exist.
for name in stock-model-fixed vws-model-legacy-auto vws-model-fixed-auto vws-model-v2-always; do
	f=$out/$name.stats
	[ -s "$f" ] || continue
	d=$(stat_of blobs_deferred "$f") c56=$(stat_of create_blob_56 "$f")
	case $name in
	stock-*) want="no 56-byte CREATE_BLOB"; ok=$([ "${c56:-0}" = 0 ] && echo 1) ;;
	*legacy*) want="no deferred blob"; ok=$([ "${d:-0}" = 0 ] && echo 1) ;;
	*) want="deferred blobs"; ok=$([ "${d:-0}" -gt 0 ] && echo 1) ;;
	esac
	if [ -n "$ok" ]; then
		result "PASS conformance:$name:path ($want: $d deferred blobs, $c56 56-byte CREATE_BLOBs)"
	else
		result "FAIL conformance:$name:path (want $want: $d deferred blobs, $c56 56-byte CREATE_BLOBs)"
	fi
done

# 4. memory.mapping in a small region. For Venus-on-vws the winsys's blob
# log gives what the group allocated in total; the model's counters what
# was held at most.
for s in "${small_stacks[@]}"; do
	read -ra a <<< "$s"
	VWS_DEBUG=bo run_stack "${a[@]}" -- 'dEQP-VK.memory.mapping.*'
	name=${a[0]} f=$out/${a[0]}.stats
	[ "${name#vws}" != "$name" ] && [ -s "$f" ] || continue
	size=$(( $(stat_of region_size "$f") / 1048576 )) peak=$(( $(stat_of region_bytes_peak "$f") / 1048576 ))
	total=$(awk '/vws: bo: created handle/ { for (i = 1; i < NF; i++) if ($i == "size") t += $(i + 1) }
	             END { printf "%d", t / 1048576 }' "$out/$name.log")
	if [ "$total" -gt "$size" ] && [ "$peak" -le "$size" ]; then
		result "PASS conformance:$name:region (the group allocated $total MiB in total through a $size MiB region, at most $peak MiB of it held at once)"
	else
		result "FAIL conformance:$name:region (allocated $total MiB in total, region $size MiB, peak $peak MiB)"
	fi
done

# 5. External memory where Venus offers it: on the host of --host udmabuf
# (backports' lavapipe over the model of /dev/udmabuf, docs/real-host.md),
# against that lavapipe itself. The model is a VM whose device has resource
# UUIDs (VGSHIM_PARAM_CROSS_DEVICE=1): Venus then asks for CROSS_DEVICE
# blobs for dma-buf memory, which is what makes the host keep the fd an
# import needs (without it Venus's imports kill its host context, on a VM
# as here).
ext_groups=('dEQP-VK.api.external.memory.opaque_fd.*' 'dEQP-VK.api.external.memory.dma_buf.*')
ext_stacks=(
	'stock-model-fixed-udmabuf --driver stock --kernel fixed --host udmabuf'
	'vws-model-fixed-auto-udmabuf --driver vws --kernel fixed --defer auto --host udmabuf'
	'vws-model-v2-always-udmabuf --driver vws --kernel v2 --defer always --host udmabuf'
)
if "${conf[@]}" --reference --host udmabuf --name reference-udmabuf "${ext_groups[@]}" \
	>"$out/reference-udmabuf.out" 2>"$out/reference-udmabuf.err"; then
	result "PASS conformance:reference-udmabuf ($(cat "$out/reference-udmabuf.summary"))"
	for s in "${ext_stacks[@]}"; do
		read -ra a <<< "$s"
		VWS_DEBUG=map VGSHIM_PARAM_CROSS_DEVICE=1 REF=reference-udmabuf \
			run_stack "${a[@]}" -- "${ext_groups[@]}"
		# Venus-on-vws: the exportable memory was created deferred, and
		# exports of memory not mapped yet forced its host mapping
		name=${a[0]} f=$out/${a[0]}.stats
		[ "${name#vws}" != "$name" ] && [ -s "$f" ] || continue
		d=$(stat_of blobs_deferred "$f")
		forced=$(grep -c 'forced by export' "$out/$name.log")
		if [ "${d:-0}" -gt 0 ] && [ "$forced" -gt 0 ]; then
			result "PASS conformance:$name:path ($d deferred blobs, $forced host mappings forced by exports)"
		else
			result "FAIL conformance:$name:path (want deferred blobs and forced maps: $d deferred blobs, $forced forced by exports)"
		fi
	done
else
	result "FAIL conformance:reference-udmabuf ($(tail -1 "$out/reference-udmabuf.err"))"
fi

# The table of this run (docs/conformance.md takes its rows from it).
printf '%s\n' "${groups[@]}" > "$out/groups.txt"
python3 "$ROOT/tests/conformance/table.py" "$out" reference \
	$(for s in "${stacks[@]}" "${small_stacks[@]}"; do echo "${s%% *}"; done) > "$out/table.md"
printf '%s\n' "${ext_groups[@]}" > "$out/groups-udmabuf.txt"
python3 "$ROOT/tests/conformance/table.py" --groups "$out/groups-udmabuf.txt" "$out" reference-udmabuf \
	$(for s in "${ext_stacks[@]}"; do echo "${s%% *}"; done) > "$out/table-udmabuf.md"
echo "conformance: $(( $(date +%s) - start )) s; table in $out/table.md" >&2
exit $failed
