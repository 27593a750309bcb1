#!/bin/bash
# Runs dEQP-VK case patterns on one stack (docs/conformance.md):
#
#   scripts/conformance.sh [--reference | VK-RUN OPTIONS] [--name NAME]
#                          [--out DIR] [--case-timeout S] [--start-timeout S]
#                          [--run-timeout S] [--compare REF.results] PATTERN...
#
#   --reference   the host's driver itself: lavapipe through the loader
#                 (VK_ICD_FILENAMES=$VWS_HOST_ICD, default lavapipe's json;
#                 with --host udmabuf, backports' lavapipe over the udmabuf
#                 model, as that host's server runs it)
#   VK-RUN OPTIONS --driver, --transport, --kernel, --defer, --hostmem,
#                 --host: the stack, as scripts/vk-run.sh takes them (its
#                 defaults)
#   --name        the stack's name in files and lines (default from options)
#   --out         where the logs go (default build-conformance)
#   --case-timeout  seconds a case may take (default 60); --start-timeout
#                 until the first case begins (default 120); --run-timeout
#                 for the whole list (default none)
#   --compare     the reference's .results: also prints one PASS/FAIL line
#                 per pattern (scripts/deqp-compare.py) and writes NAME.diff
#
# Writes DIR/NAME.qpa, .results, .log and .summary; prints the summary line
# (passed, failed, not supported, crashed, timed out, seconds). A case that
# hangs or crashes is recorded and the rest runs on (scripts/deqp-run.py).
# deqp-vk comes from DEQP_VK (the executable or its .xz), else from
# ../shared/deqp/deqp-vk.xz beside the repository (unpacked into
# build-conformance/, once); without either the script says how to get it
# and exits 77. Exit status 0 when every case ran (and, with --compare,
# nothing failed), 1 otherwise, 2 on bad usage or a stack that cannot be
# built.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LVP_ICD=${VWS_HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}

reference=0 name= out=$ROOT/build-conformance compare= host=shm
case_timeout=60 start_timeout=120 run_timeout=0
vkopts=() patterns=()
usage() {
	sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
need() { [ $# -ge 2 ] || usage; }
while [ $# -gt 0 ]; do
	case "$1" in
	--reference) reference=1; shift ;;
	--driver|--transport|--kernel|--defer|--hostmem) need "$@"; vkopts+=("$1" "$2"); shift 2 ;;
	--host) need "$@"; host=$2; vkopts+=("$1" "$2"); shift 2 ;;
	--name) need "$@"; name=$2; shift 2 ;;
	--out) need "$@"; out=$2; shift 2 ;;
	--case-timeout) need "$@"; case_timeout=$2; shift 2 ;;
	--start-timeout) need "$@"; start_timeout=$2; shift 2 ;;
	--run-timeout) need "$@"; run_timeout=$2; shift 2 ;;
	--compare) need "$@"; compare=$2; shift 2 ;;
	-h|--help) usage ;;
	--) shift; patterns+=("$@"); break ;;
	-*) echo "conformance: unknown option '$1'" >&2; usage ;;
	*) patterns+=("$1"); shift ;;
	esac
done
[ ${#patterns[@]} -gt 0 ] || { echo "conformance: no case pattern" >&2; usage; }
# the reference takes only the host (which lavapipe)
if [ $reference = 1 ]; then
	refopts=()
	[ "$host" != shm ] && refopts=(--host "$host")
	[ "${vkopts[*]}" = "${refopts[*]}" ] ||
		{ echo "conformance: --reference takes no stack options but --host" >&2; exit 2; }
fi
case "$host" in shm|udmabuf) ;; *) echo "conformance: --host shm|udmabuf" >&2; exit 2 ;; esac
for t in "$case_timeout" "$start_timeout" "$run_timeout"; do
	[[ "$t" =~ ^[0-9]+$ ]] || { echo "conformance: timeouts are whole seconds" >&2; exit 2; }
done
[ -z "$compare" ] || [ -r "$compare" ] || { echo "conformance: cannot read $compare" >&2; exit 2; }

# The stack's name: the options that differ from vk-run.sh's defaults, in
# its order (driver, transport, kernel, defer, hostmem).
if [ -z "$name" ]; then
	if [ $reference = 1 ]; then
		name=reference
		[ "$host" = shm ] || name+=-$host
	else
		declare -A o=([--driver]=stock [--transport]=model [--kernel]=fixed [--defer]=auto [--hostmem]=256M)
		for ((i = 0; i < ${#vkopts[@]}; i += 2)); do o[${vkopts[i]}]=${vkopts[i + 1]}; done
		name=${o[--driver]}-${o[--transport]}
		[ "${o[--transport]}" = model ] && name+=-${o[--kernel]}
		[ "${o[--driver]}" = vws ] && name+=-${o[--defer]}
		[ "${o[--transport]}" = model ] && [ "${o[--hostmem]}" != 256M ] && name+=-${o[--hostmem]}
		[ "$host" = shm ] || name+=-$host
	fi
fi
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "conformance: bad --name '$name'" >&2; exit 2; }
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)

# --- deqp-vk ----------------------------------------------------------------
deqp_src=${DEQP_VK:-}
[ -n "$deqp_src" ] || deqp_src=$ROOT/../shared/deqp/deqp-vk.xz
if [ ! -f "$deqp_src" ]; then
	given="is not set"
	[ -n "${DEQP_VK:-}" ] && given="= $DEQP_VK is not a file"
	cat >&2 <<EOF
conformance: no deqp-vk (DEQP_VK $given, and no CI copy at $ROOT/../shared/deqp/deqp-vk.xz):
the conformance stage is skipped. To get deqp-vk, build the Khronos Vulkan CTS
(VK-GL-CTS, tag vulkan-cts-1.3.5.2): python3 external/fetch_sources.py, then
cmake -B build -DDEQP_TARGET=default && cmake --build build --target deqp-vk,
and set DEQP_VK=build/external/vulkancts/modules/vulkan/deqp-vk (or its .xz).
EOF
	exit 77
fi
case "$deqp_src" in
*.xz)
	# Unpacked once into the build tree; again when the archive changes.
	deqp=$ROOT/build-conformance/deqp-vk
	stamp="$(readlink -f "$deqp_src") $(stat -c '%s %Y' "$deqp_src")"
	mkdir -p "$(dirname "$deqp")"
	if [ ! -x "$deqp" ] || [ "$(cat "$deqp.stamp" 2>/dev/null)" != "$stamp" ]; then
		rm -f "$deqp.stamp"
		# a private name, then an atomic rename: a run beside this one
		# never sees half an executable
		if ! { xz -dc "$deqp_src" > "$deqp.tmp.$$" && chmod +x "$deqp.tmp.$$" &&
		       mv "$deqp.tmp.$$" "$deqp"; }; then
			rm -f "$deqp.tmp.$$"
			echo "conformance: cannot unpack $deqp_src" >&2
			exit 2
		fi
		echo "$stamp" > "$deqp.stamp"
	fi
	;;
*) deqp=$(readlink -f "$deqp_src") ;;
esac
[ -x "$deqp" ] || { echo "conformance: $deqp is not executable" >&2; exit 2; }
# its run-time libraries (../shared/deqp/README.md), only when missing
if ldd "$deqp" 2>/dev/null | grep -q 'not found'; then
	bash "$ROOT/scripts/deps.sh" libegl1 libgl1 libx11-6 libxcb1 libpng16-16 zlib1g libvulkan1 >&2
fi

# --- the case list ------------------------------------------------------------
# deqp-vk expands each pattern itself (no device needed); the union, in order.
list=$out/$name.cases
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vws-cts.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/all"
for p in "${patterns[@]}"; do
	(cd "$tmp" && "$deqp" --deqp-runmode=txt-caselist --deqp-case="$p" \
		--deqp-caselist-export-file="$tmp/list.txt" >"$tmp/enum.log" 2>&1) ||
		{ echo "conformance: deqp-vk cannot list '$p':" >&2; tail -5 "$tmp/enum.log" >&2; exit 2; }
	n=$(grep -c '^TEST: ' "$tmp/list.txt")
	[ "$n" -gt 0 ] || { echo "conformance: '$p' names no case" >&2; exit 2; }
	sed -n 's/^TEST: //p' "$tmp/list.txt" >> "$tmp/all"
done
awk '!seen[$0]++' "$tmp/all" > "$list"

# --- the stack ----------------------------------------------------------------
if [ $reference = 1 ]; then
	refenv=()
	if [ "$host" = udmabuf ]; then
		# the driver as that host's server runs it (scripts/host-lib.sh)
		# shellcheck disable=SC1091
		. "$ROOT/scripts/host-lib.sh"
		host_use udmabuf "${VWS_BUILD_DIR:-$ROOT/build-gcc}" || exit 2
		LVP_ICD=$VWS_HOST_ICD
		refenv=(LD_LIBRARY_PATH="$VWS_HOST_LIBPATH" LD_PRELOAD="$VWS_HOST_PRELOAD")
	fi
	[ -r "$LVP_ICD" ] || { echo "conformance: no lavapipe ICD json at $LVP_ICD" >&2; exit 2; }
	wrap=(env -u LD_PRELOAD -u VK_DRIVER_FILES -u VK_ADD_DRIVER_FILES VK_ICD_FILENAMES="$LVP_ICD"
	      "${refenv[@]}")
	echo "conformance: $name: lavapipe through the loader ($LVP_ICD${refenv:+, udmabuf model}), $(wc -l < "$list") cases" >&2
else
	# Build (or check) everything the stack needs once, outside the case
	# timeouts: vk-run.sh with a command that does nothing.
	if ! timeout -k 10 3600 bash "$ROOT/scripts/vk-run.sh" "${vkopts[@]}" -- true >"$tmp/prep.log" 2>&1; then
		echo "conformance: $name: the stack cannot be set up:" >&2
		tail -20 "$tmp/prep.log" >&2
		exit 2
	fi
	echo "conformance: $name: $(grep -m1 '^vk-run:' "$tmp/prep.log" | sed 's/^vk-run: //; s/ (pid [0-9]*)//'), $(wc -l < "$list") cases" >&2
	wrap=(bash "$ROOT/scripts/vk-run.sh" "${vkopts[@]}" --)
fi

# On the kernel model, its counters too (every process's, in NAME.stats).
model=0
[ $reference = 0 ] && [[ " ${vkopts[*]} " != *" --transport vtest "* ]] && model=1
stats=()
[ $model = 1 ] && stats=(--model-stats)
rm -f "$out/$name".{qpa,results,summary,log,stats,diff,cmd}
# How to run this again (NAME.cmd, for tables of results)
{
	# the model's device parameters set for this run come first
	env | grep -E '^VGSHIM_PARAM_[A-Z_]+=' | sort | tr '\n' ' '
	printf 'scripts/conformance.sh'
	[ $reference = 1 ] && printf ' --reference'
	printf ' %s' "${vkopts[@]}" --name "$name"
	printf " '%s'" "${patterns[@]}"
	echo
} > "$out/$name.cmd"
python3 "$ROOT/scripts/deqp-run.py" --deqp "$deqp" --caselist "$list" --out "$out/$name" \
	--label "$name" --case-timeout "$case_timeout" --start-timeout "$start_timeout" \
	--run-timeout "$run_timeout" "${stats[@]}" -- "${wrap[@]}"
status=$?
[ $status = 2 ] && exit 2

if [ -n "$compare" ]; then
	python3 "$ROOT/scripts/deqp-compare.py" "$compare" "$out/$name.results" --label "$name" \
		--diff "$out/$name.diff" "${patterns[@]}" || status=1
	# The model's view: no hang a real v1/v2 kernel would have had, no lost
	# host, and nothing left at exit by the processes that exited.
	if [ $model = 1 ]; then
		bad=$(awk '($1 == "hangs_detected" || $1 == "host_lost" || $1 == "region_bytes_in_use" ||
		            $1 ~ /^live_/) && $2 != 0 { printf "%s%s %s", sep, $1, $2; sep = ", " }' "$out/$name.stats")
		seen=$(awk '$1 == "region_bytes_peak" { p = $2 } $1 == "region_size" { s = $2 }
		            $1 == "blobs_deferred" { d = $2 } $1 == "processes_without_stats" { m = $2 }
		            END { printf "region peak %d of %d MiB, %d deferred blobs%s", p / 1048576, s / 1048576, d,
		                  m ? ", " m " processes killed before their counters" : "" }' "$out/$name.stats")
		if [ -z "$bad" ]; then
			echo "PASS conformance:$name:model ($seen; no hang, no lost host, nothing left at exit)"
		else
			echo "FAIL conformance:$name:model ($bad; $seen)"
			status=1
		fi
	fi
fi
exit $status
