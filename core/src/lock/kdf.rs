//! The passcode's key derivation and the wrapped-key format, version 1 (`docs/protocol.md`,
//! "Passcode wrap").
//!
//! `A = argon2id(passcode, salt, m, t, p)` (32 bytes, Argon2 version 0x13), then
//! `KEK = HKDF-SHA256(salt, A ‖ S, "sebaya passcode kek v1")` where `S` is the 32-byte secret the
//! key store keeps. Without `S` no guess can be checked, so a copied vault file (or a copied wrapped
//! key) cannot be attacked offline; with `S` (a key store taken apart) each guess still costs one
//! argon2id. The wrapped key: a header that names the parameters, then two slots, each a
//! ChaCha20-Poly1305 seal of a 32-byte master key (slot 0: the vault, slot 1: the duress vault, or
//! random bytes of the same length when no duress code is set, so the two cases look alike).

use argon2::{Algorithm, Argon2, Block, Params, Version};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::crypto::{self, Key32};
use crate::error::{Error, Result};

/// The format's first bytes.
pub const MAGIC: &[u8; 4] = b"SBPC";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;
/// The algorithm byte for argon2id, Argon2 version 0x13.
pub const ARGON2ID_13: u8 = 1;
/// HKDF info of the key-encryption key.
pub const KEK_INFO: &[u8] = b"sebaya passcode kek v1";
/// Header length: magic, version, algorithm, m, t, p, salt, slot count.
pub const HEADER_LEN: usize = 4 + 1 + 1 + 4 + 4 + 4 + 16 + 1;
/// One slot: nonce, sealed 32-byte key, tag.
pub const SLOT_LEN: usize = 12 + 32 + 16;
/// Slots in version 1.
pub const SLOTS: u8 = 2;
/// The whole wrapped key.
pub const WRAPPED_LEN: usize = HEADER_LEN + SLOTS as usize * SLOT_LEN;

/// argon2id's cost parameters, kept in the wrapped key's header so later builds may change them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// What this build uses for a new passcode: 32 MiB, 3 passes, 1 lane. Measured in
    /// `docs/benchmarks.md` ("Passcode derivation"): 0.13 to 0.19 s on one x86_64 core of the
    /// loaded build machine; a mid-range phone (Cortex-A55/A76 class, two to four times slower per
    /// core on memory-bound work) should take roughly 0.3 to 0.6 s, the budget of one unlock (not
    /// measured on a phone yet). One lane: a second would not raise an attacker's cost per guess.
    pub const PHONE: KdfParams = KdfParams {
        memory_kib: 32 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// The least this build accepts when reading a header or given by an app (tests use it): 8 MiB,
    /// 1 pass. A header below it was not written by Sebaya and is refused.
    pub const MIN: KdfParams = KdfParams {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };

    /// The most a header may ask (so a crafted header cannot make an unlock take all memory).
    const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    const MAX_ITERATIONS: u32 = 64;
    const MAX_PARALLELISM: u32 = 16;

    /// Refuses parameters below [`KdfParams::MIN`] or beyond the caps.
    pub fn check(&self) -> Result<()> {
        let ok = self.memory_kib >= Self::MIN.memory_kib
            && self.memory_kib <= Self::MAX_MEMORY_KIB
            && self.iterations >= Self::MIN.iterations
            && self.iterations <= Self::MAX_ITERATIONS
            && (1..=Self::MAX_PARALLELISM).contains(&self.parallelism)
            && self.memory_kib >= 8 * self.parallelism;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidInput(
                "passcode key derivation parameters out of range".into(),
            ))
        }
    }
}

/// `argon2id(passcode, salt, params)`, 32 bytes.
pub fn stretch(passcode: &[u8], salt: &[u8; 16], params: &KdfParams) -> Result<Key32> {
    params.check()?;
    let p = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|_| Error::InvalidInput("passcode key derivation parameters out of range".into()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut blocks = vec![Block::default(); argon.params().block_count()];
    let mut out = Zeroizing::new([0u8; 32]);
    let r = argon.hash_password_into_with_memory(passcode, salt, out.as_mut(), &mut blocks);
    // The memory holds material derived from the passcode: wipe it before it is freed.
    for b in blocks.iter_mut() {
        *b = Block::default();
    }
    r.map_err(|_| Error::Internal("passcode key derivation failed"))?;
    Ok(out)
}

/// The key-encryption key from the stretched passcode and the key store's secret.
pub fn kek(stretched: &[u8; 32], secret: &[u8; 32], salt: &[u8; 16]) -> Result<Key32> {
    let mut ikm = Zeroizing::new([0u8; 64]);
    ikm[..32].copy_from_slice(stretched);
    ikm[32..].copy_from_slice(secret);
    crypto::derive_salted(salt, ikm.as_ref(), &[KEK_INFO])
}

/// A parsed wrapped key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wrapped {
    /// The derivation's parameters.
    pub params: KdfParams,
    /// The argon2id salt (also HKDF's).
    pub salt: [u8; 16],
    /// The slots, each `nonce ‖ ciphertext ‖ tag`.
    pub slots: [[u8; SLOT_LEN]; SLOTS as usize],
}

impl Wrapped {
    /// The header bytes (every slot's associated data starts with them).
    pub fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(MAGIC);
        h[4] = VERSION;
        h[5] = ARGON2ID_13;
        h[6..10].copy_from_slice(&self.params.memory_kib.to_be_bytes());
        h[10..14].copy_from_slice(&self.params.iterations.to_be_bytes());
        h[14..18].copy_from_slice(&self.params.parallelism.to_be_bytes());
        h[18..34].copy_from_slice(&self.salt);
        h[34] = SLOTS;
        h
    }

    /// The stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.extend_from_slice(&self.header());
        for s in &self.slots {
            out.extend_from_slice(s);
        }
        out
    }

    /// Reads the stored form; anything else (another length, version, algorithm, parameters out
    /// of range) is `Corrupt`.
    pub fn from_bytes(b: &[u8]) -> Result<Wrapped> {
        let bad = Error::Corrupt("passcode wrap");
        if b.len() != WRAPPED_LEN
            || &b[..4] != MAGIC
            || b[4] != VERSION
            || b[5] != ARGON2ID_13
            || b[34] != SLOTS
        {
            return Err(bad);
        }
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let params = KdfParams {
            memory_kib: u32_at(6),
            iterations: u32_at(10),
            parallelism: u32_at(14),
        };
        params
            .check()
            .map_err(|_| Error::Corrupt("passcode wrap"))?;
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&b[18..34]);
        let mut slots = [[0u8; SLOT_LEN]; SLOTS as usize];
        for (i, s) in slots.iter_mut().enumerate() {
            let at = HEADER_LEN + i * SLOT_LEN;
            s.copy_from_slice(&b[at..at + SLOT_LEN]);
        }
        Ok(Wrapped {
            params,
            salt,
            slots,
        })
    }

    fn aad(&self, slot: usize) -> Vec<u8> {
        let mut aad = self.header().to_vec();
        aad.push(slot as u8);
        aad
    }

    /// Seals `key` into `slot` under `kek` with `nonce` (fresh: from the CSPRNG, or a vector's).
    pub fn seal(
        &mut self,
        slot: usize,
        kek: &[u8; 32],
        nonce: [u8; 12],
        key: &[u8; 32],
    ) -> Result<()> {
        let aad = self.aad(slot);
        let k = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, kek).map_err(|_| Error::Internal("key setup"))?,
        );
        let mut buf = Zeroizing::new(key.to_vec());
        k.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut *buf,
        )
        .map_err(|_| Error::Internal("seal failed"))?;
        let s = self
            .slots
            .get_mut(slot)
            .ok_or(Error::Internal("no such slot"))?;
        s[..12].copy_from_slice(&nonce);
        s[12..].copy_from_slice(&buf);
        Ok(())
    }

    /// Opens `slot` under `kek`: the master key, or `None` when this KEK does not open it.
    pub fn open(&self, slot: usize, kek: &[u8; 32]) -> Result<Option<Key32>> {
        let s = self
            .slots
            .get(slot)
            .ok_or(Error::Internal("no such slot"))?;
        let aad = self.aad(slot);
        let k = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, kek).map_err(|_| Error::Internal("key setup"))?,
        );
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&s[..12]);
        let mut buf = Zeroizing::new(s[12..].to_vec());
        let Ok(plain) = k.open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut buf[..],
        ) else {
            return Ok(None);
        };
        let mut out = Zeroizing::new([0u8; 32]);
        if plain.len() != 32 {
            return Err(Error::Corrupt("passcode wrap"));
        }
        out.copy_from_slice(plain);
        Ok(Some(out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// The vector of `docs/protocol.md`, "Passcode wrap": fixed passcode, salt, secret, parameters,
    /// nonces and master keys give these bytes.
    #[test]
    fn passcode_wrap_vector() {
        let params = KdfParams::MIN;
        let salt = [0x11u8; 16];
        let secret = [0x22u8; 32];
        let stretched = stretch(b"246810", &salt, &params).unwrap();
        let kek = kek(&stretched, &secret, &salt).unwrap();
        let mut w = Wrapped {
            params,
            salt,
            slots: [[0u8; SLOT_LEN]; 2],
        };
        w.seal(0, &kek, [0x33; 12], &[0x44; 32]).unwrap();
        w.seal(1, &kek, [0x55; 12], &[0x66; 32]).unwrap();
        let bytes = w.to_bytes();
        assert_eq!(bytes.len(), WRAPPED_LEN);
        assert_eq!(hex(stretched.as_ref()), VECTOR_STRETCHED);
        assert_eq!(hex(kek.as_ref()), VECTOR_KEK);
        assert_eq!(hex(&bytes), VECTOR_WRAPPED);
        let back = Wrapped::from_bytes(&bytes).unwrap();
        assert_eq!(*back.open(0, &kek).unwrap().unwrap(), [0x44; 32]);
        assert_eq!(*back.open(1, &kek).unwrap().unwrap(), [0x66; 32]);
        // Another secret (a copied file without the key store) or another passcode opens nothing.
        let other = super::kek(&stretched, &[0x23; 32], &salt).unwrap();
        assert!(back.open(0, &other).unwrap().is_none());
        let wrong = stretch(b"246811", &salt, &params).unwrap();
        let wrong = super::kek(&wrong, &secret, &salt).unwrap();
        assert!(back.open(0, &wrong).unwrap().is_none());
        // A slot moved to the other place, or a header changed, does not open.
        let mut swapped = back.clone();
        swapped.slots.swap(0, 1);
        assert!(swapped.open(0, &kek).unwrap().is_none());
        let mut b2 = bytes.clone();
        b2[9] ^= 1; // memory 8193 KiB: still in range, but the header no longer matches
        let changed = Wrapped::from_bytes(&b2).unwrap();
        assert!(changed.open(0, &kek).unwrap().is_none());
    }

    #[test]
    fn damaged_headers_are_refused() {
        let w = Wrapped {
            params: KdfParams::MIN,
            salt: [1; 16],
            slots: [[0; SLOT_LEN]; 2],
        };
        let b = w.to_bytes();
        assert!(Wrapped::from_bytes(&b).is_ok());
        assert!(Wrapped::from_bytes(&b[..b.len() - 1]).is_err());
        for at in [0usize, 4, 5, 34] {
            let mut c = b.clone();
            c[at] ^= 0x80;
            assert!(Wrapped::from_bytes(&c).is_err(), "byte {at}");
        }
        // Memory below the minimum or beyond the cap.
        let mut c = b.clone();
        c[6..10].copy_from_slice(&1024u32.to_be_bytes());
        assert!(Wrapped::from_bytes(&c).is_err());
        c[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Wrapped::from_bytes(&c).is_err());
    }

    // Computed with an independent implementation (Python's `cryptography`: Argon2id, HKDF,
    // ChaCha20Poly1305) from docs/protocol.md's description, and matched here.
    const VECTOR_STRETCHED: &str =
        "26f8469331b37857d53ab08eadb71b8509a5de9f7409e3d97e76289d1cb4d9df";
    const VECTOR_KEK: &str = "999668874c2cb20d18215e6b441c79c73bdd1e52ff10d1eed17efab78e14d9b5";
    const VECTOR_WRAPPED: &str = concat!(
        "5342504301010000200000000001000000011111111111111111111111111111111102",
        "3333333333333333333333331b8288aa4edccd465959c9a65e09a187292ca3cb3555486b25092e91966f265b7683d1d9f59bebdfa618b7510c715d7d",
        "555555555555555555555555787367180bdf54f31d5cc88a9b5604782a319d7e352007c7dce1140b38282bdbe14475e5b5507ce9fa2418451ea37563"
    );
}
