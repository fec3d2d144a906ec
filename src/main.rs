//! The `haema` command: parses the command line and hands each subcommand to its module.

mod cmd;

use clap::{CommandFactory, Parser, Subcommand};

/// Haema: a folder of films and series as HLS streams any player can open. Segments are cut at
/// the source's keyframes and made on demand, in any order; nothing is pre-encoded.
#[derive(Debug, Parser)]
#[command(
    name = "haema",
    version,
    about,
    after_help = "Examples:
  haema probe movie.mkv
  haema playlist movie.mkv --out hls && python3 -m http.server -d hls
  haema segment movie.mkv 12 > 12.m4s"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Index a library folder (films and series) into SQLite.
    Scan(cmd::scan::Args),
    /// Streams, codecs, keyframes and the streaming plan of one file.
    Probe(cmd::probe::Args),
    /// Master or media playlist on stdout, or a complete static HLS tree with --out.
    Playlist(cmd::playlist::Args),
    /// One init or media segment on stdout.
    Segment(cmd::segment::Args),
    /// The library API, HLS and watch progress over HTTP.
    Serve(cmd::serve::Args),
    /// Measured speed of the pipeline, side by side with the ffmpeg CLI.
    Bench(cmd::bench::Args),
    /// A live dashboard of a running server: jobs, cache, encoders, requests.
    Tui(cmd::tui::Args),
    /// Write shell completions and man pages (for packagers: `haema docs --out .`).
    #[command(hide = true)]
    Docs(cmd::docs::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(a) => cmd::scan::run(a),
        Command::Probe(a) => cmd::probe::run(a),
        Command::Playlist(a) => cmd::playlist::run(a),
        Command::Segment(a) => cmd::segment::run(a),
        Command::Serve(a) => cmd::serve::run_cmd(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Tui(a) => cmd::tui::run(a),
        Command::Docs(a) => cmd::docs::run(a, Cli::command()),
    };
    if let Err(e) = result {
        eprintln!("haema: {e:#}");
        std::process::exit(1);
    }
}
