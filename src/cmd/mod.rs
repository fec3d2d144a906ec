//! The subcommands: each file owns its `Args` and its `run`, and calls only the core.

pub mod bench;
pub mod docs;
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

/// Makes a one-shot process keep the memory it frees for reuse instead of handing it back to
/// the kernel at once: a copy segment allocates and frees megabytes of packets and buffers,
/// and every page the kernel gives anew costs a fault (about 8% of a `haema segment` run on a
/// 1080p film, measured). Not for the server, whose memory should go back when idle.
pub fn keep_freed_memory() {
    // SAFETY: mallopt only tunes glibc's allocator; any value is valid, failure is ignored.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TOP_PAD, 8 << 20);
    }
}
