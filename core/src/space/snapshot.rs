//! Snapshots (envelope kind 2, `docs/protocol.md` section 26): the whole document, sealed, standing in
//! for the envelopes it covers.
//!
//! A device seals one at sync time once `snapshot_every` changes have gathered since the last snapshot
//! it sealed or took. The relay may then hand a new device the snapshot plus the envelopes it does not
//! cover (the tail) instead of every envelope, and drop covered change envelopes after a retention
//! period. A device that takes a snapshot loads it (or merges it into what it has), then counts every
//! envelope the cover names as held: their content is in the document.
//!
//! Trust: a snapshot carries changes of every author on the word of one. So only spaces where every
//! writer may write anything (a person's journal and index: all writers are the person's own devices,
//! all admins) have snapshots; elsewhere, where roles limit what each author may write (`rules.rs`), a
//! snapshot would let one member slip in changes under another's name, and it is refused.
//!
//! The vault's snapshot policy (how many changes gather before this device seals one, and sealing
//! one on demand) is at the end of this file.

use zeroize::Zeroizing;

use sebaya_proto::envelope::{HeaderV1, MAX_PLAINTEXT_LEN};
use sebaya_proto::snapshot::{self as wire, Cover};
use sebaya_proto::{Envelope, Kind};

use super::codec::{load_untrusted, merge_untrusted};
use super::{Space, SpaceKind};
use crate::crypto;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::store::Store;
use crate::{SpaceId, Vault};

/// Snapshot codec: an Automerge `save()` (columnar, compressed by Automerge), as is.
pub const SNAPSHOT_CODEC_SAVE: u8 = 1;
/// Changes between two snapshots by default. Measured in `docs/benchmarks.md` (section `snapshot`):
/// a snapshot costs about one `save()` of the document to upload and to store; every 1,000 changes
/// keeps that cost a small share of the changes themselves while a new device's tail stays short.
pub const DEFAULT_SNAPSHOT_EVERY: u32 = 1000;
/// Fewest envelopes between two snapshots (besides `snapshot_every` changes): changes sealed in one
/// or two envelopes are already about as compact as a `save()`.
pub const MIN_ENVELOPES_BETWEEN: u64 = 4;
/// Furthest a snapshot's cover may raise an author's count above what this device holds
/// contiguously, in one go: far more than any device writes between two syncs, and small enough
/// that a hostile cover cannot make exchanges walk an endless range.
pub const MAX_COVER_AHEAD: u64 = 65_536;

impl Space {
    /// Whether this kind of space has snapshots: only where every writer may write anything.
    pub fn snapshots_allowed(&self) -> bool {
        matches!(self.kind, SpaceKind::Journal | SpaceKind::Index)
    }

    fn may_snapshot(&self, author: &sebaya_proto::DeviceId, seq: u64) -> bool {
        self.snapshots_allowed()
            && crate::space::rules::author(&self.members, self.creator(), (*author, seq), None)
                .unlimited(self.kind)
    }

    /// Whether the log refuses what `author` wrote at `seq` here, where it was in good standing
    /// once: no role at that number, or a lowered one that may not write everything in this kind.
    fn refused_at(&self, author: &sebaya_proto::DeviceId, seq: u64) -> bool {
        self.members.peak_role(author).is_some()
            && !self.in_good_standing(author, seq)
            && !(self.members.writing_role_at(author, seq).is_some()
                && self.may_snapshot(author, seq))
    }

    /// Envelopes held contiguously (every author's).
    fn held_count(&self) -> u64 {
        self.vector.contiguous().values().sum()
    }

    /// Changes in the document (every author's). Counts only what came since the last count: the
    /// document held exactly the past of `counted_heads` then, and a document holding a change holds
    /// its whole past, so the count is that plus the changes outside it. When the document does not
    /// know those heads (it was replaced), everything is counted once. Reads change metadata only.
    pub fn change_count(&mut self) -> u64 {
        let known = self
            .counted_heads
            .iter()
            .all(|h| self.doc.get_change_meta_by_hash(h).is_some());
        if !known {
            self.counted = 0;
            self.counted_heads.clear();
        }
        let heads = self.doc.get_heads();
        let new = self.doc.get_changes_meta(&self.counted_heads).len() as u64;
        self.seal_work += new;
        self.counted += new;
        self.counted_heads = heads;
        self.counted
    }

    /// Seals a snapshot when at least `every` changes came since the last one this device sealed or
    /// took (0: never). Returns the snapshot's size in bytes, if one was sealed.
    pub fn snapshot_if_due(
        &mut self,
        store: &Store,
        id: &Identity,
        every: u32,
    ) -> Result<Option<usize>> {
        if every == 0 || !self.may_snapshot(&self.me, self.next_seq) {
            return Ok(None);
        }
        if self.held_count() < self.snap_envelopes.saturating_add(MIN_ENVELOPES_BETWEEN) {
            // The changes since the last snapshot sit in few envelopes (a device that syncs
            // rarely seals them as one compact bundle): a snapshot would repeat them for nothing.
            return Ok(None);
        }
        if self.change_count() < self.snap_base.saturating_add(u64::from(every)) {
            return Ok(None);
        }
        self.seal_snapshot(store, id)
    }

    /// The envelopes whose content is in the document: for each author, the contiguous run held,
    /// cut below the first envelope still waiting to apply or set aside (quarantined: a newer app's
    /// codec, say). Their content is not in the document, so a snapshot must not stand in for them.
    ///
    /// And cut at the last number its author wrote in good standing (protocol 26.3, review finding
    /// F1): an envelope above it is kept only because a member built on it (15.10, "Built on"),
    /// which every taker judges from that envelope itself, never from a snapshot. Its changes still
    /// travel in the document; the envelope goes on as an envelope. So every holder that knows the
    /// same log takes what this device seals.
    pub(super) fn applied_cover(&self, store: &Store) -> Result<Cover> {
        let mut cover: Cover = self.vector.contiguous().clone();
        for (a, top) in cover.iter_mut() {
            if let Some(last) = self.members.good_standing_until(a) {
                *top = (*top).min(last);
            }
        }
        let sk = Self::row_key(store, &self.id);
        let mut stmt = store.conn.prepare_cached(
            "SELECT k, v, state FROM envelopes WHERE space = ?1 AND state IN (0, 2)",
        )?;
        let rows = stmt.query_map([&sk], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (k, v, state) = row?;
            let env = Envelope::parse(&store.open_value("envelopes", &k, &v)?)?;
            let h = env.header()?;
            if state == 2 && !matches!(h.kind, Kind::Changes | Kind::Snapshot) {
                continue;
            }
            if let Some(top) = cover.get_mut(&h.author) {
                *top = (*top).min(h.seq.saturating_sub(1));
            }
        }
        cover.retain(|_, s| *s > 0);
        Ok(cover)
    }

    /// Seals a snapshot of the document now, under the current epoch, with this device's next
    /// sequence number. `None` when the document is too large for one envelope (it then syncs by
    /// changes only) or this space has no snapshots.
    pub fn seal_snapshot(&mut self, store: &Store, id: &Identity) -> Result<Option<usize>> {
        if !self.may_snapshot(&self.me, self.next_seq) {
            return Ok(None);
        }
        let cover = self.applied_cover(store)?;
        let count = self.change_count();
        let saved = Zeroizing::new(self.doc.save());
        // A `save()` Automerge cannot load again would only be refused by every receiver: the
        // space then syncs by changes only.
        if !super::saves_loadably(&saved) {
            return Ok(None);
        }
        let mut plain = Zeroizing::new(Vec::new());
        plain.push(SNAPSHOT_CODEC_SAVE);
        plain.extend_from_slice(&saved);
        let room = MAX_PLAINTEXT_LEN.saturating_sub(wire::encode_cover(&cover)?.len());
        if plain.len() > room {
            return Ok(None);
        }
        let header = HeaderV1 {
            kind: Kind::Snapshot,
            space: self.id,
            epoch: self.epoch,
            author: self.me,
            seq: self.next_seq,
        };
        let env = wire::seal(
            header,
            &self.key,
            crypto::random()?,
            &cover,
            &plain,
            &id.signing_key()?,
        )?;
        let tx = store.durable_transaction()?;
        Self::insert_envelope(store, &env, &self.me, self.next_seq, 1)?;
        self.vector.insert(self.me, self.next_seq);
        self.next_seq += 1;
        self.snap_base = count;
        self.snap_envelopes = self.held_count();
        self.save_record(store)?;
        tx.commit()?;
        Ok(Some(env.as_bytes().len()))
    }

    /// The part of a snapshot's cover this device lets stand (protocol 26.3): for each author, no
    /// more than the envelopes known to exist (held here, contiguous or above a gap, or counted by
    /// the relay's last answer), and never more than [`MAX_COVER_AHEAD`] above what it holds
    /// contiguously. A device of the person that seals a cover naming another device's envelopes
    /// far ahead would otherwise make takers count that device's later envelopes as held and never
    /// fetch them; a cover (or a relay count) near 2^63 would make every later exchange walk an
    /// endless range.
    pub(crate) fn bounded_cover(&self, cover: &Cover) -> Cover {
        let mut out = Cover::new();
        for (a, s) in cover {
            let contiguous = self.vector.get(a);
            let held = self
                .vector
                .above_gap()
                .filter(|(x, _)| *x == a)
                .map(|(_, s)| s)
                .max()
                .unwrap_or(0)
                .max(contiguous);
            let relay = self.relay_acked.get(a).copied().unwrap_or(0);
            let s = (*s)
                .min(held.max(relay))
                .min(contiguous.saturating_add(MAX_COVER_AHEAD));
            if s > 0 {
                out.insert(*a, s);
            }
        }
        out
    }

    /// Raises the vector as far as the covers of snapshots taken earlier now stand (after the
    /// relay's count changed), and forgets what is reached. No document is loaded: the content came
    /// with the snapshot.
    pub(crate) fn raise_pending_cover(&mut self) {
        if self.cover_pending.is_empty() {
            return;
        }
        for (a, s) in self.bounded_cover(&self.cover_pending) {
            self.vector.raise(a, s);
        }
        let vector = &self.vector;
        self.cover_pending.retain(|a, s| vector.get(a) < *s);
    }

    /// Takes a stored snapshot envelope: `Ok(false)` while its author is not known to be a member or
    /// its epoch key has not arrived (it waits), an error (quarantine, nothing changed) when it cannot
    /// be opened, its author may not vouch for others' changes, or its document does not load.
    pub(super) fn take_snapshot(&mut self, store: &Store, env: &Envelope) -> Result<bool> {
        let h = env.header()?;
        if h.kind != Kind::Snapshot {
            return Err(Error::Content("not a snapshot envelope"));
        }
        if !self.members.may_write(&h.author, h.seq) {
            if self.members.removed.contains_key(&h.author) && !self.members.is_member(&h.author) {
                return Err(Error::Content("written after its author was removed"));
            }
            return Ok(false);
        }
        if !self.may_snapshot(&h.author, h.seq) {
            return Err(Error::Content(
                "a snapshot here would carry changes its author may not vouch for",
            ));
        }
        let Some(key) = self.key_for(&h.epoch) else {
            return Ok(false);
        };
        let (full, plain) = wire::open(env, key)?;
        // Its changes have no envelopes of their own to judge (protocol 15.10): a snapshot whose
        // cover stands for an envelope the log refuses (a revoked device's past its cutoff, or one
        // by a role lowered to one that may not write anything here), its sealer not knowing, may
        // carry a change refused here. It is refused, and what it stands for comes as envelopes,
        // judged one by one (review finding F4).
        if full.iter().any(|(a, s)| self.refused_at(a, *s)) {
            return Err(Error::Content(
                "a snapshot standing for envelopes the membership log refuses",
            ));
        }
        // The document is loaded whenever the cover names anything not held here (its content may
        // be nowhere else any more), but the vector rises only as far as the bounded cover; the
        // rest waits in `cover_pending` until the relay counts it.
        let complete = self.vector.covers(&full);
        let cover = self.bounded_cover(&full);
        let plain = Zeroizing::new(plain);
        let (&codec, data) = plain
            .split_first()
            .ok_or(Error::Content("empty snapshot"))?;
        if codec != SNAPSHOT_CODEC_SAVE {
            return Err(Error::Content("unknown snapshot codec"));
        }
        if complete {
            // Everything it stands for is here already.
            return Ok(true);
        }
        let mut loaded = load_untrusted(data)?;
        let before = self.doc.get_heads();
        if before.is_empty() {
            // A new device: the snapshot is the document (loading is far cheaper than merging).
            loaded.set_actor(self.actor());
            // The snapshot's own bytes are the document's save(): keep them as its stored chunk
            // instead of saving it again (written first, so a failure leaves the document as it
            // was).
            let k = Self::row_key(store, &self.id);
            let v = store.seal("doc_chunks", &k, data)?;
            store.conn.execute(
                "INSERT INTO doc_chunks (space, v) VALUES (?1, ?2)",
                rusqlite::params![k, v],
            )?;
            self.chunks += 1;
            self.doc = loaded;
            self.persisted = self.doc.get_heads();
        } else {
            merge_untrusted(&mut self.doc, &mut loaded)?;
        }
        // This device's own changes the snapshot brought back (a vault restored from an older
        // copy, review finding F2): past the seal cursor, and a fresh generation.
        let returning: Vec<(u32, u64, automerge::ChangeHash)> = self
            .doc
            .get_changes_meta(&before)
            .iter()
            .filter_map(|m| {
                let (d, g) = super::actor_generation(&m.actor)?;
                (d == self.me).then_some((g, m.seq, m.hash))
            })
            .collect();
        self.adopt_returned(&returning);
        for (a, s) in cover {
            self.vector.raise(a, s);
        }
        for (a, s) in full {
            if self.vector.get(&a) < s {
                let p = self.cover_pending.entry(a).or_insert(0);
                *p = (*p).max(s);
            }
        }
        let count = self.change_count();
        self.snap_base = self.snap_base.max(count);
        self.snap_envelopes = self.snap_envelopes.max(self.held_count());
        Ok(true)
    }
}

// ---- the vault's snapshot policy -------------------------------------------------------------

const SNAPSHOT_EVERY: &str = "snapshot-every";
/// Fewest changes between two snapshots a vault accepts (below this the snapshots would cost more
/// than the changes they stand for).
pub const MIN_SNAPSHOT_EVERY: u32 = 16;

impl Vault {
    /// Changes between two snapshots this device seals (0: it seals none). Kept in the vault.
    pub fn snapshot_every(&self) -> Result<u32> {
        match self.store.kv_get(SNAPSHOT_EVERY)? {
            Some(v) => {
                let b: [u8; 4] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::Corrupt("snapshot setting"))?;
                Ok(u32::from_be_bytes(b))
            }
            None => Ok(DEFAULT_SNAPSHOT_EVERY),
        }
    }

    /// Sets how many changes gather before this device seals a snapshot at sync time: 0 turns
    /// snapshots off, otherwise at least [`MIN_SNAPSHOT_EVERY`].
    pub fn set_snapshot_every(&mut self, every: u32) -> Result<()> {
        if every != 0 && every < MIN_SNAPSHOT_EVERY {
            return Err(Error::InvalidInput(format!(
                "snapshots need at least {MIN_SNAPSHOT_EVERY} changes between them (or 0 for none)"
            )));
        }
        self.store.kv_put(SNAPSHOT_EVERY, &every.to_be_bytes())
    }

    /// Seals a snapshot of `space` now (the journal when `None`), whatever the policy says. Returns
    /// its size in bytes, or `None` where this space has no snapshots (only journals and indexes do)
    /// or its document is too large for one envelope.
    pub fn snapshot_now(&mut self, space: Option<SpaceId>) -> Result<Option<u64>> {
        self.seal_pending()?;
        let (store, identity) = (&self.store, &self.identity);
        let s = match space {
            None => self.journal.as_mut().ok_or(Error::NotFound("journal"))?,
            Some(id) => match self.journal.as_mut().filter(|j| j.id == id) {
                Some(j) => j,
                None => self.shared.get_mut(&id).ok_or(Error::NotFound("space"))?,
            },
        };
        Ok(s.seal_snapshot(store, identity)?.map(|n| n as u64))
    }
}
