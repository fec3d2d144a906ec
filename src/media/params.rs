//! A stream's codec parameters and tags as plain data ([`StreamParams`]): what the rest of
//! Haema knows of a stream, read out of libavformat's structures once.

use std::ffi::{CStr, CString};

use ff::ffi;
use ffmpeg_next as ff;

use crate::rational::Rational;
use crate::stream::{Kind, StreamParams};

fn cstr(ptr: *const libc::c_char) -> Option<String> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: FFmpeg returns NUL-terminated static or context-owned strings.
        Some(
            unsafe { CStr::from_ptr(ptr) }
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// A stream's metadata tag, its bytes converted lossily (U+FFFD for what isn't UTF-8).
fn stream_tag(st: &ff::format::stream::Stream, key: &str) -> Option<String> {
    let key = CString::new(key).ok()?;
    // SAFETY: the stream and its metadata dictionary live as long as `st`; av_dict_get returns
    // an entry owned by the dictionary (or NULL), whose value is a NUL-terminated string that we
    // copy out before the borrow ends.
    unsafe {
        let e = ffi::av_dict_get((*st.as_ptr()).metadata, key.as_ptr(), std::ptr::null(), 0);
        if e.is_null() {
            None
        } else {
            cstr((*e).value)
        }
    }
}

pub(super) fn stream_params(st: &ff::format::stream::Stream) -> StreamParams {
    let params = st.parameters();
    // SAFETY: codecpar is valid for a stream of an open context; we only read fields.
    let par = unsafe { &*params.as_ptr() };
    let kind = match par.codec_type {
        ffi::AVMediaType::AVMEDIA_TYPE_VIDEO => Kind::Video,
        ffi::AVMediaType::AVMEDIA_TYPE_AUDIO => Kind::Audio,
        ffi::AVMediaType::AVMEDIA_TYPE_SUBTITLE => Kind::Subtitle,
        _ => Kind::Other,
    };
    let codec = cstr(unsafe { ffi::avcodec_get_name(par.codec_id) }).unwrap_or_default();
    let profile = (par.profile != ffi::FF_PROFILE_UNKNOWN)
        .then(|| cstr(unsafe { ffi::avcodec_profile_name(par.codec_id, par.profile) }))
        .flatten();
    let level = (par.level != ffi::FF_LEVEL_UNKNOWN && par.level > 0).then_some(par.level);
    let (pixel_format, bit_depth) = if kind == Kind::Video && par.format >= 0 {
        // SAFETY: a video stream's format is an AVPixelFormat value.
        let fmt: ffi::AVPixelFormat = unsafe { std::mem::transmute(par.format) };
        let name = cstr(unsafe { ffi::av_get_pix_fmt_name(fmt) });
        let desc = unsafe { ffi::av_pix_fmt_desc_get(fmt) };
        let depth = (!desc.is_null()).then(|| unsafe { (*desc).comp[0].depth } as u32);
        (name, depth)
    } else {
        (None, None)
    };
    let (channels, channel_layout) = if kind == Kind::Audio {
        let n = par.ch_layout.nb_channels.max(0) as u32;
        let mut buf = [0 as libc::c_char; 64];
        // SAFETY: buf is large enough and NUL-terminated by the callee on success.
        let r =
            unsafe { ffi::av_channel_layout_describe(&par.ch_layout, buf.as_mut_ptr(), buf.len()) };
        let desc = (r > 0).then(|| cstr(buf.as_ptr())).flatten();
        (n, desc)
    } else {
        (0, None)
    };
    let extradata = if par.extradata.is_null() || par.extradata_size <= 0 {
        Vec::new()
    } else {
        // SAFETY: extradata points to extradata_size bytes owned by codecpar.
        unsafe { std::slice::from_raw_parts(par.extradata, par.extradata_size as usize) }.to_vec()
    };
    // Tags are read as bytes and converted lossily here, never through ffmpeg-next's `&str`
    // accessors, which trust FFmpeg's bytes to be UTF-8 (a damaged tag would be undefined
    // behaviour: a crash in the playlist writer).
    let tag = |key: &str| stream_tag(st, key);
    let disposition = st.disposition();
    let fr: Rational = st.avg_frame_rate().into();
    let start = st.start_time();
    let duration = st.duration();
    StreamParams {
        index: st.index(),
        kind,
        codec,
        profile,
        level,
        width: par.width.max(0) as u32,
        height: par.height.max(0) as u32,
        frame_rate: (kind == Kind::Video && fr.num > 0 && fr.den > 0).then_some(fr),
        bit_depth,
        pixel_format,
        video_delay: par.video_delay.max(0) as u32,
        channels,
        channel_layout,
        sample_rate: par.sample_rate.max(0) as u32,
        frame_size: par.frame_size.max(0) as u32,
        language: tag("language").filter(|l| !l.is_empty() && l != "und"),
        title: tag("title").or_else(|| tag("handler_name")).filter(|t| {
            // MP4 handler names are muxer boilerplate, not titles.
            let boiler = ["SoundHandler", "VideoHandler", "SubtitleHandler"];
            !t.is_empty() && !boiler.contains(&t.as_str())
        }),
        default: disposition.contains(ff::format::stream::Disposition::DEFAULT),
        forced: disposition.contains(ff::format::stream::Disposition::FORCED),
        attached_pic: disposition.contains(ff::format::stream::Disposition::ATTACHED_PIC),
        time_base: st.time_base().into(),
        start: (start != ffi::AV_NOPTS_VALUE).then_some(start),
        duration: (duration != ffi::AV_NOPTS_VALUE && duration > 0).then_some(duration),
        bit_rate: par.bit_rate.max(0) as u64,
        measured_bit_rate: 0,
        extradata,
        rotation: if kind == Kind::Video { rotation(st) } else { 0 },
        sample_aspect: {
            // The container's (Matroska DisplayWidth/Height, MP4 pasp) where it says one, else
            // the codec's, as av_guess_sample_aspect_ratio prefers.
            // SAFETY: reading a field of the stream the context owns.
            let container = unsafe { (*st.as_ptr()).sample_aspect_ratio };
            let a = if container.num > 0 && container.den > 0 {
                container
            } else {
                par.sample_aspect_ratio
            };
            (kind == Kind::Video && a.num > 0 && a.den > 0 && a.num != a.den)
                .then(|| Rational::new(i64::from(a.num), i64::from(a.den)))
        },
        transfer: (kind == Kind::Video)
            .then(|| transfer_name(par.color_trc))
            .flatten(),
        field_order: match par.field_order {
            _ if kind != Kind::Video => None,
            ffi::AVFieldOrder::AV_FIELD_PROGRESSIVE => Some("progressive".into()),
            ffi::AVFieldOrder::AV_FIELD_TT => Some("tt".into()),
            ffi::AVFieldOrder::AV_FIELD_BB => Some("bb".into()),
            ffi::AVFieldOrder::AV_FIELD_TB => Some("tb".into()),
            ffi::AVFieldOrder::AV_FIELD_BT => Some("bt".into()),
            _ => None,
        },
    }
}

/// FFmpeg's name of a transfer characteristic (`smpte2084`, `arib-std-b67`, `bt709`...), as a
/// stream's parameters or a decoded frame carry it; `None` where it is unspecified.
pub(super) fn transfer_name(trc: ffi::AVColorTransferCharacteristic) -> Option<String> {
    if trc == ffi::AVColorTransferCharacteristic::AVCOL_TRC_UNSPECIFIED {
        return None;
    }
    // SAFETY: av_color_transfer_name returns a static string or NULL.
    cstr(unsafe { ffi::av_color_transfer_name(trc) })
}

/// Degrees clockwise a stream's pictures are turned for display (0, 90, 180, 270), from its
/// display matrix side data (an MP4 tkhd matrix, ISO/IEC 14496-12 8.3.2), as the ffmpeg CLI
/// reads it to rotate on decode: the nearest quarter turn.
fn rotation(st: &ff::format::stream::Stream) -> u16 {
    // SAFETY: the stream is valid; the side data, if any, is a 3x3 i32 matrix owned by it.
    let angle = unsafe {
        let mut size = 0;
        let m = ffi::av_stream_get_side_data(
            st.as_ptr(),
            ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
            &mut size,
        );
        if m.is_null() || size < 36 {
            return 0;
        }
        ffi::av_display_rotation_get(m as *const i32)
    };
    if !angle.is_finite() {
        return 0;
    }
    // av_display_rotation_get is counterclockwise.
    let quarter = (-angle / 90.0).round() as i64;
    (quarter.rem_euclid(4) * 90) as u16
}
