//! MPEG-TS into memory with libavformat's mpegts muxer (ISO/IEC 13818-1): one video and one
//! AAC stream, fed access units already in TS form (Annex B, ADTS: see [`crate::es`]), taken
//! out as bytes after each batch. One muxer serves one client for as long as it listens, so
//! the continuity counters, PAT/PMT repetition and PCR run on without a break.

use std::ffi::CString;
use std::ptr;

use ff::ffi;
use ffmpeg_next as ff;

use super::mux::{check, close_dyn_buf};
use crate::error::Result;
use crate::media::ff_error;

/// The 90 kHz time base of PTS and DTS in TS.
const TS_TIME_BASE: ffi::AVRational = ffi::AVRational {
    num: 1,
    den: 90_000,
};

/// A TS muxer writing into memory.
pub struct TsMuxer {
    ctx: *mut ffi::AVFormatContext,
}

// SAFETY: the context is owned exclusively by this value and never shared.
unsafe impl Send for TsMuxer {}

impl TsMuxer {
    /// Opens a muxer for `video` (`h264` or `hevc`) and AAC audio at `sample_rate` with
    /// `channels`, and writes the first PAT and PMT.
    pub fn new(video: &str, sample_rate: u32, channels: u32) -> Result<TsMuxer> {
        let mut m = TsMuxer {
            ctx: ptr::null_mut(),
        };
        let video_id = match video {
            "h264" => ffi::AVCodecID::AV_CODEC_ID_H264,
            "hevc" => ffi::AVCodecID::AV_CODEC_ID_HEVC,
            other => {
                return Err(crate::Error::Unsupported {
                    path: Default::default(),
                    reason: format!("{other} video in MPEG-TS"),
                })
            }
        };
        let fmt = CString::new("mpegts").expect("static");
        // SAFETY: standard libavformat output set-up; every pointer is checked, and `m`'s Drop
        // frees whatever was allocated if a later step fails.
        unsafe {
            check(
                ffi::avformat_alloc_output_context2(
                    &mut m.ctx,
                    ptr::null_mut(),
                    fmt.as_ptr(),
                    ptr::null(),
                ),
                "creating the mpegts muxer",
            )?;
            (*m.ctx).flags |= ffi::AVFMT_FLAG_BITEXACT;
            for (kind, id) in [
                (ffi::AVMediaType::AVMEDIA_TYPE_VIDEO, video_id),
                (
                    ffi::AVMediaType::AVMEDIA_TYPE_AUDIO,
                    ffi::AVCodecID::AV_CODEC_ID_AAC,
                ),
            ] {
                let st = ffi::avformat_new_stream(m.ctx, ptr::null());
                if st.is_null() {
                    return Err(ff_error("adding a stream", ff::Error::Bug));
                }
                let par = &mut *(*st).codecpar;
                par.codec_type = kind;
                par.codec_id = id;
                if kind == ffi::AVMediaType::AVMEDIA_TYPE_AUDIO {
                    par.sample_rate = sample_rate as i32;
                    ffi::av_channel_layout_default(&mut par.ch_layout, channels as i32);
                }
                (*st).time_base = TS_TIME_BASE;
            }
            check(
                ffi::avio_open_dyn_buf(&mut (*m.ctx).pb),
                "opening a memory buffer",
            )?;
            check(
                ffi::avformat_write_header(m.ctx, ptr::null_mut()),
                "writing the TS header",
            )?;
        }
        Ok(m)
    }

    /// Writes one access unit (stream 0 video, 1 audio; times in 90 kHz), in decode order.
    pub fn write(&mut self, video: bool, pts: i64, dts: i64, key: bool, data: &[u8]) -> Result<()> {
        // SAFETY: ctx is an initialised muxer; the packet is allocated, filled and freed here.
        unsafe {
            let mut pkt = ffi::av_packet_alloc();
            if pkt.is_null() {
                return Err(ff_error("allocating a packet", ff::Error::Bug));
            }
            let ret = ffi::av_new_packet(pkt, data.len() as i32);
            if ret >= 0 {
                ptr::copy_nonoverlapping(data.as_ptr(), (*pkt).data, data.len());
                (*pkt).pts = pts;
                (*pkt).dts = dts;
                (*pkt).stream_index = if video { 0 } else { 1 };
                if key {
                    (*pkt).flags |= ffi::AV_PKT_FLAG_KEY;
                }
            }
            let ret = if ret < 0 {
                ret
            } else {
                ffi::av_write_frame(self.ctx, pkt)
            };
            ffi::av_packet_free(&mut pkt);
            check(ret, "writing a TS packet").map(|_| ())
        }
    }

    /// The bytes written since the last call (whole 188-byte packets).
    pub fn take(&mut self) -> Result<Vec<u8>> {
        // SAFETY: pb is the dynamic buffer we opened: flushed, closed for its bytes, and a new
        // one takes its place for what comes next.
        unsafe {
            if !(*self.ctx).pb.is_null() {
                ffi::avio_flush((*self.ctx).pb);
            }
            let out = close_dyn_buf(self.ctx);
            check(
                ffi::avio_open_dyn_buf(&mut (*self.ctx).pb),
                "opening a memory buffer",
            )?;
            Ok(out)
        }
    }
}

impl Drop for TsMuxer {
    fn drop(&mut self) {
        if self.ctx.is_null() {
            return;
        }
        // SAFETY: the buffer is closed and freed before the context, so nothing touches it
        // twice; the muxer's deinit runs inside avformat_free_context.
        unsafe {
            close_dyn_buf(self.ctx);
            ffi::avformat_free_context(self.ctx);
        }
        self.ctx = ptr::null_mut();
    }
}
