#!/bin/bash
# The whole meson suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# verify_asan_link_order=0: tests that LD_PRELOAD the model into a child put
# it before libasan, which is fine for interposition but trips the check.
. "$ROOT/scripts/lib.sh"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:verify_asan_link_order=0:detect_odr_violation=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export VWS_TEST_SANITIZER=asan
build_and_test asan "--timeout-multiplier 3 --no-suite slow --no-suite realhost" \
	-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
