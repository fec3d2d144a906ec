//! Live channels over HTTP: the channel list and live HLS (a master, a sliding-window media
//! playlist, init and media segments of video and AAC in one fMP4); what IPTV clients read
//! is in `iptv.rs`, the TS stream in `tuner.rs`. Nothing runs per channel: every answer is
//! computed from the clock and the schedule when it is asked for, and a channel's segment is
//! its programme's own on-demand segments (through the same caches), combined and re-timed.

use std::sync::Arc;

use super::http::{ApiError, ApiResult, Reply};
use super::segments::Loaded;
use super::State;
use crate::channel::lineup::{
    picture_span_ticks, shift_ticks, Channel, LibraryVideo, VIDEO_TIMESCALE,
};
use crate::channel::{iso8601, Slot};
use crate::segment::SegmentId;

/// The configured channels, each made concrete or the reason it can't air.
pub type Channels = Arc<Vec<Result<Channel, String>>>;

/// A programme's video and audio init segments.
type Inits = (Arc<Vec<u8>>, Arc<Vec<u8>>);

/// Segments a live playlist lists at least (RFC 8216 6.2.2 asks for three target durations;
/// Apple's authoring rules for six segments).
pub const MIN_WINDOW: usize = 6;

impl State {
    /// Unix microseconds now, on the server's channel clock (`--clock` moves it).
    pub(super) fn now_us(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        real + self.config.clock_offset_us
    }

    /// Notes that a client fetched a segment of a channel (the dashboard's "watching").
    pub(super) fn channel_viewer(&self, id: &str, client: std::net::IpAddr) {
        let mut v = self.viewers.lock().expect("lock");
        v.entry(id.to_owned())
            .or_default()
            .insert(client, std::time::Instant::now());
    }

    /// The channels for the dashboard: what is on, and how many watch (a client counts for a
    /// minute after its last segment; an open TS stream while it is open).
    pub(super) fn channel_status(&self) -> Vec<super::status::ChannelStatus> {
        let Ok(all) = self.channels() else {
            return Vec::new();
        };
        let now = self.now_us();
        let mut viewers = self.viewers.lock().expect("lock");
        let streams = self.streams.lock().expect("lock");
        all.iter()
            .zip(&self.config.channels)
            .map(|(c, conf)| {
                let id = conf.id();
                let recent = viewers.get_mut(&id).map_or(0, |v| {
                    v.retain(|_, t| t.elapsed() < std::time::Duration::from_secs(60));
                    v.len()
                });
                let on = match c {
                    Ok(c) => c
                        .schedule
                        .at(now)
                        .map(|s| c.items[s.programme].title.clone())
                        .unwrap_or_else(|| "not started".into()),
                    Err(e) => e.clone(),
                };
                super::status::ChannelStatus {
                    number: conf.number,
                    name: conf.name.clone(),
                    now: on,
                    watching: recent + streams.get(&id).copied().unwrap_or(0),
                }
            })
            .collect()
    }

    /// The configured channels, made concrete against the library (built once per scan).
    pub(super) fn channels(&self) -> Result<Channels, ApiError> {
        if let Some(c) = self.channels.lock().expect("lock").as_ref() {
            return Ok(c.clone());
        }
        let rows = self.db.lock().expect("db lock").catalogue()?;
        let videos: Vec<LibraryVideo> = rows
            .into_iter()
            .map(|r| LibraryVideo::from_row(r, &self.config.target))
            .collect();
        let built: Vec<Result<Channel, String>> = self
            .config
            .channels
            .iter()
            .map(|c| Channel::build(c, &videos, &self.config.encoder))
            .collect();
        for c in &built {
            match c {
                Ok(c) if !c.left_out.is_empty() => {
                    log::warn!("channel {}: left out {}", c.id, c.left_out.join("; "))
                }
                Err(e) => log::error!("{e}"),
                _ => {}
            }
        }
        let built = Arc::new(built);
        *self.channels.lock().expect("lock") = Some(built.clone());
        Ok(built)
    }

    pub(super) fn channel(&self, id: &str) -> Result<(Channels, usize), ApiError> {
        let all = self.channels()?;
        let i = all
            .iter()
            .position(|c| match c {
                Ok(c) => c.id == id,
                Err(_) => false,
            })
            .or_else(|| self.config.channels.iter().position(|c| c.id() == id))
            .ok_or_else(|| ApiError::new(404, format!("no channel '{id}'")))?;
        if let Err(e) = &all[i] {
            return Err(ApiError::new(422, e));
        }
        Ok((all, i))
    }

    /// `GET /api/v1/channels`: each channel with what airs now and next.
    pub(super) fn channel_list(&self) -> ApiResult {
        let now = self.now_us();
        let all = self.channels()?;
        let list: Vec<serde_json::Value> = all
            .iter()
            .zip(&self.config.channels)
            .map(|(c, conf)| match c {
                Ok(c) => {
                    let guide = c.schedule.guide(now, now + 1);
                    let next = c.schedule.guide(
                        guide.first().map_or(now, |a| a.end_us),
                        guide.first().map_or(now, |a| a.end_us) + 1,
                    );
                    let describe = |a: Option<&crate::channel::Airing>| {
                        a.map(|a| {
                            let item = &c.items[a.programme];
                            serde_json::json!({
                                "video": item.video.to_string(),
                                "title": item.title,
                                "sub_title": item.sub_title,
                                "start": iso8601(a.start_us),
                                "end": iso8601(a.end_us),
                                "position": (now - a.start_us) as f64 / 1e6,
                            })
                        })
                    };
                    serde_json::json!({
                        "id": c.id,
                        "number": c.config.number,
                        "name": c.config.name,
                        "url": format!("/api/v1/channels/{}/master.m3u8", c.id),
                        "now": describe(guide.first().filter(|a| a.start_us <= now)),
                        "next": describe(next.first()),
                        "left_out": c.left_out,
                    })
                }
                Err(e) => serde_json::json!({
                    "id": conf.id(),
                    "number": conf.number,
                    "name": conf.name,
                    "error": e,
                }),
            })
            .collect();
        Ok(Reply::json(200, &list))
    }

    /// `GET /api/v1/channels/ID/master.m3u8`: one variant, the channel's stream. A viewer is
    /// joining: what it will ask for first is prepared now.
    pub(super) fn channel_master(&self, id: &str) -> ApiResult {
        let (all, i) = self.channel(id)?;
        let c = all[i].as_ref().map_err(|e| ApiError::new(422, e))?;
        self.prefetch_join(c);
        let (bandwidth, codecs, (w, h)) = c.variant();
        Ok(Reply::playlist(format!(
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},CODECS=\"{codecs}\",RESOLUTION={w}x{h}\nlive.m3u8\n"
        )))
    }

    /// `GET /api/v1/channels/ID/live.m3u8`: the sliding window at the live edge.
    pub(super) fn channel_live(&self, id: &str) -> ApiResult {
        let (all, i) = self.channel(id)?;
        let c = all[i].as_ref().map_err(|e| ApiError::new(422, e))?;
        let text = live_playlist(c, self.now_us(), self.config.live_window).ok_or_else(|| {
            ApiError::new(404, format!("channel '{id}' starts at {}", c.config.start))
        })?;
        Ok(Reply {
            // A live playlist changes every segment: caches may keep it a second at most.
            cache_control: "public, max-age=1",
            ..Reply::playlist(text)
        })
    }

    /// Queues the segments a player joining now starts with: players start three target
    /// durations before the live edge (hls.js's liveSyncDurationCount, VHS and shaka alike),
    /// in the third segment from the end of the window, then read on.
    fn prefetch_join(&self, c: &Channel) {
        let Some(last) = c.schedule.at(self.now_us()) else {
            return;
        };
        let mut at = last.sequence.saturating_sub(2);
        while at <= last.sequence {
            let slot = c.schedule.by_sequence(at);
            let item = &c.items[slot.programme];
            // This programme's segments up to the edge, at once.
            let count = (last.sequence - at + 1) as usize;
            let count = count.min(item.pres.timeline.len() - slot.segment);
            if let Ok(loaded) = self.channel_loaded(c, slot.programme) {
                let ids = [item.video_rendition.as_str(), item.audio_rendition.as_str()];
                self.prefetch_at(item.video, &ids, (slot.segment, count), &loaded, true);
            }
            at += count as u64;
        }
    }

    /// A programme's video as the channel plays it (its presentation has the channel's rung).
    fn channel_loaded(&self, c: &Channel, programme: usize) -> Result<Arc<Loaded>, ApiError> {
        let item = &c.items[programme];
        let vod = self.load(item.video)?;
        Ok(Arc::new(Loaded {
            info: vod.info.clone(),
            pres: item.pres.clone(),
            stamp: vod.stamp.clone(),
            version: vod.version.clone(),
        }))
    }

    fn check_version(c: &Channel, version: &str) -> Result<(), ApiError> {
        if c.version != version {
            return Err(ApiError::new(
                404,
                format!(
                    "channel '{}' changed (library rescanned); load its playlist again",
                    c.id
                ),
            ));
        }
        Ok(())
    }

    /// `GET /api/v1/channels/ID/VERSION/init-VIDEO.mp4`: a programme's init, both tracks.
    pub(super) fn channel_init(&self, id: &str, version: &str, video: i64) -> ApiResult {
        let (all, i) = self.channel(id)?;
        let c = all[i].as_ref().map_err(|e| ApiError::new(422, e))?;
        Self::check_version(c, version)?;
        let programme = c
            .items
            .iter()
            .position(|it| it.video == video)
            .ok_or_else(|| ApiError::new(404, format!("video {video} is not on '{id}'")))?;
        let (t, slate) = self.channel_tracks(c, programme, SegmentId::Init)?;
        let body = crate::mp4::combine_init(&t.video_init, &t.audio_init)
            .ok_or_else(|| ApiError::new(500, "the renditions' inits could not be combined"))?;
        Ok(channel_reply(
            "video/mp4",
            body,
            &format!("{id}:{version}:init:{video}"),
            slate,
        ))
    }

    /// A programme's video and audio inits, made with the loaded video the caller holds.
    fn channel_inits(
        &self,
        c: &Channel,
        programme: usize,
        loaded: &Loaded,
    ) -> Result<Inits, ApiError> {
        let item = &c.items[programme];
        Ok((
            self.segment_bytes(item.video, &item.video_rendition, SegmentId::Init, loaded)?,
            self.segment_bytes(item.video, &item.audio_rendition, SegmentId::Init, loaded)?,
        ))
    }

    /// `GET /api/v1/channels/ID/VERSION/SEQUENCE.m4s`: the segment with that media sequence
    /// number, video and AAC re-timed onto the channel's clock.
    pub(super) fn channel_segment(&self, id: &str, version: &str, sequence: u64) -> ApiResult {
        let (all, i) = self.channel(id)?;
        let c = all[i].as_ref().map_err(|e| ApiError::new(422, e))?;
        Self::check_version(c, version)?;
        let p = self.channel_parts(c, sequence)?;
        let body = crate::mp4::combine_fragment(
            sequence as u32,
            &p.tracks.video,
            p.video_shift,
            &p.tracks.audio,
            p.audio_shift,
        )
        .ok_or_else(|| ApiError::new(500, "the renditions' segments could not be combined"))?;
        Ok(channel_reply(
            "video/iso.segment",
            body,
            &format!("{id}:{version}:{sequence}"),
            p.slate,
        ))
    }

    /// The programme's own video and AAC segments behind a channel segment (or its slate's,
    /// where they can't be made), their inits, and the shifts (ticks of each track's
    /// timescale) that put them on the channel's clock.
    pub(super) fn channel_parts(&self, c: &Channel, sequence: u64) -> Result<Parts, ApiError> {
        let slot = c.schedule.by_sequence(sequence);
        let item = &c.items[slot.programme];
        let seg = SegmentId::Media(slot.segment);
        let (t, slate) = self.channel_tracks(c, slot.programme, seg)?;
        if slot.segment + 1 == item.pres.timeline.len() {
            // The programme's last segment: the next one's first is prepared before it airs.
            let next = c.schedule.by_sequence(sequence + 1).programme;
            let next_item = &c.items[next];
            if let Ok(loaded) = self.channel_loaded(c, next) {
                let ids = [
                    next_item.video_rendition.as_str(),
                    next_item.audio_rendition.as_str(),
                ];
                self.prefetch_at(next_item.video, &ids, (0, 1), &loaded, true);
            }
        }
        let timescale = |init: &[u8]| {
            crate::mp4::init_timescale(init)
                .ok_or_else(|| ApiError::new(500, "a rendition's init has no timescale"))
        };
        let start = c.programme_start_us(&slot);
        let epoch = c.schedule.start_us();
        let tl = &item.pres.timeline;
        // The first and last segments' sound is cut to the programme's picture.
        let audio = if slot.segment == 0 || slot.segment + 1 == tl.len() {
            let (from, until) = picture_span_ticks(tl, timescale(&t.audio_init)?);
            Arc::new(
                crate::mp4::keep_samples(&t.audio, from, until)
                    .ok_or_else(|| ApiError::new(500, "a programme's sound could not be cut"))?,
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

    /// A programme's segments `seg` (media or init) of both tracks with its video on the
    /// channel's timescale, or its slate's where they can't be made (and whether they are).
    fn channel_tracks(
        &self,
        c: &Channel,
        programme: usize,
        seg: SegmentId,
    ) -> Result<(Tracks, bool), ApiError> {
        let (t, slate) = match self.programme_tracks(c, programme, seg) {
            Ok(t) => (t, false),
            Err(e) => (self.slate_or(c, programme, seg, e)?, true),
        };
        Ok((t.on_channel_clock(seg)?, slate))
    }

    /// A programme's own segments `seg` (media or init) of both tracks, through the caches.
    fn programme_tracks(
        &self,
        c: &Channel,
        programme: usize,
        seg: SegmentId,
    ) -> Result<Tracks, ApiError> {
        let item = &c.items[programme];
        let loaded = self.channel_loaded(c, programme)?;
        let (video_init, audio_init) = self.channel_inits(c, programme, &loaded)?;
        let (video, audio) = match seg {
            SegmentId::Init => (video_init.clone(), audio_init.clone()),
            SegmentId::Media(n) => {
                // Watched: the programme's next segments are prepared before they air (a
                // rung's are transcodes, and every viewer of the channel asks for them at
                // once when they are listed).
                self.watch(item.video, &item.video_rendition, n, &loaded);
                self.watch(item.video, &item.audio_rendition, n, &loaded);
                (
                    self.segment_bytes(item.video, &item.video_rendition, seg, &loaded)?,
                    self.segment_bytes(item.video, &item.audio_rendition, seg, &loaded)?,
                )
            }
        };
        Ok(Tracks {
            video,
            audio,
            video_init,
            audio_init,
        })
    }

    /// The slate in place of a programme's segments that failed with `e` (issue: a viewer
    /// never stalls): black pictures and silence of the segment's length, made from the
    /// probe the library holds. A busy server's 503 stays one (the player tries again, and
    /// the real segment follows); where the programme can't be slated (copied HEVC) the
    /// error stands.
    fn slate_or(
        &self,
        c: &Channel,
        programme: usize,
        seg: SegmentId,
        e: ApiError,
    ) -> Result<Tracks, ApiError> {
        if e.status == 503 {
            return Err(e);
        }
        let item = &c.items[programme];
        let make = |rendition: &str, id| {
            crate::segment::slate(&item.info, &item.pres, rendition, id, &self.config.encoder)
                .map(Arc::new)
        };
        let slate = (|| {
            Ok::<_, crate::Error>(Tracks {
                video: make(&item.video_rendition, seg)?,
                audio: make(&item.audio_rendition, seg)?,
                video_init: make(&item.video_rendition, SegmentId::Init)?,
                audio_init: make(&item.audio_rendition, SegmentId::Init)?,
            })
        })();
        match slate {
            Ok(t) => {
                log::warn!(
                    "channel {}: video {} {seg:?} airs as a slate: {}",
                    c.id,
                    item.video,
                    e.message
                );
                Ok(t)
            }
            Err(why) => {
                log::warn!("channel {}: no slate for video {}: {why}", c.id, item.video);
                Err(e)
            }
        }
    }
}

/// What a channel segment is made of (see [`State::channel_parts`]).
pub(super) struct Parts {
    /// The programme's video and audio media segments, or its slate's.
    pub tracks: Tracks,
    /// Ticks of the video's timescale that put it on the channel's clock.
    pub video_shift: i64,
    /// Ticks of the audio's timescale that put it on the channel's clock.
    pub audio_shift: i64,
    /// Whether these are the slate's.
    pub slate: bool,
}

/// A programme's video and audio segments with their inits (for an init request, the
/// segments are the inits).
pub(super) struct Tracks {
    /// The video rendition's media segment.
    pub video: Arc<Vec<u8>>,
    /// The AAC rendition's media segment.
    pub audio: Arc<Vec<u8>>,
    /// The video rendition's init.
    pub video_init: Arc<Vec<u8>>,
    /// The AAC rendition's init.
    pub audio_init: Arc<Vec<u8>>,
}

impl Tracks {
    /// The same tracks with the video moved to the channel's one timescale
    /// ([`VIDEO_TIMESCALE`]): its init, and its segment (for an init request, the init),
    /// which for a programme's first begins decoding at its first picture.
    fn on_channel_clock(self, seg: SegmentId) -> Result<Tracks, ApiError> {
        let failed = || ApiError::new(500, "a programme's video could not be re-timed");
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

/// A channel's init or segment: kept for good by every cache (its URL names the channel's
/// version, so its bytes never change), except a slate, which only stands in for bytes that
/// could not be made just now: caches keep it two seconds, and without an ETag.
fn channel_reply(content_type: &'static str, body: Vec<u8>, key: &str, slate: bool) -> Reply {
    Reply {
        status: 200,
        content_type,
        etag: (!slate).then(|| super::http::etag_of(key)),
        body: Arc::new(body),
        cache_control: if slate {
            "public, max-age=2"
        } else {
            "public, max-age=31536000, immutable"
        },
    }
}

/// The live playlist of a channel at `now_us` with a window of at least `window` segments
/// (and [`MIN_WINDOW`]), its URIs relative to the channel's folder.
pub fn live_playlist(c: &Channel, now_us: i64, window: usize) -> Option<String> {
    let version = &c.version;
    let uri = |s: &Slot| format!("{version}/{}.m4s", s.sequence);
    let init = |s: &Slot| format!("{version}/init-{}.mp4", c.items[s.programme].video);
    c.schedule
        .live_playlist(now_us, window.max(MIN_WINDOW), &uri, &init)
}
