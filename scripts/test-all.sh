#!/bin/bash
# The whole test suite: the README's second command, and what CI runs.
# Installs what is missing, builds with warnings as errors, runs every stage
# and ends with one line "N passed, N failed, N skipped" (non-zero exit on
# any failure). Every stage adds PASS/FAIL/SKIP lines to $RESULTS.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=$ROOT/build-results.txt
export ROOT RESULTS
: > "$RESULTS"
. scripts/lib.sh
start=$(date +%s)

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# The default build (gcc, -Werror, debugoptimized) and all its tests.
build_and_test gcc "--no-suite realhost"

# Further stages (sanitizers, valgrind, the VM) in name order.
for extra in scripts/stages/*.sh; do
	[ -e "$extra" ] || continue
	echo "== stage $(basename "$extra")" >&2
	bash "$extra" || stage_fail "$(basename "$extra" .sh)"
done

echo "test-all: $(( $(date +%s) - start )) s" >&2
python3 scripts/tally.py total "$RESULTS"
