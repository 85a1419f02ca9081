//! A space's outgoing side: sealing this device's own changes into numbered envelopes, keeping
//! every envelope held (own and received) in the vault, and what the relay acknowledged, so a sync
//! or a peer session knows what to send.

use std::collections::BTreeMap;

use automerge::{Change, ChangeHash};
use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

use sebaya_proto::envelope::{HeaderV1, MAX_PLAINTEXT_LEN_V2};
use sebaya_proto::{DeviceId, Envelope, Kind, SpaceId};

use crate::crypto;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::store::Store;

use super::{MAX_BATCH_RAW, Space, encode_changes};

/// Which changes a seal reads to find this device's unsealed ones.
#[derive(Clone, Copy)]
pub(super) enum Walk {
    /// Those after the heads of the last seal (`Space::sealed_heads`).
    SinceLastSeal,
    /// Every change of the document (the benchmark's baseline).
    Everything,
}

impl Space {
    pub(super) fn envelope_key(
        store: &Store,
        space: &SpaceId,
        author: &DeviceId,
        seq: u64,
    ) -> Vec<u8> {
        let mut m = Vec::with_capacity(56);
        m.extend_from_slice(&space.0);
        m.extend_from_slice(&author.0);
        m.extend_from_slice(&seq.to_be_bytes());
        store.lookup("envelopes", &m)
    }

    pub(super) fn insert_envelope(
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

    /// This device's changes not sealed yet, and the heads of the document they were read at.
    ///
    /// `Walk::SinceLastSeal` reads only the changes not in the past of `sealed_heads`: every change
    /// of this device in that past was sealed, as the heads are taken only when nothing of its own
    /// is left unsealed, and the past of a set of hashes never changes, whatever document holds
    /// them (after a merge, a reload, a compaction, a snapshot, a document put back after a
    /// quarantine). Heads the document does not know are passed over by Automerge, which then
    /// returns more changes, never fewer: the filter below finds the same ones either way.
    /// `Walk::Everything` is the walk of every change this replaced (kept for the benchmark).
    pub(super) fn unsealed_mine(&mut self, walk: Walk) -> (Vec<Change>, Vec<ChangeHash>) {
        let heads = self.doc.get_heads();
        let read = match walk {
            Walk::SinceLastSeal => self.doc.get_changes(&self.sealed_heads),
            Walk::Everything => self.doc.get_changes(&[]),
        };
        self.seal_work += read.len() as u64;
        let cursor = (self.sealed_generation, self.sealed_change_seq);
        let mine = read
            .into_iter()
            .filter(|c| {
                self.own_generation(c.actor_id())
                    .is_some_and(|g| (g, c.seq()) > cursor)
            })
            .collect();
        (mine, heads)
    }

    /// Seals this device's changes made since its previous envelope into new `changes` envelopes.
    /// Returns how many were sealed. Reads only the changes made or received since the previous
    /// seal (issue 15, item 10), not the whole history.
    pub fn seal_outgoing(&mut self, store: &Store, id: &Identity, codec: u8) -> Result<u32> {
        self.seal_with(store, id, codec, Walk::SinceLastSeal)
    }

    /// [`Space::seal_outgoing`] as it was before issue 15, item 10: reading every change of the
    /// document at every seal. For the benchmark's baseline only (`sebaya-bench --only seal`).
    #[doc(hidden)]
    pub fn seal_outgoing_reading_everything(
        &mut self,
        store: &Store,
        id: &Identity,
        codec: u8,
    ) -> Result<u32> {
        self.seal_with(store, id, codec, Walk::Everything)
    }

    fn seal_with(&mut self, store: &Store, id: &Identity, codec: u8, walk: Walk) -> Result<u32> {
        let (mut mine, mut heads) = self.unsealed_mine(walk);
        // The rules version this device judges under (docs/protocol.md 12.2): announced in every
        // shared space it is a member of after an update, on its own when it has nothing else to
        // seal, so members who only read announce too.
        let rules_new = self.announce_rules_if_needed();
        // The envelope versions this device opens ride in its first envelope after an update
        // (docs/protocol.md 12.1): announced only when there is something to seal anyway.
        let versions_new = (rules_new || !mine.is_empty()) && self.announce_if_needed();
        if rules_new || versions_new {
            // Stored before the envelope that carries it, as every local edit is: a vault killed
            // after the seal must not come back without it, or its next change would reuse the
            // announcement's Automerge sequence number and be refused everywhere.
            self.persist(store)?;
            (mine, heads) = self.unsealed_mine(walk);
        }
        if mine.is_empty() {
            // Nothing of this device's own is unsealed up to these heads: the next seal starts
            // there. Kept in memory; the next record written carries it (an older cursor in the
            // vault is as true, only longer to read from).
            self.sealed_heads = heads;
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
        let last = batches.len().saturating_sub(1);
        for (i, batch) in batches.into_iter().enumerate() {
            let top = batch
                .iter()
                .filter_map(|c| Some((self.own_generation(c.actor_id())?, c.seq())))
                .max()
                .unwrap_or((self.sealed_generation, self.sealed_change_seq));
            let payload = encode_changes(&self.doc, &batch, codec)?;
            if payload.len() > MAX_PLAINTEXT_LEN_V2 {
                return Err(Error::Internal("change batch exceeds the envelope limit"));
            }
            let header = HeaderV1 {
                kind: Kind::Changes,
                space: self.id,
                epoch: self.epoch,
                author: self.me,
                seq: self.next_seq,
            };
            let env = self.seal_content(header, &payload, &signer)?;
            // One transaction: the sequence number is consumed exactly when the envelope exists.
            let tx = store.durable_transaction()?;
            Self::insert_envelope(store, &env, &self.me, self.next_seq, 1)?;
            self.vector.insert(self.me, self.next_seq);
            self.next_seq += 1;
            (self.sealed_generation, self.sealed_change_seq) = top;
            if i == last {
                // Every change of its own up to these heads is sealed now.
                self.sealed_heads = heads.clone();
            }
            self.save_record(store)?;
            tx.commit()?;
            sealed += 1;
        }
        Ok(sealed)
    }

    /// Changes read from the document to find this device's unsealed ones, or to count them, since
    /// the space was loaded: a unit of work the seal cost tests bound (`seal_cost_tests.rs`, issue
    /// 15, item 10).
    pub fn seal_work(&self) -> u64 {
        self.seal_work
    }

    /// Whether everything this device wrote here is sealed and acknowledged by the relay: what a
    /// referral's "sent" state means (the relay holds it; any member's next sync brings it).
    pub fn all_sent(&mut self) -> bool {
        let unsealed = !self.unsealed_mine(Walk::SinceLastSeal).0.is_empty();
        let acked = self.relay_acked.get(&self.me).copied().unwrap_or(0);
        !unsealed && acked + 1 >= self.next_seq
    }

    /// This device's changes the relay has not acknowledged: those not sealed yet, and those in its
    /// own sealed envelopes above the relay's acknowledgement. (What an erased journal's holder
    /// carries over: writes nobody else has.)
    pub fn unacked_changes(&mut self, store: &Store) -> Result<Vec<Change>> {
        let mut out = self.unsealed_mine(Walk::SinceLastSeal).0;
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
    pub(super) fn holds_row(&self, store: &Store, author: &DeviceId, seq: u64) -> Result<bool> {
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

    /// The sequence number this device's next envelope in the space takes.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Takes `seen`, a sequence number of this device's own author in an envelope it received and
    /// verified by its own signature, as a floor for the counter: a vault restored from an older
    /// copy must never seal under a number it already used (docs/protocol.md, section 6.1).
    /// Returns whether the counter rose; the caller saves the record.
    pub(crate) fn raise_counter(&mut self, seen: u64) -> bool {
        if seen < self.next_seq {
            return false;
        }
        self.next_seq = seen.saturating_add(1);
        true
    }

    /// The relay refused this device's own envelope `seq` as a `conflict`: it holds a different one
    /// there (this vault was restored from a copy older than that number's first use). The refused
    /// envelope is dropped, so the relay's is pulled in its place and nothing here ever offers the
    /// refused bytes again; its content is sealed again under a fresh number above the relay's
    /// counter (a snapshot is not: a later one stands for it). Returns whether anything changed.
    pub fn reseal_refused(&mut self, store: &Store, id: &Identity, seq: u64) -> Result<bool> {
        let at_relay = self.relay_acked.get(&self.me).copied().unwrap_or(0);
        // Only when the relay holds something at that number: a conflict for any other reason (a
        // second genesis) is not cured by a new number.
        if id.device != self.me || seq > at_relay {
            return Ok(false);
        }
        let Some(bytes) = self.held_envelope(store, &self.me, seq)? else {
            return Ok(false);
        };
        let env = Envelope::parse(&bytes)?;
        let h = env.header()?;
        if h.author != self.me {
            return Ok(false);
        }
        let content = match h.kind {
            Kind::Snapshot | Kind::Unknown(_) => None,
            k if k.is_sealed() => match self.key_for(&h.epoch) {
                Some(key) => Some(Zeroizing::new(env.open(key)?)),
                None => return Err(Error::Internal("own envelope under an unknown epoch")),
            },
            _ => Some(Zeroizing::new(env.payload()?.to_vec())),
        };
        self.raise_counter(at_relay);
        let tx = store.durable_transaction()?;
        let k = Self::envelope_key(store, &self.id, &self.me, seq);
        store
            .conn
            .execute("DELETE FROM envelopes WHERE k = ?1", [&k])?;
        self.vector.forget(&self.me, seq);
        if let Some(content) = content {
            let header = HeaderV1 {
                kind: h.kind,
                space: self.id,
                // Sealed content goes under the key this device writes with now; signed content
                // keeps its epoch (a key-wraps envelope names the epoch it carries).
                epoch: if h.kind.is_sealed() {
                    self.epoch
                } else {
                    h.epoch
                },
                author: self.me,
                seq: self.next_seq,
            };
            let signer = id.signing_key()?;
            let env = if h.kind.is_sealed() {
                self.seal_content(header, &content, &signer)?
            } else {
                Envelope::seal_v1(header, &self.key, crypto::random()?, &content, &signer)?
            };
            Self::insert_envelope(store, &env, &self.me, self.next_seq, 1)?;
            self.vector.insert(self.me, self.next_seq);
            self.next_seq += 1;
        }
        self.save_record(store)?;
        tx.commit()?;
        Ok(true)
    }

    /// Whether the relay's last answer counted any envelope of this space: a relay that now says it
    /// holds no genesis of it has lost what it counted (protocol 9.6).
    pub fn relay_counts_any(&self) -> bool {
        self.relay_acked.values().any(|&n| n > 0)
    }

    /// Records the relay's acknowledgement (its contiguous vector for this space).
    pub fn set_relay_acked(&mut self, store: &Store, acked: BTreeMap<DeviceId, u64>) -> Result<()> {
        self.relay_acked = acked;
        // The counter is never raised from the relay's claim (a hostile relay could push it to
        // the end of the range): only this device's own envelopes, verified by its signature, do
        // (`receive`); a conflict pulls them.
        // The relay now counts envelopes a taken snapshot named: they exist (protocol 26.3).
        self.raise_pending_cover();
        self.save_record(store)
    }
}

#[cfg(test)]
mod counter_tests {
    #![allow(clippy::unwrap_used)]
    use crate::space::rules::tests::device;
    use crate::space::{Space, SpaceKind};
    use std::collections::BTreeMap;

    /// Review finding (issue 15, defect 6): a relay's acknowledgement claiming this device's own
    /// author far ahead must not move the counter (a hostile relay could push it to the end of the
    /// range, and every later write would sit above a gap no honest relay fills).
    #[test]
    fn a_relays_claim_never_raises_the_counter() {
        let d = device(1);
        let mut s = Space::create(&d.store, SpaceKind::Group, &d.id).unwrap();
        let before = s.next_seq();
        let mut acked = BTreeMap::new();
        acked.insert(d.id.device, u64::MAX);
        s.set_relay_acked(&d.store, acked).unwrap();
        assert_eq!(s.next_seq(), before);
    }
}
