//! The segment cache: least recently used entries out first, bounded in bytes, and a request
//! for something being made right now waits for it instead of making it again.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

/// Counters for `/api/v1/status`.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
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
}

struct Inner {
    map: HashMap<String, (Arc<Vec<u8>>, u64)>,
    clock: u64,
    stats: CacheStats,
    making: HashMap<String, (Arc<Slot>, std::time::Instant)>,
}

/// A result being made: the waiters sleep on the condition variable.
struct Slot {
    done: Mutex<Option<Result<Arc<Vec<u8>>, String>>>,
    ready: Condvar,
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
                map: HashMap::new(),
                clock: 0,
                stats: CacheStats {
                    limit,
                    ..Default::default()
                },
                making: HashMap::new(),
            }),
        }
    }

    /// The cached bytes for `key`, or the result of `make` (run once however many ask at once).
    pub fn get_or_make(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Arc<Vec<u8>>, String> {
        let slot = {
            let mut g = self.inner.lock().expect("cache lock");
            g.clock += 1;
            let now = g.clock;
            if let Some((bytes, used)) = g.map.get_mut(key) {
                *used = now;
                let bytes = bytes.clone();
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
        let result = make().map(Arc::new);
        {
            let mut g = self.inner.lock().expect("cache lock");
            g.making.remove(key);
            if let Ok(bytes) = &result {
                self.insert(&mut g, key, bytes.clone());
            }
        }
        *slot.done.lock().expect("slot lock") = Some(result.clone());
        slot.ready.notify_all();
        result
    }

    fn insert(&self, g: &mut Inner, key: &str, bytes: Arc<Vec<u8>>) {
        let size = bytes.len() as u64;
        if size > g.stats.limit {
            return;
        }
        g.clock += 1;
        let now = g.clock;
        if let Some((old, _)) = g.map.insert(key.to_owned(), (bytes, now)) {
            g.stats.bytes -= old.len() as u64;
        }
        g.stats.bytes += size;
        while g.stats.bytes > g.stats.limit {
            let oldest = g
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            let Some(k) = oldest else { break };
            if let Some((old, _)) = g.map.remove(&k) {
                g.stats.bytes -= old.len() as u64;
                g.stats.evictions += 1;
            }
        }
        g.stats.entries = g.map.len();
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        let g = self.inner.lock().expect("cache lock");
        CacheStats {
            entries: g.map.len(),
            ..g.stats
        }
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
        assert!(c.get_or_make("b", || Err("made again".into())).is_err());
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
    fn errors_are_not_cached() {
        let c = Cache::new(100);
        assert!(c.get_or_make("k", || Err("boom".into())).is_err());
        assert_eq!(*c.get_or_make("k", || Ok(vec![7])).unwrap(), vec![7]);
    }
}

/// Counters of the disk cache, for `/api/v1/status`.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
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
    // file name -> (size, last use)
    files: HashMap<String, (u64, u64)>,
    clock: u64,
    stats: DiskStats,
}

/// Segments kept as files under one folder, least recently used out first. Each file starts
/// with its key and a newline, so a hash collision or a stray file is never served.
pub struct DiskCache {
    dir: std::path::PathBuf,
    inner: Mutex<DiskInner>,
}

/// FNV-1a 64 of a key: segment file names here, ETags in the server.
pub(crate) fn fnv1a(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn file_name(key: &str) -> String {
    format!("{:016x}.seg", fnv1a(key))
}

impl DiskCache {
    /// Opens (creating) the folder and takes stock of the segment files already there.
    pub fn open(dir: &std::path::Path, limit: u64) -> std::io::Result<DiskCache> {
        std::fs::create_dir_all(dir)?;
        let mut files = HashMap::new();
        let mut bytes = 0;
        let mut found: Vec<(std::time::SystemTime, String, u64)> = Vec::new();
        for e in std::fs::read_dir(dir)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let (true, Ok(m)) = (name.ends_with(".seg"), e.metadata()) {
                found.push((m.modified().unwrap_or(std::time::UNIX_EPOCH), name, m.len()));
            }
        }
        found.sort();
        for (clock, (_, name, len)) in found.into_iter().enumerate() {
            bytes += len;
            files.insert(name, (len, clock as u64));
        }
        let clock = files.len() as u64;
        let entries = files.len();
        Ok(DiskCache {
            dir: dir.to_owned(),
            inner: Mutex::new(DiskInner {
                files,
                clock,
                stats: DiskStats {
                    bytes,
                    limit,
                    entries,
                    ..Default::default()
                },
            }),
        })
    }

    /// The segment stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let name = file_name(key);
        let mut g = self.inner.lock().expect("disk cache lock");
        g.files.get(&name)?;
        let data = std::fs::read(self.dir.join(&name));
        match data {
            Ok(d) if d.starts_with(key.as_bytes()) && d.get(key.len()) == Some(&b'\n') => {
                g.clock += 1;
                let now = g.clock;
                if let Some(f) = g.files.get_mut(&name) {
                    f.1 = now;
                }
                g.stats.hits += 1;
                Some(d[key.len() + 1..].to_vec())
            }
            Ok(_) => None,
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
        let mut g = self.inner.lock().expect("disk cache lock");
        if size > g.stats.limit {
            return;
        }
        let tmp = self.dir.join(format!("{name}.tmp"));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
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
            g.stats.errors += 1;
            return;
        }
        g.clock += 1;
        let now = g.clock;
        if let Some((old, _)) = g.files.insert(name, (size, now)) {
            g.stats.bytes -= old;
        }
        g.stats.bytes += size;
        g.stats.writes += 1;
        while g.stats.bytes > g.stats.limit {
            let Some(oldest) = g
                .files
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((len, _)) = g.files.remove(&oldest) {
                let _ = std::fs::remove_file(self.dir.join(&oldest));
                g.stats.bytes -= len;
                g.stats.evictions += 1;
            }
        }
        g.stats.entries = g.files.len();
    }

    /// Current counters.
    pub fn stats(&self) -> DiskStats {
        let g = self.inner.lock().expect("disk cache lock");
        DiskStats {
            entries: g.files.len(),
            ..g.stats
        }
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
