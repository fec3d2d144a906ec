#!/usr/bin/env bash
# Makes "real-world" media files for integration tests, the way people make them (HandBrake,
# mkvmerge, a DVB recorder, a phone, OBS...). See README.md beside this file.
#
#   tests/corpus/make.sh OUTDIR NAME...      (e.g. make.sh /tmp/corpus handbrake.mp4 pgs.mkv)
#   tests/corpus/make.sh OUTDIR all
#
# Makes each named file in OUTDIR unless it is already there, and beside it NAME.json
# (facts.py: frames shown, first and last frame number drawn, clock rate, keyframes, streams,
# edit lists, cue times). Prints nothing on success; fails loudly. Each file is checked with
# ffprobe after it is made: the comment at the top of each case says what is checked.
# Needs ffmpeg (Debian 12's 5.1, with libx264, libx265, libvpx, libopus, libmp3lame, zscale),
# HandBrakeCLI (handbrake-cli), mkvmerge (mkvtoolnix) and python3.
#
# Every picture carries the frame-number clock of tests/common/mod.rs `ffmpeg_make_clock`:
# testsrc2 640x360 with the frame number N drawn in binary along the bottom 32 rows (20 blocks
# of 32x32, bit 0 at the left, luma 235 for 1, 16 for 0). A lossless "master" (x264 -qp 0,
# FLAC stereo 440/660 Hz, and a 5.1 FLAC track, a tone per channel) is made at each target
# size by scaling that picture (the blocks scale with it; the reader scales back to 640x360);
# each corpus file is made from a master by the tool that makes such files in the wild.
set -euo pipefail

all=(handbrake.mp4 trimmed.mp4 mkvmerge.mkv recording.ts xvid.avi phone.mov hdr10.mkv hlg.mkv
  fragmented.mp4 x265-handbrake.mkv longgop.mkv shortgop.mkv vp9.webm pgs.mkv vobsub.mkv
  dvbsub.ts)
if [ $# -lt 2 ]; then
  echo "usage: $0 OUTDIR NAME... (or all): ${all[*]}" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
shift
names=("$@")
[ "${names[*]}" = all ] && names=("${all[@]}")
cd "$(dirname "$0")"
here=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Subtitle cues (seconds, start-end) of every file with subtitles: the same in SRT and bitmaps.
cues=(2-4 8-10.5 14-16)
cues_json='[[2.0,4.0],[8.0,10.5],[14.0,16.0]]'
# Tones of the 5.1 master track, by channel (FL FR FC LFE BL BR), Hz; stereo is 440/660.
tones51=(440 660 330 55 880 990)

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
name=
fail() { echo "make.sh: $name: $*" >&2; exit 1; }
# want WHAT ACTUAL REGEX: fails unless ACTUAL matches REGEX (whole).
want() { [[ $2 =~ ^($3)$ ]] || fail "$1 is '$2', want /$3/"; }
# near WHAT ACTUAL EXPECTED: fails unless the lists of times (space-separated) have as many
# items and each actual one is 0 to 0.1 s after the expected one. Muxers shift everything a
# little: ffmpeg's MKV muxer by the AAC encoder's 1024-sample priming (21 ms), Opus pre-skip
# (6.5 ms) or AC-3's 256 samples (5 ms), as Matroska has no negative timestamps; B-frame
# delay (2 frames) where there is no edit list.
near() {
  awk -v a="$2" -v e="$3" 'BEGIN { n = split(a, x, " "); if (n != split(e, y, " ")) exit 1
    for (i = 1; i <= n; i++) if (x[i] < y[i] - 0.0005 || x[i] > y[i] + 0.1) exit 1 }' ||
    fail "$1 are '$2', want '$3' (+0..0.1 s)"
}
# pv FILE STREAM ENTRY: one ffprobe stream entry (STREAM: v:0, a:1, s:0...).
pv() { ffprobe -v fatal -select_streams "$2" -show_entries "stream=$3" -of csv=p=0 "$1" | head -1 | sed 's/,*$//'; }
# codecs FILE SELECT: codec_name of each stream (a, v, s or empty for all), in order.
codecs() {
  ffprobe -v fatal ${2:+-select_streams "$2"} -show_entries stream=index,codec_name -of csv=p=0 "$1" |
    sort -n -u | awk -F, 'NF >= 2 { printf "%s ", $2 }'
}
# pts FILE STREAM [ENTRIES]: pts_time (and more entries) of each packet of STREAM, one a line.
pts() {
  ffprobe -v fatal -select_streams "$2" -show_entries "packet=pts_time${3:+,$3}" -of csv=p=0 "$1" |
    sed 's/,*$//' | grep .
}
# keyframes FILE: pts of the video keyframes, one a line.
keyframes() {
  ffprobe -v fatal -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 "$1" |
    awk -F, '$2 ~ /K/ { print $1 + 0 }'
}

# clock FILE: "FIRST LAST consecutive" (or "not consecutive") of the frame numbers shown, read
# as facts.py and tests/common/mod.rs `frame_numbers` read them.
clock() {
  python3 -B -c 'import sys; sys.path.insert(0, sys.argv[1]); from facts import frame_numbers
n = frame_numbers(sys.argv[2]); ok = all(b - a == 1 for a, b in zip(n, n[1:]))
print(n[0], n[-1], "consecutive" if ok else "not consecutive")' "$here" "$1"
}
# idet FILE: "TFF BFF PROGRESSIVE UNDETERMINED", the frame counts of ffmpeg's idet filter's
# multi-frame detection over the first video stream.
idet() {
  ffmpeg -nostdin -hide_banner -i "$1" -map 0:v:0 -vf idet -f null - 2>&1 | sed -n \
    's/.*Multi frame detection: *TFF: *\([0-9]*\) *BFF: *\([0-9]*\) *Progressive: *\([0-9]*\) *Undetermined: *\([0-9]*\).*/\1 \2 \3 \4/p'
}

# master W H FPS SECS: sets M to the lossless master of that size, rate and length (cached).
# The 24 fps landscape masters are made 60 s long once and cut (stream copy) to length.
# FPS "25i" makes interlaced video as broadcast is made: the picture is made at 50 fps (so it
# moves between fields), scaled, and each pair of pictures is woven into one 25 fps frame, top
# field first (the interlace filter, with its vertical low-pass); the clock counts the 25 fps
# frames (floor(n/2) of the 50 fps pictures), so both fields of a frame carry the same number.
master() {
  local w=$1 h=$2 r=$3 d=$4 t graph rate=$3 clock=N weave=
  if [[ $r =~ ^[0-9]+i$ ]]; then
    rate=$((2 * ${r%i}))
    clock='floor(N/2)'
    weave=',interlace=scan=tff'
  fi
  M="$tmp/master-${w}x$h-$r-$d.mkv"
  [ -e "$M" ] && return
  if [ "$r" = 24 ] && [ "$d" != 60 ] && [[ ${w}x$h =~ ^(640x360|1280x720)$ ]]; then
    master "$w" "$h" 24 60
    ff -i "$M" -map 0 -c copy -t "$d" "$tmp/master-${w}x$h-$r-$d.part.mkv"
    M="$tmp/master-${w}x$h-$r-$d.mkv"
    mv "${M%.mkv}.part.mkv" "$M"
    return
  fi
  graph="testsrc2=s=640x360:r=$rate:d=$d,format=yuv420p[bg];
    nullsrc=s=640x32:r=$rate:d=$d,format=yuv420p,
    geq=lum='16+219*mod(floor($clock/pow(2,floor(X/32))),2)':cb=128:cr=128[bits];
    [bg][bits]overlay=0:328:format=yuv420,scale=$w:$h$weave[v];
    sine=f=440:r=48000:d=$d[l];sine=f=660:r=48000:d=$d[r];
    [l][r]join=inputs=2:channel_layout=stereo[a]"
  for t in 0 1 2 3 4 5; do graph+=";sine=f=${tones51[t]}:r=48000:d=$d[c$t]"; done
  graph+=";[c0][c1][c2][c3][c4][c5]join=inputs=6:channel_layout=5.1[a6]"
  ff -filter_complex "$graph" -map '[v]' -map '[a]' -map '[a6]' \
    -c:v libx264 -preset ultrafast -qp 0 -c:a flac "$M.part.mkv"
  mv "$M.part.mkv" "$M"
}

# subs W H: writes $tmp/cues-WxH.sup (PGS bitmaps, sup.py) and $tmp/cues.srt.
subs() { python3 "$here/sup.py" "$1" "$2" "$tmp/cues-$1x$2.sup" "$tmp/cues.srt" "${cues[@]}"; }

# Each make_NAME DEST makes one file at DEST.

# handbrake.mp4 -- HandBrake 1.6 "Fast 720p30" (x264 Main, veryfast instead of the preset's
# fast, so B-frames stay; AAC-LC 160k stereo) from a 30 s 1280x720 24 fps master.
# Checked: h264 1280x720 at 24 fps (peak-rate 30 keeps 24), keyframes at 0/10/20 s (HandBrake's
# 10 s keyint, no scene cuts in the clock), so 5.3 s is mid-GOP; the first AAC packet at
# -0.021 s (1024 samples of priming hidden by the edit list), stream start_time 0.
make_handbrake.mp4() {
  master 1280 720 24 30
  HandBrakeCLI -i "$M" -o "$1" --preset "Fast 720p30" --encoder-preset veryfast \
    >"$tmp/handbrake.log" 2>&1 || { cat "$tmp/handbrake.log" >&2; fail "HandBrakeCLI failed"; }
  want "video" "$(pv "$1" v:0 codec_name,width,height,avg_frame_rate)" "h264,1280,720,24/1"
  want "keyframes" "$(keyframes "$1" | tr '\n' ' ')" "0 10 20 "
  want "first audio packet pts" "$(ffprobe -v error -select_streams a:0 -show_entries \
    packet=pts_time -of csv=p=0 -read_intervals %+#1 "$1" | head -1)" "-0\.0213.*"
  want "audio start_time" "$(pv "$1" a:0 codec_name,start_time)" "aac,0\.000000"
}

# trimmed.mp4 -- `ffmpeg -ss 5.3 -i handbrake.mp4 -c copy -map 0`: the video edit list
# starts mid-GOP (5.333 s into the GOP that starts at 0), so every packet from the keyframe at
# 0 s is kept and hidden. Checked: first video packet is a keyframe at pts -5.333, the video
# edit list media time is 5.3 s (+HandBrake's 0.083 s B-frame delay); first frame shown 128.
make_trimmed.mp4() {
  local src=$out/handbrake.mp4
  if [ ! -e "$src" ]; then
    src=$tmp/handbrake.mp4
    make_handbrake.mp4 "$src"
  fi
  ff -ss 5.3 -i "$src" -c copy -map 0 "$1"
  want "first video packet" "$(ffprobe -v error -select_streams v:0 -show_entries \
    packet=pts_time,flags -of csv=p=0 -read_intervals %+#1 "$1" | head -1)" "-5\.33.*,K.*"
  want "start_time" "$(pv "$1" v:0 start_time)" "0\.000000"
}

# mkvmerge.mkv -- elementary streams made by ffmpeg, muxed by mkvmerge 74 with language tags:
# x264 640x360 (veryfast, CRF 23, B-frames: the defaults), FLAC stereo (eng), AC-3 5.1 448k
# (ger), SRT (eng, cues[] as "Cue k"). 20 s. Checked: h264 with has_b_frames > 0, the four
# tracks with their codecs and languages, SRT cue times.
make_mkvmerge.mkv() {
  master 640 360 24 20
  subs 640 360
  ff -i "$M" -map 0:v -c:v libx264 -preset veryfast -crf 23 -f h264 "$tmp/video.h264"
  ff -i "$M" -map 0:a:0 -c:a flac "$tmp/audio.flac"
  ff -i "$M" -map 0:a:1 -c:a ac3 -b:a 448k "$tmp/audio.ac3"
  mkvmerge -q -o "$1" --title "Clock" \
    --language 0:eng --default-duration 0:24fps "$tmp/video.h264" \
    --language 0:eng --track-name 0:FLAC "$tmp/audio.flac" \
    --language 0:ger --track-name 0:"Deutsch 5.1" --default-track 0:no "$tmp/audio.ac3" \
    --language 0:eng --sub-charset 0:UTF-8 "$tmp/cues.srt"
  want "streams" "$(ffprobe -v error -show_entries stream=codec_name:stream_tags=language \
    -of csv=p=0 "$1" | tr '\n' ' ')" "h264,eng flac,eng ac3,ger subrip,eng "
  want "has_b_frames" "$(pv "$1" v:0 has_b_frames)" "[1-9]"
  want "ac3 channels" "$(pv "$1" a:1 channels)" "6"
  near "cue starts" "$(pts "$1" s:0 | tr '\n' ' ')" "2 8 14"
  want "cue lengths" "$(pts "$1" s:0 duration_time | cut -d, -f2 | tr '\n' ' ')" \
    "2\.000000 2\.500000 2\.000000 "
}

# recording.ts -- a DVB-T SD recording started late: MPEG-2 720x576 25 fps, really interlaced
# as broadcast is: the picture moves at 50 fps and pairs of 50 fps pictures are woven into
# 25 fps frames, top field first (master FPS "25i"), so its fields differ and a player must
# deinterlace; the clock counts the 25 fps frames and is the same in both fields. 16:9
# anamorphic (SAR 64:45), field-coded (+ilme+ildct, top first), GOP 12 with 2 B-frames,
# 3 Mbit/s; MP2 stereo (ger) and AC-3 5.1 (ger) in MPEG-TS with PTS offset by 3600 s; then the
# first 188*5000+76 bytes are dropped (tail -c), so the file starts mid-packet, mid-PES, before
# any keyframe. 20 s before the cut.
# Checked: mpeg2video 720x576 field_order tt; mp2 + ac3; start_time > 3600; the first byte is
# not a sync byte; the first video packet ffprobe finds is not a keyframe (ffmpeg shows
# frames from the first I-frame on); idet's multi-frame detection finds >= 90% of the frames
# TFF; the clock reads consecutive numbers up to 499.
make_recording.ts() {
  local fields tff bff prog und
  master 720 576 25i 20
  ff -i "$M" -map 0:v -map 0:a:0 -map 0:a:1 -vf setsar=64/45,setfield=tff \
    -c:v mpeg2video -b:v 3M -maxrate 5M -bufsize 1835k -g 12 -bf 2 -flags +ilme+ildct -top 1 \
    -c:a:0 mp2 -b:a:0 192k -c:a:1 ac3 -b:a:1 448k \
    -metadata:s:a:0 language=ger -metadata:s:a:1 language=ger \
    -mpegts_service_id 28106 -metadata service_provider=ARD -metadata service_name="Das Erste" \
    -output_ts_offset 3600 -f mpegts "$tmp/full.ts"
  tail -c +$((188 * 5000 + 77)) "$tmp/full.ts" >"$1"
  want "video" "$(pv "$1" v:0 codec_name,width,height,field_order)" "mpeg2video,720,576,tt"
  want "audio" "$(codecs "$1" a)" "mp2 ac3 "
  want "start_time" "$(ffprobe -v fatal -show_entries format=start_time -of csv=p=0 "$1")" \
    "36[0-9][0-9]\..*"
  want "first video packet flags" "$(pts "$1" v:0 flags | head -1 | cut -d, -f2)" "[^K]*"
  want "first byte" "$(head -c 1 "$1" | od -An -tx1 | tr -d ' ')" "[^4].|4[^7]"
  fields=$(idet "$1")
  want "idet multi-frame TFF BFF progressive undetermined" "$fields" "[0-9]+ [0-9]+ [0-9]+ [0-9]+"
  read -r tff bff prog und <<<"$fields"
  ((tff * 10 >= (tff + bff + prog + und) * 9)) ||
    fail "idet multi-frame detection: TFF $tff BFF $bff progressive $prog undetermined $und, want >= 90% TFF"
  want "clock" "$(clock "$1")" "[1-9][0-9]* 499 consecutive"
}

# xvid.avi -- MPEG-4 Part 2 as Xvid/DivX-era AVIs: ffmpeg mpeg4 with FourCC XVID, 2 B-frames,
# qscale 3, keyframes every 300 frames (Xvid's default maximum), 640x360 24 fps; MP3 (LAME)
# 128k stereo; 30 s. AVI has no pts: ffprobe gives keyframes by dts. Not packed bitstream.
# Checked: mpeg4 XVID 640x360, has_b_frames, mp3, 3 keyframes.
make_xvid.avi() {
  master 640 360 24 30
  ff -i "$M" -map 0:v -map 0:a:0 -c:v mpeg4 -vtag XVID -bf 2 -qscale:v 3 -g 300 \
    -c:a libmp3lame -b:a 128k "$1"
  want "video" "$(pv "$1" v:0 codec_name,codec_tag_string,width,height,has_b_frames)" \
    "mpeg4,XVID,640,360,[1-9]"
  want "audio" "$(pv "$1" a:0 codec_name)" "mp3"
  want "keyframes" "$(ffprobe -v fatal -select_streams v:0 -show_entries packet=flags -of csv=p=0 \
    "$1" | grep -c K)" 3
}

# phone.mov -- a phone held upright: the sensor's picture is landscape 1280x720, the tkhd
# display matrix says turn it 90 degrees clockwise (iPhone-style; ffprobe "rotation": -90), so
# a player shows 720x1280 portrait. The upright (shown) picture is the clock picture stretched
# to 720x1280, so after ffmpeg's default autorotate the reader's scale=640:360 reads it as is;
# in the stored (unrotated) picture the clock is a 114-pixel strip along the right edge, bit 0
# at the bottom. Variable frame rate: frames n%7==3 and n%11==5 of the 24 fps master are
# dropped (select, -fps_mode vfr). Square pixels, as a phone writes: the master's SAR (from
# scaling 640x360 to 720x1280, carried by transpose) is reset to 1:1 after turning it.
# H.264 High (veryfast, CRF 23), mono AAC 44.1 kHz 64k, 20 s.
# The rotation is set by remuxing (-c copy), as FFmpeg 5.1 only honours it there; in 5.1
# `-metadata:s:v rotate=270` is what yields this matrix (rotate=90 yields the opposite one).
# Checked: h264 1280x720 with square pixels (SAR 1:1, or unset), rotation -90,
# avg_frame_rate != 24, aac mono 44100.
make_phone.mov() {
  master 720 1280 24 20
  ff -i "$M" -map 0:v -map 0:a:0 \
    -vf "select='not(eq(mod(n\,7)\,3))*not(eq(mod(n\,11)\,5))',transpose=cclock,setsar=1" -fps_mode vfr \
    -c:v libx264 -preset veryfast -crf 23 -profile:v high \
    -c:a aac -b:a 64k -ac 1 -ar 44100 -f mov "$tmp/sensor.mov"
  if ffmpeg -hide_banner -h full 2>/dev/null | grep -q -- '-display_rotation'; then
    ff -display_rotation:v:0 -90 -i "$tmp/sensor.mov" -map 0 -c copy -f mov "$1"
  else
    ff -i "$tmp/sensor.mov" -map 0 -c copy -metadata:s:v:0 rotate=270 -f mov "$1"
  fi
  want "video" "$(pv "$1" v:0 codec_name,width,height)" "h264,1280,720"
  want "sample_aspect_ratio" "$(pv "$1" v:0 sample_aspect_ratio)" "1:1|0:1|N/A"
  want "rotation" "$(ffprobe -v error -select_streams v:0 -show_entries stream_side_data=rotation \
    -of csv=p=0 "$1" | tr -d ',\n')" "-90"
  want "avg_frame_rate" "$(pv "$1" v:0 avg_frame_rate)" "[0-9]+/[0-9]+"
  [ "$(pv "$1" v:0 avg_frame_rate)" != 24/1 ] || fail "constant frame rate"
  want "audio" "$(pv "$1" a:0 codec_name,sample_rate,channels)" "aac,44100,1"
}

# hdr_common TRANSFER X265PARAMS AUDIO...: HEVC Main 10 1280x720 24 fps, 20 s, from the SDR
# master converted honestly by zscale (BT.709 in; BT.2020 primaries, bt2020nc matrix, limited
# range; SDR white placed at 203 nits, BT.2408's reference white: PQ code ~0.58, HLG 0.75, so
# the clock's 1-blocks still read >= 128 without tone mapping). x265 ultrafast.
hdr_common() {
  local trc=$1 params=$2 dest=$3
  shift 3
  master 1280 720 24 20
  ff -i "$M" -map 0:v -map 0:a:0 \
    -vf "zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t=$trc:m=bt2020nc:p=bt2020:r=tv:npl=203,format=yuv420p10le" \
    -c:v libx265 -preset ultrafast -x265-params "log-level=error:$params" \
    -color_primaries bt2020 -color_trc "$trc" -colorspace bt2020nc -color_range tv \
    "$@" "$dest"
  want "video" "$(pv "$dest" v:0 codec_name,profile,width,height,pix_fmt,color_space,color_transfer,color_primaries)" \
    "hevc,Main 10,1280,720,yuv420p10le,bt2020nc,$trc,bt2020"
}

# hdr10.mkv -- HDR10: PQ (smpte2084), x265 hdr10 with master-display (P3 D65 primaries,
# 1000/0.0001 nits) and max-cll 1000,400 as SEI in the stream (ffmpeg 5.1 writes no Matroska
# MasteringMetadata from x265 params); AAC-LC stereo. Checked: hevc Main 10 yuv420p10le
# bt2020nc/smpte2084/bt2020, the first frame has mastering display and content light SEI.
make_hdr10.mkv() {
  hdr_common smpte2084 "hdr10=1:repeat-headers=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:range=limited:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400" \
    "$1" -c:a aac -b:a 128k
  want "frame side data" "$(ffprobe -v error -select_streams v:0 -read_intervals %+#1 \
    -show_entries frame_side_data=side_data_type -of csv=p=0 "$1" | tr '\n' ' ')" \
    ".*Mastering display metadata.*Content light level metadata.*"
}

# hlg.mkv -- HLG (arib-std-b67), otherwise as hdr10.mkv but without static HDR metadata (HLG
# broadcasts carry none); Opus stereo 96k. Checked: hevc Main 10 bt2020nc/arib-std-b67/bt2020.
make_hlg.mkv() {
  hdr_common arib-std-b67 "repeat-headers=1:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc:range=limited" \
    "$1" -c:a libopus -b:a 96k
}

# fragmented.mp4 -- as OBS / recorders write fragmented MP4: empty moov, a moof+mdat per video
# keyframe (+frag_keyframe+empty_moov+default_base_moof), x264 veryfast CRF 23 640x360, GOP
# exactly 100 frames, 900 frames (37.5 s), AAC 128k. With no edit list, the video starts at
# 0.083 s (x264's 2-frame B-frame delay). Checked: keyframes every 100 frames, 9 moof boxes.
make_fragmented.mp4() {
  master 640 360 24 37.5
  ff -i "$M" -map 0:v -map 0:a:0 -c:v libx264 -preset veryfast -crf 23 \
    -g 100 -keyint_min 100 -sc_threshold 0 -c:a aac -b:a 128k \
    -movflags +frag_keyframe+empty_moov+default_base_moof "$1"
  near "keyframes" "$(keyframes "$1" | tr '\n' ' ')" "$(seq -s ' ' 0 4.166667 34)"
  want "moof boxes" "$(python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(); i = n = 0
while i < len(d):
    size, kind = struct.unpack(">I4s", d[i:i + 8]); n += kind == b"moof"; i += size
print(n)
EOF
)" 9
}

# x265-handbrake.mkv -- HandBrake 1.6 "H.265 MKV 720p30" (x265 with ultrafast instead of the
# preset's; HandBrake's 10 s keyint, open GOP: CRA pictures with leading RASL pictures; AAC)
# from a 20 s 1280x720 24 fps master. HandBrake delays the video by the AAC priming (21 ms)
# as MKV has no edit lists. Checked: hevc 1280x720, keyframes at 0 and 10 s (+21 ms), the x265
# settings SEI says open-gop.
make_x265-handbrake.mkv() {
  master 1280 720 24 20
  HandBrakeCLI -i "$M" -o "$1" --preset "H.265 MKV 720p30" --encoder-preset ultrafast \
    >"$tmp/handbrake.log" 2>&1 || { cat "$tmp/handbrake.log" >&2; fail "HandBrakeCLI failed"; }
  want "video" "$(pv "$1" v:0 codec_name,width,height)" "hevc,1280,720"
  near "keyframes" "$(keyframes "$1" | tr '\n' ' ')" "0 10"
  grep -aq ' open-gop ' "$1" || fail "x265 options SEI does not say open-gop"
}

# longgop.mkv / shortgop.mkv -- screen-recording style (OBS defaults: x264 veryfast, CRF 23,
# MKV, AAC 160k), 60 s 1280x720 24 fps, GOP 480 (20 s) / 48 (2 s), no scene cuts, the same
# content. Checked: keyframes every 20 s / 2 s.
gop_common() {
  master 1280 720 24 60
  ff -i "$M" -map 0:v -map 0:a:0 -c:v libx264 -preset veryfast -crf 23 \
    -g "$2" -keyint_min "$2" -sc_threshold 0 -c:a aac -b:a 160k "$1"
  near "keyframes" "$(keyframes "$1" | tr '\n' ' ')" "$3"
}
make_longgop.mkv() { gop_common "$1" 480 "0 20 40"; }
make_shortgop.mkv() { gop_common "$1" 48 "$(seq -s ' ' 0 2 58)"; }

# vp9.webm -- VP9 (libvpx-vp9 -deadline realtime -cpu-used 8, 1 Mbit/s, keyframes every 480
# frames = 20 s) + Opus 96k, 640x360 24 fps, 60 s. Checked: vp9 + opus, keyframes 0/20/40 s.
make_vp9.webm() {
  master 640 360 24 60
  ff -i "$M" -map 0:v -map 0:a:0 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -row-mt 1 \
    -b:v 1M -g 480 -keyint_min 480 -c:a libopus -b:a 96k "$1"
  want "codecs" "$(codecs "$1")" "vp9 opus "
  near "keyframes" "$(keyframes "$1" | tr '\n' ' ')" "0 20 40"
}

# pgs.mkv -- a Blu-ray-rip style MKV: x264 1280x720 (veryfast CRF 23) + AAC stereo made by
# ffmpeg, and a PGS track (1280x720 canvas, eng) from sup.py (ffmpeg cannot encode PGS; no
# Debian package makes .sup), all muxed by mkvmerge. Cue k is a white box with k black bars at
# x 200..440, y 240..288 of the picture as 640x360. 20 s. Checked: hdmv_pgs_subtitle eng;
# packets (display sets) at the cue starts and ends.
make_pgs.mkv() {
  master 1280 720 24 20
  subs 1280 720
  ff -i "$M" -map 0:v -map 0:a:0 -c:v libx264 -preset veryfast -crf 23 \
    -c:a aac -b:a 128k "$tmp/av.mkv"
  mkvmerge -q -o "$1" "$tmp/av.mkv" --language 0:eng "$tmp/cues-1280x720.sup"
  want "subtitle" "$(pv "$1" s:0 codec_name:stream_tags=language)" "hdmv_pgs_subtitle,eng"
  near "display sets" "$(pts "$1" s:0 | tr '\n' ' ')" "2 4 8 10.5 14 16"
}

# vobsub.mkv -- a DVD-rip style MKV: x264 720x480 (16:9 anamorphic, SAR 32:27) 24 fps + AC-3
# stereo + dvd_subtitle (eng) encoded by ffmpeg's dvdsub encoder. ffmpeg cannot turn text into
# bitmaps, so its input is sup.py's PGS at 720x480 (-fix_sub_duration gives the cue ends,
# -copyts keeps the cue times). 20 s. Checked: dvd_subtitle 720x480; packets at the cue starts
# with the cue lengths.
make_vobsub.mkv() {
  master 720 480 24 20
  subs 720 480
  ff -copyts -i "$M" -fix_sub_duration -i "$tmp/cues-720x480.sup" -map 0:v -map 0:a:0 -map 1:s \
    -vf setsar=32/27 -c:v libx264 -preset veryfast -crf 23 -c:a ac3 -b:a 192k \
    -c:s dvdsub -metadata:s:s:0 language=eng "$1"
  want "subtitle" "$(pv "$1" s:0 codec_name,width,height)" "dvd_subtitle,720,480"
  near "cue starts" "$(pts "$1" s:0 | tr '\n' ' ')" "2 8 14"
  want "cue lengths" "$(pts "$1" s:0 duration_time | cut -d, -f2 | tr '\n' ' ')" \
    "2\.000000 2\.500000 2\.000000 "
}

# dvbsub.ts -- MPEG-TS with H.264 1280x720 24 fps (veryfast CRF 23) + AAC + dvb_subtitle (eng)
# encoded by ffmpeg's dvbsub encoder from sup.py's PGS at 1280x720 (a display set to show, an
# empty one to clear each cue). The TS muxer's 1.4 s delay plus x264's 2-frame B-frame delay
# put the video and the cues 1.483 s later in the file's timestamps. 20 s. Checked: h264 + aac
# + dvb_subtitle; subtitle packets at ~1.4 s plus each cue start and end.
make_dvbsub.ts() {
  master 1280 720 24 20
  subs 1280 720
  ff -copyts -i "$M" -fix_sub_duration -i "$tmp/cues-1280x720.sup" -map 0:v -map 0:a:0 -map 1:s \
    -c:v libx264 -preset veryfast -crf 23 -c:a aac -b:a 128k \
    -c:s dvbsub -metadata:s:s:0 language=eng -f mpegts "$1"
  want "codecs" "$(codecs "$1")" "h264 aac dvb_subtitle "
  near "subtitle packets" "$(pts "$1" s:0 | cut -d, -f1 | tr '\n' ' ')" "3.4 5.4 9.4 11.9 15.4 17.4"
}

# extras NAME: sets FPS (the clock rate) and EXTRA (facts for NAME.json beyond facts.py's,
# KEY=JSON).
extras() {
  FPS=24
  EXTRA=()
  local box='cue_box_640x360=[200,240,440,288]'
  case $1 in
  recording.ts)
    FPS=25
    EXTRA=("cut_bytes=$((188 * 5000 + 76))" 'pts_offset=3600') ;;
  phone.mov)
    EXTRA=('display="portrait 720x1280: the display matrix turns the stored 1280x720 90 degrees clockwise"'
      'dropped_master_frames="n%7==3 or n%11==5"') ;;
  mkvmerge.mkv) EXTRA=("cues=$cues_json" 'cue_text=["Cue 1","Cue 2","Cue 3"]') ;;
  pgs.mkv | vobsub.mkv) EXTRA=("cues=$cues_json" "$box") ;;
  dvbsub.ts) EXTRA=("cues=$cues_json" "$box") ;;
  esac
  case $1 in
  mkvmerge.mkv | recording.ts) EXTRA+=("tones_51_hz=[$(IFS=,; echo "${tones51[*]}")]") ;;
  esac
  EXTRA+=('tones_stereo_hz=[440,660]')
}

for name in "${names[@]}"; do
  declare -F "make_$name" >/dev/null || fail "no such corpus file (known: ${all[*]})"
  dest=$out/$name
  if [ ! -e "$dest" ]; then
    mkdir -p "$tmp/new"
    "make_$name" "$tmp/new/$name"
    mv "$tmp/new/$name" "$dest"
    rm -f "$dest.json"
  fi
  if [ ! -e "$dest.json" ]; then
    extras "$name"
    python3 "$here/facts.py" "$dest" "$tmp/facts.json" "$FPS" "${EXTRA[@]}"
    mv "$tmp/facts.json" "$dest.json"
  fi
done
