//! `haema tui`: a live dashboard of a running server.

use clap::Args as ClapArgs;

/// Arguments of `haema tui`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  haema tui                                 # the server on 127.0.0.1:8080
  haema tui --server 192.168.1.5:9000 --token s3cret

Keys: q or Esc quits, Tab moves between panes, arrows scroll, ? shows help.")]
pub struct Args {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub server: String,
    /// Its access token, if it has one.
    #[arg(long)]
    pub token: Option<String>,
}

/// Runs `haema tui`.
pub fn run(args: Args) -> anyhow::Result<()> {
    haema::tui::run(&args.server, args.token)
}
