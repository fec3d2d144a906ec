//! Where keyframes come from: the file's head (start times, reorder delay), the container's own
//! index (MP4 sample tables, Matroska Cues), or a packet scan when there is none.

use std::path::Path;

use super::ByteSeries;
use crate::codecs;
use crate::error::Result;
use crate::media::Source;
use crate::stream::StreamParams;

/// What the first packets of a file tell: each stream's first timestamp, the video's
/// reorder delay, and each stream's rate over them.
pub(super) struct Head {
    pub(super) first_pts: Vec<Option<i64>>,
    pub(super) reorder: i64,
    /// Bits/s of each stream over the packets read (0 where they span under a second).
    pub(super) rates: Vec<u64>,
}

// How much of a file's start is read for [`Head`]: enough for a few GOPs and the first packet
// of every stream, bounded for files with a stream that never has a packet.
const HEAD_MAX_PACKETS: usize = 3000;
const HEAD_KEYFRAMES: usize = 2;

/// Reads the start of the file (packet headers only, no decoding): each stream's earliest
/// timestamp, and `R`, the largest amount by which a frame's decode slot (the sorted PTS) runs
/// ahead of its own PTS over the first GOPs, plus one tick for containers that round
/// timestamps (Matroska's 1 ms). Both are the same in every process.
pub(super) fn read_head(src: &mut Source, video: usize) -> Result<Head> {
    let time_bases: Vec<f64> = src.streams().iter().map(|s| s.time_base.as_f64()).collect();
    let n = time_bases.len();
    let mut first_pts: Vec<Option<i64>> = vec![None; n];
    let mut video_pts = Vec::new();
    // Bytes and the (first, last) timestamps of each stream's packets.
    let mut bytes = vec![0u64; n];
    let mut last_pts: Vec<Option<i64>> = vec![None; n];
    let mut keyframes = 0;
    for _ in 0..HEAD_MAX_PACKETS {
        let Some(p) = src.read_timing()? else { break };
        let Some(t) = p.time else { continue };
        let f = &mut first_pts[p.stream];
        *f = Some(f.map_or(t, |x| x.min(t)));
        let l = &mut last_pts[p.stream];
        *l = Some(l.map_or(t, |x| x.max(t)));
        bytes[p.stream] += p.size as u64;
        if p.stream == video {
            if p.keyframe {
                keyframes += 1;
                if keyframes > HEAD_KEYFRAMES {
                    if first_pts.iter().all(Option::is_some) {
                        break;
                    }
                    continue;
                }
            }
            if keyframes > 0 && keyframes <= HEAD_KEYFRAMES {
                video_pts.push(t);
            }
        }
    }
    let mut sorted = video_pts.clone();
    sorted.sort_unstable();
    let lag = sorted
        .iter()
        .zip(&video_pts)
        .map(|(s, p)| s - p)
        .max()
        .unwrap_or(0);
    let rates = (0..n)
        .map(|i| match (first_pts[i], last_pts[i]) {
            (Some(a), Some(b)) if (b - a) as f64 * time_bases[i] >= 1.0 => {
                (bytes[i] as f64 * 8.0 / ((b - a) as f64 * time_bases[i])).round() as u64
            }
            _ => 0,
        })
        .collect();
    let _ = src.rewind(video, first_pts[video].unwrap_or(0));
    Ok(Head {
        first_pts,
        reorder: if lag > 0 { lag + 1 } else { 0 },
        rates,
    })
}

/// Reads the head of a Matroska file and looks for Cues that the file really holds (a
/// truncated file lists Cues past its end).
pub(super) fn matroska_has_cues(path: &Path) -> bool {
    let Ok(file) = crate::input::open(path) else {
        return false;
    };
    let mut head = vec![0u8; file.len().min(64 * 1024) as usize];
    file.read_at(0, &mut head).is_ok()
        && crate::mkv::cues_position(&head).is_some_and(|pos| pos < file.len())
}

/// Keyframes and per-sample sizes from an MP4's own sample tables: the ones the source reads
/// its samples from, or parsed here when libavformat reads them.
pub(super) fn mp4_index(
    src: &Source,
    streams: &[StreamParams],
    video: usize,
    with_bytes: bool,
) -> Option<(Vec<i64>, Vec<ByteSeries>)> {
    let parsed;
    // (stream index, its track)
    let tracks: Vec<(usize, &crate::mp4::Track)> = if src.reads_sample_tables() {
        // A stream without a track (cover art) has no samples to count.
        (0..streams.len())
            .filter_map(|i| Some((i, src.mp4_track(i)?)))
            .collect()
    } else {
        let mut f = crate::input::Cursor {
            inner: crate::input::open(src.path()).ok()?,
            at: 0,
        };
        let moov = crate::mp4::read_moov(&mut f).ok()??;
        parsed = crate::mp4::parse_moov(&moov)?;
        // libavformat makes one stream per trak, in order.
        if parsed.len() != streams.len() {
            return None;
        }
        parsed.iter().enumerate().collect()
    };
    let (_, vt) = tracks.iter().find(|(i, _)| *i == video)?;
    if i64::from(vt.timescale) != streams[video].time_base.den || streams[video].time_base.num != 1
    {
        return None;
    }
    let keys = vt.keyframe_pts();
    if keys.is_empty() {
        return None;
    }
    if !with_bytes {
        return Some((keys, Vec::new()));
    }
    // Summed per GOP here, as the caller would (the same starts, computed the same way).
    let vtb = streams[video].time_base.as_f64();
    let starts: Vec<f64> = keys.iter().map(|k| *k as f64 * vtb).collect();
    let bytes = tracks
        .iter()
        .map(|(i, t)| {
            let scale = f64::from(t.timescale.max(1));
            let entries = t
                .samples()
                .map(|(s, _)| (s.pts as f64 / scale, u64::from(s.size)));
            ByteSeries::binned(Some(*i), entries, &starts)
        })
        .collect();
    Some((keys, bytes))
}

/// Reads every packet (no decoding) for keyframe flags and sizes: the fallback.
pub(super) fn packet_scan(
    src: &mut Source,
    video: usize,
) -> Result<(Vec<i64>, Vec<ByteSeries>, Option<i64>)> {
    let _ = src.seek(video, i64::MIN / 4);
    let tbs: Vec<f64> = src.streams().iter().map(|s| s.time_base.as_f64()).collect();
    let mut series: Vec<Vec<(f64, u64)>> = vec![Vec::new(); tbs.len()];
    let mut keys = Vec::new();
    let mut end: Option<i64> = None;
    while let Some(p) = src.read()? {
        let Some(t) = p.time() else { continue };
        if let Some(s) = series.get_mut(p.stream) {
            s.push((t as f64 * tbs[p.stream], p.data().len() as u64));
        }
        if p.stream == video {
            if p.keyframe {
                keys.push(t);
            }
            let e = t + p.duration.max(1);
            end = Some(end.map_or(e, |x: i64| x.max(e)));
        }
    }
    let series = series
        .into_iter()
        .enumerate()
        .map(|(i, e)| ByteSeries::new(Some(i), e))
        .collect();
    Ok((keys, series, end))
}

/// The presentation times of keyframes that an index gives by decode time: each keyframe's
/// packet read where a seek to its decode time lands (one packet header per keyframe, no
/// decoding). A keyframe whose packet can't be read keeps its decode time.
pub(super) fn presentation_times(src: &mut Source, video: usize, dts: &[i64]) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(dts.len());
    for &d in dts {
        let mut pts = d;
        if src.seek(video, d).is_ok() {
            while let Some(p) = src.read_timing()? {
                if p.stream == video && p.keyframe {
                    pts = p.time.unwrap_or(d);
                    break;
                }
            }
        }
        out.push(pts);
    }
    Ok(out)
}

/// Reads the first few boundary keyframes and checks they are IDR (closed GOP) for H.264/HEVC.
pub(super) fn check_idr(src: &mut Source, vs: &StreamParams, keys: &[i64]) -> Option<bool> {
    if !matches!(vs.codec.as_str(), "h264" | "hevc") {
        return None;
    }
    let length_size = codecs::nal_length_size(&vs.codec, &vs.extradata);
    let picks = [keys.first(), keys.get(keys.len() / 2)];
    let mut all = true;
    for &k in picks.iter().flatten() {
        if src.seek(vs.index, *k).is_err() {
            continue;
        }
        // A remote file fetches what the next reads take in one request.
        src.will_read(vs.index, *k, *k);
        // The keyframe is the first video packet after the seek.
        while let Ok(Some(p)) = src.read() {
            if p.stream != vs.index {
                continue;
            }
            if p.keyframe {
                all &= codecs::has_idr(&vs.codec, p.data(), length_size);
            }
            break;
        }
    }
    Some(all)
}
