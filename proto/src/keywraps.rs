//! Key-wraps envelopes: how a new epoch key reaches the members who stay.
//!
//! After a rotation (a `Rotate` membership statement committing to a new key), the rotating admin
//! sends one `key-wraps` envelope: the new epoch key wrapped for each remaining device's X25519 key,
//! plus every earlier epoch key sealed under the new one, so members keep reading history. The
//! envelope is signed, not sealed: each wrap is encrypted for its one recipient, and a removed device
//! finds no wrap for itself. Receivers accept wraps only from the author of the rotation they belong
//! to, and check the unwrapped key against the rotation's commitment.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::envelope::{DeviceId, Envelope, EpochId, HeaderV1, Kind, SpaceId};
use crate::error::ProtoError;

/// Version of the key-wraps payload.
pub const KEY_WRAPS_VERSION: u8 = 1;
/// Length of one wrap (core's `KeyWrap` wire form: version, ephemeral key, nonce, ciphertext + tag).
pub const WRAP_LEN: usize = 93;
/// Length of one sealed earlier key (32-byte key + 16-byte tag).
pub const HISTORY_LEN: usize = 48;
/// Most wraps one envelope may carry (one per remaining device).
pub const MAX_WRAPS: usize = 4096;
/// Most earlier keys one envelope may carry.
pub const MAX_HISTORY: usize = 4096;

/// The payload of a `key-wraps` envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWrapSet {
    /// The epoch whose key is wrapped: the id of its `Rotate` statement.
    pub epoch: EpochId,
    /// (recipient device, wrap of the epoch key for that device's X25519 key).
    pub wraps: Vec<(DeviceId, Vec<u8>)>,
    /// (earlier epoch, its key sealed under this epoch's key).
    pub history: Vec<(EpochId, Vec<u8>)>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u8,
    epoch: ByteBuf,
    wraps: Vec<(ByteBuf, ByteBuf)>,
    history: Vec<(ByteBuf, ByteBuf)>,
}

impl KeyWrapSet {
    /// Canonical CBOR of the payload.
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        let w = Wire {
            v: KEY_WRAPS_VERSION,
            epoch: ByteBuf::from(self.epoch.0.to_vec()),
            wraps: self
                .wraps
                .iter()
                .map(|(d, w)| (ByteBuf::from(d.0.to_vec()), ByteBuf::from(w.clone())))
                .collect(),
            history: self
                .history
                .iter()
                .map(|(e, k)| (ByteBuf::from(e.0.to_vec()), ByteBuf::from(k.clone())))
                .collect(),
        };
        crate::sync::encode(&w)
    }

    /// Decodes and checks a payload: version, counts, lengths, no recipient or epoch twice.
    pub fn decode(bytes: &[u8]) -> Result<KeyWrapSet, ProtoError> {
        let w: Wire = crate::sync::decode(bytes)?;
        if w.v != KEY_WRAPS_VERSION {
            return Err(ProtoError::Malformed("unsupported key-wraps version"));
        }
        if w.wraps.len() > MAX_WRAPS || w.history.len() > MAX_HISTORY {
            return Err(ProtoError::TooLarge {
                what: "key-wraps list",
                len: w.wraps.len().max(w.history.len()) as u64,
                max: MAX_WRAPS as u64,
            });
        }
        let mut wraps = Vec::with_capacity(w.wraps.len());
        for (d, wrap) in w.wraps {
            if wrap.len() != WRAP_LEN {
                return Err(ProtoError::Malformed("a wrap has the wrong length"));
            }
            let d = DeviceId::from_slice(&d)?;
            if wraps.iter().any(|(x, _)| *x == d) {
                return Err(ProtoError::Malformed("a device has two wraps"));
            }
            wraps.push((d, wrap.into_vec()));
        }
        let mut history = Vec::with_capacity(w.history.len());
        for (e, k) in w.history {
            if k.len() != HISTORY_LEN {
                return Err(ProtoError::Malformed(
                    "a sealed earlier key has the wrong length",
                ));
            }
            let e = EpochId::from_slice(&e)?;
            if history.iter().any(|(x, _)| *x == e) {
                return Err(ProtoError::Malformed("an earlier epoch appears twice"));
            }
            history.push((e, k.into_vec()));
        }
        Ok(KeyWrapSet {
            epoch: EpochId::from_slice(&w.epoch)?,
            wraps,
            history,
        })
    }

    /// Carries the set in a signed (not sealed) v1 envelope of kind `key-wraps`, whose epoch field names
    /// the epoch being distributed.
    pub fn to_envelope(
        &self,
        space: SpaceId,
        author: DeviceId,
        seq: u64,
        signer: &ring::signature::Ed25519KeyPair,
    ) -> Result<Envelope, ProtoError> {
        let header = HeaderV1 {
            kind: Kind::KeyWraps,
            space,
            epoch: self.epoch,
            author,
            seq,
        };
        Envelope::seal_v1(header, &[0u8; 32], [0u8; 4], &self.encode()?, signer)
    }

    /// Reads the set out of a verified `key-wraps` envelope; its epoch must match the header's.
    pub fn from_envelope(envelope: &Envelope) -> Result<KeyWrapSet, ProtoError> {
        envelope.require_v1()?;
        envelope.verify()?;
        let h = envelope.header()?;
        if h.kind != Kind::KeyWraps {
            return Err(ProtoError::Malformed("not a key-wraps envelope"));
        }
        let set = KeyWrapSet::decode(envelope.payload()?)?;
        if set.epoch != h.epoch {
            return Err(ProtoError::Malformed(
                "key-wraps epoch differs from the envelope's",
            ));
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    #[test]
    fn round_trip_and_refusals() {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[0x11; 32]).unwrap();
        let author = DeviceId::from_slice(kp.public_key().as_ref()).unwrap();
        let set = KeyWrapSet {
            epoch: EpochId([5; 32]),
            wraps: vec![(DeviceId([7; 32]), vec![1; WRAP_LEN])],
            history: vec![(EpochId([3; 32]), vec![2; HISTORY_LEN])],
        };
        let env = set.to_envelope(SpaceId([9; 16]), author, 4, &kp).unwrap();
        assert_eq!(env.kind(), Kind::KeyWraps);
        let back = KeyWrapSet::from_envelope(&Envelope::parse(env.as_bytes()).unwrap()).unwrap();
        assert_eq!(back, set);
        let mut twice = set.clone();
        twice.wraps.push((DeviceId([7; 32]), vec![1; WRAP_LEN]));
        assert!(KeyWrapSet::decode(&twice.encode().unwrap()).is_err());
        let mut short = set.clone();
        short.wraps[0].1.pop();
        assert!(KeyWrapSet::decode(&short.encode().unwrap()).is_err());
        let mut bytes = env.into_bytes();
        let n = bytes.len();
        bytes[n - 70] ^= 1;
        assert!(KeyWrapSet::from_envelope(&Envelope::parse(&bytes).unwrap()).is_err());
    }
}
