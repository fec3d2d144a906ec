//! `haema serve`: the library API, HLS playlists and segments, watch progress, over HTTP on a
//! blocking tiny_http thread pool.
//!
//! Only ids from a request reach the file system: a path is looked up in the library database,
//! never built from the URL. Every 4xx/5xx answer has a JSON body.

pub mod cache;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};

use crate::hls;
use crate::library::store::Store;
use crate::stream::Kind;
use crate::plan::{plan_for, Presentation, DEFAULT_SEGMENT_SECS};
use crate::probe::MediaInfo;
use crate::segment::{SegmentId, Segmenter};
use cache::Cache;

/// Bumped whenever segment bytes change for the same request: part of every cache key and ETag.
const FORMAT_VERSION: u32 = 1;

/// What the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (127.0.0.1 unless told otherwise).
    pub host: String,
    /// Port.
    pub port: u16,
    /// The library folder, scanned at start.
    pub target: PathBuf,
    /// The library database.
    pub db: PathBuf,
    /// Segment cache limit in bytes (0: no cache).
    pub cache_limit: u64,
    /// Folder of the disk cache, if one is wanted.
    pub cache_path: Option<PathBuf>,
    /// Disk cache limit in bytes.
    pub disk_cache_limit: u64,
    /// Worker threads answering requests.
    pub threads: usize,
    /// Video encoder for transcoded renditions.
    pub encoder: String,
    /// Access token required on everything but /health, if set.
    pub token: Option<String>,
}

/// The web page: the library and a player (assets/index.html).
const INDEX_HTML: &[u8] = include_bytes!("../../assets/index.html");
/// hls.js, served by Haema itself (no CDN): assets/hls.min.js, Apache-2.0 (assets/hls.js-LICENSE).
const HLS_JS: &[u8] = include_bytes!("../../assets/hls.min.js");

fn asset(content_type: &'static str, bytes: &'static [u8]) -> Reply {
    Reply {
        status: 200,
        content_type,
        etag: Some(etag_of(&format!(
            "{}:{}",
            bytes.len(),
            String::from_utf8_lossy(&bytes[..bytes.len().min(4096)])
        ))),
        body: Arc::new(bytes.to_vec()),
        cache_control: "public, max-age=300",
    }
}

/// Paths anyone may fetch when the server has a token: they hold no library data.
fn is_public(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or(url);
    matches!(path, "/health" | "/" | "/index.html" | "/hls.min.js")
}

/// Live jobs' progress: cache key -> (frames done, frames, media seconds).
type JobProgress = Arc<Mutex<HashMap<String, (u64, u64, f64)>>>;

/// A video's row: path, cached probe JSON, probe error, size, mtime.
type VideoRow = (String, Option<String>, Option<String>, i64, i64);
/// A show's video: id, season, episode, title.
type EpisodeRow = (i64, Option<u32>, Option<u32>, Option<String>);

/// A loaded video: its probe and presentation.
struct Loaded {
    info: MediaInfo,
    pres: Presentation,
    stamp: String,
}

/// State shared by the workers.
pub struct State {
    config: Config,
    db: Mutex<Store>,
    videos: Mutex<HashMap<i64, Arc<Loaded>>>,
    cache: Cache,
    disk: Option<cache::DiskCache>,
    /// Open sources by video, ready for the next segment of the same file.
    sources: Mutex<HashMap<i64, Vec<crate::media::Source>>>,
    started: Instant,
    requests: AtomicU64,
    scanning: Mutex<Option<String>>,
    prefetch: Prefetch,
    /// Progress of the segments being made: cache key -> (frames done, frames, media seconds).
    progress: JobProgress,
    /// The last requests answered (method, path, status, ms, error), newest last.
    recent: Mutex<std::collections::VecDeque<Value>>,
}

/// Segments prepared ahead of a player: the next ones of the rendition it is playing.
struct Prefetch {
    queue: Mutex<std::collections::VecDeque<Ahead>>,
    ready: std::sync::Condvar,
    /// The segment each (video, rendition) was last asked for: where it is being watched.
    watched: Mutex<HashMap<(i64, String), usize>>,
}

/// One segment to prepare.
struct Ahead {
    video: i64,
    rendition: String,
    n: usize,
    loaded: Arc<Loaded>,
}

/// How many segments past the one asked for are prepared, and how many wait at most.
const PREFETCH_AHEAD: usize = 2;
const PREFETCH_QUEUE: usize = 32;
/// Requests kept for the status page.
const RECENT: usize = 20;
/// Open sources kept per video.
const SOURCES_PER_VIDEO: usize = 4;

/// An HTTP answer before it becomes a tiny_http response.
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// Body.
    pub body: Arc<Vec<u8>>,
    /// Cache-Control.
    pub cache_control: &'static str,
    /// Strong ETag, when the body is the same for the same URL.
    pub etag: Option<String>,
}

impl Reply {
    fn json(status: u16, v: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: Arc::new(serde_json::to_vec(v).unwrap_or_default()),
            cache_control: "no-store",
            etag: None,
        }
    }

    fn error(status: u16, msg: impl std::fmt::Display) -> Reply {
        Reply::json(
            status,
            &json!({ "error": msg.to_string(), "status": status }),
        )
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A stable ETag from a cache key (FNV-1a).
fn etag_of(key: &str) -> String {
    format!("\"{:016x}\"", cache::fnv1a(key))
}

impl State {
    /// Opens the database and prepares the caches.
    pub fn new(config: Config) -> anyhow::Result<State> {
        let store = Store::open(&config.db)?;
        let disk = match &config.cache_path {
            Some(dir) => Some(
                cache::DiskCache::open(dir, config.disk_cache_limit)
                    .map_err(|e| anyhow::anyhow!("disk cache {}: {e}", dir.display()))?,
            ),
            None => None,
        };
        Ok(State {
            cache: Cache::new(config.cache_limit),
            disk,
            sources: Mutex::new(HashMap::new()),
            config,
            db: Mutex::new(store),
            videos: Mutex::new(HashMap::new()),
            started: Instant::now(),
            requests: AtomicU64::new(0),
            scanning: Mutex::new(None),
            recent: Mutex::new(std::collections::VecDeque::new()),
            progress: Arc::new(Mutex::new(HashMap::new())),
            prefetch: Prefetch {
                queue: Mutex::new(std::collections::VecDeque::new()),
                ready: std::sync::Condvar::new(),
                watched: Mutex::new(HashMap::new()),
            },
        })
    }

    /// The cache key of a segment: the request, the encoder, the file's stamp and the format
    /// version, so that anything that changes the bytes changes the key (and the ETag).
    fn segment_key(&self, id: i64, rid: &str, file: &str, loaded: &Loaded) -> String {
        format!(
            "v{FORMAT_VERSION}:{id}:{rid}:{file}:{}:{}",
            self.config.encoder, loaded.stamp
        )
    }

    /// A segment from the disk cache, or made (and kept on disk when there is one).
    fn make_segment(
        &self,
        key: &str,
        video: i64,
        loaded: &Loaded,
        rid: &str,
        seg: SegmentId,
    ) -> Result<Vec<u8>, String> {
        if let Some(bytes) = self.disk.as_ref().and_then(|d| d.get(key)) {
            return Ok(bytes);
        }
        let bytes = self.make_fresh(key, video, loaded, rid, seg)?;
        if let Some(d) = &self.disk {
            d.put(key, &bytes);
        }
        Ok(bytes)
    }

    fn make_fresh(
        &self,
        key: &str,
        video: i64,
        loaded: &Loaded,
        rid: &str,
        seg: SegmentId,
    ) -> Result<Vec<u8>, String> {
        // A source some earlier request left open, else a new one. Segment bytes never depend
        // on what a source made before, so any will do.
        let pooled = self
            .sources
            .lock()
            .expect("lock")
            .get_mut(&video)
            .and_then(Vec::pop);
        let mut s = match pooled {
            Some(src) => Segmenter::with_source(&loaded.info, &loaded.pres, src),
            None => Segmenter::new(&loaded.info, &loaded.pres).map_err(|e| e.to_string())?,
        }
        .with_encoder(&self.config.encoder);
        // Live progress for /api/v1/status: frames done of frames, and the media length.
        let media_secs = match seg {
            SegmentId::Media(n) => loaded.pres.timeline.duration_secs(n),
            SegmentId::Init => 0.0,
        };
        self.progress
            .lock()
            .expect("lock")
            .insert(key.to_owned(), (0, 0, media_secs));
        let (table, k) = (self.progress.clone(), key.to_owned());
        s = s.with_progress(Arc::new(move |done, total| {
            if let Some(e) = table.lock().expect("lock").get_mut(&k) {
                (e.0, e.1) = (done, total);
            }
        }));
        let made = s.make(rid, seg).map_err(|e| e.to_string());
        self.progress.lock().expect("lock").remove(key);
        let mut pool = self.sources.lock().expect("lock");
        let spare = pool.entry(video).or_default();
        if spare.len() < SOURCES_PER_VIDEO {
            spare.push(s.into_source());
        }
        made
    }

    /// Notes that segment `n` of a rendition was asked for, and queues the next ones.
    fn watch(&self, video: i64, rid: &str, n: usize, loaded: &Arc<Loaded>) {
        self.prefetch
            .watched
            .lock()
            .expect("lock")
            .insert((video, rid.to_owned()), n);
        let mut q = self.prefetch.queue.lock().expect("lock");
        for k in n + 1..=(n + PREFETCH_AHEAD).min(loaded.pres.timeline.len() - 1) {
            if q.len() >= PREFETCH_QUEUE {
                q.pop_front();
            }
            q.push_back(Ahead {
                video,
                rendition: rid.to_owned(),
                n: k,
                loaded: loaded.clone(),
            });
        }
        self.prefetch.ready.notify_all();
    }

    /// A prefetch worker: prepares queued segments while they are still ahead of where their
    /// rendition is watched; work for a position nobody watches any more is dropped.
    pub fn prefetch_worker(&self, stop: &std::sync::atomic::AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let job = {
                let q = self.prefetch.queue.lock().expect("lock");
                let (mut q, _) = self
                    .prefetch
                    .ready
                    .wait_timeout_while(q, std::time::Duration::from_millis(200), |q| q.is_empty())
                    .expect("lock");
                q.pop_front()
            };
            let Some(job) = job else { continue };
            let at = self
                .prefetch
                .watched
                .lock()
                .expect("lock")
                .get(&(job.video, job.rendition.clone()))
                .copied();
            if at.is_none_or(|at| job.n <= at || job.n > at + PREFETCH_AHEAD) {
                continue;
            }
            let Ok(r) = job.loaded.pres.rendition(&job.rendition) else {
                continue;
            };
            let file = hls::segment_name(r, job.n);
            let key = self.segment_key(job.video, &job.rendition, &file, &job.loaded);
            let _ = self.cache.get_or_make(&key, || {
                self.make_segment(
                    &key,
                    job.video,
                    &job.loaded,
                    &job.rendition,
                    SegmentId::Media(job.n),
                )
            });
        }
    }

    /// Scans the library folder with its own database connection, so the API keeps answering.
    pub fn scan(&self) -> Result<crate::library::Summary, String> {
        *self.scanning.lock().expect("lock") = Some(self.config.target.display().to_string());
        let result = (|| {
            let mut store = Store::open(&self.config.db).map_err(|e| e.to_string())?;
            let probe = |p: &std::path::Path| -> Result<String, String> {
                let info = crate::probe::probe_with(p, crate::probe::Depth::Playlists)
                    .map_err(|e| e.to_string())?;
                serde_json::to_string(&info).map_err(|e| e.to_string())
            };
            let threads = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            crate::library::scan(&mut store, &self.config.target, threads, &probe, &|_| {})
                .map_err(|e| e.to_string())
        })();
        *self.scanning.lock().expect("lock") = None;
        // Presentations of changed files are loaded again on their next request.
        self.videos.lock().expect("lock").clear();
        self.sources.lock().expect("lock").clear();
        result
    }

    fn load(&self, id: i64) -> Result<Arc<Loaded>, Reply> {
        let row: Option<VideoRow> = {
            let db = self.db.lock().expect("db lock");
            db.conn()
                .query_row(
                    "SELECT path, probe, error, size, mtime FROM videos WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(|e| Reply::error(500, e))?
        };
        let Some((path, probe, error, size, mtime)) = row else {
            return Err(Reply::error(404, format!("no video {id}")));
        };
        let stamp = format!("{size}-{mtime}");
        if let Some(l) = self.videos.lock().expect("lock").get(&id) {
            if l.stamp == stamp {
                return Ok(l.clone());
            }
        }
        let Some(json) = probe else {
            return Err(Reply::error(
                422,
                format!("video {id} can't be played: {}", error.unwrap_or_default()),
            ));
        };
        let info: MediaInfo = serde_json::from_str(&json).map_err(|e| {
            Reply::error(
                500,
                format!("video {id}: cached probe unreadable ({e}); rescan"),
            )
        })?;
        if !std::path::Path::new(&path).is_file() {
            return Err(Reply::error(
                404,
                format!("video {id}: its file is gone; rescan the library"),
            ));
        }
        // The rungs are in the codec of the server's encoder (checked when it started).
        let rungs = crate::media::transcode::encoder_codec(&self.config.encoder).unwrap_or_default();
        let pres =
            plan_for(&info, DEFAULT_SEGMENT_SECS, rungs).map_err(|e| Reply::error(422, e))?;
        let loaded = Arc::new(Loaded { info, pres, stamp });
        self.videos.lock().expect("lock").insert(id, loaded.clone());
        Ok(loaded)
    }

    /// Answers one request (method, path with query, body).
    pub fn handle(&self, method: &str, url: &str, body: &[u8]) -> Reply {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, parts.as_slice()) {
            ("GET" | "HEAD", ["health"]) => Reply::json(200, &json!({ "status": "ok" })),
            ("GET" | "HEAD", [""] | ["index.html"]) => {
                asset("text/html; charset=utf-8", INDEX_HTML)
            }
            ("GET" | "HEAD", ["hls.min.js"]) => asset("text/javascript", HLS_JS),
            ("GET" | "HEAD", ["api", "v1", "status"]) => self.status(),
            ("GET" | "HEAD", ["metrics"]) => self.metrics(),
            ("POST", ["api", "v1", "scan"]) => match self.scan() {
                Ok(s) => Reply::json(
                    200,
                    &json!({ "found": s.found, "probed": s.probed, "removed": s.removed, "failed": s.failed.len() }),
                ),
                Err(e) => Reply::error(500, e),
            },
            ("GET" | "HEAD", ["api", "v1", "shows"]) => {
                self.shows(query_param(query, "search").as_deref())
            }
            ("GET" | "HEAD", ["api", "v1", "shows", id]) => match id.parse() {
                Ok(id) => self.show(id),
                Err(_) => Reply::error(400, format!("'{id}' is not a show id")),
            },
            (
                "GET" | "HEAD",
                ["api", "v1", "shows", id, art @ ("thumbnail" | "banner" | "fanart")],
            ) => match id.parse() {
                Ok(id) => self.artwork(id, art),
                Err(_) => Reply::error(400, format!("'{id}' is not a show id")),
            },
            ("GET" | "HEAD", ["api", "v1", "video", id, rest @ ..]) => match id.parse() {
                Ok(id) => self.video(id, rest),
                Err(_) => Reply::error(400, format!("'{id}' is not a video id")),
            },
            ("GET" | "HEAD", ["api", "v1", "progress"]) => self.continue_watching(),
            ("GET" | "HEAD", ["api", "v1", "progress", id]) => match id.parse() {
                Ok(id) => self.progress(id),
                Err(_) => Reply::error(400, format!("'{id}' is not a video id")),
            },
            ("PUT", ["api", "v1", "progress", id]) => match id.parse() {
                Ok(id) => self.set_progress(id, body),
                Err(_) => Reply::error(400, format!("'{id}' is not a video id")),
            },
            (_, ["api", ..] | ["health"] | ["metrics"]) => {
                Reply::error(405, format!("{method} is not allowed on {path}"))
            }
            _ => Reply::error(404, format!("nothing at {path}")),
        }
    }

    fn status(&self) -> Reply {
        let progress = self.progress.lock().expect("lock").clone();
        let jobs: Vec<Value> = self
            .cache
            .making()
            .into_iter()
            .map(|(k, secs)| {
                let p: Vec<&str> = k.split(':').collect();
                let (done, total, media) = progress.get(&k).copied().unwrap_or((0, 0, 0.0));
                let fraction = if total > 0 { done as f64 / total as f64 } else { 0.0 };
                let secs = secs.max(1e-3);
                json!({
                    "video": p.get(1), "rendition": p.get(2), "segment": p.get(3), "encoder": p.get(4),
                    "running_secs": secs, "progress": fraction, "fps": done as f64 / secs,
                    "speed": media * fraction / secs,
                })
            })
            .collect();
        Reply::json(
            200,
            &json!({
                "uptime_secs": self.started.elapsed().as_secs_f64(),
                "requests": self.requests.load(Ordering::Relaxed),
                "cache": self.cache.stats(),
                "disk_cache": self.disk.as_ref().map(|d| d.stats()),
                "jobs": jobs,
                "scanning": *self.scanning.lock().expect("lock"),
                "encoder": self.config.encoder,
                "encoders": encoders(),
                "recent": *self.recent.lock().expect("lock"),
            }),
        )
    }

    /// Prometheus text exposition format 0.0.4.
    fn metrics(&self) -> Reply {
        let c = self.cache.stats();
        let mut text = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
            text.push_str(&format!(
                "# HELP haema_{name} {help}\n# TYPE haema_{name} {kind}\nhaema_{name} {value}\n"
            ));
        };
        metric(
            "requests_total",
            "counter",
            "HTTP requests answered.",
            self.requests.load(Ordering::Relaxed) as f64,
        );
        metric(
            "uptime_seconds",
            "gauge",
            "Seconds since the server started.",
            self.started.elapsed().as_secs_f64(),
        );
        metric(
            "cache_bytes",
            "gauge",
            "Bytes held by the segment cache.",
            c.bytes as f64,
        );
        metric(
            "cache_limit_bytes",
            "gauge",
            "Segment cache limit.",
            c.limit as f64,
        );
        metric(
            "cache_entries",
            "gauge",
            "Segments held by the cache.",
            c.entries as f64,
        );
        metric(
            "cache_hits_total",
            "counter",
            "Segment requests answered from the cache.",
            c.hits as f64,
        );
        metric(
            "cache_misses_total",
            "counter",
            "Segments made.",
            c.misses as f64,
        );
        metric(
            "cache_evictions_total",
            "counter",
            "Segments dropped to stay under the limit.",
            c.evictions as f64,
        );
        metric(
            "jobs",
            "gauge",
            "Segments being made right now.",
            self.cache.making().len() as f64,
        );
        Reply {
            status: 200,
            content_type: "text/plain; version=0.0.4",
            body: Arc::new(text.into_bytes()),
            cache_control: "no-store",
            etag: None,
        }
    }

    fn show_json(&self, id: i64) -> rusqlite::Result<Option<Value>> {
        let db = self.db.lock().expect("db lock");
        let c = db.conn();
        let Some((kind, title, year, thumb, banner)) = c
            .query_row(
                "SELECT kind, title, year, thumbnail, banner FROM shows WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .optional()?
        else {
            return Ok(None);
        };
        let art = |has: &Option<String>, name: &str| {
            has.as_ref().map(|_| format!("/api/v1/shows/{id}/{name}"))
        };
        let info = json!({ "id": id.to_string(), "title": title, "year": year, "thumbnail": art(&thumb, "thumbnail"), "banner": art(&banner, "banner") });
        let mut st = c.prepare("SELECT id, season, episode, title FROM videos WHERE show_id = ?1 ORDER BY season, episode, path")?;
        let videos: Vec<EpisodeRow> = st
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(if kind == "movie" {
            json!({ "kind": "movie", "info": info, "video": videos.first().map(|v| v.0.to_string()) })
        } else {
            let episodes: Vec<Value> = videos
                .iter()
                .map(|(vid, s, e, t)| {
                    json!({ "id": vid.to_string(), "index": format!("S{:02}E{:02}", s.unwrap_or(0), e.unwrap_or(0)), "title": t })
                })
                .collect();
            json!({ "kind": "series", "info": info, "episodes": episodes })
        }))
    }

    fn shows(&self, search: Option<&str>) -> Reply {
        let ids: rusqlite::Result<Vec<i64>> = {
            let db = self.db.lock().expect("db lock");
            let mut st = match db.conn().prepare("SELECT id FROM shows WHERE ?1 IS NULL OR title LIKE '%' || ?1 || '%' ESCAPE '\\' ORDER BY title COLLATE NOCASE") {
                Ok(st) => st,
                Err(e) => return Reply::error(500, e),
            };
            let q = search.map(|s| {
                s.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            });
            let rows = st.query_map(params![q], |r| r.get(0));
            rows.and_then(|r| r.collect())
        };
        match ids.and_then(|ids| {
            ids.into_iter()
                .filter_map(|id| self.show_json(id).transpose())
                .collect::<rusqlite::Result<Vec<_>>>()
        }) {
            Ok(list) => Reply::json(200, &Value::Array(list)),
            Err(e) => Reply::error(500, e),
        }
    }

    fn show(&self, id: i64) -> Reply {
        match self.show_json(id) {
            Ok(Some(v)) => Reply::json(200, &v),
            Ok(None) => Reply::error(404, format!("no show {id}")),
            Err(e) => Reply::error(500, e),
        }
    }

    fn artwork(&self, id: i64, which: &str) -> Reply {
        let col = match which {
            "thumbnail" => "thumbnail",
            "banner" => "banner",
            _ => "fanart",
        };
        let path: Option<Option<String>> = {
            let db = self.db.lock().expect("db lock");
            match db
                .conn()
                .query_row(
                    &format!("SELECT {col} FROM shows WHERE id = ?1"),
                    [id],
                    |r| r.get(0),
                )
                .optional()
            {
                Ok(p) => p,
                Err(e) => return Reply::error(500, e),
            }
        };
        let Some(Some(path)) = path else {
            return Reply::error(404, format!("show {id} has no {which}"));
        };
        match std::fs::read(&path) {
            Ok(bytes) => Reply {
                status: 200,
                content_type: if path.ends_with(".png") {
                    "image/png"
                } else {
                    "image/jpeg"
                },
                etag: Some(etag_of(&format!("{path}:{}", bytes.len()))),
                body: Arc::new(bytes),
                cache_control: "public, max-age=3600",
            },
            Err(e) => Reply::error(404, format!("show {id}: {which} unreadable: {e}")),
        }
    }

    fn video(&self, id: i64, rest: &[&str]) -> Reply {
        let loaded = match self.load(id) {
            Ok(l) => l,
            Err(r) => return r,
        };
        let pres = &loaded.pres;
        let playlist = |text: String| Reply {
            status: 200,
            content_type: "application/vnd.apple.mpegurl",
            etag: Some(etag_of(&text)),
            body: Arc::new(text.into_bytes()),
            cache_control: "public, max-age=10",
        };
        match rest {
            ["master.m3u8"] => playlist(hls::master_playlist(pres)),
            [rid, file] => {
                let r = match pres.rendition(rid) {
                    Ok(r) => r,
                    Err(e) => return Reply::error(404, e),
                };
                let id_of = |f: &str| -> Option<SegmentId> {
                    match f {
                        "init.mp4" if r.kind != Kind::Subtitle => Some(SegmentId::Init),
                        _ => {
                            let ext = if r.kind == Kind::Subtitle {
                                ".vtt"
                            } else {
                                ".m4s"
                            };
                            f.strip_suffix(ext)?.parse().ok().map(SegmentId::Media)
                        }
                    }
                };
                if *file == hls::MEDIA_PLAYLIST_NAME {
                    return playlist(hls::media_playlist(pres, r));
                }
                let Some(seg) = id_of(file) else {
                    return Reply::error(404, format!("no {file} in {rid}"));
                };
                if let SegmentId::Media(n) = seg {
                    if let Err(e) = pres.check_segment(n) {
                        return Reply::error(404, e);
                    }
                }
                let key = self.segment_key(id, rid, file, &loaded);
                if let SegmentId::Media(n) = seg {
                    self.watch(id, rid, n, &loaded);
                }
                let made = self
                    .cache
                    .get_or_make(&key, || self.make_segment(&key, id, &loaded, rid, seg));
                match made {
                    Ok(body) => Reply {
                        status: 200,
                        content_type: match (r.kind, seg) {
                            (Kind::Subtitle, _) => "text/vtt; charset=utf-8",
                            (_, SegmentId::Init) => "video/mp4",
                            _ => "video/iso.segment",
                        },
                        body,
                        cache_control: "public, max-age=31536000, immutable",
                        etag: Some(etag_of(&key)),
                    },
                    Err(e) => Reply::error(500, format!("video {id} {rid}/{file}: {e}")),
                }
            }
            _ => Reply::error(404, format!("nothing at video {id}/{}", rest.join("/"))),
        }
    }

    fn progress_json(&self, id: i64) -> rusqlite::Result<Option<Value>> {
        let db = self.db.lock().expect("db lock");
        db.conn()
            .query_row("SELECT position, duration, watched, updated_at FROM progress WHERE video_id = ?1", [id], |r| {
                Ok(json!({ "video_id": id.to_string(), "position": r.get::<_, f64>(0)?, "duration": r.get::<_, Option<f64>>(1)?, "watched": r.get::<_, bool>(2)?, "updated_at": r.get::<_, i64>(3)? }))
            })
            .optional()
    }

    fn progress(&self, id: i64) -> Reply {
        match self.progress_json(id) {
            Ok(Some(v)) => Reply::json(200, &v),
            Ok(None) => match self.video_exists(id) {
                Ok(true) => Reply::json(
                    200,
                    &json!({ "video_id": id.to_string(), "position": 0.0, "duration": null, "watched": false }),
                ),
                Ok(false) => Reply::error(404, format!("no video {id}")),
                Err(e) => Reply::error(500, e),
            },
            Err(e) => Reply::error(500, e),
        }
    }

    fn video_exists(&self, id: i64) -> rusqlite::Result<bool> {
        let db = self.db.lock().expect("db lock");
        db.conn()
            .query_row("SELECT count(*) FROM videos WHERE id = ?1", [id], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n > 0)
    }

    fn set_progress(&self, id: i64, body: &[u8]) -> Reply {
        let v: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return Reply::error(400, format!("body is not JSON: {e}")),
        };
        let Some(position) = v["position"]
            .as_f64()
            .filter(|p| p.is_finite() && *p >= 0.0)
        else {
            return Reply::error(400, "give {\"position\": seconds} (a number >= 0)");
        };
        let duration = match self.load(id) {
            Ok(l) => Some(l.pres.timeline.total_secs()),
            Err(_) => v["duration"].as_f64(),
        };
        match self.video_exists(id) {
            Ok(true) => {}
            Ok(false) => return Reply::error(404, format!("no video {id}")),
            Err(e) => return Reply::error(500, e),
        }
        // Past 90% a video counts as watched.
        let watched = duration.is_some_and(|d| d > 0.0 && position >= 0.9 * d);
        let res = {
            let db = self.db.lock().expect("db lock");
            db.conn().execute(
                "INSERT INTO progress (video_id, position, duration, watched, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(video_id) DO UPDATE SET position = excluded.position, duration = excluded.duration, watched = excluded.watched, updated_at = excluded.updated_at",
                params![id, position, duration, watched, now()],
            )
        };
        match res {
            Ok(_) => self.progress(id),
            Err(e) => Reply::error(500, e),
        }
    }

    fn continue_watching(&self) -> Reply {
        let ids: rusqlite::Result<Vec<i64>> = {
            let db = self.db.lock().expect("db lock");
            let st = db.conn().prepare("SELECT video_id FROM progress WHERE position > 0 AND watched = 0 ORDER BY updated_at DESC, video_id");
            st.and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        };
        match ids.and_then(|ids| {
            ids.into_iter()
                .filter_map(|id| self.progress_json(id).transpose())
                .collect::<rusqlite::Result<Vec<_>>>()
        }) {
            Ok(list) => Reply::json(200, &Value::Array(list)),
            Err(e) => Reply::error(500, e),
        }
    }
}

/// Which video encoders work here, tried once per process.
fn encoders() -> &'static [crate::ladder::EncoderStatus] {
    static LIST: std::sync::OnceLock<Vec<crate::ladder::EncoderStatus>> =
        std::sync::OnceLock::new();
    LIST.get_or_init(crate::media::transcode::probe_encoders)
}

/// A query parameter, percent-decoded.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

/// Answers one tiny_http request: token check, CORS, ETag/304, HEAD.
fn respond(state: &State, mut req: tiny_http::Request) {
    let started = Instant::now();
    let method = req.method().as_str().to_ascii_uppercase();
    let url = req.url().to_owned();
    let get = |name: &'static str| {
        req.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let if_none_match = get("If-None-Match");
    let auth = get("Authorization");
    let mut body = Vec::new();
    let reader: &mut dyn std::io::Read = req.as_reader();
    // Bodies are small JSON (progress): 1 MiB is plenty.
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(reader, 1 << 20), &mut body);
    let reply = if method == "OPTIONS" {
        Reply {
            status: 204,
            content_type: "text/plain",
            body: Arc::new(Vec::new()),
            cache_control: "no-store",
            etag: None,
        }
    } else if let Some(token) = state.config.token.as_deref().filter(|_| !is_public(&url)) {
        let given = auth
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::to_owned)
            .or_else(|| query_param(url.split_once('?').map_or("", |q| q.1), "token"));
        if given.as_deref() == Some(token) {
            state.handle(&method, &url, &body)
        } else {
            Reply::error(
                401,
                "an access token is required: Authorization: Bearer TOKEN, or ?token=TOKEN",
            )
        }
    } else {
        state.handle(&method, &url, &body)
    };
    {
        let path = url.split('?').next().unwrap_or(&url);
        let error = (reply.status >= 400)
            .then(|| serde_json::from_slice::<Value>(&reply.body).ok())
            .flatten()
            .and_then(|e| e["error"].as_str().map(str::to_owned));
        let mut recent = state.recent.lock().expect("lock");
        if recent.len() >= RECENT {
            recent.pop_front();
        }
        recent.push_back(json!({
            "method": method, "path": path, "status": reply.status,
            "ms": (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
            "error": error,
        }));
    }
    let not_modified = reply.status == 200
        && reply.etag.is_some()
        && if_none_match.as_deref() == reply.etag.as_deref();
    let status = if not_modified { 304 } else { reply.status };
    // The body is read straight out of the shared (cached) buffer: no copy per response.
    let body = if not_modified {
        Arc::new(Vec::new())
    } else {
        reply.body.clone()
    };
    let len = body.len();
    let mut resp = tiny_http::Response::new(
        tiny_http::StatusCode(status),
        Vec::new(),
        SharedBody { data: body, at: 0 },
        Some(len),
        None,
    )
    .with_header(header("Content-Type", reply.content_type))
    .with_header(header("Cache-Control", reply.cache_control))
    .with_header(header("Access-Control-Allow-Origin", "*"))
    .with_header(header(
        "Access-Control-Allow-Methods",
        "GET, HEAD, PUT, POST, OPTIONS",
    ))
    .with_header(header(
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, Range",
    ))
    .with_header(header("Access-Control-Expose-Headers", "ETag"));
    if let Some(e) = &reply.etag {
        resp.add_header(header("ETag", e));
    }
    let _ = req.respond(resp);
}

/// A response body read from a buffer the cache shares.
struct SharedBody {
    data: Arc<Vec<u8>>,
    at: usize,
}

impl std::io::Read for SharedBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.data[self.at.min(self.data.len())..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

/// Whether a URL asks for an init or media segment (work that may take a transcode).
fn is_segment(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or(url);
    path.starts_with("/api/v1/video/") && [".m4s", ".mp4", ".vtt"].iter().any(|e| path.ends_with(e))
}

/// Runs the server until `stop` is set (checked between requests).
pub fn run(state: Arc<State>, stop: Arc<std::sync::atomic::AtomicBool>) -> anyhow::Result<()> {
    let addr = format!("{}:{}", state.config.host, state.config.port);
    let server = Arc::new(
        tiny_http::Server::http(&addr).map_err(|e| anyhow::anyhow!("listening on {addr}: {e}"))?,
    );
    eprintln!(
        "haema: serving {} on http://{addr}/",
        state.config.target.display()
    );
    // Two acceptors answer what is quick (health, API, playlists) at once and hand segment
    // requests, which may take a transcode, to the worker pool: a busy pool never keeps
    // /health or the library from answering.
    let (tx, rx) = std::sync::mpsc::channel::<tiny_http::Request>();
    let rx = Arc::new(Mutex::new(rx));
    let mut threads: Vec<std::thread::JoinHandle<()>> = (0..2)
        .map(|_| {
            let (server, state, stop, tx) =
                (server.clone(), state.clone(), stop.clone(), tx.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match server.recv_timeout(std::time::Duration::from_millis(200)) {
                        Ok(Some(req)) if is_segment(req.url()) => {
                            let _ = tx.send(req);
                        }
                        Ok(Some(req)) => respond(&state, req),
                        Ok(None) => {}
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    drop(tx);
    threads.extend((0..state.config.threads.max(1)).map(|_| {
        let (state, rx) = (state.clone(), rx.clone());
        std::thread::spawn(move || loop {
            // The acceptors hold the senders: when they stop, the channel closes.
            let next = rx.lock().expect("lock").recv();
            match next {
                Ok(req) => respond(&state, req),
                Err(_) => break,
            }
        })
    }));
    // A small pool prepares the next segments of what is being played.
    let prefetchers: Vec<_> = (0..2)
        .map(|_| {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || state.prefetch_worker(&stop))
        })
        .collect();
    for w in threads.into_iter().chain(prefetchers) {
        let _ = w.join();
    }
    Ok(())
}
