//! The peer session's wire format (protocol section 25): framing on any reliable byte stream, the
//! Noise parameters and prologue, fragments inside Noise transport messages, and the messages two
//! devices exchange once both are authenticated.
//!
//! Pure encoding and decoding: the state machine that drives it lives in the core (`peer.rs`).
//! Everything here is bounded, so a hostile peer cannot make a device allocate more than one frame
//! (64 KiB) at a time, or one message ([`MAX_PEER_MESSAGE`]) in total.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::ProtoError;
use crate::sync::SpaceVector;

/// The Noise protocol name: XX (both static keys sent, encrypted), X25519, ChaCha20-Poly1305,
/// SHA-256. XX needs no prior knowledge of the other device's key, which two phones meeting in a
/// village do not have.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
/// Hashed into the handshake, so a session of another protocol (or another version) cannot be
/// spliced into this one.
pub const PROLOGUE: &[u8] = b"sebaya/v1/peer-session";
/// Version of the messages inside the session.
pub const PEER_VERSION: u8 = 1;
/// Largest Noise message (the Noise specification's limit), and so the largest frame body.
pub const MAX_NOISE_MESSAGE: usize = 65_535;
/// Poly1305 tag added to every transport message.
pub const TAG_LEN: usize = 16;
/// Largest fragment of a message inside one transport message (one flag byte goes first).
pub const MAX_FRAGMENT: usize = MAX_NOISE_MESSAGE - TAG_LEN - 1;
/// Largest message reassembled from fragments.
pub const MAX_PEER_MESSAGE: usize = 16 * 1024 * 1024;
/// Flag byte of a fragment that ends its message.
pub const FRAGMENT_LAST: u8 = 0;
/// Flag byte of a fragment that more fragments of the same message follow.
pub const FRAGMENT_MORE: u8 = 1;

/// Message types (the first byte of a reassembled message; CBOR follows).
pub mod kind {
    /// [`super::Hello`].
    pub const HELLO: u8 = 1;
    /// [`super::Vectors`].
    pub const VECTORS: u8 = 2;
    /// [`super::Chunk`].
    pub const CHUNK: u8 = 3;
    /// [`super::Ack`].
    pub const ACK: u8 = 4;
    /// [`super::Done`].
    pub const DONE: u8 = 5;
    /// [`super::Refuse`].
    pub const REFUSE: u8 = 6;
}

/// First message after the handshake: who this device is. The certificate's X25519 key must be the
/// handshake's remote static key, or the session ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PEER_VERSION`].
    pub v: u8,
    /// The device certificate (section 13), signed by its person's root key.
    pub cert: ByteBuf,
}

/// The sender's vectors for the spaces where it counts the receiver as a current member; nothing
/// about any other space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vectors {
    /// One entry per space, as in the relay exchange.
    pub spaces: Vec<SpaceVector>,
}

/// Envelopes the receiver lacks, numbered from 0 in sending order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// This chunk's number.
    pub n: u32,
    /// Whole envelopes.
    pub envelopes: Vec<ByteBuf>,
}

/// The receiver stored chunk `n` (durably, before answering).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The chunk acknowledged.
    pub n: u32,
    /// How many of its envelopes were new to the receiver.
    pub stored: u32,
}

/// The sender has sent every chunk it will send in this session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// How many chunks it sent.
    pub chunks: u32,
}

/// The sender ends the session: it shares no space with the receiver as a member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refuse {
    /// Machine-readable reason (`not-a-member`).
    pub reason: String,
}

/// A message of the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerMessage {
    /// See [`Hello`].
    Hello(Hello),
    /// See [`Vectors`].
    Vectors(Vectors),
    /// See [`Chunk`].
    Chunk(Chunk),
    /// See [`Ack`].
    Ack(Ack),
    /// See [`Done`].
    Done(Done),
    /// See [`Refuse`].
    Refuse(Refuse),
}

fn cbor<T: Serialize>(t: u8, body: &T) -> Result<Vec<u8>, ProtoError> {
    let mut out = vec![t];
    ciborium::into_writer(body, &mut out).map_err(|e| ProtoError::Encode(e.to_string()))?;
    Ok(out)
}

fn uncbor<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ProtoError> {
    ciborium::de::from_reader_with_recursion_limit(bytes, 16)
        .map_err(|e| ProtoError::Decode(e.to_string()))
}

impl PeerMessage {
    /// The message's type byte ([`kind`]).
    pub fn kind(&self) -> u8 {
        match self {
            PeerMessage::Hello(_) => kind::HELLO,
            PeerMessage::Vectors(_) => kind::VECTORS,
            PeerMessage::Chunk(_) => kind::CHUNK,
            PeerMessage::Ack(_) => kind::ACK,
            PeerMessage::Done(_) => kind::DONE,
            PeerMessage::Refuse(_) => kind::REFUSE,
        }
    }

    /// Encodes the message: its type byte, then its CBOR body.
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        match self {
            PeerMessage::Hello(m) => cbor(kind::HELLO, m),
            PeerMessage::Vectors(m) => cbor(kind::VECTORS, m),
            PeerMessage::Chunk(m) => cbor(kind::CHUNK, m),
            PeerMessage::Ack(m) => cbor(kind::ACK, m),
            PeerMessage::Done(m) => cbor(kind::DONE, m),
            PeerMessage::Refuse(m) => cbor(kind::REFUSE, m),
        }
    }

    /// Decodes a reassembled message; an unknown type, an oversized message or a body of the wrong
    /// shape is refused.
    pub fn decode(bytes: &[u8]) -> Result<PeerMessage, ProtoError> {
        if bytes.len() > MAX_PEER_MESSAGE {
            return Err(ProtoError::TooLarge {
                what: "peer message",
                len: bytes.len() as u64,
                max: MAX_PEER_MESSAGE as u64,
            });
        }
        let (&t, body) = bytes
            .split_first()
            .ok_or(ProtoError::Truncated { needed: 1, had: 0 })?;
        Ok(match t {
            kind::HELLO => PeerMessage::Hello(uncbor(body)?),
            kind::VECTORS => PeerMessage::Vectors(uncbor(body)?),
            kind::CHUNK => PeerMessage::Chunk(uncbor(body)?),
            kind::ACK => PeerMessage::Ack(uncbor(body)?),
            kind::DONE => PeerMessage::Done(uncbor(body)?),
            kind::REFUSE => PeerMessage::Refuse(uncbor(body)?),
            _ => return Err(ProtoError::Malformed("unknown peer message type")),
        })
    }
}

/// Puts a frame's length (u16, big-endian) before `body`. Bodies over [`MAX_NOISE_MESSAGE`] are
/// refused.
pub fn frame(body: &[u8]) -> Result<Vec<u8>, ProtoError> {
    let len = u16::try_from(body.len()).map_err(|_| ProtoError::TooLarge {
        what: "peer frame",
        len: body.len() as u64,
        max: MAX_NOISE_MESSAGE as u64,
    })?;
    let mut out = Vec::with_capacity(2 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// Takes one whole frame's body off the front of `buf`, if all of it has arrived.
pub fn unframe(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let [a, b, ..] = buf[..] else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([a, b]));
    if buf.len() < 2 + len {
        return None;
    }
    let body = buf[2..2 + len].to_vec();
    buf.drain(..2 + len);
    Some(body)
}

/// Splits an encoded message into fragments (flag byte, then at most [`MAX_FRAGMENT`] bytes), each
/// to be encrypted as one transport message.
pub fn fragments(message: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut parts = message.chunks(MAX_FRAGMENT).peekable();
    if parts.peek().is_none() {
        return vec![vec![FRAGMENT_LAST]];
    }
    while let Some(p) = parts.next() {
        let flag = if parts.peek().is_some() {
            FRAGMENT_MORE
        } else {
            FRAGMENT_LAST
        };
        let mut f = Vec::with_capacity(1 + p.len());
        f.push(flag);
        f.extend_from_slice(p);
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn messages_round_trip_and_bad_ones_are_refused() {
        let msgs = [
            PeerMessage::Hello(Hello {
                v: 1,
                cert: ByteBuf::from(vec![7; 10]),
            }),
            PeerMessage::Vectors(Vectors { spaces: vec![] }),
            PeerMessage::Chunk(Chunk {
                n: 3,
                envelopes: vec![ByteBuf::from(vec![1, 2])],
            }),
            PeerMessage::Ack(Ack { n: 3, stored: 1 }),
            PeerMessage::Done(Done { chunks: 4 }),
            PeerMessage::Refuse(Refuse {
                reason: "not-a-member".into(),
            }),
        ];
        for m in msgs {
            assert_eq!(PeerMessage::decode(&m.encode().unwrap()).unwrap(), m);
        }
        assert!(PeerMessage::decode(&[]).is_err());
        assert!(PeerMessage::decode(&[9, 0xa0]).is_err());
        assert!(PeerMessage::decode(&[kind::ACK, 0xa1]).is_err());
    }

    #[test]
    fn frames_and_fragments() {
        let mut buf = frame(b"abc").unwrap();
        assert_eq!(buf, vec![0, 3, b'a', b'b', b'c']);
        buf.extend_from_slice(&[0, 5, 1]);
        assert_eq!(unframe(&mut buf).unwrap(), b"abc");
        assert_eq!(unframe(&mut buf), None);
        assert_eq!(buf, vec![0, 5, 1]);
        assert!(frame(&vec![0; MAX_NOISE_MESSAGE + 1]).is_err());
        let big = vec![5u8; MAX_FRAGMENT + 10];
        let f = fragments(&big);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0][0], FRAGMENT_MORE);
        assert_eq!(f[0].len(), MAX_FRAGMENT + 1);
        assert_eq!(f[1], [&[FRAGMENT_LAST][..], &[5; 10]].concat());
        assert_eq!(fragments(&[]), vec![vec![FRAGMENT_LAST]]);
    }
}
