//! Progressive MP4 read from its own sample tables.
//!
//! libavformat's mov demuxer turns every sample of every track into an index entry when a
//! file is opened, then rewrites that index for the edit list: for a two-hour film (half a
//! million samples) that is most of the time a one-shot `haema playlist` or `haema segment`
//! takes, and it is paid again by every process. Haema already parses the sample tables
//! ([`crate::mp4`]), so for a plain progressive MP4 it reads the samples itself and asks
//! libavformat only for what it is good at: the streams and codec parameters, parsed from a
//! stub file that holds the real sample descriptions and empty sample tables
//! ([`crate::mp4::stub_file`]).
//!
//! The packets come out as libavformat gives them: the same timestamps (edit list and
//! composition shifts as it applies them), the same interleaving rule, keyframe flags from
//! stss. Files this model doesn't cover exactly (fragmented, several edits, VP8/VP9 whose
//! parameters come from the bitstream) are opened by libavformat as before.

use std::ffi::CString;
use std::path::Path;
use std::sync::Arc;

use ff::ffi;
use ff::packet::Mut as _;
use ffmpeg_next as ff;

use crate::input::ReadAt;
use crate::mp4::{self, Sample, Track};
use crate::rational::convert;
use crate::rational::Rational;

/// Samples of one track and where reading it stands.
struct TrackReader {
    track: Track,
    /// The sync samples' presentation times rise in decode order (a binary search works).
    sync_sorted: bool,
    /// Audio sample rate (0 for other tracks).
    sample_rate: i64,
    /// Audio samples before the start of the edit, which decoders are told to skip.
    start_pad: i64,
    /// The next sample to read and its file offset.
    next: usize,
    next_offset: u64,
}

impl TrackReader {
    fn new(track: Track) -> TrackReader {
        let sync_sorted = match track.sync_list() {
            Some(s) => s
                .windows(2)
                .all(|w| track.sample(w[0]).pts <= track.sample(w[1]).pts),
            None => true,
        };
        let mut t = TrackReader {
            track,
            sync_sorted,
            sample_rate: 0,
            start_pad: 0,
            next: 0,
            next_offset: 0,
        };
        t.go_to(0);
        t
    }

    fn len(&self) -> usize {
        self.track.len()
    }

    fn go_to(&mut self, k: usize) {
        self.next = k;
        self.next_offset = if k < self.len() {
            self.track.offset(k)
        } else {
            0
        };
    }

    /// The next sample and its file offset, without moving on.
    fn peek(&self) -> Option<(Sample, u64)> {
        let k = self.next;
        (k < self.len()).then(|| {
            let at = self.track.chunk_start(k).unwrap_or(self.next_offset);
            (self.track.sample(k), at)
        })
    }

    /// Moves past the sample [`TrackReader::peek`] gave.
    fn step(&mut self, s: &Sample, at: u64) {
        self.next += 1;
        self.next_offset = at + u64::from(s.size);
    }

    /// The last sync sample (in decode order) presented (or, with `by_dts`, decoded) at or
    /// before `ts`; the first sample when there is none.
    fn sync_at_or_before(&self, ts: i64, by_dts: bool) -> usize {
        let t = &self.track;
        let pts = |k: usize| {
            let s = t.sample(k);
            if by_dts {
                s.dts
            } else {
                s.pts
            }
        };
        let found = match t.sync_list() {
            Some(sync) if self.sync_sorted => {
                let n = sync.partition_point(|&i| pts(i) <= ts);
                n.checked_sub(1).map(|k| sync[k])
            }
            Some(sync) => sync.iter().rev().find(|&&i| pts(i) <= ts).copied(),
            // Every sample is sync (audio): presentation order is decode order.
            None => {
                // Binary search over sample indices: the first presented after `ts`.
                let (mut lo, mut hi) = (0, t.len());
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if pts(mid) <= ts {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                lo.checked_sub(1)
            }
        };
        found.unwrap_or(0)
    }

    /// The samples a decoder should drop from the first packet read when reading starts at
    /// sample `k` (libavformat's `mov_get_skip_samples`).
    fn skip_from(&self, k: usize) -> i64 {
        if self.start_pad == 0 || k >= self.len() {
            return 0;
        }
        let t = &self.track;
        let off = rescale(
            t.sample(k).dts - t.sample(0).dts,
            self.sample_rate,
            i64::from(t.timescale),
        );
        (self.start_pad - off).max(0)
    }

    /// Outside the edit: presented before it starts (libavformat flags these packets
    /// discard; decoders drop their frames).
    fn discarded(&self, s: &Sample) -> bool {
        let end = if self.sample_rate > 0 {
            s.pts + i64::from(s.duration)
        } else {
            s.pts + 1
        };
        end <= self.track.start
    }
}

/// What one sample is, without its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SampleRef {
    pub stream: usize,
    pub pts: i64,
    pub dts: i64,
    pub duration: i64,
    pub keyframe: bool,
    pub offset: u64,
    pub size: u32,
    /// Samples the decoder should skip at the start of this packet.
    pub skip: i64,
    /// Outside the edit list.
    pub discard: bool,
}

/// A progressive MP4's samples, read straight from the file (local, or by ranges over HTTP).
pub(crate) struct Mp4Reader {
    file: Arc<dyn ReadAt>,
    len: u64,
    /// One per libavformat stream (`None` for a stream with no track, e.g. cover art).
    tracks: Vec<Option<TrackReader>>,
    /// Decoder skip to put on the next packet of each stream (after opening or seeking).
    pending_skip: Vec<i64>,
}

/// `a * b / c` rounded to nearest, as `av_rescale` does: ticks of 1/c converted to ticks of
/// 1/b.
fn rescale(a: i64, b: i64, c: i64) -> i64 {
    convert(a, Rational::new(1, c), Rational::new(1, b))
}

impl Mp4Reader {
    /// The file's size in bytes.
    pub fn file_size(&self) -> u64 {
        self.len
    }

    /// The track behind a stream.
    pub fn track(&self, stream: usize) -> Option<&Track> {
        self.tracks.get(stream)?.as_ref().map(|t| &t.track)
    }

    /// The next sample in libavformat's order (`mov_find_next_sample`, for a seekable file):
    /// the earliest decode time, except that within a second of it the one stored first wins.
    pub fn next(&mut self) -> Option<SampleRef> {
        let mut best: Option<(usize, i64, Sample, u64)> = None;
        for (i, t) in self.tracks.iter().enumerate() {
            let Some(t) = t else { continue };
            let Some((s, pos)) = t.peek() else { continue };
            let dts = rescale(s.dts, 1_000_000, i64::from(t.track.timescale));
            let take = match best {
                None => true,
                Some((_, best_dts, _, best_pos)) => {
                    let diff = best_dts.abs_diff(dts);
                    (diff <= 1_000_000 && pos < best_pos) || (diff > 1_000_000 && dts < best_dts)
                }
            };
            if take {
                best = Some((i, dts, s, pos));
            }
        }
        let (stream, _, s, offset) = best?;
        let t = self.tracks[stream].as_mut().expect("chosen above");
        t.step(&s, offset);
        let skip = std::mem::take(&mut self.pending_skip[stream]);
        Some(SampleRef {
            skip,
            discard: t.discarded(&s),
            stream,
            pts: s.pts,
            dts: s.dts,
            duration: i64::from(s.duration),
            keyframe: s.sync,
            offset,
            size: s.size,
        })
    }

    /// Reads a sample's bytes into a new packet. `None` when they lie past the end of the
    /// file (a truncated download): the file ends there.
    pub fn packet(&self, s: &SampleRef) -> Option<ff::Packet> {
        let size = s.size as usize;
        if s.offset.checked_add(u64::from(s.size))? > self.len {
            return None;
        }
        let mut p = ff::Packet::new(size);
        if size > 0 {
            let buf = p.data_mut()?;
            self.file.read_at(s.offset, buf).ok()?;
        }
        p.set_stream(s.stream);
        p.set_pts(Some(s.pts));
        p.set_dts(Some(s.dts));
        p.set_duration(s.duration);
        p.set_position(s.offset as isize);
        let mut flags = 0;
        if s.keyframe {
            flags |= ffi::AV_PKT_FLAG_KEY;
        }
        if s.discard {
            flags |= ffi::AV_PKT_FLAG_DISCARD;
        }
        p.set_flags(ff::packet::Flags::from_bits_truncate(flags));
        if s.skip > 0 {
            // AV_PKT_DATA_SKIP_SAMPLES: u32le samples to skip at the start, u32le at the end,
            // and two reason bytes.
            let mut side = [0u8; 10];
            side[..4].copy_from_slice(&(s.skip.min(i64::from(u32::MAX)) as u32).to_le_bytes());
            // SAFETY: a valid packet; av_packet_new_side_data returns a buffer of the asked size
            // (or null), owned by the packet.
            unsafe {
                let buf = ffi::av_packet_new_side_data(
                    p.as_mut_ptr(),
                    ffi::AVPacketSideDataType::AV_PKT_DATA_SKIP_SAMPLES,
                    side.len(),
                );
                if !buf.is_null() {
                    std::ptr::copy_nonoverlapping(side.as_ptr(), buf, side.len());
                }
            }
        }
        Some(p)
    }

    /// Tells the file which bytes the next reads take: every track's samples from where it
    /// stands up to `until` (in `stream`'s time base) and a second past it (the next keyframe
    /// and its leading frames, which a segment reads to know where it ends).
    pub fn will_read(&self, stream: usize, until: i64) {
        let Some(Some(t)) = self.tracks.get(stream) else {
            return;
        };
        let scale = i64::from(t.track.timescale);
        let (mut from, mut to) = (u64::MAX, 0u64);
        for o in self.tracks.iter().flatten() {
            let ts = i64::from(o.track.timescale);
            // `until` may be "to the end" (i64::MAX): in i128, clamped.
            let limit = (i128::from(until) * i128::from(ts) / i128::from(scale.max(1))
                + i128::from(ts))
            .min(i128::from(i64::MAX)) as i64;
            let mut k = o.next;
            while k < o.len() && o.track.sample(k).dts < limit {
                let at = o.track.offset(k);
                from = from.min(at);
                to = to.max(at + u64::from(o.track.sample(k).size));
                k += 1;
            }
        }
        if from < to {
            self.file.will_need(from, to - from);
        }
    }

    /// Positions `stream` on its last sync sample presented at or before `ts` (its time base)
    /// and every other stream on its own sync sample at or before the same moment.
    pub fn seek(&mut self, stream: usize, ts: i64) -> bool {
        let Some(Some(t)) = self.tracks.get(stream) else {
            return false;
        };
        if t.len() == 0 {
            return true;
        }
        let k = t.sync_at_or_before(ts, false);
        // The other streams go to the same moment as libavformat takes it: the chosen
        // sample's decode time.
        let at = t.track.sample(k).dts;
        let scale = i64::from(t.track.timescale);
        for (i, o) in self.tracks.iter_mut().enumerate() {
            let Some(o) = o else { continue };
            let c = if i == stream {
                k
            } else {
                o.sync_at_or_before(rescale(at, i64::from(o.track.timescale), scale), true)
            };
            o.go_to(c);
            self.pending_skip[i] = o.skip_from(c);
        }
        true
    }

    /// Every stream back to its first sample.
    pub fn rewind(&mut self) {
        for (i, t) in self.tracks.iter_mut().enumerate() {
            let Some(t) = t else { continue };
            t.go_to(0);
            self.pending_skip[i] = t.skip_from(0);
        }
    }
}

/// A file libavformat reads through a custom I/O context: bytes in memory (the MP4 stub) or a
/// remote file read by ranges ([`ReadAt`]).
pub(crate) struct MemIo {
    ctx: *mut ffi::AVIOContext,
    // Boxed so its address stays put: the I/O context holds a pointer to it.
    _data: Box<MemFile>,
}

struct MemFile {
    bytes: Arc<dyn ReadAt>,
    at: u64,
}

// Safe to move between threads: the context and the buffer it points to are owned here and
// used by one thread at a time, like the format context they serve.
unsafe impl Send for MemIo {}

unsafe extern "C" fn mem_read(
    opaque: *mut libc::c_void,
    buf: *mut u8,
    size: libc::c_int,
) -> libc::c_int {
    // SAFETY: opaque is the MemFile this context was made with; buf has room for size bytes.
    let f = unsafe { &mut *(opaque as *mut MemFile) };
    let n = f.bytes.len().saturating_sub(f.at).min(size.max(0) as u64) as usize;
    if n == 0 {
        return ffi::AVERROR_EOF;
    }
    let out = unsafe { std::slice::from_raw_parts_mut(buf, n) };
    if let Err(e) = f.bytes.read_at(f.at, out) {
        log::warn!("{e}");
        return ffi::AVERROR(libc::EIO);
    }
    f.at += n as u64;
    n as libc::c_int
}

unsafe extern "C" fn mem_seek(opaque: *mut libc::c_void, offset: i64, whence: libc::c_int) -> i64 {
    // SAFETY: as in mem_read.
    let f = unsafe { &mut *(opaque as *mut MemFile) };
    let len = f.bytes.len() as i64;
    let to = match whence & !ffi::AVSEEK_FORCE {
        ffi::AVSEEK_SIZE => return len,
        libc::SEEK_SET => offset,
        libc::SEEK_CUR => f.at as i64 + offset,
        libc::SEEK_END => len + offset,
        _ => return -1,
    };
    if to < 0 {
        return -1;
    }
    f.at = to as u64;
    to
}

impl Drop for MemIo {
    fn drop(&mut self) {
        // SAFETY: the context and its buffer were allocated by avio_alloc_context/av_malloc;
        // the format context that used them is closed before this runs (field order).
        unsafe {
            if !self.ctx.is_null() {
                ffi::av_freep(&mut (*self.ctx).buffer as *mut *mut u8 as *mut libc::c_void);
                ffi::avio_context_free(&mut self.ctx);
            }
        }
    }
}

/// Opens a progressive MP4 through its sample tables: the libavformat context (streams and
/// codec parameters, from the stub), the I/O it reads from, and the sample reader. `None`
/// when the file is not one this path models exactly; the caller opens it the usual way.
pub(crate) fn open(
    path: &Path,
    file: Arc<dyn ReadAt>,
) -> Option<(ff::format::context::Input, MemIo, Mp4Reader)> {
    let mut magic = [0u8; 8];
    file.read_at(0, &mut magic).ok()?;
    const TOP: [&[u8; 4]; 6] = [b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide"];
    if !TOP.iter().any(|k| magic[4..8] == k[..]) {
        return None;
    }
    let len = file.len();
    let mut cursor = crate::input::Cursor {
        inner: file.clone(),
        at: 0,
    };
    let top = mp4::read_top(&mut cursor).ok()??;
    let tracks = mp4::parse_moov(&top.moov)?;
    if tracks.is_empty() || tracks.iter().any(|t| !t.simple_edits || !t.has_offsets()) {
        return None;
    }
    let stub = mp4::stub_file(top.ftyp.as_deref(), &top.moov);
    let (mut ctx, io) = custom_io(Arc::new(stub))?;
    let url = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: a context made by custom_io; on failure libavformat frees it (the I/O is ours
    // and goes with `io`).
    let input = unsafe {
        let fmt = ffi::av_find_input_format(c"mov".as_ptr());
        if ffi::avformat_open_input(&mut ctx, url.as_ptr(), fmt, std::ptr::null_mut()) < 0 {
            return None;
        }
        ff::format::context::Input::wrap(ctx)
    };
    // libavformat names each stream's id after its tkhd track_ID.
    let mut by_stream: Vec<Option<TrackReader>> = Vec::new();
    let mut tracks: Vec<Option<Track>> = tracks.into_iter().map(Some).collect();
    for st in input.streams() {
        let par = st.parameters();
        if matches!(par.id(), ff::codec::Id::VP8 | ff::codec::Id::VP9) {
            return None;
        }
        let id = st.id();
        let track = tracks
            .iter_mut()
            .find(|t| {
                t.as_ref()
                    .is_some_and(|t| i64::from(t.track_id) == i64::from(id))
            })
            .and_then(Option::take);
        if let Some(t) = &track {
            if st.time_base() != ff::Rational::new(1, t.timescale as i32) {
                return None;
            }
        }
        by_stream.push(track.map(TrackReader::new));
    }
    let mut input = input;
    for (i, reader) in by_stream.iter_mut().enumerate() {
        let Some(reader) = reader else { continue };
        let Some(mut st) = input.stream_mut(i) else {
            continue;
        };
        let t = &reader.track;
        let total = t.total_duration();
        // SAFETY: fields of a stream of an open context; plain values libavformat would have
        // set from the sample tables the stub leaves out.
        unsafe {
            let ptr = st.as_mut_ptr();
            (*ptr).duration = t.duration;
            (*ptr).nb_frames = t.len() as i64;
            let par = (*ptr).codecpar;
            // What the mov demuxer works out from the sample sizes and the media duration,
            // over whatever the sample description said (the muxer writes it into btrt).
            if t.media_duration > 0 {
                let bits = t.total_bytes() as i64 * 8;
                (*par).bit_rate = bits * i64::from(t.timescale) / t.media_duration;
            }
            if (*par).codec_type == ffi::AVMediaType::AVMEDIA_TYPE_AUDIO && (*par).sample_rate > 0 {
                reader.sample_rate = i64::from((*par).sample_rate);
                // Samples presented before the edit starts (encoder priming, a trimmed start).
                let first = t.samples().take(64).map(|(s, _)| s.pts).min().unwrap_or(0);
                if first < t.start && (*par).codec_id != ffi::AVCodecID::AV_CODEC_ID_VORBIS {
                    reader.start_pad =
                        rescale(t.start - first, reader.sample_rate, i64::from(t.timescale));
                }
            }
            if (*par).codec_type == ffi::AVMediaType::AVMEDIA_TYPE_VIDEO && total > 0 {
                let mut fr = ffi::AVRational { num: 0, den: 0 };
                ffi::av_reduce(
                    &mut fr.num,
                    &mut fr.den,
                    i64::from(t.timescale) * t.len() as i64,
                    total,
                    i64::from(i32::MAX),
                );
                (*ptr).avg_frame_rate = fr;
                if (*par).codec_id == ffi::AVCodecID::AV_CODEC_ID_H264 {
                    (*par).video_delay = mp4::video_delay(t.samples().map(|(s, _)| s.pts)) as i32;
                }
            }
        }
    }
    let n = by_stream.len();
    let mut reader = Mp4Reader {
        file,
        len,
        tracks: by_stream,
        pending_skip: vec![0; n],
    };
    reader.rewind();
    Some((input, io, reader))
}

/// A format context (not opened yet) that reads `bytes` through a custom I/O context, and
/// that I/O, which must outlive the context once it is opened.
pub(crate) fn custom_io(bytes: Arc<dyn ReadAt>) -> Option<(*mut ffi::AVFormatContext, MemIo)> {
    let mut data = Box::new(MemFile { bytes, at: 0 });
    const BUF: usize = 64 * 1024;
    // SAFETY: standard custom-I/O set-up. The buffer and context are owned by MemIo (freed in
    // its Drop, after the format context is closed); on failure what was made here is freed.
    unsafe {
        let buf = ffi::av_malloc(BUF) as *mut u8;
        if buf.is_null() {
            return None;
        }
        let opaque = &mut *data as *mut MemFile as *mut libc::c_void;
        let avio = ffi::avio_alloc_context(
            buf,
            BUF as i32,
            0,
            opaque,
            Some(mem_read),
            None,
            Some(mem_seek),
        );
        if avio.is_null() {
            ffi::av_free(buf as *mut libc::c_void);
            return None;
        }
        let io = MemIo {
            ctx: avio,
            _data: data,
        };
        let ctx = ffi::avformat_alloc_context();
        if ctx.is_null() {
            return None;
        }
        (*ctx).pb = avio;
        (*ctx).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
        Some((ctx, io))
    }
}
