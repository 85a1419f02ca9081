//! Bundles (section 24): envelopes carried in a file — an SD card, a message attachment, a phone
//! that travels — when no network joins two devices.
//!
//! A bundle holds, per space, the exporting device's contiguous vector (so the receiver can later
//! export back exactly what the exporter lacks) and whole envelopes, each still sealed and signed by
//! its author: carrying a bundle never needs a key, and the receiver verifies every envelope on its
//! own. The bundle itself is signed by the exporting device, so a damaged or altered file is refused
//! whole before anything is stored.
//!
//! Wire form: `"SBYB1"` ‖ body length (u32, big-endian) ‖ body (canonical CBOR of [`BundleBody`]) ‖
//! Ed25519 signature by `exporter` over `"sebaya/v1/bundle"` ‖ body. The bundle id is SHA-256 of the
//! whole file: what a receiver remembers to refuse a replay.

use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::ProtoError;

/// The first bytes of every bundle file.
pub const BUNDLE_MAGIC: &[u8; 5] = b"SBYB1";
/// Signature label of a bundle.
pub const BUNDLE_LABEL: &[u8] = b"sebaya/v1/bundle";
/// The body's version.
pub const BUNDLE_VERSION: u8 = 1;
/// Largest bundle accepted, in bytes (a low-end phone reads it whole).
pub const MAX_BUNDLE_LEN: usize = 64 * 1024 * 1024;
/// Most spaces in one bundle.
pub const MAX_BUNDLE_SPACES: usize = 1024;

/// One space's part of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleSpace {
    /// The space id (16 bytes).
    pub space: ByteBuf,
    /// The exporter's contiguous vector for the space: (author device id, highest sequence held).
    pub vector: Vec<(ByteBuf, u64)>,
    /// Whole envelopes (membership, key wraps and changes), as the relay would carry them.
    pub envelopes: Vec<ByteBuf>,
}

/// What a bundle says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleBody {
    /// [`BUNDLE_VERSION`].
    pub v: u8,
    /// The exporting device (its Ed25519 public key), which signs the bundle.
    pub exporter: ByteBuf,
    /// When it was made, Unix seconds (the exporter's clock; informative).
    pub created: u64,
    /// The spaces carried.
    pub spaces: Vec<BundleSpace>,
}

/// Seals a bundle: encodes `body` and signs it with the exporter's key.
pub fn seal(body: &BundleBody, key: &Ed25519KeyPair) -> Result<Vec<u8>, ProtoError> {
    let mut cbor = Vec::new();
    ciborium::into_writer(body, &mut cbor).map_err(|e| ProtoError::Encode(e.to_string()))?;
    let len = u32::try_from(cbor.len()).map_err(|_| ProtoError::TooLarge {
        what: "bundle",
        len: cbor.len() as u64,
        max: MAX_BUNDLE_LEN as u64,
    })?;
    let mut signed = BUNDLE_LABEL.to_vec();
    signed.extend_from_slice(&cbor);
    let sig = key.sign(&signed);
    let mut out = Vec::with_capacity(5 + 4 + cbor.len() + 64);
    out.extend_from_slice(BUNDLE_MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&cbor);
    out.extend_from_slice(sig.as_ref());
    if out.len() > MAX_BUNDLE_LEN {
        return Err(ProtoError::TooLarge {
            what: "bundle",
            len: out.len() as u64,
            max: MAX_BUNDLE_LEN as u64,
        });
    }
    Ok(out)
}

/// Opens a bundle: checks the frame, the exporter's signature and the body's shape. Anything
/// truncated, altered, oversized or of another version is refused before anything is used.
pub fn open(bytes: &[u8]) -> Result<BundleBody, ProtoError> {
    if bytes.len() > MAX_BUNDLE_LEN {
        return Err(ProtoError::TooLarge {
            what: "bundle",
            len: bytes.len() as u64,
            max: MAX_BUNDLE_LEN as u64,
        });
    }
    if bytes.len() < 5 + 4 + 64 {
        return Err(ProtoError::Truncated {
            needed: 5 + 4 + 64,
            had: bytes.len(),
        });
    }
    if &bytes[..5] != BUNDLE_MAGIC {
        return Err(ProtoError::BadMagic);
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&bytes[5..9]);
    let len = u32::from_be_bytes(len) as usize;
    if bytes.len() != 9 + len + 64 {
        return Err(ProtoError::LengthMismatch {
            declared: len as u64,
            actual: bytes.len().saturating_sub(9 + 64) as u64,
        });
    }
    let cbor = &bytes[9..9 + len];
    let sig = &bytes[9 + len..];
    let body: BundleBody = ciborium::de::from_reader_with_recursion_limit(cbor, 16)
        .map_err(|e| ProtoError::Decode(e.to_string()))?;
    if body.v != BUNDLE_VERSION {
        return Err(ProtoError::UnsupportedVersion(body.v));
    }
    if body.exporter.len() != 32 {
        return Err(ProtoError::Malformed("bundle exporter is not 32 bytes"));
    }
    // Under a small-order key a signature proves nothing (`R = identity, S = 0` verifies for any
    // body): refused as a bad signature, as an envelope's author key is.
    let mut exporter = [0u8; 32];
    exporter.copy_from_slice(&body.exporter);
    if crate::envelope::DeviceId(exporter).is_weak() {
        return Err(ProtoError::BadSignature);
    }
    if body.spaces.len() > MAX_BUNDLE_SPACES {
        return Err(ProtoError::TooLarge {
            what: "bundle space list",
            len: body.spaces.len() as u64,
            max: MAX_BUNDLE_SPACES as u64,
        });
    }
    if body
        .spaces
        .iter()
        .any(|s| s.space.len() != 16 || s.vector.iter().any(|(a, _)| a.len() != 32))
    {
        return Err(ProtoError::Malformed(
            "bundle space or vector id has the wrong length",
        ));
    }
    let mut signed = BUNDLE_LABEL.to_vec();
    signed.extend_from_slice(cbor);
    UnparsedPublicKey::new(&ED25519, body.exporter.as_slice())
        .verify(&signed, sig)
        .map_err(|_| ProtoError::BadSignature)?;
    Ok(body)
}

/// The bundle id: SHA-256 of the whole file.
pub fn id(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ring::signature::KeyPair;

    fn key(seed: u8) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
    }

    fn body(k: &Ed25519KeyPair) -> BundleBody {
        BundleBody {
            v: BUNDLE_VERSION,
            exporter: ByteBuf::from(k.public_key().as_ref().to_vec()),
            created: 1_767_225_600,
            spaces: vec![BundleSpace {
                space: ByteBuf::from(vec![7u8; 16]),
                vector: vec![(ByteBuf::from(vec![1u8; 32]), 3)],
                envelopes: vec![ByteBuf::from(b"envelope".to_vec())],
            }],
        }
    }

    /// A fixed bundle, byte for byte: the vector in `docs/protocol.md` section 24.
    #[test]
    fn the_vector_is_stable_and_round_trips() {
        let k = key(42);
        let bytes = seal(&body(&k), &k).unwrap();
        assert_eq!(open(&bytes).unwrap(), body(&k));
        assert_eq!(bytes.len(), 5 + 4 + 156 + 64);
        assert_eq!(&bytes[..9], b"SBYB1\x00\x00\x00\x9c");
        assert_eq!(
            hex::encode(id(&bytes)),
            "7c5fb49dfdb9f5cdfe3cded9dc455288eeab11829c35c646735d6c67721adfd5"
        );
    }

    /// Issue 15, item 9: under a small-order exporter key (the identity point) the signature
    /// `R = identity, S = 0` verifies for any body, so anyone could pass off any bundle. Refused.
    #[test]
    fn a_small_order_exporter_key_is_refused() {
        let mut b = body(&key(42));
        let mut identity = [0u8; 32];
        identity[0] = 1;
        b.exporter = ByteBuf::from(identity.to_vec());
        let mut cbor = Vec::new();
        ciborium::into_writer(&b, &mut cbor).unwrap();
        let mut sig = identity.to_vec();
        sig.extend_from_slice(&[0u8; 32]);
        let mut signed = BUNDLE_LABEL.to_vec();
        signed.extend_from_slice(&cbor);
        let mut forged = BUNDLE_MAGIC.to_vec();
        forged.extend_from_slice(&u32::try_from(cbor.len()).unwrap().to_be_bytes());
        forged.extend_from_slice(&cbor);
        forged.extend_from_slice(&sig);
        assert!(
            matches!(open(&forged), Err(ProtoError::BadSignature)),
            "{:?}",
            open(&forged)
        );
    }

    #[test]
    fn every_flipped_bit_truncation_and_forgery_is_refused() {
        let k = key(42);
        let bytes = seal(&body(&k), &k).unwrap();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 1;
            assert!(open(&b).is_err(), "flipped byte {i}");
        }
        for n in 0..bytes.len() {
            assert!(open(&bytes[..n]).is_err(), "truncated to {n}");
        }
        // Signed by another key than the one it names.
        let forged = seal(&body(&k), &key(43)).unwrap();
        assert!(matches!(open(&forged), Err(ProtoError::BadSignature)));
        let mut other = body(&k);
        other.v = 2;
        assert!(matches!(
            open(&seal(&other, &k).unwrap()),
            Err(ProtoError::UnsupportedVersion(2))
        ));
    }
}
