//! Small, audited building blocks over ring: randomness, HKDF, value sealing and keyed hashes.
//! Every secret lives in `Zeroizing` buffers so it is wiped when dropped.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub mod keywrap;

/// A 32-byte secret that is wiped on drop.
pub type Key32 = Zeroizing<[u8; 32]>;

/// Fills a fresh array with system randomness.
pub fn random<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| Error::Internal("system randomness unavailable"))?;
    Ok(out)
}

/// A fresh random 32-byte key.
pub fn random_key() -> Result<Key32> {
    let mut k = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(k.as_mut())
        .map_err(|_| Error::Internal("system randomness unavailable"))?;
    Ok(k)
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// HKDF-SHA256 with an empty salt: derives a 32-byte sub-key for one purpose named by `label`.
pub fn derive(ikm: &[u8], label: &[u8]) -> Result<Key32> {
    let mut out = Zeroizing::new([0u8; 32]);
    let info = [label];
    hkdf::Salt::new(hkdf::HKDF_SHA256, &[])
        .extract(ikm)
        .expand(&info, Len32)
        .and_then(|okm| okm.fill(out.as_mut()))
        .map_err(|_| Error::Internal("key derivation failed"))?;
    Ok(out)
}

/// HKDF-SHA256 with an explicit salt and an `info` made of several parts (concatenated): for key
/// derivations bound to context, such as a key wrap's public keys (salt) and space and epoch (info).
pub fn derive_salted(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> Result<Key32> {
    let mut out = Zeroizing::new([0u8; 32]);
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt)
        .extract(ikm)
        .expand(info, Len32)
        .and_then(|okm| okm.fill(out.as_mut()))
        .map_err(|_| Error::Internal("key derivation failed"))?;
    Ok(out)
}

/// Version byte of sealed stored values.
pub const VALUE_V1: u8 = 1;

fn aead(key: &[u8; 32]) -> Result<LessSafeKey> {
    let k = UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| Error::Internal("key setup"))?;
    Ok(LessSafeKey::new(k))
}

/// Seals a value as `{version, nonce, ciphertext}` with ChaCha20-Poly1305; `aad` binds it to its place
/// (table and lookup key) so a value moved to another row no longer opens.
pub fn seal_value(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    seal_value_with(key, random()?, aad, plaintext)
}

/// [`seal_value`] with the nonce given: the one code path behind `seal_value`, and the one the test
/// vectors fix (docs/protocol.md, the vault's and the outcome records' vectors). Never call it with a
/// nonce that is not fresh.
pub(crate) fn seal_value_with(
    key: &[u8; 32],
    nonce: [u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1 + 12 + plaintext.len() + 16);
    out.push(VALUE_V1);
    out.extend_from_slice(&nonce);
    let mut buf = plaintext.to_vec();
    aead(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .map_err(|_| Error::Internal("seal failed"))?;
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens a value sealed by [`seal_value`]. Any altered bit, a wrong key or a wrong place fails.
pub fn open_value(
    key: &[u8; 32],
    aad: &[u8],
    sealed: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>> {
    if sealed.len() < 1 + 12 + 16 || sealed[0] != VALUE_V1 {
        return Err(Error::Corrupt(what));
    }
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&sealed[1..13]);
    let mut buf = Zeroizing::new(sealed[13..].to_vec());
    let n = aead(key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            buf.as_mut_slice(),
        )
        .map_err(|_| Error::Corrupt(what))?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// HMAC-SHA256 keyed hash: replaces lookup keys in the vault so the file reveals neither names nor ids.
pub fn keyed_hash(key: &[u8; 32], table: &str, data: &[u8]) -> Vec<u8> {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&k);
    ctx.update(table.as_bytes());
    ctx.update(&[0]);
    ctx.update(data);
    ctx.sign().as_ref().to_vec()
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out
}

/// 16 hex characters of SHA-256 over `parts`, each prefixed by its length: record ids and
/// pseudonyms in shared documents (a report's sessions and pairings, a care record's outcomes).
pub(crate) fn tag(parts: &[&[u8]]) -> String {
    let mut buf = Vec::new();
    for p in parts {
        buf.extend_from_slice(&(p.len() as u64).to_be_bytes());
        buf.extend_from_slice(p);
    }
    hex::encode(&sha256(&buf)[..8])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_flipped_bit_is_refused() {
        let key = random_key().unwrap();
        let sealed = seal_value(&key, b"t", b"hello").unwrap();
        assert_eq!(
            open_value(&key, b"t", &sealed, "x").unwrap().as_slice(),
            b"hello"
        );
        for i in 0..sealed.len() * 8 {
            let mut s = sealed.clone();
            s[i / 8] ^= 1 << (i % 8);
            assert!(matches!(
                open_value(&key, b"t", &s, "x"),
                Err(Error::Corrupt("x"))
            ));
        }
        assert!(open_value(&key, b"other place", &sealed, "x").is_err());
    }
}
