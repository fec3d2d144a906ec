#!/usr/bin/env bash
# Start and seek times of hls.js, video.js and shaka-player in headless Chromium, for one file
# served by `haema serve` (segments made on request) beside the same file as a static tree
# (every segment made beforehand, served from disk): the cost of making segments on demand.
#   scripts/player-times.sh FILE [RUNS]
# HAEMA_BIN=path times another build of haema (say, main's, beside a change); PLAYERS="hls.js
# shaka" times some of the players. Each run's report goes to stderr.
# The server runs on the last core and the browser on the others (PIN=0: anywhere), as on two
# machines: sharing two cores, a server making segments slows the browser playing them, which
# a static tree never does, and the ratio measured the machine more than the server.
# Needs what `scripts/install-deps.sh --test` installs. Prints a markdown table; the times are
# medians over RUNS (default 3) fresh page loads; seeks go to 3 points and back (6 per run).
set -euo pipefail
cd "$(dirname "$0")/.."
file=$(realpath "$1"); runs=${2:-3}
bin=${HAEMA_BIN:-target/release/haema}
[[ -n ${HAEMA_BIN:-} ]] || cargo build --release -q
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/lib/Movies/Film (2024)"
ln -s "$file" "$work/lib/Movies/Film (2024)/Film (2024).${file##*.}"
"$bin" playlist "$file" --out "$work/tree" >/dev/null 2>&1
# A new server for every run: nothing made by an earlier run is in its cache.
serve() {
  rm -f "$work/h.db"
  $server_cpu "$bin" serve --target-path "$work/lib" --db "$work/h.db" --port 0 > "$work/serve.out" 2>/dev/null &
  server=$!
  for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  local base id=""
  base="http://$(sed -n 's|listening on http://\([^/]*\)/.*|\1|p' "$work/serve.out")"
  # The library is scanned after the server starts listening: wait until the film is there
  # (its id comes from its path, so ask the library for it). Not its master: the server
  # starts preparing where a player starts when the master is asked for, as the player's own
  # request would.
  for _ in $(seq 100); do
    id=$(curl -sf "$base/api/v1/shows" | node -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => { const v = (JSON.parse(s || "[]")[0] || {}).video; console.log(v || ""); })' 2>/dev/null || true)
    [[ -n $id ]] && break
    sleep 0.1
  done
  url="$base/api/v1/video/$id/master.m3u8"
}
cores=$(nproc)
if [[ ${PIN:-1} != 0 && $cores -ge 2 ]]; then
  server_cpu="taskset -c $((cores - 1))"; client_cpu="taskset -c 0-$((cores - 2))"
else
  server_cpu=""; client_cpu=""
fi
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$file")
at=$(python3 -c "d=$dur; print(','.join(f'{d*f:.2f}' for f in (0.55, 0.85, 0.15, 0.6, 0.3, 0.9)))")
median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "-")}'; }
row() { # player source args...
  local player=$1 source=$2; shift 2
  local starts=() seeks=()
  for _ in $(seq "$runs"); do
    local r
    if [[ $source == served ]]; then
      serve
      r=$($client_cpu "${@/URL/$url}" 2>/dev/null || true)
      kill "$server"; wait "$server" 2>/dev/null || true
    else
      r=$($client_cpu "$@" 2>/dev/null || true)
    fi
    echo "$player $source: ${r:0:300}" >&2
    starts+=("$(node -e 'const r = JSON.parse(process.argv[1] || "{}"); console.log(r.start_ms ?? "")' "$r")")
    while read -r s; do seeks+=("$s"); done < <(node -e 'for (const c of (JSON.parse(process.argv[1] || "{}").clock || [])) console.log(c.seek_ms)' "$r")
  done
  printf '| %s | %s | %s | %s |\n' "$player" "$source" \
    "$(printf '%s\n' "${starts[@]}" | median)" "$(printf '%s\n' "${seeks[@]}" | median)"
}
echo "| player | source | start (ms) | seek (ms) |"
echo "|---|---|---|---|"
for p in ${PLAYERS:-hls.js videojs shaka}; do
  if [[ $p == hls.js ]]; then
    row hls.js static node tests/browser/play.mjs "$work/tree" --at "$at"
    row hls.js served node tests/browser/play.mjs --url URL --at "$at"
  else
    row "$p" static node tests/browser/players.mjs --player "$p" --dir "$work/tree" --at "$at"
    row "$p" served node tests/browser/players.mjs --player "$p" --url URL --at "$at"
  fi
done
