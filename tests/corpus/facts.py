#!/usr/bin/env python3
"""Writes what a test needs to know about one corpus file, as JSON (see README.md).

    facts.py FILE OUT.json CLOCK_FPS [KEY=JSON_VALUE...]

The frame numbers are read exactly as tests/common/mod.rs `frame_numbers` reads them: ffmpeg
decodes the first video stream (honouring edit lists and the display matrix, as it does by
default), scales it to 640x360, averages each of the 20 blocks of the bottom 32 rows to one
grey pixel and takes >= 128 as a 1. Everything else is ffprobe's reading; for MP4/MOV the
edit lists are read from the boxes themselves. Extra KEY=VALUE pairs (VALUE is JSON) are
added as they are.
"""
import json
import struct
import subprocess
import sys


def run(*args):
    return subprocess.run(args, capture_output=True, check=True).stdout


def frame_numbers(path):
    raw = run("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0",
              "-fps_mode", "passthrough", "-vf",
              "scale=640:360,crop=640:32:0:328,scale=20:1:flags=area,format=gray",
              "-f", "rawvideo", "-")
    return [sum(1 << i for i, b in enumerate(raw[k:k + 20]) if b >= 128)
            for k in range(0, len(raw), 20)]


def boxes(data, start, end):
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[start + 8:start + 16])[0], 16
        elif size == 0:
            size = end - start
        yield kind.decode("latin-1"), start + head, start + size
        start += size


def mp4_facts(path):
    """Top-level box counts and, per track, its edit list in seconds."""
    data = open(path, "rb").read()
    top = {}
    tracks = []
    for kind, body, end in boxes(data, 0, len(data)):
        top[kind] = top.get(kind, 0) + 1
        if kind != "moov":
            continue
        movie_scale = None
        for k, b, e in boxes(data, body, end):
            if k == "mvhd":
                off = b + (20 if data[b] == 1 else 12)
                movie_scale = struct.unpack(">I", data[off:off + 4])[0]
            if k != "trak":
                continue
            track = {"handler": None, "timescale": None, "samples_in_moov": None, "edits": None}
            elst = None
            for k2, b2, e2 in boxes(data, b, e):
                if k2 == "edts":
                    for k3, b3, _ in boxes(data, b2, e2):
                        if k3 == "elst":
                            elst = b3
                if k2 != "mdia":
                    continue
                for k3, b3, e3 in boxes(data, b2, e2):
                    if k3 == "mdhd":
                        off = b3 + (20 if data[b3] == 1 else 12)
                        track["timescale"] = struct.unpack(">I", data[off:off + 4])[0]
                    if k3 == "hdlr":
                        track["handler"] = data[b3 + 8:b3 + 12].decode("latin-1")
                    if k3 == "minf":
                        for k4, b4, e4 in boxes(data, b3, e3):
                            if k4 == "stbl":
                                for k5, b5, _ in boxes(data, b4, e4):
                                    if k5 == "stsz":
                                        track["samples_in_moov"] = struct.unpack(
                                            ">I", data[b5 + 8:b5 + 12])[0]
            if elst is not None:
                version = data[elst]
                count = struct.unpack(">I", data[elst + 4:elst + 8])[0]
                fmt, width = (">QqHH", 20) if version == 1 else (">IiHH", 12)
                edits = []
                for i in range(count):
                    at = elst + 8 + i * width
                    dur, media_time, rate, _ = struct.unpack(fmt, data[at:at + width])
                    edits.append({
                        "duration_s": round(dur / movie_scale, 6),
                        "media_time": media_time,
                        "media_time_s": None if media_time < 0
                        else round(media_time / track["timescale"], 6),
                        "rate": rate,
                    })
                track["edits"] = edits
            tracks.append(track)
    return {"top_level_boxes": top, "tracks": tracks}


def main():
    path, out, fps = sys.argv[1], sys.argv[2], float(sys.argv[3])
    probe = json.loads(run("ffprobe", "-v", "error", "-show_format", "-show_streams",
                           "-of", "json", path))
    streams = []
    for s in probe["streams"]:
        t = {k: s[k] for k in (
            "index", "codec_type", "codec_name", "profile", "codec_tag_string", "width",
            "height", "pix_fmt", "sample_aspect_ratio", "field_order", "color_range",
            "color_space", "color_transfer", "color_primaries", "r_frame_rate",
            "avg_frame_rate", "sample_rate", "channels", "channel_layout", "start_time",
            "duration") if k in s}
        tags = s.get("tags", {})
        if "language" in tags:
            t["language"] = tags["language"]
        for side in s.get("side_data_list", []):
            if "rotation" in side:
                t["rotation"] = side["rotation"]
        streams.append(t)
    # pts, or dts where there is none (AVI).
    packets = run("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                  "packet=pts_time,dts_time,flags", "-of", "csv=p=0", path).decode()
    keyframes = []
    for f in (line.split(",") for line in packets.splitlines()):
        if len(f) >= 3 and "K" in f[2]:
            t = f[0] if f[0] not in ("", "N/A") else f[1]
            if t not in ("", "N/A"):
                keyframes.append(round(float(t), 6))
    subtitles = []
    for s in streams:
        if s["codec_type"] != "subtitle":
            continue
        lines = run("ffprobe", "-v", "error", "-select_streams", str(s["index"]),
                    "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0",
                    path).decode().splitlines()
        subtitles.append({"index": s["index"], "packets": [
            [float(f[0]), None if f[1] in ("", "N/A") else float(f[1])]
            for f in (line.split(",") for line in lines)
            if len(f) >= 2 and f[0] not in ("", "N/A")]})
    numbers = frame_numbers(path)
    steps = [b - a for a, b in zip(numbers, numbers[1:])]
    facts = {
        "file": path.rsplit("/", 1)[-1],
        "clock_fps": fps,
        "video_frames": len(numbers),
        "first_frame": numbers[0] if numbers else None,
        "last_frame": numbers[-1] if numbers else None,
        "consecutive": all(d == 1 for d in steps),
        "missing_frames": sum(d - 1 for d in steps if d > 1),
        "out_of_order": sum(1 for d in steps if d < 1),
        "format": probe["format"]["format_name"],
        "start_time": float(probe["format"].get("start_time", "nan")),
        "duration": float(probe["format"].get("duration", "nan")),
        "size_bytes": int(probe["format"]["size"]),
        "video_keyframes_pts": keyframes,
        "streams": streams,
    }
    if subtitles:
        facts["subtitle_packets"] = subtitles
    if not facts["consecutive"]:
        facts["frame_numbers"] = numbers
    if facts["format"].startswith("mov"):
        facts["mp4"] = mp4_facts(path)
    for arg in sys.argv[4:]:
        key, value = arg.split("=", 1)
        facts[key] = json.loads(value)
    with open(out, "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
