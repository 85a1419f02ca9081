//! Snapshot envelopes (kind 2): a whole document, sealed, behind the vector of envelopes it replaces.
//!
//! A space that has seen many changes is cheaper to send whole than change by change, and a relay may
//! drop change envelopes once something replaces them. For that the relay must know *what* a snapshot
//! replaces without being able to read it: so the covered vector (author → highest sequence number)
//! sits in the clear at the start of the payload, signed with the rest of the envelope, and the
//! document behind it is sealed with the author's per-author key under associated data that includes
//! the header and that cover (a cover cannot be swapped onto another document). Layout and test
//! vectors: `docs/protocol.md`, section 26.
//!
//! A snapshot takes its author's next sequence number, like any of its envelopes: version vectors,
//! conflict detection and `may_write` work unchanged, and the nonce (sequence number first) never
//! repeats under the author's key.

use std::collections::BTreeMap;

use ring::aead::{Aad, Nonce};
use ring::signature::Ed25519KeyPair;

use crate::envelope::{DeviceId, Envelope, HeaderV1, Kind, V1_NONCE_OFFSET, author_key};
use crate::error::ProtoError;

/// Version byte of the snapshot payload layout.
pub const SNAPSHOT_FORMAT: u8 = 1;
/// Most authors a cover may list (the same bound as a sync vector).
pub const MAX_COVER_AUTHORS: usize = crate::sync::MAX_AUTHORS;
/// Bytes of one cover entry: author (32) ‖ seq (u64 big-endian).
const ENTRY_LEN: usize = 40;
/// Format byte and entry count.
const COVER_HEAD: usize = 3;
const TAG_LEN: usize = 16;

/// What a snapshot replaces: for each author, every envelope with `seq ≤ cover[author]`.
pub type Cover = BTreeMap<DeviceId, u64>;

/// Encodes a cover: format byte, `u16` count, then entries in ascending author order.
pub fn encode_cover(cover: &Cover) -> Result<Vec<u8>, ProtoError> {
    if cover.len() > MAX_COVER_AUTHORS {
        return Err(ProtoError::TooLarge {
            what: "snapshot cover",
            len: cover.len() as u64,
            max: MAX_COVER_AUTHORS as u64,
        });
    }
    let mut out = Vec::with_capacity(COVER_HEAD + ENTRY_LEN * cover.len());
    out.push(SNAPSHOT_FORMAT);
    out.extend_from_slice(&(cover.len() as u16).to_be_bytes());
    for (a, s) in cover {
        if *s == 0 || *s > i64::MAX as u64 {
            return Err(ProtoError::Malformed("cover sequence number out of range"));
        }
        out.extend_from_slice(&a.0);
        out.extend_from_slice(&s.to_be_bytes());
    }
    Ok(out)
}

/// Reads the entries of an encoded cover at the start of `bytes`; returns the cover and its length.
fn parse_cover(bytes: &[u8]) -> Result<(Cover, usize), ProtoError> {
    if bytes.len() < COVER_HEAD {
        return Err(ProtoError::Truncated {
            needed: COVER_HEAD,
            had: bytes.len(),
        });
    }
    if bytes[0] != SNAPSHOT_FORMAT {
        return Err(ProtoError::Malformed("unknown snapshot format"));
    }
    let n = u16::from_be_bytes([bytes[1], bytes[2]]) as usize;
    if n > MAX_COVER_AUTHORS {
        return Err(ProtoError::TooLarge {
            what: "snapshot cover",
            len: n as u64,
            max: MAX_COVER_AUTHORS as u64,
        });
    }
    let end = COVER_HEAD + ENTRY_LEN * n;
    if bytes.len() < end {
        return Err(ProtoError::Truncated {
            needed: end,
            had: bytes.len(),
        });
    }
    let mut cover = Cover::new();
    let mut last: Option<DeviceId> = None;
    for e in bytes[COVER_HEAD..end].chunks_exact(ENTRY_LEN) {
        let author = DeviceId::from_slice(&e[..32])?;
        let mut s = [0u8; 8];
        s.copy_from_slice(&e[32..]);
        let seq = u64::from_be_bytes(s);
        if last.is_some_and(|l| l >= author) {
            return Err(ProtoError::Malformed(
                "cover authors not in ascending order",
            ));
        }
        if seq == 0 || seq > i64::MAX as u64 {
            return Err(ProtoError::Malformed("cover sequence number out of range"));
        }
        last = Some(author);
        cover.insert(author, seq);
    }
    Ok((cover, end))
}

/// Decodes exactly one encoded cover (as [`encode_cover`] writes it; what a relay stores).
pub fn decode_cover_bytes(bytes: &[u8]) -> Result<Cover, ProtoError> {
    let (cover, end) = parse_cover(bytes)?;
    if end != bytes.len() {
        return Err(ProtoError::LengthMismatch {
            declared: end as u64,
            actual: bytes.len() as u64,
        });
    }
    Ok(cover)
}

/// Reads the cover at the start of a snapshot payload; returns it and its length in bytes.
fn decode_cover(payload: &[u8], header: &HeaderV1) -> Result<(Cover, usize), ProtoError> {
    let (cover, end) = parse_cover(payload)?;
    if payload.len() < end + TAG_LEN {
        return Err(ProtoError::Truncated {
            needed: end + TAG_LEN,
            had: payload.len(),
        });
    }
    if cover.get(&header.author).is_some_and(|s| *s >= header.seq) {
        return Err(ProtoError::Malformed(
            "a snapshot cannot cover its own or later envelopes of its author",
        ));
    }
    Ok((cover, end))
}

/// Builds, seals and signs a snapshot envelope. `header.kind` must be [`Kind::Snapshot`] and
/// `header.seq` the author's next sequence number; `plaintext` is the sealed part (for sebaya-core: a
/// codec byte and the document's `save()`).
pub fn seal(
    header: HeaderV1,
    space_key: &[u8; 32],
    nonce_salt: [u8; 4],
    cover: &Cover,
    plaintext: &[u8],
    signer: &Ed25519KeyPair,
) -> Result<Envelope, ProtoError> {
    if header.kind != Kind::Snapshot {
        return Err(ProtoError::Malformed("not a snapshot header"));
    }
    if cover.get(&header.author).is_some_and(|s| *s >= header.seq) {
        return Err(ProtoError::Malformed(
            "a snapshot cannot cover its own or later envelopes of its author",
        ));
    }
    let head = encode_cover(cover)?;
    let payload_len = head.len() + plaintext.len() + TAG_LEN;
    if payload_len > crate::envelope::MAX_PLAINTEXT_LEN + TAG_LEN {
        return Err(ProtoError::TooLarge {
            what: "snapshot",
            len: payload_len as u64,
            max: (crate::envelope::MAX_PLAINTEXT_LEN + TAG_LEN) as u64,
        });
    }
    // The envelope's first 98 bytes depend only on the header and the payload length: write them
    // the way `seal_v1` will, use them as associated data, then check they match.
    let body_len = (payload_len + 148) as u32;
    let mut ad = Vec::with_capacity(V1_NONCE_OFFSET + head.len());
    ad.extend_from_slice(&crate::envelope::MAGIC);
    ad.push(crate::envelope::FORMAT_V1);
    ad.push(Kind::Snapshot.to_byte());
    ad.extend_from_slice(&header.space.0);
    ad.extend_from_slice(&body_len.to_be_bytes());
    ad.extend_from_slice(&header.epoch.0);
    ad.extend_from_slice(&header.author.0);
    ad.extend_from_slice(&header.seq.to_be_bytes());
    ad.extend_from_slice(&head);
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&header.seq.to_be_bytes());
    nonce[8..].copy_from_slice(&nonce_salt);
    let mut buf = plaintext.to_vec();
    author_key(space_key, &header)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&ad),
            &mut buf,
        )
        .map_err(|_| ProtoError::Encode("seal failed".into()))?;
    let mut payload = head;
    payload.extend_from_slice(&buf);
    let env = Envelope::seal_v1(header, space_key, nonce_salt, &payload, signer)?;
    if env.as_bytes()[..V1_NONCE_OFFSET] != ad[..V1_NONCE_OFFSET] {
        return Err(ProtoError::Encode("snapshot header mismatch".into()));
    }
    Ok(env)
}

/// The cover of a snapshot envelope, readable without any key: what a relay reads to decide what the
/// snapshot replaces. Checks the layout only; the caller verifies the signature
/// ([`Envelope::verify`]) before trusting it.
pub fn cover(env: &Envelope) -> Result<Cover, ProtoError> {
    env.require_v1()?;
    let header = env.header()?;
    if header.kind != Kind::Snapshot {
        return Err(ProtoError::Malformed("not a snapshot envelope"));
    }
    decode_cover(env.payload()?, &header).map(|(c, _)| c)
}

/// Verifies the signature, reads the cover and opens the sealed part with the epoch key.
pub fn open(env: &Envelope, space_key: &[u8; 32]) -> Result<(Cover, Vec<u8>), ProtoError> {
    env.require_v1()?;
    env.verify()?;
    let header = env.header()?;
    if header.kind != Kind::Snapshot {
        return Err(ProtoError::Malformed("not a snapshot envelope"));
    }
    let bytes = env.as_bytes();
    let nonce_bytes = &bytes[V1_NONCE_OFFSET..V1_NONCE_OFFSET + 12];
    if nonce_bytes[..8] != header.seq.to_be_bytes() {
        return Err(ProtoError::Malformed(
            "nonce does not start with the sequence number",
        ));
    }
    let payload = env.payload()?;
    let (cover, head_len) = decode_cover(payload, &header)?;
    let mut ad = Vec::with_capacity(V1_NONCE_OFFSET + head_len);
    ad.extend_from_slice(&bytes[..V1_NONCE_OFFSET]);
    ad.extend_from_slice(&payload[..head_len]);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(nonce_bytes);
    let mut buf = payload[head_len..].to_vec();
    let n = author_key(space_key, &header)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&ad),
            &mut buf,
        )
        .map_err(|_| ProtoError::DecryptFailed)?
        .len();
    buf.truncate(n);
    Ok((cover, buf))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::envelope::{EpochId, SpaceId};
    use ring::signature::KeyPair;

    fn signer() -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[0x11; 32]).unwrap()
    }

    fn header(seq: u64) -> HeaderV1 {
        let s = signer();
        HeaderV1 {
            kind: Kind::Snapshot,
            space: SpaceId([0x22; 16]),
            epoch: EpochId([0x33; 32]),
            author: DeviceId::from_slice(s.public_key().as_ref()).unwrap(),
            seq,
        }
    }

    /// The section 26 vector: author seed 0x11, space 0x22, epoch 0x33, key 0x44, seq 3, salt
    /// a1a2a3a4, cover {author: 2, 0x55×32: 7}, plaintext `01` ‖ "sebaya test vector".
    fn vector() -> Envelope {
        let h = header(3);
        let mut cover = Cover::new();
        cover.insert(h.author, 2);
        cover.insert(DeviceId([0x55; 32]), 7);
        let mut plain = vec![1u8];
        plain.extend_from_slice(b"sebaya test vector");
        seal(
            h,
            &[0x44; 32],
            [0xa1, 0xa2, 0xa3, 0xa4],
            &cover,
            &plain,
            &signer(),
        )
        .unwrap()
    }

    #[test]
    fn the_vector_is_stable_and_opens() {
        let env = vector();
        let hex = hex::encode(env.as_bytes());
        println!("snapshot vector ({} bytes): {hex}", env.as_bytes().len());
        println!("id: {}", env.id().to_hex());
        assert_eq!(hex, SNAPSHOT_VECTOR_FULL, "{hex}");
        let (cover, plain) = open(&env, &[0x44; 32]).unwrap();
        assert_eq!(cover.len(), 2);
        assert_eq!(plain[0], 1);
        assert_eq!(&plain[1..], b"sebaya test vector");
        assert_eq!(super::cover(&env).unwrap(), cover);
        assert_eq!(env.id().to_hex(), SNAPSHOT_VECTOR_ID);
        // Independently: the per-author key of section 13.2 (same author, space, epoch and epoch
        // key), the nonce at 98..110, associated data = bytes 0..98 ‖ the cover (110..193).
        let b = env.as_bytes();
        let key = hex::decode("8957faaba3588dea53eff2e8c2585b67f30d44b469bb00e18f901ea7c2831a6c")
            .unwrap();
        let key = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &key).unwrap(),
        );
        let mut ad = b[..98].to_vec();
        ad.extend_from_slice(&b[110..193]);
        let mut ct = b[193..b.len() - 64].to_vec();
        let nonce: [u8; 12] = b[98..110].try_into().unwrap();
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&ad), &mut ct)
            .unwrap();
        assert_eq!(&plain[1..], b"sebaya test vector");
    }

    const SNAPSHOT_VECTOR_FULL: &str = concat!(
        "534259450102222222222222222222222222222222220000010a333333333333",
        "3333333333333333333333333333333333333333333333333333d04ab232742b",
        "b4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737000000000000",
        "00030000000000000003a1a2a3a4010002555555555555555555555555555555",
        "55555555555555555555555555555555550000000000000007d04ab232742bb4",
        "ab3a1368bd4615e4e6d0224ab71a016baf8520a332c977873700000000000000",
        "028b3f7bd91077175996f9d762001f639a85867373a1033f5a5151fad891f00c",
        "4df525165c703564212b39b46cb1241adffbc180176b1e0c6241dd8d2bb3d0be",
        "c9ea78ff64e4d646e4d58af6a5539c95a34395703521f4aecb89a3a1e435fb1b",
        "14da7a04",
    );
    const SNAPSHOT_VECTOR_ID: &str =
        "c8fd5e381b0b642731dfd057ee6196ff0c229c0574c3cecced38115b911ef1c3";

    #[test]
    fn every_flipped_bit_and_truncation_is_refused() {
        let env = vector();
        let bytes = env.as_bytes().to_vec();
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                let opened = Envelope::parse(&b).and_then(|e| open(&e, &[0x44; 32]));
                assert!(opened.is_err(), "flip at {i} accepted");
            }
        }
        for n in 0..bytes.len() {
            assert!(Envelope::parse(&bytes[..n]).is_err(), "truncation {n}");
        }
        assert_eq!(open(&env, &[0x45; 32]), Err(ProtoError::DecryptFailed));
    }

    #[test]
    fn bad_covers_are_refused() {
        let h = header(3);
        let mut own = Cover::new();
        own.insert(h.author, 3);
        assert!(seal(h, &[0x44; 32], [0; 4], &own, b"x", &signer()).is_err());
        let mut zero = Cover::new();
        zero.insert(DeviceId([1; 32]), 0);
        assert!(seal(h, &[0x44; 32], [0; 4], &zero, b"x", &signer()).is_err());
        // Hand-built payloads: unordered authors, a count that runs past the end.
        let mut unordered = vec![SNAPSHOT_FORMAT, 0, 2];
        unordered.extend_from_slice(&[9u8; 32]);
        unordered.extend_from_slice(&1u64.to_be_bytes());
        unordered.extend_from_slice(&[8u8; 32]);
        unordered.extend_from_slice(&1u64.to_be_bytes());
        unordered.extend_from_slice(&[0u8; 16]);
        assert!(decode_cover(&unordered, &h).is_err());
        let short = vec![SNAPSHOT_FORMAT, 0, 1, 0, 0];
        assert!(decode_cover(&short, &h).is_err());
        let wrong_format = vec![2u8, 0, 0];
        assert!(decode_cover(&wrong_format, &h).is_err());
        let mut changes = h;
        changes.kind = Kind::Changes;
        assert!(seal(changes, &[0x44; 32], [0; 4], &Cover::new(), b"x", &signer()).is_err());
    }
}
