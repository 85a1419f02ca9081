//! A per-device-token rate limit: at most a set number of wake-ups per token per minute, so that a
//! relay (or a stolen relay key) cannot turn the gateway into a way to flood one phone or to spend
//! the publisher's provider quota on it. Tokens are kept as SHA-256 digests, in memory only, and the
//! table is bounded: when it is full, windows that have ended are dropped, and if none has, a new
//! token is refused until one ends (the gateway answers 503, which the relay waits out).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one window lasts.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The most tokens tracked at once.
pub const MAX_TRACKED: usize = 100_000;

/// Why a wake-up was not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// This token has had its wake-ups this window; it may again after this long. About one phone.
    OverLimit(Duration),
    /// The table tracks as many tokens as it may, all within their windows: gateway-wide
    /// (review G8), so never answered as if about one token.
    Full,
}

/// The limiter.
#[derive(Debug)]
pub struct Limiter {
    per_window: u32,
    max_tracked: usize,
    windows: Mutex<HashMap<[u8; 32], (Instant, u32)>>,
}

impl Limiter {
    /// At most `per_window` wake-ups per token per [`WINDOW`] (0 turns the limit off).
    pub fn new(per_window: u32) -> Self {
        Self::with_capacity(per_window, MAX_TRACKED)
    }

    /// As [`Limiter::new`], tracking at most `max_tracked` tokens.
    pub fn with_capacity(per_window: u32, max_tracked: usize) -> Self {
        Self {
            per_window,
            max_tracked,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one wake-up for `token` at `now`: `Ok` if it may go, or why not.
    pub fn check(&self, token: &str, now: Instant) -> Result<(), Refused> {
        if self.per_window == 0 {
            return Ok(());
        }
        let key: [u8; 32] = {
            let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
            let mut k = [0u8; 32];
            k.copy_from_slice(d.as_ref());
            k
        };
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !windows.contains_key(&key) && windows.len() >= self.max_tracked {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if windows.len() >= self.max_tracked {
                return Err(Refused::Full);
            }
        }
        let entry = windows.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_window {
            return Err(Refused::OverLimit(
                WINDOW.saturating_sub(now.duration_since(entry.0)),
            ));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// How many provider requests one relay key may have open at once (review G2): a share of the
/// gateway's bound, so that one relay, or a stranger's key, cannot hold every slot.
#[derive(Debug)]
pub struct KeyShare {
    most: usize,
    held: Mutex<HashMap<[u8; 65], usize>>,
}

/// One request's place in its key's share, given back when dropped.
#[derive(Debug)]
pub struct ShareGuard<'a> {
    share: &'a KeyShare,
    key: [u8; 65],
}

impl KeyShare {
    /// At most `most` requests open per key (at least 1).
    pub fn new(most: usize) -> Self {
        Self {
            most: most.max(1),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more request of `key`, if its share is not used up.
    pub fn take(&self, key: [u8; 65]) -> Option<ShareGuard<'_>> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = held.entry(key).or_insert(0);
        if *n >= self.most {
            return None;
        }
        *n += 1;
        Some(ShareGuard { share: self, key })
    }
}

impl Drop for ShareGuard<'_> {
    fn drop(&mut self) {
        let mut held = self
            .share
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}
