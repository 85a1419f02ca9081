//! RFC 8291's message encryption: one `aes128gcm` record (RFC 8188) under a key agreed between a
//! fresh sender key and the subscription's P-256 key, mixed with the subscription's auth secret.
//!
//! ```text
//! ecdh   = ECDH(sender private, ua public)
//! ikm    = HKDF-SHA-256(salt = auth, ikm = ecdh, info = "WebPush: info" 0x00 ‖ ua public ‖ sender public, 32)
//! prk    = HKDF-Extract(salt, ikm)
//! cek    = HKDF-Expand(prk, "Content-Encoding: aes128gcm" 0x00, 16)
//! nonce  = HKDF-Expand(prk, "Content-Encoding: nonce" 0x00, 12)
//! body   = salt (16) ‖ rs (u32 BE) ‖ 65 ‖ sender public (65) ‖ AES-128-GCM(cek, nonce, payload ‖ 0x02)
//! ```

use ring::rand::SecureRandom;
use ring::{aead, agreement, hkdf};

use super::WebPushError;

/// An uncompressed P-256 point: `04 ‖ x ‖ y`.
pub const PUBLIC_KEY_LEN: usize = 65;
/// The subscription's `auth` secret.
pub const AUTH_SECRET_LEN: usize = 16;
/// The per-message salt at the start of the body.
pub const SALT_LEN: usize = 16;
/// The record size written in the header. RFC 8030 push services take bodies up to 4096 bytes, and
/// one record holds the whole message (RFC 8291, section 4).
pub const RECORD_SIZE: u32 = 4096;
/// salt ‖ rs ‖ idlen ‖ key id.
pub const HEADER_LEN: usize = SALT_LEN + 4 + 1 + PUBLIC_KEY_LEN;
const TAG_LEN: usize = 16;
/// The longest payload that keeps the body within 4096 bytes (the delimiter and the tag take 17).
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - HEADER_LEN - 1 - TAG_LEN;

const KEY_INFO: &[u8] = b"WebPush: info\0";
const CEK_INFO: &[u8] = b"Content-Encoding: aes128gcm\0";
const NONCE_INFO: &[u8] = b"Content-Encoding: nonce\0";
/// The padding delimiter of the last (here: only) record.
const LAST_RECORD: u8 = 0x02;

/// The sender's half of the key agreement. The relay uses a fresh [`EphemeralSender`] per message;
/// tests use a fixed key to reproduce RFC 8291's worked example.
pub trait SenderKey {
    /// The sender's public key, uncompressed; it travels in the body's header.
    fn public(&self) -> [u8; PUBLIC_KEY_LEN];
    /// The shared secret with `peer` (the x coordinate of the agreed point). Consumes the key: a
    /// sender key serves one message.
    fn agree(self, peer: &[u8; PUBLIC_KEY_LEN]) -> Result<[u8; 32], WebPushError>;
}

/// A P-256 key made for one message and gone after it (ring's ephemeral agreement).
pub struct EphemeralSender {
    private: agreement::EphemeralPrivateKey,
    public: [u8; PUBLIC_KEY_LEN],
}

impl EphemeralSender {
    /// A fresh key from the system's random source.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, WebPushError> {
        let private = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, rng)
            .map_err(|_| WebPushError::Crypto)?;
        let public = private
            .compute_public_key()
            .map_err(|_| WebPushError::Crypto)?;
        let public =
            <[u8; PUBLIC_KEY_LEN]>::try_from(public.as_ref()).map_err(|_| WebPushError::Crypto)?;
        Ok(Self { private, public })
    }
}

impl SenderKey for EphemeralSender {
    fn public(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.public
    }

    fn agree(self, peer: &[u8; PUBLIC_KEY_LEN]) -> Result<[u8; 32], WebPushError> {
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, peer);
        agreement::agree_ephemeral(self.private, &peer, |secret| {
            <[u8; 32]>::try_from(secret).map_err(|_| WebPushError::Crypto)
        })
        // ring refuses a point that is not on the curve here.
        .map_err(|_| WebPushError::BadPublicKey)?
    }
}

/// An HKDF output length ring accepts for `expand`.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand<const N: usize>(prk: &hkdf::Prk, info: &[&[u8]]) -> Result<[u8; N], WebPushError> {
    let mut out = [0u8; N];
    prk.expand(info, Len(N))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| WebPushError::Crypto)?;
    Ok(out)
}

/// The content key and nonce of one message (RFC 8291, section 3.4).
fn derive(
    ecdh: &[u8; 32],
    auth: &[u8; AUTH_SECRET_LEN],
    ua_public: &[u8; PUBLIC_KEY_LEN],
    sender_public: &[u8; PUBLIC_KEY_LEN],
    salt: &[u8; SALT_LEN],
) -> Result<([u8; 16], [u8; 12]), WebPushError> {
    let prk_key = hkdf::Salt::new(hkdf::HKDF_SHA256, auth).extract(ecdh);
    let ikm: [u8; 32] = expand(&prk_key, &[KEY_INFO, ua_public, sender_public])?;
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
    Ok((expand(&prk, &[CEK_INFO])?, expand(&prk, &[NONCE_INFO])?))
}

fn subscription_keys(
    ua_public: &[u8],
    auth: &[u8],
) -> Result<([u8; PUBLIC_KEY_LEN], [u8; AUTH_SECRET_LEN]), WebPushError> {
    let ua_public =
        <[u8; PUBLIC_KEY_LEN]>::try_from(ua_public).map_err(|_| WebPushError::BadPublicKey)?;
    if ua_public[0] != 0x04 {
        return Err(WebPushError::BadPublicKey);
    }
    let auth = <[u8; AUTH_SECRET_LEN]>::try_from(auth).map_err(|_| WebPushError::BadAuthSecret)?;
    Ok((ua_public, auth))
}

fn gcm_key(cek: &[u8; 16]) -> Result<aead::LessSafeKey, WebPushError> {
    aead::UnboundKey::new(&aead::AES_128_GCM, cek)
        .map(aead::LessSafeKey::new)
        .map_err(|_| WebPushError::Crypto)
}

/// Encrypts `payload` to the subscription `(ua_public, auth)` as one message body. `salt` must be
/// fresh random bytes for every message (the relay draws them; tests fix them).
pub fn encrypt(
    payload: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    sender: impl SenderKey,
    salt: [u8; SALT_LEN],
) -> Result<Vec<u8>, WebPushError> {
    let (ua_public, auth) = subscription_keys(ua_public, auth)?;
    if payload.len() > MAX_PLAINTEXT {
        return Err(WebPushError::TooLarge);
    }
    let sender_public = sender.public();
    let ecdh = sender.agree(&ua_public)?;
    let (cek, nonce) = derive(&ecdh, &auth, &ua_public, &sender_public, &salt)?;

    let mut body = Vec::with_capacity(HEADER_LEN + payload.len() + 1 + TAG_LEN);
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(PUBLIC_KEY_LEN as u8);
    body.extend_from_slice(&sender_public);
    let mut record = Vec::with_capacity(payload.len() + 1 + TAG_LEN);
    record.extend_from_slice(payload);
    record.push(LAST_RECORD);
    gcm_key(&cek)?
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::empty(),
            &mut record,
        )
        .map_err(|_| WebPushError::Crypto)?;
    body.extend_from_slice(&record);
    Ok(body)
}

/// Reads a message body as the subscription's holder does: `agree` computes the shared secret from
/// the sender's public key with the subscription's private key. Used by the tests' push service and
/// the push gateway's checks; a relay never decrypts.
pub fn decrypt(
    body: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    agree: impl FnOnce(&[u8; PUBLIC_KEY_LEN]) -> Result<[u8; 32], WebPushError>,
) -> Result<Vec<u8>, WebPushError> {
    let (ua_public, auth) = subscription_keys(ua_public, auth)?;
    if body.len() < HEADER_LEN + 1 + TAG_LEN {
        return Err(WebPushError::Malformed);
    }
    let (header, ciphertext) = body.split_at(HEADER_LEN);
    let salt =
        <[u8; SALT_LEN]>::try_from(&header[..SALT_LEN]).map_err(|_| WebPushError::Malformed)?;
    let rs = u32::from_be_bytes([header[16], header[17], header[18], header[19]]);
    // One record only: the record size must hold the whole ciphertext.
    if header[20] as usize != PUBLIC_KEY_LEN || (rs as usize) < ciphertext.len() || rs < 18 {
        return Err(WebPushError::Malformed);
    }
    let sender_public =
        <[u8; PUBLIC_KEY_LEN]>::try_from(&header[21..]).map_err(|_| WebPushError::Malformed)?;
    let ecdh = agree(&sender_public)?;
    let (cek, nonce) = derive(&ecdh, &auth, &ua_public, &sender_public, &salt)?;
    let mut record = ciphertext.to_vec();
    let plain = gcm_key(&cek)?
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::empty(),
            &mut record,
        )
        .map_err(|_| WebPushError::Malformed)?;
    // Strip the padding: zeros after the delimiter, which must be the last record's.
    let end = plain
        .iter()
        .rposition(|b| *b != 0)
        .ok_or(WebPushError::Malformed)?;
    if plain[end] != LAST_RECORD {
        return Err(WebPushError::Malformed);
    }
    Ok(plain[..end].to_vec())
}
