//! Admission control for transcodes: a fixed number run at once (sized to the machine), the
//! segment a client is waiting for goes before any prefetch, and a request that would wait past
//! its deadline is refused (503 with Retry-After) rather than left hanging.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How busy the transcode slots are, for `/api/v1/status` and `/metrics`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Queue {
    /// Transcodes that may run at once.
    pub slots: usize,
    /// Transcodes running now.
    pub running: usize,
    /// Requests waiting for a slot.
    pub waiting: usize,
    /// Requests refused after waiting past the deadline.
    pub refused: u64,
}

/// The transcode slots.
pub struct Admission {
    state: Mutex<Queue>,
    freed: Condvar,
}

/// A slot held while a transcode runs; given back when dropped.
pub struct Permit<'a>(&'a Admission);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut q = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        q.running -= 1;
        drop(q);
        self.0.freed.notify_all();
    }
}

impl Admission {
    /// `slots` transcodes at once (at least one).
    pub fn new(slots: usize) -> Admission {
        Admission {
            state: Mutex::new(Queue {
                slots: slots.max(1),
                ..Default::default()
            }),
            freed: Condvar::new(),
        }
    }

    /// A slot for work a client is waiting for: as soon as one is free, or `None` once
    /// `deadline` has passed.
    pub fn acquire(&self, deadline: Duration) -> Option<Permit<'_>> {
        let mut q = self.state.lock().unwrap_or_else(|e| e.into_inner());
        q.waiting += 1;
        let mut q = self.wait(q, deadline, |q| q.running >= q.slots);
        q.waiting -= 1;
        if q.running >= q.slots {
            q.refused += 1;
            return None;
        }
        q.running += 1;
        Some(Permit(self))
    }

    /// Waits until `busy` is false or `deadline` has passed (condition variables wake
    /// spuriously: the predicate is checked again each time).
    fn wait<'a>(
        &self,
        q: MutexGuard<'a, Queue>,
        deadline: Duration,
        busy: impl FnMut(&mut Queue) -> bool,
    ) -> MutexGuard<'a, Queue> {
        self.freed
            .wait_timeout_while(q, deadline, busy)
            .unwrap_or_else(|e| e.into_inner())
            .0
    }

    /// A slot for work nobody waits for yet (prefetch): only when one is free and no client
    /// is waiting for one; `None` if that doesn't happen before `deadline`.
    pub fn acquire_background(&self, deadline: Duration) -> Option<Permit<'_>> {
        let q = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let busy = |q: &mut Queue| q.running >= q.slots || q.waiting > 0;
        let mut q = self.wait(q, deadline, busy);
        if busy(&mut q) {
            return None;
        }
        q.running += 1;
        Some(Permit(self))
    }

    /// The slots' state now.
    pub fn queue(&self) -> Queue {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Segment requests in flight per client address, and in all, bounded: one client (a
/// misbehaving app, a script) can't queue up the whole server's work, and all of them together
/// can't queue more than the server will ever get to.
pub struct ClientLimits {
    per_client: usize,
    in_all: usize,
    in_flight: Mutex<HashMap<IpAddr, usize>>,
    refused: AtomicU64,
}

/// A client's place among its in-flight requests; given back when dropped.
pub struct ClientTicket {
    limits: Arc<ClientLimits>,
    ip: IpAddr,
}

impl Drop for ClientTicket {
    fn drop(&mut self) {
        let mut m = self
            .limits
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

impl ClientLimits {
    /// At most `per_client` segment requests in flight per address (at least one), and
    /// `in_all` in all.
    pub fn new(per_client: usize, in_all: usize) -> Arc<ClientLimits> {
        Arc::new(ClientLimits {
            per_client: per_client.max(1),
            in_all: in_all.max(1),
            in_flight: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        })
    }

    /// A ticket for one more request from `ip`, or `None` when it (or the server) has its
    /// limit in flight.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ClientTicket> {
        let mut m = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = m.values().sum();
        let n = m.entry(ip).or_insert(0);
        if *n >= self.per_client || total >= self.in_all {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *n += 1;
        Some(ClientTicket {
            limits: self.clone(),
            ip,
        })
    }

    /// Requests refused for going past the limit.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_than_the_slots_run_and_prefetch_yields_to_a_waiting_client() {
        let a = Admission::new(1);
        let first = a.acquire(Duration::from_secs(1)).expect("a free slot");
        assert!(
            a.acquire_background(Duration::ZERO).is_none(),
            "no slot free"
        );
        std::thread::scope(|s| {
            // The waiter keeps its slot until the end of the scope.
            let waiter = s.spawn(|| a.acquire(Duration::from_secs(5)));
            while a.queue().waiting == 0 {
                std::thread::yield_now();
            }
            drop(first);
            // The slot is free, but a client waits for it (or already has it): prefetch does
            // not take it.
            assert!(a.acquire_background(Duration::ZERO).is_none());
            assert!(waiter.join().unwrap().is_some());
        });
        assert_eq!(a.queue().running, 0);
        assert!(a.acquire_background(Duration::ZERO).is_some());
    }

    #[test]
    fn a_request_that_would_wait_past_its_deadline_is_refused() {
        let a = Admission::new(1);
        let _busy = a.acquire(Duration::ZERO).unwrap();
        assert!(a.acquire(Duration::from_millis(50)).is_none());
        let q = a.queue();
        assert_eq!((q.running, q.waiting, q.refused), (1, 0, 1));
    }

    #[test]
    fn a_client_has_at_most_its_limit_in_flight_and_others_are_not_held_back() {
        let limits = ClientLimits::new(2, 3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = limits.admit(a).unwrap();
        let _second = limits.admit(a).unwrap();
        assert!(limits.admit(a).is_none());
        assert!(limits.admit(b).is_some(), "another client is not held back");
        drop(first);
        assert!(
            limits.admit(a).is_some(),
            "a finished request frees its place"
        );
        assert_eq!(limits.refused(), 1);
    }
}
