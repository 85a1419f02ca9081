//! Device identity: an Ed25519 signing key and an X25519 key-agreement key, both made on the vault's
//! first open, both kept sealed in the vault and never copied to another device. The device id is the
//! Ed25519 public key, so every envelope and request names a key anyone can verify against; the X25519
//! key receives space keys wrapped for this device (`crypto/keywrap.rs`). A person's device certificate
//! (`identity/person.rs`) binds both public keys to the person.
//!
//! Who is who lives in this folder: this file is the device; `person.rs` the person (root key,
//! recovery phrase, device certificates); `link.rs` adding a device by request and response codes.

use ring::signature::{Ed25519KeyPair, KeyPair};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use sebaya_proto::{DeviceId, EpochId, SpaceId};

use crate::crypto::keywrap::{self, KeyWrap};
use crate::crypto::{self, Key32};
use crate::error::{Error, Result};
use crate::store::Store;

mod api;
pub mod link;
pub mod person;

const SEED: &str = "device-signing-seed";
const X25519_SECRET: &str = "device-x25519-secret";

/// This device's keys. The Ed25519 seed and the X25519 secret are wiped when dropped (`Zeroizing`, and
/// x25519-dalek's zeroize-on-drop); the Ed25519 key pair is rebuilt on demand so no long-lived copy sits
/// in ring's (non-zeroizing) structures.
pub struct Identity {
    seed: Key32,
    x25519: StaticSecret,
    /// The device id (Ed25519 public key).
    pub device: DeviceId,
    /// The device's X25519 public key, which certificates carry and key wraps are made for.
    pub x25519_public: [u8; 32],
}

fn read_key(v: &[u8], what: &'static str) -> Result<Key32> {
    let arr: [u8; 32] = v.try_into().map_err(|_| Error::Corrupt(what))?;
    Ok(Zeroizing::new(arr))
}

impl Identity {
    /// Loads the device keys, creating each on the vault's first open (the X25519 key also on the first
    /// open of a vault made before devices had one).
    pub fn load_or_create(store: &Store) -> Result<Identity> {
        let seed = match store.kv_get(SEED)? {
            Some(v) => read_key(&v, "device key")?,
            None => {
                let s = crypto::random_key()?;
                store.kv_put(SEED, s.as_ref())?;
                s
            }
        };
        let x25519 = match store.kv_get(X25519_SECRET)? {
            Some(v) => StaticSecret::from(*read_key(&v, "device X25519 key")?),
            None => {
                let s = crypto::random_key()?;
                store.kv_put(X25519_SECRET, s.as_ref())?;
                StaticSecret::from(*s)
            }
        };
        let kp = Ed25519KeyPair::from_seed_unchecked(seed.as_ref())
            .map_err(|_| Error::Corrupt("device key"))?;
        let device = DeviceId::from_slice(kp.public_key().as_ref())?;
        let x25519_public = PublicKey::from(&x25519).to_bytes();
        Ok(Identity {
            seed,
            x25519,
            device,
            x25519_public,
        })
    }

    /// An identity whose keys derive from one seed and live only in memory: the index space's
    /// author, which any holder of the recovery phrase can act as (`space/index.rs`).
    pub(crate) fn derived(seed: Key32, x25519_label: &[u8]) -> Result<Identity> {
        let x = crypto::derive(seed.as_ref(), x25519_label)?;
        let x25519 = StaticSecret::from(*x);
        let kp = Ed25519KeyPair::from_seed_unchecked(seed.as_ref())
            .map_err(|_| Error::Internal("derived key"))?;
        let device = DeviceId::from_slice(kp.public_key().as_ref())?;
        let x25519_public = PublicKey::from(&x25519).to_bytes();
        Ok(Identity {
            seed,
            x25519,
            device,
            x25519_public,
        })
    }

    /// The signing key pair, built for one use.
    pub fn signing_key(&self) -> Result<Ed25519KeyPair> {
        Ed25519KeyPair::from_seed_unchecked(self.seed.as_ref())
            .map_err(|_| Error::Internal("device key"))
    }

    /// The X25519 secret's bytes, for the peer session's Noise handshake (`sync/peer.rs`), which needs
    /// them as its static key. Wiped when the returned value drops.
    pub(crate) fn x25519_secret(&self) -> Key32 {
        Zeroizing::new(self.x25519.to_bytes())
    }

    /// Opens a key wrapped for this device (for `space` in `epoch`) with the device's X25519 secret.
    /// Anything not made for exactly this device, space and epoch gives [`Error::BadKeyWrap`].
    pub fn unwrap_key(&self, wrap: &KeyWrap, space: &SpaceId, epoch: &EpochId) -> Result<Key32> {
        keywrap::unwrap(wrap, &self.x25519, space, epoch)
    }
}
