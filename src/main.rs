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
  haema segment movie.mkv 12 > 12.m4s",
    after_long_help = EXIT_STATUS
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`);
    /// overrides RUST_LOG [default: info for serve, warn otherwise].
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    /// Log lines as text or as one JSON object each.
    #[arg(long, global = true, value_enum, default_value_t = cmd::logging::LogFormat::Text)]
    log_format: cmd::logging::LogFormat,
}

/// The exit codes, shown by `haema --help` and in haema(1); [`exit_code`] maps errors to them.
const EXIT_STATUS: &str = "Exit status:
  0  success
  1  FFmpeg, the disk or another program failed while working
  2  the command line asks for something that can't be done (bad segment name, unusable encoder)
  3  the file is missing or is not a file
  4  the file is damaged or not media
  5  the file is media Haema can't stream (no video stream)
  6  the file has no such segment or rendition";

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
    /// A live channel's playlist at an instant, or its guide.
    Channel(cmd::channel::Args),
    /// A live dashboard of a running server: jobs, cache, encoders, requests.
    Tui(cmd::tui::Args),
    /// Write shell completions and man pages (for packagers: `haema docs --out .`).
    #[command(hide = true)]
    Docs(cmd::docs::Args),
}

fn main() {
    let cli = Cli::parse();
    let quiet_by_default = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    cmd::logging::init(cli.log_level.as_deref(), cli.log_format, quiet_by_default);
    let result = match cli.command {
        Command::Scan(a) => cmd::scan::run(a),
        Command::Probe(a) => cmd::probe::run(a),
        Command::Playlist(a) => cmd::playlist::run(a),
        Command::Segment(a) => cmd::segment::run(a),
        Command::Serve(a) => cmd::serve::run_cmd(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Tui(a) => cmd::tui::run(a),
        Command::Channel(a) => cmd::channel::run(a),
        Command::Docs(a) => cmd::docs::run(a, Cli::command()),
    };
    if let Err(e) = result {
        eprintln!("haema: {e:#}");
        std::process::exit(exit_code(&e));
    }
}

/// The exit code of a failed command: the core error's kind where there is one under the
/// context the command added, else 1.
fn exit_code(e: &anyhow::Error) -> i32 {
    e.chain()
        .find_map(|c| c.downcast_ref::<haema::Error>())
        .map_or(1, haema::Error::exit_code)
}
