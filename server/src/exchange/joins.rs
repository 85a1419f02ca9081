//! Rules 3, 4 and 8 of the exchange: the mailboxes of remote invites (`docs/protocol.md`, section
//! 18). A joiner leaves a sealed join request under an invite, the invite's author takes it and
//! leaves a join answer for the admitted device; the relay judges both against the space's
//! membership log and its own clock, keeps them within bounds, and hands each only to the device it
//! is meant for.
//!
//! An answer is kept only for a device that asked under its invite at this relay, once per request.
//! The log alone does not say so: anyone may found a space of its own, open invites there and admit
//! any device id, which would let a stranger fill that device's mailbox (16 answers or 8 MiB) and so
//! keep out the answer of the admin it really asked (issue 15, item 5). Who signed a join request
//! is known to the relay (the request is sealed, its sync request is not), so it notes (space,
//! invite, device) for each request kept and lets one answer in against the note.
//!
//! Kept apart from the envelopes (`push.rs`) because these items are no envelopes: the relay cannot
//! read their sealed bodies, judges them by the invite's state in the log rather than by write
//! rights, and bounds them per invite and per device.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sebaya_proto::invite::{InviteId, MAX_JOIN_ANSWER_LEN, MAX_JOIN_REQUEST_LEN};
use sebaya_proto::membership::InviteStatus;
use sebaya_proto::sync::{JoinAnswer, JoinPost, MAX_JOIN_ITEMS, MAX_MESSAGE_LEN, Rejected};
use sebaya_proto::{DeviceId, SpaceId, reason};

use crate::access::{Access, SpaceLog, Writer};
use crate::error::StoreError;
use crate::store::{MailboxOutcome, NewJoinAnswer, NewJoinRequest, RelayStore};

use super::{SyncInput, index_u32};

/// Most join requests the relay keeps under one invite. An invite admits one device, so a handful is
/// plenty (the joiner retrying from a second phone, a family sharing a code); the bound stops anyone
/// who learnt the invite id from piling up requests for its author.
pub const MAX_JOIN_REQUESTS_PER_INVITE: usize = 16;
/// Most join answers the relay keeps for one device: one per space it is joining at once, with room.
pub const MAX_JOIN_ANSWERS_PER_DEVICE: usize = 16;
/// Most bytes of join answers the relay keeps for one device: two answers of the largest size. Every
/// answer kept for a device goes out in one sync answer, which must stay under the 16 MiB message
/// limit whatever admins leave for it; a device whose answers could not fit would never sync again.
pub const MAX_JOIN_ANSWER_BYTES_PER_DEVICE: u64 = 2 * MAX_JOIN_ANSWER_LEN as u64;
/// Most join requests handed to one device in one answer (what `SyncResponse::check` accepts). Only an
/// admin with dozens of full, open invites reaches it; the oldest invites' requests go first and the
/// rest wait until those invites close.
pub const MAX_DELIVERED_JOIN_REQUESTS: usize = MAX_JOIN_ITEMS * 16;
/// What a join request or answer is counted as beyond its body when sizing an answer: its ids and CBOR
/// framing, generously.
const JOIN_ITEM_OVERHEAD: u64 = 128;

// The mailboxes alone always fit in one answer, with room for the answer's other lists.
const _: () = assert!(
    (MAX_DELIVERED_JOIN_REQUESTS as u64) * (MAX_JOIN_REQUEST_LEN as u64 + JOIN_ITEM_OVERHEAD)
        + MAX_JOIN_ANSWER_BYTES_PER_DEVICE
        + (MAX_JOIN_ANSWERS_PER_DEVICE as u64) * JOIN_ITEM_OVERHEAD
        + 2 * 1024 * 1024
        <= MAX_MESSAGE_LEN as u64
);

/// A join request that passed the checks of its own.
struct PostedRequest<'a> {
    /// Index in the request's `join_requests`.
    index: usize,
    space: SpaceId,
    invite: InviteId,
    body: &'a [u8],
    token: &'a [u8],
}

/// A join answer that passed the checks of its own.
struct PostedAnswer<'a> {
    /// Index in the request's `join_answers`.
    index: usize,
    space: SpaceId,
    invite: InviteId,
    device: DeviceId,
    body: &'a [u8],
}

/// Checks a mailbox item's body: not empty, at most `max` bytes.
fn check_body(body: &[u8], max: usize) -> Result<(), &'static str> {
    if body.is_empty() {
        Err(reason::MALFORMED)
    } else if body.len() > max {
        Err(reason::TOO_LARGE)
    } else {
        Ok(())
    }
}

/// Checks one posted join request on its own (rule 3, first part).
fn check_join_request(index: usize, post: &JoinPost) -> Result<PostedRequest<'_>, &'static str> {
    let space = SpaceId::from_slice(&post.space).map_err(|_| reason::MALFORMED)?;
    let invite = InviteId::from_slice(&post.invite).map_err(|_| reason::MALFORMED)?;
    check_body(&post.body, MAX_JOIN_REQUEST_LEN)?;
    if !post.token.is_empty() && post.token.len() != 16 {
        return Err(reason::MALFORMED);
    }
    Ok(PostedRequest {
        index,
        space,
        invite,
        body: &post.body,
        token: &post.token,
    })
}

/// Checks one posted join answer on its own (rule 4, first part).
fn check_join_answer(index: usize, answer: &JoinAnswer) -> Result<PostedAnswer<'_>, &'static str> {
    let space = SpaceId::from_slice(&answer.space).map_err(|_| reason::MALFORMED)?;
    let invite = InviteId::from_slice(&answer.invite).map_err(|_| reason::MALFORMED)?;
    let device = DeviceId::from_slice(&answer.device).map_err(|_| reason::MALFORMED)?;
    check_body(&answer.body, MAX_JOIN_ANSWER_LEN)?;
    Ok(PostedAnswer {
        index,
        space,
        invite,
        device,
        body: &answer.body,
    })
}

/// Whether the invite takes join requests at `now`; the reason if not. `invite-spent`,
/// `invite-revoked` and `invite-expired` mean it never will again.
fn invite_takes_requests(log: &SpaceLog, invite: &InviteId, now: u64) -> Result<(), &'static str> {
    if !log.has_genesis() {
        return Err(reason::UNKNOWN_SPACE);
    }
    let info = log
        .state()
        .invites
        .get(&invite.0)
        .ok_or(reason::UNKNOWN_INVITE)?;
    match info.status {
        InviteStatus::Spent(_) => Err(reason::INVITE_SPENT),
        InviteStatus::Revoked => Err(reason::INVITE_REVOKED),
        InviteStatus::Open if now > info.expires => Err(reason::INVITE_EXPIRED),
        InviteStatus::Open => Ok(()),
    }
}

/// Whether `poster` may leave `answer`: the log must show the invite opened by `poster` and spent on
/// the answer's device.
fn answer_allowed(
    log: &SpaceLog,
    answer: &PostedAnswer<'_>,
    poster: &DeviceId,
) -> Result<(), &'static str> {
    if !log.has_genesis() {
        return Err(reason::UNKNOWN_SPACE);
    }
    let info = log
        .state()
        .invites
        .get(&answer.invite.0)
        .ok_or(reason::UNKNOWN_INVITE)?;
    if info.author == *poster && info.status == InviteStatus::Spent(answer.device) {
        Ok(())
    } else {
        Err(reason::NOT_AUTHORISED)
    }
}

/// The log of `space`, asked of `writer` at most once per request.
fn log_of(
    logs: &mut HashMap<SpaceId, Arc<SpaceLog>>,
    writer: &mut Writer<'_>,
    store: &dyn RelayStore,
    space: SpaceId,
) -> Result<Arc<SpaceLog>, StoreError> {
    if let Some(log) = logs.get(&space) {
        return Ok(log.clone());
    }
    let log = writer.log(store, space)?;
    logs.insert(space, log.clone());
    Ok(log)
}

/// Judges and keeps the join requests and answers a device posted (rules 3 and 4). Runs after the
/// request's envelopes were stored, so that an `Invite`, `Uninvite` or `Admit` pushed in the same
/// request counts, and under the write side of the gate, so that no push changes an invite while its
/// mailbox is being filled. Refusals go to the two lists, by index.
pub(super) fn post_joins(
    store: &dyn RelayStore,
    access: &Access,
    input: &SyncInput,
    refused_requests: &mut Vec<Rejected>,
    refused_answers: &mut Vec<Rejected>,
) -> Result<(), StoreError> {
    let refuse = |list: &mut Vec<Rejected>, index: usize, why: &str| {
        list.push(Rejected {
            index: index_u32(index),
            reason: why.to_string(),
        });
    };
    let mut posts = Vec::new();
    for (i, post) in input.join_requests.iter().enumerate() {
        match check_join_request(i, post) {
            Ok(p) => posts.push(p),
            Err(why) => refuse(refused_requests, i, why),
        }
    }
    let mut answers = Vec::new();
    for (i, answer) in input.join_answers.iter().enumerate() {
        match check_join_answer(i, answer) {
            Ok(a) => answers.push(a),
            Err(why) => refuse(refused_answers, i, why),
        }
    }
    if posts.is_empty() && answers.is_empty() {
        return Ok(());
    }

    let spaces: Vec<SpaceId> = posts
        .iter()
        .map(|p| p.space)
        .chain(answers.iter().map(|a| a.space))
        .collect();
    let mut writer = access.writer(store, &spaces)?;
    let mut logs: HashMap<SpaceId, Arc<SpaceLog>> = HashMap::new();
    // Invites found closed for good: their stored requests go.
    let mut closed: HashSet<(SpaceId, InviteId)> = HashSet::new();

    for p in &posts {
        let log = log_of(&mut logs, &mut writer, store, p.space)?;
        if let Err(why) = invite_takes_requests(&log, &p.invite, input.now) {
            if matches!(
                why,
                reason::INVITE_SPENT | reason::INVITE_REVOKED | reason::INVITE_EXPIRED
            ) {
                closed.insert((p.space, p.invite));
            }
            refuse(refused_requests, p.index, why);
            continue;
        }
        // An invite with a gate takes requests only with its token (derived from the secret): the
        // invite id alone, which every member reads in the log, does not open its mailbox.
        let gate = log.state().invites.get(&p.invite.0).and_then(|i| i.gate);
        if let Some(g) = gate {
            if sebaya_proto::invite::gate_of(p.token) != g {
                refuse(refused_requests, p.index, reason::NOT_AUTHORISED);
                continue;
            }
        }
        let outcome = store.put_join_request(
            &NewJoinRequest {
                space: p.space,
                invite: p.invite,
                device: input.device,
                body: p.body,
            },
            MAX_JOIN_REQUESTS_PER_INVITE,
            input.now,
        )?;
        if outcome == MailboxOutcome::Full {
            refuse(refused_requests, p.index, reason::MAILBOX_FULL);
        }
    }
    for (space, invite) in &closed {
        store.delete_join_requests(space, invite)?;
    }

    for a in &answers {
        let log = log_of(&mut logs, &mut writer, store, a.space)?;
        if let Err(why) = answer_allowed(&log, a, &input.device) {
            refuse(refused_answers, a.index, why);
            continue;
        }
        let outcome = store.put_join_answer(
            &NewJoinAnswer {
                device: a.device,
                space: a.space,
                invite: a.invite,
                body: a.body,
            },
            MAX_JOIN_ANSWERS_PER_DEVICE,
            MAX_JOIN_ANSWER_BYTES_PER_DEVICE,
            input.now,
        )?;
        match outcome {
            MailboxOutcome::Full => refuse(refused_answers, a.index, reason::MAILBOX_FULL),
            MailboxOutcome::NotRequested => {
                refuse(refused_answers, a.index, reason::NOT_REQUESTED);
            }
            MailboxOutcome::Stored | MailboxOutcome::Replaced | MailboxOutcome::Duplicate => {}
        }
    }
    refused_requests.sort_by_key(|r| r.index);
    refused_answers.sort_by_key(|r| r.index);
    Ok(())
}

/// Under the read side of the gate, for a space the requester may read (rule 8, first part): the
/// invites whose stored requests go to the requester (it opened them, and they are open at `now`).
/// Requests stored under invites that no longer admit anyone are dropped on the way.
pub(super) fn deliverable_invites(
    store: &dyn RelayStore,
    log: &SpaceLog,
    space: SpaceId,
    device: &DeviceId,
    now: u64,
) -> Result<Vec<InviteId>, StoreError> {
    let state = log.state();
    if state.invites.is_empty() {
        return Ok(Vec::new());
    }
    let mut mine = Vec::new();
    for invite in store.join_request_invites(&space)? {
        match state.invites.get(&invite.0) {
            Some(info) if state.invite_open(&invite.0, now) => {
                if info.author == *device {
                    mine.push(invite);
                }
            }
            _ => {
                store.delete_join_requests(&space, &invite)?;
            }
        }
    }
    Ok(mine)
}

/// What the last page carries from the mailboxes (rule 8), with its size as counted against the page.
pub(super) struct Mailbox {
    pub(super) requests: Vec<JoinPost>,
    pub(super) answers: Vec<JoinAnswer>,
    pub(super) bytes: u64,
}

/// Loads what the requester's mailboxes hold: the requests under `invites` (in that order, at most
/// [`MAX_DELIVERED_JOIN_REQUESTS`]) and every answer addressed to `device`.
pub(super) fn load_mailbox(
    store: &dyn RelayStore,
    invites: &[(SpaceId, InviteId)],
    device: &DeviceId,
) -> Result<Mailbox, StoreError> {
    let mut requests = Vec::new();
    let mut bytes: u64 = 0;
    'invites: for (space, invite) in invites {
        for r in store.join_requests(space, invite)? {
            if requests.len() >= MAX_DELIVERED_JOIN_REQUESTS {
                break 'invites;
            }
            bytes = bytes.saturating_add(r.body.len() as u64 + JOIN_ITEM_OVERHEAD);
            requests.push(JoinPost {
                space: r.space.0.to_vec(),
                invite: r.invite.0.to_vec(),
                body: r.body,
                token: Vec::new(),
            });
        }
    }
    let mut answers = Vec::new();
    for a in store.join_answers(device)? {
        bytes = bytes.saturating_add(a.body.len() as u64 + JOIN_ITEM_OVERHEAD);
        answers.push(JoinAnswer {
            space: a.space.0.to_vec(),
            invite: a.invite.0.to_vec(),
            device: a.device.0.to_vec(),
            body: a.body,
        });
    }
    Ok(Mailbox {
        requests,
        answers,
        bytes,
    })
}
