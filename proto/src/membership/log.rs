//! The log of one space: statements held and waiting for parents, inserted in any order, with the
//! state they determine kept current (protocol section 15.5).
use std::collections::{BTreeMap, HashMap};

use crate::envelope::SpaceId;
use crate::error::ProtoError;

use super::evaluate::{Bits, Evaluation, Node};
use super::*;

/// What [`MembershipLog::insert`] did with a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Stored and applied. `released` lists statements that were waiting for it and are now applied
    /// too (in the order they were applied).
    Applied {
        /// Previously pending statements applied as a result.
        released: Vec<StatementId>,
    },
    /// Stored, waiting for these parents (not yet held); applied when they arrive.
    Pending {
        /// The parents not held yet.
        missing: Vec<StatementId>,
    },
    /// Already held (applied or pending): nothing changed.
    Duplicate,
}

/// Where a held statement stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Waits for parents; has no effect yet.
    Pending,
    /// Applied and counts: its author was an admin when and where it was made (its effect may still
    /// be overridden, e.g. an add beaten by a concurrent removal).
    Valid,
    /// Applied but does not count (author not an admin, or revoked concurrently). Kept so that every
    /// holder computes from the same set.
    Invalid,
}

/// The membership log of one space: every statement held, and the state they determine.
///
/// Insert statements in any order, any number of times: the state is a function of the set of
/// statements held. Each insert recomputes the state, so `state()` and `is_valid()` are cheap reads;
/// the recomputation is at least linear in the log's size and quadratic in hostile shapes (a chain of
/// revocations settles one per pass; each vouch and admit scans the log), which is why a log holds at
/// most [`MAX_STATEMENTS`].
#[derive(Clone, Debug)]
pub struct MembershipLog {
    pub(super) space: SpaceId,
    pub(super) nodes: Vec<Node>,
    pub(super) index: HashMap<StatementId, usize>,
    pub(super) pending: BTreeMap<StatementId, SignedStatement>,
    /// Missing parent → pending statements waiting for it.
    pub(super) waiting: HashMap<StatementId, Vec<StatementId>>,
    pub(super) genesis: Option<StatementId>,
    pub(super) current: Evaluation,
    /// Whether `current` evaluates every applied statement. False only inside
    /// [`MembershipLog::insert_many`], which evaluates once at its end.
    pub(super) fresh: bool,
    /// The state of the last causal past evaluated to judge a statement's authority, by its parents:
    /// statements signed on the same parents (many at once, concurrently) are judged by one
    /// evaluation.
    pub(super) past_memo: Option<(Vec<StatementId>, MembershipState)>,
    /// Units of work every evaluation so far took, added up (see [`MembershipLog::work`]).
    pub(super) work: u64,
}

/// What [`MembershipLog::judge`] finds of a statement, without adding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judged {
    /// Already held (applied or pending).
    Held,
    /// Some parents are not held: it would wait for them.
    Missing(Vec<StatementId>),
    /// Its parents are held: whether its author had the authority it needs in the state of exactly
    /// its causal past (what [`MembershipLog::authorised_in_past`] will say once it is inserted).
    Applicable {
        /// Whether it would count in its own past.
        authorised: bool,
    },
}

impl MembershipLog {
    /// An empty log for one space: nobody is a member until its genesis arrives.
    pub fn new(space: SpaceId) -> MembershipLog {
        MembershipLog {
            space,
            nodes: Vec::new(),
            index: HashMap::new(),
            pending: BTreeMap::new(),
            waiting: HashMap::new(),
            genesis: None,
            current: Evaluation::default(),
            fresh: true,
            past_memo: None,
            work: 0,
        }
    }

    /// The space this log governs.
    pub fn space(&self) -> SpaceId {
        self.space
    }

    /// The id of the genesis, once held.
    pub fn genesis(&self) -> Option<StatementId> {
        self.genesis
    }

    /// Adds a statement. Verifies signature and structure again, refuses a statement of another space
    /// (`Malformed`), a second genesis (`Malformed`), and a log or waiting list at its bound
    /// (`TooLarge`). A statement whose parents are not all held waits and is applied when they arrive;
    /// one already held changes nothing. A statement that is well-formed but not authorised is stored
    /// and applied as [`Status::Invalid`]: it changes no one's membership.
    pub fn insert(&mut self, statement: SignedStatement) -> Result<Inserted, ProtoError> {
        let out = self.insert_one(statement);
        self.refresh();
        out
    }

    /// Adds many statements, as [`MembershipLog::insert`] does one by one, but evaluates the whole
    /// log once at the end rather than after each: what rebuilding a log from storage needs (a relay
    /// after a restart, a device opening its vault). One result per statement, in order.
    pub fn insert_many(
        &mut self,
        statements: impl IntoIterator<Item = SignedStatement>,
    ) -> Vec<Result<Inserted, ProtoError>> {
        let out = statements
            .into_iter()
            .map(|st| self.insert_one(st))
            .collect();
        self.refresh();
        out
    }

    /// [`MembershipLog::insert_many`], inserting only the statements `keep` accepts, asked of each
    /// with the log as it stands after the ones before it: what a relay replaying its stored
    /// statements through its own admission rule needs. `None` for a statement `keep` turned away.
    pub fn insert_many_if(
        &mut self,
        statements: impl IntoIterator<Item = SignedStatement>,
        mut keep: impl FnMut(&MembershipLog, &SignedStatement) -> bool,
    ) -> Vec<Option<Result<Inserted, ProtoError>>> {
        let out = statements
            .into_iter()
            .map(|st| keep(self, &st).then(|| self.insert_one(st)))
            .collect();
        self.refresh();
        out
    }

    /// What inserting `statement` would find, without inserting it: held already, waiting for
    /// parents, or applicable and whether authorised in its own past. Checks what
    /// [`MembershipLog::insert`] checks first (signature, structure, space, second genesis, bounds)
    /// and fails as it would. Costs at most one evaluation of the statement's past, none when its
    /// parents are the log's heads.
    pub fn judge(&self, statement: &SignedStatement) -> Result<Judged, ProtoError> {
        let id = statement.id();
        if self.index.contains_key(&id) || self.pending.contains_key(&id) {
            return Ok(Judged::Held);
        }
        self.check_new(statement)?;
        let s = statement.statement();
        let missing = self.missing_parents(s);
        if !missing.is_empty() {
            // As `insert` would: a statement waiting for parents needs room among the waiting.
            if self.pending.len() >= MAX_PENDING {
                return Err(ProtoError::TooLarge {
                    what: "pending membership statements",
                    len: (self.pending.len() + 1) as u64,
                    max: MAX_PENDING as u64,
                });
            }
            return Ok(Judged::Missing(missing));
        }
        let (authorised, _, _) = self.authority(s, &self.past_of(s));
        Ok(Judged::Applicable { authorised })
    }

    /// The parents of `s` the log does not hold applied (a pending parent counts as missing).
    fn missing_parents(&self, s: &Statement) -> Vec<StatementId> {
        s.parents
            .iter()
            .filter(|p| !self.index.contains_key(*p))
            .copied()
            .collect()
    }

    /// The checks every new statement passes before it is held.
    fn check_new(&self, statement: &SignedStatement) -> Result<(), ProtoError> {
        statement.verify()?;
        let s = statement.statement();
        if s.space != self.space {
            return Err(ProtoError::Malformed("statement is for another space"));
        }
        if matches!(s.op, Op::Genesis { .. }) && self.genesis.is_some() {
            return Err(ProtoError::Malformed("the space already has a genesis"));
        }
        if self.is_full() {
            return Err(ProtoError::TooLarge {
                what: "membership log",
                len: (self.nodes.len() + self.pending.len() + 1) as u64,
                max: MAX_STATEMENTS as u64,
            });
        }
        Ok(())
    }

    /// [`MembershipLog::insert`] without the final evaluation: applies what it can, leaving
    /// `current` behind (not `fresh`) unless each statement applied followed the log's heads.
    fn insert_one(&mut self, statement: SignedStatement) -> Result<Inserted, ProtoError> {
        let id = statement.id();
        if self.index.contains_key(&id) || self.pending.contains_key(&id) {
            return Ok(Inserted::Duplicate);
        }
        self.check_new(&statement)?;
        let s = statement.statement();
        let missing = self.missing_parents(s);
        if !missing.is_empty() {
            if self.pending.len() >= MAX_PENDING {
                return Err(ProtoError::TooLarge {
                    what: "pending membership statements",
                    len: (self.pending.len() + 1) as u64,
                    max: MAX_PENDING as u64,
                });
            }
            for m in &missing {
                self.waiting.entry(*m).or_default().push(id);
            }
            self.pending.insert(id, statement);
            return Ok(Inserted::Pending { missing });
        }
        self.apply(statement);
        let mut released = Vec::new();
        let mut ready = vec![id];
        while let Some(done) = ready.pop() {
            for child in self.waiting.remove(&done).unwrap_or_default() {
                let complete = self.pending.get(&child).is_some_and(|p| {
                    p.statement()
                        .parents
                        .iter()
                        .all(|q| self.index.contains_key(q))
                });
                if !complete {
                    continue;
                }
                if let Some(p) = self.pending.remove(&child) {
                    self.apply(p);
                    released.push(child);
                    ready.push(child);
                }
            }
        }
        Ok(Inserted::Applied { released })
    }

    /// Evaluates the whole log if `current` fell behind.
    fn refresh(&mut self) {
        if !self.fresh {
            self.current = self.evaluate(&Bits::all(self.nodes.len()));
            self.work += self.current.work;
            self.fresh = true;
        }
    }

    /// Whether the author of `s` (whose parents are all held) had the authority it needs in the state
    /// of its causal past, and that state when it had to be evaluated (to remember it). Free when the
    /// parents are the heads of an up-to-date evaluation or the last past evaluated. The third value
    /// is the work the evaluation took.
    fn authority(&self, s: &Statement, past: &Bits) -> (bool, Option<MembershipState>, u64) {
        let decide = |st: &MembershipState| match s.op {
            Op::Genesis { .. } => true,
            // A vouch needs a device of the same person in its past; a recertify, a member author.
            Op::Vouch { person, .. } => st.has_person(&person),
            Op::Recertify { .. } => st.is_member(&s.author),
            Op::Succession { old, .. } => st.is_member(&s.author) && st.has_person(&old),
            // A person's revocation of its device: carried by a member, about a device the log says
            // is that person's.
            // A leave or an end: its author a member.
            Op::Leave { .. } | Op::End { .. } => st.is_member(&s.author),
            Op::RevokeDevice { device, person, .. } => {
                st.is_member(&s.author) && st.persons.get(&device) == Some(&person)
            }
            _ => st.is_admin(&s.author),
        };
        if matches!(s.op, Op::Genesis { .. }) {
            return (true, None, 0);
        }
        if self.fresh && s.parents == self.current.state.heads {
            return (decide(&self.current.state), None, 1);
        }
        if let Some((parents, st)) = &self.past_memo {
            if *parents == s.parents {
                return (decide(st), None, 1);
            }
        }
        let e = self.evaluate(past);
        (decide(&e.state), Some(e.state), e.work)
    }

    /// The causal past of a statement whose parents are all held.
    fn past_of(&self, s: &Statement) -> Bits {
        let mut past = Bits::default();
        for p in &s.parents {
            if let Some(&i) = self.index.get(p) {
                past.union(&self.nodes[i].past);
                past.set(i);
            }
        }
        past
    }

    /// Stores a statement whose parents are all held, computes its fixed facts, and carries `current`
    /// over it when it follows the log's heads (else leaves `current` behind for [`Self::refresh`]).
    fn apply(&mut self, statement: SignedStatement) {
        let idx = self.nodes.len();
        let id = statement.id();
        let s = statement.statement();
        let follows_heads = self.fresh && s.parents == self.current.state.heads;
        let past = self.past_of(s);
        let (authorised, evaluated, work) = self.authority(s, &past);
        self.work += work;
        if let Some(st) = evaluated {
            self.past_memo = Some((s.parents.clone(), st));
        }
        let parents: Vec<usize> = s
            .parents
            .iter()
            .filter_map(|p| self.index.get(p).copied())
            .collect();
        let depth = past.count();
        self.work += (past.words() + depth) as u64;
        for a in past.iter() {
            self.nodes[a].desc.set(idx);
        }
        if let Op::Genesis { .. } = s.op {
            self.genesis = Some(id);
        }
        for &p in &parents {
            self.nodes[p].children.push(idx);
        }
        self.nodes.push(Node {
            statement,
            parents,
            children: Vec::new(),
            past,
            desc: Bits::default(),
            depth,
            authorised,
        });
        self.index.insert(id, idx);
        let mut current = std::mem::take(&mut self.current);
        if follows_heads && self.step(&mut current, idx) {
            self.work += current.work;
        } else {
            self.fresh = false;
        }
        self.current = current;
    }

    /// Whether `a` and `b` are concurrent: distinct, and neither is in the other's causal past.
    pub(super) fn concurrent(&self, a: usize, b: usize) -> bool {
        a != b && !self.nodes[a].past.has(b) && !self.nodes[b].past.has(a)
    }
}

impl MembershipLog {
    /// The membership state the held statements determine.
    pub fn state(&self) -> MembershipState {
        self.current.state.clone()
    }

    /// Whether a held, applied statement counts (`Some(true)`), is ignored (`Some(false)`), or is
    /// unknown or still pending (`None`).
    ///
    /// Inside [`MembershipLog::insert_many_if`]'s `keep`, statements applied earlier in the batch are
    /// not evaluated yet: `None` for them too (ask [`MembershipLog::is_applied`]).
    pub fn is_valid(&self, id: &StatementId) -> Option<bool> {
        self.index
            .get(id)
            .and_then(|&i| self.current.valid.get(i).copied())
    }

    /// Whether a statement is held and applied (not waiting for parents), whatever its validity.
    pub fn is_applied(&self, id: &StatementId) -> bool {
        self.index.contains_key(id)
    }

    /// Where a statement stands, or `None` if it is not held (or, inside
    /// [`MembershipLog::insert_many_if`]'s `keep`, applied earlier in the batch and not evaluated yet).
    pub fn status(&self, id: &StatementId) -> Option<Status> {
        if self.pending.contains_key(id) {
            return Some(Status::Pending);
        }
        self.is_valid(id)
            .map(|v| if v { Status::Valid } else { Status::Invalid })
    }

    /// Whether the statement's author was an admin in the state of exactly its causal past. Unlike
    /// [`MembershipLog::is_valid`] this never changes as more statements arrive, so a relay can use it
    /// to decide whether to store and forward a membership envelope. `None` if not held or pending.
    pub fn authorised_in_past(&self, id: &StatementId) -> Option<bool> {
        self.index.get(id).map(|&i| self.nodes[i].authorised)
    }

    /// A held statement (applied or pending).
    pub fn get(&self, id: &StatementId) -> Option<&SignedStatement> {
        self.index
            .get(id)
            .map(|&i| &self.nodes[i].statement)
            .or_else(|| self.pending.get(id))
    }

    /// Applied statements in an order where parents come before children (to send the log on).
    pub fn statements(&self) -> impl Iterator<Item = &SignedStatement> {
        self.nodes.iter().map(|n| &n.statement)
    }

    /// Whether the log holds [`MAX_STATEMENTS`] statements (applied and pending) and takes no new
    /// one: a cheap test before trying a statement on a copy of the log.
    pub fn is_full(&self) -> bool {
        self.nodes.len() + self.pending.len() >= MAX_STATEMENTS
    }

    /// Units of work every evaluation of this log has taken so far, added up: one unit per statement,
    /// parent link, attack between revocations or word of an ancestor set visited. A count, not a
    /// time, so that tests can bound what a hostile log costs in any build profile (issue 15, item 1).
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Number of applied statements.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no statement is applied.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether a device was removed (by a removal that counts) outside the causal past of `epoch`, the
    /// rotation statement that started the epoch in use (`None`: the space's first epoch): then that
    /// device may hold the key in use, and an admin should rotate.
    pub fn removed_since(&self, epoch: Option<&StatementId>) -> bool {
        let e = epoch.and_then(|id| self.index.get(id).copied());
        self.nodes.iter().enumerate().any(|(i, n)| {
            self.current.valid.get(i).copied().unwrap_or(false)
                && n.statement.statement().op.is_remove()
                && e.is_none_or(|e| e != i && !self.nodes[e].past.has(i))
        })
    }

    /// Ids of statements waiting for parents, ascending.
    pub fn pending(&self) -> Vec<StatementId> {
        self.pending.keys().copied().collect()
    }

    /// Parents some pending statement waits for, ascending: what to ask a peer for.
    pub fn missing(&self) -> Vec<StatementId> {
        let mut m: Vec<StatementId> = self.waiting.keys().copied().collect();
        m.sort_unstable();
        m
    }
}
