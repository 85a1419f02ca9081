//! Rules 1 and 2 of the exchange: what a device pushes. Each envelope is first checked on its own
//! (it parses, is signed by its author, belongs to a space the request names), then the ones that
//! passed are judged against their spaces' membership logs, statements before their children and
//! before other envelopes, under the write side of their spaces' gates, and stored: the spaces
//! without membership statements together in one transaction, each space with some in its own.
//!
//! Kept apart from the pull (`exchange.rs`) because this is where the relay decides who may write:
//! the judging order and the limits on statements judged per request live here and nowhere else.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use sebaya_proto::envelope::OPENABLE_VERSIONS;
use sebaya_proto::membership::{
    MAX_NEW_STATEMENTS_PER_REQUEST, MAX_NEW_STATEMENTS_PER_SPACE, Op, SignedStatement, StatementId,
};
use sebaya_proto::sync::Rejected;
use sebaya_proto::{DeviceId, Envelope, EnvelopeId, Kind, PersonId, ProtoError, SpaceId, reason};

use crate::access::{Access, Plan, SpaceLog};
use crate::error::StoreError;
use crate::quota::{Ledger, Taking};
use crate::store::{InsertOutcome, NewEnvelope, RelayStore, Slot};

use super::index_u32;

/// A pushed envelope that passed the checks of its own.
pub(super) struct Candidate {
    /// Index in the request's `envelopes`.
    index: usize,
    env: Envelope,
    pub(super) slot: Slot,
    /// Whether it is a membership envelope (kind 3), read from its header before any signature.
    membership: bool,
    /// The statement a membership envelope carries, once [`verify`] has read it.
    statement: Option<SignedStatement>,
}

/// Checks one pushed envelope's frame on its own: everything that costs no signature check.
pub(super) fn check_envelope(
    index: usize,
    raw: &[u8],
    requested: &HashMap<SpaceId, usize>,
) -> Result<Candidate, &'static str> {
    let env = Envelope::parse(raw).map_err(|_| reason::MALFORMED)?;
    if !OPENABLE_VERSIONS.contains(&env.version()) {
        return Err(reason::UNSUPPORTED_VERSION);
    }
    let header = env.header().map_err(|_| reason::MALFORMED)?;
    if header.seq == 0 || i64::try_from(header.seq).is_err() {
        return Err(reason::MALFORMED);
    }
    if !requested.contains_key(&header.space) {
        return Err(reason::NOT_REQUESTED_SPACE);
    }
    // A snapshot's cover is what the relay prunes by: it must read (section 26).
    if header.kind == Kind::Snapshot {
        sebaya_proto::snapshot::cover(&env).map_err(|_| reason::MALFORMED)?;
    }
    Ok(Candidate {
        index,
        slot: Slot {
            space: header.space,
            author: header.author,
            seq: header.seq,
        },
        membership: header.kind == Kind::Membership,
        env,
        statement: None,
    })
}

/// Most membership envelopes of one request whose signatures are checked: twice what a request may
/// have judged (`MAX_NEW_STATEMENTS_PER_REQUEST`), so carried duplicates still fit. An honest device
/// pushes no more than that many in all; the rest are refused `too-many-statements` unread, so a
/// request's statements cost a bounded number of signature checks (review finding, issue 15, item 2).
pub(super) const MAX_STATEMENT_ENVELOPES_PER_REQUEST: usize = 2 * MAX_NEW_STATEMENTS_PER_REQUEST;

/// Checks the signatures of the request's membership envelopes, at most
/// [`MAX_STATEMENT_ENVELOPES_PER_REQUEST`] of them, and reads their statements; the other envelopes
/// pass untouched. Statements go first because what they introduce decides which other envelopes
/// the stranger screen lets through ([`refuse_strangers`]).
pub(super) fn verify_statements(
    access: &Access,
    candidates: Vec<Candidate>,
    rejected: &mut Vec<Rejected>,
) -> Vec<Candidate> {
    let mut seen = 0usize;
    candidates
        .into_iter()
        .filter_map(|mut c| {
            if !c.membership {
                return Some(c);
            }
            seen += 1;
            if seen > MAX_STATEMENT_ENVELOPES_PER_REQUEST {
                reject(rejected, &c, reason::TOO_MANY_STATEMENTS);
                return None;
            }
            access.note_signature_check();
            // Checks the envelope's signature, then the statement's.
            match SignedStatement::from_envelope(&c.env) {
                Ok(st) => {
                    c.statement = Some(st);
                    Some(c)
                }
                Err(e) => {
                    reject(rejected, &c, signature_or_malformed(e));
                    None
                }
            }
        })
        .collect()
}

/// The device a statement brings into its space, if any: its author (a genesis's admin, a vouching
/// device), or the device it adds or admits.
fn introduced(statement: &SignedStatement) -> [Option<DeviceId>; 2] {
    let st = statement.statement();
    let other = match st.op {
        Op::Add { device, .. } | Op::Admit { device, .. } => Some(device),
        _ => None,
    };
    [Some(st.author), other]
}

/// Refuses, before any signature is checked, the non-membership envelopes of strangers: authors
/// neither a member of the space nor ever removed from it, by the cached log, without its gate (so
/// naming a member's space costs that space's pulls no wait, and a flood of envelopes under fresh
/// keys costs no signature work; review findings, issue 15, items 1 and 2), and envelopes of spaces
/// of which no genesis is held (`unknown-space`). A push admitting the author meanwhile makes this a
/// refusal the device retries, never an envelope taken that should not be. The only authors let
/// through unscreened are those a verified statement of the same request brings into that space (a
/// device carrying its own add, a genesis with its first change): a statement that does not verify
/// lifts nothing.
pub(super) fn refuse_strangers(
    store: &dyn RelayStore,
    access: &Access,
    candidates: Vec<Candidate>,
    rejected: &mut Vec<Rejected>,
) -> Result<Vec<Candidate>, StoreError> {
    let brought: HashSet<(SpaceId, DeviceId)> = candidates
        .iter()
        .filter_map(|c| c.statement.as_ref())
        .flat_map(|st| {
            let space = st.statement().space;
            introduced(st)
                .into_iter()
                .flatten()
                .map(move |d| (space, d))
        })
        .collect();
    let mut screened: Vec<SpaceId> = candidates
        .iter()
        .filter(|c| !c.membership)
        .map(|c| c.slot.space)
        .collect();
    screened.sort_unstable();
    screened.dedup();
    let no_genesis = access.screen(store, &screened)?;
    Ok(candidates
        .into_iter()
        .filter(|c| {
            let why = if c.membership || brought.contains(&(c.slot.space, c.slot.author)) {
                None
            } else if no_genesis.contains(&c.slot.space) {
                Some(reason::UNKNOWN_SPACE)
            } else if access.is_stranger(store, &c.slot.space, &c.slot.author) {
                Some(reason::NOT_A_MEMBER)
            } else {
                None
            };
            if let Some(why) = why {
                reject(rejected, c, why);
            }
            why.is_none()
        })
        .collect())
}

/// Checks the author's signature of each non-membership candidate left (membership ones were
/// checked by [`verify_statements`]).
pub(super) fn verify(
    access: &Access,
    candidates: Vec<Candidate>,
    rejected: &mut Vec<Rejected>,
) -> Vec<Candidate> {
    candidates
        .into_iter()
        .filter_map(|c| {
            if c.membership {
                return Some(c);
            }
            access.note_signature_check();
            match c.env.verify() {
                Ok(()) => Some(c),
                Err(e) => {
                    reject(rejected, &c, signature_or_malformed(e));
                    None
                }
            }
        })
        .collect()
}

/// Refuses a candidate in the request's answer.
fn reject(rejected: &mut Vec<Rejected>, c: &Candidate, why: &str) {
    rejected.push(Rejected {
        index: index_u32(c.index),
        reason: why.to_string(),
    });
}

fn signature_or_malformed(e: ProtoError) -> &'static str {
    match e {
        ProtoError::BadSignature => reason::BAD_SIGNATURE,
        _ => reason::MALFORMED,
    }
}

/// The order in which pushed envelopes are judged (indices into `candidates`): membership envelopes
/// first, each after the statements among them that it names as parents (ties, and anything left, in
/// request order); then the other envelopes in request order.
fn judging_order(candidates: &[Candidate]) -> Vec<usize> {
    let members: Vec<usize> = (0..candidates.len())
        .filter(|&k| candidates[k].statement.is_some())
        .collect();
    let ids: Vec<StatementId> = members
        .iter()
        .filter_map(|&k| candidates[k].statement.as_ref().map(SignedStatement::id))
        .collect();
    // Position (in `members`) of the first envelope carrying each statement.
    let mut first: HashMap<StatementId, usize> = HashMap::with_capacity(ids.len());
    for (pos, id) in ids.iter().enumerate() {
        first.entry(*id).or_insert(pos);
    }
    let mut indegree = vec![0usize; members.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); members.len()];
    for (pos, &k) in members.iter().enumerate() {
        if let Some(st) = &candidates[k].statement {
            for parent in &st.statement().parents {
                if let Some(&p) = first.get(parent) {
                    if p != pos {
                        indegree[pos] += 1;
                        children[p].push(pos);
                    }
                }
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..members.len())
        .filter(|&pos| indegree[pos] == 0)
        .map(Reverse)
        .collect();
    let mut placed = vec![false; members.len()];
    let mut order = Vec::with_capacity(candidates.len());
    while let Some(Reverse(pos)) = ready.pop() {
        placed[pos] = true;
        order.push(members[pos]);
        for &c in &children[pos] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.push(Reverse(c));
            }
        }
    }
    // Only a cycle could leave something unplaced, and statement ids (hashes) make none; kept for
    // completeness: such statements are judged last and find their parents missing.
    order.extend(
        (0..members.len())
            .filter(|&p| !placed[p])
            .map(|p| members[p]),
    );
    order.extend((0..candidates.len()).filter(|&k| candidates[k].statement.is_none()));
    order
}

/// Judges and stores the envelopes that passed their own checks (rule 2). Refusals go to `rejected`;
/// returns the slots now held (stored, or already stored), for the effective vectors.
///
/// Spaces to which the request pushes new membership statements are judged and stored one at a
/// time (at most `MAX_NEW_STATEMENTS_PER_REQUEST` of them), each under its own gate, after the
/// spaces without (judged together, under theirs): judging a statement may take an evaluation of a
/// long log, and no other space named in the same request waits for that (review finding, issue 15,
/// item 1). Per-request statement bounds count across the groups. Each group is its own transaction:
/// should a later group fail in the store, the request fails while earlier groups stay stored (a
/// retry finds them held, as after a lost answer).
pub(super) fn push(
    store: &dyn RelayStore,
    access: &Access,
    candidates: &[Candidate],
    now: u64,
    rejected: &mut Vec<Rejected>,
) -> Result<Vec<Slot>, StoreError> {
    let order = judging_order(candidates);
    // Which statements are new (read before any gate, only to form the groups: a statement stored
    // meanwhile is then judged in its group as held, which costs nothing).
    let slots: Vec<Slot> = candidates.iter().map(|c| c.slot).collect();
    let held_before = store.held_ids(&slots)?;
    let new_statement = |k: usize| {
        candidates[k].statement.is_some() && held_before[k] != Some(candidates[k].env.id())
    };
    // Group 0: every space without a new statement. Then one group per space with new statements,
    // at most as many as a request may have judged; new statements of spaces beyond that would be
    // refused anyway, and are, without taking a gate.
    let mut groups: Vec<Vec<usize>> = vec![Vec::new()];
    let mut group_of: HashMap<SpaceId, usize> = HashMap::new();
    for &k in &order {
        let space = candidates[k].slot.space;
        if new_statement(k)
            && !group_of.contains_key(&space)
            && group_of.len() < MAX_NEW_STATEMENTS_PER_REQUEST
        {
            group_of.insert(space, groups.len());
            groups.push(Vec::new());
        }
    }
    for &k in &order {
        match group_of.get(&candidates[k].slot.space) {
            Some(&g) => groups[g].push(k),
            None if new_statement(k) => rejected.push(Rejected {
                index: index_u32(candidates[k].index),
                reason: reason::TOO_MANY_STATEMENTS.to_string(),
            }),
            None => groups[0].push(k),
        }
    }
    let mut judged = Judged::default();
    let mut held = Vec::new();
    for group in groups.into_iter().filter(|g| !g.is_empty()) {
        held.extend(push_group(
            store,
            access,
            candidates,
            &group,
            now,
            rejected,
            &mut judged,
        )?);
    }
    Ok(held)
}

/// New statements judged so far in a request, per space and in all: each may cost an evaluation of
/// the whole log under the space's gate, so a request has only so many judged.
#[derive(Default)]
struct Judged {
    per_space: HashMap<SpaceId, usize>,
    in_all: usize,
}

/// Judges and stores the candidates at `order` (indices into `candidates`, in judging order) under
/// the write gates of their spaces, in one transaction.
fn push_group(
    store: &dyn RelayStore,
    access: &Access,
    candidates: &[Candidate],
    order: &[usize],
    now: u64,
    rejected: &mut Vec<Rejected>,
    judged: &mut Judged,
) -> Result<Vec<Slot>, StoreError> {
    let mut touched: Vec<SpaceId> = order.iter().map(|&k| candidates[k].slot.space).collect();
    touched.sort_unstable();
    touched.dedup();
    let mut writer = access.writer(store, &touched)?;
    let slots: Vec<Slot> = order.iter().map(|&k| candidates[k].slot).collect();
    // Read under the gates of the spaces pushed to, so no other push to them changes it meanwhile.
    let mut authors: Vec<_> = order.iter().map(|&k| candidates[k].slot.author).collect();
    authors.sort_unstable();
    authors.dedup();
    // Their persons, where the relay admitted them (protocol 9.8): a person's devices share a quota.
    let mut person_of: HashMap<DeviceId, PersonId> = HashMap::new();
    for a in &authors {
        if let Some(p) = access.admissions().person_of(store, a)? {
            person_of.insert(*a, p);
        }
    }
    // The logs of the spaces, and where a relay lists programmes, the person whose device founded
    // each admitted space: what spaces a person founded hold together has a quota too.
    let mut logs: HashMap<SpaceId, Arc<SpaceLog>> = HashMap::new();
    for space in &touched {
        logs.insert(*space, writer.log(store, *space)?);
    }
    let listed = !access.admissions().policy().programmes.is_empty();
    // Per space, the person whose device founded it if it is admitted (asked once per group).
    let mut founders: HashMap<SpaceId, Option<PersonId>> = HashMap::new();
    if listed {
        for (space, log) in &logs {
            let founder =
                access
                    .admissions()
                    .space_admitted(store, space, log.founder().as_ref(), now)?;
            founders.insert(*space, founder);
        }
    }
    let mut persons: Vec<PersonId> = person_of
        .values()
        .copied()
        .chain(founders.values().flatten().copied())
        .collect();
    persons.sort_unstable();
    persons.dedup();
    let mut ledger = Ledger::new(access.quotas(), store.usage(&touched, &authors, &persons)?);
    // Whether the spaces no programme admitted are bounded together (at a relay open to all).
    let pooled =
        !access.admissions().by_credential() && access.quotas().unadmitted_bytes < u64::MAX;
    let mut over_quota = 0u64;
    let stored_ids: HashMap<usize, Option<EnvelopeId>> =
        order.iter().copied().zip(store.held_ids(&slots)?).collect();
    // Spaces whose log this request changed: put back into the cache after the store commits.
    let mut changed: HashSet<SpaceId> = HashSet::new();
    // Slots taken by envelopes accepted earlier in this request.
    let mut taken: HashMap<Slot, EnvelopeId> = HashMap::new();
    let mut held = Vec::new();
    let mut to_store: Vec<usize> = Vec::new();
    let by_credential = access.admissions().by_credential();
    let mut refuse = |c: &Candidate, why: &str| {
        reject(rejected, c, why);
    };
    for &k in order {
        let c = &candidates[k];
        let id = c.env.id();
        let existing = taken
            .get(&c.slot)
            .copied()
            .or(stored_ids.get(&k).copied().flatten());
        if existing == Some(id) {
            held.push(c.slot);
            continue;
        }
        if c.statement.is_some() {
            let here = judged.per_space.entry(c.slot.space).or_default();
            if *here >= MAX_NEW_STATEMENTS_PER_SPACE
                || judged.in_all >= MAX_NEW_STATEMENTS_PER_REQUEST
            {
                refuse(c, reason::TOO_MANY_STATEMENTS);
                continue;
            }
            *here += 1;
            judged.in_all += 1;
        }
        let log = match logs.entry(c.slot.space) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(writer.log(store, c.slot.space)?)
            }
        };
        let verdict = match &c.statement {
            // A removed device's statements beyond its last accepted sequence number are refused
            // like its other envelopes (so it cannot, say, fill the log with statements backdated
            // to before its removal).
            Some(_)
                if log
                    .state()
                    .removed
                    .get(&c.slot.author)
                    .is_some_and(|last| c.slot.seq > *last)
                    && !log.state().is_member(&c.slot.author) =>
            {
                Err(reason::NOT_A_MEMBER)
            }
            Some(statement) => log.plan(statement).map(Some),
            None if !log.has_genesis() => Err(reason::UNKNOWN_SPACE),
            None if !log.state().may_write(&c.slot.author, c.slot.seq) => Err(reason::NOT_A_MEMBER),
            // A member's changes and snapshots past its own end (15.11), which every device refuses;
            // key wraps still pass (an admin that ended may still have to rotate).
            None if c.env.kind() != Kind::KeyWraps
                && log.state().past_its_end(&c.slot.author, c.slot.seq) =>
            {
                Err(reason::NOT_A_MEMBER)
            }
            None => Ok(None),
        };
        let plan = match verdict {
            Ok(_) if existing.is_some() => {
                refuse(c, reason::CONFLICT);
                continue;
            }
            Ok(plan) => plan,
            Err(why) => {
                refuse(c, why);
                continue;
            }
        };
        // Where the relay lists programmes: the person whose device founds the space, if it is
        // admitted. A genesis is judged by its own author (the space is noted admitted once the
        // genesis is stored, below); for anything else, a genesis this group took counts.
        let genesis = c
            .statement
            .as_ref()
            .is_some_and(|st| matches!(st.statement().op, Op::Genesis { .. }));
        let founder: Option<PersonId> = if !listed {
            None
        } else if genesis {
            if access
                .admissions()
                .device_admitted(store, &c.slot.author, now)?
            {
                access.admissions().person_of(store, &c.slot.author)?
            } else {
                None
            }
        } else {
            // Asked once per space and group, and again after a genesis this group took.
            match founders.get(&c.slot.space).copied() {
                Some(f) => f,
                None => {
                    let f = access.admissions().space_admitted(
                        store,
                        &c.slot.space,
                        log.founder().as_ref(),
                        now,
                    )?;
                    founders.insert(c.slot.space, f);
                    f
                }
            }
        };
        // Admitted (by credential only; protocol 9.8): a genesis needs an admitted author, anything
        // else but a revocation an admitted space.
        let takes_away = c
            .statement
            .as_ref()
            .is_some_and(|st| st.statement().op.takes_away());
        if by_credential && !takes_away && founder.is_none() {
            refuse(c, reason::NOT_ADMITTED);
            continue;
        }
        // Room for it (rule 2, last), before a statement changes the log: every envelope counts,
        // statements too (a stranger founds spaces at will); only a revocation never waits on a
        // quota, so an admin can always remove a member.
        let exempt = c
            .statement
            .as_ref()
            .is_some_and(|st| st.statement().op.takes_away());
        if !exempt {
            let taking = Taking {
                space: c.slot.space,
                author: c.slot.author,
                person: person_of.get(&c.slot.author).copied(),
                founder,
                unadmitted: pooled && founder.is_none(),
                len: c.env.as_bytes().len() as u64,
            };
            if let Err(why) = ledger.take(&taking) {
                refuse(c, why);
                over_quota += 1;
                continue;
            }
        }
        if let (Some(plan), Some(statement)) = (plan, &c.statement) {
            if !matches!(plan, Plan::Held) {
                if changed.insert(c.slot.space) {
                    // So that changing our copy does not copy the whole log.
                    writer.forget(&c.slot.space);
                }
                if let Err(why) = Arc::make_mut(log).commit(statement.clone(), plan) {
                    refuse(c, why);
                    continue;
                }
                if genesis {
                    // The space has a founder now: ask again for what follows.
                    founders.remove(&c.slot.space);
                }
            }
        }
        taken.insert(c.slot, id);
        to_store.push(k);
    }
    if over_quota > 0 {
        access.note_quota_refusals(over_quota);
    }

    if !to_store.is_empty() {
        let batch: Vec<NewEnvelope<'_>> = to_store
            .iter()
            .map(|&k| {
                let c = &candidates[k];
                NewEnvelope {
                    space: c.slot.space,
                    author: c.slot.author,
                    seq: c.slot.seq,
                    kind: c.env.kind(),
                    id: c.env.id(),
                    bytes: c.env.as_bytes(),
                }
            })
            .collect();
        // On error the changed logs are not put back: they are rebuilt from the store when next needed.
        let outcomes = store.insert_envelopes(&batch, now)?;
        for (&k, outcome) in to_store.iter().zip(outcomes) {
            let c = &candidates[k];
            match outcome {
                InsertOutcome::Stored | InsertOutcome::Duplicate => {
                    held.push(c.slot);
                    // A genesis by an admitted device, now stored, admits its space for good.
                    let genesis = c
                        .statement
                        .as_ref()
                        .is_some_and(|st| matches!(st.statement().op, Op::Genesis { .. }));
                    if genesis
                        && access
                            .admissions()
                            .device_admitted(store, &c.slot.author, now)?
                    {
                        access.admissions().admit_space(
                            store,
                            &c.slot.space,
                            &c.slot.author,
                            now,
                        )?;
                    }
                }
                InsertOutcome::Conflict => {
                    // Not possible while this process is the store's only writer (the slots were read
                    // under the gate). Should it happen, the log may hold a statement the store does
                    // not: leave that log out of the cache so that it is rebuilt from the store.
                    refuse(c, reason::CONFLICT);
                    if c.statement.is_some() {
                        changed.remove(&c.slot.space);
                    }
                }
            }
        }
    }
    for space in changed {
        if let Some(log) = logs.remove(&space) {
            writer.put(space, log);
        }
    }
    Ok(held)
}
