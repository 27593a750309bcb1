#!/bin/bash
# The whole test suite: the README's second command, and what CI runs.
# Installs what is missing, builds with warnings as errors, runs every stage,
# and ends with one line "N passed, N failed, N skipped" (non-zero exit on
# any failure). Stages add PASS/FAIL/SKIP lines to $RESULTS.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=$ROOT/build-results.txt
: > "$RESULTS"
export RESULTS

stage_fail() { echo "FAIL stage:$1" >> "$RESULTS"; echo "stage $1 failed" >&2; }

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# 1. Default build (gcc, -Werror) and its tests.
build_and_test() { # name, meson args...
	local name=$1; shift
	local dir=$ROOT/build-$name
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" --werror "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; stage_fail "$name-setup"; return; }
	fi
	ninja -C "$dir" >"$dir.build.log" 2>&1 ||
		{ tail -50 "$dir.build.log"; stage_fail "$name-build"; return; }
	CMOCKA_MESSAGE_OUTPUT=TAP meson test -C "$dir" --print-errorlogs \
		--num-processes 2 ${MESON_TEST_ARGS:-} >"$dir.test.log" 2>&1
	tail -15 "$dir.test.log"
	python3 scripts/tally.py meson "$dir" "$name" >> "$RESULTS" ||
		stage_fail "$name-tally"
}

build_and_test gcc

# 2. Further stages (sanitizers, valgrind, VM) register here.
for extra in scripts/stages/*.sh; do
	[ -e "$extra" ] || continue
	bash "$extra" || stage_fail "$(basename "$extra" .sh)"
done

python3 scripts/tally.py total "$RESULTS"
