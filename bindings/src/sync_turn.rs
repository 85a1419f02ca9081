//! One relay sync's turn at a vault: its sync gate, held for the whole sync so two syncs of one
//! vault never interleave, and the spaces the sync changed, told to the listeners once the gate is
//! released (issue 17, item 3). Telling them while the gate was held made a listener that started
//! a sync wait forever for the gate its own caller held; now a listener may sync.
//!
//! The loop that drives a sync through the app's transport lives here too, with the sync's log
//! lines (start, each request, retries, the end: counts, sizes and times only).

use std::time::Instant;

use sebaya_core::sync::watch::SpaceChange;

use super::live::LiveFailure;
use super::{Result, SebayaError, Shared, Vault, platform, with_unannounced};

/// The sync gate while one sync holds it. Dropping it releases the gate, then tells the vault's
/// listeners of every space the sync changed (also when the sync failed or was cancelled part way:
/// what it applied is kept).
pub(crate) struct SyncTurn<'a> {
    gate: Option<std::sync::MutexGuard<'a, ()>>,
    shared: &'a Shared,
    changed: Vec<SpaceChange>,
}

impl Drop for SyncTurn<'_> {
    fn drop(&mut self) {
        drop(self.gate.take());
        // Never call foreign code while unwinding from a panic.
        if !std::thread::panicking() {
            platform::notify(self.shared, &std::mem::take(&mut self.changed));
        }
    }
}

impl Vault {
    /// Waits for the vault's sync gate (another sync holds it) as long as `stop` allows: a cancel or
    /// a time limit ends the wait too, not only the sync once it has begun. The gate guards no data:
    /// a panic during an earlier sync must not leave it poisoned and the vault unable to sync again.
    pub(crate) fn wait_for_gate(&self, stop: &sebaya_core::SyncStop) -> Result<SyncTurn<'_>> {
        loop {
            let gate = match self.sync_gate.try_lock() {
                Ok(g) => g,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    stop.sleep(std::time::Duration::from_millis(50))?;
                    continue;
                }
            };
            return Ok(SyncTurn {
                gate: Some(gate),
                shared: &self.inner,
                changed: Vec::new(),
            });
        }
    }
}

/// What a failure is called in a log line: a catalogue id or the relay's reason code, never detail.
pub(crate) fn failure_code(e: &SebayaError) -> String {
    match LiveFailure::from(e) {
        LiveFailure::Network { .. } => "error-network".into(),
        LiveFailure::Relay { code } => {
            format!("relay: {}", sebaya_core::sync::relay::loggable_code(&code))
        }
        LiveFailure::Other { message_id } => message_id,
    }
}

impl SyncTurn<'_> {
    /// One call on the vault within this sync, like `with`; the spaces it changed are told when the
    /// turn ends.
    pub(crate) fn with<T>(
        &mut self,
        f: impl FnOnce(&mut sebaya_core::Vault) -> sebaya_core::Result<T>,
    ) -> Result<T> {
        let (out, changes) = with_unannounced(self.shared, f)?;
        platform::merge_changes(&mut self.changed, changes);
        out
    }

    /// Drives a relay sync to its end through the app's transport: the vault is taken only to
    /// prepare each request and to apply each answer; a request with no answer waits (vault free)
    /// and is re-sent, re-signed, as `RelaySync::network_failed` decides. `stop` ends it before a
    /// request or during a retry's wait (`Cancelled`); an answer that arrived is always taken first.
    pub(crate) fn drive(
        &mut self,
        http: &dyn platform::HttpTransport,
        s: &mut sebaya_core::RelaySync,
        stop: &sebaya_core::SyncStop,
    ) -> Result<()> {
        let started = Instant::now();
        log::info!(target: "sebaya::sync", "sync started");
        let out = self.exchange(http, s, stop);
        let ms = started.elapsed().as_millis();
        let r = s.report();
        match &out {
            Ok(()) => log::info!(
                target: "sebaya::sync",
                "sync finished in {ms} ms: {} round trips, {} pushed, {} pulled, {} applied, {} quarantined, {} rejected, {} spaces refused, {} retries, {} bytes sent, {} received",
                r.round_trips, r.pushed, r.pulled, r.applied, r.quarantined, r.rejected,
                r.refused_spaces, r.retries, r.bytes_sent, r.bytes_received
            ),
            Err(SebayaError::Cancelled { .. }) => log::info!(
                target: "sebaya::sync",
                "sync cancelled after {ms} ms and {} round trips (what was acknowledged is kept)",
                r.round_trips
            ),
            Err(e) => log::warn!(
                target: "sebaya::sync",
                "sync failed after {ms} ms and {} round trips: {}",
                r.round_trips,
                failure_code(e)
            ),
        }
        out
    }

    fn exchange(
        &mut self,
        http: &dyn platform::HttpTransport,
        s: &mut sebaya_core::RelaySync,
        stop: &sebaya_core::SyncStop,
    ) -> Result<()> {
        loop {
            // Asked first: when no request is left, the sync ends (and records itself) even if a
            // cancel came during the last one.
            let Some(req) = self.with(|v| v.sync_next_request(s))? else {
                return Ok(());
            };
            stop.check()?;
            match platform::send_or_reason(http, req) {
                Ok(resp) => self.with(|v| v.sync_handle_response(s, resp))?,
                Err(e) => {
                    let wait = s.network_failed(e)?;
                    log::info!(
                        target: "sebaya::sync",
                        "no answer from the relay: retry {} in {} ms",
                        s.report().retries,
                        wait.as_millis()
                    );
                    stop.sleep(wait)?
                }
            }
        }
    }
}
