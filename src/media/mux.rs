//! In-memory fMP4 muxing with libavformat's mp4 muxer: one track, one fragment per run.
//!
//! The option set makes every fragment independent of any other run (see
//! shared/docs/fmp4-hls-facts.md): `frag_custom` (we say when a fragment ends),
//! `empty_moov` (the init segment is written at header time, with empty sample tables),
//! `default_base_moof` (ISO/IEC 14496-12 8.8.7 tfhd: offsets relative to the moof),
//! `frag_discont` + `use_editlist=0` (8.8.12 tfdt carries the packet's own DTS, not time since
//! this muxer started), `skip_trailer` (no mfra), `fragment_index` (8.8.5 mfhd sequence number).
//! Output goes to a dynamic memory buffer that we take back ourselves before the context is
//! freed: ffmpeg-next's `Output` would `avio_close` it, which is undefined for a dynamic buffer.

use std::ffi::CString;
use std::ptr;

use ff::ffi;
use ffmpeg_next as ff;

use ff::packet::Mut as _;

use super::{CodecParams, Packet};
use crate::error::Result;
use crate::media::ff_error;
use crate::rational::Rational;

/// What the muxer is to carry: one track's codec parameters (a source stream's, or an
/// encoder's), with its timing.
pub struct TrackSpec<'a> {
    /// Codec parameters of the track.
    pub params: &'a CodecParams,
    /// The time base the caller's timestamps are in.
    pub time_base: Rational,
    /// Sample entry tag to force, e.g. `hvc1` (RFC 6381 players want hvc1, not hev1).
    pub tag: Option<[u8; 4]>,
    /// Degrees clockwise the pictures are turned for display (0, 90, 180, 270): written as the
    /// track header's matrix (ISO/IEC 14496-12 8.3.2 tkhd), for a copied video that the
    /// player must stand upright as its file does.
    pub rotation: u16,
}

/// A muxer writing one fragmented MP4 track into memory.
pub struct FragmentMuxer {
    ctx: *mut ffi::AVFormatContext,
    in_tb: Rational,
    out_tb: Rational,
    init: Vec<u8>,
    /// Output of the muxer may start with a moov that has to wait for packets (delay_moov);
    /// those bytes belong to the init segment, not the fragment.
    delayed_moov: bool,
}

// SAFETY: the context is owned exclusively by this value and never shared.
unsafe impl Send for FragmentMuxer {}

/// An FFmpeg return code as a result: negative codes are errors of `what`.
pub(super) fn check(ret: i32, what: &str) -> Result<i32> {
    if ret < 0 {
        Err(ff_error(what.to_owned(), ff::Error::from(ret)))
    } else {
        Ok(ret)
    }
}

impl FragmentMuxer {
    /// Opens the muxer and writes the header. `fragment_index` becomes the mfhd sequence number
    /// of the fragment this muxer writes (segment number + 1).
    pub fn new(spec: &TrackSpec<'_>, fragment_index: u32) -> Result<FragmentMuxer> {
        let params = spec.params;
        let mut m = FragmentMuxer {
            ctx: ptr::null_mut(),
            in_tb: spec.time_base,
            out_tb: spec.time_base,
            init: Vec::new(),
            delayed_moov: false,
        };
        let fmt = CString::new("mp4").expect("static");
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
                "creating the mp4 muxer",
            )?;
            // No encoder/version strings: bytes must not depend on the FFmpeg build.
            (*m.ctx).flags |= ffi::AVFMT_FLAG_BITEXACT;
            let st = ffi::avformat_new_stream(m.ctx, ptr::null());
            if st.is_null() {
                return Err(ff_error("adding a stream", ff::Error::Bug));
            }
            check(
                ffi::avcodec_parameters_copy((*st).codecpar, params.0.as_ptr()),
                "copying codec parameters",
            )?;
            let par = &mut *(*st).codecpar;
            par.codec_tag = match spec.tag {
                Some(t) => u32::from_le_bytes(t),
                None => 0,
            };
            if par.codec_id == ffi::AVCodecID::AV_CODEC_ID_FLAC {
                // FLAC in MP4 ("fLaC" sample entry, dfLa box) is marked experimental in
                // FFmpeg 5.1's muxer; browsers play it.
                (*m.ctx).strict_std_compliance = ffi::FF_COMPLIANCE_EXPERIMENTAL;
            }
            m.delayed_moov = matches!(
                par.codec_id,
                ffi::AVCodecID::AV_CODEC_ID_AC3
                    | ffi::AVCodecID::AV_CODEC_ID_EAC3
                    | ffi::AVCodecID::AV_CODEC_ID_TRUEHD
            );
            if !spec.rotation.is_multiple_of(360) {
                // movenc writes the stream's display matrix into tkhd.
                let m = ffi::av_stream_new_side_data(
                    st,
                    ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
                    9 * std::mem::size_of::<i32>(),
                );
                if m.is_null() {
                    return Err(ff_error("adding the display matrix", ff::Error::Bug));
                }
                // av_display_rotation_set's angle is clockwise (av_display_rotation_get's is
                // counterclockwise).
                ffi::av_display_rotation_set(m as *mut i32, f64::from(spec.rotation));
            }
            (*st).time_base = ffi::AVRational {
                num: spec.time_base.num as i32,
                den: spec.time_base.den as i32,
            };
            check(
                ffi::avio_open_dyn_buf(&mut (*m.ctx).pb),
                "opening a memory buffer",
            )?;

            let mut flags =
                String::from("+frag_custom+empty_moov+default_base_moof+frag_discont+skip_trailer");
            if m.delayed_moov {
                // AC-3 (dac3), E-AC-3 (dec3) and TrueHD sample entries are built from the
                // first packets; every frame of a stream carries the same header fields, so
                // the init is the same whichever segment's packets made it.
                flags.push_str("+delay_moov");
            }
            let mut opts = ff::Dictionary::new();
            opts.set("movflags", &flags);
            opts.set("use_editlist", "0");
            opts.set("avoid_negative_ts", "disabled");
            opts.set("fragment_index", &fragment_index.max(1).to_string());
            let mut raw = opts.disown();
            let ret = ffi::avformat_write_header(m.ctx, &mut raw);
            ff::Dictionary::own(raw);
            check(ret, "writing the mp4 header")?;
            m.out_tb = Rational::new((*st).time_base.num as i64, (*st).time_base.den as i64);
            m.init = m.take_buffer()?;
            if par.codec_id == ffi::AVCodecID::AV_CODEC_ID_FLAC {
                crate::mp4::fix_flac_sample_size(&mut m.init);
            }
            check(
                ffi::avio_open_dyn_buf(&mut (*m.ctx).pb),
                "opening a memory buffer",
            )?;
        }
        Ok(m)
    }

    /// The init segment (ftyp + moov) this muxer wrote at header time; `None` for codecs whose
    /// sample entry is built from packets, whose init comes out of [`FragmentMuxer::finish`].
    pub fn init_bytes(&self) -> Option<&[u8]> {
        (!self.delayed_moov).then_some(&self.init[..])
    }

    /// The time base the muxer's track uses (the mdhd timescale).
    pub fn out_time_base(&self) -> Rational {
        self.out_tb
    }

    /// Writes one demuxed packet with the given timing, in the spec's time base.
    pub fn write(&mut self, pkt: &mut Packet, pts: i64, dts: i64, duration: i64) -> Result<()> {
        self.write_raw(&mut pkt.inner, pts, dts, duration)
    }

    fn write_raw(&mut self, p: &mut ff::Packet, pts: i64, dts: i64, duration: i64) -> Result<()> {
        let rescale = |v: i64| crate::rational::convert(v, self.in_tb, self.out_tb);
        p.set_pts(Some(rescale(pts)));
        p.set_dts(Some(rescale(dts)));
        p.set_duration(rescale(dts + duration) - rescale(dts));
        p.set_stream(0);
        p.set_position(-1);
        // SAFETY: ctx is an initialised muxer; the packet is a valid, owned AVPacket.
        unsafe {
            check(
                ffi::av_write_frame(self.ctx, p.as_mut_ptr()),
                "writing a packet",
            )?;
        }
        Ok(())
    }

    /// Flushes the one fragment and returns (init bytes, fragment bytes).
    pub fn finish(mut self) -> Result<(Vec<u8>, Vec<u8>)> {
        // SAFETY: a NULL packet asks a frag_custom muxer to write out the pending fragment.
        unsafe {
            check(
                ffi::av_write_frame(self.ctx, ptr::null_mut()),
                "writing the fragment",
            )?;
        }
        if self.delayed_moov {
            // The first flush of a delay_moov muxer writes only the moov; the second writes
            // the fragment.
            // SAFETY: as above.
            unsafe {
                check(
                    ffi::av_write_frame(self.ctx, ptr::null_mut()),
                    "writing the fragment",
                )?;
            }
        }
        let mut bytes = self.take_buffer()?;
        let mut init = std::mem::take(&mut self.init);
        if self.delayed_moov {
            // ftyp+moov came out in front of the moof: it is the init segment.
            if let Some(at) = crate::mp4::child(&bytes, b"moof").map(|b| b.offset) {
                let tail = bytes.split_off(at);
                init.extend_from_slice(&bytes);
                bytes = tail;
            }
        }
        Ok((init, bytes))
    }

    fn take_buffer(&mut self) -> Result<Vec<u8>> {
        // SAFETY: ctx is this muxer's context; its pb, if any, is the dynamic buffer we opened.
        Ok(unsafe { close_dyn_buf(self.ctx) })
    }
}

/// Closes the dynamic buffer a context writes into and returns its bytes (none when it has
/// no buffer); the context's pb is null afterwards, so nothing closes it twice.
///
/// # Safety
/// `ctx` is a valid output context whose pb is null or a buffer from `avio_open_dyn_buf`.
pub(super) unsafe fn close_dyn_buf(ctx: *mut ffi::AVFormatContext) -> Vec<u8> {
    // SAFETY: as the caller promises; closing hands us the buffer's memory, which we copy and
    // free with av_free.
    unsafe {
        let pb = (*ctx).pb;
        if pb.is_null() {
            return Vec::new();
        }
        let mut data: *mut u8 = ptr::null_mut();
        let len = ffi::avio_close_dyn_buf(pb, &mut data);
        (*ctx).pb = ptr::null_mut();
        let out = if data.is_null() || len <= 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(data, len as usize).to_vec()
        };
        ffi::av_free(data as *mut libc::c_void);
        out
    }
}

impl Drop for FragmentMuxer {
    fn drop(&mut self) {
        if self.ctx.is_null() {
            return;
        }
        let _ = self.take_buffer();
        // SAFETY: pb is null, so freeing the context cannot touch our buffer; the muxer's
        // deinit runs inside avformat_free_context.
        unsafe { ffi::avformat_free_context(self.ctx) };
        self.ctx = ptr::null_mut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{OpenMode, Source};

    /// [`crate::mp4::video_timescale`] (used where Haema writes copied fragments without a
    /// muxer) is the timescale the muxer picks, for the time bases sources come in.
    #[test]
    fn the_muxers_video_timescale_is_the_one_fragments_are_written_in() {
        let file = crate::fixture_files(&["mkv"])
            .into_iter()
            .next()
            .expect("fixtures");
        let src = Source::open(&file, OpenMode::Header).unwrap();
        let params = src.parameters(0).unwrap();
        for tb in [
            (1, 1000),
            (1, 90_000),
            (1, 25),
            (1, 12_800),
            (1001, 24_000),
            (1, 600),
        ] {
            let time_base = Rational::new(tb.0, tb.1);
            let spec = TrackSpec {
                params: &params,
                time_base,
                tag: None,
                rotation: 0,
            };
            let mux = FragmentMuxer::new(&spec, 1).unwrap();
            assert_eq!(
                mux.out_time_base(),
                crate::mp4::video_timescale(time_base),
                "{tb:?}"
            );
        }
    }
}
