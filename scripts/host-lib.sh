# Starts and stops the real host renderer (virgl_test_server of
# scripts/host-build.sh, Venus on lavapipe) for tests and tools. Sourced:
#
#   . scripts/host-lib.sh
#   host_start [SERVER]    # default: build-host/prefix/bin/virgl_test_server
#   ... VTEST_SOCKET_NAME=$VWS_HOST_SOCKET some-client ...
#   host_alive             # status 0 while the server runs
#   host_stop              # also run by the EXIT/INT/TERM trap host_start installs
#
# host_start exports VWS_HOST_SOCKET (the vtest socket), VWS_HOST_PID (the
# process to signal), VWS_HOST_DIR (private directory, server.log inside).
# Call it in the shell that owns the server, not in $(...) or a pipeline:
# the server dies with the process that started it.
#
# Settings: VWS_HOST_ICD (lavapipe's ICD json), VWS_HOST_TIMEOUT (seconds
# to wait for the socket, default 30), VWS_HOST_PIDNS=0 (no PID namespace);
# VWS_HOST_LIBPATH and VWS_HOST_PRELOAD (the server's LD_LIBRARY_PATH and
# LD_PRELOAD), VWS_HOST_SHM (VKR_SHM_HOST_VISIBLE, default 1). host_use
# sets them for one of the two hosts:
#
#   host_use shm [BUILD]      Debian's lavapipe (22.3); host-visible memory
#                             is shm the renderer owns (our patch, on)
#   host_use udmabuf BUILD    backports' lavapipe (25.0.7, unpacked by
#                             scripts/venus-stock.sh) over the model of the
#                             host's /dev/udmabuf (BUILD's
#                             libvgshim-udmabuf.so): the driver exports its
#                             host-visible memory as dma-bufs itself (patch
#                             off), and Venus offers its guests dma-buf export
#
# Lifetime: the server runs under setpriv --pdeathsig KILL, so it is killed
# when the starting shell dies, even by SIGKILL. Where a PID namespace can
# be made (root), it also runs as the first process of its own namespace
# (unshare --kill-child): the kernel then ends every process it started
# (per-client children, virgl_render_server and its workers) with it, and
# VWS_HOST_PID is the unshare process holding that namespace. Nothing in
# there acts on SIGTERM (unshare ignores it, a namespace's first process
# ignores signals it has no handler for), so host_stop ends it with SIGKILL
# and waits until the whole namespace is gone; to make the server die
# abruptly in a test, send SIGKILL to VWS_HOST_PID. Without a namespace,
# host_stop sends SIGTERM to the server and the processes it started, waits
# up to 5 s, then SIGKILLs what is left. Processes are found and signalled
# by pid (checked against their start time), never by name.
#
# Traps: host_start puts host_stop in front of the shell's EXIT, INT and
# TERM traps. Set your own traps before host_start, or call host_stop in
# them. In a subshell bash shows the parent's traps although they do not
# run there, so in a subshell host_start does not chain them.

_vws_host_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The start time (clock ticks since boot) of a live, not yet reaped process,
# or nothing: together with the pid it names a process even after pid reuse.
_host_starttime() {
	local stat
	local -a f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	# fields after "(comm)": state is the 1st, starttime the 20th
	read -ra f <<< "${stat##*) }"
	case ${f[0]} in Z|X|x) return 1 ;; esac
	echo "${f[19]}"
}

host_alive() {
	[ -n "${VWS_HOST_PID:-}" ] && [ -n "${VWS_HOST_STARTTIME:-}" ] &&
		[ "$(_host_starttime "$VWS_HOST_PID")" = "$VWS_HOST_STARTTIME" ]
}

# The pids of a process's descendants, parents before children.
_host_descendants() {
	local task child
	local -a kids
	for task in /proc/"$1"/task/*/children; do
		kids=()
		# the list has no newline at its end: read's status is not an error
		read -ra kids 2>/dev/null < "$task" || true
		for child in "${kids[@]}"; do
			echo "$child"
			_host_descendants "$child"
		done
	done
}

# Is any of the "pid starttime" pairs still running?
_host_any_alive() {
	local p
	for p in "$@"; do
		[ "$(_host_starttime "${p% *}")" = "${p#* }" ] && return 0
	done
	return 1
}

# Can this shell make a PID namespace? Asked once per shell.
_host_pidns_ok() {
	if [ -z "${_vws_host_pidns:-}" ]; then
		_vws_host_pidns=no
		if [ "${VWS_HOST_PIDNS:-1}" != 0 ] &&
			unshare --pid --fork --kill-child=KILL true >/dev/null 2>&1; then
			_vws_host_pidns=yes
		fi
	fi
	[ "$_vws_host_pidns" = yes ]
}

# Adds host_stop in front of the shell's EXIT, INT and TERM traps, keeping
# whatever they did. On INT/TERM without a previous trap the shell then exits
# as the signal would have made it.
_host_trap_install() {
	[ "${_vws_host_trap_pid:-}" = "$BASHPID" ] && return 0
	_vws_host_trap_pid=$BASHPID
	local sig prev code
	local -a t
	for sig in EXIT INT TERM; do
		prev=
		if [ "$BASHPID" = "$$" ]; then
			prev=$(trap -p "$sig")
			if [ -n "$prev" ]; then
				eval "t=($prev)"   # trap -- 'command' SIG
				prev=${t[2]}
			fi
		fi
		if [ -n "$prev" ]; then
			code="host_stop; $prev"
		elif [ "$sig" = EXIT ]; then
			code="host_stop"
		else
			code="host_stop; trap - $sig; kill -$sig \$BASHPID"
		fi
		# shellcheck disable=SC2064
		trap "$code" "$sig"
	done
}

host_use() {
	local kind=${1:-} build=${2:-$_vws_host_root/build-gcc}
	local stock=$_vws_host_root/build-venus/stock
	case $kind in
	shm)
		unset VWS_HOST_ICD VWS_HOST_LIBPATH VWS_HOST_PRELOAD
		export VWS_HOST_SHM=1
		;;
	udmabuf)
		bash "$_vws_host_root/scripts/venus-stock.sh" >/dev/null || {
			echo "host: backports' lavapipe unavailable (scripts/venus-stock.sh)" >&2
			return 1
		}
		[ -f "$build/src/virtio/shim/libvgshim-udmabuf.so" ] || {
			echo "host: no $build/src/virtio/shim/libvgshim-udmabuf.so (ninja -C $build)" >&2
			return 1
		}
		export VWS_HOST_ICD=$stock/lvp_icd.json
		export VWS_HOST_LIBPATH=$stock/root/usr/lib/x86_64-linux-gnu
		export VWS_HOST_PRELOAD=$build/src/virtio/shim/libvgshim-udmabuf.so
		export VWS_HOST_SHM=0
		;;
	*)
		echo "host: host_use shm|udmabuf [BUILD]" >&2
		return 2
		;;
	esac
}

host_start() {
	local server=${1:-$_vws_host_root/build-host/prefix/bin/virgl_test_server}
	local icd=${VWS_HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}
	local timeout=${VWS_HOST_TIMEOUT:-30}
	local dir pid start rc
	if host_alive; then
		echo "host: a server is already running (pid $VWS_HOST_PID)" >&2
		return 1
	fi
	if [ -n "${VWS_HOST_PID:-}" ]; then
		host_stop   # one that died: its directory
	fi
	[ -x "$server" ] || {
		echo "host: no server at $server (run scripts/host-build.sh)" >&2
		return 1
	}
	[ -r "$icd" ] || {
		echo "host: no lavapipe ICD json at $icd (mesa-vulkan-drivers; VWS_HOST_ICD)" >&2
		return 1
	}
	dir=$(mktemp -d "${TMPDIR:-/tmp}/vws-host.XXXXXX") || return 1

	local -a wrap=(setpriv --pdeathsig KILL --)
	if _host_pidns_ok; then
		wrap+=(unshare --pid --fork --kill-child=KILL --)
	fi
	_host_trap_install
	# The server gets only its own Vulkan driver: none of the client-side
	# settings of the caller (a preloaded kernel model, Venus' ICD, libdrm).
	# stdbuf: its log is written by line, so a killed server loses nothing.
	env -u LD_PRELOAD -u LD_LIBRARY_PATH -u VK_DRIVER_FILES -u VK_ADD_DRIVER_FILES \
		-u VN_DEBUG -u VTEST_SOCKET_NAME \
		VK_ICD_FILENAMES="$icd" VKR_SHM_HOST_VISIBLE="${VWS_HOST_SHM:-1}" \
		${VWS_HOST_LIBPATH:+LD_LIBRARY_PATH="$VWS_HOST_LIBPATH"} \
		${VWS_HOST_PRELOAD:+LD_PRELOAD="$VWS_HOST_PRELOAD"} \
		"${wrap[@]}" stdbuf -oL -eL "$server" --venus --use-egl-surfaceless \
		--socket-path="$dir/vtest.sock" </dev/null >"$dir/server.log" 2>&1 &
	pid=$!
	# bash still reaps it, but does not report its death as a job's
	disown "$pid"
	start=$(_host_starttime "$pid")
	export VWS_HOST_PID=$pid VWS_HOST_STARTTIME=$start VWS_HOST_DIR=$dir
	export VWS_HOST_SOCKET=$dir/vtest.sock

	# Ready when the socket accepts a connection; a server that exits
	# first is reported with its log.
	rc=0
	python3 - "$VWS_HOST_SOCKET" "$pid" "$timeout" <<'EOF' || rc=$?
import os, socket, sys, time
path, pid, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + timeout

def alive():
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZXx"
    except OSError:
        return False

while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        s.connect(path)
        sys.exit(0)
    except OSError:
        pass
    finally:
        s.close()
    if not alive():
        sys.exit(2)
    if time.monotonic() > deadline:
        sys.exit(3)
    time.sleep(0.01)
EOF
	[ "$rc" = 0 ] && return 0
	case $rc in
	2) echo "host: $server exited during start-up; end of $dir/server.log:" >&2 ;;
	3) echo "host: $server not accepting on $VWS_HOST_SOCKET after ${timeout} s; end of its log:" >&2 ;;
	*) echo "host: cannot wait for $server (python3 status $rc)" >&2 ;;
	esac
	tail -20 "$dir/server.log" | sed 's/^/  | /' >&2
	host_stop
	return 1
}

host_stop() {
	local pid=${VWS_HOST_PID:-} dir=${VWS_HOST_DIR:-} p t i
	local -a procs=()
	if [ -n "$pid" ] && host_alive; then
		if [ "${_vws_host_pidns:-}" = yes ]; then
			# Killing the namespace's first process ends the namespace;
			# unshare reaps it, then exits. Killing unshare first would
			# leave that reaping to whatever adopts the orphan.
			procs=("$pid $VWS_HOST_STARTTIME")
			p=$(cat /proc/"$pid"/task/"$pid"/children 2>/dev/null)
			p=${p%% *}
			kill -KILL "${p:-$pid}" 2>/dev/null || true
		else
			for p in "$pid" $(_host_descendants "$pid"); do
				t=$(_host_starttime "$p") && procs+=("$p $t")
			done
			for p in "${procs[@]}"; do
				kill -TERM "${p% *}" 2>/dev/null || true
			done
		fi
		for ((i = 0; i < 500; i++)); do   # 5 s
			_host_any_alive "${procs[@]}" || break
			sleep 0.01
		done
		for p in "${procs[@]}"; do
			if [ "$(_host_starttime "${p% *}")" = "${p#* }" ]; then
				kill -KILL "${p% *}" 2>/dev/null || true
			fi
		done
	fi
	if [ -n "$dir" ] && [ -d "$dir" ]; then
		rm -rf "$dir"
	fi
	unset VWS_HOST_PID VWS_HOST_STARTTIME VWS_HOST_DIR VWS_HOST_SOCKET
	return 0
}
