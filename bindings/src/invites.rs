//! Remote invites through the bindings (`Vault.invites()`; `docs/protocol.md`, section 18): an admin makes a code for a
//! QR code; the joiner asks with it; the admin approves the request; the space arrives at the
//! joiner's next sync.

use super::{InviteStatus, JoinStatus, Result, SebayaError, Shared, SpaceKind, parse_space, with};

/// An invite just made.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Invite {
    /// Its public id (hex): what the space's log and the relay know.
    pub id: String,
    /// The space it admits to (hex): the group itself, or its new period when the group had a past
    /// and history is not shared.
    pub space_id: String,
    /// The code to show as a QR code (uppercase letters and digits, under 200 characters) or send.
    /// It holds the one-time secret: whoever has it may ask to join, once.
    pub code: String,
    /// Unix seconds after which it admits nobody.
    pub expires: u64,
}

/// An invite of a space as its log records it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct InviteState {
    /// Invite id (hex).
    pub id: String,
    /// The admin device that made it (hex): the only one that admits with it.
    pub author: String,
    /// Unix seconds after which it admits nobody.
    pub expires: u64,
    /// Where it stands.
    pub status: InviteStatus,
    /// The device it admitted (hex), once spent.
    pub admitted: Option<String>,
}

/// A join request waiting for this device's decision.
#[derive(Clone, Debug, uniffi::Record)]
pub struct JoinRequest {
    /// Request id (hex), for `Invites.approve_join_request` / `decline_join_request`.
    pub id: String,
    /// The space asked for (hex).
    pub space_id: String,
    /// The invite used (hex).
    pub invite_id: String,
    /// The device asking (hex).
    pub device_id: String,
    /// Its person (hex), when the device showed a valid certificate.
    pub person_id: Option<String>,
    /// The name the joiner gave (shown to the admin; not verified).
    pub name: String,
    /// When they asked, Unix seconds on their clock.
    pub time: u64,
}

/// A join this device asked for.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PendingJoin {
    /// The space (hex).
    pub space_id: String,
    /// Its kind (a group or a pairing).
    pub kind: SpaceKind,
    /// The invite used (hex).
    pub invite_id: String,
    /// Unix seconds when the invite expires.
    pub expires: u64,
    /// Where it stands.
    pub status: JoinStatus,
    /// Why the relay refused it (`invite-spent`, `invite-expired`, `invite-revoked`,
    /// `unknown-invite`, ...), when refused: the relay's own error code, an open set like
    /// `SebayaError.Relay.code`, so a string.
    pub refused_reason: Option<String>,
}

fn invite_id(id: &str) -> Result<sebaya_core::InviteId> {
    sebaya_core::InviteId::from_hex(id).map_err(|_| {
        SebayaError::from(sebaya_core::Error::InvalidInput(
            "invite id must be 32 hex characters".into(),
        ))
    })
}

impl From<sebaya_core::space::invites::PendingJoin> for PendingJoin {
    fn from(p: sebaya_core::space::invites::PendingJoin) -> Self {
        use sebaya_core::space::invites::JoinStatus as S;
        let (status, refused_reason) = match p.status {
            S::Waiting => (JoinStatus::Waiting, None),
            S::Refused(r) => (JoinStatus::Refused, Some(r)),
        };
        PendingJoin {
            space_id: p.space.to_hex(),
            kind: p.kind.into(),
            invite_id: p.invite.to_hex(),
            expires: p.expires,
            status,
            refused_reason,
        }
    }
}

/// Remote invites, handed out by `Vault.invites()`: for joining a group or pairing from a distance
/// (in person, `Vault.spaces()` does it with request and response codes). It holds the vault's
/// shared state, so `Vault.lock()` locks it too (`Locked`).
#[derive(uniffi::Object)]
pub struct Invites {
    pub(crate) inner: Shared,
}

#[uniffi::export]
impl Invites {
    /// Makes an invite to a group or pairing this device administers, valid for `valid_for_secs`
    /// (1 second to 30 days; a week by default). Unless `share_history`, a group that already has a
    /// past first goes on in a new period and the invite admits to that (`space_id` says which).
    /// Sync afterwards so the relay knows the invite.
    #[uniffi::method(default(valid_for_secs = 604800, share_history = false))]
    pub fn create(
        &self,
        space_id: String,
        valid_for_secs: u64,
        share_history: bool,
    ) -> Result<Invite> {
        let space = parse_space(&space_id)?;
        let i = with(&self.inner, |v| {
            v.create_invite_with(&space, valid_for_secs, share_history)
        })?;
        Ok(Invite {
            id: i.id.to_hex(),
            space_id: i.space.to_hex(),
            code: i.code,
            expires: i.expires,
        })
    }

    /// Revokes an open invite (any admin of the space). Throws `InviteSpent` if it already admitted
    /// someone.
    pub fn revoke(&self, space_id: String, invite_id: String) -> Result<()> {
        let space = parse_space(&space_id)?;
        let invite = self::invite_id(&invite_id)?;
        with(&self.inner, |v| v.revoke_invite(&space, &invite))
    }

    /// Every invite of a space, as its log records it.
    pub fn list(&self, space_id: String) -> Result<Vec<InviteState>> {
        use sebaya_core::InviteStatus as S;
        let space = parse_space(&space_id)?;
        with(&self.inner, |v| {
            Ok(v.space_membership(&space)?
                .invites
                .iter()
                .map(|(id, i)| {
                    let (status, admitted) = match i.status {
                        S::Open => (InviteStatus::Open, None),
                        S::Spent(d) => (InviteStatus::Spent, Some(d.to_hex())),
                        S::Revoked => (InviteStatus::Revoked, None),
                    };
                    InviteState {
                        id: hex::encode(id),
                        author: i.author.to_hex(),
                        expires: i.expires,
                        status,
                        admitted,
                    }
                })
                .collect())
        })
    }

    /// On the joining device: asks to join with an invite code, giving a name the admin will
    /// recognise. The request leaves at the next sync; the space arrives at a sync after an admin
    /// approves. Throws `InviteExpired` for an expired code, `BadInvite` for a damaged one.
    pub fn accept(&self, code: String, name: String) -> Result<PendingJoin> {
        let code = zeroize::Zeroizing::new(code);
        Ok(with(&self.inner, |v| v.accept_invite(&code, &name))?.into())
    }

    /// Joins this device asked for and has not received yet (or that were refused).
    pub fn pending_joins(&self) -> Result<Vec<PendingJoin>> {
        with(&self.inner, |v| {
            Ok(v.pending_joins()?.into_iter().map(Into::into).collect())
        })
    }

    /// Forgets a join this device asked for.
    pub fn cancel_join(&self, space_id: String) -> Result<()> {
        let space = parse_space(&space_id)?;
        with(&self.inner, |v| v.cancel_join(&space))
    }

    /// Join requests for this device's invites, waiting for a decision.
    pub fn join_requests(&self) -> Result<Vec<JoinRequest>> {
        with(&self.inner, |v| {
            Ok(v.join_requests()?
                .into_iter()
                .map(|r| JoinRequest {
                    id: r.id,
                    space_id: r.space.to_hex(),
                    invite_id: r.invite.to_hex(),
                    device_id: r.device.to_hex(),
                    person_id: r.person.map(hex::encode),
                    name: r.name,
                    time: r.time,
                })
                .collect())
        })
    }

    /// Admits the device that sent a join request (sync afterwards to send the answer). Returns its
    /// device id. Throws `InviteSpent` when the invite already admitted someone, `InviteExpired` or
    /// `InviteRevoked` as their names say; nothing changes then.
    pub fn approve_join_request(&self, request_id: String) -> Result<String> {
        with(&self.inner, |v| {
            Ok(v.approve_join_request(&request_id)?.to_hex())
        })
    }

    /// Declines a join request: it is forgotten, the invite stays open.
    pub fn decline_join_request(&self, request_id: String) -> Result<()> {
        with(&self.inner, |v| v.decline_join_request(&request_id))
    }
}
