//! Hardware frames for encoders that take nothing else.
//!
//! VAAPI encoders (h264_vaapi, hevc_vaapi) accept only frames that live on the GPU: the
//! encoder context needs a frames context (a pool on a device), and every software frame is
//! uploaded into one of its surfaces before it is sent. NVENC and QSV take software frames
//! (yuv420p, nv12) themselves and need none of this.

use std::ffi::CString;
use std::ptr;

use ff::ffi;
use ffmpeg_next as ff;

use crate::error::{Error, Result};
use crate::media::ff_error;

/// The render node VAAPI opens unless `HAEMA_VAAPI_DEVICE` names another (the first GPU's,
/// as Jellyfin and the ffmpeg CLI default to).
pub const DEFAULT_VAAPI_DEVICE: &str = "/dev/dri/renderD128";

/// A pool of VAAPI surfaces of one size, on one device.
pub struct HwFrames {
    device: *mut ffi::AVBufferRef,
    frames: *mut ffi::AVBufferRef,
}

// Reference-counted FFmpeg buffers, used by one encoder at a time.
unsafe impl Send for HwFrames {}

impl HwFrames {
    /// Opens the VAAPI device and a pool of NV12 surfaces of `width` x `height`.
    pub fn vaapi(width: u32, height: u32) -> Result<HwFrames> {
        let path =
            std::env::var("HAEMA_VAAPI_DEVICE").unwrap_or_else(|_| DEFAULT_VAAPI_DEVICE.to_owned());
        let fail = |what: &str, ret: i32| Error::Unsupported {
            path: path.clone().into(),
            reason: format!("{what}: {}", ff::Error::from(ret)),
        };
        let c_path = CString::new(path.as_bytes()).map_err(|_| Error::Unsupported {
            path: path.clone().into(),
            reason: "the device path contains a NUL byte".into(),
        })?;
        let mut hw = HwFrames {
            device: ptr::null_mut(),
            frames: ptr::null_mut(),
        };
        // SAFETY: standard hwcontext set-up; on failure the partly made buffers are released
        // by Drop (av_buffer_unref accepts null).
        unsafe {
            let ret = ffi::av_hwdevice_ctx_create(
                &mut hw.device,
                ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_VAAPI,
                c_path.as_ptr(),
                ptr::null_mut(),
                0,
            );
            if ret < 0 {
                return Err(fail("opening the VAAPI device", ret));
            }
            hw.frames = ffi::av_hwframe_ctx_alloc(hw.device);
            if hw.frames.is_null() {
                return Err(fail("allocating VAAPI frames", ffi::AVERROR(libc::ENOMEM)));
            }
            let fc = (*hw.frames).data as *mut ffi::AVHWFramesContext;
            (*fc).format = ffi::AVPixelFormat::AV_PIX_FMT_VAAPI;
            (*fc).sw_format = ffi::AVPixelFormat::AV_PIX_FMT_NV12;
            (*fc).width = width as i32;
            (*fc).height = height as i32;
            (*fc).initial_pool_size = 8;
            let ret = ffi::av_hwframe_ctx_init(hw.frames);
            if ret < 0 {
                return Err(fail("setting up VAAPI frames", ret));
            }
        }
        Ok(hw)
    }

    /// The software format frames are converted to before upload.
    pub fn sw_format(&self) -> ff::format::Pixel {
        ff::format::Pixel::NV12
    }

    /// Makes an encoder (not yet opened) take frames from this pool.
    pub fn attach(&self, enc: &mut ff::encoder::video::Video) {
        // SAFETY: the encoder context is valid and unopened; it keeps its own reference to
        // the frames context.
        unsafe {
            let ctx = enc.as_mut_ptr();
            (*ctx).pix_fmt = ffi::AVPixelFormat::AV_PIX_FMT_VAAPI;
            (*ctx).hw_frames_ctx = ffi::av_buffer_ref(self.frames);
        }
    }

    /// Uploads a software frame (in [`HwFrames::sw_format`]) into a surface of the pool.
    pub fn upload(&self, frame: &ff::frame::Video) -> Result<ff::frame::Video> {
        let mut hw = ff::frame::Video::empty();
        // SAFETY: both frames are valid; the surface is allocated from our pool and the
        // transfer copies the picture into it.
        unsafe {
            let ret = ffi::av_hwframe_get_buffer(self.frames, hw.as_mut_ptr(), 0);
            if ret < 0 {
                return Err(ff_error("getting a VAAPI surface", ff::Error::from(ret)));
            }
            let ret = ffi::av_hwframe_transfer_data(hw.as_mut_ptr(), frame.as_ptr(), 0);
            if ret < 0 {
                return Err(ff_error("uploading a frame to VAAPI", ff::Error::from(ret)));
            }
        }
        hw.set_pts(frame.pts());
        Ok(hw)
    }
}

impl Drop for HwFrames {
    fn drop(&mut self) {
        // SAFETY: our own references (or null).
        unsafe {
            ffi::av_buffer_unref(&mut self.frames);
            ffi::av_buffer_unref(&mut self.device);
        }
    }
}
