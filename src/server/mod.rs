//! `haema serve`: the library API, HLS playlists and segments, watch progress, over HTTP on a
//! blocking tiny_http thread pool.
//!
//! One module a job: [`route`] decodes a URL once into a [`route::Route`]; [`http`] checks the
//! token and turns answers and errors into responses; [`segments`] loads videos and makes their
//! playlists and segments through the [`cache`]s; [`prefetch`] prepares what a player will ask
//! for next; [`api`] is the library and progress API; [`status`] is what the server says about
//! itself. Only ids from a request reach the file system: a path is looked up in the library
//! database, never built from the URL. Every 4xx/5xx answer has a JSON body.

pub mod admission;
mod api;
pub mod cache;
pub mod channels;
pub mod http;
mod iptv;
mod prefetch;
pub mod route;
mod segments;
pub mod signing;
pub mod status;
mod tuner;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::library::store::Store;
use cache::{Cache, DiskCache};
use http::{respond, ApiResult, Reply};
use route::Route;
use segments::{Loaded, SourcePool};
use status::{JobInfo, RecentRequest};

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
    /// Worker threads answering segment requests (most wait on I/O or on a transcode slot).
    pub threads: usize,
    /// Transcodes that run at once.
    pub transcodes: usize,
    /// How long a request may wait for a transcode slot before it gets a 503.
    pub queue_timeout: Duration,
    /// Segment requests one client address may have in flight; more get a 429.
    pub max_client_requests: usize,
    /// Video encoder for transcoded renditions.
    pub encoder: String,
    /// Access token required on everything but /health, if set.
    pub token: Option<String>,
    /// Remote videos (`http(s)://` URLs), as the config lists them, served like the
    /// library's files.
    pub remote: Vec<String>,
    /// Live channels, as the config declares them.
    pub channels: Vec<crate::channel::config::ChannelConfig>,
    /// Segments a channel's live playlist lists (at least [`channels::MIN_WINDOW`]).
    pub live_window: usize,
    /// Microseconds added to the system clock for channels (`--clock`: tests, demos).
    pub clock_offset_us: i64,
}

/// Segment requests in flight in all: past it, a request is refused at once (more would
/// wait past any player's timeout).
const MAX_SEGMENT_REQUESTS: usize = 1024;

/// Copied segments made at once: copies take milliseconds, so a short queue costs players
/// little and bounds the memory of a burst of requests.
const COPY_SLOTS: usize = 2;

/// AAC segments made at once, apart from the video transcodes: an AAC segment is a small
/// fraction of a video rung's work, so it never waits behind a rung's segment that a player
/// starting on a low variant has asked for; a seek gets its sound at once.
const AUDIO_SLOTS: usize = 2;

/// The web page: the library and a player (assets/index.html).
const INDEX_HTML: &[u8] = include_bytes!("../../assets/index.html");
/// hls.js, served by Haema itself (no CDN): assets/hls.min.js, Apache-2.0 (assets/hls.js-LICENSE).
const HLS_JS: &[u8] = include_bytes!("../../assets/hls.min.js");

/// State shared by the acceptors and workers.
pub struct State {
    config: Config,
    db: Mutex<Store>,
    /// Videos whose presentation is loaded, by id.
    videos: Mutex<HashMap<i64, Arc<Loaded>>>,
    cache: Cache,
    disk: Option<DiskCache>,
    sources: SourcePool,
    prefetch: prefetch::Prefetch,
    admission: admission::Admission,
    /// Copied segments (and WebVTT) made at once: each holds its packets and its output in
    /// memory while it is made, megabytes for a 1080p segment.
    copies: admission::Admission,
    /// AAC segments made at once (see [`AUDIO_SLOTS`]).
    audio: admission::Admission,
    /// Segment requests in flight per client.
    clients: Arc<admission::ClientLimits>,
    /// Signs per-video tokens into playlist URIs, when the server has a token.
    signer: Option<signing::Signer>,
    /// Segments being made: cache key -> what and how far.
    progress: Arc<Mutex<HashMap<String, JobInfo>>>,
    started: Instant,
    requests: AtomicU64,
    scanning: Mutex<Option<String>>,
    /// The last requests answered, newest last.
    recent: Mutex<VecDeque<RecentRequest>>,
    /// The channels made concrete against the library; rebuilt after a scan.
    channels: Mutex<Option<(u64, channels::Channels)>>,
    /// Scans finished since start: the channels are built for one, and a list built from a
    /// catalogue read before a scan ended is never kept after it.
    scans_done: std::sync::atomic::AtomicU64,
    /// Who watches each channel: client address -> when it last fetched a segment, by channel
    /// id; and the TS streams open now.
    viewers: Mutex<HashMap<String, HashMap<std::net::IpAddr, Instant>>>,
    streams: Mutex<HashMap<String, usize>>,
    /// Old ids to the ones they became (`video` and `show`), from the library; read again
    /// after a scan.
    aliases: Mutex<HashMap<(bool, i64), i64>>,
}

impl State {
    /// Opens the database and prepares the caches.
    pub fn new(config: Config) -> anyhow::Result<State> {
        let store = Store::open(&config.db)?;
        let aliases = Mutex::new(aliases_of(&store)?);
        let disk = match &config.cache_path {
            Some(dir) => Some(
                DiskCache::open(dir, config.disk_cache_limit)
                    .map_err(|e| anyhow::anyhow!("disk cache {}: {e}", dir.display()))?,
            ),
            None => None,
        };
        Ok(State {
            cache: Cache::new(config.cache_limit),
            admission: admission::Admission::new(config.transcodes),
            copies: admission::Admission::new(COPY_SLOTS),
            audio: admission::Admission::new(AUDIO_SLOTS),
            clients: admission::ClientLimits::new(config.max_client_requests, MAX_SEGMENT_REQUESTS),
            signer: config.token.as_deref().map(signing::Signer::new),
            disk,
            sources: SourcePool::default(),
            config,
            db: Mutex::new(store),
            videos: Mutex::new(HashMap::new()),
            started: Instant::now(),
            requests: AtomicU64::new(0),
            scanning: Mutex::new(None),
            recent: Mutex::new(VecDeque::new()),
            progress: Arc::new(Mutex::new(HashMap::new())),
            prefetch: prefetch::Prefetch::default(),
            channels: Mutex::new(None),
            scans_done: std::sync::atomic::AtomicU64::new(0),
            aliases,
            viewers: Mutex::new(HashMap::new()),
            streams: Mutex::new(HashMap::new()),
        })
    }

    /// The route with old ids replaced by the ones they became (a database from before ids
    /// by path, a file that moved): old links, bookmarks and progress keep working.
    pub fn canonical(&self, route: Route) -> Route {
        let aliases = self.aliases.lock().expect("lock");
        if aliases.is_empty() {
            return route;
        }
        let get = |video: bool, id: i64| *aliases.get(&(video, id)).unwrap_or(&id);
        route.map_ids(|id| get(true, id), |id| get(false, id))
    }

    /// Scans the library on a thread of its own while the server answers, logging the
    /// outcome. The status says it is scanning from the moment this returns, not from when the
    /// thread gets to run: a client that waits for the start-up scan (a test, the TUI) must not
    /// take the moment before it for the moment after.
    pub fn scan_in_background(self: &Arc<Self>) {
        *self.scanning.lock().expect("lock") = Some(self.config.target.display().to_string());
        let state = self.clone();
        std::thread::spawn(move || match state.scan() {
            Ok(s) => log::info!(
                "scanned {} videos ({} probed, {} failed)",
                s.found,
                s.probed,
                s.failed.len()
            ),
            Err(e) => log::error!("scan failed: {e}"),
        });
    }

    /// Scans the library folder with its own database connection, so the API keeps answering.
    pub fn scan(&self) -> Result<crate::library::Summary, String> {
        *self.scanning.lock().expect("lock") = Some(self.config.target.display().to_string());
        let result = (|| {
            let mut store = Store::open(&self.config.db).map_err(|e| e.to_string())?;
            let threads = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            let mut summary = crate::library::scan(
                &mut store,
                &self.config.target,
                threads,
                &crate::library::probe_json,
                &|_| {},
            )
            .map_err(|e| e.to_string())?;
            if !self.config.remote.is_empty() {
                let r = crate::library::scan_remote(
                    &mut store,
                    &self.config.remote,
                    &crate::library::probe_json,
                )
                .map_err(|e| e.to_string())?;
                summary.found += r.found;
                summary.probed += r.probed;
                summary.unchanged += r.unchanged;
                summary.removed += r.removed;
                summary.failed.extend(r.failed);
            }
            Ok(summary)
        })();
        match aliases_of(&self.db.lock().expect("db lock")) {
            Ok(a) => *self.aliases.lock().expect("lock") = a,
            Err(e) => log::warn!("reading the library's id aliases: {e}"),
        }
        // Presentations of changed files are loaded again on their next request.
        self.videos.lock().expect("lock").clear();
        self.sources.clear();
        *self.channels.lock().expect("lock") = None;
        self.scans_done
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Done only once all of it shows: the new ids' aliases, no stale presentation.
        *self.scanning.lock().expect("lock") = None;
        result
    }

    /// Answers one decoded request (the token was checked) with its body; `base` is the
    /// server's URL as the client named it (`http://host:port`), for lists that link back.
    pub fn handle(&self, route: Route, body: &[u8], base: &str) -> ApiResult {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match route {
            Route::Health => Ok(Reply::json(200, &serde_json::json!({ "status": "ok" }))),
            Route::Page => Ok(Reply::asset("text/html; charset=utf-8", INDEX_HTML)),
            Route::HlsJs => Ok(Reply::asset("text/javascript", HLS_JS)),
            Route::Status => Ok(Reply::json(200, &self.status())),
            Route::Metrics => Ok(self.metrics()),
            Route::Scan => self.rescan(),
            Route::Shows { search } => self.shows(search.as_deref()),
            Route::Show(id) => self.show(id),
            Route::Artwork(id, which) => self.artwork(id, which),
            Route::Master(id) => self.master(id),
            Route::BurnedMaster(id, sub) => self.burned_master(id, sub),
            Route::Rendition {
                video,
                rendition,
                file,
                version,
            } => self.rendition_file(video, &rendition, file, version.as_deref()),
            Route::ContinueWatching => self.continue_watching(),
            Route::Progress(id) => self.progress(id),
            Route::SetProgress(id) => self.set_progress(id, body),
            Route::Channels => self.channel_list(),
            Route::ChannelMaster(id) => self.channel_master(&id),
            Route::ChannelLive(id) => self.channel_live(&id),
            // GET streams (http::respond); HEAD says what a GET would (a tuner checking the
            // channel) without starting one.
            Route::ChannelStream(id) => self
                .channel(&id)
                .map(|_| Reply::text("video/mp2t", String::new())),
            Route::ChannelInit { id, version, video } => self.channel_init(&id, &version, video),
            Route::ChannelSegment {
                id,
                version,
                sequence,
            } => self.channel_segment(&id, &version, sequence),
            Route::IptvM3u => self.iptv_m3u(base),
            Route::Xmltv => self.iptv_xmltv(base),
            Route::HdHomeRun(what) => self.hdhomerun(base, what),
        }
    }
}

/// The library's aliases, keyed by (is a video, old id).
fn aliases_of(store: &Store) -> rusqlite::Result<HashMap<(bool, i64), i64>> {
    Ok(store
        .aliases()?
        .into_iter()
        .map(|(kind, old, id)| ((kind == "video", old), id))
        .collect())
}

/// Seconds since the Unix epoch (0 for a clock set before it): watch-progress stamps and
/// per-video token expiries.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Answers a request; a panic in doing so (a bug) is contained to it: the request's
/// connection closes (tiny_http answers a dropped request with a 500) and the thread that
/// took it goes on serving.
fn respond_isolated(state: &State, req: tiny_http::Request, route: Result<Route, http::ApiError>) {
    let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        respond(state, req, route);
    }));
    if let Err(p) = answered {
        log::error!("a request panicked: {}", cache::panic_message(&*p));
    }
}

/// Runs the server until `stop` is set (checked between requests).
pub fn run(state: Arc<State>, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let addr = format!("{}:{}", state.config.host, state.config.port);
    let server = Arc::new(
        tiny_http::Server::http(&addr).map_err(|e| anyhow::anyhow!("listening on {addr}: {e}"))?,
    );
    // Port 0 asks the system for a free port: say which one it gave, on stdout, for whoever
    // started the server (a script, a test) to read.
    let addr = match server.server_addr().to_ip() {
        Some(a) => a.to_string(),
        None => addr,
    };
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}/");
        let _ = out.flush();
    }
    log::info!(
        "serving {} on http://{addr}/",
        state.config.target.display()
    );
    // Two acceptors decode each request's route and answer what is quick (health, API,
    // playlists) at once; segment requests, which may take a transcode, go to the worker pool:
    // a busy pool never keeps /health or the library from answering.
    type Job = (
        tiny_http::Request,
        Result<Route, http::ApiError>,
        Option<admission::ClientTicket>,
    );
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let mut threads: Vec<std::thread::JoinHandle<()>> = (0..2)
        .map(|_| {
            let (server, state, stop, tx) =
                (server.clone(), state.clone(), stop.clone(), tx.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match server.recv_timeout(Duration::from_millis(200)) {
                        Ok(Some(req)) => {
                            let method = req.method().as_str().to_ascii_uppercase();
                            let route = Route::decode(&method, req.url());
                            if let Ok(Route::ChannelStream(_)) = &route {
                                tuner::stream_apart(&state, req, route);
                            } else if route.as_ref().is_ok_and(Route::is_segment) {
                                let ip = req.remote_addr().map(|a| a.ip());
                                match ip.map(|ip| (ip, state.clients.admit(ip))) {
                                    Some((ip, None)) => {
                                        let busy = Err(http::ApiError::new(
                                            429,
                                            format!("too many segment requests in flight (from {ip}, or in all); try again"),
                                        ));
                                        respond_isolated(&state, req, busy);
                                    }
                                    Some((_, ticket)) => {
                                        let _ = tx.send((req, route, ticket));
                                    }
                                    None => {
                                        let _ = tx.send((req, route, None));
                                    }
                                }
                            } else {
                                respond_isolated(&state, req, route);
                            }
                        }
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
                // The ticket is given back once the answer is sent.
                Ok((req, route, _ticket)) => respond_isolated(&state, req, route),
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
