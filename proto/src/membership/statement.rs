//! A membership statement: its id, the roles and operations it may carry, its canonical encoding and
//! the structural checks every holder applies before signing or after parsing (protocol section 15.3).

use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};

use crate::envelope::{DeviceId, SpaceId};
use crate::error::ProtoError;

use super::signed::signing_input;
use super::*;

/// SHA-256 of a signed statement (statement bytes ‖ signature): its name in parent lists and heads.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatementId(pub [u8; 32]);

impl StatementId {
    /// Reads the id from a slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ProtoError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ProtoError::Malformed("StatementId has the wrong length"))?;
        Ok(Self(arr))
    }

    /// Parses the lowercase hex form used in logs and test vectors.
    pub fn from_hex(text: &str) -> Result<Self, ProtoError> {
        let bytes =
            hex::decode(text).map_err(|_| ProtoError::Malformed("StatementId is not hex"))?;
        Self::from_slice(&bytes)
    }

    /// Lowercase hex, the one textual form of ids.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for StatementId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StatementId({})", self.to_hex())
    }
}

/// A device's role in one space. Only admins sign statements that count; members read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May sign membership statements (add, remove, change roles), and read and write.
    Admin,
    /// May read and write the space's documents.
    Member,
}

/// What a statement does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Creates the space's log and makes its author the first admin. Exactly one per space, with no
    /// parents; `admin` must equal the statement's author, so nobody can found a log for someone else.
    Genesis {
        /// The first admin: the author.
        admin: DeviceId,
        /// The admin device's X25519 key, so other admins can wrap rotated keys for it.
        x25519: Option<[u8; 32]>,
    },
    /// Makes a device a member. Changes nothing for a device that is already a member (roles change
    /// only by [`Op::SetRole`], so every lowering of a role is a revocation the rule can see).
    Add {
        /// The device added.
        device: DeviceId,
        /// Its role.
        role: Role,
        /// The person the device belongs to (their root key), when the adder knows it, so devices of
        /// one person can be shown together.
        person: Option<[u8; 32]>,
        /// The device's X25519 key, so any admin can wrap a rotated space key for it.
        x25519: Option<[u8; 32]>,
    },
    /// Removes a device. Envelopes it sealed up to `last_seq` stay acceptable (they were written while
    /// it was a member); anything later is refused by the relay, peers and carriers.
    Remove {
        /// The device removed.
        device: DeviceId,
        /// The removed device's last accepted sequence number in this space, as the remover knows it.
        last_seq: u64,
    },
    /// Changes a current member's role. `SetRole(d, Member)` is a demotion: a revocation, like a removal.
    SetRole {
        /// The member whose role changes.
        device: DeviceId,
        /// Its new role.
        role: Role,
        /// On a demotion, the demoted device's last sequence number in this space still judged as an
        /// admin's, as the demoter knows it (section 15.10): its envelopes up to it count as written
        /// by an admin on every device, later ones as a member's, whatever the device claims or
        /// the order devices learn of it. `None` (a statement from before protocol 15.10, or a
        /// promotion): 0 for a demotion.
        last_seq: Option<u64>,
    },
    /// Starts a new epoch. `commit` = HKDF-SHA256(new key, info `"sebaya/v1/key-commit"`), so a
    /// wrapped key can be checked against the statement; the epoch id is this statement's id. The key
    /// itself travels in a key-wraps envelope from the same author.
    Rotate {
        /// Commitment to the new epoch key.
        commit: [u8; 32],
    },
    /// Opens an invite (section 18): `invite` is the id derived from the one-time secret in the code
    /// the admin shows. Only its author's `Admit` may spend it, once, and only while `time <=
    /// expires`.
    Invite {
        /// The invite id.
        invite: [u8; 16],
        /// Unix seconds after which the invite admits nobody.
        expires: u64,
        /// SHA-256 of the invite's request token (HKDF of the secret, section 18.3): the relay takes
        /// join requests only with the token, so someone who reads the invite id in the log cannot
        /// fill its mailbox. `None`: any request under the id is kept.
        gate: Option<[u8; 32]>,
    },
    /// Revokes an open invite. An `Admit` concurrent with a standing revocation of its invite does not
    /// count: revocation wins.
    Uninvite {
        /// The invite id.
        invite: [u8; 16],
    },
    /// A person's new device joins a space where that person already has a device (section 20.1):
    /// signed by the new device itself, carrying its device certificate from the person (the fields of
    /// [`crate::DeviceCertificate`] with `device` = the statement's author, and the person's signature).
    /// Counts when, at that point, a current member belongs to the same person and the device was
    /// never removed; the device gets the highest role of that person's devices. This is how linking a
    /// device and recovering from the phrase reach every space of the person.
    Vouch {
        /// The person (root key) that certified the device.
        person: [u8; 32],
        /// The device's X25519 key, as certified.
        x25519: [u8; 32],
        /// The certificate's `created` field.
        created: u64,
        /// The person's signature over the certificate.
        signature: [u8; 64],
    },
    /// Removes a device on its person's word: the fields of a [`crate::DeviceRevocation`] signed by the
    /// person key. Any current member may carry it into a space; it counts when the log says the device
    /// belongs to that person, and no concurrent statement can set it aside (its authority is the
    /// person's key, which a stolen linked device does not hold). A lost phone is revoked this way
    /// from every space it was in, including groups where its person is a plain member.
    RevokeDevice {
        /// The device revoked.
        device: DeviceId,
        /// The person whose key signed the revocation.
        person: [u8; 32],
        /// The revocation's `time` field.
        time: u64,
        /// The person's signature over the revocation.
        signature: [u8; 64],
        /// The revoked device's last accepted sequence number in this space, as the carrier knows it.
        last_seq: u64,
    },
    /// A person hands over to a new person key (after replacing the recovery phrase): signed by the
    /// OLD person key over [`SUCCESSION_LABEL`] ‖ old ‖ new, carried by any member. Every device the
    /// log records as the old person's now belongs to the new one, so the old phrase vouches for
    /// nothing here any more. Its authority is the old person key, which a stolen linked device lacks.
    Succession {
        /// The old person.
        old: [u8; 32],
        /// The new person.
        new: [u8; 32],
        /// The old person key's signature.
        signature: [u8; 64],
    },
    /// Records which person a device belongs to where the log does not say yet (a space it created,
    /// or joined without a certificate): signed by that device itself, with its certificate. It never
    /// moves a device from one person to another (that is [`Op::Succession`]'s, on the person's key).
    Recertify {
        /// The device whose person changes.
        device: DeviceId,
        /// The new person.
        person: [u8; 32],
        /// The device's X25519 key, as certified (must equal the one the log holds).
        x25519: [u8; 32],
        /// The certificate's `created` field.
        created: u64,
        /// The new person's signature over the certificate.
        signature: [u8; 64],
    },
    /// Makes a device a member (role member) by spending an open invite: the approval of a join request.
    /// Counts only when signed by the invite's author, no later (by its own `time`) than the invite's
    /// expiry, and while the invite is open; it then spends the invite for everyone.
    Admit {
        /// The device admitted.
        device: DeviceId,
        /// The person the device belongs to, when its join request carried a certificate.
        person: Option<[u8; 32]>,
        /// The device's X25519 key (required: the space key is wrapped for it).
        x25519: [u8; 32],
        /// The invite spent.
        invite: [u8; 16],
    },
    /// A device leaves the space on its own word (section 15.11): signed by the leaving device
    /// itself (`device` must equal the author), carried in the membership envelope numbered
    /// `last_seq`, so its envelopes up to its leave stay and nothing it sends later counts. It
    /// counts when its author is a member in its past, and nothing concurrent sets it aside. The
    /// leaver picks no new key: a remaining admin rotates (`removed_since`).
    Leave {
        /// The device leaving: the author.
        device: DeviceId,
        /// The leaver's last accepted sequence number here: the number of the envelope that
        /// carries this statement.
        last_seq: u64,
    },
    /// A member device ends its own writing here (section 15.11): signed by that device itself
    /// (`device` must equal the author), carried in the membership envelope numbered `last_seq`.
    /// Nobody sets another member's cutoff: in a pairing, the other party's device signs its own
    /// end when it learns of this one, and its writes until then stand. It counts once per device,
    /// while its author is a member and no removal of it stands concurrently; everyone still reads.
    End {
        /// The device whose writing ends: the author.
        device: DeviceId,
        /// The author's last accepted sequence number here: the number of the envelope that
        /// carries this statement.
        last_seq: u64,
    },
}

impl Op {
    /// The device this statement makes an admin, if it grants the role (a genesis, an add as admin,
    /// a promotion): what seniority is counted from, and what the relay's "ever an admin" shortcut
    /// notes. A vouch may make its author an admin too, by its person's role: not a grant.
    pub fn granted_admin(&self) -> Option<DeviceId> {
        match *self {
            Op::Genesis { admin, .. } => Some(admin),
            Op::Add {
                device,
                role: Role::Admin,
                ..
            }
            | Op::SetRole {
                device,
                role: Role::Admin,
                ..
            } => Some(device),
            _ => None,
        }
    }

    /// Whether the statement takes a device's membership or role away (a removal, a demotion, a
    /// person's revocation of its device): what a relay must always let through, so that an admin
    /// can act on a space whatever else is refused.
    pub fn takes_away(&self) -> bool {
        self.revokes().is_some()
    }

    /// The device a revocation takes authority from: a removal, or a demotion to member.
    pub(super) fn revokes(&self) -> Option<DeviceId> {
        match *self {
            Op::Remove { device, .. }
            | Op::RevokeDevice { device, .. }
            | Op::Leave { device, .. } => Some(device),
            Op::SetRole {
                device,
                role: Role::Member,
                ..
            } => Some(device),
            _ => None,
        }
    }

    pub(super) fn is_remove(&self) -> bool {
        matches!(
            self,
            Op::Remove { .. } | Op::RevokeDevice { .. } | Op::Leave { .. }
        )
    }

    /// Whether the statement's authority is its author's own membership, not an admin role nor a
    /// person's key: a leave or an end.
    pub fn by_member(&self) -> bool {
        matches!(self, Op::Leave { .. } | Op::End { .. })
    }
}

/// One membership statement, before signing. Encoded as canonical CBOR (section 15 of
/// `docs/protocol.md`); one statement has exactly one encoding, so it has exactly one id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// Statement format version: [`STATEMENT_VERSION`].
    pub v: u8,
    /// The space this statement governs; a log refuses statements of other spaces.
    pub space: SpaceId,
    /// The statements this one follows (the author's heads when signing): sorted ascending, no
    /// duplicates, at most [`MAX_PARENTS`]. Empty exactly for the genesis.
    pub parents: Vec<StatementId>,
    /// The signing device.
    pub author: DeviceId,
    /// Unix seconds from the author's clock. Advisory only (for display): phones' clocks are wrong,
    /// so no rule depends on it.
    pub time: u64,
    /// What the statement does.
    pub op: Op,
}

// The wire shape: a CBOR map with text keys in this order (serde + ciborium, as in `sync.rs`).
#[derive(Serialize, Deserialize)]
struct WireStatement {
    v: u8,
    #[serde(with = "serde_bytes")]
    space: Vec<u8>,
    parents: Vec<serde_bytes::ByteBuf>,
    #[serde(with = "serde_bytes")]
    author: Vec<u8>,
    time: u64,
    op: WireOp,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireOp {
    Genesis {
        #[serde(with = "serde_bytes")]
        admin: Vec<u8>,
        #[serde(default, with = "serde_bytes", skip_serializing_if = "Option::is_none")]
        x25519: Option<Vec<u8>>,
    },
    Add {
        #[serde(with = "serde_bytes")]
        device: Vec<u8>,
        role: Role,
        #[serde(with = "serde_bytes")]
        person: Option<Vec<u8>>,
        #[serde(default, with = "serde_bytes", skip_serializing_if = "Option::is_none")]
        x25519: Option<Vec<u8>>,
    },
    Remove {
        #[serde(with = "serde_bytes")]
        device: Vec<u8>,
        last_seq: u64,
    },
    SetRole {
        #[serde(with = "serde_bytes")]
        device: Vec<u8>,
        role: Role,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seq: Option<u64>,
    },
    Rotate {
        #[serde(with = "serde_bytes")]
        commit: Vec<u8>,
    },
    Invite {
        #[serde(with = "serde_bytes")]
        invite: Vec<u8>,
        expires: u64,
        #[serde(default, with = "serde_bytes", skip_serializing_if = "Option::is_none")]
        gate: Option<Vec<u8>>,
    },
    Uninvite {
        #[serde(with = "serde_bytes")]
        invite: Vec<u8>,
    },
    Admit {
        #[serde(with = "serde_bytes")]
        device: Vec<u8>,
        #[serde(with = "serde_bytes")]
        person: Option<Vec<u8>>,
        #[serde(with = "serde_bytes")]
        x25519: Vec<u8>,
        #[serde(with = "serde_bytes")]
        invite: Vec<u8>,
    },
    Vouch {
        #[serde(with = "serde_bytes")]
        person: Vec<u8>,
        #[serde(with = "serde_bytes")]
        x25519: Vec<u8>,
        created: u64,
        #[serde(with = "serde_bytes")]
        signature: Vec<u8>,
    },
    RevokeDevice {
        #[serde(with = "serde_bytes")]
        device: Vec<u8>,
        #[serde(with = "serde_bytes")]
        person: Vec<u8>,
        time: u64,
        #[serde(with = "serde_bytes")]
        signature: Vec<u8>,
        last_seq: u64,
    },
    Succession {
        #[serde(with = "serde_bytes")]
        old: Vec<u8>,
        #[serde(with = "serde_bytes")]
        new: Vec<u8>,
        #[serde(with = "serde_bytes")]
        signature: Vec<u8>,
    },
    Recertify {
        #[serde(with = "serde_bytes")]
        device: Vec<u8>,
        #[serde(with = "serde_bytes")]
        person: Vec<u8>,
        #[serde(with = "serde_bytes")]
        x25519: Vec<u8>,
        created: u64,
        #[serde(with = "serde_bytes")]
        signature: Vec<u8>,
    },
    Leave {
        #[serde(with = "serde_bytes")]
        device: Vec<u8>,
        last_seq: u64,
    },
    End {
        #[serde(with = "serde_bytes")]
        device: Vec<u8>,
        last_seq: u64,
    },
}

fn bytes32(b: &[u8], what: &'static str) -> Result<[u8; 32], ProtoError> {
    b.try_into().map_err(|_| ProtoError::Malformed(what))
}

fn signature64(b: &[u8]) -> Result<[u8; 64], ProtoError> {
    b.try_into()
        .map_err(|_| ProtoError::Malformed("certificate signature has the wrong length"))
}

/// Domain label of a person's succession (`Op::Succession`), signed by the old person key.
pub const SUCCESSION_LABEL: &[u8] = b"sebaya/v1/person-succession";

/// The message an old person key signs to hand over to `new`.
pub fn succession_message(old: &[u8; 32], new: &[u8; 32]) -> Vec<u8> {
    let mut m = SUCCESSION_LABEL.to_vec();
    m.extend_from_slice(old);
    m.extend_from_slice(new);
    m
}

fn check_succession(
    old: &[u8; 32],
    new: &[u8; 32],
    signature: &[u8; 64],
) -> Result<(), ProtoError> {
    if old == new || crate::PersonId(*old).is_weak() || crate::PersonId(*new).is_weak() {
        return Err(ProtoError::Malformed(
            "a succession needs two distinct, strong person keys",
        ));
    }
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, old)
        .verify(&succession_message(old, new), signature)
        .map_err(|_| ProtoError::BadSignature)
}

/// Checks a person's device revocation carried in a `revoke_device`.
fn check_revocation(
    person: &[u8; 32],
    device: &DeviceId,
    time: u64,
    signature: &[u8; 64],
) -> Result<(), ProtoError> {
    let rev = crate::DeviceRevocation {
        person: crate::PersonId(*person),
        device: *device,
        time,
    };
    let mut bytes = rev.to_body()?;
    bytes.extend_from_slice(signature);
    crate::SignedDeviceRevocation::from_bytes(&bytes)?.verify()?;
    Ok(())
}

/// Checks a certificate carried in a `vouch` or `recertify`: the person's signature over
/// the certificate body naming `device`, and no small-order key.
fn check_certificate(
    person: &[u8; 32],
    device: &DeviceId,
    x25519: &[u8; 32],
    created: u64,
    signature: &[u8; 64],
) -> Result<(), ProtoError> {
    let cert = crate::DeviceCertificate {
        person: crate::PersonId(*person),
        device: *device,
        x25519: *x25519,
        created,
    };
    let mut bytes = cert.to_body()?;
    bytes.extend_from_slice(signature);
    crate::SignedDeviceCertificate::from_bytes(&bytes)?.verify()?;
    Ok(())
}

fn invite_id(bytes: &[u8]) -> Result<[u8; 16], ProtoError> {
    bytes
        .try_into()
        .map_err(|_| ProtoError::Malformed("invite id has the wrong length"))
}

fn person_id(bytes: Option<Vec<u8>>) -> Result<Option<[u8; 32]>, ProtoError> {
    match bytes {
        None => Ok(None),
        Some(p) => Ok(Some(p.as_slice().try_into().map_err(|_| {
            ProtoError::Malformed("person id has the wrong length")
        })?)),
    }
}

fn x25519_key(bytes: Option<Vec<u8>>) -> Result<Option<[u8; 32]>, ProtoError> {
    match bytes {
        None => Ok(None),
        Some(b) => {
            let k: [u8; 32] = b
                .as_slice()
                .try_into()
                .map_err(|_| ProtoError::Malformed("X25519 key has the wrong length"))?;
            if crate::identity::is_weak_x25519(&k) {
                return Err(ProtoError::Malformed("a small-order X25519 key"));
            }
            Ok(Some(k))
        }
    }
}

fn member_key(bytes: &[u8]) -> Result<DeviceId, ProtoError> {
    let d = DeviceId::from_slice(bytes)?;
    if d.is_weak() {
        return Err(ProtoError::Malformed(
            "a small-order key cannot be a member",
        ));
    }
    Ok(d)
}

impl Statement {
    /// Builds a version-1 statement, sorting and de-duplicating `parents` as the format requires.
    pub fn new(
        space: SpaceId,
        mut parents: Vec<StatementId>,
        author: DeviceId,
        time: u64,
        op: Op,
    ) -> Statement {
        parents.sort_unstable();
        parents.dedup();
        Statement {
            v: STATEMENT_VERSION,
            space,
            parents,
            author,
            time,
            op,
        }
    }

    /// Checks every structural rule: version, parent list (bounded, sorted, unique, empty exactly for
    /// the genesis), no small-order keys, a genesis signed by its own admin.
    pub fn check(&self) -> Result<(), ProtoError> {
        if self.v != STATEMENT_VERSION {
            return Err(ProtoError::Malformed(
                "unsupported membership statement version",
            ));
        }
        if self.parents.len() > MAX_PARENTS {
            return Err(ProtoError::TooLarge {
                what: "statement parents",
                len: self.parents.len() as u64,
                max: MAX_PARENTS as u64,
            });
        }
        if self.parents.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ProtoError::Malformed(
                "parents must be sorted ascending without duplicates",
            ));
        }
        // Signatures under a small-order key verify for any message: refused as Envelope::verify does.
        if self.author.is_weak() {
            return Err(ProtoError::BadSignature);
        }
        match self.op {
            Op::Genesis { admin, .. } => {
                if !self.parents.is_empty() {
                    return Err(ProtoError::Malformed("a genesis has no parents"));
                }
                if admin != self.author {
                    return Err(ProtoError::Malformed(
                        "a genesis must be signed by its admin",
                    ));
                }
            }
            Op::Add { device, .. }
            | Op::Remove { device, .. }
            | Op::SetRole { device, .. }
            | Op::Admit { device, .. } => {
                if self.parents.is_empty() {
                    return Err(ProtoError::Malformed("only a genesis may have no parents"));
                }
                member_key(&device.0)?;
            }
            Op::Rotate { .. } | Op::Invite { .. } | Op::Uninvite { .. } => {
                if self.parents.is_empty() {
                    return Err(ProtoError::Malformed("only a genesis may have no parents"));
                }
            }
            Op::Vouch {
                person,
                x25519,
                created,
                signature,
            } => {
                if self.parents.is_empty() {
                    return Err(ProtoError::Malformed("only a genesis may have no parents"));
                }
                check_certificate(&person, &self.author, &x25519, created, &signature)?;
            }
            Op::RevokeDevice {
                device,
                person,
                time,
                signature,
                ..
            } => {
                if self.parents.is_empty() {
                    return Err(ProtoError::Malformed("only a genesis may have no parents"));
                }
                if device == self.author {
                    // The revoked device would choose its own last sequence number.
                    return Err(ProtoError::Malformed(
                        "a device cannot carry its own revocation",
                    ));
                }
                member_key(&device.0)?;
                check_revocation(&person, &device, time, &signature)?;
            }
            Op::Succession {
                old,
                new,
                signature,
            } => {
                if self.parents.is_empty() {
                    return Err(ProtoError::Malformed("only a genesis may have no parents"));
                }
                check_succession(&old, &new, &signature)?;
            }
            Op::Recertify {
                device,
                person,
                x25519,
                created,
                signature,
            } => {
                if self.parents.is_empty() {
                    return Err(ProtoError::Malformed("only a genesis may have no parents"));
                }
                member_key(&device.0)?;
                check_certificate(&person, &device, &x25519, created, &signature)?;
            }
            Op::Leave { device, .. } => {
                if self.parents.is_empty() {
                    return Err(ProtoError::Malformed("only a genesis may have no parents"));
                }
                if device != self.author {
                    return Err(ProtoError::Malformed(
                        "a device leaves only on its own word",
                    ));
                }
            }
            Op::End { device, .. } => {
                if self.parents.is_empty() {
                    return Err(ProtoError::Malformed("only a genesis may have no parents"));
                }
                if device != self.author {
                    return Err(ProtoError::Malformed("a device ends only its own writing"));
                }
            }
        }
        Ok(())
    }

    fn to_wire(&self) -> WireStatement {
        let op = match self.op {
            Op::Genesis { admin, x25519 } => WireOp::Genesis {
                admin: admin.0.to_vec(),
                x25519: x25519.map(|k| k.to_vec()),
            },
            Op::Add {
                device,
                role,
                person,
                x25519,
            } => WireOp::Add {
                device: device.0.to_vec(),
                role,
                person: person.map(|p| p.to_vec()),
                x25519: x25519.map(|k| k.to_vec()),
            },
            Op::Remove { device, last_seq } => WireOp::Remove {
                device: device.0.to_vec(),
                last_seq,
            },
            Op::SetRole {
                device,
                role,
                last_seq,
            } => WireOp::SetRole {
                device: device.0.to_vec(),
                role,
                last_seq,
            },
            Op::Rotate { commit } => WireOp::Rotate {
                commit: commit.to_vec(),
            },
            Op::Invite {
                invite,
                expires,
                gate,
            } => WireOp::Invite {
                invite: invite.to_vec(),
                expires,
                gate: gate.map(|g| g.to_vec()),
            },
            Op::Uninvite { invite } => WireOp::Uninvite {
                invite: invite.to_vec(),
            },
            Op::Admit {
                device,
                person,
                x25519,
                invite,
            } => WireOp::Admit {
                device: device.0.to_vec(),
                person: person.map(|p| p.to_vec()),
                x25519: x25519.to_vec(),
                invite: invite.to_vec(),
            },
            Op::Vouch {
                person,
                x25519,
                created,
                signature,
            } => WireOp::Vouch {
                person: person.to_vec(),
                x25519: x25519.to_vec(),
                created,
                signature: signature.to_vec(),
            },
            Op::RevokeDevice {
                device,
                person,
                time,
                signature,
                last_seq,
            } => WireOp::RevokeDevice {
                device: device.0.to_vec(),
                person: person.to_vec(),
                time,
                signature: signature.to_vec(),
                last_seq,
            },
            Op::Succession {
                old,
                new,
                signature,
            } => WireOp::Succession {
                old: old.to_vec(),
                new: new.to_vec(),
                signature: signature.to_vec(),
            },
            Op::Recertify {
                device,
                person,
                x25519,
                created,
                signature,
            } => WireOp::Recertify {
                device: device.0.to_vec(),
                person: person.to_vec(),
                x25519: x25519.to_vec(),
                created,
                signature: signature.to_vec(),
            },
            Op::Leave { device, last_seq } => WireOp::Leave {
                device: device.0.to_vec(),
                last_seq,
            },
            Op::End { device, last_seq } => WireOp::End {
                device: device.0.to_vec(),
                last_seq,
            },
        };
        WireStatement {
            v: self.v,
            space: self.space.0.to_vec(),
            parents: self
                .parents
                .iter()
                .map(|p| serde_bytes::ByteBuf::from(p.0.to_vec()))
                .collect(),
            author: self.author.0.to_vec(),
            time: self.time,
            op,
        }
    }

    fn from_wire(w: WireStatement) -> Result<Statement, ProtoError> {
        let op =
            match w.op {
                WireOp::Genesis { admin, x25519 } => Op::Genesis {
                    admin: DeviceId::from_slice(&admin)?,
                    x25519: x25519_key(x25519)?,
                },
                WireOp::Add {
                    device,
                    role,
                    person,
                    x25519,
                } => Op::Add {
                    x25519: x25519_key(x25519)?,
                    device: DeviceId::from_slice(&device)?,
                    role,
                    person: match person {
                        None => None,
                        Some(p) => Some(p.as_slice().try_into().map_err(|_| {
                            ProtoError::Malformed("person id has the wrong length")
                        })?),
                    },
                },
                WireOp::Remove { device, last_seq } => Op::Remove {
                    device: DeviceId::from_slice(&device)?,
                    last_seq,
                },
                WireOp::SetRole {
                    device,
                    role,
                    last_seq,
                } => Op::SetRole {
                    device: DeviceId::from_slice(&device)?,
                    role,
                    last_seq,
                },
                WireOp::Rotate { commit } => Op::Rotate {
                    commit: commit.as_slice().try_into().map_err(|_| {
                        ProtoError::Malformed("key commitment has the wrong length")
                    })?,
                },
                WireOp::Invite {
                    invite,
                    expires,
                    gate,
                } => Op::Invite {
                    invite: invite_id(&invite)?,
                    expires,
                    gate: match gate {
                        None => None,
                        Some(g) => Some(bytes32(&g, "invite gate has the wrong length")?),
                    },
                },
                WireOp::Uninvite { invite } => Op::Uninvite {
                    invite: invite_id(&invite)?,
                },
                WireOp::Admit {
                    device,
                    person,
                    x25519,
                    invite,
                } => Op::Admit {
                    device: DeviceId::from_slice(&device)?,
                    person: person_id(person)?,
                    x25519: x25519_key(Some(x25519))?
                        .ok_or(ProtoError::Malformed("an admit needs an X25519 key"))?,
                    invite: invite_id(&invite)?,
                },
                WireOp::Vouch {
                    person,
                    x25519,
                    created,
                    signature,
                } => Op::Vouch {
                    person: bytes32(&person, "person id has the wrong length")?,
                    x25519: bytes32(&x25519, "X25519 key has the wrong length")?,
                    created,
                    signature: signature64(&signature)?,
                },
                WireOp::RevokeDevice {
                    device,
                    person,
                    time,
                    signature,
                    last_seq,
                } => Op::RevokeDevice {
                    device: DeviceId::from_slice(&device)?,
                    person: bytes32(&person, "person id has the wrong length")?,
                    time,
                    signature: signature64(&signature)?,
                    last_seq,
                },
                WireOp::Succession {
                    old,
                    new,
                    signature,
                } => Op::Succession {
                    old: bytes32(&old, "person id has the wrong length")?,
                    new: bytes32(&new, "person id has the wrong length")?,
                    signature: signature64(&signature)?,
                },
                WireOp::Recertify {
                    device,
                    person,
                    x25519,
                    created,
                    signature,
                } => Op::Recertify {
                    device: DeviceId::from_slice(&device)?,
                    person: bytes32(&person, "person id has the wrong length")?,
                    x25519: bytes32(&x25519, "X25519 key has the wrong length")?,
                    created,
                    signature: signature64(&signature)?,
                },
                WireOp::Leave { device, last_seq } => Op::Leave {
                    device: DeviceId::from_slice(&device)?,
                    last_seq,
                },
                WireOp::End { device, last_seq } => Op::End {
                    device: DeviceId::from_slice(&device)?,
                    last_seq,
                },
            };
        if w.parents.len() > MAX_PARENTS {
            return Err(ProtoError::TooLarge {
                what: "statement parents",
                len: w.parents.len() as u64,
                max: MAX_PARENTS as u64,
            });
        }
        Ok(Statement {
            v: w.v,
            space: SpaceId::from_slice(&w.space)?,
            parents: w
                .parents
                .iter()
                .map(|p| StatementId::from_slice(p))
                .collect::<Result<_, _>>()?,
            author: DeviceId::from_slice(&w.author)?,
            time: w.time,
            op,
        })
    }

    /// The canonical encoding, after [`Statement::check`]. At most [`MAX_STATEMENT_LEN`] bytes.
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        self.check()?;
        let mut out = Vec::new();
        ciborium::into_writer(&self.to_wire(), &mut out)
            .map_err(|e| ProtoError::Encode(e.to_string()))?;
        if out.len() > MAX_STATEMENT_LEN {
            return Err(ProtoError::TooLarge {
                what: "membership statement",
                len: out.len() as u64,
                max: MAX_STATEMENT_LEN as u64,
            });
        }
        Ok(out)
    }

    /// Decodes defensively: size first, bounded nesting, every structural rule, and the bytes must be
    /// exactly the canonical encoding of what they decode to (so no statement has two encodings, and
    /// unknown keys, non-shortest integers or indefinite lengths are refused).
    pub fn decode(bytes: &[u8]) -> Result<Statement, ProtoError> {
        if bytes.len() > MAX_STATEMENT_LEN {
            return Err(ProtoError::TooLarge {
                what: "membership statement",
                len: bytes.len() as u64,
                max: MAX_STATEMENT_LEN as u64,
            });
        }
        let wire: WireStatement = ciborium::de::from_reader_with_recursion_limit(bytes, 8)
            .map_err(|e| ProtoError::Decode(e.to_string()))?;
        let statement = Statement::from_wire(wire)?;
        if statement.encode()? != bytes {
            return Err(ProtoError::Malformed(
                "membership statement is not in canonical encoding",
            ));
        }
        Ok(statement)
    }

    /// Encodes and signs. `signer` must be the author's key.
    pub fn sign(&self, signer: &Ed25519KeyPair) -> Result<SignedStatement, ProtoError> {
        if signer.public_key().as_ref() != self.author.0 {
            return Err(ProtoError::Malformed(
                "signer is not the statement's author",
            ));
        }
        let bytes = self.encode()?;
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(signer.sign(&signing_input(&bytes)).as_ref());
        Ok(SignedStatement::assemble(self.clone(), bytes, signature))
    }
}
