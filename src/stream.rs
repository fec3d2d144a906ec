//! What a stream is, as plain data: its kind, codec parameters and metadata, and the entries
//! of a container's own index.
//!
//! The probe fills these from FFmpeg once; everything after it (plan, playlists, codec strings,
//! the library's probe cache) reads them without FFmpeg.

use crate::rational::Rational;

/// What kind of elementary stream this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Pictures.
    Video,
    /// Sound.
    Audio,
    /// Subtitles (text or bitmap).
    Subtitle,
    /// Anything else (data, attachments such as fonts and cover art).
    Other,
}

/// Everything Haema reads of one stream's codec parameters and metadata, as plain data.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StreamParams {
    /// The stream's index in the container.
    pub index: usize,
    /// Video, audio, subtitle or other.
    pub kind: Kind,
    /// FFmpeg's short codec name ("h264", "hevc", "aac", "ac3"...).
    pub codec: String,
    /// Profile name, where FFmpeg knows one ("High", "Main 10", "LC").
    pub profile: Option<String>,
    /// The codec level as FFmpeg stores it (41 for H.264 4.1, 120 for HEVC 4.0).
    pub level: Option<i32>,
    /// Width in pixels (video).
    pub width: u32,
    /// Height in pixels (video).
    pub height: u32,
    /// Average frame rate (video).
    pub frame_rate: Option<Rational>,
    /// Bits per sample of the luma plane (video).
    pub bit_depth: Option<u32>,
    /// Pixel format name, e.g. "yuv420p10le" (video).
    pub pixel_format: Option<String>,
    /// Frames of reordering (B-frames) the decoder needs (video).
    pub video_delay: u32,
    /// Audio channels.
    pub channels: u32,
    /// Channel layout description, e.g. "5.1(side)".
    pub channel_layout: Option<String>,
    /// Samples per second (audio).
    pub sample_rate: u32,
    /// Samples per frame when the codec has a fixed frame size (1024 for AAC, 1536 for AC-3).
    pub frame_size: u32,
    /// ISO 639 language tag from the container.
    pub language: Option<String>,
    /// Title from the container.
    pub title: Option<String>,
    /// The container marks this stream as the default of its kind.
    pub default: bool,
    /// The container marks this stream as forced (subtitles).
    pub forced: bool,
    /// The stream is an attached picture (cover art), not a real video track.
    pub attached_pic: bool,
    /// Time base of this stream's timestamps.
    pub time_base: Rational,
    /// First timestamp, in `time_base` ticks.
    pub start: Option<i64>,
    /// Duration, in `time_base` ticks, when the container says.
    pub duration: Option<i64>,
    /// Declared bit rate (bits/s), 0 if unknown.
    pub bit_rate: u64,
    /// Bits/s its packets averaged over the file's first GOPs (0 where not measured): the
    /// estimate for a stream with no declared rate and no bytes of its own in the index
    /// (Opus or AAC in Matroska), so a variant's AVERAGE-BANDWIDTH can leave its share out of
    /// the muxed byte ranges and count it in its own rendition.
    #[serde(default)]
    pub measured_bit_rate: u64,
    /// Codec-specific configuration bytes (avcC, hvcC, AudioSpecificConfig, OpusHead...), as
    /// hex in JSON.
    #[serde(with = "hex_bytes")]
    pub extradata: Vec<u8>,
    /// Degrees clockwise the picture is turned for display (0, 90, 180 or 270): the display
    /// matrix of an MP4/MOV track (ISO/IEC 14496-12 8.3.2 tkhd), as phones record upright
    /// clips on a sensor that is landscape.
    #[serde(default)]
    pub rotation: u16,
    /// The shape of one pixel (width over height) where it is not square: a DVB or DVD
    /// picture of 720x576 shown at 16:9 has 64:45.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_aspect: Option<Rational>,
    /// The transfer characteristic by FFmpeg's name of it (ITU-T H.273: `smpte2084` is PQ,
    /// `arib-std-b67` is HLG, `bt709`), where the container or the codec parameters say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<String>,
    /// Field order where the container or codec parameters say: `progressive`, or `tt`, `bb`,
    /// `tb`, `bt` for interlaced pictures (FFmpeg's names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_order: Option<String>,
}

/// A video's dynamic range as HLS names it (RFC 8216bis 4.4.6.2 VIDEO-RANGE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VideoRange {
    /// Standard dynamic range (BT.709, BT.601, or unknown).
    Sdr,
    /// Perceptual quantizer (SMPTE ST 2084): HDR10, Dolby Vision's base layer.
    Pq,
    /// Hybrid log-gamma (ARIB STD-B67).
    Hlg,
}

impl VideoRange {
    /// The range a transfer characteristic (FFmpeg's name of it) stands for.
    pub fn of_transfer(name: Option<&str>) -> VideoRange {
        match name {
            Some("smpte2084") => VideoRange::Pq,
            Some("arib-std-b67") => VideoRange::Hlg,
            _ => VideoRange::Sdr,
        }
    }

    /// The attribute value of VIDEO-RANGE.
    pub fn as_str(self) -> &'static str {
        match self {
            VideoRange::Sdr => "SDR",
            VideoRange::Pq => "PQ",
            VideoRange::Hlg => "HLG",
        }
    }
}

impl StreamParams {
    /// The picture's size as shown: width and height swapped where the display matrix turns
    /// it a quarter turn.
    pub fn display_size(&self) -> (u32, u32) {
        let width = match self.sample_aspect {
            Some(a) if a.num > 0 && a.den > 0 && a.num != a.den => {
                let w = f64::from(self.width) * a.num as f64 / a.den as f64;
                ((w / 2.0).round() as u32 * 2).max(2)
            }
            _ => self.width,
        };
        if self.rotation % 180 == 90 {
            (self.height, width)
        } else {
            (width, self.height)
        }
    }

    /// The dynamic range its transfer characteristic says.
    pub fn video_range(&self) -> VideoRange {
        VideoRange::of_transfer(self.transfer.as_deref())
    }

    /// Whether its pictures are interlaced fields, as the container or codec parameters say.
    pub fn interlaced(&self) -> bool {
        matches!(self.field_order.as_deref(), Some("tt" | "bb" | "tb" | "bt"))
    }

    /// Samples per frame of an audio codec with a fixed frame size, from the codec itself
    /// (not from FFmpeg's stream analysis, which only some processes run): the grid audio
    /// packets snap to. 1 (no grid) for codecs whose frames vary (Opus, FLAC, Vorbis) or AAC
    /// with SBR.
    pub fn frame_samples(&self) -> u32 {
        match self.codec.as_str() {
            "aac" if crate::codecs::aac_object_type(&self.extradata).unwrap_or(2) == 2 => 1024,
            "ac3" | "eac3" => 1536,
            "mp3" | "mp2" => 1152,
            _ => 1,
        }
    }
}

/// One entry of a container's own index (MP4 sample table row or Matroska Cue point).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Timestamp in the stream's time base (DTS for MP4 samples, PTS for Matroska Cues).
    pub timestamp: i64,
    /// Byte position in the file.
    pub pos: i64,
    /// Size in bytes, where the container records it (0 otherwise).
    pub size: u32,
    /// A keyframe (sync sample).
    pub keyframe: bool,
}

/// Byte strings as lowercase hex in JSON (codec configuration records are short).
pub(crate) mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Lowercase hex.
    pub fn encode(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Bytes from hex; `None` for anything else (odd length, other characters).
    pub fn decode(s: &str) -> Option<Vec<u8>> {
        if !s.len().is_multiple_of(2) || !s.is_ascii() {
            return None;
        }
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
            .collect()
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        decode(&s).ok_or_else(|| serde::de::Error::custom("not hex bytes"))
    }
}
