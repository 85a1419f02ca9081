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
/// The DNS-SD service type a device advertises while it listens for a session on a local network
/// (section 25.1), as Android NSD and Apple Bonjour take it (no domain).
pub const SERVICE_TYPE: &str = "_sebaya._tcp";
/// The same service type with its mDNS domain, as an mDNS responder names it.
pub const MDNS_SERVICE: &str = "_sebaya._tcp.local.";
/// Random bytes in an advertised instance name (section 25.1): shown as twice as many hex characters.
pub const ADVERT_NAME_BYTES: usize = 8;
/// Version of the carrying exchange (section 25.2), announced in [`Hello::carry`]. It rides on
/// session version 1 as an optional key a version-1 device ignores, so a device that cannot carry in
/// sessions still syncs with one that can; carrying runs only when both announced it.
pub const CARRY_VERSION: u8 = 1;
/// Label of the keyed hash that names a carried space in a session (section 25.2).
pub const CARRY_TAG_LABEL: &str = "sebaya/v1/peer-carry";
/// Label of the keyed hash by which the receiver asks for a carried space in [`Wanted`] (section
/// 25.2). It differs from [`CARRY_TAG_LABEL`] so that only a device that knows the space id can make
/// it: echoing the offered tags back asks for nothing.
pub const CARRY_WANT_LABEL: &str = "sebaya/v1/peer-carry-want";
/// Bytes of a carried space's tag (and of a want tag).
pub const CARRY_TAG_LEN: usize = 16;
/// Most tags in one [`Carrying`] or [`Wanted`] message.
pub const MAX_CARRY_TAGS: usize = 1024;
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
    /// [`super::Carrying`].
    pub const CARRYING: u8 = 7;
    /// [`super::Wanted`].
    pub const WANTED: u8 = 8;
}

/// First message after the handshake: who this device is. The certificate's X25519 key must be the
/// handshake's remote static key, or the session ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PEER_VERSION`].
    pub v: u8,
    /// The device certificate (section 13), signed by its person's root key.
    pub cert: ByteBuf,
    /// [`CARRY_VERSION`] when this device takes part in the carrying exchange; absent otherwise
    /// (and on every version-1 device, which ignores the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carry: Option<u8>,
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
    /// Envelopes this device carries for others, of spaces the receiver asked for in [`Wanted`];
    /// judged one by one (a bad one is refused and counted, the rest are kept). Absent when empty,
    /// so a chunk without carried envelopes encodes as in version 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<ByteBuf>,
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

/// The sender carries envelopes of the spaces these tags name and does not hold those spaces. A tag
/// is a keyed hash of a space id under this session's handshake hash ([`carry_tag`]): the receiver
/// recognises the spaces it holds and learns nothing about the others, and a tag means nothing in
/// any other session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carrying {
    /// One tag per carried space, [`CARRY_TAG_LEN`] bytes each.
    pub tags: Vec<ByteBuf>,
}

/// The answer to [`Carrying`]: one want tag ([`carry_want_tag`]) for each offered space the receiver
/// holds as a current member and will judge; the carrier sends their envelopes in the `carried` part
/// of its chunks. A want tag is keyed like an offered tag but under another label, so only a device
/// that knows the space id can make it: a peer that merely echoes the offered tags proves nothing and
/// is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wanted {
    /// Want tags, [`CARRY_TAG_LEN`] bytes each, one per space asked for.
    pub tags: Vec<ByteBuf>,
}

/// A carried space's tag in a session whose Noise handshake hash is `handshake_hash`: the first
/// [`CARRY_TAG_LEN`] bytes of HMAC-SHA256(`handshake_hash`, [`CARRY_TAG_LABEL`] ‖ 0x00 ‖ space id).
pub fn carry_tag(handshake_hash: &[u8], space: &[u8; 16]) -> [u8; CARRY_TAG_LEN] {
    keyed_tag(handshake_hash, CARRY_TAG_LABEL, space)
}

/// The want tag by which the receiver asks for a carried space in [`Wanted`]: the first
/// [`CARRY_TAG_LEN`] bytes of HMAC-SHA256(`handshake_hash`, [`CARRY_WANT_LABEL`] ‖ 0x00 ‖ space id).
/// Only a device that knows the space id can make it.
pub fn carry_want_tag(handshake_hash: &[u8], space: &[u8; 16]) -> [u8; CARRY_TAG_LEN] {
    keyed_tag(handshake_hash, CARRY_WANT_LABEL, space)
}

fn keyed_tag(handshake_hash: &[u8], label: &str, space: &[u8; 16]) -> [u8; CARRY_TAG_LEN] {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, handshake_hash);
    let mut ctx = ring::hmac::Context::with_key(&k);
    ctx.update(label.as_bytes());
    ctx.update(&[0]);
    ctx.update(space);
    let mut out = [0u8; CARRY_TAG_LEN];
    out.copy_from_slice(&ctx.sign().as_ref()[..CARRY_TAG_LEN]);
    out
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
    /// See [`Carrying`].
    Carrying(Carrying),
    /// See [`Wanted`].
    Wanted(Wanted),
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
            PeerMessage::Carrying(_) => kind::CARRYING,
            PeerMessage::Wanted(_) => kind::WANTED,
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
            PeerMessage::Carrying(m) => cbor(kind::CARRYING, m),
            PeerMessage::Wanted(m) => cbor(kind::WANTED, m),
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
            kind::CARRYING => PeerMessage::Carrying(uncbor(body)?),
            kind::WANTED => PeerMessage::Wanted(uncbor(body)?),
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
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn messages_round_trip_and_bad_ones_are_refused() {
        let msgs = [
            PeerMessage::Hello(Hello {
                v: 1,
                cert: ByteBuf::from(vec![7; 10]),
                carry: None,
            }),
            PeerMessage::Hello(Hello {
                v: 1,
                cert: ByteBuf::from(vec![7; 10]),
                carry: Some(CARRY_VERSION),
            }),
            PeerMessage::Carrying(Carrying {
                tags: vec![ByteBuf::from(vec![1; CARRY_TAG_LEN])],
            }),
            PeerMessage::Wanted(Wanted { tags: vec![] }),
            PeerMessage::Chunk(Chunk {
                n: 0,
                envelopes: vec![],
                carried: vec![ByteBuf::from(vec![3])],
            }),
            PeerMessage::Vectors(Vectors { spaces: vec![] }),
            PeerMessage::Chunk(Chunk {
                n: 3,
                envelopes: vec![ByteBuf::from(vec![1, 2])],
                carried: vec![],
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

    /// A version-1 device (whose Hello has no `carry` key) and this one read each other's Hello: the
    /// carrying exchange is an addition, not a new session version.
    #[test]
    fn a_version_1_hello_and_a_carrying_hello_read_each_other() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct HelloV1 {
            v: u8,
            cert: ByteBuf,
        }
        let old = HelloV1 {
            v: 1,
            cert: ByteBuf::from(vec![7; 4]),
        };
        let mut bytes = vec![kind::HELLO];
        ciborium::into_writer(&old, &mut bytes).unwrap();
        let PeerMessage::Hello(h) = PeerMessage::decode(&bytes).unwrap() else {
            panic!("not a hello");
        };
        assert_eq!(h.carry, None);
        let new = PeerMessage::Hello(Hello {
            carry: Some(CARRY_VERSION),
            ..h
        })
        .encode()
        .unwrap();
        let read: HelloV1 = uncbor(&new[1..]).unwrap();
        assert_eq!(read, old);
        // Without carrying, a new Hello is byte for byte a version-1 Hello.
        let plain = PeerMessage::Hello(Hello {
            v: 1,
            cert: ByteBuf::from(vec![7; 4]),
            carry: None,
        });
        assert_eq!(plain.encode().unwrap(), bytes);
    }

    /// Section 25.2's vectors, byte for byte: the tag and the want tag of space `0x07` x 16 under the
    /// section 25 handshake hash, and the encodings of Hello with `carry`, Carrying, Wanted (with the
    /// want tag) and a chunk with a carried envelope.
    #[test]
    fn the_section_25_2_vectors_are_stable() {
        let hash = hex::decode("ad85cd441056e348bba119daf1cde512c651abfe328c6f6d3ddfd3c9f2cae338")
            .unwrap();
        let tag = carry_tag(&hash, &[7; 16]);
        let other = carry_tag(&[0; 32], &[7; 16]);
        assert_ne!(tag, other, "a tag depends on the session");
        let want = carry_want_tag(&hash, &[7; 16]);
        assert_ne!(want, tag, "a want tag is not the offered tag");
        let t = || vec![ByteBuf::from(tag.to_vec())];
        let w = || vec![ByteBuf::from(want.to_vec())];
        let vectors = [
            hex::encode(tag),
            hex::encode(want),
            hex::encode(
                PeerMessage::Hello(Hello {
                    v: 1,
                    cert: ByteBuf::from(vec![7; 4]),
                    carry: Some(CARRY_VERSION),
                })
                .encode()
                .unwrap(),
            ),
            hex::encode(
                PeerMessage::Carrying(Carrying { tags: t() })
                    .encode()
                    .unwrap(),
            ),
            hex::encode(PeerMessage::Wanted(Wanted { tags: w() }).encode().unwrap()),
            hex::encode(
                PeerMessage::Chunk(Chunk {
                    n: 2,
                    envelopes: vec![],
                    carried: vec![ByteBuf::from(b"env".to_vec())],
                })
                .encode()
                .unwrap(),
            ),
        ];
        for v in &vectors {
            println!("{v}");
        }
        let doc = include_str!("../../docs/protocol.md").replace(['\n', ' '], "");
        let section = doc
            .split("###25.2")
            .nth(1)
            .and_then(|s| s.split("##26.").next())
            .unwrap_or_default();
        for v in &vectors {
            assert!(section.contains(v.as_str()), "{v} not in section 25.2");
        }
    }
}
