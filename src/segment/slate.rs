//! A slate: what a live channel airs where a programme's segment can't be made (its file gone,
//! damaged, unreadable until the next rescan leaves it out). Black pictures and silence of the
//! segment's own length, on the same timeline, in bytes that decode with the programme's own
//! init, so a viewer sees black for a few seconds and never a stall.
//!
//! Made from the probe and the plan alone, never from the file. The picture is possible only
//! where the video is a rung (its parameter sets come from the encoder's settings, which the
//! slate shares); a copied video's come from the file, so a copy channel has no slate. Copied
//! sound can be slated where it is AAC-LC: silence from FFmpeg's encoder decodes under any
//! AAC-LC configuration of the same rate and channels.

use super::audio::{aac_first_frame, mux_aac};
use super::video::mux_rung;
use super::{made_init, SegmentId};
use crate::error::{Error, Result};
use crate::ladder::{AudioTarget, AAC_FRAME};
use crate::media::transcode::{self, Pcm, AAC_LOOKAHEAD_FRAMES, AAC_PREROLL_FRAMES};
use crate::plan::{Method, Presentation, Rendition};
use crate::probe::MediaInfo;
use crate::rational::Rational;
use crate::stream::{Kind, StreamParams};
use crate::timeline::{AudioGrid, Timeline};

/// The slate's init or media segment `id` of a rendition, made without reading the file; an
/// [`Error::Unsupported`] for renditions that can't be slated (copied video, sound other than
/// AAC).
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
            };
            let (params, mut out) = transcode::black_video(&spec, &pts)?;
            Ok(mux_rung(&params, s, target, tl, n, &mut out, start)?.1)
        }
        (Method::Aac(target), SegmentId::Media(n)) => {
            pres.check_segment(n)?;
            let grid = grid(tl, s);
            let j0 = aac_first_frame(tl, &grid, n);
            let j_end = match n + 1 < tl.len() {
                true => aac_first_frame(tl, &grid, n + 1),
                false => (grid.end(tl) + AAC_FRAME / 2).div_euclid(AAC_FRAME),
            };
            silence(target, n, j0 * AAC_FRAME, (j_end - j0).max(1))
        }
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
            let grid = grid(tl, s);
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

fn grid(tl: &Timeline, s: &StreamParams) -> AudioGrid {
    AudioGrid::new(
        tl,
        s.time_base,
        s.sample_rate,
        s.frame_samples(),
        s.start.unwrap_or(0),
    )
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

    /// The slate of a rung is made without the file, and its init is the rung's own byte for
    /// byte; a copied video's parameter sets are the file's, so it has none.
    #[test]
    fn a_rungs_slate_shares_its_init_and_a_copied_video_has_none() {
        let path = crate::fixture_files(&["mkv"]).remove(0);
        let info = crate::probe::probe_with(&path, crate::probe::Depth::Segments).unwrap();
        let mut pres = crate::plan::plan(&info, 4.0).unwrap();
        let rung = pres
            .with_rung(&info, crate::ladder::RungCodec::H264, 360)
            .unwrap();
        let enc = crate::ladder::DEFAULT_VIDEO_ENCODER;
        let real = super::super::Segmenter::new(&info, &pres)
            .unwrap()
            .make(&rung, SegmentId::Init)
            .unwrap();
        assert!(slate(&info, &pres, &rung, SegmentId::Init, enc).unwrap() == real);
        assert!(!slate(&info, &pres, &rung, SegmentId::Media(1), enc)
            .unwrap()
            .is_empty());
        let copy = pres.video().id.clone();
        assert!(matches!(
            slate(&info, &pres, &copy, SegmentId::Media(1), enc),
            Err(Error::Unsupported { .. })
        ));
    }
}
