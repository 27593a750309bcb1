#!/bin/bash
# Builds Mesa's Venus driver on libvirtio-winsys ("Venus-on-vws"): Mesa 25.0.7
# from Debian's bookworm-backports source index, the series in mesa/ applied
# in order, a Venus-only libvulkan_virtio.so built with -Dvenus-winsys=vws,
# which finds this project through pkg-config in a private install of it
# (build-mesa/vws-prefix). Writes build-venus/vws/virtio_icd.json; the last
# line on stdout is its path, everything else goes to stderr.
#
#   scripts/mesa-build.sh
#
# Cached: nothing is done when the series, the winsys and Vulkan-layer
# sources, this script and the Mesa version are as at the last build
# (build-mesa/stamp). Otherwise only what changed is redone: the project is
# rebuilt and reinstalled (files that did not change keep their time), the
# Mesa tree is unpacked and patched again only when the series changed, and
# ninja rebuilds what depends on the rest. See docs/venus.md.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
out=$ROOT/build-mesa
icd_dir=$ROOT/build-venus/vws
icd=$icd_dir/virtio_icd.json
MESA_VERSION=25.0.7
SUITE=bookworm-backports
# Mesa's own python, whatever python3 comes first on PATH (it needs mako).
PY=/usr/bin/python3

die() { echo "mesa-build: $*" >&2; exit 1; }

patches=("$ROOT"/mesa/*.patch)
[ -f "${patches[0]}" ] || die "no patch in $ROOT/mesa"

mkdir -p "$out" "$icd_dir"
# One build at a time per checkout (vk-run.sh and tests may ask at once).
exec 9>"$out/.lock"
flock 9

# Everything a build depends on, as one hash.
winsys_inputs() {
	(cd "$ROOT" && find meson.build meson_options.txt include src/virtio/winsys \
		src/virtio/vulkan -type f | LC_ALL=C sort | xargs sha256sum)
}
series_hash=$(cat "${patches[@]}" | sha256sum | awk '{ print $1 }')
stamp=$( { echo "$MESA_VERSION $series_hash"; sha256sum < "$0"; winsys_inputs; } |
	sha256sum | awk '{ print $1 }')
lib=$out/build/src/virtio/vulkan/libvulkan_virtio.so
if [ -f "$lib" ] && [ -f "$icd" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$icd"
	exit 0
fi
start=$(date +%s)
log=$out/build.log
: > "$log"
step() { # what, command...
	local what=$1; shift
	"$@" >>"$log" 2>&1 || { tail -40 "$log" >&2; die "$what failed (log: $log)"; }
}

# Build packages, only those missing. Mesa's project also declares C++.
need=(meson ninja-build pkg-config gcc g++ libc6-dev xz-utils patch python3 python3-mako
      libdrm-dev libexpat1-dev zlib1g-dev libvulkan-dev)
bash "$ROOT/scripts/apt-need.sh" mesa-build "${need[@]}" || die "cannot install build packages"
"$PY" -c 'import mako' 2>/dev/null || die "$PY has no mako module (python3-mako)"

# bookworm-backports' source and binary indices, derived from the machine's
# own apt configuration (no host name in this repository).
bash "$ROOT/scripts/backports.sh" >/dev/null || die "cannot add $SUITE"

# Meson >= 1.4 for Mesa 25: the system's if it is new enough, else
# backports' (pure Python) unpacked privately; the system is not upgraded.
dl=$out/dl
mkdir -p "$dl"
meson_ok() {
	local v
	v=$("$@" --version 2>/dev/null) && [ -n "$v" ] &&
		awk -F. '{ exit !($1 > 1 || ($1 == 1 && $2 >= 4)) }' <<< "$v"
}
mpath=
if meson_ok meson; then
	MESON=(meson)
else
	mdir=$out/meson
	mpath=$mdir/usr/lib/python3/dist-packages
	MESON=(env PYTHONPATH="$mpath" "$PY" "$mdir/usr/bin/meson")
	if ! meson_ok "${MESON[@]}"; then
		echo "mesa-build: unpacking meson from $SUITE into $mdir" >&2
		rm -rf "$mdir" "$dl"/meson_*.deb
		(cd "$dl" && apt-get download -q "meson/$SUITE") >>"$log" 2>&1 ||
			die "cannot download meson from $SUITE (log: $log)"
		dpkg-deb -x "$dl"/meson_*.deb "$mdir" || die "cannot unpack meson"
		meson_ok "${MESON[@]}" || die "meson from $SUITE is older than 1.4"
	fi
fi

# Mesa's upstream tarball (the .orig of backports' source package), checked
# against the signed source index. Debian's packaging is not needed for a
# Venus-only build, so its .dsc and .debian.tar are not required.
tarball=$dl/mesa_$MESA_VERSION.orig.tar.xz
want=$(apt-cache showsrc mesa 2>/dev/null | awk -v f="mesa_$MESA_VERSION.orig.tar.xz" '
	/^Checksums-Sha256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == f { print $1; exit }')
[ -n "$want" ] || die "no mesa $MESA_VERSION in the source indices ($SUITE)"
if [ ! -f "$tarball" ] || [ "$(sha256sum < "$tarball" | awk '{ print $1 }')" != "$want" ]; then
	srcver=$(apt-cache showsrc mesa | awk -v v="$MESA_VERSION" '
		/^Version:/ && index($2, v "-") == 1 { print $2; exit }')
	echo "mesa-build: fetching mesa $srcver source ($SUITE)" >&2
	rm -f "$tarball"
	# apt-get source fetches the .orig tarball first; a missing .dsc or
	# .debian.tar after it does not matter here (see above).
	(cd "$dl" && apt-get source --download-only -q "mesa=$srcver") >>"$log" 2>&1 || true
	[ -f "$tarball" ] || { tail -20 "$log" >&2; die "apt-get source did not fetch $(basename "$tarball")"; }
	[ "$(sha256sum < "$tarball" | awk '{ print $1 }')" = "$want" ] ||
		die "$(basename "$tarball"): sha256 does not match the source index"
fi

# The patched tree, unpacked again only when the tarball or the series changed.
src=$out/src
src_stamp="$want $series_hash"
if [ "$(cat "$out/src.stamp" 2>/dev/null)" != "$src_stamp" ]; then
	echo "mesa-build: unpacking and patching Mesa $MESA_VERSION" >&2
	rm -rf "$src" "$out/src.stamp"
	mkdir -p "$src"
	step "unpacking $(basename "$tarball")" \
		tar -xf "$tarball" -C "$src" --strip-components=1 --no-same-owner
	for p in "${patches[@]}"; do
		step "applying $(basename "$p")" patch -d "$src" -p1 --forward --batch -i "$p"
	done
	echo "$src_stamp" > "$out/src.stamp"
fi

# This project, installed into a private prefix: what pkg-config finds.
prefix=$out/vws-prefix
vbuild=$out/vws-build
if [ ! -f "$vbuild/build.ninja" ]; then
	step "project meson setup" meson setup "$vbuild" "$ROOT" --prefix="$prefix" \
		--libdir=lib -Dbuildtype=release -Dtests=disabled
fi
step "project build" ninja -C "$vbuild"
step "project install" meson install -C "$vbuild" --only-changed --quiet
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pkg-config --exists virtio-winsys virtio-winsys-vk || die "pkg-config cannot find the install"

# Mesa, Venus only (options as in docs/real-host.md) on the winsys.
mbuild=$out/build
options=(-Dvulkan-drivers=virtio -Dgallium-drivers= -Dplatforms= -Dglx=disabled
	-Degl=disabled -Dgbm=disabled -Dopengl=false -Dgles1=disabled -Dgles2=disabled
	-Dllvm=disabled -Dvideo-codecs= -Dvulkan-layers= -Dtools= -Dbuildtype=release
	-Dvenus-winsys=vws)
printf "[binaries]\npython3 = '%s'\npython = '%s'\n" "$PY" "$PY" > "$out/native.ini"
opt_stamp=$(echo "${options[*]} $prefix" | sha256sum | awk '{ print $1 }')
if [ ! -f "$mbuild/build.ninja" ] || [ "$(cat "$out/options.stamp" 2>/dev/null)" != "$opt_stamp" ]; then
	rm -rf "$mbuild"
	step "mesa meson setup" "${MESON[@]}" setup "$mbuild" "$src" \
		--native-file "$out/native.ini" "${options[@]}"
	echo "$opt_stamp" > "$out/options.stamp"
fi
# ninja may re-run meson (a patched meson.build): same python and pkg-config.
icd_target=src/virtio/vulkan/virtio_devenv_icd.$(uname -m).json
echo "mesa-build: building libvulkan_virtio.so" >&2
step "mesa build" env PYTHONPATH="$mpath" ninja -C "$mbuild" src/virtio/vulkan/libvulkan_virtio.so "$icd_target"
[ -f "$lib" ] || die "no $lib"

# The ICD json: Mesa's own development one names the library by its path in
# the build tree.
cp "$mbuild/$icd_target" "$icd.tmp" && mv "$icd.tmp" "$icd"
grep -q "\"library_path\": \"$lib\"" "$icd" || die "$icd does not name $lib"
echo "$stamp" > "$out/stamp"
echo "mesa-build: done in $(( $(date +%s) - start )) s" >&2
echo "$icd"
