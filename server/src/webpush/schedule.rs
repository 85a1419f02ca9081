//! When each wake-up leaves: at most one per recipient per interval (coalesced: pushes that come
//! while one is pending ride on it), each after its own random delay (jitter), so that the members of
//! one group, woken by one push, do not reach the push service together and so do not show it who
//! shares a group. Sans-I/O: the caller gives the time and the random numbers, so the tests can fix
//! both; the sender asks what is due and sleeps until [`WakeSchedule::next_due`].

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

/// Default least time between two wake-ups of one recipient (milliseconds).
pub const DEFAULT_INTERVAL_MS: u64 = 60_000;
/// Default largest random delay added to each wake-up (milliseconds).
pub const DEFAULT_JITTER_MS: u64 = 15_000;

/// What became of one wish to wake a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduled {
    /// A wake-up will leave at this time (milliseconds, the caller's clock).
    At(u64),
    /// One is pending already; this wish rides on it.
    Coalesced,
    /// The schedule holds as many recipients as it may; this wish is dropped (the device syncs when
    /// it next opens, as without wake-ups).
    Full,
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    last_sent_ms: Option<u64>,
    due_ms: Option<u64>,
}

/// The pending and recent wake-ups, keyed by recipient (`K`: whatever names a subscription).
pub struct WakeSchedule<K> {
    interval_ms: u64,
    jitter_ms: u64,
    max_entries: usize,
    entries: HashMap<K, Entry>,
    /// (due, recipient) of every pending wake-up, in time order.
    pending: BTreeSet<(u64, K)>,
}

impl<K: Eq + Hash + Ord + Clone> WakeSchedule<K> {
    /// A schedule that wakes each recipient at most once per `interval_ms`, each after a delay drawn
    /// from `0..=jitter_ms`, and remembers at most `max_entries` recipients (pending, or woken within
    /// the interval).
    pub fn new(interval_ms: u64, jitter_ms: u64, max_entries: usize) -> Self {
        Self {
            interval_ms,
            jitter_ms,
            max_entries,
            entries: HashMap::new(),
            pending: BTreeSet::new(),
        }
    }

    /// A push at `now_ms` wants `key` woken. `random` is a uniformly random number the caller drew
    /// (the delay is taken from it).
    pub fn wake(&mut self, key: K, now_ms: u64, random: u64) -> Scheduled {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.max_entries {
            self.forget_idle(now_ms);
            if self.entries.len() >= self.max_entries {
                return Scheduled::Full;
            }
        }
        let entry = self.entries.entry(key.clone()).or_default();
        if entry.due_ms.is_some() {
            return Scheduled::Coalesced;
        }
        let earliest = match entry.last_sent_ms {
            Some(last) => now_ms.max(last.saturating_add(self.interval_ms)),
            None => now_ms,
        };
        let delay = random
            .checked_rem(self.jitter_ms.saturating_add(1))
            .unwrap_or(0);
        let due = earliest.saturating_add(delay);
        entry.due_ms = Some(due);
        self.pending.insert((due, key));
        Scheduled::At(due)
    }

    /// The recipients whose wake-up is due at `now_ms`, in time order; each counts as woken now.
    pub fn due(&mut self, now_ms: u64) -> Vec<K> {
        let mut out = Vec::new();
        while let Some((due, _)) = self.pending.first() {
            if *due > now_ms {
                break;
            }
            let Some((_, key)) = self.pending.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.due_ms = None;
                entry.last_sent_ms = Some(now_ms);
            }
            out.push(key);
        }
        out
    }

    /// When the next wake-up is due, if any is pending: how long the sender may sleep.
    pub fn next_due(&self) -> Option<u64> {
        self.pending.first().map(|(due, _)| *due)
    }

    /// Forgets `key` entirely (its subscription was removed, or the push service said it is gone).
    pub fn remove(&mut self, key: &K) {
        if let Some(entry) = self.entries.remove(key)
            && let Some(due) = entry.due_ms
        {
            self.pending.remove(&(due, key.clone()));
        }
    }

    /// Forgets the recipients with nothing pending whose last wake-up is an interval old or more:
    /// waking them again would not wait for it anyway, so remembering them changes nothing.
    pub fn forget_idle(&mut self, now_ms: u64) {
        let interval = self.interval_ms;
        self.entries.retain(|_, e| {
            e.due_ms.is_some()
                || e.last_sent_ms
                    .is_some_and(|last| now_ms < last.saturating_add(interval))
        });
    }

    /// How many recipients are remembered (pending or recently woken).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
