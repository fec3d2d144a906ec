//! `haema serve`: the library over HTTP.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::Args as ClapArgs;

use haema::server::{run, Config, State};

/// Arguments of `haema serve`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  haema serve -t ~/Videos                      # http://127.0.0.1:8080/api/v1/shows
  haema serve -t /srv/media --host 0.0.0.0 -p 9000 --token s3cret --cache-limit 2G
  ffplay http://127.0.0.1:8080/api/v1/video/1/master.m3u8")]
pub struct Args {
    /// Port to listen on.
    #[arg(short, long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind; 0.0.0.0 to serve other machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The library folder (scanned at start, and on POST /api/v1/scan).
    #[arg(short = 't', long = "target-path", default_value = ".")]
    pub target: PathBuf,
    /// The library database.
    #[arg(long, default_value = "haema.db")]
    pub db: PathBuf,
    /// Keep made segments in memory.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub cache: bool,
    /// Memory cache limit: bytes, or with K, M, G.
    #[arg(long, default_value = "512M", value_parser = parse_size)]
    pub cache_limit: u64,
    /// Video encoder for transcoded renditions.
    #[arg(short, long, default_value = haema::transcode::DEFAULT_VIDEO_ENCODER)]
    pub encoder: String,
    /// Access token required on everything but /health.
    #[arg(long)]
    pub token: Option<String>,
    /// Worker threads answering requests.
    #[arg(long, default_value_t = 16)]
    pub threads: usize,
}

/// `512M` to bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| format!("'{s}' is not a size (like 512M or 2G)"))
}

/// Runs `haema serve`.
pub fn run_cmd(args: Args) -> anyhow::Result<()> {
    haema::transcode::check_video_encoder(&args.encoder)?;
    let config = Config {
        host: args.host,
        port: args.port,
        target: args.target,
        db: args.db.clone(),
        cache_limit: if args.cache { args.cache_limit } else { 0 },
        threads: args.threads,
        encoder: args.encoder,
        token: args.token,
    };
    let state =
        Arc::new(State::new(config).with_context(|| format!("opening {}", args.db.display()))?);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .context("installing the SIGINT/SIGTERM handler")?;
    }
    {
        // Serve while scanning.
        let state = state.clone();
        std::thread::spawn(move || match state.scan() {
            Ok(s) => eprintln!(
                "haema: scanned {} videos ({} probed, {} failed)",
                s.found,
                s.probed,
                s.failed.len()
            ),
            Err(e) => eprintln!("haema: scan failed: {e}"),
        });
    }
    run(state, stop)?;
    eprintln!("haema: stopped");
    Ok(())
}
