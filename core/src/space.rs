//! Spaces: one Automerge document with its key, counters and vectors, kept in the vault and moved as
//! envelopes.
//!
//! Local edits are made durable at once as sealed incremental chunks (`save_after` the heads last
//! written); at sync time the device's own changes since its previous envelope are sealed into a
//! `changes` envelope whose sequence number is taken and stored in the same SQLite transaction that
//! stores the envelope, so a number is never used twice and never skipped. Received envelopes are
//! stored first, then applied; an envelope whose content fails is quarantined and never blocks the
//! others.
//!
//! This file holds the space itself (its record in the vault, loading, its membership log and
//! members, persisting and compacting the document). The rest is split by idea: `outgoing.rs`
//! (sealing and what to send), `apply.rs` (receiving and applying), `verdicts.rs` (judging
//! again when the log changes), `keys.rs` (epochs, rotation,
//! history), `snapshot.rs`, `codec.rs`, `history.rs`, `kind.rs`, `doc.rs` (helpers every typed view
//! uses), `rules.rs` (who may write what), `held.rs` (the shared spaces a device holds),
//! `credentials.rs` (the programme credentials a device keeps, published into bound spaces),
//! `devices.rs` (a person's devices, linking), `index.rs` (the person's index, erased markers),
//! `invites.rs` (invites and join requests).

use std::collections::BTreeMap;

use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use sebaya_proto::membership::{
    MembershipLog, MembershipState, Op, Role, SignedStatement, Statement, StatementId,
};
use sebaya_proto::{DeviceId, Envelope, EpochId, SpaceId, VersionVector};

use crate::crypto::{self, Key32};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::store::Store;

mod apart;
mod apply;
#[cfg(test)]
mod apply_tests;
mod bounds;
mod codec;
#[cfg(test)]
mod compact_tests;
#[cfg(test)]
mod cost_tests;
pub(crate) mod credentials;
pub(crate) mod devices;
pub(crate) mod doc;
pub mod erasure;
pub(crate) mod held;
mod history;
pub mod index;
pub mod invites;
mod keys;
mod kind;
mod outgoing;
pub(crate) mod rules;
pub mod rulesann;
#[cfg(test)]
mod rulesann_tests;
#[cfg(test)]
mod seal_cost_tests;
mod snapshot;
#[cfg(test)]
mod snapshot_verdicts_tests;
mod verdicts;
#[cfg(test)]
mod verdicts_tests;
pub mod versions;
#[cfg(test)]
mod versions_tests;
pub use apart::{
    MAX_HELD_APART, MAX_HELD_APART_BYTES, MAX_HELD_APART_IN_VAULT, MAX_HELD_APART_IN_VAULT_BYTES,
};
pub use codec::{
    CODEC_BUNDLE, CODEC_DEFLATE_CHANGES, MAX_INFLATED_LEN, decode_changes, encode_changes,
};
// How a space applies a member's changes and merges a member's document: for the fuzz harness.
#[doc(hidden)]
pub use codec::{apply_untrusted, load_untrusted, merge_untrusted, save_that_reloads};
pub use kind::SpaceKind;
pub use snapshot::{DEFAULT_SNAPSHOT_EVERY, MIN_SNAPSHOT_EVERY, SNAPSHOT_CODEC_SAVE};

/// HKDF label of a key's commitment (what a `Rotate` statement and a genesis epoch commit to).
pub const KEY_COMMIT_LABEL: &[u8] = b"sebaya/v1/key-commit";

/// What a rotation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Devices the new key was wrapped for.
    pub wrapped: u32,
    /// Members whose X25519 key this device does not know (they get the key when an admin who knows
    /// it rotates, or by linking again).
    pub without_key: u32,
    /// Size of the key-wraps envelope.
    pub bytes: u64,
}

/// Local chunks kept before sync or open compacts them into one `save()`.
const COMPACT_AFTER_CHUNKS: u32 = 128;
/// Chunks after which even a local edit compacts (a device that neither syncs nor restarts).
const COMPACT_BACKSTOP_CHUNKS: u32 = 2048;
/// Largest raw change bytes sealed into one envelope (keeps each envelope well under its limit).
const MAX_BATCH_RAW: usize = 2 * 1024 * 1024;

/// The stored form of a space record (CBOR, sealed in the `spaces` table).
#[derive(Serialize, Deserialize)]
struct SpaceRecord {
    v: u8,
    id: ByteBuf,
    kind: u8,
    key: ByteBuf,
    epoch: ByteBuf,
    next_seq: u64,
    sealed_change_seq: u64,
    held: Vec<(ByteBuf, u64)>,
    gaps: Vec<(ByteBuf, u64)>,
    relay_acked: Vec<(ByteBuf, u64)>,
    /// Keys of earlier epochs (epoch id, key), kept so history stays readable after a rotation.
    #[serde(default)]
    older: Vec<(ByteBuf, ByteBuf)>,
    /// Which devices each epoch's key was wrapped for (to notice a wrap for a since-removed device).
    #[serde(default)]
    recipients: Vec<(ByteBuf, Vec<ByteBuf>)>,
    /// Changes the document held when this device last sealed or took a snapshot (`snapshot.rs`).
    #[serde(default)]
    snap_base: u64,
    /// Envelopes held (sum of the contiguous vector) at that time.
    #[serde(default)]
    snap_envelopes: u64,
    /// What taken snapshots' covers named beyond what was known to exist then (`snapshot.rs`).
    #[serde(default)]
    cover_pending: Vec<(ByteBuf, u64)>,
    /// The document's heads at the last seal (`outgoing.rs`): a seal reads only what came after
    /// them. Absent in records written before it (the next seal reads everything once).
    #[serde(default)]
    sealed_heads: Vec<ByteBuf>,
    /// The generation of this device's Automerge actor in this space (protocol 8.1): raised each
    /// time one of its own changes leaves the document. Absent (0) in records written before it.
    #[serde(default)]
    generation: u32,
    /// The generation `sealed_change_seq` counts in. Absent (0) in records written before it.
    #[serde(default)]
    sealed_generation: u32,
}

/// A space open in memory.
pub struct Space {
    /// The space id.
    pub id: SpaceId,
    /// What it is.
    pub kind: SpaceKind,
    key: Key32,
    /// The current epoch: the one this device writes under.
    pub epoch: EpochId,
    /// Keys of earlier epochs, for reading what was written under them.
    older: BTreeMap<EpochId, Key32>,
    /// Which devices each epoch's key was wrapped for, as seen in key-wraps envelopes.
    recipients: BTreeMap<EpochId, Vec<DeviceId>>,
    /// The Automerge document.
    pub doc: AutoCommit,
    next_seq: u64,
    /// This device's last sealed change: its actor's generation and its Automerge sequence number
    /// (compared in that order: a change of its own after them is not sealed yet).
    sealed_generation: u32,
    sealed_change_seq: u64,
    /// The generation of the Automerge actor this device writes with here
    /// ([`actor_of_generation`]).
    generation: u32,
    /// The document's heads when this device last sealed: every change of its own in their past
    /// is at or before (`sealed_generation`, `sealed_change_seq`), so a seal reads only the changes
    /// after them (`outgoing.rs`). Heads the document does not know are passed over by Automerge,
    /// which then returns more, never less: a stale or foreign cursor costs one longer walk, never
    /// a change.
    sealed_heads: Vec<ChangeHash>,
    /// Envelopes held.
    pub vector: VersionVector,
    /// The relay's last acknowledged vector.
    pub relay_acked: BTreeMap<DeviceId, u64>,
    chunks: u32,
    /// Heads of the document as last written to the vault: `persist` writes what came after them.
    persisted: Vec<ChangeHash>,
    /// Who may read and write this space: the signed, hash-linked membership log.
    log: MembershipLog,
    /// `log.state()`, kept current after every insert (computing it walks the whole log).
    members: MembershipState,
    me: DeviceId,
    /// Changes the document held when this device last sealed or took a snapshot: the next one is
    /// due `snapshot_every` changes later.
    snap_base: u64,
    /// Envelopes held (the sum of the contiguous vector) at that time: a snapshot only pays when the
    /// changes since the last one are spread over several envelopes.
    snap_envelopes: u64,
    /// What taken snapshots' covers named beyond what was known to exist when they were taken: the
    /// vector rises to it as the relay's answers show those envelopes exist (`snapshot.rs`).
    cover_pending: BTreeMap<DeviceId, u64>,
    /// The log's (applied, pending) statement counts when the envelopes held apart were last judged
    /// against it (`apart.rs`): judged again only when the log changed.
    apart_judged: Option<(usize, usize)>,
    /// Changes read from the document to find this device's unsealed ones (`seal_outgoing`,
    /// `all_sent`, `unacked_changes`) and to count them (`change_count`, which a sync's snapshot
    /// check calls) since the space was loaded: what the seal cost tests bound.
    seal_work: u64,
    /// Changes the document held when `change_count` last counted them, and its heads then
    /// (`snapshot.rs`): the next count reads only what came since. Kept in memory only.
    counted: u64,
    counted_heads: Vec<ChangeHash>,
    /// The envelope versions each member announced in the document (`versions.rs`): which version
    /// this device seals in. Kept in memory only, read again from the document after a load.
    announced: versions::Announcements,
    /// The rules versions the members announced (`rulesann.rs`).
    rules_announced: rulesann::RulesAnnouncements,
}

/// What receiving a batch of envelopes did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReceiveReport {
    /// Envelopes newly stored.
    pub stored: u32,
    /// Envelopes already held (duplicates are harmless).
    pub duplicates: u32,
    /// Envelopes refused before storing (bad signature, wrong space, conflicting sequence number).
    pub refused: u32,
    /// Envelopes whose changes are now in the document.
    pub applied: u32,
    /// Envelopes set aside because their content could not be applied.
    pub quarantined: u32,
    /// Membership envelopes left for a later call because this one had judged
    /// `MAX_NEW_STATEMENTS_PER_SPACE` new statements already (each costs an evaluation of the whole
    /// log): not stored, so the relay or peer sends them again.
    pub deferred: u32,
    /// Envelopes held apart: their author is not one the membership log admits (yet). Not counted
    /// in the vector, not applied; taken in if a statement admitting the author arrives, dropped
    /// once the log says no (`apart.rs`, docs/protocol.md 7.1).
    pub held_apart: u32,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The actor id a device writes with in its first generation: its device id, so every change names
/// its signer (protocol 8.1).
pub fn actor_of(device: &DeviceId) -> ActorId {
    actor_of_generation(device, 0)
}

/// Bytes a generation takes after the device id in an actor id of generation 1 or later.
const GENERATION_LEN: usize = 4;

/// The actor id a device writes with in `generation` (protocol 8.1, rules version 6): its device
/// id in generation 0; after, the device id followed by the generation (4 bytes, big-endian). A
/// device starts a generation each time one of its own changes leaves its document (15.10), so it
/// never numbers two different changes alike under one actor.
pub fn actor_of_generation(device: &DeviceId, generation: u32) -> ActorId {
    if generation == 0 {
        return ActorId::from(&device.0[..]);
    }
    let mut bytes = Vec::with_capacity(32 + GENERATION_LEN);
    bytes.extend_from_slice(&device.0);
    bytes.extend_from_slice(&generation.to_be_bytes());
    ActorId::from(bytes)
}

/// The device and generation an actor id names, or `None` for any other form (a 36-byte id that
/// names generation 0 included: each generation has exactly one actor id).
pub fn actor_generation(actor: &ActorId) -> Option<(DeviceId, u32)> {
    let bytes = actor.to_bytes();
    let (device, rest) = bytes.split_first_chunk::<32>()?;
    let generation = match rest.len() {
        0 => 0,
        GENERATION_LEN => {
            let g = u32::from_be_bytes(rest.try_into().ok()?);
            if g == 0 {
                return None;
            }
            g
        }
        _ => return None,
    };
    Some((DeviceId(*device), generation))
}

/// The device an actor id belongs to, whatever its generation.
pub fn actor_device(actor: &ActorId) -> Option<DeviceId> {
    actor_generation(actor).map(|(d, _)| d)
}

/// The epoch id of a space's first key: SHA-256 over a label, the space id and a commitment to the key.
pub fn genesis_epoch(space: &SpaceId, key: &[u8; 32]) -> Result<EpochId> {
    let commit = crypto::derive(key, KEY_COMMIT_LABEL)?;
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(b"sebaya/v1/genesis-epoch");
    m.extend_from_slice(&space.0);
    m.extend_from_slice(commit.as_ref());
    Ok(EpochId(crypto::sha256(&m)))
}

fn pairs(map: &BTreeMap<DeviceId, u64>) -> Vec<(ByteBuf, u64)> {
    map.iter()
        .map(|(a, s)| (ByteBuf::from(a.0.to_vec()), *s))
        .collect()
}

fn unpairs(p: &[(ByteBuf, u64)]) -> Result<BTreeMap<DeviceId, u64>> {
    p.iter()
        .map(|(a, s)| {
            Ok((
                DeviceId::from_slice(a).map_err(|_| Error::Corrupt("space record"))?,
                *s,
            ))
        })
        .collect()
}

impl Space {
    /// The Automerge actor this device writes with here now (its current generation's).
    pub(crate) fn actor(&self) -> ActorId {
        actor_of_generation(&self.me, self.generation)
    }

    /// The generation of `actor` when it is one of this device's, whatever the generation.
    fn own_generation(&self, actor: &ActorId) -> Option<u32> {
        actor_generation(actor).and_then(|(d, g)| (d == self.me).then_some(g))
    }

    /// Creates a new space with a fresh id and key; this device is its first author and, by the
    /// genesis statement it signs (the space's first envelope), its first admin.
    pub fn create(store: &Store, kind: SpaceKind, id: &Identity) -> Result<Space> {
        let space_id = SpaceId(crypto::random()?);
        let key = crypto::random_key()?;
        let mut space = Self::adopt(store, space_id, kind, key, id.device)?;
        space.write_statement(
            store,
            id,
            Op::Genesis {
                admin: id.device,
                x25519: Some(id.x25519_public),
            },
        )?;
        Ok(space)
    }

    /// Starts holding a space at a given epoch (a link response names it); its membership arrives as
    /// envelopes.
    pub fn adopt_at(
        store: &Store,
        id: SpaceId,
        kind: SpaceKind,
        key: Key32,
        epoch: EpochId,
        me: DeviceId,
    ) -> Result<Space> {
        let mut space = Self::adopt(store, id, kind, key, me)?;
        space.epoch = epoch;
        space.save_record(store)?;
        Ok(space)
    }

    /// Starts holding a space whose id and key came from elsewhere, at the key's genesis epoch.
    pub fn adopt(
        store: &Store,
        id: SpaceId,
        kind: SpaceKind,
        key: Key32,
        me: DeviceId,
    ) -> Result<Space> {
        let epoch = genesis_epoch(&id, &key)?;
        let space = Space {
            id,
            kind,
            key,
            epoch,
            older: BTreeMap::new(),
            recipients: BTreeMap::new(),
            doc: AutoCommit::new().with_actor(actor_of(&me)),
            next_seq: 1,
            sealed_generation: 0,
            sealed_change_seq: 0,
            generation: 0,
            sealed_heads: Vec::new(),
            snap_base: 0,
            snap_envelopes: 0,
            cover_pending: BTreeMap::new(),
            vector: VersionVector::new(),
            relay_acked: BTreeMap::new(),
            chunks: 0,
            persisted: Vec::new(),
            log: MembershipLog::new(id),
            members: MembershipState::default(),
            me,
            apart_judged: None,
            seal_work: 0,
            counted: 0,
            counted_heads: Vec::new(),
            announced: versions::Announcements::default(),
            rules_announced: rulesann::RulesAnnouncements::default(),
        };
        space.save_record(store)?;
        Ok(space)
    }

    /// The device that founded the space (its genesis admin), once the genesis is held.
    pub fn creator(&self) -> Option<DeviceId> {
        let g = self.log.genesis()?;
        self.log.get(&g).map(|st| st.statement().author)
    }

    /// The space key (for handing to another device of the same person).
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    fn row_key(store: &Store, id: &SpaceId) -> Vec<u8> {
        store.lookup("spaces", &id.0)
    }

    /// Destroys everything this vault holds of a space: its record (every epoch key), its document
    /// chunks, its envelopes and its membership statements, in one transaction. What was deleted is
    /// unreadable afterwards on this device: the keys are gone with it. (SQLite may keep deleted
    /// pages in the file until they are reused; they hold only data sealed under the vault key.)
    pub fn destroy(store: &Store, id: &SpaceId) -> Result<()> {
        let sk = Self::row_key(store, id);
        let tx = store.conn.unchecked_transaction()?;
        for table in ["spaces", "doc_chunks", "envelopes", "membership"] {
            let column = if table == "spaces" { "k" } else { "space" };
            tx.execute(&format!("DELETE FROM {table} WHERE {column} = ?1"), [&sk])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes the record (counters, vectors, key) to the vault.
    pub fn save_record(&self, store: &Store) -> Result<()> {
        let rec = SpaceRecord {
            v: 1,
            id: ByteBuf::from(self.id.0.to_vec()),
            kind: self.kind.to_byte(),
            key: ByteBuf::from(self.key.to_vec()),
            epoch: ByteBuf::from(self.epoch.0.to_vec()),
            next_seq: self.next_seq,
            sealed_change_seq: self.sealed_change_seq,
            generation: self.generation,
            sealed_generation: self.sealed_generation,
            sealed_heads: self
                .sealed_heads
                .iter()
                .map(|h| ByteBuf::from(h.0.to_vec()))
                .collect(),
            snap_base: self.snap_base,
            snap_envelopes: self.snap_envelopes,
            cover_pending: pairs(&self.cover_pending),
            held: pairs(self.vector.contiguous()),
            gaps: self
                .vector
                .above_gap()
                .map(|(a, s)| (ByteBuf::from(a.0.to_vec()), s))
                .collect(),
            relay_acked: pairs(&self.relay_acked),
            older: self
                .older
                .iter()
                .map(|(e, k)| (ByteBuf::from(e.0.to_vec()), ByteBuf::from(k.to_vec())))
                .collect(),
            recipients: self
                .recipients
                .iter()
                .map(|(e, ds)| {
                    (
                        ByteBuf::from(e.0.to_vec()),
                        ds.iter().map(|d| ByteBuf::from(d.0.to_vec())).collect(),
                    )
                })
                .collect(),
        };
        let mut plain = Zeroizing::new(Vec::new());
        ciborium::into_writer(&rec, &mut *plain)
            .map_err(|_| Error::Internal("encode space record"))?;
        let mut rec = rec;
        zeroize::Zeroize::zeroize(rec.key.as_mut_slice());
        for (_, k) in rec.older.iter_mut() {
            zeroize::Zeroize::zeroize(k.as_mut_slice());
        }
        let k = Self::row_key(store, &self.id);
        let v = store.seal("spaces", &k, &plain)?;
        store.conn.execute(
            "INSERT OR REPLACE INTO spaces (k, v) VALUES (?1, ?2)",
            params![k, v],
        )?;
        Ok(())
    }

    /// Loads a space: record, document chunks, then any envelopes still waiting to apply.
    pub fn load(store: &Store, id: &SpaceId, identity: &Identity) -> Result<Space> {
        let me = identity.device;
        let k = Self::row_key(store, id);
        let sealed: Option<Vec<u8>> = store
            .conn
            .query_row("SELECT v FROM spaces WHERE k = ?1", [&k], |r| r.get(0))
            .optional()?;
        let sealed = sealed.ok_or(Error::NotFound("space"))?;
        let plain = store.open_value("spaces", &k, &sealed)?;
        let rec: SpaceRecord = sebaya_proto::cbor::decode(plain.as_slice(), 256)
            .map_err(|_| Error::Corrupt("space record"))?;
        let key: [u8; 32] = rec
            .key
            .as_slice()
            .try_into()
            .map_err(|_| Error::Corrupt("space record"))?;
        let mut recipients = BTreeMap::new();
        for (e, ds) in &rec.recipients {
            let e = EpochId::from_slice(e).map_err(|_| Error::Corrupt("space record"))?;
            let ds = ds
                .iter()
                .map(|d| DeviceId::from_slice(d).map_err(|_| Error::Corrupt("space record")))
                .collect::<Result<Vec<_>>>()?;
            recipients.insert(e, ds);
        }
        let mut older = BTreeMap::new();
        for (e, k) in &rec.older {
            let k: [u8; 32] = k
                .as_slice()
                .try_into()
                .map_err(|_| Error::Corrupt("space record"))?;
            older.insert(
                EpochId::from_slice(e).map_err(|_| Error::Corrupt("space record"))?,
                Zeroizing::new(k),
            );
        }
        let mut rec = rec;
        zeroize::Zeroize::zeroize(rec.key.as_mut_slice());
        for (_, k) in rec.older.iter_mut() {
            zeroize::Zeroize::zeroize(k.as_mut_slice());
        }
        let mut vector = VersionVector::from_contiguous(unpairs(&rec.held)?);
        for (a, s) in unpairs(&rec.gaps)? {
            vector.insert(a, s);
        }
        let mut doc = AutoCommit::new();
        let mut stmt = store
            .conn
            .prepare_cached("SELECT v FROM doc_chunks WHERE space = ?1 ORDER BY n")?;
        let rows = stmt.query_map([&k], |r| r.get::<_, Vec<u8>>(0))?;
        let mut chunks = 0u32;
        for row in rows {
            chunks += 1;
            let chunk = store.open_value("doc_chunks", &k, &row?)?;
            doc.load_incremental(&chunk)
                .map_err(|_| Error::Corrupt("document chunk"))?;
        }
        drop(stmt);
        doc.set_actor(actor_of_generation(&me, rec.generation));
        let mut space = Space {
            id: SpaceId::from_slice(&rec.id).map_err(|_| Error::Corrupt("space record"))?,
            kind: SpaceKind::from_byte(rec.kind)?,
            key: Zeroizing::new(key),
            epoch: EpochId::from_slice(&rec.epoch).map_err(|_| Error::Corrupt("space record"))?,
            older,
            recipients,
            doc,
            next_seq: rec.next_seq,
            sealed_generation: rec.sealed_generation,
            sealed_change_seq: rec.sealed_change_seq,
            generation: rec.generation,
            sealed_heads: rec
                .sealed_heads
                .iter()
                .map(|h| ChangeHash::try_from(h.as_slice()))
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| Error::Corrupt("space record"))?,
            snap_base: rec.snap_base,
            snap_envelopes: rec.snap_envelopes,
            cover_pending: unpairs(&rec.cover_pending)?,
            vector,
            relay_acked: unpairs(&rec.relay_acked)?,
            chunks,
            persisted: Vec::new(),
            log: MembershipLog::new(*id),
            members: MembershipState::default(),
            me,
            apart_judged: None,
            seal_work: 0,
            counted: 0,
            counted_heads: Vec::new(),
            announced: versions::Announcements::default(),
            rules_announced: rulesann::RulesAnnouncements::default(),
        };
        space.load_membership(store)?;
        // What was just loaded is already stored: only what comes after these heads is new.
        space.persisted = space.doc.get_heads();
        space.requeue_refused(store)?;
        space.apply_pending(store, identity)?;
        space.compact_if_needed(store)?;
        Ok(space)
    }

    /// Who may read and write, as this device currently knows it.
    pub fn membership(&self) -> &MembershipState {
        &self.members
    }

    /// The membership envelopes this device holds, in no particular order (each carries one signed
    /// statement; together they are the log a new member needs).
    pub fn membership_envelopes(&self, store: &Store) -> Result<Vec<Vec<u8>>> {
        let sk = Self::row_key(store, &self.id);
        let mut stmt = store
            .conn
            .prepare_cached("SELECT k, v FROM membership WHERE space = ?1")?;
        let rows = stmt.query_map([&sk], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (k, v) = row?;
            out.push(store.open_value("membership", &k, &v)?.to_vec());
        }
        Ok(out)
    }

    /// Rebuilds the log from the vault's membership envelopes, evaluating it once at the end
    /// (`MembershipLog::insert_many`), not after each statement: opening a vault that holds a
    /// hostile log costs near-linear work per statement (issue 15, item 1).
    fn load_membership(&mut self, store: &Store) -> Result<()> {
        let mut statements = Vec::new();
        for bytes in self.membership_envelopes(store)? {
            let env = Envelope::parse(&bytes)?;
            statements.push(SignedStatement::from_envelope(&env)?);
        }
        for inserted in self.log.insert_many(statements) {
            inserted?;
        }
        self.members = self.log.state();
        Ok(())
    }

    /// Units of work the membership log's evaluations have taken since the space was loaded
    /// (`MembershipLog::work`): what the cost tests bound.
    pub fn membership_work(&self) -> u64 {
        self.log.work()
    }

    fn membership_key(store: &Store, space: &SpaceId, st: &SignedStatement) -> Vec<u8> {
        let mut m = Vec::with_capacity(48);
        m.extend_from_slice(&space.0);
        m.extend_from_slice(&st.id().0);
        store.lookup("membership", &m)
    }

    /// Adds a verified membership envelope to the log and the vault (inside the caller's transaction).
    fn store_statement(
        &mut self,
        store: &Store,
        env: &Envelope,
        st: SignedStatement,
    ) -> Result<()> {
        let k = Self::membership_key(store, &self.id, &st);
        let sk = Self::row_key(store, &self.id);
        let v = store.seal("membership", &k, env.as_bytes())?;
        self.log.insert(st)?;
        store.conn.execute(
            "INSERT OR IGNORE INTO membership (k, space, v) VALUES (?1, ?2, ?3)",
            params![k, sk, v],
        )?;
        self.members = self.log.state();
        self.use_newest_epoch();
        Ok(())
    }

    /// Signs a membership statement on top of the current heads, seals it as this device's next
    /// envelope and applies it. Returns the envelope (so it can be handed to a new member directly).
    pub fn write_statement(&mut self, store: &Store, id: &Identity, op: Op) -> Result<Vec<u8>> {
        let parents = self.members.heads.clone();
        self.write_statement_after(store, id, parents, op)
    }

    /// Like [`Space::write_statement`], on top of `parents` this device may not hold yet (a vouch
    /// made from the anchors an index records, before the space's log has arrived: it waits for
    /// them here, and the relay judges it against its own log).
    pub fn write_statement_after(
        &mut self,
        store: &Store,
        id: &Identity,
        parents: Vec<StatementId>,
        op: Op,
    ) -> Result<Vec<u8>> {
        if id.device != self.me {
            return Err(Error::Internal(
                "statement author is not this space's device",
            ));
        }
        let statement = Statement::new(self.id, parents, id.device, now_secs(), op);
        let signer = id.signing_key()?;
        let signed = statement.sign(&signer)?;
        let env = signed.to_envelope(self.id, self.next_seq, &signer)?;
        let tx = store.durable_transaction()?;
        Self::insert_envelope(store, &env, &self.me, self.next_seq, 1)?;
        let before = self.members.clone();
        self.store_statement(store, &env, signed)?;
        self.vector.insert(self.me, self.next_seq);
        self.next_seq += 1;
        let again = self.log_changed(store, id, &before)?;
        self.save_record(store)?;
        tx.commit()?;
        if again {
            self.apply_pending(store, id)?;
        }
        Ok(env.into_bytes())
    }

    /// Stores a statement signed by another key at that key's sequence number `seq` (the index
    /// space's genesis and first add, signed by the phrase-derived index author).
    pub(crate) fn write_foreign_statement(
        &mut self,
        store: &Store,
        author: &Identity,
        seq: u64,
        statement: Statement,
    ) -> Result<()> {
        let signer = author.signing_key()?;
        let signed = statement.sign(&signer)?;
        let env = signed.to_envelope(self.id, seq, &signer)?;
        let tx = store.conn.unchecked_transaction()?;
        Self::insert_envelope(store, &env, &author.device, seq, 1)?;
        self.store_statement(store, &env, signed)?;
        self.vector.insert(author.device, seq);
        self.save_record(store)?;
        tx.commit()?;
        Ok(())
    }

    /// Every epoch key this device holds (current first), for the person's index.
    pub(crate) fn all_keys(&self) -> Vec<(EpochId, [u8; 32])> {
        let mut out = vec![(self.epoch, *self.key)];
        out.extend(self.older.iter().map(|(e, k)| (*e, **k)));
        out
    }

    /// Starts holding a space from keys an index lists: its first key (the one its genesis epoch
    /// commits to) becomes current and every other key is kept; the newest epoch whose key is held
    /// becomes current once the log arrives.
    pub(crate) fn adopt_with_keys(
        store: &Store,
        id: SpaceId,
        kind: SpaceKind,
        keys: &[(EpochId, [u8; 32])],
        me: DeviceId,
    ) -> Result<Space> {
        let mut first = None;
        for (e, k) in keys {
            if genesis_epoch(&id, k)? == *e {
                first = Some(*k);
            }
        }
        let first = first.ok_or(Error::Corrupt("index entry without its first key"))?;
        let mut space = Self::adopt(store, id, kind, Zeroizing::new(first), me)?;
        for (e, k) in keys {
            if space.key_for(e).is_none() {
                space.older.insert(*e, Zeroizing::new(*k));
            }
        }
        space.save_record(store)?;
        Ok(space)
    }

    /// Adds a device to this space with `role`, by a statement this device signs (it must be an admin
    /// here, or every holder will ignore the statement).
    pub fn add_member(
        &mut self,
        store: &Store,
        id: &Identity,
        device: DeviceId,
        x25519: [u8; 32],
        role: Role,
        person: Option<[u8; 32]>,
    ) -> Result<Vec<u8>> {
        if !self.members.is_admin(&id.device) {
            return Err(Error::NotAllowed(
                "only an admin of a space can add members",
            ));
        }
        self.write_statement(
            store,
            id,
            Op::Add {
                device,
                role,
                person,
                x25519: Some(x25519),
            },
        )
    }

    /// Gives a current member another role (admins only): a facilitator makes a member a
    /// co-facilitator, or a co-facilitator steps back. A demotion records the device's last
    /// sequence number this device holds as its cutoff (protocol 15.10): what it wrote up to there
    /// stays a facilitator's on every device; what it wrote later, even concurrently, is judged as
    /// a member's everywhere. Changes nothing when the device already has the role.
    pub fn set_role(
        &mut self,
        store: &Store,
        id: &Identity,
        device: DeviceId,
        role: Role,
    ) -> Result<()> {
        if !self.members.is_admin(&id.device) {
            return Err(Error::NotAllowed(
                "only an admin of a space can change roles",
            ));
        }
        let Some(now) = self.members.role(&device) else {
            return Err(Error::NotFound("member"));
        };
        if now == role {
            return Ok(());
        }
        let last_seq = match role {
            Role::Member => Some(self.vector.get(&device)),
            Role::Admin => None,
        };
        self.write_statement(
            store,
            id,
            Op::SetRole {
                device,
                role,
                last_seq,
            },
        )?;
        Ok(())
    }

    /// Makes the latest local commit durable: one sealed incremental chunk. Compaction is left to
    /// [`Space::compact_if_needed`] (called at sync and on open), off the path of a person's tap, except
    /// as a backstop when chunks pile up without either.
    pub fn persist(&mut self, store: &Store) -> Result<()> {
        let chunk = self.doc.save_after(&self.persisted);
        if chunk.is_empty() {
            return Ok(());
        }
        self.persisted = self.doc.get_heads();
        let k = Self::row_key(store, &self.id);
        let v = store.seal("doc_chunks", &k, &chunk)?;
        store.conn.execute(
            "INSERT INTO doc_chunks (space, v) VALUES (?1, ?2)",
            params![k, v],
        )?;
        self.chunks += 1;
        if self.chunks >= COMPACT_BACKSTOP_CHUNKS {
            self.compact(store)?;
        }
        Ok(())
    }

    /// Replaces the stored chunks with one sealed `save()` once there are enough of them to matter.
    pub fn compact_if_needed(&mut self, store: &Store) -> Result<()> {
        if self.chunks >= COMPACT_AFTER_CHUNKS {
            self.compact(store)?;
        }
        Ok(())
    }

    fn compact(&mut self, store: &Store) -> Result<()> {
        let k = Self::row_key(store, &self.id);
        // Automerge 0.12 can save a document its `load` refuses (a member's changes can cause it:
        // docs/reliability.md); `load_incremental`, which `Space::load` uses, takes it whole
        // (`compact_tests.rs`), so compacting into it is safe. After other changes even
        // `load_incremental` refuses the save: then the stored chunks stay as they are (they load)
        // and the space compacts again at a later persist.
        let Some(full) = codec::save_that_reloads(&mut self.doc) else {
            return Ok(());
        };
        self.persisted = self.doc.get_heads();
        let v = store.seal("doc_chunks", &k, &full)?;
        let tx = store.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM doc_chunks WHERE space = ?1", [&k])?;
        tx.execute(
            "INSERT INTO doc_chunks (space, v) VALUES (?1, ?2)",
            params![k, v],
        )?;
        self.chunks = 1;
        self.save_record(store)?;
        tx.commit()?;
        Ok(())
    }
}

/// Whether Automerge's `load` takes `saved`: checked before a `save()` goes to others in a snapshot,
/// which receivers load with it. Automerge 0.12 can save a document its `load` refuses, after some
/// changes a member can send (docs/reliability.md, open finding).
pub(crate) fn saves_loadably(saved: &[u8]) -> bool {
    AutoCommit::load(saved).is_ok()
}
