//! One file to [`MediaInfo`]: containers, streams, the keyframe list and where it came from.
//!
//! Keyframes come from the container's own index, without reading media data: MP4 sample
//! tables (read by [`crate::mp4`], which also gives composition offsets, so the times are true
//! presentation times) and Matroska Cues (libavformat's index entries, loaded by a first seek).
//! A packet scan (flags only, no decoding) is the fallback for files without an index.

mod index;
mod sidecar;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::media::{OpenMode, Source};
use crate::rational::convert;
use crate::rational::Rational;
use crate::stream::{Kind, StreamParams};
use index::{check_idr, matroska_has_cues, mp4_index, packet_scan, presentation_times, read_head};
pub use sidecar::{find_sidecars, Sidecar};

/// Where the keyframe list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ByteSeries {
    /// The stream these bytes belong to; `None` when the index only knows muxed byte ranges
    /// (Matroska Cues: cluster positions cover every stream).
    pub stream: Option<usize>,
    times: Vec<f64>,
    // cumulative[i] = bytes of the entries before times[i]; one longer than `times`.
    cumulative: Vec<u64>,
}

/// 0, then the running totals of `sizes`: one longer than the input.
fn running_totals(sizes: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut total = 0;
    std::iter::once(0)
        .chain(sizes.into_iter().map(|s| {
            total += s;
            total
        }))
        .collect()
}

impl ByteSeries {
    /// A series from (presentation time in seconds, bytes) entries in any order.
    pub fn new(stream: Option<usize>, mut entries: Vec<(f64, u64)>) -> ByteSeries {
        entries.sort_by(|a, b| a.0.total_cmp(&b.0));
        ByteSeries {
            stream,
            cumulative: running_totals(entries.iter().map(|e| e.1)),
            times: entries.into_iter().map(|(t, _)| t).collect(),
        }
    }

    /// What `ByteSeries::new(stream, entries).per_interval(starts)` gives, summed in one pass
    /// without holding every entry (a long MP4's half a million samples).
    pub fn binned(
        stream: Option<usize>,
        entries: impl IntoIterator<Item = (f64, u64)>,
        starts: &[f64],
    ) -> ByteSeries {
        if starts.is_empty() {
            return ByteSeries::new(stream, entries.into_iter().collect());
        }
        let mut sums = vec![0u64; starts.len()];
        // The interval of the last start at or before t (the first takes what comes before).
        // Entries come nearly in time order, so the interval moves a step at a time.
        let mut i = 0;
        for (t, bytes) in entries {
            while i + 1 < starts.len() && starts[i + 1] <= t {
                i += 1;
            }
            while i > 0 && starts[i] > t {
                i -= 1;
            }
            sums[i] += bytes;
        }
        ByteSeries {
            stream,
            times: starts.to_vec(),
            cumulative: running_totals(sums),
        }
    }

    /// The same bytes summed per interval between consecutive `starts` (sorted; the first
    /// interval also takes what comes before, the last what comes after). Segments start on
    /// keyframes, so per-GOP sums answer every segment's bytes exactly, in a few thousand
    /// entries where a long MP4 has half a million samples.
    pub fn per_interval(&self, starts: &[f64]) -> ByteSeries {
        if starts.is_empty() {
            return self.clone();
        }
        let sums = starts.iter().enumerate().map(|(i, &t)| {
            let to = starts.get(i + 1).copied().unwrap_or(f64::MAX);
            let from = if i == 0 { f64::MIN } else { t };
            self.bytes_between(from, to)
        });
        ByteSeries {
            stream: self.stream,
            times: starts.to_vec(),
            cumulative: running_totals(sums),
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    pub keyframes: KeyframeIndex,
    /// Presentation end of the video, in the keyframe time base.
    pub end_pts: i64,
    /// Reorder delay `R` of the video (keyframe time base): how far decode times run behind
    /// presentation times with B-frames.
    pub reorder: i64,
    /// Whether the keyframes checked are IDR frames (closed GOPs): segments cut there decode on
    /// their own. `None` when the codec has no such notion (every keyframe is a random access
    /// point).
    pub idr_keyframes: Option<bool>,
    /// Where the first segment starts decoding when the presentation starts mid-GOP (an MP4
    /// edit list that hides the pictures before it): the keyframe before the first boundary,
    /// in the video's time base. `None` when the first boundary is a keyframe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_from: Option<i64>,
    /// Byte counts per GOP (keyframe to keyframe), from the index or the scan.
    pub bytes: Vec<ByteSeries>,
    /// Subtitle files lying beside the video (`Film.en.srt`, `Film.fr.forced.ass`, `Film.vtt`).
    pub sidecars: Vec<Sidecar>,
}

impl MediaInfo {
    /// The main video stream's parameters.
    pub fn video_stream(&self) -> Option<&StreamParams> {
        self.video.and_then(|i| self.stream(i))
    }

    /// The parameters of the stream with this index (a rendition's `stream`; streams are
    /// kept in index order).
    pub fn stream(&self, index: usize) -> Option<&StreamParams> {
        self.streams.get(index)
    }

    /// Keyframe times in seconds, for output.
    pub fn keyframe_secs(&self) -> Vec<f64> {
        let tb = self.keyframes.time_base.as_f64();
        self.keyframes.pts.iter().map(|p| *p as f64 * tb).collect()
    }

    /// A digest of what the probe read from the file (size, streams, keyframes, byte counts,
    /// the sidecars' names), leaving out where the file is and how long the probe took: the same file gives the same
    /// digest on every machine and mount point, and a file replaced by another encode gives
    /// another. Segment URLs carry it, so caches never mix an old file's bytes with a new one's.
    pub fn digest(&self) -> u64 {
        let mut local = self.clone();
        local.path = PathBuf::new();
        // How long reading the index took is not what the file holds.
        local.keyframes.elapsed_ms = 0.0;
        for s in &mut local.sidecars {
            s.path = s.path.file_name().map(PathBuf::from).unwrap_or_default();
        }
        crate::digest::fnv1a(&serde_json::to_vec(&local).unwrap_or_default())
    }

    /// This probe (as the library keeps it) for the file now at `path`: the file and its
    /// sidecars are where the library is mounted here, whatever machine probed it.
    pub fn relocated(mut self, path: &Path) -> MediaInfo {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for s in &mut self.sidecars {
            if let Some(name) = s.path.file_name() {
                s.path = dir.join(name);
            }
        }
        self.path = path.to_path_buf();
        self
    }
}

/// The stream Haema streams as the video: the first real video track (not cover art, and with
/// a picture size).
fn main_video(streams: &[StreamParams]) -> Option<usize> {
    streams
        .iter()
        .find(|s| s.kind == Kind::Video && !s.attached_pic && s.width > 0)
        .map(|s| s.index)
}

/// How much [`probe_with`] finds out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// What segment making needs: streams as the container header declares them, keyframes,
    /// the timeline constants. No decoding, no byte counts.
    Segments,
    /// What playlists need besides: per-segment byte counts for bandwidths.
    Playlists,
    /// Everything: also profile, level, pixel format and bit depth, which FFmpeg's stream
    /// analysis decodes a few frames to find (a second open of the file).
    Full,
}

/// Probes a file fully: what `probe` and `playlist` show.
pub fn probe(path: &Path) -> Result<MediaInfo> {
    probe_with(path, Depth::Full)
}

/// Probes a file at the given depth.
///
/// Everything that decides segment bytes (streams, keyframes, start times, reorder delay, end)
/// comes from the container header and the first packets, the same way at every depth, so a
/// segment made after a quick probe equals one made after a full probe.
pub fn probe_with(path: &Path, depth: Depth) -> Result<MediaInfo> {
    probe_source(path, depth).map(|(info, _)| info)
}

/// Probes a file and hands back the open source too (opened as segment making opens it), so
/// that a one-shot `haema segment` opens the file once: for a long MP4, libavformat's reading
/// of the sample tables is most of the work.
pub fn probe_source(path: &Path, depth: Depth) -> Result<(MediaInfo, Source)> {
    let mut src = Source::open(path, OpenMode::Header)?;
    let mut streams = src.streams();
    let video = main_video(&streams);
    let container = src.format_name();
    let size = src.file_size();
    let Some(v) = video else {
        return Err(Error::Unsupported {
            path: path.to_owned(),
            reason: "no video stream: Haema streams files with a video track (audio-only files are not supported yet)".into(),
        });
    };
    let vtb = streams[v].time_base;
    let head = read_head(&mut src, v)?;
    for s in streams.iter_mut() {
        s.start = head.first_pts[s.index];
        s.measured_bit_rate = head.rates[s.index];
    }
    let started = Instant::now();
    let full = depth != Depth::Segments;

    let mut found: Option<(IndexSource, Vec<i64>, Vec<ByteSeries>)> = None;
    if container.contains("mp4") {
        found =
            mp4_index(&src, &streams, v, full).map(|(k, b)| (IndexSource::Mp4SampleTable, k, b));
    }
    // Matroska without Cues: libavformat's index holds only the keyframes it happened to read.
    let mkv_without_cues = container.contains("matroska") && !matroska_has_cues(path);
    // MPEG-TS and MPEG-PS have no index at all: what libavformat holds are the packets it read
    // while probing the head and the tail for the duration (a keyframe list with the middle
    // missing).
    let no_index = matches!(container.as_str(), "mpegts" | "mpeg" | "mpegvideo");
    if found.is_none() && !mkv_without_cues && !no_index {
        src.load_index(v);
        let entries = src.index_entries(v);
        let key_entries: Vec<_> = entries.iter().filter(|e| e.keyframe).collect();
        // A lone entry is what a demuxer adds for the first packet it read, not an index (and a
        // file with one keyframe is scanned in no time).
        if key_entries.len() >= 2 {
            let kind = if container.contains("matroska") {
                IndexSource::MatroskaCues
            } else {
                IndexSource::ContainerIndex
            };
            // Byte spans between consecutive keyframe positions: every stream's data.
            let tb = vtb.as_f64();
            let spans = key_entries.iter().enumerate().map(|(i, e)| {
                let next = key_entries.get(i + 1).map_or(size as i64, |n| n.pos);
                (e.timestamp as f64 * tb, (next - e.pos).max(0) as u64)
            });
            let mut keys: Vec<i64> = key_entries.iter().map(|e| e.timestamp).collect();
            // libavformat's mov demuxer indexes a fragmented MP4's samples by decode time
            // (ISO/IEC 14496-12 8.8.8 trun: the composition offset is per sample, beside it),
            // and an AVI's idx1 counts chunks in decode order: where frames are reordered,
            // each keyframe is shown later than it is indexed.
            let by_decode_time = container.contains("mp4") || container == "avi";
            if by_decode_time && head.reorder > 0 {
                keys = presentation_times(&mut src, v, &keys)?;
            }
            let spans: Vec<_> = spans.collect();
            found = Some((kind, keys, vec![ByteSeries::new(None, spans)]));
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
    // An MP4 edit list that starts mid-GOP (a trim without re-encoding, ISO/IEC 14496-12
    // 8.6.6): the pictures before the edit are decoded, never shown. The presentation starts at
    // the edit, which becomes the first boundary; the keyframe before it is where decoding
    // starts.
    let mut hidden_from = None;
    if let Some(t) = src.mp4_track(v).filter(|t| t.simple_edits) {
        let start = t.start;
        if keys[0] < start {
            hidden_from = keys.iter().rev().find(|&&k| k <= start).copied();
            keys.retain(|&k| k > start);
            keys.insert(0, start);
        }
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if keys.is_empty() {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            reason: "no video keyframe found".into(),
        });
    }

    let vs = &streams[v];
    // The stream's duration runs from where it is presented: its first packet, or the edit
    // when the pictures before it are hidden.
    let presented_from = if hidden_from.is_some() {
        Some(keys[0])
    } else {
        vs.start
    };
    let end_pts = scan_end
        .or_else(|| vs.duration.map(|d| presented_from.unwrap_or(0) + d))
        .or_else(|| {
            let d = src.duration()?;
            let s = src.start_time().unwrap_or(0.0);
            Some(((s + d) / vtb.as_f64()).round() as i64)
        })
        .unwrap_or(keys[keys.len() - 1] + 1);
    let end_pts = end_pts.max(keys[keys.len() - 1] + 1);
    let duration = (end_pts - keys[0]) as f64 * vtb.as_f64();
    let mut bit_rate = src.bit_rate();
    // At every depth: whether the keyframes are IDR decides which renditions exist (an H.264
    // original with open GOPs gets a source-size rung), and two packet reads are cheap.
    let idr_keyframes = check_idr(&mut src, vs, &keys);
    if depth == Depth::Full {
        // FFmpeg's stream analysis decodes a few frames for profile, level, pixel format...:
        // shown to people, never used for bytes.
        let analysed = Source::open(path, OpenMode::Analysed)?;
        for (s, a) in streams.iter_mut().zip(analysed.streams()) {
            s.profile = a.profile;
            s.level = a.level;
            s.pixel_format = a.pixel_format;
            s.bit_depth = a.bit_depth;
            s.channel_layout = a.channel_layout.or(s.channel_layout.take());
            s.frame_rate = s.frame_rate.or(a.frame_rate);
            s.bit_rate = s.bit_rate.max(a.bit_rate);
        }
        bit_rate = bit_rate.max(analysed.bit_rate());
    }

    // Per-GOP sums: every segment's bytes, in a few thousand entries.
    let starts: Vec<f64> = keys.iter().map(|k| *k as f64 * vtb.as_f64()).collect();
    let bytes: Vec<ByteSeries> = bytes.iter().map(|b| b.per_interval(&starts)).collect();
    let info = MediaInfo {
        path: path.to_owned(),
        size,
        container,
        duration,
        bit_rate,
        streams,
        video,
        keyframes: KeyframeIndex {
            source,
            time_base: vtb,
            pts: keys,
            elapsed_ms,
        },
        end_pts,
        reorder: head.reorder,
        idr_keyframes,
        hidden_from,
        bytes: if full { bytes } else { Vec::new() },
        sidecars: find_sidecars(path),
    };
    Ok((info, src))
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

    #[test]
    fn per_gop_sums_keep_every_keyframe_aligned_range_exact() {
        let s = ByteSeries::new(
            Some(0),
            (0..100).map(|i| (f64::from(i) * 0.1 - 1.0, 1)).collect(),
        );
        let g = s.per_interval(&[0.0, 2.0, 5.0]);
        let entries = [
            (0.5, 1),
            (-1.0, 2),
            (2.0, 4),
            (4.9, 8),
            (5.0, 16),
            (9.0, 32),
        ];
        let direct = ByteSeries::binned(Some(0), entries, &[0.0, 2.0, 5.0]);
        let via = ByteSeries::new(Some(0), entries.to_vec()).per_interval(&[0.0, 2.0, 5.0]);
        assert_eq!(direct.bytes_between(f64::MIN, f64::MAX), 63);
        for (a, b) in [(0.0, 2.0), (2.0, 5.0), (5.0, 9.0), (-5.0, 0.1)] {
            assert_eq!(direct.bytes_between(a, b), via.bytes_between(a, b));
        }
        assert_eq!(
            g.bytes_between(f64::MIN, 2.0),
            s.bytes_between(f64::MIN, 2.0)
        );
        assert_eq!(g.bytes_between(2.0, 5.0), s.bytes_between(2.0, 5.0));
        assert_eq!(
            g.bytes_between(5.0, f64::MAX),
            s.bytes_between(5.0, f64::MAX)
        );
        assert_eq!(g.bytes_between(f64::MIN, f64::MAX), 100);
    }
}
