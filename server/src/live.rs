//! Devices waiting for their spaces to change (live sync, protocol section 28), and the wake-ups
//! that end their waits.
//!
//! A wait registers the device under each space it may read; a push that stores something in a
//! space tells [`Notifier::changed`], which wakes the waits registered under it. Only what the
//! process holds for the waits open now: an entry goes when its last wait ends (no growth with the
//! spaces ever waited on), and nothing survives a restart, which is why a wait carries the device's
//! vectors and the relay compares them with what it holds before waiting (so a wake-up missed while
//! the relay was down costs nothing).
//!
//! Bounds: at most [`LiveLimits::per_device`] waits of one device at once (an app opens one; a few
//! allow for a restarting app whose old request has not yet been dropped) and
//! [`LiveLimits::total`] in all, each refused with its own reason. [`Live::close`] ends every wait
//! at once when the relay shuts down, and refuses new ones.
//!
//! With one relay process (SQLite) the in-process registry is the whole story. Several processes
//! over one PostgreSQL database need each push announced to every process: the exchange is given
//! two notifiers (a pair is one, [`Notifier`] for `(A, B)`), this registry and the node's PostgreSQL
//! fan-out (`postgres/fanout.rs`), which publishes the news with `NOTIFY` and, at every other
//! node, calls [`Live::changed`] of that node's registry with it. A node that may have missed news
//! (its listening connection was lost) calls [`Live::wake_all`] once it listens again: each wait
//! then looks at the store once more, which is exactly what its vectors are for. The exchange only
//! ever sees the trait.
//!
//! A wake-all costs a look at the store per wait, so those looks are bounded apart from the
//! requests: a wait woken by [`Live::wake_all`] first sleeps a random moment (up to
//! [`RECHECK_JITTER`], so the nodes and the waits do not all look at once) and then takes a turn
//! ([`Live::recheck_turn`]) of which only [`RECHECKS_AT_ONCE`] exist, so they never take more than
//! that many of the node's statement connections and blocking threads, and pushes and syncs go on
//! being answered meanwhile. The fan-out also wakes all at most once a second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sebaya_proto::{DeviceId, SpaceId};

/// Waits woken by [`Live::wake_all`] looking at the store at once, at most (the statement pool
/// holds 12 connections: pushes and syncs keep the rest).
pub const RECHECKS_AT_ONCE: usize = 2;
/// The longest random pause before a wait woken by [`Live::wake_all`] takes its turn.
pub const RECHECK_JITTER: Duration = Duration::from_millis(500);

/// Told when spaces hold new envelopes (or were erased), after the store committed them.
pub trait Notifier: Send + Sync {
    /// `spaces` changed by a request of `by` (whose own waits are not woken: it holds what it
    /// pushed).
    fn changed(&self, spaces: &[SpaceId], by: &DeviceId);

    /// Whether this notifier wants to know who was given each space (the relay's wake-ups do, to
    /// wake only such devices): only then does a pull note its reader (review finding F6: a relay
    /// that sends no wake-ups keeps no table of who reads what).
    fn notes_readers(&self) -> bool {
        false
    }
}

/// Both told, in turn: a node's own registry first, then the other nodes.
impl<A: Notifier + ?Sized, B: Notifier + ?Sized> Notifier for (&A, &B) {
    fn changed(&self, spaces: &[SpaceId], by: &DeviceId) {
        self.0.changed(spaces, by);
        self.1.changed(spaces, by);
    }

    fn notes_readers(&self) -> bool {
        self.0.notes_readers() || self.1.notes_readers()
    }
}

/// A notifier that tells no one (the exchange run outside a server: tests, tools).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Notifier for Silent {
    fn changed(&self, _spaces: &[SpaceId], _by: &DeviceId) {}
}

/// How many waits the relay holds at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveLimits {
    /// Per device.
    pub per_device: usize,
    /// In all.
    pub total: usize,
}

/// Default waits of one device at once.
pub const DEFAULT_WAITS_PER_DEVICE: usize = 4;
/// Default waits in all: each costs a connection and a few hundred bytes here, so the bound is the
/// file descriptors an operator grants the process more than memory.
pub const DEFAULT_WAITS_TOTAL: usize = 10_000;

impl Default for LiveLimits {
    fn default() -> LiveLimits {
        LiveLimits {
            per_device: DEFAULT_WAITS_PER_DEVICE,
            total: DEFAULT_WAITS_TOTAL,
        }
    }
}

/// Why a wait was not registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The device already holds [`LiveLimits::per_device`] waits.
    #[error("this device holds as many waits as it may")]
    DeviceFull,
    /// The relay already holds [`LiveLimits::total`] waits.
    #[error("the relay holds as many waits as it may")]
    RelayFull,
    /// The relay is shutting down.
    #[error("the relay is shutting down")]
    Closing,
}

/// One open wait: what woke it, and the signal that does.
#[derive(Debug)]
struct Waiter {
    id: u64,
    device: DeviceId,
    woken: Mutex<Woken>,
    signal: tokio::sync::Notify,
}

/// What woke a wait since it last looked.
#[derive(Debug, Default)]
struct Woken {
    spaces: Vec<SpaceId>,
    /// Every space of the wait ([`Live::wake_all`]).
    all: bool,
}

#[derive(Debug, Default)]
struct Inner {
    by_space: HashMap<SpaceId, Vec<Arc<Waiter>>>,
    per_device: HashMap<DeviceId, usize>,
    total: usize,
    closing: bool,
}

/// The waits open now. Shared by the handlers (which register) and the exchange (which wakes).
#[derive(Debug)]
pub struct Live {
    inner: Mutex<Inner>,
    limits: LiveLimits,
    next_id: AtomicU64,
    rechecks: tokio::sync::Semaphore,
}

impl Default for Live {
    fn default() -> Live {
        Live::new(LiveLimits::default())
    }
}

/// What ended a sleep of [`Wait::woken`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Woke {
    /// The spaces to look at again (empty when the relay is closing).
    pub spaces: Vec<SpaceId>,
    /// Woken by [`Live::wake_all`]: the look again should take a [`Live::recheck_turn`].
    pub everything: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update below leaves the maps whole before it can panic: a poisoned lock is taken over.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Live {
    /// A registry holding at most `limits`.
    pub fn new(limits: LiveLimits) -> Live {
        Live {
            inner: Mutex::default(),
            limits,
            next_id: AtomicU64::new(0),
            rechecks: tokio::sync::Semaphore::new(RECHECKS_AT_ONCE),
        }
    }

    /// A turn to look at the store again after [`Live::wake_all`]: at most [`RECHECKS_AT_ONCE`]
    /// are held at once, after a random pause of up to [`RECHECK_JITTER`]. `None` if the turns are
    /// closed (never: the semaphore is never closed).
    pub async fn recheck_turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        tokio::time::sleep(jitter()).await;
        self.rechecks.acquire().await.ok()
    }

    /// The bounds in force.
    pub fn limits(&self) -> LiveLimits {
        self.limits
    }

    /// Waits open now.
    pub fn waiting(&self) -> usize {
        lock(&self.inner).total
    }

    /// Spaces with at least one wait registered (what the registry holds entries for).
    pub fn spaces_watched(&self) -> usize {
        lock(&self.inner).by_space.len()
    }

    /// Registers a wait of `device` on `spaces`; it ends when the returned [`Wait`] is dropped.
    pub fn register(
        self: &Arc<Self>,
        device: DeviceId,
        spaces: &[SpaceId],
    ) -> Result<Wait, Refused> {
        let mut inner = lock(&self.inner);
        if inner.closing {
            return Err(Refused::Closing);
        }
        let mine = inner.per_device.get(&device).copied().unwrap_or(0);
        if mine >= self.limits.per_device {
            return Err(Refused::DeviceFull);
        }
        if inner.total >= self.limits.total {
            return Err(Refused::RelayFull);
        }
        let waiter = Arc::new(Waiter {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            device,
            woken: Mutex::default(),
            signal: tokio::sync::Notify::new(),
        });
        let mut spaces = spaces.to_vec();
        spaces.sort_unstable();
        spaces.dedup();
        for s in &spaces {
            inner.by_space.entry(*s).or_default().push(waiter.clone());
        }
        *inner.per_device.entry(device).or_default() += 1;
        inner.total += 1;
        Ok(Wait {
            live: self.clone(),
            waiter,
            spaces,
        })
    }

    /// Ends every wait now (they answer "nothing changed") and refuses new ones: the relay is
    /// shutting down, and a wait must not hold its connection open through the grace period.
    pub fn close(&self) {
        let mut inner = lock(&self.inner);
        inner.closing = true;
        for waiters in inner.by_space.values() {
            for w in waiters {
                w.signal.notify_one();
            }
        }
    }

    /// Wakes every open wait for all its spaces, whoever they belong to: news may have been missed
    /// (a node's listening connection was lost), and each wait looks at the store again. The
    /// registry's lock is held only to collect the waits, never while waking them. Returns how
    /// many were woken.
    pub fn wake_all(&self) -> usize {
        let all: Vec<Arc<Waiter>> = {
            let inner = lock(&self.inner);
            let mut seen = std::collections::HashSet::with_capacity(inner.total);
            inner
                .by_space
                .values()
                .flatten()
                .filter(|w| seen.insert(w.id))
                .cloned()
                .collect()
        };
        for w in &all {
            lock(&w.woken).all = true;
            w.signal.notify_one();
        }
        all.len()
    }

    /// Whether [`Live::close`] was called.
    pub fn is_closing(&self) -> bool {
        lock(&self.inner).closing
    }

    fn unregister(&self, waiter: &Waiter, spaces: &[SpaceId]) {
        let mut inner = lock(&self.inner);
        for s in spaces {
            if let Some(list) = inner.by_space.get_mut(s) {
                list.retain(|w| w.id != waiter.id);
                if list.is_empty() {
                    inner.by_space.remove(s);
                }
            }
        }
        if let Some(n) = inner.per_device.get_mut(&waiter.device) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.per_device.remove(&waiter.device);
            }
        }
        inner.total = inner.total.saturating_sub(1);
    }
}

impl Notifier for Live {
    fn changed(&self, spaces: &[SpaceId], by: &DeviceId) {
        let inner = lock(&self.inner);
        for s in spaces {
            for w in inner.by_space.get(s).into_iter().flatten() {
                if w.device == *by {
                    continue;
                }
                let mut woken = lock(&w.woken);
                if !woken.all && !woken.spaces.contains(s) {
                    woken.spaces.push(*s);
                }
                // A permit is kept if the wait is not yet asleep: no wake-up is lost.
                w.signal.notify_one();
            }
        }
    }
}

/// One registered wait. Dropping it unregisters it (and frees its spaces' entries when it was the
/// last wait on them).
#[derive(Debug)]
pub struct Wait {
    live: Arc<Live>,
    waiter: Arc<Waiter>,
    spaces: Vec<SpaceId>,
}

impl Wait {
    /// Sleeps until a space of this wait changed or the relay closes, then returns the spaces that
    /// changed since the last call (all of the wait's after [`Live::wake_all`], which it says;
    /// empty when closing). Cancel-safe: use it under a timeout.
    pub async fn woken(&self) -> Woke {
        loop {
            let taken = std::mem::take(&mut *lock(&self.waiter.woken));
            if taken.all {
                return Woke {
                    spaces: self.spaces.clone(),
                    everything: true,
                };
            }
            if !taken.spaces.is_empty() || self.live.is_closing() {
                return Woke {
                    spaces: taken.spaces,
                    everything: false,
                };
            }
            self.waiter.signal.notified().await;
        }
    }
}

/// A random pause of up to [`RECHECK_JITTER`] (none if the system's randomness fails: the turns
/// still bound the looks).
fn jitter() -> Duration {
    let mut b = [0u8; 2];
    match ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b) {
        Ok(()) => RECHECK_JITTER.mul_f64(f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)),
        Err(_) => Duration::ZERO,
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.live.unregister(&self.waiter, &self.spaces);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::time::Duration;

    fn dev(b: u8) -> DeviceId {
        DeviceId([b; 32])
    }

    #[tokio::test]
    async fn a_change_wakes_the_waits_on_its_space_but_not_its_pushers() {
        let live = Arc::new(Live::new(LiveLimits::default()));
        let (a, b) = (SpaceId([1; 16]), SpaceId([2; 16]));
        let on_a = live.register(dev(1), &[a, b]).unwrap();
        let pusher = live.register(dev(2), &[a]).unwrap();
        live.changed(&[a], &dev(2));
        let got = tokio::time::timeout(Duration::from_secs(10), on_a.woken())
            .await
            .unwrap();
        assert_eq!(
            got,
            Woke {
                spaces: vec![a],
                everything: false
            }
        );
        // The pusher's own wait was not woken.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), pusher.woken())
                .await
                .is_err()
        );
    }

    #[test]
    fn entries_go_with_the_last_wait_and_the_bounds_refuse_with_their_reason() {
        let live = Arc::new(Live::new(LiveLimits {
            per_device: 2,
            total: 3,
        }));
        let s = SpaceId([1; 16]);
        let w1 = live.register(dev(1), &[s]).unwrap();
        let w2 = live.register(dev(1), &[s]).unwrap();
        assert_eq!(
            live.register(dev(1), &[s]).unwrap_err(),
            Refused::DeviceFull
        );
        let w3 = live.register(dev(2), &[SpaceId([2; 16])]).unwrap();
        assert_eq!(live.register(dev(3), &[s]).unwrap_err(), Refused::RelayFull);
        assert_eq!((live.waiting(), live.spaces_watched()), (3, 2));
        drop((w1, w2, w3));
        assert_eq!((live.waiting(), live.spaces_watched()), (0, 0));
        assert!(live.register(dev(1), &[s]).is_ok());
    }

    #[tokio::test]
    async fn waking_all_wakes_every_wait_for_all_its_spaces_the_pushers_too() {
        let live = Arc::new(Live::new(LiveLimits::default()));
        let (a, b, c) = (SpaceId([1; 16]), SpaceId([2; 16]), SpaceId([3; 16]));
        let one = live.register(dev(1), &[b, a]).unwrap();
        let two = live.register(dev(2), &[c]).unwrap();
        live.changed(&[a], &dev(2));
        // Each wait once, however many spaces it is registered under.
        assert_eq!(live.wake_all(), 2);
        let within = Duration::from_secs(10);
        let got = tokio::time::timeout(within, one.woken()).await.unwrap();
        assert_eq!((got.spaces, got.everything), (vec![a, b], true));
        let got = tokio::time::timeout(within, two.woken()).await.unwrap();
        assert_eq!((got.spaces, got.everything), (vec![c], true));
        // Once: the next look sleeps again.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), one.woken())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn recheck_turns_are_bounded() {
        let live = Live::default();
        let mut held = Vec::new();
        for _ in 0..RECHECKS_AT_ONCE {
            let turn = tokio::time::timeout(Duration::from_secs(10), live.recheck_turn()).await;
            held.push(turn.unwrap().unwrap());
        }
        // One more waits for a turn given back.
        assert!(
            tokio::time::timeout(RECHECK_JITTER * 2, live.recheck_turn())
                .await
                .is_err()
        );
        held.pop();
        let more = tokio::time::timeout(Duration::from_secs(10), live.recheck_turn()).await;
        assert!(more.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_pair_of_notifiers_tells_both() {
        let (here, there) = (
            Arc::new(Live::new(LiveLimits::default())),
            Arc::new(Live::new(LiveLimits::default())),
        );
        let s = SpaceId([1; 16]);
        let (w1, w2) = (
            here.register(dev(1), &[s]).unwrap(),
            there.register(dev(1), &[s]).unwrap(),
        );
        (here.as_ref(), there.as_ref()).changed(&[s], &dev(2));
        let within = Duration::from_secs(10);
        assert_eq!(
            tokio::time::timeout(within, w1.woken())
                .await
                .unwrap()
                .spaces,
            vec![s]
        );
        assert_eq!(
            tokio::time::timeout(within, w2.woken())
                .await
                .unwrap()
                .spaces,
            vec![s]
        );
    }

    #[tokio::test]
    async fn closing_ends_open_waits_and_refuses_new_ones() {
        let live = Arc::new(Live::new(LiveLimits::default()));
        let w = live.register(dev(1), &[SpaceId([1; 16])]).unwrap();
        live.close();
        let got = tokio::time::timeout(Duration::from_secs(10), w.woken())
            .await
            .unwrap();
        assert!(got.spaces.is_empty() && !got.everything);
        assert_eq!(
            live.register(dev(1), &[SpaceId([1; 16])]).unwrap_err(),
            Refused::Closing
        );
    }
}
