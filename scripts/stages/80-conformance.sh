#!/bin/bash
# dEQP-VK on the reference (lavapipe) and on the Venus stacks, compared case
# by case (tests/conformance/run.sh, docs/conformance.md). Its checks are
# PASS/FAIL/SKIP lines in $RESULTS; SKIP when there is no deqp-vk.
bash "$ROOT/tests/conformance/run.sh" || true
