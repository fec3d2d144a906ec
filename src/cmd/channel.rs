//! `haema channel NAME`: a live channel's playlist at an instant, or its guide, computed from
//! the config and the scanned library as the server computes them (for scripts and tests).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use haema::channel::config::parse_rfc3339;
use haema::channel::iso8601;
use haema::channel::lineup::{Channel, LibraryVideo};
use haema::library::store::Store;

/// Arguments of `haema channel`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  haema channel 'Night Films' --config haema.yaml                # the live playlist now
  haema channel night-films --config haema.yaml --at 2026-06-01T20:00:00Z
  haema channel night-films --config haema.yaml --guide --hours 6

The library must be scanned (haema scan, or a running haema serve) into the config's database.")]
pub struct Args {
    /// The channel's name or id.
    pub name: String,
    /// The YAML config that declares the channel.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The library database [default: the config's db, else haema.db].
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The library folder [default: the config's target_path, else .].
    #[arg(short, long = "target-path")]
    pub target: Option<PathBuf>,
    /// The instant, RFC 3339 [default: now].
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print the schedule from that instant instead of the playlist.
    #[arg(long)]
    pub guide: bool,
    /// Hours of guide.
    #[arg(long, default_value_t = 24, requires = "guide")]
    pub hours: u32,
    /// Segments the live playlist lists.
    #[arg(long, default_value_t = 6)]
    pub window: usize,
}

/// Runs `haema channel`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let file = super::serve::read_config(&args.config)?;
    let conf = file
        .channels()
        .iter()
        .find(|c| c.name == args.name || c.id() == args.name)
        .with_context(|| {
            let known: Vec<String> = file.channels().iter().map(|c| c.id()).collect();
            format!(
                "no channel '{}' in {} (it has: {})",
                args.name,
                args.config.display(),
                known.join(", ")
            )
        })?;
    let db = args
        .db
        .or_else(|| file.db().map(PathBuf::from))
        .unwrap_or_else(|| "haema.db".into());
    let target = args
        .target
        .or_else(|| file.target_path().map(PathBuf::from))
        .unwrap_or_else(|| ".".into());
    let store = Store::open(&db)
        .with_context(|| format!("opening the library database {}", db.display()))?;
    let videos: Vec<LibraryVideo> = store
        .catalogue()
        .context("reading the library")?
        .into_iter()
        .map(|r| LibraryVideo::from_row(r, &target))
        .collect();
    // The guide and the URLs as a server with the default encoder names them.
    let channel = Channel::build(conf, &videos, haema::ladder::DEFAULT_VIDEO_ENCODER)
        .map_err(anyhow::Error::msg)?;
    for why in &channel.left_out {
        eprintln!("haema: left out {why}");
    }
    let at = match &args.at {
        Some(t) => parse_rfc3339(t)
            .with_context(|| format!("--at {t}: not an RFC 3339 time like 2026-01-01T00:00:00Z"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64),
    };
    let text = if args.guide {
        let mut s = String::new();
        for a in channel
            .schedule
            .guide(at, at + i64::from(args.hours) * 3_600_000_000)
        {
            let item = &channel.items[a.programme];
            let episode = item
                .episode
                .map(|(s, e)| format!(" S{s:02}E{e:02}"))
                .unwrap_or_default();
            let sub = item
                .sub_title
                .as_deref()
                .map(|t| format!(" - {t}"))
                .unwrap_or_default();
            s.push_str(&format!(
                "{}  {}  video {}  {}{episode}{sub}\n",
                iso8601(a.start_us),
                iso8601(a.end_us),
                item.video,
                item.title
            ));
        }
        s
    } else {
        haema::server::channels::live_playlist(&channel, at, args.window).with_context(|| {
            format!(
                "channel '{}' starts at {}: nothing airs at {}",
                conf.name,
                conf.start,
                iso8601(at)
            )
        })?
    };
    super::write_stdout(text.as_bytes())
}
