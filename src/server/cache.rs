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
    making: HashMap<String, Arc<Slot>>,
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
            if let Some(slot) = g.making.get(key) {
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
            g.making.insert(key.to_owned(), slot.clone());
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

    /// Keys being made right now (live jobs).
    pub fn making(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .inner
            .lock()
            .expect("cache lock")
            .making
            .keys()
            .cloned()
            .collect();
        v.sort();
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
