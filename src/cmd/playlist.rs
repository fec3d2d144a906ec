//! `haema playlist FILE`: the master playlist, one media playlist, or a whole static tree.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use crate::cmd::write_stdout;
use haema::hls;
use haema::plan::{plan_for, DEFAULT_SEGMENT_SECS};
use haema::probe::{probe_with, Depth};
use haema::tree::{jobs, write_tree};

/// Arguments of `haema playlist`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  haema playlist movie.mkv                      # the master playlist
  haema playlist movie.mkv --media original     # one media playlist
  haema playlist movie.mkv --out /srv/hls/movie # a complete static HLS tree
  python3 -m http.server -d /srv/hls/movie      # ...then play http://HOST:8000/master.m3u8")]
pub struct Args {
    /// The media file.
    pub file: PathBuf,
    /// Print this rendition's media playlist instead of the master.
    #[arg(long, value_name = "RENDITION", conflicts_with = "out")]
    pub media: Option<String>,
    /// Write the complete tree (playlists, init and media segments) into this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Target segment duration in seconds (cut at the first keyframe at or after it).
    #[arg(long, default_value_t = DEFAULT_SEGMENT_SECS, value_name = "SECONDS")]
    pub segment_duration: f64,
    /// Video encoder for the transcoded renditions (default libx264; an HEVC encoder such as
    /// libx265 or hevc_vaapi makes `hevc-<height>p` rungs instead of `h264-<height>p`).
    #[arg(long, short)]
    pub encoder: Option<String>,
    /// Worker threads for `--out` (default: every core).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
}

/// Runs `haema playlist`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let encoder = args
        .encoder
        .as_deref()
        .unwrap_or(haema::ladder::DEFAULT_VIDEO_ENCODER);
    // The rungs are named and labelled for the codec the encoder makes.
    let rungs = haema::media::transcode::encoder_codec(encoder)?;
    let info = probe_with(&args.file, Depth::Playlists)?;
    let pres = plan_for(&info, args.segment_duration, rungs)?;
    if let Some(dir) = &args.out {
        let threads = args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let total = jobs(&pres).len() as u64;
        let bar = if std::io::stderr().is_terminal() {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {bar:40} {pos}/{len} segments {elapsed} ETA {eta}",
                )
                .expect("static template"),
            );
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        let started = std::time::Instant::now();
        haema::media::transcode::check_video_encoder(encoder)?;
        let stats =
            write_tree(&info, &pres, dir, threads, encoder, &|| bar.inc(1)).with_context(|| {
                format!(
                    "writing the HLS tree of {} into {}",
                    args.file.display(),
                    dir.display()
                )
            })?;
        bar.finish_and_clear();
        eprintln!(
            "wrote {} files ({:.1} MB) to {} in {:.2} s; play {}",
            stats.files,
            stats.bytes as f64 / 1e6,
            dir.display(),
            started.elapsed().as_secs_f64(),
            dir.join("master.m3u8").display()
        );
        return Ok(());
    }
    let text = match &args.media {
        Some(id) => hls::media_playlist(&pres, pres.rendition(id)?),
        None => hls::master_playlist(&pres),
    };
    write_stdout(text.as_bytes())
}
