//! What the server says about itself: `/api/v1/status` as serde types that the dashboard
//! (`haema tui`) reads back with the same definitions, and `/metrics` in Prometheus text.

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::admission::Queue;
use super::cache::{CacheStats, DiskStats};
use super::http::Reply;
use super::State;
use crate::ladder::EncoderStatus;

/// Requests kept for the status page.
pub const RECENT: usize = 20;

/// `GET /api/v1/status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// Seconds since the server started.
    pub uptime_secs: f64,
    /// Requests answered.
    pub requests: u64,
    /// The memory cache.
    pub cache: CacheStats,
    /// The disk cache, when there is one.
    pub disk_cache: Option<DiskStats>,
    /// Segments being made right now.
    pub jobs: Vec<Job>,
    /// The transcode slots: how many, how many run, how many wait.
    pub queue: Queue,
    /// The library folder being scanned, if a scan runs.
    pub scanning: Option<String>,
    /// The encoder transcoded renditions are made with.
    pub encoder: String,
    /// Every candidate encoder and whether it works here.
    pub encoders: Vec<EncoderStatus>,
    /// The last requests answered, oldest first.
    pub recent: Vec<RecentRequest>,
    /// The live channels, with how many are watching each.
    pub channels: Vec<ChannelStatus>,
}

/// A live channel as the dashboard lists it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelStatus {
    /// Channel number.
    pub number: u32,
    /// Its name.
    pub name: String,
    /// What is on now (title), or why it can't air.
    pub now: String,
    /// Clients that fetched its segments in the last minute, plus its TS streams open now.
    pub watching: usize,
}

/// A segment being made.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Job {
    /// Video id.
    pub video: String,
    /// Rendition id.
    pub rendition: String,
    /// Segment file name (`12.m4s`, `init.mp4`).
    pub segment: String,
    /// Video encoder of the server.
    pub encoder: String,
    /// Seconds since it started.
    pub running_secs: f64,
    /// Fraction of its frames made (transcodes; 0 for copies).
    pub progress: f64,
    /// Frames made per second.
    pub fps: f64,
    /// Media seconds made per second.
    pub speed: f64,
}

/// One answered request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RecentRequest {
    /// HTTP method.
    pub method: String,
    /// Path, without the query (which may hold a token).
    pub path: String,
    /// HTTP status.
    pub status: u16,
    /// Milliseconds to answer.
    pub ms: f64,
    /// The error message of a 4xx/5xx answer.
    pub error: Option<String>,
}

/// A segment's identity and live progress while it is made: what the status lists.
#[derive(Debug, Clone, Default)]
pub struct JobInfo {
    /// Video id.
    pub video: i64,
    /// Rendition id.
    pub rendition: String,
    /// Segment file name.
    pub file: String,
    /// Frames made.
    pub done: u64,
    /// Frames in the segment (0 until the decoder knows).
    pub total: u64,
    /// Media seconds in the segment.
    pub media_secs: f64,
}

/// Which video encoders work here, tried once per process.
fn encoders() -> &'static [EncoderStatus] {
    static LIST: std::sync::OnceLock<Vec<EncoderStatus>> = std::sync::OnceLock::new();
    LIST.get_or_init(crate::media::transcode::probe_encoders)
}

impl State {
    /// Keeps a request for the status page.
    pub(super) fn record(&self, r: RecentRequest) {
        let mut recent = self.recent.lock().expect("lock");
        if recent.len() >= RECENT {
            recent.pop_front();
        }
        recent.push_back(r);
    }

    /// The live state of the server.
    pub fn status(&self) -> Status {
        let progress = self.progress.lock().expect("lock").clone();
        let jobs = self
            .cache
            .making()
            .into_iter()
            .filter_map(|(key, secs)| {
                let job = progress.get(&key)?;
                let fraction = if job.total > 0 {
                    job.done as f64 / job.total as f64
                } else {
                    0.0
                };
                let secs = secs.max(1e-3);
                Some(Job {
                    video: job.video.to_string(),
                    rendition: job.rendition.clone(),
                    segment: job.file.clone(),
                    encoder: self.config.encoder.clone(),
                    running_secs: secs,
                    progress: fraction,
                    fps: job.done as f64 / secs,
                    speed: job.media_secs * fraction / secs,
                })
            })
            .collect();
        Status {
            uptime_secs: self.started.elapsed().as_secs_f64(),
            requests: self.requests.load(Ordering::Relaxed),
            cache: self.cache.stats(),
            disk_cache: self.disk.as_ref().map(|d| d.stats()),
            jobs,
            queue: self.admission.queue(),
            scanning: self.scanning.lock().expect("lock").clone(),
            encoder: self.config.encoder.clone(),
            encoders: encoders().to_vec(),
            recent: self.recent.lock().expect("lock").iter().cloned().collect(),
            channels: self.channel_status(),
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub(super) fn metrics(&self) -> Reply {
        let c = self.cache.stats();
        let q = self.admission.queue();
        let rows: [(&str, &str, &str, f64); 14] = [
            (
                "requests_total",
                "counter",
                "HTTP requests answered.",
                self.requests.load(Ordering::Relaxed) as f64,
            ),
            (
                "uptime_seconds",
                "gauge",
                "Seconds since the server started.",
                self.started.elapsed().as_secs_f64(),
            ),
            (
                "cache_bytes",
                "gauge",
                "Bytes held by the segment cache.",
                c.bytes as f64,
            ),
            (
                "cache_limit_bytes",
                "gauge",
                "Segment cache limit.",
                c.limit as f64,
            ),
            (
                "cache_entries",
                "gauge",
                "Segments held by the cache.",
                c.entries as f64,
            ),
            (
                "cache_hits_total",
                "counter",
                "Segment requests answered from the cache.",
                c.hits as f64,
            ),
            (
                "cache_misses_total",
                "counter",
                "Segments made.",
                c.misses as f64,
            ),
            (
                "cache_evictions_total",
                "counter",
                "Segments dropped to stay under the limit.",
                c.evictions as f64,
            ),
            (
                "panics_total",
                "counter",
                "Segment makings that panicked (bugs): answered with a 500, the server went on.",
                c.panics as f64,
            ),
            (
                "transcodes_running",
                "gauge",
                "Transcodes running now.",
                q.running as f64,
            ),
            (
                "transcodes_waiting",
                "gauge",
                "Requests waiting for a transcode slot.",
                q.waiting as f64,
            ),
            (
                "transcodes_refused_total",
                "counter",
                "Requests refused (503) after waiting past the queue timeout.",
                q.refused as f64,
            ),
            (
                "client_limit_refused_total",
                "counter",
                "Segment requests refused (429): their client had its limit in flight.",
                self.clients.refused() as f64,
            ),
            (
                "jobs",
                "gauge",
                "Segments being made right now.",
                self.cache.making().len() as f64,
            ),
        ];
        let text: String = rows
            .iter()
            .map(|(name, kind, help, value)| {
                format!("# HELP haema_{name} {help}\n# TYPE haema_{name} {kind}\nhaema_{name} {value}\n")
            })
            .collect();
        Reply::text("text/plain; version=0.0.4", text)
    }
}
