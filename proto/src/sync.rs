//! The sync exchange, one shape for every path (relay today; peer sessions and bundles later).
//!
//! The client sends, per space, its version vector and the envelopes it believes the other side lacks.
//! The other side stores what it lacks (verifying each envelope on its own) and answers with what the
//! client lacks plus its own vectors after storing, which acknowledge what it now holds. Large answers
//! are paged (`more`). Messages are CBOR with bounded sizes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::envelope::{DeviceId, SpaceId};
use crate::error::ProtoError;

/// Version of the exchange messages.
pub const SYNC_VERSION: u8 = 1;
/// Largest request or response body either side accepts.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;
/// Most spaces one request may name.
pub const MAX_SPACES: usize = 4096;
/// Most envelopes one message may carry.
pub const MAX_ENVELOPES: usize = 100_000;
/// Most authors one vector may list.
pub const MAX_AUTHORS: usize = 4096;

/// One space's vector on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceVector {
    /// The space.
    #[serde(with = "serde_bytes")]
    pub space: Vec<u8>,
    /// Pairs of (author device id, highest contiguous sequence number).
    pub vector: Vec<AuthorSeq>,
}

/// One vector entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorSeq {
    /// Author device id (32 bytes).
    #[serde(with = "serde_bytes")]
    pub author: Vec<u8>,
    /// Highest contiguous sequence number held.
    pub seq: u64,
}

/// A request from a device: its vectors and what it pushes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Message version ([`SYNC_VERSION`]).
    pub v: u8,
    /// The spaces to sync with the device's vector for each.
    pub spaces: Vec<SpaceVector>,
    /// Envelopes pushed (whole envelope bytes).
    pub envelopes: Vec<serde_bytes::ByteBuf>,
    /// Largest answer the device wants in one page (the relay may send less).
    pub max_response_bytes: u64,
}

/// Why one pushed envelope was not stored. The rest of the request still counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Index into the request's `envelopes`.
    pub index: u32,
    /// Machine-readable reason code (`bad-signature`, `malformed`, `conflict`, `not-requested-space`…).
    pub reason: String,
}

/// The answer: what the device lacks, and acknowledgements.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Message version.
    pub v: u8,
    /// The responder's vectors after storing the pushed envelopes: the acknowledgement.
    pub spaces: Vec<SpaceVector>,
    /// Envelopes the device lacks (this page).
    pub envelopes: Vec<serde_bytes::ByteBuf>,
    /// Pushed envelopes that were refused, with reasons.
    pub rejected: Vec<Rejected>,
    /// True when more envelopes wait: send another request with the updated vectors.
    pub more: bool,
}

/// Encodes a message as CBOR.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, ProtoError> {
    let mut out = Vec::new();
    ciborium::into_writer(msg, &mut out).map_err(|e| ProtoError::Encode(e.to_string()))?;
    Ok(out)
}

/// Decodes a CBOR message after checking its size against [`MAX_MESSAGE_LEN`].
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ProtoError> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(ProtoError::TooLarge {
            what: "sync message",
            len: bytes.len() as u64,
            max: MAX_MESSAGE_LEN as u64,
        });
    }
    ciborium::de::from_reader_with_recursion_limit(bytes, 16)
        .map_err(|e| ProtoError::Decode(e.to_string()))
}

impl SpaceVector {
    /// Builds the wire form of one space's vector.
    pub fn new(space: SpaceId, vector: &BTreeMap<DeviceId, u64>) -> Self {
        SpaceVector {
            space: space.0.to_vec(),
            vector: vector
                .iter()
                .map(|(a, s)| AuthorSeq {
                    author: a.0.to_vec(),
                    seq: *s,
                })
                .collect(),
        }
    }

    /// Checks and converts the wire form: ids of the right length, bounded size, no duplicate author.
    pub fn parse(&self) -> Result<(SpaceId, BTreeMap<DeviceId, u64>), ProtoError> {
        let space = SpaceId::from_slice(&self.space)?;
        if self.vector.len() > MAX_AUTHORS {
            return Err(ProtoError::TooLarge {
                what: "vector",
                len: self.vector.len() as u64,
                max: MAX_AUTHORS as u64,
            });
        }
        let mut map = BTreeMap::new();
        for e in &self.vector {
            let a = DeviceId::from_slice(&e.author)?;
            if map.insert(a, e.seq).is_some() {
                return Err(ProtoError::Malformed("vector names an author twice"));
            }
        }
        Ok((space, map))
    }
}

impl SyncRequest {
    /// Checks the request's own limits (version, counts). Envelopes are checked one by one later.
    pub fn check(&self) -> Result<(), ProtoError> {
        if self.v != SYNC_VERSION {
            return Err(ProtoError::Malformed("unsupported sync message version"));
        }
        if self.spaces.len() > MAX_SPACES {
            return Err(ProtoError::TooLarge {
                what: "space list",
                len: self.spaces.len() as u64,
                max: MAX_SPACES as u64,
            });
        }
        if self.envelopes.len() > MAX_ENVELOPES {
            return Err(ProtoError::TooLarge {
                what: "envelope list",
                len: self.envelopes.len() as u64,
                max: MAX_ENVELOPES as u64,
            });
        }
        Ok(())
    }
}

impl SyncResponse {
    /// Checks an answer's own limits before the requester acts on it.
    pub fn check(&self) -> Result<(), ProtoError> {
        if self.v != SYNC_VERSION {
            return Err(ProtoError::Malformed("unsupported sync message version"));
        }
        if self.spaces.len() > MAX_SPACES {
            return Err(ProtoError::TooLarge {
                what: "space list",
                len: self.spaces.len() as u64,
                max: MAX_SPACES as u64,
            });
        }
        if self.envelopes.len() > MAX_ENVELOPES || self.rejected.len() > MAX_ENVELOPES {
            return Err(ProtoError::TooLarge {
                what: "envelope list",
                len: self.envelopes.len().max(self.rejected.len()) as u64,
                max: MAX_ENVELOPES as u64,
            });
        }
        Ok(())
    }
}
