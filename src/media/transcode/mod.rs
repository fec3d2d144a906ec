//! Decoding and encoding one segment's worth of media: H.264 or HEVC video at a ladder rung,
//! AAC audio.
//!
//! Everything here works on one segment alone, with a fresh decoder and a fresh encoder, so a
//! transcoded segment has the same guarantees as a copied one: it starts with an IDR frame at
//! the source keyframe boundary, can be made first, in any process, and (with libx264 and the
//! native AAC encoder, whose thread count is fixed here) comes out byte-identical.
//!
//! Built on ffmpeg-next's safe API; the few raw fields it lacks are set through
//! [`crate::media`]. This file opens the video encoders (every setting explicit, so an init
//! and a segment made apart agree); `video.rs` decodes, scales and encodes a rung's segment
//! (and a slate's black pictures), `audio.rs` decodes any sound and encodes AAC.

use ff::codec::Id;
use ffmpeg_next as ff;

use crate::error::{Error, Result};
use crate::ladder::*;
use crate::media::ff_error;
use crate::media::hw::HwFrames;
use crate::media::CodecParams;
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
        picture: None,
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
    open_encoder(name, target, time_base, frame_rate, None)
}

/// [`open_video_encoder`], or with `in_band: Some(id)` an x264 whose sequence and picture
/// parameter sets carry that id (ITU-T H.264 7.4.2.1 seq_parameter_set_id, x264's sps-id,
/// which its PPS shares) and go in band before every keyframe instead of in the codec
/// parameters: pictures that decode whatever init a player holds, without displacing the
/// parameter sets of id 0 the file's own pictures use.
fn open_encoder(
    name: &str,
    target: &VideoTarget,
    time_base: Rational,
    frame_rate: Option<Rational>,
    in_band: Option<u8>,
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
    if in_band.is_none() {
        ctx.set_flags(ff::codec::Flags::GLOBAL_HEADER);
    } else if name != "libx264" {
        return Err(unsupported("parameter sets in band: libx264 only".into()));
    }
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
        // rate-control lookahead: it holds 10 frames more per encoder (tens of MB for a 720p
        // rung) for a small change in a segment's size; nor the threads' own lookahead.
        // Sliced threads: with frame threads, ABR's rate control reads the sizes of frames
        // still being encoded and the bytes changed from run to run (three runs, three
        // hashes); slices keep them the same in every process, at the same speed here.
        opts.set(
            "x264-params",
            &format!(
                "vbv-maxrate={kbps}:vbv-bufsize={kbps}:sliced-threads=1:keyint=infinite:scenecut=0:bframes=0:rc-lookahead=0:sync-lookahead=0:threads={X264_THREADS}{}",
                in_band.map(|id| format!(":sps-id={id}")).unwrap_or_default()
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

mod audio;
mod video;

pub use audio::*;
pub use video::*;
