//! Init and media segments: the bytes a player fetches.
//!
//! A [`Segmenter`] holds one open source and makes any segment of any rendition on request, in
//! any order. Each segment's bytes depend only on the file and the request (rendition, index):
//! its packets are found by seeking, and their timestamps come from the file's
//! [`Timeline`](crate::timeline::Timeline) and [`AudioGrid`](crate::timeline::AudioGrid), never
//! from what was made before.
//!
//! One file a kind of track: `video` (copied and transcoded), `audio` (copied, and AAC on the
//! absolute frame grid), `subtitles` (WebVTT).

mod audio;
mod slate;
mod subtitles;
mod video;

use std::path::Path;

use crate::error::{Error, Result};

use crate::ladder::RungCodec;
use crate::media::mux::{FragmentMuxer, TrackSpec};
use crate::media::transcode;
use crate::media::{CodecParams, OpenMode, Packet, Source};
use crate::plan::{Method, Presentation, Rendition};
use crate::probe::MediaInfo;
use crate::rational::Rational;
use crate::stream::Kind;

pub use crate::hls::SegmentId;
pub use slate::slate;

/// How far before a segment's start audio reading begins, so that no frame of the segment is
/// missed when audio and video are interleaved loosely.
const AUDIO_PREROLL_SECS: f64 = 1.0;

/// How far before a segment subtitle packets are read: a cue that started earlier may still
/// be on screen.
const SUBTITLE_LOOKBACK_SECS: f64 = 10.0;

/// Samples decoded before the encoder's pre-roll, for decoders that converge (AAC, Opus).
const DECODE_PREROLL_SAMPLES: i64 = 4096;

/// The form of the segments this code makes: bumped whenever the same request (file,
/// rendition, segment, encoder) would come out as other bytes, so that URLs caches keep for good
/// change with them.
pub const FORMAT_VERSION: u32 = 3;

/// What decides the bytes of every segment made of one file, besides the request itself
/// (rendition and number): the file's probe ([`MediaInfo::digest`]), the video encoder, and
/// [`FORMAT_VERSION`]. On-demand URLs carry it as the video's version, and a channel's version
/// folds in its programmes' (their segments are these, moved onto the channel's clock); a
/// change to any of them changes every URL that names those bytes.
pub fn bytes_version(probe_digest: u64, encoder: &str) -> u64 {
    crate::digest::fnv1a(format!("{FORMAT_VERSION}:{encoder}:{probe_digest:016x}").as_bytes())
}

/// Makes segments of one file.
pub struct Segmenter<'a> {
    info: &'a MediaInfo,
    pres: &'a Presentation,
    src: Source,
    encoder: String,
    progress: Option<Progress>,
    /// Write copied video fragments ourselves ([`crate::mp4::write_fragment`]) where the muxer
    /// would copy the samples unchanged; off only to check the two ways agree.
    own_fragments: bool,
}

/// Told (frames made, frames in the segment) while a transcoded segment is made.
pub type Progress = std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Audio packets of one stream with their positions on the output sample clock.
struct AudioRun {
    frames: Vec<(i64, Packet)>,
    /// Position of the first packet past the run, if the file has one.
    next: Option<i64>,
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
        Segmenter {
            info,
            pres,
            src,
            encoder: crate::ladder::DEFAULT_VIDEO_ENCODER.into(),
            progress: None,
            own_fragments: true,
        }
    }

    /// Reports transcoding progress (a server's live jobs).
    pub fn with_progress(mut self, progress: Progress) -> Segmenter<'a> {
        self.progress = Some(progress);
        self
    }

    /// Gives the open source back, to make more segments of the same file later (a server
    /// keeps a few per file: opening and indexing is most of an uncached copy segment's time).
    pub fn into_source(self) -> Source {
        self.src
    }

    /// Uses this video encoder for transcoded renditions (libx264 by default). The encoder is
    /// part of the request: different encoders make different bytes.
    pub fn with_encoder(mut self, encoder: &str) -> Segmenter<'a> {
        self.encoder = encoder.into();
        self
    }

    /// Makes one segment of a rendition.
    pub fn make(&mut self, rendition: &str, id: SegmentId) -> Result<Vec<u8>> {
        let r = self.pres.rendition(rendition)?.clone();
        if let SegmentId::Media(n) = id {
            self.pres.check_segment_of(&r, n)?;
        }
        match id {
            SegmentId::Init => self.init(&r),
            SegmentId::Media(n) => Ok(self.media(&r, n)?.1),
        }
    }

    fn init(&mut self, r: &Rendition) -> Result<Vec<u8>> {
        let m = match &r.method {
            Method::Copy => {
                let params = self.params(r.stream)?;
                FragmentMuxer::new(&self.copy_spec(r, &params), 1)?
            }
            Method::Subtitles(_) => {
                return Err(Error::NoSuch(format!(
                "{} is a WebVTT rendition: it has no init segment, ask for its numbered segments",
                r.id
            )))
            }
            _ => return made_init(self.info, r, &self.encoder),
        };
        if let Some(init) = m.init_bytes() {
            return Ok(init.to_vec());
        }
        // Delayed-moov codecs: the init comes out with the first fragment.
        drop(m);
        Ok(self.media(r, 0)?.0)
    }

    fn params(&self, stream: usize) -> Result<CodecParams> {
        self.src
            .parameters(stream)
            .ok_or_else(|| Error::NoSuch(format!("no stream {stream}")))
    }

    /// How a copied stream is muxed: its codec parameters, time base and sample entry tag.
    fn copy_spec<'p>(&self, r: &Rendition, params: &'p CodecParams) -> TrackSpec<'p> {
        let s = &self.info.streams[r.stream];
        match s.kind {
            Kind::Audio => audio_spec(params, s.sample_rate),
            _ => TrackSpec {
                rotation: s.rotation,
                ..video_spec(params, s.time_base, s.codec == "hevc")
            },
        }
    }

    fn rewind(&mut self) {
        let v = self.info.video.unwrap_or(0);
        let _ = self.src.rewind(v, self.info.keyframes.pts[0]);
    }

    /// Makes media segment `n` of a rendition: (init bytes, fragment bytes). The init bytes
    /// matter only for codecs whose init is built from packets (AC-3, E-AC-3, TrueHD audio);
    /// a copied video fragment written without the muxer leaves them empty.
    fn media(&mut self, r: &Rendition, n: usize) -> Result<(Vec<u8>, Vec<u8>)> {
        match &r.method {
            Method::Copy if r.kind == Kind::Video => self.video_copy(r, n),
            Method::Copy => self.audio_copy(r, n),
            Method::Video(t) => self.video_transcode(r, n, *t),
            Method::Aac(t) => self.aac_transcode(r, n, *t),
            Method::Subtitles(source) => Ok((
                Vec::new(),
                self.subtitles(n, r.stream, source)?.into_bytes(),
            )),
        }
    }
}

/// The init segment of a transcoded rendition: made from its target alone (the encoder
/// opened as for its segments), never from the file, so it is the same whether or not the
/// file can be read.
fn made_init(info: &MediaInfo, r: &Rendition, encoder: &str) -> Result<Vec<u8>> {
    let s = &info.streams[r.stream];
    let m = match &r.method {
        Method::Video(t) => {
            let params = transcode::video_parameters(encoder, t, s.time_base, s.frame_rate)?;
            FragmentMuxer::new(
                &video_spec(&params, s.time_base, t.codec == RungCodec::Hevc),
                1,
            )?
        }
        Method::Aac(t) => {
            let params = transcode::aac_parameters(t)?;
            FragmentMuxer::new(&audio_spec(&params, t.sample_rate), 1)?
        }
        _ => {
            return Err(Error::BadRequest(format!(
                "{} is not transcoded: its init is the file's",
                r.id
            )))
        }
    };
    m.init_bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Error::Bug(format!("{}: a transcoded init waited for packets", r.id)))
}

fn audio_spec(params: &CodecParams, sample_rate: u32) -> TrackSpec<'_> {
    // Audio is timed in samples: timescale = sample rate.
    TrackSpec {
        params,
        time_base: Rational::new(1, i64::from(sample_rate.max(1))),
        tag: None,
        rotation: 0,
    }
}

/// How a video track is muxed, copied or transcoded.
fn video_spec(params: &CodecParams, time_base: Rational, hevc: bool) -> TrackSpec<'_> {
    TrackSpec {
        params,
        time_base,
        // RFC 6381 / Apple: HEVC in fMP4 as hvc1 (parameter sets in the sample entry).
        tag: hevc.then_some(*b"hvc1"),
        rotation: 0,
    }
}

/// Probes, plans and makes one segment: what `haema segment` does.
pub fn make_one(
    path: &Path,
    segment_secs: f64,
    rendition: Option<&str>,
    encoder: Option<&str>,
    id: SegmentId,
) -> Result<Vec<u8>> {
    let rungs = match encoder {
        Some(e) => transcode::encoder_codec(e)?,
        None => RungCodec::H264,
    };
    let (info, src) = crate::probe::probe_source(path, crate::probe::Depth::Segments)?;
    let pres = crate::plan::plan_for(&info, segment_secs, rungs)?;
    let r = rendition.unwrap_or(&pres.video().id).to_owned();
    let mut seg = Segmenter::with_source(&info, &pres, src);
    if let Some(e) = encoder {
        if matches!(pres.rendition(&r)?.method, Method::Video(_)) {
            crate::media::transcode::check_video_encoder(e)?;
        }
        seg = seg.with_encoder(e);
    }
    seg.make(&r, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each input of a segment's bytes changes the version that names them.
    #[test]
    fn the_bytes_version_changes_with_the_probe_and_the_encoder() {
        let base = bytes_version(1, "libx264");
        assert_ne!(base, bytes_version(2, "libx264"));
        assert_ne!(base, bytes_version(1, "h264_vaapi"));
        assert_eq!(base, bytes_version(1, "libx264"));
    }

    /// Copied video fragments written by [`crate::mp4::write_fragment`] are the mp4 muxer's
    /// bytes exactly, for every segment of every fixture (H.264 and HEVC, MKV and MP4).
    #[test]
    fn own_video_fragments_equal_the_muxers_byte_for_byte() {
        let files = crate::fixture_files(&["mkv", "mp4"]);
        assert!(
            files.len() >= 4,
            "fixtures missing: run fixtures/make-fixtures.sh"
        );
        for path in files {
            let info = crate::probe::probe_with(&path, crate::probe::Depth::Segments).unwrap();
            let pres = crate::plan::plan(&info, 4.0).unwrap();
            let mut ours = Segmenter::new(&info, &pres).unwrap();
            let mut muxer = Segmenter::new(&info, &pres).unwrap();
            muxer.own_fragments = false;
            let id = pres.video().id.clone();
            for n in 0..pres.timeline.len() {
                let a = ours.make(&id, SegmentId::Media(n)).unwrap();
                let b = muxer.make(&id, SegmentId::Media(n)).unwrap();
                assert!(a == b, "{path:?} segment {n}");
            }
        }
    }
}
