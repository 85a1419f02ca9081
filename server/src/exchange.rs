//! The relay's side of the sync exchange: store what a device pushed, answer with what it lacks.
//!
//! This runs after the request was authenticated and decoded, on a blocking thread (it verifies
//! signatures and talks to the store). It depends only on [`RelayStore`] and the membership logs of
//! [`Access`], so every store behaves alike.
//!
//! **Authorisation.** Every space is governed by its membership log (`docs/protocol.md`, section 15):
//! a space exists for the relay once it holds the space's genesis statement, and from then on the log
//! says who may write (`may_write`) and who may read (`may_read`). A pushed envelope is accepted on the
//! strength of its *author's* signature and rights, never of the device that carries it; a pull is
//! answered according to the rights of the requesting device.
//!
//! Rules, in order:
//! 1. Each pushed envelope is checked on its own: it must parse, be format version 1, carry a valid
//!    author signature, have a sequence number in `1..=i64::MAX`, and belong to a space the request
//!    names; a membership envelope must carry a valid statement (`SignedStatement::from_envelope`). A
//!    refused envelope is reported in `rejected` with its index; the others still count.
//! 2. The envelopes that passed are judged against the spaces' logs, membership envelopes first (in an
//!    order where a statement comes after any of its parents pushed in the same request, otherwise in
//!    request order), then the others in request order, each seeing the statements accepted before it:
//!    - an envelope already stored (same id at the same (space, author, seq)) is a harmless duplicate;
//!    - a membership statement is admitted by [`SpaceLog::plan`]: with no genesis held only a genesis
//!      (`unknown-space`), a second genesis is a `conflict`, parents must be held (`missing-parents`),
//!      the log must have room (`log-full`), and the author must have been an admin in the state of the
//!      statement's own past (`not-authorised`). `may_write` is deliberately not asked (section 15.8);
//!    - any other envelope needs a genesis (`unknown-space`) and `may_write(author, seq)`
//!      (`not-a-member`): a removed device's envelopes up to its recorded `last_seq` still count;
//!    - a different envelope at the same (space, author, seq) is a `conflict`; the first one stays.
//!
//!    What is accepted is stored in one transaction; a statement joins the cached log only once the
//!    store has committed it, and a refused statement never joins it.
//! 3. For each requested space the requester may read (`may_read`), the answer carries the relay's
//!    vector after storing (the ack). A space it may not read is listed in `refused_spaces` instead
//!    (`unknown-space` when the relay holds no genesis, `not-a-member` otherwise), with no vector and no
//!    envelope of it.
//! 4. The answer carries the stored envelopes the device lacks, judged by its *effective* vector: the
//!    vector it sent plus what it pushed in this request (so it never gets its own push back). Only
//!    envelopes within the relay's contiguous run per author are sent: one held above a gap waits until
//!    the gap is filled, exactly as the vector rule says. They go in arrival order, except that one
//!    author's envelopes always go in sequence order (they take the arrival slots of that author's
//!    envelopes in sequence order). So every page extends the device's contiguous vector, and paging
//!    always ends.
//! 5. A page holds envelopes until adding the next would pass `min(max_response_bytes, 8 MiB)`, but at
//!    least one; `more` says something was left for the next request.
//!
//! Pushes are judged and stored under the write side of [`Access`]'s gate, and rules 3 and 4 run under
//! its read side, so a pull sees a membership log and stored envelopes that belong together.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use sebaya_proto::envelope::FORMAT_V1;
use sebaya_proto::membership::{SignedStatement, StatementId};
use sebaya_proto::sync::{RefusedSpace, Rejected, SYNC_VERSION, SpaceVector, SyncResponse};
use sebaya_proto::{DeviceId, Envelope, EnvelopeId, Kind, ProtoError, SpaceId, VersionVector};

use crate::access::{Access, Plan, SpaceLog};
use crate::error::StoreError;
use crate::store::{InsertOutcome, NewEnvelope, RelayStore, RequestFreshness, Slot};

/// Largest page of envelopes the relay sends, whatever the device asks for. With the 4 MiB envelope
/// limit this keeps every answer well under the 16 MiB message limit.
pub const MAX_PAGE_BYTES: u64 = 8 * 1024 * 1024;

/// Machine-readable reasons in [`SyncResponse::rejected`] and [`SyncResponse::refused_spaces`].
pub mod reason {
    /// The bytes are not a well-formed envelope (bad frame, bad lengths, sequence number out of range),
    /// or a membership envelope does not carry a well-formed statement of its author and space.
    pub const MALFORMED: &str = "malformed";
    /// The envelope's format version is not 1.
    pub const UNSUPPORTED_VERSION: &str = "unsupported-version";
    /// The author's signature (of the envelope, or of the statement it carries) does not verify.
    pub const BAD_SIGNATURE: &str = "bad-signature";
    /// The envelope's space is not among the request's `spaces`.
    pub const NOT_REQUESTED_SPACE: &str = "not-requested-space";
    /// A different envelope with the same (space, author, seq) is already stored; the first one stays.
    /// Also: a genesis for a space whose genesis the relay already holds (the first one stays).
    pub const CONFLICT: &str = "conflict";
    /// The relay holds no genesis for the space, so the space does not exist for it: only a genesis
    /// statement is accepted there, and nothing of it can be pulled.
    pub const UNKNOWN_SPACE: &str = "unknown-space";
    /// Push: the author may not write this sequence number in the space (not a member, or removed
    /// before it). Pull: the requesting device is not a current member.
    pub const NOT_A_MEMBER: &str = "not-a-member";
    /// A membership statement names a parent the relay does not hold. Nothing is kept: push the parents
    /// (in the same request or before), then the statement again.
    pub const MISSING_PARENTS: &str = "missing-parents";
    /// A membership statement whose author was not an admin in the state of its own past.
    pub const NOT_AUTHORISED: &str = "not-authorised";
    /// The space's membership log holds `MAX_STATEMENTS` statements and takes no more.
    pub const LOG_FULL: &str = "log-full";
}

/// A decoded, authenticated sync request, ready to run.
#[derive(Debug)]
pub struct SyncInput {
    /// The signing device.
    pub device: DeviceId,
    /// Its request id, recorded before anything is stored.
    pub request_id: [u8; 16],
    /// The request's signed timestamp (Unix seconds).
    pub timestamp: u64,
    /// The relay's clock when the request arrived (Unix seconds).
    pub now: u64,
    /// The spaces named, with the device's contiguous vector for each; no space twice.
    pub spaces: Vec<(SpaceId, BTreeMap<DeviceId, u64>)>,
    /// Pushed envelopes, raw.
    pub envelopes: Vec<serde_bytes::ByteBuf>,
    /// Page size the device asked for.
    pub max_response_bytes: u64,
}

/// Why a whole sync request failed (as opposed to single envelopes being rejected).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The device already used this request id; nothing was done.
    #[error("request id already used")]
    Replayed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A pushed envelope that passed the checks of its own.
struct Candidate {
    /// Index in the request's `envelopes`.
    index: usize,
    env: Envelope,
    slot: Slot,
    /// The statement a membership envelope carries.
    statement: Option<SignedStatement>,
}

/// Checks one pushed envelope on its own.
fn check_envelope(
    index: usize,
    raw: &[u8],
    requested: &HashMap<SpaceId, usize>,
) -> Result<Candidate, &'static str> {
    let env = Envelope::parse(raw).map_err(|_| reason::MALFORMED)?;
    if env.version() != FORMAT_V1 {
        return Err(reason::UNSUPPORTED_VERSION);
    }
    let header = env.header().map_err(|_| reason::MALFORMED)?;
    env.verify().map_err(signature_or_malformed)?;
    if header.seq == 0 || i64::try_from(header.seq).is_err() {
        return Err(reason::MALFORMED);
    }
    if !requested.contains_key(&header.space) {
        return Err(reason::NOT_REQUESTED_SPACE);
    }
    let statement = if header.kind == Kind::Membership {
        Some(SignedStatement::from_envelope(&env).map_err(signature_or_malformed)?)
    } else {
        None
    };
    Ok(Candidate {
        index,
        slot: Slot {
            space: header.space,
            author: header.author,
            seq: header.seq,
        },
        env,
        statement,
    })
}

fn signature_or_malformed(e: ProtoError) -> &'static str {
    match e {
        ProtoError::BadSignature => reason::BAD_SIGNATURE,
        _ => reason::MALFORMED,
    }
}

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
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
fn push(
    store: &dyn RelayStore,
    access: &Access,
    candidates: &[Candidate],
    now: u64,
    rejected: &mut Vec<Rejected>,
) -> Result<Vec<Slot>, StoreError> {
    let order = judging_order(candidates);
    let touched: Vec<SpaceId> = candidates.iter().map(|c| c.slot.space).collect();
    let mut writer = access.writer(store, &touched)?;
    let slots: Vec<Slot> = candidates.iter().map(|c| c.slot).collect();
    let stored_ids = store.held_ids(&slots)?;
    let mut logs: HashMap<SpaceId, Arc<SpaceLog>> = HashMap::new();
    // Spaces whose log this request changed: put back into the cache after the store commits.
    let mut changed: HashSet<SpaceId> = HashSet::new();
    // Slots taken by envelopes accepted earlier in this request.
    let mut taken: HashMap<Slot, EnvelopeId> = HashMap::new();
    let mut held = Vec::new();
    let mut to_store: Vec<usize> = Vec::new();
    let mut refuse = |c: &Candidate, why: &str| {
        rejected.push(Rejected {
            index: index_u32(c.index),
            reason: why.to_string(),
        });
    };

    for k in order {
        let c = &candidates[k];
        let id = c.env.id();
        let existing = taken.get(&c.slot).copied().or(stored_ids[k]);
        if existing == Some(id) {
            held.push(c.slot);
            continue;
        }
        let log = match logs.entry(c.slot.space) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(writer.log(store, c.slot.space)?)
            }
        };
        let verdict = match &c.statement {
            Some(statement) => log.plan(statement).map(Some),
            None if !log.has_genesis() => Err(reason::UNKNOWN_SPACE),
            None if !log.state().may_write(&c.slot.author, c.slot.seq) => Err(reason::NOT_A_MEMBER),
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
            }
        }
        taken.insert(c.slot, id);
        to_store.push(k);
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
                InsertOutcome::Stored | InsertOutcome::Duplicate => held.push(c.slot),
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

/// One envelope the device lacks, with the arrival slot it is sent in.
struct Pending {
    slot: u64,
    serial: u64,
    len: u64,
}

/// Runs one sync request against `store`, authorised by the membership logs in `access`. Blocks; call
/// from a blocking thread.
pub fn run(
    store: &dyn RelayStore,
    access: &Access,
    input: SyncInput,
) -> Result<SyncResponse, ExchangeError> {
    if store.record_request(&input.device, &input.request_id, input.timestamp, input.now)?
        == RequestFreshness::Replayed
    {
        return Err(ExchangeError::Replayed);
    }

    let requested: HashMap<SpaceId, usize> = input
        .spaces
        .iter()
        .enumerate()
        .map(|(i, (s, _))| (*s, i))
        .collect();
    let mut effective: Vec<VersionVector> = input
        .spaces
        .iter()
        .map(|(_, v)| VersionVector::from_contiguous(v.clone()))
        .collect();

    // 1. Check each envelope on its own.
    let mut rejected = Vec::new();
    let mut candidates = Vec::new();
    for (i, raw) in input.envelopes.iter().enumerate() {
        match check_envelope(i, raw, &requested) {
            Ok(c) => candidates.push(c),
            Err(why) => rejected.push(Rejected {
                index: index_u32(i),
                reason: why.to_string(),
            }),
        }
    }

    // 2. Judge and store what passed.
    if !candidates.is_empty() {
        for slot in push(store, access, &candidates, input.now, &mut rejected)? {
            if let Some(v) = requested
                .get(&slot.space)
                .and_then(|k| effective.get_mut(*k))
            {
                v.insert(slot.author, slot.seq);
            }
        }
        rejected.sort_by_key(|r| r.index);
    }

    // 3 and 4. Who may read what, the relay's vectors, and what the device lacks.
    let names: Vec<SpaceId> = input.spaces.iter().map(|(s, _)| *s).collect();
    let mut reader = access.reader(store, &names)?;
    let mut spaces = Vec::with_capacity(input.spaces.len());
    let mut refused_spaces = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    for ((space, _), client) in input.spaces.iter().zip(&effective) {
        let log = reader.log(store, *space)?;
        if !log.has_genesis() {
            refused_spaces.push(RefusedSpace::new(*space, reason::UNKNOWN_SPACE));
            continue;
        }
        if !log.state().may_read(&input.device) {
            refused_spaces.push(RefusedSpace::new(*space, reason::NOT_A_MEMBER));
            continue;
        }
        drop(log);
        let held = store.space_vector(space)?;
        spaces.push(SpaceVector::new(*space, held.contiguous()));
        for (author, &top) in held.contiguous() {
            let from = client.get(author);
            if top <= from {
                continue;
            }
            let rows: Vec<_> = store
                .list_range(space, author, from, top)?
                .into_iter()
                .filter(|m| !client.contains(author, m.seq))
                .collect();
            // Rows come in sequence order; give them this author's arrival slots in ascending order.
            let mut slots: Vec<u64> = rows.iter().map(|m| m.serial).collect();
            slots.sort_unstable();
            pending.extend(rows.iter().zip(slots).map(|(m, slot)| Pending {
                slot,
                serial: m.serial,
                len: m.len,
            }));
        }
    }
    // Envelopes are never deleted or changed, so what was listed can be loaded after the gate opens.
    drop(reader);
    pending.sort_unstable_by_key(|p| p.slot);

    // 5. Page.
    let budget = input.max_response_bytes.min(MAX_PAGE_BYTES);
    let mut total: u64 = 0;
    let mut chosen = Vec::new();
    for p in &pending {
        let next = total.saturating_add(p.len);
        if next > budget && !chosen.is_empty() {
            break;
        }
        total = next;
        chosen.push(p.serial);
    }
    let more = chosen.len() < pending.len();
    let envelopes = store
        .load_envelopes(&chosen)?
        .into_iter()
        .map(serde_bytes::ByteBuf::from)
        .collect();

    Ok(SyncResponse {
        v: SYNC_VERSION,
        spaces,
        envelopes,
        rejected,
        more,
        refused_spaces,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::SqliteStore;
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use sebaya_proto::membership::{Op, Role, Statement};
    use sebaya_proto::{EpochId, HeaderV1};

    fn device(n: u8) -> (Ed25519KeyPair, DeviceId) {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[n; 32]).unwrap();
        let id = DeviceId::from_slice(kp.public_key().as_ref()).unwrap();
        (kp, id)
    }

    fn seal(n: u8, space: SpaceId, seq: u64, payload: &[u8]) -> Vec<u8> {
        let (kp, author) = device(n);
        let header = HeaderV1 {
            kind: Kind::Changes,
            space,
            epoch: EpochId([0; 32]),
            author,
            seq,
        };
        Envelope::seal_v1(header, &[0; 32], [0; 4], payload, &kp)
            .unwrap()
            .into_bytes()
    }

    fn statement(n: u8, space: SpaceId, parents: Vec<StatementId>, op: Op) -> SignedStatement {
        let (kp, author) = device(n);
        Statement::new(space, parents, author, 1_767_225_600, op)
            .sign(&kp)
            .unwrap()
    }

    fn carry(n: u8, st: &SignedStatement, seq: u64) -> Vec<u8> {
        let (kp, _) = device(n);
        st.to_envelope(st.statement().space, seq, &kp)
            .unwrap()
            .into_bytes()
    }

    /// Genesis by device 1 (seq 1) and an add of device 9, the reader of these tests (seq 2).
    fn founded(space: SpaceId) -> (SignedStatement, SignedStatement, Vec<Vec<u8>>) {
        let g = statement(
            1,
            space,
            vec![],
            Op::Genesis {
                admin: device(1).1,
                x25519: None,
            },
        );
        let add = statement(
            1,
            space,
            vec![g.id()],
            Op::Add {
                device: device(9).1,
                role: Role::Member,
                person: None,
                x25519: None,
            },
        );
        let envs = vec![carry(1, &g, 1), carry(1, &add, 2)];
        (g, add, envs)
    }

    fn input(
        rid: u8,
        spaces: Vec<(SpaceId, BTreeMap<DeviceId, u64>)>,
        envs: Vec<Vec<u8>>,
        max: u64,
    ) -> SyncInput {
        SyncInput {
            device: device(9).1,
            request_id: [rid; 16],
            timestamp: 1000,
            now: 1000,
            spaces,
            envelopes: envs.into_iter().map(serde_bytes::ByteBuf::from).collect(),
            max_response_bytes: max,
        }
    }

    #[test]
    fn one_authors_envelopes_go_out_in_sequence_order_and_gaps_wait() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let access = Access::new();
        let space = SpaceId([3; 16]);
        let (_, _, founding) = founded(space);
        let (e3, e4, e5, e7) = (
            seal(1, space, 3, b"three"),
            seal(1, space, 4, b"four"),
            seal(1, space, 5, b"five"),
            seal(1, space, 7, b"seven"),
        );
        // The founding statements, then arrival order 5, 7, 4, 3.
        let mut pushed = founding.clone();
        pushed.extend([e5.clone(), e7, e4.clone(), e3.clone()]);
        let r = run(
            &store,
            &access,
            input(1, vec![(space, BTreeMap::new())], pushed, 0),
        )
        .unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        assert!(r.refused_spaces.is_empty());
        assert_eq!(r.spaces[0].vector[0].seq, 5, "7 sits above the gap at 6");

        // Device 9 pulls one envelope per page: 1 to 5, and never 7.
        let mut vector = BTreeMap::new();
        let mut got = Vec::new();
        for rid in 2..20 {
            let r = run(
                &store,
                &access,
                input(rid, vec![(space, vector.clone())], vec![], 0),
            )
            .unwrap();
            assert!(r.envelopes.len() <= 1);
            for e in &r.envelopes {
                got.push(e.to_vec());
            }
            vector.insert(
                device(1).1,
                r.envelopes.len() as u64 + vector.get(&device(1).1).copied().unwrap_or(0),
            );
            if !r.more {
                break;
            }
        }
        let mut expected = founding;
        expected.extend([e3, e4, e5]);
        assert_eq!(got, expected);
    }

    #[test]
    fn replayed_request_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let access = Access::new();
        let space = SpaceId([3; 16]);
        let (_, _, founding) = founded(space);
        run(
            &store,
            &access,
            input(1, vec![(space, BTreeMap::new())], founding, 0),
        )
        .unwrap();
        let again = run(
            &store,
            &access,
            input(
                1,
                vec![(space, BTreeMap::new())],
                vec![seal(1, space, 3, b"b")],
                0,
            ),
        );
        assert!(matches!(again, Err(ExchangeError::Replayed)));
        assert_eq!(store.space_vector(&space).unwrap().get(&device(1).1), 2);
    }

    #[test]
    fn statements_are_judged_after_their_parents_and_before_other_envelopes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let access = Access::new();
        let space = SpaceId([4; 16]);
        let (_, _, founding) = founded(space);
        // Device 9's change first, then the add, then the genesis: all three count.
        let pushed = vec![
            seal(9, space, 1, b"hello"),
            founding[1].clone(),
            founding[0].clone(),
        ];
        let r = run(
            &store,
            &access,
            input(1, vec![(space, BTreeMap::new())], pushed, 0),
        )
        .unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        assert!(r.refused_spaces.is_empty());
        assert!(r.envelopes.is_empty(), "it pushed all there is");
        // Arrival order is judging order: the genesis was stored first.
        let stored: Vec<Vec<u8>> = store
            .membership_envelopes(&space, 0)
            .unwrap()
            .into_iter()
            .map(|(_, bytes)| bytes)
            .collect();
        assert_eq!(stored, vec![founding[0].clone(), founding[1].clone()]);
        assert_eq!(access.cached_spaces(), 1);
    }

    #[test]
    fn a_space_without_genesis_is_refused_and_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let access = Access::new();
        let space = SpaceId([5; 16]);
        let r = run(
            &store,
            &access,
            input(
                1,
                vec![(space, BTreeMap::new())],
                vec![seal(9, space, 1, b"x")],
                0,
            ),
        )
        .unwrap();
        assert_eq!(r.rejected[0].reason, reason::UNKNOWN_SPACE);
        assert!(r.spaces.is_empty());
        assert_eq!(
            r.refused_spaces,
            vec![RefusedSpace::new(space, reason::UNKNOWN_SPACE)]
        );
        assert_eq!(access.cached_spaces(), 0);
        assert_eq!(store.space_vector(&space).unwrap(), VersionVector::new());
    }
}
