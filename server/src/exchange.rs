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
//! 1. Each pushed envelope is checked on its own: it must parse, be format version 1, have a sequence
//!    number in `1..=i64::MAX`, and belong to a space the request names. Then, before any signature
//!    is checked, an envelope (not a membership one) whose author the cached log has never heard of
//!    (never a member, never removed), in a space the request carries no membership envelope for, is
//!    refused `not-a-member`: a flood under fresh keys costs no signature work (issue 15, item 2).
//!    The others must carry a valid author signature, and a membership envelope a valid statement
//!    (`SignedStatement::from_envelope`). A refused envelope is reported in `rejected` with its
//!    index; the others still count.
//! 2. The envelopes that passed are judged against the spaces' logs, membership envelopes first (in an
//!    order where a statement comes after any of its parents pushed in the same request, otherwise in
//!    request order), then the others in request order, each seeing the statements accepted before it:
//!    - an envelope already stored (same id at the same (space, author, seq)) is a harmless duplicate;
//!    - a request has at most `MAX_NEW_STATEMENTS_PER_SPACE` (16) new membership statements of one
//!      space judged, and `MAX_NEW_STATEMENTS_PER_REQUEST` (32) in all, space by space (the spaces
//!      with new statements in the order they first appear, at most 32 of them); the rest are
//!      refused (`too-many-statements`) before anything else is asked of them, since each may cost an
//!      evaluation of the whole log under that space's gate (issue 15, item 1);
//!    - a membership statement is admitted by [`SpaceLog::plan`]: with no genesis held only a genesis
//!      (`unknown-space`), a second genesis is a `conflict`, parents must be held (`missing-parents`),
//!      the log must have room (`log-full`), and the author must have been an admin in the state of the
//!      statement's own past (`not-authorised`); a removed device's statement beyond its `last_seq` is
//!      refused first (`not-a-member`, section 15.8);
//!    - any other envelope needs a genesis (`unknown-space`) and `may_write(author, seq)`
//!      (`not-a-member`): a removed device's envelopes up to its recorded `last_seq` still count;
//!      a change or snapshot numbered past its author's own `end` (protocol 15.11) is refused too
//!      (`not-a-member`, `MembershipState::past_its_end`), as every device refuses it;
//!    - a different envelope at the same (space, author, seq) is a `conflict`; the first one stays.
//!
//!    What is accepted is stored in one transaction; a statement joins the cached log only once the
//!    store has committed it, and a refused statement never joins it.
//! 3. Join requests (`join_requests`, remote invites, `docs/protocol.md` section 18) are judged after
//!    the envelopes were stored, each on its own; a refusal goes to `refused_join_requests` with its
//!    index, and the others still count. The space and invite ids must be 16 bytes and the body
//!    non-empty (`malformed`) and at most `MAX_JOIN_REQUEST_LEN` bytes (`too-large`); the relay must
//!    hold the space's genesis (`unknown-space`); the log must have opened the invite
//!    (`unknown-invite`), which must not be spent (`invite-spent`), revoked (`invite-revoked`) or past
//!    its expiry by the relay's clock (`invite-expired`). Anyone may post: the joiner is not a member,
//!    and only the invite's secret opens the body. The relay keeps each distinct body once per invite
//!    (posting the same bytes again is accepted and changes nothing), with the posting device and the
//!    time, and at most [`MAX_JOIN_REQUESTS_PER_INVITE`] per invite (`mailbox-full`). For each
//!    request kept (or posted again), it notes that the posting device asked under that invite.
//! 4. Join answers (`join_answers`) are judged next, so that an `Admit` pushed in the same request
//!    counts; refusals go to `refused_join_answers`. The space and invite ids must be 16 bytes, the
//!    device 32 and the body non-empty (`malformed`) and at most `MAX_JOIN_ANSWER_LEN` (`too-large`);
//!    the space must be known (`unknown-space`) and the invite too (`unknown-invite`); the sender must
//!    be the invite's author and the log must show the invite spent on the answer's device
//!    (`not-authorised`). The device must have asked under that invite here, and that request not
//!    been answered yet (`not-requested`, final): a stranger who admits someone else's device id in
//!    a space of its own leaves nothing for it. One answer is kept per (device, space, invite), a
//!    later one replacing it but keeping its arrival time; a new one uses up the note of the
//!    request; a device holds at most [`MAX_JOIN_ANSWERS_PER_DEVICE`] answers and
//!    [`MAX_JOIN_ANSWER_BYTES_PER_DEVICE`] bytes of them (`mailbox-full`, passing: the admin's
//!    device sends it again).
//! 5. For each requested space the requester may read (`may_read`), the answer carries the relay's
//!    vector after storing (the ack). A space it may not read is listed in `refused_spaces` instead
//!    (`unknown-space` when the relay holds no genesis, `not-a-member` otherwise), with no vector and no
//!    envelope of it.
//! 6. The answer carries the stored envelopes the device lacks, judged by its *effective* vector: the
//!    vector it sent plus what it pushed in this request (so it never gets its own push back). Only
//!    envelopes within the relay's contiguous run per author are sent: one held above a gap waits until
//!    the gap is filled, exactly as the vector rule says. They go in arrival order, except that one
//!    author's envelopes always go in sequence order (they take the arrival slots of that author's
//!    envelopes in sequence order). So every page extends the device's contiguous vector, and paging
//!    always ends.
//! 7. A page holds envelopes until adding the next would pass `min(max_response_bytes, 8 MiB)`, but at
//!    least one, and at most `MAX_NEW_STATEMENTS_PER_SPACE` (16) membership envelopes of one space
//!    (what a device judges in one `Space::receive`); `more` says something was left for the next
//!    request.
//! 8. The last page (`more` false) also carries the mailboxes, so that paging never repeats them:
//!    - `join_requests`: for each space named in the request that the requester may read, every
//!      request stored under an invite of that space that the requester opened (it is the invite's
//!      author) and that is open at the relay's clock (at most [`MAX_DELIVERED_JOIN_REQUESTS`]). Never
//!      to other members, the posters, or anyone else;
//!    - `join_answers`: every answer addressed to the requesting device, whether or not it names the
//!      space (it is not a member until it has read the answer).
//!
//!    Both stay stored (an answer lost on the way comes again on the next sync); should they not fit
//!    on the page next to its envelopes (8 MiB in all), they wait for the next page and `more` is set.
//!
//! Housekeeping: requests stored under an invite that no longer admits anyone (spent, revoked,
//! expired) are dropped when the relay notices: when a request is posted to it, or when a member
//! naming the space syncs. Requests and answers older than `MAILBOX_RETENTION_SECS` (30 days; an
//! answer counted from its first arrival) are pruned with the seen request ids, and so are notes of
//! who asked once `ASK_RETENTION_SECS` (60 days) passed since the device last asked.
//!
//! Pushes (rule 2) and mailbox posts (rules 3 and 4) are judged and stored under the write side of
//! [`Access`]'s gate, and rules 5, 6 and the choice of invites in 8 run under its read side, so a pull
//! sees a membership log and stored envelopes that belong together, and no invite changes while a
//! request is being left under it.
//!
//! Where each rule lives: `exchange/push.rs` checks, orders, judges and stores pushed envelopes
//! (rules 1 and 2); `exchange/joins.rs` keeps the mailboxes of remote invites (rules 3 and 4, and
//! what rule 8 delivers); `exchange/snapshots.rs` holds the snapshot policy (section 26);
//! `exchange/erase.rs` erases a person's own spaces (section 23). This file holds the request's
//! types and [`run_with`], which runs the rules in order and answers (rules 5 to 7 and the last
//! page of 8).
//!
//! [`SpaceLog::plan`]: crate::access::SpaceLog::plan

use std::collections::{BTreeMap, HashMap, HashSet};

use sebaya_proto::invite::InviteId;
use sebaya_proto::membership::{MAX_NEW_STATEMENTS_PER_SPACE, Role};
use sebaya_proto::sync::{
    JoinAnswer, JoinPost, MAX_AUTHORS, RefusedSpace, Rejected, SYNC_VERSION, SpaceVector,
    SyncResponse,
};
use sebaya_proto::{DeviceId, Kind, SpaceId, VersionVector};

use crate::access::Access;
use crate::error::StoreError;
use crate::store::{RelayStore, RequestFreshness};

mod erase;
mod joins;
mod push;
mod snapshots;
#[cfg(test)]
mod tests;

use erase::{erase, post_erasures};
use joins::{deliverable_invites, load_mailbox, post_joins};
use push::{check_envelope, push, refuse_strangers, verify, verify_statements};
use snapshots::{SNAPSHOT_CANDIDATES, prunable};

pub use joins::{
    MAX_DELIVERED_JOIN_REQUESTS, MAX_JOIN_ANSWER_BYTES_PER_DEVICE, MAX_JOIN_ANSWERS_PER_DEVICE,
    MAX_JOIN_REQUESTS_PER_INVITE,
};
pub use snapshots::{DEFAULT_SNAPSHOT_RETENTION_SECS, SnapshotPolicy};

/// Largest page of envelopes the relay sends, whatever the device asks for. With the 4 MiB envelope
/// limit this keeps every answer well under the 16 MiB message limit.
pub const MAX_PAGE_BYTES: u64 = 8 * 1024 * 1024;

pub use sebaya_proto::reason;

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
    /// Sealed join requests the device leaves under invites, raw (checked one by one here).
    pub join_requests: Vec<JoinPost>,
    /// Answers to join requests the device approved, raw (checked one by one here).
    pub join_answers: Vec<JoinAnswer>,
    /// Answers the device has taken: forgotten before this request's mailbox is read.
    pub taken_join_answers: Vec<sebaya_proto::sync::JoinTaken>,
    /// Spaces the device asks to erase (it must be an admin of each in the relay's log).
    pub erase: Vec<SpaceId>,
    /// Signed erasure statements of shared spaces (section 23.2), raw; checked one by one.
    pub erasures: Vec<serde_bytes::ByteBuf>,
    /// Spaces the device named with a vector of more than `MAX_AUTHORS` authors: refused alone,
    /// `too-many-authors`, and otherwise left out of the exchange (not in `spaces`).
    pub oversized: Vec<SpaceId>,
    /// The device's proof of admission, when it sent one (protocol 9.8).
    pub admission: Option<sebaya_proto::sync::Admission>,
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

/// An index into a request's list, as the wire carries it (saturating: lists are far shorter).
fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// One envelope the device lacks, with the arrival slot it is sent in.
struct Pending {
    /// Order before arrival: 0 for membership and key-wraps envelopes a snapshot's taker lacks (a
    /// device that takes a snapshot counts everything it covers as held, so they must come first),
    /// 1 for the snapshot, 2 for the rest.
    class: u8,
    slot: u64,
    serial: u64,
    len: u64,
    /// For a membership envelope, the index of its space in the request: a page carries at most
    /// `MAX_NEW_STATEMENTS_PER_SPACE` of one space.
    statement_of: Option<usize>,
}

/// Runs one sync request against `store`, authorised by the membership logs in `access`, with the
/// default snapshot policy. Blocks; call from a blocking thread.
pub fn run(
    store: &dyn RelayStore,
    access: &Access,
    input: SyncInput,
) -> Result<SyncResponse, ExchangeError> {
    run_with(store, access, input, &SnapshotPolicy::default())
}

/// [`run`] with an explicit snapshot policy.
pub fn run_with(
    store: &dyn RelayStore,
    access: &Access,
    input: SyncInput,
    policy: &SnapshotPolicy,
) -> Result<SyncResponse, ExchangeError> {
    run_noting(store, access, input, policy, &crate::live::Silent)
}

/// [`run_with`] that tells `notifier` which spaces this request stored envelopes in or erased, as
/// soon as the store committed them (before the pull is answered), so that waiting devices
/// (section 28) learn of it at once.
pub fn run_noting(
    store: &dyn RelayStore,
    access: &Access,
    input: SyncInput,
    policy: &SnapshotPolicy,
    notifier: &dyn crate::live::Notifier,
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

    // A proof of admission counts for this very request's envelopes.
    if let Some(proof) = &input.admission {
        if !access.admissions().policy().programmes.is_empty()
            && access
                .admissions()
                .present(store, &input.device, proof, input.now)?
                .is_err()
        {
            access.note_admission_refusal();
        }
    }

    // 1. Check each envelope on its own; nothing is taken for an erased space.
    let named: Vec<SpaceId> = input.spaces.iter().map(|(s, _)| *s).collect();
    let erased_before: HashSet<SpaceId> = store.erased(&named)?.into_iter().collect();
    let mut rejected = Vec::new();
    let mut candidates = Vec::new();
    for (i, raw) in input.envelopes.iter().enumerate() {
        match check_envelope(i, raw, &requested) {
            Ok(c) if erased_before.contains(&c.slot.space) => rejected.push(Rejected {
                index: index_u32(i),
                reason: reason::ERASED.to_string(),
            }),
            Ok(c) => candidates.push(c),
            Err(why) => rejected.push(Rejected {
                index: index_u32(i),
                reason: why.to_string(),
            }),
        }
    }

    // Authorisation before signature work: statements (a bounded number) are read first, then
    // strangers' envelopes are refused before theirs are checked.
    let candidates = verify_statements(access, candidates, &mut rejected);
    let candidates = refuse_strangers(store, access, candidates, &mut rejected)?;
    let candidates = verify(access, candidates, &mut rejected);

    // 2. Judge and store what passed.
    if !candidates.is_empty() {
        let mut stored_in: Vec<SpaceId> = Vec::new();
        for slot in push(store, access, &candidates, input.now, &mut rejected)? {
            if let Some(v) = requested
                .get(&slot.space)
                .and_then(|k| effective.get_mut(*k))
            {
                v.insert(slot.author, slot.seq);
            }
            if !stored_in.contains(&slot.space) {
                stored_in.push(slot.space);
            }
        }
        notifier.changed(&stored_in, &input.device);
    }
    rejected.sort_by_key(|r| r.index);

    // The device's own taken answers go first, so they are not handed out again below. Ids of the
    // wrong length name nothing and are skipped.
    for t in &input.taken_join_answers {
        if let (Ok(space), Ok(invite)) = (
            SpaceId::from_slice(&t.space),
            InviteId::from_slice(&t.invite),
        ) {
            store.delete_join_answer(&input.device, &space, &invite)?;
        }
    }

    // Erasures, under the write side of the gate: only an admin of the space (in the relay's log)
    // erases it. Everything but its membership statements goes.
    let (mut erased, mut refused_erase) = erase(store, access, &input)?;
    // Shared spaces, on a member's signed statement (section 23.2).
    let (more_erased, more_refused) = post_erasures(store, access, &input)?;
    erased.extend(more_erased);
    refused_erase.extend(more_refused);
    if !erased.is_empty() {
        let spaces: Vec<SpaceId> = erased
            .iter()
            .filter_map(|s| SpaceId::from_slice(s).ok())
            .collect();
        notifier.changed(&spaces, &input.device);
    }

    // 3 and 4. Join requests and answers, judged against the logs as they now are.
    let mut refused_join_requests = Vec::new();
    let mut refused_join_answers = Vec::new();
    post_joins(
        store,
        access,
        &input,
        &mut refused_join_requests,
        &mut refused_join_answers,
    )?;

    // 5 and 6. Who may read what, the relay's vectors, and what the device lacks; and (8) the invites
    // whose requests go to it.
    let erased_now: HashSet<SpaceId> = store.erased(&named)?.into_iter().collect();
    // A space the requester is a stranger to (neither a member nor ever removed, by the cached log)
    // is refused without waiting for its gate, so naming a busy member's space costs its pulls
    // nothing (review finding, issue 15, item 1). Read without the gate: a push admitting the
    // device meanwhile makes this a `not-a-member` that clears at the next sync.
    let strangers: HashSet<SpaceId> = named
        .iter()
        .filter(|s| !erased_now.contains(s))
        .filter(|s| access.is_stranger(store, s, &input.device))
        .copied()
        .collect();
    let names: Vec<SpaceId> = named
        .into_iter()
        .filter(|s| !strangers.contains(s))
        .collect();
    let mut reader = access.reader(store, &names)?;
    let mut spaces = Vec::with_capacity(input.spaces.len());
    let mut refused_spaces: Vec<RefusedSpace> = input
        .oversized
        .iter()
        .map(|s| RefusedSpace::new(*s, reason::TOO_MANY_AUTHORS))
        .collect();
    let mut pending: Vec<Pending> = Vec::new();
    let mut invites: Vec<(SpaceId, InviteId)> = Vec::new();
    // Spaces whose erasure statements (section 23.2) go to the device.
    let mut statements_of: Vec<SpaceId> = Vec::new();
    // Spaces the device was given (what wakes it, protocol 28.9).
    let mut read: Vec<SpaceId> = Vec::new();
    for (index, ((space, _), client)) in input.spaces.iter().zip(&effective).enumerate() {
        if erased_now.contains(space) {
            refused_spaces.push(RefusedSpace::new(*space, reason::ERASED));
            // Its members (present or past) still learn who erased it, and judge that themselves.
            if !access.is_stranger(store, space, &input.device) {
                statements_of.push(*space);
            }
            continue;
        }
        if strangers.contains(space) {
            refused_spaces.push(RefusedSpace::new(*space, reason::NOT_A_MEMBER));
            continue;
        }
        let log = reader.log(store, *space)?;
        if !log.has_genesis() {
            refused_spaces.push(RefusedSpace::new(*space, reason::UNKNOWN_SPACE));
            continue;
        }
        if !log.state().may_read(&input.device) {
            refused_spaces.push(RefusedSpace::new(*space, reason::NOT_A_MEMBER));
            continue;
        }
        statements_of.push(*space);
        read.push(*space);
        invites.extend(
            deliverable_invites(store, &log, *space, &input.device, input.now)?
                .into_iter()
                .map(|invite| (*space, invite)),
        );
        let held = store.space_vector(space)?;
        // Never a vector the requester would refuse to read: the space alone is refused, the
        // others go on (issue 15, item 3).
        if held.contiguous().len() > MAX_AUTHORS {
            refused_spaces.push(RefusedSpace::new(*space, reason::TOO_MANY_AUTHORS));
            continue;
        }
        spaces.push(SpaceVector::new(*space, held.contiguous()));
        // Section 26: the newest snapshot by an admin that stands for envelopes this relay holds
        // (so a forged cover cannot make it skip what it never had) and for everything pruned.
        let mut floor = store.pruned_floor(space)?;
        let snap = store
            .snapshots(space, SNAPSHOT_CANDIDATES)?
            .into_iter()
            .find(|p| {
                // Only where every member is an admin (a person's journal and index): devices refuse
                // snapshots in shared spaces, where one author would speak for everyone's changes,
                // and a snapshot they refuse must never stand in for what it covers.
                log.state().members.values().all(|r| *r == Role::Admin)
                    && log.state().role(&p.author) == Some(Role::Admin)
                    && held.covers(&p.cover)
                    && held.contains(&p.author, p.seq)
                    // Devices refuse a snapshot whose cover names a number of a device past its
                    // good standing (a removed device past its cutoff: protocol 26.3), so it never
                    // stands in for, nor prunes, what it covers.
                    && p.cover.iter().all(|(a, s)| {
                        log.state().good_standing_until(a).is_none_or(|last| *s <= last)
                    })
                    && floor
                        .iter()
                        .all(|(a, f)| p.cover.get(a).copied().unwrap_or(0) >= *f)
            });
        drop(log);
        if let Some(p) = &snap {
            if let Some(cutoff) = policy.due(*space, input.now) {
                if store.prune_covered(space, &p.cover, p.serial, cutoff)? > 0 {
                    floor = store.pruned_floor(space)?;
                }
            }
        }
        let mut lists = Vec::new();
        let mut lacking_covered: u64 = 0;
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
            if let Some(p) = &snap {
                let c = p.cover.get(author).copied().unwrap_or(0);
                lacking_covered += rows
                    .iter()
                    .filter(|m| m.seq <= c && prunable(m.kind))
                    .map(|m| m.len)
                    .sum::<u64>();
            }
            lists.push((*author, rows));
        }
        // The snapshot goes instead of what it covers when the device lacks something it covers and
        // either cannot get it otherwise (pruned) or the snapshot is smaller.
        let below_floor = floor.iter().any(|(a, f)| client.get(a) < *f);
        let use_snap =
            snap.filter(|p| !client.covers(&p.cover) && (below_floor || lacking_covered > p.len));
        if let Some(p) = &use_snap {
            if !client.contains(&p.author, p.seq) {
                // First of all: what the tail depends on.
                pending.push(Pending {
                    class: 1,
                    slot: 0,
                    serial: p.serial,
                    len: p.len,
                    statement_of: None,
                });
            }
        }
        for (author, rows) in lists {
            let rows: Vec<_> = rows
                .into_iter()
                .filter(|m| {
                    !m.pruned
                        && use_snap.as_ref().is_none_or(|p| {
                            m.serial != p.serial
                                && !(prunable(m.kind)
                                    && m.seq <= p.cover.get(&author).copied().unwrap_or(0))
                        })
                })
                .collect();
            // Rows come in sequence order; give them this author's arrival slots in ascending order.
            let mut slots: Vec<u64> = rows.iter().map(|m| m.serial).collect();
            slots.sort_unstable();
            let snapped = use_snap.is_some();
            pending.extend(rows.iter().zip(slots).map(|(m, slot)| Pending {
                class: if snapped && !prunable(m.kind) { 0 } else { 2 },
                slot,
                serial: m.serial,
                len: m.len,
                statement_of: (m.kind == Kind::Membership).then_some(index),
            }));
        }
    }
    // Envelopes are never changed, and deleted only when their space is erased or emptied when
    // pruned: what was listed is loaded after the gate opens, and a row erased or pruned meanwhile
    // is skipped (an erased space is refused from the next request on).
    drop(reader);
    // Who may be woken for a space is who was given it; a note that fails is logged, never the
    // sync's failure (the device is only not woken until a later pull notes it).
    // Only a relay that sends wake-ups keeps who reads what (review finding F6).
    if !read.is_empty()
        && notifier.notes_readers()
        && let Err(e) = store.note_readers(&input.device, &read)
    {
        tracing::warn!(error = %e, "could not note a pull's readers for wake-ups");
    }
    pending.sort_unstable_by_key(|p| (p.class, p.slot));

    // 7. Page.
    let budget = input.max_response_bytes.min(MAX_PAGE_BYTES);
    let mut total: u64 = 0;
    let mut chosen = Vec::new();
    let mut statements = vec![0usize; input.spaces.len()];
    for p in &pending {
        let next = total.saturating_add(p.len);
        if next > budget && !chosen.is_empty() {
            break;
        }
        if let Some(n) = p.statement_of.and_then(|i| statements.get_mut(i)) {
            // As many as a device judges in one go: the page stops before the next one.
            if *n >= MAX_NEW_STATEMENTS_PER_SPACE {
                break;
            }
            *n += 1;
        }
        total = next;
        chosen.push(p.serial);
    }
    let mut more = chosen.len() < pending.len();

    // 8. The mailboxes, on the last page only. Read after the gate opened: a request or answer that
    // arrives or goes meanwhile changes only whether this answer or the next one carries it.
    let mut join_requests = Vec::new();
    let mut join_answers = Vec::new();
    if !more {
        let mailbox = load_mailbox(store, &invites, &input.device)?;
        if mailbox.bytes > 0
            && !chosen.is_empty()
            && total.saturating_add(mailbox.bytes) > MAX_PAGE_BYTES
        {
            // They wait for the next page, which has room (usually no envelope at all).
            more = true;
        } else {
            join_requests = mailbox.requests;
            join_answers = mailbox.answers;
        }
    }
    let envelopes = store
        .load_envelopes(&chosen)?
        .into_iter()
        .map(serde_bytes::ByteBuf::from)
        .collect();

    let mut erasures = Vec::new();
    for space in &statements_of {
        for s in store.erasures(space)? {
            if erasures.len() < sebaya_proto::sync::MAX_SERVED_ERASURES {
                erasures.push(serde_bytes::ByteBuf::from(s));
            }
        }
    }

    Ok(SyncResponse {
        v: SYNC_VERSION,
        spaces,
        envelopes,
        rejected,
        more,
        refused_spaces,
        join_requests,
        join_answers,
        refused_join_requests,
        refused_join_answers,
        erased,
        refused_erase,
        erasures,
    })
}
