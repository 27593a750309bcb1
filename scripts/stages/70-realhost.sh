#!/bin/bash
# The real stack (tests/realhost/run.sh): the patched virglrenderer host with
# lavapipe, the kernel model in real-host mode, stock Venus through the
# Khronos loader. Its checks are PASS/FAIL/SKIP lines in $RESULTS.
bash "$ROOT/tests/realhost/run.sh" "$ROOT/build-gcc" || true
