//! The ISO base media file format (ISO/IEC 14496-12) as far as Haema needs it, one file a job:
//! box iteration and the top-level reads here; [`table`] reads a progressive MP4's sample tables
//! (keyframes, sizes and offsets without reading any media data); [`stub`] makes the stub
//! file libavformat parses instead of the real one; [`fragment`] writes and reads media
//! fragments (`moof` + `mdat`); [`combine`] makes a video and an audio rendition one
//! two-track stream and [`retime`] moves or cuts a one-track segment's times (live channels).
//!
//! Pure: takes bytes, returns plain data. No FFmpeg here.

mod combine;
mod fragment;
mod retime;
mod stub;
mod table;

use std::io::{Read, Seek, SeekFrom};

pub use combine::{combine_fragment, combine_init};
pub use fragment::{
    init_config, init_timescale, parse_fragment, video_timescale, write_fragment, FragmentInfo,
    FragmentSample,
};
pub use retime::{decode_from_first_picture, keep_samples, retime, with_timescale};
pub use stub::stub_file;
pub use table::{parse_moov, video_delay, Sample, Track};

/// One box: its type and its payload (the bytes after the header).
#[derive(Debug, Clone, Copy)]
pub struct Box<'a> {
    /// The four-character type, e.g. `moov`.
    pub kind: [u8; 4],
    /// The payload, without the size/type header.
    pub body: &'a [u8],
    /// Offset of the box header in the buffer that was parsed.
    pub offset: usize,
}

/// Iterates the boxes laid end to end in `data` (4.2: size, type, optional 64-bit size).
/// Stops at the first malformed header.
pub fn boxes(data: &[u8]) -> impl Iterator<Item = Box<'_>> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let rest = data.get(at..)?;
        if rest.len() < 8 {
            return None;
        }
        let size32 = u32::from_be_bytes(rest[0..4].try_into().ok()?) as u64;
        let kind: [u8; 4] = rest[4..8].try_into().ok()?;
        let (header, size) = match size32 {
            1 => (
                16usize,
                u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?),
            ),
            0 => (8, rest.len() as u64),
            n => (8, n),
        };
        if size < header as u64 || size > rest.len() as u64 {
            return None;
        }
        let b = Box {
            kind,
            body: &rest[header..size as usize],
            offset: at,
        };
        at += size as usize;
        Some(b)
    })
}

/// The first child box of this type.
pub fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<Box<'a>> {
    boxes(data).find(|b| &b.kind == kind)
}

/// Follows a path of box types from `data`, e.g. `["mdia", "minf", "stbl"]`.
pub fn path<'a>(data: &'a [u8], kinds: &[&[u8; 4]]) -> Option<&'a [u8]> {
    let mut cur = data;
    for k in kinds {
        cur = child(cur, k)?.body;
    }
    Some(cur)
}

/// A big-endian cursor over a full box's payload.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, at: 0 }
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.bytes(4)?.try_into().ok()?))
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.bytes(8)?.try_into().ok()?))
    }
    /// Version and flags of a full box (4.2 FullBox).
    pub(crate) fn full(&mut self) -> Option<(u8, u32)> {
        let v = self.u32()?;
        Some(((v >> 24) as u8, v & 0xff_ffff))
    }
    /// A 32- or 64-bit field depending on the full box version.
    pub(crate) fn versioned(&mut self, version: u8) -> Option<u64> {
        if version == 1 {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }
}

/// Reads the `moov` box of a progressive MP4 file by walking the top-level box headers
/// (a few small reads, wherever the moov sits). `None` when there is none.
pub fn read_moov<R: Read + Seek>(f: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    Ok(read_top(f)?.map(|t| t.moov))
}

/// The top-level boxes of a progressive MP4 that describe it (payloads).
pub struct Top {
    /// 4.3 ftyp, when the file has one.
    pub ftyp: Option<Vec<u8>>,
    /// 8.2.1 moov.
    pub moov: Vec<u8>,
}

/// Reads the `ftyp` and `moov` boxes of a file by walking the top-level box headers (a few
/// small reads, wherever the moov sits). `None` when there is no moov.
pub fn read_top<R: Read + Seek>(f: &mut R) -> std::io::Result<Option<Top>> {
    let len = f.seek(SeekFrom::End(0))?;
    let mut ftyp = None;
    let mut at = 0u64;
    while at + 8 <= len {
        f.seek(SeekFrom::Start(at))?;
        let mut h = [0u8; 16];
        f.read_exact(&mut h[..8])?;
        let size32 = u32::from_be_bytes(h[0..4].try_into().expect("4 bytes"));
        let (header, size) = match size32 {
            1 => {
                f.read_exact(&mut h[8..16])?;
                (
                    16,
                    u64::from_be_bytes(h[8..16].try_into().expect("8 bytes")),
                )
            }
            0 => (8, len - at),
            n => (8, u64::from(n)),
        };
        if size < header || at + size > len {
            return Ok(None);
        }
        if &h[4..8] == b"ftyp" && size <= 4096 {
            let mut body = vec![0u8; (size - header) as usize];
            f.read_exact(&mut body)?;
            ftyp = Some(body);
        }
        if &h[4..8] == b"moov" {
            // 1 GiB of sample tables is far beyond any real film; refuse rather than allocate.
            if size > 1 << 30 {
                return Ok(None);
            }
            let mut body = vec![0u8; (size - header) as usize];
            f.read_exact(&mut body)?;
            return Ok(Some(Top { ftyp, moov: body }));
        }
        at += size;
    }
    Ok(None)
}

/// Whether a box of this type is anywhere inside `data` (depth-first through container boxes).
pub fn contains_box(data: &[u8], kind: &[u8; 4]) -> bool {
    const CONTAINERS: [&[u8; 4]; 8] = [
        b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"dinf",
    ];
    boxes(data)
        .any(|b| &b.kind == kind || (CONTAINERS.contains(&&b.kind) && contains_box(b.body, kind)))
}

/// Where the payload of the box at the end of `kinds` starts in `data`, following the path
/// from the top level.
fn body_offset(data: &[u8], kinds: &[&[u8; 4]]) -> Option<usize> {
    let mut at = 0usize;
    for k in kinds {
        let b = child(data.get(at..)?, k)?;
        let start = at + b.offset;
        let header = if data.get(start..start + 4)? == [0, 0, 0, 1] {
            16
        } else {
            8
        };
        at = start + header;
    }
    Some(at)
}

/// Sets the `samplesize` of an init's FLAC sample entry (ISO/IEC 14496-12 12.2.3
/// AudioSampleEntry) to the bits per sample its STREAMINFO says (the `dfLa` box of FLAC in
/// ISO BMFF, 3.3.2). FFmpeg 5.1's muxer writes 16 whatever the stream, and Chromium refuses
/// an entry whose two disagree: a 24-bit FLAC track (as Blu-ray remuxes carry) never played.
/// Returns whether the init holds a FLAC entry it could read.
pub fn fix_flac_sample_size(init: &mut [u8]) -> bool {
    let Some(stsd) = body_offset(
        init,
        &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"],
    ) else {
        return false;
    };
    // stsd: version and flags, entry_count, then the first entry's box.
    let entry = stsd + 8;
    if init.get(entry + 4..entry + 8) != Some(b"fLaC") {
        return false;
    }
    // AudioSampleEntry: reserved (6), data_reference_index (2), reserved (8), channelcount
    // (2), samplesize (2), pre_defined (2), reserved (2), samplerate (4); then its boxes.
    let body = entry + 8;
    let Some(dfla) = init
        .get(body + 28..)
        .and_then(|rest| child(rest, b"dfLa"))
        .map(|b| b.body)
    else {
        return false;
    };
    // dfLa: version and flags, a metadata block header (4), STREAMINFO: min and max block
    // size (16 + 16 bits), min and max frame size (24 + 24), sample rate (20), channels - 1
    // (3), bits per sample - 1 (5)...
    let Some(&[hi, lo]) = dfla.get(8 + 12..8 + 14) else {
        return false;
    };
    let bits = u16::from(((hi & 1) << 4) | (lo >> 4)) + 1;
    init[body + 18..body + 20].copy_from_slice(&bits.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flac_entrys_sample_size_is_what_its_streaminfo_says() {
        // STREAMINFO of 24-bit stereo at 48 kHz: ... 0x0B | 0xB8 (rate 48000 = 0x0BB80 in 20
        // bits, channels - 1 = 1, bits - 1 = 23).
        let mut streaminfo = vec![0x10, 0x00, 0x10, 0x00, 0, 0, 0x10, 0, 0x20, 0x00];
        streaminfo.extend([0x0B, 0xB8, 0x03, 0x70]);
        streaminfo.resize(34, 0);
        let mut dfla = vec![0, 0, 0, 0, 0x80, 0, 0, 34];
        dfla.extend(&streaminfo);
        let mut entry = vec![0; 6];
        entry.extend([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 16, 0, 0, 0, 0]);
        entry.extend(48000u32.wrapping_shl(16).to_be_bytes());
        entry.extend(bx(b"dfLa", &dfla));
        let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
        stsd.extend(bx(b"fLaC", &entry));
        let stbl = bx(b"stbl", &bx(b"stsd", &stsd));
        let moov = bx(b"moov", &bx(b"trak", &bx(b"mdia", &bx(b"minf", &stbl))));
        let mut init = bx(b"ftyp", b"iso6");
        init.extend(&moov);
        assert!(fix_flac_sample_size(&mut init));
        let at = init.windows(4).position(|w| w == b"fLaC").unwrap() + 4;
        assert_eq!(&init[at + 18..at + 20], &[0, 24]);
        // Anything else is left alone.
        let mut other = bx(b"ftyp", b"iso6");
        assert!(!fix_flac_sample_size(&mut other));
    }

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }
    fn full(kind: &[u8; 4], version_flags: u32, fields: &[u32]) -> Vec<u8> {
        let mut b = version_flags.to_be_bytes().to_vec();
        for f in fields {
            b.extend_from_slice(&f.to_be_bytes());
        }
        bx(kind, &b)
    }

    /// A moov with one video track: 6 samples of 512 ticks at timescale 12288, I P B B I P
    /// composition offsets, sync samples 1 and 5, and an edit list starting at media time 1024.
    fn sample_moov(with_elst: bool) -> Vec<u8> {
        let mvhd = full(b"mvhd", 0, &[0, 0, 1000, 0]);
        let tkhd = full(b"tkhd", 0, &[0, 0, 7]);
        let mdhd = full(b"mdhd", 0, &[0, 0, 12288, 6 * 512]);
        let hdlr = {
            let mut b = 0u32.to_be_bytes().to_vec();
            b.extend_from_slice(&0u32.to_be_bytes());
            b.extend_from_slice(b"vide");
            bx(b"hdlr", &b)
        };
        let stts = full(b"stts", 0, &[1, 6, 512]);
        let ctts = full(b"ctts", 0, &[4, 1, 1024, 1, 2048, 2, 512, 2, 1024]);
        let stss = full(b"stss", 0, &[2, 1, 5]);
        let stsz = full(b"stsz", 0, &[0, 6, 100, 20, 30, 40, 90, 10]);
        // Chunk 1 holds four samples, chunk 2 the other two.
        let stsc = full(b"stsc", 0, &[2, 1, 4, 1, 2, 2, 1]);
        let stco = full(b"stco", 0, &[2, 1000, 5000]);
        let stsd = full(b"stsd", 0, &[0]);
        let stbl = bx(
            b"stbl",
            &[stsd, stts, ctts, stss, stsz, stsc, stco].concat(),
        );
        let minf = bx(b"minf", &stbl);
        let mdia = bx(b"mdia", &[mdhd, hdlr, minf].concat());
        let mut trak_body = tkhd;
        if with_elst {
            let elst = full(b"elst", 0, &[1, 250, 1024, 0x10000]);
            trak_body.extend(bx(b"edts", &elst));
        }
        trak_body.extend(mdia);
        [mvhd, bx(b"trak", &trak_body)].concat()
    }

    #[test]
    fn sample_tables_give_presentation_times_sizes_and_sync_samples() {
        let tracks = parse_moov(&sample_moov(false)).unwrap();
        assert_eq!(tracks.len(), 1);
        let t = &tracks[0];
        assert_eq!((t.track_id, &t.handler, t.timescale), (7, b"vide", 12288));
        let all: Vec<Sample> = (0..t.len()).map(|k| t.sample(k)).collect();
        let dts: Vec<i64> = all.iter().map(|s| s.dts).collect();
        let pts: Vec<i64> = all.iter().map(|s| s.pts).collect();
        let sizes: Vec<u32> = all.iter().map(|s| s.size).collect();
        assert_eq!(dts, vec![0, 512, 1024, 1536, 2048, 2560]);
        assert_eq!(pts, vec![1024, 2560, 1536, 2048, 3072, 3584]);
        assert_eq!(sizes, vec![100, 20, 30, 40, 90, 10]);
        assert_eq!(t.keyframe_pts(), vec![1024, 3072]);
        assert_eq!(t.sync_list(), Some(&[0, 4][..]));
        assert_eq!(t.total_duration(), 6 * 512);
    }

    #[test]
    fn chunk_tables_give_each_sample_its_file_offset() {
        let t = &parse_moov(&sample_moov(false)).unwrap()[0];
        let offsets: Vec<u64> = (0..t.len()).map(|k| t.offset(k)).collect();
        assert_eq!(offsets, vec![1000, 1100, 1120, 1150, 5000, 5090]);
        let walked: Vec<u64> = t.samples().map(|(_, o)| o).collect();
        assert_eq!(walked, offsets);
        assert!(t.samples().all(|(s, _)| s.duration == 512));
        assert!(t.simple_edits && t.has_offsets());
    }

    #[test]
    fn video_delay_counts_reorder_depth_like_libavformat() {
        assert_eq!(video_delay([0, 1, 2, 3]), 0);
        // I P B B: each B moves one place behind the P.
        assert_eq!(video_delay([0, 3, 1, 2]), 1);
        // A B-pyramid: I P B b b, the last b moves two places.
        assert_eq!(video_delay([0, 4, 2, 1, 3]), 2);
    }

    #[test]
    fn stub_keeps_sample_descriptions_and_empties_sample_tables() {
        let moov = sample_moov(true);
        let stub = stub_file(Some(b"isom"), &moov);
        let kinds: Vec<_> = boxes(&stub).map(|b| b.kind).collect();
        assert_eq!(kinds, vec![*b"ftyp", *b"moov", *b"mdat"]);
        let moov = child(&stub, b"moov").unwrap().body;
        let trak = child(moov, b"trak").unwrap().body;
        assert!(child(trak, b"edts").is_none());
        let stbl = path(trak, &[b"mdia", b"minf", b"stbl"]).unwrap();
        let kinds: Vec<_> = boxes(stbl).map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            vec![*b"stsd", *b"stts", *b"stsz", *b"stsc", *b"stco"]
        );
        assert_eq!(child(stbl, b"stsz").unwrap().body, &[0; 12]);
    }

    #[test]
    fn written_fragment_reads_back_and_matches_the_muxers_layout() {
        let sample = |duration, size, sync, cts| FragmentSample {
            duration,
            size,
            sync,
            cts,
        };
        // I P B: the keyframe first, composition offsets present.
        let samples = [
            sample(512, 3, true, 1024),
            sample(512, 2, false, 1536),
            sample(512, 1, false, 0),
        ];
        let data: [&[u8]; 3] = [b"IIi", b"PP", b"B"];
        let frag = write_fragment(7, 1, 90_000, &samples, &data);
        let info = parse_fragment(&frag).unwrap();
        assert_eq!((info.sequence, info.base_decode_time), (7, 90_000));
        assert_eq!(info.durations, vec![512; 3]);
        assert_eq!(info.sizes, vec![3, 2, 1]);
        assert_eq!(info.cts_offsets, vec![1024, 1536, 0]);
        // Golden: tfhd with default-base-is-moof and defaults from the first samples (duration
        // 512, size 3, flags of the second: non-sync), then a trun with data offset, the first
        // sample's own flags (a keyframe), sizes and composition offsets (durations all equal
        // the default), as FFmpeg 5.1's mov muxer writes them.
        let tfhd = frag.windows(4).position(|w| w == b"tfhd").unwrap();
        assert_eq!(
            frag[tfhd + 4..tfhd + 24],
            [0, 2, 0, 0x38, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 3, 1, 1, 0, 0]
        );
        let trun = frag.windows(4).position(|w| w == b"trun").unwrap();
        assert_eq!(frag[trun + 4..trun + 12], [0, 0, 0x0a, 0x05, 0, 0, 0, 3]);
        let moof_size = u32::from_be_bytes(frag[0..4].try_into().unwrap()) as usize;
        let data_offset = u32::from_be_bytes(frag[trun + 12..trun + 16].try_into().unwrap());
        assert_eq!(data_offset as usize, moof_size + 8);
        assert_eq!(&frag[moof_size + 4..moof_size + 8], b"mdat");
        assert_eq!(&frag[moof_size + 8..], b"IIiPPB");
    }

    #[test]
    fn edit_list_media_time_shifts_times_like_libavformat() {
        let t = &parse_moov(&sample_moov(true)).unwrap()[0];
        assert_eq!(t.keyframe_pts(), vec![0, 2048]);
        assert_eq!(t.sample(0).dts, -1024);
        // elst segment_duration 250 at movie timescale 1000, in media ticks (shorter than
        // the media's 6 x 512).
        assert_eq!(t.duration, 12288 / 4);
        assert_eq!(t.media_duration, 6 * 512);
    }

    #[test]
    fn fragmented_moov_is_not_an_index() {
        let mut moov = sample_moov(false);
        moov.extend(bx(b"mvex", &[]));
        assert!(parse_moov(&moov).is_none());
    }

    #[test]
    fn truncated_box_ends_iteration_instead_of_panicking() {
        let mut data = bx(b"free", b"abc");
        data.extend_from_slice(&100u32.to_be_bytes());
        data.extend_from_slice(b"moov");
        let kinds: Vec<_> = boxes(&data).map(|b| b.kind).collect();
        assert_eq!(kinds, vec![*b"free"]);
        assert!(parse_moov(&[1, 2, 3]).is_none());
    }

    #[test]
    fn read_moov_finds_the_box_after_mdat() {
        let moov = bx(b"moov", &sample_moov(false));
        let file = [bx(b"ftyp", b"isom"), bx(b"mdat", &[0; 64]), moov.clone()].concat();
        let body = read_moov(&mut std::io::Cursor::new(file)).unwrap().unwrap();
        assert_eq!(body, moov[8..]);
    }
}
