//! The relay's storage, behind one trait.
//!
//! The relay keeps its own id, the envelopes devices pushed (opaque signed bytes plus the frame fields it
//! needs to index them), the request ids it has seen recently, and two small mailboxes for remote
//! invites (`docs/protocol.md`, section 18): sealed join requests left under an invite for its author,
//! and answers to approved requests left for the admitted device, with a note of which device asked
//! under which invite (what lets an answer for it in). Membership logs are
//! not stored apart: a space's log is its stored envelopes of kind membership, replayed in arrival order
//! (`access.rs`), so storing an accepted membership envelope *is* persisting the log, in the same
//! transaction as every other envelope of the request. [`RelayStore`] is the
//! seam: SQLite ([`crate::SqliteStore`]) is the embedded default; PostgreSQL
//! ([`crate::PostgresStore`]) is for several relay nodes sharing one database, which
//! [`RelayStore::shared`] and [`RelayStore::lock_spaces`] exist for. Everything the sync
//! rules decide (what to accept, what a client lacks, paging) lives in `exchange.rs` and `exchange/`
//! on top of this trait, so a new store only has to store and look up.
//!
//! Methods **block** (disk I/O, locks). Call them from a blocking context (`tokio::task::spawn_blocking`
//! or a plain thread), never directly on an async executor thread.

use sebaya_proto::invite::InviteId;
use sebaya_proto::{DeviceId, EnvelopeId, Kind, PersonId, SpaceId, VersionVector};

use crate::error::StoreError;

#[cfg(test)]
pub(crate) mod contract;
pub(crate) mod rows;
#[cfg(test)]
pub(crate) mod testing;

/// How long the relay keeps a join request or a join answer (seconds from its arrival): 30 days. An
/// invite is meant to be answered within days; after this a request nobody approved, or an answer its
/// device never fetched, is dropped so that the mailboxes cannot grow without end.
pub const MAILBOX_RETENTION_SECS: u64 = 30 * 24 * 60 * 60;

/// How long the relay remembers that a device asked under an invite (seconds from its last join
/// request there), when no answer came: 60 days. Longer than a request is kept, so that an admin who
/// took a request late in its 30 days, or whose answer waits for room in the joiner's mailbox, can
/// still leave the answer; bounded, so that the notes of joins nobody answered go.
pub const ASK_RETENTION_SECS: u64 = 2 * MAILBOX_RETENTION_SECS;

/// The relay's identity: 16 random bytes made on first start and kept for the life of the data
/// directory. Devices sign it into every request, so a request signed for one relay is useless at
/// another.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RelayId(pub [u8; 16]);

impl RelayId {
    /// Lowercase hex, the form `/v1/info` publishes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for RelayId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RelayId({})", self.to_hex())
    }
}

/// An envelope about to be stored: the bytes exactly as received (already parsed and signature-checked
/// by the caller) and the frame fields that index it.
#[derive(Clone, Copy, Debug)]
pub struct NewEnvelope<'a> {
    /// The space (document) it belongs to.
    pub space: SpaceId,
    /// The signing device.
    pub author: DeviceId,
    /// The author's sequence number in this space; at least 1 and at most `i64::MAX`.
    pub seq: u64,
    /// The frame's kind (membership envelopes are indexed apart, to rebuild a space's log).
    pub kind: Kind,
    /// SHA-256 of `bytes`.
    pub id: EnvelopeId,
    /// The whole envelope, stored and forwarded unchanged.
    pub bytes: &'a [u8],
}

/// Bytes and envelopes held by one space, one author, or the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amount {
    /// Bytes of stored envelopes.
    pub bytes: u64,
    /// Stored envelopes.
    pub envelopes: u64,
}

/// What [`RelayStore::usage`] reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Per space asked about.
    pub spaces: std::collections::HashMap<SpaceId, Amount>,
    /// Per author asked about.
    pub authors: std::collections::HashMap<DeviceId, Amount>,
    /// Per admitted person asked about: their admitted devices together (protocol 9.8).
    pub persons: std::collections::HashMap<PersonId, Amount>,
    /// Per person asked about: the admitted spaces their devices founded, together.
    pub founders: std::collections::HashMap<PersonId, Amount>,
    /// The whole store.
    pub total: Amount,
    /// What admitted spaces hold: the rest of `total` is what spaces no programme admitted hold.
    pub admitted: Amount,
}

/// A device's Web Push subscription as the relay keeps it (protocol 28.9): checked before it is kept
/// (`webpush::Subscription::check`), at most one per device. Its `Debug` shows the endpoint's origin
/// only and none of the keys (review finding F8).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSubscription {
    /// Where wake-ups are posted.
    pub endpoint: String,
    /// The subscription's P-256 public key, uncompressed (65 bytes).
    pub p256dh: Vec<u8>,
    /// The subscription's 16-byte secret.
    pub auth: Vec<u8>,
}

impl std::fmt::Debug for StoredSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSubscription")
            .field(
                "endpoint",
                &crate::webpush::redacted_endpoint(&self.endpoint),
            )
            .field("p256dh", &format_args!("<{} bytes>", self.p256dh.len()))
            .field("auth", &format_args!("<{} bytes>", self.auth.len()))
            .finish()
    }
}

/// What happened to one envelope handed to [`RelayStore::insert_envelopes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Newly stored.
    Stored,
    /// This exact envelope was already stored; nothing changed.
    Duplicate,
    /// A *different* envelope holds the same (space, author, seq). The first one stays; this one was not
    /// stored. (An author never reuses a sequence number, so this means a cloned or buggy device.)
    Conflict,
}

/// One place in a space's sequences: at most one envelope is stored per slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot {
    /// The space.
    pub space: SpaceId,
    /// The author.
    pub author: DeviceId,
    /// The author's sequence number.
    pub seq: u64,
}

/// Whether a request id was new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestFreshness {
    /// First time seen; it is now recorded.
    Fresh,
    /// The same device already used this request id within the retention period.
    Replayed,
}

/// Index data of one stored envelope, without its bytes (so that deciding what to send never loads
/// envelope contents it will not send).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeMeta {
    /// Arrival order: increases with every stored envelope and is never reused.
    pub serial: u64,
    /// The author's sequence number.
    pub seq: u64,
    /// Length of the envelope in bytes (0 once pruned).
    pub len: u64,
    /// The frame's kind.
    pub kind: Kind,
    /// Whether a snapshot stands for it and its bytes are gone (protocol section 26).
    pub pruned: bool,
}

/// A stored snapshot envelope (kind 2), without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// Arrival order.
    pub serial: u64,
    /// Its author.
    pub author: DeviceId,
    /// Its author's sequence number.
    pub seq: u64,
    /// Its length in bytes.
    pub len: u64,
    /// When it arrived (Unix seconds, relay clock).
    pub received_at: u64,
    /// What it stands for: per author, every envelope up to this sequence number.
    pub cover: std::collections::BTreeMap<DeviceId, u64>,
}

/// A sealed join request about to be left under an invite. The relay cannot open `body`; it keeps it
/// for the invite's author.
#[derive(Clone, Copy, Debug)]
pub struct NewJoinRequest<'a> {
    /// The space the invite belongs to.
    pub space: SpaceId,
    /// The invite the request answers.
    pub invite: InviteId,
    /// The device that posted it (the signer of the sync request). Kept so that the relay knows who
    /// left what, and noted apart as having asked under the invite: a join answer is kept only for
    /// a device that asked ([`RelayStore::put_join_answer`]). Never handed out: the sealed body names
    /// the joiner to the one who can open it.
    pub device: DeviceId,
    /// The sealed request, exactly as received.
    pub body: &'a [u8],
}

/// A join request as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredJoinRequest {
    /// The space.
    pub space: SpaceId,
    /// The invite it was left under.
    pub invite: InviteId,
    /// The device that posted it.
    pub device: DeviceId,
    /// The sealed request.
    pub body: Vec<u8>,
    /// When it arrived (Unix seconds, relay clock): what pruning goes by.
    pub received_at: u64,
}

/// An answer to an approved join request, about to be left for the admitted device.
#[derive(Clone, Copy, Debug)]
pub struct NewJoinAnswer<'a> {
    /// The admitted device: the only requester it is handed to.
    pub device: DeviceId,
    /// The space it was admitted to.
    pub space: SpaceId,
    /// The invite spent.
    pub invite: InviteId,
    /// The answer, exactly as received (opaque to the relay).
    pub body: &'a [u8],
}

/// A join answer as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredJoinAnswer {
    /// The admitted device.
    pub device: DeviceId,
    /// The space.
    pub space: SpaceId,
    /// The invite spent.
    pub invite: InviteId,
    /// The answer.
    pub body: Vec<u8>,
    /// When the first answer for this (device, space, invite) arrived (Unix seconds, relay clock):
    /// replacing it keeps the time, so posting again never makes an answer stay longer.
    pub received_at: u64,
}

/// What happened to one item handed to a mailbox ([`RelayStore::put_join_request`],
/// [`RelayStore::put_join_answer`]). The limits are checked in the same transaction as the insert, so
/// two requests racing for the last place cannot both get it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailboxOutcome {
    /// Newly stored.
    Stored,
    /// Join requests: these exact bytes are already stored under this invite; nothing changed (a
    /// replayed post costs no place).
    Duplicate,
    /// Join answers: an earlier answer with the same (device, space, invite) was replaced.
    Replaced,
    /// The mailbox is at its limit; nothing changed.
    Full,
    /// Join answers: the addressed device has no join request noted under the answer's invite (it
    /// never asked there, or its request was answered already); nothing changed.
    NotRequested,
}

/// A hold on spaces against the requests of other relay processes sharing the store
/// ([`RelayStore::lock_spaces`]); let go when dropped. Drop it in a blocking context, as it was
/// taken.
pub struct SpaceHold(Option<Box<dyn Send>>);

impl SpaceHold {
    /// Nothing held: a store only one process uses needs no hold beyond the process's own gates.
    pub fn none() -> SpaceHold {
        SpaceHold(None)
    }

    /// Holds whatever `inner` holds until dropped (its `Drop` lets go).
    pub fn new(inner: impl Send + 'static) -> SpaceHold {
        SpaceHold(Some(Box::new(inner)))
    }
}

impl std::fmt::Debug for SpaceHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "SpaceHold(held)"
        } else {
            "SpaceHold(none)"
        })
    }
}

/// Storage of a relay. Implementations must be safe to share between threads; every method may block.
///
/// Envelopes are append-only: nothing here deletes or rewrites one, except erasure (section 23) and
/// pruning under a snapshot (section 26), which empties a row's bytes but keeps the row; so the sync
/// code reads vectors and envelope lists without holding a transaction across calls, and skips a
/// row that went meanwhile. The invite mailboxes are
/// not: their items are replaced, dropped once their invite closes, and pruned with age.
pub trait RelayStore: Send + Sync + 'static {
    /// The relay's persistent id (read once when the store was opened; no I/O).
    fn relay_id(&self) -> RelayId;

    /// Answers a trivial query: the readiness probe.
    fn ping(&self) -> Result<(), StoreError>;

    /// Whether other relay processes may change this store while this one serves it (PostgreSQL
    /// shared by several nodes). Then nothing read from the store may be trusted across requests:
    /// a cached membership log is checked for statements stored since it was read, on every
    /// request (`access.rs`). Default: one process per store.
    fn shared(&self) -> bool {
        false
    }

    /// Orders whole requests on `spaces` across the processes sharing the store, as each process's
    /// own gates order them within it (`access.rs`): held exclusively for a push (`write`), shared
    /// among pulls. Taken after the process's own gates, in one order, so that two requests never
    /// wait on each other in a circle. Default: nothing to hold.
    fn lock_spaces(&self, spaces: &[SpaceId], write: bool) -> Result<SpaceHold, StoreError> {
        let _ = (spaces, write);
        Ok(SpaceHold::none())
    }

    /// Records `(device, request_id)` with the request's `timestamp`, unless it is already recorded.
    /// Also forgets entries whose timestamp is older than `now - 2 × TIME_WINDOW_SECS`: a request that
    /// old is refused by the time check before it gets here, so its id no longer needs remembering. In
    /// the same periodic housekeeping, join requests and join answers that arrived more than
    /// [`MAILBOX_RETENTION_SECS`] before `now` are dropped, and notes of devices that asked more than
    /// [`ASK_RETENTION_SECS`] before `now` (an implementation may do this at most every so often
    /// rather than on every call).
    fn record_request(
        &self,
        device: &DeviceId,
        request_id: &[u8; 16],
        timestamp: u64,
        now: u64,
    ) -> Result<RequestFreshness, StoreError>;

    /// Stores envelopes in the given order, in one transaction, and reports per envelope (same order)
    /// whether it was stored, a duplicate, or a conflict. `received_at` is Unix seconds.
    fn insert_envelopes(
        &self,
        envelopes: &[NewEnvelope<'_>],
        received_at: u64,
    ) -> Result<Vec<InsertOutcome>, StoreError>;

    /// What the given spaces, authors and persons hold, the store in all, and its admitted spaces
    /// together: bytes of stored envelopes and their number (a pruned envelope's tombstone counts for
    /// nothing). What quotas are judged by ([`crate::quota`]); kept as running counts, so one call is
    /// a few lookups. A person's count is its admitted devices' (from their admission on); a space's
    /// bytes count as admitted from its admission on. One holding nothing may be left out of the maps.
    fn usage(
        &self,
        spaces: &[SpaceId],
        authors: &[DeviceId],
        persons: &[PersonId],
    ) -> Result<Usage, StoreError>;

    /// Every (author, seq) stored for `space`, as a version vector (contiguous part plus anything held
    /// above a gap).
    fn space_vector(&self, space: &SpaceId) -> Result<VersionVector, StoreError>;

    /// Index data of the envelopes of `(space, author)` with `after < seq <= up_to`, in sequence order.
    fn list_range(
        &self,
        space: &SpaceId,
        author: &DeviceId,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<EnvelopeMeta>, StoreError>;

    /// The bytes of the envelopes with these serials, in the same order.
    fn load_envelopes(&self, serials: &[u64]) -> Result<Vec<Vec<u8>>, StoreError>;

    /// For each slot (same order), the id of the envelope stored there, if any. Lets the sync rules tell
    /// a duplicate from a conflict *before* deciding what a membership envelope changes.
    fn held_ids(&self, slots: &[Slot]) -> Result<Vec<Option<EnvelopeId>>, StoreError>;

    /// The stored envelopes of kind membership in `space` with a serial above `after`, as (serial,
    /// bytes), in arrival order: what the space's membership log is rebuilt (`after` = 0) or brought up
    /// to date from.
    fn membership_envelopes(
        &self,
        space: &SpaceId,
        after: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// Leaves a join request under `(space, invite)`, in one transaction: if these exact bytes are
    /// stored there already, [`MailboxOutcome::Duplicate`]; else if `max_per_invite` requests are
    /// stored there, [`MailboxOutcome::Full`]; else it is stored with `received_at` (Unix seconds).
    /// Unless [`MailboxOutcome::Full`], it also notes that `request.device` asked under `(space,
    /// invite)` at `received_at` (a later request of the same device moves the time on; only that
    /// device's own requests do). Whether the invite may take requests at all is the sync rules'
    /// decision, made before.
    fn put_join_request(
        &self,
        request: &NewJoinRequest<'_>,
        max_per_invite: usize,
        received_at: u64,
    ) -> Result<MailboxOutcome, StoreError>;

    /// The invites of `space` under which at least one join request is stored, each once, in the
    /// order of their oldest stored request: so that the sync rules can hand out or drop requests
    /// without probing every invite the log ever opened.
    fn join_request_invites(&self, space: &SpaceId) -> Result<Vec<InviteId>, StoreError>;

    /// The join requests stored under `(space, invite)`, in arrival order.
    fn join_requests(
        &self,
        space: &SpaceId,
        invite: &InviteId,
    ) -> Result<Vec<StoredJoinRequest>, StoreError>;

    /// Drops every join request stored under `(space, invite)` (the invite no longer admits anyone);
    /// returns how many there were.
    fn delete_join_requests(&self, space: &SpaceId, invite: &InviteId) -> Result<u64, StoreError>;

    /// Leaves a join answer for `answer.device`, in one transaction: an answer stored with the same
    /// (device, space, invite) is replaced ([`MailboxOutcome::Replaced`]), keeping its arrival time;
    /// otherwise, unless `answer.device` is noted as having asked under `(space, invite)`,
    /// [`MailboxOutcome::NotRequested`]; otherwise, if the device already has `max_per_device`
    /// answers, [`MailboxOutcome::Full`]. If the device's answers would then hold more than
    /// `max_bytes_per_device` bytes of bodies, nothing changes and the outcome is
    /// [`MailboxOutcome::Full`] (a bound on what one sync answer must carry). A newly stored answer
    /// (with `received_at`) uses up the note: one request, one answer. Nothing changes on
    /// [`MailboxOutcome::NotRequested`] or [`MailboxOutcome::Full`].
    fn put_join_answer(
        &self,
        answer: &NewJoinAnswer<'_>,
        max_per_device: usize,
        max_bytes_per_device: u64,
        received_at: u64,
    ) -> Result<MailboxOutcome, StoreError>;

    /// Every join answer stored for `device`, oldest first.
    fn join_answers(&self, device: &DeviceId) -> Result<Vec<StoredJoinAnswer>, StoreError>;

    /// The newest `limit` snapshots of `space` that are not pruned, newest (highest serial) first.
    fn snapshots(&self, space: &SpaceId, limit: usize) -> Result<Vec<StoredSnapshot>, StoreError>;

    /// Prunes, in one transaction, the change and snapshot envelopes of `space` that `cover` names
    /// (`seq ≤ cover[author]`) and that arrived before `received_before`, except the one with serial
    /// `keep` (the snapshot standing for them): their bytes go, their rows stay. Membership and
    /// key-wraps envelopes are never pruned. Returns how many were pruned.
    fn prune_covered(
        &self,
        space: &SpaceId,
        cover: &std::collections::BTreeMap<DeviceId, u64>,
        keep: u64,
        received_before: u64,
    ) -> Result<u64, StoreError>;

    /// Per author, the highest pruned sequence number of `space`: a device whose vector is below it
    /// can only catch up through a snapshot.
    fn pruned_floor(
        &self,
        space: &SpaceId,
    ) -> Result<std::collections::BTreeMap<DeviceId, u64>, StoreError>;

    /// Erases a space at an admin's request (section 23): deletes every envelope of it except its
    /// membership statements, and its mailboxes (with the notes of who asked), and remembers it as
    /// erased from `at` (Unix seconds). Returns how many envelopes went. Erasing twice is harmless.
    fn erase_space(&self, space: &SpaceId, at: u64) -> Result<u64, StoreError>;

    /// Keeps `subscription` as `device`'s only one, replacing any earlier, or removes it (`None`).
    /// `now` (Unix seconds) is when it was registered.
    fn set_push_subscription(
        &self,
        device: &DeviceId,
        subscription: Option<&StoredSubscription>,
        now: u64,
    ) -> Result<(), StoreError>;

    /// Notes that `device` was given envelopes of `spaces` (a pull it may make). Only a device noted
    /// so for a space is ever woken for it (protocol 28.9): being named in a space's log is not
    /// enough, or anyone could found a space naming a stranger's device and wake it at will.
    fn note_readers(&self, device: &DeviceId, spaces: &[SpaceId]) -> Result<(), StoreError>;

    /// Whether `device` was ever given envelopes of a space still held ([`RelayStore::note_readers`]):
    /// only such a device may register a subscription, so a stranger's keys cannot fill the table.
    fn reads_any(&self, device: &DeviceId) -> Result<bool, StoreError>;

    /// The devices noted as readers of `space` that hold a subscription, each with it, in device
    /// order. Whether each may still read the space is the caller's to judge (membership changes).
    fn wake_candidates(
        &self,
        space: &SpaceId,
    ) -> Result<Vec<(DeviceId, StoredSubscription)>, StoreError>;

    /// Binds the store to the relay's VAPID public key `public` the first time, and answers whether
    /// `public` is the key it is bound to (review finding F2): every node of one database must sign
    /// with the one key devices subscribed with.
    fn bind_push_key(&self, public: &[u8]) -> Result<bool, StoreError>;

    /// How many subscriptions of devices other than `device` name `endpoint`, and how many
    /// subscriptions of devices other than `device` are kept in all (the bounds of protocol 28.9).
    fn push_subscription_counts(
        &self,
        endpoint: &str,
        device: &DeviceId,
    ) -> Result<(u64, u64), StoreError>;

    /// Removes `device`'s subscription if it still names `endpoint` (the push service said it is
    /// gone; one registered since stays). Returns whether one went.
    fn forget_push_subscription(
        &self,
        device: &DeviceId,
        endpoint: &str,
    ) -> Result<bool, StoreError>;

    /// Forgets that `devices` read `space` (the log says they may not read it any more: removed, or
    /// left). A later pull they may make notes them again.
    fn forget_readers(&self, space: &SpaceId, devices: &[DeviceId]) -> Result<(), StoreError>;

    /// Notes `person` admitted until `until` (Unix seconds; a later end kept over an earlier one),
    /// and `device` as theirs, in one transaction (`crate::admission`). Returns the person the
    /// store holds for `device` (a device keeps the first person it was admitted for).
    fn admit_person(
        &self,
        person: &PersonId,
        until: u64,
        device: &DeviceId,
    ) -> Result<PersonId, StoreError>;

    /// Notes `device` as a device of the admitted `person`, unless it is already some person's;
    /// returns the person the store holds for it.
    fn admit_device(&self, device: &DeviceId, person: &PersonId) -> Result<PersonId, StoreError>;

    /// Notes `space` admitted, for good, from `at`, founded by a device of `founder`.
    fn admit_space(&self, space: &SpaceId, at: u64, founder: &PersonId) -> Result<(), StoreError>;

    /// Until when `person` was admitted, if ever.
    fn admitted_person(&self, person: &PersonId) -> Result<Option<u64>, StoreError>;

    /// The person of `device`, if it was admitted.
    fn admitted_device(&self, device: &DeviceId) -> Result<Option<PersonId>, StoreError>;

    /// The person whose device founded `space`, if the space was admitted.
    fn admitted_space(&self, space: &SpaceId) -> Result<Option<PersonId>, StoreError>;

    /// Keeps `author`'s signed erasure statement of `space` (protocol 23.2; checked by the caller:
    /// signed by `author`, a current member). An author's first statement stands.
    fn put_erasure(
        &self,
        space: &SpaceId,
        author: &DeviceId,
        statement: &[u8],
    ) -> Result<(), StoreError>;

    /// The erasure statements kept for `space`, by author.
    fn erasures(&self, space: &SpaceId) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Which of `spaces` are erased.
    fn erased(&self, spaces: &[SpaceId]) -> Result<Vec<SpaceId>, StoreError>;

    /// Forgets the answer for (`device`, `space`, `invite`), once the device says it took it.
    /// Returns how many rows went (0 or 1).
    fn delete_join_answer(
        &self,
        device: &DeviceId,
        space: &SpaceId,
        invite: &InviteId,
    ) -> Result<u64, StoreError>;
}
