#!/bin/bash
# Builds the real host renderer: virglrenderer 1.1 with Venus, patched with
# host/virglrenderer/*.patch, installed into build-host/prefix (never
# system-wide). The last line on stdout is the path of virgl_test_server;
# everything else goes to stderr.
#
#   scripts/host-build.sh
#
# Source: the tarball named by $VIRGLRENDERER_SRC, else
# ../shared/host/virglrenderer-1.1.0-7cb38d6e.tar.xz next to the repository.
# Rebuilds only when the tarball, a patch, this script or the install prefix
# change (build-host/stamp holds their hash). Installs missing build
# packages with apt-get. See docs/real-host.md.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
out=$ROOT/build-host
prefix=$out/prefix
server=$prefix/bin/virgl_test_server
tarball=${VIRGLRENDERER_SRC:-$ROOT/../shared/host/virglrenderer-1.1.0-7cb38d6e.tar.xz}

die() { echo "host-build: $*" >&2; exit 1; }

if [ ! -f "$tarball" ]; then
	die "no virglrenderer source tarball at $tarball
  set VIRGLRENDERER_SRC to a virglrenderer 1.1.0 (or later) release tarball
  (freedesktop's virglrenderer releases); see host/README.md"
fi
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
patches=("$ROOT"/host/virglrenderer/*.patch)
[ -f "${patches[0]}" ] || die "no patch in $ROOT/host/virglrenderer"

mkdir -p "$out"
# One build at a time per checkout (tests and tools may ask concurrently).
exec 9>"$out/.lock"
flock 9

stamp=$( { sha256sum "$tarball" "${patches[@]}" "$0" | awk '{ print $1 }'
	echo "$prefix"; } | sha256sum | awk '{ print $1 }')
if [ -x "$server" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$server"
	exit 0
fi

# Build packages, only those missing (the tarball's meson.build asks for
# epoxy, gbm, libdrm and vulkan with venus; python3-yaml for its codegen).
need=(meson ninja-build pkg-config gcc libc6-dev xz-utils patch python3 python3-yaml
      libepoxy-dev libgbm-dev libdrm-dev libvulkan-dev)
bash "$ROOT/scripts/apt-need.sh" host-build "${need[@]}" || die "cannot install build packages"

start=$(date +%s)
rm -rf "$out/src" "$out/build" "$prefix" "$out/stamp"
mkdir -p "$out/src"
log=$out/build.log
: > "$log"
step() { # what, command...
	local what=$1; shift
	"$@" >>"$log" 2>&1 || { tail -40 "$log" >&2; die "$what failed (log: $log)"; }
}
echo "host-build: building $(basename "$tarball") into $prefix" >&2
step "unpacking $tarball" tar -xf "$tarball" -C "$out/src" --strip-components=1
for p in "${patches[@]}"; do
	step "applying $(basename "$p")" patch -d "$out/src" -p1 --forward --batch -i "$p"
done
# Unoptimised: the renderer is not the hot path (lavapipe is; dEQP-VK
# memory.mapping takes as long against this build as against an -Og one),
# and its three Venus decoder sources dominate the build: -Og costs half
# as much CPU again, -O2 three times. Static libvirglrenderer: the binaries
# cannot pick up Debian's 0.10.4 library at run time.
step "meson setup" meson setup "$out/build" "$out/src" \
	--prefix="$prefix" --libdir=lib \
	-Dvenus=true -Dplatforms=egl -Dtests=false \
	-Ddefault_library=static -Doptimization=0 -Ddebug=false -Db_ndebug=true
step "ninja" ninja -C "$out/build"
step "ninja install" ninja -C "$out/build" install
if [ ! -x "$server" ] || [ ! -x "$prefix/libexec/virgl_render_server" ]; then
	die "install did not produce $server and libexec/virgl_render_server"
fi
echo "$stamp" > "$out/stamp"
echo "host-build: done in $(( $(date +%s) - start )) s" >&2
echo "$server"
