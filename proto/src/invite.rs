//! Invites: joining a space from a distance (section 18 of `docs/protocol.md`).
//!
//! An admin shows an invite code (a QR code, or text sent over a messenger). It carries the space, a
//! 16-byte one-time secret, an expiry and the inviting device. The secret never reaches the relay: the
//! membership log records only the invite id derived from it (`Op::Invite`), so every member and the
//! relay know the invite exists, when it expires, whether it was revoked or spent, and nothing else.
//!
//! The joiner seals a signed join request under a key derived from the secret and leaves it at the
//! relay under the invite id. Only a holder of the secret can make a request the admin's device opens;
//! anyone else's is refused there. The admin approves by signing an `Add` that names the invite: from
//! then on the invite is spent, for every device and the relay. The answer (the space key wrapped for
//! the joiner's X25519 key, and the log) goes back through the relay addressed to the joiner's device.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::envelope::{DeviceId, SpaceId};
use crate::error::ProtoError;
use crate::identity::SignedDeviceCertificate;

/// Text before the base32 body of an invite code; the `1` is the code's format version.
pub const INVITE_CODE_PREFIX: &str = "SBYI1";
/// Version byte inside the code and inside a join request.
pub const INVITE_V1: u8 = 1;
/// Bytes in a decoded invite code: version, kind, space, secret, expiry, inviter.
pub const INVITE_CODE_BYTES: usize = 1 + 1 + 16 + 16 + 4 + 32;
/// Characters in an invite code: prefix plus unpadded base32 of [`INVITE_CODE_BYTES`].
pub const INVITE_CODE_CHARS: usize = INVITE_CODE_PREFIX.len() + (INVITE_CODE_BYTES * 8).div_ceil(5);
/// Domain label of a join request's signature (by the joining device) and of its AEAD.
pub const JOIN_REQUEST_LABEL: &[u8] = b"sebaya/v1/join-request";
/// HKDF info that derives the invite id from the secret.
pub const INVITE_ID_INFO: &[u8] = b"sebaya/v1/invite-id";
/// HKDF info that derives the request token from the secret (section 18.3).
pub const INVITE_TOKEN_INFO: &[u8] = b"sebaya/v1/invite-token";
/// HKDF info that derives the join-request key from the secret.
pub const INVITE_REQUEST_INFO: &[u8] = b"sebaya/v1/invite-request";
/// Largest sealed join request a device or the relay accepts.
pub const MAX_JOIN_REQUEST_LEN: usize = 4096;
/// Largest join answer (a link response: wrapped key, membership log, earlier keys) the relay keeps.
pub const MAX_JOIN_ANSWER_LEN: usize = 4 * 1024 * 1024;
/// Longest display name a join request may carry, in characters.
pub const MAX_NAME_CHARS: usize = 64;
const NONCE_LEN: usize = 12;
const SIG_LEN: usize = 64;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An invite's public name: HKDF of its secret. What the membership log, the relay and join requests
/// carry; it reveals nothing that opens a request.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InviteId(pub [u8; 16]);

impl InviteId {
    /// Reads an id from exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ProtoError> {
        Ok(InviteId(bytes.try_into().map_err(|_| {
            ProtoError::Malformed("invite id has the wrong length")
        })?))
    }

    /// Parses the lowercase hex form.
    pub fn from_hex(text: &str) -> Result<Self, ProtoError> {
        let b = hex::decode(text).map_err(|_| ProtoError::Malformed("invite id is not hex"))?;
        Self::from_slice(&b)
    }

    /// Lowercase hex, the textual form used in the bindings.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for InviteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InviteId({})", self.to_hex())
    }
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn derive(
    space: &SpaceId,
    secret: &[u8; 16],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), ProtoError> {
    hkdf::Salt::new(hkdf::HKDF_SHA256, &space.0)
        .extract(secret)
        .expand(&[info], Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| ProtoError::Encode("key derivation failed".into()))
}

/// The invite id of `secret` in `space`: HKDF-SHA256(salt = space id, ikm = secret, info =
/// [`INVITE_ID_INFO`]), 16 bytes.
pub fn invite_id(space: &SpaceId, secret: &[u8; 16]) -> Result<InviteId, ProtoError> {
    let mut id = [0u8; 16];
    derive(space, secret, INVITE_ID_INFO, &mut id)?;
    Ok(InviteId(id))
}

/// The request token of `secret` in `space`: HKDF-SHA256(salt = space id, ikm = secret, info =
/// [`INVITE_TOKEN_INFO`]), 16 bytes. A join request carries it to the relay, which keeps the request
/// only if its SHA-256 is the invite statement's `gate`: knowing the invite id (every member does)
/// is not enough to fill an invite's mailbox.
pub fn request_token(space: &SpaceId, secret: &[u8; 16]) -> Result<[u8; 16], ProtoError> {
    let mut t = [0u8; 16];
    derive(space, secret, INVITE_TOKEN_INFO, &mut t)?;
    Ok(t)
}

/// The `gate` an invite statement carries: SHA-256 of the request token.
pub fn gate_of(token: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token);
    let mut g = [0u8; 32];
    g.copy_from_slice(d.as_ref());
    g
}

fn request_aead(space: &SpaceId, secret: &[u8; 16]) -> Result<LessSafeKey, ProtoError> {
    let mut k = Zeroizing::new([0u8; 32]);
    derive(space, secret, INVITE_REQUEST_INFO, k.as_mut())?;
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, k.as_ref())
        .map_err(|_| ProtoError::Encode("key setup failed".into()))?;
    Ok(LessSafeKey::new(unbound))
}

fn request_ad(space: &SpaceId, invite: &InviteId) -> Vec<u8> {
    let mut ad = JOIN_REQUEST_LABEL.to_vec();
    ad.extend_from_slice(&space.0);
    ad.extend_from_slice(&invite.0);
    ad
}

/// What an invite code says. The secret is zeroized on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteCode {
    /// The kind of space (core's `SpaceKind` byte), so the joiner knows what it joins.
    pub kind: u8,
    /// The space.
    pub space: SpaceId,
    /// The one-time secret: who holds it may ask to join, once.
    pub secret: Zeroizing<[u8; 16]>,
    /// Unix seconds after which the invite is refused (by the joiner, the relay and the admin).
    pub expires: u32,
    /// The inviting device: the only device whose `Add` may spend this invite, and the one the joiner
    /// expects to find in the log it is answered with.
    pub inviter: DeviceId,
}

impl std::fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InviteCode")
            .field("kind", &self.kind)
            .field("space", &self.space)
            .field("expires", &self.expires)
            .field("inviter", &self.inviter)
            .finish_non_exhaustive()
    }
}

impl InviteCode {
    /// The invite's public id.
    pub fn id(&self) -> Result<InviteId, ProtoError> {
        invite_id(&self.space, &self.secret)
    }

    /// The code as text: [`INVITE_CODE_PREFIX`] then unpadded RFC 4648 base32 (uppercase), which a QR
    /// code stores in its compact alphanumeric mode. Always [`INVITE_CODE_CHARS`] characters.
    pub fn to_code(&self) -> String {
        let mut b = Zeroizing::new(Vec::with_capacity(INVITE_CODE_BYTES));
        b.push(INVITE_V1);
        b.push(self.kind);
        b.extend_from_slice(&self.space.0);
        b.extend_from_slice(self.secret.as_ref());
        b.extend_from_slice(&self.expires.to_be_bytes());
        b.extend_from_slice(&self.inviter.0);
        let mut out = String::with_capacity(INVITE_CODE_CHARS);
        out.push_str(INVITE_CODE_PREFIX);
        base32_encode(&b, &mut out);
        out
    }

    /// Reads a code. Case and whitespace (a code typed from a screen) do not matter; anything else
    /// wrong — prefix, length, alphabet, version, a small-order inviter key — is `Malformed`.
    pub fn from_code(text: &str) -> Result<InviteCode, ProtoError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if cleaned.len() != INVITE_CODE_CHARS {
            return Err(ProtoError::Malformed("an invite code has the wrong length"));
        }
        let body = cleaned
            .strip_prefix(INVITE_CODE_PREFIX)
            .ok_or(ProtoError::Malformed("not an invite code"))?;
        let b = Zeroizing::new(base32_decode(body)?);
        if b.len() != INVITE_CODE_BYTES {
            return Err(ProtoError::Malformed("an invite code has the wrong length"));
        }
        if b[0] != INVITE_V1 {
            return Err(ProtoError::Malformed("unsupported invite code version"));
        }
        let mut secret = Zeroizing::new([0u8; 16]);
        secret.copy_from_slice(&b[18..34]);
        let inviter = DeviceId::from_slice(&b[38..70])?;
        if inviter.is_weak() {
            return Err(ProtoError::Malformed("a small-order key cannot invite"));
        }
        Ok(InviteCode {
            kind: b[1],
            space: SpaceId::from_slice(&b[2..18])?,
            secret,
            expires: u32::from_be_bytes([b[34], b[35], b[36], b[37]]),
            inviter,
        })
    }
}

fn base32_encode(bytes: &[u8], out: &mut String) {
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
    }
}

fn base32_decode(text: &str) -> Result<Vec<u8>, ProtoError> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in text.bytes() {
        let v = BASE32
            .iter()
            .position(|&a| a == c)
            .ok_or(ProtoError::Malformed(
                "an invite code has a character outside base32",
            ))?;
        acc = (acc << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // Leftover bits must be zero padding, so each byte string has exactly one code.
    if bits >= 5 || acc & ((1 << bits) - 1) != 0 {
        return Err(ProtoError::Malformed("an invite code has stray bits"));
    }
    Ok(out)
}

/// A joining device's request, signed by that device and sealed under the invite's request key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinRequest {
    /// The space asked for.
    pub space: SpaceId,
    /// The invite answered.
    pub invite: InviteId,
    /// The joining device (its Ed25519 key; the request is signed by it).
    pub device: DeviceId,
    /// Its X25519 key: the space key is wrapped for it.
    pub x25519: [u8; 32],
    /// Its device certificate from its person, when the device has one (so the admin sees which
    /// person is asking and the log can record it).
    pub certificate: Option<Vec<u8>>,
    /// The name the joiner gives, for the admin to recognise them (at most [`MAX_NAME_CHARS`]).
    pub name: String,
    /// Unix seconds on the joiner's clock (shown; no rule depends on it).
    pub time: u64,
}

/// CBOR body of a join request. Field order is the canonical order; do not reorder.
#[derive(Serialize, Deserialize)]
struct RequestBody {
    v: u8,
    #[serde(with = "serde_bytes")]
    space: Vec<u8>,
    #[serde(with = "serde_bytes")]
    invite: Vec<u8>,
    #[serde(with = "serde_bytes")]
    device: Vec<u8>,
    #[serde(with = "serde_bytes")]
    x25519: Vec<u8>,
    #[serde(with = "serde_bytes")]
    certificate: Option<Vec<u8>>,
    name: String,
    time: u64,
}

impl JoinRequest {
    fn body(&self) -> Result<Vec<u8>, ProtoError> {
        crate::identity::encode(&RequestBody {
            v: INVITE_V1,
            space: self.space.0.to_vec(),
            invite: self.invite.0.to_vec(),
            device: self.device.0.to_vec(),
            x25519: self.x25519.to_vec(),
            certificate: self.certificate.clone(),
            name: self.name.clone(),
            time: self.time,
        })
    }

    fn check(&self) -> Result<(), ProtoError> {
        if self.device.is_weak() {
            return Err(ProtoError::Malformed("a small-order key cannot join"));
        }
        if crate::identity::is_weak_x25519(&self.x25519) {
            return Err(ProtoError::Malformed("a small-order X25519 key"));
        }
        if self.name.chars().count() > MAX_NAME_CHARS {
            return Err(ProtoError::TooLarge {
                what: "join request name",
                len: self.name.chars().count() as u64,
                max: MAX_NAME_CHARS as u64,
            });
        }
        if let Some(cert) = &self.certificate {
            let c = SignedDeviceCertificate::from_bytes(cert)?.verify()?;
            if c.device != self.device || c.x25519 != self.x25519 {
                return Err(ProtoError::Malformed(
                    "the certificate is for another device",
                ));
            }
        }
        Ok(())
    }

    /// The person whose certificate the request carries (checked when the request was opened).
    pub fn person(&self) -> Option<crate::PersonId> {
        let cert = self.certificate.as_ref()?;
        SignedDeviceCertificate::from_bytes(cert)
            .ok()?
            .verify()
            .ok()
            .map(|c| c.person)
    }

    /// Signs (with the joining device's key) and seals the request: `nonce ‖ ChaCha20-Poly1305(request
    /// key, nonce, ad = label ‖ space ‖ invite, body ‖ signature)`. `nonce` is random in production and
    /// fixed only in test vectors.
    pub fn seal(
        &self,
        secret: &[u8; 16],
        signer: &Ed25519KeyPair,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, ProtoError> {
        self.check()?;
        if signer.public_key().as_ref() != self.device.0 {
            return Err(ProtoError::Malformed("signer is not the joining device"));
        }
        if invite_id(&self.space, secret)? != self.invite {
            return Err(ProtoError::Malformed("the secret is not this invite's"));
        }
        let mut plain = self.to_plaintext(signer)?;
        let key = request_aead(&self.space, secret)?;
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(request_ad(&self.space, &self.invite)),
            &mut plain,
        )
        .map_err(|_| ProtoError::Encode("seal failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&plain);
        if out.len() > MAX_JOIN_REQUEST_LEN {
            return Err(ProtoError::TooLarge {
                what: "join request",
                len: out.len() as u64,
                max: MAX_JOIN_REQUEST_LEN as u64,
            });
        }
        Ok(out)
    }

    /// `body ‖ signature`, what [`JoinRequest::seal`] encrypts: the inverse of
    /// [`JoinRequest::from_plaintext`]. Hidden, for the fuzz harness's seeds; `seal` is the API.
    #[doc(hidden)]
    pub fn to_plaintext(&self, signer: &Ed25519KeyPair) -> Result<Vec<u8>, ProtoError> {
        let body = self.body()?;
        let mut msg = JOIN_REQUEST_LABEL.to_vec();
        msg.extend_from_slice(&body);
        let mut plain = body;
        plain.extend_from_slice(signer.sign(&msg).as_ref());
        Ok(plain)
    }

    /// Opens a sealed request with the invite's secret and checks everything: size, the AEAD (a
    /// request made without the secret fails here with `DecryptFailed`), canonical encoding, that it
    /// names this space and invite, the device's signature, key strength, and a certificate that names
    /// this device.
    pub fn open(
        sealed: &[u8],
        space: &SpaceId,
        secret: &[u8; 16],
    ) -> Result<JoinRequest, ProtoError> {
        if sealed.len() > MAX_JOIN_REQUEST_LEN {
            return Err(ProtoError::TooLarge {
                what: "join request",
                len: sealed.len() as u64,
                max: MAX_JOIN_REQUEST_LEN as u64,
            });
        }
        if sealed.len() < NONCE_LEN + 16 + SIG_LEN {
            return Err(ProtoError::Truncated {
                needed: NONCE_LEN + 16 + SIG_LEN,
                had: sealed.len(),
            });
        }
        let invite = invite_id(space, secret)?;
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| ProtoError::Malformed("join request nonce"))?;
        let key = request_aead(space, secret)?;
        let mut buf = ct.to_vec();
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(request_ad(space, &invite)),
                &mut buf,
            )
            .map_err(|_| ProtoError::DecryptFailed)?;
        Self::from_plaintext(plain, space, &invite)
    }

    /// Everything [`JoinRequest::open`] checks after the AEAD: `plain` is `body ‖ signature` as the
    /// joining device signed it, for `space` and `invite`. Hidden, not private, so the fuzz harness
    /// (`fuzz/`) reaches the body decoder, which a fuzzer cannot reach through the AEAD; nothing
    /// else should call it, since it skips the proof that the sender holds the invite's secret.
    #[doc(hidden)]
    pub fn from_plaintext(
        plain: &[u8],
        space: &SpaceId,
        invite: &InviteId,
    ) -> Result<JoinRequest, ProtoError> {
        let invite = *invite;
        if plain.len() <= SIG_LEN {
            return Err(ProtoError::Truncated {
                needed: SIG_LEN + 1,
                had: plain.len(),
            });
        }
        let (body, sig) = plain.split_at(plain.len() - SIG_LEN);
        let w: RequestBody = crate::identity::decode_canonical(body)?;
        if w.v != INVITE_V1 {
            return Err(ProtoError::Malformed("unsupported join request version"));
        }
        let req = JoinRequest {
            space: SpaceId::from_slice(&w.space)?,
            invite: InviteId::from_slice(&w.invite)?,
            device: DeviceId::from_slice(&w.device)?,
            x25519: w
                .x25519
                .as_slice()
                .try_into()
                .map_err(|_| ProtoError::Malformed("X25519 key has the wrong length"))?,
            certificate: w.certificate,
            name: w.name,
            time: w.time,
        };
        if req.space != *space || req.invite != invite {
            return Err(ProtoError::Malformed(
                "the request names another space or invite",
            ));
        }
        req.check()?;
        let mut msg = JOIN_REQUEST_LABEL.to_vec();
        msg.extend_from_slice(body);
        UnparsedPublicKey::new(&ED25519, &req.device.0)
            .verify(&msg, sig)
            .map_err(|_| ProtoError::BadSignature)?;
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn key(seed: u8) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).expect("seed")
    }

    fn code() -> InviteCode {
        InviteCode {
            kind: 2,
            space: SpaceId([0x11; 16]),
            secret: Zeroizing::new([0x22; 16]),
            expires: 1_800_000_000,
            inviter: DeviceId::from_slice(key(1).public_key().as_ref()).expect("key"),
        }
    }

    fn request(c: &InviteCode) -> JoinRequest {
        let kp = key(2);
        JoinRequest {
            space: c.space,
            invite: c.id().expect("id"),
            device: DeviceId::from_slice(kp.public_key().as_ref()).expect("key"),
            x25519: [9u8; 32],
            certificate: None,
            name: "Sari".into(),
            time: 1_790_000_000,
        }
    }

    #[test]
    #[ignore]
    fn print_vectors() {
        let c = code();
        println!("code {}", c.to_code());
        println!("id {}", c.id().expect("id").to_hex());
        let mut k = [0u8; 32];
        derive(&c.space, &c.secret, INVITE_REQUEST_INFO, &mut k).expect("derive");
        println!("request key {}", hex::encode(k));
        let r = request(&c);
        println!("body {}", hex::encode(r.body().expect("body")));
        println!(
            "sealed {}",
            hex::encode(r.seal(&c.secret, &key(2), [7u8; 12]).expect("seal"))
        );
    }

    const CODE: &str = "SBYI1AEBBCEIRCEIRCEIRCEIRCEIRCEIRCIRCEIRCEIRCEIRCEIRCEIRCEITLJHJABCUI4POXICPRSX6VFWZNHS5F24WKM4E36HMUCIN7G5EIAG2A6324";
    const ID: &str = "191690c91b911c26abbf47fa537da569";
    const REQUEST_KEY: &str = "280dcf5c299d626b64d5fc15717c3076639c3dea004c66be87b1e3631bf6006f";
    const BODY: &str = concat!(
        "a8617601657370616365501111111111111111111111111111111166696e7669",
        "746550191690c91b911c26abbf47fa537da5696664657669636558208139770e",
        "a87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b39466783235",
        "3531395820090909090909090909090909090909090909090909090909090909",
        "09090909096b6365727469666963617465f6646e616d6564536172696474696d",
        "651a6ab13b80",
    );

    fn doc_text() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
        std::fs::read_to_string(path).expect("docs/protocol.md")
    }

    #[test]
    fn vectors_are_byte_exact_and_documented() {
        let c = code();
        assert_eq!(c.to_code(), CODE);
        assert_eq!(c.id().expect("id").to_hex(), ID);
        let r = request(&c);
        assert_eq!(hex::encode(r.body().expect("body")), BODY);
        let sealed = r.seal(&c.secret, &key(2), [7u8; 12]).expect("seal");
        // Opened here without `JoinRequest::open`: ChaCha20-Poly1305 under the documented key.
        let k = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &hex::decode(REQUEST_KEY).expect("hex"))
                .expect("key"),
        );
        let mut buf = sealed[12..].to_vec();
        let mut ad = b"sebaya/v1/join-request".to_vec();
        ad.extend_from_slice(&[0x11; 16]);
        ad.extend_from_slice(&hex::decode(ID).expect("hex"));
        let plain = k
            .open_in_place(
                Nonce::assume_unique_for_key([7u8; 12]),
                Aad::from(ad),
                &mut buf,
            )
            .expect("opens under the documented key");
        assert_eq!(hex::encode(&plain[..plain.len() - 64]), BODY);
        let mut msg = b"sebaya/v1/join-request".to_vec();
        msg.extend_from_slice(&plain[..plain.len() - 64]);
        UnparsedPublicKey::new(&ED25519, key(2).public_key().as_ref())
            .verify(&msg, &plain[plain.len() - 64..])
            .expect("signed by the joining device");
        let doc: String = doc_text().split_whitespace().collect();
        for v in [CODE, ID, REQUEST_KEY, BODY] {
            assert!(doc.contains(v), "docs/protocol.md lacks {v}");
        }
    }

    #[test]
    fn code_round_trips_and_fits_a_small_qr() {
        let c = code();
        let text = c.to_code();
        assert_eq!(text.len(), INVITE_CODE_CHARS);
        assert!(text.len() < 200, "{} characters", text.len());
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(InviteCode::from_code(&text).expect("decode"), c);
        let spaced = format!(" {} ", text.to_lowercase());
        assert_eq!(InviteCode::from_code(&spaced).expect("decode"), c);
    }

    #[test]
    fn damaged_codes_are_refused() {
        let text = code().to_code();
        assert!(InviteCode::from_code(&text[..text.len() - 1]).is_err());
        assert!(InviteCode::from_code(&format!("{text}A")).is_err());
        assert!(InviteCode::from_code(&text.replacen("SBYI1", "SBYQ1", 1)).is_err());
        let mut bad = text.clone().into_bytes();
        bad[10] = b'1';
        assert!(InviteCode::from_code(&String::from_utf8(bad).expect("ascii")).is_err());
        // 70 bytes are exactly 112 base32 characters: no padding bits. A flipped character changes
        // the decoded bytes; where that is the version byte, the inviter or the length, it is refused.
        let mut bad = text.clone().into_bytes();
        bad[5] = b'B';
        assert_eq!(
            base32_decode("AB"),
            Err(ProtoError::Malformed("an invite code has stray bits"))
        );
        assert!(InviteCode::from_code(&String::from_utf8(bad).expect("ascii")).is_err());
    }

    #[test]
    fn request_round_trips_and_only_the_secret_opens_it() {
        let c = code();
        let r = request(&c);
        let sealed = r.seal(&c.secret, &key(2), [7u8; 12]).expect("seal");
        assert_eq!(
            JoinRequest::open(&sealed, &c.space, &c.secret).expect("open"),
            r
        );
        assert_eq!(
            JoinRequest::open(&sealed, &c.space, &[0x23; 16]),
            Err(ProtoError::DecryptFailed)
        );
        assert!(JoinRequest::open(&sealed, &SpaceId([0x12; 16]), &c.secret).is_err());
        for i in 0..sealed.len() {
            let mut b = sealed.clone();
            b[i] ^= 0x01;
            assert!(
                JoinRequest::open(&b, &c.space, &c.secret).is_err(),
                "bit at {i}"
            );
        }
        for n in 0..sealed.len() {
            assert!(JoinRequest::open(&sealed[..n], &c.space, &c.secret).is_err());
        }
    }

    #[test]
    fn a_request_signed_by_another_device_or_for_another_invite_is_refused() {
        let c = code();
        let r = request(&c);
        assert!(r.seal(&c.secret, &key(3), [7u8; 12]).is_err());
        assert!(r.seal(&[0x23; 16], &key(2), [7u8; 12]).is_err());
        let mut long = r.clone();
        long.name = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(long.seal(&c.secret, &key(2), [7u8; 12]).is_err());
    }
}
