//! Changes payloads a member can seal into an envelope: whatever their bytes, decoding them refuses
//! with a typed error and never panics (a panic while applying would fail every sync of the space,
//! for good, since the envelope stays waiting and is decoded again at each one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ring::signature::KeyPair;
use sebaya_core::space::decode_changes;
use sebaya_core::{DeviceId, Error, Vault};
use sebaya_proto::{Envelope, HeaderV1, Kind};

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

/// Found by the `changes` fuzz target (fuzz/corpus/changes/crash-614e70b3…): a bundle that decodes,
/// whose change writes into an object no change made. Automerge panics applying it ("Missing from
/// Index").
const CHANGE_INTO_A_MISSING_OBJECT: [&str; 9] = [
    "01856f4a83aa9c0b5303f9020001208146640f02493af4fbc54fe33388e75dc2c937ae0b7727cc2b2afb1b75199a3e09",
    "010203021304230433084502500453036002030003017d0106077d0607037d80f7c4d506320a00037f0002017e000103",
    "000d0104030c1304156621023402420c56135748700c71027304b3011100020e0000027f3d07007f0604007f03000f7f",
    "007d10303030303030303030303030303061611030313233343536373839616263646566076372656174656402066564",
    "6974656402046d6f6f647f04746167730204746578747b076372656174656406656469746564046d6f6f640474616773",
    "0474657874000110000f01020005017f0205017f0202010200036402147d00d601c60202647c1400561680d8c1a28c34",
    "80d8c1a28c34e0acc5a28c3404056861726920696e69206261696b6861726920696e692073616e676174206261696bd0",
    "dec4a28c34d0dec4a28c3403656e7472796104007d01000102007f01060003007d067d7f7001077d027b017d0e7e0102",
    "7b017e7d7e",
];

/// Found by the `journal_merge` fuzz target (fuzz/corpus/journal_merge/crash-a67c6fdd…, less its
/// mode byte): a bundle that decodes, whose op columns do not; Automerge unwraps the column read
/// while applying and panics.
const UNDECODABLE_OP_COLUMNS: [&str; 9] = [
    "01856f4a83aa9c0b5303f9020001208146640f02493af4fbc54fe33388e75dc2c937ae0b7727cc2b2afb1b75199a3e09",
    "010203021304230433084502500453036002030003017d0106077d0607037d80f7c4d506320a00037f0002017e000103",
    "000d0104030c1304156621023402420c56135748700c71027304b3011100020e0000027f0107007f0604007f03000f7f",
    "007d10303030303030303030303030303061611030313233343536373839616263646566076372656174656402066564",
    "6974656402046d6f6f647f04746167730204746578747b0763726561fe656406656469746564046d6f6f640474616773",
    "0474657874000110000f01020005017f0205017f0202010200036402147d00d601c60202647c1400561680d8c1a28c34",
    "80d8c1a28c34e0acc5a28c3404056861726920696e69206261696b6861726920696e692073616e676174206261696bd0",
    "dec4a28c34d0dec4a28c3403656e7472796104007d01000102007f01060003007d067d7f7001077d027b017d0e7e0102",
    "7b017e7d7e",
];

/// A device linked to `a` whose keys the test holds (the fuzz harness's device, seed 0x5e…, the
/// actor the payloads above name), sealing changes envelopes of `a`'s journal with any payload.
struct Insider {
    header: HeaderV1,
    key: [u8; 32],
    kp: ring::signature::Ed25519KeyPair,
}

impl Insider {
    fn linked_to(a: &mut Vault) -> Insider {
        let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[0x5e; 32]).unwrap();
        let secret = x25519_dalek::StaticSecret::from([0x44; 32]);
        let request = sebaya_core::identity::link::LinkRequest {
            device: DeviceId::from_slice(kp.public_key().as_ref()).unwrap(),
            x25519: x25519_dalek::PublicKey::from(&secret).to_bytes(),
            certificate: None,
        };
        let response = a.approve_link(&request.to_code().unwrap()).unwrap();
        let resp = sebaya_core::identity::link::LinkResponse::from_code(&response).unwrap();
        let key =
            sebaya_core::crypto::keywrap::unwrap(&resp.wrap, &secret, &resp.space, &resp.epoch)
                .unwrap();
        Insider {
            header: HeaderV1 {
                kind: Kind::Changes,
                space: resp.space,
                epoch: resp.epoch,
                author: DeviceId::from_slice(kp.public_key().as_ref()).unwrap(),
                seq: 0,
            },
            key: *key,
            kp,
        }
    }

    fn seal(&self, seq: u64, payload: &[u8]) -> Vec<u8> {
        let header = HeaderV1 { seq, ..self.header };
        Envelope::seal_v1(header, &self.key, [0; 4], payload, &self.kp)
            .unwrap()
            .into_bytes()
    }
}

/// A member's changes that Automerge cannot apply (it panics) are quarantined like any invalid
/// content: receiving them returns, the journal is unchanged, and the space goes on syncing.
#[test]
fn changes_automerge_panics_on_are_quarantined_and_sync_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Vault::open(&dir.path().join("a.db"), &[1; 32]).unwrap();
    let mut b = Vault::open(&dir.path().join("b.db"), &[2; 32]).unwrap();
    b.complete_link(&a.approve_link(&b.link_request().unwrap()).unwrap())
        .unwrap();
    let insider = Insider::linked_to(&mut a);
    a.journal_add("before", 3, &[]).unwrap();
    b.receive_envelopes(&a.outgoing_envelopes().unwrap())
        .unwrap();
    assert_eq!(b.journal_list().len(), 1);

    for (seq, payload) in [
        (1, &CHANGE_INTO_A_MISSING_OBJECT[..]),
        (2, &UNDECODABLE_OP_COLUMNS[..]),
    ] {
        let env = insider.seal(seq, &hex::decode(payload.concat()).unwrap());
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            b.receive_envelopes(std::slice::from_ref(&env))
        }));
        let report = got.expect("receiving a member's changes panicked").unwrap();
        assert_eq!(report.quarantined, 1, "{report:?}");
        assert_eq!(b.journal_list().len(), 1);
    }

    a.journal_add("after", 4, &[]).unwrap();
    b.receive_envelopes(&a.outgoing_envelopes().unwrap())
        .unwrap();
    let texts: Vec<String> = b.journal_list().into_iter().map(|e| e.text).collect();
    assert_eq!(texts, ["before", "after"]);
}
