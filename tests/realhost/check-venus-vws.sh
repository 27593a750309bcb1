#!/bin/bash
# Venus on libvirtio-winsys over vtest, against the real host (virglrenderer
# 1.1 + lavapipe, scripts/host-build.sh and scripts/host-lib.sh):
#  - vulkaninfo --summary names the Venus device, through the vws backend;
#  - dEQP-VK memory.mapping.*, memory.allocation.basic.* and
#    synchronization.basic.* give, case by case, the same results as stock
#    Venus over vtest and as lavapipe directly, under the winsys's defer
#    policy auto (over vtest: no hint, the lazy path) and always (the hint
#    is "sent": Venus creates blobs in vkAllocateMemory);
#  - which path was taken: memory.allocation.basic never maps, so under
#    auto it makes no device-memory blob and under always it makes hinted
#    ones (the winsys's VWS_DEBUG=bo log).
# One PASS/FAIL/SKIP line per check on stdout; exit 1 when any check fails.
# SKIP only when the host or dEQP cannot be had (said why).
#
#   tests/realhost/check-venus-vws.sh
#
# Settings: DEQP_XZ (default ../shared/deqp/deqp-vk.xz beside the
# repository), VWS_CHECK_TIMEOUT (seconds per dEQP run, default 900).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
work=$ROOT/build-venus/check
deqp_xz=${DEQP_XZ:-$ROOT/../shared/deqp/deqp-vk.xz}
run_timeout=${VWS_CHECK_TIMEOUT:-900}
groups=(dEQP-VK.memory.mapping.* dEQP-VK.memory.allocation.basic.* dEQP-VK.synchronization.basic.*)
failed=0
LVP_ICD=${VWS_HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}

pass() { echo "PASS venus-vws:$*"; }
fail() { echo "FAIL venus-vws:$*"; failed=1; }
skip() { echo "SKIP venus-vws:$*"; }
note() { echo "check-venus-vws: $*" >&2; }

mkdir -p "$work"
rm -f "$work"/*.qpa "$work"/*.log "$work"/*.cases

# --- what the checks need --------------------------------------------------
if ! server=$(bash "$ROOT/scripts/host-build.sh" | tail -1) || [ ! -x "$server" ]; then
	skip "all (the host renderer cannot be built: scripts/host-build.sh failed)"
	exit 0
fi
if ! icd=$(bash "$ROOT/scripts/mesa-build.sh" | tail -1) || [ ! -f "$icd" ]; then
	fail "build (scripts/mesa-build.sh failed; log: build-mesa/build.log)"
	exit 1
fi
pass "build ($icd)"
stock_icd=
if stock_icd=$(bash "$ROOT/scripts/venus-stock.sh" | tail -1) && [ -f "$stock_icd" ]; then
	stock_env=$(dirname "$stock_icd")/env.sh
else
	fail "stock Venus (scripts/venus-stock.sh failed)"
	stock_icd=
fi
command -v vulkaninfo >/dev/null || bash "$ROOT/scripts/deps.sh" vulkan-tools >&2

deqp=
if [ -f "$deqp_xz" ]; then
	deqp=$ROOT/build-venus/deqp/deqp-vk
	if [ ! -x "$deqp" ] || [ "$deqp_xz" -nt "$deqp" ]; then
		mkdir -p "$(dirname "$deqp")"
		xz -dc "$deqp_xz" > "$deqp.tmp" && chmod +x "$deqp.tmp" && mv "$deqp.tmp" "$deqp" ||
			{ rm -f "$deqp.tmp"; deqp=; }
	fi
	# its run-time libraries (../shared/deqp/README.md), only those missing
	if [ -n "$deqp" ] && ldd "$deqp" | grep -q 'not found'; then
		bash "$ROOT/scripts/deps.sh" libegl1 libgl1 libx11-6 libxcb1 libpng16-16 zlib1g >&2
	fi
fi

# --- the host ----------------------------------------------------------------
. "$ROOT/scripts/host-lib.sh"
if ! host_start "$server"; then
	fail "host (the server did not start)"
	exit 1
fi

# Client environments, one per driver stack; every run starts from the
# caller's environment without any stack's variables.
vws_env=(VK_ICD_FILENAMES="$icd" VWS_BACKEND=vtest VWS_VTEST_SOCKET="$VWS_HOST_SOCKET")
stock_vars=()
if [ -n "$stock_icd" ]; then
	# shellcheck disable=SC1090
	stock_vars=("$(. "$stock_env" && echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH")"
		VK_ICD_FILENAMES="$stock_icd" VN_DEBUG=vtest VTEST_SOCKET_NAME="$VWS_HOST_SOCKET")
fi
clean=(env -u VK_DRIVER_FILES -u VK_ADD_DRIVER_FILES -u VN_DEBUG -u VWS_DEBUG
       -u VWS_DEFER -u VWS_BACKEND -u LD_PRELOAD -u VTEST_SOCKET_NAME)

# --- vulkaninfo ----------------------------------------------------------------
out=$("${clean[@]}" "${vws_env[@]}" VWS_DEFER=auto VN_DEBUG=init timeout 60 vulkaninfo --summary 2>&1)
rc=$?
echo "$out" > "$work/vulkaninfo.log"
if [ $rc = 0 ] && grep -q 'deviceName *= Virtio-GPU Venus' <<< "$out" &&
   grep -q 'driverName *= venus' <<< "$out" && grep -q 'vws: vtest backend' <<< "$out"; then
	pass "vulkaninfo ($(grep -m1 'deviceName' <<< "$out" | sed 's/.*= //'), vws vtest backend)"
else
	fail "vulkaninfo (status $rc; log: $work/vulkaninfo.log)"
fi

# --- dEQP ------------------------------------------------------------------------
# Per-case results of a .qpa log: "case status", sorted.
cases() {
	awk '/^#beginTestCaseResult / { c = $2 }
	     c != "" && match($0, /StatusCode="[^"]*"/) {
		print c, substr($0, RSTART + 12, RLENGTH - 13); c = "" }' "$1" | LC_ALL=C sort
}

# run NAME GROUP ENV... : one dEQP run; its cases in $work/NAME.cases
run() {
	local name=$1 group=$2; shift 2
	(cd "$work" && "${clean[@]}" "$@" timeout "$run_timeout" "$deqp" --deqp-case="$group" \
		--deqp-log-filename="$work/$name.qpa" --deqp-log-images=disable \
		--deqp-log-shader-sources=disable >"$work/$name.log" 2>"$work/$name.err")
	local rc=$?
	cases "$work/$name.qpa" > "$work/$name.cases" 2>/dev/null
	[ $rc = 0 ] || note "$name: deqp-vk status $rc (log: $work/$name.log)"
	return $rc
}

summary() { # cases file
	awk '{ n[$2]++ } END { s = ""; for (k in n) s = s (s ? ", " : "") n[k] " " k; print s }' "$1"
}

if [ -z "$deqp" ]; then
	skip "deqp (no dEQP-VK at $deqp_xz; DEQP_XZ names another)"
else
	for group in "${groups[@]}"; do
		g=${group#dEQP-VK.}; g=${g%.\*}
		run "$g.lavapipe" "$group" VK_ICD_FILENAMES="$LVP_ICD"
		[ -n "$stock_icd" ] && run "$g.stock" "$group" "${stock_vars[@]}"
		for policy in auto always; do
			name=$g.vws-$policy
			# the winsys's blob log where the strategy is checked (below)
			debug=
			[ "$g" = memory.allocation.basic ] && debug=bo
			run "$name" "$group" "${vws_env[@]}" VWS_DEFER=$policy VWS_DEBUG=$debug
			rc=$?
			n=$(wc -l < "$work/$name.cases")
			if [ "$rc" != 0 ] || [ "$n" = 0 ]; then
				fail "deqp:$g:$policy (deqp-vk status $rc, $n cases; log: $work/$name.log)"
				continue
			fi
			for ref in lavapipe stock; do
				[ -s "$work/$g.$ref.cases" ] || { fail "deqp:$g:$policy vs $ref (no $ref results)"; continue; }
				d=$(diff "$work/$g.$ref.cases" "$work/$name.cases" | grep -c '^[<>]')
				if [ "$d" = 0 ]; then
					pass "deqp:$g:$policy = $ref ($n cases: $(summary "$work/$name.cases"))"
				else
					fail "deqp:$g:$policy vs $ref ($d lines differ: diff $work/$g.$ref.cases $work/$name.cases)"
				fi
			done
		done
		# allocation.basic never maps: lazy under auto, at allocation under always
		if [ "$g" = memory.allocation.basic ]; then
			lazy=$(grep -c 'created .* hinted' "$work/$g.vws-auto.err")
			eager=$(grep -c 'created .* hinted' "$work/$g.vws-always.err")
			if [ "$lazy" = 0 ] && [ "$eager" -gt 0 ]; then
				pass "strategy (never-mapped memory: auto made 0 blobs at allocation, always made $eager hinted ones)"
			else
				fail "strategy (auto made $lazy hinted blobs, always $eager; logs: $work/$g.vws-*.err)"
			fi
		fi
	done
fi

host_stop
exit $failed
