#!/usr/bin/env bash
# Installs what is missing, builds Haema, writes the static HLS tree of a bundled fixture and
# serves it on http://127.0.0.1:8080/ (until `haema serve` exists, a plain static server).
#   scripts/run.sh [FILE] [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --quiet
file=${1:-"fixtures/library/Movies/Clock (2024)/Clock (2024).mkv"}
port=${2:-8080}
out=target/demo-hls
rm -rf "$out"
target/release/haema probe "$file"
target/release/haema playlist "$file" --out "$out"
cat <<MSG

The HLS tree of $file is in $out. Play it with any HLS player:
  mpv http://127.0.0.1:$port/master.m3u8
  ffplay http://127.0.0.1:$port/master.m3u8
  vlc http://127.0.0.1:$port/master.m3u8
Serving $out on http://127.0.0.1:$port/ (Ctrl-C stops).
MSG
exec python3 -m http.server --bind 127.0.0.1 --directory "$out" "$port"
