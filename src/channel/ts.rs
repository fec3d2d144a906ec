//! A channel as one continuous MPEG-TS stream (what HDHomeRun tuners send, and what Plex,
//! Jellyfin and Kodi record and play from a tuner): each segment's video and audio samples,
//! taken from the programme's own fMP4 segments, re-timed onto the channel's clock and turned
//! into the elementary streams TS carries ([`crate::es`]). The muxer (FFmpeg's, in
//! `media::ts`) only packetizes, so PTS, PCR and the continuity counters run on across
//! programme changes. Pure: bytes in, packets out.

use crate::es;
use crate::mp4::{init_config, init_timescale, parse_fragment};

/// The MPEG-TS clock (ISO/IEC 13818-1 2.4.2.2: PTS and DTS in 90 kHz units).
pub const TS_HZ: i64 = 90_000;

/// One access unit for the TS muxer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsPacket {
    /// Video (else audio).
    pub video: bool,
    /// Presentation time, 90 kHz, on the channel's clock.
    pub pts: i64,
    /// Decode time, 90 kHz.
    pub dts: i64,
    /// A random access point.
    pub key: bool,
    /// Annex B access unit, or an ADTS frame.
    pub data: Vec<u8>,
}

/// What the audio of a channel's TS stream is: AAC at this rate with this many channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFormat {
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u32,
}

/// The audio format an AAC init segment declares (its AudioSpecificConfig).
pub fn audio_format(audio_init: &[u8]) -> Option<AudioFormat> {
    let (kind, asc) = init_config(audio_init)?;
    if &kind != b"mp4a" {
        return None;
    }
    let asc = crate::codecs::parse_asc(&asc)?;
    Some(AudioFormat {
        sample_rate: asc.sample_rate,
        channels: u32::from(asc.channels),
    })
}

/// A sample of a track's media segment on the TS clock: (dts, pts, sync, bytes).
type TsSample<'a> = (i64, i64, bool, &'a [u8]);

/// The samples of one track's media segment, re-timed by `shift` (its timescale's ticks) onto
/// the channel clock and converted to 90 kHz.
fn samples<'a>(init: &[u8], seg: &'a [u8], shift: i64) -> Option<Vec<TsSample<'a>>> {
    let scale = i64::from(init_timescale(init)?);
    let f = parse_fragment(seg)?;
    let to_ts = |t: i64| -> i64 { (i128::from(t) * i128::from(TS_HZ) / i128::from(scale)) as i64 };
    let mut dts = i64::try_from(f.base_decode_time).ok()? + shift;
    let mut at = f.data_start;
    let mut out = Vec::with_capacity(f.sizes.len());
    for k in 0..f.sizes.len() {
        let size = f.sizes[k] as usize;
        let bytes = seg.get(at..at + size)?;
        out.push((
            to_ts(dts),
            to_ts(dts + i64::from(f.cts_offsets[k])),
            f.sync[k],
            bytes,
        ));
        at += size;
        dts += i64::from(f.durations[k]);
    }
    Some(out)
}

/// One channel segment's access units for the TS muxer, in decode order: the programme's
/// video (`h264`/`hevc`) and AAC segments with their inits, each moved by its shift (ticks of
/// its own timescale, as `lineup::shift_ticks` gives them). Every keyframe carries the
/// programme's parameter sets; every AAC frame its ADTS header. `None` when a part is not
/// what it should be.
pub fn segment_packets(
    video_init: &[u8],
    video: &[u8],
    video_shift: i64,
    audio_init: &[u8],
    audio: &[u8],
    audio_shift: i64,
) -> Option<Vec<EsPacket>> {
    let (kind, record) = init_config(video_init)?;
    let codec = match &kind {
        b"avc1" | b"avc3" => "h264",
        b"hvc1" | b"hev1" => "hevc",
        _ => return None,
    };
    let (length_size, sets) = es::parameter_sets(codec, &record)?;
    let (akind, asc) = init_config(audio_init)?;
    if &akind != b"mp4a" {
        return None;
    }
    let mut out = Vec::new();
    for (dts, pts, key, au) in samples(video_init, video, video_shift)? {
        let data = es::annexb(au, length_size, key.then_some(&sets[..]))?;
        out.push(EsPacket {
            video: true,
            pts,
            dts,
            key,
            data,
        });
    }
    for (dts, pts, _, frame) in samples(audio_init, audio, audio_shift)? {
        let mut data = es::adts_header(&asc, frame.len())?.to_vec();
        data.extend_from_slice(frame);
        out.push(EsPacket {
            video: false,
            pts,
            dts,
            key: true,
            data,
        });
    }
    // Decode order across both streams; video first at a tie (the muxer writes as given).
    out.sort_by_key(|p| (p.dts, !p.video));
    Some(out)
}

/// The packets of the next segment with decode times that rise strictly from those written
/// before (`last`: video, audio; updated), as TS muxers require. Where segments meet, an AAC
/// frame may overlap the previous segment's last (copied audio keeps its own frame times):
/// it is left out. A programme whose first segment still decodes ahead of its first picture
/// (where [`crate::mp4::decode_from_first_picture`] found no ramp) can start decoding before
/// the last one's last frame: its first decode times are moved up to just after it
/// (presentation times are kept, so no picture moves).
pub fn monotonic(packets: Vec<EsPacket>, last: &mut [Option<i64>; 2]) -> Vec<EsPacket> {
    let mut out = Vec::with_capacity(packets.len());
    for mut p in packets {
        let slot = &mut last[usize::from(!p.video)];
        if let Some(l) = *slot {
            if p.dts <= l {
                if !p.video || l + 1 > p.pts {
                    continue;
                }
                p.dts = l + 1;
            }
        }
        *slot = Some(p.dts);
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(video: bool, dts: i64, pts: i64) -> EsPacket {
        EsPacket {
            video,
            pts,
            dts,
            key: false,
            data: vec![],
        }
    }

    #[test]
    fn decode_times_rise_strictly_across_segments() {
        let mut last = [Some(1000), Some(1000)];
        let got = monotonic(
            vec![
                p(true, 990, 1100),
                p(false, 990, 990),
                p(true, 1003, 1200),
                p(false, 1500, 1500),
            ],
            &mut last,
        );
        let times: Vec<(bool, i64, i64)> = got.iter().map(|p| (p.video, p.dts, p.pts)).collect();
        assert_eq!(
            times,
            [(true, 1001, 1100), (true, 1003, 1200), (false, 1500, 1500)],
            "video moved up (pictures kept), the overlapping audio frame left out"
        );
        assert_eq!(last, [Some(1003), Some(1500)]);
    }
}
