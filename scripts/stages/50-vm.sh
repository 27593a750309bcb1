#!/bin/bash
# The winsys on Debian's own kernels in QEMU (tests/vm/run.sh). Its checks
# are PASS/FAIL lines in $RESULTS; a failure is counted there, once.
bash "$ROOT/tests/vm/run.sh" "$ROOT/build-gcc" || true
