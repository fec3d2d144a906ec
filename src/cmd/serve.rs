//! `haema serve`: the library over HTTP.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::Args as ClapArgs;

use haema::server::{run, Config, State};

/// Arguments of `haema serve`. Every option can also come from `--config haema.yaml` (same
/// names, `target_path`, `cache_limit`...): the command line wins over the file, the file over
/// the defaults shown.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  haema serve -t ~/Videos                      # http://127.0.0.1:8080/api/v1/shows
  haema serve -t /srv/media --host 0.0.0.0 -p 9000 --token s3cret --cache-limit 2G
  haema serve --config /etc/haema.yaml
  ffplay http://127.0.0.1:8080/api/v1/video/ID/master.m3u8   # ID: from /api/v1/shows

haema.yaml:
  port: 8080
  host: 127.0.0.1
  target_path: /srv/media
  db: /var/lib/haema/haema.db
  cache: true
  cache_limit: 2G
  token: s3cret")]
pub struct Args {
    /// Port to listen on [default: 8080].
    #[arg(short, long)]
    pub port: Option<u16>,
    /// Address to bind; 0.0.0.0 to serve other machines [default: 127.0.0.1].
    #[arg(long)]
    pub host: Option<String>,
    /// The library folder, scanned at start and on POST /api/v1/scan [default: .].
    #[arg(short = 't', long = "target-path")]
    pub target: Option<PathBuf>,
    /// The library database [default: haema.db].
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Keep made segments in memory [default: true].
    #[arg(long, action = clap::ArgAction::Set)]
    pub cache: Option<bool>,
    /// Memory cache limit: bytes, or with K, M, G (also KB, MiB..., in 1024s) [default: 512M].
    #[arg(long, value_parser = parse_size)]
    pub cache_limit: Option<u64>,
    /// Also keep made segments as files in this folder (survives restarts, shared by servers).
    #[arg(long, value_name = "DIR")]
    pub cache_path: Option<PathBuf>,
    /// Disk cache limit: bytes, or with K, M, G (also KB, MiB..., in 1024s) [default: 10G].
    #[arg(long, value_parser = parse_size)]
    pub disk_cache_limit: Option<u64>,
    /// Video encoder for transcoded renditions [default: libx264] (an HEVC encoder makes
    /// `hevc-<height>p` rungs).
    #[arg(short, long)]
    pub encoder: Option<String>,
    /// Access token required on everything but /health.
    #[arg(long)]
    pub token: Option<String>,
    /// Worker threads answering segment requests; most wait on I/O or for a transcode slot
    /// [default: 8].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Video transcodes that run at once (AAC has two slots of its own); a segment a player
    /// waits for goes before prefetching [default: one per two cores: each transcode encodes
    /// on two threads].
    #[arg(long, value_name = "N")]
    pub transcodes: Option<usize>,
    /// Segment requests one client address may have in flight at once; more are answered
    /// 429 with Retry-After [default: 64].
    #[arg(long, value_name = "N")]
    pub max_client_requests: Option<usize>,
    /// Seconds a request may wait for a transcode slot before it is refused with 503 and
    /// Retry-After [default: 15].
    #[arg(long, value_name = "SECONDS")]
    pub queue_timeout: Option<f64>,
    /// Segments a live channel's playlist lists [default: 6, the least allowed].
    #[arg(long, value_name = "N")]
    pub live_window: Option<usize>,
    /// Run the channels' clock as if it were TIME now (RFC 3339): for tests and demos.
    #[arg(long, value_name = "TIME")]
    pub clock: Option<String>,
    /// A YAML file with any of the options above, and `channels:` (see the README).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The options as a YAML file gives them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    port: Option<u16>,
    host: Option<String>,
    target_path: Option<PathBuf>,
    db: Option<PathBuf>,
    cache: Option<bool>,
    cache_limit: Option<serde_yaml::Value>,
    cache_path: Option<PathBuf>,
    disk_cache_limit: Option<serde_yaml::Value>,
    encoder: Option<String>,
    token: Option<String>,
    threads: Option<usize>,
    transcodes: Option<usize>,
    queue_timeout: Option<f64>,
    max_client_requests: Option<usize>,
    live_window: Option<usize>,
    #[serde(default)]
    channels: Vec<haema::channel::config::ChannelConfig>,
    /// Videos on other servers, by URL (read with HTTP range requests).
    #[serde(default)]
    remote: Vec<String>,
}

/// Reads a YAML config file (the server's options and its channels), checking its channels.
pub(crate) fn read_config(p: &std::path::Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    let file: FileConfig = serde_yaml::from_str(&text)
        .with_context(|| format!("{}: not a valid haema config", p.display()))?;
    haema::channel::config::check(&file.channels)
        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    if let Some(bad) = file
        .remote
        .iter()
        .find(|u| !haema::input::is_url(std::path::Path::new(u)))
    {
        anyhow::bail!(
            "{}: remote: '{bad}' is not an http:// or https:// URL",
            p.display()
        );
    }
    Ok(file)
}

impl FileConfig {
    /// The channels it declares.
    pub(crate) fn channels(&self) -> &[haema::channel::config::ChannelConfig] {
        &self.channels
    }

    /// The library folder it names, if any.
    pub(crate) fn target_path(&self) -> Option<&std::path::Path> {
        self.target_path.as_deref()
    }

    /// The database it names, if any.
    pub(crate) fn db(&self) -> Option<&std::path::Path> {
        self.db.as_deref()
    }
}

/// A size from the YAML file: a number of bytes, or text as [`parse_size`] reads it.
fn yaml_size(name: &str, v: Option<serde_yaml::Value>) -> anyhow::Result<Option<u64>> {
    match v {
        Some(serde_yaml::Value::Number(n)) => Ok(n.as_u64()),
        Some(serde_yaml::Value::String(s)) => Ok(Some(parse_size(&s).map_err(anyhow::Error::msg)?)),
        Some(other) => anyhow::bail!("{name}: {other:?} is not a size (like 512M)"),
        None => Ok(None),
    }
}

/// A size as people write it, to bytes: `1048576`, `512M`, `256MB`, `512MiB`, `1.5G`, `2GB`.
/// K, M and G count in 1024s, with or without `B` or `iB` (a cache limit is memory).
fn parse_size(s: &str) -> Result<u64, String> {
    parse_size::Config::new()
        .with_binary()
        .parse_size(s.trim())
        .map_err(|_| format!("'{s}' is not a size (like 512M, 256MB or 1.5G)"))
}

/// Runs `haema serve`.
pub fn run_cmd(args: Args) -> anyhow::Result<()> {
    let file: FileConfig = match &args.config {
        Some(p) => read_config(p)?,
        None => FileConfig::default(),
    };
    let clock_offset_us = match &args.clock {
        Some(t) => {
            let at = haema::channel::config::parse_rfc3339(t).ok_or_else(|| {
                anyhow::anyhow!("--clock {t}: not an RFC 3339 time like 2026-01-01T00:00:00Z")
            })?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as i64);
            at - now
        }
        None => 0,
    };
    let file_limit = yaml_size("cache_limit", file.cache_limit)?;
    let file_disk_limit = yaml_size("disk_cache_limit", file.disk_cache_limit)?;
    let encoder = args
        .encoder
        .or(file.encoder)
        .unwrap_or_else(|| haema::ladder::DEFAULT_VIDEO_ENCODER.into());
    haema::media::transcode::check_video_encoder(&encoder)?;
    let db = args.db.or(file.db).unwrap_or_else(|| "haema.db".into());
    let queue_timeout = args.queue_timeout.or(file.queue_timeout).unwrap_or(15.0);
    if !(0.0..=3600.0).contains(&queue_timeout) {
        anyhow::bail!("queue_timeout: {queue_timeout} is not a number of seconds from 0 to 3600");
    }
    let queue_timeout = std::time::Duration::from_secs_f64(queue_timeout);
    let config = Config {
        host: args
            .host
            .or(file.host)
            .unwrap_or_else(|| "127.0.0.1".into()),
        port: args.port.or(file.port).unwrap_or(8080),
        target: args
            .target
            .or(file.target_path)
            .unwrap_or_else(|| ".".into()),
        db: db.clone(),
        cache_limit: if args.cache.or(file.cache).unwrap_or(true) {
            args.cache_limit.or(file_limit).unwrap_or(512 << 20)
        } else {
            0
        },
        cache_path: args.cache_path.or(file.cache_path),
        disk_cache_limit: args
            .disk_cache_limit
            .or(file_disk_limit)
            .unwrap_or(10 << 30),
        threads: args.threads.or(file.threads).unwrap_or(8),
        transcodes: args
            .transcodes
            .or(file.transcodes)
            .unwrap_or_else(haema::media::transcode::default_slots),
        queue_timeout,
        max_client_requests: args
            .max_client_requests
            .or(file.max_client_requests)
            .unwrap_or(64),
        encoder,
        token: args.token.or(file.token),
        live_window: args.live_window.or(file.live_window).unwrap_or(6),
        channels: file.channels,
        remote: file.remote,
        clock_offset_us,
    };
    haema::media::sys::bound_allocator_arenas();
    haema::media::sys::raise_open_file_limit();
    let state = Arc::new(State::new(config).with_context(|| format!("opening {}", db.display()))?);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .context("installing the SIGINT/SIGTERM handler")?;
    }
    // Serve while scanning.
    state.scan_in_background();
    run(state, stop)?;
    log::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{parse_size, yaml_size, FileConfig};

    /// Fuzz target (bolero, as tests/fuzz.rs): any text as a config file gives a config or an
    /// error, never a panic; so do its sizes. Inputs are tried as they are and spliced into a
    /// real config.
    #[test]
    fn yaml_configs() {
        const REAL: &str = "port: 8080\nhost: 127.0.0.1\ntarget_path: /srv/media\ncache: true\ncache_limit: 2G\ntoken: s3cret\nqueue_timeout: 15\n";
        bolero::check!()
            .with_max_len(4096)
            .for_each(|input: &[u8]| {
                let text = String::from_utf8_lossy(input);
                let at = input
                    .first()
                    .map_or(0, |b| usize::from(*b) * REAL.len() / 256);
                let spliced = format!("{}{text}{}", &REAL[..at], &REAL[at..]);
                for t in [text.as_ref(), spliced.as_str()] {
                    if let Ok(c) = serde_yaml::from_str::<FileConfig>(t) {
                        let _ = yaml_size("cache_limit", c.cache_limit);
                        let _ = yaml_size("disk_cache_limit", c.disk_cache_limit);
                    }
                }
            });
    }

    #[test]
    fn sizes_are_read_as_people_write_them() {
        let mib = 1u64 << 20;
        for (text, want) in [
            ("1048576", mib),
            ("512M", 512 * mib),
            ("256MB", 256 * mib),
            ("512MiB", 512 * mib),
            ("1.5G", 3 * 512 * mib),
            ("2GB", 2048 * mib),
            ("64k", 64 << 10),
            (" 2G ", 2048 * mib),
        ] {
            assert_eq!(parse_size(text), Ok(want), "{text}");
        }
        for bad in ["", "lots", "-1M", "5X"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
