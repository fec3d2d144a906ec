//! A channel's inits and media segments, assembled from its programmes' own on-demand segments:
//! the video moved to the channel's one timescale, the sound of a programme's first and last
//! segments cut to its pictures, both shifted onto the channel's clock and combined into one
//! two-track fMP4 (or handed to the MPEG-TS tuner). Where a programme's segments can't be
//! made, its slate (black pictures and silence of the same length) airs in their place, so a
//! viewer never stalls.
//!
//! Where the segments come from is the caller's: a server answers [`ProgrammeSegments`] from
//! its caches, so a channel's segment costs what its programme's segments cost on demand.

use std::sync::Arc;

use super::lineup::{picture_span_ticks, shift_ticks, Channel, VIDEO_TIMESCALE};
use crate::error::{Error, Result};
use crate::segment::SegmentId;

/// What channel assembly needs of whoever serves it: a programme's own segments, and the
/// chance to prepare the ones about to air.
pub trait ProgrammeSegments {
    /// The segments `wanted` ((rendition, init or media segment) pairs, answered in order)
    /// of programme `programme` of `c`: the on-demand bytes of that programme's video, asked
    /// for together so the programme is looked up once. [`Error::Busy`] means "not now": it is
    /// passed on to the client rather than slated, and the real segment follows.
    fn segments(
        &self,
        c: &Channel,
        programme: usize,
        wanted: &[(&str, SegmentId)],
    ) -> Result<Vec<Arc<Vec<u8>>>>;

    /// Programme `programme`'s segment `n` airs: the ones after it may be prepared.
    fn airing(&self, _c: &Channel, _programme: usize, _n: usize) {}

    /// Programme `programme` airs next: its first segment may be prepared.
    fn next_up(&self, _c: &Channel, _programme: usize) {}

    /// The video encoder rungs are made with (and a rung programme's slate with them).
    fn encoder(&self) -> &str;
}

/// A programme's video and audio segments with their inits (for an init request, the
/// segments are the inits).
pub struct Tracks {
    /// The video rendition's media segment.
    pub video: Arc<Vec<u8>>,
    /// The AAC rendition's media segment.
    pub audio: Arc<Vec<u8>>,
    /// The video rendition's init.
    pub video_init: Arc<Vec<u8>>,
    /// The AAC rendition's init.
    pub audio_init: Arc<Vec<u8>>,
}

/// What a channel segment is made of (see [`parts`]).
pub struct Parts {
    /// The programme's video and audio media segments, or its slate's.
    pub tracks: Tracks,
    /// Ticks of the video's timescale that put it on the channel's clock.
    pub video_shift: i64,
    /// Ticks of the audio's timescale that put it on the channel's clock.
    pub audio_shift: i64,
    /// Whether these are the slate's.
    pub slate: bool,
}

/// A channel's bytes, and whether they are the slate's (kept by caches only briefly).
pub struct Assembled {
    /// The init or media segment.
    pub bytes: Vec<u8>,
    /// Whether they stand in for a programme's segments that could not be made.
    pub slate: bool,
}

/// The channel's init for programme video `video` (library id): both tracks in one moov.
pub fn init(src: &dyn ProgrammeSegments, c: &Channel, video: i64) -> Result<Assembled> {
    let programme = c
        .items
        .iter()
        .position(|it| it.video == video)
        .ok_or_else(|| Error::NoSuch(format!("video {video} is not on '{}'", c.id)))?;
    let (t, slate) = tracks(src, c, programme, SegmentId::Init)?;
    let bytes = crate::mp4::combine_init(&t.video_init, &t.audio_init)
        .ok_or_else(|| Error::Bug("the renditions' inits could not be combined".into()))?;
    Ok(Assembled { bytes, slate })
}

/// The channel's media segment with sequence number `sequence`: video and AAC re-timed onto
/// the channel's clock, in one fragment.
pub fn segment(src: &dyn ProgrammeSegments, c: &Channel, sequence: u64) -> Result<Assembled> {
    let p = parts(src, c, sequence)?;
    let bytes = crate::mp4::combine_fragment(
        sequence as u32,
        &p.tracks.video,
        p.video_shift,
        &p.tracks.audio,
        p.audio_shift,
    )
    .ok_or_else(|| Error::Bug("the renditions' segments could not be combined".into()))?;
    Ok(Assembled {
        bytes,
        slate: p.slate,
    })
}

/// The programme's own video and AAC segments behind channel segment `sequence` (or its
/// slate's, where they can't be made), their inits, and the shifts (ticks of each track's
/// timescale) that put them on the channel's clock.
pub fn parts(src: &dyn ProgrammeSegments, c: &Channel, sequence: u64) -> Result<Parts> {
    let slot = c.schedule.by_sequence(sequence);
    let item = &c.items[slot.programme];
    let (t, slate) = tracks(src, c, slot.programme, SegmentId::Media(slot.segment))?;
    let tl = &item.pres.timeline;
    if slot.segment + 1 == tl.len() {
        // The programme's last segment: the next one's first is prepared before it airs.
        src.next_up(c, c.schedule.by_sequence(sequence + 1).programme);
    }
    let timescale = |init: &[u8]| {
        crate::mp4::init_timescale(init)
            .ok_or_else(|| Error::Bug("a rendition's init has no timescale".into()))
    };
    let start = c.programme_start_us(&slot);
    let epoch = c.schedule.start_us();
    // The first and last segments' sound is cut to the programme's picture.
    let audio = if slot.segment == 0 || slot.segment + 1 == tl.len() {
        let (from, until) = picture_span_ticks(tl, timescale(&t.audio_init)?);
        Arc::new(
            crate::mp4::keep_samples(&t.audio, from, until)
                .ok_or_else(|| Error::Bug("a programme's sound could not be cut".into()))?,
        )
    } else {
        t.audio.clone()
    };
    Ok(Parts {
        video_shift: shift_ticks(start, epoch, tl, timescale(&t.video_init)?),
        audio_shift: shift_ticks(start, epoch, tl, timescale(&t.audio_init)?),
        tracks: Tracks { audio, ..t },
        slate,
    })
}

/// A programme's segments `seg` (media or init) of both tracks with its video on the channel's
/// timescale, or its slate's where they can't be made (and whether they are).
fn tracks(
    src: &dyn ProgrammeSegments,
    c: &Channel,
    programme: usize,
    seg: SegmentId,
) -> Result<(Tracks, bool)> {
    let (t, slate) = match programme_tracks(src, c, programme, seg) {
        Ok(t) => (t, false),
        Err(e) => (slate_or(src, c, programme, seg, e)?, true),
    };
    Ok((t.on_channel_clock(seg)?, slate))
}

/// A programme's own segments `seg` (media or init) of both tracks.
fn programme_tracks(
    src: &dyn ProgrammeSegments,
    c: &Channel,
    programme: usize,
    seg: SegmentId,
) -> Result<Tracks> {
    let item = &c.items[programme];
    let (v, a) = (item.video_rendition.as_str(), item.audio_rendition.as_str());
    let mut wanted = vec![(v, SegmentId::Init), (a, SegmentId::Init)];
    if let SegmentId::Media(n) = seg {
        // The programme's next segments are prepared before they air (a rung's are
        // transcodes, and every viewer of the channel asks for them at once when they are
        // listed).
        src.airing(c, programme, n);
        wanted.extend([(v, seg), (a, seg)]);
    }
    let got = src.segments(c, programme, &wanted)?;
    let (video_init, audio_init) = (got[0].clone(), got[1].clone());
    let (video, audio) = match seg {
        SegmentId::Init => (video_init.clone(), audio_init.clone()),
        SegmentId::Media(_) => (got[2].clone(), got[3].clone()),
    };
    Ok(Tracks {
        video,
        audio,
        video_init,
        audio_init,
    })
}

/// The slate in place of a programme's segments that failed with `e`: black pictures and
/// silence of the segment's length, made from the probe the library holds. A busy server's
/// [`Error::Busy`] stays one (the player tries again, and the real segment follows); where the
/// programme can't be slated (copied HEVC) the error stands.
fn slate_or(
    src: &dyn ProgrammeSegments,
    c: &Channel,
    programme: usize,
    seg: SegmentId,
    e: Error,
) -> Result<Tracks> {
    if matches!(e, Error::Busy(_)) {
        return Err(e);
    }
    let item = &c.items[programme];
    let make = |rendition: &str, id| {
        crate::segment::slate(&item.info, &item.pres, rendition, id, src.encoder()).map(Arc::new)
    };
    let slate = (|| {
        Ok::<_, Error>(Tracks {
            video: make(&item.video_rendition, seg)?,
            audio: make(&item.audio_rendition, seg)?,
            video_init: make(&item.video_rendition, SegmentId::Init)?,
            audio_init: make(&item.audio_rendition, SegmentId::Init)?,
        })
    })();
    match slate {
        Ok(t) => {
            log::warn!(
                "channel {}: video {} {seg:?} airs as a slate: {e}",
                c.id,
                item.video
            );
            Ok(t)
        }
        Err(why) => {
            log::warn!("channel {}: no slate for video {}: {why}", c.id, item.video);
            Err(e)
        }
    }
}

impl Tracks {
    /// The same tracks with the video moved to the channel's one timescale
    /// ([`VIDEO_TIMESCALE`]): its init, and its segment (for an init request, the init),
    /// which for a programme's first begins decoding at its first picture.
    fn on_channel_clock(self, seg: SegmentId) -> Result<Tracks> {
        let failed = || Error::Bug("a programme's video could not be re-timed".into());
        let from = crate::mp4::init_timescale(&self.video_init).ok_or_else(failed)?;
        let video_init = Arc::new(
            crate::mp4::with_timescale(&self.video_init, VIDEO_TIMESCALE).ok_or_else(failed)?,
        );
        let video = match seg {
            SegmentId::Init => video_init.clone(),
            SegmentId::Media(n) => {
                // Already at the channel's timescale: the cached bytes themselves.
                let mut video = self.video.clone();
                if from != VIDEO_TIMESCALE {
                    video = Arc::new(
                        crate::mp4::retime(&video, from, VIDEO_TIMESCALE).ok_or_else(failed)?,
                    );
                }
                // A programme's first decode time is its first picture, on the channel's
                // ticks: no hole where it begins (see decode_from_first_picture).
                if n == 0 {
                    if let Some(v) = crate::mp4::decode_from_first_picture(&video) {
                        video = Arc::new(v);
                    }
                }
                video
            }
        };
        Ok(Tracks {
            video,
            video_init,
            ..self
        })
    }
}

/// A channel as one MPEG-TS stream: its segments' samples ([`super::ts`]) through one muxer for
/// the whole stream, so continuity counters and clocks run on across programme changes and
/// decode times keep rising.
#[derive(Default)]
pub struct TsStream {
    mux: Option<crate::media::ts::TsMuxer>,
    /// The last decode time written, video and audio.
    last_dts: [Option<i64>; 2],
}

impl TsStream {
    /// The TS bytes of one channel segment's parts ([`parts`]).
    pub fn next(&mut self, p: &Parts) -> Result<Vec<u8>> {
        let bad = || Error::Bug("a programme's segments could not be made into TS".into());
        let packets = super::ts::segment_packets(
            &p.tracks.video_init,
            &p.tracks.video,
            p.video_shift,
            &p.tracks.audio_init,
            &p.tracks.audio,
            p.audio_shift,
        )
        .ok_or_else(bad)?;
        if self.mux.is_none() {
            let format = super::ts::audio_format(&p.tracks.audio_init).ok_or_else(bad)?;
            let codec = match crate::mp4::init_config(&p.tracks.video_init).map(|c| c.0) {
                Some(k) if &k == b"hvc1" || &k == b"hev1" => "hevc",
                _ => "h264",
            };
            self.mux = Some(crate::media::ts::TsMuxer::new(
                codec,
                format.sample_rate,
                format.channels,
            )?);
        }
        let mux = self.mux.as_mut().expect("made above");
        for k in super::ts::monotonic(packets, &mut self.last_dts) {
            mux.write(k.video, k.pts, k.dts, k.key, &k.data)?;
        }
        mux.take()
    }
}
