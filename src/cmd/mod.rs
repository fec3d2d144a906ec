//! The subcommands: each file owns its `Args` and its `run`, and calls only the core.

pub mod bench;
pub mod channel;
pub mod docs;
pub mod logging;
pub mod playlist;
pub mod probe;
pub mod scan;
pub mod segment;
pub mod serve;
pub mod tui;

use std::io::Write;

/// Writes to stdout; a closed pipe (`haema segment ... | head -c 10`) is not an error.
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to stdout")),
    }
}
