//! One verdict per envelope on every device (protocol 15.10; issue 15, item 7).
//!
//! An envelope is judged by the role the log gives its author at the envelope's sequence number
//! ([`MembershipState::writing_role_at`]), never by the order a device learnt things in. A device
//! that learns of a removal, demotion or promotion after it judged some of that author's envelopes
//! judges them again: what the new log refuses leaves the document (with every change built on
//! it), and what it now allows is taken in. Every device then holds the same document once it
//! holds the same log and envelopes.

use std::collections::{BTreeSet, HashSet};

use automerge::{AutoCommit, Change, ChangeHash};
use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

use sebaya_proto::envelope::HeaderV1;
use sebaya_proto::membership::{MembershipState, Role};
use sebaya_proto::{DeviceId, Envelope, EpochId, Kind};

use crate::error::Result;
use crate::identity::Identity;
use crate::store::Store;

use super::codec::apply_in_place;
use super::{Space, decode_changes, genesis_epoch};

/// Waiting, applied and refused, as the vault's `envelopes.state` column holds them.
const WAITING: i64 = 0;
const APPLIED: i64 = 1;
const REFUSED: i64 = 2;
/// Refused for its number alone, and something in good standing was built on it: judged by its
/// author's highest role (protocol 15.10, "Built on").
/// (3 is [`super::apart::HELD_APART`].)
pub(super) const BUILT_ON: i64 = 4;
/// Applied because something in good standing was built on it: whether something still is, is
/// asked again at every change of the log.
pub(super) const BUILT_ON_APPLIED: i64 = 5;

/// How much a role lets an author write: a role that ranks higher accepts all a lower one does.
fn rank(role: Option<Role>) -> u8 {
    match role {
        None => 0,
        Some(Role::Member) => 1,
        Some(Role::Admin) => 2,
    }
}

/// The first sequence number of `device` at which `before` and `after` give different roles, if
/// any. Both are constant between their cutoffs, so only the first number and those just past a
/// cutoff need asking.
fn first_difference(
    before: &MembershipState,
    after: &MembershipState,
    device: &DeviceId,
) -> Option<u64> {
    let mut at: BTreeSet<u64> = BTreeSet::from([1]);
    for s in [before, after] {
        for c in s.cutoffs(device) {
            at.insert(c.saturating_add(1));
        }
    }
    at.into_iter()
        .find(|&seq| before.writing_role_at(device, seq) != after.writing_role_at(device, seq))
}

/// A waiting changes envelope: its key, whether it vouches for what it was built on, its changes'
/// hashes and their dependencies.
type Waiting = (Vec<u8>, bool, Vec<ChangeHash>, Vec<ChangeHash>);

impl Space {
    /// What a change of the log from `before` asks of verdicts already given (inside the caller's
    /// transaction): envelopes judged again ([`Space::rejudge`]), and this device's own writes
    /// sealed under a rotation the log now sets aside sealed again under a key the log stands by
    /// ([`Space::reseal_set_aside`]). Returns whether envelopes wait to be applied.
    pub(super) fn log_changed(
        &mut self,
        store: &Store,
        id: &Identity,
        before: &MembershipState,
    ) -> Result<bool> {
        let again = self.rejudge(store, before)?;
        self.reseal_set_aside(store, id, before)?;
        Ok(again)
    }

    /// A rotation the log counted can stop counting when a concurrent statement takes its author's
    /// role away; its key then reaches no device that had not taken it already, and what this
    /// device sealed under it would be read only where it was written. Those envelopes' contents
    /// are sealed again, under fresh numbers, with the newest key the log stands by (the genesis
    /// key when no rotation stands); the old envelopes stay, as duplicates where they were read.
    fn reseal_set_aside(
        &mut self,
        store: &Store,
        id: &Identity,
        before: &MembershipState,
    ) -> Result<()> {
        let standing = |e: &EpochId, s: &MembershipState| s.epochs.iter().any(|x| x.id == *e);
        let gone: Vec<EpochId> = before
            .epochs
            .iter()
            .map(|e| e.id)
            .filter(|e| !standing(e, &self.members))
            .collect();
        if gone.is_empty() || id.device != self.me || !self.members.is_member(&self.me) {
            return Ok(());
        }
        if gone.contains(&self.epoch) && !self.fall_back_epoch() {
            return Ok(());
        }
        let signer = id.signing_key()?;
        for seq in 1..self.next_seq {
            let k = Self::envelope_key(store, &self.id, &self.me, seq);
            let Some(v) = store
                .conn
                .query_row("SELECT v FROM envelopes WHERE k = ?1", [&k], |r| {
                    r.get::<_, Vec<u8>>(0)
                })
                .optional()?
            else {
                continue;
            };
            let env = Envelope::parse(&store.open_value("envelopes", &k, &v)?)?;
            let h = env.header()?;
            if env.kind() != Kind::Changes || !gone.contains(&h.epoch) {
                continue;
            }
            let Some(key) = self.key_for(&h.epoch) else {
                continue;
            };
            let content = Zeroizing::new(env.open(key)?);
            let header = HeaderV1 {
                kind: Kind::Changes,
                space: self.id,
                epoch: self.epoch,
                author: self.me,
                seq: self.next_seq,
            };
            let again = self.seal_content(header, &content, &signer)?;
            Self::insert_envelope(store, &again, &self.me, self.next_seq, APPLIED)?;
            self.vector.insert(self.me, self.next_seq);
            self.next_seq += 1;
        }
        Ok(())
    }

    /// Moves the key this device writes with off a rotation the log no longer counts: to the
    /// newest counted one it holds the key of, else to the genesis key. Returns whether it moved.
    fn fall_back_epoch(&mut self) -> bool {
        let counted = self
            .members
            .epochs
            .iter()
            .rev()
            .map(|e| e.id)
            .find(|e| self.older.contains_key(e));
        let target = counted.or_else(|| {
            self.older
                .iter()
                .find(|(e, k)| genesis_epoch(&self.id, k).is_ok_and(|g| g == **e))
                .map(|(e, _)| *e)
        });
        let Some(target) = target else {
            return false;
        };
        // Never back to a key a removed device may hold: then nothing is sealed again here, and an
        // admin's next sync rotates (`Space::needs_rotation`).
        let started_by = counted.map(|e| sebaya_proto::membership::StatementId(e.0));
        if self.log.removed_since(started_by.as_ref()) {
            return false;
        }
        let Some(k) = self.older.remove(&target) else {
            return false;
        };
        let prev_key = std::mem::replace(&mut self.key, k);
        let prev_epoch = std::mem::replace(&mut self.epoch, target);
        self.older.insert(prev_epoch, prev_key);
        true
    }

    /// Judges again, after the log changed from `before`, every envelope whose author's role at its
    /// number changed: applied ones the new role ranks lower are taken out of the document with
    /// what was built on them and wait to be judged again; refused ones it ranks higher wait
    /// again. Returns whether anything waits again (the caller applies what is pending). Runs in
    /// the caller's transaction, so the document written back and the states change together.
    fn rejudge(&mut self, store: &Store, before: &MembershipState) -> Result<bool> {
        let devices: BTreeSet<DeviceId> = [before, &self.members]
            .iter()
            .flat_map(|s| s.members.keys().chain(s.removed.keys()).copied())
            .collect();
        let mut again: Vec<Vec<u8>> = Vec::new();
        // Applied envelopes the new log ranks lower, with their changes: candidates to leave.
        let mut lower: Vec<(Vec<u8>, Vec<ChangeHash>)> = Vec::new();
        for device in devices {
            let Some(from) = first_difference(before, &self.members, &device) else {
                continue;
            };
            // Once one of the device's applied envelopes leaves, its refused later ones are judged
            // again too: one refused for carrying a change numbered like one that left (a device
            // of a release before rules version 6 numbers its next change after the last one
            // kept, where this one starts a new actor generation) now fits.
            let mut left = false;
            for seq in self.held_from(&device, from) {
                let was = rank(before.writing_role_at(&device, seq));
                let now = rank(self.members.writing_role_at(&device, seq));
                let k = Self::envelope_key(store, &self.id, &device, seq);
                let Some((state, v)) = store
                    .conn
                    .query_row("SELECT state, v FROM envelopes WHERE k = ?1", [&k], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
                    })
                    .optional()?
                else {
                    continue;
                };
                let env = Envelope::parse(&store.open_value("envelopes", &k, &v)?)?;
                if env.kind() != Kind::Changes {
                    continue;
                }
                if state == APPLIED && now < was {
                    lower.push((k, self.changes_in(&env).iter().map(Change::hash).collect()));
                    left = true;
                } else if state == REFUSED && (now > was || left) {
                    again.push(k);
                }
            }
        }
        // Envelopes taken in for what was built on them: a candidate again whenever the log
        // changes (what vouched for them may have lost its standing).
        if !lower.is_empty() || !again.is_empty() || self.members != *before {
            for (k, _, env) in self.changes_rows(store, &[BUILT_ON_APPLIED])? {
                lower.push((k, self.changes_in(&env).iter().map(Change::hash).collect()));
            }
        }
        // What a change staying in the document was built on stays too (protocol 15.10, "Built
        // on"): a member in good standing took it before the statement reached it, and taking it
        // out would take that member's work with it. Only what nobody built on leaves.
        let candidates: Vec<Vec<u8>> = lower.iter().map(|(k, _)| k.clone()).collect();
        let out = match lower.is_empty() {
            true => HashSet::new(),
            false => self.not_built_on(store, &mut lower)?,
        };
        // A candidate that stays, stays because something was built on it: like one taken in for
        // that, it is judged again at the next change of the log (what vouched may lose standing).
        for k in candidates {
            if !lower.iter().any(|(l, _)| *l == k) {
                store.conn.execute(
                    "UPDATE envelopes SET state = ?1 WHERE k = ?2",
                    params![BUILT_ON_APPLIED, k],
                )?;
            }
        }
        again.extend(lower.into_iter().map(|(k, _)| k));
        if again.is_empty() {
            return Ok(false);
        }
        if !out.is_empty() {
            let Some(gone) = self.rebuild_without(store, &out)? else {
                // The document could not be rebuilt (it always can from its own changes): keep it
                // and the verdicts as they were rather than lose anything.
                return Ok(false);
            };
            if gone.len() > out.len() {
                again.extend(self.applied_rows_holding(store, &gone)?);
            }
        }
        for k in &again {
            store.conn.execute(
                "UPDATE envelopes SET state = ?1 WHERE k = ?2",
                params![WAITING, k],
            )?;
        }
        Ok(true)
    }

    /// Keeps in `lower` only the envelopes no change in good standing that stays in the document
    /// depends on, directly or through others, and returns their changes. A change vouches when its
    /// envelope is in good standing ([`Space::in_good_standing`]); this device's own unsealed
    /// changes vouch as its next envelope would; changes that came with no envelope here (inside a
    /// snapshot) vouch. The same rule takes refused envelopes in (`missing_under_waiting`), so
    /// every holder keeps the same set.
    fn not_built_on(
        &mut self,
        store: &Store,
        lower: &mut Vec<(Vec<u8>, Vec<ChangeHash>)>,
    ) -> Result<HashSet<ChangeHash>> {
        let all = self.doc.get_changes(&[]);
        let deps: std::collections::HashMap<ChangeHash, Vec<ChangeHash>> =
            all.iter().map(|c| (c.hash(), c.deps().to_vec())).collect();
        let candidates: HashSet<ChangeHash> =
            lower.iter().flat_map(|(_, h)| h.iter().copied()).collect();
        let numbered = self.applied_numbers(store)?;
        let mine_vouch = self.in_good_standing(&self.me, self.next_seq);
        let mut next: Vec<ChangeHash> = Vec::new();
        for c in &all {
            let h = c.hash();
            if candidates.contains(&h) {
                continue;
            }
            let vouches = match numbered.get(&h) {
                Some((author, seq)) => self.in_good_standing(author, *seq),
                None if self.own_generation(c.actor_id()).is_some() => mine_vouch,
                None => true,
            };
            if vouches {
                next.extend(c.deps().iter().copied());
            }
        }
        let mut under: HashSet<ChangeHash> = HashSet::new();
        while let Some(h) = next.pop() {
            if under.insert(h) {
                if let Some(d) = deps.get(&h) {
                    next.extend(d.iter().copied());
                }
            }
        }
        lower.retain(|(_, hs)| !hs.iter().any(|h| under.contains(h)));
        Ok(lower.iter().flat_map(|(_, h)| h.iter().copied()).collect())
    }

    /// For every change of an applied changes envelope here, the envelope's author and number.
    fn applied_numbers(
        &self,
        store: &Store,
    ) -> Result<std::collections::HashMap<ChangeHash, (DeviceId, u64)>> {
        let mut out = std::collections::HashMap::new();
        for (_, _, env) in self.changes_rows(store, &[APPLIED, BUILT_ON_APPLIED])? {
            let Ok(h) = env.header() else {
                continue;
            };
            for c in self.changes_in(&env) {
                out.insert(c.hash(), (h.author, h.seq));
            }
        }
        Ok(out)
    }

    /// Marks the refused changes envelopes that hold one of `missing` (changes something still
    /// waiting depends on) as built on, to be judged by their author's highest role
    /// ([`MembershipState::peak_role`]): refused for their number alone, they go in; refused for
    /// what they write, they are refused again. Returns whether any was marked.
    pub(super) fn take_in_built_on(
        &self,
        store: &Store,
        missing: &HashSet<ChangeHash>,
    ) -> Result<bool> {
        let mut marked = false;
        for (k, _, env) in self.changes_rows(store, &[REFUSED])? {
            let Ok(h) = env.header() else {
                continue;
            };
            // One in good standing was refused for what it writes: its highest role is its role.
            if self.members.peak_role(&h.author).is_none()
                || self.in_good_standing(&h.author, h.seq)
            {
                continue;
            }
            if self
                .changes_in(&env)
                .iter()
                .any(|c| missing.contains(&c.hash()))
            {
                store.conn.execute(
                    "UPDATE envelopes SET state = ?1 WHERE k = ?2",
                    params![BUILT_ON, k],
                )?;
                marked = true;
            }
        }
        Ok(marked)
    }

    /// Whether `author` writes at `seq` with the highest role the log says it ever held: no cutoff
    /// lowered it there. Only such an envelope vouches for what it was built on (protocol 15.10).
    pub(super) fn in_good_standing(&self, author: &DeviceId, seq: u64) -> bool {
        let at = self.members.writing_role_at(author, seq);
        at.is_some() && at == self.members.peak_role(author)
    }

    /// Of a removed device's envelopes past its cutoff (`late`, refused on arrival), stores those
    /// that hold a change something waiting here depends on, marked built on, and returns how many
    /// (the caller counts the rest refused; each stored one is taken off `late`).
    pub(super) fn take_late_built_on(&mut self, store: &Store, late: &[Envelope]) -> Result<u32> {
        if late.is_empty() {
            return Ok(0);
        }
        let mut taken = 0u32;
        // Until nothing more is taken: what a taken envelope was built on may be among them too.
        loop {
            let missing = self.missing_under_waiting(store)?;
            let mut more = false;
            for env in late {
                let Ok(h) = env.header() else {
                    continue;
                };
                if self.vector.contains(&h.author, h.seq)
                    || self.members.peak_role(&h.author).is_none()
                {
                    continue;
                }
                if self
                    .changes_in(env)
                    .iter()
                    .any(|c| missing.contains(&c.hash()))
                {
                    Self::insert_envelope(store, env, &h.author, h.seq, BUILT_ON)?;
                    self.vector.insert(h.author, h.seq);
                    taken += 1;
                    more = true;
                }
            }
            if !more {
                return Ok(taken);
            }
        }
    }

    /// The changes that what waits here in good standing (or built on) depends on, directly or
    /// through other waiting envelopes, and that no waiting envelope holds; the waiting envelopes
    /// not in good standing found on the way are marked built on (judged by their author's highest
    /// role), since something in good standing was built on them.
    pub(super) fn missing_under_waiting(&mut self, store: &Store) -> Result<HashSet<ChangeHash>> {
        let mut waiting: Vec<Waiting> = Vec::new();
        for (k, state, env) in self.changes_rows(store, &[WAITING, BUILT_ON])? {
            let Ok(h) = env.header() else {
                continue;
            };
            let vouched = state == BUILT_ON || self.in_good_standing(&h.author, h.seq);
            let changes = self.changes_in(&env);
            let hashes = changes.iter().map(Change::hash).collect();
            let deps = changes.iter().flat_map(|c| c.deps().to_vec()).collect();
            waiting.push((k, vouched, hashes, deps));
        }
        let mut held: std::collections::HashMap<ChangeHash, usize> =
            std::collections::HashMap::new();
        for (i, (_, _, hashes, _)) in waiting.iter().enumerate() {
            for h in hashes {
                held.insert(*h, i);
            }
        }
        let mut needed: Vec<ChangeHash> = waiting
            .iter()
            .filter(|w| w.1)
            .flat_map(|w| w.3.iter().copied())
            .collect();
        let mut seen: HashSet<ChangeHash> = HashSet::new();
        let mut missing: HashSet<ChangeHash> = HashSet::new();
        let mut mark: Vec<usize> = Vec::new();
        while let Some(h) = needed.pop() {
            if !seen.insert(h) || self.doc.get_change_by_hash(&h).is_some() {
                continue;
            }
            match held.get(&h) {
                Some(&i) => {
                    if !waiting[i].1 {
                        waiting[i].1 = true;
                        mark.push(i);
                        needed.extend(waiting[i].3.iter().copied());
                    }
                }
                None => {
                    missing.insert(h);
                }
            }
        }
        for i in mark {
            store.conn.execute(
                "UPDATE envelopes SET state = ?1 WHERE k = ?2",
                params![BUILT_ON, waiting[i].0],
            )?;
        }
        Ok(missing)
    }

    /// Opens a changes envelope whatever its author's standing (`Ok(None)` while its epoch's key
    /// is not held): how an envelope marked built on is read, whose verdict is its author's
    /// highest role's, and what [`Space::decode_envelope`] does once the author may write it.
    pub(super) fn open_changes(&self, env: &Envelope) -> Result<Option<Vec<Change>>> {
        let h = env.header()?;
        if h.kind != Kind::Changes {
            return Err(crate::error::Error::Content("not a changes envelope"));
        }
        let Some(key) = self.key_for(&h.epoch) else {
            return Ok(None);
        };
        let plain = Zeroizing::new(env.open(key)?);
        decode_changes(&plain, &h.author).map(Some)
    }

    /// This space's stored changes envelopes in one of `states`, oldest first: key, state and the
    /// envelope. What every judging-again step reads; each state is a constant of this file.
    fn changes_rows(&self, store: &Store, states: &[i64]) -> Result<Vec<(Vec<u8>, i64, Envelope)>> {
        let sk = Self::row_key(store, &self.id);
        let list: Vec<String> = states.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT k, v, state FROM envelopes WHERE space = ?1 AND state IN ({}) ORDER BY n",
            list.join(", ")
        );
        let rows: Vec<(Vec<u8>, Vec<u8>, i64)> = {
            let mut stmt = store.conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([&sk], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(rows.len());
        for (k, v, state) in rows {
            let env = Envelope::parse(&store.open_value("envelopes", &k, &v)?)?;
            if env.kind() == Kind::Changes {
                out.push((k, state, env));
            }
        }
        Ok(out)
    }

    /// The sequence numbers of `device` this device holds, from `from` on.
    fn held_from(&self, device: &DeviceId, from: u64) -> Vec<u64> {
        let mut seqs: Vec<u64> = (from..=self.vector.get(device)).collect();
        seqs.extend(
            self.vector
                .above_gap()
                .filter(|(a, s)| *a == device && *s >= from)
                .map(|(_, s)| s),
        );
        seqs
    }

    /// The changes a changes envelope carries, whatever its author's standing now (empty when its
    /// epoch key is not held or it does not open: such an envelope was never applied).
    fn changes_in(&self, env: &Envelope) -> Vec<Change> {
        self.open_changes(env).ok().flatten().unwrap_or_default()
    }

    /// Rebuilds the document from its own changes without `out` and every change that depends on
    /// one of them, and writes it back whole in place of the stored chunks. Returns every change
    /// left out, or `None` if Automerge would not take the rest (the document then stays).
    ///
    /// A change this device made on top of a change left out goes too, sealed or not: on every
    /// device the same (an edit of a note that no longer exists has nothing to edit).
    fn rebuild_without(
        &mut self,
        store: &Store,
        out: &HashSet<ChangeHash>,
    ) -> Result<Option<HashSet<ChangeHash>>> {
        let all = self.doc.get_changes(&[]);
        let mut gone = out.clone();
        loop {
            let before = gone.len();
            for c in &all {
                if !gone.contains(&c.hash()) && c.deps().iter().any(|d| gone.contains(d)) {
                    gone.insert(c.hash());
                }
            }
            if gone.len() == before {
                break;
            }
        }
        let mine_gone = all
            .iter()
            .any(|c| self.own_generation(c.actor_id()).is_some() && gone.contains(&c.hash()));
        let kept: Vec<Change> = all
            .into_iter()
            .filter(|c| !gone.contains(&c.hash()))
            .collect();
        // One of this device's own changes leaves: it writes on under a fresh actor (protocol 8.1,
        // 15.10), so its next change never takes the number of the one that left, which a holder
        // that was built on it keeps (and every holder then takes in).
        let generation = match mine_gone {
            true => self.generation.saturating_add(1),
            false => self.generation,
        };
        let mut fresh =
            AutoCommit::new().with_actor(super::actor_of_generation(&self.me, generation));
        if apply_in_place(&mut fresh, kept).is_err() {
            return Ok(None);
        }
        let whole = fresh.save_after(&[]);
        let k = Self::row_key(store, &self.id);
        let v = store.seal("doc_chunks", &k, &whole)?;
        store
            .conn
            .execute("DELETE FROM doc_chunks WHERE space = ?1", [&k])?;
        store.conn.execute(
            "INSERT INTO doc_chunks (space, v) VALUES (?1, ?2)",
            params![k, v],
        )?;
        self.doc = fresh;
        self.persisted = self.doc.get_heads();
        self.chunks = 1;
        self.generation = generation;
        if mine_gone {
            // The seal cursor stays: numbers of an earlier generation are never taken again, and
            // a change of its own that left and comes back was sealed already. A seal reads the
            // whole document once (the heads of the last seal may be gone).
            self.sealed_heads.clear();
        } else {
            let heads = std::mem::take(&mut self.sealed_heads);
            let known = heads
                .iter()
                .all(|h| self.doc.get_change_by_hash(h).is_some());
            if known {
                self.sealed_heads = heads;
            }
        }
        self.counted = 0;
        self.counted_heads.clear();
        self.announced.read_again();
        self.rules_announced.read_again();
        Ok(Some(gone))
    }

    /// The applied envelopes of any author that carry one of `gone`: built on a change left out,
    /// they wait again (their changes are no longer in the document).
    fn applied_rows_holding(
        &self,
        store: &Store,
        gone: &HashSet<ChangeHash>,
    ) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for (k, _, env) in self.changes_rows(store, &[APPLIED, BUILT_ON_APPLIED])? {
            if self
                .changes_in(&env)
                .iter()
                .any(|c| gone.contains(&c.hash()))
            {
                out.push(k);
            }
        }
        Ok(out)
    }
}
