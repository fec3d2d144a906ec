//! FFmpeg's world: opening, demuxing, index entries, seeking and in-memory fMP4 muxing.
//!
//! This is the only module with `unsafe` code. Everything above it sees plain Rust values
//! ([`StreamParams`], [`IndexEntry`], [`Packet`]) and safe handles ([`Source`], [`mux::FragmentMuxer`]),
//! so timelines, playlists and codec strings stay pure and testable without FFmpeg.

pub mod hw;
pub mod mux;
mod native;
mod params;
pub mod subpicture;
pub mod sys;
pub mod transcode;
pub mod ts;

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Once;

use ff::ffi;
use ffmpeg_next as ff;

use crate::error::{Error, Result};
use crate::rational::Rational;
use crate::stream::{IndexEntry, StreamParams};

impl From<ff::Rational> for Rational {
    fn from(r: ff::Rational) -> Self {
        Rational::new(r.numerator() as i64, r.denominator() as i64)
    }
}

/// A demuxed packet with its timing as plain values, and the FFmpeg packet for muxing.
pub struct Packet {
    /// Container stream index.
    pub stream: usize,
    /// Presentation time stamp, in the stream's time base.
    pub pts: Option<i64>,
    /// Decode time stamp, in the stream's time base.
    pub dts: Option<i64>,
    /// Duration in the stream's time base (0 when unknown).
    pub duration: i64,
    /// A keyframe.
    pub keyframe: bool,
    /// Byte position in the file (-1 when unknown).
    pub pos: i64,
    pub(crate) inner: ff::Packet,
}

impl Packet {
    /// The payload bytes.
    pub fn data(&self) -> &[u8] {
        self.inner.data().unwrap_or(&[])
    }

    /// PTS, or DTS where the container has no PTS.
    pub fn time(&self) -> Option<i64> {
        self.pts.or(self.dts)
    }
}

/// An FFmpeg error with what was being done, as the core's [`Error`]: FFmpeg's own error type
/// stays inside this module.
pub(crate) fn ff_error(context: impl Into<String>, e: ff::Error) -> Error {
    Error::Ffmpeg {
        context: context.into(),
        reason: e.to_string(),
    }
}

/// A stream's codec parameters as FFmpeg holds them (a source stream's, or an encoder's): an
/// opaque handle that decoders and the muxer take, so nothing above this module sees FFmpeg's
/// types.
#[derive(Clone)]
pub struct CodecParams(pub(crate) ff::codec::Parameters);

impl CodecParams {
    /// The parameters of a video stream as the library's probe recorded them (codec, size,
    /// codec configuration record), without the file: what a copied programme's init is made
    /// from when its file is gone (a channel's slate). The same sample entry and
    /// configuration as the file's own, so the file's pictures decode under it too.
    pub fn from_probe(s: &StreamParams) -> Option<CodecParams> {
        let id = ff::decoder::find_by_name(&s.codec)?.id();
        let mut p = ff::codec::Parameters::new();
        let len = s.extradata.len();
        // SAFETY: `p` owns a valid AVCodecParameters; the extradata is allocated with
        // av_mallocz (padding included, as FFmpeg requires) and owned by it from here on,
        // freed by avcodec_parameters_free when `p` drops.
        unsafe {
            let raw = p.as_mut_ptr();
            (*raw).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
            (*raw).codec_id = id.into();
            (*raw).width = i32::try_from(s.width).ok()?;
            (*raw).height = i32::try_from(s.height).ok()?;
            if len > 0 {
                let buf =
                    ffi::av_mallocz(len + ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize) as *mut u8;
                if buf.is_null() {
                    return None;
                }
                std::ptr::copy_nonoverlapping(s.extradata.as_ptr(), buf, len);
                (*raw).extradata = buf;
                (*raw).extradata_size = i32::try_from(len).ok()?;
            }
        }
        Some(CodecParams(p))
    }
}

impl Packet {
    /// An encoder's output packet, with its timing as plain values.
    pub(crate) fn encoded(p: ff::Packet) -> Packet {
        Packet {
            stream: 0,
            pts: p.pts(),
            dts: p.dts(),
            duration: p.duration(),
            keyframe: p.is_key(),
            pos: -1,
            inner: p,
        }
    }
}

/// Initialises FFmpeg once per process and keeps its log quiet unless asked.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = ff::init();
        let level = match std::env::var("HAEMA_FFMPEG_LOG").as_deref() {
            Ok("debug") => ff::log::Level::Debug,
            Ok("info") => ff::log::Level::Info,
            Ok("warning") => ff::log::Level::Warning,
            _ => ff::log::Level::Fatal,
        };
        ff::log::set_level(level);
    });
}

/// How much FFmpeg works out when a file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// What the container header declares (Matroska and MP4 headers carry complete codec
    /// configurations); other containers get FFmpeg's stream analysis anyway. The same in
    /// every process, and it decodes nothing: what segment making uses.
    Header,
    /// FFmpeg's stream analysis (`avformat_find_stream_info`): decodes a few frames to fill in
    /// profile, level, pixel format, frame rate. For showing, not for bytes.
    Analysed,
}

/// An open media file to read from.
pub struct Source {
    path: PathBuf,
    // Declared before `_io`: the format context is closed before the I/O it reads from.
    input: ff::format::context::Input,
    /// A progressive MP4 read from its own sample tables (see [`native`]).
    mp4: Option<native::Mp4Reader>,
    _io: Option<native::MemIo>,
    /// A remote file's reader, told what the next reads take (see [`Source::will_read`]).
    remote: Option<std::sync::Arc<dyn crate::input::ReadAt>>,
}

/// A packet's timing and stream, without its payload.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Container stream index.
    pub stream: usize,
    /// Presentation time stamp, or the decode time stamp where there is none.
    pub time: Option<i64>,
    /// A keyframe.
    pub keyframe: bool,
    /// Bytes of the packet.
    pub size: usize,
}

/// How much earlier than a PTS an MPEG-TS seek aims: more than any mux delay (the PCR's lead)
/// that recorders and broadcasters use, less than a GOP of reading wasted in most files.
const MPEGTS_SEEK_MARGIN_SECS: f64 = 2.0;

// Consecutive read errors after which a file is treated as ending (garbage past a truncation).
const MAX_READ_ERRORS: u32 = 64;

impl Source {
    /// Opens a file.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Source> {
        Self::open_with(path, mode, true)
    }

    /// Opens a file, letting libavformat read an MP4's sample tables when `tables` is false
    /// (to check the two ways give the same packets).
    fn open_with(path: &Path, mode: OpenMode, tables: bool) -> Result<Source> {
        init();
        let not_found = |reason: String| Error::NotFound {
            path: path.to_owned(),
            reason,
        };
        // A URL is read by ranges through our own I/O (connection reuse, retries, a clear
        // error for a server without Range support); a local file by libavformat's.
        let remote = if crate::input::is_url(path) {
            Some(crate::input::open(path).map_err(|e| not_found(e.to_string()))?)
        } else {
            None
        };
        let len = match &remote {
            Some(r) => r.len(),
            None => {
                let meta = std::fs::metadata(path).map_err(|e| not_found(e.to_string()))?;
                if meta.is_dir() {
                    return Err(not_found("is a directory, not a media file".into()));
                }
                meta.len()
            }
        };
        if len == 0 {
            return Err(Error::Corrupt {
                path: path.to_owned(),
                reason: "the file is empty".into(),
            });
        }
        if mode == OpenMode::Header && tables {
            let file = match &remote {
                Some(r) => Some(r.clone()),
                None => crate::input::open(path).ok(),
            };
            if let Some((input, io, mp4)) = file.and_then(|f| native::open(path, f)) {
                return Ok(Source {
                    path: path.to_owned(),
                    input,
                    mp4: Some(mp4),
                    _io: Some(io),
                    remote: remote.clone(),
                });
            }
        }
        let corrupt = |ret: i32| Error::Corrupt {
            path: path.to_owned(),
            reason: ff::Error::from(ret).to_string(),
        };
        use std::os::unix::ffi::OsStrExt;
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| not_found("the path contains a NUL byte".into()))?;
        let (mut ctx, io) = match remote.clone() {
            Some(r) => {
                let (ctx, io) = native::custom_io(r)
                    .ok_or_else(|| not_found("no memory for its I/O context".into()))?;
                (ctx, Some(io))
            }
            None => (std::ptr::null_mut(), None),
        };
        // SAFETY: standard libavformat opening; on failure libavformat frees the context, and
        // on a failed stream analysis we close it ourselves before returning.
        unsafe {
            let ret = ffi::avformat_open_input(
                &mut ctx,
                c_path.as_ptr(),
                std::ptr::null(),
                std::ptr::null_mut(),
            );
            if ret < 0 {
                return Err(corrupt(ret));
            }
            let name = CStr::from_ptr((*(*ctx).iformat).name).to_string_lossy();
            // VP8/VP9 keep profile and bit depth in the bitstream, and the MP4 muxer needs
            // them for its vpcC box: those files are analysed whatever the mode (the choice
            // depends on the file alone, so every process makes the same one).
            // A file with no stream yet has a NULL array: no slice of it (found by the
            // mutation campaign, tests/mutations.rs).
            let streams: &[*mut ffi::AVStream] = if (*ctx).streams.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts((*ctx).streams, (*ctx).nb_streams as usize)
            };
            let needs_bitstream = streams.iter().any(|st| {
                matches!(
                    (*(**st).codecpar).codec_id,
                    ffi::AVCodecID::AV_CODEC_ID_VP9 | ffi::AVCodecID::AV_CODEC_ID_VP8
                )
            });
            let header_is_enough =
                (name.contains("matroska") || name.contains("mp4")) && !needs_bitstream;
            let is_avi = name == "avi";
            if mode == OpenMode::Analysed || !header_is_enough {
                let ret = ffi::avformat_find_stream_info(ctx, std::ptr::null_mut());
                if ret < 0 {
                    ffi::avformat_close_input(&mut ctx);
                    return Err(corrupt(ret));
                }
            }
            if is_avi {
                // AVI stores decode times only: a reference picture's packet has no PTS, and
                // with B-frames it is shown after pictures decoded later. libavformat works
                // its PTS out from the packets that follow, so every packet comes with the
                // time it is shown, which segments are cut by.
                (*ctx).flags |= ffi::AVFMT_FLAG_GENPTS;
            }
            Ok(Source {
                path: path.to_owned(),
                input: ff::format::context::Input::wrap(ctx),
                mp4: None,
                _io: io,
                remote,
            })
        }
    }

    /// The file this source reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The container format's short name ("matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2").
    pub fn format_name(&self) -> String {
        self.input.format().name().to_owned()
    }

    /// Duration of the whole file in seconds, where the container says.
    pub fn duration(&self) -> Option<f64> {
        let d = self.input.duration();
        (d > 0).then(|| d as f64 / f64::from(ffi::AV_TIME_BASE))
    }

    /// Start time of the whole file in seconds, where known.
    pub fn start_time(&self) -> Option<f64> {
        let s = unsafe { (*self.input.as_ptr()).start_time };
        (s != ffi::AV_NOPTS_VALUE).then(|| s as f64 / f64::from(ffi::AV_TIME_BASE))
    }

    /// Declared overall bit rate in bits/s (0 when unknown).
    pub fn bit_rate(&self) -> u64 {
        self.input.bit_rate().max(0) as u64
    }

    /// The file's size in bytes as the I/O layer sees it.
    pub fn file_size(&self) -> u64 {
        if let Some(m) = &self.mp4 {
            return m.file_size();
        }
        // SAFETY: pb is valid for an open input context that reads a file.
        unsafe {
            let pb = (*self.input.as_ptr()).pb;
            if pb.is_null() {
                0
            } else {
                ffi::avio_size(pb).max(0) as u64
            }
        }
    }

    /// Codec parameters and metadata of every stream, as plain data.
    pub fn streams(&self) -> Vec<StreamParams> {
        self.input
            .streams()
            .map(|st| params::stream_params(&st))
            .collect()
    }

    /// The container's own index for one stream: MP4 sample tables, Matroska Cues
    /// (after [`Source::load_index`]).
    pub fn index_entries(&self, stream: usize) -> Vec<IndexEntry> {
        if let Some(m) = &self.mp4 {
            let Some(t) = m.track(stream) else {
                return Vec::new();
            };
            return t
                .samples()
                .map(|(s, offset)| IndexEntry {
                    timestamp: s.dts,
                    pos: offset as i64,
                    size: s.size,
                    keyframe: s.sync,
                })
                .collect();
        }
        let Some(st) = self.input.stream(stream) else {
            return Vec::new();
        };
        // SAFETY: the stream pointer is valid while `self.input` lives; the public accessors
        // (libavformat >= 58.78) return entries owned by the stream, which we copy out.
        unsafe {
            let ptr = st.as_ptr() as *mut ffi::AVStream;
            let n = ffi::avformat_index_get_entries_count(ptr);
            let mut out = Vec::with_capacity(n.max(0) as usize);
            for i in 0..n {
                let e = ffi::avformat_index_get_entry(ptr, i);
                if e.is_null() {
                    break;
                }
                let e = &*e;
                out.push(IndexEntry {
                    timestamp: e.timestamp,
                    pos: e.pos,
                    size: e.size().max(0) as u32,
                    keyframe: e.flags() & ffi::AVINDEX_KEYFRAME != 0,
                });
            }
            out
        }
    }

    /// Makes the demuxer load a lazily read index. Matroska reads its Cues on the first seek,
    /// not at open. The seek goes to the start: a seek further in would make libavformat read
    /// a file without Cues up to that point, building index entries from the data.
    pub fn load_index(&mut self, stream: usize) {
        if self.mp4.is_some() {
            return;
        }
        // Failure just means there is no index; the caller falls back to a packet scan.
        let _ = self.seek(stream, i64::MIN / 2);
    }

    /// Says the next reads take `stream` (and the streams beside it) from `from` (where it
    /// was just sought) up to `until`, in the stream's time base: a remote file fetches those
    /// bytes in one request (an MP4's samples from its tables; other containers' from the
    /// keyframe index: the clusters from the keyframe at `from` to the one at `until`, after
    /// which reads go block by block). Nothing for local files.
    pub fn will_read(&self, stream: usize, from: i64, until: i64) {
        if let Some(m) = &self.mp4 {
            m.will_read(stream, until);
            return;
        }
        let Some(r) = &self.remote else {
            return;
        };
        let entries = self.index_entries(stream);
        let Some(lo) = entries
            .iter()
            .rev()
            .find(|e| e.timestamp <= from)
            .or(entries.first())
            .and_then(|e| u64::try_from(e.pos).ok())
        else {
            return;
        };
        let hi = entries
            .iter()
            .find(|e| e.timestamp >= until)
            .and_then(|e| u64::try_from(e.pos).ok())
            .unwrap_or(r.len());
        if hi > lo {
            r.will_need(lo, hi - lo);
        }
    }

    /// Seeks so that the next packet read is the keyframe of `stream` at or before `ts`
    /// (in that stream's time base).
    pub fn seek(&mut self, stream: usize, ts: i64) -> Result<()> {
        // MPEG-TS has no index: libavformat seeks it by bisecting on the PCR, the mux clock,
        // which runs ahead of the PTS by the mux delay (0.7 s from FFmpeg's muxer, a second or
        // more from broadcasters), so a seek to a keyframe's PTS lands after it. Seeking that
        // much earlier lands before it; callers read forward to the packet they want.
        let ts = if self.input.format().name() == "mpegts" {
            let tb = self
                .input
                .stream(stream)
                .map_or(Rational::new(1, 90_000), |s| s.time_base().into());
            ts.saturating_sub((MPEGTS_SEEK_MARGIN_SECS / tb.as_f64()) as i64)
        } else {
            ts
        };
        self.seek_with(stream, ts, ffi::AVSEEK_FLAG_BACKWARD)
    }

    /// Seeks back to `first_keyframe` (the first keyframe of `stream`) such that every stream's
    /// packets are read from there, including audio that starts before that keyframe. A plain
    /// keyframe seek makes the Matroska demuxer drop every packet older than the keyframe.
    pub fn rewind(&mut self, stream: usize, first_keyframe: i64) -> Result<()> {
        self.seek_with(
            stream,
            first_keyframe,
            ffi::AVSEEK_FLAG_BACKWARD | ffi::AVSEEK_FLAG_ANY,
        )
    }

    fn seek_with(&mut self, stream: usize, ts: i64, flags: i32) -> Result<()> {
        if let Some(m) = &mut self.mp4 {
            if flags & ffi::AVSEEK_FLAG_ANY != 0 {
                m.rewind();
                return Ok(());
            }
            return if m.seek(stream, ts) {
                Ok(())
            } else {
                Err(ff_error(
                    format!("{}: seeking to {ts}", self.path.display()),
                    ff::Error::StreamNotFound,
                ))
            };
        }
        // SAFETY: the context is valid; av_seek_frame only reads and repositions it.
        let ret = unsafe { ffi::av_seek_frame(self.input.as_mut_ptr(), stream as i32, ts, flags) };
        if ret < 0 {
            return Err(ff_error(
                format!("{}: seeking to {ts}", self.path.display()),
                ff::Error::from(ret),
            ));
        }
        Ok(())
    }

    /// Reads the next packet of any stream; `None` at the end of the file. Read errors past a
    /// truncation end the file instead of looping forever.
    pub fn read(&mut self) -> Result<Option<Packet>> {
        if let Some(m) = &mut self.mp4 {
            let Some(s) = m.next() else {
                return Ok(None);
            };
            return Ok(m.packet(&s).map(|inner| Packet {
                stream: s.stream,
                pts: Some(s.pts),
                dts: Some(s.dts),
                duration: s.duration,
                keyframe: s.keyframe,
                pos: s.offset as i64,
                inner,
            }));
        }
        let mut errors = 0;
        loop {
            let mut p = ff::Packet::empty();
            match p.read(&mut self.input) {
                Ok(()) => {
                    return Ok(Some(Packet {
                        stream: p.stream(),
                        pts: p.pts(),
                        dts: p.dts(),
                        duration: p.duration(),
                        keyframe: p.is_key(),
                        pos: p.position() as i64,
                        inner: p,
                    }))
                }
                Err(ff::Error::Eof) => return Ok(None),
                Err(_) => {
                    // EAGAIN, or garbage past a truncation: a bounded number of retries, then
                    // the end of the file, as players treat a damaged tail.
                    errors += 1;
                    if errors >= MAX_READ_ERRORS {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// The next packet's timing, skipping its payload where the container allows (an MP4 read
    /// from its sample tables reads nothing at all).
    pub fn read_timing(&mut self) -> Result<Option<Timing>> {
        if let Some(m) = &mut self.mp4 {
            return Ok(m.next().map(|s| Timing {
                stream: s.stream,
                time: Some(s.pts),
                keyframe: s.keyframe,
                size: s.size as usize,
            }));
        }
        Ok(self.read()?.map(|p| Timing {
            stream: p.stream,
            time: p.time(),
            keyframe: p.keyframe,
            size: p.data().len(),
        }))
    }

    /// The sample table behind a stream, when this MP4 is read from its own tables.
    pub fn mp4_track(&self, stream: usize) -> Option<&crate::mp4::Track> {
        self.mp4.as_ref()?.track(stream)
    }

    /// Whether packets come from the file's own MP4 sample tables rather than libavformat.
    pub fn reads_sample_tables(&self) -> bool {
        self.mp4.is_some()
    }

    /// The codec parameters of a stream, to copy into a muxer.
    pub fn parameters(&self, stream: usize) -> Option<CodecParams> {
        self.input
            .stream(stream)
            .map(|s| CodecParams(s.parameters()))
    }
}

/// Whether FFmpeg's build on this machine has a muxer by this name.
pub fn has_muxer(name: &str) -> bool {
    init();
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: av_guess_format only reads the static muxer list.
    !unsafe { ffi::av_guess_format(c.as_ptr(), std::ptr::null(), std::ptr::null()) }.is_null()
}

#[cfg(test)]
mod tests;
