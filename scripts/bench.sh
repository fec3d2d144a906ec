#!/usr/bin/env bash
# Benchmarks Haema beside the ffmpeg CLI on generated 1080p media (made once, under target/bench):
#   - `haema playlist` of a 2-hour film vs `ffprobe -show_entries packet=pts_time,flags`
#   - the same for a 2-hour film with 8x the bytes (time follows the index, not the data)
#   - `haema segment` (whole process) vs `ffmpeg -ss T -i FILE -t 4 -c copy ...` for the same cut
#   - in-process copy segment latency (cargo bench --bench pipeline)
# Wall times via hyperfine, run side by side; the ratios are what to read.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
command -v hyperfine >/dev/null || { sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo; $sudo apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet
haema=target/release/haema
dir=target/bench
mkdir -p "$dir"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# One minute of 1080p24 H.264 (B-frames, 2 s GOP) + AAC, at two bit rates.
clip() { # $1 out, $2 crf
  [[ -f $1 ]] || ff -f lavfi -i "testsrc2=s=1920x1080:r=24:d=60" -f lavfi -i "sine=f=440:d=60:r=48000" \
    -c:v libx264 -preset veryfast -crf "$2" -bf 3 -x264-params keyint=48:scenecut=0 -pix_fmt yuv420p \
    -c:a aac -b:a 128k "$1"
}
# 120 copies of a clip, concatenated without re-encoding: a 2-hour film.
film() { # $1 clip, $2 out
  if [[ ! -f $2 ]]; then
    local list=$dir/list.txt
    : > "$list"
    for _ in $(seq 120); do echo "file '$(realpath "$1")'" >> "$list"; done
    ff -f concat -safe 0 -i "$list" -map 0 -c copy "$2"
  fi
}
clip "$dir/clip.mkv" 23
# The same picture with film-like stereo AC-3 (tones over pink noise), for the AAC rendition.
[[ -f $dir/clip-ac3.mkv ]] || ff -i "$dir/clip.mkv" -f lavfi -i "anoisesrc=d=60:r=48000:a=0.05:c=pink" \
  -f lavfi -i "aevalsrc='0.2*sin(2*PI*220*t)*(1+0.5*sin(2*PI*0.5*t))+0.1*sin(2*PI*330*t)|0.2*sin(2*PI*277*t)+0.1*sin(2*PI*440*t)':d=60:s=48000" \
  -filter_complex "[1]aformat=channel_layouts=stereo[n];[n][2]amix=inputs=2:normalize=0[a]" \
  -map 0:v -map "[a]" -c:v copy -c:a ac3 -b:a 384k "$dir/clip-ac3.mkv"
clip "$dir/clip-fat.mkv" 8
film "$dir/clip.mkv" "$dir/film.mkv"
film "$dir/clip-fat.mkv" "$dir/film-fat.mkv"
film "$dir/clip.mkv" "$dir/film.mp4"
ls -l "$dir"/film*

echo "== playlist of a 2-hour film vs ffprobe packet scan"
for f in "$dir/film.mkv" "$dir/film.mp4" "$dir/film-fat.mkv"; do
  hyperfine -N --warmup 1 --runs 5 --export-markdown "$dir/playlist-$(basename "$f").md" \
    "$haema playlist $f" \
    "ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv $f"
done

echo "== one 4 s copy segment, whole process, vs ffmpeg -ss cut"
for f in "$dir/film.mkv" "$dir/film.mp4"; do
  n=900
  t=$($haema probe --json "$f" | python3 -c "import json,sys; j=json.load(sys.stdin); print(sum(j['plan']['segment_durations'][:$n]) + j['keyframes'][0])")
  hyperfine -N --warmup 2 --runs 20 --export-markdown "$dir/segment-$(basename "$f").md" \
    "$haema segment $f $n" \
    "ffmpeg -v error -ss $t -i $f -t 4 -c copy -f mp4 -movflags frag_keyframe+empty_moov+default_base_moof -" \
    "ffmpeg -v error -ss $t -i $f -t 4 -map 0:v:0 -c copy -f mp4 -movflags frag_keyframe+empty_moov+default_base_moof -"
done

echo "== one 4 s segment of 1080p transcoded to 720p (libx264 veryfast), whole process, vs the ffmpeg CLI"
f=$dir/film.mkv
n=900
t=$($haema probe --json "$f" | python3 -c "import json,sys; j=json.load(sys.stdin); print(sum(j['plan']['segment_durations'][:$n]) + j['keyframes'][0])")
hyperfine -N --warmup 1 --runs 10 --export-markdown "$dir/transcode.md" \
  "$haema segment $f $n -r h264-720p" \
  "ffmpeg -v error -ss $t -i $f -t 4 -map 0:v:0 -vf scale=1280:720 -c:v libx264 -preset veryfast -b:v 2625k -maxrate 3500k -bufsize 3500k -bf 0 -f mp4 -movflags frag_keyframe+empty_moov+default_base_moof -"

echo "== in-process"
for f in "$dir/film.mkv" "$dir/film.mp4" "$dir/clip-ac3.mkv"; do
  HAEMA_BENCH_FILE=$f cargo bench --quiet --bench pipeline
done
