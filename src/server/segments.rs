//! Videos over HTTP: a video's presentation loaded from the library, its playlists, and its
//! segments made through the caches with a pool of open sources.
//!
//! A segment request reads top-down: [`State::rendition_file`] finds the rendition and the
//! segment the decoded route names, [`State::segment_key`] names the bytes, the memory cache
//! makes them once ([`State::make_segment`]: disk cache, else [`State::make_fresh`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::http::{etag_of, ApiError, ApiResult, Reply};
use super::signing;
use super::status::JobInfo;
use super::State;
use crate::error::Error;
use crate::hls::{self, RenditionFile};
use crate::media::Source;
use crate::plan::{plan_for, Method, Presentation, DEFAULT_SEGMENT_SECS};
use crate::probe::MediaInfo;
use crate::segment::{SegmentId, Segmenter};
use crate::stream::Kind;

/// Open sources kept per video.
const SOURCES_PER_VIDEO: usize = 4;

/// A loaded video: its probe and presentation, and the stamp of the file they were made from.
pub struct Loaded {
    /// The cached probe.
    pub info: MediaInfo,
    /// The renditions and timeline.
    pub pres: Presentation,
    /// Size and modification time of the file when it was probed: whether this machine's
    /// file changed.
    pub stamp: String,
    /// What decides the bytes of its segments (the file's probe digest, the encoder, the
    /// format version), in hex: in every segment URL, cache key and ETag, the same on every
    /// server of the same library.
    pub version: String,
}

/// Who waits for a segment being made: it decides its place in the transcode queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// A client asked for it: it waits for a slot, up to the queue timeout.
    Client,
    /// Prefetch, which holds a slot already (taken only when one was free and no client
    /// waited).
    Prefetch,
}

/// Open sources by video, ready for the next segment of the same file: opening and indexing is
/// most of an uncached copy segment's time. Segment bytes never depend on what a source made
/// before, so any will do, as long as it reads the file as it is now: each source is kept with
/// the stamp of the file it opened, and one of another stamp is never used again.
#[derive(Default)]
pub struct SourcePool {
    open: Mutex<HashMap<i64, Vec<(String, Source)>>>,
}

impl SourcePool {
    fn take(&self, video: i64, stamp: &str) -> Option<Source> {
        let mut pool = self.open.lock().expect("lock");
        let spare = pool.get_mut(&video)?;
        spare.retain(|(s, _)| s == stamp);
        spare.pop().map(|(_, src)| src)
    }

    fn give_back(&self, video: i64, stamp: &str, src: Source) {
        let mut pool = self.open.lock().expect("lock");
        let spare = pool.entry(video).or_default();
        spare.retain(|(s, _)| s == stamp);
        if spare.len() < SOURCES_PER_VIDEO {
            spare.push((stamp.to_owned(), src));
        }
    }

    /// Closes every source (after a rescan: files may have changed).
    pub fn clear(&self) {
        self.open.lock().expect("lock").clear();
    }
}

impl State {
    /// The video's probe and presentation, from the library (loaded again when its file's
    /// stamp changed).
    pub(super) fn load(&self, id: i64) -> Result<Arc<Loaded>, ApiError> {
        let row = self.db.lock().expect("db lock").video(id)?;
        let Some(mut row) = row else {
            return Err(ApiError::new(404, format!("no video {id}")));
        };
        let gone = || {
            ApiError::new(
                404,
                format!("video {id}: its file is gone; rescan the library"),
            )
        };
        let path = crate::library::resolve(&self.config.target, &row.path);
        let now = crate::input::stamp(&path).ok_or_else(gone)?;
        if now != (row.size, row.mtime) {
            // Replaced or truncated since the scan: its index is read again before a byte of
            // it is served, and its new stamp gives its segments new keys and ETags.
            log::info!(
                "video {id}: {} changed since the scan; probing it again",
                path.display()
            );
            let probed = crate::library::probe_json(&path);
            (row.probe, row.error) = match probed {
                Ok(json) => (Some(json), None),
                Err(e) => (None, Some(e)),
            };
            self.db.lock().expect("db lock").refresh_video(
                id,
                now,
                row.probe.as_deref(),
                row.error.as_deref(),
            )?;
        }
        let stamp = format!("{}-{}", now.0, now.1);
        if let Some(l) = self.videos.lock().expect("lock").get(&id) {
            if l.stamp == stamp {
                return Ok(l.clone());
            }
        }
        let Some(json) = row.probe else {
            return Err(ApiError::new(
                422,
                format!(
                    "video {id} can't be played: {}",
                    row.error.unwrap_or_default()
                ),
            ));
        };
        let info: MediaInfo = serde_json::from_str(&json).map_err(|e| {
            ApiError::new(
                500,
                format!("video {id}: cached probe unreadable ({e}); rescan"),
            )
        })?;
        let info = info.relocated(&path);
        let version = format!(
            "{:012x}",
            crate::segment::bytes_version(info.digest(), &self.config.encoder) >> 16
        );
        // The rungs are in the codec of the server's encoder (checked when it started).
        let rungs =
            crate::media::transcode::encoder_codec(&self.config.encoder).unwrap_or_default();
        let pres =
            plan_for(&info, DEFAULT_SEGMENT_SECS, rungs).map_err(|e| ApiError::new(422, e))?;
        let loaded = Arc::new(Loaded {
            info,
            pres,
            stamp,
            version,
        });
        self.videos.lock().expect("lock").insert(id, loaded.clone());
        Ok(loaded)
    }

    /// `GET /api/v1/video/ID/master.m3u8`.
    pub(super) fn master(&self, id: i64) -> ApiResult {
        let query = self.uri_query(id);
        let loaded = self.load(id)?;
        self.prefetch_start(id, &loaded);
        Ok(Reply::playlist(hls::master_playlist_with(
            &loaded.pres,
            &query,
        )))
    }

    /// `GET /api/v1/video/ID/master-burn-STREAM.m3u8`.
    pub(super) fn burned_master(&self, id: i64, stream: usize) -> ApiResult {
        let query = self.uri_query(id);
        let loaded = self.load(id)?;
        Ok(Reply::playlist(hls::burned_master_playlist_with(
            &loaded.pres,
            stream,
            &query,
        )?))
    }

    /// What playlists of a video append to each URI they name: its per-video token when the
    /// server has a token (so a player given only the master URL can fetch the rest), else
    /// nothing.
    fn uri_query(&self, id: i64) -> String {
        match &self.signer {
            Some(s) => format!("?{}={}", signing::PARAM, s.sign(id, super::unix_now())),
            None => String::new(),
        }
    }

    /// Whether the query's per-video token opens the video this route serves.
    pub(super) fn video_token_opens(
        &self,
        route: &Result<super::route::Route, ApiError>,
        query: &str,
    ) -> bool {
        let (Some(signer), Ok(Some(video))) = (&self.signer, route.as_ref().map(|r| r.video()))
        else {
            return false;
        };
        super::http::query_param(query, signing::PARAM)
            .is_some_and(|vt| signer.verify(video, &vt, super::unix_now()))
    }

    /// `GET /api/v1/video/ID/RENDITION/[VERSION/]FILE`: a media playlist, an init or a media
    /// segment. Media playlists list segments under the video's version; a segment asked for
    /// under another version is of a file that has changed since (404: load the playlist
    /// again), and one asked for without a version is served, but for no cache to keep.
    pub(super) fn rendition_file(
        &self,
        id: i64,
        rid: &str,
        file: RenditionFile,
        version: Option<&str>,
    ) -> ApiResult {
        let loaded = self.load(id)?;
        let r = loaded.pres.rendition(rid)?;
        if file == RenditionFile::Playlist {
            let query = self.uri_query(id);
            return Ok(Reply::playlist(hls::media_playlist_with(
                &loaded.pres,
                r,
                &format!("{}/", loaded.version),
                &query,
            )));
        }
        if version.is_some_and(|v| v != loaded.version) {
            return Err(ApiError::new(
                404,
                format!(
                    "video {id} has changed since this URL was listed; load its playlist again"
                ),
            ));
        }
        let name = file.name();
        let Some(seg) = file.segment_in(r) else {
            return Err(ApiError::new(404, format!("no {name} in {rid}")));
        };
        if let SegmentId::Media(n) = seg {
            loaded.pres.check_segment_of(r, n)?;
            self.watch(id, rid, n, &loaded);
        }
        let body = self.segment_bytes(id, rid, seg, &loaded)?;
        let key = self.segment_key(id, rid, &name, &loaded);
        Ok(Reply {
            status: 200,
            content_type: match (r.kind, seg) {
                (Kind::Subtitle, _) => "text/vtt; charset=utf-8",
                (_, SegmentId::Init) => "video/mp4",
                _ => "video/iso.segment",
            },
            body,
            cache_control: match version {
                Some(_) => "public, max-age=31536000, immutable",
                // The bytes of an unversioned URL change with the file: caches ask each time
                // (the ETag names the version, so an unchanged segment costs a 304).
                None => "no-cache",
            },
            etag: Some(etag_of(&key)),
        })
    }

    /// A segment's bytes through the caches (made once, whoever asks).
    pub(super) fn segment_bytes(
        &self,
        id: i64,
        rid: &str,
        seg: SegmentId,
        loaded: &Loaded,
    ) -> Result<Arc<Vec<u8>>, ApiError> {
        self.cached_segment(id, rid, seg, loaded).map_err(|e| {
            let name = match (seg, loaded.pres.rendition(rid)) {
                (SegmentId::Media(n), Ok(r)) => hls::segment_name(r, n),
                (SegmentId::Media(n), Err(_)) => n.to_string(),
                (SegmentId::Init, _) => RenditionFile::Init.name(),
            };
            ApiError::new(
                super::http::status_of(&e),
                format!("video {id} {rid}/{name}: {e}"),
            )
        })
    }

    /// [`State::segment_bytes`] with the core's error: what channel assembly, which acts on
    /// its kinds, is given.
    pub(super) fn cached_segment(
        &self,
        id: i64,
        rid: &str,
        seg: SegmentId,
        loaded: &Loaded,
    ) -> Result<Arc<Vec<u8>>, Error> {
        let r = loaded.pres.rendition(rid)?;
        let name = match seg {
            SegmentId::Init => RenditionFile::Init.name(),
            SegmentId::Media(n) => hls::segment_name(r, n),
        };
        let key = self.segment_key(id, rid, &name, loaded);
        let job = JobInfo {
            video: id,
            rendition: rid.to_owned(),
            file: name.clone(),
            ..Default::default()
        };
        self.cache
            .get_or_make(&key, || {
                self.make_segment(&key, job, loaded, seg, Waiting::Client)
            })
            .map_err(|e| (*e).clone())
    }

    /// The slots a segment is made on: video transcodes', AAC's, or copies'.
    pub(super) fn slots(&self, method: Option<&Method>) -> &super::admission::Admission {
        match method {
            Some(Method::Video(_)) => &self.admission,
            Some(Method::Aac(_)) => &self.audio,
            _ => &self.copies,
        }
    }

    /// The cache key of a segment: the request and the video's version (the file's digest,
    /// the encoder, the format version), so that anything that changes the bytes changes the
    /// key (and the ETag), and nothing local (a mount point, a file's time) does.
    pub(super) fn segment_key(&self, id: i64, rid: &str, file: &str, loaded: &Loaded) -> String {
        format!("{id}:{rid}:{file}:{}", loaded.version)
    }

    /// A segment from the disk cache, or made (and kept on disk when there is one). Listed as
    /// a live job while it is made.
    pub(super) fn make_segment(
        &self,
        key: &str,
        job: JobInfo,
        loaded: &Loaded,
        seg: SegmentId,
        waiting: Waiting,
    ) -> Result<Vec<u8>, Error> {
        if let Some(bytes) = self.disk.as_ref().and_then(|d| d.get(key)) {
            return Ok(bytes);
        }
        // Video transcodes, AAC and copies each take a slot of their own kind.
        let method = loaded
            .pres
            .rendition(&job.rendition)
            .ok()
            .map(|r| &r.method);
        let transcoded = method.is_some_and(Method::is_transcode);
        let _slot = match waiting {
            Waiting::Client => Some(
                self.slots(method)
                    .acquire(self.config.queue_timeout)
                    .ok_or_else(|| {
                        Error::Busy(format!(
                            "every {} slot stayed busy for {:.0} s; try again",
                            if transcoded { "transcode" } else { "segment" },
                            self.config.queue_timeout.as_secs_f64()
                        ))
                    })?,
            ),
            // The prefetcher took its slot before asking the cache.
            Waiting::Prefetch => None,
        };
        let (video, rid) = (job.video, job.rendition.clone());
        let media_secs = match seg {
            SegmentId::Media(n) => loaded.pres.timeline.duration_secs(n),
            SegmentId::Init => 0.0,
        };
        self.progress
            .lock()
            .expect("lock")
            .insert(key.to_owned(), JobInfo { media_secs, ..job });
        let made = self.make_fresh(key, video, loaded, &rid, seg);
        self.progress.lock().expect("lock").remove(key);
        if transcoded {
            // Its decoder's and encoder's buffers are freed: give the pages back now.
            crate::media::sys::release_free_memory();
        }
        let bytes = made?;
        if let Some(d) = &self.disk {
            d.put(key, &bytes);
        }
        Ok(bytes)
    }

    /// Makes a segment with a pooled source (or a new one), reporting frames made as it goes.
    fn make_fresh(
        &self,
        key: &str,
        video: i64,
        loaded: &Loaded,
        rid: &str,
        seg: SegmentId,
    ) -> Result<Vec<u8>, Error> {
        let s = match self.sources.take(video, &loaded.stamp) {
            Some(src) => Segmenter::with_source(&loaded.info, &loaded.pres, src),
            None => Segmenter::new(&loaded.info, &loaded.pres)?,
        };
        let (table, k) = (self.progress.clone(), key.to_owned());
        let mut s =
            s.with_encoder(&self.config.encoder)
                .with_progress(Arc::new(move |done, total| {
                    if let Some(e) = table.lock().expect("lock").get_mut(&k) {
                        (e.done, e.total) = (done, total);
                    }
                }));
        let made = s.make(rid, seg);
        self.sources
            .give_back(video, &loaded.stamp, s.into_source());
        made
    }
}
