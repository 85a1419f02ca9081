//! Signed relay requests. Devices have no passwords: every request is signed by the device key over a
//! label, the relay's id, the method, the path, a timestamp, a request id and the body's SHA-256. The
//! relay refuses a request outside its time window (answering with its own time, since field phones
//! often have wrong clocks) and refuses a request id it has already seen.

use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};

use crate::REQUEST_SIGNATURE_LABEL;
use crate::envelope::DeviceId;
use crate::error::ProtoError;

/// Header naming the signing device (hex Ed25519 public key).
pub const HEADER_DEVICE: &str = "sebaya-device";
/// Header with the request time, Unix seconds.
pub const HEADER_TIME: &str = "sebaya-time";
/// Header with the random 16-byte request id (hex).
pub const HEADER_REQUEST_ID: &str = "sebaya-request-id";
/// Header with the Ed25519 signature (hex).
pub const HEADER_SIGNATURE: &str = "sebaya-signature";
/// How far a request's time may be from the relay's clock, in seconds.
pub const TIME_WINDOW_SECS: u64 = 300;

/// The authentication fields of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestAuth {
    /// The signing device.
    pub device: DeviceId,
    /// Unix seconds at signing (by the device's corrected clock).
    pub timestamp: u64,
    /// Random, unique per request; the relay refuses repeats.
    pub request_id: [u8; 16],
    /// Ed25519 signature over [`signing_input`].
    pub signature: [u8; 64],
}

/// The exact bytes a request signature covers. Each variable field is length-prefixed (u32, big endian)
/// so no two different requests share an input.
pub fn signing_input(
    relay_id: &[u8],
    method: &str,
    path: &str,
    timestamp: u64,
    request_id: &[u8; 16],
    body: &[u8],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(128 + path.len());
    m.extend_from_slice(REQUEST_SIGNATURE_LABEL);
    for field in [relay_id, method.as_bytes(), path.as_bytes()] {
        m.extend_from_slice(&(field.len() as u32).to_be_bytes());
        m.extend_from_slice(field);
    }
    m.extend_from_slice(&timestamp.to_be_bytes());
    m.extend_from_slice(request_id);
    m.extend_from_slice(ring::digest::digest(&ring::digest::SHA256, body).as_ref());
    m
}

impl RequestAuth {
    /// Signs a request.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        key: &Ed25519KeyPair,
        device: DeviceId,
        relay_id: &[u8],
        method: &str,
        path: &str,
        timestamp: u64,
        request_id: [u8; 16],
        body: &[u8],
    ) -> Result<RequestAuth, ProtoError> {
        let sig = key.sign(&signing_input(
            relay_id,
            method,
            path,
            timestamp,
            &request_id,
            body,
        ));
        let signature: [u8; 64] = sig
            .as_ref()
            .try_into()
            .map_err(|_| ProtoError::Encode("signature length".into()))?;
        Ok(RequestAuth {
            device,
            timestamp,
            request_id,
            signature,
        })
    }

    /// Verifies the signature for this relay, method, path and body.
    pub fn verify(
        &self,
        relay_id: &[u8],
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(), ProtoError> {
        if self.device.is_weak() {
            return Err(ProtoError::BadSignature);
        }
        let msg = signing_input(
            relay_id,
            method,
            path,
            self.timestamp,
            &self.request_id,
            body,
        );
        UnparsedPublicKey::new(&ED25519, &self.device.0)
            .verify(&msg, &self.signature)
            .map_err(|_| ProtoError::BadSignature)
    }

    /// The four headers that carry this authentication.
    pub fn to_headers(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_DEVICE, self.device.to_hex()),
            (HEADER_TIME, self.timestamp.to_string()),
            (HEADER_REQUEST_ID, hex::encode(self.request_id)),
            (HEADER_SIGNATURE, hex::encode(self.signature)),
        ]
    }

    /// Reads the authentication from headers; `get` looks a header up by its lowercase name.
    pub fn from_headers<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<RequestAuth, ProtoError> {
        let field =
            |name: &'static str| get(name).ok_or(ProtoError::Malformed("missing signature header"));
        let device = DeviceId::from_hex(field(HEADER_DEVICE)?)?;
        let timestamp = field(HEADER_TIME)?
            .parse::<u64>()
            .map_err(|_| ProtoError::Malformed("time header is not a number"))?;
        let rid = hex::decode(field(HEADER_REQUEST_ID)?)
            .map_err(|_| ProtoError::Malformed("request id is not hex"))?;
        let request_id: [u8; 16] = rid
            .as_slice()
            .try_into()
            .map_err(|_| ProtoError::Malformed("request id must be 16 bytes"))?;
        let sig = hex::decode(field(HEADER_SIGNATURE)?)
            .map_err(|_| ProtoError::Malformed("signature is not hex"))?;
        let signature: [u8; 64] = sig
            .as_slice()
            .try_into()
            .map_err(|_| ProtoError::Malformed("signature must be 64 bytes"))?;
        Ok(RequestAuth {
            device,
            timestamp,
            request_id,
            signature,
        })
    }
}
