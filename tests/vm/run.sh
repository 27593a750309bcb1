#!/bin/bash
# The winsys on a real kernel: boots Debian's own kernels under QEMU (TCG)
# with a virtio-gpu device, runs vm-winsys-test and vws-info in a busybox
# initramfs, and turns the serial console into PASS/FAIL lines.
#
#   tests/vm/run.sh [BUILD_DIR]      (default: build-gcc, built if missing)
#
# Appends to $RESULTS when set (scripts/test-all.sh), prints a summary
# either way; exit 1 on any failure. Downloads are cached in tests/vm/cache,
# console logs and vws-info output land in tests/vm/out. A package that
# cannot be downloaded is a failure with that message, never a skip.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-gcc}
cache=$here/cache
out=$here/out
results=${RESULTS:-$out/results.txt}
boot_timeout=${VM_BOOT_TIMEOUT:-150}
mkdir -p "$cache" "$out"
[ -n "${RESULTS:-}" ] || : > "$results"
fails=0

result() { # PASS|FAIL name [why]
	echo "$1 vm:$2${3:+ ($3)}" >> "$results"
	[ "$1" = FAIL ] && { fails=$((fails + 1)); echo "vm: FAIL $2 ${3:-}" >&2; }
	return 0
}

bash "$root/scripts/deps.sh" qemu-system-x86 busybox-static cpio kmod xz-utils ||
	{ result FAIL setup "cannot install qemu-system-x86 busybox-static cpio kmod"; exit 1; }
if [ ! -x "$build/src/tools/vws-info" ] || [ ! -x "$build/tests/vm/vm-winsys-test" ]; then
	[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
	ninja -C "$build" src/tools/vws-info tests/vm/vm-winsys-test >/dev/null ||
		{ result FAIL build "vws-info / vm-winsys-test"; exit 1; }
fi

# The kernels: the one linux-image-amd64 points at (6.1 on Debian 12), and
# the newest 6.x generic amd64 image the archive has (6.12 from backports).
k1=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
k2=$(apt-cache search --names-only '^linux-image-[0-9][0-9.+~a-z-]*-amd64$' 2>/dev/null |
	awk '{ print $1 }' | grep -v -e cloud -e rt -e dbg -e unsigned | sort -V | tail -1)
kernels="$k1"
[ -n "$k2" ] && [ "$k2" != "$k1" ] && kernels="$k1 $k2"
[ -n "$k1" ] || { result FAIL kernel-package "apt-cache finds no linux-image-amd64 (apt-get update?)"; exit 1; }

# unpack PKG -> cache/PKG/root
unpack() {
	local pkg=$1 dir=$cache/$1
	[ -d "$dir/root/boot" ] && return 0
	rm -rf "$dir" && mkdir -p "$dir"
	(cd "$dir" && apt-get download "$pkg" >/dev/null 2>"$dir/download.log") || {
		result FAIL "download:$pkg" "apt-get download failed: $(tail -1 "$dir/download.log")"
		return 1; }
	dpkg-deb -x "$dir"/*.deb "$dir/root" && rm -f "$dir"/*.deb
}

# Copies a module (decompressed) and, first, what it depends on.
declare -A added
add_module() { # moddir name initrd
	local moddir=$1 name=$2 initrd=$3 f dep
	name=${name//-/_}
	[ -n "${added[$name]:-}" ] && return 0
	added[$name]=1
	f=$(find "$moddir/kernel" -name "$name.ko*" -o -name "${name//_/-}.ko*" | head -1)
	if [ -z "$f" ]; then
		grep -qE "/(${name}|${name//_/-})\.ko" "$moddir/modules.builtin" 2>/dev/null && return 0
		echo "vm: module $name not found (and not built in)" >&2
		return 1
	fi
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_module "$moddir" "$dep" "$initrd" || return 1
	done
	case $f in
	*.xz) xz -dc "$f" > "$initrd/modules/$name.ko" ;;
	*.zst) zstd -qdc "$f" > "$initrd/modules/$name.ko" ;;
	*) cp "$f" "$initrd/modules/$name.ko" ;;
	esac
	echo "$name" >> "$initrd/modules/order"
}

# Copies a program and the shared objects it loads (ldd) into the initrd.
add_program() { # path initrd
	local lib
	cp "$1" "$2/bin/"
	# libraries go where ldd found them and into /lib (build-tree rpaths
	# are $ORIGIN-relative and do not survive the move)
	mkdir -p "$2/lib"
	for lib in $(ldd "$1" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		mkdir -p "$2$(dirname "$lib")"
		cp -L "$lib" "$2$lib"
		cp -L "$lib" "$2/lib/"
	done
}

boot() { # kernel-package
	local pkg=$1 dir=$cache/$1 initrd ver vmlinuz log tag
	tag=${pkg#linux-image-}
	unpack "$pkg" || return
	vmlinuz=$(ls "$dir"/root/boot/vmlinuz-* | head -1)
	ver=${vmlinuz##*/vmlinuz-}
	initrd=$(mktemp -d)
	mkdir -p "$initrd"/{bin,modules,proc,sys,dev,tmp,etc}
	cp /bin/busybox "$initrd/bin/busybox"
	for t in sh mount insmod ls cat sleep poweroff mkdir echo; do ln -s busybox "$initrd/bin/$t"; done
	: > "$initrd/modules/order"
	for m in virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci drm \
		 drm_kms_helper drm_shmem_helper virtio_dma_buf virtio_gpu; do
		add_module "$dir/root/lib/modules/$ver" "$m" "$initrd" ||
			{ result FAIL "$tag:modules" "module $m"; rm -rf "$initrd"; unset added; declare -gA added; return; }
	done
	unset added; declare -gA added
	add_program "$build/tests/vm/vm-winsys-test" "$initrd"
	add_program "$build/src/tools/vws-info" "$initrd"
	cat > "$initrd/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
export LD_LIBRARY_PATH=/lib
for m in $(cat /modules/order); do insmod /modules/$m.ko 2>/dev/null || echo "VMTEST INFO insmod $m failed"; done
# devtmpfs creates the node when the driver binds; bounded wait for it
n=0
while [ ! -e /dev/dri/renderD128 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
echo "VMTEST INFO kernel $(cat /proc/sys/kernel/osrelease)"
/bin/vm-winsys-test
echo "VMTEST VWS-INFO-BEGIN"
/bin/vws-info
echo "VMTEST VWS-INFO-STATUS $?"
echo "VMTEST VWS-INFO-END"
echo "VMTEST VWS-JSON-BEGIN"
/bin/vws-info --json
echo "VMTEST VWS-JSON-END"
echo "VMTEST ALL-DONE"
poweroff -f
INIT
	chmod +x "$initrd/init"
	(cd "$initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd-$tag.cpio.gz"
	rm -rf "$initrd"
	log=$out/console-$tag.log
	echo "vm: booting $pkg ($ver)" >&2
	timeout "$boot_timeout" qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot \
		-kernel "$vmlinuz" -initrd "$out/initrd-$tag.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3" \
		-device virtio-gpu-pci > "$log" 2>&1 < /dev/null
	local rc=$?
	tr -d '\r' < "$log" > "$log.tmp" && mv "$log.tmp" "$log"
	if ! grep -q "VMTEST ALL-DONE" "$log"; then
		result FAIL "$tag:boot" "no end marker (qemu exit $rc, see $log)"
		return
	fi
	result PASS "$tag:boot"
	grep -E '^VMTEST (PASS|FAIL) ' "$log" | while read -r _ s name rest; do
		echo "$s vm:$tag:$name${rest:+ ($rest)}" >> "$results"
	done
	grep -q '^VMTEST FAIL ' "$log" && fails=$((fails + $(grep -c '^VMTEST FAIL ' "$log")))
	grep -q '^VMTEST END' "$log" || result FAIL "$tag:vm-winsys-test" "did not finish"
	sed -n '/VMTEST VWS-INFO-BEGIN/,/VMTEST VWS-INFO-END/p' "$log" | sed '1d;$d' > "$out/vws-info-$tag.txt"
	sed -n '/VMTEST VWS-JSON-BEGIN/,/VMTEST VWS-JSON-END/p' "$log" | sed '1d;$d' > "$out/vws-info-$tag.json"
	if grep -q 'VMTEST VWS-INFO-STATUS 0' "$log" && grep -q 'virtio_gpu' "$out/vws-info-$tag.txt"; then
		result PASS "$tag:vws-info"
	else
		result FAIL "$tag:vws-info" "see $out/vws-info-$tag.txt"
	fi
	grep '^VMTEST INFO' "$log" | sed 's/^VMTEST INFO //' > "$out/info-$tag.txt"
}

start=$(date +%s)
for k in $kernels; do
	boot "$k"
done
# What differs between the kernels (params, hint support).
set -- $kernels
if [ $# -eq 2 ]; then
	a=${1#linux-image-} b=${2#linux-image-}
	diff "$out/info-$a.txt" "$out/info-$b.txt" > "$out/kernel-differences.txt" 2>/dev/null
	echo "vm: differences $a vs $b:" >&2
	sed 's/^/vm:   /' "$out/kernel-differences.txt" >&2
fi
echo "vm: done in $(( $(date +%s) - start )) s, $fails failure(s)" >&2
[ $fails -eq 0 ]
