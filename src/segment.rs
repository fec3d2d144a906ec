//! Init and media segments: the bytes a player fetches.
//!
//! A [`Segmenter`] holds one open source and makes any segment of any rendition on request, in
//! any order. Each segment's bytes depend only on the file and the request (rendition, index):
//! its packets are found by seeking, and their timestamps come from the file's [`Timeline`]
//! and [`AudioGrid`], never from what was made before.

use std::path::Path;

use crate::error::{Error, Result};

use crate::ladder::{AudioTarget, RungCodec, VideoTarget, AAC_FRAME};
use crate::media::mux::{FragmentMuxer, TrackSpec};
use crate::media::transcode::{self, AAC_LOOKAHEAD_FRAMES, AAC_PREROLL_FRAMES};
use crate::media::{CodecParams, OpenMode, Packet, Source};
use crate::plan::{Method, Presentation, Rendition, SubtitleSource};
use crate::probe::MediaInfo;
use crate::rational::convert;
use crate::rational::Rational;
use crate::stream::{Kind, StreamParams};
use crate::subtitle::{self, Format as SubFormat};
use crate::timeline::AudioGrid;

pub use crate::hls::SegmentId;

/// How far before a segment's start audio reading begins, so that no frame of the segment is
/// missed when audio and video are interleaved loosely.
const AUDIO_PREROLL_SECS: f64 = 1.0;

/// How far before a segment subtitle packets are read: a cue that started earlier may still
/// be on screen.
const SUBTITLE_LOOKBACK_SECS: f64 = 10.0;

/// Samples decoded before the encoder's pre-roll, for decoders that converge (AAC, Opus).
const DECODE_PREROLL_SAMPLES: i64 = 4096;

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
            self.pres.check_segment(n)?;
        }
        match id {
            SegmentId::Init => self.init(&r),
            SegmentId::Media(n) => Ok(self.media(&r, n)?.1),
        }
    }

    fn init(&mut self, r: &Rendition) -> Result<Vec<u8>> {
        let s = &self.info.streams[r.stream];
        let m = match &r.method {
            Method::Copy => {
                let params = self.params(r.stream)?;
                FragmentMuxer::new(&self.copy_spec(r, &params), 1)?
            }
            Method::Video(t) => {
                let params =
                    transcode::video_parameters(&self.encoder, t, s.time_base, s.frame_rate)?;
                FragmentMuxer::new(
                    &video_spec(&params, s.time_base, t.codec == RungCodec::Hevc),
                    1,
                )?
            }
            Method::Aac(t) => {
                let params = transcode::aac_parameters(t)?;
                FragmentMuxer::new(&audio_spec(&params, t.sample_rate), 1)?
            }
            Method::Subtitles(_) => {
                return Err(Error::NoSuch(format!(
                "{} is a WebVTT rendition: it has no init segment, ask for its numbered segments",
                r.id
            )))
            }
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
            _ => video_spec(params, s.time_base, s.codec == "hevc"),
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

    /// WebVTT segment `n`: the cues that overlap it, in playlist time, with the timestamp map
    /// that ties playlist time 0 to the fMP4 presentation clock (shift `D`, at 90 kHz).
    fn subtitles(&mut self, n: usize, stream: usize, source: &SubtitleSource) -> Result<String> {
        let tl = &self.pres.timeline;
        let vtb = tl.time_base.as_f64();
        let origin = tl.origin() as f64 * vtb;
        let from = tl.start_secs(n);
        let to = from + tl.duration_secs(n);
        let cues: Vec<subtitle::Cue> = match source {
            SubtitleSource::Sidecar(k) => {
                let sc = self
                    .info
                    .sidecars
                    .get(*k)
                    .ok_or_else(|| Error::NoSuch(format!("no sidecar {k}")))?;
                let text = std::fs::read(&sc.path).map_err(|e| Error::Io {
                    context: format!("reading {}", sc.path.display()),
                    source: e,
                })?;
                // Sidecar times count from the start of the file's clock.
                subtitle::parse(sc.format, &String::from_utf8_lossy(&text))
                    .into_iter()
                    .map(|c| subtitle::Cue {
                        start: c.start - origin,
                        end: c.end - origin,
                        ..c
                    })
                    .collect()
            }
            SubtitleSource::Stream(format) => self.subtitle_packets(n, stream, *format)?,
        };
        let mpegts = (tl.shift as f64 * vtb * 90_000.0).round() as u64;
        Ok(subtitle::segment(&cues, from, to, mpegts))
    }

    /// Cues of a subtitle stream that may overlap segment `n`: its packets from
    /// [`SUBTITLE_LOOKBACK_SECS`] before the segment to its end.
    fn subtitle_packets(
        &mut self,
        n: usize,
        stream: usize,
        format: SubFormat,
    ) -> Result<Vec<subtitle::Cue>> {
        let tl = &self.pres.timeline;
        let (start, end) = tl.span(n).expect("checked");
        let vtb = tl.time_base.as_f64();
        let back = (SUBTITLE_LOOKBACK_SECS / vtb) as i64;
        let v = self.info.video.unwrap_or(0);
        if start - back <= tl.origin() || self.src.seek(v, start - back).is_err() {
            self.rewind();
        }
        let s = &self.info.streams[stream];
        let stb = s.time_base.as_f64();
        let origin = tl.origin() as f64 * vtb;
        // Subtitle packets are sparse: stop once the video is well past the segment.
        let stop = end + (2.0 / vtb) as i64;
        let mut cues = Vec::new();
        while let Some(p) = self.src.read()? {
            let Some(t) = p.time() else { continue };
            if p.stream == v && t > stop {
                break;
            }
            if p.stream != stream {
                continue;
            }
            let text = subtitle::packet_text(format, p.data());
            let start = t as f64 * stb - origin;
            let dur = if p.duration > 0 {
                p.duration as f64 * stb
            } else {
                5.0
            };
            if !text.is_empty() {
                cues.push(subtitle::Cue {
                    start,
                    end: start + dur,
                    text,
                });
            }
        }
        Ok(cues)
    }

    /// The packets of video segment `n` in decode order, from its keyframe to the next
    /// boundary's. Leading frames of an open GOP (shown before the keyframe, predicted from the
    /// previous GOP) can't decode in a segment of their own and are left out.
    fn video_packets(&mut self, stream: usize, n: usize) -> Result<Vec<Packet>> {
        let tl = &self.pres.timeline;
        let (start, end) = tl.span(n).expect("checked");
        let vs = &self.info.streams[stream];
        let tol = keyframe_tolerance(vs.time_base);
        self.src.seek(stream, start)?;
        let mut packets: Vec<Packet> = Vec::new();
        let is_last = n + 1 == tl.len();
        while let Some(p) = self.src.read()? {
            if p.stream != stream {
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
        Ok(packets)
    }

    fn video_copy(&mut self, r: &Rendition, n: usize) -> Result<(Vec<u8>, Vec<u8>)> {
        let mut packets = self.video_packets(r.stream, n)?;
        let tl = &self.pres.timeline;
        let pts: Vec<i64> = packets.iter().map(|p| p.time().unwrap_or(0)).collect();
        let timing = tl.video_timing(n, &pts);
        let s = &self.info.streams[r.stream];
        if self.own_fragments {
            // Written here without opening a muxer at all: the track timescale is the one the
            // muxer would pick, and a video init never waits for packets.
            let out_tb = crate::mp4::video_timescale(s.time_base);
            if let Some(samples) = as_is_samples(s, &packets, &timing, out_tb) {
                let data: Vec<&[u8]> = packets.iter().map(|p| p.data()).collect();
                let tfdt = convert(timing[0].dts, s.time_base, out_tb) as u64;
                let frag = crate::mp4::write_fragment(n as u32 + 1, 1, tfdt, &samples, &data);
                return Ok((Vec::new(), frag));
            }
        }
        let params = self.params(r.stream)?;
        let mut mux = FragmentMuxer::new(&self.copy_spec(r, &params), n as u32 + 1)?;
        for (p, t) in packets.iter_mut().zip(&timing) {
            mux.write(p, t.pts, t.dts, t.duration)?;
        }
        mux.finish()
    }

    fn video_transcode(
        &mut self,
        r: &Rendition,
        n: usize,
        target: VideoTarget,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let packets = self.video_packets(r.stream, n)?;
        let s = &self.info.streams[r.stream];
        let tl = &self.pres.timeline;
        let (start, _) = tl.span(n).expect("checked");
        let src_params = self.params(r.stream)?;
        let tol = keyframe_tolerance(s.time_base);
        let (params, mut out) = transcode::transcode_video(
            &src_params,
            &packets,
            start - tol,
            &transcode::EncodeSpec {
                encoder: &self.encoder,
                target: &target,
                time_base: s.time_base,
                frame_rate: s.frame_rate,
            },
            &|done, total| {
                if let Some(p) = &self.progress {
                    p(done, total);
                }
            },
        )?;
        if out.is_empty() {
            return Err(Error::Corrupt {
                path: self.info.path.clone(),
                reason: format!("segment {n}: no picture decoded"),
            });
        }
        // No B-frames: decode order is presentation order, and the file's timeline (with the
        // same reorder delay as the copied original) gives every variant the same tfdt.
        let pts: Vec<i64> = out.iter().map(|p| p.pts.unwrap_or(start)).collect();
        let timing = tl.video_timing(n, &pts);
        let mut mux = FragmentMuxer::new(
            &video_spec(&params, s.time_base, target.codec == RungCodec::Hevc),
            n as u32 + 1,
        )?;
        for (p, t) in out.iter_mut().zip(&timing) {
            mux.write(p, t.pts, t.dts, t.duration)?;
        }
        mux.finish()
    }

    fn audio_grid(&self, stream: usize) -> AudioGrid {
        let s = &self.info.streams[stream];
        AudioGrid::new(
            &self.pres.timeline,
            s.time_base,
            s.sample_rate,
            audio_frame_samples(s),
            s.start.unwrap_or(0),
        )
    }

    /// Reads the packets of an audio stream whose grid positions lie in `[from, to)`, seeking
    /// to a second before `from`.
    fn audio_run(&mut self, stream: usize, from: i64, to: i64) -> Result<AudioRun> {
        let tl = &self.pres.timeline;
        let s = &self.info.streams[stream];
        let grid = self.audio_grid(stream);
        let v = self.info.video.unwrap_or(0);
        let target =
            grid.video_ticks(tl, from) - (AUDIO_PREROLL_SECS / tl.time_base.as_f64()) as i64;
        if target <= tl.origin() {
            self.rewind();
        } else {
            // Seek on the audio stream itself where the container indexes every sample (MP4),
            // else on the video (Matroska Cues index video keyframes only). Decided by the
            // file, never by what libavformat has indexed so far: it adds entries as it reads,
            // so that would make the bytes depend on what this source made before.
            let own = self.info.keyframes.source == crate::probe::IndexSource::Mp4SampleTable;
            let ok = if own {
                self.src
                    .seek(stream, convert(target, tl.time_base, s.time_base))
            } else {
                self.src.seek(v, target)
            };
            if ok.is_err() {
                self.rewind();
            }
        }
        let mut run = AudioRun {
            frames: Vec::new(),
            next: None,
        };
        while let Some(p) = self.src.read()? {
            if p.stream != stream {
                continue;
            }
            let Some(t) = p.time() else { continue };
            let pos = grid.position(t);
            if pos < from.max(0) {
                continue;
            }
            if pos >= to {
                run.next = Some(pos);
                break;
            }
            // Two packets on one grid slot (a damaged stream): keep the first.
            if run.frames.last().is_some_and(|(last, _)| pos <= *last) {
                continue;
            }
            run.frames.push((pos, p));
        }
        Ok(run)
    }

    /// The error for an audio segment whose time range holds no packet (a truncated file).
    fn no_audio(&self, r: &Rendition, n: usize) -> Error {
        Error::Corrupt {
            path: self.info.path.clone(),
            reason: format!(
                "segment {n} of {}: no audio packets in this time range",
                r.id
            ),
        }
    }

    /// Duration in samples of an audio packet that has no successor.
    fn last_duration(&self, stream: usize, p: &Packet) -> i64 {
        let s = &self.info.streams[stream];
        match audio_frame_samples(s) {
            1 => convert(
                p.duration,
                s.time_base,
                Rational::new(1, i64::from(s.sample_rate.max(1))),
            )
            .max(1),
            f => i64::from(f),
        }
    }

    fn audio_copy(&mut self, r: &Rendition, n: usize) -> Result<(Vec<u8>, Vec<u8>)> {
        let tl = &self.pres.timeline;
        let grid = self.audio_grid(r.stream);
        let from = grid.segment_start(tl, n);
        let to = grid.segment_start(tl, n + 1);
        let mut run = self.audio_run(r.stream, from, to)?;
        if run.frames.is_empty() {
            return Err(self.no_audio(r, n));
        }
        let params = self.params(r.stream)?;
        let mut mux = FragmentMuxer::new(&self.copy_spec(r, &params), n as u32 + 1)?;
        let count = run.frames.len();
        for i in 0..count {
            let pos = run.frames[i].0;
            let dur = match run.frames.get(i + 1).map(|f| f.0).or(run.next) {
                Some(next) => next - pos,
                None => self.last_duration(r.stream, &run.frames[i].1),
            };
            mux.write(&mut run.frames[i].1, pos, pos, dur)?;
        }
        mux.finish()
    }

    /// The AAC frame index (on the grid of 1024-sample frames from output position 0) at which
    /// transcoded audio segment `n` starts: the first frame starting in the segment.
    fn aac_first_frame(&self, grid: &AudioGrid, n: usize) -> i64 {
        let tl = &self.pres.timeline;
        if n == 0 {
            // The file's first audio sample, to the nearest frame: the rendition starts
            // within half a frame of the source.
            (grid.anchor.max(0) + AAC_FRAME / 2).div_euclid(AAC_FRAME)
        } else {
            let s = grid.segment_start(tl, n);
            (s + AAC_FRAME - 1).div_euclid(AAC_FRAME)
        }
    }

    fn aac_transcode(
        &mut self,
        r: &Rendition,
        n: usize,
        target: AudioTarget,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let tl = &self.pres.timeline;
        let grid = self.audio_grid(r.stream);
        let last = n + 1 == tl.len();
        let j0 = self.aac_first_frame(&grid, n);
        let from = (j0 - AAC_PREROLL_FRAMES) * AAC_FRAME;
        let decode_from = from - DECODE_PREROLL_SAMPLES;
        let (j_end, run) = if last {
            let run = self.audio_run(r.stream, decode_from, i64::MAX)?;
            let end = run
                .frames
                .last()
                .map(|(pos, p)| pos + self.last_duration(r.stream, p))
                .unwrap_or(j0 * AAC_FRAME);
            // ...and ends within half a frame of the source's end.
            ((end + AAC_FRAME / 2).div_euclid(AAC_FRAME), run)
        } else {
            let j_end = self.aac_first_frame(&grid, n + 1);
            let run = self.audio_run(
                r.stream,
                decode_from,
                (j_end + AAC_LOOKAHEAD_FRAMES + 1) * AAC_FRAME,
            )?;
            (j_end, run)
        };
        if run.frames.is_empty() || j_end <= j0 {
            return Err(self.no_audio(r, n));
        }
        let src_params = self.params(r.stream)?;
        let packets: Vec<Packet> = run.frames.into_iter().map(|(_, p)| p).collect();
        let to = (j_end + AAC_LOOKAHEAD_FRAMES) * AAC_FRAME;
        let pcm = transcode::decode_audio(
            &src_params,
            &packets,
            &|t| grid.position(t),
            target.channels,
            from,
            to,
        )?;
        let (params, mut out) =
            transcode::encode_aac(&target, &pcm, j0 * AAC_FRAME, j_end * AAC_FRAME)?;
        let mut mux = FragmentMuxer::new(&audio_spec(&params, target.sample_rate), n as u32 + 1)?;
        for (pos, p) in out.iter_mut() {
            mux.write(p, *pos, *pos, AAC_FRAME)?;
        }
        mux.finish()
    }
}

fn audio_spec(params: &CodecParams, sample_rate: u32) -> TrackSpec<'_> {
    // Audio is timed in samples: timescale = sample rate.
    TrackSpec {
        params,
        time_base: Rational::new(1, i64::from(sample_rate.max(1))),
        tag: None,
    }
}

/// The samples of a copied video segment as the mp4 muxer would record them (timing rescaled
/// to its track's timescale, durations from consecutive decode times), when it would write
/// their bytes unchanged: H.264 or HEVC with an avcC/hvcC configuration (not Annex B, which it
/// rewrites), no empty packet, decode times rising, no PTS before its DTS. `None` otherwise.
fn as_is_samples(
    s: &StreamParams,
    packets: &[Packet],
    timing: &[crate::timeline::FrameTiming],
    out_tb: Rational,
) -> Option<Vec<crate::mp4::FragmentSample>> {
    let config_record = s.extradata.first() == Some(&1);
    if !matches!(s.codec.as_str(), "h264" | "hevc") || !config_record || packets.is_empty() {
        return None;
    }
    let conv = |v: i64| convert(v, s.time_base, out_tb);
    let dts: Vec<i64> = timing.iter().map(|t| conv(t.dts)).collect();
    let mut out = Vec::with_capacity(packets.len());
    for (i, (p, t)) in packets.iter().zip(timing).enumerate() {
        // The muxer: the next sample's DTS minus this one's; the last runs its own duration.
        let duration = match dts.get(i + 1) {
            Some(next) => next - dts[i],
            None => conv(t.dts + t.duration) - dts[i],
        };
        let cts = conv(t.pts) - dts[i];
        if p.data().is_empty() || duration < 0 || cts < 0 || dts[i] < 0 {
            return None;
        }
        out.push(crate::mp4::FragmentSample {
            duration: u32::try_from(duration).ok()?,
            size: u32::try_from(p.data().len()).ok()?,
            sync: p.keyframe,
            cts: u32::try_from(cts).ok()?,
        });
    }
    Some(out)
}

/// How a video track is muxed, copied or transcoded.
fn video_spec(params: &CodecParams, time_base: Rational, hevc: bool) -> TrackSpec<'_> {
    TrackSpec {
        params,
        time_base,
        // RFC 6381 / Apple: HEVC in fMP4 as hvc1 (parameter sets in the sample entry).
        tag: hevc.then_some(*b"hvc1"),
    }
}

/// How far a packet's PTS may sit from the index's keyframe time: 1 ms in the stream's ticks
/// (at least one), the coarsest rounding a container applies (Matroska). Not derived from the
/// frame rate, which only a full probe knows: segment bytes must not depend on the probe.
fn keyframe_tolerance(time_base: Rational) -> i64 {
    (0.001 / time_base.as_f64()).round().max(1.0) as i64
}

/// Samples per frame of a codec with a fixed frame size, from the codec itself (not from
/// FFmpeg's stream analysis, which only some processes run): the grid audio packets snap to.
/// 1 (no grid) for codecs whose frames vary (Opus, FLAC, Vorbis) or AAC with SBR.
pub fn audio_frame_samples(s: &crate::stream::StreamParams) -> u32 {
    match s.codec.as_str() {
        "aac" if crate::codecs::aac_object_type(&s.extradata).unwrap_or(2) == 2 => 1024,
        "ac3" | "eac3" => 1536,
        "mp3" | "mp2" => 1152,
        _ => 1,
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
