//! Section `passcode` of `sebaya-bench` (issue 18, item 6): the time one passcode unlock spends
//! deriving its key.
//!
//! Sebaya: what `PasscodeLock::unlock` computes for one try, without the key store's reads and
//! writes: argon2id with this build's parameters (`KdfParams::PHONE`: 32 MiB, 3 passes, 1 lane),
//! the HKDF to the KEK with the key store's secret, and opening both slots of the wrapped key.
//! Baseline: argon2id with the argon2 crate's own default parameters (`Params::default()`: 19 MiB,
//! 2 passes, 1 lane) into 32 bytes, alternating in the same process. The ratio says how much more
//! work (for the person, and for anyone guessing with the key store's secret) this build's choice
//! costs than the crate's default.

use std::time::Instant;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use sebaya_core::lock::KdfParams;
use sebaya_core::lock::kdf::{self, SLOT_LEN, Wrapped};

use super::{Row, median};

/// Measured derivations per variant.
const SAMPLES: usize = 9;

/// Runs the section; appends its rows.
pub fn run(rows: &mut Vec<Row>) {
    let salt = [7u8; 16];
    let secret = [9u8; 32];
    let wrapped = Wrapped {
        params: KdfParams::PHONE,
        salt,
        slots: [[1u8; SLOT_LEN]; 2],
    };
    let default = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
    let mut sebaya = Vec::new();
    let mut baseline = Vec::new();
    for i in 0..=SAMPLES {
        let t = Instant::now();
        let s = kdf::stretch(b"246810", &salt, &KdfParams::PHONE).unwrap();
        let kek = kdf::kek(&s, &secret, &salt).unwrap();
        assert!(wrapped.open(0, &kek).unwrap().is_none());
        assert!(wrapped.open(1, &kek).unwrap().is_none());
        let a = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let mut blocks = vec![Block::default(); default.params().block_count()];
        let mut out = [0u8; 32];
        default
            .hash_password_into_with_memory(b"246810", &salt, &mut out, &mut blocks)
            .unwrap();
        let b = t.elapsed().as_secs_f64() * 1000.0;
        // The first of each warms the allocator and the caches; it is not counted.
        if i > 0 {
            sebaya.push(a);
            baseline.push(b);
        }
    }
    rows.push(Row::new(
        "passcode unlock: key derivation per try, median of 9, ms (argon2id 32 MiB, 3 passes, 1 lane + HKDF + both slots; vs argon2id with the argon2 crate's default 19 MiB, 2 passes, 1 lane)",
        median(sebaya),
        median(baseline),
        "ms",
    ));
}
