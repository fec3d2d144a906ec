//! Which renditions a file gets and how each is made: the [`Presentation`].
//!
//! Pure: built from [`MediaInfo`] (plain data) and options; no FFmpeg calls. The segment makers
//! and the playlist writer both read the same presentation, so they can't disagree.

use serde::Serialize;

use crate::codecs::codec_string;
use crate::error::{Error, Result};
use crate::media::{Kind, StreamParams};
use crate::probe::{lead_ticks, MediaInfo};
use crate::timeline::Timeline;

/// Default target segment duration, seconds.
pub const DEFAULT_SEGMENT_SECS: f64 = 4.0;

/// How a rendition's segments are made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Packets copied as they are (stream copy), retimed on the file's timeline.
    Copy,
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
    /// Peak bits per second over the segments.
    pub peak_bps: u64,
    /// Average bits per second.
    pub average_bps: u64,
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
    /// Segment boundaries and timing rules.
    pub timeline: Timeline,
    /// Video first, then audio in stream order.
    pub renditions: Vec<Rendition>,
    /// Streams left out.
    pub skipped: Vec<Skipped>,
    /// Whether every video segment starts with an IDR frame.
    pub independent: bool,
    /// Resolution of the video.
    pub width: u32,
    /// Resolution of the video.
    pub height: u32,
    /// Frame rate of the video, frames/s.
    pub frame_rate: Option<f64>,
}

impl Presentation {
    /// The rendition with this id.
    pub fn rendition(&self, id: &str) -> Result<&Rendition> {
        self.renditions.iter().find(|r| r.id == id).ok_or_else(|| {
            let known: Vec<&str> = self.renditions.iter().map(|r| r.id.as_str()).collect();
            Error::BadRequest(format!(
                "unknown rendition '{id}' (this file has: {})",
                known.join(", ")
            ))
        })
    }

    /// The video rendition (always the first).
    pub fn video(&self) -> &Rendition {
        &self.renditions[0]
    }

    /// Audio renditions.
    pub fn audio(&self) -> impl Iterator<Item = &Rendition> {
        self.renditions.iter().filter(|r| r.kind == Kind::Audio)
    }

    /// Checks a segment number against the timeline.
    pub fn check_segment(&self, n: usize) -> Result<()> {
        if n < self.timeline.len() {
            Ok(())
        } else {
            Err(Error::BadRequest(format!(
                "segment {n} is past the end (this file has segments 0 to {})",
                self.timeline.len() - 1
            )))
        }
    }
}

/// Audio codecs that go into fMP4 as they are, with the group they are offered in. Groups are
/// per codec family so that a player picks a variant whose CODECS it can decode (RFC 8216 4.3.4.2).
fn audio_group(codec: &str) -> Option<&'static str> {
    match codec {
        "aac" => Some("aac"),
        "mp3" => Some("mp3"),
        "opus" => Some("opus"),
        "flac" => Some("flac"),
        "ac3" => Some("ac3"),
        "eac3" => Some("eac3"),
        _ => None,
    }
}

/// Order of groups in the master playlist: the most widely playable first.
const GROUP_ORDER: [&str; 6] = ["aac", "mp3", "opus", "flac", "ac3", "eac3"];

const VIDEO_COPY: [&str; 4] = ["h264", "hevc", "av1", "vp9"];

fn language_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "eng" | "en" => "English",
        "fra" | "fre" | "fr" => "Français",
        "deu" | "ger" | "de" => "Deutsch",
        "spa" | "es" => "Español",
        "ita" | "it" => "Italiano",
        "jpn" | "ja" => "日本語",
        "por" | "pt" => "Português",
        "rus" | "ru" => "Русский",
        "zho" | "chi" | "zh" => "中文",
        "kor" | "ko" => "한국어",
        "nld" | "dut" | "nl" => "Nederlands",
        _ => return None,
    })
}

fn audio_name(s: &StreamParams, n: usize) -> String {
    if let Some(t) = &s.title {
        return t.clone();
    }
    let lang = s.language.as_deref().and_then(language_name);
    let layout = match s.channels {
        1 => Some("Mono"),
        2 => Some("Stereo"),
        6 => Some("5.1"),
        8 => Some("7.1"),
        _ => None,
    };
    match (lang, layout) {
        (Some(l), Some(c)) => format!("{l} {c}"),
        (Some(l), None) => l.to_owned(),
        (None, Some(c)) => format!("Audio {n} {c}"),
        (None, None) => format!("Audio {n}"),
    }
}

/// Plans a file's presentation: one copied video rendition, one audio rendition per audio
/// track that fMP4 can carry, all on the video's keyframe timeline.
pub fn plan(info: &MediaInfo, segment_secs: f64) -> Result<Presentation> {
    let vs = info.video_stream().ok_or_else(|| Error::Unsupported {
        path: info.path.clone(),
        reason: "no video stream".into(),
    })?;
    if !VIDEO_COPY.contains(&vs.codec.as_str()) {
        return Err(Error::Unsupported {
            path: info.path.clone(),
            reason: format!(
                "video codec {} can't be stream-copied to fMP4 (supported: {}); transcoding comes later",
                vs.codec,
                VIDEO_COPY.join(", ")
            ),
        });
    }
    let mut skipped = Vec::new();
    let mut audio_streams = Vec::new();
    for s in &info.streams {
        match s.kind {
            Kind::Audio if audio_group(&s.codec).is_some() && s.sample_rate > 0 => {
                audio_streams.push(s)
            }
            Kind::Audio => skipped.push(Skipped {
                stream: s.index,
                reason: format!(
                    "{} audio can't be copied to fMP4; an AAC rendition comes with transcoding",
                    s.codec
                ),
            }),
            Kind::Subtitle => skipped.push(Skipped {
                stream: s.index,
                reason: format!(
                    "{} subtitles: WebVTT renditions come with the subtitle work",
                    s.codec
                ),
            }),
            Kind::Video if Some(s.index) != info.video => skipped.push(Skipped {
                stream: s.index,
                reason: if s.attached_pic {
                    "cover art".into()
                } else {
                    "only the first video track is offered".into()
                },
            }),
            _ => {}
        }
    }

    let vtb = info.keyframes.time_base;
    let target = (segment_secs.max(0.5) / vtb.as_f64()).round() as i64;
    let lead = lead_ticks(
        info,
        &audio_streams.iter().map(|s| s.index).collect::<Vec<_>>(),
    );
    let timeline = Timeline::new(
        &info.keyframes.pts,
        info.end_pts,
        target,
        info.reorder,
        lead,
    )
    .ok_or_else(|| Error::Corrupt {
        path: info.path.clone(),
        reason: "no keyframe before the end of the video".into(),
    })?
    .with_time_base(vtb);

    // Bytes per segment per stream, for BANDWIDTH and AVERAGE-BANDWIDTH.
    let seg_bits = |stream: Option<usize>| -> Vec<f64> {
        let tb = vtb.as_f64();
        (0..timeline.len())
            .map(|n| {
                let (s, e) = timeline.span(n).expect("in range");
                let (from, to) = if n == 0 {
                    (f64::MIN, e as f64 * tb)
                } else {
                    (s as f64 * tb, e as f64 * tb)
                };
                let to = if n + 1 == timeline.len() {
                    f64::MAX
                } else {
                    to
                };
                info.bytes
                    .iter()
                    .filter(|b| b.stream == stream)
                    .map(|b| b.bytes_between(from, to))
                    .sum::<u64>() as f64
                    * 8.0
            })
            .collect()
    };
    let durations = timeline.durations();
    let rates = |bits: &[f64]| -> (u64, u64) {
        let total: f64 = bits.iter().sum();
        let secs: f64 = durations.iter().sum();
        let peak = bits
            .iter()
            .zip(&durations)
            .map(|(b, d)| if *d > 0.0 { b / d } else { 0.0 })
            .fold(0.0, f64::max);
        (
            peak.ceil() as u64,
            if secs > 0.0 {
                (total / secs).ceil() as u64
            } else {
                0
            },
        )
    };
    let declared = |s: &StreamParams| -> Vec<f64> {
        durations.iter().map(|d| d * s.bit_rate as f64).collect()
    };

    // Video: its own bytes, plus muxed byte ranges (Cues) which cover audio too.
    let mut vbits = seg_bits(Some(vs.index));
    for (a, b) in vbits.iter_mut().zip(seg_bits(None)) {
        *a += b;
    }
    if vbits.iter().all(|b| *b == 0.0) {
        let fallback = if vs.bit_rate > 0 {
            vs.bit_rate
        } else {
            info.bit_rate
        };
        vbits = durations.iter().map(|d| d * fallback as f64).collect();
    }
    let (vpeak, vavg) = rates(&vbits);
    let mut renditions = vec![Rendition {
        id: "original".into(),
        kind: Kind::Video,
        stream: vs.index,
        method: Method::Copy,
        codecs: codec_string(&vs.codec, &vs.extradata, vs.bit_depth).expect("checked above"),
        language: vs.language.clone().unwrap_or_else(|| "und".into()),
        name: "Original".into(),
        channels: 0,
        default: true,
        group: None,
        peak_bps: vpeak,
        average_bps: vavg,
    }];

    let default_audio = audio_streams
        .iter()
        .find(|s| s.default)
        .or(audio_streams.first())
        .map(|s| s.index);
    for (n, s) in audio_streams.iter().enumerate() {
        let lang = s.language.clone().unwrap_or_else(|| "und".into());
        let mut bits = seg_bits(Some(s.index));
        if bits.iter().all(|b| *b == 0.0) && info.bytes.iter().all(|b| b.stream.is_some()) {
            bits = declared(s);
        }
        let (peak, avg) = rates(&bits);
        renditions.push(Rendition {
            id: format!("audio-{}-{}", s.index, lang),
            kind: Kind::Audio,
            stream: s.index,
            method: Method::Copy,
            codecs: codec_string(&s.codec, &s.extradata, None).expect("filtered above"),
            language: lang,
            name: audio_name(s, n + 1),
            channels: s.channels,
            default: Some(s.index) == default_audio,
            group: audio_group(&s.codec).map(|g| format!("audio-{g}")),
            peak_bps: peak,
            average_bps: avg,
        });
    }

    Ok(Presentation {
        timeline,
        renditions,
        skipped,
        independent: info.idr_keyframes.unwrap_or(true),
        width: vs.width,
        height: vs.height,
        frame_rate: vs.frame_rate.map(|r| r.as_f64()),
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
