//! RFC 6381 `CODECS` strings from codec configuration records, for the master playlist.
//!
//! A browser's `MediaSource.isTypeSupported('video/mp4; codecs="..."')` decides from this string
//! whether it can play a variant, so it has to come from the bitstream's own configuration
//! (avcC, hvcC, av1C, AudioSpecificConfig), not from a table of guesses. Pure: bytes in, text out.

/// The CODECS string of a stream, or `None` when Haema can't put this codec in fMP4.
pub fn codec_string(codec: &str, extradata: &[u8], bit_depth: Option<u32>) -> Option<String> {
    match codec {
        "h264" => Some(avc(extradata).unwrap_or_else(|| "avc1.640028".into())),
        "hevc" => Some(hevc(extradata).unwrap_or_else(|| "hvc1.1.6.L120.90".into())),
        "av1" => Some(av1(extradata).unwrap_or_else(|| "av01.0.08M.08".into())),
        "vp9" => Some(format!("vp09.00.10.{:02}", bit_depth.unwrap_or(8))),
        "aac" => Some(format!(
            "mp4a.40.{}",
            aac_object_type(extradata).unwrap_or(2)
        )),
        "mp3" => Some("mp4a.40.34".into()),
        "ac3" => Some("ac-3".into()),
        "eac3" => Some("ec-3".into()),
        "opus" => Some("opus".into()),
        "flac" => Some("fLaC".into()),
        _ => None,
    }
}

/// `avc1.PPCCLL` from an avcC record (ISO/IEC 14496-15 5.3.3.1: profile, constraint flags,
/// level follow the version byte), or from the first SPS of Annex B extradata.
pub fn avc(extradata: &[u8]) -> Option<String> {
    let b = if extradata.first() == Some(&1) && extradata.len() >= 4 {
        &extradata[1..4]
    } else {
        let sps = annexb_nals(extradata).find(|n| n.first().map(|h| h & 0x1f) == Some(7))?;
        sps.get(1..4)?
    };
    Some(format!("avc1.{:02x}{:02x}{:02x}", b[0], b[1], b[2]))
}

/// `hvc1.<space><profile>.<compat>.<tier><level>.<constraints>` from an hvcC record
/// (ISO/IEC 14496-15 E.3): compatibility flags bit-reversed in hex, trailing zero constraint
/// bytes dropped.
pub fn hevc(extradata: &[u8]) -> Option<String> {
    if extradata.len() < 13 || extradata[0] != 1 {
        return None;
    }
    let space = ["", "A", "B", "C"][(extradata[1] >> 6) as usize];
    let tier = if extradata[1] & 0x20 != 0 { 'H' } else { 'L' };
    let profile = extradata[1] & 0x1f;
    let compat = u32::from_be_bytes(extradata[2..6].try_into().ok()?).reverse_bits();
    let level = extradata[12];
    let mut constraints: Vec<u8> = extradata[6..12].to_vec();
    while constraints.last() == Some(&0) {
        constraints.pop();
    }
    let mut s = format!("hvc1.{space}{profile}.{compat:x}.{tier}{level}");
    for c in constraints {
        s.push_str(&format!(".{c:x}"));
    }
    Some(s)
}

/// `av01.P.LLT.DD` from an av1C record (AV1 Codec ISO Media File Format Binding 5.3).
pub fn av1(extradata: &[u8]) -> Option<String> {
    if extradata.len() < 4 || extradata[0] & 0x7f != 1 {
        return None;
    }
    let profile = extradata[1] >> 5;
    let level = extradata[1] & 0x1f;
    let tier = if extradata[2] & 0x80 != 0 { 'H' } else { 'M' };
    let high = extradata[2] & 0x40 != 0;
    let twelve = extradata[2] & 0x20 != 0;
    let depth = match (high, twelve) {
        (true, true) => 12,
        (true, false) => 10,
        _ => 8,
    };
    Some(format!("av01.{profile}.{level:02}{tier}.{depth:02}"))
}

/// What an AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) says of its stream: the one parse
/// every reader of AAC's configuration uses (codec strings, ADTS headers, the TS tuner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asc {
    /// Audio object type: 2 for AAC-LC, 5 for HE-AAC (SBR), 29 for HE-AACv2.
    pub object_type: u8,
    /// samplingFrequencyIndex (15: the rate is given explicitly).
    pub frequency_index: u8,
    /// Samples per second, from the index's table or given explicitly.
    pub sample_rate: u32,
    /// channelConfiguration (0: given by a program config element).
    pub channels: u8,
}

/// The sampling frequencies of samplingFrequencyIndex 0 to 12 (ISO/IEC 14496-3 1.6.3.4).
const AAC_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// Parses the start of an AudioSpecificConfig: object type (with its escape, 31), sampling
/// frequency (with its escape, 15), channel configuration. `None` for a truncated one, object
/// type 0, or a reserved frequency index.
pub fn parse_asc(asc: &[u8]) -> Option<Asc> {
    let mut at = 0usize;
    let mut bits = |n: usize| -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *asc.get(at / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - at % 8)) & 1);
            at += 1;
        }
        Some(v)
    };
    let object_type = match bits(5)? {
        0 => return None,
        31 => 32 + bits(6)?,
        t => t,
    };
    let frequency_index = bits(4)? as u8;
    let sample_rate = match frequency_index {
        15 => bits(24)?,
        i => *AAC_RATES.get(usize::from(i))?,
    };
    Some(Asc {
        object_type: object_type as u8,
        frequency_index,
        sample_rate,
        channels: bits(4)? as u8,
    })
}

/// The audio object type of an AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1): 2 for AAC-LC,
/// 5 for HE-AAC (SBR), 29 for HE-AACv2.
pub fn aac_object_type(asc: &[u8]) -> Option<u8> {
    parse_asc(asc).map(|a| a.object_type)
}

/// NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01).
pub fn annexb_nals(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&s| {
            let mut e = s - 3;
            while e > 0 && data[e - 1] == 0 {
                e -= 1;
            }
            e
        })
        .chain(std::iter::once(data.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .map(move |(s, e)| &data[s..e.max(s)])
}

/// Whether a length-prefixed (avcC/hvcC style) access unit contains an IDR picture: H.264 NAL
/// type 5, HEVC types 19-20 (IDR_W_RADL, IDR_N_LP). CRA and open-GOP I-frames are not IDR.
pub fn has_idr(codec: &str, access_unit: &[u8], length_size: usize) -> bool {
    let mut at = 0usize;
    while at + length_size <= access_unit.len() {
        let mut len = 0usize;
        for b in &access_unit[at..at + length_size] {
            len = (len << 8) | *b as usize;
        }
        at += length_size;
        if let Some(&h) = access_unit.get(at) {
            let idr = match codec {
                "h264" => h & 0x1f == 5,
                "hevc" => matches!((h >> 1) & 0x3f, 19 | 20),
                _ => false,
            };
            if idr {
                return true;
            }
        }
        at += len;
    }
    false
}

/// NAL length field size from an avcC (byte 4) or hvcC (byte 21) record; 4 when unknown.
pub fn nal_length_size(codec: &str, extradata: &[u8]) -> usize {
    let b = match codec {
        "h264" if extradata.first() == Some(&1) => extradata.get(4),
        "hevc" if extradata.first() == Some(&1) => extradata.get(21),
        _ => None,
    };
    b.map(|b| (b & 0x3) as usize + 1).unwrap_or(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avc_string_comes_from_avcc_profile_constraints_level() {
        // High profile (100), constraint 0x00, level 4.0 (40).
        let avcc = [1, 100, 0, 40, 0xff, 0xe1];
        assert_eq!(avc(&avcc).unwrap(), "avc1.640028");
        assert_eq!(codec_string("h264", &avcc, Some(8)).unwrap(), "avc1.640028");
    }

    #[test]
    fn avc_string_from_annexb_sps() {
        let annexb = [
            0, 0, 0, 1, 0x67, 0x4d, 0x40, 0x1f, 0xaa, 0, 0, 1, 0x68, 0xce,
        ];
        assert_eq!(avc(&annexb).unwrap(), "avc1.4d401f");
    }

    #[test]
    fn hevc_string_reverses_compat_flags_and_drops_zero_constraints() {
        // Main 10 (2), compat flags 0x20000000 (bit 2), tier Main, level 4.0 (120),
        // constraint byte 0x90 - the example of ISO/IEC 14496-15 E.3 style strings.
        let mut hvcc = vec![1, 0x02, 0x20, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 120];
        hvcc.extend_from_slice(&[0; 10]);
        assert_eq!(hevc(&hvcc).unwrap(), "hvc1.2.4.L120.90");
        // Main (1), compat 0x60000000, High tier, level 5.1 (153).
        let hvcc = [1, 0x21, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 153];
        assert_eq!(hevc(&hvcc).unwrap(), "hvc1.1.6.H153.b0");
    }

    #[test]
    fn av1_string_has_profile_level_tier_depth() {
        // profile 0, level 8 (4.0), main tier, 10-bit.
        let av1c = [0x81, 0x08, 0x40, 0x00];
        assert_eq!(av1(&av1c).unwrap(), "av01.0.08M.10");
    }

    #[test]
    fn an_asc_gives_its_rate_and_channels_with_either_escape() {
        // AAC-LC, 48 kHz (index 3), stereo.
        let lc = parse_asc(&[0x11, 0x90]).unwrap();
        assert_eq!(
            (lc.object_type, lc.sample_rate, lc.channels),
            (2, 48_000, 2)
        );
        // AAC-LC at an explicit 12345 Hz (index 15, 24 bits), mono.
        let v = (2u64 << 32) | (15 << 28) | (12345 << 4) | 1;
        let bytes = (v << 27).to_be_bytes();
        let explicit = parse_asc(&bytes[..5]).unwrap();
        assert_eq!((explicit.sample_rate, explicit.channels), (12345, 1));
        // Escaped object type 31 + 1 (ER AAC ELD is 39 = 32 + 7).
        assert_eq!(parse_asc(&[0xf8, 0xec, 0x40]).unwrap().object_type, 39);
        assert_eq!(parse_asc(&[0x11]), None, "truncated");
        assert_eq!(
            parse_asc(&[0x17, 0x90]),
            None,
            "reserved frequency index 14"
        );
    }

    #[test]
    fn aac_object_type_distinguishes_lc_and_he() {
        assert_eq!(aac_object_type(&[0x11, 0x90]), Some(2));
        assert_eq!(aac_object_type(&[0x2b, 0x92]), Some(5));
        assert_eq!(aac_object_type(&[0xf8, 0x21, 0x00]), Some(33));
        assert_eq!(codec_string("aac", &[], None).unwrap(), "mp4a.40.2");
        assert_eq!(codec_string("ac3", &[], None).unwrap(), "ac-3");
        assert_eq!(codec_string("eac3", &[], None).unwrap(), "ec-3");
        assert_eq!(codec_string("flac", &[], None).unwrap(), "fLaC");
        assert!(codec_string("pcm_s16le", &[], None).is_none());
    }

    #[test]
    fn idr_detection_tells_idr_from_open_gop_i_frames() {
        let idr = [0, 0, 0, 2, 0x65, 0x88];
        let non_idr_i = [0, 0, 0, 2, 0x41, 0x9a];
        assert!(has_idr("h264", &idr, 4));
        assert!(!has_idr("h264", &non_idr_i, 4));
        let hevc_idr = [0, 0, 0, 2, 19 << 1, 1];
        let hevc_cra = [0, 0, 0, 2, 21 << 1, 1];
        assert!(has_idr("hevc", &hevc_idr, 4));
        assert!(!has_idr("hevc", &hevc_cra, 4));
        assert!(
            !has_idr("h264", &[0, 0, 0, 9], 4),
            "length past the end is not a panic"
        );
    }
}
