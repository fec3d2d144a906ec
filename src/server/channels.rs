//! Live channels over HTTP: the channel list and live HLS (a master, a sliding-window media
//! playlist, init and media segments of video and AAC in one fMP4); what IPTV clients read
//! is in `iptv.rs`, the TS stream in `tuner.rs`. Nothing runs per channel: every answer is
//! computed from the clock and the schedule when it is asked for, and a channel's segment is
//! its programme's own on-demand segments (through the same caches), combined and re-timed by
//! [`crate::channel::assemble`].

use std::sync::Arc;

use super::http::{ApiError, ApiResult, Reply};
use super::segments::Loaded;
use super::State;
use crate::channel::assemble::{self, ProgrammeSegments};
use crate::channel::lineup::{Channel, LibraryVideo};
use crate::channel::{iso8601, Slot};
use crate::segment::SegmentId;

/// The configured channels, each made concrete or the reason it can't air.
pub type Channels = Arc<Vec<Result<Channel, String>>>;

/// A channel that can air ([`State::channel`]), held with the list it was built in (a rescan
/// builds another).
pub(super) struct OnAir {
    all: Channels,
    i: usize,
}

impl std::ops::Deref for OnAir {
    type Target = Channel;

    fn deref(&self) -> &Channel {
        self.all[self.i]
            .as_ref()
            .expect("State::channel returns channels that can air")
    }
}

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

    /// The configured channels, made concrete against the library (built once per scan: a list
    /// built while a scan ran, from the catalogue as it was, is built again once it ends).
    pub(super) fn channels(&self) -> Result<Channels, ApiError> {
        // Read before the catalogue: a scan that ends while the list is built makes it stale.
        let scans = self.scans_done.load(std::sync::atomic::Ordering::SeqCst);
        if let Some((built_for, c)) = self.channels.lock().expect("lock").as_ref() {
            if *built_for == scans {
                return Ok(c.clone());
            }
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
        *self.channels.lock().expect("lock") = Some((scans, built.clone()));
        Ok(built)
    }

    /// The channel `id`, which can air: 404 where there is none, 422 (why) where it can't.
    pub(super) fn channel(&self, id: &str) -> Result<OnAir, ApiError> {
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
        Ok(OnAir { all, i })
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
        let on_air = self.channel(id)?;
        let c = &*on_air;
        self.prefetch_join(c);
        let (bandwidth, codecs, size) = c.variant();
        Ok(Reply::playlist(crate::hls::channel_master(
            bandwidth, &codecs, size,
        )))
    }

    /// `GET /api/v1/channels/ID/live.m3u8`: the sliding window at the live edge.
    pub(super) fn channel_live(&self, id: &str) -> ApiResult {
        let on_air = self.channel(id)?;
        let c = &*on_air;
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
        let on_air = self.channel(id)?;
        let c = &*on_air;
        Self::check_version(c, version)?;
        let a = assemble::init(self, c, video)?;
        Ok(channel_reply(
            "video/mp4",
            a.bytes,
            &format!("{id}:{version}:init:{video}"),
            a.slate,
        ))
    }

    /// `GET /api/v1/channels/ID/VERSION/SEQUENCE.m4s`: the segment with that media sequence
    /// number, video and AAC re-timed onto the channel's clock.
    pub(super) fn channel_segment(&self, id: &str, version: &str, sequence: u64) -> ApiResult {
        let on_air = self.channel(id)?;
        let c = &*on_air;
        Self::check_version(c, version)?;
        let a = assemble::segment(self, c, sequence)?;
        Ok(channel_reply(
            "video/iso.segment",
            a.bytes,
            &format!("{id}:{version}:{sequence}"),
            a.slate,
        ))
    }
}

/// Channel assembly gets a programme's segments through the server's caches, as on demand, and
/// tells the prefetcher what airs.
impl ProgrammeSegments for State {
    fn segments(
        &self,
        c: &Channel,
        programme: usize,
        wanted: &[(&str, SegmentId)],
    ) -> crate::Result<Vec<Arc<Vec<u8>>>> {
        let loaded = self.channel_loaded(c, programme).map_err(core_error)?;
        let video = c.items[programme].video;
        wanted
            .iter()
            .map(|&(rendition, seg)| self.cached_segment(video, rendition, seg, &loaded))
            .collect()
    }

    fn airing(&self, c: &Channel, programme: usize, n: usize) {
        let item = &c.items[programme];
        if let Ok(loaded) = self.channel_loaded(c, programme) {
            self.watch(item.video, &item.video_rendition, n, &loaded);
            self.watch(item.video, &item.audio_rendition, n, &loaded);
        }
    }

    fn next_up(&self, c: &Channel, programme: usize) {
        let item = &c.items[programme];
        if let Ok(loaded) = self.channel_loaded(c, programme) {
            let ids = [item.video_rendition.as_str(), item.audio_rendition.as_str()];
            self.prefetch_at(item.video, &ids, (0, 1), &loaded, true);
        }
    }

    fn encoder(&self) -> &str {
        &self.config.encoder
    }
}

/// What loading a programme's video answered, as the core's error (channel assembly acts on
/// kinds: a busy server is not slated, anything else is).
fn core_error(e: ApiError) -> crate::Error {
    use crate::Error;
    match e.status {
        503 => Error::Busy(e.message),
        404 => Error::NoSuch(e.message),
        400 => Error::BadRequest(e.message),
        422 => Error::Unsupported {
            path: "library".into(),
            reason: e.message,
        },
        _ => Error::Bug(e.message),
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
