#!/bin/bash
# The real host, end to end without a VM: builds virglrenderer 1.1 with our
# patch (scripts/host-build.sh), unpacks Debian's stock Venus driver
# (scripts/venus-stock.sh), starts the server (scripts/host-lib.sh) and runs
# unmodified Venus over vtest against it:
#   - vulkaninfo --summary must name a Venus device;
#   - vk-map-check (this directory) must see CPU writes through mapped
#     host-visible memory reach the host's lavapipe and its writes come back;
#   - after host_stop no process of the server and no directory remain.
# One line per check, "PASS realhost:NAME" or "FAIL realhost:NAME (why)",
# also appended to $RESULTS when set; exit 1 if any check failed.
#
#   tests/realhost/check-host.sh
#
# Every client runs under timeout: Mesa's vtest client spins forever when
# the server goes away.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
client_timeout=${REALHOST_TIMEOUT:-120}
fails=0

result() { # PASS|FAIL name [why]
	local line="$1 realhost:$2${3:+ ($3)}"
	echo "$line"
	[ -n "${RESULTS:-}" ] && echo "$line" >> "$RESULTS"
	[ "$1" = FAIL ] && fails=$((fails + 1))
	return 0
}
finish() { [ "$fails" = 0 ]; exit; }
ms() { date +%s%3N; }

bash scripts/deps.sh || { result FAIL deps "scripts/deps.sh failed"; finish; }

t=$(ms)
if server=$(bash scripts/host-build.sh | tail -1) && [ -x "$server" ]; then
	result PASS host-build
	echo "realhost: host-build $(( $(ms) - t )) ms" >&2
else
	result FAIL host-build "scripts/host-build.sh failed, see its messages"
	finish
fi
if grep -q VKR_SHM_HOST_VISIBLE "$(dirname "$server")/../libexec/virgl_render_server"; then
	result PASS host-patched
else
	result FAIL host-patched "virgl_render_server does not know VKR_SHM_HOST_VISIBLE"
fi

if icd=$(bash scripts/venus-stock.sh | tail -1) && [ -f "$icd" ] &&
	[ -f build-venus/stock/env.sh ]; then
	result PASS venus-stock
else
	result FAIL venus-stock "scripts/venus-stock.sh failed, see its messages"
	finish
fi

mapcheck=build-host/vk-map-check
if cc -std=c11 -Wall -Wextra -Werror -O1 -o "$mapcheck" tests/realhost/vk-map-check.c \
	-lvulkan 2>build-host/vk-map-check.log; then
	result PASS build-vk-map-check
else
	result FAIL build-vk-map-check "$(head -1 build-host/vk-map-check.log)"
	mapcheck=
fi

. scripts/host-lib.sh
t=$(ms)
if ! host_start "$server"; then
	result FAIL host-start "see the server log above"
	finish
fi
result PASS host-start
echo "realhost: host-start $(( $(ms) - t )) ms (pid $VWS_HOST_PID, $VWS_HOST_SOCKET)" >&2

# A client of the stock driver over vtest: its libdrm, its ICD, the socket.
venus() {
	(
		. build-venus/stock/env.sh
		VN_DEBUG=vtest VTEST_SOCKET_NAME=$VWS_HOST_SOCKET VK_ICD_FILENAMES=$VWS_VENUS_ICD \
			timeout -k 5 "$client_timeout" "$@"
	)
}

t=$(ms)
out=$(venus vulkaninfo --summary 2>&1)
rc=$?
name=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' <<< "$out" | head -1)
driver=$(sed -n 's/^[[:space:]]*driverName[[:space:]]*=[[:space:]]*//p' <<< "$out" | head -1)
if [ "$rc" = 0 ] && [[ $name == *"Virtio-GPU Venus"* ]] && [ "$driver" = venus ]; then
	result PASS vulkaninfo-venus
	echo "realhost: vulkaninfo $(( $(ms) - t )) ms: $name" >&2
else
	why="exit $rc"; [ "$rc" = 124 ] && why="timed out after ${client_timeout} s"
	result FAIL vulkaninfo-venus "$why, device '${name:-none}', driver '${driver:-none}'"
	tail -5 <<< "$out" | sed 's/^/  | /' >&2
fi

if [ -n "$mapcheck" ]; then
	t=$(ms)
	out=$(venus "$mapcheck" "Virtio-GPU Venus" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		result PASS map-host-visible
		echo "realhost: vk-map-check $(( $(ms) - t )) ms" >&2
	else
		why="exit $rc"; [ "$rc" = 124 ] && why="timed out after ${client_timeout} s"
		result FAIL map-host-visible "$why: $(grep -m1 vk-map-check <<< "$out")"
		tail -5 "$VWS_HOST_DIR/server.log" | sed 's/^/  | /' >&2
	fi
fi

if host_alive; then
	result PASS host-alive
else
	result FAIL host-alive "the server died during the checks"
fi

# Everything the server started must be gone after host_stop, and its
# directory too.
dir=$VWS_HOST_DIR
procs=()
for p in "$VWS_HOST_PID" $(_host_descendants "$VWS_HOST_PID"); do
	s=$(_host_starttime "$p") && procs+=("$p $s")
done
host_stop
left=
for p in "${procs[@]}"; do
	[ "$(_host_starttime "${p% *}")" = "${p#* }" ] && left="$left ${p% *}"
done
[ -e "$dir" ] && left="$left $dir"
if [ -z "$left" ] && [ ${#procs[@]} -gt 1 ]; then
	result PASS host-stop
else
	result FAIL host-stop "${#procs[@]} processes before; left behind:${left:- nothing}"
fi
finish
