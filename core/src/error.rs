//! The core's internal error: rich enough to act on, free of personal data and secrets.
//!
//! Messages name what failed (a table, a field, a limit), never what a person wrote, never a key.
//! The FFI layer maps these to its public error in one place.

use sebaya_proto::ProtoError;

/// Everything that can go wrong inside the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The master key does not open this vault. Nothing was written.
    #[error("the master key does not open this vault")]
    WrongKey,
    /// A stored value failed authentication: the vault file was altered or damaged.
    #[error("stored data failed its integrity check ({0})")]
    Corrupt(&'static str),
    /// The vault was written by a newer version of Sebaya.
    #[error("vault schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The caller passed something unusable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A record the caller named does not exist.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// Wire data was refused (see the inner error).
    #[error("wire data refused: {0}")]
    Proto(#[from] ProtoError),
    /// An envelope's content could not be applied; it was quarantined.
    #[error("envelope content refused: {0}")]
    Content(&'static str),
    /// The network path failed (no connection, timeout, TLS).
    #[error("network: {0}")]
    Network(String),
    /// The app stopped the sync (`SyncStop::cancel`). Everything acknowledged so far is kept; the next
    /// sync goes on from there.
    #[error("the sync was cancelled")]
    Cancelled,
    /// The time the app gave the sync ran out before it finished. Everything acknowledged so far is
    /// kept; the next sync goes on from there.
    #[error("the sync ran out of time")]
    DeadlineExceeded,
    /// The relay answered with an error.
    #[error("relay refused the request: {code} (HTTP {status})")]
    Relay {
        /// HTTP status.
        status: u16,
        /// The relay's machine-readable error code.
        code: String,
    },
    /// The pairing code is malformed, expired, or does not match its secret.
    #[error("the pairing code is invalid or has expired")]
    BadLinkCode,
    /// The invite code is damaged, not an invite, or names a kind of space that is never joined by
    /// invite.
    #[error("the invite code is not valid")]
    BadInvite,
    /// The invite's time is over: it admits nobody.
    #[error("the invite has expired")]
    InviteExpired,
    /// The invite already admitted someone: it is one-time.
    #[error("the invite has already been used")]
    InviteSpent,
    /// An admin revoked the invite.
    #[error("the invite was revoked")]
    InviteRevoked,
    /// A join request that does not open with its invite's secret (made by someone who never held the
    /// code), or is otherwise forged or damaged.
    #[error("the join request is not valid")]
    BadJoinRequest,
    /// A programme role credential (grant, chain or revocation) is forged, altered, expired, for
    /// another person, or does not chain to its programme's key.
    #[error("the role credential is not valid")]
    BadCredential,
    /// A peer supporter's training is missing or has expired for the named modules (module ids,
    /// comma-separated; never a person): they cannot be given a one-to-one pairing until a
    /// coordinator certifies them again.
    #[error("training missing or expired: {0}")]
    NotCertified(String),
    /// The person shown as case notes' supervisor holds no `coordinator` role in the notes'
    /// programme (or the notes are bound to no programme, where nobody can prove it): case notes
    /// about a participant are shared with a coordinator only (issue 14, item 12). Nothing changed.
    #[error("the supervisor must be a coordinator of the programme")]
    NotSupervisor,
    /// Case notes are for the supporter, one supervisor and a successor they were handed over to:
    /// adding anyone else is refused, and nothing new is written while a member beyond that is in
    /// them (issue 14, item 12). Nothing changed.
    #[error("case notes are for the supporter, one supervisor and a handed-over successor only")]
    CaseNotesFull,
    /// A participant's care record is not erased while a referral in it waits for a coordinator's
    /// acknowledgement: erasing then would drop a risk signal silently, before anyone whose duty it
    /// is has seen it (issue 14, item 17). Nothing changed; erase once it is acknowledged.
    #[error("a referral in this care record waits for a coordinator's acknowledgement")]
    OpenReferrals,
    /// The programme makes the participant's agreement to the duty-of-care rule a condition of
    /// joining, and the enrolment did not say they agreed after being shown its text and the limits
    /// of confidentiality (issue 14, item 15). Nothing was made.
    #[error("this programme asks for the duty-of-care agreement before enrolment")]
    DutyOfCareRequired,
    /// A one-off reminder (a session, a task, a follow-up) whose time has already passed: nothing
    /// was written. Pick a time still to come (issue 18, item 4).
    #[error("the reminder's time has already passed")]
    ReminderInPast,
    /// The write needs a rules version some member device of the space has not announced yet
    /// (docs/protocol.md 12.2): an older device would refuse it and hold back everything this device
    /// writes there after it. Nothing was written; try again once they have updated (the space's
    /// rules status names who is behind).
    #[error("some devices in this space need to update before this can be written")]
    WaitingForUpdates,
    /// A report about someone who holds the reporter's care record (their supporter, a
    /// coordinator): they would see that the reporter wrote a report, so nothing was written (issue
    /// 18, item 2; protocol 31.1). The app offers the coordinator's contact or the crisis lines.
    #[error("the person reported would see that a report was written; nothing was written")]
    ReportSeenByReported,
    /// This person's care record took as many reports as it takes in a day (issue 18, item 2,
    /// review M6); nothing was written. Try again tomorrow, or reach the coordinator another way.
    #[error("too many reports today; nothing was written")]
    TooManyReports,
    /// A bundle file is damaged, truncated, altered, oversized, of another version, or carries an
    /// envelope that does not verify. Nothing of it was kept.
    #[error("the bundle is not valid: {0}")]
    BadBundle(&'static str),
    /// This bundle was imported here before. Nothing changed.
    #[error("the bundle was already imported")]
    BundleReplayed,
    /// The bundle was made by a device that belongs to none of the spaces it carries that this
    /// device holds (or it carries none of them). Nothing of it was kept.
    #[error("the bundle comes from a device this one shares no space with")]
    StrangerBundle,
    /// The other device of a peer session is not a current member of any space this device holds,
    /// or it said the same of this device. No space id, vector or envelope was sent to it.
    #[error("the other device shares no space with this one")]
    PeerNotMember,
    /// A peer session received bytes it cannot accept: a frame that does not decrypt (altered,
    /// truncated, replayed or out of order), a handshake that fails, a certificate that does not
    /// match the handshake's key, or a message out of turn. The session is over; nothing of that
    /// frame was kept, and a new session picks up from what both devices hold.
    #[error("the peer session failed: {0}")]
    BadPeerMessage(&'static str),
    /// This device already keeps a journal with entries; linking would replace it.
    #[error("this device already has its own journal")]
    AlreadyLinked,
    /// This vault already holds a person's root key; creating or restoring another would orphan it.
    #[error("this device already belongs to a person")]
    AlreadyHasPerson,
    /// This vault holds no person yet (create one, or restore one from the recovery phrase).
    #[error("this device has no person yet")]
    NoPerson,
    /// The recovery phrase was not accepted (unknown word, wrong number of words, or a checksum that
    /// does not match). The detail names a position or a count, never a word.
    #[error("the recovery phrase is not valid: {0}")]
    BadRecoveryPhrase(String),
    /// A device certificate was refused (forged, altered, garbled, or naming a weak key).
    #[error("the device certificate is not valid: {0}")]
    BadCertificate(ProtoError),
    /// A wrapped key does not open for this device: not wrapped for it, altered, or built on a
    /// low-order point.
    #[error("the wrapped key does not open for this device")]
    BadKeyWrap,
    /// The passcode does not open this vault. The try was counted: the next one is accepted in
    /// `retry_after_secs` seconds (a wrong try adds delay, never a wipe).
    #[error("the passcode is not right; try again in {retry_after_secs} s")]
    PasscodeWrong {
        /// Seconds until the next try is accepted.
        retry_after_secs: u64,
    },
    /// A try came before the delay after wrong ones was over; it was not checked nor counted.
    #[error("too soon after a wrong passcode; try again in {retry_after_secs} s")]
    PasscodeTooSoon {
        /// Seconds until the next try is accepted.
        retry_after_secs: u64,
    },
    /// This vault is protected by a passcode: open it with the passcode.
    #[error("this vault needs its passcode")]
    PasscodeRequired,
    /// The platform's key store failed; the detail is what the platform said (never key bytes).
    #[error("key store: {0}")]
    KeyStore(String),
    /// This device's role in the space does not allow the action.
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// SQLite failed.
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Automerge refused an operation.
    #[error("document: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// An internal invariant did not hold.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// The relay did not take a registration for wake-ups (protocol 28.9); nothing changed there.
    #[error("wake-up registration refused: {0}")]
    PushRefused(PushRefusal),
}

/// Why a relay did not take a registration for wake-ups (protocol 28.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushRefusal {
    /// This device has not synced with the relay yet (or the relay holds no space it gave it, 403
    /// `not-a-member`): sync first, then register.
    SyncFirst,
    /// Enough devices hold subscriptions naming this endpoint (409 `endpoint-taken`): ask the push
    /// service for a new one.
    EndpointTaken,
    /// The relay keeps as many subscriptions as it takes (503 `relay-busy`): try again later.
    RelayBusy,
    /// The relay sends no wake-ups (404): sync as before, without them.
    NotServed,
    /// The relay found the subscription malformed (400), e.g. a key that is not a point on the curve.
    Malformed,
}

impl std::fmt::Display for PushRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PushRefusal::SyncFirst => "sync with the relay first",
            PushRefusal::EndpointTaken => "the endpoint is taken",
            PushRefusal::RelayBusy => "the relay takes no more subscriptions now",
            PushRefusal::NotServed => "the relay sends no wake-ups",
            PushRefusal::Malformed => "the relay found the subscription malformed",
        })
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
