//! Segments prepared ahead of a player: the next ones of the rendition it is playing, on a small
//! pool of their own, dropped when nobody watches that position any more.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::segments::{Loaded, Waiting};
use super::status::JobInfo;
use super::State;
use crate::hls;
use crate::segment::SegmentId;

/// How many segments past the one asked for are prepared, and how many wait at most.
const PREFETCH_AHEAD: usize = 2;
const PREFETCH_QUEUE: usize = 32;

/// The queue of segments to prepare, and where each rendition is being watched.
#[derive(Default)]
pub struct Prefetch {
    queue: Mutex<VecDeque<Ahead>>,
    ready: Condvar,
    /// The segment each (video, rendition) was last asked for: where it is being watched
    /// (-1: its master was just asked for, segment 0 is next).
    watched: Mutex<HashMap<(i64, String), i64>>,
}

/// One segment to prepare.
struct Ahead {
    video: i64,
    rendition: String,
    n: usize,
    loaded: Arc<Loaded>,
}

/// How long a prefetch waits for a free slot before giving up on its segment.
const SLOT_WAIT: Duration = Duration::from_secs(30);

impl State {
    /// Whether a queued segment is still ahead of where its rendition is watched (and not too
    /// far ahead).
    fn still_ahead(&self, job: &Ahead) -> bool {
        let at = self
            .prefetch
            .watched
            .lock()
            .expect("lock")
            .get(&(job.video, job.rendition.clone()))
            .copied();
        let n = job.n as i64;
        at.is_some_and(|at| n > at && n <= at + PREFETCH_AHEAD as i64)
    }

    /// Notes that segment `n` of a rendition was asked for, and queues the next ones.
    pub(super) fn watch(&self, video: i64, rid: &str, n: usize, loaded: &Arc<Loaded>) {
        self.prefetch
            .watched
            .lock()
            .expect("lock")
            .insert((video, rid.to_owned()), n as i64);
        let mut q = self.prefetch.queue.lock().expect("lock");
        let end = (n + PREFETCH_AHEAD).min(segment_count(loaded, rid) - 1) + 1;
        enqueue(&mut q, video, rid, n + 1..end, loaded);
        self.prefetch.ready.notify_all();
    }

    /// Queues the first segment of where a player will start (the master's first variant and
    /// its default audio), when a video's master is asked for: the player asks for them a few
    /// round trips later (media playlists, inits), and a transcoded one (the AAC of an AC-3
    /// film) is under way or ready by then. A rendition already being watched is left alone.
    pub(super) fn prefetch_start(&self, video: i64, loaded: &Arc<Loaded>) {
        let (v, a) = hls::first_variant(&loaded.pres);
        let ids: Vec<&str> = [v, a]
            .into_iter()
            .flatten()
            .map(|r| r.id.as_str())
            .collect();
        self.prefetch_at(video, &ids, (0, 1), loaded, false);
    }

    /// Queues segments `n` and on (`count` of them, at most [`PREFETCH_AHEAD`]) of these
    /// renditions, as about to be watched (`again`: even where they are watched already, as a
    /// channel's programme is on every loop).
    pub(super) fn prefetch_at(
        &self,
        video: i64,
        renditions: &[&str],
        (n, count): (usize, usize),
        loaded: &Arc<Loaded>,
        again: bool,
    ) {
        let mut q = self.prefetch.queue.lock().expect("lock");
        for &rid in renditions {
            let last = segment_count(loaded, rid).saturating_sub(1);
            let mut watched = self.prefetch.watched.lock().expect("lock");
            let key = (video, rid.to_owned());
            if !again && watched.contains_key(&key) {
                continue;
            }
            watched.insert(key, n as i64 - 1);
            let end = (n + count.min(PREFETCH_AHEAD)).min(last + 1);
            enqueue(&mut q, video, rid, n..end, loaded);
        }
        self.prefetch.ready.notify_all();
    }

    /// A prefetch worker: prepares queued segments while they are still ahead of where their
    /// rendition is watched; work for a position nobody watches any more is dropped.
    pub fn prefetch_worker(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let job = {
                let q = self.prefetch.queue.lock().expect("lock");
                let (mut q, _) = self
                    .prefetch
                    .ready
                    .wait_timeout_while(q, Duration::from_millis(200), |q| q.is_empty())
                    .expect("lock");
                q.pop_front()
            };
            let Some(job) = job else { continue };
            let Ok(r) = job.loaded.pres.rendition(&job.rendition) else {
                continue;
            };
            let file = hls::segment_name(r, job.n);
            let key = self.segment_key(job.video, &job.rendition, &file, &job.loaded);
            if !self.still_ahead(&job) || self.cache.contains(&key) {
                continue;
            }
            // Wait for a slot no client wants, then check the segment is still ahead.
            let _slot = match self.slots(Some(&r.method)).acquire_background(SLOT_WAIT) {
                Some(slot) if self.still_ahead(&job) => slot,
                _ => continue,
            };
            let info = JobInfo {
                video: job.video,
                rendition: job.rendition.clone(),
                file,
                ..Default::default()
            };
            let _ = self.cache.get_or_make(&key, || {
                let n = SegmentId::Media(job.n);
                self.make_segment(&key, info, &job.loaded, n, Waiting::Prefetch)
            });
        }
    }
}

/// Queues segments `range` of a rendition, the oldest queued work giving way past
/// [`PREFETCH_QUEUE`].
fn enqueue(
    q: &mut VecDeque<Ahead>,
    video: i64,
    rid: &str,
    range: std::ops::Range<usize>,
    loaded: &Arc<Loaded>,
) {
    for n in range {
        if q.len() >= PREFETCH_QUEUE {
            q.pop_front();
        }
        q.push_back(Ahead {
            video,
            rendition: rid.to_owned(),
            n,
            loaded: loaded.clone(),
        });
    }
}

/// How many segments rendition `rid` of a loaded video has (its rung timeline's, or the
/// keyframe timeline's).
fn segment_count(loaded: &Loaded, rid: &str) -> usize {
    let pres = &loaded.pres;
    pres.rendition(rid)
        .map_or(pres.timeline.len(), |r| pres.timeline_of(r).len())
}
