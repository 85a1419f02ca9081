//! Identities on the wire: device certificates and device revocations, both signed by a person's root
//! key.
//!
//! A person is named by the Ed25519 public key of their root key (the [`PersonId`]). Each of their
//! devices has its own Ed25519 signing key (the [`DeviceId`]) and its own X25519 key-agreement key; a
//! [`DeviceCertificate`] binds the three together under the person's signature, so anyone holding the
//! certificate (a peer, a relay, a carrier) can check that a device speaks for a person without any
//! secret. A [`DeviceRevocation`] withdraws that. Both are pure computation, safe on any thread.
//!
//! Wire form of both statements: `body ‖ signature`, where `body` is a canonical CBOR map (the exact
//! bytes the reference encoder writes; anything else is refused, so one statement has one encoding) and
//! `signature` is the 64-byte Ed25519 signature by the person root key over `label ‖ body`. The labels
//! are [`crate::DEVICE_CERT_SIGNATURE_LABEL`] and [`crate::DEVICE_REVOKE_SIGNATURE_LABEL`]. Layout, rules
//! and test vectors: `docs/protocol.md`, section 16.

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::envelope::DeviceId;
use crate::error::ProtoError;
use crate::{DEVICE_CERT_SIGNATURE_LABEL, DEVICE_REVOKE_SIGNATURE_LABEL};

/// Version of the certificate and revocation bodies this build writes and accepts.
pub const IDENTITY_V1: u8 = 1;
/// Largest signed certificate or revocation a reader looks at; checked before anything is decoded.
/// A v1 certificate is at most 208 bytes; the slack leaves room for a later version to be recognised.
pub const MAX_STATEMENT_LEN: usize = 1024;
/// Length of the trailing Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// A person's id: the Ed25519 public key of their root key. It names the person in certificates and
/// (later) in memberships, and it is what every device checks a certificate against.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonId(pub [u8; 32]);

impl PersonId {
    /// Reads the id from a slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ProtoError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ProtoError::Malformed("PersonId has the wrong length"))?;
        Ok(PersonId(arr))
    }

    /// Parses the lowercase (or uppercase) hex form used in logs, the CLI and the bindings.
    pub fn from_hex(text: &str) -> Result<Self, ProtoError> {
        let bytes = hex::decode(text).map_err(|_| ProtoError::Malformed("PersonId is not hex"))?;
        Self::from_slice(&bytes)
    }

    /// Lowercase hex, the one textual form of ids.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether this key is a small-order Ed25519 point, under which a signature proves nothing (the
    /// same check as [`DeviceId::is_weak`]).
    pub fn is_weak(&self) -> bool {
        DeviceId(self.0).is_weak()
    }
}

impl std::fmt::Debug for PersonId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonId({})", self.to_hex())
    }
}

/// The u-coordinates of the X25519 points of small order (bit 255 cleared, as X25519 ignores it),
/// after libsodium's list: 0, 1, two points of order 8, and p − 1, p, p + 1. A key agreement with any
/// of them yields the all-zero secret, so such a key must never be certified as a device's key.
const SMALL_ORDER_X25519: [[u8; 32]; 7] = crate::envelope::small_order_table(
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
);

/// Whether an X25519 public key is one of the small-order points (after clearing bit 255). Such a
/// key would make every key wrap for it readable by anyone; certificates refuse it.
pub fn is_weak_x25519(key: &[u8; 32]) -> bool {
    let mut u = *key;
    u[31] &= 0x7f;
    SMALL_ORDER_X25519.contains(&u)
}

/// A device certificate: the person root key says "this Ed25519 key and this X25519 key are my
/// device's, since `created`". Devices, relays and carriers verify it with [`SignedDeviceCertificate`]
/// and nothing else.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DeviceCertificate {
    /// The person (root key) that certifies the device.
    pub person: PersonId,
    /// The device's Ed25519 key: its id, the key that signs its envelopes and requests.
    pub device: DeviceId,
    /// The device's X25519 public key: space keys are wrapped for it.
    pub x25519: [u8; 32],
    /// When the certificate was made, Unix seconds (the certifier's clock: informative, not checked).
    pub created: u64,
}

/// A device revocation: the person root key says "this device no longer speaks for me, from `time`".
/// What receivers do with it (rotate keys, refuse later envelopes) is the membership layer's business.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DeviceRevocation {
    /// The person (root key) that revokes.
    pub person: PersonId,
    /// The revoked device.
    pub device: DeviceId,
    /// When the revocation was made, Unix seconds.
    pub time: u64,
}

/// CBOR body of a certificate. Field order is the canonical key order; do not reorder.
#[derive(Serialize, Deserialize)]
struct CertBody {
    v: u8,
    #[serde(with = "serde_bytes")]
    person: Vec<u8>,
    #[serde(with = "serde_bytes")]
    device: Vec<u8>,
    #[serde(with = "serde_bytes")]
    x25519: Vec<u8>,
    created: u64,
}

/// CBOR body of a revocation. Field order is the canonical key order; do not reorder.
#[derive(Serialize, Deserialize)]
struct RevokeBody {
    v: u8,
    #[serde(with = "serde_bytes")]
    person: Vec<u8>,
    #[serde(with = "serde_bytes")]
    device: Vec<u8>,
    time: u64,
}

pub(crate) fn encode<T: Serialize>(body: &T) -> Result<Vec<u8>, ProtoError> {
    let mut out = Vec::with_capacity(160);
    ciborium::into_writer(body, &mut out).map_err(|e| ProtoError::Encode(e.to_string()))?;
    Ok(out)
}

/// Decodes a body and insists it is exactly what the encoder writes: no other key order, no unknown or
/// missing key, no longer integer form, no trailing byte. So a statement has one encoding, and the
/// bytes a signature covers are the bytes every reader interprets.
pub(crate) fn decode_canonical<T: Serialize + for<'de> Deserialize<'de>>(
    bytes: &[u8],
) -> Result<T, ProtoError> {
    let body: T = crate::cbor::decode(bytes, 4).map_err(|e| ProtoError::Decode(e.to_string()))?;
    if encode(&body)? != bytes {
        return Err(ProtoError::Malformed("statement is not in canonical form"));
    }
    Ok(body)
}

fn person_and_device(person: &[u8], device: &[u8]) -> Result<(PersonId, DeviceId), ProtoError> {
    let person = PersonId::from_slice(person)?;
    let device = DeviceId::from_slice(device)?;
    if person.is_weak() {
        return Err(ProtoError::Malformed("weak person key"));
    }
    if device.is_weak() {
        return Err(ProtoError::Malformed("weak device key"));
    }
    if person.0 == device.0 {
        return Err(ProtoError::Malformed(
            "a device key must not be the person key",
        ));
    }
    Ok((person, device))
}

fn check_version(v: u8) -> Result<(), ProtoError> {
    if v == IDENTITY_V1 {
        Ok(())
    } else {
        Err(ProtoError::Malformed("unsupported statement version"))
    }
}

/// `label ‖ body`, the message a signed statement's key signs (identity statements here, programme
/// grants and revocations in `programme.rs`).
pub(crate) fn signed_message(label: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(label.len() + body.len());
    m.extend_from_slice(label);
    m.extend_from_slice(body);
    m
}

/// Splits `body ‖ signature` after bounding the length by `max` (`what` names the statement in the
/// error).
pub(crate) fn split_signed_within<'a>(
    bytes: &'a [u8],
    max: usize,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), ProtoError> {
    if bytes.len() > max {
        return Err(ProtoError::TooLarge {
            what,
            len: bytes.len() as u64,
            max: max as u64,
        });
    }
    if bytes.len() <= SIGNATURE_LEN {
        return Err(ProtoError::Truncated {
            needed: SIGNATURE_LEN + 1,
            had: bytes.len(),
        });
    }
    Ok(bytes.split_at(bytes.len() - SIGNATURE_LEN))
}

fn split_signed(bytes: &[u8]) -> Result<(&[u8], &[u8]), ProtoError> {
    split_signed_within(bytes, MAX_STATEMENT_LEN, "signed identity statement")
}

/// Signs `label ‖ body` with `signer`, which must be the key the statement names (`mismatch` is the
/// error otherwise), and returns `body ‖ signature`.
pub(crate) fn sign_body(
    label: &[u8],
    body: Vec<u8>,
    key: &[u8; 32],
    signer: &Ed25519KeyPair,
    mismatch: &'static str,
) -> Result<Vec<u8>, ProtoError> {
    if signer.public_key().as_ref() != key {
        return Err(ProtoError::Malformed(mismatch));
    }
    let sig = signer.sign(&signed_message(label, &body));
    let mut out = body;
    out.extend_from_slice(sig.as_ref());
    Ok(out)
}

/// Verifies `sig` over `label ‖ body` under `key`.
pub(crate) fn verify_signature(
    label: &[u8],
    key: &[u8; 32],
    body: &[u8],
    sig: &[u8],
) -> Result<(), ProtoError> {
    UnparsedPublicKey::new(&ED25519, key)
        .verify(&signed_message(label, body), sig)
        .map_err(|_| ProtoError::BadSignature)
}

impl DeviceCertificate {
    /// The canonical CBOR body: the bytes the person root key signs (after the label).
    pub fn to_body(&self) -> Result<Vec<u8>, ProtoError> {
        encode(&CertBody {
            v: IDENTITY_V1,
            person: self.person.0.to_vec(),
            device: self.device.0.to_vec(),
            x25519: self.x25519.to_vec(),
            created: self.created,
        })
    }

    /// Reads a body (without signature): canonical form, version 1, no weak key. Checks no signature:
    /// use [`SignedDeviceCertificate::verify`] for anything received.
    pub fn from_body(bytes: &[u8]) -> Result<DeviceCertificate, ProtoError> {
        let b: CertBody = decode_canonical(bytes)?;
        check_version(b.v)?;
        let (person, device) = person_and_device(&b.person, &b.device)?;
        let x25519: [u8; 32] = b
            .x25519
            .as_slice()
            .try_into()
            .map_err(|_| ProtoError::Malformed("X25519 key has the wrong length"))?;
        if is_weak_x25519(&x25519) {
            return Err(ProtoError::Malformed("weak X25519 key"));
        }
        Ok(DeviceCertificate {
            person,
            device,
            x25519,
            created: b.created,
        })
    }

    /// Signs the certificate with the person root key. Refuses a signer that is not `self.person`, and
    /// a certificate a reader would refuse (weak keys, device key equal to the person key).
    pub fn sign(&self, person_key: &Ed25519KeyPair) -> Result<SignedDeviceCertificate, ProtoError> {
        let body = self.to_body()?;
        DeviceCertificate::from_body(&body)?;
        let bytes = sign_body(
            DEVICE_CERT_SIGNATURE_LABEL,
            body,
            &self.person.0,
            person_key,
            "signer is not the statement's person",
        )?;
        Ok(SignedDeviceCertificate { bytes })
    }
}

impl DeviceRevocation {
    /// The canonical CBOR body: the bytes the person root key signs (after the label).
    pub fn to_body(&self) -> Result<Vec<u8>, ProtoError> {
        encode(&RevokeBody {
            v: IDENTITY_V1,
            person: self.person.0.to_vec(),
            device: self.device.0.to_vec(),
            time: self.time,
        })
    }

    /// Reads a body (without signature): canonical form, version 1, no weak key. Checks no signature.
    pub fn from_body(bytes: &[u8]) -> Result<DeviceRevocation, ProtoError> {
        let b: RevokeBody = decode_canonical(bytes)?;
        check_version(b.v)?;
        let (person, device) = person_and_device(&b.person, &b.device)?;
        Ok(DeviceRevocation {
            person,
            device,
            time: b.time,
        })
    }

    /// Signs the revocation with the person root key (which must be `self.person`).
    pub fn sign(&self, person_key: &Ed25519KeyPair) -> Result<SignedDeviceRevocation, ProtoError> {
        let body = self.to_body()?;
        DeviceRevocation::from_body(&body)?;
        let bytes = sign_body(
            DEVICE_REVOKE_SIGNATURE_LABEL,
            body,
            &self.person.0,
            person_key,
            "signer is not the statement's person",
        )?;
        Ok(SignedDeviceRevocation { bytes })
    }
}

/// A device certificate as it travels: `body ‖ signature`. Holds the exact bytes; [`Self::verify`]
/// reads the certificate out of them only if the person's signature holds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedDeviceCertificate {
    bytes: Vec<u8>,
}

impl SignedDeviceCertificate {
    /// Takes received bytes, checking only their length (at most [`MAX_STATEMENT_LEN`]); nothing is
    /// trusted until [`Self::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtoError> {
        split_signed(bytes)?;
        Ok(SignedDeviceCertificate {
            bytes: bytes.to_vec(),
        })
    }

    /// The exact bytes, as stored and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The person key's signature (the last 64 bytes), for statements that carry the signed fields
    /// inline (membership `vouch`, `recertify`, `revoke_device`).
    pub fn signature(&self) -> Result<[u8; SIGNATURE_LEN], ProtoError> {
        let (_, sig) = split_signed(&self.bytes)?;
        sig.try_into()
            .map_err(|_| ProtoError::Malformed("signature has the wrong length"))
    }

    /// Consumes the certificate, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Checks everything and returns the certificate: length bound, canonical CBOR body, version 1,
    /// 32-byte keys, no small-order person, device or X25519 key, device key not the person key, and
    /// the person's Ed25519 signature over `"sebaya/v1/device-cert" ‖ body`. Any altered byte fails.
    pub fn verify(&self) -> Result<DeviceCertificate, ProtoError> {
        let (body, sig) = split_signed(&self.bytes)?;
        let cert = DeviceCertificate::from_body(body)?;
        verify_signature(DEVICE_CERT_SIGNATURE_LABEL, &cert.person.0, body, sig)?;
        Ok(cert)
    }
}

/// A device revocation as it travels: `body ‖ signature`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedDeviceRevocation {
    bytes: Vec<u8>,
}

impl SignedDeviceRevocation {
    /// Takes received bytes, checking only their length; nothing is trusted until [`Self::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtoError> {
        split_signed(bytes)?;
        Ok(SignedDeviceRevocation {
            bytes: bytes.to_vec(),
        })
    }

    /// The exact bytes, as stored and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The person key's signature (the last 64 bytes), for statements that carry the signed fields
    /// inline (membership `vouch`, `recertify`, `revoke_device`).
    pub fn signature(&self) -> Result<[u8; SIGNATURE_LEN], ProtoError> {
        let (_, sig) = split_signed(&self.bytes)?;
        sig.try_into()
            .map_err(|_| ProtoError::Malformed("signature has the wrong length"))
    }

    /// Consumes the revocation, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Checks everything (as [`SignedDeviceCertificate::verify`], under the label
    /// `"sebaya/v1/device-revoke"`) and returns the revocation.
    pub fn verify(&self) -> Result<DeviceRevocation, ProtoError> {
        let (body, sig) = split_signed(&self.bytes)?;
        let rev = DeviceRevocation::from_body(body)?;
        verify_signature(DEVICE_REVOKE_SIGNATURE_LABEL, &rev.person.0, body, sig)?;
        Ok(rev)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// The person root seed derived from the all-zero recovery entropy (`docs/protocol.md`, 16.1).
    const PERSON_SEED: [u8; 32] = [
        0x36, 0xd8, 0x51, 0xa6, 0x07, 0x4e, 0xb4, 0x19, 0x67, 0xc4, 0xe8, 0xde, 0x30, 0x84, 0xdc,
        0x54, 0xc5, 0x63, 0xca, 0x6f, 0x2a, 0x1a, 0x61, 0x89, 0x5a, 0x92, 0x76, 0x10, 0x96, 0x81,
        0x0e, 0xb0,
    ];
    const DEVICE_SEED: [u8; 32] = [0x72; 32];
    /// The recipient X25519 public key of the key-wrap vector (secret `92` × 32), `docs/protocol.md`
    /// 16.5.
    const X25519_HEX: &str = "79fcf7f4c04d3277b425449f0d32209342908b4bc3772dfabe315f82034f6e64";
    const CREATED: u64 = 1_767_225_600;

    const CERT_HEX: &str = concat!(
        "a561760166706572736f6e582040f784350b02365be9b9cc5d410b0ff386638f",
        "10cbd14bea40bbdf54169ef20d6664657669636558205b6489c9c7fd0dcf5054",
        "5e7c164886ef40491ec06c7f1b123041797e8117535e66783235353139582079",
        "fcf7f4c04d3277b425449f0d32209342908b4bc3772dfabe315f82034f6e6467",
        "637265617465641a6955b900caec136be7dc18c56969bd07dc8b118c26c964e7",
        "926392d17263b53a4a2dbada659315ee043ba949439ef0a46f3fb76b84e36324",
        "23142fb83eed86d22d7af50a",
    );
    const REVOKE_HEX: &str = concat!(
        "a461760166706572736f6e582040f784350b02365be9b9cc5d410b0ff386638f",
        "10cbd14bea40bbdf54169ef20d6664657669636558205b6489c9c7fd0dcf5054",
        "5e7c164886ef40491ec06c7f1b123041797e8117535e6474696d651a69570a80",
        "9ef878946d9ac2a3c8812bdc9d57d21de0ff37a66a2b4c2fe107584218f12786",
        "b0df198d788b2f6eac231ca2f2af0d8120b7b3b8bfe9145e5de597fdb062b109",
    );

    fn key(seed: &[u8; 32]) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(seed).unwrap()
    }

    fn pub_of(kp: &Ed25519KeyPair) -> [u8; 32] {
        kp.public_key().as_ref().try_into().unwrap()
    }

    fn x25519() -> [u8; 32] {
        hex::decode(X25519_HEX).unwrap().try_into().unwrap()
    }

    fn cert() -> DeviceCertificate {
        DeviceCertificate {
            person: PersonId(pub_of(&key(&PERSON_SEED))),
            device: DeviceId(pub_of(&key(&DEVICE_SEED))),
            x25519: x25519(),
            created: CREATED,
        }
    }

    fn revocation() -> DeviceRevocation {
        DeviceRevocation {
            person: PersonId(pub_of(&key(&PERSON_SEED))),
            device: DeviceId(pub_of(&key(&DEVICE_SEED))),
            time: CREATED + 86_400,
        }
    }

    /// Resigns an arbitrary body with the person key, so tests reach the body checks behind a valid
    /// signature.
    fn resign(body: &[u8], label: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        out.extend_from_slice(
            key(&PERSON_SEED)
                .sign(&signed_message(label, body))
                .as_ref(),
        );
        out
    }

    #[test]
    #[ignore]
    fn print_vectors() {
        let c = cert().sign(&key(&PERSON_SEED)).unwrap();
        println!("person {}", cert().person.to_hex());
        println!("device {}", cert().device.to_hex());
        println!("cert body {}", hex::encode(cert().to_body().unwrap()));
        println!(
            "cert {} ({} bytes)",
            hex::encode(c.as_bytes()),
            c.as_bytes().len()
        );
        let r = revocation().sign(&key(&PERSON_SEED)).unwrap();
        println!(
            "revoke body {}",
            hex::encode(revocation().to_body().unwrap())
        );
        println!(
            "revoke {} ({} bytes)",
            hex::encode(r.as_bytes()),
            r.as_bytes().len()
        );
    }

    #[test]
    fn certificate_vector_is_byte_exact_and_documented() {
        let c = cert().sign(&key(&PERSON_SEED)).unwrap();
        assert_eq!(hex::encode(c.as_bytes()), CERT_HEX);
        let r = revocation().sign(&key(&PERSON_SEED)).unwrap();
        assert_eq!(hex::encode(r.as_bytes()), REVOKE_HEX);
        let doc = include_str!("../../docs/protocol.md").replace(['\n', ' '], "");
        for (name, hexstr) in [("certificate", CERT_HEX), ("revocation", REVOKE_HEX)] {
            assert!(
                doc.contains(hexstr),
                "the {name} vector is not in docs/protocol.md"
            );
        }
    }

    #[test]
    fn round_trip() {
        let c = cert().sign(&key(&PERSON_SEED)).unwrap();
        let again = SignedDeviceCertificate::from_bytes(c.as_bytes()).unwrap();
        assert_eq!(again.verify().unwrap(), cert());
        let r = revocation().sign(&key(&PERSON_SEED)).unwrap();
        let again = SignedDeviceRevocation::from_bytes(r.as_bytes()).unwrap();
        assert_eq!(again.verify().unwrap(), revocation());
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let c = cert().sign(&key(&PERSON_SEED)).unwrap().into_bytes();
        for i in 0..c.len() * 8 {
            let mut b = c.clone();
            b[i / 8] ^= 1 << (i % 8);
            let got = SignedDeviceCertificate::from_bytes(&b).and_then(|s| s.verify());
            assert!(got.is_err(), "bit {i} flipped still verifies");
        }
        let r = revocation().sign(&key(&PERSON_SEED)).unwrap().into_bytes();
        for i in 0..r.len() * 8 {
            let mut b = r.clone();
            b[i / 8] ^= 1 << (i % 8);
            let got = SignedDeviceRevocation::from_bytes(&b).and_then(|s| s.verify());
            assert!(got.is_err(), "bit {i} flipped still verifies");
        }
    }

    #[test]
    fn truncations_and_extensions_are_refused() {
        let c = cert().sign(&key(&PERSON_SEED)).unwrap().into_bytes();
        for n in 0..c.len() {
            let got = SignedDeviceCertificate::from_bytes(&c[..n]).and_then(|s| s.verify());
            assert!(got.is_err(), "prefix of {n} bytes verifies");
        }
        let mut longer = c.clone();
        longer.push(0);
        assert!(
            SignedDeviceCertificate::from_bytes(&longer)
                .and_then(|s| s.verify())
                .is_err()
        );
        let huge = vec![0u8; MAX_STATEMENT_LEN + 1];
        assert!(matches!(
            SignedDeviceCertificate::from_bytes(&huge),
            Err(ProtoError::TooLarge { .. })
        ));
    }

    #[test]
    fn forged_signature_is_refused() {
        // Signed by a key that is not the certificate's person.
        let mut forged = cert().to_body().unwrap();
        forged.extend_from_slice(
            key(&[0x99; 32])
                .sign(&signed_message(
                    DEVICE_CERT_SIGNATURE_LABEL,
                    &cert().to_body().unwrap(),
                ))
                .as_ref(),
        );
        let s = SignedDeviceCertificate::from_bytes(&forged).unwrap();
        assert_eq!(s.verify(), Err(ProtoError::BadSignature));
        // The person's real signature under another label (a revocation label, or none) is refused.
        let body = cert().to_body().unwrap();
        for label in [
            DEVICE_REVOKE_SIGNATURE_LABEL,
            b"".as_slice(),
            crate::ENVELOPE_SIGNATURE_LABEL,
        ] {
            let s = SignedDeviceCertificate::from_bytes(&resign(&body, label)).unwrap();
            assert_eq!(s.verify(), Err(ProtoError::BadSignature));
        }
        // A revocation's bytes are not a certificate, and the other way round.
        let r = revocation().sign(&key(&PERSON_SEED)).unwrap();
        assert!(
            SignedDeviceCertificate::from_bytes(r.as_bytes())
                .unwrap()
                .verify()
                .is_err()
        );
        let c = cert().sign(&key(&PERSON_SEED)).unwrap();
        assert!(
            SignedDeviceRevocation::from_bytes(c.as_bytes())
                .unwrap()
                .verify()
                .is_err()
        );
        // Signing for a person whose key one does not hold is refused at the source.
        assert!(matches!(
            cert().sign(&key(&DEVICE_SEED)),
            Err(ProtoError::Malformed(_))
        ));
    }

    #[test]
    fn weak_keys_are_refused() {
        let weak_ed = {
            let mut k = [0u8; 32];
            k[0] = 1; // the identity point
            k
        };
        // A small-order person key: any "signature" would verify under it with a lax verifier; the
        // body is refused before the signature is looked at.
        let mut c = cert();
        c.person = PersonId(weak_ed);
        let mut bytes = c.to_body().unwrap();
        bytes.extend_from_slice(&[0u8; 64]);
        assert_eq!(
            SignedDeviceCertificate::from_bytes(&bytes)
                .unwrap()
                .verify(),
            Err(ProtoError::Malformed("weak person key"))
        );
        assert!(PersonId(weak_ed).is_weak());
        // With the sign bit set, still weak.
        let mut signed_weak = weak_ed;
        signed_weak[31] |= 0x80;
        assert!(PersonId(signed_weak).is_weak());

        let mut c = cert();
        c.device = DeviceId(weak_ed);
        assert_eq!(
            c.sign(&key(&PERSON_SEED)),
            Err(ProtoError::Malformed("weak device key"))
        );
        let s = resign(&c.to_body().unwrap(), DEVICE_CERT_SIGNATURE_LABEL);
        assert_eq!(
            SignedDeviceCertificate::from_bytes(&s).unwrap().verify(),
            Err(ProtoError::Malformed("weak device key"))
        );

        for weak in SMALL_ORDER_X25519 {
            for top in [0u8, 0x80] {
                let mut x = weak;
                x[31] |= top;
                let mut c = cert();
                c.x25519 = x;
                let s = resign(&c.to_body().unwrap(), DEVICE_CERT_SIGNATURE_LABEL);
                assert_eq!(
                    SignedDeviceCertificate::from_bytes(&s).unwrap().verify(),
                    Err(ProtoError::Malformed("weak X25519 key"))
                );
            }
        }

        let mut c = cert();
        c.device = DeviceId(c.person.0);
        assert!(c.sign(&key(&PERSON_SEED)).is_err());
    }

    #[test]
    fn non_canonical_bodies_are_refused_even_when_signed() {
        let body = cert().to_body().unwrap();
        // Keys in another order: decode would accept it, canonical check does not.
        let mut reordered = vec![0xa5];
        let entries = split_map_entries(&body[1..]);
        for e in entries.iter().rev() {
            reordered.extend_from_slice(e);
        }
        assert_eq!(reordered.len(), body.len());
        // An unknown extra key.
        let mut extra = body.clone();
        extra[0] = 0xa6;
        extra.extend_from_slice(&[0x61, b'z', 0x00]);
        // A longer integer form for `v` (0x18 0x01 instead of 0x01).
        let mut long_int = vec![body[0], body[1], body[2], 0x18, 0x01];
        long_int.extend_from_slice(&body[4..]);
        // Version 2.
        let mut v2 = body.clone();
        v2[3] = 0x02;
        // Trailing byte inside the signed part.
        let mut trailing = body.clone();
        trailing.push(0x00);
        for (name, b) in [
            ("reordered", reordered),
            ("extra key", extra),
            ("long integer", long_int),
            ("version 2", v2),
            ("trailing byte", trailing),
        ] {
            let s = resign(&b, DEVICE_CERT_SIGNATURE_LABEL);
            let got = SignedDeviceCertificate::from_bytes(&s).unwrap().verify();
            assert!(
                matches!(
                    got,
                    Err(ProtoError::Malformed(_)) | Err(ProtoError::Decode(_))
                ),
                "{name}: {got:?}"
            );
        }
        // Garbage never panics.
        for len in [65, 100, 300] {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert!(
                SignedDeviceCertificate::from_bytes(&junk)
                    .unwrap()
                    .verify()
                    .is_err()
            );
            assert!(
                SignedDeviceRevocation::from_bytes(&junk)
                    .unwrap()
                    .verify()
                    .is_err()
            );
        }
    }

    /// Splits the entries of the certificate body map (text key + value) for the reordering test.
    fn split_map_entries(mut rest: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !rest.is_empty() {
            let key_len = (rest[0] & 0x1f) as usize;
            let mut n = 1 + key_len;
            n += match rest[n] {
                0x58 => 2 + rest[n + 1] as usize,
                b if b < 0x18 => 1,
                0x18 => 2,
                0x19 => 3,
                0x1a => 5,
                0x1b => 9,
                b => panic!("unexpected {b:#x}"),
            };
            out.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        out
    }

    #[test]
    fn x25519_weak_list_masks_the_top_bit() {
        let ok = x25519();
        assert!(!is_weak_x25519(&ok));
        assert!(is_weak_x25519(&[0u8; 32]));
        let mut top = [0u8; 32];
        top[31] = 0x80;
        assert!(is_weak_x25519(&top));
    }
}
