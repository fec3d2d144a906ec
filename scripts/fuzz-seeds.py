#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tests/__fuzz__/fuzz__<target>/corpus/) from the
fixtures: each MP4's moov, an init segment and a media fragment of each fixture's tree, the
head of each Matroska file, the sidecar subtitles, codec configuration records, and URLs.
The targets mutate these seeds; bolero replays them. Run again after the fixtures change:
  scripts/fuzz-seeds.py"""
import os, struct, subprocess, tempfile, glob, hashlib

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
lib = os.path.join(root, "fixtures", "library")
haema = os.path.join(root, "target", "debug", "haema")

def corpus(target):
    d = os.path.join(root, "tests", "__fuzz__", "fuzz__" + target, "corpus")
    os.makedirs(d, exist_ok=True)
    return d

def put(target, data):
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(corpus(target), name), "wb") as f:
        f.write(data)

def boxes(data):
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if size < 8 or at + size > len(data):
            return
        yield kind, data[at + 8:at + size], data[at:at + size]
        at += size

videos = sorted(glob.glob(os.path.join(lib, "**", "*.mp4"), recursive=True)
                + glob.glob(os.path.join(lib, "**", "*.mkv"), recursive=True))
for v in videos:
    data = open(v, "rb").read()
    if v.endswith(".mp4"):
        for kind, body, whole in boxes(data):
            if kind == b"moov":
                put("mp4_boxes_and_sample_tables", body)
    else:
        put("matroska_seekhead_and_cues", data[:16384])
    with tempfile.TemporaryDirectory() as t:
        subprocess.run([haema, "playlist", v, "--out", t], check=True, capture_output=True)
        for r in sorted(os.listdir(t)):
            init = os.path.join(t, r, "init.mp4")
            if os.path.exists(init):
                put("mp4_fragments_and_init_segments", open(init, "rb").read())
                seg = open(os.path.join(t, r, "0.m4s"), "rb").read()
                # The moof and the first bytes of the mdat: the reader stops there.
                put("mp4_fragments_and_init_segments", seg[:4096])
            vtt = os.path.join(t, r, "0.vtt")
            if os.path.exists(vtt):
                put("subtitle_files_and_packets", open(vtt, "rb").read())

for s in glob.glob(os.path.join(lib, "**", "*.srt"), recursive=True) + glob.glob(os.path.join(lib, "**", "*.ass"), recursive=True):
    put("subtitle_files_and_packets", open(s, "rb").read())

# avcC, hvcC, AudioSpecificConfig from the fixtures' probes.
import json
for v in videos:
    out = subprocess.run([haema, "probe", "--json", v], check=True, capture_output=True).stdout
    for s in json.loads(out)["streams"]:
        if s.get("extradata"):
            put("codec_configuration_records", bytes.fromhex(s["extradata"]))

for url in ["/api/v1/video/1/original/12.m4s?vt=1-00", "/api/v1/shows?search=caf%C3%A9+au",
            "/api/v1/video/1/subs-2-eng/0.vtt", "/api/v1/progress/3", "/api/v1/shows/2/fanart",
            "/api/v1/video/1/../../etc/passwd", "/health?token=x"]:
    put("urls_and_queries", url.encode())
