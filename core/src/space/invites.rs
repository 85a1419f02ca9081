//! Remote invites (section 18 of `docs/protocol.md`): joining a group or pairing from a distance.
//!
//! 1. An admin calls [`Vault::create_invite`] (`groups/spaces.rs`, which picks the space a newcomer
//!    joins: a group with a past goes on in a new period first; then `Vault::open_invite` here): an
//!    `Invite` statement enters the space's log (so every member and the relay know the invite, its
//!    expiry and its fate) and a code of [`sebaya_proto::invite::INVITE_CODE_CHARS`] characters is
//!    returned for a QR code. The one-time secret inside stays in this vault (sealed) and in the
//!    code, nowhere else.
//! 2. The joiner calls [`Vault::accept_invite`]: a join request, signed by its device and sealed under
//!    a key derived from the secret, waits in the vault and goes to the relay at every sync until
//!    answered or refused.
//! 3. The admin's next sync fetches requests; the vault opens each with the secret (anything else — a
//!    stranger's request — is counted and dropped) and lists them ([`Vault::join_requests`]).
//! 4. [`Vault::approve_join_request`] signs an `Admit` that spends the invite and leaves an answer (the
//!    space key wrapped for the joiner, the log, earlier keys) for the relay to hand to that device.
//! 5. The joiner's next sync receives the answer, checks that the log shows the inviter admitting this
//!    device with this invite, and starts holding the space, then pulls its notes in the same sync.
//!
//! Newcomers receive the space's earlier keys: an Automerge document's current state is built from
//! its whole history, so a member without the earlier changes could not read the later ones.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use sebaya_proto::invite::{InviteCode, InviteId, JoinRequest};
use sebaya_proto::membership::{InviteStatus, Op};
use sebaya_proto::sync::{JoinAnswer, JoinPost, JoinTaken, Rejected};
use sebaya_proto::{DeviceId, SpaceId};

use crate::error::{Error, Result};
use crate::space::SpaceKind;
use crate::store::Store;
use crate::{Vault, crypto, identity::link};

const ISSUED: &str = "invites-issued";
const RECEIVED: &str = "join-requests";
const ANSWERS: &str = "join-answers-out";
const PENDING: &str = "joins-pending";
const TAKEN: &str = "join-answers-taken";

/// Longest an invite may stay open: a code that lives for months is a code that leaks.
pub const MAX_INVITE_SECS: u64 = 30 * 24 * 3600;

/// An invite just made, for the admin's screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInvite {
    /// The space the invite admits to: the group itself, or its new period when the group had a
    /// past and history is not shared.
    pub space: SpaceId,
    /// Its public id (as the log and the relay know it).
    pub id: InviteId,
    /// The code to show as a QR code or send: holds the one-time secret.
    pub code: String,
    /// Unix seconds after which it admits nobody.
    pub expires: u64,
}

/// A join request opened with its invite's secret, waiting for the admin's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinRequestInfo {
    /// Stable id of this request (hex of a hash of its sealed bytes).
    pub id: String,
    /// The space asked for.
    pub space: SpaceId,
    /// The invite used.
    pub invite: InviteId,
    /// The device asking.
    pub device: DeviceId,
    /// Its person, when the request carried a valid device certificate.
    pub person: Option<[u8; 32]>,
    /// The name the joiner gave.
    pub name: String,
    /// When the joiner made it (their clock, Unix seconds).
    pub time: u64,
}

/// Where a join this device asked for stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinStatus {
    /// Sent (or to be sent at the next sync); no answer yet.
    Waiting,
    /// The relay refused the request: the reason code (`invite-spent`, `invite-expired`,
    /// `invite-revoked`, `unknown-invite`, ...). Nothing will come of it.
    Refused(String),
}

/// A join this device asked for with [`Vault::accept_invite`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingJoin {
    /// The space.
    pub space: SpaceId,
    /// Its kind, from the invite code.
    pub kind: SpaceKind,
    /// The invite used.
    pub invite: InviteId,
    /// The inviting device.
    pub inviter: DeviceId,
    /// When the invite expires (Unix seconds).
    pub expires: u64,
    /// Where it stands.
    pub status: JoinStatus,
}

#[derive(Serialize, Deserialize, Default)]
struct IssuedList(Vec<Issued>);

#[derive(Serialize, Deserialize)]
struct Issued {
    space: ByteBuf,
    invite: ByteBuf,
    secret: ByteBuf,
    expires: u64,
}

impl Drop for Issued {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.secret.as_mut_slice().zeroize();
    }
}

#[derive(Serialize, Deserialize, Default)]
struct ReceivedList(Vec<Received>);

#[derive(Serialize, Deserialize, Clone)]
struct Received {
    id: ByteBuf,
    space: ByteBuf,
    invite: ByteBuf,
    device: ByteBuf,
    x25519: ByteBuf,
    person: Option<ByteBuf>,
    name: String,
    time: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct AnswerList(Vec<Answer>);

#[derive(Serialize, Deserialize, Clone)]
struct Answer {
    space: ByteBuf,
    invite: ByteBuf,
    device: ByteBuf,
    body: ByteBuf,
}

#[derive(Serialize, Deserialize, Default)]
struct PendingList(Vec<Pending>);

#[derive(Serialize, Deserialize, Clone)]
struct Pending {
    space: ByteBuf,
    kind: u8,
    invite: ByteBuf,
    inviter: ByteBuf,
    expires: u64,
    body: ByteBuf,
    refused: Option<String>,
    /// The invite's request token, shown to the relay with the request.
    #[serde(default)]
    token: ByteBuf,
}

fn load<T: for<'de> Deserialize<'de> + Default>(store: &Store, name: &str) -> Result<T> {
    match store.kv_get(name)? {
        None => Ok(T::default()),
        Some(b) => sebaya_proto::cbor::decode(b.as_slice(), 256)
            .map_err(|_| Error::Corrupt("invite records")),
    }
}

fn save<T: Serialize>(store: &Store, name: &str, value: &T) -> Result<()> {
    let mut out = Zeroizing::new(Vec::new());
    ciborium::into_writer(value, &mut *out)
        .map_err(|_| Error::Internal("encode invite records"))?;
    store.kv_put(name, &out)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn corrupt<T>(_: T) -> Error {
    Error::Corrupt("invite records")
}

impl Received {
    fn info(&self) -> Result<JoinRequestInfo> {
        Ok(JoinRequestInfo {
            id: hex::encode(&self.id),
            space: SpaceId::from_slice(&self.space).map_err(corrupt)?,
            invite: InviteId::from_slice(&self.invite).map_err(corrupt)?,
            device: DeviceId::from_slice(&self.device).map_err(corrupt)?,
            person: match &self.person {
                None => None,
                Some(p) => Some(p.as_slice().try_into().map_err(corrupt)?),
            },
            name: self.name.clone(),
            time: self.time,
        })
    }
}

impl Pending {
    fn info(&self) -> Result<PendingJoin> {
        Ok(PendingJoin {
            space: SpaceId::from_slice(&self.space).map_err(corrupt)?,
            kind: SpaceKind::from_byte(self.kind)?,
            invite: InviteId::from_slice(&self.invite).map_err(corrupt)?,
            inviter: DeviceId::from_slice(&self.inviter).map_err(corrupt)?,
            expires: self.expires,
            status: match &self.refused {
                None => JoinStatus::Waiting,
                Some(r) => JoinStatus::Refused(r.clone()),
            },
        })
    }
}

/// Opens a join request delivered for one of this vault's invites. A request made without the
/// invite's secret (a stranger's, or one altered on the way) is [`Error::BadJoinRequest`].
pub(crate) fn open_request(space: &SpaceId, secret: &[u8; 16], body: &[u8]) -> Result<JoinRequest> {
    JoinRequest::open(body, space, secret).map_err(|_| Error::BadJoinRequest)
}

/// What one sync did with invites, folded into the sync report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct JoinOutcome {
    pub received: u32,
    pub refused: u32,
    pub joined: u32,
}

impl Vault {
    /// Whether this device may open an invite to `space` for `valid_for_secs`: one second to 30
    /// days, a group or a pairing, this device an admin of it. [`Vault::create_invite_with`]
    /// (`groups/spaces.rs`) asks before it picks the space a newcomer joins.
    pub(crate) fn check_invite(&self, space: &SpaceId, valid_for_secs: u64) -> Result<()> {
        if valid_for_secs == 0 || valid_for_secs > MAX_INVITE_SECS {
            return Err(Error::InvalidInput(
                "an invite lasts from one second to 30 days".into(),
            ));
        }
        let s = self.shared.get(space).ok_or(Error::NotFound("space"))?;
        if !matches!(s.kind, SpaceKind::Group | SpaceKind::Pairing) {
            return Err(Error::NotAllowed(
                "only groups and pairings are joined by invite; case notes are shared in person",
            ));
        }
        if !s.membership().is_admin(&self.identity.device) {
            return Err(Error::NotAllowed("only an admin of a space can invite"));
        }
        Ok(())
    }

    /// Opens an invite to exactly `space` (a group or pairing this device administers), valid for
    /// `valid_for_secs`, and returns the code to show. Which space a newcomer joins (a group's new
    /// period) is the caller's choice: [`Vault::create_invite_with`].
    pub(crate) fn open_invite(
        &mut self,
        space: &SpaceId,
        valid_for_secs: u64,
    ) -> Result<NewInvite> {
        self.check_invite(space, valid_for_secs)?;
        let (store, identity) = (&self.store, &self.identity);
        let s = self.shared.get_mut(space).ok_or(Error::NotFound("space"))?;
        let expires = now_secs().saturating_add(valid_for_secs);
        let expires32 = u32::try_from(expires).map_err(|_| Error::Internal("clock beyond 2106"))?;
        let secret = Zeroizing::new(crypto::random::<16>()?);
        let id = sebaya_proto::invite::invite_id(space, &secret)?;
        let code = InviteCode {
            kind: s.kind.to_byte(),
            space: *space,
            secret: secret.clone(),
            expires: expires32,
            inviter: identity.device,
        };
        // The secret is kept before the statement is written: an invite the log knows but this
        // vault could not open requests for would be useless.
        let mut issued: IssuedList = load(store, ISSUED)?;
        issued.0.push(Issued {
            space: ByteBuf::from(space.0.to_vec()),
            invite: ByteBuf::from(id.0.to_vec()),
            secret: ByteBuf::from(secret.to_vec()),
            expires,
        });
        save(store, ISSUED, &issued)?;
        s.write_statement(
            store,
            identity,
            Op::Invite {
                invite: id.0,
                expires,
                gate: Some(sebaya_proto::invite::gate_of(
                    &sebaya_proto::invite::request_token(space, &secret)?,
                )),
            },
        )?;
        Ok(NewInvite {
            space: *space,
            id,
            code: code.to_code(),
            expires,
        })
    }

    /// Revokes an open invite (any admin of the space): nobody is admitted with it from now on, and
    /// the relay refuses requests for it as soon as it holds the revocation.
    pub fn revoke_invite(&mut self, space: &SpaceId, invite: &InviteId) -> Result<()> {
        let (store, identity) = (&self.store, &self.identity);
        let s = self.shared.get_mut(space).ok_or(Error::NotFound("space"))?;
        if !s.membership().is_admin(&identity.device) {
            return Err(Error::NotAllowed(
                "only an admin of a space can revoke invites",
            ));
        }
        match s.membership().invites.get(&invite.0).map(|i| i.status) {
            None => return Err(Error::NotFound("invite")),
            Some(InviteStatus::Spent(_)) => return Err(Error::InviteSpent),
            Some(InviteStatus::Revoked) => return Err(Error::InviteRevoked),
            Some(InviteStatus::Open) => {}
        }
        s.write_statement(store, identity, Op::Uninvite { invite: invite.0 })?;
        self.forget_invite(space, invite)
    }

    /// Drops an invite's secret and the requests waiting for it.
    fn forget_invite(&mut self, space: &SpaceId, invite: &InviteId) -> Result<()> {
        let mut issued: IssuedList = load(&self.store, ISSUED)?;
        issued
            .0
            .retain(|i| !(i.space.as_slice() == space.0 && i.invite.as_slice() == invite.0));
        save(&self.store, ISSUED, &issued)?;
        let mut received: ReceivedList = load(&self.store, RECEIVED)?;
        received
            .0
            .retain(|r| !(r.space.as_slice() == space.0 && r.invite.as_slice() == invite.0));
        save(&self.store, RECEIVED, &received)
    }

    /// On the joining device: asks to join the space an invite code names, giving `name` so the admin
    /// recognises the request. Nothing is joined yet: the request leaves at the next sync and the
    /// space arrives once an admin approves. An expired code is [`Error::InviteExpired`], a damaged
    /// one [`Error::BadInvite`].
    pub fn accept_invite(&mut self, code: &str, name: &str) -> Result<PendingJoin> {
        let code = InviteCode::from_code(code).map_err(|_| Error::BadInvite)?;
        let kind = SpaceKind::from_byte(code.kind).map_err(|_| Error::BadInvite)?;
        if !matches!(kind, SpaceKind::Group | SpaceKind::Pairing) {
            return Err(Error::BadInvite);
        }
        if now_secs() > u64::from(code.expires) {
            return Err(Error::InviteExpired);
        }
        if code.inviter == self.identity.device || self.shared.contains_key(&code.space) {
            return Err(Error::InvalidInput(
                "this device already belongs to that space".into(),
            ));
        }
        let name = name.trim();
        if name.chars().count() > sebaya_proto::invite::MAX_NAME_CHARS {
            return Err(Error::InvalidInput(
                "the name is longer than 64 characters".into(),
            ));
        }
        let invite = code.id()?;
        let request = JoinRequest {
            space: code.space,
            invite,
            device: self.identity.device,
            x25519: self.identity.x25519_public,
            certificate: self.device_certificate().ok(),
            name: name.to_string(),
            time: now_secs(),
        };
        let body = request.seal(
            &code.secret,
            &self.identity.signing_key()?,
            crypto::random()?,
        )?;
        let mut pending: PendingList = load(&self.store, PENDING)?;
        pending.0.retain(|p| p.space.as_slice() != code.space.0);
        let p = Pending {
            space: ByteBuf::from(code.space.0.to_vec()),
            kind: code.kind,
            invite: ByteBuf::from(invite.0.to_vec()),
            inviter: ByteBuf::from(code.inviter.0.to_vec()),
            expires: u64::from(code.expires),
            body: ByteBuf::from(body),
            refused: None,
            token: ByteBuf::from(
                sebaya_proto::invite::request_token(&code.space, &code.secret)?.to_vec(),
            ),
        };
        let info = p.info()?;
        pending.0.push(p);
        save(&self.store, PENDING, &pending)?;
        Ok(info)
    }

    /// Joins this device asked for and has not yet received (or was refused).
    pub fn pending_joins(&self) -> Result<Vec<PendingJoin>> {
        let pending: PendingList = load(&self.store, PENDING)?;
        pending.0.iter().map(Pending::info).collect()
    }

    /// Forgets a join this device asked for (waiting or refused).
    pub fn cancel_join(&mut self, space: &SpaceId) -> Result<()> {
        let mut pending: PendingList = load(&self.store, PENDING)?;
        let before = pending.0.len();
        pending.0.retain(|p| p.space.as_slice() != space.0);
        if pending.0.len() == before {
            return Err(Error::NotFound("pending join"));
        }
        save(&self.store, PENDING, &pending)
    }

    /// Join requests waiting for this device's decision, oldest first.
    pub fn join_requests(&self) -> Result<Vec<JoinRequestInfo>> {
        let received: ReceivedList = load(&self.store, RECEIVED)?;
        received.0.iter().map(Received::info).collect()
    }

    /// Admits the device that sent a join request: signs an `Admit` spending the invite and leaves the
    /// answer for the relay to hand to that device at the next sync. A second request for an invite
    /// already used is [`Error::InviteSpent`]; a revoked invite [`Error::InviteRevoked`]; one past its
    /// expiry [`Error::InviteExpired`]. Nothing changes on any error.
    pub fn approve_join_request(&mut self, request_id: &str) -> Result<DeviceId> {
        let mut received: ReceivedList = load(&self.store, RECEIVED)?;
        let pos = received
            .0
            .iter()
            .position(|r| hex::encode(&r.id) == request_id)
            .ok_or(Error::NotFound("join request"))?;
        let req = received.0[pos].info()?;
        let x25519: [u8; 32] = received.0[pos]
            .x25519
            .as_slice()
            .try_into()
            .map_err(corrupt)?;
        let (store, identity) = (&self.store, &self.identity);
        let s = self
            .shared
            .get_mut(&req.space)
            .ok_or(Error::NotFound("space"))?;
        let state = s.membership();
        if !state.is_admin(&identity.device) {
            return Err(Error::NotAllowed(
                "only an admin of a space can admit members",
            ));
        }
        let inv = state
            .invites
            .get(&req.invite.0)
            .copied()
            .ok_or(Error::NotFound("invite"))?;
        match inv.status {
            InviteStatus::Spent(_) => return Err(Error::InviteSpent),
            InviteStatus::Revoked => return Err(Error::InviteRevoked),
            InviteStatus::Open => {}
        }
        if inv.author != identity.device {
            return Err(Error::NotAllowed(
                "only the device that made an invite admits with it",
            ));
        }
        if now_secs() > inv.expires {
            return Err(Error::InviteExpired);
        }
        if state.is_member(&req.device) {
            return Err(Error::InvalidInput(
                "that device is already a member".into(),
            ));
        }
        s.write_statement(
            store,
            identity,
            Op::Admit {
                device: req.device,
                person: req.person,
                x25519,
                invite: req.invite.0,
            },
        )?;
        if !s.membership().is_member(&req.device) {
            return Err(Error::Internal("admit did not take effect"));
        }
        let wrap = crate::crypto::keywrap::wrap(s.key(), &x25519, &s.id, &s.epoch)?;
        let answer = link::LinkResponse {
            space: s.id,
            kind: s.kind.to_byte(),
            epoch: s.epoch,
            wrap,
            envelopes: s.membership_envelopes(store)?,
            history: s.history_for_link()?,
            certificate: None,
            index: None,
        }
        .to_bytes()?;
        let mut answers: AnswerList = load(store, ANSWERS)?;
        answers.0.push(Answer {
            space: ByteBuf::from(req.space.0.to_vec()),
            invite: ByteBuf::from(req.invite.0.to_vec()),
            device: ByteBuf::from(req.device.0.to_vec()),
            body: ByteBuf::from(answer),
        });
        save(store, ANSWERS, &answers)?;
        received.0.remove(pos);
        save(store, RECEIVED, &received)?;
        // The secret has done its work: nobody else can be admitted with it.
        let mut issued: IssuedList = load(store, ISSUED)?;
        issued.0.retain(|i| {
            !(i.space.as_slice() == req.space.0 && i.invite.as_slice() == req.invite.0)
        });
        save(store, ISSUED, &issued)?;
        Ok(req.device)
    }

    /// Declines a join request: it is forgotten; the invite stays open for its rightful holder.
    pub fn decline_join_request(&mut self, request_id: &str) -> Result<()> {
        let mut received: ReceivedList = load(&self.store, RECEIVED)?;
        let before = received.0.len();
        received.0.retain(|r| hex::encode(&r.id) != request_id);
        if received.0.len() == before {
            return Err(Error::NotFound("join request"));
        }
        save(&self.store, RECEIVED, &received)
    }

    /// What the next sync request carries for invites: this device's waiting join requests and its
    /// answers not yet taken by the relay.
    pub(crate) fn join_outbox(&self) -> Result<(Vec<JoinPost>, Vec<JoinAnswer>, Vec<JoinTaken>)> {
        let pending: PendingList = load(&self.store, PENDING)?;
        let posts = pending
            .0
            .iter()
            .filter(|p| p.refused.is_none())
            .map(|p| JoinPost {
                space: p.space.to_vec(),
                invite: p.invite.to_vec(),
                body: p.body.to_vec(),
                token: p.token.to_vec(),
            })
            .collect();
        let answers: AnswerList = load(&self.store, ANSWERS)?;
        let answers = answers
            .0
            .iter()
            .map(|a| JoinAnswer {
                space: a.space.to_vec(),
                invite: a.invite.to_vec(),
                device: a.device.to_vec(),
                body: a.body.to_vec(),
            })
            .collect();
        Ok((posts, answers, self.taken_answers()?))
    }

    /// Answers this device took and the relay has not yet been told of.
    pub(crate) fn taken_answers(&self) -> Result<Vec<JoinTaken>> {
        let t: AnswerList = load(&self.store, TAKEN)?;
        Ok(t.0
            .iter()
            .map(|a| JoinTaken {
                space: a.space.to_vec(),
                invite: a.invite.to_vec(),
            })
            .collect())
    }

    /// Takes what a sync brought for invites: refusals of what was sent, requests for this device's
    /// invites, and answers for this device.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn take_join_results(
        &mut self,
        sent_taken: &[JoinTaken],
        sent_posts: &[JoinPost],
        sent_answers: &[JoinAnswer],
        refused_posts: &[Rejected],
        refused_answers: &[Rejected],
        requests: &[JoinPost],
        answers: &[JoinAnswer],
    ) -> Result<JoinOutcome> {
        let mut out = JoinOutcome::default();
        // 0. The relay has forgotten the answers this exchange said were taken.
        if !sent_taken.is_empty() {
            let mut t: AnswerList = load(&self.store, TAKEN)?;
            t.0.retain(|a| {
                !sent_taken
                    .iter()
                    .any(|s| s.space == a.space.as_slice() && s.invite == a.invite.as_slice())
            });
            save(&self.store, TAKEN, &t)?;
        }
        // 1. Refused posts: the join will not happen; say why.
        if !refused_posts.is_empty() {
            let mut pending: PendingList = load(&self.store, PENDING)?;
            for r in refused_posts {
                let Some(sent) = sent_posts.get(r.index as usize) else {
                    continue;
                };
                for p in pending.0.iter_mut() {
                    if p.space.as_slice() == sent.space && p.invite.as_slice() == sent.invite {
                        p.refused = Some(r.reason.clone());
                    }
                }
            }
            save(&self.store, PENDING, &pending)?;
        }
        // 2. Answers the relay took are done. Refused ones are kept, and go again at the next sync,
        //    while the refusal may pass: the admit they need may not have reached the relay yet
        //    (`not-authorised`), or the joiner's mailbox is full until it takes what waits there
        //    (`mailbox-full`). Any other refusal is final (`not-requested`: the device never asked
        //    at this relay, or was answered already).
        if !sent_answers.is_empty() {
            let mut kept: AnswerList = load(&self.store, ANSWERS)?;
            kept.0.retain(|a| {
                let idx = sent_answers.iter().position(|s| {
                    s.space == a.space.as_slice()
                        && s.invite == a.invite.as_slice()
                        && s.device == a.device.as_slice()
                });
                match idx {
                    None => true,
                    Some(i) => refused_answers.iter().any(|r| {
                        r.index as usize == i
                            && matches!(
                                r.reason.as_str(),
                                sebaya_proto::reason::NOT_AUTHORISED
                                    | sebaya_proto::reason::MAILBOX_FULL
                            )
                    }),
                }
            });
            save(&self.store, ANSWERS, &kept)?;
        }
        // 3. Requests for this device's invites: open each with its secret.
        if !requests.is_empty() {
            let issued: IssuedList = load(&self.store, ISSUED)?;
            let mut received: ReceivedList = load(&self.store, RECEIVED)?;
            for post in requests {
                let Some(inv) = issued.0.iter().find(|i| {
                    i.space.as_slice() == post.space && i.invite.as_slice() == post.invite
                }) else {
                    continue;
                };
                let id = crypto::sha256(&post.body);
                if received.0.iter().any(|r| r.id.as_slice() == id) {
                    continue;
                }
                let space = SpaceId::from_slice(&post.space)?;
                if inv.secret.len() != 16 {
                    return Err(Error::Corrupt("invite records"));
                }
                let mut secret = Zeroizing::new([0u8; 16]);
                secret.copy_from_slice(&inv.secret);
                match open_request(&space, &secret, &post.body) {
                    Ok(req) => {
                        received.0.push(Received {
                            id: ByteBuf::from(id.to_vec()),
                            space: ByteBuf::from(space.0.to_vec()),
                            invite: ByteBuf::from(req.invite.0.to_vec()),
                            device: ByteBuf::from(req.device.0.to_vec()),
                            x25519: ByteBuf::from(req.x25519.to_vec()),
                            person: req.person().map(|p| ByteBuf::from(p.0.to_vec())),
                            name: req.name,
                            time: req.time,
                        });
                        out.received += 1;
                    }
                    Err(_) => out.refused += 1,
                }
            }
            save(&self.store, RECEIVED, &received)?;
        }
        // 4. Answers for this device: start holding each space whose log shows the inviter admitting
        //    this device with the invite it asked with. Anything else (forged by a relay, for another
        //    join) is counted and ignored; the join keeps waiting.
        if !answers.is_empty() {
            let mut pending: PendingList = load(&self.store, PENDING)?;
            let mut taken: AnswerList = load(&self.store, TAKEN)?;
            let mut take = |a: &JoinAnswer| {
                if !taken.0.iter().any(|t| {
                    t.space.as_slice() == a.space.as_slice() && t.invite.as_slice() == a.invite
                }) {
                    taken.0.push(Answer {
                        space: ByteBuf::from(a.space.clone()),
                        invite: ByteBuf::from(a.invite.clone()),
                        device: ByteBuf::from(a.device.clone()),
                        body: ByteBuf::new(),
                    });
                }
            };
            for a in answers {
                if a.device != self.identity.device.0 {
                    continue;
                }
                // Already holding the space (an answer seen before): tell the relay to forget it.
                if SpaceId::from_slice(&a.space).is_ok_and(|s| self.shared.contains_key(&s)) {
                    take(a);
                    continue;
                }
                let Some(pos) = pending
                    .0
                    .iter()
                    .position(|p| p.space.as_slice() == a.space && p.invite.as_slice() == a.invite)
                else {
                    continue;
                };
                match self.adopt_answer(&pending.0[pos], &a.body) {
                    Ok(()) => {
                        pending.0.remove(pos);
                        take(a);
                        out.joined += 1;
                    }
                    Err(_) => out.refused += 1,
                }
            }
            save(&self.store, PENDING, &pending)?;
            save(&self.store, TAKEN, &taken)?;
        }
        Ok(out)
    }

    fn adopt_answer(&mut self, p: &Pending, body: &[u8]) -> Result<()> {
        let info = p.info()?;
        if self.shared.contains_key(&info.space) {
            return Ok(());
        }
        if self.is_tombstoned(&info.space) {
            return Err(Error::NotAllowed("this space was erased"));
        }
        let resp = link::LinkResponse::from_bytes(body)?;
        if resp.space != info.space {
            return Err(Error::BadLinkCode);
        }
        // Check the log before anything is stored: the inviter named in the code admitted this device
        // with this invite.
        let mut log = sebaya_proto::membership::MembershipLog::new(info.space);
        for bytes in &resp.envelopes {
            let env = sebaya_proto::Envelope::parse(bytes).map_err(|_| Error::BadLinkCode)?;
            let st = sebaya_proto::membership::SignedStatement::from_envelope(&env)
                .map_err(|_| Error::BadLinkCode)?;
            log.insert(st).map_err(|_| Error::BadLinkCode)?;
        }
        let admitted = log.state().invites.get(&info.invite.0).is_some_and(|i| {
            i.author == info.inviter && i.status == InviteStatus::Spent(self.identity.device)
        });
        if !admitted {
            return Err(Error::BadLinkCode);
        }
        let space = crate::space::devices::adopt_from_response(
            &self.store,
            &self.identity,
            resp,
            info.kind,
        )?;
        self.note_participant_join(&space)?;
        self.keep_shared(space)?;
        Ok(())
    }
}
