#!/usr/bin/env bash
# A larger mutation campaign than the test suite runs: every fixture truncated and with bytes
# flipped in its header, its index and anywhere, through probe, playlist, segment and a server.
#   scripts/mutate.sh [MUTATIONS_PER_KIND]   (default 50; the tests use 12)
# Prints the counts; fails on any crash, panic, hang or unclear error.
set -euo pipefail
cd "$(dirname "$0")/.."
HAEMA_MUTATIONS="${1:-50}" cargo test --release --test mutations -- --nocapture --test-threads 1 2>&1 \
  | grep -E "runs on damaged files|test result|problem|panic:|hang:|killed|unclear|undocumented"
