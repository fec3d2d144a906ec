//! The renditions of a presentation: the file's streams sorted by what is offered, the bit
//! rates measured from its per-GOP byte counts, and the video, audio and subtitle renditions
//! with their names, groups and codec strings.

use super::{Method, Rendition, Skipped, SubtitleSource};
use crate::codecs::codec_string;
use crate::ladder::{rung_codecs, video_ladder, AudioTarget, RungCodec, VideoTarget};
use crate::probe::MediaInfo;
use crate::stream::{Kind, StreamParams};
use crate::subtitle::Format as SubFormat;
use crate::timeline::Timeline;

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

/// Bitmap subtitle codecs (FFmpeg's names) burned into rungs: Blu-ray PGS, DVD VobSub, DVB,
/// DivX XSUB.
const BITMAP_SUBTITLES: [&str; 4] = ["hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle", "xsub"];

const VIDEO_COPY: [&str; 4] = ["h264", "hevc", "av1", "vp9"];

/// The language of a rendition: the container's tag where it is one (RFC 5646 as HLS wants it
/// in LANGUAGE, RFC 8216 4.3.4.1: letters, digits and hyphens), else "und". It also names the
/// rendition's folder and URLs, so a damaged tag must not put other bytes there.
fn language_tag(tag: Option<&str>) -> String {
    match tag {
        Some(t)
            if (2..=35).contains(&t.len())
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            t.to_owned()
        }
        _ => "und".into(),
    }
}

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

impl Rendition {
    /// A rendition with nothing declared beyond what it is: no channels, not the default, in
    /// no group, not forced, no bit rate.
    fn new(id: String, kind: Kind, stream: usize, method: Method, codecs: String) -> Rendition {
        Rendition {
            id,
            kind,
            stream,
            method,
            codecs,
            language: "und".into(),
            name: String::new(),
            channels: 0,
            default: false,
            group: None,
            forced: false,
            peak_bps: 0,
            average_bps: 0,
            burn: None,
            rung_cuts: false,
        }
    }
}

/// A file's streams sorted by what the plan does with them.
pub(super) struct Streams<'a> {
    pub(super) audio: Vec<&'a StreamParams>,
    pub(super) subtitles: Vec<&'a StreamParams>,
    /// Bitmap subtitles FFmpeg decodes: offered burned in.
    pub(super) bitmaps: Vec<&'a StreamParams>,
    pub(super) skipped: Vec<Skipped>,
}

impl<'a> Streams<'a> {
    pub(super) fn of(info: &'a MediaInfo) -> Streams<'a> {
        let mut out = Streams {
            audio: Vec::new(),
            subtitles: Vec::new(),
            bitmaps: Vec::new(),
            skipped: Vec::new(),
        };
        for s in &info.streams {
            let skip = |reason: String| Skipped {
                stream: s.index,
                reason,
            };
            match s.kind {
                Kind::Audio if s.sample_rate > 0 && s.channels > 0 => out.audio.push(s),
                Kind::Audio => out.skipped.push(skip(format!(
                    "{} audio without a sample rate or channels",
                    s.codec
                ))),
                Kind::Subtitle if SubFormat::from_codec(&s.codec).is_some() => {
                    out.subtitles.push(s)
                }
                Kind::Subtitle if BITMAP_SUBTITLES.contains(&s.codec.as_str()) => {
                    out.bitmaps.push(s)
                }
                Kind::Subtitle => out.skipped.push(skip(format!(
                    "{} subtitles are neither text Haema reads nor bitmaps it burns in",
                    s.codec
                ))),
                Kind::Video if Some(s.index) != info.video => {
                    out.skipped.push(skip(if s.attached_pic {
                        "cover art".into()
                    } else {
                        "only the first video track is offered".into()
                    }))
                }
                _ => {}
            }
        }
        out
    }
}

/// Bits per segment of each stream, from the file's per-GOP byte counts, and the peak and
/// average rates they make: BANDWIDTH and AVERAGE-BANDWIDTH.
pub(super) struct Bitrates<'a> {
    pub(super) info: &'a MediaInfo,
    pub(super) timeline: &'a Timeline,
    pub(super) durations: Vec<f64>,
}

impl Bitrates<'_> {
    /// Bits in each segment of a stream (`None`: byte ranges the index doesn't split by
    /// stream, Matroska Cues).
    fn segment_bits(&self, stream: Option<usize>) -> Vec<f64> {
        let tl = self.timeline;
        let tb = tl.time_base.as_f64();
        (0..tl.len())
            .map(|n| {
                let (s, e) = tl.span(n).expect("in range");
                let from = if n == 0 { f64::MIN } else { s as f64 * tb };
                let to = if n + 1 == tl.len() {
                    f64::MAX
                } else {
                    e as f64 * tb
                };
                self.info
                    .bytes
                    .iter()
                    .filter(|b| b.stream == stream)
                    .map(|b| b.bytes_between(from, to))
                    .sum::<u64>() as f64
                    * 8.0
            })
            .collect()
    }

    /// Bits per segment at a constant declared rate.
    fn constant(&self, bit_rate: u64) -> Vec<f64> {
        self.durations.iter().map(|d| d * bit_rate as f64).collect()
    }

    /// Adds what fMP4 wraps each segment's samples in (ISO/IEC 14496-12 8.8: moof, mfhd,
    /// traf, tfhd, tfdt, trun, mdat headers, and up to 16 bytes of trun per sample): players
    /// and Apple's validator measure the segment files, not the samples.
    fn add_fragment_overhead(&self, bits: &mut [f64], samples_per_sec: f64) {
        for (b, d) in bits.iter_mut().zip(&self.durations) {
            let samples = (d * samples_per_sec).ceil();
            *b += (FRAGMENT_HEADER_BYTES + TRUN_SAMPLE_BYTES * samples) * 8.0;
        }
    }

    /// (peak, average) bits per second.
    fn rates(&self, bits: &[f64]) -> (u64, u64) {
        let total: f64 = bits.iter().sum();
        let secs: f64 = self.durations.iter().sum();
        let peak = bits
            .iter()
            .zip(&self.durations)
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
    }
}

/// Bytes of a media segment's boxes besides the trun's per-sample fields, rounded up
/// (moof 8, mfhd 16, traf 8, tfhd 28, tfdt 20, trun 20, mdat 8: 108).
const FRAGMENT_HEADER_BYTES: f64 = 128.0;
/// The most a trun spends per sample: duration, size, flags, composition offset.
const TRUN_SAMPLE_BYTES: f64 = 16.0;
/// Frames per second assumed when a video doesn't say (and the most counted when it does).
const MAX_FRAME_RATE: f64 = 120.0;

/// Packets per second of an audio stream: sample rate over the frame size where the codec has
/// a fixed one, else 50 (20 ms packets, the shortest common: Opus).
fn audio_packets_per_sec(s: &StreamParams) -> f64 {
    let frame = s.frame_samples();
    if frame > 1 {
        f64::from(s.sample_rate) / f64::from(frame)
    } else {
        50.0
    }
}

/// Audio streams with no bytes of their own in the index (Matroska Cues index only the
/// muxed file).
fn audio_without_bytes<'a>(rates: &'a Bitrates<'_>) -> impl Iterator<Item = &'a StreamParams> {
    rates.info.streams.iter().filter(|s| {
        s.kind == Kind::Audio && !rates.info.bytes.iter().any(|b| b.stream == Some(s.index))
    })
}

/// What an audio rendition counts for a stream without bytes of its own: its declared rate
/// (constant-rate codecs: AC-3, E-AC-3, DTS), else the rate measured over the file's first
/// GOPs (an estimate: taken out of the copied video's average only, so its peak still holds
/// those bytes; see [`video_renditions`]).
fn audio_rate(s: &StreamParams) -> u64 {
    if s.bit_rate > 0 {
        s.bit_rate
    } else {
        s.measured_bit_rate
    }
}

/// The original (copied, where fMP4 carries its codec: MPEG-2, VC-1... are only transcoded),
/// then the rungs from the largest.
pub(super) fn video_renditions(
    vs: &StreamParams,
    rungs: RungCodec,
    rates: &Bitrates<'_>,
    open_gop: bool,
) -> Vec<Rendition> {
    let language = language_tag(vs.language.as_deref());
    let mut out = Vec::new();
    if VIDEO_COPY.contains(&vs.codec.as_str()) {
        // Its own bytes, plus muxed byte ranges (Matroska Cues) which hold the audio too, less
        // the audio whose rate is declared (constant-rate codecs: AC-3, E-AC-3, DTS) and is
        // counted in the audio renditions: what the variants add up stays a bound.
        // The average leaves out the measured audio too: it is an estimate, so the peak keeps
        // those bytes in (counted twice, a bound).
        let mut bits = rates.segment_bits(Some(vs.index));
        let mut mean_bits = bits.clone();
        let muxed = rates.segment_bits(None);
        if muxed.iter().any(|b| *b > 0.0) {
            let declared: u64 = audio_without_bytes(rates).map(|s| s.bit_rate).sum();
            let estimated: u64 = audio_without_bytes(rates).map(audio_rate).sum();
            for (sums, audio) in [(&mut bits, declared), (&mut mean_bits, estimated)] {
                for ((a, m), c) in sums.iter_mut().zip(&muxed).zip(rates.constant(audio)) {
                    *a += (m - c).max(0.0);
                }
            }
        }
        if bits.iter().all(|b| *b == 0.0) {
            let fallback = if vs.bit_rate > 0 {
                vs.bit_rate
            } else {
                rates.info.bit_rate
            };
            bits = rates.constant(fallback);
            mean_bits = bits.clone();
        }
        let fps = vs
            .frame_rate
            .map_or(MAX_FRAME_RATE, |r| r.as_f64().min(MAX_FRAME_RATE));
        rates.add_fragment_overhead(&mut bits, fps);
        rates.add_fragment_overhead(&mut mean_bits, fps);
        let (peak_bps, _) = rates.rates(&bits);
        let (_, average_bps) = rates.rates(&mean_bits);
        let codecs = codec_string(&vs.codec, &vs.extradata, vs.bit_depth).unwrap_or_default();
        out.push(Rendition {
            language: language.clone(),
            name: "Original".into(),
            default: true,
            peak_bps,
            average_bps,
            ..Rendition::new(
                "original".into(),
                Kind::Video,
                vs.index,
                Method::Copy,
                codecs,
            )
        });
    }
    for t in video_ladder(vs, rungs, open_gop) {
        out.push(rung_rendition(vs, rungs, t));
    }
    out
}

/// A transcoded video rendition at a rung, named for its codec and height (`h264-720p`).
pub(super) fn rung_rendition(vs: &StreamParams, rungs: RungCodec, t: VideoTarget) -> Rendition {
    // The peak is the VBV maximum plus what a 1 s buffer lets through in a segment; the
    // average is the encoder's rate target (segments measure within a few percent of it).
    Rendition {
        language: language_tag(vs.language.as_deref()),
        name: format!("{}p", t.height),
        peak_bps: t.max_bitrate * 5 / 4,
        average_bps: t.bitrate(),
        ..Rendition::new(
            // A boxed picture is other bytes than the file's own rung of that height.
            match t.picture {
                None => format!("{}-{}p", rungs.prefix(), t.height),
                Some((w, h)) => format!("{}-{}p-{w}x{h}", rungs.prefix(), t.height),
            },
            Kind::Video,
            vs.index,
            Method::Video(t),
            rung_codecs(&t),
        )
    }
}

/// The bitmap subtitle tracks, named for menus: the title where the file gives one, else the
/// language, with the format ("English (PGS)") and "forced" where flagged.
pub(super) fn burn_ins(bitmaps: &[&StreamParams]) -> Vec<super::BurnIn> {
    bitmaps
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let language = language_tag(s.language.as_deref());
            let format = match s.codec.as_str() {
                "hdmv_pgs_subtitle" => "PGS",
                "dvd_subtitle" => "VobSub",
                "dvb_subtitle" => "DVB",
                _ => "XSUB",
            };
            let mut name = s.title.clone().unwrap_or_else(|| {
                let lang = language_name(&language)
                    .map_or_else(|| format!("Subtitles {}", k + 1), str::to_owned);
                format!("{lang} ({format})")
            });
            if s.forced && !name.to_lowercase().contains("forced") {
                name.push_str(" (forced)");
            }
            super::BurnIn {
                stream: s.index,
                name,
                language,
                forced: s.forced,
            }
        })
        .collect()
}

/// The forced bitmap track the default audio needs: flagged forced, and in the default audio
/// track's language where both say one (an untagged one is taken at the file's word).
pub(super) fn forced_burn(burn_ins: &[super::BurnIn], audio: &[&StreamParams]) -> Option<usize> {
    let default_audio = audio.iter().find(|s| s.default).or(audio.first());
    let spoken =
        default_audio.map_or_else(|| "und".into(), |s| language_tag(s.language.as_deref()));
    burn_ins
        .iter()
        .find(|b| b.forced && (b.language == spoken || b.language == "und" || spoken == "und"))
        .map(|b| b.stream)
}

/// The rungs of bitmap subtitle stream `sub` burned in: the video's own size, then the
/// ladder's rungs beneath it (`h264-720p-burn-3`). Every picture is drawn into, so there is no
/// copy among them.
pub(super) fn burned_renditions(vs: &StreamParams, rungs: RungCodec, sub: usize) -> Vec<Rendition> {
    // As for a copy no player can join: the source-size rung leads.
    video_ladder(vs, rungs, true)
        .into_iter()
        .map(|t| {
            let r = rung_rendition(vs, rungs, t);
            Rendition {
                id: format!("{}-burn-{sub}", r.id),
                burn: Some(sub),
                ..r
            }
        })
        .collect()
}

/// Each audio track copied where fMP4 carries its codec, and as AAC where it isn't AAC.
pub(super) fn audio_renditions(audio: &[&StreamParams], rates: &Bitrates<'_>) -> Vec<Rendition> {
    let default_audio = audio
        .iter()
        .find(|s| s.default)
        .or(audio.first())
        .map(|s| s.index);
    let mut out = Vec::new();
    for (n, s) in audio.iter().enumerate() {
        let lang = language_tag(s.language.as_deref());
        let default = Some(s.index) == default_audio;
        let name = audio_name(s, n + 1);
        if let (Some(group), Some(codecs)) = (
            audio_group(&s.codec),
            codec_string(&s.codec, &s.extradata, None),
        ) {
            let mut bits = rates.segment_bits(Some(s.index));
            if bits.iter().all(|b| *b == 0.0) {
                // No bytes of its own in the index (Matroska Cues).
                bits = rates.constant(audio_rate(s));
            }
            rates.add_fragment_overhead(&mut bits, audio_packets_per_sec(s));
            let (peak_bps, average_bps) = rates.rates(&bits);
            out.push(Rendition {
                language: lang.clone(),
                name: name.clone(),
                channels: s.channels,
                default,
                group: Some(format!("audio-{group}")),
                peak_bps,
                average_bps,
                ..Rendition::new(
                    format!("audio-{}-{}", s.index, lang),
                    Kind::Audio,
                    s.index,
                    Method::Copy,
                    codecs,
                )
            });
        }
        if s.codec != "aac" {
            // Every client plays AAC-LC: stereo, or 5.1 where the source has it.
            let channels = if s.channels >= 6 { 6 } else { 2 };
            out.push(aac_rendition(s, name, default, channels, s.sample_rate));
        }
    }
    out
}

/// Audio stream `s` as AAC-LC with `channels` (2 or 6) at `sample_rate`: on demand its own
/// (no resampling), a rung channel's one rate for every programme. Its id names the stream and
/// language, with `-stereo` where it mixes to stereo a source that on demand plays otherwise
/// (5.1, or AAC in mono), and the rate where it is not the source's (`-48k`): what a channel
/// airs, one layout and one rate for every programme.
pub(super) fn aac_rendition(
    s: &StreamParams,
    name: String,
    default: bool,
    channels: u32,
    sample_rate: u32,
) -> Rendition {
    let lang = language_tag(s.language.as_deref());
    let bitrate = if channels == 6 { 384_000 } else { 128_000 };
    let target = AudioTarget {
        channels,
        sample_rate,
        bitrate,
    };
    let mixed = channels == 2 && (s.channels >= 6 || (s.codec == "aac" && s.channels != 2));
    let mut suffix = String::from(if mixed { "-stereo" } else { "" });
    if sample_rate != s.sample_rate {
        suffix += &match sample_rate % 1000 {
            0 => format!("-{}k", sample_rate / 1000),
            _ => format!("-{sample_rate}hz"),
        };
    }
    Rendition {
        language: lang.clone(),
        name,
        channels,
        default,
        group: Some("audio-aac".into()),
        peak_bps: bitrate * 11 / 10,
        average_bps: bitrate,
        ..Rendition::new(
            format!("audio-{}-{}-aac{suffix}", s.index, lang),
            Kind::Audio,
            s.index,
            Method::Aac(target),
            "mp4a.40.2".into(),
        )
    }
}

/// Text subtitles as WebVTT: the file's streams, then the sidecar files.
pub(super) fn subtitle_renditions(
    info: &MediaInfo,
    vs: &StreamParams,
    streams: &[&StreamParams],
) -> Vec<Rendition> {
    struct SubInput {
        source: SubtitleSource,
        stream: usize,
        language: Option<String>,
        title: Option<String>,
        default: bool,
        forced: bool,
    }
    let mut subs: Vec<SubInput> = streams
        .iter()
        .map(|s| SubInput {
            source: SubtitleSource::Stream(
                SubFormat::from_codec(&s.codec).expect("filtered by Streams::of"),
            ),
            stream: s.index,
            language: s.language.clone(),
            title: s.title.clone(),
            default: s.default,
            forced: s.forced,
        })
        .collect();
    subs.extend(info.sidecars.iter().enumerate().map(|(k, sc)| SubInput {
        source: SubtitleSource::Sidecar(k),
        stream: vs.index,
        language: sc.language.clone(),
        title: None,
        default: sc.default,
        forced: sc.forced,
    }));
    subs.into_iter()
        .enumerate()
        .map(|(k, sub)| {
            let lang = language_tag(sub.language.as_deref());
            let id = match &sub.source {
                SubtitleSource::Stream(_) => format!("subs-{}-{lang}", sub.stream),
                SubtitleSource::Sidecar(i) => format!("subs-file{i}-{lang}"),
            };
            let mut name = sub.title.unwrap_or_else(|| {
                language_name(&lang).map_or_else(|| format!("Subtitles {}", k + 1), str::to_owned)
            });
            if sub.forced && !name.to_lowercase().contains("forced") {
                name.push_str(" (forced)");
            }
            Rendition {
                language: lang,
                name,
                default: sub.default,
                group: Some("subs".into()),
                forced: sub.forced,
                ..Rendition::new(
                    id,
                    Kind::Subtitle,
                    sub.stream,
                    Method::Subtitles(sub.source),
                    "wvtt".into(),
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_language_tags_name_renditions() {
        assert_eq!(language_tag(Some("eng")), "eng");
        assert_eq!(language_tag(Some("pt-BR")), "pt-BR");
        assert_eq!(language_tag(Some("fr\u{fffd}")), "und");
        assert_eq!(language_tag(Some("../x")), "und");
        assert_eq!(language_tag(Some("e")), "und");
        assert_eq!(language_tag(None), "und");
    }
}
