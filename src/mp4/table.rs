//! A progressive MP4's sample tables (ISO/IEC 14496-12 8.6 and 8.7): every sample's times,
//! size, position and sync flag, read from the `moov` alone.

use super::{boxes, child, path, Reader};

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
    let mut r = Reader::new(child(trak, b"tkhd")?.body);
    let (v, _) = r.full()?;
    r.versioned(v)?; // creation_time
    r.versioned(v)?; // modification_time
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
    let (stts, n) = read_stts(stbl)?;
    let sync = match child(stbl, b"stss") {
        None => None,
        Some(b) => Some(read_stss(b.body, n)?),
    };
    let sizes = read_stsz(stbl, n)?;
    let chunks = chunk_starts(stbl, n).unwrap_or_default();
    let ctts = match child(stbl, b"ctts") {
        None => Vec::new(),
        Some(b) => read_ctts(b.body, n)?,
    };
    let edits = match path(trak, &[b"edts", b"elst"]) {
        None => Edits {
            start: 0,
            shift: 0,
            duration: media_duration,
            simple: true,
        },
        Some(elst) => read_elst(elst, timescale, movie_timescale, media_duration)?,
    };
    let dts_shift = -ctts.iter().map(|c| c.1).min().unwrap_or(0).min(0);
    Some(Track {
        track_id,
        handler,
        timescale,
        duration: edits.duration,
        media_duration,
        start: edits.start,
        simple_edits: edits.simple,
        shift: edits.shift,
        dts_shift,
        stts,
        ctts,
        sizes,
        sync,
        chunks,
    })
}

/// A run of samples with one decode-time delta: (first sample, its decode time, delta).
type TimeRun = (usize, i64, u32);

/// 8.6.1.2 stts: decoding time deltas, run-length coded, as runs; with the number of samples.
fn read_stts(stbl: &[u8]) -> Option<(Vec<TimeRun>, usize)> {
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
    Some((stts, n))
}

/// 8.6.2 stss: sync samples, 1-based in the box, 0-based and sorted here. (A track without the
/// box has every sample sync.)
fn read_stss(body: &[u8], n: usize) -> Option<Vec<usize>> {
    let mut r = Reader::new(body);
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

/// 8.7.3 stsz: one size for all samples, or a table.
fn read_stsz(stbl: &[u8], n: usize) -> Option<Vec<u32>> {
    let mut r = Reader::new(child(stbl, b"stsz")?.body);
    r.full()?;
    let fixed = r.u32()?;
    let count = r.u32()? as usize;
    if fixed != 0 {
        return Some(vec![fixed; n]);
    }
    if count < n {
        return None;
    }
    (0..n).map(|_| r.u32()).collect()
}

/// 8.6.1.3 ctts: composition offsets as (first sample, offset) runs (signed in version 1, and
/// in practice in version 0 too).
fn read_ctts(body: &[u8], n: usize) -> Option<Vec<(usize, i64)>> {
    let mut r = Reader::new(body);
    r.full()?;
    let mut ctts = Vec::new();
    let mut i = 0usize;
    for _ in 0..r.u32()? {
        let (count, off) = (r.u32()? as usize, r.u32()? as i32);
        if count > 0 && i < n {
            ctts.push((i, i64::from(off)));
        }
        i = i.saturating_add(count);
    }
    Some(ctts)
}

/// What an edit list does to a track's times, as libavformat applies it.
struct Edits {
    /// Presentation start (leading empty edits), in the media timescale.
    start: i64,
    /// Added to every time: start minus the first real edit's media_time.
    shift: i64,
    /// The presented duration.
    duration: i64,
    /// One real edit at normal rate, the last entry: what the reader handles itself.
    simple: bool,
}

/// 8.6.6 elst: libavformat subtracts the first real edit's media_time and adds leading empty
/// edits (converted from the movie timescale).
fn read_elst(
    elst: &[u8],
    timescale: u32,
    movie_timescale: u32,
    media_duration: i64,
) -> Option<Edits> {
    let mut edits = Edits {
        start: 0,
        shift: 0,
        duration: media_duration,
        simple: true,
    };
    let mut r = Reader::new(elst);
    let (v, _) = r.full()?;
    let mut empty = 0i64;
    let entries = r.u32()?;
    let to_media = |ticks: i64| {
        if movie_timescale > 0 {
            ticks * i64::from(timescale) / i64::from(movie_timescale)
        } else {
            0
        }
    };
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
            continue;
        }
        edits.start = to_media(empty);
        edits.shift = edits.start - media_time;
        if dur > 0 {
            edits.duration = edits.duration.min(to_media(dur));
        }
        edits.simple = i + 1 == entries && rate == 0x10000;
        break;
    }
    Some(edits)
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
