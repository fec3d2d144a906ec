//! A reader for the ISO base media file format (ISO/IEC 14496-12) boxes Haema needs: the sample
//! tables of a progressive MP4's `moov`, to list keyframes and sample sizes without reading any
//! media data, and the `moof` of a fragment, to check what the muxer wrote.
//!
//! Pure: takes bytes, returns plain data. No FFmpeg here.

use std::io::{Read, Seek, SeekFrom};

use crate::rational::Rational;

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

/// The sample table of one track, as libavformat's mov demuxer presents it: random access to
/// every sample's times, size, position and sync flag, kept as compact as the boxes themselves
/// (run-length time tables, one size per sample, one offset per chunk) so that a two-hour film
/// costs a few megabytes, not tens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Track {
    /// tkhd track_ID.
    pub track_id: u32,
    /// hdlr handler_type: `vide`, `soun`, `subt`, `text`...
    pub handler: [u8; 4],
    /// mdhd timescale: ticks per second of every time below.
    pub timescale: u32,
    /// Duration of the presentation in `timescale` ticks: the media's (mdhd), or the edit's
    /// where that is shorter.
    pub duration: i64,
    /// Duration of the media (8.4.2 mdhd), in `timescale` ticks.
    pub media_duration: i64,
    /// Where the presentation starts, in `timescale` ticks: the length of leading empty
    /// edits. Samples presented before it are outside the edit (priming, trimmed frames).
    pub start: i64,
    /// The edit list, if any, is one that the times here model exactly: empty edits followed
    /// by at most one media edit at normal rate. Anything else (several media edits, dwells) is
    /// left to libavformat's own edit list handling.
    pub simple_edits: bool,
    /// Added to every time for the edit list the way libavformat applies it (first edit's
    /// media_time subtracted, leading empty edits added).
    shift: i64,
    /// Subtracted from every DTS so that no PTS comes before its DTS (libavformat's dts_shift
    /// for negative composition offsets).
    dts_shift: i64,
    /// 8.6.1.2 stts runs: (first sample, its decode time before shifts, sample delta).
    stts: Vec<(usize, i64, u32)>,
    /// 8.6.1.3 ctts runs: (first sample, composition offset); empty when there is no ctts.
    ctts: Vec<(usize, i64)>,
    /// 8.7.3 stsz: each sample's size.
    sizes: Vec<u32>,
    /// 8.6.2 stss: 0-based sync samples, sorted; `None` when every sample is sync.
    sync: Option<Vec<usize>>,
    /// 8.7.4 stsc + 8.7.5 stco/co64: (first sample, file offset) of each chunk; empty when the
    /// chunk tables are missing or don't cover every sample.
    chunks: Vec<(usize, u64)>,
}

/// One sample of a [`Track`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Presentation time, with the edit list applied.
    pub pts: i64,
    /// Decode time, shifted like `pts` (and down by negative composition offsets).
    pub dts: i64,
    /// Decode duration (stts delta).
    pub duration: u32,
    /// Size in bytes.
    pub size: u32,
    /// A sync sample.
    pub sync: bool,
}

/// The run of a run-length table that holds sample `k`.
fn run_of<T>(runs: &[(usize, T)], k: usize) -> Option<&(usize, T)> {
    let i = runs.partition_point(|r| r.0 <= k);
    runs.get(i.checked_sub(1)?)
}

impl Track {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    /// Whether the track has no samples.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// Whether every sample has a file offset (the chunk tables are complete).
    pub fn has_offsets(&self) -> bool {
        !self.chunks.is_empty() || self.sizes.is_empty()
    }

    /// Sample `k` (0-based, decode order).
    pub fn sample(&self, k: usize) -> Sample {
        let i = self.stts.partition_point(|r| r.0 <= k) - 1;
        let cts = run_of(&self.ctts, k).map_or(0, |r| r.1);
        self.timed(k, self.stts[i], cts, self.is_sync(k))
    }

    /// Sample `k` from its stts run and composition offset: the edit list shift on both times,
    /// the DTS lowered by dts_shift.
    fn timed(&self, k: usize, run: (usize, i64, u32), cts: i64, sync: bool) -> Sample {
        let (first, t0, delta) = run;
        let dts = t0 + (k - first) as i64 * i64::from(delta);
        Sample {
            pts: dts + cts + self.shift,
            dts: dts + self.shift - self.dts_shift,
            duration: delta,
            size: self.sizes[k],
            sync,
        }
    }

    /// Whether sample `k` is a sync sample.
    pub fn is_sync(&self, k: usize) -> bool {
        self.sync
            .as_ref()
            .is_none_or(|s| s.binary_search(&k).is_ok())
    }

    /// File offset of sample `k` (0 when the chunk tables are incomplete).
    pub fn offset(&self, k: usize) -> u64 {
        let Some(&(first, at)) = run_of(&self.chunks, k) else {
            return 0;
        };
        at + self.sizes[first..k]
            .iter()
            .map(|s| u64::from(*s))
            .sum::<u64>()
    }

    /// Every sample in decode order, with its file offset; walks the tables once.
    pub fn samples(&self) -> impl Iterator<Item = (Sample, u64)> + '_ {
        let (mut stts, mut ctts, mut chunk, mut sync) = (0usize, 0usize, 0usize, 0usize);
        let mut at = 0u64;
        (0..self.len()).map(move |k| {
            while self.stts.get(stts + 1).is_some_and(|r| r.0 <= k) {
                stts += 1;
            }
            while self.ctts.get(ctts + 1).is_some_and(|r| r.0 <= k) {
                ctts += 1;
            }
            if self.chunks.get(chunk).is_some_and(|c| c.0 == k) {
                at = self.chunks[chunk].1;
                chunk += 1;
            }
            let cts = self.ctts.get(ctts).filter(|r| r.0 <= k).map_or(0, |r| r.1);
            let is_sync = match &self.sync {
                None => true,
                Some(list) => {
                    while list.get(sync).is_some_and(|&i| i < k) {
                        sync += 1;
                    }
                    list.get(sync) == Some(&k)
                }
            };
            let s = self.timed(k, self.stts[stts], cts, is_sync);
            let offset = at;
            at += u64::from(s.size);
            (s, offset)
        })
    }

    /// The sync samples (0-based, sorted), or `None` when every sample is one.
    pub fn sync_list(&self) -> Option<&[usize]> {
        self.sync.as_deref()
    }

    /// The file offset of sample `k` if it starts a chunk (sequential readers add up sizes
    /// within a chunk instead of asking [`Track::offset`]).
    pub fn chunk_start(&self, k: usize) -> Option<u64> {
        run_of(&self.chunks, k).filter(|c| c.0 == k).map(|c| c.1)
    }

    /// Presentation times of the sync samples, sorted.
    pub fn keyframe_pts(&self) -> Vec<i64> {
        let mut k: Vec<i64> = match &self.sync {
            Some(s) => s.iter().map(|&i| self.sample(i).pts).collect(),
            None => (0..self.len()).map(|i| self.sample(i).pts).collect(),
        };
        k.sort_unstable();
        k.dedup();
        k
    }

    /// The sum of every sample's decode duration.
    pub fn total_duration(&self) -> i64 {
        let n = self.len();
        self.stts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let end = self.stts.get(i + 1).map_or(n, |next| next.0);
                (end - r.0) as i64 * i64::from(r.2)
            })
            .sum()
    }

    /// The total of the sample sizes.
    pub fn total_bytes(&self) -> u64 {
        self.sizes.iter().map(|s| u64::from(*s)).sum()
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
    let mut simple_edits = true;
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
    let media_duration = r.versioned(v)? as i64;
    let mut r = Reader::new(child(mdia, b"hdlr")?.body);
    r.full()?;
    r.u32()?; // pre_defined
    let handler: [u8; 4] = r.bytes(4)?.try_into().ok()?;

    let stbl = path(mdia, &[b"minf", b"stbl"])?;
    // 8.6.1.2 stts: decoding time deltas, run-length coded.
    let mut stts = Vec::new();
    let mut r = Reader::new(child(stbl, b"stts")?.body);
    r.full()?;
    let (mut n, mut t) = (0usize, 0i64);
    for _ in 0..r.u32()? {
        let (count, delta) = (r.u32()? as usize, r.u32()?);
        // A count past what the box could describe is a corrupt table, not a film.
        if count > MAX_SAMPLES.saturating_sub(n) {
            return None;
        }
        if count > 0 {
            stts.push((n, t, delta));
        }
        n += count;
        t += count as i64 * i64::from(delta);
    }
    // 8.6.2 stss: sync samples, 1-based; absent means every sample is sync.
    let sync = match child(stbl, b"stss") {
        None => None,
        Some(b) => {
            let mut r = Reader::new(b.body);
            r.full()?;
            let mut s = Vec::new();
            for _ in 0..r.u32()? {
                let i = r.u32()? as usize;
                if (1..=n).contains(&i) {
                    s.push(i - 1);
                }
            }
            s.sort_unstable();
            s.dedup();
            Some(s)
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
        if count < n {
            return None;
        }
        (0..n).map(|_| r.u32()).collect::<Option<Vec<_>>>()?
    };
    let chunks = chunk_starts(stbl, n).unwrap_or_default();
    // 8.6.1.3 ctts: composition offsets (signed in version 1, and in practice in version 0 too).
    let mut ctts = Vec::new();
    if let Some(b) = child(stbl, b"ctts") {
        let mut r = Reader::new(b.body);
        r.full()?;
        let mut i = 0usize;
        for _ in 0..r.u32()? {
            let (count, off) = (r.u32()? as usize, r.u32()? as i32);
            if count > 0 && i < n {
                ctts.push((i, i64::from(off)));
            }
            i = i.saturating_add(count);
        }
    }
    // 8.6.6 elst: libavformat subtracts the first real edit's media_time and adds leading empty
    // edits (converted from the movie timescale).
    let mut shift = 0i64;
    let mut start = 0i64;
    let mut duration = media_duration;
    if let Some(elst) = path(trak, &[b"edts", b"elst"]) {
        let mut r = Reader::new(elst);
        let (v, _) = r.full()?;
        let mut empty = 0i64;
        let entries = r.u32()?;
        for i in 0..entries {
            let dur = r.versioned(v)? as i64;
            let media_time = if v == 1 {
                r.u64()? as i64
            } else {
                r.u32()? as i32 as i64
            };
            let rate = r.u32()?;
            if media_time == -1 {
                empty += dur;
            } else {
                let to_media = |ticks: i64| {
                    if movie_timescale > 0 {
                        ticks * i64::from(timescale) / i64::from(movie_timescale)
                    } else {
                        0
                    }
                };
                start = to_media(empty);
                shift = start - media_time;
                if dur > 0 {
                    duration = duration.min(to_media(dur));
                }
                simple_edits = i + 1 == entries && rate == 0x10000;
                break;
            }
        }
    }
    let dts_shift = -ctts.iter().map(|c| c.1).min().unwrap_or(0).min(0);
    Some(Track {
        track_id,
        handler,
        timescale,
        duration,
        media_duration,
        start,
        simple_edits,
        shift,
        dts_shift,
        stts,
        ctts,
        sizes,
        sync,
        chunks,
    })
}

// More samples than any film has (a day at 240 frames/s): a table claiming more is corrupt.
const MAX_SAMPLES: usize = 24 * 3600 * 240;

/// The first sample and file offset of each chunk, from 8.7.4 stsc (samples per chunk,
/// run-length coded by first chunk) and 8.7.5 stco or co64 (chunk offsets). `None` when the
/// tables are missing or don't cover all `n` samples.
fn chunk_starts(stbl: &[u8], n: usize) -> Option<Vec<(usize, u64)>> {
    let mut r = Reader::new(child(stbl, b"stsc")?.body);
    r.full()?;
    let runs = (0..r.u32()?)
        .map(|_| {
            let first = r.u32()?;
            let per_chunk = r.u32()?;
            r.u32()?; // sample_description_index
            Some((first, per_chunk))
        })
        .collect::<Option<Vec<_>>>()?;
    let offsets: Vec<u64> = if let Some(b) = child(stbl, b"stco") {
        let mut r = Reader::new(b.body);
        r.full()?;
        (0..r.u32()?)
            .map(|_| r.u32().map(u64::from))
            .collect::<Option<_>>()?
    } else {
        let mut r = Reader::new(child(stbl, b"co64")?.body);
        r.full()?;
        (0..r.u32()?).map(|_| r.u64()).collect::<Option<_>>()?
    };
    let mut chunks = Vec::with_capacity(offsets.len());
    let mut sample = 0usize;
    for (i, run) in runs.iter().enumerate() {
        let first = run.0.max(1) as usize;
        let last = runs
            .get(i + 1)
            .map_or(offsets.len(), |next| (next.0 as usize).saturating_sub(1))
            .min(offsets.len());
        for chunk in first..=last {
            if sample >= n {
                return Some(chunks);
            }
            if run.1 > 0 {
                chunks.push((sample, offsets[chunk - 1]));
            }
            sample += run.1 as usize;
        }
    }
    (sample >= n).then_some(chunks)
}

/// The codec's reorder depth as libavformat estimates it for H.264 (its
/// `mov_estimate_video_delay`): the most places any frame moves when the presentation times,
/// in decode order, are sorted through a 17-frame window.
pub fn video_delay(pts: impl IntoIterator<Item = i64>) -> u32 {
    const WINDOW: usize = 17;
    let mut buf = std::collections::VecDeque::with_capacity(WINDOW);
    let mut delay = 0;
    for p in pts {
        if buf.len() == WINDOW {
            buf.pop_front();
        }
        buf.push_back(p);
        let mut swaps = 0;
        let mut j = buf.len() - 1;
        while j > 0 && buf[j] < buf[j - 1] {
            buf.swap(j, j - 1);
            swaps += 1;
            j -= 1;
        }
        delay = delay.max(swaps);
    }
    delay
}

/// A small file that libavformat's mov demuxer opens into the same streams and codec
/// parameters as the real one, in a fraction of the time: the `moov` with every track's
/// sample tables emptied (the sample description, stsd, kept byte for byte) and its edit list
/// dropped. Haema reads the samples itself from the real tables; libavformat only parses the
/// sample descriptions (avcC, hvcC, esds, dac3...).
/// The file's `ftyp` is kept as it was: its brands change how libavformat reads some boxes
/// (QuickTime `qt  ` language codes).
pub fn stub_file(ftyp: Option<&[u8]>, moov: &[u8]) -> Vec<u8> {
    fn bx(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
        out.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
    }
    fn rewrite(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for b in boxes(data) {
            match &b.kind {
                b"edts" => {}
                b"trak" | b"mdia" | b"minf" => bx(&mut out, &b.kind, &rewrite(b.body)),
                b"stbl" => {
                    let mut stbl = Vec::new();
                    if let Some(stsd) = child(b.body, b"stsd") {
                        bx(&mut stbl, b"stsd", stsd.body);
                    }
                    // Empty 8.6.1.2 stts, 8.7.3 stsz, 8.7.4 stsc, 8.7.5 stco.
                    bx(&mut stbl, b"stts", &[0; 8]);
                    bx(&mut stbl, b"stsz", &[0; 12]);
                    bx(&mut stbl, b"stsc", &[0; 8]);
                    bx(&mut stbl, b"stco", &[0; 8]);
                    bx(&mut out, b"stbl", &stbl);
                }
                _ => bx(&mut out, &b.kind, b.body),
            }
        }
        out
    }
    let mut out = Vec::new();
    if let Some(ftyp) = ftyp {
        bx(&mut out, b"ftyp", ftyp);
    }
    bx(&mut out, b"moov", &rewrite(moov));
    bx(&mut out, b"mdat", &[]);
    out
}

/// Reads the `moov` box of a progressive MP4 file by walking the top-level box headers
/// (a few small reads, wherever the moov sits). `None` when there is none.
pub fn read_moov<R: Read + Seek>(f: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    Ok(read_top(f)?.map(|t| t.moov))
}

/// The top-level boxes of a progressive MP4 that describe it (payloads).
pub struct Top {
    /// 4.3 ftyp, when the file has one.
    pub ftyp: Option<Vec<u8>>,
    /// 8.2.1 moov.
    pub moov: Vec<u8>,
}

/// Reads the `ftyp` and `moov` boxes of a file by walking the top-level box headers (a few
/// small reads, wherever the moov sits). `None` when there is no moov.
pub fn read_top<R: Read + Seek>(f: &mut R) -> std::io::Result<Option<Top>> {
    let len = f.seek(SeekFrom::End(0))?;
    let mut ftyp = None;
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
        if &h[4..8] == b"ftyp" && size <= 4096 {
            let mut body = vec![0u8; (size - header) as usize];
            f.read_exact(&mut body)?;
            ftyp = Some(body);
        }
        if &h[4..8] == b"moov" {
            // 1 GiB of sample tables is far beyond any real film; refuse rather than allocate.
            if size > 1 << 30 {
                return Ok(None);
            }
            let mut body = vec![0u8; (size - header) as usize];
            f.read_exact(&mut body)?;
            return Ok(Some(Top { ftyp, moov: body }));
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

/// One sample of a media fragment to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentSample {
    /// Decode duration, in the track's timescale.
    pub duration: u32,
    /// Size in bytes.
    pub size: u32,
    /// A sync sample (keyframe).
    pub sync: bool,
    /// Composition offset (PTS - DTS), in the track's timescale.
    pub cts: u32,
}

// 8.8.8.1 sample_flags (ISO/IEC 14496-12 8.6.4.3 layout): sample_depends_on = 2 (does not
// depend on others) for a sync sample; depends_on = 1 plus sample_is_non_sync_sample otherwise.
const SAMPLE_FLAGS_SYNC: u32 = 0x0200_0000;
const SAMPLE_FLAGS_NON_SYNC: u32 = 0x0101_0000;

fn sample_flags(s: &FragmentSample) -> u32 {
    if s.sync {
        SAMPLE_FLAGS_SYNC
    } else {
        SAMPLE_FLAGS_NON_SYNC
    }
}

/// The timescale FFmpeg 5.1's mov muxer gives a video track whose packets are in `time_base`
/// (`mov_init`: the time base's denominator, doubled until it is at least 10000), as the time
/// base its fragments are written in. A unit test of the muxer checks it.
pub fn video_timescale(time_base: Rational) -> Rational {
    let mut den = time_base.den.max(1);
    while den < 10_000 {
        den *= 2;
    }
    Rational::new(1, den)
}

/// Writes one media segment (moof + mdat) of one video track exactly as FFmpeg 5.1's mov
/// muxer writes it with `frag_custom+default_base_moof+frag_discont` (`mov_write_moof_tag`):
/// mfhd (8.8.5) with the sequence number; tfhd (8.8.7) with default-base-is-moof and the
/// defaults it takes from the first samples; tfdt (8.8.12) version 1; one trun (8.8.8) with
/// the data offset and whichever per-sample fields differ from the defaults; then the mdat
/// with the samples' bytes laid end to end. The bytes are what the muxer would make from the
/// same samples, without its two intermediate copies of the media data.
pub fn write_fragment(
    sequence: u32,
    track_id: u32,
    base_decode_time: u64,
    samples: &[FragmentSample],
    data: &[&[u8]],
) -> Vec<u8> {
    const DATA_OFFSET: u32 = 0x1;
    const FIRST_SAMPLE_FLAGS: u32 = 0x4;
    const SAMPLE_DURATION: u32 = 0x100;
    const SAMPLE_SIZE: u32 = 0x200;
    const SAMPLE_FLAGS: u32 = 0x400;
    const SAMPLE_CTS: u32 = 0x800;
    // tfhd: default sample duration, size and flags; default-base-is-moof.
    const TFHD_FLAGS: u32 = 0x08 | 0x10 | 0x20 | 0x02_0000;

    let first = samples.first().copied().unwrap_or(FragmentSample {
        duration: 0,
        size: 1,
        sync: false,
        cts: 0,
    });
    let default_duration = first.duration;
    let default_size = first.size;
    // The muxer takes the default flags from the second sample (the first is a keyframe and
    // gets its own field).
    let default_flags = samples.get(1).map_or(SAMPLE_FLAGS_NON_SYNC, sample_flags);
    let mut trun_flags = DATA_OFFSET;
    for (i, s) in samples.iter().enumerate() {
        if s.duration != default_duration {
            trun_flags |= SAMPLE_DURATION;
        }
        if s.size != default_size {
            trun_flags |= SAMPLE_SIZE;
        }
        if i > 0 && sample_flags(s) != default_flags {
            trun_flags |= SAMPLE_FLAGS;
        }
    }
    if trun_flags & SAMPLE_FLAGS == 0
        && !samples.is_empty()
        && sample_flags(&first) != default_flags
    {
        trun_flags |= FIRST_SAMPLE_FLAGS;
    }
    if samples.iter().any(|s| s.cts != 0) {
        trun_flags |= SAMPLE_CTS;
    }
    let per_sample = [SAMPLE_DURATION, SAMPLE_SIZE, SAMPLE_FLAGS, SAMPLE_CTS]
        .iter()
        .filter(|f| trun_flags & **f != 0)
        .count();
    let trun_size = 8
        + 4
        + 4
        + 4
        + if trun_flags & FIRST_SAMPLE_FLAGS != 0 {
            4
        } else {
            0
        }
        + 4 * per_sample * samples.len();
    let tfhd_size = 8 + 4 + 4 * 4;
    let tfdt_size = 8 + 4 + 8;
    let traf_size = 8 + tfhd_size + tfdt_size + trun_size;
    let moof_size = 8 + 16 + traf_size;
    let mdat_len: usize = data.iter().map(|d| d.len()).sum();

    let mut out = Vec::with_capacity(moof_size + 8 + mdat_len);
    let u32be = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_be_bytes());
    u32be(&mut out, moof_size as u32);
    out.extend_from_slice(b"moof");
    u32be(&mut out, 16);
    out.extend_from_slice(b"mfhd");
    u32be(&mut out, 0);
    u32be(&mut out, sequence);
    u32be(&mut out, traf_size as u32);
    out.extend_from_slice(b"traf");
    u32be(&mut out, tfhd_size as u32);
    out.extend_from_slice(b"tfhd");
    u32be(&mut out, TFHD_FLAGS);
    u32be(&mut out, track_id);
    u32be(&mut out, default_duration);
    u32be(&mut out, default_size);
    u32be(&mut out, default_flags);
    u32be(&mut out, tfdt_size as u32);
    out.extend_from_slice(b"tfdt");
    u32be(&mut out, 0x0100_0000); // version 1
    out.extend_from_slice(&base_decode_time.to_be_bytes());
    u32be(&mut out, trun_size as u32);
    out.extend_from_slice(b"trun");
    u32be(&mut out, trun_flags);
    u32be(&mut out, samples.len() as u32);
    u32be(&mut out, (moof_size + 8) as u32); // data offset: past the mdat header
    if trun_flags & FIRST_SAMPLE_FLAGS != 0 {
        u32be(&mut out, sample_flags(&first));
    }
    for s in samples {
        if trun_flags & SAMPLE_DURATION != 0 {
            u32be(&mut out, s.duration);
        }
        if trun_flags & SAMPLE_SIZE != 0 {
            u32be(&mut out, s.size);
        }
        if trun_flags & SAMPLE_FLAGS != 0 {
            u32be(&mut out, sample_flags(s));
        }
        if trun_flags & SAMPLE_CTS != 0 {
            u32be(&mut out, s.cts);
        }
    }
    debug_assert_eq!(out.len(), moof_size);
    u32be(&mut out, (mdat_len + 8) as u32);
    out.extend_from_slice(b"mdat");
    for d in data {
        out.extend_from_slice(d);
    }
    out
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
        let mdhd = full(b"mdhd", 0, &[0, 0, 12288, 6 * 512]);
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
        // Chunk 1 holds four samples, chunk 2 the other two.
        let stsc = full(b"stsc", 0, &[2, 1, 4, 1, 2, 2, 1]);
        let stco = full(b"stco", 0, &[2, 1000, 5000]);
        let stsd = full(b"stsd", 0, &[0]);
        let stbl = bx(
            b"stbl",
            &[stsd, stts, ctts, stss, stsz, stsc, stco].concat(),
        );
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
        let all: Vec<Sample> = (0..t.len()).map(|k| t.sample(k)).collect();
        let dts: Vec<i64> = all.iter().map(|s| s.dts).collect();
        let pts: Vec<i64> = all.iter().map(|s| s.pts).collect();
        let sizes: Vec<u32> = all.iter().map(|s| s.size).collect();
        assert_eq!(dts, vec![0, 512, 1024, 1536, 2048, 2560]);
        assert_eq!(pts, vec![1024, 2560, 1536, 2048, 3072, 3584]);
        assert_eq!(sizes, vec![100, 20, 30, 40, 90, 10]);
        assert_eq!(t.keyframe_pts(), vec![1024, 3072]);
        assert_eq!(t.sync_list(), Some(&[0, 4][..]));
        assert_eq!(t.total_duration(), 6 * 512);
    }

    #[test]
    fn chunk_tables_give_each_sample_its_file_offset() {
        let t = &parse_moov(&sample_moov(false)).unwrap()[0];
        let offsets: Vec<u64> = (0..t.len()).map(|k| t.offset(k)).collect();
        assert_eq!(offsets, vec![1000, 1100, 1120, 1150, 5000, 5090]);
        let walked: Vec<u64> = t.samples().map(|(_, o)| o).collect();
        assert_eq!(walked, offsets);
        assert!(t.samples().all(|(s, _)| s.duration == 512));
        assert!(t.simple_edits && t.has_offsets());
    }

    #[test]
    fn video_delay_counts_reorder_depth_like_libavformat() {
        assert_eq!(video_delay([0, 1, 2, 3]), 0);
        // I P B B: each B moves one place behind the P.
        assert_eq!(video_delay([0, 3, 1, 2]), 1);
        // A B-pyramid: I P B b b, the last b moves two places.
        assert_eq!(video_delay([0, 4, 2, 1, 3]), 2);
    }

    #[test]
    fn stub_keeps_sample_descriptions_and_empties_sample_tables() {
        let moov = sample_moov(true);
        let stub = stub_file(Some(b"isom"), &moov);
        let kinds: Vec<_> = boxes(&stub).map(|b| b.kind).collect();
        assert_eq!(kinds, vec![*b"ftyp", *b"moov", *b"mdat"]);
        let moov = child(&stub, b"moov").unwrap().body;
        let trak = child(moov, b"trak").unwrap().body;
        assert!(child(trak, b"edts").is_none());
        let stbl = path(trak, &[b"mdia", b"minf", b"stbl"]).unwrap();
        let kinds: Vec<_> = boxes(stbl).map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            vec![*b"stsd", *b"stts", *b"stsz", *b"stsc", *b"stco"]
        );
        assert_eq!(child(stbl, b"stsz").unwrap().body, &[0; 12]);
    }

    #[test]
    fn written_fragment_reads_back_and_matches_the_muxers_layout() {
        let sample = |duration, size, sync, cts| FragmentSample {
            duration,
            size,
            sync,
            cts,
        };
        // I P B: the keyframe first, composition offsets present.
        let samples = [
            sample(512, 3, true, 1024),
            sample(512, 2, false, 1536),
            sample(512, 1, false, 0),
        ];
        let data: [&[u8]; 3] = [b"IIi", b"PP", b"B"];
        let frag = write_fragment(7, 1, 90_000, &samples, &data);
        let info = parse_fragment(&frag).unwrap();
        assert_eq!((info.sequence, info.base_decode_time), (7, 90_000));
        assert_eq!(info.durations, vec![512; 3]);
        assert_eq!(info.sizes, vec![3, 2, 1]);
        assert_eq!(info.cts_offsets, vec![1024, 1536, 0]);
        // Golden: tfhd with default-base-is-moof and defaults from the first samples (duration
        // 512, size 3, flags of the second: non-sync), then a trun with data offset, the first
        // sample's own flags (a keyframe), sizes and composition offsets (durations all equal
        // the default), as FFmpeg 5.1's mov muxer writes them.
        let tfhd = frag.windows(4).position(|w| w == b"tfhd").unwrap();
        assert_eq!(
            frag[tfhd + 4..tfhd + 24],
            [0, 2, 0, 0x38, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 3, 1, 1, 0, 0]
        );
        let trun = frag.windows(4).position(|w| w == b"trun").unwrap();
        assert_eq!(frag[trun + 4..trun + 12], [0, 0, 0x0a, 0x05, 0, 0, 0, 3]);
        let moof_size = u32::from_be_bytes(frag[0..4].try_into().unwrap()) as usize;
        let data_offset = u32::from_be_bytes(frag[trun + 12..trun + 16].try_into().unwrap());
        assert_eq!(data_offset as usize, moof_size + 8);
        assert_eq!(&frag[moof_size + 4..moof_size + 8], b"mdat");
        assert_eq!(&frag[moof_size + 8..], b"IIiPPB");
    }

    #[test]
    fn edit_list_media_time_shifts_times_like_libavformat() {
        let t = &parse_moov(&sample_moov(true)).unwrap()[0];
        assert_eq!(t.keyframe_pts(), vec![0, 2048]);
        assert_eq!(t.sample(0).dts, -1024);
        // elst segment_duration 250 at movie timescale 1000, in media ticks (shorter than
        // the media's 6 x 512).
        assert_eq!(t.duration, 12288 / 4);
        assert_eq!(t.media_duration, 6 * 512);
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
