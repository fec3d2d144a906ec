//! A reader for the ISO base media file format (ISO/IEC 14496-12) boxes Haema needs: the sample
//! tables of a progressive MP4's `moov`, to list keyframes and sample sizes without reading any
//! media data, and the `moof` of a fragment, to check what the muxer wrote.
//!
//! Pure: takes bytes, returns plain data. No FFmpeg here.

use std::io::{Read, Seek, SeekFrom};

/// One box: its type and its payload (the bytes after the header).
#[derive(Debug, Clone, Copy)]
pub struct Box<'a> {
    /// The four-character type, e.g. `moov`.
    pub kind: [u8; 4],
    /// The payload, without the size/type header.
    pub body: &'a [u8],
    /// Offset of the box header in the buffer that was parsed.
    pub offset: usize,
}

/// Iterates the boxes laid end to end in `data` (4.2: size, type, optional 64-bit size).
/// Stops at the first malformed header.
pub fn boxes(data: &[u8]) -> impl Iterator<Item = Box<'_>> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let rest = data.get(at..)?;
        if rest.len() < 8 {
            return None;
        }
        let size32 = u32::from_be_bytes(rest[0..4].try_into().ok()?) as u64;
        let kind: [u8; 4] = rest[4..8].try_into().ok()?;
        let (header, size) = match size32 {
            1 => (
                16usize,
                u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?),
            ),
            0 => (8, rest.len() as u64),
            n => (8, n),
        };
        if size < header as u64 || size > rest.len() as u64 {
            return None;
        }
        let b = Box {
            kind,
            body: &rest[header..size as usize],
            offset: at,
        };
        at += size as usize;
        Some(b)
    })
}

/// The first child box of this type.
pub fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<Box<'a>> {
    boxes(data).find(|b| &b.kind == kind)
}

/// Follows a path of box types from `data`, e.g. `["mdia", "minf", "stbl"]`.
pub fn path<'a>(data: &'a [u8], kinds: &[&[u8; 4]]) -> Option<&'a [u8]> {
    let mut cur = data;
    for k in kinds {
        cur = child(cur, k)?.body;
    }
    Some(cur)
}

/// A big-endian cursor over a full box's payload.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, at: 0 }
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.bytes(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.bytes(8)?.try_into().ok()?))
    }
    /// Version and flags of a full box (4.2 FullBox).
    fn full(&mut self) -> Option<(u8, u32)> {
        let v = self.u32()?;
        Some(((v >> 24) as u8, v & 0xff_ffff))
    }
    /// A 32- or 64-bit field depending on the full box version.
    fn versioned(&mut self, version: u8) -> Option<u64> {
        if version == 1 {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }
}

/// The sample table of one track, as libavformat's mov demuxer presents it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Track {
    /// tkhd track_ID.
    pub track_id: u32,
    /// hdlr handler_type: `vide`, `soun`, `subt`, `text`...
    pub handler: [u8; 4],
    /// mdhd timescale: ticks per second of every time below.
    pub timescale: u32,
    /// Presentation time of each sample in decode order, with the edit list applied the way
    /// libavformat applies it (first edit's media_time subtracted, leading empty edits added).
    pub pts: Vec<i64>,
    /// Decode time of each sample, shifted like `pts`.
    pub dts: Vec<i64>,
    /// Size of each sample in bytes (stsz).
    pub sizes: Vec<u32>,
    /// Whether each sample is a sync sample (stss; every sample when stss is absent).
    pub sync: Vec<bool>,
}

impl Track {
    /// Presentation times of the sync samples, sorted.
    pub fn keyframe_pts(&self) -> Vec<i64> {
        let mut k: Vec<i64> = self
            .pts
            .iter()
            .zip(&self.sync)
            .filter(|(_, s)| **s)
            .map(|(p, _)| *p)
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    }
}

/// Parses every `trak` of a `moov` payload. `None` for a fragmented file (mvex present: its
/// samples live in the moofs) or a malformed table.
pub fn parse_moov(moov: &[u8]) -> Option<Vec<Track>> {
    if child(moov, b"mvex").is_some() {
        return None;
    }
    let mvhd = child(moov, b"mvhd")?.body;
    let mut r = Reader::new(mvhd);
    let (v, _) = r.full()?;
    r.versioned(v)?; // creation_time
    r.versioned(v)?; // modification_time
    let movie_timescale = r.u32()?;
    boxes(moov)
        .filter(|b| &b.kind == b"trak")
        .map(|t| parse_trak(t.body, movie_timescale))
        .collect()
}

fn parse_trak(trak: &[u8], movie_timescale: u32) -> Option<Track> {
    let tkhd = child(trak, b"tkhd")?.body;
    let mut r = Reader::new(tkhd);
    let (v, _) = r.full()?;
    r.versioned(v)?;
    r.versioned(v)?;
    let track_id = r.u32()?;

    let mdia = child(trak, b"mdia")?.body;
    let mut r = Reader::new(child(mdia, b"mdhd")?.body);
    let (v, _) = r.full()?;
    r.versioned(v)?;
    r.versioned(v)?;
    let timescale = r.u32()?;
    let mut r = Reader::new(child(mdia, b"hdlr")?.body);
    r.full()?;
    r.u32()?; // pre_defined
    let handler: [u8; 4] = r.bytes(4)?.try_into().ok()?;

    let stbl = path(mdia, &[b"minf", b"stbl"])?;
    // 8.6.1.2 stts: decoding time deltas, run-length coded.
    let mut dts = Vec::new();
    let mut r = Reader::new(child(stbl, b"stts")?.body);
    r.full()?;
    let mut t = 0i64;
    for _ in 0..r.u32()? {
        let (count, delta) = (r.u32()?, r.u32()?);
        for _ in 0..count {
            dts.push(t);
            t += i64::from(delta);
        }
    }
    let n = dts.len();
    // 8.6.2 stss: sync samples, 1-based; absent means every sample is sync.
    let sync = match child(stbl, b"stss") {
        None => vec![true; n],
        Some(b) => {
            let mut s = vec![false; n];
            let mut r = Reader::new(b.body);
            r.full()?;
            for _ in 0..r.u32()? {
                let i = r.u32()? as usize;
                if (1..=n).contains(&i) {
                    s[i - 1] = true;
                }
            }
            s
        }
    };
    // 8.7.3 stsz: one size for all, or a table.
    let mut r = Reader::new(child(stbl, b"stsz")?.body);
    r.full()?;
    let fixed = r.u32()?;
    let count = r.u32()? as usize;
    let sizes = if fixed != 0 {
        vec![fixed; n]
    } else {
        (0..count.min(n))
            .map(|_| r.u32())
            .collect::<Option<Vec<_>>>()?
    };
    // 8.6.1.3 ctts: composition offsets (signed in version 1, and in practice in version 0 too).
    let mut cts = vec![0i64; n];
    if let Some(b) = child(stbl, b"ctts") {
        let mut r = Reader::new(b.body);
        r.full()?;
        let mut i = 0;
        for _ in 0..r.u32()? {
            let (count, off) = (r.u32()?, r.u32()? as i32);
            for _ in 0..count {
                if i < n {
                    cts[i] = i64::from(off);
                }
                i += 1;
            }
        }
    }
    // 8.6.6 elst: libavformat subtracts the first real edit's media_time and adds leading empty
    // edits (converted from the movie timescale).
    let mut shift = 0i64;
    if let Some(elst) = path(trak, &[b"edts", b"elst"]) {
        let mut r = Reader::new(elst);
        let (v, _) = r.full()?;
        let mut empty = 0i64;
        for _ in 0..r.u32()? {
            let dur = r.versioned(v)? as i64;
            let media_time = if v == 1 {
                r.u64()? as i64
            } else {
                r.u32()? as i32 as i64
            };
            r.u32()?; // rate
            if media_time == -1 {
                empty += dur;
            } else {
                let empty_ticks = if movie_timescale > 0 {
                    empty * i64::from(timescale) / i64::from(movie_timescale)
                } else {
                    0
                };
                shift = empty_ticks - media_time;
                break;
            }
        }
    }
    let pts = dts.iter().zip(&cts).map(|(d, c)| d + c + shift).collect();
    let dts = dts.iter().map(|d| d + shift).collect();
    Some(Track {
        track_id,
        handler,
        timescale,
        pts,
        dts,
        sizes,
        sync,
    })
}

/// Reads the `moov` box of a progressive MP4 file by walking the top-level box headers
/// (a few small reads, wherever the moov sits). `None` when there is none.
pub fn read_moov<R: Read + Seek>(f: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let len = f.seek(SeekFrom::End(0))?;
    let mut at = 0u64;
    while at + 8 <= len {
        f.seek(SeekFrom::Start(at))?;
        let mut h = [0u8; 16];
        f.read_exact(&mut h[..8])?;
        let size32 = u32::from_be_bytes(h[0..4].try_into().expect("4 bytes"));
        let (header, size) = match size32 {
            1 => {
                f.read_exact(&mut h[8..16])?;
                (
                    16,
                    u64::from_be_bytes(h[8..16].try_into().expect("8 bytes")),
                )
            }
            0 => (8, len - at),
            n => (8, u64::from(n)),
        };
        if size < header || at + size > len {
            return Ok(None);
        }
        if &h[4..8] == b"moov" {
            // 1 GiB of sample tables is far beyond any real film; refuse rather than allocate.
            if size > 1 << 30 {
                return Ok(None);
            }
            let mut body = vec![0u8; (size - header) as usize];
            f.read_exact(&mut body)?;
            return Ok(Some(body));
        }
        at += size;
    }
    Ok(None)
}

/// Whether a box of this type is anywhere inside `data` (depth-first through container boxes).
pub fn contains_box(data: &[u8], kind: &[u8; 4]) -> bool {
    const CONTAINERS: [&[u8; 4]; 8] = [
        b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"dinf",
    ];
    boxes(data)
        .any(|b| &b.kind == kind || (CONTAINERS.contains(&&b.kind) && contains_box(b.body, kind)))
}

/// The mdhd timescale of the first track of an init segment (ticks per second of its tfdt and
/// sample durations).
pub fn init_timescale(init: &[u8]) -> Option<u32> {
    let moov = child(init, b"moov")?.body;
    let mdhd = path(moov, &[b"trak", b"mdia", b"mdhd"])?;
    let mut r = Reader::new(mdhd);
    let (v, _) = r.full()?;
    r.versioned(v)?;
    r.versioned(v)?;
    r.u32()
}

/// What a media segment's `moof` says about its one track, for checking the muxer's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragmentInfo {
    /// 8.8.5 mfhd sequence_number.
    pub sequence: u32,
    /// 8.8.12 tfdt baseMediaDecodeTime.
    pub base_decode_time: u64,
    /// 8.8.8 trun sample durations (default_sample_duration from tfhd where absent).
    pub durations: Vec<u32>,
    /// 8.8.8 trun sample composition time offsets (0 where absent).
    pub cts_offsets: Vec<i32>,
    /// 8.8.8 trun sample sizes (tfhd default where absent).
    pub sizes: Vec<u32>,
}

/// Reads the mfhd, tfdt and trun of the first moof/traf in a media segment.
pub fn parse_fragment(seg: &[u8]) -> Option<FragmentInfo> {
    let moof = child(seg, b"moof")?.body;
    let mut r = Reader::new(child(moof, b"mfhd")?.body);
    r.full()?;
    let sequence = r.u32()?;
    let traf = child(moof, b"traf")?.body;
    // 8.8.7 tfhd defaults.
    let mut r = Reader::new(child(traf, b"tfhd")?.body);
    let (_, flags) = r.full()?;
    r.u32()?; // track_ID
    if flags & 0x1 != 0 {
        r.u64()?;
    }
    if flags & 0x2 != 0 {
        r.u32()?;
    }
    let default_duration = if flags & 0x8 != 0 { r.u32()? } else { 0 };
    let default_size = if flags & 0x10 != 0 { r.u32()? } else { 0 };
    let mut r = Reader::new(child(traf, b"tfdt")?.body);
    let (v, _) = r.full()?;
    let base_decode_time = r.versioned(v)?;
    let mut durations = Vec::new();
    let mut cts_offsets = Vec::new();
    let mut sizes = Vec::new();
    for trun in boxes(traf).filter(|b| &b.kind == b"trun") {
        let mut r = Reader::new(trun.body);
        let (_, flags) = r.full()?;
        let count = r.u32()?;
        if flags & 0x1 != 0 {
            r.u32()?; // data_offset
        }
        if flags & 0x4 != 0 {
            r.u32()?; // first_sample_flags
        }
        for _ in 0..count {
            durations.push(if flags & 0x100 != 0 {
                r.u32()?
            } else {
                default_duration
            });
            sizes.push(if flags & 0x200 != 0 {
                r.u32()?
            } else {
                default_size
            });
            if flags & 0x400 != 0 {
                r.u32()?;
            }
            cts_offsets.push(if flags & 0x800 != 0 {
                r.u32()? as i32
            } else {
                0
            });
        }
    }
    Some(FragmentInfo {
        sequence,
        base_decode_time,
        durations,
        cts_offsets,
        sizes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }
    fn full(kind: &[u8; 4], version_flags: u32, fields: &[u32]) -> Vec<u8> {
        let mut b = version_flags.to_be_bytes().to_vec();
        for f in fields {
            b.extend_from_slice(&f.to_be_bytes());
        }
        bx(kind, &b)
    }

    /// A moov with one video track: 6 samples of 512 ticks at timescale 12288, I P B B I P
    /// composition offsets, sync samples 1 and 5, and an edit list starting at media time 1024.
    fn sample_moov(with_elst: bool) -> Vec<u8> {
        let mvhd = full(b"mvhd", 0, &[0, 0, 1000, 0]);
        let tkhd = full(b"tkhd", 0, &[0, 0, 7]);
        let mdhd = full(b"mdhd", 0, &[0, 0, 12288, 0]);
        let hdlr = {
            let mut b = 0u32.to_be_bytes().to_vec();
            b.extend_from_slice(&0u32.to_be_bytes());
            b.extend_from_slice(b"vide");
            bx(b"hdlr", &b)
        };
        let stts = full(b"stts", 0, &[1, 6, 512]);
        let ctts = full(b"ctts", 0, &[4, 1, 1024, 1, 2048, 2, 512, 2, 1024]);
        let stss = full(b"stss", 0, &[2, 1, 5]);
        let stsz = full(b"stsz", 0, &[0, 6, 100, 20, 30, 40, 90, 10]);
        let stbl = bx(b"stbl", &[stts, ctts, stss, stsz].concat());
        let minf = bx(b"minf", &stbl);
        let mdia = bx(b"mdia", &[mdhd, hdlr, minf].concat());
        let mut trak_body = tkhd;
        if with_elst {
            let elst = full(b"elst", 0, &[1, 250, 1024, 0x10000]);
            trak_body.extend(bx(b"edts", &elst));
        }
        trak_body.extend(mdia);
        [mvhd, bx(b"trak", &trak_body)].concat()
    }

    #[test]
    fn sample_tables_give_presentation_times_sizes_and_sync_samples() {
        let tracks = parse_moov(&sample_moov(false)).unwrap();
        assert_eq!(tracks.len(), 1);
        let t = &tracks[0];
        assert_eq!((t.track_id, &t.handler, t.timescale), (7, b"vide", 12288));
        assert_eq!(t.dts, vec![0, 512, 1024, 1536, 2048, 2560]);
        assert_eq!(t.pts, vec![1024, 2560, 1536, 2048, 3072, 3584]);
        assert_eq!(t.sizes, vec![100, 20, 30, 40, 90, 10]);
        assert_eq!(t.keyframe_pts(), vec![1024, 3072]);
    }

    #[test]
    fn edit_list_media_time_shifts_times_like_libavformat() {
        let t = &parse_moov(&sample_moov(true)).unwrap()[0];
        assert_eq!(t.keyframe_pts(), vec![0, 2048]);
        assert_eq!(t.dts[0], -1024);
    }

    #[test]
    fn fragmented_moov_is_not_an_index() {
        let mut moov = sample_moov(false);
        moov.extend(bx(b"mvex", &[]));
        assert!(parse_moov(&moov).is_none());
    }

    #[test]
    fn truncated_box_ends_iteration_instead_of_panicking() {
        let mut data = bx(b"free", b"abc");
        data.extend_from_slice(&100u32.to_be_bytes());
        data.extend_from_slice(b"moov");
        let kinds: Vec<_> = boxes(&data).map(|b| b.kind).collect();
        assert_eq!(kinds, vec![*b"free"]);
        assert!(parse_moov(&[1, 2, 3]).is_none());
    }

    #[test]
    fn read_moov_finds_the_box_after_mdat() {
        let moov = bx(b"moov", &sample_moov(false));
        let file = [bx(b"ftyp", b"isom"), bx(b"mdat", &[0; 64]), moov.clone()].concat();
        let body = read_moov(&mut std::io::Cursor::new(file)).unwrap().unwrap();
        assert_eq!(body, moov[8..]);
    }
}
