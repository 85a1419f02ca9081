//! A signed erasure statement (protocol section 23.2): a member's word that a shared space (a group,
//! a pairing, a care record) is erased for good.
//!
//! The relay deletes a space's ciphertext on an admin's word (section 23), but a device destroys
//! its own copy and keys only on a statement it can check itself: signed by a device, naming the
//! space, that every member's device judges against its own membership log and document (who may
//! erase what is a rule of the space's kind, `sebaya-core`'s `space/rules.rs`). A relay that is wrong
//! or breached can refuse to serve a space, but it cannot make any device destroy one: it cannot sign
//! a statement for a device it does not hold the key of.
//!
//! Wire form: `body ‖ signature`. `body` is a canonical CBOR map `{v, space, author, time}` (the exact
//! bytes the reference encoder writes; anything else is refused, so one statement has one
//! encoding); `signature` is the author device's Ed25519 signature over
//! [`crate::ERASURE_SIGNATURE_LABEL`] ‖ `body`. The space id is inside the signed body, so a
//! statement for one space is never taken for another.

use ring::signature::Ed25519KeyPair;
use serde::{Deserialize, Serialize};

use crate::ERASURE_SIGNATURE_LABEL;
use crate::envelope::{DeviceId, SpaceId};
use crate::error::ProtoError;
use crate::identity::{SIGNATURE_LEN, decode_canonical, encode, sign_body, verify_signature};

/// Version of the erasure statement this build writes and accepts.
pub const ERASURE_V1: u8 = 1;
/// Longest signed erasure statement a reader looks at (a v1 statement is 142 bytes); checked before
/// anything is decoded.
pub const MAX_ERASURE_LEN: usize = 256;

/// What an erasure statement says: `author` erases `space`, at `time` (Unix seconds, from the author's
/// clock: for display only, no rule depends on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Erasure {
    /// The space erased.
    pub space: SpaceId,
    /// The device that erased it, whose key signs the statement.
    pub author: DeviceId,
    /// When, Unix seconds.
    pub time: u64,
}

/// CBOR body. Field order is the canonical key order; do not reorder.
#[derive(Serialize, Deserialize)]
struct Body {
    v: u8,
    #[serde(with = "serde_bytes")]
    space: Vec<u8>,
    #[serde(with = "serde_bytes")]
    author: Vec<u8>,
    time: u64,
}

impl Erasure {
    /// The canonical CBOR body: the bytes the author signs (after the label).
    pub fn to_body(&self) -> Result<Vec<u8>, ProtoError> {
        encode(&Body {
            v: ERASURE_V1,
            space: self.space.0.to_vec(),
            author: self.author.0.to_vec(),
            time: self.time,
        })
    }

    fn from_body(bytes: &[u8]) -> Result<Erasure, ProtoError> {
        let b: Body = decode_canonical(bytes)?;
        if b.v != ERASURE_V1 {
            return Err(ProtoError::UnsupportedVersion(b.v));
        }
        let author = DeviceId::from_slice(&b.author)?;
        if author.is_weak() {
            return Err(ProtoError::Malformed("weak device key"));
        }
        Ok(Erasure {
            space: SpaceId::from_slice(&b.space)?,
            author,
            time: b.time,
        })
    }

    /// Signs the statement with the author device's key (which must be `self.author`).
    pub fn sign(&self, device_key: &Ed25519KeyPair) -> Result<Vec<u8>, ProtoError> {
        let body = self.to_body()?;
        sign_body(
            ERASURE_SIGNATURE_LABEL,
            body,
            &self.author.0,
            device_key,
            "signer is not the statement's author",
        )
    }

    /// Reads a signed statement and checks its signature by its author: `TooLarge` past
    /// [`MAX_ERASURE_LEN`], `Malformed`/`Decode` for anything not in canonical form,
    /// `BadSignature` for a signature that is not the author's over this body. Who the author
    /// is, and whether they may erase the space, is the reader's to judge.
    pub fn verify(bytes: &[u8]) -> Result<Erasure, ProtoError> {
        if bytes.len() > MAX_ERASURE_LEN {
            return Err(ProtoError::TooLarge {
                what: "erasure statement",
                len: bytes.len() as u64,
                max: MAX_ERASURE_LEN as u64,
            });
        }
        let split = bytes
            .len()
            .checked_sub(SIGNATURE_LEN)
            .ok_or(ProtoError::Malformed("erasure statement too short"))?;
        let (body, sig) = bytes.split_at(split);
        let e = Erasure::from_body(body)?;
        verify_signature(ERASURE_SIGNATURE_LABEL, &e.author.0, body, sig)?;
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use ring::signature::KeyPair;

    const VECTOR: &str = "a4617601657370616365500707070707070707070707070707070766617574686f7258208a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c6474696d651a6553f100734321c3e56b4c0cf1850cebdbf3d293b70e61d09dfaff1290d73f6a777ee1f8e5e6d30618c652311afd2a5828af26c8f13fea17c1385a5cbbdece030fef7001";

    fn key(seed: u8) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
    }

    fn statement(seed: u8) -> Erasure {
        let k = key(seed);
        Erasure {
            space: SpaceId([7; 16]),
            author: DeviceId::from_slice(k.public_key().as_ref()).unwrap(),
            time: 1_700_000_000,
        }
    }

    /// The vector in `docs/protocol.md`, section 23.2: the author's seed is 0x01×32.
    #[test]
    fn the_signed_statement_is_stable_and_reads_back() {
        let e = statement(1);
        let signed = e.sign(&key(1)).unwrap();
        assert_eq!(signed.len(), 142);
        assert_eq!(hex::encode(&signed), VECTOR);
        assert_eq!(Erasure::verify(&signed).unwrap(), e);
    }

    #[test]
    fn a_statement_signed_by_another_key_or_altered_is_refused() {
        let e = statement(1);
        assert!(matches!(e.sign(&key(2)), Err(ProtoError::Malformed(_))));
        let mut signed = e.sign(&key(1)).unwrap();
        // Another space in the body: the signature no longer holds (no replay into another space).
        let at = signed.windows(16).position(|w| w == [7u8; 16]).unwrap();
        signed[at] = 8;
        assert!(matches!(
            Erasure::verify(&signed),
            Err(ProtoError::BadSignature)
        ));
        assert!(Erasure::verify(&[0; 10]).is_err());
        assert!(matches!(
            Erasure::verify(&[0; MAX_ERASURE_LEN + 1]),
            Err(ProtoError::TooLarge { .. })
        ));
        // Another statement's signature under this body.
        let mut other = statement(1);
        other.time += 1;
        let a = e.sign(&key(1)).unwrap();
        let b = other.sign(&key(1)).unwrap();
        let mut mixed = a[..a.len() - SIGNATURE_LEN].to_vec();
        mixed.extend_from_slice(&b[b.len() - SIGNATURE_LEN..]);
        assert!(matches!(
            Erasure::verify(&mixed),
            Err(ProtoError::BadSignature)
        ));
    }
}
