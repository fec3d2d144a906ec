//! Media fragments (ISO/IEC 14496-12 8.8): written for copied video exactly as FFmpeg's muxer
//! writes them, and read back.

use super::{boxes, child, path, Reader};
use crate::rational::Rational;

/// The mdhd timescale of the first track of an init segment (ticks per second of its tfdt and
/// sample durations).
pub fn init_timescale(init: &[u8]) -> Option<u32> {
    let moov = child(init, b"moov")?.body;
    let mdhd = path(moov, &[b"trak", b"mdia", b"mdhd"])?;
    let mut r = Reader::new(mdhd);
    let (v, _) = r.full()?;
    r.versioned(v)?;
    r.versioned(v)?;
    r.u32()
}

/// The first track's sample entry type (`avc1`, `hvc1`, `mp4a`...) and its decoder
/// configuration: the avcC or hvcC record (ISO/IEC 14496-15 5.3.3, 8.3.3) of a video entry,
/// the AudioSpecificConfig in the esds (ISO/IEC 14496-1 7.2.6.5-7) of an AAC one.
pub fn init_config(init: &[u8]) -> Option<([u8; 4], Vec<u8>)> {
    let moov = child(init, b"moov")?.body;
    let stsd = path(moov, &[b"trak", b"mdia", b"minf", b"stbl", b"stsd"])?;
    // 8.5.2 stsd: full box, entry_count, then the entries.
    let entry = boxes(stsd.get(8..)?).next()?;
    let config = match &entry.kind {
        // 12.1.3 VisualSampleEntry: 8 (SampleEntry) + 70 bytes before its child boxes.
        b"avc1" | b"avc3" => child(entry.body.get(78..)?, b"avcC")?.body.to_vec(),
        b"hvc1" | b"hev1" => child(entry.body.get(78..)?, b"hvcC")?.body.to_vec(),
        // 12.2.3 AudioSampleEntry: 8 + 20 bytes before its child boxes.
        b"mp4a" => {
            let esds = child(entry.body.get(28..)?, b"esds")?.body.get(4..)?;
            decoder_specific_info(esds)?
        }
        _ => return None,
    };
    Some((entry.kind, config))
}

/// The DecoderSpecificInfo (tag 5) inside an ES_Descriptor (tag 3) and its
/// DecoderConfigDescriptor (tag 4), ISO/IEC 14496-1 7.2.6.
fn decoder_specific_info(es: &[u8]) -> Option<Vec<u8>> {
    // A descriptor: tag, then its size in 1-4 bytes of 7 bits each (8.3.3).
    let descriptor = |b: &[u8]| -> Option<(u8, usize, usize)> {
        let tag = *b.first()?;
        let (mut size, mut at) = (0usize, 1);
        loop {
            let x = *b.get(at)?;
            size = (size << 7) | usize::from(x & 0x7f);
            at += 1;
            if x & 0x80 == 0 || at > 4 {
                break;
            }
        }
        Some((tag, at, size))
    };
    let (tag, at, _) = descriptor(es)?;
    if tag != 3 {
        return None;
    }
    // ES_ID (2), flags (1) and what the flags add.
    let flags = *es.get(at + 2)?;
    let mut at = at + 3;
    if flags & 0x80 != 0 {
        at += 2;
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(*es.get(at)?);
    }
    if flags & 0x20 != 0 {
        at += 2;
    }
    let (tag, head, _) = descriptor(es.get(at..)?)?;
    if tag != 4 {
        return None;
    }
    // objectTypeIndication, streamType, bufferSizeDB (3), maxBitrate, avgBitrate.
    at += head + 13;
    let (tag, head, size) = descriptor(es.get(at..)?)?;
    (tag == 5).then(|| es.get(at + head..at + head + size).map(<[u8]>::to_vec))?
}

/// What a media segment's `moof` says about its one track, for checking the muxer's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragmentInfo {
    /// 8.8.5 mfhd sequence_number.
    pub sequence: u32,
    /// 8.8.12 tfdt baseMediaDecodeTime.
    pub base_decode_time: u64,
    /// 8.8.8 trun sample durations (default_sample_duration from tfhd where absent).
    pub durations: Vec<u32>,
    /// 8.8.8 trun sample composition time offsets (0 where absent).
    pub cts_offsets: Vec<i32>,
    /// 8.8.8 trun sample sizes (tfhd default where absent).
    pub sizes: Vec<u32>,
    /// Sync samples, from the sample flags (8.8.8 trun, 8.8.7 tfhd defaults; 8.6.4.3:
    /// sample_is_non_sync_sample clear).
    pub sync: Vec<bool>,
    /// Where the first sample's bytes start in the segment (the first trun's data_offset from
    /// the moof, as `default-base-is-moof` writes it); the samples follow one another.
    pub data_start: usize,
}

/// One sample of a media fragment to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentSample {
    /// Decode duration, in the track's timescale.
    pub duration: u32,
    /// Size in bytes.
    pub size: u32,
    /// A sync sample (keyframe).
    pub sync: bool,
    /// Composition offset (PTS - DTS), in the track's timescale.
    pub cts: u32,
}

/// A sample of `size` bytes for tests: 1024 ticks long, no composition offset.
#[cfg(test)]
pub(super) fn test_sample(size: u32, sync: bool) -> FragmentSample {
    FragmentSample {
        duration: 1024,
        size,
        sync,
        cts: 0,
    }
}

// 8.8.8.1 sample_flags (ISO/IEC 14496-12 8.6.4.3 layout): sample_depends_on = 2 (does not
// depend on others) for a sync sample; depends_on = 1 plus sample_is_non_sync_sample otherwise.
const SAMPLE_FLAGS_SYNC: u32 = 0x0200_0000;
const SAMPLE_FLAGS_NON_SYNC: u32 = 0x0101_0000;

fn sample_flags(s: &FragmentSample) -> u32 {
    if s.sync {
        SAMPLE_FLAGS_SYNC
    } else {
        SAMPLE_FLAGS_NON_SYNC
    }
}

/// The timescale FFmpeg 5.1's mov muxer gives a video track whose packets are in `time_base`
/// (`mov_init`: the time base's denominator, doubled until it is at least 10000), as the time
/// base its fragments are written in. A unit test of the muxer checks it.
pub fn video_timescale(time_base: Rational) -> Rational {
    let mut den = time_base.den.max(1);
    while den < 10_000 {
        den *= 2;
    }
    Rational::new(1, den)
}

/// More samples than one fragment of any real stream has (a minute of 192 kHz PCM packets
/// is far fewer): a count past it is damage.
const MAX_FRAGMENT_SAMPLES: usize = 1 << 20;

// 8.8.7 tfhd flags.
pub(super) const TFHD_BASE_DATA_OFFSET: u32 = 0x1;
const TFHD_SAMPLE_DESCRIPTION_INDEX: u32 = 0x2;
const TFHD_DEFAULT_DURATION: u32 = 0x8;
const TFHD_DEFAULT_SIZE: u32 = 0x10;
const TFHD_DEFAULT_FLAGS: u32 = 0x20;
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;

// 8.8.8 trun flags: which fields the box has, and which each sample has.
pub(super) const TRUN_DATA_OFFSET: u32 = 0x1;
const TRUN_FIRST_SAMPLE_FLAGS: u32 = 0x4;
const TRUN_SAMPLE_DURATION: u32 = 0x100;
const TRUN_SAMPLE_SIZE: u32 = 0x200;
const TRUN_SAMPLE_FLAGS: u32 = 0x400;
const TRUN_SAMPLE_CTS: u32 = 0x800;

/// Writes boxes into a buffer and fills in each box's size when it is closed (as retina's
/// `write_box!` does), so no size is ever added up by hand.
struct BoxWriter {
    out: Vec<u8>,
    open: Vec<usize>,
}

impl BoxWriter {
    fn with_capacity(n: usize) -> BoxWriter {
        BoxWriter {
            out: Vec::with_capacity(n),
            open: Vec::new(),
        }
    }

    /// Opens a box (4.2: size, filled in by [`BoxWriter::end`], and type).
    fn begin(&mut self, kind: &[u8; 4]) {
        self.open.push(self.out.len());
        self.u32(0);
        self.out.extend_from_slice(kind);
    }

    /// Opens a full box (4.2 FullBox: version and flags after the header).
    fn begin_full(&mut self, kind: &[u8; 4], version: u8, flags: u32) {
        self.begin(kind);
        self.u32(u32::from(version) << 24 | flags);
    }

    /// Closes the innermost open box; returns its size.
    fn end(&mut self) -> usize {
        let at = self.open.pop().expect("a box is open");
        let size = self.out.len() - at;
        self.patch_u32(at, size as u32);
        size
    }

    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// Overwrites a field written earlier (a value known only once later boxes are written).
    fn patch_u32(&mut self, at: usize, v: u32) {
        self.out[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }
}

/// Which optional trun fields a run of samples needs, FFmpeg 5.1 movenc's way
/// (`mov_write_trun_tag`): per-sample fields wherever a sample differs from the tfhd default,
/// and the first sample's flags on their own when only it differs.
fn trun_flags(samples: &[FragmentSample], default_flags: u32) -> u32 {
    let Some(first) = samples.first() else {
        return TRUN_DATA_OFFSET;
    };
    let mut flags = TRUN_DATA_OFFSET;
    for (i, s) in samples.iter().enumerate() {
        if s.duration != first.duration {
            flags |= TRUN_SAMPLE_DURATION;
        }
        if s.size != first.size {
            flags |= TRUN_SAMPLE_SIZE;
        }
        if i > 0 && sample_flags(s) != default_flags {
            flags |= TRUN_SAMPLE_FLAGS;
        }
        if s.cts != 0 {
            flags |= TRUN_SAMPLE_CTS;
        }
    }
    if flags & TRUN_SAMPLE_FLAGS == 0 && sample_flags(first) != default_flags {
        flags |= TRUN_FIRST_SAMPLE_FLAGS;
    }
    flags
}

/// Writes one media segment (moof + mdat) of one video track exactly as FFmpeg 5.1's mov
/// muxer writes it with `frag_custom+default_base_moof+frag_discont` (`mov_write_moof_tag`):
/// mfhd (8.8.5) with the sequence number; tfhd (8.8.7) with default-base-is-moof and the
/// defaults it takes from the first samples; tfdt (8.8.12) version 1; one trun (8.8.8) with
/// the data offset and whichever per-sample fields differ from the defaults; then the mdat
/// with the samples' bytes laid end to end. The bytes are what the muxer would make from the
/// same samples, without its two intermediate copies of the media data.
pub fn write_fragment(
    sequence: u32,
    track_id: u32,
    base_decode_time: u64,
    samples: &[FragmentSample],
    data: &[&[u8]],
) -> Vec<u8> {
    let first = samples.first().copied().unwrap_or(FragmentSample {
        duration: 0,
        size: 1,
        sync: false,
        cts: 0,
    });
    // The muxer takes the default flags from the second sample (the first is a keyframe and
    // gets its own field).
    let default_flags = samples.get(1).map_or(SAMPLE_FLAGS_NON_SYNC, sample_flags);
    let flags = trun_flags(samples, default_flags);
    let mdat_len: usize = data.iter().map(|d| d.len()).sum();

    let mut w = BoxWriter::with_capacity(256 + 16 * samples.len() + mdat_len);
    w.begin(b"moof");
    w.begin_full(b"mfhd", 0, 0);
    w.u32(sequence);
    w.end();
    w.begin(b"traf");
    w.begin_full(
        b"tfhd",
        0,
        TFHD_DEFAULT_DURATION | TFHD_DEFAULT_SIZE | TFHD_DEFAULT_FLAGS | TFHD_DEFAULT_BASE_IS_MOOF,
    );
    w.u32(track_id);
    w.u32(first.duration);
    w.u32(first.size);
    w.u32(default_flags);
    w.end();
    w.begin_full(b"tfdt", 1, 0);
    w.u64(base_decode_time);
    w.end();
    w.begin_full(b"trun", 0, flags);
    w.u32(samples.len() as u32);
    // Data offset: from the moof's start to past the mdat header, known once the moof is.
    let data_offset_at = w.out.len();
    w.u32(0);
    if flags & TRUN_FIRST_SAMPLE_FLAGS != 0 {
        w.u32(sample_flags(&first));
    }
    for s in samples {
        if flags & TRUN_SAMPLE_DURATION != 0 {
            w.u32(s.duration);
        }
        if flags & TRUN_SAMPLE_SIZE != 0 {
            w.u32(s.size);
        }
        if flags & TRUN_SAMPLE_FLAGS != 0 {
            w.u32(sample_flags(s));
        }
        if flags & TRUN_SAMPLE_CTS != 0 {
            w.u32(s.cts);
        }
    }
    w.end(); // trun
    w.end(); // traf
    let moof_size = w.end();
    w.patch_u32(data_offset_at, (moof_size + 8) as u32);
    w.begin(b"mdat");
    for d in data {
        w.out.extend_from_slice(d);
    }
    w.end();
    w.out
}

/// Reads the mfhd, tfdt and trun of the first moof/traf in a media segment.
pub fn parse_fragment(seg: &[u8]) -> Option<FragmentInfo> {
    let moof_box = child(seg, b"moof")?;
    let moof_start = moof_box.body.as_ptr() as usize - seg.as_ptr() as usize - 8;
    let moof = moof_box.body;
    let mut r = Reader::new(child(moof, b"mfhd")?.body);
    r.full()?;
    let sequence = r.u32()?;
    let traf = child(moof, b"traf")?.body;
    // 8.8.7 tfhd defaults.
    let mut r = Reader::new(child(traf, b"tfhd")?.body);
    let (_, flags) = r.full()?;
    r.u32()?; // track_ID
    if flags & TFHD_BASE_DATA_OFFSET != 0 {
        r.u64()?;
    }
    if flags & TFHD_SAMPLE_DESCRIPTION_INDEX != 0 {
        r.u32()?;
    }
    let default_duration = if flags & TFHD_DEFAULT_DURATION != 0 {
        r.u32()?
    } else {
        0
    };
    let default_size = if flags & TFHD_DEFAULT_SIZE != 0 {
        r.u32()?
    } else {
        0
    };
    let default_flags = if flags & TFHD_DEFAULT_FLAGS != 0 {
        r.u32()?
    } else {
        0
    };
    let mut r = Reader::new(child(traf, b"tfdt")?.body);
    let (v, _) = r.full()?;
    let base_decode_time = r.versioned(v)?;
    let mut durations = Vec::new();
    let mut cts_offsets = Vec::new();
    let mut sizes = Vec::new();
    let mut sync = Vec::new();
    let mut data_start = None;
    for trun in boxes(traf).filter(|b| &b.kind == b"trun") {
        let mut r = Reader::new(trun.body);
        let (_, flags) = r.full()?;
        let count = r.u32()?;
        if flags & TRUN_DATA_OFFSET != 0 {
            let offset = r.u32()? as i32 as isize;
            data_start.get_or_insert(moof_start.checked_add_signed(offset)?);
        }
        let first_flags = if flags & TRUN_FIRST_SAMPLE_FLAGS != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        // A trun with no per-sample fields claims its count for free: no more samples than a
        // fragment can hold (found by fuzzing: four billion claimed, memory exhausted).
        let per_sample = [
            TRUN_SAMPLE_DURATION,
            TRUN_SAMPLE_SIZE,
            TRUN_SAMPLE_FLAGS,
            TRUN_SAMPLE_CTS,
        ]
        .iter()
        .filter(|f| flags & **f != 0)
        .count();
        if per_sample == 0 && count as usize > MAX_FRAGMENT_SAMPLES {
            return None;
        }
        for k in 0..count {
            durations.push(if flags & TRUN_SAMPLE_DURATION != 0 {
                r.u32()?
            } else {
                default_duration
            });
            sizes.push(if flags & TRUN_SAMPLE_SIZE != 0 {
                r.u32()?
            } else {
                default_size
            });
            let sample_flags = if flags & TRUN_SAMPLE_FLAGS != 0 {
                r.u32()?
            } else {
                first_flags.filter(|_| k == 0).unwrap_or(default_flags)
            };
            sync.push(sample_flags & 0x1_0000 == 0);
            cts_offsets.push(if flags & TRUN_SAMPLE_CTS != 0 {
                r.u32()? as i32
            } else {
                0
            });
        }
    }
    Some(FragmentInfo {
        sequence,
        base_decode_time,
        durations,
        cts_offsets,
        sizes,
        sync,
        data_start: data_start?,
    })
}
