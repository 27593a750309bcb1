#!/bin/bash
# Runs any Vulkan program on a chosen stack, building and starting what is
# missing (docs/real-host.md):
#
#   scripts/vk-run.sh [--driver stock|vws] [--transport model|vtest]
#                     [--kernel legacy|v1|v2|fixed] [--defer auto|always|never]
#                     [--hostmem SIZE] [--host shm|udmabuf] -- COMMAND [ARGS]
#
#   driver    stock: Debian's unmodified Venus ICD (bookworm-backports 25.0.7);
#             vws: Venus patched onto libvirtio-winsys (mesa/, scripts/mesa-build.sh)
#   transport model: the kernel model (LD_PRELOAD libvirtgpu-shim.so) whose host is
#             the real server; vtest: the driver talks to the server directly
#   kernel    the model's generation (model transport only); default fixed
#   defer     the winsys's policy for the defer-mapping hint (vws only); default auto
#   hostmem   the model's host-visible region; default 256M
#   host      shm: Debian's lavapipe, host-visible memory as shm (default);
#             udmabuf: backports' lavapipe over the model of /dev/udmabuf,
#             which exports dma-bufs (Venus offers external memory)
#
# Prints one line naming the stack, runs COMMAND with the loader pointed at the
# chosen ICD and exits with COMMAND's status. The server it starts is stopped by
# pid when COMMAND ends, when this script is signalled, and (pdeathsig) when it
# is killed outright. The environment passes through: VGSHIM_STATS=FILE gets the
# model's counters, VGSHIM_* and VWS_* variables reach the model and the winsys.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)

driver=stock transport=model kernel=fixed defer=auto hostmem=256M host=shm
usage() {
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--driver) driver=${2:-}; shift 2 || usage ;;
	--transport) transport=${2:-}; shift 2 || usage ;;
	--kernel) kernel=${2:-}; shift 2 || usage ;;
	--defer) defer=${2:-}; shift 2 || usage ;;
	--hostmem) hostmem=${2:-}; shift 2 || usage ;;
	--host) host=${2:-}; shift 2 || usage ;;
	--) shift; break ;;
	-h|--help) usage ;;
	*) echo "vk-run: unknown option '$1'" >&2; usage ;;
	esac
done
[ $# -gt 0 ] || { echo "vk-run: no COMMAND after --" >&2; usage; }
case "$driver" in stock|vws) ;; *) echo "vk-run: --driver stock|vws" >&2; exit 2 ;; esac
case "$transport" in model|vtest) ;; *) echo "vk-run: --transport model|vtest" >&2; exit 2 ;; esac
case "$kernel" in legacy|v1|v2|fixed) ;; *) echo "vk-run: --kernel legacy|v1|v2|fixed" >&2; exit 2 ;; esac
case "$defer" in auto|always|never) ;; *) echo "vk-run: --defer auto|always|never" >&2; exit 2 ;; esac
case "$host" in shm|udmabuf) ;; *) echo "vk-run: --host shm|udmabuf" >&2; exit 2 ;; esac
[[ "$hostmem" =~ ^[0-9]+[KMG]?$ ]] || { echo "vk-run: --hostmem SIZE (bytes, K, M or G)" >&2; exit 2; }

log() { echo "vk-run: $*" >&2; }
quiet() { # runs a build step; its output is shown only when it fails
	local out
	out=$("$@" 2>&1) || { printf '%s\n' "$out" | tail -30 >&2; return 1; }
	printf '%s\n' "$out" | tail -1
}

# The project's own build: the kernel model (and, for vws, the winsys).
build=${VWS_BUILD_DIR:-$ROOT/build-gcc}
if [ ! -f "$build/build.ninja" ]; then
	quiet meson setup "$build" "$ROOT" --werror >/dev/null || { log "meson setup failed"; exit 2; }
fi
quiet ninja -C "$build" >/dev/null || { log "build failed"; exit 2; }
shim=$build/src/virtio/shim/libvirtgpu-shim.so

# The driver.
case "$driver" in
stock)
	quiet bash "$ROOT/scripts/venus-stock.sh" >/dev/null || { log "stock Venus unavailable"; exit 2; }
	icd=$ROOT/build-venus/stock/virtio_icd.json
	# shellcheck disable=SC1091
	. "$ROOT/build-venus/stock/env.sh"
	drv_name="stock Venus $(grep -o 'mesa-vulkan-drivers=[^ ]*' "$ROOT/build-venus/stock/versions" | cut -d= -f2)"
	;;
vws)
	if [ ! -f "$ROOT/scripts/mesa-build.sh" ]; then
		log "--driver vws: Venus on libvirtio-winsys is not available in this tree yet (mesa/)"
		exit 2
	fi
	quiet bash "$ROOT/scripts/mesa-build.sh" >/dev/null || { log "Venus-on-vws build failed"; exit 2; }
	icd=$ROOT/build-venus/vws/virtio_icd.json
	[ -f "$ROOT/build-venus/vws/env.sh" ] && . "$ROOT/build-venus/vws/env.sh"
	drv_name="Venus on libvirtio-winsys (defer $defer)"
	;;
esac
[ -f "$icd" ] || { log "no ICD json at $icd"; exit 2; }

# The host: virglrenderer 1.1 (patched) with lavapipe, in its own directory.
server=$(quiet bash "$ROOT/scripts/host-build.sh") || { log "host renderer build failed"; exit 2; }
# shellcheck disable=SC1091
. "$ROOT/scripts/host-lib.sh"
host_use "$host" "$build" || { log "host $host unavailable"; exit 2; }
host_start "$server" || { log "host renderer did not start"; exit 2; }
case "$host" in
shm) host_name="lavapipe (Debian's), host-visible memory as shm" ;;
udmabuf) host_name="lavapipe (backports') on the udmabuf model, host-visible memory as dma-bufs" ;;
esac

# What the program gets, and only the program.
envs=(VK_ICD_FILENAMES="$icd")
case "$transport" in
vtest)
	if [ "$driver" = stock ]; then
		envs+=(VN_DEBUG="${VN_DEBUG:+$VN_DEBUG,}vtest" VTEST_SOCKET_NAME="$VWS_HOST_SOCKET")
	else
		envs+=(VWS_BACKEND=vtest VWS_VTEST_SOCKET="$VWS_HOST_SOCKET")
	fi
	kern="vtest (no kernel)"
	;;
model)
	envs+=(LD_PRELOAD="$shim${LD_PRELOAD:+:$LD_PRELOAD}" VGSHIM_VTEST_SOCKET="$VWS_HOST_SOCKET"
	       VGSHIM_KERNEL="$kernel" VGSHIM_HOSTMEM="$hostmem")
	[ "$driver" = vws ] && envs+=(VWS_BACKEND=kernel)
	kern="kernel model ($kernel, hostmem $hostmem)"
	;;
esac
[ "$driver" = vws ] && envs+=(VWS_DEFER="$defer")

echo "vk-run: $drv_name -> $kern -> virglrenderer 1.1 vtest (pid $VWS_HOST_PID) -> $host_name"

# COMMAND runs as our child (stdin kept), so that a signal to this script
# can end it and the server, by pid, before we go.
child=
on_signal() {
	trap - INT TERM
	[ -n "$child" ] && kill -TERM "$child" 2>/dev/null
	host_stop
	exit 143
}
trap on_signal INT TERM
env "${envs[@]}" "$@" <&0 &
child=$!
wait "$child"
status=$?
child=
host_stop
exit "$status"
