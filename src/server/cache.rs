//! The segment caches: in memory and on disk, each bounded in bytes with the least recently
//! used entries out first ([`Lru`]), and a request for something being made right now waits
//! for it instead of making it again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::error::Error;

/// What making a segment gives: its bytes, or the core's error, shared by every request that
/// waited for it.
pub type Made = Result<Arc<Vec<u8>>, Arc<Error>>;

/// Entries with sizes, bounded in total size, least recently used out first: the bookkeeping
/// both caches share (what they hold, the memory or the files, is theirs).
struct Lru<V> {
    map: HashMap<String, (V, u64, u64)>,
    clock: u64,
    bytes: u64,
    limit: u64,
}

impl<V> Lru<V> {
    fn new(limit: u64) -> Lru<V> {
        Lru {
            map: HashMap::new(),
            clock: 0,
            bytes: 0,
            limit,
        }
    }

    /// The entry for `key`, now the most recently used.
    fn get(&mut self, key: &str) -> Option<&V> {
        self.clock += 1;
        let now = self.clock;
        let (v, _, used) = self.map.get_mut(key)?;
        *used = now;
        Some(v)
    }

    /// Adds or replaces an entry, then drops the least recently used ones until the total is
    /// within the limit; returns what was dropped. An entry larger than the limit is not kept.
    fn insert(&mut self, key: &str, value: V, size: u64) -> Vec<(String, V)> {
        if size > self.limit {
            return Vec::new();
        }
        self.clock += 1;
        if let Some((_, old, _)) = self.map.insert(key.to_owned(), (value, size, self.clock)) {
            self.bytes -= old;
        }
        self.bytes += size;
        let mut dropped = Vec::new();
        while self.bytes > self.limit {
            let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((v, len, _)) = self.map.remove(&oldest) {
                self.bytes -= len;
                dropped.push((oldest, v));
            }
        }
        dropped
    }

    fn remove(&mut self, key: &str) {
        if let Some((_, len, _)) = self.map.remove(key) {
            self.bytes -= len;
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// Counters for `/api/v1/status`.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CacheStats {
    /// Bytes held.
    pub bytes: u64,
    /// Byte limit.
    pub limit: u64,
    /// Entries held.
    pub entries: usize,
    /// Requests answered from the cache.
    pub hits: u64,
    /// Requests that made their bytes.
    pub misses: u64,
    /// Entries dropped to stay under the limit.
    pub evictions: u64,
    /// Makings that panicked (a bug): their requests got an error, the server went on.
    pub panics: u64,
}

struct Inner {
    lru: Lru<Arc<Vec<u8>>>,
    stats: CacheStats,
    making: HashMap<String, (Arc<Slot>, std::time::Instant)>,
}

/// A result being made: the waiters sleep on the condition variable.
struct Slot {
    done: Mutex<Option<Made>>,
    ready: Condvar,
}

/// What a panic said, for the error that replaces its result.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// A byte-bounded LRU cache with single-flight making.
pub struct Cache {
    inner: Mutex<Inner>,
}

impl Cache {
    /// A cache holding at most `limit` bytes (0 disables keeping, not single-flight).
    pub fn new(limit: u64) -> Cache {
        Cache {
            inner: Mutex::new(Inner {
                lru: Lru::new(limit),
                stats: CacheStats {
                    limit,
                    ..Default::default()
                },
                making: HashMap::new(),
            }),
        }
    }

    /// The cached bytes for `key`, or the result of `make` (run once however many ask at once).
    pub fn get_or_make(&self, key: &str, make: impl FnOnce() -> Result<Vec<u8>, Error>) -> Made {
        let slot = {
            let mut g = self.inner.lock().expect("cache lock");
            if let Some(bytes) = g.lru.get(key).cloned() {
                g.stats.hits += 1;
                return Ok(bytes);
            }
            if let Some((slot, _)) = g.making.get(key) {
                let slot = slot.clone();
                g.stats.hits += 1;
                drop(g);
                let mut done = slot.done.lock().expect("slot lock");
                while done.is_none() {
                    done = slot.ready.wait(done).expect("slot lock");
                }
                return done.clone().expect("checked");
            }
            g.stats.misses += 1;
            let slot = Arc::new(Slot {
                done: Mutex::new(None),
                ready: Condvar::new(),
            });
            g.making
                .insert(key.to_owned(), (slot.clone(), std::time::Instant::now()));
            slot
        };
        // A panic while making must not leave the slot empty (every later request for the key
        // would wait forever) nor take the calling worker down: it becomes this request's error.
        let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(make));
        let panicked = made.is_err();
        let result = made
            .unwrap_or_else(|p| Err(Error::Bug(panic_message(&*p))))
            .map(Arc::new)
            .map_err(Arc::new);
        {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.stats.panics += u64::from(panicked);
            g.making.remove(key);
            if let Ok(bytes) = &result {
                let dropped = g.lru.insert(key, bytes.clone(), bytes.len() as u64);
                g.stats.evictions += dropped.len() as u64;
                g.stats.bytes = g.lru.bytes;
                g.stats.entries = g.lru.len();
            }
        }
        *slot.done.lock().unwrap_or_else(|e| e.into_inner()) = Some(result.clone());
        slot.ready.notify_all();
        result
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        self.inner.lock().expect("cache lock").stats
    }

    /// Whether `key` is held or being made (without counting a hit or touching its age).
    pub fn contains(&self, key: &str) -> bool {
        let g = self.inner.lock().expect("cache lock");
        g.lru.map.contains_key(key) || g.making.contains_key(key)
    }

    /// Keys being made right now (live jobs), with seconds since each started.
    pub fn making(&self) -> Vec<(String, f64)> {
        let g = self.inner.lock().expect("cache lock");
        let mut v: Vec<(String, f64)> = g
            .making
            .iter()
            .map(|(k, (_, t))| (k.clone(), t.elapsed().as_secs_f64()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn least_recently_used_goes_first_and_bytes_stay_under_the_limit() {
        let c = Cache::new(10);
        c.get_or_make("a", || Ok(vec![0; 4])).unwrap();
        c.get_or_make("b", || Ok(vec![0; 4])).unwrap();
        c.get_or_make("a", || unreachable!()).unwrap(); // a is now newer than b
        c.get_or_make("c", || Ok(vec![0; 4])).unwrap(); // 12 > 10: b goes
        let s = c.stats();
        assert_eq!(
            (s.bytes, s.entries, s.evictions, s.hits, s.misses),
            (8, 2, 1, 1, 3)
        );
        c.get_or_make("a", || unreachable!()).unwrap();
        assert!(c
            .get_or_make("b", || Err(Error::NoSuch("made again".into())))
            .is_err());
    }

    #[test]
    fn concurrent_requests_for_one_key_make_it_once() {
        let c = Cache::new(1 << 20);
        let made = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let b = c
                        .get_or_make("k", || {
                            made.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok(vec![1, 2, 3])
                        })
                        .unwrap();
                    assert_eq!(*b, vec![1, 2, 3]);
                });
            }
        });
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panic_while_making_fails_every_waiter_and_the_key_can_be_made_again() {
        let c = Cache::new(1 << 20);
        let started = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let maker = s.spawn(|| {
                c.get_or_make("k", || {
                    started.wait();
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    panic!("boom in a decoder")
                })
            });
            started.wait();
            // Waits on the slot the panicking maker holds.
            let waiter = c.get_or_make("k", || unreachable!("single flight"));
            let made = maker.join().expect("the panic stays inside get_or_make");
            for r in [made, waiter] {
                let e = r.expect_err("a panic is an error");
                assert!(matches!(&*e, Error::Bug(m) if m.contains("boom")), "{e}");
            }
        });
        assert_eq!(c.stats().panics, 1);
        assert_eq!(*c.get_or_make("k", || Ok(vec![1])).unwrap(), vec![1]);
    }

    #[test]
    fn errors_are_not_cached() {
        let c = Cache::new(100);
        let err = c.get_or_make("k", || Err(Error::NoSuch("boom".into())));
        assert!(matches!(err.as_ref().map_err(|e| &**e), Err(Error::NoSuch(m)) if m == "boom"));
        assert_eq!(*c.get_or_make("k", || Ok(vec![7])).unwrap(), vec![7]);
    }
}

/// Counters of the disk cache, for `/api/v1/status`.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DiskStats {
    /// Bytes of segment files held.
    pub bytes: u64,
    /// Byte limit.
    pub limit: u64,
    /// Files held.
    pub entries: usize,
    /// Segments read back from disk.
    pub hits: u64,
    /// Segments written.
    pub writes: u64,
    /// Writes or reads that failed (a full or vanished disk): the segment was served anyway.
    pub errors: u64,
    /// Files removed to stay under the limit.
    pub evictions: u64,
}

struct DiskInner {
    /// File name -> nothing: the files are the values.
    files: Lru<()>,
    stats: DiskStats,
}

/// Segments kept as files under one folder, least recently used out first. Each file starts
/// with its key and a newline, so a hash collision or a stray file is never served. The lock
/// guards the bookkeeping only: files are read and written outside it, so disk I/O runs in
/// parallel.
pub struct DiskCache {
    dir: std::path::PathBuf,
    inner: Mutex<DiskInner>,
    /// Makes each temporary file name unique, so two writers never share one.
    writes: AtomicU64,
}

fn file_name(key: &str) -> String {
    format!("{:016x}.seg", crate::digest::fnv1a(key.as_bytes()))
}

impl DiskCache {
    /// Opens (creating) the folder and takes stock of the segment files already there, oldest
    /// first.
    pub fn open(dir: &std::path::Path, limit: u64) -> std::io::Result<DiskCache> {
        std::fs::create_dir_all(dir)?;
        let mut found: Vec<(std::time::SystemTime, String, u64)> = Vec::new();
        for e in std::fs::read_dir(dir)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let (true, Ok(m)) = (name.ends_with(".seg"), e.metadata()) {
                found.push((m.modified().unwrap_or(std::time::UNIX_EPOCH), name, m.len()));
            }
        }
        found.sort();
        // Files already there count against the limit even past it: they go as new ones come.
        let mut files = Lru::new(u64::MAX);
        for (_, name, len) in found {
            files.insert(&name, (), len);
        }
        files.limit = limit;
        let stats = DiskStats {
            bytes: files.bytes,
            limit,
            entries: files.len(),
            ..Default::default()
        };
        Ok(DiskCache {
            dir: dir.to_owned(),
            inner: Mutex::new(DiskInner { files, stats }),
            writes: AtomicU64::new(0),
        })
    }

    /// The segment stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let name = file_name(key);
        self.inner
            .lock()
            .expect("disk cache lock")
            .files
            .get(&name)?;
        let data = std::fs::read(self.dir.join(&name));
        let mut g = self.inner.lock().expect("disk cache lock");
        match data {
            Ok(d) if d.starts_with(key.as_bytes()) && d.get(key.len()) == Some(&b'\n') => {
                g.stats.hits += 1;
                Some(d[key.len() + 1..].to_vec())
            }
            Ok(_) => None,
            // Evicted by another request between the look-up and the read, or removed by
            // someone else: a miss, and no longer held.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                g.files.remove(&name);
                g.stats.bytes = g.files.bytes;
                g.stats.entries = g.files.len();
                None
            }
            Err(_) => {
                g.stats.errors += 1;
                None
            }
        }
    }

    /// Stores a segment; failures are counted, never raised: the caller serves it anyway.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let name = file_name(key);
        let size = (key.len() + 1 + bytes.len()) as u64;
        if size > self.inner.lock().expect("disk cache lock").stats.limit {
            return;
        }
        let n = self.writes.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(format!("{name}.{n}.tmp"));
        let create = || std::fs::File::create(&tmp);
        // A folder deleted while serving is made again, and the cache goes on filling it.
        let file = create().or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir)?;
                create()
            }
            _ => Err(e),
        });
        let written = file.and_then(|mut f| {
            use std::io::Write;
            f.write_all(key.as_bytes())?;
            f.write_all(b"\n")?;
            f.write_all(bytes)
        });
        if written
            .and_then(|_| std::fs::rename(&tmp, self.dir.join(&name)))
            .is_err()
        {
            let _ = std::fs::remove_file(&tmp);
            self.inner.lock().expect("disk cache lock").stats.errors += 1;
            return;
        }
        let dropped = {
            let mut g = self.inner.lock().expect("disk cache lock");
            let dropped = g.files.insert(&name, (), size);
            g.stats.writes += 1;
            g.stats.evictions += dropped.len() as u64;
            g.stats.bytes = g.files.bytes;
            g.stats.entries = g.files.len();
            dropped
        };
        for (old, ()) in dropped {
            let _ = std::fs::remove_file(self.dir.join(old));
        }
    }

    /// Current counters.
    pub fn stats(&self) -> DiskStats {
        self.inner.lock().expect("disk cache lock").stats
    }
}

#[cfg(test)]
mod disk_tests {
    use super::*;

    #[test]
    fn segments_survive_a_reopen_and_the_oldest_go_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let d = DiskCache::open(dir.path(), 100).unwrap();
        d.put("a", &[1; 40]);
        d.put("b", &[2; 40]);
        assert_eq!(d.get("a").unwrap(), vec![1; 40]); // a is newer than b now
        d.put("c", &[3; 40]); // 3 x 42 > 100: b goes
        assert!(d.get("b").is_none());
        let again = DiskCache::open(dir.path(), 100).unwrap();
        assert_eq!(again.get("c").unwrap(), vec![3; 40]);
        assert_eq!(again.stats().entries, 2);
    }

    #[test]
    fn a_failing_disk_is_counted_not_raised() {
        let dir = tempfile::tempdir().unwrap();
        let d = DiskCache::open(&dir.path().join("cache"), 1 << 20).unwrap();
        std::fs::remove_dir_all(dir.path().join("cache")).unwrap();
        std::fs::write(dir.path().join("cache"), b"a file where the folder was").unwrap();
        d.put("k", b"segment");
        assert_eq!(d.stats().errors, 1);
        assert!(d.get("k").is_none());
    }
}
