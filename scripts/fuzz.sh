#!/bin/bash
# Runs the libFuzzer target for SECONDS (default 60) on a copy of the seed
# corpus; a longer run is just a bigger number: scripts/fuzz.sh 3600.
# Appends a PASS/FAIL line to $RESULTS when set; exit 1 on a finding.
set -u
cd "$(dirname "$0")/.."
secs=${1:-60}
bash scripts/deps.sh clang libclang-rt-14-dev >/dev/null || exit 1
dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
	CC=clang meson setup "$dir" -Dfuzzing=true -Db_sanitize=address,undefined \
		-Db_lundef=false >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
fi
ninja -C "$dir" tests/fuzz/fuzz-winsys >"$dir.build.log" 2>&1 || { tail -30 "$dir.build.log"; exit 1; }
work=$(mktemp -d)
cp tests/fuzz/corpus/* "$work/"
log=$dir/fuzz.log
(cd "$work" && ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	timeout $((secs + 60)) "$OLDPWD/$dir/tests/fuzz/fuzz-winsys" -max_total_time="$secs" \
	-rss_limit_mb=4096 -artifact_prefix="$work/" "$work" >"$OLDPWD/$log" 2>&1)
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
if [ $rc -eq 0 ] && [ -n "$runs" ]; then
	echo "fuzz: $runs executions in ${secs} s, no finding" >&2
	[ -n "${RESULTS:-}" ] && echo "PASS fuzz:winsys ($runs execs in ${secs} s)" >> "$RESULTS"
	rm -rf "$work"
	exit 0
fi
echo "fuzz: FAILED (exit $rc); log $log, artifacts in $work" >&2
tail -30 "$log" >&2
[ -n "${RESULTS:-}" ] && echo "FAIL fuzz:winsys (exit $rc, see $log)" >> "$RESULTS"
exit 1
