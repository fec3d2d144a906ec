#!/usr/bin/env bash
# Installs what is missing (system packages, Chromium, hls.js) and runs every test:
# formatting, clippy, unit tests, integration tests against ffmpeg/ffprobe, and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets
# The container image, where podman is (scripts/install-deps.sh --container installs it).
if command -v podman >/dev/null; then
  scripts/container.sh
else
  echo "podman is not installed: the container image is not checked (scripts/install-deps.sh --container)" >&2
fi
