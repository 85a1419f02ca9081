//! uniffi bindings over `sebaya-core`: the only layer that knows about FFI.
//!
//! Objects wrap the core behind a mutex, so Kotlin, Swift and Python may call them from any thread;
//! every method performs disk I/O (and `sync` network I/O) and must not run on a UI thread. Errors
//! cross the boundary as [`SebayaError`], whose variants say what a caller can act on and whose
//! messages carry no personal data. A panic inside the core is caught by uniffi (the library is built
//! with `panic = "unwind"`) and arrives as an internal error, never as a crash of the app.
//!
//! Kotlin objects hold native memory: close them (`use { }`) when done.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

uniffi::setup_scaffolding!();

mod bundles;
mod care;
mod invites;
mod peer;
mod platform;
mod policy;
mod programmes;
mod reports;
mod safety;
mod snapshots;
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

fn with<T>(
    shared: &Shared,
    f: impl FnOnce(&mut sebaya_core::Vault) -> sebaya_core::Result<T>,
) -> Result<T> {
    if !platform::watched(shared) {
        let mut guard = shared.lock().map_err(|_| poisoned())?;
        let v = guard.as_mut().ok_or_else(locked)?;
        return Ok(f(v)?);
    }
    // Someone listens: note which spaces the call changed, and tell them once the vault is released
    // (a listener may call back into the vault). (Kept apart from `with_unannounced`: `with` is
    // instantiated at every call site, and its size counts against the mobile budget.)
    let (out, changes) = {
        let mut guard = shared.lock().map_err(|_| poisoned())?;
        let v = guard.as_mut().ok_or_else(locked)?;
        let before = v.snapshot();
        let out = f(v);
        let changes = v.snapshot().changed_since(&before);
        (out, changes)
    };
    platform::notify(shared, &changes);
    Ok(out?)
}

/// Like [`with`], but hands the spaces the call changed back instead of telling the listeners: for a
/// caller that holds a lock of its own (a peer session's), which it must release before listeners
/// run, since a listener may call back into that object.
fn with_unannounced<T>(
    shared: &Shared,
    f: impl FnOnce(&mut sebaya_core::Vault) -> sebaya_core::Result<T>,
) -> Result<(Result<T>, Vec<sebaya_core::sync::watch::SpaceChange>)> {
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

/// A scored screening instrument. Show `band` to the participant through
/// `localized_message("band-" + band, locale)`; a supporter's screens show neither the total nor the
/// band (peers refer, they do not diagnose), only what the risk flags call for.
#[derive(Clone, Debug, uniffi::Record)]
pub struct InstrumentScore {
    /// "phq9", "gad7", "who5" or "srq20".
    pub instrument: String,
    /// The sum of the answers (WHO-5: raw 0–25).
    pub total: u32,
    /// WHO-5 only: the percentage (raw × 4).
    pub percentage: Option<u32>,
    /// The band's id ("minimal", "mild", ..., "wellbeing-low", "above-cutoff").
    pub band: String,
    /// Whether the usual positive-screen threshold is met.
    pub positive_screen: bool,
    /// Risk rules that fired ("phq9-item9", "srq20-item17"): each calls for same-day follow-up.
    pub risk_flags: Vec<String>,
}

/// Scores a completed instrument on the device: one answer per item, in order (PHQ-9 and GAD-7 0–3,
/// WHO-5 0–5, SRQ-20 0 = no / 1 = yes). A wrong count or an answer out of range throws
/// `InvalidInput`.
#[uniffi::export]
pub fn score_instrument(instrument: String, answers: Vec<u8>) -> Result<InstrumentScore> {
    use sebaya_core::care::instruments;
    let inst = instruments::Instrument::from_id(&instrument)?;
    let s = instruments::score(inst, &answers)?;
    Ok(InstrumentScore {
        instrument: inst.id().to_string(),
        total: s.total,
        percentage: s.percentage,
        band: s.band.id().to_string(),
        positive_screen: s.positive_screen,
        risk_flags: s.risk.iter().map(|r| r.id().to_string()).collect(),
    })
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

/// One journal entry.
#[derive(Clone, Debug, uniffi::Record)]
pub struct JournalEntry {
    /// Stable id.
    pub id: String,
    /// Text, merged across the person's devices.
    pub text: String,
    /// Versions written at the same time on another device whose edits overlap this text's, so
    /// they could not be merged: show them and let the person choose; the next edit that passes a
    /// text settles them (pass `text` only when the person changed or chose it).
    pub conflicts: Vec<String>,
    /// Mood 1–5.
    pub mood: i32,
    /// Tags.
    pub tags: Vec<String>,
    /// Created, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last edited, ms since the Unix epoch.
    pub edited_ms: i64,
}

impl From<sebaya_core::JournalEntry> for JournalEntry {
    fn from(e: sebaya_core::JournalEntry) -> Self {
        JournalEntry {
            id: e.id,
            text: e.text,
            conflicts: e.conflicts,
            mood: i32::from(e.mood),
            tags: e.tags,
            created_ms: e.created_ms,
            edited_ms: e.edited_ms,
        }
    }
}

/// One device in the journal's membership.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Member {
    /// Device id (hex).
    pub device_id: String,
    /// "admin" or "member".
    pub role: String,
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
    /// (`join_requests()`).
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
    /// Requests sent again after no answer arrived (a cut or a stalled link).
    pub retries: u32,
    /// Envelopes those retries sent again: only the chunk in flight, never an acknowledged one.
    pub resent: u32,
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
            from_index: r.from_index,
            new_periods: r.new_periods,
            join_requests: r.join_requests,
            joins_refused: r.joins_refused,
            joined: r.joined,
            retries: r.retries,
            resent: r.resent,
        }
    }
}

/// A week's average mood.
#[derive(Clone, Debug, uniffi::Record)]
pub struct WeekMood {
    /// The week's Monday, days since 1970-01-01 (local).
    pub monday_day: i64,
    /// Average mood that week.
    pub average: f64,
    /// How many check-ins.
    pub count: u32,
}

/// Trends over this person's check-ins, computed on the device.
#[derive(Clone, Debug, uniffi::Record)]
pub struct MoodTrends {
    /// One row per week with check-ins, oldest first.
    pub weeks: Vec<WeekMood>,
    /// Consecutive days with a check-in, ending today or yesterday; 0 otherwise.
    pub current_streak: u32,
    /// The longest run of consecutive days with a check-in.
    pub longest_streak: u32,
}

/// Every vault opened in this process, weakly: what `lock_now` locks.
static OPEN_VAULTS: Mutex<Vec<std::sync::Weak<Mutex<Option<sebaya_core::Vault>>>>> =
    Mutex::new(Vec::new());

/// "Lock now" (a panic button, or the app going to the background): drops and wipes the keys of
/// every vault open in this process at once, and every `Journal` taken from them; later calls throw
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
}

impl Vault {
    /// Wraps an opened core vault and registers it for `lock_now`.
    fn wrap(v: sebaya_core::Vault) -> Arc<Vault> {
        let inner = Arc::new(Mutex::new(Some(v)));
        if let Ok(mut open) = OPEN_VAULTS.lock() {
            open.retain(|w| w.strong_count() > 0);
            open.push(Arc::downgrade(&inner));
        }
        Arc::new(Vault {
            inner,
            sync_gate: Mutex::new(()),
        })
    }

    /// Drives a relay sync to its end through the app's transport: the vault is taken only to
    /// prepare each request and to apply each answer; a request with no answer waits (vault free)
    /// and is re-sent, re-signed, as `RelaySync::network_failed` decides. Call with the sync gate held.
    fn drive_sync(
        &self,
        http: &dyn platform::HttpTransport,
        s: &mut sebaya_core::RelaySync,
    ) -> Result<()> {
        while let Some(req) = with(&self.inner, |v| v.sync_next_request(s))? {
            match platform::send_or_reason(http, req) {
                Ok(resp) => with(&self.inner, |v| v.sync_handle_response(s, resp))?,
                Err(e) => std::thread::sleep(s.network_failed(e)?),
            }
        }
        Ok(())
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
    /// `Journal` taken from it. Later calls fail with `Locked` until the vault is opened again. Locking
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

    /// The journal of this person.
    pub fn journal(&self) -> Arc<Journal> {
        Arc::new(Journal {
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

    /// The devices of this person's journal, as this device knows them.
    pub fn journal_members(&self) -> Result<Vec<Member>> {
        with(&self.inner, |v| {
            let me = v.device_id();
            Ok(v.journal_membership()
                .map(|m| {
                    m.members
                        .iter()
                        .map(|(d, r)| Member {
                            device_id: d.to_hex(),
                            role: match r {
                                sebaya_core::Role::Admin => "admin".into(),
                                sebaya_core::Role::Member => "member".into(),
                            },
                            this_device: *d == me,
                        })
                        .collect()
                })
                .unwrap_or_default())
        })
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

    /// Mood trends over this person's check-ins (journal entries with their mood): weekly averages
    /// and streaks, in a zone `utc_offset_min` minutes east of UTC (Jakarta: 420). Computed here;
    /// nothing leaves the device.
    pub fn mood_trends(&self, utc_offset_min: i32) -> Result<MoodTrends> {
        with(&self.inner, |v| {
            let t = v.mood_trends(utc_offset_min);
            Ok(MoodTrends {
                weeks: t
                    .weeks
                    .into_iter()
                    .map(|w| WeekMood {
                        monday_day: w.monday,
                        average: w.average,
                        count: w.count,
                    })
                    .collect(),
                current_streak: t.current_streak,
                longest_streak: t.longest_streak,
            })
        })
    }

    /// Pushes and pulls everything through the relay at `relay_url` (blocking network I/O), through
    /// the app's HTTP transport (`set_http_transport`; `NoHttpTransport` without one). The vault
    /// stays usable from other threads while the network is slow: it is taken only to prepare each
    /// request and to apply each answer.
    pub fn sync(&self, relay_url: String) -> Result<SyncReport> {
        let http = platform::transport()?;
        // The gate guards no data: a panic during an earlier sync (a throwing listener) must not
        // leave it poisoned and the vault unable to sync again.
        let _gate = match self.sync_gate.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut s = with(&self.inner, |v| v.sync_begin(&relay_url))?;
        self.drive_sync(http.as_ref(), &mut s)?;
        Ok(s.report().clone().into())
    }
}

/// A person's journal: add, edit, delete, list. Each call is one durable commit.
#[derive(uniffi::Object)]
pub struct Journal {
    inner: Shared,
}

#[uniffi::export]
impl Journal {
    /// Adds an entry; returns its id. Mood is 1 (very low) to 5 (very good).
    #[uniffi::method(default(tags = []))]
    pub fn add(&self, text: String, mood: i32, tags: Vec<String>) -> Result<String> {
        let m = self::mood(mood)?;
        with(&self.inner, |v| v.journal_add(&text, m, &tags))
    }

    /// Changes the given fields of an entry; a field left out (null) keeps its value, so Kotlin can say
    /// `edit(id, mood = 4)`.
    #[uniffi::method(default(text = None, mood = None, tags = None))]
    pub fn edit(
        &self,
        id: String,
        text: Option<String>,
        mood: Option<i32>,
        tags: Option<Vec<String>>,
    ) -> Result<()> {
        let m = mood.map(self::mood).transpose()?;
        with(&self.inner, |v| {
            v.journal_edit(&id, text.as_deref(), m, tags.as_deref())
        })
    }

    /// Deletes an entry.
    pub fn delete(&self, id: String) -> Result<()> {
        with(&self.inner, |v| v.journal_delete(&id))
    }

    /// Every entry, oldest first.
    pub fn list(&self) -> Result<Vec<JournalEntry>> {
        with(&self.inner, |v| {
            Ok(v.journal_list().into_iter().map(Into::into).collect())
        })
    }

    /// One entry, or null.
    pub fn get(&self, id: String) -> Result<Option<JournalEntry>> {
        with(&self.inner, |v| Ok(v.journal_get(&id).map(Into::into)))
    }
}

/// How a member attended a group session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Attendance {
    /// Was there.
    Present,
    /// Was not there.
    Absent,
    /// Was not there, with a reason the facilitator accepted.
    Excused,
}

impl From<Attendance> for sebaya_core::groups::Attendance {
    fn from(a: Attendance) -> Self {
        match a {
            Attendance::Present => Self::Present,
            Attendance::Absent => Self::Absent,
            Attendance::Excused => Self::Excused,
        }
    }
}

impl From<sebaya_core::groups::Attendance> for Attendance {
    fn from(a: sebaya_core::groups::Attendance) -> Self {
        match a {
            sebaya_core::groups::Attendance::Present => Self::Present,
            sebaya_core::groups::Attendance::Absent => Self::Absent,
            sebaya_core::groups::Attendance::Excused => Self::Excused,
        }
    }
}

/// A group as a list shows it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct GroupSummary {
    /// The group's id (hex).
    pub id: String,
    /// Its name.
    pub name: String,
    /// This device's role: "admin" (facilitator), "member", or "" once removed.
    pub role: String,
    /// How many devices belong to it.
    pub members: u32,
    /// The id (hex) of the period this group went on in, if a facilitator started one: show that one.
    pub next_id: Option<String>,
}

/// A note in the group notebook.
#[derive(Clone, Debug, uniffi::Record)]
pub struct GroupNote {
    /// Note id.
    pub id: String,
    /// Title (may be empty).
    pub title: String,
    /// Text, merged across the members' edits.
    pub text: String,
    /// Device id (hex) of the note's author.
    pub author: String,
    /// Created, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last edited, ms since the Unix epoch.
    pub edited_ms: i64,
}

/// One member's attendance at a session.
#[derive(Clone, Debug, uniffi::Record)]
pub struct AttendanceRecord {
    /// Device id (hex) of the member.
    pub member: String,
    /// How they attended.
    pub attendance: Attendance,
}

/// A group session.
#[derive(Clone, Debug, uniffi::Record)]
pub struct GroupSession {
    /// Session id.
    pub id: String,
    /// When it takes place, ms since the Unix epoch.
    pub date_ms: i64,
    /// Topic.
    pub topic: String,
    /// Facilitator's device id (hex).
    pub facilitator: String,
    /// Attendance recorded so far.
    pub attendance: Vec<AttendanceRecord>,
    /// Session notes.
    pub notes: String,
}

fn role_name(r: Option<sebaya_core::Role>) -> String {
    match r {
        Some(sebaya_core::Role::Admin) => "admin".into(),
        Some(sebaya_core::Role::Member) => "member".into(),
        None => String::new(),
    }
}

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

#[uniffi::export]
impl Vault {
    /// Creates a support group; this device is its facilitator. Returns the group's id. With
    /// `programme_id`, the group belongs to that programme: running its sessions then takes a
    /// facilitator who is a peer supporter or coordinator there (checked by every device); this
    /// person must hold such a role (`NotAllowed` otherwise).
    #[uniffi::method(default(programme_id = None))]
    pub fn create_group(&self, name: String, programme_id: Option<String>) -> Result<String> {
        let programme = programme_id
            .as_deref()
            .map(programmes::parse_programme)
            .transpose()?;
        Ok(with(&self.inner, |v| v.create_group_in(&name, programme))?.to_hex())
    }

    /// The groups this device belongs to.
    pub fn groups(&self) -> Result<Vec<GroupSummary>> {
        with(&self.inner, |v| {
            Ok(v.groups()
                .into_iter()
                .map(|g| GroupSummary {
                    id: g.id.to_hex(),
                    name: g.name,
                    role: role_name(g.role),
                    members: g.members as u32,
                    next_id: g.next.map(|n| n.to_hex()),
                })
                .collect())
        })
    }

    /// On the facilitator's device: adds the device that showed `request` (its `link_request()` code)
    /// to the group, as a facilitator when `as_facilitator`, and returns the code to show it. Unless
    /// `share_history`, a group that already has a past first goes on in a new period and the newcomer
    /// joins that one (reading nothing written before).
    #[uniffi::method(default(as_facilitator = false, share_history = false))]
    pub fn approve_group_member(
        &self,
        group_id: String,
        request: String,
        as_facilitator: bool,
        share_history: bool,
    ) -> Result<String> {
        let g = parse_space(&group_id)?;
        let role = if as_facilitator {
            sebaya_core::Role::Admin
        } else {
            sebaya_core::Role::Member
        };
        with(&self.inner, |v| {
            v.approve_group_member_with(&g, &request, role, share_history)
        })
    }

    /// Starts a new period of a group (facilitators): same name, members and roles, open agenda items,
    /// actions and coping ideas carried over, a new key. Members' devices follow at their next sync;
    /// the old period stays readable to them. Returns the new period's id.
    pub fn start_period(&self, group_id: String) -> Result<String> {
        let g = parse_space(&group_id)?;
        Ok(with(&self.inner, |v| v.start_period(&g))?.to_hex())
    }

    /// On the joining device: joins the group named in a response made for it. Returns its id.
    pub fn join_group(&self, response: String) -> Result<String> {
        Ok(with(&self.inner, |v| v.join_group(&response))?.to_hex())
    }

    /// Removes a member's device from a group and rotates the group key (facilitators only).
    pub fn remove_group_member(
        &self,
        group_id: String,
        device_id: String,
    ) -> Result<RotationReport> {
        let g = parse_space(&group_id)?;
        let d = parse_device(&device_id)?;
        let r = with(&self.inner, |v| v.remove_group_member(&g, &d))?;
        Ok(RotationReport {
            wrapped: r.wrapped,
            without_key: r.without_key,
            bytes: r.bytes,
        })
    }

    /// Adds a note to a group's notebook; returns its id.
    #[uniffi::method(default(title = ""))]
    pub fn group_add_note(&self, group_id: String, text: String, title: String) -> Result<String> {
        let g = parse_space(&group_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_group(&g, |doc, now| {
                sebaya_core::groups::add_note(doc, &id, &title, &text, &me, now)
            })
        })?;
        Ok(id)
    }

    /// Changes a note's title and/or text; concurrent edits by several members merge.
    #[uniffi::method(default(title = None, text = None))]
    pub fn group_edit_note(
        &self,
        group_id: String,
        note_id: String,
        title: Option<String>,
        text: Option<String>,
    ) -> Result<()> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| {
            v.with_group(&g, |doc, now| {
                sebaya_core::groups::edit_note(
                    doc,
                    &note_id,
                    title.as_deref(),
                    text.as_deref(),
                    now,
                )
            })
        })
    }

    /// The group's notes, oldest first.
    pub fn group_notes(&self, group_id: String) -> Result<Vec<GroupNote>> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| {
            v.read_group(&g, |doc| {
                sebaya_core::groups::notes(doc)
                    .into_iter()
                    .map(|n| GroupNote {
                        id: n.id,
                        title: n.title,
                        text: n.text,
                        author: n.author,
                        created_ms: n.created_ms,
                        edited_ms: n.edited_ms,
                    })
                    .collect()
            })
        })
    }

    /// Schedules a session facilitated by this device; returns its id.
    pub fn group_add_session(
        &self,
        group_id: String,
        date_ms: i64,
        topic: String,
    ) -> Result<String> {
        let g = parse_space(&group_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_group(&g, |doc, now| {
                sebaya_core::groups::add_session(doc, &id, date_ms, &topic, &me, now)
            })
        })?;
        Ok(id)
    }

    /// Records one member's attendance at a session (works offline; merges with others' records).
    pub fn group_set_attendance(
        &self,
        group_id: String,
        session_id: String,
        member_device_id: String,
        attendance: Attendance,
    ) -> Result<()> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| {
            v.with_group(&g, |doc, now| {
                sebaya_core::groups::set_attendance(
                    doc,
                    &session_id,
                    &member_device_id,
                    attendance.into(),
                    now,
                )
            })
        })
    }

    /// The group's sessions, by date.
    pub fn group_sessions(&self, group_id: String) -> Result<Vec<GroupSession>> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| {
            v.read_group(&g, |doc| {
                sebaya_core::groups::sessions(doc)
                    .into_iter()
                    .map(|s| GroupSession {
                        id: s.id,
                        date_ms: s.date_ms,
                        topic: s.topic,
                        facilitator: s.facilitator,
                        attendance: s
                            .attendance
                            .into_iter()
                            .map(|(member, a)| AttendanceRecord {
                                member,
                                attendance: a.into(),
                            })
                            .collect(),
                        notes: s.notes,
                    })
                    .collect()
            })
        })
    }

    /// The devices of a group, as this device knows them.
    pub fn group_members(&self, group_id: String) -> Result<Vec<Member>> {
        let g = parse_space(&group_id)?;
        with(&self.inner, |v| {
            let me = v.device_id();
            Ok(v.group_membership(&g)?
                .members
                .iter()
                .map(|(d, r)| Member {
                    device_id: d.to_hex(),
                    role: role_name(Some(*r)),
                    this_device: *d == me,
                })
                .collect())
        })
    }
}

/// A shared space this device belongs to.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SharedSpace {
    /// Space id (hex).
    pub id: String,
    /// "group", "pairing" or "case-notes".
    pub kind: String,
    /// This device's role: "admin", "member", or "" once removed.
    pub role: String,
}

/// A space just created for someone, with the code to show them.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CreatedSpace {
    /// The new space's id (hex).
    pub space_id: String,
    /// The response code for the other person's device (`join_space`).
    pub response: String,
}

/// A check-in in a pairing.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PairCheckin {
    /// Check-in id.
    pub id: String,
    /// Mood 1–5.
    pub mood: i32,
    /// Optional note.
    pub note: String,
    /// Device id (hex) of who checked in.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

/// A goal in a pairing.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PairGoal {
    /// Goal id.
    pub id: String,
    /// What the goal is.
    pub text: String,
    /// Progress 0–100.
    pub progress: i32,
    /// Whether it is reached (progress 100).
    pub done: bool,
}

/// A message in a pairing.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PairMessage {
    /// Message id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Device id (hex) of the sender.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

/// A case note, with the supervisor's reviews of it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CaseNote {
    /// Note id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Device id (hex) of the writer.
    pub by: String,
    /// Written, ms since the Unix epoch.
    pub at_ms: i64,
    /// The supervisor's comments on this note, oldest first.
    pub reviews: Vec<String>,
}

fn kind_name(k: sebaya_core::space::SpaceKind) -> String {
    use sebaya_core::space::SpaceKind as K;
    match k {
        K::Journal => "journal",
        K::Group => "group",
        K::Pairing => "pairing",
        K::CaseNotes => "case-notes",
        K::Index => "index",
        K::Care => "care",
        K::Report => "report",
    }
    .into()
}

fn small(n: i32, what: &str) -> Result<u8> {
    u8::try_from(n)
        .map_err(|_| sebaya_core::Error::InvalidInput(format!("{what} is out of range")).into())
}

#[uniffi::export]
impl Vault {
    /// Every shared space this device belongs to (groups, pairings, case notes).
    pub fn shared_spaces(&self) -> Result<Vec<SharedSpace>> {
        with(&self.inner, |v| {
            Ok(v.shared_spaces()
                .into_iter()
                .map(|(id, kind, role)| SharedSpace {
                    id: id.to_hex(),
                    kind: kind_name(kind),
                    role: role_name(role),
                })
                .collect())
        })
    }

    /// On any device: joins the shared space (group, pairing, case notes) named in a response made for
    /// it. Returns the space.
    pub fn join_space(&self, response: String) -> Result<SharedSpace> {
        let (id, kind) = with(&self.inner, |v| v.join_space(&response))?;
        Ok(SharedSpace {
            id: id.to_hex(),
            kind: kind_name(kind),
            role: "member".into(),
        })
    }

    /// A peer supporter opens a one-to-one pairing with the participant whose request code it
    /// scanned; show them the response.
    pub fn create_pairing(&self, participant_request: String) -> Result<CreatedSpace> {
        let (id, response) = with(&self.inner, |v| v.create_pairing(&participant_request))?;
        Ok(CreatedSpace {
            space_id: id.to_hex(),
            response,
        })
    }

    /// Records a check-in (mood 1–5 and an optional note) in a pairing.
    #[uniffi::method(default(note = ""))]
    pub fn pairing_add_checkin(
        &self,
        pairing_id: String,
        mood: i32,
        note: String,
    ) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        let m = small(mood, "mood")?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_group(&p, |d, now| {
                sebaya_core::pairing::add_checkin(d, &id, m, &note, &me, now)
            })
        })?;
        Ok(id)
    }

    /// The pairing's check-ins, oldest first.
    pub fn pairing_checkins(&self, pairing_id: String) -> Result<Vec<PairCheckin>> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| {
            v.read_group(&p, |d| {
                sebaya_core::pairing::checkins(d)
                    .into_iter()
                    .map(|c| PairCheckin {
                        id: c.id,
                        mood: i32::from(c.mood),
                        note: c.note,
                        by: c.by,
                        at_ms: c.at_ms,
                    })
                    .collect()
            })
        })
    }

    /// Adds a goal to a pairing; returns its id.
    pub fn pairing_add_goal(&self, pairing_id: String, text: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            v.with_group(&p, |d, now| {
                sebaya_core::pairing::add_goal(d, &id, &text, now)
            })
        })?;
        Ok(id)
    }

    /// Sets a goal's progress (0–100; 100 marks it reached).
    pub fn pairing_set_goal_progress(
        &self,
        pairing_id: String,
        goal_id: String,
        progress: i32,
    ) -> Result<()> {
        let p = parse_space(&pairing_id)?;
        let pr = small(progress, "progress")?;
        with(&self.inner, |v| {
            v.with_group(&p, |d, now| {
                sebaya_core::pairing::set_goal_progress(d, &goal_id, pr, now)
            })
        })
    }

    /// The pairing's goals.
    pub fn pairing_goals(&self, pairing_id: String) -> Result<Vec<PairGoal>> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| {
            v.read_group(&p, |d| {
                sebaya_core::pairing::goals(d)
                    .into_iter()
                    .map(|g| PairGoal {
                        id: g.id,
                        text: g.text,
                        progress: i32::from(g.progress),
                        done: g.done,
                    })
                    .collect()
            })
        })
    }

    /// Sends a message in a pairing; returns its id.
    pub fn pairing_send_message(&self, pairing_id: String, text: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_group(&p, |d, now| {
                sebaya_core::pairing::send_message(d, &id, &text, &me, now)
            })
        })?;
        Ok(id)
    }

    /// The pairing's messages, oldest first.
    pub fn pairing_messages(&self, pairing_id: String) -> Result<Vec<PairMessage>> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| {
            v.read_group(&p, |d| {
                sebaya_core::pairing::messages(d)
                    .into_iter()
                    .map(|m| PairMessage {
                        id: m.id,
                        text: m.text,
                        by: m.by,
                        at_ms: m.at_ms,
                    })
                    .collect()
            })
        })
    }

    /// A peer supporter opens case notes about one pairing (`about`: an opaque reference, never a
    /// name), shared only with the supervisor whose request code it scanned. With `programme_id`,
    /// writing notes takes a peer supporter of the programme and reviewing them a coordinator.
    #[uniffi::method(default(programme_id = None))]
    pub fn create_case_notes(
        &self,
        about: String,
        supervisor_request: String,
        programme_id: Option<String>,
    ) -> Result<CreatedSpace> {
        let programme = programme_id
            .as_deref()
            .map(programmes::parse_programme)
            .transpose()?;
        let (id, response) = with(&self.inner, |v| {
            v.create_case_notes_in(&about, &supervisor_request, programme)
        })?;
        Ok(CreatedSpace {
            space_id: id.to_hex(),
            response,
        })
    }

    /// Adds a case note; returns its id.
    pub fn case_notes_add(&self, space_id: String, text: String) -> Result<String> {
        let s = parse_space(&space_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_group(&s, |d, now| {
                sebaya_core::pairing::casenotes::add_note(d, &id, &text, &me, now)
            })
        })?;
        Ok(id)
    }

    /// The supervisor comments on a case note.
    pub fn case_notes_review(
        &self,
        space_id: String,
        note_id: String,
        text: String,
    ) -> Result<String> {
        let s = parse_space(&space_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_group(&s, |d, now| {
                sebaya_core::pairing::casenotes::add_review(d, &id, &note_id, &text, &me, now)
            })
        })?;
        Ok(id)
    }

    /// The case notes with their reviews, oldest first.
    pub fn case_notes(&self, space_id: String) -> Result<Vec<CaseNote>> {
        let s = parse_space(&space_id)?;
        with(&self.inner, |v| {
            v.read_group(&s, |d| {
                let reviews = sebaya_core::pairing::casenotes::reviews(d);
                sebaya_core::pairing::casenotes::notes(d)
                    .into_iter()
                    .map(|n| CaseNote {
                        reviews: reviews
                            .iter()
                            .filter(|r| r.note == n.id)
                            .map(|r| r.text.clone())
                            .collect(),
                        id: n.id,
                        text: n.text,
                        by: n.by,
                        at_ms: n.at_ms,
                    })
                    .collect()
            })
        })
    }
}
