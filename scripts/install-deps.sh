#!/usr/bin/env bash
# Installs what Haema needs to build and test on Debian/Ubuntu, only what is missing.
# Idempotent: a second run installs nothing. Run as root or with sudo available.
#   scripts/install-deps.sh          build + run needs (FFmpeg libraries, clang, ffmpeg CLI)
#   scripts/install-deps.sh --test   also the test clients (Chromium, Node.js, hls.js, playwright-core,
#                                    GStreamer with its HLS and FFmpeg plugins, nginx)
#   scripts/install-deps.sh --container   also podman, runc and debootstrap (scripts/container.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

want=(pkg-config clang libclang-dev ffmpeg
      libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libavdevice-dev
      libswscale-dev libswresample-dev)
if [[ "${1:-}" == "--test" ]]; then
  want+=(chromium tmux gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
         gstreamer1.0-plugins-bad gstreamer1.0-libav libxml2-utils nginx
         handbrake-cli mkvtoolnix stress-ng)
  command -v node >/dev/null && command -v npm >/dev/null || want+=(nodejs npm)
fi
if [[ "${1:-}" == "--container" ]]; then
  want+=(podman runc debootstrap uidmap)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust (https://rustup.rs) and run this again" >&2
  exit 1
fi

if [[ "${1:-}" == "--test" ]] && ! (cd tests/browser && npm ls --depth=0 >/dev/null 2>&1); then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
