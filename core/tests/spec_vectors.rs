//! Vectors of `docs/protocol.md` for what `sebaya-core` derives (issue 15): the key commitment and
//! the first epoch of a space (17.1), a rotation with its key wrap, sealed history and key-wraps
//! envelope (17.2), the index space's derivations and genesis (20.2), the X25519 small-order list
//! (16.3), the link request and response codes (20.7), and the prefix-first rule of the journal
//! merge (27.2), the passcode wrap (30.1).
//!
//! Every vector is computed here from the document's text with the primitives the crate uses (ring,
//! x25519-dalek), compared against the crate wherever a public function or a public path (a link
//! response, a sync request) exposes the same value, and its hex must appear in `docs/protocol.md`.
//! Several constructions are private to the crate (`seal_history`, `index::keys`, the index genesis):
//! for those the test checks the crate's real output through a public path instead.
//!
//! To print the values after a deliberate change: `cargo test -p sebaya-core --test spec_vectors
//! print_vectors -- --ignored --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::AutoCommit;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::signature::{Ed25519KeyPair, KeyPair};

use sebaya_core::crypto::keywrap::{self, KeyWrap};
use sebaya_core::identity::link;
use sebaya_core::identity::person::RecoverySecret;
use sebaya_core::sync::relay::{HttpResponse, RelaySync};
use sebaya_core::{Vault, crypto, journal, space};
use sebaya_proto::keywraps::KeyWrapSet;
use sebaya_proto::membership::{Op, SignedStatement, Statement, StatementId};
use sebaya_proto::sync::SyncRequest;
use sebaya_proto::{DeviceId, Envelope, EpochId, Kind, SpaceId};
use x25519_dalek::{PublicKey, StaticSecret};

#[path = "../../proto/tests/common/spec_doc.rs"]
mod spec_doc;
use spec_doc::{assert_documented, hkdf, hmac_sha256, sha256, spec};

// ------------------------------------------------------------------------------------------
// Helpers.

fn h(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

fn key(seed: &[u8; 32]) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(seed).unwrap()
}

fn public(k: &Ed25519KeyPair) -> [u8; 32] {
    k.public_key().as_ref().try_into().unwrap()
}

fn chacha_seal(k: &[u8; 32], nonce: [u8; 12], ad: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, k).unwrap())
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(ad), &mut buf)
        .unwrap();
    buf
}

fn chacha_open(k: &[u8; 32], nonce: [u8; 12], ad: &[u8], sealed: &[u8]) -> Vec<u8> {
    let mut buf = sealed.to_vec();
    let n = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, k).unwrap())
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(ad), &mut buf)
        .unwrap()
        .len();
    buf.truncate(n);
    buf
}

#[path = "../../proto/tests/common/cbor.rs"]
mod cbor;

/// The key commitment (17.1): HKDF-SHA256(salt empty, IKM = key, info "sebaya/v1/key-commit").
fn commit(k: &[u8; 32]) -> [u8; 32] {
    hkdf(&[], k, b"sebaya/v1/key-commit")
}

/// The first epoch id of a space (17.1).
fn genesis_epoch_input(space: &[u8; 16], k: &[u8; 32]) -> Vec<u8> {
    [&b"sebaya/v1/genesis-epoch"[..], space, &commit(k)].concat()
}

fn genesis_epoch(space: &[u8; 16], k: &[u8; 32]) -> [u8; 32] {
    sha256(&genesis_epoch_input(space, k))
}

/// A signed statement, by hand: (statement bytes, signature, id).
fn sign_statement(signer: &Ed25519KeyPair, statement: Vec<u8>) -> (Vec<u8>, Vec<u8>, [u8; 32]) {
    let sig = signer
        .sign(&[&b"sebaya/v1/membership"[..], &statement].concat())
        .as_ref()
        .to_vec();
    let id = sha256(&[statement.as_slice(), &sig].concat());
    (statement, sig, id)
}

fn statement_by_hand(
    space: &[u8],
    parents: &[[u8; 32]],
    author: &[u8; 32],
    time: u64,
    op: Vec<u8>,
) -> Vec<u8> {
    let parents: Vec<Vec<u8>> = parents.iter().map(|p| cbor::bytes(p)).collect();
    cbor::map(&[
        ("v", cbor::uint(1)),
        ("space", cbor::bytes(space)),
        ("parents", cbor::array(&parents)),
        ("author", cbor::bytes(author)),
        ("time", cbor::uint(time)),
        ("op", op),
    ])
}

// ------------------------------------------------------------------------------------------
// 17.1 and 17.2: the first epoch, a rotation, its wrap, its history, its key-wraps envelope.

const SPACE: [u8; 16] = [0x22; 16];
const TIME: u64 = 1_767_225_600;
/// The space's first key: the epoch key of 13.1.
const K0: [u8; 32] = [0x44; 32];
/// The rotated key: the wrapped key of 16.7.
const K1: [u8; 32] = [0x94; 32];
const ADMIN_SEED: [u8; 32] = [0x11; 32];
const MEMBER_SEED: [u8; 32] = [0x12; 32];
/// The wrap's ephemeral secret, the member's X25519 secret and the wrap nonce: those of 16.7.
const EPHEMERAL: [u8; 32] = [0x91; 32];
const MEMBER_X25519: [u8; 32] = [0x92; 32];
const WRAP_NONCE: [u8; 12] = [0x93; 12];
/// The genesis statement of 15.9.
const GENESIS_ID_HEX: &str = "1200964b3e5668f6c804db49ed0c5d170c7a7c665727b33992ab36a2b879b5da";

struct Rotation {
    commit0_prk: [u8; 32],
    commit0: [u8; 32],
    genesis_epoch_input: Vec<u8>,
    e0: [u8; 32],
    commit1: [u8; 32],
    rotate_statement: Vec<u8>,
    rotate_signature: Vec<u8>,
    e1: [u8; 32],
    eph: [u8; 32],
    recipient: [u8; 32],
    shared: [u8; 32],
    wrap_key: [u8; 32],
    wrap: Vec<u8>,
    history_key: [u8; 32],
    history_ad: Vec<u8>,
    history: Vec<u8>,
    payload: Vec<u8>,
    envelope: Vec<u8>,
}

fn rotation_by_hand() -> Rotation {
    let admin = key(&ADMIN_SEED);
    let member = public(&key(&MEMBER_SEED));
    let genesis_id: [u8; 32] = hex::decode(GENESIS_ID_HEX).unwrap().try_into().unwrap();
    let e0 = genesis_epoch(&SPACE, &K0);
    let commit1 = commit(&K1);
    let op = cbor::map(&[("rotate", cbor::map(&[("commit", cbor::bytes(&commit1))]))]);
    let (rotate_statement, rotate_signature, e1) = sign_statement(
        &admin,
        statement_by_hand(&SPACE, &[genesis_id], &public(&admin), TIME, op),
    );
    // The wrap of K1 for the member (16.5), for epoch e1.
    let e = StaticSecret::from(EPHEMERAL);
    let r = StaticSecret::from(MEMBER_X25519);
    let eph = PublicKey::from(&e).to_bytes();
    let recipient = PublicKey::from(&r).to_bytes();
    let shared = e.diffie_hellman(&PublicKey::from(recipient)).to_bytes();
    let wrap_key = hkdf(
        &[eph, recipient].concat(),
        &shared,
        &[&b"sebaya/v1/key-wrap"[..], &SPACE, &e1].concat(),
    );
    let ct = chacha_seal(
        &wrap_key,
        WRAP_NONCE,
        &[&SPACE[..], &e1, &recipient].concat(),
        &K1,
    );
    let wrap = [&[1u8][..], &eph, &WRAP_NONCE, &ct].concat();
    // K0 sealed under K1 (17.2).
    let history_key = hkdf(&[], &K1, b"sebaya/v1/history");
    let history_ad = [&SPACE[..], &e1, &e0].concat();
    let history = chacha_seal(&history_key, e0[..12].try_into().unwrap(), &history_ad, &K0);
    let payload = cbor::map(&[
        ("v", cbor::uint(1)),
        ("epoch", cbor::bytes(&e1)),
        (
            "wraps",
            cbor::array(&[cbor::array(&[cbor::bytes(&member), cbor::bytes(&wrap)])]),
        ),
        (
            "history",
            cbor::array(&[cbor::array(&[cbor::bytes(&e0), cbor::bytes(&history)])]),
        ),
    ]);
    // The key-wraps envelope (kind 4, signed, not sealed), seq 3, nonce salt zero.
    let mut env = b"SBYE".to_vec();
    env.extend_from_slice(&[1, 4]);
    env.extend_from_slice(&SPACE);
    env.extend_from_slice(&u32::try_from(148 + payload.len()).unwrap().to_be_bytes());
    env.extend_from_slice(&e1);
    env.extend_from_slice(&public(&admin));
    env.extend_from_slice(&3u64.to_be_bytes());
    env.extend_from_slice(&3u64.to_be_bytes());
    env.extend_from_slice(&[0; 4]);
    env.extend_from_slice(&payload);
    let sig = admin.sign(&[&b"sebaya/v1/envelope"[..], &env].concat());
    env.extend_from_slice(sig.as_ref());
    Rotation {
        commit0_prk: hmac_sha256(&[], &K0),
        commit0: commit(&K0),
        genesis_epoch_input: genesis_epoch_input(&SPACE, &K0),
        e0,
        commit1,
        rotate_statement,
        rotate_signature,
        e1,
        eph,
        recipient,
        shared,
        wrap_key,
        wrap,
        history_key,
        history_ad,
        history,
        payload,
        envelope: env,
    }
}

const COMMIT0_PRK_HEX: &str = "b9136517aa9c56d111c0799dbead795490da9c58eb883d9b9213412cdc58730e";
const COMMIT0_HEX: &str = "a5a1226d621bb3f65d2fbec1ede8bb263253f3768e96f0daf895f4db78c6cb7f";
const GENESIS_EPOCH_INPUT_HEX: &str = concat!(
    "7365626179612f76312f67656e657369732d65706f6368222222222222222222",
    "22222222222222a5a1226d621bb3f65d2fbec1ede8bb263253f3768e96f0daf8",
    "95f4db78c6cb7f",
);
const E0_HEX: &str = "06cee92257d6e2f33f74b5530ddec700676103b740924ad0081f0574383b96ac";
const COMMIT1_HEX: &str = "1a8d16448c30c0287f5f48a7509430cd357e792936d739aa0e64d35c3a99ecd8";
const ROTATE_STATEMENT_HEX: &str = concat!(
    "a661760165737061636550222222222222222222222222222222226770617265",
    "6e74738158201200964b3e5668f6c804db49ed0c5d170c7a7c665727b33992ab",
    "36a2b879b5da66617574686f725820d04ab232742bb4ab3a1368bd4615e4e6d0",
    "224ab71a016baf8520a332c97787376474696d651a6955b900626f70a166726f",
    "74617465a166636f6d6d697458201a8d16448c30c0287f5f48a7509430cd357e",
    "792936d739aa0e64d35c3a99ecd8",
);
const ROTATE_SIGNATURE_HEX: &str = concat!(
    "6ae7c8545565b4a6531207e22eaee76ef20ecff086d9c13f392db8d12bde85b4",
    "98930dcecc06c8a588b68becc6bf73ae5b4a56ca8f6653a99a3ca3fea81af100",
);
const E1_HEX: &str = "1ad56db7ae4432cbb10b042f1cf0bd1c8d791a287ff65d712e28f9e0a013ebdd";
const WRAP_KEY_HEX: &str = "f87f97e3289a4733e74de9262dd3f5305268b7d175f8fd11c5bfa380ed7b75cf";
const WRAP_HEX: &str = concat!(
    "010791f592e9fdf04d44d7e0e23500b6ccf035be69667647589967e6b612a131",
    "50939393939393939393939393a4f3c0c62802052d52aca426edc3d88769352a",
    "81830cf47117e3914dc4b28002dce948cb163e15baaabbe6e26a803763",
);
const HISTORY_KEY_HEX: &str = "61a4d14fa0231216d5cdf1956caafb04944d3f18916181e12460e3e6c1d1447e";
const HISTORY_AD_HEX: &str = concat!(
    "222222222222222222222222222222221ad56db7ae4432cbb10b042f1cf0bd1c",
    "8d791a287ff65d712e28f9e0a013ebdd06cee92257d6e2f33f74b5530ddec700",
    "676103b740924ad0081f0574383b96ac",
);
const HISTORY_HEX: &str = concat!(
    "19b2cd29460a3ac7e4affb7d90fe30a68b113aa3d76c26ef245e08a989ca4e38",
    "3c1c331e4017085970ff7c1a492a27ed",
);
const PAYLOAD_HEX: &str = concat!(
    "a46176016565706f636858201ad56db7ae4432cbb10b042f1cf0bd1c8d791a28",
    "7ff65d712e28f9e0a013ebdd65777261707381825820204040e364c10f2bec9c",
    "1fe500a1cd4c247c89d650a01ed7e82caba867877c21585d010791f592e9fdf0",
    "4d44d7e0e23500b6ccf035be69667647589967e6b612a1315093939393939393",
    "9393939393a4f3c0c62802052d52aca426edc3d88769352a81830cf47117e391",
    "4dc4b28002dce948cb163e15baaabbe6e26a80376367686973746f7279818258",
    "2006cee92257d6e2f33f74b5530ddec700676103b740924ad0081f0574383b96",
    "ac583019b2cd29460a3ac7e4affb7d90fe30a68b113aa3d76c26ef245e08a989",
    "ca4e383c1c331e4017085970ff7c1a492a27ed",
);
const KEY_WRAPS_ENVELOPE_HEX: &str = concat!(
    "53425945010422222222222222222222222222222222000001a71ad56db7ae44",
    "32cbb10b042f1cf0bd1c8d791a287ff65d712e28f9e0a013ebddd04ab232742b",
    "b4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737000000000000",
    "0003000000000000000300000000a46176016565706f636858201ad56db7ae44",
    "32cbb10b042f1cf0bd1c8d791a287ff65d712e28f9e0a013ebdd657772617073",
    "81825820204040e364c10f2bec9c1fe500a1cd4c247c89d650a01ed7e82caba8",
    "67877c21585d010791f592e9fdf04d44d7e0e23500b6ccf035be696676475899",
    "67e6b612a13150939393939393939393939393a4f3c0c62802052d52aca426ed",
    "c3d88769352a81830cf47117e3914dc4b28002dce948cb163e15baaabbe6e26a",
    "80376367686973746f72798182582006cee92257d6e2f33f74b5530ddec70067",
    "6103b740924ad0081f0574383b96ac583019b2cd29460a3ac7e4affb7d90fe30",
    "a68b113aa3d76c26ef245e08a989ca4e383c1c331e4017085970ff7c1a492a27",
    "ed6a95aa54be7c1ff173a79d8bb07bf78cf75180bd01a2af51f0138d7276aa10",
    "a1faa34f80c9ae1a768010ad6a5d765ee72e67fa98bc9b422ac7118dc5c5faf6",
    "07",
);
const KEY_WRAPS_ENVELOPE_ID_HEX: &str =
    "ff96c6ca88e6774adfb44611dbd7684630adfa9f4c44a3614a89a7913c675854";

#[test]
fn key_commitment_and_first_epoch_match_the_crate_and_the_document() {
    let r = rotation_by_hand();
    assert_eq!(h(r.commit0_prk), COMMIT0_PRK_HEX);
    assert_eq!(h(r.commit0), COMMIT0_HEX);
    assert_eq!(
        *crypto::derive(&K0, space::KEY_COMMIT_LABEL).unwrap(),
        r.commit0
    );
    assert_eq!(h(&r.genesis_epoch_input), GENESIS_EPOCH_INPUT_HEX);
    assert_eq!(r.genesis_epoch_input.len(), 23 + 16 + 32);
    assert_eq!(h(r.e0), E0_HEX);
    assert_eq!(
        space::genesis_epoch(&SpaceId(SPACE), &K0).unwrap(),
        EpochId(r.e0)
    );
    assert_eq!(h(r.commit1), COMMIT1_HEX);
    for (name, v) in [
        ("commitment PRK", COMMIT0_PRK_HEX),
        ("commitment of K0", COMMIT0_HEX),
        ("genesis-epoch input", GENESIS_EPOCH_INPUT_HEX),
        ("first epoch id", E0_HEX),
        ("commitment of K1", COMMIT1_HEX),
    ] {
        assert_documented(name, v);
    }
}

#[test]
fn the_rotation_of_17_2_matches_the_crate_and_the_document() {
    let r = rotation_by_hand();
    let admin = key(&ADMIN_SEED);
    let genesis = StatementId::from_hex(GENESIS_ID_HEX).unwrap();
    // The rotate statement, by sebaya-proto.
    let rotate = Statement::new(
        SpaceId(SPACE),
        vec![genesis],
        DeviceId(public(&admin)),
        TIME,
        Op::Rotate { commit: r.commit1 },
    )
    .sign(&admin)
    .unwrap();
    assert_eq!(rotate.statement_bytes(), r.rotate_statement.as_slice());
    assert_eq!(rotate.signature().as_slice(), r.rotate_signature.as_slice());
    assert_eq!(rotate.id().0, r.e1);
    assert_eq!(h(&r.rotate_statement), ROTATE_STATEMENT_HEX);
    assert_eq!(h(&r.rotate_signature), ROTATE_SIGNATURE_HEX);
    assert_eq!(h(r.e1), E1_HEX);
    // The wrap: same eph, R and shared secret as 16.7 (they do not depend on the epoch).
    assert_eq!(
        h(r.eph),
        "0791f592e9fdf04d44d7e0e23500b6ccf035be69667647589967e6b612a13150"
    );
    assert_eq!(
        h(r.recipient),
        "79fcf7f4c04d3277b425449f0d32209342908b4bc3772dfabe315f82034f6e64"
    );
    assert_eq!(
        h(r.shared),
        "0df6dc26b498408f41d8960dc78ba937ee66ccc9e8ada1467f67abaef52ec15a"
    );
    assert_eq!(h(r.wrap_key), WRAP_KEY_HEX);
    assert_eq!(h(&r.wrap), WRAP_HEX);
    assert_eq!(r.wrap.len(), keywrap::KEY_WRAP_LEN);
    let opened = keywrap::unwrap(
        &KeyWrap::from_bytes(&r.wrap).unwrap(),
        &StaticSecret::from(MEMBER_X25519),
        &SpaceId(SPACE),
        &EpochId(r.e1),
    )
    .unwrap();
    assert_eq!(*opened, K1, "sebaya-core opens the documented wrap");
    // The sealed history.
    assert_eq!(h(r.history_key), HISTORY_KEY_HEX);
    assert_eq!(h(&r.history_ad), HISTORY_AD_HEX);
    assert_eq!(h(&r.history), HISTORY_HEX);
    assert_eq!(r.history.len(), 48);
    // The payload and the envelope, by sebaya-proto.
    let set = KeyWrapSet {
        epoch: EpochId(r.e1),
        wraps: vec![(DeviceId(public(&key(&MEMBER_SEED))), r.wrap.clone())],
        history: vec![(EpochId(r.e0), r.history.clone())],
    };
    assert_eq!(set.encode().unwrap(), r.payload);
    assert_eq!(h(&r.payload), PAYLOAD_HEX);
    let env = set
        .to_envelope(SpaceId(SPACE), DeviceId(public(&admin)), 3, &admin)
        .unwrap();
    assert_eq!(env.as_bytes(), r.envelope.as_slice());
    assert_eq!(h(env.as_bytes()), KEY_WRAPS_ENVELOPE_HEX);
    assert_eq!(env.id().to_hex(), KEY_WRAPS_ENVELOPE_ID_HEX);
    let parsed = Envelope::parse(&r.envelope).unwrap();
    assert_eq!(parsed.kind(), Kind::KeyWraps);
    assert_eq!(KeyWrapSet::from_envelope(&parsed).unwrap(), set);
    for (name, v) in [
        ("rotate statement", ROTATE_STATEMENT_HEX),
        ("rotate signature", ROTATE_SIGNATURE_HEX),
        ("rotated epoch id", E1_HEX),
        ("wrap key", WRAP_KEY_HEX),
        ("wrap", WRAP_HEX),
        ("history key", HISTORY_KEY_HEX),
        ("history associated data", HISTORY_AD_HEX),
        ("sealed history", HISTORY_HEX),
        ("key-wraps payload", PAYLOAD_HEX),
        ("key-wraps envelope", KEY_WRAPS_ENVELOPE_HEX),
        ("key-wraps envelope id", KEY_WRAPS_ENVELOPE_ID_HEX),
    ] {
        assert_documented(name, v);
    }
}

fn vault(dir: &tempfile::TempDir, name: &str) -> Vault {
    Vault::open(&dir.path().join(name), &[7u8; 32]).unwrap()
}

/// `seal_history` is private: its real output is checked through a link response after a rotation.
/// The joiner unwraps the current key; the history entry opens under the documented construction to
/// the key whose genesis epoch (17.1, computed here) is the entry's epoch id; the rotate statement's
/// commitment is the documented commitment of the unwrapped key; and the journal's genesis travels in
/// a membership envelope as 15.4 says (zero epoch, zero salt).
#[test]
fn the_crate_seals_history_and_commits_keys_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = vault(&dir, "a.db");
    let mut b = vault(&dir, "b.db");
    b.complete_link(&a.approve_link(&b.link_request().unwrap()).unwrap())
        .unwrap();
    a.remove_device(&b.device_id()).unwrap();
    let c = vault(&dir, "c.db");
    let resp = link::LinkResponse::from_code(&a.approve_link(&c.link_request().unwrap()).unwrap())
        .unwrap();
    let k1 = c.unwrap_key(&resp.wrap, &resp.space, &resp.epoch).unwrap();
    assert_eq!(resp.history.len(), 1);
    let (e0, sealed) = &resp.history[0];
    let history_key = hkdf(&[], &k1[..], b"sebaya/v1/history");
    let ad = [&resp.space.0[..], &resp.epoch.0, &e0.0].concat();
    let k0: [u8; 32] = chacha_open(&history_key, e0.0[..12].try_into().unwrap(), &ad, sealed)
        .try_into()
        .unwrap();
    assert_eq!(genesis_epoch(&resp.space.0, &k0), e0.0);
    let mut rotations = 0;
    let mut genesis_seen = false;
    for bytes in &resp.envelopes {
        let env = Envelope::parse(bytes).unwrap();
        let header = env.header().unwrap();
        assert_eq!(header.epoch, EpochId([0; 32]));
        assert_eq!(bytes[106..110], [0; 4], "nonce salt");
        let s = SignedStatement::from_envelope(&env).unwrap();
        match s.statement().op {
            Op::Rotate { commit: c } => {
                assert_eq!(c, commit(&k1));
                assert_eq!(s.id().0, resp.epoch.0);
                rotations += 1;
            }
            Op::Genesis { .. } => genesis_seen = true,
            _ => {}
        }
    }
    assert_eq!(rotations, 1);
    assert!(genesis_seen);
}

// ------------------------------------------------------------------------------------------
// 20.2: the index space, from the index key of 16.7.

const ABANDON: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const INDEX_KEY_HEX: &str = "8f709507dd3b4b2587f5c4e2deadf43f8e152d4140dbf2cc902434c3a4093fd2";

struct Index {
    id_okm: [u8; 32],
    id: [u8; 16],
    first_key: [u8; 32],
    author_seed: [u8; 32],
    author: [u8; 32],
    author_x25519_secret: [u8; 32],
    author_x25519: [u8; 32],
    commit: [u8; 32],
    epoch: [u8; 32],
    genesis: Vec<u8>,
    genesis_signature: Vec<u8>,
    genesis_id: [u8; 32],
}

fn index_by_hand(index_key: &[u8; 32]) -> Index {
    let id_okm = hkdf(&[], index_key, b"sebaya/v1/index-space-id");
    let id: [u8; 16] = id_okm[..16].try_into().unwrap();
    let first_key = hkdf(&[], index_key, b"sebaya/v1/index-space-key");
    let author_seed = hkdf(&[], index_key, b"sebaya/v1/index-author");
    let signer = key(&author_seed);
    let author = public(&signer);
    let author_x25519_secret = hkdf(&[], &author_seed, b"sebaya/v1/index-author-x25519");
    let author_x25519 = PublicKey::from(&StaticSecret::from(author_x25519_secret)).to_bytes();
    let op = cbor::map(&[(
        "genesis",
        cbor::map(&[
            ("admin", cbor::bytes(&author)),
            ("x25519", cbor::bytes(&author_x25519)),
        ]),
    )]);
    let (genesis, genesis_signature, genesis_id) =
        sign_statement(&signer, statement_by_hand(&id, &[], &author, 0, op));
    Index {
        id_okm,
        id,
        first_key,
        author_seed,
        author,
        author_x25519_secret,
        author_x25519,
        commit: commit(&first_key),
        epoch: genesis_epoch(&id, &first_key),
        genesis,
        genesis_signature,
        genesis_id,
    }
}

fn index_key_of(phrase: &str) -> [u8; 32] {
    *RecoverySecret::from_phrase(phrase)
        .unwrap()
        .index_space_key()
        .unwrap()
}

const INDEX_ID_OKM_HEX: &str = "25f59fbc6b15b1f630740012d7c704ad8cffbf452381f65a177382946438e53c";
const INDEX_ID_HEX: &str = "25f59fbc6b15b1f630740012d7c704ad";
const INDEX_FIRST_KEY_HEX: &str =
    "99c52765373336eafa80ffd868eb50bade703ca8395045e32ac57bbd71a88ee3";
const INDEX_AUTHOR_SEED_HEX: &str =
    "0a7de1ab606b5396b49dcea24d99316aae3a65c26ded59e6f1a15383d048074a";
const INDEX_AUTHOR_HEX: &str = "3b54dc74d4a5a8a760455f1a5a5732295410e87ecdad252a87967f5fe4260074";
const INDEX_AUTHOR_X25519_SECRET_HEX: &str =
    "2748fc54f97b8aa9c3988934a25f76655ca3db36e00c8f0ccd73116470552c18";
const INDEX_AUTHOR_X25519_HEX: &str =
    "8dadb1095412bcbf67ac03182c6f4ba1edb1fe00a08bb9eee30aa4e8d99fbf6d";
const INDEX_COMMIT_HEX: &str = "caca10ab29c0f7be61fcbbe46451a98b33a9e9e4f62ee70b2e916be05a1c4f39";
const INDEX_EPOCH_HEX: &str = "98392c9adf50b7092484237fb9874d9fa585e79c49464391712e693965ad2819";
const INDEX_GENESIS_HEX: &str = concat!(
    "a66176016573706163655025f59fbc6b15b1f630740012d7c704ad6770617265",
    "6e74738066617574686f7258203b54dc74d4a5a8a760455f1a5a5732295410e8",
    "7ecdad252a87967f5fe42600746474696d6500626f70a16767656e65736973a2",
    "6561646d696e58203b54dc74d4a5a8a760455f1a5a5732295410e87ecdad252a",
    "87967f5fe42600746678323535313958208dadb1095412bcbf67ac03182c6f4b",
    "a1edb1fe00a08bb9eee30aa4e8d99fbf6d",
);
const INDEX_GENESIS_SIGNATURE_HEX: &str = concat!(
    "bc1dc0cd8410ae6f98d51f04a0a67944d11e3fee6d51e4692accd39896636904",
    "2fc4838a3641f56169c354ceda4efb10295fc693875b9f2d24a1c9aa4b9bb30e",
);
const INDEX_GENESIS_ID_HEX: &str =
    "22dc4526fe8051a3c9cba3cf4c7941c2d6a31c506f26a56515e0b74ed0b1707c";

#[test]
fn the_index_derivations_of_20_2_match_the_crate_and_the_document() {
    let entropy = [0u8; 16];
    assert_eq!(
        h(hkdf(&[], &entropy, b"sebaya/v1/index-space")),
        INDEX_KEY_HEX
    );
    let index_key = index_key_of(ABANDON);
    assert_eq!(h(index_key), INDEX_KEY_HEX);
    let x = index_by_hand(&index_key);
    for (name, got, want, label) in [
        (
            "index space id (HKDF output)",
            h(x.id_okm),
            INDEX_ID_OKM_HEX,
            "sebaya/v1/index-space-id",
        ),
        (
            "index first key",
            h(x.first_key),
            INDEX_FIRST_KEY_HEX,
            "sebaya/v1/index-space-key",
        ),
        (
            "index author seed",
            h(x.author_seed),
            INDEX_AUTHOR_SEED_HEX,
            "sebaya/v1/index-author",
        ),
    ] {
        assert_eq!(got, want, "{name}");
        assert_eq!(
            h(*crypto::derive(&index_key, label.as_bytes()).unwrap()),
            want,
            "{name} by sebaya-core"
        );
        assert_documented(name, want);
    }
    assert_eq!(
        h(*crypto::derive(&x.author_seed, b"sebaya/v1/index-author-x25519").unwrap()),
        INDEX_AUTHOR_X25519_SECRET_HEX
    );
    assert_eq!(
        space::genesis_epoch(&SpaceId(x.id), &x.first_key).unwrap(),
        EpochId(x.epoch)
    );
    for (name, got, want) in [
        ("index space id", h(x.id), INDEX_ID_HEX),
        ("index author", h(x.author), INDEX_AUTHOR_HEX),
        (
            "index author X25519 secret",
            h(x.author_x25519_secret),
            INDEX_AUTHOR_X25519_SECRET_HEX,
        ),
        (
            "index author X25519 public",
            h(x.author_x25519),
            INDEX_AUTHOR_X25519_HEX,
        ),
        ("index key commitment", h(x.commit), INDEX_COMMIT_HEX),
        ("index first epoch", h(x.epoch), INDEX_EPOCH_HEX),
        ("index genesis", h(&x.genesis), INDEX_GENESIS_HEX),
        (
            "index genesis signature",
            h(&x.genesis_signature),
            INDEX_GENESIS_SIGNATURE_HEX,
        ),
        ("index genesis id", h(x.genesis_id), INDEX_GENESIS_ID_HEX),
    ] {
        assert_eq!(got, want, "{name}");
        assert_documented(name, want);
    }
    // The genesis, by sebaya-proto.
    let author = DeviceId(x.author);
    let s = Statement::new(
        SpaceId(x.id),
        Vec::new(),
        author,
        0,
        Op::Genesis {
            admin: author,
            x25519: Some(x.author_x25519),
        },
    )
    .sign(&key(&x.author_seed))
    .unwrap();
    assert_eq!(s.statement_bytes(), x.genesis.as_slice());
    assert_eq!(s.id().0, x.genesis_id);
}

fn answer_info(v: &mut Vault, sync: &mut RelaySync) {
    let info = v.sync_next_request(sync).unwrap().unwrap();
    assert_eq!(info.method, "GET");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = format!(
        r#"{{"relay_id": "{}", "time": {now}, "protocol": 1}}"#,
        "55".repeat(16)
    );
    v.sync_handle_response(
        sync,
        HttpResponse {
            status: 200,
            body: body.into_bytes(),
        },
    )
    .unwrap();
}

/// `index::keys` and the index genesis are private: a phone restored from the phrase of 16.7 asks the
/// relay for the documented index space as the documented index author; a person created with a fresh
/// phrase pushes exactly the genesis this file computes from that phrase.
#[test]
fn the_crate_derives_the_index_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let mut restored = vault(&dir, "restored.db");
    restored.restore_person(ABANDON).unwrap();
    let mut sync = restored.sync_begin("http://relay.invalid").unwrap();
    answer_info(&mut restored, &mut sync);
    let req = restored.sync_next_request(&mut sync).unwrap().unwrap();
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("sebaya-device"), INDEX_AUTHOR_HEX);
    let body: SyncRequest = sebaya_proto::sync::decode(&req.body).unwrap();
    assert_eq!(body.spaces.len(), 1);
    assert_eq!(h(&body.spaces[0].space), INDEX_ID_HEX);

    let mut created = vault(&dir, "created.db");
    let phrase = created.create_person().unwrap();
    let x = index_by_hand(&index_key_of(&phrase));
    let mut sync = created.sync_begin("http://relay.invalid").unwrap();
    answer_info(&mut created, &mut sync);
    let req = created.sync_next_request(&mut sync).unwrap().unwrap();
    let body: SyncRequest = sebaya_proto::sync::decode(&req.body).unwrap();
    let genesis = body
        .envelopes
        .iter()
        .map(|b| Envelope::parse(b).unwrap())
        .filter(|e| e.space() == SpaceId(x.id) && e.kind() == Kind::Membership)
        .map(|e| SignedStatement::from_envelope(&e).unwrap())
        .find(|s| matches!(s.statement().op, Op::Genesis { .. }))
        .expect("the index genesis is pushed");
    assert_eq!(genesis.statement_bytes(), x.genesis.as_slice());
    assert_eq!(genesis.id().0, x.genesis_id);
}

// ------------------------------------------------------------------------------------------
// 16.3: the X25519 small-order list gives an all-zero shared secret.

#[test]
fn the_x25519_small_order_list_gives_zero_secrets() {
    let list = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for u in list {
        assert_documented("X25519 small-order point", u);
        for top in [0u8, 0x80] {
            let mut point: [u8; 32] = hex::decode(u).unwrap().try_into().unwrap();
            point[31] |= top;
            for scalar in [[0x91u8; 32], [0x5a; 32], MEMBER_X25519] {
                let shared = StaticSecret::from(scalar).diffie_hellman(&PublicKey::from(point));
                assert_eq!(shared.to_bytes(), [0u8; 32], "{u}");
            }
            assert!(sebaya_proto::identity::is_weak_x25519(&point));
        }
    }
}

// ------------------------------------------------------------------------------------------
// 27.2: common prefix first, then the common suffix of what remains.

#[test]
fn the_merge_takes_the_common_prefix_first() {
    let id = "00000000000000aa";
    let mut a = AutoCommit::new();
    journal::add(&mut a, id, "aa", 3, &[], 1).unwrap();
    let mut b = a.fork();
    journal::edit(&mut a, id, Some("aaa"), None, None, 2).unwrap();
    journal::edit(&mut b, id, Some("baa"), None, None, 3).unwrap();
    a.merge(&mut b).unwrap();
    let e = journal::get(&a, id).unwrap();
    assert_eq!(e.text, "baaa");
    assert!(e.conflicts.is_empty());
    assert!(spec().contains("| `aa` | `aaa`, `baa` | `baaa` "));
}

// ------------------------------------------------------------------------------------------
// 20.7: link request and response codes, from the device, certificate and key wrap of 16.7.

const DEVICE_HEX: &str = "5b6489c9c7fd0dcf50545e7c164886ef40491ec06c7f1b123041797e8117535e";
const DEVICE_X25519_HEX: &str = "79fcf7f4c04d3277b425449f0d32209342908b4bc3772dfabe315f82034f6e64";
const CERTIFICATE_HEX: &str = concat!(
    "a561760166706572736f6e582040f784350b02365be9b9cc5d410b0ff386638f",
    "10cbd14bea40bbdf54169ef20d6664657669636558205b6489c9c7fd0dcf5054",
    "5e7c164886ef40491ec06c7f1b123041797e8117535e66783235353139582079",
    "fcf7f4c04d3277b425449f0d32209342908b4bc3772dfabe315f82034f6e6467",
    "637265617465641a6955b900caec136be7dc18c56969bd07dc8b118c26c964e7",
    "926392d17263b53a4a2dbada659315ee043ba949439ef0a46f3fb76b84e36324",
    "23142fb83eed86d22d7af50a",
);
const WRAP_16_7_HEX: &str = concat!(
    "010791f592e9fdf04d44d7e0e23500b6ccf035be69667647589967e6b612a131",
    "50939393939393939393939393c5887ca9316cd8024d32674310dd143353395b",
    "e32390c38af0cf464b46e5543c67398015bd958f6ca44cfb5a1432e9d6",
);

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).unwrap().try_into().unwrap()
}

/// The crate's codes equal the prefix followed by the independent CBOR encoding in uppercase hex,
/// read back to the same values, and the CBOR is in docs/protocol.md.
#[test]
fn the_link_codes_of_20_7_match_the_crate_and_the_document() {
    let device = DeviceId(unhex(DEVICE_HEX));
    let x25519: [u8; 32] = unhex(DEVICE_X25519_HEX);
    let certificate = hex::decode(CERTIFICATE_HEX).unwrap();

    let plain = cbor::map(&[
        ("v", cbor::uint(1)),
        ("device", cbor::bytes(&device.0)),
        ("x25519", cbor::bytes(&x25519)),
    ]);
    let with_certificate = cbor::map(&[
        ("v", cbor::uint(1)),
        ("device", cbor::bytes(&device.0)),
        ("x25519", cbor::bytes(&x25519)),
        ("certificate", cbor::bytes(&certificate)),
    ]);
    for (cert, body) in [
        (None, &plain),
        (Some(certificate.clone()), &with_certificate),
    ] {
        let request = link::LinkRequest {
            device,
            x25519,
            certificate: cert,
        };
        let code = request.to_code().unwrap();
        assert_eq!(code, format!("SBYQ1{}", hex::encode_upper(body)));
        assert_eq!(link::LinkRequest::from_code(&code).unwrap(), request);
        assert_documented("link request", &h(body));
    }
    assert_eq!(
        link::LinkRequest::from_code(&format!("SBYQ1{}", h(&with_certificate)))
            .unwrap()
            .person()
            .map(h),
        Some("40f784350b02365be9b9cc5d410b0ff386638f10cbd14bea40bbdf54169ef20d".to_string())
    );

    let wrap = hex::decode(WRAP_16_7_HEX).unwrap();
    let body = cbor::map(&[
        ("v", cbor::uint(1)),
        ("space", cbor::bytes(&[0x22; 16])),
        ("kind", cbor::uint(1)),
        ("epoch", cbor::bytes(&[0x33; 32])),
        ("wrap", cbor::bytes(&wrap)),
        ("envelopes", cbor::array(&[])),
        ("history", cbor::array(&[])),
    ]);
    let response = link::LinkResponse {
        space: SpaceId([0x22; 16]),
        kind: 1,
        epoch: EpochId([0x33; 32]),
        wrap: KeyWrap::from_bytes(&wrap).unwrap(),
        envelopes: Vec::new(),
        history: Vec::new(),
        certificate: None,
        index: None,
    };
    let code = response.to_code().unwrap();
    assert_eq!(code, format!("SBYA1{}", hex::encode_upper(&body)));
    assert_eq!(response.to_bytes().unwrap(), body);
    let read = link::LinkResponse::from_code(&code).unwrap();
    assert_eq!(
        (read.space, read.kind, read.epoch),
        (response.space, 1, response.epoch)
    );
    assert_eq!(read.wrap.to_bytes(), wrap);
    assert_documented("link response", &h(&body));
    let k = keywrap::unwrap(
        &read.wrap,
        &StaticSecret::from([0x92; 32]),
        &read.space,
        &read.epoch,
    )
    .unwrap();
    assert_eq!(*k, [0x94; 32]);
}

/// A link response with every optional key and a non-empty list of each kind: the rotated group of
/// 17.2 answered to its member, with the membership envelope of 15.4, the history of 17.2, the
/// certificate of 16.7 and an index (20.2 ids; its wrap is 16.7's, layout only).
fn full_link_response() -> (link::LinkResponse, Vec<u8>) {
    let r = rotation_by_hand();
    let admin = key(&ADMIN_SEED);
    let genesis = Statement::new(
        SpaceId(SPACE),
        Vec::new(),
        DeviceId(public(&admin)),
        TIME,
        Op::Genesis {
            admin: DeviceId(public(&admin)),
            x25519: None,
        },
    )
    .sign(&admin)
    .unwrap()
    .to_envelope(SpaceId(SPACE), 1, &admin)
    .unwrap();
    assert_eq!(
        genesis.id().to_hex(),
        "528a04f164ec0de845d035505deee451542113ba7dc188850c339c894627a5c6",
        "the membership envelope of 15.4"
    );
    let certificate = hex::decode(CERTIFICATE_HEX).unwrap();
    let index_wrap = hex::decode(WRAP_16_7_HEX).unwrap();
    let index_space: [u8; 16] = unhex(INDEX_ID_HEX);
    let index_epoch: [u8; 32] = unhex(INDEX_EPOCH_HEX);
    let response = link::LinkResponse {
        space: SpaceId(SPACE),
        kind: 2,
        epoch: EpochId(r.e1),
        wrap: KeyWrap::from_bytes(&r.wrap).unwrap(),
        envelopes: vec![genesis.as_bytes().to_vec()],
        history: vec![(EpochId(r.e0), r.history.clone())],
        certificate: Some(certificate.clone()),
        index: Some(link::LinkedIndex {
            space: SpaceId(index_space),
            epoch: EpochId(index_epoch),
            wrap: KeyWrap::from_bytes(&index_wrap).unwrap(),
            history: Vec::new(),
        }),
    };
    let by_hand = cbor::map(&[
        ("v", cbor::uint(1)),
        ("space", cbor::bytes(&SPACE)),
        ("kind", cbor::uint(2)),
        ("epoch", cbor::bytes(&r.e1)),
        ("wrap", cbor::bytes(&r.wrap)),
        ("envelopes", cbor::array(&[cbor::bytes(genesis.as_bytes())])),
        (
            "history",
            cbor::array(&[cbor::array(&[cbor::bytes(&r.e0), cbor::bytes(&r.history)])]),
        ),
        ("certificate", cbor::bytes(&certificate)),
        (
            "index",
            cbor::map(&[
                ("space", cbor::bytes(&index_space)),
                ("epoch", cbor::bytes(&index_epoch)),
                ("wrap", cbor::bytes(&index_wrap)),
                ("history", cbor::array(&[])),
            ]),
        ),
    ]);
    (response, by_hand)
}

const FULL_LINK_RESPONSE_LEN: usize = 1056;
const FULL_LINK_RESPONSE_SHA256_HEX: &str =
    "66701d64c2d70ee86f9ce0ab193de3ccd6438b1949767a764de0810ae9218404";

/// Every optional key of a link response (20.7), through the crate's binary form and code.
#[test]
fn the_link_response_with_every_key_of_20_7_matches_the_crate_and_the_document() {
    let (response, by_hand) = full_link_response();
    let bytes = response.to_bytes().unwrap();
    assert_eq!(bytes, by_hand);
    assert_eq!(bytes.len(), FULL_LINK_RESPONSE_LEN);
    assert_eq!(h(sha256(&bytes)), FULL_LINK_RESPONSE_SHA256_HEX);
    assert_eq!(
        response.to_code().unwrap(),
        format!("SBYA1{}", hex::encode_upper(&bytes))
    );
    assert_documented(
        "full link response's SHA-256",
        FULL_LINK_RESPONSE_SHA256_HEX,
    );
    assert!(
        spec().contains(&format!("{FULL_LINK_RESPONSE_LEN} bytes of CBOR")),
        "20.7 lacks the full response's length"
    );
    // Read back: the member opens the wrap to K1, and K1 opens the history to K0.
    let read = link::LinkResponse::from_bytes(&bytes).unwrap();
    assert_eq!(read.envelopes, response.envelopes);
    assert_eq!(read.certificate, response.certificate);
    let index = read.index.as_ref().unwrap();
    assert_eq!(index.space.0, unhex::<16>(INDEX_ID_HEX));
    let k1 = keywrap::unwrap(
        &read.wrap,
        &StaticSecret::from(MEMBER_X25519),
        &read.space,
        &read.epoch,
    )
    .unwrap();
    assert_eq!(*k1, K1);
    let (e0, sealed) = &read.history[0];
    let r = rotation_by_hand();
    let k0 = chacha_open(
        &hkdf(&[], &k1[..], b"sebaya/v1/history"),
        e0.0[..12].try_into().unwrap(),
        &[&SPACE[..], &read.epoch.0, &e0.0].concat(),
        sealed,
    );
    assert_eq!(k0, K0);
    assert_eq!(e0.0, r.e0);
}

// ------------------------------------------------------------------------------------------

#[test]
#[ignore]
fn print_vectors() {
    let r = rotation_by_hand();
    for (name, v) in [
        ("commit0 prk", h(r.commit0_prk)),
        ("commit0", h(r.commit0)),
        ("genesis epoch input", h(&r.genesis_epoch_input)),
        ("e0", h(r.e0)),
        ("commit1", h(r.commit1)),
        ("rotate statement", h(&r.rotate_statement)),
        ("rotate signature", h(&r.rotate_signature)),
        ("e1", h(r.e1)),
        ("eph", h(r.eph)),
        ("recipient", h(r.recipient)),
        ("shared", h(r.shared)),
        ("wrap key", h(r.wrap_key)),
        ("wrap", h(&r.wrap)),
        ("history key", h(r.history_key)),
        ("history ad", h(&r.history_ad)),
        ("history", h(&r.history)),
        ("payload", h(&r.payload)),
        ("envelope", h(&r.envelope)),
        ("envelope id", h(sha256(&r.envelope))),
    ] {
        println!("{name} ({} bytes): {v}", v.len() / 2);
    }
    let (_, full) = full_link_response();
    println!(
        "full link response ({} bytes): sha256 {}\n{}",
        full.len(),
        h(sha256(&full)),
        h(&full)
    );
    let x = index_by_hand(&index_key_of(ABANDON));
    for (name, v) in [
        ("index id okm", h(x.id_okm)),
        ("index id", h(x.id)),
        ("index first key", h(x.first_key)),
        ("index author seed", h(x.author_seed)),
        ("index author", h(x.author)),
        ("index author x25519 secret", h(x.author_x25519_secret)),
        ("index author x25519", h(x.author_x25519)),
        ("index commit", h(x.commit)),
        ("index epoch", h(x.epoch)),
        ("index genesis", h(&x.genesis)),
        ("index genesis signature", h(&x.genesis_signature)),
        ("index genesis id", h(x.genesis_id)),
    ] {
        println!("{name} ({} bytes): {v}", v.len() / 2);
    }
}

// ------------------------------------------------------------------------------------------
// 12.1: the announcement of the envelope versions a device opens.

const ANNOUNCEMENT_CHANGE_HEX: &str = concat!(
    "856f4a83a44277db014b0020d04ab232742bb4ab3a1368bd4615e4e6d0224ab7",
    "1a016baf8520a332c9778737010180f2d6ca061f7365626179612f76312f656e",
    "76656c6f70652d76657273696f6e733a312c320000",
);

#[test]
fn the_announcement_of_12_1_is_the_documented_change() {
    use automerge::transaction::CommitOptions;
    let author = public(&key(&[0x11; 32]));
    let message = space::versions::announcement(&sebaya_proto::envelope::OPENABLE_VERSIONS);
    assert_eq!(message, "sebaya/v1/envelope-versions:1,2");
    assert_eq!(
        space::versions::parse_announcement(&message),
        Some(vec![1, 2])
    );
    assert_documented("12.1 message", &h(message.as_bytes()));
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(&author[..]));
    doc.empty_change(
        CommitOptions::default()
            .with_message(message.clone())
            .with_time(1_767_225_600),
    );
    let change = doc.get_changes(&[]).pop().unwrap();
    assert_eq!(change.message(), Some(message.as_str()));
    assert_eq!(change.actor_id().to_bytes(), &author[..]);
    assert_eq!(h(change.raw_bytes()), ANNOUNCEMENT_CHANGE_HEX);
    assert_documented("12.1 announcement change", ANNOUNCEMENT_CHANGE_HEX);
}

// ------------------------------------------------------------------------------------------
// 12.2: the announcement of the rules version a device judges under, the floor, narrowing.

const RULES_ANNOUNCEMENT_CHANGE_HEX: &str = concat!(
    "856f4a835b81fde4013d0020d04ab232742bb4ab3a1368bd4615e4e6d0224ab7",
    "1a016baf8520a332c9778737010180f2d6ca06117365626179612f76312f7275",
    "6c65733a390000",
);

#[test]
fn the_rules_announcement_of_12_2_is_the_documented_change() {
    use automerge::transaction::CommitOptions;
    let author = public(&key(&[0x11; 32]));
    let message = space::rulesann::rules_announcement(9);
    assert_eq!(message, "sebaya/v1/rules:9");
    assert_eq!(space::rulesann::parse_rules_announcement(&message), Some(9));
    assert_documented("12.2 message", &h(message.as_bytes()));
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(&author[..]));
    doc.empty_change(
        CommitOptions::default()
            .with_message(message.clone())
            .with_time(1_767_225_600),
    );
    let change = doc.get_changes(&[]).pop().unwrap();
    assert_eq!(change.actor_id().to_bytes(), &author[..]);
    assert_eq!(h(change.raw_bytes()), RULES_ANNOUNCEMENT_CHANGE_HEX);
    assert_documented("12.2 announcement change", RULES_ANNOUNCEMENT_CHANGE_HEX);
    assert!(
        spec().contains(&format!("gives them), {} bytes", change.raw_bytes().len())),
        "12.2 length"
    );
}

/// 12.2's floor table, row by row: members and their latest announcements, and the floor.
#[test]
fn the_floor_table_of_12_2_holds() {
    use std::collections::BTreeMap;
    let (a, b, c) = (DeviceId([1; 32]), DeviceId([2; 32]), DeviceId([3; 32]));
    type Row<'a> = (&'a [DeviceId], &'a [(DeviceId, u32)], u32, &'a str);
    let rows: [Row<'_>; 7] = [
        (&[a, b], &[(a, 9), (b, 9)], 9, "| A, B | A: 9; B: 9 | 9 |"),
        (&[a, b], &[(a, 9), (b, 7)], 7, "| A, B | A: 9; B: 7 | 7 |"),
        (&[a, b], &[(a, 9)], 0, "| A, B | A: 9; B: none | 0 |"),
        (
            &[a, b],
            &[(a, 12), (b, 9)],
            9,
            "| A, B (C removed) | A: 12; B: 9; C: none | 9 |",
        ),
        (
            &[a, b],
            &[(a, 12), (b, 12)],
            12,
            "| A, B | A: 12; B: 12 | 12 |",
        ),
        (
            &[a, b, c],
            &[(a, 12), (b, 12)],
            0,
            "| A, B, C (C added later) | A: 12; B: 12; C: none | 0 |",
        ),
        (&[], &[(a, 12)], 0, "| none | A: 12 | 0 |"),
    ];
    let text = spec();
    for (members, latest, want, row) in rows {
        let latest: BTreeMap<DeviceId, u32> = latest.iter().copied().collect();
        assert_eq!(space::rulesann::floor(members, &latest), want, "{row}");
        assert!(text.contains(row), "row not in 12.2: {row}");
    }
}

/// 12.2's narrowing vector: `c1` before B's announcement is in its past, `c2` after.
#[test]
fn the_narrowing_vector_of_12_2_holds() {
    use automerge::transaction::{CommitOptions, Transactable};
    use space::rulesann::{announced_in_past, rules_announcement};
    let a = DeviceId([0xa1; 32]);
    let b = DeviceId([0xb2; 32]);
    let announce = |d: &mut AutoCommit, v: u32| {
        d.empty_change(CommitOptions::default().with_message(rules_announcement(v)));
    };
    let mut da = AutoCommit::new().with_actor(automerge::ActorId::from(&a.0[..]));
    announce(&mut da, 12);
    da.put(automerge::ROOT, "x", 1).unwrap();
    da.commit();
    let c1 = da.get_last_local_change().unwrap();
    let mut db = AutoCommit::new().with_actor(automerge::ActorId::from(&b.0[..]));
    announce(&mut db, 12);
    da.merge(&mut db).unwrap();
    da.put(automerge::ROOT, "x", 2).unwrap();
    da.commit();
    let c2 = da.get_last_local_change().unwrap();
    for later in [false, true] {
        if later {
            announce(&mut db, 9);
            da.merge(&mut db).unwrap();
        }
        assert!(!announced_in_past(&mut da, c1.deps(), &[a, b], 12));
        assert!(announced_in_past(&mut da, c2.deps(), &[a, b], 12));
        let c = DeviceId([3; 32]);
        assert!(!announced_in_past(&mut da, c2.deps(), &[a, b, c], 12));
        assert!(!announced_in_past(&mut da, c1.deps(), &[a, b, c], 12));
    }
}

/// 8.1: the Automerge actor id of a device's generation (issue 15, item 7): the device id alone in
/// generation 0, then the device id and the generation as 4 bytes, big-endian. Built here from the
/// text and compared with the crate, both ways.
#[test]
fn the_actor_generations_of_8_1_are_the_documented_bytes() {
    let author = DeviceId(public(&key(&[0x11; 32])));
    for (generation, suffix) in [(0u32, ""), (1, "00000001"), (258, "00000102")] {
        let want = format!("{}{suffix}", h(author.0));
        let actor = space::actor_of_generation(&author, generation);
        assert_eq!(h(actor.to_bytes()), want);
        assert_eq!(space::actor_generation(&actor), Some((author, generation)));
        assert_eq!(space::actor_device(&actor), Some(author));
        if generation > 0 {
            assert_documented("8.1 actor of a later generation", &want);
        }
    }
    let mut zero = author.0.to_vec();
    zero.extend_from_slice(&[0; 4]);
    for other in [
        zero,
        author.0[..31].to_vec(),
        vec![0x11; 16],
        vec![0x11; 40],
    ] {
        assert_eq!(
            space::actor_generation(&automerge::ActorId::from(other)),
            None
        );
    }
}

// ------------------------------------------------------------------------------------------
// 30.1: the passcode wrap, from the section's text with the argon2 crate and ring.

#[test]
fn passcode_wrap_vector_from_the_text() {
    use argon2::{Algorithm, Argon2, Block, Params, Version};
    use sebaya_core::lock::KdfParams;
    use sebaya_core::lock::kdf::{self, Wrapped};

    let (salt, secret) = ([0x11u8; 16], [0x22u8; 32]);
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8192, 1, 1, Some(32)).unwrap(),
    );
    let mut blocks = vec![Block::default(); argon.params().block_count()];
    let mut a = [0u8; 32];
    argon
        .hash_password_into_with_memory(b"246810", &salt, &mut a, &mut blocks)
        .unwrap();
    let mut ikm = a.to_vec();
    ikm.extend_from_slice(&secret);
    let kek = hkdf(&salt, &ikm, b"sebaya passcode kek v1");
    assert_documented("passcode stretch A", &h(a));
    assert_documented("passcode KEK", &h(kek));

    let mut header = b"SBPC".to_vec();
    header.extend_from_slice(&[1, 1]);
    for v in [8192u32, 1, 1] {
        header.extend_from_slice(&v.to_be_bytes());
    }
    header.extend_from_slice(&salt);
    header.push(2);
    let mut wire = header.clone();
    for (slot, nonce, key) in [
        (0u8, [0x33u8; 12], [0x44u8; 32]),
        (1, [0x55; 12], [0x66; 32]),
    ] {
        let k = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &kek).unwrap());
        let mut aad = header.clone();
        aad.push(slot);
        let mut buf = key.to_vec();
        k.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut buf,
        )
        .unwrap();
        wire.extend_from_slice(&nonce);
        wire.extend_from_slice(&buf);
    }
    assert_documented("passcode wrap", &h(&wire));

    // The crate derives the same and opens the documented bytes.
    let ours = kdf::stretch(b"246810", &salt, &KdfParams::MIN).unwrap();
    assert_eq!(*ours, a);
    let ours = kdf::kek(&ours, &secret, &salt).unwrap();
    assert_eq!(*ours, kek);
    let w = Wrapped::from_bytes(&wire).unwrap();
    assert_eq!(*w.open(0, &ours).unwrap().unwrap(), [0x44; 32]);
    assert_eq!(*w.open(1, &ours).unwrap().unwrap(), [0x66; 32]);
}

// ------------------------------------------------------------------------------------------
// 31.4: a report's pass-on id and the ad of a copy, from the section's text with ring.

#[test]
fn the_report_pass_on_id_of_31_4_holds() {
    let (k, sg) = ([0xe2u8; 32], [0xe8u8; 16]);
    let mut data = b"sebaya/v1/report-passon".to_vec();
    data.push(0);
    data.extend_from_slice(&sg);
    let id = h(&hmac_sha256(&k, &data)[..8]);
    assert_documented("report pass-on id", &id);
    let mut ad = b"sebaya/v1/report".to_vec();
    ad.extend_from_slice(&sg);
    ad.extend_from_slice(format!("{id}/{}", "e9".repeat(32)).as_bytes());
    assert_eq!(ad.len(), 113);
    assert_documented("report copy ad", &h(&ad));
}
