//! Where a media file's bytes come from: a local file, or an `http(s)://` URL read with range
//! requests ([`http`]). Everything that reads a file's bytes itself (the MP4 sample tables and
//! samples, the Matroska head, libavformat through a custom I/O context) reads through
//! [`ReadAt`], so a remote film is probed, planned and segmented like a local one, fetching only
//! its index and the bytes of the segments asked for.

pub mod http;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

/// Positioned reads of a file of known length, from any thread: `pread(2)` for local files,
/// range requests for URLs.
pub trait ReadAt: Send + Sync {
    /// The file's length in bytes.
    fn len(&self) -> u64;

    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` from `offset`; an error when the file ends first or can't be read.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;

    /// Says that the `len` bytes from `offset` will be read soon (a segment's samples): a
    /// remote file fetches them in one request. Nothing for a local file.
    fn will_need(&self, _offset: u64, _len: u64) {}
}

/// Whether `path` names a URL Haema reads with HTTP range requests rather than a local file.
pub fn is_url(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
}

/// Opens a local file or a URL for positioned reads. Remote files are shared within the
/// process (one connection pool, one block cache per URL): a probe that opens the file three
/// times fetches its index once.
pub fn open(path: &Path) -> std::io::Result<Arc<dyn ReadAt>> {
    if is_url(path) {
        let url = path.to_str().expect("checked by is_url");
        return Ok(http::Remote::open(url)?);
    }
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    Ok(Arc::new(LocalFile { file, len }))
}

/// A file's stamp as the library records it: (size, modification time in seconds) for a local
/// file, (length, a digest of its ETag or Last-Modified) for a URL. A file whose stamp
/// changed is probed again before anything is made from it. `None` when it can't be read.
pub fn stamp(path: &Path) -> Option<(i64, i64)> {
    if is_url(path) {
        let r = http::Remote::open(path.to_str()?).ok()?;
        let (len, validator) = r.stamp();
        let digest = crate::digest::fnv1a(validator.as_bytes()) & (i64::MAX as u64);
        return Some((len as i64, digest as i64));
    }
    let meta = std::fs::metadata(path).ok()?;
    file_stamp(&meta).filter(|_| meta.is_file())
}

/// A local file's stamp from its metadata: (size, modification time in seconds).
pub fn file_stamp(meta: &std::fs::Metadata) -> Option<(i64, i64)> {
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    Some((meta.len() as i64, mtime))
}

/// The path part of a URL, percent-decoded (RFC 3986 2.1): what names a remote file the way
/// a path names a local one (`/films/Film (2024)/Film (2024).mkv`).
pub fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A local file and its length when it was opened.
struct LocalFile {
    file: std::fs::File,
    len: u64,
}

impl ReadAt for LocalFile {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }
}

/// Bytes in memory as a file (the MP4 stub libavformat parses).
impl ReadAt for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let bytes = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

/// A [`ReadAt`] as a `Read + Seek` stream (for parsers written against `std::io`).
pub struct Cursor {
    /// What is read.
    pub inner: Arc<dyn ReadAt>,
    /// The next byte's offset.
    pub at: u64,
}

impl Read for Cursor {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.inner.len().saturating_sub(self.at)).min(buf.len() as u64) as usize;
        if n > 0 {
            self.inner.read_at(self.at, &mut buf[..n])?;
            self.at += n as u64;
        }
        Ok(n)
    }
}

impl Seek for Cursor {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let at = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.inner.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.at.checked_add_signed(d),
        };
        self.at = at.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        Ok(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_url(Path::new("http://host/a.mkv")));
        assert!(is_url(Path::new("https://host/a.mkv")));
        assert!(!is_url(Path::new("/srv/http://a.mkv")));
        assert!(!is_url(Path::new("Movies/a.mkv")));
    }

    #[test]
    fn url_paths_are_percent_decoded_without_query() {
        assert_eq!(
            url_path("http://nas:8080/Films/Clock%20(2024)/Clock%20(2024).mkv?sig=a%20b"),
            "/Films/Clock (2024)/Clock (2024).mkv"
        );
        assert_eq!(url_path("https://host"), "");
        assert_eq!(url_path("http://h/100%/x%2"), "/100%/x%2");
    }

    #[test]
    fn memory_reads_fail_past_the_end_and_the_cursor_stops_there() {
        let bytes: Arc<dyn ReadAt> = Arc::new(b"0123456789".to_vec());
        let mut buf = [0u8; 4];
        bytes.read_at(6, &mut buf).unwrap();
        assert_eq!(&buf, b"6789");
        assert!(bytes.read_at(7, &mut buf).is_err());
        let mut c = Cursor {
            inner: bytes,
            at: 0,
        };
        c.seek(SeekFrom::End(-3)).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"789");
    }
}
