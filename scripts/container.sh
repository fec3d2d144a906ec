#!/usr/bin/env bash
# Builds Haema's container image with podman (Containerfile: a minimal FFmpeg built from
# Debian's source package), runs it on the fixtures library, plays a fixture through it with
# ffmpeg, checks its health check and its non-root user, and reports the image's size. With
# --compare, also builds Containerfile.debian (Debian's FFmpeg libraries) and reports its size.
# Needs podman, runc and debootstrap (scripts/install-deps.sh --container); no image registry:
# the base is made from Debian's packages.
#   scripts/container.sh [--compare] [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
for c in podman runc debootstrap ffmpeg; do
  command -v "$c" >/dev/null || { echo "$c is missing: run scripts/install-deps.sh --container" >&2; exit 1; }
done
# crun can't run here (cgroups in hybrid mode), and no CNI network is set up: runc, cgroupfs,
# the host's network, and explicit limits (../shared/docs/containers-here.md).
P=(podman --runtime runc --cgroup-manager=cgroupfs)
limits=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
base=localhost/haema-debian-base:bookworm
image=localhost/haema:latest
compare=false
if [[ "${1:-}" == "--compare" ]]; then compare=true; shift; fi
port=${1:-18096}

if ! "${P[@]}" image exists "$base"; then
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  root=$(mktemp -d)
  echo "making the base image from Debian's packages (debootstrap, ${mirror:-deb.debian.org})" >&2
  debootstrap --variant=minbase bookworm "$root" "${mirror:-http://deb.debian.org/debian}" >/dev/null
  # The packages debootstrap downloaded and the package lists: every stage updates its own.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*
  tar -C "$root" -c . | "${P[@]}" import - "$base" >/dev/null
  rm -rf "$root"
fi

# The host's Rust toolchain and crate registry, and a target folder per Containerfile kept
# between builds.
build() { # CONTAINERFILE TAG TARGET_SUBDIR
  mkdir -p "target/$3"
  "${P[@]}" build "${limits[@]}" --network host --format docker --layers \
    -v "${RUSTUP_HOME:-$HOME/.rustup}:/opt/rustup:ro" \
    -v "${CARGO_HOME:-$HOME/.cargo}:/opt/cargo" \
    -v "$PWD/target/$3:/opt/target" \
    -t "$2" -f "$1" . >&2
}
started=$(date +%s)
build Containerfile "$image" container
built=$(( $(date +%s) - started ))

name=haema-check-$$
trap '"${P[@]}" rm -f "$name" >/dev/null 2>&1 || true' EXIT
# The health check runs when asked (podman healthcheck run): no systemd here to time it.
"${P[@]}" run -d --name "$name" "${limits[@]}" --network host --health-interval disable \
  -e HAEMA_PORT="$port" -v "$PWD/fixtures/library:/library:ro" "$image" \
  serve --host 127.0.0.1 -p "$port" -t /library --db /data/haema.db >/dev/null
base_url="http://127.0.0.1:$port"
# Inside the container, with bash's /dev/tcp (no curl in the image).
get() {
  "${P[@]}" exec "$name" /bin/bash -c \
    "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET %s HTTP/1.0\r\n\r\n' '$1' >&3 && cat <&3" 2>/dev/null || true
}
# Up and scanned: a film of the fixtures listed, its id from the API.
id=""
for _ in $(seq 150); do
  id=$(get "/api/v1/shows?search=Clock%20HEVC" | grep -o '"video":"[0-9]*"' | head -1 | grep -o '[0-9][0-9]*' || true)
  [[ -n "$id" ]] && break
  sleep 0.2
done
[[ -n "$id" ]] || { echo "the container lists no film" >&2; "${P[@]}" logs "$name" >&2; exit 1; }
user=$("${P[@]}" exec "$name" id -u)
[[ "$user" != 0 ]] || { echo "the server runs as root in the image" >&2; exit 1; }
# The health check the image declares, run as podman runs it.
"${P[@]}" healthcheck run "$name" || { echo "the image's health check failed" >&2; exit 1; }
# Played to its end through the container, video and audio decoded without a warning.
warnings=$(ffmpeg -v warning -nostdin -i "$base_url/api/v1/video/$id/master.m3u8" -map 0:v:0 -map 0:a:0 -f null - 2>&1 || echo "ffmpeg failed")
[[ -z "$warnings" ]] || { echo "playing video $id through the container: $warnings" >&2; "${P[@]}" logs "$name" >&2; exit 1; }

size=$("${P[@]}" image inspect --format '{{.Size}}' "$image")
base_size=$("${P[@]}" image inspect --format '{{.Size}}' "$base")
libs=$("${P[@]}" run --rm "${limits[@]}" --network host --entrypoint /bin/bash "$image" -c \
  'du -cbL $(ldd /usr/local/bin/haema | awk "/=> \\// { print \$3 }") | tail -1 | cut -f1')
bin=$("${P[@]}" run --rm "${limits[@]}" --network host --entrypoint /bin/bash "$image" -c 'stat -c %s /usr/local/bin/haema')
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1e6 }'; }
echo "image $image: $(mb "$size") ($(mb "$base_size") Debian minbase, $(mb "$libs") the shared libraries haema links, $(mb "$bin") haema); built in ${built} s; runs as uid $user; healthy; played video $id with ffmpeg, no warning"
if $compare; then
  build Containerfile.debian localhost/haema:debian container-debian
  dsize=$("${P[@]}" image inspect --format '{{.Size}}' localhost/haema:debian)
  dlibs=$("${P[@]}" run --rm "${limits[@]}" --network host --entrypoint /bin/bash localhost/haema:debian -c \
    'du -cbL $(ldd /usr/local/bin/haema | awk "/=> \\// { print \$3 }") | tail -1 | cut -f1')
  echo "image localhost/haema:debian (Debian's FFmpeg libraries): $(mb "$dsize") ($(mb "$dlibs") the shared libraries haema links)"
fi
