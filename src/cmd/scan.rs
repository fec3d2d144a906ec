//! `haema scan DIR`: index a library folder into SQLite.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use haema::library::{probe_json, scan, store::Store};

/// Arguments of `haema scan`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  haema scan ~/Videos                       # index into ./haema.db
  haema scan /srv/media --db /var/lib/haema/haema.db

Layout: Movies/Title (Year)/Title (Year).mkv, Series/Show/Season 01/Show - S01E02 - Title.mkv
(also 1x02, flat season folders, Specials); poster.jpg, folder.jpg, banner.jpg, fanart.jpg
beside them are artwork. Anything else is listed as a film.")]
pub struct Args {
    /// The library folder.
    pub dir: PathBuf,
    /// The database file (created if missing).
    #[arg(long, default_value = "haema.db")]
    pub db: PathBuf,
    /// Files probed at once (default: every core).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
}

/// Runs `haema scan`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut store = Store::open(&args.db)
        .with_context(|| format!("opening the library database {}", args.db.display()))?;
    let threads = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos} files probed {elapsed} {wide_msg}",
            )
            .expect("static template"),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let tick = |p: &std::path::Path| {
        bar.inc(1);
        bar.set_message(
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    };
    let summary = scan(&mut store, &args.dir, threads, &probe_json, &tick)?;
    bar.finish_and_clear();
    for (path, why) in &summary.failed {
        eprintln!("haema: {}: {why}", path.display());
    }
    eprintln!(
        "{} videos in {}: {} probed, {} unchanged, {} moved, {} removed, {} failed ({:.2} s) -> {}",
        summary.found,
        args.dir.display(),
        summary.probed,
        summary.unchanged,
        summary.moved,
        summary.removed,
        summary.failed.len(),
        started.elapsed().as_secs_f64(),
        args.db.display()
    );
    Ok(())
}
