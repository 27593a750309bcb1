#!/bin/bash
# The whole meson suite under ThreadSanitizer; any report fails the test.
. "$ROOT/scripts/lib.sh"
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:exitcode=66
export VWS_TEST_SANITIZER=tsan
build_and_test tsan "--timeout-multiplier 4 --no-suite slow --no-suite realhost" \
	-Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug
