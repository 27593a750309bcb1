#!/bin/bash
# The kernel-model tests under valgrind memcheck: any error or definite leak
# fails the test (the model runs inside every test program, so it must be
# clean itself).
. "$ROOT/scripts/lib.sh"
export VWS_TEST_SANITIZER=valgrind
build_and_test valgrind "--suite shim --timeout-multiplier 10 --wrap=$ROOT/scripts/valgrind-wrap.sh" \
	-Dbuildtype=debug
