//! The membership log of a shared space: who may read and write it, decided by signed statements.
//!
//! A space's membership is a hash-linked DAG of statements (genesis, add, remove, set role), each signed
//! by an admin device and naming the statements it follows as its parents. Every device and the relay
//! verify the log themselves and compute the same [`MembershipState`] from the same *set* of
//! statements, whatever order they arrived in, so an old statement or an old access list replayed by
//! anyone changes nothing. Statements travel in envelopes of kind [`Kind::Membership`], signed and not
//! sealed, so the relay can read them and refuse a device that is not a member.
//!
//! The rule for concurrent statements is *revocation wins*: a removal (or demotion) beats a concurrent
//! add (or promotion) of the same device, and it cancels whatever the revoked admin signed concurrently
//! with it, so a removed admin cannot act by naming old parents. Two admins who revoke each other
//! concurrently both lose their role. Normative text: `docs/protocol.md`, section 15.
//!
//! Pure computation, no I/O; safe to use from any thread.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::envelope::{DeviceId, Envelope, EpochId, HeaderV1, Kind, SpaceId};
use crate::error::ProtoError;

/// Domain label of statement signatures, so that no envelope or request signature can ever be taken
/// for a membership statement, nor the reverse.
pub const MEMBERSHIP_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/membership";
/// The statement format this build writes and reads.
pub const STATEMENT_VERSION: u8 = 1;
/// Largest encoded statement (checked before decoding), so a statement never costs a reader much.
pub const MAX_STATEMENT_LEN: usize = 4096;
/// Most parents one statement may name. A writer names the current heads; more than this means a
/// broken or hostile writer.
pub const MAX_PARENTS: usize = 64;
/// Length of an Ed25519 signature, the fixed tail of a signed statement's bytes.
pub const SIGNATURE_LEN: usize = 64;
/// Most statements (applied and pending) one log holds. Bounds memory (each statement keeps a set of
/// its ancestors) and, above all, time: every insert re-evaluates the whole log, so building a log
/// statement by statement (a relay rebuilding it, a device opening its vault) costs up to the cube of
/// its size in hostile shapes (a chain of admins revoking each other, one person's devices vouching
/// one after the other). Measured in release (`proto/tests/membership_cost.rs`): the worst shape takes about
/// 1.7 s to build at 512 statements, 9.5 s at 1,024 and over a minute at 2,048. A support group of
/// 50 writes about 250 statements, a programme's report space about 300 a year. A stop-gap until the
/// evaluation is incremental (`docs/threat-model.md`).
pub const MAX_STATEMENTS: usize = 512;
/// Most new statements of one space that one step of an exchange takes on: the relay judges at most
/// this many per space per sync request (the rest are refused, `too-many-statements`) and serves at
/// most this many per space per page; a device judges at most this many per space per
/// `Space::receive` call (the rest wait for the next). Each costs an evaluation of the whole log
/// (at most about 10 ms at [`MAX_STATEMENTS`] in the worst shape measured), so one space's flood
/// holds the relay's write gate for well under a second and leaves the request's other spaces alone.
pub const MAX_NEW_STATEMENTS_PER_SPACE: usize = 16;
/// Most new statements one sync request has judged across all its spaces: a request naming many
/// spaces whose logs are full cannot hold the relay's write gate for long either (32 evaluations,
/// about a third of a second at worst). The rest are refused, `too-many-statements`.
pub const MAX_NEW_STATEMENTS_PER_REQUEST: usize = 32;
/// Most statements one log keeps waiting for missing parents, so statements whose parents never come
/// cannot fill memory.
pub const MAX_PENDING: usize = 1024;

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
    /// A person's new device joins a space where that person already has a device (section 15.10):
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
}

impl Op {
    /// The device a revocation takes authority from: a removal, or a demotion to member.
    fn revokes(&self) -> Option<DeviceId> {
        match *self {
            Op::Remove { device, .. } | Op::RevokeDevice { device, .. } => Some(device),
            Op::SetRole {
                device,
                role: Role::Member,
            } => Some(device),
            _ => None,
        }
    }

    fn is_remove(&self) -> bool {
        matches!(self, Op::Remove { .. } | Op::RevokeDevice { .. })
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
            Op::SetRole { device, role } => WireOp::SetRole {
                device: device.0.to_vec(),
                role,
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
                WireOp::SetRole { device, role } => Op::SetRole {
                    device: DeviceId::from_slice(&device)?,
                    role,
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

fn signing_input(statement_bytes: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(MEMBERSHIP_SIGNATURE_LABEL.len() + statement_bytes.len());
    msg.extend_from_slice(MEMBERSHIP_SIGNATURE_LABEL);
    msg.extend_from_slice(statement_bytes);
    msg
}

/// A statement with its author's signature. Every value of this type was checked: it can only be made
/// by signing ([`Statement::sign`]) or by parsing bytes whose structure, encoding and signature verify.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedStatement {
    statement: Statement,
    statement_bytes: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
    id: StatementId,
}

impl std::fmt::Debug for SignedStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedStatement")
            .field("id", &self.id)
            .field("statement", &self.statement)
            .finish()
    }
}

impl SignedStatement {
    fn assemble(
        statement: Statement,
        statement_bytes: Vec<u8>,
        signature: [u8; SIGNATURE_LEN],
    ) -> SignedStatement {
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        h.update(&statement_bytes);
        h.update(&signature);
        let mut id = [0u8; 32];
        id.copy_from_slice(h.finish().as_ref());
        SignedStatement {
            statement,
            statement_bytes,
            signature,
            id: StatementId(id),
        }
    }

    /// Parses statement bytes and their signature: decodes defensively ([`Statement::decode`]) and
    /// verifies the Ed25519 signature by the statement's author over
    /// `"sebaya/v1/membership" ‖ statement_bytes`.
    pub fn from_parts(
        statement_bytes: &[u8],
        signature: [u8; SIGNATURE_LEN],
    ) -> Result<SignedStatement, ProtoError> {
        let statement = Statement::decode(statement_bytes)?;
        let s = SignedStatement::assemble(statement, statement_bytes.to_vec(), signature);
        s.verify()?;
        Ok(s)
    }

    /// Parses the wire form `statement bytes ‖ 64-byte signature` (the payload of a membership
    /// envelope); checks as [`SignedStatement::from_parts`].
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedStatement, ProtoError> {
        if bytes.len() > MAX_STATEMENT_LEN + SIGNATURE_LEN {
            return Err(ProtoError::TooLarge {
                what: "signed membership statement",
                len: bytes.len() as u64,
                max: (MAX_STATEMENT_LEN + SIGNATURE_LEN) as u64,
            });
        }
        if bytes.len() <= SIGNATURE_LEN {
            return Err(ProtoError::Truncated {
                needed: SIGNATURE_LEN + 1,
                had: bytes.len(),
            });
        }
        let (body, sig) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(sig);
        SignedStatement::from_parts(body, signature)
    }

    /// The wire form: statement bytes ‖ signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.statement_bytes.len() + SIGNATURE_LEN);
        out.extend_from_slice(&self.statement_bytes);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Verifies structure and signature again (they were verified when this value was made).
    pub fn verify(&self) -> Result<(), ProtoError> {
        self.statement.check()?;
        UnparsedPublicKey::new(&ED25519, &self.statement.author.0)
            .verify(&signing_input(&self.statement_bytes), &self.signature)
            .map_err(|_| ProtoError::BadSignature)
    }

    /// The decoded statement.
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The exact signed bytes.
    pub fn statement_bytes(&self) -> &[u8] {
        &self.statement_bytes
    }

    /// The author's Ed25519 signature.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// SHA-256(statement bytes ‖ signature): the name other statements use as a parent.
    pub fn id(&self) -> StatementId {
        self.id
    }

    /// Carries the statement in a v1 envelope of kind [`Kind::Membership`]: payload = the wire form,
    /// epoch id = 32 zero bytes (membership is not sealed under any epoch), nonce salt = 4 zero bytes
    /// (nothing is encrypted), envelope signed by the same author (`signer`). `space` is the space the
    /// caller means to write to; it must be the statement's own. `seq` is the author's next sequence
    /// number in that space, shared with its other envelopes there.
    pub fn to_envelope(
        &self,
        space: SpaceId,
        seq: u64,
        signer: &Ed25519KeyPair,
    ) -> Result<Envelope, ProtoError> {
        if space != self.statement.space {
            return Err(ProtoError::Malformed("statement is for another space"));
        }
        let header = HeaderV1 {
            kind: Kind::Membership,
            space,
            epoch: EpochId([0u8; 32]),
            author: self.statement.author,
            seq,
        };
        // The key is unused for a kind that is not sealed.
        Envelope::seal_v1(header, &[0u8; 32], [0u8; 4], &self.to_bytes(), signer)
    }

    /// Reads a statement out of a membership envelope: v1, kind membership, zero epoch id, envelope
    /// signature valid, statement valid, and the envelope's author and space equal the statement's (so
    /// nobody can pass off another device's statement as their own envelope, or move it to another
    /// space).
    pub fn from_envelope(envelope: &Envelope) -> Result<SignedStatement, ProtoError> {
        let header = envelope.header()?;
        if header.kind != Kind::Membership {
            return Err(ProtoError::Malformed("not a membership envelope"));
        }
        if header.epoch.0 != [0u8; 32] {
            return Err(ProtoError::Malformed(
                "a membership envelope's epoch id is zero",
            ));
        }
        envelope.verify()?;
        let s = SignedStatement::from_bytes(envelope.payload()?)?;
        if s.statement.author != header.author {
            return Err(ProtoError::Malformed(
                "envelope author is not the statement's author",
            ));
        }
        if s.statement.space != header.space {
            return Err(ProtoError::Malformed(
                "envelope space is not the statement's space",
            ));
        }
        Ok(s)
    }
}

/// Who belongs to a space, computed from its log. The relay and every device consult it before
/// accepting an envelope or handing one out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MembershipState {
    /// Current members and their roles.
    pub members: BTreeMap<DeviceId, Role>,
    /// Removed devices (not re-added since), each with the last sequence number of theirs that is
    /// still accepted.
    pub removed: BTreeMap<DeviceId, u64>,
    /// The person each current member belongs to, where its add named one.
    pub persons: BTreeMap<DeviceId, [u8; 32]>,
    /// Each current member's X25519 key, where its genesis or add named one: what rotated keys are
    /// wrapped for.
    pub x25519: BTreeMap<DeviceId, [u8; 32]>,
    /// Valid rotations in the log's deterministic order; the last is the epoch to write under.
    pub epochs: Vec<EpochInfo>,
    /// Applied statements no other applied statement follows, ascending: the parents of the next
    /// statement a device signs.
    pub heads: Vec<StatementId>,
    /// Every invite opened by a valid `Invite`, by id, with where it stands.
    pub invites: BTreeMap<[u8; 16], InviteInfo>,
    /// The role each removed device held when it was removed: what its envelopes from before the
    /// removal are judged by (a late-carried envelope must meet the same rules everywhere).
    pub removed_roles: BTreeMap<DeviceId, Role>,
    /// The person each removed device belonged to when it was removed: whose programme roles and
    /// training its envelopes from before the removal are judged by.
    pub removed_persons: BTreeMap<DeviceId, [u8; 32]>,
    /// Devices whose person is proven by the person's own signature (a `vouch` or `recertify`
    /// carrying a certificate the person key signed), not merely named by an admin's `add` or
    /// `admit`. Only a proven person's programme roles and standing as a record's subject count.
    pub proven: BTreeSet<DeviceId>,
    /// Each person a counted `succession` moved on from, and the person it moved to: a record that
    /// names the old person (a care record's subject) means the new one.
    pub successors: BTreeMap<[u8; 32], [u8; 32]>,
}

/// An invite as the log sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InviteInfo {
    /// The admin device that opened it: the only one whose `Admit` may spend it.
    pub author: DeviceId,
    /// Unix seconds after which it admits nobody.
    pub expires: u64,
    /// SHA-256 of the request token the relay asks join requests for, if the invite has one.
    pub gate: Option<[u8; 32]>,
    /// Open, spent or revoked.
    pub status: InviteStatus,
}

/// Where an invite stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteStatus {
    /// May still admit one device.
    Open,
    /// Admitted this device; admits nobody else.
    Spent(DeviceId),
    /// Revoked by an admin before anyone was admitted.
    Revoked,
}

/// One epoch started by a valid `Rotate` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochInfo {
    /// The epoch id: the rotation statement's id.
    pub id: crate::EpochId,
    /// The statement's commitment to the epoch key.
    pub commit: [u8; 32],
    /// Who rotated: the only device whose key-wraps for this epoch are accepted.
    pub author: DeviceId,
}

impl MembershipState {
    /// Whether the device is a current member (any role).
    pub fn is_member(&self, device: &DeviceId) -> bool {
        self.members.contains_key(device)
    }

    /// The device's current role, if it is a member.
    pub fn role(&self, device: &DeviceId) -> Option<Role> {
        self.members.get(device).copied()
    }

    /// Whether the device is a current admin (whose new statements may count).
    pub fn is_admin(&self, device: &DeviceId) -> bool {
        self.role(device) == Some(Role::Admin)
    }

    /// The role an envelope's author writes with: its current role, or, for a removed device (whose
    /// envelopes up to its last sequence number still count), the role it had when removed.
    pub fn writing_role(&self, device: &DeviceId) -> Option<Role> {
        self.role(device)
            .or_else(|| self.removed_roles.get(device).copied())
    }

    /// The person an envelope's author writes for: its current person, or, for a removed device, the
    /// person it belonged to when removed.
    pub fn writing_person(&self, device: &DeviceId) -> Option<[u8; 32]> {
        self.persons
            .get(device)
            .or_else(|| self.removed_persons.get(device))
            .copied()
    }

    /// The person `person` is now, following the log's successions (a replaced recovery phrase); the
    /// same person when none moved it. Bounded, so a cycle cannot loop.
    pub fn current_person(&self, person: [u8; 32]) -> [u8; 32] {
        let mut p = person;
        for _ in 0..16 {
            match self.successors.get(&p) {
                Some(next) if *next != p => p = *next,
                _ => break,
            }
        }
        p
    }

    /// [`MembershipState::writing_person`], where the person signed for the device (see `proven`).
    pub fn proven_person(&self, device: &DeviceId) -> Option<[u8; 32]> {
        if self.proven.contains(device) {
            self.writing_person(device)
        } else {
            None
        }
    }

    /// Whether an envelope by `device` with sequence number `seq` is acceptable: the device is a
    /// member, or it was removed and `seq` is at most its recorded last sequence number (what it
    /// sealed before its removal still counts; nothing after).
    pub fn may_write(&self, device: &DeviceId, seq: u64) -> bool {
        self.is_member(device) || self.removed.get(device).is_some_and(|last| seq <= *last)
    }

    /// Whether the device may be given the space's envelopes: current members only.
    pub fn may_read(&self, device: &DeviceId) -> bool {
        self.is_member(device)
    }

    /// Whether some current member device belongs to `person`.
    pub fn has_person(&self, person: &[u8; 32]) -> bool {
        self.persons
            .iter()
            .any(|(d, p)| p == person && self.is_member(d))
    }

    /// Whether an invite is open and, by the clock reading `now` (Unix seconds), not expired.
    pub fn invite_open(&self, invite: &[u8; 16], now: u64) -> bool {
        self.invites
            .get(invite)
            .is_some_and(|i| i.status == InviteStatus::Open && now <= i.expires)
    }
}

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

/// A set of statement indices, one bit each.
#[derive(Clone, Debug, Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn has(&self, i: usize) -> bool {
        self.0
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    fn set(&mut self, i: usize) {
        if self.0.len() <= i / 64 {
            self.0.resize(i / 64 + 1, 0);
        }
        self.0[i / 64] |= 1u64 << (i % 64);
    }

    fn union(&mut self, other: &Bits) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= *b;
        }
    }

    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn all(n: usize) -> Bits {
        let mut b = Bits(vec![u64::MAX; n.div_ceil(64)]);
        if n % 64 != 0 {
            if let Some(last) = b.0.last_mut() {
                *last = (1u64 << (n % 64)) - 1;
            }
        }
        b
    }
}

#[derive(Clone, Debug)]
struct Node {
    statement: SignedStatement,
    parents: Vec<usize>,
    children: Vec<usize>,
    /// Indices of every ancestor (strict causal past).
    past: Bits,
    /// Whether the author is an admin in the state of exactly its causal past (genesis: true). Fixed
    /// once computed: the past of a statement never changes.
    authorised: bool,
}

#[derive(Clone, Debug, Default)]
struct Evaluation {
    state: MembershipState,
    /// Indexed like `nodes`; false for statements outside the evaluated set.
    valid: Vec<bool>,
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
    space: SpaceId,
    nodes: Vec<Node>,
    index: HashMap<StatementId, usize>,
    pending: BTreeMap<StatementId, SignedStatement>,
    /// Missing parent → pending statements waiting for it.
    waiting: HashMap<StatementId, Vec<StatementId>>,
    genesis: Option<StatementId>,
    current: Evaluation,
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
        let id = statement.id();
        if self.index.contains_key(&id) || self.pending.contains_key(&id) {
            return Ok(Inserted::Duplicate);
        }
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
        let missing: Vec<StatementId> = s
            .parents
            .iter()
            .filter(|p| !self.index.contains_key(*p))
            .copied()
            .collect();
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
        self.current = self.evaluate(&Bits::all(self.nodes.len()));
        Ok(Inserted::Applied { released })
    }

    /// Stores a statement whose parents are all held and computes its fixed facts.
    fn apply(&mut self, statement: SignedStatement) {
        let idx = self.nodes.len();
        let id = statement.id();
        let s = statement.statement();
        let parents: Vec<usize> = s
            .parents
            .iter()
            .filter_map(|p| self.index.get(p).copied())
            .collect();
        let mut past = Bits::default();
        for &p in &parents {
            past.union(&self.nodes[p].past);
            past.set(p);
        }
        let authorised = match s.op {
            Op::Genesis { .. } => true,
            // A vouch needs a device of the same person in its past; a recertify, a member author.
            Op::Vouch { person, .. } => self.evaluate(&past).state.has_person(&person),
            Op::Recertify { .. } => self.evaluate(&past).state.is_member(&s.author),
            Op::Succession { old, .. } => {
                let st = self.evaluate(&past).state;
                st.is_member(&s.author) && st.has_person(&old)
            }
            // A person's revocation of its device: carried by a member, about a device the log says
            // is that person's.
            Op::RevokeDevice { device, person, .. } => {
                let st = self.evaluate(&past).state;
                st.is_member(&s.author) && st.persons.get(&device) == Some(&person)
            }
            _ => self.evaluate(&past).state.is_admin(&s.author),
        };
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
            authorised,
        });
        self.index.insert(id, idx);
    }

    /// Whether `a` and `b` are concurrent: distinct, and neither is in the other's causal past.
    fn concurrent(&self, a: usize, b: usize) -> bool {
        a != b && !self.nodes[a].past.has(b) && !self.nodes[b].past.has(a)
    }

    /// The rule of section 15, applied to a set of applied statements closed under parents.
    fn evaluate(&self, set: &Bits) -> Evaluation {
        let n = self.nodes.len();
        let members: Vec<usize> = (0..n).filter(|&i| set.has(i)).collect();
        let op = |i: usize| self.nodes[i].statement.statement().op;
        let author = |i: usize| self.nodes[i].statement.statement().author;

        // 1. Candidate revocations: removals and demotions whose author was an admin in their own past.
        let candidates: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| self.nodes[i].authorised && op(i).revokes().is_some())
            .collect();
        let mut by_target: HashMap<DeviceId, Vec<usize>> = HashMap::new();
        for &r in &candidates {
            if let Some(t) = op(r).revokes() {
                by_target.entry(t).or_default().push(r);
            }
        }
        // Seniority among admins: how deep in the log the statement that first made each device an
        // admin sits (the genesis admin is the most senior), ties by device id. A device cannot change
        // its own seniority: its grant is someone else's statement.
        let mut seniority: HashMap<DeviceId, (usize, DeviceId)> = HashMap::new();
        for &i in &members {
            if !(self.nodes[i].authorised || matches!(op(i), Op::Genesis { .. })) {
                continue;
            }
            let granted = match op(i) {
                Op::Genesis { admin, .. } => Some(admin),
                Op::Add {
                    device,
                    role: Role::Admin,
                    ..
                }
                | Op::SetRole {
                    device,
                    role: Role::Admin,
                } => Some(device),
                _ => None,
            };
            if let Some(d) = granted {
                let depth = self.nodes[i].past.count();
                let e = seniority.entry(d).or_insert((depth, d));
                if depth < e.0 {
                    *e = (depth, d);
                }
            }
        }
        let more_senior = |a: &DeviceId, b: &DeviceId| -> bool {
            let ra = seniority.get(a).copied().unwrap_or((usize::MAX, *a));
            let rb = seniority.get(b).copied().unwrap_or((usize::MAX, *b));
            ra < rb
        };
        // r' attacks r when r' revokes r's author concurrently with r. When r also revokes r''s
        // author (two admins revoking each other concurrently), only the more senior one's revocation
        // stands: a device removed by its owner cannot retaliate and take the remover with it.
        let attackers: HashMap<usize, Vec<usize>> = candidates
            .iter()
            .filter(|&&r| !matches!(op(r), Op::RevokeDevice { .. }))
            .map(|&r| {
                let target = op(r).revokes();
                let list = by_target
                    .get(&author(r))
                    .map(|rs| {
                        rs.iter()
                            .copied()
                            .filter(|&r2| {
                                self.concurrent(r, r2)
                                    && (Some(author(r2)) != target
                                        || more_senior(&author(r2), &author(r))
                                        // A person's revocation is the person's word, not a
                                        // device's: seniority does not set it aside.
                                        || matches!(op(r2), Op::RevokeDevice { .. }))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (r, list)
            })
            .collect();
        // 2. Grounded labelling: IN when every attacker is OUT, OUT when some attacker is IN. A
        // revocation stands unless it is OUT (undecided cycles: the revocations stand).
        #[derive(Clone, Copy, PartialEq)]
        enum Label {
            Undecided,
            In,
            Out,
        }
        let mut label: HashMap<usize, Label> =
            candidates.iter().map(|&r| (r, Label::Undecided)).collect();
        loop {
            let mut changed = false;
            for &r in &candidates {
                if label.get(&r) != Some(&Label::Undecided) {
                    continue;
                }
                let atk = attackers.get(&r).map(Vec::as_slice).unwrap_or_default();
                let next = if atk.iter().any(|a| label.get(a) == Some(&Label::In)) {
                    Label::Out
                } else if atk.iter().all(|a| label.get(a) == Some(&Label::Out)) {
                    Label::In
                } else {
                    continue;
                };
                label.insert(r, next);
                changed = true;
            }
            if !changed {
                break;
            }
        }
        let mut standing = vec![false; n];
        let mut standing_by_target: HashMap<DeviceId, Vec<usize>> = HashMap::new();
        for &r in &candidates {
            if label.get(&r) == Some(&Label::Out) {
                continue;
            }
            if let Some(t) = op(r).revokes() {
                standing[r] = true;
                standing_by_target.entry(t).or_default().push(r);
            }
        }
        // A standing revocation of `d` concurrent with statement `i` (removals only, or any).
        let revoked_concurrently = |d: &DeviceId, i: usize, removals_only: bool| {
            standing_by_target.get(d).is_some_and(|rs| {
                rs.iter()
                    .any(|&r| (!removals_only || op(r).is_remove()) && self.concurrent(r, i))
            })
        };

        // Every device each person ever had here (adds, admits, vouches, recertifies): a vouch under
        // a person is set aside when a revocation of one of that person's devices, or a succession
        // away from that person, stands concurrently with it (a removed person cannot vouch back in
        // on old parents; an old phrase cannot vouch past its replacement).
        let mut person_devices: HashMap<[u8; 32], Vec<DeviceId>> = HashMap::new();
        for &i in &members {
            let (p, d) = match op(i) {
                Op::Add {
                    device,
                    person: Some(p),
                    ..
                }
                | Op::Admit {
                    device,
                    person: Some(p),
                    ..
                }
                | Op::Recertify {
                    device, person: p, ..
                } => (p, device),
                Op::Vouch { person, .. } => (person, author(i)),
                _ => continue,
            };
            person_devices.entry(p).or_default().push(d);
        }
        let person_set_aside = |p: &[u8; 32], i: usize| {
            person_devices.get(p).is_some_and(|ds| {
                ds.iter().any(|d| {
                    standing_by_target
                        .get(d)
                        .is_some_and(|rs| rs.iter().any(|&r| self.concurrent(r, i)))
                })
            }) || members.iter().any(|&u| {
                self.nodes[u].authorised
                    && matches!(op(u), Op::Succession { old, .. } if old == *p)
                    && self.concurrent(u, i)
            })
        };

        // Revocations of invites by devices that were admins in their own past: an admit concurrent
        // with one of these does not count (revocation wins, as for members).
        let uninvited_concurrently = |invite: &[u8; 16], i: usize| {
            members.iter().any(|&u| {
                self.nodes[u].authorised
                    && matches!(op(u), Op::Uninvite { invite: x } if x == *invite)
                    && self.concurrent(u, i)
            })
        };

        // 3. Linearise: Kahn's algorithm, among ready statements removals first, then smallest id.
        let mut indegree = vec![0usize; n];
        let mut ready = BinaryHeap::new();
        for &i in &members {
            indegree[i] = self.nodes[i].parents.len();
            if indegree[i] == 0 {
                ready.push(Reverse((
                    !op(i).is_remove(),
                    self.nodes[i].statement.id(),
                    i,
                )));
            }
        }

        // 4. Walk.
        let mut state = MembershipState::default();
        let mut valid = vec![false; n];
        // Revocations applied to a device since it last became admin.
        let mut lost: HashMap<DeviceId, Vec<usize>> = HashMap::new();
        while let Some(Reverse((_, _, i))) = ready.pop() {
            for &c in &self.nodes[i].children {
                if set.has(c) {
                    indegree[c] -= 1;
                    if indegree[c] == 0 {
                        ready.push(Reverse((
                            !op(c).is_remove(),
                            self.nodes[c].statement.id(),
                            c,
                        )));
                    }
                }
            }
            let a = author(i);
            let ok = match op(i) {
                Op::Genesis { .. } => true,
                // A person's revocation stands on the person's key alone.
                Op::RevokeDevice { .. } => standing[i],
                o if o.revokes().is_some() => {
                    standing[i]
                        && (state.is_admin(&a)
                            || lost
                                .get(&a)
                                .is_some_and(|rs| rs.iter().all(|&r| self.concurrent(r, i))))
                }
                Op::Vouch { person, .. } => {
                    self.nodes[i].authorised
                        && state.has_person(&person)
                        && !state.is_member(&a)
                        && !state.removed.contains_key(&a)
                        && !revoked_concurrently(&a, i, true)
                        && !person_set_aside(&person, i)
                }
                Op::Recertify {
                    device,
                    x25519,
                    person,
                    ..
                } => {
                    // Claims a device the log names no person for, or proves the person an admin
                    // named for it; never moves a device to another person.
                    self.nodes[i].authorised
                        && device == a
                        && state.is_member(&a)
                        && state
                            .persons
                            .get(&device)
                            .is_none_or(|p| *p == person && !state.proven.contains(&device))
                        && state.x25519.get(&device).is_none_or(|k| *k == x25519)
                        && !revoked_concurrently(&a, i, false)
                }
                Op::Succession { old, .. } => self.nodes[i].authorised && state.has_person(&old),
                Op::Admit { invite, .. } => {
                    self.nodes[i].authorised
                        && state.is_admin(&a)
                        && !revoked_concurrently(&a, i, false)
                        && state.invites.get(&invite).is_some_and(|inv| {
                            inv.status == InviteStatus::Open
                                && inv.author == a
                                && self.nodes[i].statement.statement().time <= inv.expires
                        })
                        && !uninvited_concurrently(&invite, i)
                }
                _ => {
                    self.nodes[i].authorised
                        && state.is_admin(&a)
                        && !revoked_concurrently(&a, i, false)
                }
            };
            if !ok {
                continue;
            }
            valid[i] = true;
            match op(i) {
                Op::Genesis { admin, x25519 } => {
                    state.members.insert(admin, Role::Admin);
                    if let Some(k) = x25519 {
                        state.x25519.insert(admin, k);
                    }
                }
                Op::Add {
                    device,
                    role,
                    person,
                    x25519,
                } => {
                    if state.is_member(&device) || revoked_concurrently(&device, i, true) {
                        continue;
                    }
                    let role = if role == Role::Admin && revoked_concurrently(&device, i, false) {
                        Role::Member
                    } else {
                        role
                    };
                    state.members.insert(device, role);
                    state.removed.remove(&device);
                    state.removed_roles.remove(&device);
                    state.removed_persons.remove(&device);
                    state.proven.remove(&device);
                    if let Some(p) = person {
                        state.persons.insert(device, p);
                    }
                    if let Some(k) = x25519 {
                        state.x25519.insert(device, k);
                    }
                    if role == Role::Admin {
                        lost.remove(&device);
                    }
                }
                Op::Remove { device, last_seq }
                | Op::RevokeDevice {
                    device, last_seq, ..
                } => {
                    if let Some(r) = state.members.remove(&device) {
                        state.removed_roles.insert(device, r);
                    }
                    if let Some(p) = state.persons.remove(&device) {
                        state.removed_persons.insert(device, p);
                    }
                    state.x25519.remove(&device);
                    let entry = state.removed.entry(device).or_insert(last_seq);
                    *entry = (*entry).min(last_seq);
                    lost.entry(device).or_default().push(i);
                }
                Op::SetRole { device, role } => {
                    if !state.is_member(&device) {
                        continue;
                    }
                    match role {
                        Role::Admin => {
                            if !revoked_concurrently(&device, i, false) {
                                state.members.insert(device, Role::Admin);
                                lost.remove(&device);
                            }
                        }
                        Role::Member => {
                            state.members.insert(device, Role::Member);
                            lost.entry(device).or_default().push(i);
                        }
                    }
                }
                Op::Rotate { commit } => {
                    state.epochs.push(EpochInfo {
                        id: crate::EpochId(self.nodes[i].statement.id().0),
                        commit,
                        author: a,
                    });
                }
                Op::Invite {
                    invite,
                    expires,
                    gate,
                } => {
                    state.invites.entry(invite).or_insert(InviteInfo {
                        author: a,
                        expires,
                        gate,
                        status: InviteStatus::Open,
                    });
                }
                Op::Uninvite { invite } => {
                    if let Some(inv) = state.invites.get_mut(&invite) {
                        if inv.status == InviteStatus::Open {
                            inv.status = InviteStatus::Revoked;
                        }
                    }
                }
                Op::Vouch { person, x25519, .. } => {
                    let admin = state
                        .members
                        .iter()
                        .any(|(d, r)| *r == Role::Admin && state.persons.get(d) == Some(&person));
                    let role = if admin && !revoked_concurrently(&a, i, false) {
                        Role::Admin
                    } else {
                        Role::Member
                    };
                    state.members.insert(a, role);
                    state.persons.insert(a, person);
                    state.x25519.insert(a, x25519);
                    state.proven.insert(a);
                }
                Op::Recertify { device, person, .. } => {
                    state.persons.insert(device, person);
                    state.proven.insert(device);
                }
                Op::Succession { old, new, .. } => {
                    for p in state.persons.values_mut() {
                        if *p == old {
                            *p = new;
                        }
                    }
                    state.successors.insert(old, new);
                }
                Op::Admit {
                    device,
                    person,
                    x25519,
                    invite,
                } => {
                    if let Some(inv) = state.invites.get_mut(&invite) {
                        inv.status = InviteStatus::Spent(device);
                    }
                    if state.is_member(&device) || revoked_concurrently(&device, i, true) {
                        continue;
                    }
                    state.members.insert(device, Role::Member);
                    state.removed.remove(&device);
                    state.removed_roles.remove(&device);
                    state.removed_persons.remove(&device);
                    state.proven.remove(&device);
                    if let Some(p) = person {
                        state.persons.insert(device, p);
                    }
                    state.x25519.insert(device, x25519);
                }
            }
        }
        // An invite whose author is no longer an admin admits nobody (only its author may admit
        // with it): it counts as revoked, so the relay stops keeping requests for it.
        for inv in state.invites.values_mut() {
            if inv.status == InviteStatus::Open
                && state.members.get(&inv.author) != Some(&Role::Admin)
            {
                inv.status = InviteStatus::Revoked;
            }
        }
        let mut heads: Vec<StatementId> = members
            .iter()
            .filter(|&&i| !self.nodes[i].children.iter().any(|&c| set.has(c)))
            .map(|&i| self.nodes[i].statement.id())
            .collect();
        heads.sort_unstable();
        state.heads = heads;
        Evaluation { state, valid }
    }

    /// The membership state the held statements determine.
    pub fn state(&self) -> MembershipState {
        self.current.state.clone()
    }

    /// Whether a held, applied statement counts (`Some(true)`), is ignored (`Some(false)`), or is
    /// unknown or still pending (`None`).
    pub fn is_valid(&self, id: &StatementId) -> Option<bool> {
        self.index.get(id).map(|&i| self.current.valid[i])
    }

    /// Where a statement stands, or `None` if it is not held.
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
