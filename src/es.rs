//! Elementary streams as MPEG-TS carries them (ISO/IEC 13818-1): H.264/HEVC in Annex B byte
//! stream format with the parameter sets in band at every keyframe (ITU-T H.264 Annex B,
//! H.265 Annex B), AAC in ADTS frames (ISO/IEC 13818-7 6.2). fMP4 carries them length-prefixed
//! with the parameter sets and the AudioSpecificConfig in the sample entry instead. Converting
//! here, per programme, lets one TS stream run through programmes whose parameter sets (or
//! audio channel counts) differ. Pure: bytes in, bytes out.

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The NAL length size and the parameter sets (VPS, SPS, PPS, in record order) of an avcC
/// (ISO/IEC 14496-15 5.3.3.1) or hvcC (8.3.3.1) record.
pub fn parameter_sets(codec: &str, record: &[u8]) -> Option<(usize, Vec<Vec<u8>>)> {
    let mut sets = Vec::new();
    let len16 = |b: &[u8], at: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *b.get(at)?,
            *b.get(at + 1)?,
        ])))
    };
    match codec {
        "h264" => {
            if record.first() != Some(&1) {
                return None;
            }
            let length_size = usize::from(record.get(4)? & 3) + 1;
            let mut at = 5;
            // numOfSequenceParameterSets (5 bits), then numOfPictureParameterSets (8 bits).
            for mask in [0x1f, 0xff] {
                let n = record.get(at)? & mask;
                at += 1;
                for _ in 0..n {
                    let len = len16(record, at)?;
                    sets.push(record.get(at + 2..at + 2 + len)?.to_vec());
                    at += 2 + len;
                }
            }
            Some((length_size, sets))
        }
        "hevc" => {
            if record.first() != Some(&1) {
                return None;
            }
            let length_size = usize::from(record.get(21)? & 3) + 1;
            let arrays = *record.get(22)?;
            let mut at = 23;
            for _ in 0..arrays {
                let n = len16(record, at + 1)?;
                at += 3;
                for _ in 0..n {
                    let len = len16(record, at)?;
                    sets.push(record.get(at + 2..at + 2 + len)?.to_vec());
                    at += 2 + len;
                }
            }
            Some((length_size, sets))
        }
        _ => None,
    }
}

/// One length-prefixed access unit in Annex B form, with `sets` (the parameter sets) before
/// its first NAL unit when given (a keyframe). `None` when a length runs past the end.
pub fn annexb(access_unit: &[u8], length_size: usize, sets: Option<&[Vec<u8>]>) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(access_unit.len() + 64);
    for s in sets.unwrap_or_default() {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(s);
    }
    let mut at = 0;
    while at < access_unit.len() {
        let len = access_unit
            .get(at..at + length_size)?
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
        at += length_size;
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(access_unit.get(at..at + len)?);
        at += len;
    }
    Some(out)
}

/// One Annex B access unit (start codes of 3 or 4 bytes) as fMP4 carries it: each NAL unit
/// behind its length in `length_size` bytes (ISO/IEC 14496-15 5.3.2), parameter sets kept in
/// band. `None` when a NAL unit is too long for the length size.
pub fn length_prefixed(annexb: &[u8], length_size: usize) -> Option<Vec<u8>> {
    // Start code positions: 00 00 01, with a zero before it belonging to the 4-byte form.
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annexb.len() {
        if annexb[i..i + 3] == [0, 0, 1] {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::with_capacity(annexb.len() + 4 * starts.len());
    for (k, &(_, from)) in starts.iter().enumerate() {
        let mut to = starts.get(k + 1).map_or(annexb.len(), |s| s.0);
        // Trailing zeros are the next start code's leading zero (or stuffing).
        while to > from && annexb[to - 1] == 0 {
            to -= 1;
        }
        let len = to - from;
        if length_size < 8 && len >> (8 * length_size) != 0 {
            return None;
        }
        out.extend_from_slice(&len.to_be_bytes()[8 - length_size..]);
        out.extend_from_slice(&annexb[from..to]);
    }
    Some(out)
}

/// The 7-byte ADTS header (ISO/IEC 13818-7 6.2.1, no CRC) for one raw AAC frame of
/// `frame_len` bytes, from the stream's AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1).
pub fn adts_header(asc: &[u8], frame_len: usize) -> Option<[u8; 7]> {
    let crate::codecs::Asc {
        object_type,
        frequency_index: freq_index,
        channels,
        ..
    } = crate::codecs::parse_asc(asc)?;
    // ADTS names profiles 1-4 (object type - 1); an explicit frequency (index 15) has no
    // ADTS form.
    if !(1..=4).contains(&object_type) || freq_index > 12 {
        return None;
    }
    let len = frame_len + 7;
    if len >= 1 << 13 {
        return None;
    }
    let profile = object_type - 1;
    Some([
        0xff,
        0xf1, // syncword, MPEG-4, layer 0, no CRC
        (profile << 6) | (freq_index << 2) | (channels >> 2),
        ((channels & 3) << 6) | ((len >> 11) as u8 & 3),
        (len >> 3) as u8,
        ((len as u8 & 7) << 5) | 0x1f,
        0xfc, // buffer fullness 0x7ff (variable), one raw data block
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn length_prefixed_undoes_annexb_with_either_start_code() {
        let sets = vec![vec![0x67, 1, 2], vec![0x68, 3]];
        let au = [0, 0, 0, 2, 0x65, 9, 0, 0, 0, 1, 0x41];
        let b = annexb(&au, 4, Some(&sets)).unwrap();
        let back = length_prefixed(&b, 4).unwrap();
        let mut want = vec![0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3];
        want.extend_from_slice(&au);
        assert_eq!(back, want);
        // 3-byte start codes, and a 2-byte length field.
        assert_eq!(
            length_prefixed(&[0, 0, 1, 0x65, 7, 0, 0, 1, 0x41], 2).unwrap(),
            vec![0, 2, 0x65, 7, 0, 1, 0x41]
        );
        // A NAL unit too long for one length byte.
        let long = [vec![0, 0, 1], vec![0x65; 300]].concat();
        assert!(length_prefixed(&long, 1).is_none());
    }

    use super::*;

    #[test]
    fn avcc_gives_its_length_size_and_sps_and_pps() {
        let avcc = [
            1, 0x64, 0, 0x1e, 0xff, 0xe1, 0, 3, 0x67, 0xaa, 0xbb, 1, 0, 2, 0x68, 0xcc,
        ];
        let (len, sets) = parameter_sets("h264", &avcc).unwrap();
        assert_eq!(len, 4);
        assert_eq!(sets, vec![vec![0x67, 0xaa, 0xbb], vec![0x68, 0xcc]]);
        assert!(parameter_sets("h264", &avcc[..10]).is_none(), "truncated");
    }

    #[test]
    fn access_units_become_annexb_with_the_sets_before_a_keyframe() {
        let au = [0, 0, 0, 2, 0x65, 0x11, 0, 0, 0, 1, 0x06];
        let sets = vec![vec![0x67], vec![0x68]];
        assert_eq!(
            annexb(&au, 4, Some(&sets)).unwrap(),
            [0, 0, 0, 1, 0x67, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x65, 0x11, 0, 0, 0, 1, 0x06]
        );
        assert_eq!(annexb(&au, 4, None).unwrap()[..6], [0, 0, 0, 1, 0x65, 0x11]);
        assert!(annexb(&au[..5], 4, None).is_none(), "a length past the end");
    }

    #[test]
    fn adts_header_carries_profile_rate_channels_and_length() {
        // AAC LC, 48 kHz (index 3), stereo: ASC 0x11 0x90.
        let h = adts_header(&[0x11, 0x90], 100).unwrap();
        assert_eq!(h, [0xff, 0xf1, 0x4c, 0x80, 0x0d, 0x7f, 0xfc]);
        // 5.1 at 44.1 kHz: channel configuration 6 spans bytes 2 and 3.
        let h = adts_header(&[0x12, 0x30], 10).unwrap();
        assert_eq!((h[2] & 1, h[3] >> 6), (1, 2));
        assert!(
            adts_header(&[0x2b, 0x80], 10).is_none(),
            "object type 5 (SBR)"
        );
    }
}
