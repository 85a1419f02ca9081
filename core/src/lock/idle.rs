//! Auto-lock: the core keeps the time of the person's last activity and says when the app should
//! lock; the app (its `VaultLifecycle` glue) locks. Time is always passed in, so tests fix it.

/// The last activity and the timeout after which the app locks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdleTimer {
    timeout_ms: i64,
    last_ms: Option<i64>,
}

impl IdleTimer {
    /// A timer that locks after `timeout_secs` without activity (0: never by time).
    pub fn new(timeout_secs: u32) -> IdleTimer {
        IdleTimer {
            timeout_ms: i64::from(timeout_secs) * 1000,
            last_ms: None,
        }
    }

    /// Changes the timeout (the last activity is kept).
    pub fn set_timeout(&mut self, timeout_secs: u32) {
        self.timeout_ms = i64::from(timeout_secs) * 1000;
    }

    /// The person did something at `now_ms` (a tap, a screen shown, a vault call).
    pub fn touch(&mut self, now_ms: i64) {
        self.last_ms = Some(now_ms);
    }

    /// Whether the app should lock at `now_ms`: the timeout has passed since the last activity, or
    /// the clock went back before it (the time since is then unknown, so locking is the safe
    /// answer). Never true with a timeout of 0 or before any activity was noted.
    pub fn should_lock(&self, now_ms: i64) -> bool {
        match self.last_ms {
            Some(_) if self.timeout_ms == 0 => false,
            Some(last) => now_ms < last || now_ms.saturating_sub(last) >= self.timeout_ms,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_timeout_and_when_the_clock_goes_back() {
        let mut t = IdleTimer::new(60);
        assert!(!t.should_lock(1_000), "no activity yet: nothing to lock");
        t.touch(1_000);
        assert!(!t.should_lock(60_999));
        assert!(t.should_lock(61_000));
        t.touch(61_000);
        assert!(!t.should_lock(61_500));
        assert!(t.should_lock(60_000), "the clock went back");
        t.set_timeout(0);
        assert!(!t.should_lock(10_000_000));
    }
}
