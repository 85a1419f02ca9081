//! The bodies of Sebaya's fuzz targets, one plain function per decoder that takes bytes from outside.
//!
//! Each function feeds its input to the entry point the real code calls on untrusted bytes and
//! panics (an `assert!`) only when a property fails: a decoded value that does not encode back to
//! what decodes to it again, a checked value that no longer passes its check, or a panic inside the
//! library itself. The libFuzzer targets in `fuzz/fuzz_targets/` (nightly, cargo-fuzz) are one line
//! each around these functions, and this crate's test `tests/replay.rs` runs every committed corpus
//! file through the same functions on stable, so a crash once found stays a failing test in CI.
//!
//! Where a decoder sits behind a signature or an AEAD that a fuzzer cannot forge, the harness signs
//! or seals the fuzzed bytes itself with fixed keys ([`signer`], [`SPACE_KEY`]) and hands the result
//! to the real entry point: the checks before the decoder then pass and the decoder sees the fuzzed
//! bytes. Nothing here is used by the product.

// A harness exists to panic when a property fails: `expect` on a value the library just produced
// (encoding what it decoded) states that property.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::LazyLock;

use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::{DeviceId, EpochId, SpaceId};

mod core_targets;
mod proto_targets;

pub use core_targets::{changes, journal_merge, link};
pub use proto_targets::{
    bundle, certificate, envelope, envelope_sealed, invite, keywraps, membership_log,
    membership_statement, peer, programme, request_auth, snapshot, sync_request, sync_response,
    training,
};

/// A target's body: takes one fuzz input, panics only when a property fails.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/` are named: the
/// replay test walks this list, so a target missing here is a target whose corpus nobody replays.
pub const TARGETS: &[(&str, Target)] = &[
    ("envelope", envelope),
    ("envelope_sealed", envelope_sealed),
    ("sync_request", sync_request),
    ("sync_response", sync_response),
    ("membership_statement", membership_statement),
    ("membership_log", membership_log),
    ("certificate", certificate),
    ("invite", invite),
    ("link", link),
    ("bundle", bundle),
    ("peer", peer),
    ("snapshot", snapshot),
    ("keywraps", keywraps),
    ("programme", programme),
    ("training", training),
    ("request_auth", request_auth),
    ("changes", changes),
    ("journal_merge", journal_merge),
];

/// Seed of the harness's device key: the author of every envelope, statement and bundle the harness
/// signs. Fixed, so seeds made with it (`examples/seeds.rs`) keep their meaning across runs.
pub const SIGNER_SEED: [u8; 32] = [0x5e; 32];
/// Seed of the harness's programme key (grants and training records it re-signs).
pub const PROGRAMME_SEED: [u8; 32] = [0x50; 32];
/// Seed of a second device: a member other than the harness's signer in the logs it builds.
pub const OTHER_SEED: [u8; 32] = [0x6f; 32];
/// The space the harness's envelopes belong to.
pub const SPACE: SpaceId = SpaceId([0x11; 16]);
/// The epoch the harness's sealed envelopes name.
pub const EPOCH: EpochId = EpochId([0x33; 32]);
/// The space key the harness seals and opens with.
pub const SPACE_KEY: [u8; 32] = [0x42; 32];
/// The invite secret the harness's join requests are for.
pub const INVITE_SECRET: [u8; 16] = [0x22; 16];
/// The X25519 secret key wraps are opened with.
pub const X25519_SECRET: [u8; 32] = [0x92; 32];

fn key(seed: &[u8; 32]) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(seed).expect("a 32-byte seed makes a key")
}

static SIGNER: LazyLock<Ed25519KeyPair> = LazyLock::new(|| key(&SIGNER_SEED));
static PROGRAMME: LazyLock<Ed25519KeyPair> = LazyLock::new(|| key(&PROGRAMME_SEED));
static OTHER: LazyLock<Ed25519KeyPair> = LazyLock::new(|| key(&OTHER_SEED));

/// The harness's device key (made once per process: key derivation would dominate each run).
pub fn signer() -> &'static Ed25519KeyPair {
    &SIGNER
}

/// The harness's programme key.
pub fn programme_key() -> &'static Ed25519KeyPair {
    &PROGRAMME
}

/// The second device's key.
pub fn other_key() -> &'static Ed25519KeyPair {
    &OTHER
}

/// The device id of a key.
pub fn device_of(key: &Ed25519KeyPair) -> DeviceId {
    DeviceId::from_slice(key.public_key().as_ref()).expect("an Ed25519 public key is 32 bytes")
}

/// The public key of a key as bytes.
pub fn public_of(key: &Ed25519KeyPair) -> [u8; 32] {
    device_of(key).0
}

/// Splits `data` into parts, each prefixed by its length (two bytes, big-endian): how a target that
/// needs several inputs (a chain of grants, a list of statements) reads them from one fuzz input. A
/// last part shorter than its prefix says is taken as it is. [`join_parts`] is the inverse, for seeds.
pub fn split_parts(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([data[0], data[1]])).min(data.len() - 2);
        out.push(&data[2..2 + n]);
        data = &data[2 + n..];
    }
    out
}

/// Joins parts as [`split_parts`] reads them (a part is cut to 65,535 bytes).
pub fn join_parts<B: AsRef<[u8]>>(parts: &[B]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        let p = p.as_ref();
        let p = &p[..p.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Replaces libFuzzer's panic hook (which aborts at every panic, even one the library catches) by
/// one that only reports it. The library catches Automerge's panics on malformed input on purpose
/// (`core::space::codec`); a panic nobody catches still ends the run as a crash, since libfuzzer-sys
/// aborts on any panic that reaches its entry point. Called once, from each target's `init`.
pub fn report_caught_panics() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{info}\n{}", std::backtrace::Backtrace::capture());
    }));
}
