//! AAC: decoding any audio onto the output sample clock, and encoding it on the absolute
//! 1024-sample frame grid.

use ff::codec::Id;
use ffmpeg_next as ff;

use super::{drain_encoder, ff_err};
use crate::error::{Error, Result};
use crate::ladder::{AudioTarget, AAC_FRAME};
use crate::media::{CodecParams, Packet};

/// AAC's own 5.1 (ISO/IEC 14496-3 channelConfiguration 6 is C, L, R, Ls, Rs, LFE: FFmpeg's
/// 5.1 with back surrounds). Any other layout makes the encoder write a program config
/// element instead of the standard configuration.
fn aac_layout(channels: u32) -> ff::ChannelLayout {
    if channels == 6 {
        ff::ChannelLayout::_5POINT1_BACK
    } else {
        ff::ChannelLayout::STEREO
    }
}

fn open_aac(target: &AudioTarget) -> Result<ff::encoder::Audio> {
    crate::media::init();
    let codec = ff::encoder::find(Id::AAC).ok_or_else(|| Error::Unsupported {
        path: "aac".into(),
        reason: "FFmpeg has no AAC encoder".into(),
    })?;
    let mut ctx = ff::codec::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(ff_err("aac"))?;
    ctx.set_rate(target.sample_rate as i32);
    ctx.set_channel_layout(aac_layout(target.channels));
    ctx.set_format(ff::format::Sample::F32(ff::format::sample::Type::Planar));
    ctx.set_bit_rate(target.bitrate as usize);
    ctx.set_time_base(ff::Rational::new(1, target.sample_rate as i32));
    // BITEXACT: no encoder version string in the bitstream; bytes must not depend on the build.
    ctx.set_flags(ff::codec::Flags::GLOBAL_HEADER | ff::codec::Flags::BITEXACT);
    // FFmpeg's "fast" quantizer search instead of its default "twoloop": on film-like sound
    // (tones over noise; scripts/bench.sh makes some) it encodes several times faster at the
    // same size and a higher SNR (the README's performance section has the figures). Pure
    // test tones are the exception, slower, which real soundtracks never are.
    let mut opts = ff::Dictionary::new();
    opts.set("aac_coder", "fast");
    ctx.open_as_with(codec, opts)
        .map_err(ff_err("opening the AAC encoder"))
}

/// The codec parameters (AudioSpecificConfig) of an AAC target: what its init segment carries.
pub fn aac_parameters(target: &AudioTarget) -> Result<CodecParams> {
    let enc = open_aac(target)?;
    Ok(CodecParams(ff::codec::Parameters::from(&*enc)))
}

/// Decoded PCM on the output sample clock: planar f32, `start` is the sample position of
/// index 0.
pub struct Pcm {
    /// Sample position of the first sample.
    pub start: i64,
    /// One buffer per channel.
    pub planes: Vec<Vec<f32>>,
}

/// Decodes audio packets into PCM covering `[from, to)` on the output clock. `position`
/// maps a packet's source timestamp to its output sample position (the audio grid). Gaps
/// stay silent; samples outside the range are dropped.
pub fn decode_audio(
    src: &CodecParams,
    packets: &[Packet],
    position: &dyn Fn(i64) -> i64,
    channels: u32,
    from: i64,
    to: i64,
) -> Result<Pcm> {
    let len = (to - from).max(0) as usize;
    let mut pcm = Pcm {
        start: from,
        planes: vec![vec![0f32; len]; channels as usize],
    };
    let dctx =
        ff::codec::Context::from_parameters(src.0.clone()).map_err(ff_err("decoder set-up"))?;
    let mut dec = dctx
        .decoder()
        .audio()
        .map_err(ff_err("opening the audio decoder"))?;
    let mut frame = ff::frame::Audio::empty();
    let mut swr: Option<ff::software::resampling::Context> = None;
    let dst_layout = aac_layout(channels);
    let dst_format = ff::format::Sample::F32(ff::format::sample::Type::Planar);
    let mut place = |frame: &ff::frame::Audio, pcm: &mut Pcm| -> Result<()> {
        let Some(ts) = frame.timestamp().or(frame.pts()) else {
            return Ok(());
        };
        let at = position(ts);
        let mut layout = frame.channel_layout();
        if layout.bits() == 0 || layout.channels() != i32::from(frame.channels()) {
            layout = ff::ChannelLayout::default(i32::from(frame.channels()));
        }
        let conv = match &mut swr {
            Some(c) => c,
            None => swr.insert(
                ff::software::resampling::Context::get(
                    frame.format(),
                    layout,
                    frame.rate(),
                    dst_format,
                    dst_layout,
                    frame.rate(),
                )
                .map_err(ff_err("setting up the channel mixer"))?,
            ),
        };
        let mut input = frame.clone();
        input.set_channel_layout(layout);
        let mut out = ff::frame::Audio::empty();
        conv.run(&input, &mut out)
            .map_err(ff_err("converting samples"))?;
        for (c, plane) in pcm.planes.iter_mut().enumerate() {
            let src: &[f32] = out.plane(c);
            for (i, v) in src.iter().take(out.samples()).enumerate() {
                let pos = at + i as i64 - pcm.start;
                if pos >= 0 && (pos as usize) < plane.len() {
                    plane[pos as usize] = *v;
                }
            }
        }
        Ok(())
    };
    for p in packets {
        if dec.send_packet(&p.inner).is_err() {
            // A damaged frame: leave its samples silent, as players do.
            continue;
        }
        while dec.receive_frame(&mut frame).is_ok() {
            place(&frame, &mut pcm)?;
        }
    }
    let _ = dec.send_eof();
    while dec.receive_frame(&mut frame).is_ok() {
        place(&frame, &mut pcm)?;
    }
    Ok(pcm)
}

/// AAC frames encoded before the first kept frame of a run, so that the encoder's window has
/// the real signal behind it and the join with the previous run is seamless.
pub const AAC_PREROLL_FRAMES: i64 = 2;
/// AAC frames encoded after the last kept frame: the MDCT of a frame overlaps the next one.
pub const AAC_LOOKAHEAD_FRAMES: i64 = 2;

/// Encodes the frames `[keep_from, keep_to)` (sample positions on the AAC frame grid) of some
/// PCM that covers them with pre-roll and look-ahead, and returns those packets with their
/// start positions. The encoder's priming frame and the pre-roll are thrown away.
///
/// Long runs are cut in two halves encoded on two threads, each with its own pre-roll: the
/// same join as between two segments, so the bytes are the same on every machine, and a
/// 4-second segment is ready in about half the time.
pub fn encode_aac(
    target: &AudioTarget,
    pcm: &Pcm,
    keep_from: i64,
    keep_to: i64,
) -> Result<(CodecParams, Vec<(i64, Packet)>)> {
    const SPLIT_FRAMES: i64 = 64;
    let frames = (keep_to - keep_from) / AAC_FRAME;
    if frames < SPLIT_FRAMES {
        return encode_aac_run(target, pcm, keep_from, keep_to);
    }
    let mid = keep_from + frames / 2 * AAC_FRAME;
    let (a, b) = std::thread::scope(|scope| {
        let second = scope.spawn(|| encode_aac_run(target, pcm, mid, keep_to));
        let first = encode_aac_run(target, pcm, keep_from, mid);
        (
            first,
            second.join().expect("an encoding thread does not panic"),
        )
    });
    let (params, mut out) = a?;
    out.extend(b?.1);
    Ok((params, out))
}

/// Encodes one run of [`encode_aac`] with a fresh encoder.
fn encode_aac_run(
    target: &AudioTarget,
    pcm: &Pcm,
    keep_from: i64,
    keep_to: i64,
) -> Result<(CodecParams, Vec<(i64, Packet)>)> {
    let mut enc = open_aac(target)?;
    let params = CodecParams(ff::codec::Parameters::from(&*enc));
    let frame_len = AAC_FRAME as usize;
    let len = pcm.planes.first().map_or(0, Vec::len) as i64;
    let first = (keep_from - AAC_PREROLL_FRAMES * AAC_FRAME - pcm.start).clamp(0, len) as usize;
    let total = (keep_to + AAC_LOOKAHEAD_FRAMES * AAC_FRAME - pcm.start).clamp(0, len) as usize;
    let mut out = Vec::new();
    let mut raw = Vec::new();
    let mut offset = first;
    while offset + frame_len <= total {
        let mut f = ff::frame::Audio::new(
            ff::format::Sample::F32(ff::format::sample::Type::Planar),
            frame_len,
            aac_layout(target.channels),
        );
        f.set_rate(target.sample_rate);
        for (c, plane) in pcm.planes.iter().enumerate() {
            f.plane_mut::<f32>(c)[..frame_len].copy_from_slice(&plane[offset..offset + frame_len]);
        }
        f.set_pts(Some(pcm.start + offset as i64));
        enc.send_frame(&f).map_err(ff_err("encoding audio"))?;
        drain_encoder(&mut enc, &mut raw)?;
        offset += frame_len;
    }
    enc.send_eof().map_err(ff_err("flushing the AAC encoder"))?;
    drain_encoder(&mut enc, &mut raw)?;
    for p in raw {
        if let Some(pts) = p.pts() {
            if pts >= keep_from && pts < keep_to {
                out.push((pts, Packet::encoded(p)));
            }
        }
    }
    Ok((params, out))
}
