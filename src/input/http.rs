//! A file behind an `http(s)://` URL, read with range requests (RFC 9110 14: `Range`,
//! `Content-Range`, `If-Range`), for sources that live on another machine (a NAS, an object
//! store, a debrid service: the mediaflow-proxy use case).
//!
//! Reads go through a small cache of 64 KiB blocks, so libavformat's and the MP4 reader's
//! small reads cost one request per block (four at a time when reads run on from the last
//! block fetched); a read of many blocks (a `moov`) is one request for exactly its range, and
//! a segment's samples, announced by [`super::ReadAt::will_need`], one request for theirs. Connections are kept alive and reused (one pool for the
//! process); a request that fails on the way (connection refused or dropped, timeout, 5xx,
//! 429) is tried again with backoff. A server that ignores `Range` and a file that changes
//! while it is read (`If-Range` no longer matches) are clear errors, never wrong bytes.

use std::collections::{HashMap, VecDeque};
use std::io::{Error, ErrorKind, Read};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The unit of caching and of the smallest request.
const BLOCK: u64 = 64 * 1024;
/// Blocks fetched at once when a read runs on from the last block fetched (libavformat
/// reading a Matroska header, the first packets).
const READ_AHEAD: usize = 4;
/// Blocks kept per URL (8 MiB).
const CACHED_BLOCKS: usize = 128;
/// Remote files kept open in the process, most recently used first.
const OPEN_URLS: usize = 16;
/// How long an open remote file is trusted before it is opened again (its length and
/// validator read anew): a file replaced on the server is seen within this.
const TRUSTED_FOR: Duration = Duration::from_secs(60);
/// Tries of one request, the first included.
const TRIES: u32 = 4;
/// The largest range fetched ahead for [`super::ReadAt::will_need`] (a segment's GOPs).
const MAX_EXTENT: u64 = 64 << 20;

/// One remote file: its length, its validator, and the blocks read lately.
pub struct Remote {
    url: String,
    len: u64,
    /// A strong ETag or Last-Modified, sent as `If-Range`: a changed file answers 200.
    validator: Option<String>,
    opened: Instant,
    blocks: Mutex<Blocks>,
    /// The block after the last one fetched: a miss there reads ahead.
    next_block: std::sync::atomic::AtomicU64,
    /// The range last announced by `will_need`, fetched whole: (offset, bytes).
    extent: Mutex<Option<(u64, Arc<Vec<u8>>)>>,
    /// The last big read (an MP4's moov, read again by every source that opens the file).
    big: Mutex<Option<(u64, Arc<Vec<u8>>)>>,
}

#[derive(Default)]
struct Blocks {
    by_index: HashMap<u64, Arc<Vec<u8>>>,
    /// Most recently used last.
    order: VecDeque<u64>,
}

impl Blocks {
    fn get(&mut self, i: u64) -> Option<Arc<Vec<u8>>> {
        let b = self.by_index.get(&i)?.clone();
        self.order.retain(|x| *x != i);
        self.order.push_back(i);
        Some(b)
    }

    fn put(&mut self, i: u64, b: Arc<Vec<u8>>) {
        if self.by_index.insert(i, b).is_none() {
            self.order.push_back(i);
        }
        while self.order.len() > CACHED_BLOCKS {
            if let Some(old) = self.order.pop_front() {
                self.by_index.remove(&old);
            }
        }
    }
}

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            .timeout_read(Duration::from_secs(20))
            .max_idle_connections_per_host(8)
            .user_agent(concat!("haema/", env!("CARGO_PKG_VERSION")))
            .build()
    })
}

fn open_urls() -> &'static Mutex<VecDeque<Arc<Remote>>> {
    static OPEN: OnceLock<Mutex<VecDeque<Arc<Remote>>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// What one range request brought back.
struct Answer {
    bytes: Vec<u8>,
    /// The file's total length, from `Content-Range`.
    total: u64,
    validator: Option<String>,
}

impl Remote {
    /// The remote file at `url`, opened with one request (its first block, which also gives
    /// its length), or shared with whoever opened it lately.
    pub fn open(url: &str) -> std::io::Result<Arc<Remote>> {
        {
            let mut open = open_urls().lock().expect("lock");
            open.retain(|r| r.opened.elapsed() < TRUSTED_FOR);
            if let Some(k) = open.iter().position(|r| r.url == url) {
                let r = open.remove(k).expect("found");
                open.push_front(r.clone());
                return Ok(r);
            }
        }
        let first = fetch(url, 0, BLOCK - 1, None)?;
        let remote = Arc::new(Remote {
            url: url.to_owned(),
            len: first.total,
            validator: first.validator,
            opened: Instant::now(),
            blocks: Mutex::new(Blocks::default()),
            next_block: std::sync::atomic::AtomicU64::new(1),
            extent: Mutex::new(None),
            big: Mutex::new(None),
        });
        if !first.bytes.is_empty() {
            remote
                .blocks
                .lock()
                .expect("lock")
                .put(0, Arc::new(first.bytes));
        }
        let mut open = open_urls().lock().expect("lock");
        open.push_front(remote.clone());
        open.truncate(OPEN_URLS);
        Ok(remote)
    }

    /// The remote file's stamp, as the library records a file's: its length and its
    /// validator (ETag or Last-Modified, else empty).
    pub fn stamp(&self) -> (u64, String) {
        (self.len, self.validator.clone().unwrap_or_default())
    }

    fn block(&self, i: u64) -> Option<Arc<Vec<u8>>> {
        self.blocks.lock().expect("lock").get(i)
    }

    /// Blocks `first..=last`, fetching the missing ones (each run of them in one request).
    fn blocks(&self, first: u64, last: u64) -> std::io::Result<Vec<Arc<Vec<u8>>>> {
        let mut out: Vec<Option<Arc<Vec<u8>>>> = (first..=last).map(|i| self.block(i)).collect();
        let mut i = 0;
        while i < out.len() {
            if out[i].is_some() {
                i += 1;
                continue;
            }
            let run = out[i..].iter().take_while(|b| b.is_none()).count();
            let from = first + i as u64;
            let blocks = self.len.div_ceil(BLOCK);
            // Reading on from the last block fetched: take a few more while at it.
            let ahead = if from == self.next_block.load(Ordering::Relaxed) {
                (run.max(READ_AHEAD) as u64).min(blocks - from)
            } else {
                run as u64
            };
            let start = from * BLOCK;
            let end = ((from + ahead) * BLOCK).min(self.len) - 1;
            let got = self.fetch(start, end)?;
            self.next_block.store(from + ahead, Ordering::Relaxed);
            for (k, chunk) in got.chunks(BLOCK as usize).enumerate() {
                let b = Arc::new(chunk.to_vec());
                self.blocks
                    .lock()
                    .expect("lock")
                    .put(from + k as u64, b.clone());
                if let Some(slot) = out.get_mut(i + k) {
                    *slot = Some(b);
                }
            }
            i += run;
        }
        Ok(out.into_iter().map(|b| b.expect("filled")).collect())
    }

    fn fetch(&self, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
        let got = fetch(&self.url, start, end, self.validator.as_deref())?;
        if got.total != self.len {
            return Err(changed());
        }
        Ok(got.bytes)
    }
}

impl super::ReadAt for Remote {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|e| *e <= self.len)
            .ok_or_else(|| Error::from(ErrorKind::UnexpectedEof))?;
        let copy_from = |kept: &Option<(u64, Arc<Vec<u8>>)>, buf: &mut [u8]| match kept {
            Some((at, bytes)) if offset >= *at && end <= at + bytes.len() as u64 => {
                let from = (offset - at) as usize;
                buf.copy_from_slice(&bytes[from..from + buf.len()]);
                true
            }
            _ => false,
        };
        if copy_from(&self.extent.lock().expect("lock"), buf) {
            return Ok(());
        }
        if buf.len() as u64 >= 2 * BLOCK {
            // A big read (a moov): exactly its range, in one request, and kept for the next
            // source that opens the file. Held while fetched: sources opening the file at once
            // wait for this read rather than each making its own.
            let mut big = self.big.lock().expect("lock");
            if copy_from(&big, buf) {
                return Ok(());
            }
            let bytes = Arc::new(self.fetch(offset, end - 1)?);
            buf.copy_from_slice(&bytes);
            if buf.len() as u64 <= MAX_EXTENT {
                *big = Some((offset, bytes));
            }
            return Ok(());
        }
        if copy_from(&self.big.lock().expect("lock"), buf) {
            return Ok(());
        }
        let (first, last) = (offset / BLOCK, (end - 1) / BLOCK);
        let mut at = 0;
        for (k, b) in self.blocks(first, last)?.iter().enumerate() {
            let block_start = (first + k as u64) * BLOCK;
            let from = (offset + at as u64 - block_start) as usize;
            let n = (b.len() - from).min(buf.len() - at);
            buf[at..at + n].copy_from_slice(&b[from..from + n]);
            at += n;
        }
        Ok(())
    }

    fn will_need(&self, offset: u64, len: u64) {
        let len = len.min(self.len.saturating_sub(offset));
        if len == 0 || len > MAX_EXTENT || self.has_extent(offset, len) {
            return;
        }
        let cached = {
            let mut blocks = self.blocks.lock().expect("lock");
            (offset / BLOCK..=(offset + len - 1) / BLOCK).all(|i| blocks.get(i).is_some())
        };
        if cached {
            return;
        }
        // A failure here is not one: the reads that follow fetch what they need themselves.
        if let Ok(bytes) = self.fetch(offset, offset + len - 1) {
            *self.extent.lock().expect("lock") = Some((offset, Arc::new(bytes)));
        }
    }
}

impl Remote {
    /// The extent a [`super::ReadAt::will_need`] fetched, if it holds `offset..offset + len`.
    fn has_extent(&self, offset: u64, len: u64) -> bool {
        self.extent
            .lock()
            .expect("lock")
            .as_ref()
            .is_some_and(|(at, b)| offset >= *at && offset + len <= at + b.len() as u64)
    }
}

fn changed() -> Error {
    Error::other("the file changed on the server while it was read; try again")
}

/// One range request, tried again on failures that may pass (connection errors and drops,
/// timeouts, 5xx, 429), with backoff: 0.2 s, 0.6 s, 1.8 s.
fn fetch(url: &str, start: u64, end: u64, if_range: Option<&str>) -> std::io::Result<Answer> {
    let mut wait = Duration::from_millis(200);
    let mut tries = 0;
    loop {
        tries += 1;
        match fetch_once(url, start, end, if_range) {
            Ok(a) => return Ok(a),
            Err((e, again)) if !again || tries == TRIES => return Err(e),
            Err((e, _)) => {
                log::warn!("{url}: {e}; trying again in {:.1} s", wait.as_secs_f64());
                std::thread::sleep(wait);
                wait *= 3;
            }
        }
    }
}

/// One range request: the bytes, or an error and whether trying again may help.
fn fetch_once(
    url: &str,
    start: u64,
    end: u64,
    if_range: Option<&str>,
) -> Result<Answer, (Error, bool)> {
    let mut req = agent()
        .get(url)
        .set("Range", &format!("bytes={start}-{end}"));
    if let Some(v) = if_range {
        req = req.set("If-Range", v);
    }
    let resp = match req.call() {
        Ok(r) => r,
        // RFC 9110 15.5.17: a range past the end of an empty file.
        Err(ureq::Error::Status(416, r)) if start == 0 => {
            let total = content_range_total(r.header("Content-Range")).unwrap_or(0);
            return Ok(Answer {
                bytes: Vec::new(),
                total,
                validator: validator(&r),
            });
        }
        Err(ureq::Error::Status(code, r)) => {
            let again = code >= 500 || code == 429 || code == 408;
            return Err((
                Error::other(format!("the server answered {code} {}", r.status_text())),
                again,
            ));
        }
        Err(ureq::Error::Transport(t)) => {
            let why = match t.message() {
                Some(m) => format!("{}: {m}", t.kind()),
                None => t.kind().to_string(),
            };
            return Err((Error::other(why), true));
        }
    };
    match resp.status() {
        206 => {}
        200 if if_range.is_some() => return Err((changed(), false)),
        code => {
            return Err((
                Error::other(format!(
                    "the server answered {code} to a range request; Haema reads remote files \
                     with HTTP range requests (RFC 9110 14), and this server does not honour them"
                )),
                false,
            ))
        }
    }
    let range = resp.header("Content-Range").unwrap_or_default().to_owned();
    let total = content_range_total(Some(&range)).ok_or_else(|| {
        (
            Error::other(format!("no usable Content-Range ({range:?})")),
            false,
        )
    })?;
    let first: Option<u64> = range
        .strip_prefix("bytes ")
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.trim().parse().ok());
    if first != Some(start) {
        return Err((
            Error::other(format!("asked for bytes {start}-{end}, got {range:?}")),
            false,
        ));
    }
    let want = (end.min(total.saturating_sub(1)) + 1).saturating_sub(start);
    let validator = validator(&resp);
    let mut bytes = Vec::with_capacity(want as usize);
    let read = resp
        .into_reader()
        .take(want)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            (
                Error::other(format!("reading bytes {start}-{end}: {e}")),
                true,
            )
        })?;
    if read as u64 != want {
        return Err((
            Error::other(format!("the connection ended after {read} of {want} bytes")),
            true,
        ));
    }
    Ok(Answer {
        bytes,
        total,
        validator,
    })
}

/// The `/total` of `Content-Range: bytes a-b/total` (or `bytes */total`).
fn content_range_total(v: Option<&str>) -> Option<u64> {
    v?.rsplit('/').next()?.trim().parse().ok()
}

/// What `If-Range` may carry (RFC 9110 13.1.5): a strong ETag, else Last-Modified.
fn validator(r: &ureq::Response) -> Option<String> {
    r.header("ETag")
        .filter(|e| !e.starts_with("W/"))
        .or_else(|| r.header("Last-Modified"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_gives_the_total_length() {
        assert_eq!(content_range_total(Some("bytes 0-99/12345")), Some(12345));
        assert_eq!(content_range_total(Some("bytes */0")), Some(0));
        assert_eq!(content_range_total(Some("bytes 0-99/*")), None);
        assert_eq!(content_range_total(None), None);
    }

    #[test]
    fn the_block_cache_keeps_the_most_recently_used() {
        let mut b = Blocks::default();
        for i in 0..CACHED_BLOCKS as u64 {
            b.put(i, Arc::new(vec![i as u8]));
        }
        assert!(b.get(0).is_some());
        b.put(1000, Arc::new(vec![]));
        assert!(b.get(0).is_some(), "used lately, kept");
        assert!(b.get(1).is_none(), "the least recently used went");
    }
}
