//! Device identity: an Ed25519 key made on first open and kept sealed in the vault. The device id is
//! its public key, so every envelope and request names a key anyone can verify against.

use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use sebaya_proto::DeviceId;

use crate::crypto::{self, Key32};
use crate::error::{Error, Result};
use crate::vault::Store;

const SEED: &str = "device-signing-seed";

/// This device's signing identity. The seed is wiped when dropped; the key pair is rebuilt on demand
/// so no long-lived copy sits in ring's (non-zeroizing) structures.
pub struct Identity {
    seed: Key32,
    /// The device id (Ed25519 public key).
    pub device: DeviceId,
}

impl Identity {
    /// Loads the device key, creating it on the vault's first open.
    pub fn load_or_create(store: &Store) -> Result<Identity> {
        let seed = match store.kv_get(SEED)? {
            Some(v) => {
                let arr: [u8; 32] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::Corrupt("device key"))?;
                Zeroizing::new(arr)
            }
            None => {
                let s = crypto::random_key()?;
                store.kv_put(SEED, s.as_ref())?;
                s
            }
        };
        let kp = Ed25519KeyPair::from_seed_unchecked(seed.as_ref())
            .map_err(|_| Error::Corrupt("device key"))?;
        let device = DeviceId::from_slice(kp.public_key().as_ref())?;
        Ok(Identity { seed, device })
    }

    /// The signing key pair, built for one use.
    pub fn signing_key(&self) -> Result<Ed25519KeyPair> {
        Ed25519KeyPair::from_seed_unchecked(self.seed.as_ref())
            .map_err(|_| Error::Internal("device key"))
    }
}
