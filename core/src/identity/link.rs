//! Linking a second device of the same person to their journal.
//!
//! Two codes, one each way, both small enough for a QR code (uppercase hex, QR's alphanumeric mode):
//! 1. the new device shows a **link request**: its device id and X25519 public key;
//! 2. the existing device scans it, adds the new device to the journal's membership log (a statement
//!    it signs as an admin), wraps the journal key for the new device's X25519 key, and shows a **link
//!    response**: the space id, the epoch, the wrap, and the membership envelopes of the journal;
//! 3. the new device opens the wrap with its own X25519 secret and checks that the log admits it.
//!
//! Nothing secret travels in the clear: a photographed response opens only on the device that asked.
//! The new device makes its own keys and is a new author; the first device's keys never leave it.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use sebaya_proto::{DeviceId, EpochId, SpaceId};

use crate::crypto::keywrap::KeyWrap;
use crate::error::{Error, Result};

/// Prefix of a link request, with its format version.
pub const REQUEST_PREFIX: &str = "SBYQ1";
/// Prefix of a link response, with its format version.
pub const RESPONSE_PREFIX: &str = "SBYA1";
/// Longest code accepted. A request (about 150 characters) always fits a QR code (at most 4,296
/// alphanumeric characters); a response carries the journal's membership log and grows with it, so it
/// may need a larger carrier (several QR codes, a local connection, a file).
pub const MAX_CODE_CHARS: usize = 128 * 1024;
/// Most membership envelopes (and earlier keys) a response may carry: a whole log.
const MAX_RESPONSE_ENVELOPES: usize = sebaya_proto::membership::MAX_STATEMENTS;

/// What the new device asks with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRequest {
    /// The new device's id (Ed25519 public key).
    pub device: DeviceId,
    /// The new device's X25519 public key, to wrap the journal key for.
    pub x25519: [u8; 32],
    /// The device's certificate from its person, when it has one: the log then records whose device
    /// it is, so the person's other devices can vouch themselves in later.
    pub certificate: Option<Vec<u8>>,
}

/// What the existing device answers with.
#[derive(Clone, Debug)]
pub struct LinkResponse {
    /// The journal's space id.
    pub space: SpaceId,
    /// Space kind byte (1 = journal).
    pub kind: u8,
    /// The epoch the wrapped key belongs to.
    pub epoch: EpochId,
    /// The journal key, wrapped for the requesting device.
    pub wrap: KeyWrap,
    /// The journal's membership envelopes, including the one that adds the requesting device.
    pub envelopes: Vec<Vec<u8>>,
    /// Earlier epoch keys sealed under the wrapped one, so the document's history opens.
    pub history: Vec<(EpochId, Vec<u8>)>,
    /// For a device linked to its person: its device certificate, signed by the person.
    pub certificate: Option<Vec<u8>>,
    /// For a device linked to its person: the person's index space (id, epoch, its key wrapped for
    /// the new device), from which the device finds every other space of the person.
    pub index: Option<LinkedIndex>,
}

/// The person's index as a link response hands it to a new device of the person.
#[derive(Clone, Debug)]
pub struct LinkedIndex {
    /// The index space.
    pub space: SpaceId,
    /// Its current epoch.
    pub epoch: EpochId,
    /// Its current key, wrapped for the new device.
    pub wrap: KeyWrap,
    /// Its earlier keys, sealed under the current one.
    pub history: Vec<(EpochId, Vec<u8>)>,
}

#[derive(Serialize, Deserialize)]
struct RequestWire {
    v: u8,
    device: ByteBuf,
    x25519: ByteBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate: Option<ByteBuf>,
}

#[derive(Serialize, Deserialize)]
struct ResponseWire {
    v: u8,
    space: ByteBuf,
    kind: u8,
    epoch: ByteBuf,
    wrap: ByteBuf,
    envelopes: Vec<ByteBuf>,
    #[serde(default)]
    history: Vec<(ByteBuf, ByteBuf)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate: Option<ByteBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    index: Option<IndexWire>,
}

#[derive(Serialize, Deserialize)]
struct IndexWire {
    space: ByteBuf,
    epoch: ByteBuf,
    wrap: ByteBuf,
    history: Vec<(ByteBuf, ByteBuf)>,
}

fn to_cbor<T: Serialize>(msg: &T) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    ciborium::into_writer(msg, &mut out).map_err(|_| Error::Internal("encode link code"))?;
    Ok(out)
}

fn from_cbor<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    ciborium::de::from_reader_with_recursion_limit(bytes, 8).map_err(|_| Error::BadLinkCode)
}

fn encode<T: Serialize>(prefix: &str, msg: &T) -> Result<String> {
    Ok(format!("{prefix}{}", hex::encode_upper(to_cbor(msg)?)))
}

fn decode<T: for<'de> Deserialize<'de>>(prefix: &str, code: &str) -> Result<T> {
    let code = code.trim();
    if code.len() > MAX_CODE_CHARS {
        return Err(Error::BadLinkCode);
    }
    let body = code.strip_prefix(prefix).ok_or(Error::BadLinkCode)?;
    let bytes = hex::decode(body).map_err(|_| Error::BadLinkCode)?;
    from_cbor(&bytes)
}

impl LinkRequest {
    /// The code the new device shows.
    pub fn to_code(&self) -> Result<String> {
        encode(
            REQUEST_PREFIX,
            &RequestWire {
                v: 1,
                device: ByteBuf::from(self.device.0.to_vec()),
                x25519: ByteBuf::from(self.x25519.to_vec()),
                certificate: self.certificate.clone().map(ByteBuf::from),
            },
        )
    }

    /// Reads a request code; anything malformed is [`Error::BadLinkCode`].
    pub fn from_code(code: &str) -> Result<LinkRequest> {
        let w: RequestWire = decode(REQUEST_PREFIX, code)?;
        if w.v != 1 {
            return Err(Error::BadLinkCode);
        }
        let device = DeviceId::from_slice(&w.device).map_err(|_| Error::BadLinkCode)?;
        let x25519: [u8; 32] = w
            .x25519
            .as_slice()
            .try_into()
            .map_err(|_| Error::BadLinkCode)?;
        if device.is_weak() || sebaya_proto::identity::is_weak_x25519(&x25519) {
            return Err(Error::BadLinkCode);
        }
        let certificate = match w.certificate {
            None => None,
            Some(c) => {
                let cert = crate::verify_device_certificate(&c).map_err(|_| Error::BadLinkCode)?;
                if cert.device != device || cert.x25519 != x25519 {
                    return Err(Error::BadLinkCode);
                }
                Some(c.into_vec())
            }
        };
        Ok(LinkRequest {
            device,
            x25519,
            certificate,
        })
    }

    /// The person the request's certificate names (checked when the request was read).
    pub fn person(&self) -> Option<[u8; 32]> {
        let c = self.certificate.as_ref()?;
        crate::verify_device_certificate(c).ok().map(|c| c.person.0)
    }
}

impl LinkResponse {
    /// The code the existing device shows.
    pub fn to_code(&self) -> Result<String> {
        encode(RESPONSE_PREFIX, &self.wire())
    }

    /// The binary form (CBOR, no prefix) that travels through the relay as a join answer, where
    /// the whole membership log of a large group fits (up to `invite::MAX_JOIN_ANSWER_LEN` bytes).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        to_cbor(&self.wire())
    }

    /// Reads the binary form; anything malformed is [`Error::BadLinkCode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<LinkResponse> {
        if bytes.len() > sebaya_proto::invite::MAX_JOIN_ANSWER_LEN {
            return Err(Error::BadLinkCode);
        }
        Self::from_wire(from_cbor(bytes)?)
    }

    fn wire(&self) -> ResponseWire {
        ResponseWire {
            v: 1,
            space: ByteBuf::from(self.space.0.to_vec()),
            kind: self.kind,
            epoch: ByteBuf::from(self.epoch.0.to_vec()),
            wrap: ByteBuf::from(self.wrap.to_bytes()),
            envelopes: self
                .envelopes
                .iter()
                .map(|e| ByteBuf::from(e.clone()))
                .collect(),
            history: self
                .history
                .iter()
                .map(|(e, k)| (ByteBuf::from(e.0.to_vec()), ByteBuf::from(k.clone())))
                .collect(),
            certificate: self.certificate.clone().map(ByteBuf::from),
            index: self.index.as_ref().map(|i| IndexWire {
                space: ByteBuf::from(i.space.0.to_vec()),
                epoch: ByteBuf::from(i.epoch.0.to_vec()),
                wrap: ByteBuf::from(i.wrap.to_bytes()),
                history: i
                    .history
                    .iter()
                    .map(|(e, k)| (ByteBuf::from(e.0.to_vec()), ByteBuf::from(k.clone())))
                    .collect(),
            }),
        }
    }

    /// Reads a response code; anything malformed is [`Error::BadLinkCode`]. The envelopes are checked
    /// one by one when the space takes them.
    pub fn from_code(code: &str) -> Result<LinkResponse> {
        Self::from_wire(decode(RESPONSE_PREFIX, code)?)
    }

    fn from_wire(w: ResponseWire) -> Result<LinkResponse> {
        if w.v != 1
            || w.envelopes.len() > MAX_RESPONSE_ENVELOPES
            || w.history.len() > MAX_RESPONSE_ENVELOPES
        {
            return Err(Error::BadLinkCode);
        }
        let mut history = Vec::with_capacity(w.history.len());
        for (e, k) in w.history {
            history.push((
                EpochId::from_slice(&e).map_err(|_| Error::BadLinkCode)?,
                k.into_vec(),
            ));
        }
        Ok(LinkResponse {
            space: SpaceId::from_slice(&w.space).map_err(|_| Error::BadLinkCode)?,
            kind: w.kind,
            epoch: EpochId::from_slice(&w.epoch).map_err(|_| Error::BadLinkCode)?,
            wrap: KeyWrap::from_bytes(&w.wrap).map_err(|_| Error::BadLinkCode)?,
            envelopes: w.envelopes.into_iter().map(|b| b.into_vec()).collect(),
            history,
            certificate: w.certificate.map(|c| c.into_vec()),
            index: match w.index {
                None => None,
                Some(i) => {
                    if i.history.len() > MAX_RESPONSE_ENVELOPES {
                        return Err(Error::BadLinkCode);
                    }
                    let mut history = Vec::with_capacity(i.history.len());
                    for (e, k) in i.history {
                        history.push((
                            EpochId::from_slice(&e).map_err(|_| Error::BadLinkCode)?,
                            k.into_vec(),
                        ));
                    }
                    Some(LinkedIndex {
                        space: SpaceId::from_slice(&i.space).map_err(|_| Error::BadLinkCode)?,
                        epoch: EpochId::from_slice(&i.epoch).map_err(|_| Error::BadLinkCode)?,
                        wrap: KeyWrap::from_bytes(&i.wrap).map_err(|_| Error::BadLinkCode)?,
                        history,
                    })
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn request_round_trip_and_refusals() {
        let r = LinkRequest {
            device: DeviceId([7; 32]),
            x25519: [9; 32],
            certificate: None,
        };
        let code = r.to_code().unwrap();
        assert!(code.starts_with(REQUEST_PREFIX));
        assert!(
            code.len() < 200,
            "a request fits a small QR code: {} chars",
            code.len()
        );
        assert_eq!(LinkRequest::from_code(&code).unwrap(), r);
        for bad in ["", "SBYQ1", "SBYQ1ZZ", "SBYA1A0", &code[..code.len() - 2]] {
            assert!(
                matches!(LinkRequest::from_code(bad), Err(Error::BadLinkCode)),
                "{bad}"
            );
        }
        let weak = LinkRequest {
            device: DeviceId([0; 32]),
            x25519: [9; 32],
            certificate: None,
        };
        assert!(matches!(
            LinkRequest::from_code(&weak.to_code().unwrap()),
            Err(Error::BadLinkCode)
        ));
        assert!(matches!(
            LinkRequest::from_code(&"A".repeat(MAX_CODE_CHARS + 1)),
            Err(Error::BadLinkCode)
        ));
    }
}
