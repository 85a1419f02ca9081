//! The envelope benchmark of issue 15, item 6 (docs/benchmarks.md, "Envelope constructions"):
//! what sealing and opening one envelope costs under
//!
//! - (a) v1: ChaCha20-Poly1305 under the per-author HKDF key, nonce = seq ‖ 4 random bytes (the
//!   baseline, `Envelope::seal_v1` / `open`);
//! - (b) v2: ChaCha20-Poly1305 under a one-time key, HKDF-Expand of the v2 author key over 24 random
//!   bytes the envelope carries (`Envelope::seal_v2` / `open`, ring only);
//! - (c) XChaCha20-Poly1305 with a 24-byte random nonce under the per-author key (the
//!   `chacha20poly1305` crate, a dev-dependency of this example only; the same layout as v2, signed
//!   the same way, so only the AEAD differs).
//!
//! Each construction is timed twice: the whole envelope (seal, parse, verify, open: what a device
//! does), and the AEAD with its key derivation alone (what the choice changes). The three are timed
//! in turn within each round and the median of the rounds is reported, so a noisy machine slows all
//! three alike. Run: `nice cargo run --profile perf -p sebaya-proto --example envelope_bench`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sebaya_proto::envelope::HeaderV1;
use sebaya_proto::{DeviceId, Envelope, EpochId, Kind, SpaceId};

const EPOCH_KEY: [u8; 32] = [0x44; 32];
const SIZES: [usize; 3] = [100, 1024, 64 * 1024];
const ROUNDS: usize = 31;

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

fn author_key(label: &[u8], h: &HeaderV1) -> [u8; 32] {
    let mut out = [0u8; 32];
    let info: [&[u8]; 4] = [label, &h.space.0, &h.epoch.0, &h.author.0];
    hkdf::Salt::new(hkdf::HKDF_SHA256, &[])
        .extract(&EPOCH_KEY)
        .expand(&info, Len32)
        .unwrap()
        .fill(&mut out)
        .unwrap();
    out
}

fn chacha(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).unwrap())
}

/// (a), AEAD only: author key, then ChaCha20-Poly1305 with seq ‖ salt (both sides derive the key).
fn aead_a(h: &HeaderV1, aad: &[u8], plain: &[u8]) -> usize {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&h.seq.to_be_bytes());
    nonce[8..].copy_from_slice(&rand_bytes::<4>());
    let mut buf = plain.to_vec();
    chacha(&author_key(b"sebaya/v1/envelope", h))
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .unwrap();
    chacha(&author_key(b"sebaya/v1/envelope", h))
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .unwrap()
        .len()
}

fn one_time_key(h: &HeaderV1, salt: &[u8; 24]) -> [u8; 32] {
    let author = author_key(b"sebaya/v2/envelope", h);
    let seq = h.seq.to_be_bytes();
    let info: [&[u8]; 3] = [b"sebaya/v2/envelope-key", &seq, salt];
    let mut out = [0u8; 32];
    hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &author)
        .expand(&info, Len32)
        .unwrap()
        .fill(&mut out)
        .unwrap();
    out
}

/// (b), AEAD only: one-time key from the author key and 24 random bytes, ChaCha20-Poly1305, zero nonce.
fn aead_b(h: &HeaderV1, aad: &[u8], plain: &[u8]) -> usize {
    let salt = rand_bytes::<24>();
    let mut buf = plain.to_vec();
    chacha(&one_time_key(h, &salt))
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::from(aad),
            &mut buf,
        )
        .unwrap();
    chacha(&one_time_key(h, &salt))
        .open_in_place(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::from(aad),
            &mut buf,
        )
        .unwrap()
        .len()
}

/// (c), AEAD only: author key, XChaCha20-Poly1305 with a 24-byte random nonce.
fn aead_c(h: &HeaderV1, aad: &[u8], plain: &[u8]) -> usize {
    let nonce = XNonce::from(rand_bytes::<24>());
    let mut buf = plain.to_vec();
    let key = author_key(b"sebaya/v1/envelope", h);
    let tag = XChaCha20Poly1305::new_from_slice(&key)
        .unwrap()
        .encrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into())
        .unwrap();
    let key = author_key(b"sebaya/v1/envelope", h);
    XChaCha20Poly1305::new_from_slice(&key)
        .unwrap()
        .decrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into(), &tag)
        .unwrap();
    buf.len()
}

/// (c) as a whole envelope: the v2 layout with the 24 bytes as the XChaCha nonce, signed under the
/// v2 label; then verified and opened by hand. Returns the envelope's length.
fn envelope_c(h: &HeaderV1, signer: &Ed25519KeyPair, plain: &[u8]) -> usize {
    let body_len = 32 + 32 + 8 + 24 + plain.len() + 16 + 64;
    let mut b = Vec::with_capacity(26 + body_len);
    b.extend_from_slice(b"SBYE");
    b.push(3);
    b.push(h.kind.to_byte());
    b.extend_from_slice(&h.space.0);
    b.extend_from_slice(&(body_len as u32).to_be_bytes());
    b.extend_from_slice(&h.epoch.0);
    b.extend_from_slice(&h.author.0);
    b.extend_from_slice(&h.seq.to_be_bytes());
    let nonce = rand_bytes::<24>();
    b.extend_from_slice(&nonce);
    let aad_end = b.len();
    let mut buf = plain.to_vec();
    let key = author_key(b"sebaya/v1/envelope", h);
    let tag = XChaCha20Poly1305::new_from_slice(&key)
        .unwrap()
        .encrypt_inout_detached(
            &XNonce::from(nonce),
            &b[..aad_end],
            buf.as_mut_slice().into(),
        )
        .unwrap();
    b.extend_from_slice(&buf);
    b.extend_from_slice(tag.as_slice());
    let mut msg = b"sebaya/v2/envelope".to_vec();
    msg.extend_from_slice(&b);
    b.extend_from_slice(signer.sign(&msg).as_ref());
    // The receiving side: parse the frame, verify, open.
    let env = Envelope::parse(&b).unwrap();
    let bytes = env.as_bytes();
    let split = bytes.len() - 64;
    let mut msg = b"sebaya/v2/envelope".to_vec();
    msg.extend_from_slice(&bytes[..split]);
    UnparsedPublicKey::new(&ED25519, &h.author.0)
        .verify(&msg, &bytes[split..])
        .unwrap();
    let mut ct = bytes[122..split - 16].to_vec();
    let tag = Tag::try_from(&bytes[split - 16..split]).unwrap();
    let key = author_key(b"sebaya/v1/envelope", h);
    XChaCha20Poly1305::new_from_slice(&key)
        .unwrap()
        .decrypt_inout_detached(
            &XNonce::try_from(&bytes[98..122]).unwrap(),
            &bytes[..122],
            ct.as_mut_slice().into(),
            &tag,
        )
        .unwrap();
    assert_eq!(ct, plain);
    bytes.len()
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut out).unwrap();
    out
}

/// Median nanoseconds per call of `f` over the rounds, each round long enough to be measured.
fn time_rounds(mut fs: Vec<Box<dyn FnMut() -> usize + '_>>, iters: usize) -> Vec<f64> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); fs.len()];
    for _ in 0..ROUNDS {
        for (i, f) in fs.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / iters as f64);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect()
}

fn main() {
    let signer = Ed25519KeyPair::from_seed_unchecked(&[0x11; 32]).unwrap();
    let header = HeaderV1 {
        kind: Kind::Changes,
        space: SpaceId([0x22; 16]),
        epoch: EpochId([0x33; 32]),
        author: DeviceId(signer.public_key().as_ref().try_into().unwrap()),
        seq: 7,
    };
    let aad = [0x5a; 98];
    println!("| metric | Sebaya | baseline | ratio |");
    println!("|---|---|---|---|");
    for size in SIZES {
        let plain = vec![0xa5u8; size];
        let iters = if size > 10_000 { 40 } else { 400 };
        let whole = time_rounds(
            vec![
                Box::new(|| {
                    let e = Envelope::seal_v1(header, &EPOCH_KEY, rand_bytes(), &plain, &signer)
                        .unwrap();
                    let e = Envelope::parse(e.as_bytes()).unwrap();
                    e.open(&EPOCH_KEY).unwrap().len() + e.as_bytes().len()
                }),
                Box::new(|| {
                    let e = Envelope::seal_v2(header, &EPOCH_KEY, rand_bytes(), &plain, &signer)
                        .unwrap();
                    let e = Envelope::parse(e.as_bytes()).unwrap();
                    e.open(&EPOCH_KEY).unwrap().len() + e.as_bytes().len()
                }),
                Box::new(|| envelope_c(&header, &signer, &plain)),
            ],
            iters,
        );
        let aead = time_rounds(
            vec![
                Box::new(|| aead_a(&header, &aad, &plain)),
                Box::new(|| aead_b(&header, &aad, &plain)),
                Box::new(|| aead_c(&header, &aad, &plain)),
            ],
            iters * 4,
        );
        let bytes_v1 = Envelope::seal_v1(header, &EPOCH_KEY, [0; 4], &plain, &signer)
            .unwrap()
            .as_bytes()
            .len();
        let bytes_v2 = Envelope::seal_v2(header, &EPOCH_KEY, [0; 24], &plain, &signer)
            .unwrap()
            .as_bytes()
            .len();
        let us = |ns: f64| format!("{:.2}", ns / 1000.0);
        let ratio = |a: f64, b: f64| format!("{:.2}x", a / b);
        let label = if size >= 1024 {
            format!("{} KiB", size / 1024)
        } else {
            format!("{size} B")
        };
        println!(
            "| {label}: seal+open one whole envelope (sign, verify), µs — (b) v2 vs (a) v1 | {} | {} | {} |",
            us(whole[1]),
            us(whole[0]),
            ratio(whole[1], whole[0])
        );
        println!(
            "| {label}: same — (c) XChaCha20-Poly1305 vs (a) v1 | {} | {} | {} |",
            us(whole[2]),
            us(whole[0]),
            ratio(whole[2], whole[0])
        );
        println!(
            "| {label}: key derivation + AEAD seal and open only, µs — (b) v2 vs (a) v1 | {} | {} | {} |",
            us(aead[1]),
            us(aead[0]),
            ratio(aead[1], aead[0])
        );
        println!(
            "| {label}: same — (c) XChaCha20-Poly1305 vs (a) v1 | {} | {} | {} |",
            us(aead[2]),
            us(aead[0]),
            ratio(aead[2], aead[0])
        );
        println!(
            "| {label}: bytes per envelope — (b) v2 and (c) vs (a) v1 | {bytes_v2} | {bytes_v1} | {} |",
            ratio(bytes_v2 as f64, bytes_v1 as f64)
        );
    }
}
