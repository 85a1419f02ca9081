//! Live sync (issue 16, item 2; protocol section 28): while the app is open, the device waits at the
//! relay for its spaces to change, syncs just the spaces that did, and waits again — so a referral
//! reaches an open app within a moment instead of at the next periodic sync.
//!
//! Sans-I/O like the rest of sync: [`LiveLoop`] says what to do next (sync, wait, pause) and takes
//! what happened; [`Vault::live_wait_request`] and [`Vault::live_wait_answer`] build and read a
//! wait; [`Vault::sync_spaces_begin`] starts a sync of some spaces only. Whoever drives them does
//! the I/O: [`Vault::live_with`] here (the vault held throughout), the FFI's live session with
//! the vault released while the network waits. A wait goes through the same [`HttpClient`] as sync:
//! [`send_stoppable`] runs it on a thread of its own, so a [`SyncStop`] ends the loop at once
//! instead of after the wait's timeout (a wait changes nothing at the relay: abandoning its answer
//! loses nothing).
//!
//! Errors never end the loop, only a stop does: after a failure it pauses (growing, with jitter)
//! and starts again with a full sync, which relearns the relay's id and clock and picks up anything
//! a missed wake-up left behind.

use std::sync::Arc;
use std::time::Duration;

use sebaya_proto::SpaceId;
use sebaya_proto::live::{MAX_WAIT_MS, WAIT_PATH, WAIT_VERSION, WaitRequest, WaitResponse};
use sebaya_proto::sync::{self as wire, MAX_AUTHORS, MAX_SPACES, SpaceVector};

use super::relay::{HttpClient, HttpRequest, HttpResponse, RelaySync, SyncReport};
use super::stop::SyncStop;
use crate::Vault;
use crate::crypto;
use crate::error::{Error, Result};

/// How long a wait asks the relay to hold it by default, ms: the relay's bound.
pub const DEFAULT_WAIT_MS: u64 = MAX_WAIT_MS;
/// First pause after a failure, ms; it doubles with each failure in a row up to [`MAX_PAUSE_MS`].
const FIRST_PAUSE_MS: u64 = 1_000;
/// Longest pause between attempts, ms.
pub const MAX_PAUSE_MS: u64 = 60_000;

/// What the loop does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveStep {
    /// Sync these spaces (`None`: every space).
    Sync(Option<Vec<SpaceId>>),
    /// Wait at the relay for a change.
    Wait,
    /// Wait this long, then go on (a failure's backoff, or a wake-up that brought nothing).
    Pause(Duration),
}

/// The live loop's state: what comes next, and how many failures in a row shaped the pause.
#[derive(Clone, Debug)]
pub struct LiveLoop {
    next: LiveStep,
    /// After a pause: what follows it.
    after_pause: Option<LiveStep>,
    failures: u32,
    /// Wake-ups in a row whose sync pulled nothing (a device that cannot take what the relay holds
    /// would otherwise be woken at once, again and again).
    empty_wakes: u32,
}

impl Default for LiveLoop {
    fn default() -> LiveLoop {
        LiveLoop::new()
    }
}

/// Equal jitter: half of `ms` fixed, half random, so devices cut off by one outage do not all come
/// back at the same instant.
fn jittered(ms: u64) -> Duration {
    let half = ms / 2;
    let spread = crypto::random::<8>()
        .map(|b| u64::from_le_bytes(b) % (ms - half + 1))
        .unwrap_or(ms - half);
    Duration::from_millis(half + spread)
}

fn backoff(in_a_row: u32) -> Duration {
    let shift = in_a_row.saturating_sub(1).min(16);
    jittered(
        FIRST_PAUSE_MS
            .saturating_mul(1u64 << shift)
            .min(MAX_PAUSE_MS),
    )
}

impl LiveLoop {
    /// A loop that starts with a sync of every space (it catches up on what arrived while the app
    /// was closed, and learns the relay's id and clock the waits are signed with).
    pub fn new() -> LiveLoop {
        LiveLoop {
            next: LiveStep::Sync(None),
            after_pause: None,
            failures: 0,
            empty_wakes: 0,
        }
    }

    /// What to do now. A [`LiveStep::Pause`] is handed out once: the step after it comes next.
    pub fn step(&mut self) -> LiveStep {
        let step = self.next.clone();
        if matches!(step, LiveStep::Pause(_)) {
            self.next = self.after_pause.take().unwrap_or(LiveStep::Sync(None));
        }
        step
    }

    /// A sync ended well; `woken` says whether a wake-up asked for it, `pulled` what it brought.
    pub fn synced(&mut self, woken: bool, pulled: u32) {
        self.failures = 0;
        if woken && pulled == 0 {
            self.empty_wakes += 1;
            self.pause_then(backoff(self.empty_wakes), LiveStep::Wait);
        } else {
            self.empty_wakes = 0;
            self.next = LiveStep::Wait;
        }
    }

    /// A wait ended with an answer: `changed` (empty: it timed out) comes next.
    pub fn woke(&mut self, changed: Vec<SpaceId>) {
        self.failures = 0;
        self.next = if changed.is_empty() {
            LiveStep::Wait
        } else {
            LiveStep::Sync(Some(changed))
        };
    }

    /// A step failed with something other than a stop ([`is_stop`]): pause, growing with each
    /// failure in a row, then sync every space.
    pub fn failed(&mut self) {
        self.failures += 1;
        self.pause_then(backoff(self.failures), LiveStep::Sync(None));
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn pause_then(&mut self, pause: Duration, then: LiveStep) {
        self.next = LiveStep::Pause(pause);
        self.after_pause = Some(then);
    }
}

/// What the loop tells its driver's listener.
#[derive(Debug)]
pub enum LiveEvent {
    /// These spaces were synced (every space when the loop synced everything), with what the sync
    /// did.
    Synced {
        /// The spaces synced; empty for a sync of every space.
        spaces: Vec<SpaceId>,
        /// What the sync did.
        report: SyncReport,
    },
    /// A step failed; the loop pauses and goes on.
    Failed(Error),
}

/// Sends `request` through `http` on a thread of its own and waits for its answer as long as
/// `stop` allows: a cancel (or the deadline) returns at once, leaving the request to end on its own
/// and its answer unread. For waits only: a sync's answer must always be taken. `Ok(Err(reason))`
/// when no HTTP answer arrived.
pub fn send_stoppable(
    http: Arc<dyn HttpClient>,
    request: HttpRequest,
    stop: &SyncStop,
) -> Result<std::result::Result<HttpResponse, String>> {
    stop.check()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("sebaya-live-wait".into())
        .spawn(move || {
            // The receiver is gone when the loop stopped: the answer is not needed.
            let _ = tx.send(http.send(request));
        })
        .map_err(|_| Error::Internal("could not start the wait's thread"))?;
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(answer) => return Ok(answer),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => stop.check()?,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Ok(Err("the transport ended without an answer".into()));
            }
        }
    }
}

/// Whether `error` is the app stopping the loop (`Cancelled`, `DeadlineExceeded`): the only errors
/// that end it.
pub fn is_stop(error: &Error) -> bool {
    matches!(error, Error::Cancelled | Error::DeadlineExceeded)
}

impl Vault {
    /// A wait on every space this device holds, signed for the relay at `relay_url` as an earlier
    /// sync learned it, asking to be held `timeout_ms` (the relay holds it at most 25 s). `None`
    /// when this device has not synced with that relay yet (sync first: it learns the relay's id
    /// and clock) or holds no space.
    pub fn live_wait_request(
        &mut self,
        relay_url: &str,
        timeout_ms: u64,
    ) -> Result<Option<HttpRequest>> {
        let sync = self.recall_relay(RelaySync::new(relay_url))?;
        let Some((relay_id, offset)) = sync.signer() else {
            return Ok(None);
        };
        let spaces: Vec<SpaceVector> = self
            .journal
            .iter()
            .chain(self.shared.values())
            .filter(|s| s.vector.contiguous().len() <= MAX_AUTHORS)
            .take(MAX_SPACES)
            .map(|s| SpaceVector::new(s.id, s.vector.contiguous()))
            .collect();
        if spaces.is_empty() {
            return Ok(None);
        }
        let body = wire::encode(&WaitRequest {
            v: WAIT_VERSION,
            spaces,
            timeout_ms: timeout_ms.min(MAX_WAIT_MS),
        })?;
        Ok(Some(super::signed::signed_cbor_post(
            &self.identity,
            (relay_id, offset),
            relay_url,
            WAIT_PATH,
            body,
        )?))
    }

    /// Reads the relay's answer to a wait: the spaces that changed, of those this device holds
    /// (empty: nothing changed). A refusal is `Error::Relay` with the relay's code (`not-a-member`,
    /// `too-many-waits`, `relay-busy`, `clock-skew`...).
    pub fn live_wait_answer(&self, response: HttpResponse) -> Result<Vec<SpaceId>> {
        if response.status != 200 {
            let code = serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v.get("error").and_then(|c| c.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "unknown".into());
            return Err(Error::Relay {
                status: response.status,
                code,
            });
        }
        let answer: WaitResponse = wire::decode(&response.body)?;
        let held = |s: &SpaceId| {
            self.journal.iter().any(|j| j.id == *s) || self.shared.values().any(|x| x.id == *s)
        };
        Ok(answer.spaces()?.into_iter().filter(held).collect())
    }

    /// [`Vault::sync_begin`] for `spaces` only (what a wait said changed). Spaces it does not hold
    /// are left out by the sync itself.
    pub fn sync_spaces_begin(
        &mut self,
        relay_url: &str,
        spaces: Vec<SpaceId>,
    ) -> Result<RelaySync> {
        let mut sync = self.sync_begin(relay_url)?;
        sync.set_only(Some(spaces));
        Ok(sync)
    }

    /// Runs the live loop with `http` until `stop` ends it (then returns `Cancelled` or
    /// `DeadlineExceeded`), telling `on` of every sync and failure. Holds `&mut self` throughout;
    /// the FFI's live session drives the same steps with the vault released while it waits.
    pub fn live_with(
        &mut self,
        http: Arc<dyn HttpClient>,
        relay_url: &str,
        timeout_ms: u64,
        stop: &SyncStop,
        on: &mut dyn FnMut(LiveEvent),
    ) -> Result<()> {
        let mut live = LiveLoop::new();
        loop {
            stop.check()?;
            let outcome = match live.step() {
                LiveStep::Pause(d) => {
                    stop.sleep(d)?;
                    continue;
                }
                LiveStep::Sync(only) => {
                    let woken = only.is_some();
                    let begun = match only.clone() {
                        Some(spaces) => self.sync_spaces_begin(relay_url, spaces),
                        None => self.sync_begin(relay_url),
                    };
                    begun.and_then(|mut s| {
                        self.drive_sync_until(http.as_ref(), &mut s, stop)?;
                        let report = s.report().clone();
                        live.synced(woken, report.pulled);
                        on(LiveEvent::Synced {
                            spaces: only.unwrap_or_default(),
                            report,
                        });
                        Ok(())
                    })
                }
                LiveStep::Wait => match self.live_wait_request(relay_url, timeout_ms)? {
                    // Nothing to wait on yet (no space, or the relay not learned): sync first.
                    None => Err(Error::NotFound("space to wait on")),
                    Some(req) => match send_stoppable(http.clone(), req, stop)? {
                        Ok(resp) => self.live_wait_answer(resp).map(|c| live.woke(c)),
                        Err(reason) => Err(Error::Network(reason)),
                    },
                },
            };
            if let Err(e) = outcome {
                if is_stop(&e) {
                    return Err(e);
                }
                live.failed();
                on(LiveEvent::Failed(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_loop_syncs_first_then_waits_and_syncs_what_changed() {
        let mut l = LiveLoop::new();
        assert_eq!(l.step(), LiveStep::Sync(None));
        l.synced(false, 0);
        assert_eq!(l.step(), LiveStep::Wait);
        l.woke(vec![]);
        assert_eq!(l.step(), LiveStep::Wait);
        let s = SpaceId([1; 16]);
        l.woke(vec![s]);
        assert_eq!(l.step(), LiveStep::Sync(Some(vec![s])));
        l.synced(true, 3);
        assert_eq!(l.step(), LiveStep::Wait);
    }

    #[test]
    fn failures_pause_longer_each_time_then_sync_everything_and_a_stop_ends_it() {
        let mut l = LiveLoop::new();
        let mut pauses = Vec::new();
        for _ in 0..8 {
            l.failed();
            let LiveStep::Pause(d) = l.step() else {
                panic!("no pause after a failure");
            };
            pauses.push(d);
            assert_eq!(l.step(), LiveStep::Sync(None));
        }
        // Equal jitter: each pause is within [half, whole] of its doubling bound, capped.
        for (i, d) in pauses.iter().enumerate() {
            let bound = (FIRST_PAUSE_MS << i).min(MAX_PAUSE_MS);
            let ms = d.as_millis() as u64;
            assert!(
                ms >= bound / 2 && ms <= bound,
                "pause {i}: {ms} ms of {bound}"
            );
        }
        assert!(is_stop(&Error::Cancelled) && !is_stop(&Error::Network("down".into())));
        l.synced(false, 0);
        assert_eq!(l.failures(), 0);
    }

    #[test]
    fn a_wake_that_brings_nothing_pauses_before_the_next_wait() {
        let mut l = LiveLoop::new();
        l.synced(true, 0);
        assert!(matches!(l.step(), LiveStep::Pause(_)));
        assert_eq!(l.step(), LiveStep::Wait);
    }

    #[test]
    fn a_stop_ends_a_stoppable_send_at_once() {
        struct Never;
        impl HttpClient for Never {
            fn send(&self, _: HttpRequest) -> std::result::Result<HttpResponse, String> {
                std::thread::sleep(Duration::from_secs(3600));
                Err("never".into())
            }
        }
        let stop = SyncStop::new();
        let other = stop.clone();
        let t = std::thread::spawn(move || {
            send_stoppable(
                Arc::new(Never),
                HttpRequest {
                    method: "POST".into(),
                    url: "http://127.0.0.1:9/v1/wait".into(),
                    headers: vec![],
                    body: vec![],
                },
                &other,
            )
        });
        stop.cancel();
        assert!(matches!(t.join().unwrap(), Err(Error::Cancelled)));
    }
}
