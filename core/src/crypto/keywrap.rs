//! Wrapping a 32-byte key (a space's epoch key) for one recipient device's X25519 public key, so that
//! only that device can open it, and only for the space and epoch it was made for.
//!
//! Construction (`docs/protocol.md`, section 16.4): the sender makes a fresh ephemeral X25519 key;
//! `shared = X25519(ephemeral secret, recipient public)`, refused if all zero (a low-order point);
//! `k = HKDF-SHA256(salt = ephemeral public ‖ recipient public, IKM = shared,
//! info = "sebaya/v1/key-wrap" ‖ space id ‖ epoch id)`; then ChaCha20-Poly1305 under `k` with a random
//! nonce and associated data `space id ‖ epoch id ‖ recipient public`. The wrap is
//! `v (1) ‖ ephemeral public (32) ‖ nonce (12) ‖ ciphertext and tag (48)`: 93 bytes.
//!
//! The ephemeral key is an x25519-dalek `StaticSecret` made from 32 fresh bytes of the system's random
//! generator and dropped (wiped) after one use: x25519-dalek is the crate the receiving side needs
//! anyway, so both sides run one X25519 implementation, and unlike `EphemeralSecret` (or ring's
//! agreement keys) it can be built from fixed bytes, so the test vectors run through the very code that
//! wraps in production. Pure computation, no I/O: safe on any thread.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use sebaya_proto::identity::is_weak_x25519;
use sebaya_proto::{EpochId, SpaceId};

use crate::crypto::{self, Key32};
use crate::error::{Error, Result};

/// Domain label of the key-wrap key derivation (HKDF info prefix). No other derivation uses it.
pub const KEY_WRAP_LABEL: &[u8] = b"sebaya/v1/key-wrap";
/// Version byte of a key wrap.
pub const KEY_WRAP_V1: u8 = 1;
/// Length of a wrapped 32-byte key: version, ephemeral public key, nonce, ciphertext and tag.
pub const KEY_WRAP_LEN: usize = 1 + 32 + 12 + 32 + 16;

/// One key wrapped for one device. Public data: it may travel in the clear inside a key-wraps
/// envelope; only the recipient's X25519 secret opens it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyWrap {
    /// The sender's one-time X25519 public key.
    pub ephemeral: [u8; 32],
    /// ChaCha20-Poly1305 nonce (random; the key is fresh for every wrap anyway).
    pub nonce: [u8; 12],
    /// The wrapped key, encrypted, followed by the 16-byte tag.
    pub ciphertext: [u8; 48],
}

impl KeyWrap {
    /// The wire form: `1 ‖ ephemeral ‖ nonce ‖ ciphertext`, [`KEY_WRAP_LEN`] bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(KEY_WRAP_LEN);
        out.push(KEY_WRAP_V1);
        out.extend_from_slice(&self.ephemeral);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Reads the wire form. A wrong length or version gives [`Error::BadKeyWrap`].
    pub fn from_bytes(bytes: &[u8]) -> Result<KeyWrap> {
        if bytes.len() != KEY_WRAP_LEN || bytes[0] != KEY_WRAP_V1 {
            return Err(Error::BadKeyWrap);
        }
        let mut w = KeyWrap {
            ephemeral: [0; 32],
            nonce: [0; 12],
            ciphertext: [0; 48],
        };
        w.ephemeral.copy_from_slice(&bytes[1..33]);
        w.nonce.copy_from_slice(&bytes[33..45]);
        w.ciphertext.copy_from_slice(&bytes[45..]);
        Ok(w)
    }
}

/// `space ‖ epoch ‖ recipient public`: the associated data that binds a wrap to its place.
fn associated_data(space: &SpaceId, epoch: &EpochId, recipient: &[u8; 32]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(16 + 32 + 32);
    ad.extend_from_slice(&space.0);
    ad.extend_from_slice(&epoch.0);
    ad.extend_from_slice(recipient);
    ad
}

/// The AEAD key of one wrap, from the X25519 shared secret (refused if all zero).
fn wrap_key(
    shared: &x25519_dalek::SharedSecret,
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
    space: &SpaceId,
    epoch: &EpochId,
) -> Result<LessSafeKey> {
    if !shared.was_contributory() {
        return Err(Error::BadKeyWrap);
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let k = crypto::derive_salted(
        &salt,
        shared.as_bytes(),
        &[KEY_WRAP_LABEL, &space.0, &epoch.0],
    )?;
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, k.as_ref())
        .map_err(|_| Error::Internal("key setup"))?;
    Ok(LessSafeKey::new(unbound))
}

/// Wraps `key` for the device whose X25519 public key is `recipient`, for `space` in `epoch`, with a
/// fresh ephemeral key and nonce. A low-order recipient key is refused ([`Error::InvalidInput`]): a
/// wrap for it would be readable by anyone.
pub fn wrap(
    key: &[u8; 32],
    recipient: &[u8; 32],
    space: &SpaceId,
    epoch: &EpochId,
) -> Result<KeyWrap> {
    let ephemeral = StaticSecret::from(*crypto::random_key()?);
    let nonce: [u8; 12] = crypto::random()?;
    wrap_with(ephemeral, nonce, key, recipient, space, epoch)
}

/// [`wrap`] with the ephemeral secret and nonce given: the one code path behind `wrap`, and the one the
/// test vectors fix. The ephemeral secret is consumed (and wiped when dropped).
pub(crate) fn wrap_with(
    ephemeral: StaticSecret,
    nonce: [u8; 12],
    key: &[u8; 32],
    recipient: &[u8; 32],
    space: &SpaceId,
    epoch: &EpochId,
) -> Result<KeyWrap> {
    if is_weak_x25519(recipient) {
        return Err(Error::InvalidInput(
            "the recipient's X25519 key has low order".into(),
        ));
    }
    let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
    let shared = ephemeral.diffie_hellman(&PublicKey::from(*recipient));
    drop(ephemeral);
    let aead = wrap_key(&shared, &ephemeral_public, recipient, space, epoch).map_err(|e| {
        match e {
            // Only a low-order recipient makes the secret zero, and that was refused above.
            Error::BadKeyWrap => {
                Error::InvalidInput("the recipient's X25519 key has low order".into())
            }
            other => other,
        }
    })?;
    let mut buf = Zeroizing::new(Vec::with_capacity(48));
    buf.extend_from_slice(key);
    aead.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(associated_data(space, epoch, recipient)),
        &mut *buf,
    )
    .map_err(|_| Error::Internal("seal failed"))?;
    let ciphertext: [u8; 48] = buf
        .as_slice()
        .try_into()
        .map_err(|_| Error::Internal("wrap length"))?;
    Ok(KeyWrap {
        ephemeral: ephemeral_public,
        nonce,
        ciphertext,
    })
}

/// Opens a wrap with the recipient device's X25519 secret. A wrap for another device, space or epoch,
/// an altered byte, or an ephemeral key of low order (all-zero shared secret) gives
/// [`Error::BadKeyWrap`] and reveals nothing else.
pub fn unwrap(
    wrap: &KeyWrap,
    secret: &StaticSecret,
    space: &SpaceId,
    epoch: &EpochId,
) -> Result<Key32> {
    let recipient = PublicKey::from(secret).to_bytes();
    let shared = secret.diffie_hellman(&PublicKey::from(wrap.ephemeral));
    let aead = wrap_key(&shared, &wrap.ephemeral, &recipient, space, epoch)?;
    let mut buf = Zeroizing::new(wrap.ciphertext.to_vec());
    let plain = aead
        .open_in_place(
            Nonce::assume_unique_for_key(wrap.nonce),
            Aad::from(associated_data(space, epoch, &recipient)),
            buf.as_mut_slice(),
        )
        .map_err(|_| Error::BadKeyWrap)?;
    let arr: [u8; 32] = (&*plain).try_into().map_err(|_| Error::BadKeyWrap)?;
    Ok(Zeroizing::new(arr))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    // Inputs of the test vector (docs/protocol.md, section 16.5).
    const EPHEMERAL_SECRET: [u8; 32] = [0x91; 32];
    const RECIPIENT_SECRET: [u8; 32] = [0x92; 32];
    const NONCE: [u8; 12] = [0x93; 12];
    const KEY: [u8; 32] = [0x94; 32];
    const SPACE: SpaceId = SpaceId([0x22; 16]);
    const EPOCH: EpochId = EpochId([0x33; 32]);

    // Expected outputs (lowercase hex).
    const EPHEMERAL_PUBLIC_HEX: &str =
        "0791f592e9fdf04d44d7e0e23500b6ccf035be69667647589967e6b612a13150";
    const RECIPIENT_PUBLIC_HEX: &str =
        "79fcf7f4c04d3277b425449f0d32209342908b4bc3772dfabe315f82034f6e64";
    const SHARED_HEX: &str = "0df6dc26b498408f41d8960dc78ba937ee66ccc9e8ada1467f67abaef52ec15a";
    const WRAP_KEY_HEX: &str = "36845734393bd991d5ea8267ee2cbb0361462a05ff4482be81668ebb7bc4e9ee";
    const WRAP_HEX: &str = concat!(
        "010791f592e9fdf04d44d7e0e23500b6ccf035be69667647589967e6b612a131",
        "50939393939393939393939393c5887ca9316cd8024d32674310dd143353395b",
        "e32390c38af0cf464b46e5543c67398015bd958f6ca44cfb5a1432e9d6",
    );

    fn vector_wrap() -> KeyWrap {
        let recipient = PublicKey::from(&StaticSecret::from(RECIPIENT_SECRET)).to_bytes();
        wrap_with(
            StaticSecret::from(EPHEMERAL_SECRET),
            NONCE,
            &KEY,
            &recipient,
            &SPACE,
            &EPOCH,
        )
        .unwrap()
    }

    fn vector_aead_key() -> [u8; 32] {
        let e = StaticSecret::from(EPHEMERAL_SECRET);
        let r = StaticSecret::from(RECIPIENT_SECRET);
        let (ep, rp) = (PublicKey::from(&e), PublicKey::from(&r));
        let shared = e.diffie_hellman(&rp);
        let mut salt = ep.to_bytes().to_vec();
        salt.extend_from_slice(rp.as_bytes());
        *crypto::derive_salted(
            &salt,
            shared.as_bytes(),
            &[KEY_WRAP_LABEL, &SPACE.0, &EPOCH.0],
        )
        .unwrap()
    }

    #[test]
    #[ignore]
    fn print_vectors() {
        let e = StaticSecret::from(EPHEMERAL_SECRET);
        let r = StaticSecret::from(RECIPIENT_SECRET);
        println!(
            "ephemeral public {}",
            hex::encode(PublicKey::from(&e).as_bytes())
        );
        println!(
            "recipient public {}",
            hex::encode(PublicKey::from(&r).as_bytes())
        );
        println!(
            "shared {}",
            hex::encode(e.diffie_hellman(&PublicKey::from(&r)).as_bytes())
        );
        println!("wrap key {}", hex::encode(vector_aead_key()));
        println!("wrap {}", hex::encode(vector_wrap().to_bytes()));
    }

    #[test]
    fn vector_is_byte_exact_and_documented() {
        let e = StaticSecret::from(EPHEMERAL_SECRET);
        let r = StaticSecret::from(RECIPIENT_SECRET);
        assert_eq!(
            hex::encode(PublicKey::from(&e).as_bytes()),
            EPHEMERAL_PUBLIC_HEX
        );
        assert_eq!(
            hex::encode(PublicKey::from(&r).as_bytes()),
            RECIPIENT_PUBLIC_HEX
        );
        assert_eq!(
            hex::encode(e.diffie_hellman(&PublicKey::from(&r)).as_bytes()),
            SHARED_HEX
        );
        assert_eq!(hex::encode(vector_aead_key()), WRAP_KEY_HEX);
        let w = vector_wrap();
        assert_eq!(hex::encode(w.to_bytes()), WRAP_HEX);
        assert_eq!(w.to_bytes().len(), KEY_WRAP_LEN);
        assert_eq!(*unwrap(&w, &r, &SPACE, &EPOCH).unwrap(), KEY);

        // Independently of `wrap_with`: ChaCha20-Poly1305 by hand with the documented key and AD.
        let k = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &vector_aead_key()).unwrap());
        let mut ad = SPACE.0.to_vec();
        ad.extend_from_slice(&EPOCH.0);
        ad.extend_from_slice(PublicKey::from(&r).as_bytes());
        let mut buf = KEY.to_vec();
        k.seal_in_place_append_tag(Nonce::assume_unique_for_key(NONCE), Aad::from(ad), &mut buf)
            .unwrap();
        assert_eq!(buf, w.ciphertext);

        let doc = include_str!("../../../docs/protocol.md").replace(['\n', ' '], "");
        for h in [
            EPHEMERAL_PUBLIC_HEX,
            RECIPIENT_PUBLIC_HEX,
            SHARED_HEX,
            WRAP_KEY_HEX,
            WRAP_HEX,
        ] {
            assert!(doc.contains(h), "{h} is not in docs/protocol.md");
        }
    }

    #[test]
    fn round_trip_with_fresh_ephemeral_keys() {
        let r = StaticSecret::from(*crypto::random_key().unwrap());
        let rp = PublicKey::from(&r).to_bytes();
        let key = crypto::random_key().unwrap();
        let a = wrap(&key, &rp, &SPACE, &EPOCH).unwrap();
        let b = wrap(&key, &rp, &SPACE, &EPOCH).unwrap();
        assert_ne!(a.ephemeral, b.ephemeral, "ephemeral keys must be fresh");
        assert_ne!(a.ciphertext, b.ciphertext);
        let again = KeyWrap::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(*unwrap(&again, &r, &SPACE, &EPOCH).unwrap(), *key);
        assert_eq!(*unwrap(&b, &r, &SPACE, &EPOCH).unwrap(), *key);
    }

    #[test]
    fn wrong_recipient_space_or_epoch_fails() {
        let w = vector_wrap();
        let other = StaticSecret::from([0x95; 32]);
        assert!(matches!(
            unwrap(&w, &other, &SPACE, &EPOCH),
            Err(Error::BadKeyWrap)
        ));
        let r = StaticSecret::from(RECIPIENT_SECRET);
        assert!(matches!(
            unwrap(&w, &r, &SpaceId([0x23; 16]), &EPOCH),
            Err(Error::BadKeyWrap)
        ));
        assert!(matches!(
            unwrap(&w, &r, &SPACE, &EpochId([0x34; 32])),
            Err(Error::BadKeyWrap)
        ));
    }

    #[test]
    fn every_flipped_bit_fails() {
        let bytes = vector_wrap().to_bytes();
        let r = StaticSecret::from(RECIPIENT_SECRET);
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            let got = KeyWrap::from_bytes(&b).and_then(|w| unwrap(&w, &r, &SPACE, &EPOCH));
            assert!(matches!(got, Err(Error::BadKeyWrap)), "bit {i}");
        }
        for n in [0, 1, KEY_WRAP_LEN - 1, KEY_WRAP_LEN + 1] {
            let mut b = bytes.clone();
            b.resize(n, 0);
            assert!(matches!(KeyWrap::from_bytes(&b), Err(Error::BadKeyWrap)));
        }
    }

    #[test]
    fn low_order_points_are_refused() {
        let r = StaticSecret::from(RECIPIENT_SECRET);
        let good = vector_wrap();
        for point in low_order_points() {
            // As the ephemeral key of a received wrap: the shared secret is zero, so it is refused
            // before any key is derived.
            let w = KeyWrap {
                ephemeral: point,
                ..good.clone()
            };
            assert!(matches!(
                unwrap(&w, &r, &SPACE, &EPOCH),
                Err(Error::BadKeyWrap)
            ));
            // As a recipient key: wrapping for it is refused.
            assert!(matches!(
                wrap(&KEY, &point, &SPACE, &EPOCH),
                Err(Error::InvalidInput(_))
            ));
        }
    }

    /// Every small-order point of the proto list (with and without bit 255), checked here to really
    /// give the all-zero secret with x25519-dalek, so the list itself is verified.
    fn low_order_points() -> Vec<[u8; 32]> {
        let mut out = Vec::new();
        let mut candidates = vec![[0u8; 32]];
        let mut one = [0u8; 32];
        one[0] = 1;
        candidates.push(one);
        candidates.push(
            hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
                .unwrap()
                .try_into()
                .unwrap(),
        );
        candidates.push(
            hex::decode("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")
                .unwrap()
                .try_into()
                .unwrap(),
        );
        for first in [0xec, 0xed, 0xee] {
            let mut k = [0xff; 32];
            k[0] = first;
            k[31] = 0x7f;
            candidates.push(k);
        }
        let probe = StaticSecret::from(*crypto::random_key().unwrap());
        for c in candidates {
            for top in [0u8, 0x80] {
                let mut p = c;
                p[31] |= top;
                assert!(is_weak_x25519(&p));
                assert!(
                    !probe.diffie_hellman(&PublicKey::from(p)).was_contributory(),
                    "{} is not of low order",
                    hex::encode(p)
                );
                out.push(p);
            }
        }
        out
    }
}
