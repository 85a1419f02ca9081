//! Vectors and rules of `docs/protocol.md` that a second implementation needs and that section 13
//! does not cover (issue 15): the membership envelope of 15.4, the minimum body of every kind, what
//! `open` answers for kinds it does not decrypt, the `seq = 0` refusal, the small-order key list, the
//! sealed join request and its token (18.5), the bundle body (24), and the label table of 16.6.
//!
//! Every vector is built twice: by `sebaya-proto`, and independently here from the document's text
//! (CBOR written by hand, HKDF from HMAC-SHA256, frames assembled byte by byte), with the same
//! primitives (ring). Both must equal the hex below, and the hex must appear in `docs/protocol.md`.
//!
//! To print the values after a deliberate change: `cargo test -p sebaya-proto --test spec_vectors
//! print_vectors -- --ignored --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::signature::{Ed25519KeyPair, KeyPair};

use sebaya_proto::bundle::{self, BundleBody, BundleSpace};
use sebaya_proto::identity::is_weak_x25519;
use sebaya_proto::invite::{self, InviteCode, InviteId, JoinRequest};
use sebaya_proto::keywraps::KeyWrapSet;
use sebaya_proto::membership::{Op, SignedStatement, Statement};
use sebaya_proto::programme::{ProgrammeRegistry, ProgrammeRole, RoleGrant, RoleRevocation};
use sebaya_proto::training::{Shortfall, TrainingRecord, shortfalls};
use sebaya_proto::{DeviceId, Envelope, EpochId, HeaderV1, Kind, PersonId, ProtoError, SpaceId};
use serde_bytes::ByteBuf;

#[path = "common/spec_doc.rs"]
mod spec_doc;
use spec_doc::{assert_documented, hkdf, section, sha256, spec, squeezed_spec};

// ------------------------------------------------------------------------------------------
// Helpers: the document, hashing, HKDF by hand, CBOR by hand.

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

fn key(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}

fn public(k: &Ed25519KeyPair) -> [u8; 32] {
    k.public_key().as_ref().try_into().unwrap()
}

#[path = "common/cbor.rs"]
mod cbor;

/// A v1 envelope written byte by byte (sections 2, 3, 6): payload as given, not sealed.
fn plain_envelope(
    kind: u8,
    space: &[u8; 16],
    epoch: &[u8; 32],
    seq: u64,
    salt: [u8; 4],
    payload: &[u8],
    signer: &Ed25519KeyPair,
) -> Vec<u8> {
    let mut b = b"SBYE".to_vec();
    b.push(1);
    b.push(kind);
    b.extend_from_slice(space);
    b.extend_from_slice(&u32::try_from(148 + payload.len()).unwrap().to_be_bytes());
    b.extend_from_slice(epoch);
    b.extend_from_slice(&public(signer));
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&salt);
    b.extend_from_slice(payload);
    let mut msg = b"sebaya/v1/envelope".to_vec();
    msg.extend_from_slice(&b);
    b.extend_from_slice(signer.sign(&msg).as_ref());
    b
}

// ------------------------------------------------------------------------------------------
// 15.4: a real membership envelope.

const SPACE: [u8; 16] = [0x22; 16];
const TIME: u64 = 1_767_225_600;

/// The genesis statement of 15.9, written by hand.
fn genesis_statement_by_hand() -> Vec<u8> {
    let admin = public(&key(0x11));
    cbor::map(&[
        ("v", cbor::uint(1)),
        ("space", cbor::bytes(&SPACE)),
        ("parents", cbor::array(&[])),
        ("author", cbor::bytes(&admin)),
        ("time", cbor::uint(TIME)),
        (
            "op",
            cbor::map(&[("genesis", cbor::map(&[("admin", cbor::bytes(&admin))]))]),
        ),
    ])
}

fn genesis_by_proto() -> SignedStatement {
    let admin = DeviceId(public(&key(0x11)));
    Statement::new(
        SpaceId(SPACE),
        Vec::new(),
        admin,
        TIME,
        Op::Genesis {
            admin,
            x25519: None,
        },
    )
    .sign(&key(0x11))
    .unwrap()
}

fn membership_envelope_by_hand() -> Vec<u8> {
    let statement = genesis_statement_by_hand();
    let mut msg = b"sebaya/v1/membership".to_vec();
    msg.extend_from_slice(&statement);
    let wire = [statement, key(0x11).sign(&msg).as_ref().to_vec()].concat();
    plain_envelope(3, &SPACE, &[0; 32], 1, [0; 4], &wire, &key(0x11))
}

const GENESIS_WIRE_HEX: &str = concat!(
    "a661760165737061636550222222222222222222222222222222226770617265",
    "6e74738066617574686f725820d04ab232742bb4ab3a1368bd4615e4e6d0224a",
    "b71a016baf8520a332c97787376474696d651a6955b900626f70a16767656e65",
    "736973a16561646d696e5820d04ab232742bb4ab3a1368bd4615e4e6d0224ab7",
    "1a016baf8520a332c9778737",
    "28fa9028518d95737efe1513cf7c7f2721ce4dcc6b185dd00462d77188d5d026",
    "94b91f067c73331dfd32863a4d31cf775fb474386b7f8cb41485c9e4f3caa60f",
);
const MEMBERSHIP_ENVELOPE_HEX: &str = concat!(
    "5342594501032222222222222222222222222222222200000160000000000000",
    "0000000000000000000000000000000000000000000000000000d04ab232742b",
    "b4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737000000000000",
    "0001000000000000000100000000a66176016573706163655022222222222222",
    "22222222222222222267706172656e74738066617574686f725820d04ab23274",
    "2bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c97787376474696d65",
    "1a6955b900626f70a16767656e65736973a16561646d696e5820d04ab232742b",
    "b4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c977873728fa9028518d",
    "95737efe1513cf7c7f2721ce4dcc6b185dd00462d77188d5d02694b91f067c73",
    "331dfd32863a4d31cf775fb474386b7f8cb41485c9e4f3caa60f5a211ff8adcc",
    "a8c4538ca2ba21ebf07ba239eadd6811228b1d6b472e3f43dbf362cae696509b",
    "12918cc75ba8ef4938350ee3dcdfa0ad20538ca7f57095135f02",
);
const MEMBERSHIP_ENVELOPE_ID_HEX: &str =
    "528a04f164ec0de845d035505deee451542113ba7dc188850c339c894627a5c6";

#[test]
fn the_membership_envelope_of_15_4_is_byte_exact_and_documented() {
    let s = genesis_by_proto();
    assert_eq!(hex::encode(s.to_bytes()), GENESIS_WIRE_HEX);
    let env = s.to_envelope(SpaceId(SPACE), 1, &key(0x11)).unwrap();
    assert_eq!(hex::encode(env.as_bytes()), MEMBERSHIP_ENVELOPE_HEX);
    assert_eq!(
        hex::encode(membership_envelope_by_hand()),
        MEMBERSHIP_ENVELOPE_HEX
    );
    assert_eq!(env.id().to_hex(), MEMBERSHIP_ENVELOPE_ID_HEX);
    assert_eq!(env.as_bytes().len(), 26 + 148 + 204);
    // Read back: the statement, verified, with the envelope's author and space.
    let parsed = Envelope::parse(&unhex(MEMBERSHIP_ENVELOPE_HEX)).unwrap();
    assert_eq!(SignedStatement::from_envelope(&parsed).unwrap(), s);
    assert_eq!(
        parsed.open(&[0x99; 32]).unwrap(),
        s.to_bytes(),
        "no key is used"
    );
    let h = parsed.header().unwrap();
    assert_eq!(
        (h.kind, h.epoch, h.seq),
        (Kind::Membership, EpochId([0; 32]), 1)
    );
    assert_documented("membership envelope of 15.4", MEMBERSHIP_ENVELOPE_HEX);
    assert_documented("its id", MEMBERSHIP_ENVELOPE_ID_HEX);
}

/// The unsealed kind-3 envelope of 13.4 is a layout vector: `from_envelope` refuses it.
#[test]
fn the_layout_vector_of_13_4_is_not_a_membership_envelope() {
    let layout = plain_envelope(
        3,
        &SPACE,
        &[0x33; 32],
        1,
        [0xa1, 0xa2, 0xa3, 0xa4],
        b"sebaya test vector",
        &key(0x11),
    );
    assert_documented("13.4 layout envelope", &hex::encode(&layout));
    let env = Envelope::parse(&layout).unwrap();
    env.verify().unwrap();
    assert_eq!(
        SignedStatement::from_envelope(&env),
        Err(ProtoError::Malformed(
            "a membership envelope's epoch id is zero"
        ))
    );
    // With a zero epoch, the payload is still not a signed statement.
    let zero_epoch = plain_envelope(
        3,
        &SPACE,
        &[0; 32],
        1,
        [0xa1, 0xa2, 0xa3, 0xa4],
        b"sebaya test vector",
        &key(0x11),
    );
    assert_eq!(
        SignedStatement::from_envelope(&Envelope::parse(&zero_epoch).unwrap()),
        Err(ProtoError::Truncated {
            needed: 65,
            had: 18
        })
    );
    // The salt is not checked on reading: only `to_envelope` writes it as zero.
    let statement_with_salt = plain_envelope(
        3,
        &SPACE,
        &[0; 32],
        1,
        [0xa1, 0xa2, 0xa3, 0xa4],
        &genesis_by_proto().to_bytes(),
        &key(0x11),
    );
    assert!(
        SignedStatement::from_envelope(&Envelope::parse(&statement_with_salt).unwrap()).is_ok()
    );
}

// ------------------------------------------------------------------------------------------
// Section 3/4/7: minimum bodies, what `open` answers per kind, seq = 0.

fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut b = b"SBYE".to_vec();
    b.push(1);
    b.push(kind);
    b.extend_from_slice(&SPACE);
    b.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    b.extend_from_slice(body);
    b
}

#[test]
fn every_kind_has_its_documented_minimum_body() {
    for kind in 0..=255u8 {
        let min = if matches!(kind, 2..=4) { 148 } else { 164 };
        assert_eq!(
            Envelope::parse(&frame(kind, &vec![0x5a; min - 1])),
            Err(ProtoError::Truncated {
                needed: 26 + min,
                had: 26 + min - 1
            }),
            "kind {kind}"
        );
        let env = Envelope::parse(&frame(kind, &vec![0x5a; min])).unwrap();
        let payload_len = if matches!(kind, 2..=4) { 0 } else { 16 };
        assert_eq!(env.payload().unwrap().len(), payload_len, "kind {kind}");
    }
    let table = section(&spec(), "## 3. Version 1 body");
    for row in [
        "| `1` changes | 164 |",
        "| `2` snapshot | 148 |",
        "| `3` membership | 148 |",
        "| `4` key-wraps | 148 |",
        "| any other | 164 |",
    ] {
        assert!(table.contains(row), "section 3 lacks the row {row:?}");
    }
}

/// The informative column of section 3: the smallest body each kind's own reader accepts.
#[test]
fn the_smallest_readable_bodies_are_as_documented() {
    // Membership: a genesis without x25519 at time 0 is the shortest statement (136 bytes).
    let k = key(0x11);
    let admin = DeviceId(public(&k));
    let s = Statement::new(
        SpaceId(SPACE),
        Vec::new(),
        admin,
        0,
        Op::Genesis {
            admin,
            x25519: None,
        },
    )
    .sign(&k)
    .unwrap();
    assert_eq!(s.statement_bytes().len(), 136);
    let env = s.to_envelope(SpaceId(SPACE), 1, &k).unwrap();
    assert_eq!(env.as_bytes().len() - 26, 348);
    // Key-wraps: no wraps, no history.
    let set = KeyWrapSet {
        epoch: EpochId([5; 32]),
        wraps: Vec::new(),
        history: Vec::new(),
    };
    assert_eq!(set.encode().unwrap().len(), 60);
    let env = set.to_envelope(SpaceId(SPACE), admin, 2, &k).unwrap();
    assert_eq!(env.as_bytes().len() - 26, 208);
    assert_eq!(KeyWrapSet::from_envelope(&env).unwrap(), set);
    // Snapshot: format 1, no cover entry, and a 16-byte tag.
    let mut payload = vec![1u8, 0, 0];
    payload.extend_from_slice(&[0x5a; 16]);
    for (len, ok) in [(19, true), (18, false)] {
        let env = Envelope::parse(&plain_envelope(
            2,
            &SPACE,
            &[0x33; 32],
            3,
            [0; 4],
            &payload[..len],
            &k,
        ))
        .unwrap();
        assert_eq!(env.as_bytes().len() - 26, 148 + len);
        assert_eq!(sebaya_proto::snapshot::cover(&env).is_ok(), ok, "{len}");
    }
}

fn signed(kind: Kind, seq: u64) -> Envelope {
    let k = key(0x11);
    Envelope::seal_v1(
        HeaderV1 {
            kind,
            space: SpaceId(SPACE),
            epoch: EpochId([0x33; 32]),
            author: DeviceId(public(&k)),
            seq,
        },
        &[0x44; 32],
        [0xa1, 0xa2, 0xa3, 0xa4],
        b"sebaya test vector",
        &k,
    )
    .unwrap()
}

#[test]
fn open_answers_per_kind_as_documented() {
    // Unknown kinds: verified first, then refused; never decrypted.
    for b in [0u8, 5, 6, 0x80, 255] {
        let env = signed(Kind::Unknown(b), 1);
        assert_eq!(env.as_bytes().len(), 26 + 164 + 18);
        env.verify().unwrap();
        assert_eq!(
            env.open(&[0x44; 32]),
            Err(ProtoError::Malformed("unknown envelope kind")),
            "kind {b}"
        );
        let mut bad = env.as_bytes().to_vec();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert_eq!(
            Envelope::parse(&bad).unwrap().open(&[0x44; 32]),
            Err(ProtoError::BadSignature)
        );
    }
    // Kinds 2, 3, 4: the payload as it is, whatever key is passed.
    for kind in [Kind::Snapshot, Kind::Membership, Kind::KeyWraps] {
        let env = signed(kind, 1);
        assert_eq!(env.as_bytes().len(), 26 + 148 + 18);
        for k in [[0x44; 32], [0; 32]] {
            assert_eq!(env.open(&k).unwrap(), b"sebaya test vector");
        }
    }
    let seven = section(&spec(), "## 7. Processing an envelope");
    assert!(seven.contains("Malformed(\"unknown envelope kind\")"));
    assert!(seven.contains("Malformed(\"sequence numbers start at 1\")"));
}

#[test]
fn a_flip_to_seq_zero_fails_parse_as_documented() {
    let env = signed(Kind::Changes, 1);
    let mut b = env.as_bytes().to_vec();
    b[97] ^= 1;
    assert_eq!(
        Envelope::parse(&b),
        Err(ProtoError::Malformed("sequence numbers start at 1"))
    );
    // The only bit of the 13.3 and 13.4 vectors (seq 1) that makes seq 0.
    for byte in 90..98 {
        for bit in 0..8 {
            let mut b = env.as_bytes().to_vec();
            b[byte] ^= 1 << bit;
            let zero =
                Envelope::parse(&b) == Err(ProtoError::Malformed("sequence numbers start at 1"));
            assert_eq!(zero, byte == 97 && bit == 0);
        }
    }
}

// ------------------------------------------------------------------------------------------
// The small-order key lists (sections 3, 15.3, 16.3).

/// The list `DeviceId::is_weak` refuses, as documented (bit 255 cleared).
const ED25519_SMALL_ORDER: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

/// The list `identity::is_weak_x25519` refuses, as documented (bit 255 cleared).
const X25519_SMALL_ORDER: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

/// A list of small-order keys and the check that refuses them.
type WeakList = ([&'static str; 7], fn(&[u8; 32]) -> bool);

#[test]
fn the_small_order_lists_are_exactly_the_documented_ones() {
    let doc = squeezed_spec();
    let lists: [WeakList; 2] = [
        (ED25519_SMALL_ORDER, |k| DeviceId(*k).is_weak()),
        (X25519_SMALL_ORDER, is_weak_x25519),
    ];
    for (list, weak) in lists {
        for h in list {
            assert!(doc.contains(h), "docs/protocol.md lacks {h}");
            let mut k: [u8; 32] = unhex(h).try_into().unwrap();
            assert!(weak(&k), "{h}");
            k[31] |= 0x80;
            assert!(weak(&k), "{h} with bit 255 set");
        }
        // The other encodings of y (or u) = 2 … 18 that are not reduced mod p are not refused:
        // those values are not of small order.
        for low in 2u8..=18 {
            let mut k = [0xffu8; 32];
            k[0] = 0xed + low;
            k[31] = 0x7f;
            assert!(!weak(&k), "p + {low}");
            let mut canonical = [0u8; 32];
            canonical[0] = low;
            assert!(!weak(&canonical), "{low}");
        }
    }
    // One bit away from a listed key is an ordinary key.
    let mut k: [u8; 32] = unhex(ED25519_SMALL_ORDER[2]).try_into().unwrap();
    k[0] ^= 1;
    assert!(!DeviceId(k).is_weak());
}

// ------------------------------------------------------------------------------------------
// 18.5: the sealed join request and the request token.

const INVITE_SPACE: [u8; 16] = [0x11; 16];
const INVITE_SECRET: [u8; 16] = [0x22; 16];
const JOIN_NONCE: [u8; 12] = [0x07; 12];

fn invite_code() -> InviteCode {
    InviteCode {
        kind: 2,
        space: SpaceId(INVITE_SPACE),
        secret: zeroize::Zeroizing::new(INVITE_SECRET),
        expires: 1_800_000_000,
        inviter: DeviceId(public(&key(0x01))),
    }
}

fn join_request() -> JoinRequest {
    JoinRequest {
        space: SpaceId(INVITE_SPACE),
        invite: invite_code().id().unwrap(),
        device: DeviceId(public(&key(0x02))),
        x25519: [9; 32],
        certificate: None,
        name: "Sari".into(),
        time: 1_790_000_000,
    }
}

fn join_body_by_hand(invite: &[u8; 16]) -> Vec<u8> {
    cbor::map(&[
        ("v", cbor::uint(1)),
        ("space", cbor::bytes(&INVITE_SPACE)),
        ("invite", cbor::bytes(invite)),
        ("device", cbor::bytes(&public(&key(0x02)))),
        ("x25519", cbor::bytes(&[9; 32])),
        ("certificate", cbor::null()),
        ("name", cbor::text("Sari")),
        ("time", cbor::uint(1_790_000_000)),
    ])
}

struct JoinByHand {
    invite_id: [u8; 16],
    token: [u8; 16],
    gate: [u8; 32],
    request_key: [u8; 32],
    signature: Vec<u8>,
    ad: Vec<u8>,
    sealed: Vec<u8>,
}

fn join_by_hand() -> JoinByHand {
    let invite_id: [u8; 16] = hkdf(&INVITE_SPACE, &INVITE_SECRET, b"sebaya/v1/invite-id")[..16]
        .try_into()
        .unwrap();
    let token: [u8; 16] = hkdf(&INVITE_SPACE, &INVITE_SECRET, b"sebaya/v1/invite-token")[..16]
        .try_into()
        .unwrap();
    let request_key = hkdf(&INVITE_SPACE, &INVITE_SECRET, b"sebaya/v1/invite-request");
    let body = join_body_by_hand(&invite_id);
    let mut msg = b"sebaya/v1/join-request".to_vec();
    msg.extend_from_slice(&body);
    let signature = key(0x02).sign(&msg).as_ref().to_vec();
    let mut ad = b"sebaya/v1/join-request".to_vec();
    ad.extend_from_slice(&INVITE_SPACE);
    ad.extend_from_slice(&invite_id);
    let mut ct = [body, signature.clone()].concat();
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &request_key).unwrap())
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(JOIN_NONCE),
            Aad::from(&ad),
            &mut ct,
        )
        .unwrap();
    JoinByHand {
        invite_id,
        token,
        gate: sha256(&token),
        request_key,
        signature,
        ad,
        sealed: [JOIN_NONCE.to_vec(), ct].concat(),
    }
}

const JOIN_TOKEN_HEX: &str = "bc05e5ad13728baeff2a19dde4f3227b";
const JOIN_GATE_HEX: &str = "df2f0bac289c3fb568f629463c01b79d32b218c9f8c2a3de5b133a6d088f0142";
const JOIN_SIGNATURE_HEX: &str = concat!(
    "9f5891a1cce9c926f861a8dec85f3af7642af7a7cb1c849c94348f1a3d3d2f22",
    "012515ff05a9b05dadcf00f84740f189f81077cdd2815c3c5afcd36e46255903",
);
const JOIN_AD_HEX: &str = concat!(
    "7365626179612f76312f6a6f696e2d7265717565737411111111111111111111",
    "111111111111191690c91b911c26abbf47fa537da569",
);
const JOIN_SEALED_HEX: &str = concat!(
    "070707070707070707070707595387f7e1ed1b0cb293591dcc48a2f9adf484fd",
    "39ab6e4da904c1925adba2bf67b1d8c7cdb14104ed35768c5ce8ea76f40c0a76",
    "e7e64ae072ba799bc75493b11481005eeba8dc63a447c70a0f0f67216b33f0ec",
    "4a2cd7d4955a929ebf2421b9a3a25ac3414801fadce1ef3027828237ce21d59a",
    "a2a84cd0ec71138a1af13b70759acbe4ba92807535ceeb5549985d475de819ca",
    "babe81f493098448b2916704f231ad0e865126179acd9eef30f9905cf62a89ed",
    "8f177ed7947936c2ae563ec28b37e7648787cb362ed1957a39ad3be1626bf597",
    "9f94573f65619bfd539ae9e37c1daa9282362bee0c658f2d57b81568e83a8a7a",
    "3df7",
);

#[test]
fn the_sealed_join_request_and_token_of_18_5_are_byte_exact_and_documented() {
    let by_hand = join_by_hand();
    let c = invite_code();
    assert_eq!(c.id().unwrap(), InviteId(by_hand.invite_id));
    let token = invite::request_token(&c.space, &INVITE_SECRET).unwrap();
    assert_eq!(token, by_hand.token);
    assert_eq!(invite::gate_of(&token), by_hand.gate);
    assert_eq!(hex::encode(token), JOIN_TOKEN_HEX);
    assert_eq!(hex::encode(by_hand.gate), JOIN_GATE_HEX);
    assert_eq!(hex::encode(&by_hand.signature), JOIN_SIGNATURE_HEX);
    assert_eq!(hex::encode(&by_hand.ad), JOIN_AD_HEX);
    let sealed = join_request()
        .seal(&INVITE_SECRET, &key(0x02), JOIN_NONCE)
        .unwrap();
    assert_eq!(sealed, by_hand.sealed);
    assert_eq!(hex::encode(&sealed), JOIN_SEALED_HEX);
    assert_eq!(
        JoinRequest::open(&unhex(JOIN_SEALED_HEX), &c.space, &INVITE_SECRET).unwrap(),
        join_request()
    );
    assert_eq!(
        hex::encode(by_hand.request_key),
        "280dcf5c299d626b64d5fc15717c3076639c3dea004c66be87b1e3631bf6006f"
    );
    for (name, h) in [
        ("request token", JOIN_TOKEN_HEX),
        ("gate", JOIN_GATE_HEX),
        ("join request signature", JOIN_SIGNATURE_HEX),
        ("join request associated data", JOIN_AD_HEX),
        ("sealed join request", JOIN_SEALED_HEX),
    ] {
        assert_documented(name, h);
    }
}

// ------------------------------------------------------------------------------------------
// 24: the bundle body, byte strings throughout.

fn bundle_body() -> BundleBody {
    BundleBody {
        v: 1,
        exporter: ByteBuf::from(public(&key(0x2a)).to_vec()),
        created: 1_767_225_600,
        spaces: vec![BundleSpace {
            space: ByteBuf::from(vec![7u8; 16]),
            vector: vec![(ByteBuf::from(vec![1u8; 32]), 3)],
            envelopes: vec![ByteBuf::from(b"envelope".to_vec())],
        }],
    }
}

fn bundle_body_by_hand() -> Vec<u8> {
    cbor::map(&[
        ("v", cbor::uint(1)),
        ("exporter", cbor::bytes(&public(&key(0x2a)))),
        ("created", cbor::uint(1_767_225_600)),
        (
            "spaces",
            cbor::array(&[cbor::map(&[
                ("space", cbor::bytes(&[7; 16])),
                (
                    "vector",
                    cbor::array(&[cbor::array(&[cbor::bytes(&[1; 32]), cbor::uint(3)])]),
                ),
                ("envelopes", cbor::array(&[cbor::bytes(b"envelope")])),
            ])]),
        ),
    ])
}

const BUNDLE_BODY_HEX: &str = concat!(
    "a4617601686578706f727465725820197f6b23e16c8532c6abc838facd5ea789",
    "be0c76b2920334039bfa8b3d368d6167637265617465641a6955b90066737061",
    "63657381a3657370616365500707070707070707070707070707070766766563",
    "746f728182582001010101010101010101010101010101010101010101010101",
    "010101010101010369656e76656c6f7065738148656e76656c6f7065",
);

#[test]
fn the_bundle_body_of_24_is_byte_exact_and_documented() {
    let file = bundle::seal(&bundle_body(), &key(0x2a)).unwrap();
    let body = bundle_body_by_hand();
    assert_eq!(body.len(), 156);
    assert_eq!(&file[9..9 + 156], body.as_slice());
    assert_eq!(hex::encode(&body), BUNDLE_BODY_HEX);
    let mut msg = b"sebaya/v1/bundle".to_vec();
    msg.extend_from_slice(&body);
    let by_hand = [
        b"SBYB1".to_vec(),
        156u32.to_be_bytes().to_vec(),
        body,
        key(0x2a).sign(&msg).as_ref().to_vec(),
    ]
    .concat();
    assert_eq!(file, by_hand);
    assert_eq!(
        hex::encode(bundle::id(&file)),
        "7c5fb49dfdb9f5cdfe3cded9dc455288eeab11829c35c646735d6c67721adfd5"
    );
    assert_documented("bundle body", BUNDLE_BODY_HEX);
}

/// A text string where the format has a byte string is refused (`Decode`).
#[test]
fn the_bundle_reader_refuses_a_text_string() {
    let mut body = bundle_body_by_hand();
    let at = body
        .windows(9)
        .position(|w| w == [&[0x48][..], b"envelope"].concat())
        .unwrap();
    body[at] = 0x68;
    let mut msg = b"sebaya/v1/bundle".to_vec();
    msg.extend_from_slice(&body);
    let file = [
        b"SBYB1".to_vec(),
        156u32.to_be_bytes().to_vec(),
        body,
        key(0x2a).sign(&msg).as_ref().to_vec(),
    ]
    .concat();
    assert!(matches!(bundle::open(&file), Err(ProtoError::Decode(_))));
}

/// An array of integers 0–255 where a byte string is expected is read as those bytes (serde_bytes):
/// a leniency of the reference reader, documented in section 24, that writers must not rely on.
#[test]
fn the_bundle_reader_takes_an_array_of_integers_as_bytes() {
    let mut body = bundle_body_by_hand();
    let old = [&[0x48][..], b"envelope"].concat();
    let at = body.windows(9).position(|w| w == old).unwrap();
    let mut new = vec![0x88];
    for b in b"envelope" {
        new.extend_from_slice(&[0x18, *b]);
    }
    body.splice(at..at + 9, new);
    let mut msg = b"sebaya/v1/bundle".to_vec();
    msg.extend_from_slice(&body);
    let file = [
        b"SBYB1".to_vec(),
        u32::try_from(body.len()).unwrap().to_be_bytes().to_vec(),
        body,
        key(0x2a).sign(&msg).as_ref().to_vec(),
    ]
    .concat();
    assert_eq!(bundle::open(&file).unwrap(), bundle_body());
}

// ------------------------------------------------------------------------------------------
// 21.8: the expiry rows, with the keys, grants and records of 19.10 and 21.8.

#[test]
fn the_training_expiry_rows_of_21_8_hold() {
    const T0: u64 = 1_767_225_600;
    const DAY: u64 = 86_400;
    let programme = key(0x50);
    let coordinator = key(0x51);
    let supporter = PersonId(public(&key(0x52)));
    let p = public(&programme);
    let root = RoleGrant {
        programme: p,
        person: PersonId(public(&coordinator)),
        role: ProgrammeRole::Coordinator,
        issuer: p,
        issued: T0,
        expires: T0 + 365 * DAY,
        chain: None,
    }
    .sign(&programme)
    .unwrap();
    assert_eq!(
        hex::encode(root.id()),
        "c61c0ec8dcad84a2f62eb2c56e179904f56f7b53a412b59964b463dec70dd9ad"
    );
    let grant = RoleGrant {
        programme: p,
        person: supporter,
        role: ProgrammeRole::PeerSupporter,
        issuer: public(&coordinator),
        issued: T0 + DAY,
        expires: T0 + DAY + 365 * DAY,
        chain: Some(root.id()),
    }
    .sign(&coordinator)
    .unwrap();
    let record = |module: &str, issuer: &Ed25519KeyPair, chain| {
        TrainingRecord {
            programme: p,
            person: supporter,
            module: module.into(),
            completed: T0 + 2 * DAY,
            expires: T0 + 2 * DAY + 365 * DAY,
            issuer: public(issuer),
            chain,
        }
        .sign(issuer)
        .unwrap()
    };
    let pfa = record("pfa", &programme, None);
    let listening = record("active-listening", &coordinator, Some(root.id()));
    assert_eq!(
        hex::encode(pfa.id()),
        "fb260bd98839c1752e080271c7f2eda804cb472f7befc669c3df979539125b6b"
    );
    assert_eq!(
        hex::encode(listening.id()),
        "69bd97b7368afbafe84095c9065fa72b5661cd953c6420830cbf0afbfdfb9311"
    );
    let mut reg = ProgrammeRegistry::new(p);
    reg.insert_grant(root.as_bytes()).unwrap();
    reg.insert_grant(grant.as_bytes()).unwrap();
    let records = [pfa.as_bytes(), listening.as_bytes()];
    let both = ["pfa", "active-listening"];
    let with_missing = ["pfa", "boundaries"];
    use Shortfall::{Expired, Missing};
    assert!(shortfalls(&reg, &records, &supporter, &both, 1_767_484_800).is_empty());
    assert_eq!(
        shortfalls(&reg, &records, &supporter, &with_missing, 1_767_484_800),
        vec![("boundaries", Missing)]
    );
    assert_eq!(T0 + 2 * DAY + 365 * DAY, 1_798_934_400);
    assert!(shortfalls(&reg, &records, &supporter, &both, 1_798_934_400).is_empty());
    assert_eq!(
        shortfalls(&reg, &records, &supporter, &both, 1_799_020_800),
        vec![("pfa", Expired), ("active-listening", Expired)]
    );
    assert_eq!(
        shortfalls(&reg, &records, &supporter, &with_missing, 1_799_020_800),
        vec![("pfa", Expired), ("boundaries", Missing)]
    );
    // Revoking the coordinator's grant withdraws the second record at every time.
    let revocation = RoleRevocation {
        programme: p,
        grant: root.id(),
        issuer: p,
        time: T0 + 30 * DAY,
    }
    .sign(&programme)
    .unwrap();
    reg.insert_revocation(revocation.as_bytes()).unwrap();
    for now in [1_767_484_800, 1_799_020_800] {
        let got = shortfalls(&reg, &records, &supporter, &both, now);
        let pfa_row: Vec<_> = got.iter().filter(|(m, _)| *m == "pfa").collect();
        assert_eq!(got.last(), Some(&("active-listening", Missing)), "{now}");
        assert_eq!(pfa_row.is_empty(), now == 1_767_484_800);
    }
    let rows = section(&spec(), "### 21.8 Test vectors");
    assert!(rows.contains(
        "| 1799020800 (2027-01-04) | `[\"pfa\", \"active-listening\"]` | `[(\"pfa\", Expired), (\"active-listening\", Expired)]` |"
    ));
    assert!(rows.contains(
        "| 1799020800 | `[\"pfa\", \"boundaries\"]` | `[(\"pfa\", Expired), (\"boundaries\", Missing)]` |"
    ));
}

// ------------------------------------------------------------------------------------------
// 16.6: every label in the code is in the table.

/// Every `"sebaya/…"` string literal outside comments in the `.rs` files under `dir`.
fn labels_in(dir: &std::path::Path, out: &mut std::collections::BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            labels_in(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let mut rest = code;
            while let Some(at) = rest.find("\"sebaya/") {
                let tail = &rest[at + 1..];
                let end = tail.find('"').unwrap_or(tail.len());
                out.entry(tail[..end].to_string())
                    .or_insert_with(|| path.display().to_string());
                rest = &tail[end..];
            }
        }
    }
}

/// The labels of the table of 16.6, and those it lists as retired.
fn labels_in_table() -> (Vec<String>, Vec<String>) {
    let table = section(&spec(), "### 16.6 Labels");
    let mut live = Vec::new();
    let mut retired = Vec::new();
    for line in table.lines() {
        let Some(rest) = line.strip_prefix("| `sebaya/") else {
            continue;
        };
        let label = format!("sebaya/{}", &rest[..rest.find('`').unwrap()]);
        if line.contains("retired") {
            retired.push(label);
        } else {
            live.push(label);
        }
    }
    (live, retired)
}

#[test]
fn every_label_in_the_code_is_in_the_table_of_16_6() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = std::collections::BTreeMap::new();
    for dir in ["proto/src", "core/src", "server/src"] {
        labels_in(&root.join(dir), &mut found);
    }
    let (live, retired) = labels_in_table();
    assert!(found.len() >= 30, "only {} labels found", found.len());
    for (label, file) in &found {
        assert!(
            live.contains(label),
            "{label} ({file}) is not a row of the table in section 16.6"
        );
    }
    // And the other way: every live row is still in the code; retired rows are not.
    for label in &live {
        assert!(
            found.contains_key(label),
            "{label} is in 16.6 but no longer in the code"
        );
    }
    for label in &retired {
        assert!(
            !found.contains_key(label),
            "{label} is marked retired but is in the code"
        );
    }
}

// ------------------------------------------------------------------------------------------

#[test]
#[ignore]
fn print_vectors() {
    let env = genesis_by_proto()
        .to_envelope(SpaceId(SPACE), 1, &key(0x11))
        .unwrap();
    assert_eq!(env.as_bytes(), membership_envelope_by_hand().as_slice());
    println!("membership envelope {}", hex::encode(env.as_bytes()));
    println!("membership envelope id {}", env.id().to_hex());
    let j = join_by_hand();
    println!("invite id {}", hex::encode(j.invite_id));
    println!("token {}", hex::encode(j.token));
    println!("gate {}", hex::encode(j.gate));
    println!("request key {}", hex::encode(j.request_key));
    println!("signature {}", hex::encode(&j.signature));
    println!("ad {}", hex::encode(&j.ad));
    println!(
        "sealed {} ({} bytes)",
        hex::encode(&j.sealed),
        j.sealed.len()
    );
    let sealed = join_request()
        .seal(&INVITE_SECRET, &key(0x02), JOIN_NONCE)
        .unwrap();
    assert_eq!(sealed, j.sealed);
    println!("bundle body {}", hex::encode(bundle_body_by_hand()));
}
