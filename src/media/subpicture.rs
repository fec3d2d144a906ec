//! Bitmap subtitle packets (PGS, VobSub, DVB) decoded by FFmpeg into plain
//! [`overlay::Event`]s: palette-indexed rectangles turned into RGBA, with their times.

use ffmpeg_next as ff;

use super::{ff_error, CodecParams, Packet};
use crate::error::Result;
use crate::overlay::{BitmapRect, Event};
use crate::rational::{convert, Rational};

/// The decoders' "no end given" (PGS display sets last until the next: FFmpeg's pgssubdec
/// says `UINT32_MAX`).
const NO_END: u32 = u32::MAX;

/// The events of a bitmap subtitle stream's packets (in order, times in the stream's
/// `time_base`), with times in `out_tb`. `canvas` is the size rectangles are placed on when the
/// decoder names none (the video's own). A packet the decoder rejects shows nothing: a damaged
/// subtitle never costs the picture.
pub fn bitmap_events(
    params: &CodecParams,
    packets: &[Packet],
    time_base: Rational,
    out_tb: Rational,
    canvas: (u32, u32),
) -> Result<Vec<Event>> {
    let ctx = ff::codec::Context::from_parameters(params.0.clone())
        .map_err(|e| ff_error("subtitle decoder set-up", e))?;
    let mut dec = ctx
        .decoder()
        .subtitle()
        .map_err(|e| ff_error("opening the subtitle decoder", e))?;
    let mut out = Vec::new();
    for p in packets {
        let Some(t) = p.time() else { continue };
        let mut sub = ff::Subtitle::new();
        if !matches!(dec.decode(&p.inner, &mut sub), Ok(true)) {
            continue;
        }
        // SAFETY: the decoder filled `sub` (got_sub_ptr set): its rects are valid until
        // avsubtitle_free, which runs once, below, after they are copied out.
        let (start_ms, end_ms, rects) = unsafe {
            let s = &*sub.as_ptr();
            let rects = (0..s.num_rects as usize)
                .filter_map(|i| rect_rgba(*s.rects.add(i)))
                .collect::<Vec<_>>();
            let times = (s.start_display_time, s.end_display_time);
            ff::ffi::avsubtitle_free(sub.as_mut_ptr());
            (times.0, times.1, rects)
        };
        // SAFETY: reading two ints of the open decoder's context.
        let (w, h) = unsafe { ((*dec.as_ptr()).width, (*dec.as_ptr()).height) };
        let at = |ms: u32| t + convert(i64::from(ms), Rational::new(1, 1000), time_base);
        let end = if end_ms != NO_END && end_ms > start_ms {
            Some(at(end_ms))
        } else if p.duration > 0 {
            Some(t + p.duration)
        } else {
            None
        };
        out.push(Event {
            start: convert(at(start_ms), time_base, out_tb),
            end: end.map(|e| convert(e, time_base, out_tb)),
            canvas: if w > 0 && h > 0 {
                (w as u32, h as u32)
            } else {
                canvas
            },
            rects,
        });
    }
    Ok(out)
}

/// The largest rectangle side taken (Blu-ray PGS objects are at most 4096 wide): a damaged
/// stream claiming more is left out rather than allocated.
const MAX_SIDE: i32 = 8192;

/// A bitmap rectangle's pixels as straight RGBA (the decoders give palette indices, data[0],
/// and a palette of native-endian 0xAARRGGBB words, data[1]); `None` for text rectangles and
/// empty or malformed ones.
///
/// # Safety
/// `r` must point to a rectangle of a subtitle the decoder filled and not yet freed.
unsafe fn rect_rgba(r: *const ff::ffi::AVSubtitleRect) -> Option<BitmapRect> {
    let r = &*r;
    if r.type_ != ff::ffi::AVSubtitleType::SUBTITLE_BITMAP
        || !(1..=MAX_SIDE).contains(&r.w)
        || !(1..=MAX_SIDE).contains(&r.h)
        || r.data[0].is_null()
        || r.data[1].is_null()
        || r.linesize[0] < r.w
    {
        return None;
    }
    let (w, h) = (r.w as usize, r.h as usize);
    let colors = r.nb_colors.clamp(0, 256) as usize;
    let palette = std::slice::from_raw_parts(r.data[1] as *const u32, colors);
    let stride = r.linesize[0] as usize;
    let indices = std::slice::from_raw_parts(r.data[0], stride * (h - 1) + w);
    let mut rgba = Vec::with_capacity(w * h * 4);
    for row in 0..h {
        for &i in &indices[row * stride..row * stride + w] {
            let c = palette.get(i as usize).copied().unwrap_or(0);
            rgba.extend_from_slice(&[(c >> 16) as u8, (c >> 8) as u8, c as u8, (c >> 24) as u8]);
        }
    }
    Some(BitmapRect {
        x: r.x,
        y: r.y,
        width: w as u32,
        height: h as u32,
        rgba,
    })
}
