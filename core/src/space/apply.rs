//! A space's incoming side: receiving envelopes (judging membership statements, storing, refusing
//! what cannot be right) and applying their changes to the document under the space's rules, with
//! quarantine for content that fails.

use automerge::{AutoCommit, Change, ChangeHash};
use rusqlite::params;

use sebaya_proto::membership::{
    Judged, MAX_NEW_STATEMENTS_PER_SPACE, MembershipState, SignedStatement,
};
use sebaya_proto::{DeviceId, Envelope, Kind};

use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::store::Store;

use super::apart::{Admission, Held, Room};
use super::codec::{apply_in_place, apply_untrusted};
use super::{ReceiveReport, Space, SpaceKind, rules};
use sebaya_proto::SpaceId;

/// An envelope's author and sequence number: what its verdict is judged by (protocol 15.10).
type Numbered = (DeviceId, u64);

impl Space {
    /// Stores envelopes received from anywhere (each verified on its own), then applies what it can.
    ///
    /// Judges at most [`MAX_NEW_STATEMENTS_PER_SPACE`] new membership statements per call: each costs
    /// an evaluation of the whole log, so a page stuffed with statements cannot make the device work
    /// without bound. The membership envelopes beyond are not stored (`deferred`): the device's
    /// vector does not count them, so the relay sends them again and the sync goes on.
    ///
    /// Every other envelope is judged by its author first: one the log does not admit (yet) is held
    /// apart (`apart.rs`), bounded, never counted in the vector nor applied, and taken in once a
    /// statement admits its author; a removed device's beyond its last accepted sequence number is
    /// refused.
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
        // The membership before the first statement this batch brings: what verdicts given so far
        // were made under, to judge again those the batch's statements change (`verdicts.rs`).
        let mut before: Option<MembershipState> = None;
        let mut late: Vec<Envelope> = Vec::new();
        let mut room = Room::default();
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
                // a new one is judged in its own past (no evaluation when it follows the heads), then
                // inserted, which may evaluate the whole log.
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
                let admissible = match self.log.judge(&st) {
                    Ok(Judged::Held) => self.log.authorised_in_past(&st.id()) != Some(false),
                    Ok(Judged::Missing(_)) => true,
                    Ok(Judged::Applicable { authorised }) => authorised,
                    Err(_) => false,
                };
                if !admissible {
                    report.refused += 1;
                    continue;
                }
                Self::insert_envelope(store, &env, &h.author, h.seq, 1)?;
                before.get_or_insert_with(|| self.members.clone());
                self.store_statement(store, &env, st)?;
                self.vector.insert(h.author, h.seq);
                if h.author == self.me {
                    self.raise_counter(h.seq);
                }
                report.stored += 1;
                report.applied += 1;
                continue;
            }
            // Only an author the log admits enters the vault's envelopes and the vector: a
            // stranger's envelope, however many, must not make the vector (what every sync sends)
            // grow past what the relay accepts.
            match self.admission(&h.author, h.seq) {
                Admission::Yes => {}
                Admission::No => {
                    // A removed device's past its cutoff: refused, unless something in good
                    // standing was built on it (judged once the batch is in, below).
                    if env.kind() == Kind::Changes {
                        late.push(env);
                    } else {
                        report.refused += 1;
                    }
                    continue;
                }
                Admission::NotYet => {
                    match self.hold_apart(store, &env, &h.author, h.seq, &mut room)? {
                        Held::Now => report.held_apart += 1,
                        Held::Already => report.duplicates += 1,
                        Held::Full => report.refused += 1,
                    }
                    continue;
                }
            }
            Self::insert_envelope(store, &env, &h.author, h.seq, 0)?;
            self.vector.insert(h.author, h.seq);
            if h.author == self.me {
                // This device's own envelope, from before a restore: its number is used.
                self.raise_counter(h.seq);
            }
            report.stored += 1;
        }
        if let Some(before) = before {
            self.log_changed(store, identity, &before)?;
        }
        let taken = self.take_late_built_on(store, &late)?;
        report.stored += taken;
        report.refused += u32::try_from(late.len())
            .unwrap_or(u32::MAX)
            .saturating_sub(taken);
        self.save_record(store)?;
        tx.commit()?;
        let (applied, quarantined) = self.apply_pending(store, identity)?;
        report.applied += applied;
        report.quarantined = quarantined;
        Ok(report)
    }

    /// Sets the envelopes this space had refused back to waiting when they were judged under older
    /// rules than [`rules::RULES_VERSION`], once per version (the version judged under is kept per
    /// space in the vault's settings). The next [`Space::apply_pending`] judges them again; what
    /// these rules refuse is set aside again.
    pub(crate) fn requeue_refused(&self, store: &Store) -> Result<()> {
        let name = format!("rules-version/{}", self.id.to_hex());
        let judged_under = store
            .kv_get(&name)?
            .and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok())
            .map_or(0, u32::from_le_bytes);
        if judged_under >= rules::RULES_VERSION {
            return Ok(());
        }
        let sk = Self::row_key(store, &self.id);
        store.conn.execute(
            "UPDATE envelopes SET state = 0 WHERE space = ?1 AND state = 2",
            [&sk],
        )?;
        store.kv_put(&name, &rules::RULES_VERSION.to_le_bytes())
    }

    /// Notes that this device joined this pairing as its participant under rules that require a
    /// programme (issue 14, item 11): from then on it refuses a set-up that binds none
    /// ([`rules::Author::needs_binding`]). Kept per space in the vault's settings; pairings held
    /// from before (or reached through the person's index, which may be older) carry no note, so
    /// they are kept and shown as outside a programme, never dropped.
    pub(crate) fn require_binding(store: &Store, space: &SpaceId) -> Result<()> {
        store.kv_put(&format!("pairing-needs-programme/{}", space.to_hex()), &[1])
    }

    /// Whether [`Space::require_binding`] noted this space.
    fn binding_required(&self, store: &Store) -> Result<bool> {
        if self.kind != SpaceKind::Pairing {
            return Ok(false);
        }
        let name = format!("pairing-needs-programme/{}", self.id.to_hex());
        Ok(store.kv_get(&name)?.is_some())
    }

    /// Applies every stored envelope still waiting, in arrival order: key-wraps first (they may unlock
    /// epochs), then changes. Returns (applied, quarantined).
    pub fn apply_pending(&mut self, store: &Store, identity: &Identity) -> Result<(u32, u32)> {
        let (mut applied, mut quarantined) = (0, 0);
        // A round may find refused envelopes that what still waits was built on; they go in the
        // next round (a few rounds at most: each takes only refused ones in).
        for _ in 0..4 {
            let (a, q, more) = self.apply_round(store, identity)?;
            applied += a;
            quarantined += q;
            if !more {
                break;
            }
        }
        Ok((applied, quarantined))
    }

    /// One round of [`Space::apply_pending`]; the third value says whether it took in refused
    /// envelopes something still waiting was built on, for another round to apply.
    fn apply_round(&mut self, store: &Store, identity: &Identity) -> Result<(u32, u32, bool)> {
        // Envelopes held apart whose authors the log admits by now wait with the rest.
        self.take_in_held_apart(store)?;
        let sk = Self::row_key(store, &self.id);
        // Waiting (0), and refused envelopes something in good standing was built on (judged by
        // their author's highest role, `verdicts.rs`).
        let pending: Vec<(Vec<u8>, Vec<u8>, i64)> = {
            let mut stmt = store.conn.prepare_cached(
                "SELECT k, v, state FROM envelopes WHERE space = ?1 AND state IN (0, ?2) ORDER BY n",
            )?;
            let rows = stmt.query_map(params![sk, super::verdicts::BUILT_ON], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        if pending.is_empty() {
            return Ok((0, 0, false));
        }
        let mut quarantined = 0u32;
        let mut applied = 0u32;
        let mut outcomes: Vec<(Vec<u8>, i64)> = Vec::new();
        let mut opened: Vec<(Vec<u8>, Envelope)> = Vec::new();
        let built_on: std::collections::HashSet<Vec<u8>> = pending
            .iter()
            .filter(|(_, _, state)| *state == super::verdicts::BUILT_ON)
            .map(|(k, _, _)| k.clone())
            .collect();
        for (k, v, _) in pending {
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
        let mut limited: Vec<(Vec<u8>, Vec<Change>, Numbered, bool)> = Vec::new();
        let creator = self.creator();
        let needs_binding = self.binding_required(store)?;
        for (k, env) in others {
            let endorsed = built_on.contains(&k);
            let decoded = match endorsed {
                true => self.open_changes(&env),
                false => self.decode_envelope(&env),
            };
            match decoded {
                Ok(Some(changes)) => {
                    let Ok(h) = env.header() else {
                        continue;
                    };
                    let mut a = rules::author(&self.members, creator, (h.author, h.seq), None);
                    if endorsed {
                        a.role = self.members.peak_role(&h.author);
                    }
                    if a.unlimited(self.kind) {
                        waiting.push((k, changes));
                    } else {
                        limited.push((k, changes, (h.author, h.seq), endorsed));
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
        // This device's own changes that its document lacks, coming back in envelopes: the vault
        // was restored from an older copy (review finding F2).
        let returning = self.own_returning(
            waiting
                .iter()
                .map(|(_, c)| c)
                .chain(limited.iter().map(|(_, c, _, _)| c)),
        );
        let all: Vec<Change> = waiting
            .iter()
            .flat_map(|(_, c)| c.iter().cloned())
            .collect();
        // Automerge queues changes whose dependencies are missing; they stay `waiting` in the vault
        // until the dependencies arrive, so nothing is lost across a restart.
        if apply_untrusted(&mut self.doc, all).is_err() {
            // Apply one envelope at a time to find the culprit(s).
            for (k, changes) in &waiting {
                if apply_untrusted(&mut self.doc, changes.clone()).is_err() {
                    quarantined += 1;
                    outcomes.push((k.clone(), 2));
                }
            }
        }
        // Limited authors: an envelope is judged once everything it depends on is in the document
        // (so every object it writes can be placed), then applied whole or refused whole. A copy of
        // the document taken before the first one (not one per envelope: a group's document may be
        // large) is what an envelope that fails part-way puts back, with the envelopes applied since
        // going in again.
        let mut checkpoint: Option<(AutoCommit, Vec<Vec<Change>>)> = None;
        loop {
            let mut progress = false;
            let mut rest = Vec::new();
            for (k, changes, device, endorsed) in limited {
                let own: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
                let ready = changes.iter().all(|c| {
                    c.deps()
                        .iter()
                        .all(|d| own.contains(d) || self.doc.get_change_by_hash(d).is_some())
                });
                if !ready {
                    rest.push((k, changes, device, endorsed));
                    continue;
                }
                progress = true;
                let registry = rules::registry_for(&self.doc, &changes);
                let mut author = rules::author(&self.members, creator, device, registry.as_ref());
                if endorsed {
                    author.role = self.members.peak_role(&device.0);
                }
                author.needs_binding = needs_binding;
                // Case notes: a member beyond the cap writes nothing that is taken (rules v5).
                if self.kind == SpaceKind::CaseNotes {
                    let now = u64::try_from(crate::store::clock::now_ms() / 1_000).unwrap_or(0);
                    author.refused = rules::casenotes::refused(
                        &self.members,
                        creator,
                        registry.as_ref(),
                        &device.0,
                        now,
                    );
                }
                // A test playing a device of an older release refuses what those rules refused.
                #[cfg(test)]
                let older = rules::reminders::older_refuses(
                    &self.doc,
                    self.rules_announced.judges,
                    author.role,
                    &changes,
                );
                #[cfg(not(test))]
                let older = false;
                if older || !rules::allowed(&self.doc, self.kind, &author, &changes) {
                    quarantined += 1;
                    outcomes.push((k, 2));
                    continue;
                }
                let (base, since) =
                    checkpoint.get_or_insert_with(|| (self.doc.clone(), Vec::new()));
                if apply_in_place(&mut self.doc, changes.clone()).is_ok() {
                    since.push(changes.clone());
                    waiting.push((k, changes));
                } else {
                    // Back to the copy, and what went in since goes in again (it did once).
                    self.doc = base.clone();
                    for c in since.iter() {
                        let _ = apply_in_place(&mut self.doc, c.clone());
                    }
                    quarantined += 1;
                    outcomes.push((k, 2));
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
                // Taken in for what was built on it: its standing is judged again whenever the log
                // changes (`verdicts.rs`).
                let state = match built_on.contains(k) {
                    true => super::verdicts::BUILT_ON_APPLIED,
                    false => 1,
                };
                outcomes.push((k.clone(), state));
            }
        }
        self.adopt_returned(&returning);
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
        // What still waits for changes the document lacks: if refused envelopes hold them, a
        // change in good standing was built on those (`verdicts.rs`, protocol 15.10).
        let waits = waiting
            .iter()
            .any(|(k, _)| !outcomes.iter().any(|(q, _)| q == k))
            || !limited.is_empty();
        let more = waits && {
            let missing = self.missing_under_waiting(store)?;
            !missing.is_empty() && self.take_in_built_on(store, &missing)?
        };
        Ok((applied, quarantined, more))
    }

    /// Of `batches`, this device's own changes its document does not hold: their generation,
    /// Automerge number and hash.
    fn own_returning<'a>(
        &mut self,
        batches: impl Iterator<Item = &'a Vec<Change>>,
    ) -> Vec<(u32, u64, ChangeHash)> {
        let mut out = Vec::new();
        for c in batches.flatten() {
            let Some(g) = self.own_generation(c.actor_id()) else {
                continue;
            };
            let h = c.hash();
            if self.doc.get_change_by_hash(&h).is_none() {
                out.push((g, c.seq(), h));
            }
        }
        out
    }

    /// This device's own changes came back into its document from envelopes (`returning`, those of
    /// them now in it count): a vault restored from a copy older than they are (protocol 8.1,
    /// 15.10; review finding F2). They were sealed before, so the seal cursor moves past them and
    /// none is sealed again; and the device writes on in a generation above every one it used,
    /// so its next change never takes the number of one it made before the restore, which other
    /// holders may keep. Saved with the record the caller writes next.
    pub(super) fn adopt_returned(&mut self, returning: &[(u32, u64, ChangeHash)]) {
        let top = returning
            .iter()
            .filter(|(_, _, h)| self.doc.get_change_by_hash(h).is_some())
            .map(|(g, s, _)| (*g, *s))
            .max();
        let Some((g, s)) = top else {
            return;
        };
        if (g, s) > (self.sealed_generation, self.sealed_change_seq) {
            (self.sealed_generation, self.sealed_change_seq) = (g, s);
        }
        if g >= self.generation {
            self.generation = g.saturating_add(1);
            let actor = self.actor();
            self.doc.set_actor(actor);
        }
    }

    /// Opens a changes envelope if its author may write it: `Ok(None)` while the author is not known to
    /// be a member or the epoch's key has not arrived, an error (quarantine) when it was written after
    /// its author's removal.
    pub(super) fn decode_envelope(&self, env: &Envelope) -> Result<Option<Vec<Change>>> {
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
        self.open_changes(env)
    }
}
