//! Spaces: one Automerge document with its key, counters and vectors, kept in the vault and moved as
//! envelopes.
//!
//! Local edits are made durable at once as sealed incremental chunks (`save_after` the heads last
//! written); at sync time the device's own changes since its previous envelope are sealed into a
//! `changes` envelope whose sequence number is taken and stored in the same SQLite transaction that
//! stores the envelope, so a number is never used twice and never skipped. Received envelopes are
//! stored first, then applied; an envelope whose content fails is quarantined and never blocks the
//! others.

use std::collections::BTreeMap;

use automerge::{ActorId, AutoCommit, Change, ChangeHash};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use sebaya_proto::envelope::{HeaderV1, MAX_PLAINTEXT_LEN};
use sebaya_proto::membership::{
    MAX_NEW_STATEMENTS_PER_SPACE, MembershipLog, MembershipState, Op, Role, SignedStatement,
    Statement, StatementId,
};
use sebaya_proto::{DeviceId, Envelope, EpochId, Kind, SpaceId, VersionVector};

use crate::crypto::keywrap::{self, KeyWrap};
use crate::crypto::{self, Key32};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::store::Store;

mod codec;
pub(crate) mod doc;
pub(crate) mod held;
mod history;
mod kind;
pub(crate) mod rules;
mod snapshot;
pub use codec::{
    CODEC_BUNDLE, CODEC_DEFLATE_CHANGES, MAX_INFLATED_LEN, decode_changes, encode_changes,
};
use history::{open_history, seal_history};
pub use kind::SpaceKind;
pub use snapshot::{DEFAULT_SNAPSHOT_EVERY, SNAPSHOT_CODEC_SAVE};

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
    sealed_change_seq: u64,
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
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The actor id a device writes with: its device id, so every change names its signer.
pub fn actor_of(device: &DeviceId) -> ActorId {
    ActorId::from(&device.0[..])
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
            sealed_change_seq: 0,
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
        let rec: SpaceRecord =
            ciborium::from_reader(plain.as_slice()).map_err(|_| Error::Corrupt("space record"))?;
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
        doc.set_actor(actor_of(&me));
        let mut space = Space {
            id: SpaceId::from_slice(&rec.id).map_err(|_| Error::Corrupt("space record"))?,
            kind: SpaceKind::from_byte(rec.kind)?,
            key: Zeroizing::new(key),
            epoch: EpochId::from_slice(&rec.epoch).map_err(|_| Error::Corrupt("space record"))?,
            older,
            recipients,
            doc,
            next_seq: rec.next_seq,
            sealed_change_seq: rec.sealed_change_seq,
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
        };
        space.load_membership(store)?;
        // What was just loaded is already stored: only what comes after these heads is new.
        space.persisted = space.doc.get_heads();
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

    fn load_membership(&mut self, store: &Store) -> Result<()> {
        for bytes in self.membership_envelopes(store)? {
            let env = Envelope::parse(&bytes)?;
            let st = SignedStatement::from_envelope(&env)?;
            self.log.insert(st)?;
        }
        self.members = self.log.state();
        Ok(())
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
        let tx = store.conn.unchecked_transaction()?;
        Self::insert_envelope(store, &env, &self.me, self.next_seq, 1)?;
        self.store_statement(store, &env, signed)?;
        self.vector.insert(self.me, self.next_seq);
        self.next_seq += 1;
        self.save_record(store)?;
        tx.commit()?;
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
        let full = self.doc.save();
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

    fn envelope_key(store: &Store, space: &SpaceId, author: &DeviceId, seq: u64) -> Vec<u8> {
        let mut m = Vec::with_capacity(56);
        m.extend_from_slice(&space.0);
        m.extend_from_slice(&author.0);
        m.extend_from_slice(&seq.to_be_bytes());
        store.lookup("envelopes", &m)
    }

    fn insert_envelope(
        store: &Store,
        env: &Envelope,
        author: &DeviceId,
        seq: u64,
        state: i64,
    ) -> Result<()> {
        let k = Self::envelope_key(store, &env.space(), author, seq);
        let sk = Self::row_key(store, &env.space());
        let v = store.seal("envelopes", &k, env.as_bytes())?;
        store.conn.execute(
            "INSERT INTO envelopes (k, n, space, state, v)
             VALUES (?1, (SELECT coalesce(max(n), 0) + 1 FROM envelopes), ?2, ?3, ?4)",
            params![k, sk, state, v],
        )?;
        Ok(())
    }

    /// Seals this device's changes made since its previous envelope into new `changes` envelopes.
    /// Returns how many were sealed.
    pub fn seal_outgoing(&mut self, store: &Store, id: &Identity, codec: u8) -> Result<u32> {
        let actor = actor_of(&self.me);
        let mine: Vec<Change> = self
            .doc
            .get_changes(&[])
            .into_iter()
            .filter(|c| c.actor_id() == &actor && c.seq() > self.sealed_change_seq)
            .collect();
        if mine.is_empty() {
            return Ok(0);
        }
        let mut batches: Vec<Vec<Change>> = vec![Vec::new()];
        let mut size = 0usize;
        for c in mine {
            let n = c.raw_bytes().len();
            if size + n > MAX_BATCH_RAW && batches.last().is_some_and(|b| !b.is_empty()) {
                batches.push(Vec::new());
                size = 0;
            }
            size += n;
            if let Some(b) = batches.last_mut() {
                b.push(c);
            }
        }
        let signer = id.signing_key()?;
        let mut sealed = 0;
        for batch in batches {
            let top = batch
                .iter()
                .map(|c| c.seq())
                .max()
                .unwrap_or(self.sealed_change_seq);
            let payload = encode_changes(&self.doc, &batch, codec)?;
            if payload.len() > MAX_PLAINTEXT_LEN {
                return Err(Error::Internal("change batch exceeds the envelope limit"));
            }
            let header = HeaderV1 {
                kind: Kind::Changes,
                space: self.id,
                epoch: self.epoch,
                author: self.me,
                seq: self.next_seq,
            };
            let env = Envelope::seal_v1(header, &self.key, crypto::random()?, &payload, &signer)?;
            // One transaction: the sequence number is consumed exactly when the envelope exists.
            let tx = store.conn.unchecked_transaction()?;
            Self::insert_envelope(store, &env, &self.me, self.next_seq, 1)?;
            self.vector.insert(self.me, self.next_seq);
            self.next_seq += 1;
            self.sealed_change_seq = top;
            self.save_record(store)?;
            tx.commit()?;
            sealed += 1;
        }
        Ok(sealed)
    }

    /// Stores envelopes received from anywhere (each verified on its own), then applies what it can.
    ///
    /// Judges at most [`MAX_NEW_STATEMENTS_PER_SPACE`] new membership statements per call: each costs
    /// an evaluation of the whole log, so a page stuffed with statements cannot make the device work
    /// without bound. The membership envelopes beyond are not stored (`deferred`): the device's
    /// vector does not count them, so the relay sends them again and the sync goes on.
    pub fn receive(
        &mut self,
        store: &Store,
        identity: &Identity,
        envelopes: &[Vec<u8>],
    ) -> Result<ReceiveReport> {
        self.receive_judging(store, identity, envelopes, MAX_NEW_STATEMENTS_PER_SPACE)
    }

    /// [`Space::receive`] for a whole log handed over at once (a link or join response, a bundle),
    /// which nothing sends again: judges every statement. What this costs is bounded by the log's own
    /// bound (`MAX_STATEMENTS`) and by the number of envelopes handed over (each is judged once).
    pub(crate) fn receive_all(
        &mut self,
        store: &Store,
        identity: &Identity,
        envelopes: &[Vec<u8>],
    ) -> Result<ReceiveReport> {
        self.receive_judging(store, identity, envelopes, usize::MAX)
    }

    /// [`Space::receive`], judging at most `limit` new membership statements.
    fn receive_judging(
        &mut self,
        store: &Store,
        identity: &Identity,
        envelopes: &[Vec<u8>],
        limit: usize,
    ) -> Result<ReceiveReport> {
        let mut report = ReceiveReport::default();
        let mut judged = 0usize;
        let tx = store.conn.unchecked_transaction()?;
        for bytes in envelopes {
            let env = match Envelope::parse(bytes).and_then(|e| e.verify().map(|_| e)) {
                Ok(e) => e,
                Err(_) => {
                    report.refused += 1;
                    continue;
                }
            };
            let Ok(h) = env.header() else {
                report.refused += 1;
                continue;
            };
            if h.space != self.id
                || !matches!(
                    h.kind,
                    Kind::Changes | Kind::Membership | Kind::KeyWraps | Kind::Snapshot
                )
            {
                report.refused += 1;
                continue;
            }
            // A taken snapshot counts everything it covers as held, but it carries no membership
            // statement and no key wraps: those are duplicates only when actually stored.
            if self.vector.contains(&h.author, h.seq)
                && (!matches!(h.kind, Kind::Membership | Kind::KeyWraps)
                    || self.holds_row(store, &h.author, h.seq)?)
            {
                report.duplicates += 1;
                continue;
            }
            if h.kind == Kind::Membership {
                // Admitted by its signature and its author's authority in its own causal past
                // (docs/protocol.md 15.8); its effect is then the log's business. A removed device's
                // statements beyond its last accepted sequence number are refused, as the relay does.
                if !self.members.is_member(&h.author)
                    && self
                        .members
                        .removed
                        .get(&h.author)
                        .is_some_and(|last| h.seq > *last)
                {
                    report.refused += 1;
                    continue;
                }
                let Ok(st) = SignedStatement::from_envelope(&env) else {
                    report.refused += 1;
                    continue;
                };
                // A statement the log holds already (carried in another envelope) costs nothing;
                // a new one costs an evaluation of the whole log, on a copy first.
                if self.log.get(&st.id()).is_none() {
                    if judged >= limit {
                        report.deferred += 1;
                        continue;
                    }
                    if self.log.is_full() {
                        report.refused += 1;
                        continue;
                    }
                    judged += 1;
                }
                let mut trial = self.log.clone();
                match trial.insert(st.clone()) {
                    Ok(_) if trial.authorised_in_past(&st.id()) != Some(false) => {}
                    _ => {
                        report.refused += 1;
                        continue;
                    }
                }
                Self::insert_envelope(store, &env, &h.author, h.seq, 1)?;
                self.store_statement(store, &env, st)?;
                self.vector.insert(h.author, h.seq);
                report.stored += 1;
                report.applied += 1;
                continue;
            }
            Self::insert_envelope(store, &env, &h.author, h.seq, 0)?;
            self.vector.insert(h.author, h.seq);
            report.stored += 1;
        }
        self.save_record(store)?;
        tx.commit()?;
        let (applied, quarantined) = self.apply_pending(store, identity)?;
        report.applied += applied;
        report.quarantined = quarantined;
        Ok(report)
    }

    /// Applies every stored envelope still waiting, in arrival order: key-wraps first (they may unlock
    /// epochs), then changes. Returns (applied, quarantined).
    pub fn apply_pending(&mut self, store: &Store, identity: &Identity) -> Result<(u32, u32)> {
        let sk = Self::row_key(store, &self.id);
        let pending: Vec<(Vec<u8>, Vec<u8>)> = {
            let mut stmt = store.conn.prepare_cached(
                "SELECT k, v FROM envelopes WHERE space = ?1 AND state = 0 ORDER BY n",
            )?;
            let rows = stmt.query_map([&sk], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        if pending.is_empty() {
            return Ok((0, 0));
        }
        let mut quarantined = 0u32;
        let mut applied = 0u32;
        let mut outcomes: Vec<(Vec<u8>, i64)> = Vec::new();
        let mut opened: Vec<(Vec<u8>, Envelope)> = Vec::new();
        for (k, v) in pending {
            match store
                .open_value("envelopes", &k, &v)
                .and_then(|b| Ok(Envelope::parse(&b)?))
            {
                Ok(env) => opened.push((k, env)),
                Err(_) => {
                    quarantined += 1;
                    outcomes.push((k, 2));
                }
            }
        }
        let (wraps, others): (Vec<_>, Vec<_>) = opened
            .into_iter()
            .partition(|(_, e)| e.kind() == Kind::KeyWraps);
        for (k, env) in wraps {
            match self.take_key_wraps(&env, identity) {
                Ok(true) => {
                    applied += 1;
                    outcomes.push((k, 1));
                }
                Ok(false) => {}
                Err(_) => {
                    quarantined += 1;
                    outcomes.push((k, 2));
                }
            }
        }
        // Snapshots next: they bring what the changes after them depend on.
        let (snapshots, others): (Vec<_>, Vec<_>) = others
            .into_iter()
            .partition(|(_, e)| e.kind() == Kind::Snapshot);
        for (k, env) in snapshots {
            match self.take_snapshot(store, &env) {
                Ok(true) => {
                    applied += 1;
                    outcomes.push((k, 1));
                }
                Ok(false) => {}
                Err(_) => {
                    quarantined += 1;
                    outcomes.push((k, 2));
                }
            }
        }
        let mut waiting: Vec<(Vec<u8>, Vec<Change>)> = Vec::new();
        // Envelopes whose author's role limits what it may write (`rules.rs`): checked one by one,
        // in dependency order, before they touch the document.
        let mut limited: Vec<(Vec<u8>, Vec<Change>, DeviceId)> = Vec::new();
        let creator = self.creator();
        for (k, env) in others {
            match self.decode_envelope(&env) {
                Ok(Some(changes)) => {
                    let Ok(h) = env.header() else {
                        continue;
                    };
                    let a = rules::author(&self.members, creator, h.author, None);
                    if a.unlimited(self.kind) {
                        waiting.push((k, changes));
                    } else {
                        limited.push((k, changes, h.author));
                    }
                }
                // Its author is not (yet) a member, or its epoch key has not arrived: it waits.
                Ok(None) => {}
                Err(_) => {
                    quarantined += 1;
                    outcomes.push((k, 2));
                }
            }
        }
        let all: Vec<Change> = waiting
            .iter()
            .flat_map(|(_, c)| c.iter().cloned())
            .collect();
        // Automerge queues changes whose dependencies are missing; they stay `waiting` in the vault
        // until the dependencies arrive, so nothing is lost across a restart.
        if self.doc.apply_changes(all).is_err() {
            // Apply one envelope at a time to find the culprit(s).
            for (k, changes) in &waiting {
                if self.doc.apply_changes(changes.iter().cloned()).is_err() {
                    quarantined += 1;
                    outcomes.push((k.clone(), 2));
                }
            }
        }
        // Limited authors: an envelope is judged once everything it depends on is in the document
        // (so every object it writes can be placed), then applied whole or refused whole.
        loop {
            let mut progress = false;
            let mut rest = Vec::new();
            for (k, changes, device) in limited {
                let own: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
                let ready = changes.iter().all(|c| {
                    c.deps()
                        .iter()
                        .all(|d| own.contains(d) || self.doc.get_change_by_hash(d).is_some())
                });
                if !ready {
                    rest.push((k, changes, device));
                    continue;
                }
                progress = true;
                let registry = rules::registry_for(&self.doc, &changes);
                let author = rules::author(&self.members, creator, device, registry.as_ref());
                if !rules::allowed(&self.doc, self.kind, &author, &changes)
                    || self.doc.apply_changes(changes.iter().cloned()).is_err()
                {
                    quarantined += 1;
                    outcomes.push((k, 2));
                } else {
                    waiting.push((k, changes));
                }
            }
            limited = rest;
            if !progress || limited.is_empty() {
                break;
            }
        }
        for (k, changes) in &waiting {
            if outcomes.iter().any(|(q, _)| q == k) {
                continue;
            }
            let done = changes
                .iter()
                .all(|c| self.doc.get_change_by_hash(&c.hash()).is_some());
            if done {
                applied += 1;
                outcomes.push((k.clone(), 1));
            }
        }
        let tx = store.conn.unchecked_transaction()?;
        for (k, state) in &outcomes {
            tx.execute(
                "UPDATE envelopes SET state = ?1 WHERE k = ?2",
                params![state, k],
            )?;
        }
        tx.commit()?;
        self.save_record(store)?;
        self.persist(store)?;
        Ok((applied, quarantined))
    }

    /// Opens a changes envelope if its author may write it: `Ok(None)` while the author is not known to
    /// be a member or the epoch's key has not arrived, an error (quarantine) when it was written after
    /// its author's removal.
    fn decode_envelope(&self, env: &Envelope) -> Result<Option<Vec<Change>>> {
        let h = env.header()?;
        if h.kind != Kind::Changes {
            return Err(Error::Content("not a changes envelope"));
        }
        if !self.members.may_write(&h.author, h.seq) {
            if self.members.removed.contains_key(&h.author) && !self.members.is_member(&h.author) {
                return Err(Error::Content("written after its author was removed"));
            }
            return Ok(None);
        }
        let Some(key) = self.key_for(&h.epoch) else {
            return Ok(None);
        };
        let plain = Zeroizing::new(env.open(key)?);
        decode_changes(&plain, &h.author).map(Some)
    }

    fn key_for(&self, epoch: &EpochId) -> Option<&[u8; 32]> {
        if *epoch == self.epoch {
            Some(&self.key)
        } else {
            self.older.get(epoch).map(|k| &**k)
        }
    }

    /// Takes the keys a key-wraps envelope carries for this device. `Ok(false)`: its rotation is not
    /// known yet (it waits). An error: not from the rotation's author, or a key that does not match
    /// the rotation's commitment (quarantined).
    fn take_key_wraps(&mut self, env: &Envelope, identity: &Identity) -> Result<bool> {
        let set = sebaya_proto::keywraps::KeyWrapSet::from_envelope(env)?;
        let h = env.header()?;
        let Some(rotation) = self
            .members
            .epochs
            .iter()
            .find(|e| e.id == set.epoch)
            .cloned()
        else {
            return Ok(false);
        };
        if rotation.author != h.author {
            return Err(Error::Content("key wraps not from the rotation's author"));
        }
        self.recipients
            .insert(set.epoch, set.wraps.iter().map(|(d, _)| *d).collect());
        let Some((_, wrap)) = set.wraps.iter().find(|(d, _)| *d == identity.device) else {
            // Nothing for this device (it is not among the recipients): nothing to take.
            return Ok(true);
        };
        let wrap = KeyWrap::from_bytes(wrap)?;
        let key = identity.unwrap_key(&wrap, &self.id, &set.epoch)?;
        if *crypto::derive(key.as_ref(), KEY_COMMIT_LABEL)? != rotation.commit {
            return Err(Error::Content("wrapped key does not match the rotation"));
        }
        for (old, sealed) in &set.history {
            if self.key_for(old).is_none() {
                let k = open_history(&key, &self.id, &set.epoch, old, sealed)?;
                self.older.insert(*old, k);
            }
        }
        self.learn_epoch_key(set.epoch, key);
        Ok(true)
    }

    /// Files a newly learned epoch key and moves writing to the newest epoch this device can use.
    fn learn_epoch_key(&mut self, epoch: EpochId, key: Key32) {
        if self.key_for(&epoch).is_none() {
            self.older.insert(epoch, key);
        }
        self.use_newest_epoch();
    }

    /// Moves writing to the newest epoch of the log whose key this device holds.
    fn use_newest_epoch(&mut self) {
        let newest = self
            .members
            .epochs
            .iter()
            .rev()
            .map(|e| e.id)
            .find(|e| self.key_for(e).is_some());
        if let Some(newest) = newest {
            if newest != self.epoch {
                if let Some(k) = self.older.remove(&newest) {
                    let prev_key = std::mem::replace(&mut self.key, k);
                    let prev_epoch = std::mem::replace(&mut self.epoch, newest);
                    self.older.insert(prev_epoch, prev_key);
                }
            }
        }
    }

    /// Every epoch key this device holds, current first, sealed under `new_key` for the history part of
    /// a key-wraps envelope or a link response.
    fn sealed_history(
        &self,
        new_key: &[u8; 32],
        new_epoch: &EpochId,
    ) -> Result<Vec<(EpochId, Vec<u8>)>> {
        let mut out = vec![(
            self.epoch,
            seal_history(new_key, &self.id, new_epoch, &self.epoch, &self.key)?,
        )];
        for (e, k) in &self.older {
            if e != new_epoch {
                out.push((*e, seal_history(new_key, &self.id, new_epoch, e, k)?));
            }
        }
        out.retain(|(e, _)| e != new_epoch);
        Ok(out)
    }

    /// Removes `device` from this space and rotates to a new epoch whose key is wrapped for every
    /// remaining device: the removed device cannot read anything written from now on, and the relay,
    /// peers and carriers refuse what it writes after its last accepted sequence number.
    pub fn remove_member(
        &mut self,
        store: &Store,
        id: &Identity,
        device: DeviceId,
    ) -> Result<RotationReport> {
        if !self.members.is_admin(&id.device) {
            return Err(Error::NotAllowed(
                "only an admin of a space can remove members",
            ));
        }
        if !self.members.is_member(&device) {
            return Err(Error::NotFound("member"));
        }
        let last_seq = self.vector.get(&device);
        self.write_statement(store, id, Op::Remove { device, last_seq })?;
        self.rotate(store, id)
    }

    /// Starts a new epoch: a `Rotate` statement committing to a fresh key, then one key-wraps envelope
    /// with the key wrapped for every current member device and the earlier keys sealed under it.
    pub fn rotate(&mut self, store: &Store, id: &Identity) -> Result<RotationReport> {
        if !self.members.is_admin(&id.device) {
            return Err(Error::NotAllowed(
                "only an admin of a space can rotate its key",
            ));
        }
        let new_key = crypto::random_key()?;
        let commit = *crypto::derive(new_key.as_ref(), KEY_COMMIT_LABEL)?;
        let env = self.write_statement(store, id, Op::Rotate { commit })?;
        let st = SignedStatement::from_envelope(&Envelope::parse(&env)?)?;
        let epoch = EpochId(st.id().0);
        let mut report = RotationReport::default();
        let mut wraps = Vec::new();
        for device in self.members.members.keys() {
            if *device == id.device {
                continue;
            }
            match self.members.x25519.get(device) {
                Some(x) => {
                    wraps.push((
                        *device,
                        keywrap::wrap(&new_key, x, &self.id, &epoch)?.to_bytes(),
                    ));
                    report.wrapped += 1;
                }
                None => report.without_key += 1,
            }
        }
        let set = sebaya_proto::keywraps::KeyWrapSet {
            epoch,
            wraps,
            history: self.sealed_history(&new_key, &epoch)?,
        };
        let signer = id.signing_key()?;
        let env = set.to_envelope(self.id, id.device, self.next_seq, &signer)?;
        report.bytes = env.as_bytes().len() as u64;
        self.recipients
            .insert(epoch, set.wraps.iter().map(|(d, _)| *d).collect());
        let tx = store.conn.unchecked_transaction()?;
        Self::insert_envelope(store, &env, &self.me, self.next_seq, 1)?;
        self.vector.insert(self.me, self.next_seq);
        self.next_seq += 1;
        self.learn_epoch_key(epoch, new_key);
        self.save_record(store)?;
        tx.commit()?;
        Ok(report)
    }

    /// Whether the key this device writes under may be held by a device that is no longer a member: a
    /// rotation that was concurrent with a removal wrapped its key for the removed device. An admin
    /// then rotates again (at its next sync).
    pub fn needs_rotation(&self) -> bool {
        if !self.members.is_admin(&self.me) {
            return false;
        }
        // A key wrapped for a device that is no longer a member (a rotation concurrent with a
        // removal), or a removal the epoch in use does not follow (a person revoking a lost phone
        // from a group where it is a plain member, or a removal by another admin that did not rotate).
        let wrapped_for_gone = self
            .recipients
            .get(&self.epoch)
            .is_some_and(|ds| ds.iter().any(|d| !self.members.is_member(d)));
        let started_by = self
            .members
            .epochs
            .iter()
            .find(|e| e.id == self.epoch)
            .map(|e| StatementId(e.id.0));
        wrapped_for_gone || self.log.removed_since(started_by.as_ref())
    }

    /// Earlier epoch keys sealed under the current one, for a device being linked (own devices read
    /// all history).
    pub fn history_for_link(&self) -> Result<Vec<(EpochId, Vec<u8>)>> {
        let mut out = Vec::new();
        for (e, k) in &self.older {
            out.push((*e, seal_history(&self.key, &self.id, &self.epoch, e, k)?));
        }
        Ok(out)
    }

    /// Takes earlier epoch keys sealed under the current key (from a link response).
    pub fn take_history(&mut self, history: &[(EpochId, Vec<u8>)]) -> Result<()> {
        for (e, sealed) in history {
            if self.key_for(e).is_none() {
                let k = open_history(&self.key, &self.id, &self.epoch, e, sealed)?;
                self.older.insert(*e, k);
            }
        }
        Ok(())
    }

    /// Whether everything this device wrote here is sealed and acknowledged by the relay: what a
    /// referral's "sent" state means (the relay holds it; any member's next sync brings it).
    pub fn all_sent(&mut self) -> bool {
        let actor = actor_of(&self.me);
        let unsealed = self
            .doc
            .get_changes(&[])
            .iter()
            .any(|c| c.actor_id() == &actor && c.seq() > self.sealed_change_seq);
        let acked = self.relay_acked.get(&self.me).copied().unwrap_or(0);
        !unsealed && acked + 1 >= self.next_seq
    }

    /// This device's changes the relay has not acknowledged: those not sealed yet, and those in its
    /// own sealed envelopes above the relay's acknowledgement. (What an erased journal's holder
    /// carries over: writes nobody else has.)
    pub fn unacked_changes(&mut self, store: &Store) -> Result<Vec<Change>> {
        let actor = actor_of(&self.me);
        let mut out: Vec<Change> = self
            .doc
            .get_changes(&[])
            .into_iter()
            .filter(|c| c.actor_id() == &actor && c.seq() > self.sealed_change_seq)
            .collect();
        let acked = self.relay_acked.get(&self.me).copied().unwrap_or(0);
        for seq in (acked + 1)..self.next_seq {
            let k = Self::envelope_key(store, &self.id, &self.me, seq);
            let v: Option<Vec<u8>> = store
                .conn
                .query_row("SELECT v FROM envelopes WHERE k = ?1", [&k], |r| r.get(0))
                .optional()?;
            let Some(v) = v else {
                continue;
            };
            let env = Envelope::parse(&store.open_value("envelopes", &k, &v)?)?;
            if env.kind() != Kind::Changes {
                continue;
            }
            if let Ok(Some(changes)) = self.decode_envelope(&env) {
                out.extend(changes);
            }
        }
        Ok(out)
    }

    /// Envelopes held that the relay has not acknowledged, oldest first per author.
    pub fn unacked(&self, store: &Store) -> Result<Vec<Vec<u8>>> {
        self.held_above(store, &self.relay_acked)
    }

    /// Envelopes held above `floor` (a peer's contiguous vector), oldest first per author.
    pub fn held_above(
        &self,
        store: &Store,
        floor: &BTreeMap<DeviceId, u64>,
    ) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for (author, seq) in self.vector.held_above(floor) {
            let k = Self::envelope_key(store, &self.id, &author, seq);
            let v: Option<Vec<u8>> = store
                .conn
                .query_row("SELECT v FROM envelopes WHERE k = ?1", [&k], |r| r.get(0))
                .optional()?;
            if let Some(v) = v {
                out.push(store.open_value("envelopes", &k, &v)?.to_vec());
            }
        }
        Ok(out)
    }

    /// The envelope `author` sealed as `seq` here, if this device holds it (the peer session loads
    /// what it sends one chunk at a time).
    /// Whether the envelope (`author`, `seq`) of this space is stored here.
    fn holds_row(&self, store: &Store, author: &DeviceId, seq: u64) -> Result<bool> {
        let k = Self::envelope_key(store, &self.id, author, seq);
        Ok(store
            .conn
            .query_row("SELECT 1 FROM envelopes WHERE k = ?1", [&k], |_| Ok(()))
            .optional()?
            .is_some())
    }

    pub(crate) fn held_envelope(
        &self,
        store: &Store,
        author: &DeviceId,
        seq: u64,
    ) -> Result<Option<Vec<u8>>> {
        let k = Self::envelope_key(store, &self.id, author, seq);
        let v: Option<Vec<u8>> = store
            .conn
            .query_row("SELECT v FROM envelopes WHERE k = ?1", [&k], |r| r.get(0))
            .optional()?;
        match v {
            Some(v) => Ok(Some(store.open_value("envelopes", &k, &v)?.to_vec())),
            None => Ok(None),
        }
    }

    /// Records the relay's acknowledgement (its contiguous vector for this space).
    pub fn set_relay_acked(&mut self, store: &Store, acked: BTreeMap<DeviceId, u64>) -> Result<()> {
        self.relay_acked = acked;
        // The relay now counts envelopes a taken snapshot named: they exist (protocol 26.3).
        self.raise_pending_cover();
        self.save_record(store)
    }
}
