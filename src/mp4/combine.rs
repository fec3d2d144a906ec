//! One video and one audio rendition made into a single two-track fragmented MP4, re-timed:
//! what a live channel serves (IPTV clients expect audio and video in one stream). The
//! renditions' own segments are reused byte for byte; only track ids, decode times and data
//! offsets change, so a channel's segment costs a copy of bytes already made (and cached) for
//! on-demand playback.
//!
//! Pure: bytes in, bytes out. ISO/IEC 14496-12 references throughout.

use super::fragment::{TFHD_BASE_DATA_OFFSET, TRUN_DATA_OFFSET};
use super::{boxes, child, parse_fragment, write_fragment, Box, FragmentSample};

/// Which track of the combined stream: video is track 1, audio track 2.
const VIDEO_TRACK: u32 = 1;
const AUDIO_TRACK: u32 = 2;

/// The whole box (header included) of a [`Box`] found in `parent`.
fn whole<'a>(parent: &'a [u8], b: &Box<'_>) -> &'a [u8] {
    let end = b.body.as_ptr() as usize - parent.as_ptr() as usize + b.body.len();
    &parent[b.offset..end]
}

/// Offset of a box's body within its whole box (8, or 16 with a 64-bit size).
fn body_at(parent: &[u8], b: &Box<'_>) -> usize {
    b.body.as_ptr() as usize - parent.as_ptr() as usize - b.offset
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) -> Option<()> {
    buf.get_mut(at..at + 4)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

fn get_u32(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

/// A box made of a type and a body (4.2).
fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(8 + body.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// A copy of a `trak` with its tkhd track_ID set (8.3.2: after version/flags and the creation
/// and modification times, 32 or 64 bits each by version).
fn trak_with_id(moov: &[u8], trak: &Box<'_>, id: u32) -> Option<Vec<u8>> {
    let mut out = whole(moov, trak).to_vec();
    let at = body_at(moov, trak);
    let tkhd = child(trak.body, b"tkhd")?;
    let tkhd_body = at + tkhd.body.as_ptr() as usize - trak.body.as_ptr() as usize;
    let version = *tkhd.body.first()?;
    let id_at = tkhd_body + if version == 1 { 4 + 16 } else { 4 + 8 };
    put_u32(&mut out, id_at, id)?;
    Some(out)
}

/// A copy of a `trex` with its track_ID set (8.8.3: after version/flags).
fn trex_with_id(mvex: &[u8], trex: &Box<'_>, id: u32) -> Option<Vec<u8>> {
    let mut out = whole(mvex, trex).to_vec();
    put_u32(&mut out, body_at(mvex, trex) + 4, id)?;
    Some(out)
}

/// The init segment of the combined stream: the video init's `ftyp` and `moov`, with the
/// audio init's track added as track 2 (its `trak`, and its `trex` in `mvex`, 8.8.3) and the
/// mvhd's next_track_ID (8.2.2, the body's last field) set past it. `None` when either init
/// is not a one-track fragmented MP4.
pub fn combine_init(video: &[u8], audio: &[u8]) -> Option<Vec<u8>> {
    let vmoov = child(video, b"moov")?;
    let amoov = child(audio, b"moov")?;
    let atrak = child(amoov.body, b"trak")?;
    let amvex = child(amoov.body, b"mvex")?;
    let atrex = child(amvex.body, b"trex")?;
    let mut moov = Vec::new();
    for b in boxes(vmoov.body) {
        match &b.kind {
            b"mvhd" => {
                let mut mvhd = whole(vmoov.body, &b).to_vec();
                let last = mvhd.len().checked_sub(4)?;
                put_u32(&mut mvhd, last, AUDIO_TRACK + 1)?;
                moov.extend(mvhd);
            }
            b"trak" => {
                moov.extend(trak_with_id(vmoov.body, &b, VIDEO_TRACK)?);
                moov.extend(trak_with_id(amoov.body, &atrak, AUDIO_TRACK)?);
            }
            b"mvex" => {
                let mut mvex = Vec::new();
                for e in boxes(b.body) {
                    if &e.kind == b"trex" {
                        mvex.extend(trex_with_id(b.body, &e, VIDEO_TRACK)?);
                        mvex.extend(trex_with_id(amvex.body, &atrex, AUDIO_TRACK)?);
                    } else {
                        mvex.extend_from_slice(whole(b.body, &e));
                    }
                }
                moov.extend(boxed(b"mvex", &mvex));
            }
            _ => moov.extend_from_slice(whole(vmoov.body, &b)),
        }
    }
    let mut out = Vec::new();
    for b in boxes(video) {
        match &b.kind {
            b"moov" => out.extend(boxed(b"moov", &moov)),
            _ => out.extend_from_slice(whole(video, &b)),
        }
    }
    Some(out)
}

/// One track's part of a media segment: its `traf` rewritten, and its samples' bytes.
struct TrackPart {
    traf: Vec<u8>,
    /// Where in `traf` each trun's data_offset field is, with its offset into `data`.
    offsets: Vec<(usize, u32)>,
    data: Vec<u8>,
}

/// Takes apart a one-track media segment (one `moof` with one `traf`, then its `mdat`), giving
/// its traf the track id `id` and its decode time (8.8.12 tfdt, written as version 1) `shift`
/// ticks later.
fn track_part(seg: &[u8], id: u32, shift: i64) -> Option<TrackPart> {
    let all: Vec<Box<'_>> = boxes(seg).collect();
    let moof_i = all.iter().position(|b| &b.kind == b"moof")?;
    let moof = &all[moof_i];
    let mdat = all[moof_i + 1..].iter().find(|b| &b.kind == b"mdat")?;
    if all.iter().filter(|b| &b.kind == b"moof").count() != 1 {
        return None;
    }
    // Data offsets in the source count from the moof's first byte (default-base-is-moof).
    let data_start = mdat.body.as_ptr() as usize - seg.as_ptr() as usize - moof.offset;
    let traf = child(moof.body, b"traf")?;
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for b in boxes(traf.body) {
        let bytes = whole(traf.body, &b);
        match &b.kind {
            b"tfhd" => {
                let flags = get_u32(b.body, 0)? & 0xff_ffff;
                if flags & TFHD_BASE_DATA_OFFSET != 0 {
                    return None;
                }
                let mut t = bytes.to_vec();
                put_u32(&mut t, body_at(traf.body, &b) + 4, id)?;
                out.extend(t);
            }
            b"tfdt" => {
                let version = *b.body.first()?;
                let base = if version == 1 {
                    u64::from_be_bytes(b.body.get(4..12)?.try_into().ok()?)
                } else {
                    u64::from(get_u32(b.body, 4)?)
                };
                let base = u64::try_from(i64::try_from(base).ok()?.checked_add(shift)?).ok()?;
                let mut body = vec![1, 0, 0, 0];
                body.extend_from_slice(&base.to_be_bytes());
                out.extend(boxed(b"tfdt", &body));
            }
            b"trun" => {
                let flags = get_u32(b.body, 0)? & 0xff_ffff;
                let at = out.len() + body_at(traf.body, &b) + 8;
                if flags & TRUN_DATA_OFFSET != 0 {
                    let old = get_u32(b.body, 8)? as usize;
                    let into = old.checked_sub(data_start)?;
                    offsets.push((at, into as u32));
                }
                out.extend_from_slice(bytes);
            }
            _ => out.extend_from_slice(bytes),
        }
    }
    Some(TrackPart {
        traf: boxed(b"traf", &out),
        offsets: offsets.into_iter().map(|(at, o)| (at + 8, o)).collect(),
        data: mdat.body.to_vec(),
    })
}

/// One media segment of the combined stream: a `moof` with the mfhd sequence number
/// `sequence` (8.8.5) and the video's and the audio's `traf`, each track's decode times moved
/// by its shift (ticks of its own timescale), then one `mdat` with the video's bytes and the
/// audio's. `None` when either input is not a one-track media segment, or a shift would make
/// a decode time negative.
pub fn combine_fragment(
    sequence: u32,
    video: &[u8],
    video_shift: i64,
    audio: &[u8],
    audio_shift: i64,
) -> Option<Vec<u8>> {
    let parts = [
        track_part(video, VIDEO_TRACK, video_shift)?,
        track_part(audio, AUDIO_TRACK, audio_shift)?,
    ];
    let mut mfhd = vec![0, 0, 0, 0];
    mfhd.extend_from_slice(&sequence.to_be_bytes());
    let mut moof_body = boxed(b"mfhd", &mfhd);
    let mut traf_at = Vec::new();
    for p in &parts {
        traf_at.push(8 + moof_body.len());
        moof_body.extend_from_slice(&p.traf);
    }
    let mut moof = boxed(b"moof", &moof_body);
    // Each track's bytes follow the mdat header, video first.
    let mut data_at = moof.len() + 8;
    for (p, at) in parts.iter().zip(traf_at) {
        for (field, into) in &p.offsets {
            put_u32(&mut moof, at + field, (data_at + *into as usize) as u32)?;
        }
        data_at += p.data.len();
    }
    let data: Vec<u8> = parts.iter().flat_map(|p| p.data.iter().copied()).collect();
    moof.extend(boxed(b"mdat", &data));
    Some(moof)
}

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

/// A one-track media segment whose samples all have one composition offset `c` > 0 (a rung:
/// no B-frames, presented the file's reorder delay after decoding), rewritten with offsets of
/// 0 and its decode times `c` later: every sample is presented when it was. A channel of
/// rungs does this to their video so that a programme's first decode time is its first
/// picture: at
/// each discontinuity hls.js maps the new programme's first decode time to where the last
/// picture ended, and a programme that decoded `c` before its picture opened a hole of `c`
/// there (85 ms, stepped over with a stall). `None` when the offsets differ (B-frames) or are
/// all 0 already.
pub fn decode_when_presented(seg: &[u8]) -> Option<Vec<u8>> {
    let f = parse_fragment(seg)?;
    let c = *f.cts_offsets.first()?;
    if c <= 0 || f.cts_offsets.iter().any(|&o| o != c) {
        return None;
    }
    let samples: Vec<FragmentSample> = (0..f.sizes.len())
        .map(|k| FragmentSample {
            duration: f.durations[k],
            size: f.sizes[k],
            sync: f.sync[k],
            cts: 0,
        })
        .collect();
    let base = f
        .base_decode_time
        .checked_add(u64::from(c.unsigned_abs()))?;
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
    use crate::mp4::{parse_fragment, write_fragment, FragmentSample};

    fn sample(size: u32, sync: bool) -> FragmentSample {
        FragmentSample {
            duration: 1024,
            size,
            sync,
            cts: 0,
        }
    }

    /// A one-track init as FFmpeg writes it, reduced to what the combiner touches.
    fn init(handler: &[u8; 4]) -> Vec<u8> {
        let mut tkhd = vec![0, 0, 0, 3];
        tkhd.extend([0; 8]);
        tkhd.extend(1u32.to_be_bytes());
        tkhd.extend([0; 68]);
        let trak = boxed(
            b"trak",
            &[boxed(b"tkhd", &tkhd), boxed(b"mdia", handler)].concat(),
        );
        let mut mvhd = vec![0; 96];
        mvhd[92..].copy_from_slice(&2u32.to_be_bytes());
        let mut trex = vec![0, 0, 0, 0];
        trex.extend(1u32.to_be_bytes());
        trex.extend([0; 16]);
        let moov = boxed(
            b"moov",
            &[
                boxed(b"mvhd", &mvhd),
                trak,
                boxed(b"mvex", &boxed(b"trex", &trex)),
            ]
            .concat(),
        );
        [boxed(b"ftyp", b"iso6"), moov].concat()
    }

    #[test]
    fn combined_init_has_the_audio_track_as_track_two() {
        let out = combine_init(&init(b"vide"), &init(b"soun")).unwrap();
        let moov = child(&out, b"moov").unwrap().body;
        let ids: Vec<u32> = boxes(moov)
            .filter(|b| &b.kind == b"trak")
            .map(|t| get_u32(child(t.body, b"tkhd").unwrap().body, 12).unwrap())
            .collect();
        assert_eq!(ids, vec![1, 2]);
        let handlers: Vec<&[u8]> = boxes(moov)
            .filter(|b| &b.kind == b"trak")
            .map(|t| child(t.body, b"mdia").unwrap().body)
            .collect();
        assert_eq!(handlers, vec![b"vide", b"soun"]);
        let mvex = child(moov, b"mvex").unwrap().body;
        let trex: Vec<u32> = boxes(mvex).map(|b| get_u32(b.body, 4).unwrap()).collect();
        assert_eq!(trex, vec![1, 2]);
        let mvhd = child(moov, b"mvhd").unwrap().body;
        assert_eq!(get_u32(mvhd, 92), Some(3), "next_track_ID");
    }

    #[test]
    fn combined_fragment_moves_decode_times_and_points_at_each_tracks_bytes() {
        let v = write_fragment(
            5,
            1,
            1000,
            &[sample(3, true), sample(2, false)],
            &[b"VVV", b"vv"],
        );
        let a = write_fragment(9, 1, 48_000, &[sample(4, true)], &[b"AAAA"]);
        let out = combine_fragment(42, &v, 9_000_000_000, &a, 480_000).unwrap();
        let moof = child(&out, b"moof").unwrap();
        let trafs: Vec<Box<'_>> = boxes(moof.body).filter(|b| &b.kind == b"traf").collect();
        assert_eq!(trafs.len(), 2);
        let mdat = child(&out, b"mdat").unwrap();
        assert_eq!(mdat.body, b"VVVvvAAAA");
        let mut want = vec![
            (1, 9_000_001_000u64, b"VVVvv".to_vec()),
            (2, 528_000, b"AAAA".to_vec()),
        ];
        for (t, (id, tfdt, bytes)) in trafs.iter().zip(want.drain(..)) {
            assert_eq!(get_u32(child(t.body, b"tfhd").unwrap().body, 4), Some(id));
            let tfdt_box = child(t.body, b"tfdt").unwrap().body;
            assert_eq!(
                u64::from_be_bytes(tfdt_box[4..12].try_into().unwrap()),
                tfdt
            );
            let trun = child(t.body, b"trun").unwrap().body;
            let off = get_u32(trun, 8).unwrap() as usize;
            assert_eq!(&out[off..off + bytes.len()], &bytes[..]);
        }
        // The first traf reads back as the video's fragment did, on its new clock.
        let info = parse_fragment(&out).unwrap();
        assert_eq!((info.sequence, info.base_decode_time), (42, 9_000_001_000));
        assert_eq!(info.sizes, vec![3, 2]);
    }

    #[test]
    fn a_shift_before_zero_or_a_broken_segment_is_refused() {
        let v = write_fragment(1, 1, 10, &[sample(1, true)], &[b"V"]);
        assert!(combine_fragment(1, &v, -11, &v, 0).is_none());
        assert!(combine_fragment(1, &v[..20], 0, &v, 0).is_none());
        assert!(combine_fragment(1, b"", 0, &v, 0).is_none());
    }

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
    fn a_constant_composition_offset_becomes_a_later_decode_time() {
        let samples: Vec<FragmentSample> = (0..3)
            .map(|k| FragmentSample {
                duration: 512,
                size: 4,
                sync: k == 0,
                cts: 1024,
            })
            .collect();
        let data: Vec<&[u8]> = vec![b"aaaa", b"bbbb", b"cccc"];
        let seg = write_fragment(7, 1, 10_000, &samples, &data);
        let out = decode_when_presented(&seg).unwrap();
        let f = parse_fragment(&out).unwrap();
        assert_eq!(f.base_decode_time, 11_024);
        assert_eq!(f.cts_offsets, vec![0, 0, 0]);
        assert_eq!(f.durations, vec![512; 3]);
        assert_eq!(f.sync, vec![true, false, false]);
        assert_eq!(f.sequence, 7);
        assert!(out.ends_with(b"aaaabbbbcccc"));
        // B-frames (offsets that differ) and offsets of 0 stay as they are.
        let mut reordered = samples.clone();
        reordered[1].cts = 0;
        assert!(decode_when_presented(&write_fragment(7, 1, 0, &reordered, &data)).is_none());
        let zero: Vec<FragmentSample> = samples
            .iter()
            .map(|s| FragmentSample { cts: 0, ..*s })
            .collect();
        assert!(decode_when_presented(&write_fragment(7, 1, 0, &zero, &data)).is_none());
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
