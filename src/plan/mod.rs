//! Which renditions a file gets and how each is made: the [`Presentation`].
//!
//! Pure: built from [`MediaInfo`] (plain data) and options; no FFmpeg calls. The segment makers
//! and the playlist writer both read the same presentation, so they can't disagree. The
//! renditions themselves are built in `renditions`: which streams get which, named how, at
//! which bit rates.

mod renditions;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ladder::{AudioTarget, RungCodec, VideoTarget};
use crate::probe::{lead_ticks, MediaInfo};
use crate::stream::{Kind, VideoRange};
use crate::subtitle::Format as SubFormat;
use crate::timeline::Timeline;
use renditions::{
    audio_renditions, burn_ins, burned_renditions, forced_burn, rung_rendition,
    subtitle_renditions, video_renditions, Bitrates, Streams,
};

/// Default target segment duration, seconds.
pub const DEFAULT_SEGMENT_SECS: f64 = 4.0;

/// The sample rate of a rung channel's sound, whatever each programme's: 48 kHz, broadcast's
/// (a 44.1 kHz film is resampled to it).
pub const CHANNEL_SAMPLE_RATE: u32 = 48_000;

/// How a rendition's segments are made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Packets copied as they are (stream copy), retimed on the file's timeline.
    Copy,
    /// Decoded and encoded to H.264 or HEVC at a ladder rung, one segment at a time.
    Video(VideoTarget),
    /// Decoded and encoded to AAC-LC, one segment at a time.
    Aac(AudioTarget),
    /// Text subtitles as WebVTT segments.
    Subtitles(SubtitleSource),
}

impl Method {
    /// Whether segments are decoded and encoded again (a video rung or AAC): the costly kind,
    /// which takes a transcode slot.
    pub fn is_transcode(&self) -> bool {
        matches!(self, Method::Video(_) | Method::Aac(_))
    }

    /// A short description for people: "copy", "h264 1280x720 <= 3500 kb/s", "aac 2 ch 128 kb/s".
    pub fn describe(&self) -> String {
        match self {
            Method::Copy => "copy".into(),
            Method::Video(t) => format!(
                "{} {}x{} <= {} kb/s",
                t.codec.prefix(),
                t.width,
                t.height,
                t.max_bitrate / 1000
            ),
            Method::Aac(t) => format!("aac {} ch {} kb/s", t.channels, t.bitrate / 1000),
            Method::Subtitles(SubtitleSource::Stream(f)) => {
                format!("webvtt from {f:?} stream").to_lowercase()
            }
            Method::Subtitles(SubtitleSource::Sidecar(_)) => "webvtt from sidecar file".into(),
        }
    }
}

/// Where a subtitle rendition's cues come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubtitleSource {
    /// A text subtitle stream of the file (its index is the rendition's `stream`).
    Stream(SubFormat),
    /// A sidecar file: index into [`MediaInfo::sidecars`].
    Sidecar(usize),
}

/// One rendition: a folder of the HLS tree with its own playlist, init and segments.
#[derive(Debug, Clone, Serialize)]
pub struct Rendition {
    /// Folder name and request name: `original`, `audio-1-eng`.
    pub id: String,
    /// Video or audio.
    pub kind: Kind,
    /// The source stream.
    pub stream: usize,
    /// How its segments are made.
    pub method: Method,
    /// RFC 6381 codec string.
    pub codecs: String,
    /// ISO 639 language ("und" when the file doesn't say).
    pub language: String,
    /// Human name for players' menus.
    pub name: String,
    /// Audio channel count.
    pub channels: u32,
    /// The default rendition of its kind.
    pub default: bool,
    /// Audio group (one per codec family), for audio.
    pub group: Option<String>,
    /// Forced subtitles (shown even when subtitles are off: foreign dialogue, signs).
    pub forced: bool,
    /// Peak bits per second over the segments.
    pub peak_bps: u64,
    /// Average bits per second.
    pub average_bps: u64,
    /// A video rung with this bitmap subtitle stream drawn into its pictures (burned in):
    /// offered in the stream's own master ([`Presentation::burned`]), not beside the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burn: Option<usize>,
    /// A transcoded rung cut on [`Presentation::rung_timeline`]: between the source's
    /// keyframes too, where its GOPs are long.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rung_cuts: bool,
}

/// A bitmap subtitle track (PGS, VobSub, DVB) offered burned in: HLS carries only text
/// subtitles, so choosing one means playing rungs with it drawn in.
#[derive(Debug, Clone, Serialize)]
pub struct BurnIn {
    /// The subtitle stream.
    pub stream: usize,
    /// Human name for menus ("English (PGS)").
    pub name: String,
    /// Language, as the rendition's LANGUAGE ("und" when the file doesn't say).
    pub language: String,
    /// Forced subtitles (foreign dialogue, signs).
    pub forced: bool,
}

/// A stream Haema can't offer yet, and why (shown by `probe`).
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The source stream.
    pub stream: usize,
    /// Why it isn't offered.
    pub reason: String,
}

/// Everything needed to write playlists and make segments for one file.
#[derive(Debug, Clone, Serialize)]
pub struct Presentation {
    /// Segment boundaries and timing rules: the source's keyframes, on which the copy, the
    /// audio, the subtitles and a channel's segments are cut.
    pub timeline: Timeline,
    /// The on-demand rungs' finer timeline where the source's GOPs are long
    /// ([`Timeline::finer`]); `None` where it would be the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rung_timeline: Option<Timeline>,
    /// Video first, then audio in stream order.
    pub renditions: Vec<Rendition>,
    /// Streams left out.
    pub skipped: Vec<Skipped>,
    /// Whether every video segment starts with an IDR frame.
    pub independent: bool,
    /// The presentation starts mid-GOP (an MP4 edit list hides the pictures before it): the
    /// copy's first segment holds pictures that are decoded but not to be shown, which fMP4
    /// for HLS can't hide (players ignore an init's edit list), so the copy is not offered.
    pub hidden_start: bool,
    /// Resolution of the video as shown (turned by its display matrix, square pixels): the
    /// copy's RESOLUTION in the master.
    pub width: u32,
    /// See [`Presentation::width`].
    pub height: u32,
    /// Frame rate of the video, frames/s.
    pub frame_rate: Option<f64>,
    /// The dynamic range of the original: the copy's. Rungs are SDR.
    pub video_range: VideoRange,
    /// Bitmap subtitle tracks, each with its own rungs ([`Rendition::burn`]).
    pub burn_ins: Vec<BurnIn>,
    /// A forced bitmap subtitle track in the default audio's language (foreign dialogue and
    /// signs its viewers need): the master offers its burned rungs as the video, as Jellyfin and
    /// Plex burn forced subtitles in by default.
    pub forced_burn: Option<usize>,
}

impl Presentation {
    /// The id of the video's rung at `height` in `codec`, added when the ladder has none
    /// there (a channel plays every programme at one size, above or at a file's own). A rung
    /// the ladder has is used as it is, so its segments are the on-demand ones, byte for byte.
    pub fn with_rung(&mut self, info: &MediaInfo, codec: RungCodec, height: u32) -> Result<String> {
        let vs = info.video_stream().ok_or_else(|| Error::Unsupported {
            path: info.path.clone(),
            reason: "no video stream".into(),
        })?;
        let r = rung_rendition(vs, codec, crate::ladder::rung_at(vs, codec, height));
        let id = self.added_once(r);
        self.with_keyframe_cuts(&id)
    }

    /// The id of rendition `id` cut at the keyframes, as a channel's segments are (video and
    /// audio alike): `id` itself, or where it is a rung cut finer on demand
    /// ([`Rendition::rung_cuts`]), a rendition of its own added beside it
    /// (`h264-720p-keyframes`).
    pub fn with_keyframe_cuts(&mut self, id: &str) -> Result<String> {
        let r = self.rendition(id)?;
        if !r.rung_cuts {
            return Ok(id.to_owned());
        }
        let twin = Rendition {
            id: format!("{id}-keyframes"),
            rung_cuts: false,
            ..r.clone()
        };
        Ok(self.added_once(twin))
    }

    /// The id of an AAC-LC stereo rendition at [`CHANNEL_SAMPLE_RATE`] of the audio of
    /// rendition `of`: `of` itself where it is one, else one added that mixes its stream to
    /// stereo and resamples it. A rung channel airs one AAC configuration whatever each
    /// programme's sound: players and tuners that keep the first init can't be told
    /// mid-stream that the layout or the rate changed.
    pub fn with_stereo_aac(&mut self, info: &MediaInfo, of: &str) -> Result<String> {
        let r = self.rendition(of)?;
        let (stream, name) = (r.stream, r.name.clone());
        let s = info
            .stream(stream)
            .ok_or_else(|| Error::NoSuch(format!("audio stream {stream} of rendition '{of}'")))?;
        let rate = match &r.method {
            Method::Aac(t) => t.sample_rate,
            _ => s.sample_rate,
        };
        if r.codecs == "mp4a.40.2" && r.channels == 2 && rate == CHANNEL_SAMPLE_RATE {
            return Ok(of.to_owned());
        }
        Ok(self.added_once(renditions::aac_rendition(
            s,
            name,
            false,
            2,
            CHANNEL_SAMPLE_RATE,
        )))
    }

    /// The id of `r`, added (not as a default) unless the plan has a rendition of that id:
    /// what a channel adds to a file's on-demand plan, whose own renditions stay as they are.
    fn added_once(&mut self, r: Rendition) -> String {
        let id = r.id.clone();
        if self.rendition(&id).is_err() {
            self.renditions.push(Rendition {
                default: false,
                ..r
            });
        }
        id
    }

    /// The rendition with this id.
    pub fn rendition(&self, id: &str) -> Result<&Rendition> {
        self.renditions.iter().find(|r| r.id == id).ok_or_else(|| {
            let known: Vec<&str> = self.renditions.iter().map(|r| r.id.as_str()).collect();
            Error::NoSuch(format!(
                "unknown rendition '{id}' (this file has: {})",
                known.join(", ")
            ))
        })
    }

    /// The first video rendition: the original where it is copied, else the first rung.
    pub fn video(&self) -> &Rendition {
        self.videos()
            .next()
            .expect("a presentation has a video rendition")
    }

    /// Video renditions: the original first, then the H.264 rungs from the largest. Not the
    /// rungs with subtitles burned in ([`Presentation::burned`]).
    pub fn videos(&self) -> impl Iterator<Item = &Rendition> {
        self.renditions
            .iter()
            .filter(|r| r.kind == Kind::Video && r.burn.is_none())
    }

    /// The rungs with bitmap subtitle stream `stream` burned in, from the largest: the video
    /// variants of that track's master.
    pub fn burned(&self, stream: usize) -> impl Iterator<Item = &Rendition> {
        self.renditions
            .iter()
            .filter(move |r| r.kind == Kind::Video && r.burn == Some(stream))
    }

    /// The bitmap subtitle track of `stream`, if it is offered burned in.
    pub fn burn_in(&self, stream: usize) -> Result<&BurnIn> {
        self.burn_ins
            .iter()
            .find(|b| b.stream == stream)
            .ok_or_else(|| {
                Error::NoSuch(format!(
                    "stream {stream} is not a bitmap subtitle track of this file"
                ))
            })
    }

    /// The video renditions a master playlist offers: all but an H.264 original with open
    /// GOPs. Such a copy is cut in decode order, so every frame is in it once, but after a
    /// seek a segment starts with the leading frames of its keyframe, which lean on the GOP
    /// before: Chromium's decoder (FFmpeg's h264, no default reference after a flush) fails on
    /// them and ends playback, and dropping them instead leaves a frame_num gap it fails on
    /// just the same. H.264 has nothing like HEVC's RASL rule that lets a decoder skip them.
    /// So players get the source-size rung (IDR at every boundary) in its place; the copy
    /// stays at its own media playlist for clients that play it from the start. The same
    /// goes for a copy whose presentation starts mid-GOP ([`Presentation::hidden_start`]).
    /// Where forced bitmap subtitles must be drawn ([`Presentation::forced_burn`]), the rungs
    /// with them drawn in are offered instead of all of these: no copy can show them.
    pub fn offered_videos(&self) -> impl Iterator<Item = &Rendition> {
        let drop_copy = (!self.independent && self.video_codec_is("avc1")) || self.hidden_start;
        let forced = self.forced_burn;
        self.renditions.iter().filter(move |r| {
            r.kind == Kind::Video
                && match forced {
                    Some(f) => r.burn == Some(f),
                    None => r.burn.is_none() && (!drop_copy || r.method.is_transcode()),
                }
        })
    }

    /// Whether the original's CODECS string starts with `prefix` (`avc1`, `hvc1`...).
    fn video_codec_is(&self, prefix: &str) -> bool {
        self.video().codecs.starts_with(prefix)
    }

    /// Audio renditions.
    pub fn audio(&self) -> impl Iterator<Item = &Rendition> {
        self.renditions.iter().filter(|r| r.kind == Kind::Audio)
    }

    /// Subtitle renditions (WebVTT).
    pub fn subtitles(&self) -> impl Iterator<Item = &Rendition> {
        self.renditions.iter().filter(|r| r.kind == Kind::Subtitle)
    }

    /// The timeline rendition `r` is cut on.
    pub fn timeline_of(&self, r: &Rendition) -> &Timeline {
        match (&self.rung_timeline, r.rung_cuts) {
            (Some(t), true) => t,
            _ => &self.timeline,
        }
    }

    /// Checks a segment number against the keyframe timeline.
    pub fn check_segment(&self, n: usize) -> Result<()> {
        check_in(&self.timeline, n)
    }

    /// Checks a segment number against the timeline of rendition `r`.
    pub fn check_segment_of(&self, r: &Rendition, n: usize) -> Result<()> {
        check_in(self.timeline_of(r), n)
    }
}

fn check_in(tl: &Timeline, n: usize) -> Result<()> {
    if n < tl.len() {
        Ok(())
    } else {
        Err(Error::NoSuch(format!(
            "segment {n} is past the end (this rendition has segments 0 to {})",
            tl.len() - 1
        )))
    }
}

/// How much longer than the target a rung's segment may be before it is cut between
/// keyframes ([`Timeline::finer`]): a 4-s target cuts segments over 6 s.
const RUNG_LONGEST: f64 = 1.5;

/// Order of groups in the master playlist: the most widely playable first. No MP3 group: an
/// MP3 track always has an AAC rendition beside it, which every player plays, while MP3 in
/// fMP4 stalls video.js (VHS) before its first frame whichever variant it starts with; the
/// copied MP3 stays at its own media playlist.
const GROUP_ORDER: [&str; 5] = ["aac", "opus", "flac", "ac3", "eac3"];

/// Plans a file's presentation with H.264 rungs (see [`plan_for`]).
pub fn plan(info: &MediaInfo, segment_secs: f64) -> Result<Presentation> {
    plan_for(info, segment_secs, RungCodec::H264)
}

/// Plans a file's presentation: one copied video rendition, transcoded rungs in `rungs` (the
/// video encoder's codec), one audio rendition per audio track that fMP4 can carry, all on
/// the video's keyframe timeline.
pub fn plan_for(info: &MediaInfo, segment_secs: f64, rungs: RungCodec) -> Result<Presentation> {
    let vs = info.video_stream().ok_or_else(|| Error::Unsupported {
        path: info.path.clone(),
        reason: "no video stream".into(),
    })?;
    let streams = Streams::of(info);
    let vtb = info.keyframes.time_base;
    let target = (segment_secs.max(0.5) / vtb.as_f64()).round() as i64;
    let audio_ids: Vec<usize> = streams.audio.iter().map(|s| s.index).collect();
    // Pictures decoded before the first boundary and never shown (an edit list starting
    // mid-GOP) go in the copy's first segment ahead of it: the shift keeps their decode times
    // at or above zero too.
    let hidden = info
        .hidden_from
        .map_or(0, |k| info.keyframes.pts[0] - k + info.reorder);
    let timeline = Timeline::new(
        &info.keyframes.pts,
        info.end_pts,
        target,
        info.reorder,
        lead_ticks(info, &audio_ids).max(hidden),
    )
    .ok_or_else(|| Error::Corrupt {
        path: info.path.clone(),
        reason: "no keyframe before the end of the video".into(),
    })?
    .with_time_base(vtb);
    let rates = Bitrates {
        info,
        timeline: &timeline,
        durations: timeline.durations(),
    };
    let independent = info.idr_keyframes.unwrap_or(true);
    let hidden_start = info.hidden_from.is_some();
    let (width, height) = vs.display_size();
    let mut renditions = video_renditions(vs, rungs, &rates, !independent || hidden_start);
    renditions.extend(audio_renditions(&streams.audio, &rates));
    renditions.extend(subtitle_renditions(info, vs, &streams.subtitles));
    let burn_ins = burn_ins(&streams.bitmaps);
    let forced_burn = forced_burn(&burn_ins, &streams.audio);
    for b in &burn_ins {
        renditions.extend(burned_renditions(vs, rungs, b.stream));
    }
    let frame = vs
        .frame_rate
        .filter(|r| r.num > 0)
        .map(|r| 1.0 / (r.as_f64() * vtb.as_f64()));
    let rung_timeline = timeline.finer((target as f64 * RUNG_LONGEST).round() as i64, frame);
    if rung_timeline.is_some() {
        for r in renditions
            .iter_mut()
            .filter(|r| matches!(r.method, Method::Video(_)))
        {
            r.rung_cuts = true;
        }
    }
    Ok(Presentation {
        timeline,
        rung_timeline,
        renditions,
        skipped: streams.skipped,
        independent,
        hidden_start,
        width,
        height,
        frame_rate: vs.frame_rate.map(|r| r.as_f64()),
        video_range: vs.video_range(),
        burn_ins,
        forced_burn,
    })
}

/// Audio groups in master-playlist order, each with its renditions.
pub fn audio_groups(p: &Presentation) -> Vec<(String, Vec<&Rendition>)> {
    let mut out: Vec<(String, Vec<&Rendition>)> = Vec::new();
    for g in GROUP_ORDER {
        let id = format!("audio-{g}");
        let members: Vec<&Rendition> = p
            .audio()
            .filter(|r| r.group.as_deref() == Some(id.as_str()))
            .collect();
        if !members.is_empty() {
            out.push((id, members));
        }
    }
    out
}

#[cfg(test)]
mod tests;
