#!/usr/bin/env bash
# Runs every fuzz target (tests/fuzz.rs) for longer than the test suite does (1 s each): its
# corpus, then random inputs and mutations of the corpus for SECONDS each (default 60), in
# release mode. A failure prints the input and its BOLERO_RANDOM_SEED; add the input to the
# target's corpus (tests/__fuzz__/fuzz__<target>/corpus/) so every test run replays it.
#   scripts/fuzz.sh [SECONDS] [TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
BOLERO_RANDOM_TEST_TIME_MS="$(( ${1:-60} * 1000 ))" \
  cargo test --release --test fuzz -- --test-threads 1 ${2:-} 2>&1 \
  | grep -E "^test |test result|panicked|BOLERO|Input|iterations"
