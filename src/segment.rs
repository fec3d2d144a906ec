//! Init and media segments: the bytes a player fetches.
//!
//! A [`Segmenter`] holds one open source and makes any segment of any rendition on request, in
//! any order. Each segment's bytes depend only on the file and the request (rendition, index):
//! its packets are found by seeking, and their timestamps come from the file's [`Timeline`]
//! and [`AudioGrid`], never from what was made before.

use std::path::Path;

use crate::error::{Error, Result};
use crate::media::mux::{FragmentMuxer, TrackSpec};
use crate::media::{Kind, OpenMode, Packet, Rational, Source};
use crate::plan::{Method, Presentation, Rendition};
use crate::probe::MediaInfo;
use crate::timeline::{convert, AudioGrid};

/// Which segment of a rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentId {
    /// The init segment (ftyp + moov).
    Init,
    /// Media segment N (moof + mdat), 0-based.
    Media(usize),
}

impl std::str::FromStr for SegmentId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "init" {
            return Ok(SegmentId::Init);
        }
        s.trim_end_matches(".m4s")
            .parse()
            .map(SegmentId::Media)
            .map_err(|_| {
                Error::BadRequest(format!(
                    "'{s}' is not a segment: give a number (0, 1, ...) or 'init'"
                ))
            })
    }
}

/// How far before a segment's start audio reading begins, so that no frame of the segment is
/// missed when audio and video are interleaved loosely.
const AUDIO_PREROLL_SECS: f64 = 1.0;

/// Makes segments of one file.
pub struct Segmenter<'a> {
    info: &'a MediaInfo,
    pres: &'a Presentation,
    src: Source,
}

impl<'a> Segmenter<'a> {
    /// Opens the file for segment making.
    pub fn new(info: &'a MediaInfo, pres: &'a Presentation) -> Result<Segmenter<'a>> {
        Ok(Self::with_source(
            info,
            pres,
            Source::open(&info.path, OpenMode::Header)?,
        ))
    }

    /// Makes segments from a source already open in [`OpenMode::Header`] (the one
    /// [`crate::probe::probe_source`] returns).
    pub fn with_source(info: &'a MediaInfo, pres: &'a Presentation, src: Source) -> Segmenter<'a> {
        Segmenter { info, pres, src }
    }

    /// Makes one segment of a rendition.
    pub fn make(&mut self, rendition: &str, id: SegmentId) -> Result<Vec<u8>> {
        let r = self.pres.rendition(rendition)?.clone();
        if let SegmentId::Media(n) = id {
            self.pres.check_segment(n)?;
        }
        let spec = self.track_spec(&r);
        match id {
            SegmentId::Init => {
                let m = FragmentMuxer::new(&spec.as_spec(&self.src, r.stream), 1)?;
                if let Some(init) = m.init_bytes() {
                    return Ok(init.to_vec());
                }
                // Delayed-moov codecs: the init comes out with the first fragment.
                drop(m);
                Ok(self.media(&r, 0, &spec)?.0)
            }
            SegmentId::Media(n) => Ok(self.media(&r, n, &spec)?.1),
        }
    }

    /// How a rendition is muxed: its time base and sample entry tag.
    fn track_spec(&self, r: &Rendition) -> OwnedSpec {
        let s = &self.info.streams[r.stream];
        OwnedSpec {
            // Audio is timed in samples (timescale = sample rate), video in its own ticks.
            time_base: match s.kind {
                Kind::Audio => Rational::new(1, i64::from(s.sample_rate.max(1))),
                _ => s.time_base,
            },
            // RFC 6381 / Apple: HEVC in fMP4 as hvc1 (parameter sets in the sample entry).
            tag: (s.codec == "hevc").then_some(*b"hvc1"),
        }
    }

    fn rewind(&mut self) {
        let v = self.info.video.unwrap_or(0);
        let _ = self.src.rewind(v, self.info.keyframes.pts[0]);
    }

    /// Makes media segment `n` of a rendition: (init bytes, fragment bytes).
    fn media(&mut self, r: &Rendition, n: usize, spec: &OwnedSpec) -> Result<(Vec<u8>, Vec<u8>)> {
        match (r.kind, &r.method) {
            (Kind::Video, Method::Copy) => self.video_copy(r, n, spec),
            (_, Method::Copy) => self.audio_copy(r, n, spec),
        }
    }

    fn video_copy(
        &mut self,
        r: &Rendition,
        n: usize,
        spec: &OwnedSpec,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let tl = &self.pres.timeline;
        let (start, end) = tl.span(n).expect("checked");
        let vs = &self.info.streams[r.stream];
        // How far a packet's PTS may sit from the index's keyframe time: 1 ms, the coarsest
        // rounding a container applies (Matroska). Not derived from the frame rate, which only
        // a full probe knows: segment bytes must not depend on how the file was probed.
        let tol = (0.001 / vs.time_base.as_f64()).round().max(1.0) as i64;
        self.src.seek(r.stream, start)?;
        let mut packets: Vec<Packet> = Vec::new();
        let is_last = n + 1 == tl.len();
        while let Some(p) = self.src.read()? {
            if p.stream != r.stream {
                continue;
            }
            let Some(t) = p.time() else { continue };
            if packets.is_empty() {
                // Skip what comes before this segment's keyframe (a seek may land earlier).
                if !(p.keyframe && t >= start - tol) {
                    continue;
                }
            } else if p.keyframe && !is_last && t >= end - tol {
                break;
            } else if t < start - tol {
                // A leading frame of an open GOP: shown before the keyframe, predicted from
                // the previous GOP, so it can't decode in a segment of its own. Dropped.
                continue;
            }
            packets.push(p);
        }
        if packets.is_empty() {
            return Err(Error::Corrupt {
                path: self.info.path.clone(),
                reason: format!("segment {n}: no video keyframe found at the index's position (truncated file?)"),
            });
        }
        let pts: Vec<i64> = packets.iter().map(|p| p.time().unwrap_or(start)).collect();
        let timing = tl.video_timing(n, &pts);
        let mut mux = FragmentMuxer::new(&spec.as_spec(&self.src, r.stream), n as u32 + 1)?;
        for (p, t) in packets.iter_mut().zip(&timing) {
            mux.write(p, t.pts, t.dts, t.duration)?;
        }
        mux.finish()
    }

    fn audio_copy(
        &mut self,
        r: &Rendition,
        n: usize,
        spec: &OwnedSpec,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let tl = &self.pres.timeline;
        let s = &self.info.streams[r.stream];
        let first = s.start.unwrap_or(0);
        let grid = AudioGrid::new(
            tl,
            s.time_base,
            s.sample_rate,
            audio_frame_samples(s),
            first,
        );
        let v = self.info.video.unwrap_or(0);
        if n == 0 {
            self.rewind();
        } else {
            let (start, _) = tl.span(n).expect("checked");
            let back = (AUDIO_PREROLL_SECS / tl.time_base.as_f64()) as i64;
            let target = start - back;
            // Seek on the audio stream itself where the container indexes every sample (MP4),
            // else on the video (Matroska Cues index video keyframes only). Decided by the
            // file, never by what libavformat has indexed so far: it adds entries as it reads,
            // so that would make the bytes depend on what this source made before.
            let own = self.info.keyframes.source == crate::probe::IndexSource::Mp4SampleTable;
            let ok = if own {
                self.src
                    .seek(r.stream, convert(target, tl.time_base, s.time_base))
            } else {
                self.src.seek(v, target)
            };
            if ok.is_err() {
                self.rewind();
            }
        }
        let mut frames: Vec<(i64, Packet)> = Vec::new();
        let mut next_pos: Option<i64> = None;
        while let Some(p) = self.src.read()? {
            if p.stream != r.stream {
                continue;
            }
            let Some(t) = p.time() else { continue };
            let pos = grid.position(t);
            if pos < 0 {
                continue;
            }
            let seg = grid.segment_of(tl, pos);
            if seg < n {
                continue;
            }
            if seg > n {
                next_pos = Some(pos);
                break;
            }
            // Two packets on one grid slot (a damaged stream): keep the first.
            if frames.last().is_some_and(|(last, _)| pos <= *last) {
                continue;
            }
            frames.push((pos, p));
        }
        if frames.is_empty() {
            return Err(Error::Corrupt {
                path: self.info.path.clone(),
                reason: format!(
                    "segment {n} of {}: no audio packets in this time range",
                    r.id
                ),
            });
        }
        let mut mux = FragmentMuxer::new(&spec.as_spec(&self.src, r.stream), n as u32 + 1)?;
        let count = frames.len();
        let last_fallback = |p: &Packet| -> i64 {
            let d = convert(
                p.duration,
                s.time_base,
                Rational::new(1, i64::from(s.sample_rate)),
            );
            if s.frame_size > 0 {
                i64::from(s.frame_size)
            } else {
                d.max(1)
            }
        };
        for i in 0..count {
            let pos = frames[i].0;
            let next = if i + 1 < count {
                Some(frames[i + 1].0)
            } else {
                next_pos
            };
            let dur = match next {
                Some(nx) => nx - pos,
                None => last_fallback(&frames[i].1),
            };
            mux.write(&mut frames[i].1, pos, pos, dur)?;
        }
        mux.finish()
    }
}

/// Samples per frame of a codec with a fixed frame size, from the codec itself (not from
/// FFmpeg's stream analysis, which only some processes run): the grid audio packets snap to.
/// 1 (no grid) for codecs whose frames vary (Opus, FLAC, Vorbis) or AAC with SBR.
pub fn audio_frame_samples(s: &crate::media::StreamParams) -> u32 {
    match s.codec.as_str() {
        "aac" if crate::codecs::aac_object_type(&s.extradata).unwrap_or(2) == 2 => 1024,
        "ac3" | "eac3" => 1536,
        "mp3" | "mp2" => 1152,
        _ => 1,
    }
}

/// The parts of a [`TrackSpec`] that don't borrow the source, so a spec can be rebuilt after
/// the source was used mutably.
struct OwnedSpec {
    time_base: Rational,
    tag: Option<[u8; 4]>,
}

impl OwnedSpec {
    fn as_spec<'s>(&self, src: &'s Source, stream: usize) -> TrackSpec<'s> {
        TrackSpec {
            source: src,
            stream,
            time_base: self.time_base,
            tag: self.tag,
        }
    }
}

/// Probes, plans and makes one segment: what `haema segment` does.
pub fn make_one(
    path: &Path,
    segment_secs: f64,
    rendition: Option<&str>,
    id: SegmentId,
) -> Result<Vec<u8>> {
    let (info, src) = crate::probe::probe_source(path, crate::probe::Depth::Segments)?;
    let pres = crate::plan::plan(&info, segment_secs)?;
    let r = rendition.unwrap_or("original");
    Segmenter::with_source(&info, &pres, src).make(r, id)
}
