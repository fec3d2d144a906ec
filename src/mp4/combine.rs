//! One video and one audio rendition made into a single two-track fragmented MP4, re-timed:
//! what a live channel serves (IPTV clients expect audio and video in one stream). The
//! renditions' own segments are reused byte for byte; only track ids, decode times and data
//! offsets change, so a channel's segment costs a copy of bytes already made (and cached) for
//! on-demand playback.
//!
//! Pure: bytes in, bytes out. ISO/IEC 14496-12 references throughout.

use super::fragment::{TFHD_BASE_DATA_OFFSET, TRUN_DATA_OFFSET};
use super::{boxes, child, Box};

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

pub(super) fn put_u32(buf: &mut [u8], at: usize, v: u32) -> Option<()> {
    buf.get_mut(at..at + 4)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

pub(super) fn get_u32(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

/// A box made of a type and a body (4.2).
pub(super) fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::{parse_fragment, write_fragment};

    use crate::mp4::fragment::test_sample as sample;

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
}
