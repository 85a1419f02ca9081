//! Live sync (protocol section 28): an online device asks the relay to hold one request until one of
//! its spaces holds something the device lacks, so that a referral reaches an open app within a
//! moment instead of at the next sync.
//!
//! The request names spaces with the device's contiguous vector for each, exactly the
//! [`SpaceVector`] a sync sends: the relay compares them with what it holds, so the answer is right
//! whatever happened meanwhile (a relay restart, a missed wake-up, a sync on another connection)
//! and the relay keeps nothing per waiting device beyond the open request. It is signed like a sync
//! (section 9.6) for the path [`WAIT_PATH`]: no new signed construction, no new label.

use serde::{Deserialize, Serialize};

use crate::envelope::SpaceId;
use crate::error::ProtoError;
use crate::sync::{MAX_SPACES, SpaceVector};

/// Version of the wait messages.
pub const WAIT_VERSION: u8 = 1;
/// Path of the wait endpoint, exactly as signed.
pub const WAIT_PATH: &str = "/v1/wait";
/// Longest a relay holds a wait, whatever the device asks: under the read timeouts of common mobile
/// HTTP stacks (OkHttp and `URLSession` default to 10 s and 60 s of silence; carriers' proxies and
/// NATs often drop a silent connection after 30 s), so an answer comes before anything on the way
/// cuts the connection and the device cannot tell a cut from "nothing changed".
pub const MAX_WAIT_MS: u64 = 25_000;

/// What a waiting device sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitRequest {
    /// Message version ([`WAIT_VERSION`]).
    pub v: u8,
    /// The spaces to wait on, each with the device's contiguous vector (at least one, at most
    /// [`MAX_SPACES`], no space twice).
    pub spaces: Vec<SpaceVector>,
    /// How long the device is willing to wait, ms; the relay holds it at most [`MAX_WAIT_MS`].
    pub timeout_ms: u64,
}

/// The relay's answer to a wait: the spaces named in the request that the device may read and
/// that now hold something it lacks. Empty when the wait timed out (or the relay is shutting down).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitResponse {
    /// Message version ([`WAIT_VERSION`]).
    pub v: u8,
    /// Space ids (16 bytes each), in the order the request named them.
    pub changed: Vec<serde_bytes::ByteBuf>,
}

impl WaitRequest {
    /// Checks the request's own limits: version, a space list that is neither empty nor too long.
    /// Vectors are checked with [`SpaceVector::parse`] as they are read.
    pub fn check(&self) -> Result<(), ProtoError> {
        if self.v != WAIT_VERSION {
            return Err(ProtoError::Malformed("unsupported wait message version"));
        }
        if self.spaces.is_empty() {
            return Err(ProtoError::Malformed("a wait names no space"));
        }
        if self.spaces.len() > MAX_SPACES {
            return Err(ProtoError::TooLarge {
                what: "space list",
                len: self.spaces.len() as u64,
                max: MAX_SPACES as u64,
            });
        }
        Ok(())
    }
}

impl WaitResponse {
    /// An answer naming `changed`.
    pub fn new(changed: &[SpaceId]) -> WaitResponse {
        WaitResponse {
            v: WAIT_VERSION,
            changed: changed
                .iter()
                .map(|s| serde_bytes::ByteBuf::from(s.0.to_vec()))
                .collect(),
        }
    }

    /// The changed spaces, checked: the right version, at most [`MAX_SPACES`], ids of 16 bytes.
    pub fn spaces(&self) -> Result<Vec<SpaceId>, ProtoError> {
        if self.v != WAIT_VERSION {
            return Err(ProtoError::Malformed("unsupported wait message version"));
        }
        if self.changed.len() > MAX_SPACES {
            return Err(ProtoError::TooLarge {
                what: "space list",
                len: self.changed.len() as u64,
                max: MAX_SPACES as u64,
            });
        }
        self.changed
            .iter()
            .map(|s| SpaceId::from_slice(s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sync::{decode, encode};

    #[test]
    fn a_wait_round_trips_and_checks_its_limits() {
        let space = SpaceId([3; 16]);
        let req = WaitRequest {
            v: WAIT_VERSION,
            spaces: vec![SpaceVector::new(space, &Default::default())],
            timeout_ms: 10_000,
        };
        let back: WaitRequest = decode(&encode(&req).unwrap()).unwrap();
        assert_eq!(back, req);
        assert!(back.check().is_ok());
        let empty = WaitRequest {
            spaces: vec![],
            ..req.clone()
        };
        assert!(empty.check().is_err());
        let future = WaitRequest { v: 2, ..req };
        assert!(future.check().is_err());
    }

    /// The vector of protocol section 28.6.
    #[test]
    fn the_wait_vector_is_as_specified() {
        let req = WaitRequest {
            v: WAIT_VERSION,
            spaces: vec![SpaceVector::new(SpaceId([3; 16]), &Default::default())],
            timeout_ms: 10_000,
        };
        let hex: String = encode(&req)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "a36176016673706163657381a2657370616365500303030303030303030303030303030366766563746f72806a74696d656f75745f6d73192710"
        );
        let doc = include_str!("../../docs/protocol.md");
        assert!(doc.contains(&hex), "section 28.6 does not show the vector");
    }

    #[test]
    fn an_answer_names_its_spaces_and_refuses_a_bad_id() {
        let a = WaitResponse::new(&[SpaceId([1; 16]), SpaceId([2; 16])]);
        let back: WaitResponse = decode(&encode(&a).unwrap()).unwrap();
        assert_eq!(
            back.spaces().unwrap(),
            vec![SpaceId([1; 16]), SpaceId([2; 16])]
        );
        let bad = WaitResponse {
            v: WAIT_VERSION,
            changed: vec![serde_bytes::ByteBuf::from(vec![0u8; 3])],
        };
        assert!(bad.spaces().is_err());
    }
}
