//! A slate: what a live channel airs where a programme's segment can't be made (its file gone,
//! damaged, unreadable until the next rescan leaves it out). Black pictures and silence of the
//! segment's own length, on the same timeline, in bytes that decode with the programme's own
//! init, so a viewer sees black for a few seconds and never a stall.
//!
//! Made from the probe and the plan alone, never from the file. A rung's pictures come from
//! the encoder's settings, which the slate shares. A copied video's parameter sets are the
//! file's: for H.264 the slate's init is made from the configuration record the probe keeps
//! (the file's init, byte for byte), and its black pictures carry their own parameter sets in
//! band under another id, so they decode under that init or the one a player already holds;
//! other copied video (HEVC) has no slate. Copied sound can be slated where it is AAC-LC:
//! silence from FFmpeg's encoder decodes under any AAC-LC configuration of the same rate and
//! channels.

use super::audio::{aac_first_frame, grid_at, mux_aac};
use super::video::mux_rung;
use super::{made_init, SegmentId};
use crate::error::{Error, Result};
use crate::ladder::{AudioTarget, AAC_FRAME};
use crate::media::transcode::{self, Pcm, AAC_LOOKAHEAD_FRAMES, AAC_PREROLL_FRAMES};
use crate::media::CodecParams;
use crate::plan::{Method, Presentation, Rendition};
use crate::probe::MediaInfo;
use crate::rational::Rational;
use crate::stream::{Kind, StreamParams};

/// The slate's init or media segment `id` of a rendition, made without reading the file; an
/// [`Error::Unsupported`] for renditions that can't be slated (copied video other than H.264,
/// sound other than AAC).
pub fn slate(
    info: &MediaInfo,
    pres: &Presentation,
    rendition: &str,
    id: SegmentId,
    encoder: &str,
) -> Result<Vec<u8>> {
    let r = pres.rendition(rendition)?;
    let s = &info.streams[r.stream];
    let tl = &pres.timeline;
    match (&r.method, id) {
        (Method::Video(_) | Method::Aac(_), SegmentId::Init) => made_init(info, r, encoder),
        (Method::Video(target), SegmentId::Media(n)) => {
            pres.check_segment(n)?;
            let (start, end) = tl.span(n).expect("checked");
            let pts = frame_grid(start, end, s.time_base, s.frame_rate);
            let spec = transcode::EncodeSpec {
                encoder,
                target,
                time_base: s.time_base,
                frame_rate: s.frame_rate,
                rotation: 0,
                overlay: &[],
            };
            let (params, mut out) = transcode::black_video(&spec, &pts)?;
            Ok(mux_rung(&params, s, target, tl, n, &mut out, start)?.1)
        }
        (Method::Aac(target), SegmentId::Media(n)) => {
            pres.check_segment(n)?;
            // Positions at the target's rate (a channel's sound may be resampled).
            let grid = grid_at(tl, s, target.sample_rate);
            let j0 = aac_first_frame(tl, &grid, n);
            let j_end = match n + 1 < tl.len() {
                true => aac_first_frame(tl, &grid, n + 1),
                false => (grid.end(tl) + AAC_FRAME / 2).div_euclid(AAC_FRAME),
            };
            silence(target, n, j0 * AAC_FRAME, (j_end - j0).max(1))
        }
        (Method::Copy, id) if s.kind == Kind::Video => copied_h264(info, pres, r, id),
        (Method::Copy, id) if copied_aac(s).is_some() => {
            let target = copied_aac(s).expect("checked");
            let SegmentId::Media(n) = id else {
                let params = transcode::aac_parameters(&target)?;
                return Ok(super::FragmentMuxer::new(
                    &super::audio_spec(&params, target.sample_rate),
                    1,
                )?
                .init_bytes()
                .unwrap_or_default()
                .to_vec());
            };
            pres.check_segment(n)?;
            // Copied frames sit on the stream's own grid (anchor + k frames): the slate's
            // frames take the slots the file's would.
            let grid = grid_at(tl, s, s.sample_rate);
            let from = grid.segment_start(tl, n).max(grid.anchor);
            let to = match n + 1 < tl.len() {
                true => grid.segment_start(tl, n + 1),
                false => grid.end(tl),
            };
            let first = grid.anchor
                + (from - grid.anchor + AAC_FRAME - 1).div_euclid(AAC_FRAME) * AAC_FRAME;
            let count = (to - first + AAC_FRAME - 1).div_euclid(AAC_FRAME).max(1);
            silence(&target, n, first, count)
        }
        _ => Err(unslatable(info, r)),
    }
}

/// The parameter set id of a copied H.264 programme's slate (seq_parameter_set_id and
/// pic_parameter_set_id, ITU-T H.264 7.4.2.1-2): not 0, which encoders give a stream's own, so
/// a player that holds the programme's init keeps the file's sets for its pictures after the
/// slate.
const SLATE_SET_ID: u8 = 31;

/// A copied H.264 video's slate: its init made from the probe (the file's own configuration,
/// so both the slate and the file decode under it), and black pictures from x264 carrying
/// their parameter sets in band under [`SLATE_SET_ID`], length-prefixed as the file's samples
/// are, timed as the file's frames would be: they decode whichever init the player holds.
fn copied_h264(
    info: &MediaInfo,
    pres: &Presentation,
    r: &Rendition,
    id: SegmentId,
) -> Result<Vec<u8>> {
    let s = &info.streams[r.stream];
    let length_size = match crate::es::parameter_sets(&s.codec, &s.extradata) {
        Some((size, _)) if s.codec == "h264" => size,
        _ => return Err(unslatable(info, r)),
    };
    let SegmentId::Media(n) = id else {
        let params = CodecParams::from_probe(s).ok_or_else(|| unslatable(info, r))?;
        return super::FragmentMuxer::new(&super::video_spec(&params, s.time_base, false), 1)?
            .init_bytes()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::Bug(format!("{}: a copied init waited for packets", r.id)));
    };
    pres.check_segment(n)?;
    let tl = &pres.timeline;
    let target = crate::ladder::source_rung(s, crate::ladder::RungCodec::H264);
    if (target.width, target.height) != (s.width, s.height) {
        return Err(unslatable(info, r));
    }
    let (start, end) = tl.span(n).expect("checked");
    let spec = transcode::EncodeSpec {
        encoder: "libx264",
        target: &target,
        time_base: s.time_base,
        frame_rate: s.frame_rate,
        rotation: 0,
        overlay: &[],
    };
    let pictures = frame_grid(start, end, s.time_base, s.frame_rate);
    let packets = transcode::black_h264_in_band(&spec, &pictures, SLATE_SET_ID)?;
    let data: Vec<Vec<u8>> = packets
        .iter()
        .map(|p| crate::es::length_prefixed(p.data(), length_size))
        .collect::<Option<_>>()
        .ok_or_else(|| unslatable(info, r))?;
    let pts: Vec<i64> = packets.iter().map(|p| p.pts.unwrap_or(start)).collect();
    let timing = tl.video_timing(n, &pts);
    let out_tb = crate::mp4::video_timescale(s.time_base);
    let frames: Vec<(usize, bool)> = data
        .iter()
        .zip(&packets)
        .map(|(d, p)| (d.len(), p.keyframe))
        .collect();
    let samples = super::video::as_is_samples(s, &frames, &timing, out_tb)
        .ok_or_else(|| unslatable(info, r))?;
    let tfdt = crate::rational::convert(timing[0].dts, s.time_base, out_tb);
    let data: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    Ok(crate::mp4::write_fragment(
        n as u32 + 1,
        1,
        u64::try_from(tfdt).map_err(|_| unslatable(info, r))?,
        &samples,
        &data,
    ))
}

fn unslatable(info: &MediaInfo, r: &Rendition) -> Error {
    Error::Unsupported {
        path: info.path.clone(),
        reason: format!(
            "{} has no slate: its {} come from the file itself",
            r.id,
            if r.kind == Kind::Video {
                "parameter sets"
            } else {
                "codec's frames"
            }
        ),
    }
}

/// The AAC target whose silence decodes under a copied stream's own init: AAC-LC of its rate
/// and its channels (mono, stereo or 5.1, the configurations FFmpeg's encoder writes).
fn copied_aac(s: &StreamParams) -> Option<AudioTarget> {
    let lc = s.profile.as_deref().is_none_or(|p| p == "LC");
    let lc = lc && s.kind == Kind::Audio && s.codec == "aac";
    (lc && matches!(s.channels, 1 | 2 | 6)).then_some(AudioTarget {
        channels: s.channels,
        sample_rate: s.sample_rate,
        bitrate: 64_000,
    })
}

/// `count` AAC frames of silence from sample position `first`, muxed as segment `n`.
fn silence(target: &AudioTarget, n: usize, first: i64, count: i64) -> Result<Vec<u8>> {
    let from = first - AAC_PREROLL_FRAMES * AAC_FRAME;
    let len = ((count + AAC_PREROLL_FRAMES + AAC_LOOKAHEAD_FRAMES) * AAC_FRAME) as usize;
    let pcm = Pcm {
        start: from,
        planes: vec![vec![0f32; len]; target.channels as usize],
    };
    let (params, mut out) = transcode::encode_aac(target, &pcm, first, first + count * AAC_FRAME)?;
    Ok(mux_aac(&params, target.sample_rate, n, &mut out)?.1)
}

/// Presentation times of a picture every frame period from `start` until `end` (the source's
/// frame rate, else 25 fps), in `time_base` ticks.
fn frame_grid(start: i64, end: i64, time_base: Rational, rate: Option<Rational>) -> Vec<i64> {
    let rate = rate
        .filter(|r| r.num > 0 && r.den > 0)
        .unwrap_or(Rational::new(25, 1));
    // Frame k at start + k * den / (num * time_base), rounded to the nearest tick.
    let (num, den) = (
        i128::from(rate.den) * i128::from(time_base.den),
        i128::from(rate.num) * i128::from(time_base.num),
    );
    (0i128..)
        .map(|k| {
            i64::try_from(i128::from(start) + (2 * k * num + den) / (2 * den)).unwrap_or(i64::MAX)
        })
        .take_while(|&t| t < end)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slates_pictures_are_the_frame_rate_from_the_segment_start() {
        // 24 fps in milliseconds (Matroska): 41.67 ms apart, rounded.
        let ms = frame_grid(
            1000,
            1125,
            Rational::new(1, 1000),
            Some(Rational::new(24, 1)),
        );
        assert_eq!(ms, vec![1000, 1042, 1083]);
        // 25 fps at 1/12800 (MP4): exact.
        let mp4 = frame_grid(0, 2048, Rational::new(1, 12800), Some(Rational::new(25, 1)));
        assert_eq!(mp4, vec![0, 512, 1024, 1536]);
        // No rate known: 25 fps.
        assert_eq!(
            frame_grid(0, 81, Rational::new(1, 1000), None),
            vec![0, 40, 80]
        );
    }

    /// The slate of a rung or a copied H.264 video is made without the file, and its init is
    /// the rendition's own byte for byte.
    #[test]
    fn a_slates_init_is_the_real_one_for_a_rung_and_a_copied_h264_video() {
        let path = crate::fixture_files(&["mkv"]).remove(0);
        let info = crate::probe::probe_with(&path, crate::probe::Depth::Segments).unwrap();
        let mut pres = crate::plan::plan(&info, 4.0).unwrap();
        let rung = pres
            .with_rung(&info, crate::ladder::RungCodec::H264, 360)
            .unwrap();
        let enc = crate::ladder::DEFAULT_VIDEO_ENCODER;
        let copy = pres.video().id.clone();
        for r in [&rung, &copy] {
            let real = super::super::Segmenter::new(&info, &pres)
                .unwrap()
                .make(r, SegmentId::Init)
                .unwrap();
            // Made from the plan and the probe, without the file: the same bytes.
            assert!(
                slate(&info, &pres, r, SegmentId::Init, enc).unwrap() == real,
                "{r}"
            );
            assert!(!slate(&info, &pres, r, SegmentId::Media(1), enc)
                .unwrap()
                .is_empty());
        }
    }
}
