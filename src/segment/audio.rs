//! Audio segments: packets placed on the stream's own frame grid, copied or transcoded to AAC
//! on the absolute 1024-sample grid, so segments join without a gap or a click.

use super::{audio_spec, AudioRun, Segmenter, AUDIO_PREROLL_SECS, DECODE_PREROLL_SAMPLES};
use crate::error::{Error, Result};
use crate::ladder::{AudioTarget, AAC_FRAME};
use crate::media::mux::FragmentMuxer;
use crate::media::transcode::{self, AAC_LOOKAHEAD_FRAMES, AAC_PREROLL_FRAMES};
use crate::media::Packet;
use crate::plan::Rendition;
use crate::rational::{convert, Rational};
use crate::stream::StreamParams;
use crate::timeline::{AudioGrid, Timeline};

/// The grid of audio stream `s` in a file of timeline `tl`, its positions counted at
/// `sample_rate` (the stream's own, or an AAC target's).
pub(super) fn grid_at(tl: &Timeline, s: &StreamParams, sample_rate: u32) -> AudioGrid {
    AudioGrid::new(
        tl,
        s.time_base,
        sample_rate,
        s.frame_samples(),
        s.start.unwrap_or(0),
    )
}

impl Segmenter<'_> {
    pub(super) fn audio_grid(&self, stream: usize) -> AudioGrid {
        let s = &self.info.streams[stream];
        grid_at(&self.pres.timeline, s, s.sample_rate)
    }

    /// Reads the packets of an audio stream whose grid positions lie in `[from, to)`, seeking
    /// to a second before `from`.
    pub(super) fn audio_run(&mut self, stream: usize, from: i64, to: i64) -> Result<AudioRun> {
        let tl = &self.pres.timeline;
        let s = &self.info.streams[stream];
        let grid = self.audio_grid(stream);
        let v = self.info.video.unwrap_or(0);
        let target = grid
            .video_ticks(tl, from)
            .saturating_sub((AUDIO_PREROLL_SECS / tl.time_base.as_f64()) as i64);
        if target <= tl.origin() {
            self.rewind();
        } else {
            // Seek on the audio stream itself where the container indexes every sample (MP4),
            // else on the video (Matroska Cues index video keyframes only). Decided by the
            // file, never by what libavformat has indexed so far: it adds entries as it reads,
            // so that would make the bytes depend on what this source made before.
            let own = self.info.keyframes.source == crate::probe::IndexSource::Mp4SampleTable;
            let ok = if own {
                self.src
                    .seek(stream, convert(target, tl.time_base, s.time_base))
            } else {
                self.src.seek(v, target)
            };
            if ok.is_err() {
                self.rewind();
            }
        }
        self.src
            .will_read(v, target.max(tl.origin()), grid.video_ticks(tl, to));
        let mut run = AudioRun {
            frames: Vec::new(),
            next: None,
        };
        while let Some(p) = self.src.read()? {
            if p.stream != stream {
                continue;
            }
            let Some(t) = p.time() else { continue };
            let pos = grid.position(t);
            if pos < from.max(0) {
                continue;
            }
            if pos >= to {
                run.next = Some(pos);
                break;
            }
            // Two packets on one grid slot (a damaged stream): keep the first.
            if run.frames.last().is_some_and(|(last, _)| pos <= *last) {
                continue;
            }
            run.frames.push((pos, p));
        }
        Ok(run)
    }

    /// The error for an audio segment whose time range holds no packet (a truncated file).
    pub(super) fn no_audio(&self, r: &Rendition, n: usize) -> Error {
        Error::Corrupt {
            path: self.info.path.clone(),
            reason: format!(
                "segment {n} of {}: no audio packets in this time range",
                r.id
            ),
        }
    }

    /// Duration in samples of an audio packet that has no successor.
    pub(super) fn last_duration(&self, stream: usize, p: &Packet) -> i64 {
        let s = &self.info.streams[stream];
        match s.frame_samples() {
            1 => convert(
                p.duration,
                s.time_base,
                Rational::new(1, i64::from(s.sample_rate.max(1))),
            )
            .max(1),
            f => i64::from(f),
        }
    }

    pub(super) fn audio_copy(&mut self, r: &Rendition, n: usize) -> Result<(Vec<u8>, Vec<u8>)> {
        let tl = &self.pres.timeline;
        let grid = self.audio_grid(r.stream);
        let from = grid.segment_start(tl, n);
        let to = grid.segment_start(tl, n + 1);
        let mut run = self.audio_run(r.stream, from, to)?;
        if run.frames.is_empty() {
            return Err(self.no_audio(r, n));
        }
        let params = self.params(r.stream)?;
        let mut mux = FragmentMuxer::new(&self.copy_spec(r, &params), n as u32 + 1)?;
        let count = run.frames.len();
        for i in 0..count {
            let pos = run.frames[i].0;
            let dur = match run.frames.get(i + 1).map(|f| f.0).or(run.next) {
                Some(next) => next - pos,
                None => self.last_duration(r.stream, &run.frames[i].1),
            };
            mux.write(&mut run.frames[i].1, pos, pos, dur)?;
        }
        mux.finish()
    }

    /// An AAC segment of audio stream `r.stream`, on the 1024-sample frame grid at the
    /// target's rate. A target at another rate than the source's (a rung channel's 48 kHz)
    /// has the decoded sound resampled (crate::resample), each output sample from the input
    /// around its own instant, so segments made apart still join sample for sample.
    pub(super) fn aac_transcode(
        &mut self,
        r: &Rendition,
        n: usize,
        target: AudioTarget,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let tl = &self.pres.timeline;
        let grid = self.audio_grid(r.stream);
        let s = &self.info.streams[r.stream];
        let (rate_in, rate_out) = (s.sample_rate.max(1), target.sample_rate.max(1));
        // Positions at the output rate, and the input positions around them.
        let out_grid = grid_at(tl, s, rate_out);
        let reach = match rate_in == rate_out {
            true => 0,
            false => crate::resample::reach(rate_in, rate_out),
        };
        let to_input = |p: i64, up: bool| {
            let (num, den) = (i128::from(p) * i128::from(rate_in), i128::from(rate_out));
            let q = num.div_euclid(den) as i64;
            q + i64::from(up && num.rem_euclid(den) != 0)
        };
        let last = n + 1 == tl.len();
        let j0 = aac_first_frame(tl, &out_grid, n);
        let from = (j0 - AAC_PREROLL_FRAMES) * AAC_FRAME;
        let from_in = to_input(from, false) - reach;
        let decode_from = from_in - DECODE_PREROLL_SAMPLES;
        let (j_end, run) = if last {
            let run = self.audio_run(r.stream, decode_from, i64::MAX)?;
            let end = run
                .frames
                .last()
                .map(|(pos, p)| pos + self.last_duration(r.stream, p))
                .map(|end| {
                    let out = i128::from(end) * i128::from(rate_out);
                    (out + i128::from(rate_in) / 2).div_euclid(i128::from(rate_in)) as i64
                })
                .unwrap_or(j0 * AAC_FRAME);
            // ...and ends within half a frame of the source's end.
            ((end + AAC_FRAME / 2).div_euclid(AAC_FRAME), run)
        } else {
            let j_end = aac_first_frame(tl, &out_grid, n + 1);
            let until = to_input((j_end + AAC_LOOKAHEAD_FRAMES + 1) * AAC_FRAME, true) + reach;
            (j_end, self.audio_run(r.stream, decode_from, until)?)
        };
        if run.frames.is_empty() || j_end <= j0 {
            return Err(self.no_audio(r, n));
        }
        let src_params = self.params(r.stream)?;
        let packets: Vec<Packet> = run.frames.into_iter().map(|(_, p)| p).collect();
        let to = (j_end + AAC_LOOKAHEAD_FRAMES) * AAC_FRAME;
        let mut pcm = transcode::decode_audio(
            &src_params,
            &packets,
            &|t| grid.position(t),
            target.channels,
            from_in,
            to_input(to, true) + reach,
        )?;
        if rate_in != rate_out {
            pcm = transcode::Pcm {
                planes: crate::resample::resample(
                    &pcm.planes,
                    pcm.start,
                    rate_in,
                    rate_out,
                    from,
                    to,
                ),
                start: from,
            };
        }
        let (params, mut out) =
            transcode::encode_aac(&target, &pcm, j0 * AAC_FRAME, j_end * AAC_FRAME)?;
        mux_aac(&params, target.sample_rate, n, &mut out)
    }
}

/// The AAC frame index (on the grid of 1024-sample frames from output position 0) at which
/// transcoded audio segment `n` starts: the first frame starting in the segment.
pub(super) fn aac_first_frame(tl: &Timeline, grid: &AudioGrid, n: usize) -> i64 {
    if n == 0 {
        // The file's first audio sample, to the nearest frame: the rendition starts within
        // half a frame of the source.
        (grid.anchor.max(0) + AAC_FRAME / 2).div_euclid(AAC_FRAME)
    } else {
        let s = grid.segment_start(tl, n);
        (s + AAC_FRAME - 1).div_euclid(AAC_FRAME)
    }
}

/// Muxes AAC frames (each at its sample position) as segment `n`.
pub(super) fn mux_aac(
    params: &crate::media::CodecParams,
    sample_rate: u32,
    n: usize,
    frames: &mut [(i64, Packet)],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut mux = FragmentMuxer::new(&audio_spec(params, sample_rate), n as u32 + 1)?;
    for (pos, p) in frames.iter_mut() {
        mux.write(p, *pos, *pos, AAC_FRAME)?;
    }
    mux.finish()
}
