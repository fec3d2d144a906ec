//! One file to [`MediaInfo`]: containers, streams, the keyframe list and where it came from.
//!
//! Keyframes come from the container's own index, without reading media data: MP4 sample
//! tables (read by [`crate::mp4`], which also gives composition offsets, so the times are true
//! presentation times) and Matroska Cues (libavformat's index entries, loaded by a first seek).
//! A packet scan (flags only, no decoding) is the fallback for files without an index.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::codecs;
use crate::error::{Error, Result};
use crate::media::{Kind, Rational, Source, StreamParams};
use crate::timeline::convert;

/// Where the keyframe list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexSource {
    /// The MP4 `moov` sample tables (stss, stts, ctts, elst).
    Mp4SampleTable,
    /// Matroska Cues.
    MatroskaCues,
    /// Another container's own index, as libavformat reads it (AVI idx1...).
    ContainerIndex,
    /// Every packet of the file was read (no decoding): the fallback.
    PacketScan,
}

impl IndexSource {
    /// Human wording for `probe`'s output.
    pub fn describe(self) -> &'static str {
        match self {
            IndexSource::Mp4SampleTable => "MP4 sample tables (index, no media data read)",
            IndexSource::MatroskaCues => "Matroska Cues (index, no media data read)",
            IndexSource::ContainerIndex => "container index (no media data read)",
            IndexSource::PacketScan => "packet scan (the file has no usable index)",
        }
    }
}

/// The video keyframes of a file.
#[derive(Debug, Clone, Serialize)]
pub struct KeyframeIndex {
    /// Where they came from.
    pub source: IndexSource,
    /// Time base of `pts`.
    pub time_base: Rational,
    /// Presentation times of every video keyframe, ascending.
    pub pts: Vec<i64>,
    /// How long reading them took, in milliseconds.
    pub elapsed_ms: f64,
}

/// Bytes of a stream (or of all streams, muxed) over time, for playlist bandwidths. Sorted by
/// time with running totals, so the bytes of any time range cost two binary searches (a 2-hour
/// MP4 has half a million samples and a playlist asks for every segment).
#[derive(Debug, Clone)]
pub struct ByteSeries {
    /// The stream these bytes belong to; `None` when the index only knows muxed byte ranges
    /// (Matroska Cues: cluster positions cover every stream).
    pub stream: Option<usize>,
    times: Vec<f64>,
    // cumulative[i] = bytes of the entries before times[i]; one longer than `times`.
    cumulative: Vec<u64>,
}

impl ByteSeries {
    /// A series from (presentation time in seconds, bytes) entries in any order.
    pub fn new(stream: Option<usize>, mut entries: Vec<(f64, u64)>) -> ByteSeries {
        entries.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cumulative = Vec::with_capacity(entries.len() + 1);
        let mut total = 0u64;
        cumulative.push(0);
        for (_, size) in &entries {
            total += size;
            cumulative.push(total);
        }
        ByteSeries {
            stream,
            times: entries.into_iter().map(|(t, _)| t).collect(),
            cumulative,
        }
    }

    /// Bytes of the entries with `from <= time < to`.
    pub fn bytes_between(&self, from: f64, to: f64) -> u64 {
        let lo = self.times.partition_point(|t| *t < from);
        let hi = self.times.partition_point(|t| *t < to).max(lo);
        self.cumulative[hi] - self.cumulative[lo]
    }
}

/// Everything Haema knows about one file before making any segment.
#[derive(Debug, Clone, Serialize)]
pub struct MediaInfo {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Container format (libavformat's name).
    pub container: String,
    /// Duration in seconds.
    pub duration: f64,
    /// Overall bit rate in bits/s, where declared.
    pub bit_rate: u64,
    /// Every stream of the file.
    pub streams: Vec<StreamParams>,
    /// Index of the main video stream.
    pub video: Option<usize>,
    /// The video keyframes.
    #[serde(skip)]
    pub keyframes: KeyframeIndex,
    /// Presentation end of the video, in the keyframe time base.
    pub end_pts: i64,
    /// Whether the keyframes checked are IDR frames (closed GOPs): segments cut there decode on
    /// their own. `None` when the codec has no such notion (every keyframe is a random access
    /// point).
    pub idr_keyframes: Option<bool>,
    /// Byte counts over time, from the index or the scan.
    #[serde(skip)]
    pub bytes: Vec<ByteSeries>,
}

impl MediaInfo {
    /// The main video stream's parameters.
    pub fn video_stream(&self) -> Option<&StreamParams> {
        self.video.and_then(|i| self.streams.get(i))
    }

    /// Keyframe times in seconds, for output.
    pub fn keyframe_secs(&self) -> Vec<f64> {
        let tb = self.keyframes.time_base.as_f64();
        self.keyframes.pts.iter().map(|p| *p as f64 * tb).collect()
    }
}

/// Probes a file: streams, keyframes, sizes. Reads the index, not the media data, where the
/// container has one.
pub fn probe(path: &Path) -> Result<MediaInfo> {
    let mut src = Source::open(path)?;
    let streams = src.streams();
    let video = streams
        .iter()
        .find(|s| s.kind == Kind::Video && !s.attached_pic && s.width > 0)
        .map(|s| s.index);
    let container = src.format_name();
    let size = src.file_size();
    let Some(v) = video else {
        return Err(Error::Unsupported {
            path: path.to_owned(),
            reason: "no video stream: Haema streams files with a video track (audio-only files are not supported yet)".into(),
        });
    };
    let vtb = streams[v].time_base;
    let started = Instant::now();

    let mut found: Option<(IndexSource, Vec<i64>, Vec<ByteSeries>)> = None;
    if container.contains("mp4") {
        found = mp4_index(path, &streams).map(|(k, b)| (IndexSource::Mp4SampleTable, k, b));
    }
    // Matroska without Cues: libavformat's index holds only the keyframes it happened to read.
    let mkv_without_cues = container.contains("matroska") && !matroska_has_cues(path);
    if found.is_none() && !mkv_without_cues {
        src.load_index(v);
        let entries = src.index_entries(v);
        let keys: Vec<i64> = entries
            .iter()
            .filter(|e| e.keyframe)
            .map(|e| e.timestamp)
            .collect();
        // A lone entry is what a demuxer adds for the first packet it read, not an index (and a
        // file with one keyframe is scanned in no time).
        if keys.len() >= 2 {
            let kind = if container.contains("matroska") {
                IndexSource::MatroskaCues
            } else {
                IndexSource::ContainerIndex
            };
            // Byte spans between consecutive keyframe positions: every stream's data.
            let tb = vtb.as_f64();
            let key_entries: Vec<_> = entries.iter().filter(|e| e.keyframe).collect();
            let spans = key_entries.iter().enumerate().map(|(i, e)| {
                let next = key_entries.get(i + 1).map_or(size as i64, |n| n.pos);
                (e.timestamp as f64 * tb, (next - e.pos).max(0) as u64)
            });
            found = Some((kind, keys, vec![ByteSeries::new(None, spans.collect())]));
        }
    }
    let (source, mut keys, bytes, scan_end) = match found {
        Some((s, k, b)) => (s, k, b, None),
        None => {
            let (k, b, end) = packet_scan(&mut src, v)?;
            (IndexSource::PacketScan, k, b, end)
        }
    };
    keys.sort_unstable();
    keys.dedup();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if keys.is_empty() {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            reason: "no video keyframe found".into(),
        });
    }

    let vs = &streams[v];
    let end_pts = scan_end
        .or_else(|| vs.duration.map(|d| vs.start.unwrap_or(0) + d))
        .or_else(|| {
            let d = src.duration()?;
            let s = src.start_time().unwrap_or(0.0);
            Some(((s + d) / vtb.as_f64()).round() as i64)
        })
        .unwrap_or(keys[keys.len() - 1] + 1);
    let end_pts = end_pts.max(keys[keys.len() - 1] + 1);
    let duration = (end_pts - keys[0]) as f64 * vtb.as_f64();
    let idr_keyframes = check_idr(&mut src, vs, &keys);

    Ok(MediaInfo {
        path: path.to_owned(),
        size,
        container,
        duration,
        bit_rate: src.bit_rate(),
        streams,
        video,
        keyframes: KeyframeIndex {
            source,
            time_base: vtb,
            pts: keys,
            elapsed_ms,
        },
        end_pts,
        idr_keyframes,
        bytes,
    })
}

/// Reads the head of a Matroska file and looks for Cues that the file really holds (a
/// truncated file lists Cues past its end).
fn matroska_has_cues(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .ok()
        .and_then(|_| crate::mkv::cues_position(&head))
        .zip(std::fs::metadata(path).ok())
        .is_some_and(|(pos, meta)| pos < meta.len())
}

/// Keyframes and per-sample sizes from an MP4's own sample tables.
fn mp4_index(path: &Path, streams: &[StreamParams]) -> Option<(Vec<i64>, Vec<ByteSeries>)> {
    let mut f = std::fs::File::open(path).ok()?;
    let moov = crate::mp4::read_moov(&mut f).ok()??;
    let tracks = crate::mp4::parse_moov(&moov)?;
    // libavformat makes one stream per trak, in order.
    if tracks.len() != streams.len() {
        return None;
    }
    let video = streams
        .iter()
        .position(|s| s.kind == Kind::Video && !s.attached_pic)?;
    let vt = &tracks[video];
    if i64::from(vt.timescale) != streams[video].time_base.den || streams[video].time_base.num != 1
    {
        return None;
    }
    let keys = vt.keyframe_pts();
    if keys.is_empty() {
        return None;
    }
    let bytes = tracks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let scale = f64::from(t.timescale.max(1));
            let entries = t.pts.iter().zip(&t.sizes);
            ByteSeries::new(
                Some(i),
                entries
                    .map(|(p, s)| (*p as f64 / scale, u64::from(*s)))
                    .collect(),
            )
        })
        .collect();
    Some((keys, bytes))
}

/// Reads every packet (no decoding) for keyframe flags and sizes: the fallback.
fn packet_scan(src: &mut Source, video: usize) -> Result<(Vec<i64>, Vec<ByteSeries>, Option<i64>)> {
    let _ = src.seek(video, i64::MIN / 4);
    let n = src.streams().len();
    let mut series: Vec<Vec<(f64, u64)>> = vec![Vec::new(); n];
    let tbs: Vec<f64> = src.streams().iter().map(|s| s.time_base.as_f64()).collect();
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

/// Reads the first few boundary keyframes and checks they are IDR (closed GOP) for H.264/HEVC.
fn check_idr(src: &mut Source, vs: &StreamParams, keys: &[i64]) -> Option<bool> {
    if !matches!(vs.codec.as_str(), "h264" | "hevc") {
        return None;
    }
    let length_size = codecs::nal_length_size(&vs.codec, &vs.extradata);
    src.keep_only(&[vs.index]);
    let picks = [keys.first(), keys.get(keys.len() / 2)];
    let mut all = true;
    for &k in picks.iter().flatten() {
        if src.seek(vs.index, *k).is_err() {
            continue;
        }
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
    src.keep_only(&(0..src.streams().len()).collect::<Vec<_>>());
    Some(all)
}

/// Ticks of the video time base between the earliest start of any of `streams` and the first
/// keyframe: how much audio comes before the picture.
pub fn lead_ticks(info: &MediaInfo, streams: &[usize]) -> i64 {
    let vtb = info.keyframes.time_base;
    let origin = info.keyframes.pts[0];
    streams
        .iter()
        .filter_map(|&i| {
            let s = info.streams.get(i)?;
            Some(convert(s.start?, s.time_base, vtb))
        })
        .map(|start| origin - start)
        .max()
        .unwrap_or(0)
        .max(0)
}

/// The reorder delay `R` of the main video, in its time base: B-frame depth times the frame
/// duration, rounded up, plus one tick for containers that round timestamps (Matroska's 1 ms).
pub fn reorder_ticks(info: &MediaInfo) -> i64 {
    let Some(vs) = info.video_stream() else {
        return 0;
    };
    if vs.video_delay == 0 {
        return 0;
    }
    let fr = vs.frame_rate.unwrap_or(Rational::new(24, 1));
    let tb = vs.time_base;
    if fr.num <= 0 || tb.num <= 0 {
        return 0;
    }
    // delay * (1/fps) / tb = delay * fr.den * tb.den / (fr.num * tb.num), rounded up.
    let num = i128::from(vs.video_delay) * fr.den as i128 * tb.den as i128;
    let den = fr.num as i128 * tb.num as i128;
    ((num + den - 1) / den) as i64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_series_sums_any_time_range_from_unsorted_entries() {
        let s = ByteSeries::new(Some(0), vec![(2.0, 30), (0.0, 10), (1.0, 20), (3.0, 40)]);
        assert_eq!(s.bytes_between(0.0, 4.0), 100);
        assert_eq!(s.bytes_between(1.0, 3.0), 50);
        assert_eq!(s.bytes_between(1.5, 1.7), 0);
        assert_eq!(s.bytes_between(f64::MIN, 1.0), 10);
        assert_eq!(s.bytes_between(3.0, f64::MAX), 40);
        assert_eq!(s.bytes_between(3.0, 1.0), 0);
    }
}
