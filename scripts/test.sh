#!/usr/bin/env bash
# Installs what is missing (system packages, Chromium, hls.js) and runs every test:
# formatting, clippy, unit tests, integration tests against ffmpeg/ffprobe, and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets
