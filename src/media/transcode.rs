//! Decoding and encoding one segment's worth of media: H.264 or HEVC video at a ladder rung,
//! AAC audio.
//!
//! Everything here works on one segment alone, with a fresh decoder and a fresh encoder, so a
//! transcoded segment has the same guarantees as a copied one: it starts with an IDR frame at
//! the source keyframe boundary, can be made first, in any process, and (with libx264 and the
//! native AAC encoder, whose thread count is fixed here) comes out byte-identical.
//!
//! Built on ffmpeg-next's safe API; the few raw fields it lacks are set through
//! [`crate::media`].

use ff::codec::Id;
use ffmpeg_next as ff;

use crate::error::{Error, Result};
use crate::ladder::*;
use crate::media::ff_error;
use crate::media::hw::HwFrames;
use crate::media::{CodecParams, Packet};
use crate::rational::Rational;

/// How many transcodes a machine runs at once by default: each encodes on [`X264_THREADS`]
/// threads (and decodes beside them), so one per that many cores keeps the cores busy without
/// two transcodes fighting over one core, and holds half the frames in memory.
pub fn default_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / X264_THREADS as usize).max(1)
}

// x264 threads are fixed, not "one per core": its output depends on the thread count, and
// segments must come out the same on every machine that serves them.
const X264_THREADS: u32 = 2;

/// The rung codec of an encoder's codec id, if it makes one.
fn rung_codec(id: Id) -> Option<RungCodec> {
    match id {
        Id::H264 => Some(RungCodec::H264),
        Id::HEVC => Some(RungCodec::Hevc),
        _ => None,
    }
}

/// The rung codec an encoder makes (without opening it). An encoder of anything else, or one
/// this FFmpeg doesn't have, is a clear error.
pub fn encoder_codec(name: &str) -> Result<RungCodec> {
    crate::media::init();
    let Some(codec) = ff::encoder::find_by_name(name) else {
        return Err(Error::BadRequest(format!(
            "encoder {name} is not in this FFmpeg build; working encoders: {}",
            working_encoders()
        )));
    };
    rung_codec(codec.id()).ok_or_else(|| {
        Error::BadRequest(format!(
            "encoder {name} makes {}, but transcoded renditions are H.264 or HEVC: use libx264, libx265 or an h264_*/hevc_* encoder",
            codec.id().name()
        ))
    })
}

fn ff_err(context: &str) -> impl Fn(ff::Error) -> Error + '_ {
    move |e| ff_error(context.to_owned(), e)
}

fn ff_rational(r: Rational) -> ff::Rational {
    ff::Rational::new(r.num as i32, r.den as i32)
}

/// Tries every candidate video encoder with a small configuration.
pub fn probe_encoders() -> Vec<EncoderStatus> {
    crate::media::init();
    VIDEO_ENCODER_CANDIDATES
        .iter()
        .map(|name| {
            let codec = ff::encoder::find_by_name(name).and_then(|c| rung_codec(c.id()));
            let target = probe_target(codec.unwrap_or_default());
            match open_video_encoder(name, &target, Rational::new(1, 1000), None) {
                Ok(_) => EncoderStatus {
                    name: (*name).into(),
                    available: true,
                    detail: "opens".into(),
                },
                Err(e) => EncoderStatus {
                    name: (*name).into(),
                    available: false,
                    detail: match e {
                        Error::Unsupported { reason, .. } => reason,
                        other => other.to_string(),
                    },
                },
            }
        })
        .collect()
}

/// The encoders that open here, for error messages.
fn working_encoders() -> String {
    let working: Vec<String> = probe_encoders()
        .into_iter()
        .filter(|s| s.available)
        .map(|s| s.name)
        .collect();
    if working.is_empty() {
        "none".into()
    } else {
        working.join(", ")
    }
}

/// A small rung to try an encoder with.
fn probe_target(codec: RungCodec) -> VideoTarget {
    VideoTarget {
        width: 320,
        height: 240,
        max_bitrate: 500_000,
        codec,
        level: if codec == RungCodec::Hevc { 60 } else { 30 },
    }
}

/// Checks an encoder name before any work: a clear error naming the ones that work. It must
/// make H.264 or HEVC (the rungs' names and CODECS follow it).
pub fn check_video_encoder(name: &str) -> Result<()> {
    crate::media::init();
    let target = probe_target(encoder_codec(name)?);
    open_video_encoder(name, &target, Rational::new(1, 1000), None)
        .map(|_| ())
        .map_err(|e| {
            Error::BadRequest(format!(
                "encoder {name} does not work here ({e}); working encoders: {}",
                working_encoders()
            ))
        })
}

/// Opens a video encoder for a target. Every setting is explicit so that an encoder opened
/// for the init segment writes the same parameter sets as one opened for a media segment.
fn open_video_encoder(
    name: &str,
    target: &VideoTarget,
    time_base: Rational,
    frame_rate: Option<Rational>,
) -> Result<(ff::encoder::Video, Option<HwFrames>)> {
    crate::media::init();
    let unsupported = |reason: String| Error::Unsupported {
        path: name.into(),
        reason,
    };
    let codec = ff::encoder::find_by_name(name)
        .ok_or_else(|| unsupported("not in this FFmpeg build".into()))?;
    if rung_codec(codec.id()) != Some(target.codec) {
        return Err(unsupported(format!(
            "makes {}, not the rendition's {}",
            codec.id().name(),
            target.codec.prefix()
        )));
    }
    let video = codec
        .video()
        .map_err(|_| unsupported("not a video encoder".into()))?;
    // Software frames in the format the encoder takes: yuv420p, else nv12; an encoder that
    // takes only VAAPI surfaces (h264_vaapi) gets nv12 frames uploaded to a pool on the GPU.
    let formats: Vec<ff::format::Pixel> = video.formats().map(|f| f.collect()).unwrap_or_default();
    let software = [ff::format::Pixel::YUV420P, ff::format::Pixel::NV12]
        .into_iter()
        .find(|f| formats.is_empty() || formats.contains(f));
    let hw = match software {
        None if formats.contains(&ff::format::Pixel::VAAPI) => Some(
            HwFrames::vaapi(target.width, target.height)
                .map_err(|e| unsupported(format!("does not open: {e}")))?,
        ),
        _ => None,
    };
    let format = match (&hw, software) {
        (Some(_), _) => ff::format::Pixel::VAAPI,
        (None, Some(f)) => f,
        (None, None) => formats[0],
    };
    let mut ctx = ff::codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(ff_err(name))?;
    ctx.set_width(target.width);
    ctx.set_height(target.height);
    ctx.set_format(format);
    ctx.set_time_base(ff_rational(time_base));
    // x265 checks the level against the frame rate, and takes 1/time base (1000 fps for
    // Matroska) when it is not told: the rate the plan assumed when the source doesn't say.
    let frame_rate = match (name, frame_rate) {
        ("libx265", None) => Some(Rational::new(i64::from(ASSUMED_FRAME_RATE), 1)),
        (_, fr) => fr,
    };
    ctx.set_frame_rate(frame_rate.map(ff_rational));
    ctx.set_max_b_frames(0);
    ctx.set_gop(u32::MAX / 2);
    ctx.set_bit_rate(target.bitrate() as usize);
    ctx.set_max_bit_rate(target.max_bitrate as usize);
    ctx.set_flags(ff::codec::Flags::GLOBAL_HEADER);
    if let Some(hw) = &hw {
        hw.attach(&mut ctx);
    }
    let mut opts = ff::Dictionary::new();
    if name == "libx264" {
        let kbps = target.max_bitrate / 1000;
        opts.set("preset", "veryfast");
        opts.set("profile", "high");
        opts.set(
            "level",
            &format!("{}.{}", target.level / 10, target.level % 10),
        );
        // Average bit rate under a VBV cap (the target's rate, set above: a CRF here would
        // override it); one IDR per segment (the first frame), no scene-cut keyframes, no
        // B-frames (decode order = presentation order, so DTS follow the file's timeline). No
        // rate-control lookahead: it holds 10 frames more per encoder (30 MB for a 720p rung,
        // measured) and changed a segment's size by under 3%; nor the threads' own lookahead.
        // Sliced threads: with frame threads, ABR's rate control reads the sizes of frames
        // still being encoded and the bytes changed from run to run (three runs, three
        // hashes); slices keep them the same in every process, at the same speed here.
        opts.set(
            "x264-params",
            &format!(
                "vbv-maxrate={kbps}:vbv-bufsize={kbps}:sliced-threads=1:keyint=infinite:scenecut=0:bframes=0:rc-lookahead=0:sync-lookahead=0:threads={X264_THREADS}"
            ),
        );
    } else if name == "libx265" {
        let kbps = target.max_bitrate / 1000;
        let level = format!("{}.{}", target.level / 30, target.level % 30 / 3);
        opts.set("preset", "veryfast");
        opts.set("profile", "main");
        // As for x264: average bit rate under a cap, one IDR per segment and no other keyframe,
        // no B-frames, a fixed thread pool (x265's wavefronts keep the output the same whatever
        // the count); info=0 leaves out the SEI naming the encoder build.
        opts.set(
            "x265-params",
            &format!(
                "log-level=error:vbv-maxrate={kbps}:vbv-bufsize={kbps}:level-idc={level}:keyint=-1:scenecut=0:bframes=0:open-gop=0:frame-threads=1:pools={X264_THREADS}:info=0"
            ),
        );
    } else {
        opts.set("bf", "0");
    }
    let enc = ctx
        .open_as_with(codec, opts)
        .map_err(|e| unsupported(format!("does not open: {e}")))?;
    Ok((enc, hw))
}

/// The codec parameters (with avcC) a video target's segments carry: what the init segment
/// is made from.
pub fn video_parameters(
    name: &str,
    target: &VideoTarget,
    time_base: Rational,
    frame_rate: Option<Rational>,
) -> Result<CodecParams> {
    let (enc, _) = open_video_encoder(name, target, time_base, frame_rate)?;
    Ok(CodecParams(ff::codec::Parameters::from(&*enc)))
}

/// How a transcoded video segment is encoded: encoder, rung, time base and frame rate of the
/// source.
#[derive(Debug, Clone, Copy)]
pub struct EncodeSpec<'a> {
    /// FFmpeg encoder name.
    pub encoder: &'a str,
    /// The rung.
    pub target: &'a VideoTarget,
    /// Time base of the timestamps (the source stream's).
    pub time_base: Rational,
    /// The source's frame rate, for the stream's timing info.
    pub frame_rate: Option<Rational>,
}

/// Decodes a segment's packets (decode order, starting with its keyframe) and encodes the
/// frames; `progress(frames encoded, frames in the segment)` is called as it goes. Encodes the
/// frames presented in `keep` (what decodes outside it, the leading frames of the open GOPs
/// at either end, belongs to other segments).
/// Returns the encoder's parameters and its packets in order; packet PTS are the source PTS
/// of their frames, in `time_base`.
pub fn transcode_video(
    src: &CodecParams,
    packets: &[Packet],
    keep: std::ops::Range<i64>,
    out_spec: &EncodeSpec<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<(CodecParams, Vec<Packet>)> {
    let total = packets.len() as u64;
    let mut done = 0u64;
    let mut dctx =
        ff::codec::Context::from_parameters(src.0.clone()).map_err(ff_err("decoder set-up"))?;
    // Decoded pictures are the same whatever the threading. One thread: decoding runs beside
    // the encoder's two threads, and each frame thread more holds its own reference frames
    // (15 MB more per 1080p transcode with FFmpeg's default, measured).
    dctx.set_threading(ff::threading::Config {
        kind: ff::threading::Type::Frame,
        count: 1,
        ..Default::default()
    });
    let mut dec = dctx
        .decoder()
        .video()
        .map_err(ff_err("opening the video decoder"))?;
    let EncodeSpec {
        encoder: name,
        target,
        time_base,
        frame_rate,
    } = *out_spec;
    let (mut enc, hw) = open_video_encoder(name, target, time_base, frame_rate)?;
    let params = CodecParams(ff::codec::Parameters::from(&*enc));
    // What the scaler makes: the encoder's own format, or what is uploaded to its surfaces.
    let enc_format = hw.as_ref().map_or(enc.format(), HwFrames::sw_format);
    let mut scaler: Option<ff::software::scaling::Context> = None;
    let mut out = Vec::new();
    let mut decoded = ff::frame::Video::empty();

    let mut encode = |frame: &ff::frame::Video,
                      enc: &mut ff::encoder::Video,
                      out: &mut Vec<ff::Packet>|
     -> Result<()> {
        let Some(pts) = frame.timestamp().or(frame.pts()) else {
            return Ok(());
        };
        if !keep.contains(&pts) {
            return Ok(());
        }
        let sws = match &mut scaler {
            Some(s) => s,
            None => scaler.insert(
                ff::software::scaling::Context::get(
                    frame.format(),
                    frame.width(),
                    frame.height(),
                    enc_format,
                    target.width,
                    target.height,
                    ff::software::scaling::Flags::BICUBIC,
                )
                .map_err(ff_err("setting up the scaler"))?,
            ),
        };
        let mut scaled = ff::frame::Video::empty();
        sws.run(frame, &mut scaled)
            .map_err(ff_err("scaling a frame"))?;
        scaled.set_pts(Some(pts));
        let mut scaled = match &hw {
            Some(hw) => hw.upload(&scaled)?,
            None => scaled,
        };
        scaled.set_kind(ff::picture::Type::None);
        enc.send_frame(&scaled)
            .map_err(ff_err("encoding a frame"))?;
        done += 1;
        progress(done, total);
        drain_encoder(enc, out)
    };

    for p in packets {
        dec.send_packet(&p.inner)
            .map_err(ff_err("decoding a packet"))?;
        while dec.receive_frame(&mut decoded).is_ok() {
            encode(&decoded, &mut enc, &mut out)?;
        }
    }
    dec.send_eof().map_err(ff_err("flushing the decoder"))?;
    while dec.receive_frame(&mut decoded).is_ok() {
        encode(&decoded, &mut enc, &mut out)?;
    }
    enc.send_eof().map_err(ff_err("flushing the encoder"))?;
    drain_encoder(&mut enc, &mut out)?;
    Ok((params, out.into_iter().map(Packet::encoded).collect()))
}

fn drain_encoder(enc: &mut ff::encoder::Encoder, out: &mut Vec<ff::Packet>) -> Result<()> {
    loop {
        let mut pkt = ff::Packet::empty();
        match enc.receive_packet(&mut pkt) {
            Ok(()) => out.push(pkt),
            Err(ff::Error::Other { errno }) if errno == libc::EAGAIN => return Ok(()),
            Err(ff::Error::Eof) => return Ok(()),
            Err(e) => return Err(ff_error("receiving an encoded packet", e)),
        }
    }
}

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
    // (tones over noise; scripts/bench.sh makes some) it encodes 3 to 4 times faster at the
    // same size and a higher SNR (8 s stereo at 192k: 63 vs 205 ms, 40 vs 34 dB). Pure test
    // tones are the exception, about twice as slow, which real soundtracks never are.
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
