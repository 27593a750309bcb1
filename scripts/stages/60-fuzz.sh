#!/bin/bash
# The libFuzzer target for a bounded minute (scripts/fuzz.sh); its result is
# one line in $RESULTS.
bash "$ROOT/scripts/fuzz.sh" 60 || true
