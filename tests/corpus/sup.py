#!/usr/bin/env python3
"""Writes a Blu-ray PGS subtitle stream (.sup) and the same cues as SRT.

    sup.py WIDTH HEIGHT OUT.sup OUT.srt START-END...

Debian has no tool that makes PGS (ffmpeg decodes it but cannot encode it), so this writes
the segments itself, as a Blu-ray authoring tool would: for each cue a display set
PCS (epoch start) + WDS + PDS + ODS + END at START, and a clearing display set
PCS (no objects) + WDS + END at END. Times are in seconds (e.g. 2.5-4).

Each cue shows one large bright box: an opaque white (Y 235) rectangle with a 4-pixel black
outline, at x 200..440 and y 240..288 of a 640x360 picture (scaled to WIDTH x HEIGHT), above
the frame-number clock in the bottom 32 rows, so a test that burns the subtitles in can find
its pixels. Inside the box, cue k (from 1) has k black bars 16 (scaled) pixels wide.
The SRT cues say "Cue k".
"""
import struct
import sys


def rle_line(pixels):
    """PGS run-length coding of one line of palette indices (ends with 00 00)."""
    out = bytearray()
    i = 0
    n = len(pixels)
    while i < n:
        c = pixels[i]
        j = i
        while j < n and pixels[j] == c and j - i < 16383:
            j += 1
        run = j - i
        if c != 0 and run < 3:
            out += bytes([c]) * run
        elif c == 0:
            if run < 64:
                out += bytes([0, run])
            else:
                out += bytes([0, 0x40 | (run >> 8), run & 0xFF])
        else:
            if run < 64:
                out += bytes([0, 0x80 | run, c])
            else:
                out += bytes([0, 0xC0 | (run >> 8), run & 0xFF, c])
        i = j
    out += b"\x00\x00"
    return bytes(out)


def segment(kind, pts, payload):
    ticks = round(pts * 90000)
    return b"PG" + struct.pack(">IIBH", ticks, 0, kind, len(payload)) + payload


def main():
    width, height = int(sys.argv[1]), int(sys.argv[2])
    sup_path, srt_path = sys.argv[3], sys.argv[4]
    cues = [tuple(float(t) for t in arg.split("-")) for arg in sys.argv[5:]]
    sx, sy = width / 640, height / 360
    x0, y0 = round(200 * sx), round(240 * sy)
    w, h = round(240 * sx), round(48 * sy)
    border = 4
    bar = max(2, round(16 * sx))
    # Palette: 0 transparent, 1 white, 2 black (Y, Cr, Cb, alpha), BT.709 video levels.
    palette = bytes([0, 16, 128, 128, 0, 1, 235, 128, 128, 255, 2, 16, 128, 128, 255])
    sup = bytearray()
    srt = []
    for k, (start, end) in enumerate(cues, 1):
        bars = [(border + (2 * i + 1) * bar, border + (2 * i + 2) * bar) for i in range(k)]
        lines = bytearray()
        for y in range(h):
            if y < border or y >= h - border:
                row = [2] * w
            else:
                row = [2] * border + [1] * (w - 2 * border) + [2] * border
                for a, b in bars:
                    for x in range(a, min(b, w - border)):
                        row[x] = 2
            lines += rle_line(row)
        comp = k * 2 - 2  # composition number, one per display set
        pcs = struct.pack(">HHBHBBBB", width, height, 0x10, comp, 0x80, 0, 0, 1)
        pcs += struct.pack(">HBBHH", 0, 0, 0, x0, y0)
        wds = struct.pack(">BBHHHH", 1, 0, x0, y0, w, h)
        pds = bytes([0, 0]) + palette
        data = struct.pack(">HH", w, h) + bytes(lines)
        assert len(data) + 11 <= 0xFFFF, "object too large for one ODS"
        ods = struct.pack(">HBB", 0, 0, 0xC0) + len(data).to_bytes(3, "big") + data
        sup += segment(0x16, start, pcs) + segment(0x17, start, wds)
        sup += segment(0x14, start, pds) + segment(0x15, start, ods) + segment(0x80, start, b"")
        clear = struct.pack(">HHBHBBBB", width, height, 0x10, comp + 1, 0x00, 0, 0, 0)
        sup += segment(0x16, end, clear) + segment(0x17, end, wds) + segment(0x80, end, b"")

        def stamp(t):
            ms = round(t * 1000)
            return f"{ms // 3600000:02}:{ms // 60000 % 60:02}:{ms // 1000 % 60:02},{ms % 1000:03}"

        srt.append(f"{k}\n{stamp(start)} --> {stamp(end)}\nCue {k}\n")
    with open(sup_path, "wb") as f:
        f.write(sup)
    with open(srt_path, "w") as f:
        f.write("\n".join(srt))


if __name__ == "__main__":
    main()
