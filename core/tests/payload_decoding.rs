//! Changes payloads a member can seal into an envelope: whatever their bytes, decoding them refuses
//! with a typed error and never panics (a panic while applying would fail every sync of the space,
//! for good, since the envelope stays waiting and is decoded again at each one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sebaya_core::space::decode_changes;
use sebaya_core::{DeviceId, Error};

/// The fuzz harness's device (seed 0x5e…): the author the payload claims.
fn author() -> DeviceId {
    let key = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[0x5e; 32]).unwrap();
    DeviceId::from_slice(ring::signature::KeyPair::public_key(&key).as_ref()).unwrap()
}

/// Found by the `changes` fuzz target (fuzz/corpus/changes/crash-6c2c719b…): an Automerge bundle
/// (codec 1) whose delta-encoded column ends inside a LEB128 number. Automerge's column decoder
/// (hexane) unwraps the read and panics inside `Bundle::try_from`.
const TRUNCATED_COLUMN_BUNDLE: [&str; 9] = [
    "01856f4a83aa9c0b5303f9020001208146640f02493af4fbc54fe33388e75dc2c937ae0b7727cc2b2afb1b75199a3e09",
    "010203021304230433084502500453036002030003017d0106077d0607037d80f7c4d506320a00037f0002017e000103",
    "000d0104030c1304156621023402420c56135748700c71027304b3011100020e0000027f0107007f0604007f03000f7f",
    "007d10303030303030303030303030303061611030313233343536373839616263646566076372656174656402066564",
    "6974656402046d6f23647f04746167730204746578747b0763726561746564060202647c1400656469746564046d6f6f",
    "6404746167730474657874000110000f01020005017f0205017f0202010200036402147d00d601c60202647c14005616",
    "80d8c1a28c3480d8c1a28c34e0acc5a28c3404056861726920696e69206261696b6861726920696e692073616e676174",
    "206261696bd0dec4a28c34d0dec4a28c3403656e7472796104007d01000102007f01060003007d067d7f7001077d027b",
    "017d0e7e01027b017e7d7e",
];

#[test]
fn a_bundle_with_a_truncated_column_is_refused_not_a_panic() {
    let payload = hex::decode(TRUNCATED_COLUMN_BUNDLE.concat()).unwrap();
    let got = std::panic::catch_unwind(|| decode_changes(&payload, &author()));
    let result = got.expect("decode_changes panicked on a malformed bundle");
    assert!(matches!(result, Err(Error::Content(_))), "{result:?}");
}
