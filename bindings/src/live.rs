//! Live sync for an app in the foreground (issue 16, item 2; protocol section 28): a session waits
//! at the relay through the app's HTTP transport, syncs just the spaces that changed, tells a
//! [`LiveListener`], and waits again, until the app stops it.
//!
//! The loop is the core's ([`sebaya_core::sync::live::LiveLoop`]), driven here on a thread of its
//! own with the vault released while the network waits, so the app keeps reading and writing. It
//! takes the vault's sync gate for each sync (a manual `sync` and the live one never interleave),
//! and the [`SyncControl`] it was given stops it. Errors never end it: the listener is told (typed,
//! [`LiveFailure`]), and the loop pauses with jitter and starts again with a full sync.
//!
//! **Stopping.** [`LiveSession::stop`] returns once the loop's thread has ended: at once while it
//! waits at the relay or pauses (a wait's answer is abandoned; a wait changes nothing), after the
//! request in flight while it syncs (the transport's timeout bounds it). Called from inside the
//! listener, it only asks the loop to end (the loop ends when the listener returns): a listener
//! can never deadlock the session. A listener that throws is ignored for that call.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{JoinHandle, ThreadId};

use sebaya_core::sync::live::{LiveLoop, LiveStep, send_stoppable};

use super::{Result, SebayaError, SyncControl, SyncReport, Vault, platform, with};

/// What went wrong in one step of a live session; the session goes on after a pause.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum LiveFailure {
    /// No answer from the relay (no network, a timeout, a cut): local data is intact.
    Network {
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The relay refused (`code`: `not-a-member`, `too-many-waits`, `relay-busy`, `clock-skew`...).
    Relay {
        /// The relay's error code.
        code: String,
    },
    /// Anything else (the vault locked, an integrity failure...), by its catalogue id.
    Other {
        /// Catalogue id for `localized_message`.
        message_id: String,
    },
}

impl From<&SebayaError> for LiveFailure {
    fn from(e: &SebayaError) -> LiveFailure {
        match e {
            SebayaError::Network { detail, .. } => LiveFailure::Network {
                detail: detail.clone(),
            },
            SebayaError::Relay { code, .. } => LiveFailure::Relay { code: code.clone() },
            SebayaError::WrongKey { message_id, .. }
            | SebayaError::Corrupt { message_id, .. }
            | SebayaError::InvalidInput { message_id, .. }
            | SebayaError::NotFound { message_id, .. }
            | SebayaError::Cancelled { message_id, .. }
            | SebayaError::BadLinkCode { message_id, .. }
            | SebayaError::BadInvite { message_id, .. }
            | SebayaError::InviteExpired { message_id, .. }
            | SebayaError::InviteSpent { message_id, .. }
            | SebayaError::InviteRevoked { message_id, .. }
            | SebayaError::BadJoinRequest { message_id, .. }
            | SebayaError::BadCredential { message_id, .. }
            | SebayaError::NotCertified { message_id, .. }
            | SebayaError::BadBundle { message_id, .. }
            | SebayaError::BundleReplayed { message_id, .. }
            | SebayaError::StrangerBundle { message_id, .. }
            | SebayaError::ReminderInPast { message_id, .. }
            | SebayaError::WaitingForUpdates { message_id, .. }
            | SebayaError::ReportSeenByReported { message_id, .. }
            | SebayaError::TooManyReports { message_id, .. }
            | SebayaError::AlreadyLinked { message_id, .. }
            | SebayaError::AlreadyHasPerson { message_id, .. }
            | SebayaError::NoPerson { message_id, .. }
            | SebayaError::BadRecoveryPhrase { message_id, .. }
            | SebayaError::BadCertificate { message_id, .. }
            | SebayaError::NotAllowed { message_id, .. }
            | SebayaError::Locked { message_id, .. }
            | SebayaError::PeerNotMember { message_id, .. }
            | SebayaError::KeyStore { message_id, .. }
            | SebayaError::KeyMissing { message_id, .. }
            | SebayaError::PasscodeWrong { message_id, .. }
            | SebayaError::PasscodeTooSoon { message_id, .. }
            | SebayaError::PasscodeRequired { message_id, .. }
            | SebayaError::BadPeerMessage { message_id, .. }
            | SebayaError::NoHttpTransport { message_id, .. }
            | SebayaError::NotSupervisor { message_id, .. }
            | SebayaError::CaseNotesFull { message_id, .. }
            | SebayaError::OpenReferrals { message_id, .. }
            | SebayaError::DutyOfCareRequired { message_id, .. }
            | SebayaError::PushRefused { message_id, .. }
            | SebayaError::Internal { message_id, .. } => LiveFailure::Other {
                message_id: message_id.clone(),
            },
        }
    }
}

/// Told what a live session did. Called on the session's thread with the vault released (it may
/// read the vault); keep it short. It may call `LiveSession.stop()`.
#[uniffi::export(with_foreign)]
pub trait LiveListener: Send + Sync {
    /// `space_ids` (hex) were synced because they changed at the relay; empty for the session's
    /// sync of every space (at its start and after a failure).
    fn synced(&self, space_ids: Vec<String>, report: SyncReport);
    /// A step failed; the session pauses and goes on.
    fn failed(&self, failure: LiveFailure);
}

struct Running {
    thread: Option<JoinHandle<()>>,
    id: Option<ThreadId>,
}

/// A running live session. `stop()` ends it (dropping it does too).
#[derive(uniffi::Object)]
pub struct LiveSession {
    control: Arc<SyncControl>,
    running: Mutex<Running>,
}

impl LiveSession {
    fn running(&self) -> MutexGuard<'_, Running> {
        match self.running.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        }
    }
}

#[uniffi::export]
impl LiveSession {
    /// Stops the session and returns once its loop has ended (see the module's notes). From the
    /// listener, it asks the loop to end and returns at once. Safe to call more than once.
    pub fn stop(&self) {
        self.control.cancel();
        let thread = {
            let mut r = self.running();
            if r.id == Some(std::thread::current().id()) {
                return;
            }
            r.thread.take()
        };
        if let Some(t) = thread {
            // The loop catches the listener's panics; a panic elsewhere is a bug already reported.
            let _ = t.join();
        }
    }

    /// Whether the loop is still running.
    pub fn is_running(&self) -> bool {
        self.running()
            .thread
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The app's transport as the core's HTTP client (for the wait's own thread).
struct Transport(Arc<dyn platform::HttpTransport>);

impl sebaya_core::HttpClient for Transport {
    fn send(
        &self,
        request: sebaya_core::HttpRequest,
    ) -> std::result::Result<sebaya_core::HttpResponse, String> {
        platform::send_or_reason(self.0.as_ref(), request)
    }
}

fn is_stop(e: &SebayaError) -> bool {
    matches!(e, SebayaError::Cancelled { .. })
}

#[uniffi::export]
impl Vault {
    /// Starts live sync with the relay at `relay_url` through the app's HTTP transport
    /// (`NoHttpTransport` without one): a sync of every space, then waits at the relay (each held
    /// up to `wait_ms`, at most 25 s; default 25 s), syncing what changed, until `control.cancel()`
    /// or the returned session's `stop()`. Keep the session while the app is in the foreground.
    pub fn start_live(
        self: Arc<Self>,
        relay_url: String,
        listener: Arc<dyn LiveListener>,
        control: Arc<SyncControl>,
        wait_ms: Option<u64>,
    ) -> Result<Arc<LiveSession>> {
        let http = platform::transport()?;
        let session = Arc::new(LiveSession {
            control: control.clone(),
            running: Mutex::new(Running {
                thread: None,
                id: None,
            }),
        });
        if self.quiet {
            // A duress vault never syncs: a session that waits for nothing.
            return Ok(session);
        }
        let wait_ms = wait_ms.unwrap_or(sebaya_core::sync::live::DEFAULT_WAIT_MS);
        let stop = control.stop(None);
        let thread = std::thread::Builder::new()
            .name("sebaya-live".into())
            .spawn(move || run(&self, http, &relay_url, wait_ms, &stop, listener.as_ref()))
            .map_err(|_| SebayaError::Internal {
                message_id: "error-internal".into(),
                detail: "could not start the live session's thread".into(),
            })?;
        {
            let mut r = session.running();
            r.id = Some(thread.thread().id());
            r.thread = Some(thread);
        }
        Ok(session)
    }
}

/// Calls the listener; a throw (a foreign exception arrives as a panic) is logged and ignored.
fn tell(f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        log::warn!(target: "sebaya::listeners", "a live listener threw; the session goes on");
    }
}

/// The loop: the core's steps, with the vault taken only to prepare and apply.
fn run(
    vault: &Vault,
    http: Arc<dyn platform::HttpTransport>,
    url: &str,
    wait_ms: u64,
    stop: &sebaya_core::SyncStop,
    listener: &dyn LiveListener,
) {
    let client: Arc<dyn sebaya_core::HttpClient> = Arc::new(Transport(http.clone()));
    let mut live = LiveLoop::new();
    log::info!(target: "sebaya::live", "live session started");
    while stop.check().is_ok() {
        let outcome: Result<()> = match live.step() {
            LiveStep::Pause(d) => {
                log::debug!(target: "sebaya::live", "pausing {} ms", d.as_millis());
                if stop.sleep(d).is_err() {
                    break;
                }
                continue;
            }
            LiveStep::Sync(only) => {
                let woken = only.is_some();
                let ids: Vec<String> = only
                    .iter()
                    .flatten()
                    .map(sebaya_core::SpaceId::to_hex)
                    .collect();
                let synced = (|| -> Result<sebaya_core::SyncReport> {
                    // The turn ends (and the space listeners are told) before the live listener.
                    let mut turn = vault.wait_for_gate(stop)?;
                    let mut s = turn.with(|v| match only {
                        Some(spaces) => v.sync_spaces_begin(url, spaces),
                        None => v.sync_begin(url),
                    })?;
                    turn.drive(http.as_ref(), &mut s, stop)?;
                    Ok(s.report().clone())
                })();
                synced.map(|report| {
                    live.synced(woken, report.pulled);
                    tell(|| listener.synced(ids, report.into()));
                })
            }
            LiveStep::Wait => (|| -> Result<()> {
                log::debug!(target: "sebaya::live", "waiting at the relay, up to {wait_ms} ms");
                let request = with(&vault.inner, |v| v.live_wait_request(url, wait_ms))?
                    .ok_or_else(|| SebayaError::from(sebaya_core::Error::NotFound("space")))?;
                let answer = send_stoppable(client.clone(), request, stop)
                    .map_err(SebayaError::from)?
                    .map_err(|reason| SebayaError::from(sebaya_core::Error::Network(reason)))?;
                let changed = with(&vault.inner, |v| v.live_wait_answer(answer))?;
                log::debug!(target: "sebaya::live", "woke: {} spaces changed", changed.len());
                live.woke(changed);
                Ok(())
            })(),
        };
        if let Err(e) = outcome {
            if is_stop(&e) {
                break;
            }
            log::info!(
                target: "sebaya::live",
                "a step failed ({}); pausing",
                super::sync_turn::failure_code(&e)
            );
            live.failed();
            let failure = LiveFailure::from(&e);
            tell(|| listener.failed(failure));
        }
    }
    log::info!(target: "sebaya::live", "live session ended");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure keeps what the app needs to show it: the relay's code, or the catalogue id.
    #[test]
    fn a_failure_keeps_its_code_or_its_message_id() {
        let relay = SebayaError::Relay {
            message_id: "error-relay".into(),
            detail: "refused".into(),
            code: "too-many-waits".into(),
        };
        assert_eq!(
            LiveFailure::from(&relay),
            LiveFailure::Relay {
                code: "too-many-waits".into()
            }
        );
        let locked = SebayaError::Locked {
            message_id: "error-locked".into(),
            detail: "locked".into(),
        };
        assert_eq!(
            LiveFailure::from(&locked),
            LiveFailure::Other {
                message_id: "error-locked".into()
            }
        );
    }
}
