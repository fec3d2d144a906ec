//! The quality ladder as plain data: which rungs a video gets, in which codec, at which level
//! and bit rate, and what an audio rendition is encoded to.
//!
//! No FFmpeg here: the plan and the playlists read these tables, and
//! [`crate::media::transcode`] makes what they describe.

use crate::stream::StreamParams;

/// The video encoder used when none is asked for.
pub const DEFAULT_VIDEO_ENCODER: &str = "libx264";

/// H.264/HEVC encoders FFmpeg may offer, software first. `probe --encoders` tries each.
pub const VIDEO_ENCODER_CANDIDATES: [&str; 11] = [
    "libx264",
    "h264_nvenc",
    "h264_qsv",
    "h264_vaapi",
    "h264_amf",
    "h264_v4l2m2m",
    "libx265",
    "hevc_nvenc",
    "hevc_qsv",
    "hevc_vaapi",
    "hevc_amf",
];

/// The codec transcoded video rungs are made in, decided by the encoder: H.264 (every client
/// decodes it; the default) or HEVC (about half the bits for the same picture, for clients
/// that decode it: Safari, TVs, hardware-accelerated Chromium).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RungCodec {
    /// H.264 High profile.
    #[default]
    H264,
    /// HEVC Main profile, tagged hvc1 (parameter sets in the sample entry, as Apple requires).
    Hevc,
}

impl RungCodec {
    /// The start of the rung renditions' names: `h264-720p`, `hevc-720p`.
    pub fn prefix(self) -> &'static str {
        match self {
            RungCodec::H264 => "h264",
            RungCodec::Hevc => "hevc",
        }
    }
}

/// The frame rate a rung is planned and encoded at when the source doesn't say: the plan
/// picks the HEVC level for it, and x265 checks that level against it.
pub const ASSUMED_FRAME_RATE: u32 = 30;

/// What a transcoded video rendition is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VideoTarget {
    /// Output width (even).
    pub width: u32,
    /// Output height (even).
    pub height: u32,
    /// Peak bit rate (VBV maximum), bits/s.
    pub max_bitrate: u64,
    /// The codec.
    pub codec: RungCodec,
    /// level_idc: H.264's (31 for 3.1, 40 for 4.0...), or HEVC's (30 times the level: 93 for
    /// 3.1, 120 for 4.0).
    pub level: u8,
    /// The size the source's picture is scaled to inside the frame, centred on black, where
    /// it is smaller than the frame: a channel plays every programme in one frame size
    /// (players and tuners can't be told mid-stream that it changed), so a 4:3 or a scope
    /// film is boxed rather than stretched. `None`: the picture fills the frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<(u32, u32)>,
}

impl VideoTarget {
    /// The average rate the encoder aims at (its ABR target), three quarters of the cap: what
    /// AVERAGE-BANDWIDTH declares. A rate target rather than a constant quality keeps the
    /// declared average close to what segments measure (capped CRF used 0.56x of it on simple
    /// pictures, and players budget by the declared figure).
    pub fn bitrate(&self) -> u64 {
        self.max_bitrate * 3 / 4
    }
}

/// What a transcoded audio rendition is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AudioTarget {
    /// 2 (stereo) or 6 (5.1).
    pub channels: u32,
    /// Sample rate (the source's: no resampling, so positions stay exact).
    pub sample_rate: u32,
    /// Bit rate, bits/s.
    pub bitrate: u64,
}

/// Samples per AAC-LC frame (ISO/IEC 14496-3): the grid transcoded audio is cut on.
pub const AAC_FRAME: i64 = 1024;

/// Whether an encoder is available on this machine, and why not.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EncoderStatus {
    /// FFmpeg's encoder name.
    pub name: String,
    /// It opened with a small test configuration.
    pub available: bool,
    /// Why not, or what it is.
    pub detail: String,
}

/// Ladder rungs: height and peak bit rate for 16:9 at about 24-30 fps. HEVC rungs take the
/// same caps (their pictures are just better for it).
const LADDER: [(u32, u64); 4] = [
    (1080, 6_000_000),
    (720, 3_500_000),
    (480, 1_600_000),
    (360, 900_000),
];

/// H.264 level for a frame size at up to 30 fps (ITU-T H.264 Table A-1, MaxFS in macroblocks).
fn h264_level(width: u32, height: u32) -> u8 {
    let mbs = width.div_ceil(16) * height.div_ceil(16);
    match mbs {
        0..=1620 => 30,
        1621..=3600 => 31,
        3601..=8192 => 40,
        8193..=22080 => 51,
        _ => 52,
    }
}

/// HEVC level_idc (30 times the level) for a frame size and rate (ITU-T H.265 Table A.8:
/// MaxLumaPs and MaxLumaSr, Main tier; the ladder's caps are within every level's MaxBR).
fn hevc_level(width: u32, height: u32, fps: f64) -> u8 {
    const LEVELS: [(u8, u64, u64); 13] = [
        (30, 36_864, 552_960),
        (60, 122_880, 3_686_400),
        (63, 245_760, 7_372_800),
        (90, 552_960, 16_588_800),
        (93, 983_040, 33_177_600),
        (120, 2_228_224, 66_846_720),
        (123, 2_228_224, 133_693_440),
        (150, 8_912_896, 267_386_880),
        (153, 8_912_896, 534_773_760),
        (156, 8_912_896, 1_069_547_520),
        (180, 35_651_584, 1_069_547_520),
        (183, 35_651_584, 2_139_095_040),
        (186, 35_651_584, 4_278_190_080),
    ];
    let ps = u64::from(width) * u64::from(height);
    let sr = (ps as f64 * fps).ceil() as u64;
    LEVELS
        .iter()
        .find(|(_, max_ps, max_sr)| ps <= *max_ps && sr <= *max_sr)
        .map_or(186, |l| l.0)
}

/// The level_idc of a rung in a codec. HEVC rungs state the frame rate they are encoded at
/// (the source's, [`ASSUMED_FRAME_RATE`] when unknown): x265 refuses a level too low for it.
fn level(codec: RungCodec, width: u32, height: u32, fps: Option<f64>) -> u8 {
    match codec {
        RungCodec::H264 => h264_level(width, height),
        RungCodec::Hevc => hevc_level(width, height, fps.unwrap_or(f64::from(ASSUMED_FRAME_RATE))),
    }
}

/// The RFC 6381 codec string of a rung: High profile H.264 (`avc1.6400` + level), or Main
/// profile HEVC as x265 writes it (general_profile_space 0, profile_idc 1, compatibility flags
/// 0x60000000 written reversed as `6`, Main tier, level, and the first constraint byte 0x90:
/// progressive source, frame only).
pub fn rung_codecs(t: &VideoTarget) -> String {
    match t.codec {
        RungCodec::H264 => format!("avc1.6400{:02x}", t.level),
        RungCodec::Hevc => format!("hvc1.1.6.L{}.90", t.level),
    }
}

/// Whether every browser and device decodes this video as it is: H.264 in 8-bit 4:2:0
/// (Constrained Baseline, Main or High profile; the avcC says which).
pub fn widely_playable(s: &StreamParams) -> bool {
    s.codec == "h264" && matches!(s.extradata.get(1), Some(66 | 77 | 88 | 100) | None)
}

/// The rungs a video gets, in a codec: every ladder rung below its height, and its own size
/// when the original is not widely playable (HEVC, 10-bit...) or is H.264 with open GOPs
/// (`open_gop`: see [`crate::plan::Presentation::offered_videos`]). Widths keep the aspect
/// ratio, even.
pub fn video_ladder(s: &StreamParams, codec: RungCodec, open_gop: bool) -> Vec<VideoTarget> {
    // Rungs are sized as the picture is shown: a phone's upright clip is a portrait rung.
    let (w, h) = s.display_size();
    let (w, h) = (w.max(2), h.max(2));
    let fps = s.frame_rate.map(|r| r.as_f64());
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
    let mut out: Vec<VideoTarget> = LADDER
        .iter()
        .filter(|(rung, _)| *rung < h)
        .map(|&(rung, rate)| {
            let width = even(f64::from(rung) * f64::from(w) / f64::from(h));
            VideoTarget {
                width,
                height: rung,
                max_bitrate: rate,
                codec,
                level: level(codec, width, rung, fps),
                picture: None,
            }
        })
        .collect();
    // A turned picture is turned in a rung, so only a rung stands it upright for a player
    // that ignores the copy's track matrix; interlaced pictures are deinterlaced in a rung.
    if !widely_playable(s) || open_gop || s.rotation != 0 || s.interlaced() {
        out.insert(0, source_rung(s, codec));
    }
    out
}

/// The rung of a video's own size (even): its 1080p rate scaled by picture area, within sane
/// bounds. What plays in place of an original a browser can't decode, or can't join at any
/// segment (H.264 with open GOPs).
pub fn source_rung(s: &StreamParams, codec: RungCodec) -> VideoTarget {
    let (w, h) = s.display_size();
    let (w, h) = (w.max(2), h.max(2));
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
    // Never below a smaller ladder rung's rate: a larger picture with fewer bits than the rung
    // beneath it would look worse and be chosen first.
    let below = LADDER
        .iter()
        .filter(|(rung, _)| *rung < h)
        .map(|(_, rate)| *rate as f64)
        .fold(900_000.0, f64::max);
    let rate =
        (6_000_000.0 * f64::from(w * h) / (1920.0 * 1080.0)).clamp(below, 20_000_000.0) as u64;
    let (w, h) = (even(f64::from(w)), even(f64::from(h)));
    VideoTarget {
        width: w,
        height: h,
        max_bitrate: rate,
        codec,
        level: level(codec, w, h, s.frame_rate.map(|r| r.as_f64())),
        picture: None,
    }
}

/// The rung of `height` for this video whatever its own height, in a 16:9 frame of that
/// height (a channel plays every programme in one frame: players and tuners can't be told
/// mid-stream that the size changed): the ladder's rate at that height, or the size rule's
/// rate off the ladder. A picture of another shape keeps its aspect ratio inside the frame,
/// centred on black ([`VideoTarget::picture`]); one within 1% of the frame's shape fills it.
pub fn rung_at(s: &StreamParams, codec: RungCodec, height: u32) -> VideoTarget {
    let (width, height) = channel_frame(height);
    let picture = boxed(s.width.max(2), s.height.max(2), width, height);
    let max_bitrate = LADDER
        .iter()
        .find(|(rung, _)| *rung == height)
        .map(|(_, rate)| *rate)
        .unwrap_or_else(|| {
            (6_000_000.0 * f64::from(width * height) / (1920.0 * 1080.0))
                .clamp(900_000.0, 20_000_000.0) as u64
        });
    VideoTarget {
        width,
        height,
        max_bitrate,
        codec,
        level: level(codec, width, height, s.frame_rate.map(|r| r.as_f64())),
        picture,
    }
}

/// A channel's 16:9 frame of (about) this height, both sides even.
fn channel_frame(height: u32) -> (u32, u32) {
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
    let height = even(f64::from(height));
    (even(f64::from(height) * 16.0 / 9.0), height)
}

/// The size a `w`x`h` picture takes inside a `frame_w`x`frame_h` frame, aspect kept, even
/// (4:2:0 chroma), when that is not the whole frame.
fn boxed(w: u32, h: u32, frame_w: u32, frame_h: u32) -> Option<(u32, u32)> {
    let (aspect, frame) = (
        f64::from(w) / f64::from(h),
        f64::from(frame_w) / f64::from(frame_h),
    );
    if (aspect / frame - 1.0).abs() <= 0.01 {
        return None;
    }
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).clamp(2, u32::MAX);
    Some(if aspect > frame {
        (frame_w, even(f64::from(frame_w) / aspect).min(frame_h))
    } else {
        (even(f64::from(frame_h) * aspect).min(frame_w), frame_h)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hevc_levels_follow_picture_size_and_rate() {
        // ITU-T H.265 Table A.8: 360p30 fits 2.1, 720p30 3.1, 1080p30 4, 1080p60 4.1, 2160p30 5.
        assert_eq!(hevc_level(640, 360, 30.0), 63);
        assert_eq!(hevc_level(1280, 720, 30.0), 93);
        assert_eq!(hevc_level(1920, 1080, 24.0), 120);
        assert_eq!(hevc_level(1920, 1080, 60.0), 123);
        assert_eq!(hevc_level(3840, 2160, 30.0), 150);
        // 1080p30 is 62.2 M luma samples/s, within level 4's 66.8 M.
        assert_eq!(hevc_level(1920, 1080, 30.0), 120);
    }

    #[test]
    fn rung_codec_strings_name_profile_and_level() {
        let t = |codec, level| VideoTarget {
            width: 1280,
            height: 720,
            max_bitrate: 3_500_000,
            codec,
            level,
            picture: None,
        };
        assert_eq!(rung_codecs(&t(RungCodec::H264, 31)), "avc1.64001f");
        assert_eq!(rung_codecs(&t(RungCodec::Hevc, 93)), "hvc1.1.6.L93.90");
        assert_eq!(level(RungCodec::H264, 1280, 720, Some(60.0)), 31);
        assert_eq!(level(RungCodec::Hevc, 1280, 720, None), 93);
    }

    #[test]
    fn a_channel_rung_boxes_pictures_of_another_shape_in_its_16_9_frame() {
        assert_eq!(channel_frame(720), (1280, 720));
        // 480p: 853.3 rounds to an even 854.
        assert_eq!(channel_frame(480), (854, 480));
        assert_eq!(boxed(1920, 1080, 1280, 720), None);
        // 4:3 pillarboxed, scope letterboxed, a 1916-wide crop stretched by its last pixels.
        assert_eq!(boxed(640, 480, 1280, 720), Some((960, 720)));
        assert_eq!(boxed(1920, 800, 640, 360), Some((640, 266)));
        assert_eq!(boxed(1916, 1080, 1280, 720), None);
    }
}
