# Shared by scripts/test-all.sh and scripts/stages/*.sh (sourced, not run).
# Expects ROOT and RESULTS to be set.

stage_fail() { echo "FAIL stage:$1" >> "$RESULTS"; echo "stage $1 failed" >&2; }

# build_and_test NAME "MESON TEST ARGS" [meson setup args...]
# Configures build-NAME once, builds it, runs its tests and tallies every
# case into $RESULTS under the label NAME.
build_and_test() {
	local name=$1 targs=$2; shift 2
	local dir=$ROOT/build-$name
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" --werror "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; stage_fail "$name-setup"; return 1; }
	fi
	ninja -C "$dir" >"$dir.build.log" 2>&1 ||
		{ tail -50 "$dir.build.log"; stage_fail "$name-build"; return 1; }
	echo "== $name: meson test $targs" >&2
	# shellcheck disable=SC2086
	CMOCKA_MESSAGE_OUTPUT=TAP meson test -C "$dir" --no-rebuild \
		--print-errorlogs --num-processes 2 $targs >"$dir.test.log" 2>&1
	grep -E '^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass):' "$dir.test.log" >&2
	grep -E '(FAIL|TIMEOUT) ' "$dir.test.log" | head -20 >&2
	python3 "$ROOT/scripts/tally.py" meson "$dir" "$name" >> "$RESULTS" ||
		stage_fail "$name-tally"
}
