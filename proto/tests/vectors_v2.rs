//! Test vectors of envelope format version 2 (`docs/protocol.md` sections 3.1, 5.2 and 13.10).
//!
//! As in `vectors.rs`, each vector is rebuilt by `sebaya-proto` and by an independent implementation
//! here that follows the specification's text (HKDF from HMAC-SHA256 by hand, the frame assembled
//! byte by byte, ChaCha20-Poly1305 from ring), and both must equal the hex stored here, which must
//! appear in the document and in `docs/vectors/v1.json` (its top-level key `v2`).
//!
//! To regenerate after a deliberate change: `cargo test -p sebaya-proto --test vectors_v2
//! print_vectors -- --nocapture --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::envelope::{FORMAT_V2, MAX_BODY_LEN, MAX_PLAINTEXT_LEN_V2, V2_SALT_LEN};
use sebaya_proto::{
    DeviceId, ENVELOPE_V2_KEY_LABEL, ENVELOPE_V2_LABEL, Envelope, EpochId, HeaderV1, Kind,
    ProtoError, SpaceId,
};

#[path = "common/spec_doc.rs"]
mod spec_doc;
use spec_doc::{assert_documented, repo_file, sha256};

// Inputs: those of 13.1, and 24 bytes of salt.
const AUTHOR_SEED: [u8; 32] = [0x11; 32];
const SPACE: [u8; 16] = [0x22; 16];
const EPOCH: [u8; 32] = [0x33; 32];
const EPOCH_KEY: [u8; 32] = [0x44; 32];
const SEQ: u64 = 1;
const PLAINTEXT: &[u8] = b"sebaya test vector";

fn salt() -> [u8; V2_SALT_LEN] {
    std::array::from_fn(|i| 0xa0 + i as u8)
}

// Expected outputs.
const V2_AUTHOR_KEY_HEX: &str = "acb8681cffa57d373dcc7e99f0b09e570cbbeaea6f4735258bb6a3008fa34b32";
const V2_ENVELOPE_KEY_HEX: &str =
    "00ccf3e1c1b86580f15b50e7c2d01bbdd0d9b4fd833f0b8ba4387e5da1a2532b";
const V2_ENVELOPE_HEX: &str = concat!(
    "53425945020122222222222222222222222222222222000000c2333333333333",
    "3333333333333333333333333333333333333333333333333333d04ab232742b",
    "b4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737000000000000",
    "0001a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b70a5fab3f1633",
    "af820c31df16c168f208c9c77af3308edce64ebd587bc212665181424355f89c",
    "c99b0b4b39c1d0dc4a68895420237c83f1d5c57677a31ce46cd22d0119a3da26",
    "684fe74f50a6863b7f4cd46155f85634c1d31f34f3061b5b75a9df03",
);
const V2_ENVELOPE_ID_HEX: &str = "c6a96f7f8f128adea3f3cf7af09480f92abb4da08790e478c729ebf3f5d00822";

fn signer() -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&AUTHOR_SEED).unwrap()
}

fn author() -> [u8; 32] {
    signer().public_key().as_ref().try_into().unwrap()
}

fn header() -> HeaderV1 {
    HeaderV1 {
        kind: Kind::Changes,
        space: SpaceId(SPACE),
        epoch: EpochId(EPOCH),
        author: DeviceId(author()),
        seq: SEQ,
    }
}

fn hmac32(key: &[u8], data: &[u8]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&k, data).as_ref().try_into().unwrap()
}

/// HKDF-SHA256 of the epoch key, empty salt (32 zero bytes as the HMAC key), info
/// `sebaya/v2/envelope` ‖ space ‖ epoch ‖ author, one block.
fn independent_author_key() -> [u8; 32] {
    let prk = hmac32(&[0u8; 32], &EPOCH_KEY);
    let mut info = b"sebaya/v2/envelope".to_vec();
    info.extend_from_slice(&SPACE);
    info.extend_from_slice(&EPOCH);
    info.extend_from_slice(&author());
    info.push(0x01);
    hmac32(&prk, &info)
}

/// HKDF-Expand with the author key as PRK: T(1) = HMAC(A, label ‖ seq ‖ salt ‖ 0x01).
fn independent_envelope_key() -> [u8; 32] {
    let mut info = b"sebaya/v2/envelope-key".to_vec();
    info.extend_from_slice(&SEQ.to_be_bytes());
    info.extend_from_slice(&salt());
    info.push(0x01);
    hmac32(&independent_author_key(), &info)
}

fn independent_envelope() -> Vec<u8> {
    let body_len = 32 + 32 + 8 + 24 + PLAINTEXT.len() + 16 + 64;
    let mut b = b"SBYE".to_vec();
    b.push(2);
    b.push(1);
    b.extend_from_slice(&SPACE);
    b.extend_from_slice(&u32::try_from(body_len).unwrap().to_be_bytes());
    b.extend_from_slice(&EPOCH);
    b.extend_from_slice(&author());
    b.extend_from_slice(&SEQ.to_be_bytes());
    b.extend_from_slice(&salt());
    assert_eq!(b.len(), 122);
    let key =
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &independent_envelope_key()).unwrap());
    let mut ct = PLAINTEXT.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([0; 12]),
        Aad::from(&b),
        &mut ct,
    )
    .unwrap();
    b.extend_from_slice(&ct);
    let mut msg = b"sebaya/v2/envelope".to_vec();
    msg.extend_from_slice(&b);
    b.extend_from_slice(signer().sign(&msg).as_ref());
    b
}

fn proto_envelope() -> Envelope {
    Envelope::seal_v2(header(), &EPOCH_KEY, salt(), PLAINTEXT, &signer()).unwrap()
}

#[test]
#[ignore = "prints the vectors; run by hand after a deliberate change"]
fn print_vectors() {
    println!("author key {}", hex::encode(independent_author_key()));
    println!("envelope key {}", hex::encode(independent_envelope_key()));
    let e = independent_envelope();
    println!("envelope ({} bytes) {}", e.len(), hex::encode(&e));
    for chunk in e.chunks(32) {
        println!("{}", hex::encode(chunk));
    }
    println!("id {}", hex::encode(sha256(&e)));
}

#[test]
fn labels_are_the_documented_ones() {
    assert_eq!(ENVELOPE_V2_LABEL, b"sebaya/v2/envelope");
    assert_eq!(ENVELOPE_V2_KEY_LABEL, b"sebaya/v2/envelope-key");
    assert_eq!(FORMAT_V2, 2);
    assert_eq!(MAX_PLAINTEXT_LEN_V2, MAX_BODY_LEN - 176);
}

#[test]
fn v2_envelope_vector_is_byte_exact_and_documented() {
    assert_eq!(hex::encode(independent_author_key()), V2_AUTHOR_KEY_HEX);
    assert_eq!(hex::encode(independent_envelope_key()), V2_ENVELOPE_KEY_HEX);
    let ours = independent_envelope();
    assert_eq!(hex::encode(&ours), V2_ENVELOPE_HEX);
    assert_eq!(hex::encode(proto_envelope().as_bytes()), V2_ENVELOPE_HEX);
    assert_eq!(hex::encode(sha256(&ours)), V2_ENVELOPE_ID_HEX);
    assert_eq!(proto_envelope().id().to_hex(), V2_ENVELOPE_ID_HEX);
    for (name, h) in [
        ("v2 author key", V2_AUTHOR_KEY_HEX),
        ("v2 envelope key", V2_ENVELOPE_KEY_HEX),
        ("v2 envelope", V2_ENVELOPE_HEX),
        ("v2 envelope id", V2_ENVELOPE_ID_HEX),
    ] {
        assert_documented(name, h);
    }
    let json: serde_json::Value = serde_json::from_str(&repo_file("docs/vectors/v1.json")).unwrap();
    let v2 = &json["v2"];
    assert_eq!(v2["author_key"], V2_AUTHOR_KEY_HEX);
    assert_eq!(v2["envelope_key"], V2_ENVELOPE_KEY_HEX);
    assert_eq!(v2["changes_envelope"], V2_ENVELOPE_HEX);
    assert_eq!(v2["changes_envelope_id"], V2_ENVELOPE_ID_HEX);
    assert_eq!(v2["salt"], hex::encode(salt()));
}

#[test]
fn v2_vector_parses_verifies_and_opens_at_the_documented_offsets() {
    let bytes = hex::decode(V2_ENVELOPE_HEX).unwrap();
    assert_eq!(bytes.len(), 26 + 176 + PLAINTEXT.len());
    let env = Envelope::parse(&bytes).unwrap();
    assert_eq!(env.version(), 2);
    let h = env.header().unwrap();
    assert_eq!((h.kind, h.seq, h.author.0), (Kind::Changes, 1, author()));
    assert_eq!(&bytes[98..122], &salt());
    assert_eq!(env.payload().unwrap(), &bytes[122..bytes.len() - 64]);
    env.verify().unwrap();
    assert_eq!(env.open(&EPOCH_KEY).unwrap(), PLAINTEXT);
    // The v1 label does not verify a v2 envelope: no signature of one version is valid in the other.
    let mut relabelled = bytes.clone();
    relabelled[4] = 1;
    assert_eq!(
        Envelope::parse(&relabelled).and_then(|e| e.verify()),
        Err(ProtoError::BadSignature)
    );
}

/// What the specification (section 7, v2 rows) says a flipped bit at `byte` causes.
fn expected(original: &[u8], byte: usize, bit: u8) -> ProtoError {
    let mut f = original.to_vec();
    f[byte] ^= 1 << bit;
    let total = original.len();
    match byte {
        0..=3 => ProtoError::BadMagic,
        4 => ProtoError::UnsupportedVersion(f[4]),
        22..=25 => {
            let body = u32::from_be_bytes(f[22..26].try_into().unwrap()) as usize;
            if body > MAX_BODY_LEN {
                ProtoError::TooLarge {
                    what: "envelope body",
                    len: body as u64,
                    max: MAX_BODY_LEN as u64,
                }
            } else if 26 + body > total {
                ProtoError::Truncated {
                    needed: 26 + body,
                    had: total,
                }
            } else {
                ProtoError::LengthMismatch {
                    declared: (26 + body) as u64,
                    actual: total as u64,
                }
            }
        }
        97 if bit == 0 => ProtoError::Malformed("sequence numbers start at 1"),
        _ => ProtoError::BadSignature,
    }
}

#[test]
fn every_flipped_bit_of_the_v2_vector_is_refused_with_the_documented_error() {
    let bytes = hex::decode(V2_ENVELOPE_HEX).unwrap();
    for byte in 0..bytes.len() {
        for bit in 0..8u8 {
            let mut f = bytes.clone();
            f[byte] ^= 1 << bit;
            let got = Envelope::parse(&f).and_then(|e| e.open(&EPOCH_KEY));
            assert_eq!(
                got,
                Err(expected(&bytes, byte, bit)),
                "byte {byte} bit {bit}"
            );
        }
    }
    for n in 0..bytes.len() {
        assert!(matches!(
            Envelope::parse(&bytes[..n]),
            Err(ProtoError::Truncated { .. })
        ));
    }
}

/// An envelope whose body is shorter than v2's minimum (176) is refused by `parse`.
#[test]
fn a_v2_body_under_176_bytes_is_truncated() {
    let mut b = b"SBYE".to_vec();
    b.push(2);
    b.push(1);
    b.extend_from_slice(&SPACE);
    b.extend_from_slice(&175u32.to_be_bytes());
    b.extend_from_slice(&[7u8; 175]);
    assert_eq!(
        Envelope::parse(&b),
        Err(ProtoError::Truncated {
            needed: 202,
            had: 201
        })
    );
}

/// Signed again by the author over altered fields: the signature holds, the AEAD refuses.
#[test]
fn a_resigned_v2_envelope_with_another_field_fails_to_open() {
    let bytes = hex::decode(V2_ENVELOPE_HEX).unwrap();
    let resign = |at: usize, to: u8| {
        let mut b = bytes[..bytes.len() - 64].to_vec();
        b[at] = to;
        let mut msg = b"sebaya/v2/envelope".to_vec();
        msg.extend_from_slice(&b);
        b.extend_from_slice(signer().sign(&msg).as_ref());
        let env = Envelope::parse(&b).unwrap();
        env.verify().unwrap();
        env.open(&EPOCH_KEY)
    };
    // epoch, space, seq, salt, ciphertext, tag
    for at in [26, 6, 96, 98, 121, 122, 140] {
        assert_eq!(
            resign(at, bytes[at] ^ 0x40),
            Err(ProtoError::DecryptFailed),
            "byte {at}"
        );
    }
    assert_eq!(
        resign(5, 3),
        Err(ProtoError::Malformed(
            "kind not defined in envelope version 2"
        ))
    );
    assert_eq!(
        resign(5, 0x80),
        Err(ProtoError::Malformed("unknown envelope kind"))
    );
    // Under another epoch key.
    let env = Envelope::parse(&bytes).unwrap();
    assert_eq!(env.open(&[0x45; 32]), Err(ProtoError::DecryptFailed));
}

#[test]
fn seal_v2_refuses_what_v2_does_not_carry() {
    let mut h = header();
    h.kind = Kind::Membership;
    assert_eq!(
        Envelope::seal_v2(h, &EPOCH_KEY, salt(), PLAINTEXT, &signer()),
        Err(ProtoError::Malformed("version 2 carries sealed kinds only"))
    );
    let mut h = header();
    h.seq = 0;
    assert_eq!(
        Envelope::seal_v2(h, &EPOCH_KEY, salt(), PLAINTEXT, &signer()),
        Err(ProtoError::Malformed("sequence numbers start at 1"))
    );
    let other = Ed25519KeyPair::from_seed_unchecked(&[0x12; 32]).unwrap();
    assert_eq!(
        Envelope::seal_v2(header(), &EPOCH_KEY, salt(), PLAINTEXT, &other),
        Err(ProtoError::Malformed("signer is not the header's author"))
    );
    let big = vec![0u8; MAX_PLAINTEXT_LEN_V2 + 1];
    assert!(matches!(
        Envelope::seal_v2(header(), &EPOCH_KEY, salt(), &big, &signer()),
        Err(ProtoError::TooLarge { .. })
    ));
    // The same number sealed twice under two salts: two keys, two unrelated ciphertexts.
    let a = Envelope::seal_v2(header(), &EPOCH_KEY, [1; 24], PLAINTEXT, &signer()).unwrap();
    let b = Envelope::seal_v2(header(), &EPOCH_KEY, [2; 24], PLAINTEXT, &signer()).unwrap();
    let (pa, pb) = (a.payload().unwrap(), b.payload().unwrap());
    let xa: Vec<u8> = pa.iter().zip(pb).map(|(x, y)| x ^ y).collect();
    assert_ne!(&xa[..PLAINTEXT.len()], &[0u8; 18][..]);
}

/// The readers of v1-only kinds refuse a v2 frame with `UnsupportedVersion(2)`.
#[test]
fn v1_only_readers_refuse_a_v2_frame() {
    let env = proto_envelope();
    assert_eq!(
        sebaya_proto::membership::SignedStatement::from_envelope(&env).map(|_| ()),
        Err(ProtoError::UnsupportedVersion(2))
    );
    assert_eq!(
        sebaya_proto::keywraps::KeyWrapSet::from_envelope(&env).map(|_| ()),
        Err(ProtoError::UnsupportedVersion(2))
    );
    assert_eq!(
        sebaya_proto::snapshot::cover(&env).map(|_| ()),
        Err(ProtoError::UnsupportedVersion(2))
    );
}
