//! The two programme statements, a [`RoleGrant`] and a [`RoleRevocation`]: their fields, their
//! canonical CBOR bodies (one encoding each, anything else refused), the rules a grant obeys on its
//! own, and their signed forms as they travel (`body ‖ signature`), with their ids.
//!
//! Kept apart from the registry because this is the wire format (`docs/protocol.md`, section 19,
//! with its test vectors): what any holder can check without knowing any other statement.

use ring::signature::Ed25519KeyPair;
use serde::{Deserialize, Serialize};

use crate::error::ProtoError;
use crate::identity::{
    PersonId, decode_canonical, encode, sign_body, split_signed_within, verify_signature,
};
use crate::{PROGRAMME_GRANT_SIGNATURE_LABEL, PROGRAMME_REVOKE_SIGNATURE_LABEL};

use super::{
    CLOCK_SKEW, MAX_GRANT_LIFETIME, MAX_PROGRAMME_STATEMENT_LEN, PROGRAMME_V1, ProgrammeRole,
    StatementHash,
};

/// A role grant: "`issuer` gives `person` the role `role` in `programme`, from `issued` until
/// `expires`". Verified with [`SignedRoleGrant`]; whether it counts at a given time is the
/// [`ProgrammeRegistry`](super::ProgrammeRegistry)'s question (chain, revocations, expiry).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RoleGrant {
    /// The programme: the Ed25519 public key of its root key.
    pub programme: [u8; 32],
    /// The person given the role.
    pub person: PersonId,
    /// The role given.
    pub role: ProgrammeRole,
    /// Who signs: the programme key itself, or a coordinator's person id.
    pub issuer: [u8; 32],
    /// From when the grant counts, Unix seconds (the issuer's clock; [`CLOCK_SKEW`] of tolerance).
    pub issued: u64,
    /// Until when the grant counts (inclusive), Unix seconds; after `issued`, at most
    /// [`MAX_GRANT_LIFETIME`] later.
    pub expires: u64,
    /// `None` when the programme key signs; otherwise the id of the grant that made `issuer` a
    /// coordinator of the programme, so a receiver finds the path to the programme key.
    pub chain: Option<StatementHash>,
}

/// A role revocation: "`issuer` withdraws the grant `grant` of `programme`". It counts when `issuer`
/// is the programme key or a coordinator (section 19.5); `time` is informative.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RoleRevocation {
    /// The programme.
    pub programme: [u8; 32],
    /// The id of the revoked grant ([`SignedRoleGrant::id`]).
    pub grant: StatementHash,
    /// Who signs: the programme key, or a person (who must be a coordinator for it to count).
    pub issuer: [u8; 32],
    /// When the revocation was made, Unix seconds (informative: a counting revocation revokes at every
    /// time, so a revoker's wrong clock cannot delay it).
    pub time: u64,
}

/// CBOR body of a grant. Field order is the canonical key order; do not reorder.
#[derive(Serialize, Deserialize)]
struct GrantBody {
    v: u8,
    #[serde(with = "serde_bytes")]
    programme: Vec<u8>,
    #[serde(with = "serde_bytes")]
    person: Vec<u8>,
    role: ProgrammeRole,
    #[serde(with = "serde_bytes")]
    issuer: Vec<u8>,
    issued: u64,
    expires: u64,
    #[serde(with = "serde_bytes")]
    chain: Option<Vec<u8>>,
}

/// CBOR body of a revocation. Field order is the canonical key order; do not reorder.
#[derive(Serialize, Deserialize)]
struct RevokeBody {
    v: u8,
    #[serde(with = "serde_bytes")]
    programme: Vec<u8>,
    #[serde(with = "serde_bytes")]
    grant: Vec<u8>,
    #[serde(with = "serde_bytes")]
    issuer: Vec<u8>,
    time: u64,
}

fn check_version(v: u8) -> Result<(), ProtoError> {
    if v == PROGRAMME_V1 {
        Ok(())
    } else {
        Err(ProtoError::Malformed("unsupported statement version"))
    }
}

fn bytes32(bytes: &[u8], wrong_length: &'static str) -> Result<[u8; 32], ProtoError> {
    bytes
        .try_into()
        .map_err(|_| ProtoError::Malformed(wrong_length))
}

/// A 32-byte Ed25519 key that is not a small-order point (under which a signature proves nothing).
fn strong_key(
    bytes: &[u8],
    wrong_length: &'static str,
    weak: &'static str,
) -> Result<[u8; 32], ProtoError> {
    let key = bytes32(bytes, wrong_length)?;
    if PersonId(key).is_weak() {
        return Err(ProtoError::Malformed(weak));
    }
    Ok(key)
}

/// Splits `body ‖ signature` after bounding the length.
fn split_signed(bytes: &[u8]) -> Result<(&[u8], &[u8]), ProtoError> {
    split_signed_within(
        bytes,
        MAX_PROGRAMME_STATEMENT_LEN,
        "signed programme statement",
    )
}

fn sha256(bytes: &[u8]) -> StatementHash {
    let mut id = [0u8; 32];
    id.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    id
}

impl RoleGrant {
    /// The canonical CBOR body: the bytes the issuer signs (after the label).
    pub fn to_body(&self) -> Result<Vec<u8>, ProtoError> {
        encode(&GrantBody {
            v: PROGRAMME_V1,
            programme: self.programme.to_vec(),
            person: self.person.0.to_vec(),
            role: self.role,
            issuer: self.issuer.to_vec(),
            issued: self.issued,
            expires: self.expires,
            chain: self.chain.map(|c| c.to_vec()),
        })
    }

    /// Reads a body (without signature): canonical form, version 1, 32-byte keys and ids, no weak key,
    /// an issuer that is not the person, a chain exactly when a coordinator issues, a lifetime within
    /// bounds. Checks no signature: use [`SignedRoleGrant::verify`] for anything received.
    pub fn from_body(bytes: &[u8]) -> Result<RoleGrant, ProtoError> {
        let b: GrantBody = decode_canonical(bytes)?;
        check_version(b.v)?;
        let programme = strong_key(
            &b.programme,
            "programme id has the wrong length",
            "weak programme key",
        )?;
        let person = PersonId(strong_key(
            &b.person,
            "PersonId has the wrong length",
            "weak person key",
        )?);
        let issuer = strong_key(
            &b.issuer,
            "issuer key has the wrong length",
            "weak issuer key",
        )?;
        let chain = match &b.chain {
            None => None,
            Some(c) => Some(bytes32(c, "grant id has the wrong length")?),
        };
        let grant = RoleGrant {
            programme,
            person,
            role: b.role,
            issuer,
            issued: b.issued,
            expires: b.expires,
            chain,
        };
        grant.check()?;
        Ok(grant)
    }

    /// The rules a grant obeys on its own, before any registry looks at it.
    fn check(&self) -> Result<(), ProtoError> {
        if self.person.0 == self.issuer {
            return Err(ProtoError::Malformed("nobody grants a role to themselves"));
        }
        if self.person.0 == self.programme {
            return Err(ProtoError::Malformed("the programme key is not a person"));
        }
        match (self.issuer == self.programme, self.chain.is_some()) {
            (true, true) => {
                return Err(ProtoError::Malformed(
                    "a grant by the programme key has no chain",
                ));
            }
            (false, false) => {
                return Err(ProtoError::Malformed(
                    "a grant by a coordinator names its chain",
                ));
            }
            _ => {}
        }
        if self.expires <= self.issued {
            return Err(ProtoError::Malformed("a grant expires after it is issued"));
        }
        if self.expires - self.issued > MAX_GRANT_LIFETIME {
            return Err(ProtoError::Malformed("a grant runs for at most two years"));
        }
        Ok(())
    }

    /// Whether `now` lies in the grant's time window: `issued ≤ now + CLOCK_SKEW` and
    /// `now ≤ expires`. Says nothing of signature, chain or revocation.
    pub fn is_current_at(&self, now: u64) -> bool {
        self.issued <= now.saturating_add(CLOCK_SKEW) && now <= self.expires
    }

    /// Signs the grant with the issuer's key (the programme root key, or the coordinator's person root
    /// key). Refuses a signer that is not `self.issuer`, and a grant a reader would refuse.
    pub fn sign(&self, issuer_key: &Ed25519KeyPair) -> Result<SignedRoleGrant, ProtoError> {
        let body = self.to_body()?;
        RoleGrant::from_body(&body)?;
        let bytes = sign_body(
            PROGRAMME_GRANT_SIGNATURE_LABEL,
            body,
            &self.issuer,
            issuer_key,
            "signer is not the statement's issuer",
        )?;
        Ok(SignedRoleGrant { bytes })
    }
}

impl RoleRevocation {
    /// The canonical CBOR body: the bytes the issuer signs (after the label).
    pub fn to_body(&self) -> Result<Vec<u8>, ProtoError> {
        encode(&RevokeBody {
            v: PROGRAMME_V1,
            programme: self.programme.to_vec(),
            grant: self.grant.to_vec(),
            issuer: self.issuer.to_vec(),
            time: self.time,
        })
    }

    /// Reads a body (without signature): canonical form, version 1, 32-byte fields, no weak key.
    /// Checks no signature.
    pub fn from_body(bytes: &[u8]) -> Result<RoleRevocation, ProtoError> {
        let b: RevokeBody = decode_canonical(bytes)?;
        check_version(b.v)?;
        Ok(RoleRevocation {
            programme: strong_key(
                &b.programme,
                "programme id has the wrong length",
                "weak programme key",
            )?,
            grant: bytes32(&b.grant, "grant id has the wrong length")?,
            issuer: strong_key(
                &b.issuer,
                "issuer key has the wrong length",
                "weak issuer key",
            )?,
            time: b.time,
        })
    }

    /// Signs the revocation with the issuer's key (which must be `self.issuer`).
    pub fn sign(&self, issuer_key: &Ed25519KeyPair) -> Result<SignedRoleRevocation, ProtoError> {
        let body = self.to_body()?;
        RoleRevocation::from_body(&body)?;
        let bytes = sign_body(
            PROGRAMME_REVOKE_SIGNATURE_LABEL,
            body,
            &self.issuer,
            issuer_key,
            "signer is not the statement's issuer",
        )?;
        Ok(SignedRoleRevocation { bytes })
    }
}

/// A role grant as it travels: `body ‖ signature`. Holds the exact bytes; [`Self::verify`] reads the
/// grant out of them only if the issuer's signature holds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedRoleGrant {
    bytes: Vec<u8>,
}

impl SignedRoleGrant {
    /// Takes received bytes, checking only their length (at most [`MAX_PROGRAMME_STATEMENT_LEN`]);
    /// nothing is trusted until [`Self::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtoError> {
        split_signed(bytes)?;
        Ok(SignedRoleGrant {
            bytes: bytes.to_vec(),
        })
    }

    /// The exact bytes, as stored and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Consumes the grant, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The grant id: SHA-256 of the whole signed bytes. What a coordinator's grants name as `chain`
    /// and what revocations name.
    pub fn id(&self) -> StatementHash {
        sha256(&self.bytes)
    }

    /// Checks everything a grant can be checked for on its own and returns it: length bound,
    /// canonical CBOR body, version 1, 32-byte keys, no small-order programme, person or issuer key,
    /// the rules of [`RoleGrant::from_body`], and the issuer's Ed25519 signature over
    /// `"sebaya/v1/programme-grant" ‖ body`. Any altered byte fails.
    pub fn verify(&self) -> Result<RoleGrant, ProtoError> {
        let (body, sig) = split_signed(&self.bytes)?;
        let grant = RoleGrant::from_body(body)?;
        verify_signature(PROGRAMME_GRANT_SIGNATURE_LABEL, &grant.issuer, body, sig)?;
        Ok(grant)
    }
}

/// A role revocation as it travels: `body ‖ signature`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedRoleRevocation {
    bytes: Vec<u8>,
}

impl SignedRoleRevocation {
    /// Takes received bytes, checking only their length; nothing is trusted until [`Self::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtoError> {
        split_signed(bytes)?;
        Ok(SignedRoleRevocation {
            bytes: bytes.to_vec(),
        })
    }

    /// The exact bytes, as stored and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Consumes the revocation, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The revocation id: SHA-256 of the whole signed bytes (so a registry keeps each once).
    pub fn id(&self) -> StatementHash {
        sha256(&self.bytes)
    }

    /// Checks everything (as [`SignedRoleGrant::verify`], under the label
    /// `"sebaya/v1/programme-revoke"`) and returns the revocation.
    pub fn verify(&self) -> Result<RoleRevocation, ProtoError> {
        let (body, sig) = split_signed(&self.bytes)?;
        let rev = RoleRevocation::from_body(body)?;
        verify_signature(PROGRAMME_REVOKE_SIGNATURE_LABEL, &rev.issuer, body, sig)?;
        Ok(rev)
    }
}
