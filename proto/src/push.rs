//! Registering for wake-ups (protocol section 28.9): a device gives the relay its Web Push
//! subscription, so that the relay can wake it when a space it reads receives something while it is
//! not online (28.8). Signed like a sync (section 10) for the path [`PUSH_PATH`]: the relay keeps at
//! most one subscription per device, and only the device itself can set or remove it.

use serde::{Deserialize, Serialize};

use crate::error::ProtoError;

/// Version of the registration messages.
pub const PUSH_VERSION: u8 = 1;
/// Path of the registration endpoint, exactly as signed.
pub const PUSH_PATH: &str = "/v1/push";
/// Longest endpoint URL taken, in bytes. Push services' endpoints are a few hundred bytes; the bound
/// keeps what a device can make the relay store small.
pub const MAX_ENDPOINT_LEN: usize = 1024;
/// An uncompressed P-256 point.
pub const P256DH_LEN: usize = 65;
/// The subscription's auth secret.
pub const AUTH_LEN: usize = 16;

/// A Web Push subscription, as the device's push service gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscription {
    /// Where wake-ups are posted (`https`).
    pub endpoint: String,
    /// The subscription's public key, uncompressed (65 bytes, `04 ‖ x ‖ y`).
    pub p256dh: serde_bytes::ByteBuf,
    /// The subscription's 16-byte secret.
    pub auth: serde_bytes::ByteBuf,
}

/// What a device sends to `POST /v1/push`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    /// Message version ([`PUSH_VERSION`]).
    pub v: u8,
    /// The subscription to keep for the signing device, replacing any earlier one; `null` removes it.
    pub subscription: Option<PushSubscription>,
}

/// The relay's answer: the public key its wake-ups are signed with (VAPID, RFC 8292), which the
/// device gives its push service as `applicationServerKey` so that only this relay can push to the
/// subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Message version ([`PUSH_VERSION`]).
    pub v: u8,
    /// The relay's VAPID public key, uncompressed (65 bytes).
    pub key: serde_bytes::ByteBuf,
}

impl PushRequest {
    /// Checks the request's own limits: version, lengths and the key's form. Whether the endpoint is
    /// a URL the relay will post to is the relay's to judge.
    pub fn check(&self) -> Result<(), ProtoError> {
        if self.v != PUSH_VERSION {
            return Err(ProtoError::Malformed("unsupported push message version"));
        }
        let Some(s) = &self.subscription else {
            return Ok(());
        };
        if s.endpoint.is_empty() {
            return Err(ProtoError::Malformed("an empty push endpoint"));
        }
        if s.endpoint.len() > MAX_ENDPOINT_LEN {
            return Err(ProtoError::TooLarge {
                what: "push endpoint",
                len: s.endpoint.len() as u64,
                max: MAX_ENDPOINT_LEN as u64,
            });
        }
        if s.p256dh.len() != P256DH_LEN || s.p256dh.first() != Some(&0x04) {
            return Err(ProtoError::Malformed(
                "a push key that is not an uncompressed P-256 point",
            ));
        }
        if s.auth.len() != AUTH_LEN {
            return Err(ProtoError::Malformed(
                "a push auth secret that is not 16 bytes",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn request() -> PushRequest {
        let mut p256dh = vec![0x04];
        p256dh.extend([0x11; 64]);
        PushRequest {
            v: 1,
            subscription: Some(PushSubscription {
                endpoint: "https://push.example.net/s/1".into(),
                p256dh: serde_bytes::ByteBuf::from(p256dh),
                auth: serde_bytes::ByteBuf::from(vec![0x22; 16]),
            }),
        }
    }

    /// Protocol 28.9's vectors: the request and the removal, byte for byte.
    #[test]
    fn the_vectors_are_as_specified() {
        let bytes = crate::sync::encode(&request()).unwrap();
        let expected = concat!(
            "a26176016c737562736372697074696f6ea368656e64706f696e74781c68747470733a2f2f70",
            "7573682e6578616d706c652e6e65742f732f3166703235366468584104111111111111111111",
            "1111111111111111111111111111111111111111111111111111111111111111111111111111",
            "1111111111111111111111111111111111646175746850222222222222222222222222222222",
            "22"
        );
        assert_eq!(hex::encode(&bytes), expected);
        let back: PushRequest = crate::sync::decode(&bytes).unwrap();
        assert_eq!(back, request());
        let removal = PushRequest {
            v: 1,
            subscription: None,
        };
        assert_eq!(
            hex::encode(crate::sync::encode(&removal).unwrap()),
            "a26176016c737562736372697074696f6ef6"
        );
        let doc = include_str!("../../docs/protocol.md");
        assert!(
            doc.replace('\n', "").contains(expected),
            "protocol 28.9 lacks the vector"
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        let mut r = request();
        r.v = 2;
        assert!(r.check().is_err());
        for edit in [
            |s: &mut PushSubscription| s.endpoint.clear(),
            |s: &mut PushSubscription| s.endpoint = "x".repeat(MAX_ENDPOINT_LEN + 1),
            |s: &mut PushSubscription| s.p256dh.truncate(64),
            |s: &mut PushSubscription| s.p256dh[0] = 0x02,
            |s: &mut PushSubscription| s.auth.push(0),
        ] {
            let mut r = request();
            edit(r.subscription.as_mut().unwrap());
            assert!(r.check().is_err());
        }
        assert!(request().check().is_ok());
        assert!(
            PushRequest {
                v: 1,
                subscription: None
            }
            .check()
            .is_ok()
        );
    }
}
