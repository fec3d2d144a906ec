//! Keyframes to segment boundaries, and the one timeline every process computes the same way.
//!
//! Pure arithmetic on integer ticks. A segment's output timestamps depend only on the file's
//! keyframe list, its stream start times and the packets of that segment, never on which
//! segment was made before: that is what lets any segment be made first, by any process.
//!
//! The rules (shared/docs/fmp4-hls-facts.md, "A timeline that comes out the same in every
//! process"):
//! - boundaries are video keyframe PTS values; segment N spans `[B(N), B(N+1))`;
//! - one constant shift `D` per file keeps every decode time >= 0;
//! - video DTS = the sorted PTS of the segment's frames minus a fixed reorder delay `R`; the last
//!   frame runs to the next boundary, so `tfdt(N+1) = tfdt(N) + durations(N)` exactly;
//! - audio frames sit on their own grid (whole frames at the sample rate); a frame belongs to the
//!   segment in which it starts.

use serde::Serialize;

use crate::rational::{div_round, Rational};

/// Chooses segment boundaries from sorted keyframe times: start at the first keyframe, then cut
/// at the first keyframe at or after `start + target`. A long GOP gives a long segment.
pub fn boundaries(keyframes: &[i64], end: i64, target: i64) -> Vec<i64> {
    let mut k: Vec<i64> = keyframes.iter().copied().filter(|&t| t < end).collect();
    k.sort_unstable();
    k.dedup();
    let mut out = Vec::new();
    let mut next_at = i64::MIN;
    for t in k {
        if t >= next_at {
            out.push(t);
            next_at = t.saturating_add(target.max(1));
        }
    }
    out
}

/// Output timing of one video frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTiming {
    /// Presentation time in output ticks.
    pub pts: i64,
    /// Decode time in output ticks.
    pub dts: i64,
    /// Duration (to the next frame's DTS, or to the next boundary for the last one).
    pub duration: i64,
}

/// The segment timeline of one file, in the video stream's time base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// The video stream's time base; every tick below is in it.
    pub time_base: Rational,
    /// Segment start times: video keyframe PTS values, ascending. Never empty.
    pub boundaries: Vec<i64>,
    /// Where the last segment ends (the presentation end of the file).
    pub end: i64,
    /// Reorder delay `R`: how far DTS runs behind PTS (B-frames).
    pub reorder: i64,
    /// Constant shift `D` added to every output PTS so that every DTS is >= 0 and audio that
    /// starts before the first keyframe keeps its place.
    pub shift: i64,
}

impl Timeline {
    /// Builds a timeline. `lead` is how far the earliest other stream starts before the first
    /// keyframe (ticks, >= 0); `reorder` is `R`.
    pub fn new(
        keyframes: &[i64],
        end: i64,
        target: i64,
        reorder: i64,
        lead: i64,
    ) -> Option<Timeline> {
        let b = boundaries(keyframes, end, target);
        if b.is_empty() {
            return None;
        }
        let reorder = reorder.max(0);
        Some(Timeline {
            time_base: Rational::new(1, 1),
            boundaries: b,
            end,
            reorder,
            shift: reorder.max(lead.max(0)),
        })
    }

    /// Sets the time base the ticks are in.
    pub fn with_time_base(mut self, tb: Rational) -> Timeline {
        self.time_base = tb;
        self
    }

    /// The first keyframe: presentation time zero of the playlists.
    pub fn origin(&self) -> i64 {
        self.boundaries[0]
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.boundaries.len()
    }

    /// Always false: a timeline has at least one segment.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Start and end of segment `n` in source ticks.
    pub fn span(&self, n: usize) -> Option<(i64, i64)> {
        let start = *self.boundaries.get(n)?;
        let end = self
            .boundaries
            .get(n + 1)
            .copied()
            .unwrap_or(self.end.max(start + 1));
        Some((start, end))
    }

    /// Duration of segment `n` in seconds (its EXTINF).
    pub fn duration_secs(&self, n: usize) -> f64 {
        self.span(n)
            .map(|(s, e)| (e - s) as f64 * self.time_base.as_f64())
            .unwrap_or(0.0)
    }

    /// Every segment's duration in seconds.
    pub fn durations(&self) -> Vec<f64> {
        (0..self.len()).map(|n| self.duration_secs(n)).collect()
    }

    /// Seconds from the origin to the start of segment `n`.
    pub fn start_secs(&self, n: usize) -> f64 {
        self.span(n)
            .map(|(s, _)| (s - self.origin()) as f64 * self.time_base.as_f64())
            .unwrap_or(0.0)
    }

    /// Total presentation length in seconds.
    pub fn total_secs(&self) -> f64 {
        let (_, end) = self.span(self.len() - 1).expect("non-empty");
        (end - self.origin()) as f64 * self.time_base.as_f64()
    }

    /// Index of the segment that contains time `t` (source ticks).
    pub fn segment_at(&self, t: i64) -> usize {
        self.boundaries
            .partition_point(|&b| b <= t)
            .saturating_sub(1)
    }

    /// Output PTS (ticks) of a source PTS.
    pub fn out_pts(&self, pts: i64) -> i64 {
        pts - self.origin() + self.shift
    }

    /// Output timing of segment `n`'s video frames, given their source PTS in decode order.
    /// DTS are the sorted PTS less `R`; the first frame's DTS is pinned to the boundary so that
    /// `tfdt(n) = B(n) - origin + D - R` whatever the packets say, and the last frame runs to the
    /// next boundary.
    pub fn video_timing(&self, n: usize, pts_decode_order: &[i64]) -> Vec<FrameTiming> {
        let Some((start, end)) = self.span(n) else {
            return Vec::new();
        };
        self.video_timing_within((start, end), pts_decode_order)
    }

    /// [`Timeline::video_timing`] for frames shown over `span` instead of the segment's own
    /// span: a segment cut in decode order at open GOPs (see `segment::Cut::Copy`) holds the
    /// frames shown just before its boundary and lacks those shown just before the next, so
    /// its decode times start at its first frame shown and end where the next segment's do.
    pub fn video_timing_within(
        &self,
        (start, end): (i64, i64),
        pts_decode_order: &[i64],
    ) -> Vec<FrameTiming> {
        let mut sorted = pts_decode_order.to_vec();
        sorted.sort_unstable();
        if let Some(first) = sorted.first_mut() {
            *first = start;
        }
        let dts: Vec<i64> = sorted
            .iter()
            .map(|p| self.out_pts(*p) - self.reorder)
            .collect();
        let end_dts = self.out_pts(end) - self.reorder;
        pts_decode_order
            .iter()
            .enumerate()
            .map(|(i, &pts)| {
                let next = dts.get(i + 1).copied().unwrap_or(end_dts);
                // A frame presented before its decode time can't exist; clamp rather than
                // hand the muxer an impossible packet.
                let out_pts = self.out_pts(pts).max(dts[i]);
                FrameTiming {
                    pts: out_pts,
                    dts: dts[i],
                    duration: (next - dts[i]).max(0),
                }
            })
            .collect()
    }

    /// The timeline of a transcoded rung, which need not wait for the source's next keyframe:
    /// every boundary kept, and each segment longer than `longest` ticks (a long GOP: x264's
    /// keyint 250, HandBrake's 10 s, a screen recording's 20 s) cut into equal parts no longer
    /// than it, each cut on the frame grid where `frame` (ticks a frame, constant frame rate)
    /// is known. A rung's segment starts with an IDR wherever it is cut, so a player on a rung
    /// starts and seeks as soon as a few seconds are encoded; the copy and the audio keep the
    /// keyframe timeline, and players line variants up by time. `None` where no segment is
    /// longer than `longest`.
    pub fn finer(&self, longest: i64, frame: Option<f64>) -> Option<Timeline> {
        let longest = longest.max(1);
        let mut boundaries = Vec::with_capacity(self.boundaries.len());
        for n in 0..self.len() {
            let (start, end) = self.span(n).expect("in range");
            boundaries.push(start);
            let length = end - start;
            if length <= longest {
                continue;
            }
            let parts = (length + longest - 1) / longest;
            for j in 1..parts {
                let at = (length * j) as f64 / parts as f64;
                let at = match frame {
                    Some(f) if f > 0.0 => (at / f).round() * f,
                    _ => at,
                };
                let cut = start + at.round() as i64;
                if cut > *boundaries.last().expect("pushed") && cut < end {
                    boundaries.push(cut);
                }
            }
        }
        (boundaries.len() > self.len()).then(|| Timeline {
            boundaries,
            ..self.clone()
        })
    }

    /// The decode time (tfdt) segment `n`'s video starts at, in source ticks.
    pub fn video_tfdt(&self, n: usize) -> Option<i64> {
        self.span(n).map(|(s, _)| self.out_pts(s) - self.reorder)
    }
}

/// Puts one audio stream's packets on a grid of whole frames at its sample rate, anchored at the
/// stream's first packet, and assigns them to segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AudioGrid {
    /// The audio stream's time base.
    pub time_base: Rational,
    /// Output timescale: the sample rate.
    pub sample_rate: u32,
    /// Samples per frame (1 when the codec has no fixed frame size).
    pub frame: u32,
    /// Output sample position of the stream's first packet.
    pub anchor: i64,
    // out_samples(pts) = (pts * an * vd + offset_num) * rate / offset_den, kept exact:
    // the file's shift D less its origin, over the common denominator of both time bases.
    offset_num: i128,
    offset_den: i128,
}

impl AudioGrid {
    /// A grid for an audio stream whose first packet is at `first_pts` (audio ticks), in a file
    /// whose video timeline is `tl`.
    pub fn new(
        tl: &Timeline,
        time_base: Rational,
        sample_rate: u32,
        frame: u32,
        first_pts: i64,
    ) -> AudioGrid {
        // out_samples(pts) = (pts*atb - origin*vtb + D*vtb) * rate
        //                  = [pts*an*vd + (D - origin)*vn*ad] * rate / (ad*vd)
        let ad = time_base.den as i128;
        let (vn, vd) = (tl.time_base.num as i128, tl.time_base.den as i128);
        let mut g = AudioGrid {
            time_base,
            sample_rate,
            frame: frame.max(1),
            anchor: 0,
            offset_num: (tl.shift - tl.origin()) as i128 * vn * ad,
            offset_den: ad * vd,
        };
        g.anchor = g.exact(first_pts);
        g
    }

    /// Exact output sample position of a source timestamp, before snapping to the grid.
    fn exact(&self, pts: i64) -> i64 {
        let (an, vd) = (
            self.time_base.num as i128,
            self.offset_den / self.time_base.den as i128,
        );
        let num = (pts as i128 * an * vd + self.offset_num) * self.sample_rate as i128;
        div_round(num, self.offset_den) as i64
    }

    /// Output sample position of a packet: its exact position snapped to the nearest whole frame
    /// from the anchor. Matroska's 1 ms timestamps land back on the encoder's real grid.
    pub fn position(&self, pts: i64) -> i64 {
        let f = self.frame as i64;
        let k = div_round((self.exact(pts) - self.anchor) as i128, f as i128) as i64;
        self.anchor + k * f
    }

    /// Output sample position where segment `n` starts (segment 0 starts at -infinity: audio
    /// before the first keyframe belongs to it).
    pub fn segment_start(&self, tl: &Timeline, n: usize) -> i64 {
        if n == 0 {
            return i64::MIN;
        }
        match tl.span(n) {
            Some((s, _)) => self.video_ticks_to_samples(tl, s),
            None => i64::MAX,
        }
    }

    /// Output sample position where the video ends (the end of the last segment).
    pub fn end(&self, tl: &Timeline) -> i64 {
        self.video_ticks_to_samples(tl, tl.end)
    }

    fn video_ticks_to_samples(&self, tl: &Timeline, t: i64) -> i64 {
        let num = (tl.out_pts(t) as i128) * tl.time_base.num as i128 * self.sample_rate as i128;
        div_round(num, tl.time_base.den as i128) as i64
    }

    /// The video tick (source PTS) that an output sample position stands for, rounded down.
    pub fn video_ticks(&self, tl: &Timeline, samples: i64) -> i64 {
        // samples = (t - origin + D) * vn * rate / vd  =>  t = samples * vd / (vn * rate) + origin - D
        let num = samples as i128 * tl.time_base.den as i128;
        let den = tl.time_base.num as i128 * self.sample_rate as i128;
        // Segment 0 starts at i64::MIN samples: in a time base finer than the sample rate (MP4's
        // 90 kHz video against 48 kHz audio) that lies below i64::MIN ticks, so saturate
        // rather than wrap to a time near the end of the file.
        let t = num.div_euclid(den) + i128::from(tl.origin()) - i128::from(tl.shift);
        t.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// Which segment a packet at output position `pos` belongs to: the one in which it starts.
    pub fn segment_of(&self, tl: &Timeline, pos: i64) -> usize {
        let mut lo = 0usize;
        let mut hi = tl.len();
        // The last n with segment_start(n) <= pos.
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if self.segment_start(tl, mid) <= pos {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20-s GOP between two 2-s ones, in ms at 25 fps: the long segment is cut in four on
    /// the frame grid, every keyframe boundary stays, and the timing rules hold across the cuts.
    #[test]
    fn a_rung_cuts_long_gops_on_the_frame_grid_and_keeps_every_keyframe_boundary() {
        let tl = Timeline::new(&[0, 2000, 22000], 24000, 1000, 80, 0).unwrap();
        assert_eq!(tl.boundaries, vec![0, 2000, 22000]);
        let fine = tl.finer(6000, Some(40.0)).unwrap();
        assert_eq!(fine.boundaries, vec![0, 2000, 7000, 12000, 17000, 22000]);
        assert_eq!(
            (fine.end, fine.reorder, fine.shift),
            (tl.end, tl.reorder, tl.shift)
        );
        // 10 s in three: 3333.3 ms snaps to the 40-ms grid (3320, 6680).
        let tl = Timeline::new(&[0, 10000], 12000, 1000, 0, 0).unwrap();
        let fine = tl.finer(4000, Some(40.0)).unwrap();
        assert_eq!(fine.boundaries, vec![0, 3320, 6680, 10000]);
        // Without a frame rate, equal parts.
        assert_eq!(
            tl.finer(4000, None).unwrap().boundaries,
            vec![0, 3333, 6667, 10000]
        );
        // Decode times still run on: tfdt(n + 1) = tfdt(n) + duration(n).
        for n in 0..fine.len() - 1 {
            let (s, e) = fine.span(n).unwrap();
            assert_eq!(
                fine.video_tfdt(n + 1).unwrap() - fine.video_tfdt(n).unwrap(),
                e - s
            );
        }
        assert_eq!(
            tl.finer(10_000, None),
            None,
            "nothing longer: no other timeline"
        );
    }

    #[test]
    fn cuts_at_first_keyframe_at_or_after_target() {
        let k = [0, 2000, 4000, 5000, 7000, 13000, 15000, 17000, 19000];
        assert_eq!(boundaries(&k, 20000, 4000), vec![0, 4000, 13000, 17000]);
        assert_eq!(
            boundaries(&k, 20000, 2000),
            vec![0, 2000, 4000, 7000, 13000, 15000, 17000, 19000]
        );
    }

    #[test]
    fn keyframes_past_the_end_and_duplicates_are_ignored() {
        assert_eq!(
            boundaries(&[5000, 0, 0, 9000, 12000], 10000, 4000),
            vec![0, 5000, 9000]
        );
        assert!(boundaries(&[], 10000, 4000).is_empty());
    }

    #[test]
    fn durations_add_up_to_the_total_exactly() {
        let tl = Timeline::new(&[21, 2021, 4021, 5021, 7021, 13021], 20021, 4000, 84, 21)
            .unwrap()
            .with_time_base(Rational::new(1, 1000));
        assert_eq!(tl.boundaries, vec![21, 4021, 13021]);
        let sum: f64 = tl.durations().iter().sum();
        assert!((sum - 20.0).abs() < 1e-9);
        assert_eq!(tl.total_secs(), 20.0);
        assert_eq!(tl.durations(), vec![4.0, 9.0, 7.0]);
        assert_eq!(tl.segment_at(4020), 0);
        assert_eq!(tl.segment_at(4021), 1);
        assert_eq!(tl.segment_at(99999), 2);
    }

    #[test]
    fn shift_covers_reorder_delay_and_audio_lead() {
        let tl = Timeline::new(&[0], 100, 4, 84, 21).unwrap();
        assert_eq!(tl.shift, 84);
        let tl = Timeline::new(&[0], 100, 4, 10, 21).unwrap();
        assert_eq!(tl.shift, 21);
    }

    #[test]
    fn video_decode_times_are_continuous_across_segments() {
        // 24 fps in 1/1000 with B-frames, as Matroska stores it (rounded to 1 ms).
        let tl = Timeline::new(&[0, 1000], 2000, 1000, 84, 0).unwrap();
        // Decode order I P B B ... of segment 0 (pts rounded to ms).
        let seg0 = [0, 125, 42, 83, 250, 167, 208];
        let t0 = tl.video_timing(0, &seg0);
        assert_eq!(t0[0].dts, 0);
        assert_eq!(t0[0].pts, 84);
        for w in t0.windows(2) {
            assert_eq!(w[0].dts + w[0].duration, w[1].dts);
        }
        for f in &t0 {
            assert!(f.pts >= f.dts, "{f:?}");
        }
        let end0 = t0.last().map(|f| f.dts + f.duration).unwrap();
        assert_eq!(Some(end0), tl.video_tfdt(1));
        let t1 = tl.video_timing(1, &[1000, 1083, 1042]);
        assert_eq!(t1[0].dts, end0);
        let total: i64 = t0.iter().chain(&t1).map(|f| f.duration).sum();
        assert_eq!(total, 2000);
    }

    #[test]
    fn first_frame_is_pinned_to_the_boundary() {
        // A packet one tick off the index must not move tfdt.
        let tl = Timeline::new(&[0, 1000], 2000, 1000, 0, 0).unwrap();
        let t = tl.video_timing(1, &[1001, 1042]);
        assert_eq!(t[0].dts, 1000);
        assert_eq!(t[0].duration, 42);
    }

    #[test]
    fn open_gop_segments_cut_in_decode_order_run_back_to_back_in_decode_time() {
        // 10 ms frames, boundaries at 0 and 100; I(100) is followed in decode order by the
        // two frames shown before it (80, 90), which belong to segment 1, so segment 0 ends
        // after its frame at 70 and segment 1 starts decoding with them.
        let tl = Timeline::new(&[0, 100], 200, 100, 20, 0).unwrap();
        let t0 = tl.video_timing_within((0, 80), &[0, 30, 10, 20, 60, 40, 50, 70]);
        let seg1 = [100, 80, 90, 130, 110, 120, 160, 140, 150, 190, 170, 180];
        let t1 = tl.video_timing_within((80, 200), &seg1);
        let end0 = t0.last().map(|f| f.dts + f.duration).unwrap();
        assert_eq!(t1[0].dts, end0);
        assert_eq!(t1[0].dts, 80 + tl.shift - 20);
        for f in t0.iter().chain(&t1) {
            assert!(f.pts >= f.dts && f.duration == 10, "{f:?}");
        }
        // Every frame once, and together they run the whole timeline.
        let total: i64 = t0.iter().chain(&t1).map(|f| f.duration).sum();
        assert_eq!(total, 200);
    }

    #[test]
    fn matroska_millisecond_audio_snaps_to_the_aac_grid() {
        let tl = Timeline::new(&[21, 4021], 8021, 4000, 84, 21)
            .unwrap()
            .with_time_base(Rational::new(1, 1000));
        let g = AudioGrid::new(&tl, Rational::new(1, 1000), 48000, 1024, 0);
        // Output position of the first packet: (0 - 21 + 84) ms at 48 kHz.
        assert_eq!(g.anchor, 63 * 48);
        // Frame k of AAC at 48 kHz starts at k*21.333 ms; Matroska rounds to 1 ms.
        for k in 0..400i64 {
            let ms = div_round(k as i128 * 1024 * 1000, 48000) as i64;
            assert_eq!(g.position(ms), g.anchor + k * 1024, "frame {k}");
        }
    }

    #[test]
    fn the_first_segments_audio_start_stays_before_the_video_in_a_90_khz_time_base() {
        // HandBrake's MP4: video at 90 kHz, AAC at 48 kHz. Segment 0 starts at i64::MIN samples,
        // which is further below zero in 90 kHz ticks than an i64 reaches.
        let tl = Timeline::new(&[0, 900_000], 1_800_000, 360_000, 7500, 1920)
            .unwrap()
            .with_time_base(Rational::new(1, 90000));
        let g = AudioGrid::new(&tl, Rational::new(1, 48000), 48000, 1024, -1024);
        assert_eq!(g.video_ticks(&tl, g.segment_start(&tl, 0)), i64::MIN);
        assert_eq!(g.video_ticks(&tl, i64::MAX), i64::MAX);
        assert_eq!(g.video_ticks(&tl, g.segment_start(&tl, 1)), 900_000);
    }

    #[test]
    fn audio_frames_belong_to_the_segment_they_start_in() {
        let tl = Timeline::new(&[0, 4000], 8000, 4000, 0, 0)
            .unwrap()
            .with_time_base(Rational::new(1, 1000));
        let g = AudioGrid::new(&tl, Rational::new(1, 48000), 48000, 1024, 0);
        assert_eq!(g.segment_start(&tl, 1), 4 * 48000);
        assert_eq!(g.segment_of(&tl, 4 * 48000 - 1), 0);
        assert_eq!(g.segment_of(&tl, 4 * 48000), 1);
        assert_eq!(g.segment_of(&tl, -5), 0);
        assert_eq!(g.segment_of(&tl, i64::MAX - 1), 1);
    }
}
