#!/bin/bash
# The unmodified Venus driver of Debian's bookworm-backports (Mesa 25.0.x,
# libvulkan_virtio.so), unpacked into build-venus/stock/ without installing
# or upgrading anything on the system:
#
#   build-venus/stock/root/            the unpacked packages
#   build-venus/stock/virtio_icd.json  ICD json naming the unpacked driver
#   build-venus/stock/lvp_icd.json     the same for the unpacked lavapipe (a
#                                      host driver: scripts/host-lib.sh)
#   build-venus/stock/env.sh           exports LD_LIBRARY_PATH (backports'
#                                      libdrm) and VWS_VENUS_ICD, for clients
#
#   scripts/venus-stock.sh      (prints the ICD json's path as its last line)
#
# mesa-vulkan-drivers and libdrm2 come from backports with apt-get download;
# a library the driver needs that is missing on the system is installed
# from the system's own suite, one that is there but older than the driver
# package asks for is downloaded from backports and unpacked too.
# Nothing is fetched again while the unpacked versions are what backports
# offers. See docs/real-host.md.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
out=$ROOT/build-venus/stock
suite=bookworm-backports
die() { echo "venus-stock: $*" >&2; exit 1; }
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
apt_opts=(-o DPkg::Lock::Timeout=600)
# as root, apt-get download would warn that its _apt sandbox cannot write here
[ "$(id -u)" = 0 ] && apt_opts+=(-o APT::Sandbox::User=root)

# What backports offers now for PKG..., as "PKG=VERSION " each (one
# apt-cache run: each costs a second or more).
bpo_versions() {
	apt-cache madison "$@" 2>/dev/null | awk -F'|' -v s="$suite" '
		$3 ~ " " s "/" && $3 ~ / Packages$/ {
			gsub(/ /, "", $1); gsub(/ /, "", $2)
			if (!($1 in seen)) { seen[$1] = 1; printf "%s=%s ", $1, $2 }
		}'
}

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9

pkgs=(mesa-vulkan-drivers libdrm2)
# packages added by an earlier run because the system's copy was too old
extra=()
[ -f "$out/extra-packages" ] && read -ra extra < "$out/extra-packages"
pkgs+=("${extra[@]}")

# Unpacked after apt last changed its indices: what backports offers cannot
# have changed either (asking apt-cache costs seconds, and vk-run.sh asks
# for every program it runs).
if [ -f "$out/versions" ] && [ -f "$out/virtio_icd.json" ] && [ -f "$out/env.sh" ] &&
	[ -f "$out/lvp_icd.json" ] && [ "$out/versions" -nt /var/lib/apt/lists ] &&
	{ [ ! -e /var/lib/apt/lists/partial ] || [ "$out/versions" -nt /var/lib/apt/lists/partial ]; }; then
	echo "$out/virtio_icd.json"
	exit 0
fi

# The versions wanted, in the order of pkgs; backports is added to apt's
# sources first if apt does not know it yet.
wanted() {
	local got p v
	got=" $(bpo_versions "${pkgs[@]}")"
	want=
	for p in "${pkgs[@]}"; do
		v=${got#* "$p"=}
		[ "$v" != "$got" ] || return 1
		want="$want$p=${v%% *} "
	done
}
if ! wanted; then
	bash "$ROOT/scripts/backports.sh" >/dev/null || die "cannot add $suite (scripts/backports.sh)"
	wanted || die "$suite offers not all of ${pkgs[*]} (apt-get update?)"
fi

lib=$(find "$out/root" -name libvulkan_virtio.so 2>/dev/null | head -1)
if [ -n "$lib" ] && [ -f "$out/virtio_icd.json" ] && [ -f "$out/env.sh" ] &&
	[ -f "$out/lvp_icd.json" ] && [ "$(cat "$out/versions" 2>/dev/null)" = "$want" ]; then
	echo "$out/virtio_icd.json"
	exit 0
fi

# unpack PKG...: downloads backports' PKG and unpacks it into root/; the
# .deb files stay in debs/ until the end (their control data is read).
unpack() {
	local p deb
	mkdir -p "$out/debs"
	for p in "$@"; do
		(cd "$out/debs" && apt-get "${apt_opts[@]}" download "$p/$suite") \
			>"$out/download.log" 2>&1 ||
			{ cat "$out/download.log" >&2; die "apt-get download $p/$suite failed"; }
	done
	for deb in "$out"/debs/*.deb; do
		dpkg-deb -x "$deb" "$out/root" || die "dpkg-deb -x $deb failed"
	done
}

rm -rf "$out/root" "$out/debs" "$out/versions" "$out/virtio_icd.json" "$out/lvp_icd.json" "$out/env.sh"
unpack "${pkgs[@]}"
lib=$(find "$out/root" -name libvulkan_virtio.so | head -1)
[ -n "$lib" ] || die "mesa-vulkan-drivers from $suite has no libvulkan_virtio.so"
libdir=$(dirname "$lib")
# "package min-version" per dependency of the driver's package
depends=$(dpkg-deb -f "$out"/debs/mesa-vulkan-drivers_*.deb Depends | tr ',' '\n' |
	sed -n 's/^ *\([^ |(]*\) *\((>= *\([^)]*\))\)\{0,1\}.*/\1 \3/p')

# The libraries the driver loads: missing ones are installed from the
# system's suite; one whose installed package is older than the driver
# package's dependency asks for is unpacked from backports too (the
# system's copy is never upgraded). Until nothing is left to do.
for round in 1 2 3; do
	report=$(LD_LIBRARY_PATH=$libdir ldd "$lib" 2>&1) || die "ldd $lib: $report"
	missing=$(awk '/=> not found/ { print $1 }' <<< "$report")
	if [ -n "$missing" ]; then
		need=()
		while read -r d _; do
			case " ${pkgs[*]} " in *" $d "*) continue ;; esac
			dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q 'install ok installed' ||
				need+=("$d")
		done <<< "$depends"
		echo "venus-stock: $lib needs ${missing//$'\n'/ }; installing ${need[*]:-nothing}" >&2
		if [ "$round" = 3 ] || [ ${#need[@]} -eq 0 ]; then
			die "cannot provide ${missing//$'\n'/ } for $lib"
		fi
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq \
			--no-install-recommends "${need[@]}" >&2 || die "cannot install ${need[*]}"
		continue
	fi
	# system libraries in use -> their packages -> too old? (each path
	# also with/without /usr: packages name either form on merged /usr)
	mapfile -t used < <(awk -v own="$out/root/" '$2 == "=>" && index($3, own) != 1 {
		print $3; if ($3 ~ /^\/usr\//) print substr($3, 5); else print "/usr" $3 }' <<< "$report")
	old=()
	while read -r p _; do
		p=${p%%:*}
		[ -n "$p" ] || continue
		min=$(awk -v p="$p" '$1 == p { print $2 }' <<< "$depends")
		have=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null)
		[ -n "$min" ] && [ -n "$have" ] && dpkg --compare-versions "$have" lt "$min" &&
			old+=("$p")
	done < <(dpkg -S "${used[@]}" 2>/dev/null | sort -u)
	[ ${#old[@]} -eq 0 ] && break
	[ "$round" != 3 ] || die "still too old for $lib: ${old[*]}"
	echo "venus-stock: too old on the system for $lib: ${old[*]}; unpacking them from $suite" >&2
	unpack "${old[@]}"
	extra+=("${old[@]}")
	pkgs+=("${old[@]}")
	echo "${extra[*]}" > "$out/extra-packages"
	wanted || die "$suite offers not all of ${pkgs[*]}"
done
for deb in "$out"/debs/*.deb; do
	echo "venus-stock: unpacked $(basename "$deb")" >&2
done
rm -rf "$out/debs"

# icd_json NAME LIBRARY: NAME.json naming the unpacked LIBRARY, with the API
# version of the package's own json of that name
icd_json() {
	local api
	api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' \
		"$out/root/usr/share/vulkan/icd.d/$1.json" 2>/dev/null)
	cat > "$out/$1.json" <<EOF
{
    "ICD": {
        "api_version": "${api:-1.3.0}",
        "library_path": "$2"
    },
    "file_format_version": "1.0.0"
}
EOF
}
icd_json virtio_icd "$lib"
lvp=$(find "$out/root" -name libvulkan_lvp.so | head -1)
[ -n "$lvp" ] || die "mesa-vulkan-drivers has no libvulkan_lvp.so"
icd_json lvp_icd "$lvp"
cat > "$out/env.sh" <<EOF
# Written by scripts/venus-stock.sh: the environment of a client of the
# unpacked Venus driver ($want).
# The driver needs backports' libdrm from here rather than the system's.
case ":\${LD_LIBRARY_PATH:-}:" in
*":$libdir:"*) ;;
*) export LD_LIBRARY_PATH=$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} ;;
esac
export VWS_VENUS_ICD=$out/virtio_icd.json
EOF
echo "$want" > "$out/versions"
echo "venus-stock: $want-> $out" >&2
echo "$out/virtio_icd.json"
