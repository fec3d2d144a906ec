//! Video segments: the packets of a segment's GOPs, copied (written directly where the muxer
//! would copy them unchanged) or transcoded at a rung.

use super::{video_spec, Segmenter};
use crate::error::{Error, Result};
use crate::ladder::{RungCodec, VideoTarget};
use crate::media::mux::FragmentMuxer;
use crate::media::transcode;
use crate::media::Packet;
use crate::plan::Rendition;
use crate::rational::{convert, Rational};
use crate::stream::StreamParams;
use crate::timeline::Timeline;

impl Segmenter<'_> {
    /// The packets of video segment `n` in decode order, from its keyframe on; `cut` says what
    /// happens to the leading frames of an open GOP (after a non-IDR keyframe in decode order,
    /// shown before it, predicted from the GOP before: x264's open-gop, HEVC's RASL pictures).
    /// Also returns the span of time the packets show: the segment's own, or for a copy cut
    /// at open GOPs, from its first leading frame to the next keyframe's first.
    pub(super) fn video_packets(
        &mut self,
        stream: usize,
        tl: &Timeline,
        n: usize,
        cut: Cut,
    ) -> Result<(Vec<Packet>, (i64, i64))> {
        let (start, end) = tl.span(n).expect("checked");
        let vs = &self.info.streams[stream];
        let tol = keyframe_tolerance(vs.time_base);
        // A presentation that starts mid-GOP: segment 0 decodes from the keyframe before its
        // boundary, and every picture from there is kept (the hidden ones are references).
        let hidden_from = self.info.hidden_from.filter(|_| n == 0);
        // A rung's segment cut between keyframes ([`Timeline::finer`]) decodes from the
        // keyframe before it, and reads on only as far as its last picture's decode needs.
        let keys = &self.pres.timeline.boundaries;
        let on_key = |t: i64| {
            let k = keys.partition_point(|&b| b < t - tol);
            keys.get(k).is_some_and(|&b| b <= t + tol)
        };
        let is_last = n + 1 == tl.len();
        let mid_gop_start = hidden_from.is_none() && !on_key(start);
        let mid_gop_end = !is_last && !on_key(end);
        let first_key = match hidden_from {
            Some(h) => h,
            None if mid_gop_start => keys[keys.partition_point(|&b| b <= start).max(1) - 1],
            None => start,
        };
        self.src.seek(stream, first_key)?;
        self.src.will_read(stream, first_key, end);
        let mut packets: Vec<Packet> = Vec::new();
        // Copy, segment 0: there is no GOP before to lean on.
        let keep_own_leading = cut == Cut::Copy && n > 0;
        let (mut shown_from, mut shown_to) = (first_key, end);
        while let Some(p) = self.src.read()? {
            if p.stream != stream {
                continue;
            }
            let Some(t) = p.time() else { continue };
            if packets.is_empty() {
                // Skip what comes before this segment's keyframe (a seek may land earlier).
                if !(p.keyframe && t >= first_key - tol) {
                    continue;
                }
            } else if mid_gop_end && t >= end + self.info.reorder {
                // Decoded in order, a picture's decode time is at or after the one before and
                // at most `reorder` before its own time: from this picture on, nothing is shown
                // before `end`.
                break;
            } else if p.keyframe && !is_last && t >= end - tol {
                // The next keyframe. Its leading frames follow it until the first frame shown
                // after it: they open the next copied segment, or are decoded here.
                let mut leading = Vec::new();
                while let Some(q) = self.src.read()? {
                    if q.stream != stream {
                        continue;
                    }
                    match q.time() {
                        Some(t) if t < end - tol => leading.push(q),
                        _ => break,
                    }
                }
                match cut {
                    Cut::Copy => {
                        if let Some(first) = leading.iter().filter_map(Packet::time).min() {
                            shown_to = first;
                        }
                    }
                    Cut::Decode if !leading.is_empty() => {
                        packets.push(p);
                        packets.extend(leading);
                    }
                    Cut::Decode => {}
                }
                break;
            } else if t < start - tol && hidden_from.is_none() && !mid_gop_start {
                if !keep_own_leading {
                    continue;
                }
                shown_from = shown_from.min(t);
            }
            packets.push(p);
        }
        if packets.is_empty() {
            return Err(Error::Corrupt {
                path: self.info.path.clone(),
                reason: format!("segment {n}: no video keyframe found at the index's position (truncated file?)"),
            });
        }
        Ok((packets, (shown_from, shown_to)))
    }

    pub(super) fn video_copy(&mut self, r: &Rendition, n: usize) -> Result<(Vec<u8>, Vec<u8>)> {
        let tl = &self.pres.timeline;
        let (mut packets, shown) = self.video_packets(r.stream, tl, n, Cut::Copy)?;
        let mut pts: Vec<i64> = packets.iter().map(|p| p.time().unwrap_or(0)).collect();
        let mut timing = tl.video_timing_within(shown, &pts);
        // A file cut off in the middle of a reorder window (truncated) ends with frames whose
        // decode slot would come after their display time: nothing decodes after them, so
        // they are dropped rather than shown out of order.
        while packets.len() > 1 && pts.last().map(|&p| tl.out_pts(p)) < timing.last().map(|t| t.dts)
        {
            packets.pop();
            pts.pop();
            timing = tl.video_timing_within(shown, &pts);
        }
        let s = &self.info.streams[r.stream];
        if self.own_fragments {
            // Written here without opening a muxer at all: the track timescale is the one the
            // muxer would pick, and a video init never waits for packets.
            let out_tb = crate::mp4::video_timescale(s.time_base);
            let frames: Vec<(usize, bool)> = packets
                .iter()
                .map(|p| (p.data().len(), p.keyframe))
                .collect();
            if let Some(samples) = as_is_samples(s, &frames, &timing, out_tb) {
                let data: Vec<&[u8]> = packets.iter().map(|p| p.data()).collect();
                let tfdt = convert(timing[0].dts, s.time_base, out_tb) as u64;
                let frag = crate::mp4::write_fragment(n as u32 + 1, 1, tfdt, &samples, &data);
                return Ok((Vec::new(), frag));
            }
        }
        let params = self.params(r.stream)?;
        let mut mux = FragmentMuxer::new(&self.copy_spec(r, &params), n as u32 + 1)?;
        for (p, t) in packets.iter_mut().zip(&timing) {
            mux.write(p, t.pts, t.dts, t.duration)?;
        }
        mux.finish()
    }

    pub(super) fn video_transcode(
        &mut self,
        r: &Rendition,
        n: usize,
        target: VideoTarget,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let tl = self.pres.timeline_of(r);
        let overlay = match r.burn {
            Some(sub) => self.bitmap_cues(tl.span(n).expect("checked"), sub)?,
            None => Vec::new(),
        };
        let (packets, _) = self.video_packets(r.stream, tl, n, Cut::Decode)?;
        let s = &self.info.streams[r.stream];
        let (start, end) = tl.span(n).expect("checked");
        let src_params = self.params(r.stream)?;
        let tol = keyframe_tolerance(s.time_base);
        let keep_until = if n + 1 == tl.len() {
            i64::MAX
        } else {
            end - tol
        };
        let (params, mut out) = transcode::transcode_video(
            &src_params,
            &packets,
            start - tol..keep_until,
            &transcode::EncodeSpec {
                encoder: &self.encoder,
                target: &target,
                time_base: s.time_base,
                frame_rate: s.frame_rate,
                rotation: s.rotation,
                overlay: &overlay,
            },
            &|done, total| {
                if let Some(p) = &self.progress {
                    p(done, total);
                }
            },
        )?;
        if out.is_empty() {
            return Err(Error::Corrupt {
                path: self.info.path.clone(),
                reason: format!("segment {n}: no picture decoded"),
            });
        }
        mux_rung(&params, s, &target, tl, n, &mut out, start)
    }
}

/// Muxes a rung's encoded packets (PTS in the source's time base) as segment `n`. No
/// B-frames: decode order is presentation order, and the file's timeline (with the same
/// reorder delay as the copied original) gives every variant the same tfdt.
pub(super) fn mux_rung(
    params: &crate::media::CodecParams,
    s: &StreamParams,
    target: &VideoTarget,
    tl: &crate::timeline::Timeline,
    n: usize,
    out: &mut [Packet],
    start: i64,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let pts: Vec<i64> = out.iter().map(|p| p.pts.unwrap_or(start)).collect();
    let timing = tl.video_timing(n, &pts);
    let mut mux = FragmentMuxer::new(
        &video_spec(params, s.time_base, target.codec == RungCodec::Hevc),
        n as u32 + 1,
    )?;
    for (p, t) in out.iter_mut().zip(&timing) {
        mux.write(p, t.pts, t.dts, t.duration)?;
    }
    mux.finish()
}

/// What a segment takes of the open GOPs at its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// Cut in decode order, as the file is: a segment is its keyframe and every packet up to
    /// the next keyframe, its own leading frames included (they decode after the segment
    /// before, as a player plays them). Every frame is in exactly one segment.
    Copy,
    /// Everything needed to decode the frames shown in the segment's span: not its own
    /// leading frames (shown before it), but the next keyframe and its leading frames (shown
    /// in it). Frames outside the span are decoded and dropped.
    Decode,
}

/// The samples of a copied video segment (each frame's size and whether it is a keyframe) as
/// the mp4 muxer would record them (timing rescaled to its track's timescale, durations from
/// consecutive decode times), when it would write their bytes unchanged: H.264 or HEVC with an
/// avcC/hvcC configuration (not Annex B, which it rewrites), no empty packet, decode times
/// rising, no PTS before its DTS. `None` otherwise.
pub(super) fn as_is_samples(
    s: &StreamParams,
    frames: &[(usize, bool)],
    timing: &[crate::timeline::FrameTiming],
    out_tb: Rational,
) -> Option<Vec<crate::mp4::FragmentSample>> {
    let config_record = s.extradata.first() == Some(&1);
    if !matches!(s.codec.as_str(), "h264" | "hevc") || !config_record || frames.is_empty() {
        return None;
    }
    let conv = |v: i64| convert(v, s.time_base, out_tb);
    let dts: Vec<i64> = timing.iter().map(|t| conv(t.dts)).collect();
    let mut out = Vec::with_capacity(frames.len());
    for (i, (&(size, keyframe), t)) in frames.iter().zip(timing).enumerate() {
        // The muxer: the next sample's DTS minus this one's; the last runs its own duration.
        let duration = match dts.get(i + 1) {
            Some(next) => next - dts[i],
            None => conv(t.dts + t.duration) - dts[i],
        };
        let cts = conv(t.pts) - dts[i];
        if size == 0 || duration < 0 || cts < 0 || dts[i] < 0 {
            return None;
        }
        out.push(crate::mp4::FragmentSample {
            duration: u32::try_from(duration).ok()?,
            size: u32::try_from(size).ok()?,
            sync: keyframe,
            cts: u32::try_from(cts).ok()?,
        });
    }
    Some(out)
}

/// How far a packet's PTS may sit from the index's keyframe time: 1 ms in the stream's ticks,
/// the coarsest rounding a container applies (Matroska), and none where a tick is longer
/// (AVI counts whole frames: a tick of tolerance would take a frame from the next segment).
/// Not derived from the frame rate, which only a full probe knows: segment bytes must not
/// depend on the probe.
fn keyframe_tolerance(time_base: Rational) -> i64 {
    (0.001 / time_base.as_f64()).floor().max(0.0) as i64
}
