#!/usr/bin/env bash
# Installs what is missing, builds Haema and serves the bundled fixtures library on
# http://127.0.0.1:8080/ (API, HLS, watch progress). Ctrl-C stops it.
#   scripts/run.sh [LIBRARY_DIR] [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --quiet
lib=${1:-fixtures/library}
port=${2:-8080}
db=target/demo.db
cat <<MSG
Serving $lib on http://127.0.0.1:$port/ (database $db). Try:
  curl http://127.0.0.1:$port/api/v1/shows
  mpv http://127.0.0.1:$port/api/v1/video/ID/master.m3u8     (ID: a video id from /api/v1/shows)
  open http://127.0.0.1:$port/ in a browser
MSG
exec target/release/haema serve -t "$lib" --db "$db" -p "$port"
