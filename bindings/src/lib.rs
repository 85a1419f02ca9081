//! uniffi bindings over `sebaya-core`: the only layer that knows about FFI.
//!
//! Objects wrap the core behind a mutex, so Kotlin, Swift and Python may call them from any thread;
//! every method performs disk I/O (and `sync` network I/O) and must not run on a UI thread. Errors
//! cross the boundary as [`SebayaError`], whose variants say what a caller can act on and whose
//! messages carry no personal data. A panic inside the core is caught by uniffi (the library is built
//! with `panic = "unwind"`) and arrives as an internal error, never as a crash of the app.
//!
//! Kotlin objects hold native memory: close them (`use { }`) when done.
//!
//! **The map.** [`Vault`] opens, locks, holds the person and its devices, syncs, and hands out one
//! domain object per area, each a thin handle on the same shared state (so `lock()` locks them all):
//!
//! | object | file | what it does |
//! |---|---|---|
//! | `journal()` | `journal.rs` | entries, the person's devices, mood trends, erasing for good |
//! | `spaces()` | `spaces.rs` | every shared space; joining in person; admitting and removing members |
//! | `groups()` | `groups.rs` | support groups: periods, notebook, sessions, attendance |
//! | `pairings()` | `pairings.rs` | one-to-one pairings, what the participant shares, case notes, hand-over |
//! | `care()` | `care.rs`, `safety.rs`, `wordings.rs` | enrolment, consent, screening and escalation, referrals, crisis numbers, safety plan, wordings |
//! | `programmes()` | `programmes.rs`, `training.rs`, `reports.rs` | roles and credentials, the training register, reports |
//! | `invites()` | `invites.rs` | remote invites and join requests |
//! | `moderation()` | `moderation.rs` | reports and blocks |
//! | `nearby()` | `nearby.rs` | peer sessions, bundles, carrying for others |
//!
//! Closed sets of values cross as enums (`enums.rs`); those over synced data have an `Unknown`
//! case. Functions that need no vault stay free (`emergency_help`, `localized_message`, ...).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

uniffi::setup_scaffolding!();

use care::Care;
pub use enums::{
    Attendance, CareNotice, CareViewer, ConsentPurpose, CrisisChannel, CrisisResourceKind,
    Instrument, InviteStatus, JoinStatus, LinkKind, OnCallState, ProgrammeRole, ReferralOrigin,
    ReferralReason, ReferralState, ReminderFor, ReminderKind, ReportReason, ReportRoute,
    ReportTarget, RiskFlag, SafetyStep, ScreeningBand, SharedItemKind, ShortfallReason, SpaceKind,
    SpaceRole, SyncPath, SyncScope, TrainingModule, TrainingStatus,
};
use groups::Groups;
use invites::Invites;
use journal::Journal;
pub use live::{LiveFailure, LiveListener, LiveSession};
use moderation::Moderation;
use nearby::Nearby;
use pairings::Pairings;
use programmes::Programmes;
use reminders::Reminders;
pub(crate) use spaces::{CreatedSpace, Spaces};

mod care;
mod enums;
mod groups;
mod instruments;
mod invites;
mod journal;
mod live;
mod logging;
mod moderation;
mod nearby;
mod pairings;
mod passcode;
mod platform;
mod policy;
mod programmes;
mod push;
mod reminders;
mod reports;
mod safety;
mod snapshots;
mod spaces;
mod sync_turn;
mod training;
mod wordings;

/// The one public error. Each variant carries a `message_id` (for [`localized_message`]) and an
/// English `detail` for logs; neither contains what a person wrote. (The field is not called `message`:
/// that name clashes with `Throwable.message` in the generated Kotlin.)
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SebayaError {
    /// The master key does not open this vault; nothing was changed.
    #[error("{detail}")]
    WrongKey {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// Stored or received data failed an integrity check; it was refused and nothing else was lost.
    #[error("{detail}")]
    Corrupt {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The caller passed something unusable (bad mood, bad id, oversized text…).
    #[error("{detail}")]
    InvalidInput {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The named item does not exist.
    #[error("{detail}")]
    NotFound {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The app stopped the sync (`SyncControl.cancel`), or the time it gave ran out
    /// (`message_id` `error-sync-deadline`). Everything acknowledged so far is kept; the next sync
    /// goes on from there.
    #[error("{detail}")]
    Cancelled {
        /// Catalogue id: `error-sync-cancelled` or `error-sync-deadline`.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The network path failed; local data is intact and sync can be retried.
    #[error("{detail}")]
    Network {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The relay refused the request (`code` is its machine-readable reason).
    #[error("{detail}")]
    Relay {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
        /// The relay's error code (`clock-skew`, `too-large`…).
        code: String,
    },
    /// A pairing code is wrong, altered or expired.
    #[error("{detail}")]
    BadLinkCode {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// An invite code is damaged, is not an invite, or is for a space never joined by invite.
    #[error("{detail}")]
    BadInvite {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The invite's time is over: it admits nobody.
    #[error("{detail}")]
    InviteExpired {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The invite already admitted someone (invites are one-time); nothing changed.
    #[error("{detail}")]
    InviteSpent {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// An admin revoked the invite; nothing changed.
    #[error("{detail}")]
    InviteRevoked {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// A join request did not open with its invite's secret (a stranger's, or altered); nobody was added.
    #[error("{detail}")]
    BadJoinRequest {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// A programme role credential is forged, altered, expired, for another person, or does not
    /// chain to its programme's key; nothing was kept.
    #[error("{detail}")]
    BadCredential {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// A peer supporter's training is missing or expired (the detail names the modules): no
    /// one-to-one pairing until a coordinator certifies them again.
    #[error("{detail}")]
    NotCertified {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The person shown as case notes' supervisor is no coordinator of the notes' programme: case
    /// notes are shared with a coordinator only. Nothing was created or changed.
    #[error("{detail}")]
    NotSupervisor {
        /// Catalogue id: `error-not-supervisor`.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The participant's care record holds a referral no coordinator has acknowledged yet: erasing
    /// it then would drop a risk signal unseen. Nothing changed; erase once it is acknowledged.
    #[error("{detail}")]
    OpenReferrals {
        /// Catalogue id: `error-open-referrals`.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The programme makes the participant's duty-of-care agreement a condition of joining, and the
    /// enrolment did not say they agreed (`Care.enrol_with_duty_of_care`). Nothing was made.
    #[error("{detail}")]
    DutyOfCareRequired {
        /// Catalogue id: `error-duty-of-care-required`.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// Case notes are for the supporter, one supervisor and a handed-over successor: nobody else is
    /// added, and nothing new is written while someone beyond that is a member (remove them first).
    /// Nothing changed.
    #[error("{detail}")]
    CaseNotesFull {
        /// Catalogue id: `error-case-notes-full`.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// A bundle file is damaged, truncated, altered or carries an envelope that does not verify;
    /// nothing of it was kept.
    #[error("{detail}")]
    BadBundle {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// This bundle was imported before; nothing changed.
    #[error("{detail}")]
    BundleReplayed {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The bundle comes from a device this one shares no space with; nothing was kept.
    #[error("{detail}")]
    StrangerBundle {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// A one-off reminder's time has already passed; nothing was written (issue 18, item 4).
    #[error("{detail}")]
    ReminderInPast {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// Some member devices of the space run an older release that would refuse this write; nothing
    /// was written. `Spaces.rules_status` names them; try again once they have updated (protocol 12.2).
    #[error("{detail}")]
    WaitingForUpdates {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// A report about someone who holds the reporter's care record (their supporter, a
    /// coordinator) would show them who wrote it; nothing was written. Offer the coordinator's
    /// contact or the crisis lines instead (protocol 31.1).
    #[error("{detail}")]
    ReportSeenByReported {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// This person sent as many reports as a day takes; nothing was written (try tomorrow).
    #[error("{detail}")]
    TooManyReports {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// This device already keeps its own journal.
    #[error("{detail}")]
    AlreadyLinked {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// This vault already belongs to a person; creating or restoring another was refused, nothing changed.
    #[error("{detail}")]
    AlreadyHasPerson {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// This vault has no person yet: create one or restore one from the recovery phrase first.
    #[error("{detail}")]
    NoPerson {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The recovery phrase was not accepted (unknown word, wrong word count, or words that do not fit
    /// together); nothing changed. `detail` names at most a word's position, never a word.
    #[error("{detail}")]
    BadRecoveryPhrase {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// A device certificate is forged, altered, garbled or names a weak key.
    #[error("{detail}")]
    BadCertificate {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// This device's role in the space does not allow the action.
    #[error("{detail}")]
    NotAllowed {
        /// Catalogue id.
        message_id: String,
        /// English text.
        detail: String,
    },
    /// The vault was locked; open it again to continue.
    #[error("{detail}")]
    Locked {
        /// Catalogue id.
        message_id: String,
        /// English text.
        detail: String,
    },
    /// The other device of a peer session shares no space with this one as a member (or this
    /// device is not a member of any of its spaces). Nothing about any space was sent to it.
    #[error("{detail}")]
    PeerNotMember {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The app's key store failed (locked, unavailable) or holds something that is not a 32-byte key
    /// under the vault's name; nothing was changed.
    #[error("{detail}")]
    KeyStore {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data, never key bytes).
        detail: String,
    },
    /// The vault exists but the app's key store has no key for it (the app's data was partly
    /// cleared): it cannot be opened. Restore the person from the recovery phrase into a new vault.
    #[error("{detail}")]
    KeyMissing {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// A peer session received bytes it cannot accept (altered, cut, replayed or out of order, or a
    /// failed handshake). The session is over and nothing of that frame was kept; start a new one.
    #[error("{detail}")]
    BadPeerMessage {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// Sync was called before the app set its HTTP transport (`set_http_transport`); nothing changed.
    #[error("{detail}")]
    NoHttpTransport {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
    /// The passcode is not right. The try was counted; the next is accepted in `retry_after_secs`
    /// (pass it as `detail` to `localized_message`). Wrong tries add delay, never a wipe.
    #[error("{detail}")]
    PasscodeWrong {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (never the passcode).
        detail: String,
        /// Seconds until the next try is accepted.
        retry_after_secs: u64,
    },
    /// A try before the wait after wrong ones was over: not checked, not counted.
    #[error("{detail}")]
    PasscodeTooSoon {
        /// Catalogue id.
        message_id: String,
        /// English text for logs.
        detail: String,
        /// Seconds until the next try is accepted.
        retry_after_secs: u64,
    },
    /// The vault has a passcode: open it with `VaultLock.unlock`.
    #[error("{detail}")]
    PasscodeRequired {
        /// Catalogue id.
        message_id: String,
        /// English text for logs.
        detail: String,
    },
    /// The relay did not take the registration for wake-ups (`register_push`); `reason` says why.
    #[error("{detail}")]
    PushRefused {
        /// Catalogue id: `error-push-<reason>`.
        message_id: String,
        /// English text for logs (never the endpoint).
        detail: String,
        /// Why.
        reason: push::PushRefusal,
    },
    /// A bug or an unexpected condition inside the core (including a caught panic).
    #[error("{detail}")]
    Internal {
        /// Catalogue id.
        message_id: String,
        /// English text for logs (no personal data).
        detail: String,
    },
}

impl From<sebaya_core::Error> for SebayaError {
    fn from(e: sebaya_core::Error) -> Self {
        use sebaya_core::Error as E;
        let detail = e.to_string();
        let id = |s: &str| s.to_string();
        match e {
            E::WrongKey => SebayaError::WrongKey {
                message_id: id("error-wrong-key"),
                detail,
            },
            E::Corrupt(_) | E::Proto(_) | E::Content(_) | E::Automerge(_) => SebayaError::Corrupt {
                message_id: id("error-corrupt"),
                detail,
            },
            E::SchemaTooNew { .. } => SebayaError::Corrupt {
                message_id: id("error-schema-too-new"),
                detail,
            },
            E::InvalidInput(_) => SebayaError::InvalidInput {
                message_id: id("error-invalid-input"),
                detail,
            },
            E::NotFound(_) => SebayaError::NotFound {
                message_id: id("error-not-found"),
                detail,
            },
            E::Network(_) => SebayaError::Network {
                message_id: id("error-network"),
                detail,
            },
            E::Cancelled => SebayaError::Cancelled {
                message_id: id("error-sync-cancelled"),
                detail,
            },
            E::DeadlineExceeded => SebayaError::Cancelled {
                message_id: id("error-sync-deadline"),
                detail,
            },
            E::Relay { code, .. } => SebayaError::Relay {
                message_id: id("error-relay"),
                detail,
                code,
            },
            E::BadLinkCode => SebayaError::BadLinkCode {
                message_id: id("error-bad-link-code"),
                detail,
            },
            E::NotAllowed(_) => SebayaError::NotAllowed {
                message_id: id("error-not-allowed"),
                detail,
            },
            E::BadInvite => SebayaError::BadInvite {
                message_id: id("error-bad-invite"),
                detail,
            },
            E::InviteExpired => SebayaError::InviteExpired {
                message_id: id("error-invite-expired"),
                detail,
            },
            E::InviteSpent => SebayaError::InviteSpent {
                message_id: id("error-invite-spent"),
                detail,
            },
            E::InviteRevoked => SebayaError::InviteRevoked {
                message_id: id("error-invite-revoked"),
                detail,
            },
            E::BadJoinRequest => SebayaError::BadJoinRequest {
                message_id: id("error-bad-join-request"),
                detail,
            },
            E::BadCredential => SebayaError::BadCredential {
                message_id: id("error-bad-credential"),
                detail,
            },
            E::NotCertified(_) => SebayaError::NotCertified {
                message_id: id("error-not-certified"),
                detail,
            },
            E::NotSupervisor => SebayaError::NotSupervisor {
                message_id: id("error-not-supervisor"),
                detail,
            },
            E::OpenReferrals => SebayaError::OpenReferrals {
                message_id: id("error-open-referrals"),
                detail,
            },
            E::DutyOfCareRequired => SebayaError::DutyOfCareRequired {
                message_id: id("error-duty-of-care-required"),
                detail,
            },
            E::CaseNotesFull => SebayaError::CaseNotesFull {
                message_id: id("error-case-notes-full"),
                detail,
            },
            E::BadBundle(_) => SebayaError::BadBundle {
                message_id: id("error-bad-bundle"),
                detail,
            },
            E::BundleReplayed => SebayaError::BundleReplayed {
                message_id: id("error-bundle-replayed"),
                detail,
            },
            E::StrangerBundle => SebayaError::StrangerBundle {
                message_id: id("error-stranger-bundle"),
                detail,
            },
            E::ReminderInPast => SebayaError::ReminderInPast {
                message_id: id("error-reminder-in-past"),
                detail,
            },
            E::WaitingForUpdates => SebayaError::WaitingForUpdates {
                message_id: id("error-waiting-for-updates"),
                detail,
            },
            E::ReportSeenByReported => SebayaError::ReportSeenByReported {
                message_id: id("error-report-seen-by-reported"),
                detail,
            },
            E::TooManyReports => SebayaError::TooManyReports {
                message_id: id("error-too-many-reports"),
                detail,
            },
            E::PeerNotMember => SebayaError::PeerNotMember {
                message_id: id("error-peer-not-member"),
                detail,
            },
            E::BadPeerMessage(_) => SebayaError::BadPeerMessage {
                message_id: id("error-bad-peer-message"),
                detail,
            },
            E::AlreadyLinked => SebayaError::AlreadyLinked {
                message_id: id("error-already-linked"),
                detail,
            },
            E::AlreadyHasPerson => SebayaError::AlreadyHasPerson {
                message_id: id("error-already-has-person"),
                detail,
            },
            E::NoPerson => SebayaError::NoPerson {
                message_id: id("error-no-person"),
                detail,
            },
            E::BadRecoveryPhrase(_) => SebayaError::BadRecoveryPhrase {
                message_id: id("error-bad-recovery-phrase"),
                detail,
            },
            E::BadCertificate(_) => SebayaError::BadCertificate {
                message_id: id("error-bad-certificate"),
                detail,
            },
            E::BadKeyWrap => SebayaError::Corrupt {
                message_id: id("error-corrupt"),
                detail,
            },
            E::PasscodeWrong { retry_after_secs } => SebayaError::PasscodeWrong {
                message_id: id("error-passcode-wrong"),
                detail,
                retry_after_secs,
            },
            E::PasscodeTooSoon { retry_after_secs } => SebayaError::PasscodeTooSoon {
                message_id: id("error-passcode-too-soon"),
                detail,
                retry_after_secs,
            },
            E::PasscodeRequired => SebayaError::PasscodeRequired {
                message_id: id("error-passcode-required"),
                detail,
            },
            E::KeyStore(_) => SebayaError::KeyStore {
                message_id: id("error-key-store"),
                detail,
            },
            E::PushRefused(r) => push::refused(r, detail),
            E::Sqlite(_) | E::Internal(_) => SebayaError::Internal {
                message_id: id("error-internal"),
                detail,
            },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SebayaError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SebayaError::Internal {
            message_id: "error-internal".into(),
            detail: e.reason,
        }
    }
}

type Result<T> = std::result::Result<T, SebayaError>;

fn locked() -> SebayaError {
    SebayaError::Locked {
        message_id: "error-locked".into(),
        detail: "the vault is locked".into(),
    }
}

fn mood(m: i32) -> Result<u8> {
    u8::try_from(m)
        .map_err(|_| sebaya_core::Error::InvalidInput("mood must be between 1 and 5".into()).into())
}

/// Shared by a vault and the journals handed out from it, so locking the vault locks them all.
type Shared = Arc<Mutex<Option<sebaya_core::Vault>>>;

/// Runs `f` on the vault behind `shared`, once: takes its lock, refuses a locked vault (`Locked`),
/// and while someone listens notes which spaces the call changed, telling the listeners once the
/// vault is released (a listener may call back into the vault). Not generic on purpose: [`with`] is
/// instantiated at each of the hundred-odd call sites, and while this body was part of it (with the
/// call inlined on both paths) every copy cost the mobile library over a kilobyte; here it exists
/// once, and each call site keeps only a small shim.
fn run(shared: &Shared, f: &mut dyn FnMut(&mut sebaya_core::Vault)) -> Result<()> {
    let watched = platform::watched(shared);
    let changes = {
        // Dropped after the guard: lines logged inside reach the sink once the vault is free.
        let _held = logging::hold();
        let mut guard = shared.lock().map_err(|_| poisoned())?;
        let v = guard.as_mut().ok_or_else(locked)?;
        if !watched {
            f(v);
            return Ok(());
        }
        let before = v.snapshot();
        f(v);
        v.snapshot().changed_since(&before)
    };
    platform::notify(shared, &changes);
    Ok(())
}

/// One call on the vault through [`run`], with its result (and the core's error as a
/// [`SebayaError`]).
fn with<T>(
    shared: &Shared,
    f: impl FnOnce(&mut sebaya_core::Vault) -> sebaya_core::Result<T>,
) -> Result<T> {
    let mut f = Some(f);
    let mut out = None;
    run(shared, &mut |v| {
        if let Some(f) = f.take() {
            out = Some(f(v));
        }
    })?;
    match out {
        Some(r) => Ok(r?),
        // `run` returns Ok only after calling `f`: this would be a bug here, not a panic.
        None => Err(SebayaError::Internal {
            message_id: "error-internal".into(),
            detail: "a vault call did not run".into(),
        }),
    }
}

/// Like [`with`], but hands the spaces the call changed back instead of telling the listeners: for a
/// caller that holds a lock of its own (a peer session's), which it must release before listeners
/// run, since a listener may call back into that object.
fn with_unannounced<T>(
    shared: &Shared,
    f: impl FnOnce(&mut sebaya_core::Vault) -> sebaya_core::Result<T>,
) -> Result<(Result<T>, Vec<sebaya_core::sync::watch::SpaceChange>)> {
    let _held = logging::hold();
    if !platform::watched(shared) {
        let mut guard = shared.lock().map_err(|_| poisoned())?;
        let v = guard.as_mut().ok_or_else(locked)?;
        return Ok((f(v).map_err(SebayaError::from), Vec::new()));
    }
    // Someone listens: note which spaces the call changed; they are told once the vault is released
    // (a listener may call back into the vault).
    let mut guard = shared.lock().map_err(|_| poisoned())?;
    let v = guard.as_mut().ok_or_else(locked)?;
    let before = v.snapshot();
    let out = f(v).map_err(SebayaError::from);
    let changes = v.snapshot().changed_since(&before);
    Ok((out, changes))
}

/// The wall clock in ms since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn poisoned() -> SebayaError {
    SebayaError::Internal {
        message_id: "error-internal".into(),
        detail: "the vault was left unusable by an earlier failure; reopen it".into(),
    }
}

/// The message `message_id` in `locale` ("id" or "en"; anything else falls back to English).
#[uniffi::export(default(detail = None))]
pub fn localized_message(message_id: String, locale: String, detail: Option<String>) -> String {
    let detail = detail.unwrap_or_default();
    sebaya_core::i18n::message(&locale, &message_id, &[("detail", detail.as_str())])
}

/// A scored screening instrument. Show `band` to the participant (`localized_message("band-" + its
/// id)`); a supporter's screens show neither the total nor the band (peers refer, they do not
/// diagnose), only what the risk flags call for.
#[derive(Clone, Debug, uniffi::Record)]
pub struct InstrumentScore {
    /// Which instrument.
    pub instrument: Instrument,
    /// The sum of the answers (WHO-5: raw 0–25).
    pub total: u32,
    /// WHO-5 only: the percentage (raw × 4).
    pub percentage: Option<u32>,
    /// Where the total falls.
    pub band: ScreeningBand,
    /// Whether the usual positive-screen threshold is met.
    pub positive_screen: bool,
    /// Risk rules that fired: each calls for same-day follow-up.
    pub risk_flags: Vec<RiskFlag>,
}

impl From<sebaya_core::care::instruments::Score> for InstrumentScore {
    fn from(s: sebaya_core::care::instruments::Score) -> Self {
        InstrumentScore {
            instrument: s.instrument.into(),
            total: s.total,
            percentage: s.percentage,
            band: s.band.into(),
            positive_screen: s.positive_screen,
            risk_flags: s.risk.into_iter().map(Into::into).collect(),
        }
    }
}

/// A fresh random 32-byte master key, for apps to store in Android Keystore / iOS Keychain (or for
/// tests). Never log it.
#[uniffi::export]
pub fn generate_master_key() -> Result<Vec<u8>> {
    Ok(sebaya_core::crypto::random_key()?.to_vec())
}

/// What a verified device certificate says: this device (Ed25519 id and X25519 key) belongs to this
/// person. Ids and keys are lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct DeviceCertificateInfo {
    /// The person's id (hex of their root Ed25519 public key), as `Vault.person_id()` gives it.
    pub person: String,
    /// The device id (hex of its Ed25519 public key), as `Vault.device_id()` gives it.
    pub device: String,
    /// The device's X25519 public key (hex): keys are wrapped for it.
    pub x25519: String,
    /// When the certificate was made, Unix seconds (the certifying device's clock).
    pub created: u64,
}

/// Checks a device certificate (from `Vault.device_certificate()` of any device) and returns what it
/// says. Needs no vault and no secret; pure computation, safe on any thread. A forged, altered,
/// truncated or garbled certificate throws `BadCertificate`.
#[uniffi::export]
pub fn verify_device_certificate(cert: Vec<u8>) -> Result<DeviceCertificateInfo> {
    let c = sebaya_core::verify_device_certificate(&cert)?;
    Ok(DeviceCertificateInfo {
        person: c.person.to_hex(),
        device: c.device.to_hex(),
        x25519: hex::encode(c.x25519),
        created: c.created,
    })
}

/// One device in the journal's membership.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Member {
    /// Device id (hex).
    pub device_id: String,
    /// Its role there.
    pub role: SpaceRole,
    /// Whether this is the device making the call.
    pub this_device: bool,
}

/// What removing a device did.
#[derive(Clone, Debug, uniffi::Record)]
pub struct RotationReport {
    /// Devices the new journal key was wrapped for.
    pub wrapped: u32,
    /// Members whose key-agreement key is unknown here (they need another admin's rotation).
    pub without_key: u32,
    /// Size of the key-wraps envelope, bytes.
    pub bytes: u64,
}

/// What a sync did.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SyncReport {
    /// Envelopes sent and acknowledged.
    pub pushed: u32,
    /// Envelopes received.
    pub pulled: u32,
    /// Envelopes applied to documents.
    pub applied: u32,
    /// Envelopes set aside (could not be applied).
    pub quarantined: u32,
    /// Envelopes the relay refused.
    pub rejected: u32,
    /// Spaces the relay would not serve to this device (not, or no longer, a member).
    pub refused_spaces: u32,
    /// HTTP round trips.
    pub round_trips: u32,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Join requests for this device's invites that arrived and wait for a decision
    /// (`Invites.join_requests()`).
    pub join_requests: u32,
    /// Join requests or answers refused on arrival (made without the invite's secret, or forged).
    pub joins_refused: u32,
    /// Spaces this device started holding because an admin approved its join request.
    pub joined: u32,
    /// Spaces this device started holding from its person's index (after being linked, or restored
    /// from the recovery phrase).
    pub from_index: u32,
    /// New periods of groups this device is in, now followed.
    pub new_periods: u32,
    /// Envelopes a relay that stores only for its programmes' people did not take, even after this
    /// device showed its credentials: tell the person to ask their coordinator for a role.
    pub not_admitted: u32,
    /// Requests sent again after no answer arrived (a cut or a stalled link).
    pub retries: u32,
    /// Envelopes those retries sent again: only the chunk in flight, never an acknowledged one.
    pub resent: u32,
    /// Spaces destroyed on this device because they were erased: a journal its person erased
    /// elsewhere, or a group, pairing or care record erased by a member entitled to (issue 14, item
    /// 17; `Spaces.erased` lists the shared ones).
    pub erased: u32,
}

impl From<sebaya_core::SyncReport> for SyncReport {
    fn from(r: sebaya_core::SyncReport) -> Self {
        SyncReport {
            pushed: r.pushed,
            pulled: r.pulled,
            applied: r.applied,
            quarantined: r.quarantined,
            rejected: r.rejected,
            refused_spaces: r.refused_spaces,
            round_trips: r.round_trips,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            not_admitted: r.not_admitted,
            from_index: r.from_index,
            new_periods: r.new_periods,
            join_requests: r.join_requests,
            joins_refused: r.joins_refused,
            joined: r.joined,
            retries: r.retries,
            resent: r.resent,
            erased: r.erased,
        }
    }
}

/// Every vault opened in this process, weakly: what `lock_now` locks.
static OPEN_VAULTS: Mutex<Vec<std::sync::Weak<Mutex<Option<sebaya_core::Vault>>>>> =
    Mutex::new(Vec::new());

/// "Lock now" (a panic button, or the app going to the background): drops and wipes the keys of
/// every vault open in this process at once, and every domain object taken from them (`journal()`,
/// `care()`...); later calls throw
/// `Locked` until a vault is opened again. Returns how many were open. Safe to call from any thread,
/// any number of times.
#[uniffi::export]
pub fn lock_now() -> u32 {
    let list: Vec<_> = match OPEN_VAULTS.lock() {
        Ok(mut l) => std::mem::take(&mut *l),
        // A poisoned list still holds the handles: lock them all the same.
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    let mut n = 0;
    for w in list {
        if let Some(shared) = w.upgrade() {
            let mut guard = match shared.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if guard.take().is_some() {
                n += 1;
            }
        }
    }
    n
}

/// The device's encrypted vault. Thread-safe; every call does I/O. Free it when done (Kotlin:
/// `use { }`); call `lock()` when the app goes to the background to drop the keys from memory.
#[derive(uniffi::Object)]
pub struct Vault {
    inner: Shared,
    /// Held for a whole sync so two syncs of one vault never interleave; journal calls do not take it.
    sync_gate: Mutex<()>,
    /// Opened by a duress code (`passcode.rs`): every sync does nothing and reports nothing changed.
    quiet: bool,
}

impl Vault {
    /// Wraps an opened core vault and registers it for `lock_now`.
    fn wrap(v: sebaya_core::Vault) -> Arc<Vault> {
        Vault::wrap_as(v, false)
    }

    /// [`Vault::wrap`], `quiet` for a duress vault.
    fn wrap_as(v: sebaya_core::Vault, quiet: bool) -> Arc<Vault> {
        let inner = Arc::new(Mutex::new(Some(v)));
        if let Ok(mut open) = OPEN_VAULTS.lock() {
            open.retain(|w| w.strong_count() > 0);
            open.push(Arc::downgrade(&inner));
        }
        Arc::new(Vault {
            inner,
            sync_gate: Mutex::new(()),
            quiet,
        })
    }
}

/// A handle that stops a sync from another thread (issue 17, item 2): pass it to `sync_until` or
/// `sync_on_until`, call `cancel()` when the platform ends the background work. One control may
/// serve several syncs; once cancelled it stays cancelled (make a new one for the next sync).
#[derive(uniffi::Object, Default)]
pub struct SyncControl {
    stop: sebaya_core::SyncStop,
}

#[uniffi::export]
impl SyncControl {
    /// A control nothing has cancelled yet.
    #[uniffi::constructor]
    pub fn new() -> Arc<SyncControl> {
        Arc::new(SyncControl::default())
    }

    /// Stops the syncs given this control: before their next request, or at once if they are
    /// waiting to retry. Safe from any thread, any number of times.
    pub fn cancel(&self) {
        self.stop.cancel();
    }

    /// Whether `cancel()` was called.
    pub fn is_cancelled(&self) -> bool {
        self.stop.is_cancelled()
    }
}

impl SyncControl {
    /// The stop a sync checks: this control's flag, with the deadline `timeout_ms` from now.
    fn stop(&self, timeout_ms: Option<u64>) -> sebaya_core::SyncStop {
        match timeout_ms {
            Some(ms) => self
                .stop
                .with_deadline(std::time::Duration::from_millis(ms)),
            None => self.stop.clone(),
        }
    }
}

#[uniffi::export]
impl Vault {
    /// Opens (or creates) the vault at `path` with the 32-byte master key.
    #[uniffi::constructor]
    pub fn open(path: String, master_key: Vec<u8>) -> Result<Arc<Vault>> {
        let master_key = zeroize::Zeroizing::new(master_key);
        let v = sebaya_core::Vault::open(&PathBuf::from(path), &master_key)?;
        Ok(Vault::wrap(v))
    }

    /// Locks the vault: drops and wipes its keys and closes the database, for this object and every
    /// domain object taken from it (`journal()`, `groups()`, `care()`...), which share its state. Later calls fail with `Locked` until the vault is opened again. Locking
    /// twice is harmless. (Kotlin's `close()` only frees this object's handle.)
    pub fn lock(&self) -> Result<()> {
        let mut guard = self.inner.lock().map_err(|_| poisoned())?;
        guard.take();
        Ok(())
    }

    /// This device's id (hex of its Ed25519 public key).
    pub fn device_id(&self) -> Result<String> {
        with(&self.inner, |v| Ok(v.device_id().to_hex()))
    }

    /// Makes a new person on this device and returns the recovery phrase: 12 lowercase English words.
    /// Show it once so the person writes it down; it is not stored anywhere and cannot be shown again.
    /// (It arrives as an ordinary string: drop it as soon as it has been shown.) The person root key
    /// stays sealed in the vault. Throws `AlreadyHasPerson` if this vault has one.
    pub fn create_person(&self) -> Result<String> {
        with(&self.inner, |v| {
            let phrase = v.create_person()?;
            Ok(phrase.as_str().to_owned())
        })
    }

    /// Restores a person from their recovery phrase onto this vault (which must have no person): the
    /// same person id as on the old device; this device keeps its own new device id. Case and extra
    /// spaces do not matter. A wrong or mistyped phrase throws `BadRecoveryPhrase` and changes nothing;
    /// a vault that already has a person throws `AlreadyHasPerson`.
    pub fn restore_person(&self, phrase: String) -> Result<()> {
        let phrase = zeroize::Zeroizing::new(phrase);
        with(&self.inner, |v| v.restore_person(&phrase))
    }

    /// Replaces the recovery phrase (after it was photographed, or a device holding the person key
    /// was lost): returns the new phrase, shown once. From then on the old phrase restores nothing
    /// new: this person's devices are recertified in every space, a new index is started, the old
    /// one is closed to the old phrase, and every space this device administers gets a new key.
    /// Sync afterwards. Throws `NoPerson` on a device that does not hold the person key.
    pub fn replace_recovery_phrase(&self) -> Result<String> {
        with(&self.inner, |v| {
            let phrase = v.replace_recovery_phrase()?;
            Ok(phrase.as_str().to_owned())
        })
    }

    /// The id of the person this device belongs to (hex of the root public key), or null before a
    /// person is created or restored here.
    pub fn person_id(&self) -> Result<Option<String>> {
        with(&self.inner, |v| Ok(v.person_id().map(|p| p.to_hex())))
    }

    /// This device's certificate, signed by its person: give it to other devices, which check it with
    /// `verify_device_certificate`. Throws `NoPerson` before a person is created or restored here.
    pub fn device_certificate(&self) -> Result<Vec<u8>> {
        with(&self.inner, |v| v.device_certificate())
    }

    /// The journal of this person: entries, its devices, mood trends, erasing for good.
    pub fn journal(&self) -> Arc<Journal> {
        Arc::new(Journal {
            inner: self.inner.clone(),
        })
    }

    /// Support groups: create, list, new periods, joining, the notebook, sessions and attendance.
    pub fn groups(&self) -> Arc<Groups> {
        Arc::new(Groups {
            inner: self.inner.clone(),
        })
    }

    /// One-to-one pairings and case notes: check-ins, goals, messages, what the participant shares,
    /// case notes and their reviews, handing over.
    pub fn pairings(&self) -> Arc<Pairings> {
        Arc::new(Pairings {
            inner: self.inner.clone(),
        })
    }

    /// Reminders in pairings and groups (check-in cadence, session dates, tasks between sessions,
    /// follow-ups) and what is due, for local notifications with a neutral text.
    pub fn reminders(&self) -> Arc<Reminders> {
        Arc::new(Reminders {
            inner: self.inner.clone(),
        })
    }

    /// Reports and blocks: report a note, message or member to the programme's coordinators (and the
    /// facilitator); block a member so their content is hidden on this person's devices.
    pub fn moderation(&self) -> Arc<Moderation> {
        Arc::new(Moderation {
            inner: self.inner.clone(),
        })
    }

    /// Remote invites: make, revoke and list them, ask to join with a code, decide on requests.
    pub fn invites(&self) -> Arc<Invites> {
        Arc::new(Invites {
            inner: self.inner.clone(),
        })
    }

    /// Programmes: roles and credentials, the training register, report spaces and reports.
    pub fn programmes(&self) -> Arc<Programmes> {
        Arc::new(Programmes {
            inner: self.inner.clone(),
        })
    }

    /// Care: enrolment, consent, screenings and escalation, referrals, crisis numbers, the safety
    /// plan, instrument wordings.
    pub fn care(&self) -> Arc<Care> {
        Arc::new(Care {
            inner: self.inner.clone(),
        })
    }

    /// Syncing without the relay: peer sessions face to face, bundles by file, carrying for others.
    pub fn nearby(&self) -> Arc<Nearby> {
        Arc::new(Nearby {
            inner: self.inner.clone(),
            quiet: self.quiet,
        })
    }

    /// Membership of shared spaces (any kind): list them, join one in person, admit, remove and
    /// list members.
    pub fn spaces(&self) -> Arc<Spaces> {
        Arc::new(Spaces {
            inner: self.inner.clone(),
        })
    }

    /// The code this (new) device shows so another device of the same person can link it: its device
    /// id and X25519 public key, as uppercase hex for a QR code. Changes nothing.
    pub fn link_request(&self) -> Result<String> {
        with(&self.inner, |v| v.link_request())
    }

    /// On an existing device: adds the device that showed `request` to this person's journal and
    /// returns the response code to show it (the journal key inside is wrapped for that device alone).
    pub fn approve_link(&self, request: String) -> Result<String> {
        with(&self.inner, |v| v.approve_link(&request))
    }

    /// On the new device: joins the journal named in a response made for it.
    pub fn complete_link(&self, response: String) -> Result<()> {
        with(&self.inner, |v| v.complete_link(&response))
    }

    /// Devices linked to this person's journal since the person last saw the device list: show "a new
    /// device was linked" (and offer to remove it if the person does not recognise it).
    pub fn new_linked_devices(&self) -> Result<Vec<String>> {
        with(&self.inner, |v| {
            Ok(v.new_linked_devices()?.iter().map(|d| d.to_hex()).collect())
        })
    }

    /// Records that the person has seen the current device list.
    pub fn acknowledge_linked_devices(&self) -> Result<()> {
        with(&self.inner, |v| v.acknowledge_linked_devices())
    }

    /// Removes a lost or given-away device of this person from the journal, and from every group this
    /// device facilitates, rotating each key, so it reads nothing written from now on. Sync afterwards
    /// so the relay and the other devices learn of it.
    pub fn remove_device(&self, device_id: String) -> Result<RotationReport> {
        let device = sebaya_core::DeviceId::from_hex(&device_id).map_err(|_| {
            SebayaError::from(sebaya_core::Error::InvalidInput(
                "device id must be 64 hex characters".into(),
            ))
        })?;
        let r = with(&self.inner, |v| v.remove_device(&device))?;
        Ok(RotationReport {
            wrapped: r.wrapped,
            without_key: r.without_key,
            bytes: r.bytes,
        })
    }

    /// Everything this person has on this device as JSON (`"schema": "sebaya-export/1"`): journal,
    /// screening totals, their consents and referrals, what they wrote in pairings, groups and case
    /// notes, their programmes. Never keys. Hand it only to the person.
    pub fn export_all(&self) -> Result<String> {
        let now = now_ms();
        with(&self.inner, |v| v.export_all(now))
    }

    /// Pushes and pulls everything through the relay at `relay_url` (blocking network I/O), through
    /// the app's HTTP transport (`set_http_transport`; `NoHttpTransport` without one). The vault
    /// stays usable from other threads while the network is slow: it is taken only to prepare each
    /// request and to apply each answer.
    pub fn sync(&self, relay_url: String) -> Result<SyncReport> {
        self.sync_until(relay_url, SyncControl::new(), None)
    }

    /// `sync` that the app can stop: `control.cancel()` from any thread ends it before its next
    /// request or during a retry's wait, and `timeout_ms` (if given) is the time it may take in all
    /// (a BGAppRefreshTask's or a WorkManager worker's budget, less a margin). Stopped, it throws
    /// `Cancelled`; everything acknowledged until then is kept and the next sync goes on from there.
    /// The request in flight when it is cancelled is the app's transport's to end (its timeout).
    pub fn sync_until(
        &self,
        relay_url: String,
        control: Arc<SyncControl>,
        timeout_ms: Option<u64>,
    ) -> Result<SyncReport> {
        if self.quiet {
            return Ok(sebaya_core::SyncReport::default().into());
        }
        let stop = control.stop(timeout_ms);
        let mut turn = self.wait_for_gate(&stop)?;
        let http = platform::transport()?;
        let mut s = turn.with(|v| v.sync_begin(&relay_url))?;
        turn.drive(http.as_ref(), &mut s, &stop)?;
        Ok(s.report().clone().into())
    }
}

#[cfg(test)]
mod gate_tests;
#[cfg(test)]
mod log_tests;

fn parse_space(id: &str) -> Result<sebaya_core::SpaceId> {
    sebaya_core::SpaceId::from_hex(id).map_err(|_| {
        sebaya_core::Error::InvalidInput("group id must be 32 hex characters".into()).into()
    })
}

fn parse_device(id: &str) -> Result<sebaya_core::DeviceId> {
    sebaya_core::DeviceId::from_hex(id).map_err(|_| {
        sebaya_core::Error::InvalidInput("device id must be 64 hex characters".into()).into()
    })
}

fn new_id() -> Result<String> {
    Ok(hex_id(sebaya_core::crypto::random::<8>()?))
}

fn hex_id(b: [u8; 8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
