//! One-track media segments re-timed or cut for a live channel: moved to the channel's one
//! timescale, cut to a programme's picture, and a programme's first segment made to decode
//! from its first picture. The samples' bytes are kept; only the sample tables and decode
//! times change.
//!
//! Pure: bytes in, bytes out. ISO/IEC 14496-12 references throughout.

use super::combine::{get_u32, put_u32};
use super::{child, parse_fragment, write_fragment, FragmentSample};

/// A one-track media segment with only the samples whose decode time (ticks of its own
/// timescale, 8.8.12 tfdt plus the durations before it) is in `from..until`; the segment itself
/// when it keeps them all. A channel cuts each programme's sound to the span of its picture
/// with it: sound that starts before a programme's first picture would decode before the last
/// sound of the programme airing before it, and a decode time going back makes Chromium
/// (MSE, segments mode) drop the video up to the next keyframe (shaka-player froze 4 s).
pub fn keep_samples(seg: &[u8], from: i64, until: i64) -> Option<Vec<u8>> {
    let f = parse_fragment(seg)?;
    let mut t = i64::try_from(f.base_decode_time).ok()?;
    let mut at = f.data_start;
    let (mut base, mut samples, mut data) = (None, Vec::new(), Vec::new());
    for k in 0..f.durations.len() {
        let size = f.sizes[k] as usize;
        let bytes = seg.get(at..at + size)?;
        if (from..until).contains(&t) {
            base.get_or_insert(t);
            samples.push(FragmentSample {
                duration: f.durations[k],
                size: f.sizes[k],
                sync: f.sync[k],
                cts: u32::try_from(f.cts_offsets[k]).ok()?,
            });
            data.push(bytes);
        }
        t += i64::from(f.durations[k]);
        at += size;
    }
    if samples.len() == f.durations.len() {
        return Some(seg.to_vec());
    }
    let base = u64::try_from(base.unwrap_or(t)).ok()?;
    Some(write_fragment(
        f.sequence,
        track_id(seg)?,
        base,
        &samples,
        &data,
    ))
}

/// A programme's first video segment rewritten so that its first decode time is its first
/// picture's: the first samples decode faster than they play (a ramp), until the file's own
/// decode times, a reorder delay ahead of the pictures, take over; every picture is presented
/// when it was, and the segment ends where it did, so the programme's next segments are
/// untouched. At each discontinuity hls.js maps the new programme's first decode time to where
/// the last picture ended (a new initPTS, hls.js 1.7 passthrough-remuxer); a programme that
/// decodes its reorder delay before its first picture (B-frames, or a rung's constant offset)
/// would open a hole that long there, stepped over with a stall.
///
/// The ramp's step is the largest that keeps every sample decoded no later than it is shown
/// (8.8.8 trun: composition offsets stay positive, version 0) and at most half the first
/// sample's duration, so the file's decode times are met within the segment. `None` where the
/// first sample is shown when decoded already, or where no ramp fits (a picture shown before
/// the first: an open GOP's leading pictures).
pub fn decode_from_first_picture(seg: &[u8]) -> Option<Vec<u8>> {
    let f = parse_fragment(seg)?;
    let lead = i64::from(*f.cts_offsets.first()?);
    if lead <= 0 {
        return None;
    }
    // Decode and presentation times from the segment's first decode time.
    let mut dts = Vec::with_capacity(f.durations.len());
    let mut end = 0i64;
    for &d in &f.durations {
        dts.push(end);
        end += i64::from(d);
    }
    let pts: Vec<i64> = dts
        .iter()
        .zip(&f.cts_offsets)
        .map(|(&d, &c)| d + i64::from(c))
        .collect();
    // The step num/den: min over k of (pts[k] - lead) / k, and half the first duration.
    let (mut num, mut den) = (i64::from(f.durations[0]), 2i64);
    for (k, &p) in pts.iter().enumerate().skip(1) {
        if (p - lead) * den < num * k as i64 {
            (num, den) = (p - lead, k as i64);
        }
    }
    if num < den {
        return None;
    }
    let decode: Vec<i64> = dts
        .iter()
        .enumerate()
        .map(|(k, &d)| d.max(lead + k as i64 * num / den))
        .collect();
    if *decode.last()? >= end {
        return None;
    }
    let samples: Vec<FragmentSample> = (0..decode.len())
        .map(|k| {
            let next = decode.get(k + 1).copied().unwrap_or(end);
            Some(FragmentSample {
                duration: u32::try_from(next - decode[k]).ok()?,
                size: f.sizes[k],
                sync: f.sync[k],
                cts: u32::try_from(pts[k] - decode[k]).ok()?,
            })
        })
        .collect::<Option<_>>()?;
    let base = f.base_decode_time.checked_add(lead.unsigned_abs())?;
    with_samples(seg, &f, base, &samples)
}

/// A one-track media segment `seg` (read as `f`) written again with the same samples' bytes
/// under a new decode time and sample table (one entry per sample of `f`).
fn with_samples(
    seg: &[u8],
    f: &super::FragmentInfo,
    base: u64,
    samples: &[FragmentSample],
) -> Option<Vec<u8>> {
    let total: usize = f.sizes.iter().map(|&s| s as usize).sum();
    let data = seg.get(f.data_start..f.data_start + total)?;
    Some(write_fragment(
        f.sequence,
        track_id(seg)?,
        base,
        samples,
        &[data],
    ))
}

/// The track_ID of a one-track media segment's traf (8.8.7 tfhd, after version/flags).
fn track_id(seg: &[u8]) -> Option<u32> {
    let moof = child(seg, b"moof")?;
    get_u32(child(child(moof.body, b"traf")?.body, b"tfhd")?.body, 4)
}

/// A one-track media segment moved from timescale `from` to `to`: its decode time (8.8.12
/// tfdt), sample durations and composition offsets (8.8.8 trun). Each decode and presentation
/// time is rounded to the nearest tick of `to` from the track's own start, not sample by
/// sample, so times never drift and consecutive segments still meet. A channel plays every
/// programme's video at one timescale: GStreamer's hlsdemux keeps the first init it read
/// across an EXT-X-MAP change, and read a programme of another timescale at the wrong speed
/// (an episode at 16000 ticks/s after a pilot at 12288 played 9 s late and stalled).
pub fn retime(seg: &[u8], from: u32, to: u32) -> Option<Vec<u8>> {
    if from == to {
        return Some(seg.to_vec());
    }
    let (from, to) = (i128::from(from.max(1)), i128::from(to));
    let at = |t: i64| i64::try_from((i128::from(t) * to + from / 2).div_euclid(from)).ok();
    let f = parse_fragment(seg)?;
    let mut t = i64::try_from(f.base_decode_time).ok()?;
    let base = u64::try_from(at(t)?).ok()?;
    let mut samples = Vec::with_capacity(f.sizes.len());
    for k in 0..f.sizes.len() {
        let next = t + i64::from(f.durations[k]);
        let dts = at(t)?;
        samples.push(FragmentSample {
            duration: u32::try_from(at(next)? - dts).ok()?,
            size: f.sizes[k],
            sync: f.sync[k],
            cts: u32::try_from(at(t + i64::from(f.cts_offsets[k]))? - dts).ok()?,
        });
        t = next;
    }
    with_samples(seg, &f, base, &samples)
}

/// An init segment with its first track's timescale (8.4.2 mdhd, after version/flags and the
/// creation and modification times, 32 or 64 bits each by version) set to `to`: the init of
/// the segments [`retime`] moved there.
pub fn with_timescale(init: &[u8], to: u32) -> Option<Vec<u8>> {
    let moov = child(init, b"moov")?.body;
    let mdhd = super::path(moov, &[b"trak", b"mdia", b"mdhd"])?;
    let version = *mdhd.first()?;
    let at = mdhd.as_ptr() as usize - init.as_ptr() as usize + if version == 1 { 20 } else { 12 };
    let mut out = init.to_vec();
    put_u32(&mut out, at, to)?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::combine::boxed;

    use crate::mp4::fragment::test_sample as sample;
    #[test]
    fn keep_samples_cuts_a_fragment_to_a_span_of_decode_times() {
        let samples: Vec<FragmentSample> = (0..10).map(|k| sample(100 + k, true)).collect();
        let bytes: Vec<Vec<u8>> = (0..10u8).map(|k| vec![k; 100 + k as usize]).collect();
        let data: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
        let seg = write_fragment(7, 2, 1000, &samples, &data);
        // All kept: the same bytes.
        assert_eq!(keep_samples(&seg, 1000, 1000 + 10 * 1024).unwrap(), seg);
        // Samples 2, 3 and 4 (decode times 3048, 4072, 5096).
        let cut = keep_samples(&seg, 1000 + 2 * 1024, 1000 + 5 * 1024).unwrap();
        let f = parse_fragment(&cut).unwrap();
        assert_eq!((f.sequence, f.base_decode_time), (7, 1000 + 2 * 1024));
        assert_eq!(f.sizes, vec![102, 103, 104]);
        assert_eq!(&cut[f.data_start..f.data_start + 102], &bytes[2][..]);
        assert_eq!(&cut[cut.len() - 104..], &bytes[4][..]);
        // The track id stays.
        let traf = child(child(&cut, b"moof").unwrap().body, b"traf").unwrap();
        assert_eq!(get_u32(child(traf.body, b"tfhd").unwrap().body, 4), Some(2));
    }

    #[test]
    fn retime_rounds_each_time_from_the_start_so_segments_still_meet() {
        // Frames of 1/24 s at 16000 ticks/s (FFmpeg's timescale for a Matroska source):
        // 667, 666, 667 ticks, one B-frame's composition offset.
        let frames = |base: u64, n: usize| {
            let samples: Vec<FragmentSample> = (0..n)
                .map(|k| FragmentSample {
                    duration: [667, 666, 667][k % 3],
                    size: 1 + k as u32,
                    sync: k == 0,
                    cts: if k == 0 { 1333 } else { 0 },
                })
                .collect();
            let bytes: Vec<Vec<u8>> = (0..n).map(|k| vec![k as u8; 1 + k]).collect();
            let data: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
            write_fragment(3, 1, base, &samples, &data)
        };
        let first = retime(&frames(480_000, 6), 16_000, 90_000).unwrap();
        let f = parse_fragment(&first).unwrap();
        assert_eq!(f.base_decode_time, 2_700_000, "30 s");
        // 667 ticks are 3751.875 at 90 kHz: times rounded from the start give durations of
        // 3752 and 3746, and every third frame lands on 1/8 s exactly (11250 ticks).
        assert_eq!(f.durations, vec![3752, 3746, 3752, 3752, 3746, 3752]);
        assert_eq!(f.cts_offsets[0], 7498);
        assert_eq!(f.sizes, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(f.sync, vec![true, false, false, false, false, false]);
        assert_eq!(&first[first.len() - 6..], &[5; 6][..], "the samples' bytes");
        // The next segment starts where this one ends, to the tick.
        let next = retime(&frames(480_000 + 4000, 6), 16_000, 90_000).unwrap();
        let end = f.base_decode_time + f.durations.iter().map(|&d| u64::from(d)).sum::<u64>();
        assert_eq!(parse_fragment(&next).unwrap().base_decode_time, end);
        // The same timescale: the same bytes.
        assert_eq!(retime(&frames(0, 2), 16_000, 16_000).unwrap(), frames(0, 2));
    }

    #[test]
    fn a_programmes_first_segment_decodes_from_its_first_picture_and_ends_where_it_did() {
        // x264's B-pyramid at 3750 ticks a frame: decode order I0 P4 B2 b1 b3 P8 B6 b5 b7,
        // the I frame shown two frames after it decodes.
        let f = 3750u32;
        let shown = [0, 4, 2, 1, 3, 8, 6, 5, 7];
        let samples: Vec<FragmentSample> = shown
            .iter()
            .enumerate()
            .map(|(k, &p)| FragmentSample {
                duration: f,
                size: 1,
                sync: k == 0,
                cts: (p + 2 - k as u32) * f,
            })
            .collect();
        let data: Vec<&[u8]> = vec![b"x"; shown.len()];
        let seg = write_fragment(3, 1, 90_000, &samples, &data);
        let out = parse_fragment(&decode_from_first_picture(&seg).unwrap()).unwrap();
        assert_eq!(
            out.base_decode_time,
            90_000 + 2 * u64::from(f),
            "the first picture"
        );
        let mut t = out.base_decode_time as i64;
        for (k, (&d, &c)) in out.durations.iter().zip(&out.cts_offsets).enumerate() {
            assert!(c >= 0, "sample {k} decoded after it is shown");
            assert_eq!(
                t + i64::from(c),
                90_000 + i64::from((shown[k] + 2) * f),
                "{k}"
            );
            assert!(d > 0);
            t += i64::from(d);
        }
        // The file's decode times from the fifth sample on, and the same end.
        assert_eq!(&out.durations[4..], &[f; 5][..]);
        assert_eq!(t, 90_000 + 9 * i64::from(f));
        // Shown when decoded already: nothing to do.
        let now: Vec<FragmentSample> = samples
            .iter()
            .map(|s| FragmentSample { cts: 0, ..*s })
            .collect();
        assert!(decode_from_first_picture(&write_fragment(3, 1, 0, &now, &data)).is_none());
    }

    #[test]
    fn with_timescale_sets_the_first_tracks_mdhd_of_either_version() {
        for (version, times) in [(0u8, 8), (1, 16)] {
            let mut mdhd = vec![version, 0, 0, 0];
            mdhd.extend(vec![0; times]);
            mdhd.extend(16_000u32.to_be_bytes());
            mdhd.extend(vec![0; times / 2 + 4]);
            let trak = boxed(b"trak", &boxed(b"mdia", &boxed(b"mdhd", &mdhd)));
            let init = [boxed(b"ftyp", b"iso6"), boxed(b"moov", &trak)].concat();
            assert_eq!(crate::mp4::init_timescale(&init), Some(16_000));
            let out = with_timescale(&init, 90_000).unwrap();
            assert_eq!(crate::mp4::init_timescale(&out), Some(90_000));
            assert_eq!(out.len(), init.len());
        }
    }
}
