//! `haema bench FILE`: Haema's speed beside the ffmpeg CLI, on this machine.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use crate::cmd::write_stdout;

/// Arguments of `haema bench`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  haema bench movie.mkv                    # text table, 10 runs a row
  haema bench movie.mkv --segments 30 --markdown >> RESULTS.md
  haema bench movie.mkv --json | jq '.rows[] | {name, ratio}'
  haema bench --server 127.0.0.1:8080 --clients 50 --seconds 20

Every row runs whole processes, Haema's and the ffmpeg CLI's equivalent, interleaved, after a
warm-up; it prints min, median and max wall time and the ratio of the medians.")]
pub struct Args {
    /// The media file.
    #[arg(required_unless_present = "server")]
    pub file: Option<PathBuf>,
    /// Instead: play simulated viewers against a running server (host:port).
    #[arg(long, value_name = "ADDR")]
    pub server: Option<String>,
    /// Viewers, with --server.
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// How long they play, with --server.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// The server's access token, with --server.
    #[arg(long)]
    pub token: Option<String>,
    /// Runs per row (segments are picked across the file, as seeks would ask).
    #[arg(long, short = 'k', default_value_t = 10)]
    pub segments: usize,
    /// Video encoder for the transcode row.
    #[arg(long, short, default_value = haema::ladder::DEFAULT_VIDEO_ENCODER)]
    pub encoder: String,
    /// Transcoded rendition to time (default: the largest H.264 rung).
    #[arg(long, short)]
    pub rendition: Option<String>,
    /// One JSON object.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// A Markdown table.
    #[arg(long)]
    pub markdown: bool,
}

/// Runs `haema bench`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(server) = &args.server {
        let r =
            haema::bench::serve_load(server, args.token.as_deref(), args.clients, args.seconds)?;
        let text = if args.json {
            serde_json::to_string_pretty(&r)? + "\n"
        } else {
            format!(
                "{} viewers on {} for {:.1} s: {} requests, {} errors, {:.0} MB/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms\n",
                r.clients, r.server, r.seconds, r.requests, r.errors, r.throughput_mb_s, r.p50_ms, r.p90_ms, r.p99_ms
            )
        };
        return write_stdout(text.as_bytes());
    }
    let file = args
        .file
        .clone()
        .expect("clap requires FILE without --server");
    haema::media::transcode::check_video_encoder(&args.encoder)?;
    let exe = std::env::current_exe().context("finding the haema binary")?;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let opts = haema::bench::Options {
        file,
        runs: args.segments,
        encoder: args.encoder,
        rendition: args.rendition,
    };
    let report = haema::bench::run(&opts, &exe, &|what| {
        bar.set_message(what.to_owned());
        bar.tick();
    })?;
    bar.finish_and_clear();
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else if args.markdown {
        haema::bench::markdown(&report)
    } else {
        haema::bench::text(&report)
    };
    write_stdout(text.as_bytes())
}
