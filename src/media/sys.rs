//! The few operating-system calls std does not wrap, kept here with the rest of the crate's
//! `unsafe` code behind safe functions.

use std::process::Child;

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

/// How a child process ended, with the most memory it held.
#[derive(Debug, Clone, Copy)]
pub struct ChildUsage {
    /// It exited on its own with status 0.
    pub success: bool,
    /// Peak resident set size, KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
}

/// Waits for a child and reads its peak memory (wait4 with rusage), which std's `wait` does
/// not report. The child must not be waited on again.
pub fn wait_with_usage(child: Child) -> std::io::Result<ChildUsage> {
    let mut status = 0;
    // SAFETY: we wait for our own child once, into structs we own; std's Child is not waited
    // on afterwards (dropping it does not wait).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(ChildUsage {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        max_rss_kib: usage.ru_maxrss.max(0) as u64,
    })
}
