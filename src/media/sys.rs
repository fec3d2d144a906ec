//! The few operating-system calls std does not wrap, kept here with the rest of the crate's
//! `unsafe` code behind safe functions.

use std::process::Child;

/// Makes a one-shot process keep the memory it frees for reuse instead of handing it back to
/// the kernel at once: a copy segment allocates and frees megabytes of packets and buffers,
/// and every page the kernel gives anew costs a fault (a visible share of a `haema segment`
/// run on a 1080p film). Not for the server, whose memory should go back when idle.
pub fn keep_freed_memory() {
    // SAFETY: mallopt only tunes glibc's allocator; any value is valid, failure is ignored.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TOP_PAD, 8 << 20);
    }
}

/// Bounds what a long-running server keeps of the memory it frees: glibc gives each thread
/// that contends for the heap an arena of its own (up to 8 per core), and every arena keeps
/// what was freed in it. Many request threads each touching megabytes of frames then hold
/// hundreds of megabytes nobody uses. Two arenas keep contention low on these machines, and
/// big blocks are mapped on their own.
pub fn bound_allocator_arenas() {
    // SAFETY: mallopt only tunes glibc's allocator; any value is valid, failure is ignored.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        // Frames, packets and segments (256 KiB and up) get pages of their own, handed back
        // the moment they are freed: glibc's moving threshold would otherwise carve them
        // from the arenas after the first big free, where they stay.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}

/// Hands the free memory at the top of the heap and in every arena back to the kernel (after
/// a transcode: its frames and encoder buffers are gone, and an idle server should cost
/// nothing).
pub fn release_free_memory() {
    // SAFETY: malloc_trim only returns free pages; it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Raises this process's open-file limit to what the system allows: a server holds a socket
/// per connection, and the soft limit (often 1024) is a default for shells, not servers.
pub fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
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
