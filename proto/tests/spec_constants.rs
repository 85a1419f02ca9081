//! Every constant `docs/protocol.md` names has a vector (issue 15): the statements of every `op` of
//! 15.1 (and with them the label `sebaya/v1/person-succession`), the sync messages with every optional
//! key (13.9: the join lists of 18.3 and the erase lists of 23), every reason code (9.7), the peer
//! messages 25.2 does not show, and a vector for every live label of 16.6.
//!
//! As in `spec_vectors.rs`, each vector is built twice: by `sebaya-proto`, and here from the
//! document's text (CBOR written by hand, signatures made with ring over the documented labels). Both
//! must equal the hex below, and the hex must appear in the document.
//!
//! To print the values after a deliberate change: `cargo test -p sebaya-proto --test spec_constants
//! print_vectors -- --ignored --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ring::signature::{Ed25519KeyPair, KeyPair};

use sebaya_proto::membership::{Op, Role, SignedStatement, Statement, StatementId};
use sebaya_proto::peer::{Chunk, Done, Hello, PeerMessage, Refuse, Vectors};
use sebaya_proto::reason;
use sebaya_proto::sync::{
    self, Admission, AuthorSeq, JoinAnswer, JoinPost, JoinTaken, OtherKey, RefusedSpace, Rejected,
    SpaceVector, SyncRequest, SyncResponse,
};
use sebaya_proto::{DeviceId, SpaceId};
use serde_bytes::ByteBuf;

#[path = "common/cbor.rs"]
mod cbor;

#[path = "common/spec_doc.rs"]
mod spec_doc;
use spec_doc::{assert_documented, hkdf, repo_file, section, sha256, spec};

// ------------------------------------------------------------------------------------------
// Helpers.

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).unwrap().try_into().unwrap()
}

fn key(seed: [u8; 32]) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&seed).unwrap()
}

fn public(k: &Ed25519KeyPair) -> [u8; 32] {
    k.public_key().as_ref().try_into().unwrap()
}

fn signed_by(k: &Ed25519KeyPair, label: &[u8], body: &[u8]) -> [u8; 64] {
    k.sign(&[label, body].concat()).as_ref().try_into().unwrap()
}

// ------------------------------------------------------------------------------------------
// 15.9: a statement of every op the earlier vectors do not show.

const SPACE: [u8; 16] = [0x22; 16];
const TIME: u64 = 1_767_225_600;
/// The genesis, add and invite statements of 15.9.
const GENESIS_ID_HEX: &str = "1200964b3e5668f6c804db49ed0c5d170c7a7c665727b33992ab36a2b879b5da";
const ADD_ID_HEX: &str = "59169600396272c4e28189879d70bbb01a1be9baccc8c40f610240c702a9c1c6";
const INVITE_ID_HEX: &str = "ac02fa2cb6ffab8ea257c2b1d0d88c7bbfc45ff1f871cd0d82fe99488a4dad29";
/// `R` of the key-wrap vector of 16.7: the X25519 key of the device of seed `72` × 32.
const R_HEX: &str = "79fcf7f4c04d3277b425449f0d32209342908b4bc3772dfabe315f82034f6e64";
/// The gate of 18.5.
const GATE_HEX: &str = "df2f0bac289c3fb568f629463c01b79d32b218c9f8c2a3de5b133a6d088f0142";

fn admin() -> Ed25519KeyPair {
    key([0x11; 32])
}
fn member() -> [u8; 32] {
    public(&key([0x12; 32]))
}
/// The linked device of 16.7 (seed `72` × 32).
fn linked() -> Ed25519KeyPair {
    key([0x72; 32])
}
/// The person root key of the phrase of 16.7 (entropy `00` × 16), derived as 16.1 says.
fn person_root() -> Ed25519KeyPair {
    key(hkdf(&[], &[0; 16], b"sebaya/v1/person-root"))
}
/// The new person of the succession vector: the Ed25519 key of seed `73` × 32.
fn new_person() -> [u8; 32] {
    public(&key([0x73; 32]))
}

/// The device certificate of 16.7, its signature made here over `sebaya/v1/device-cert`.
fn certificate_signature() -> [u8; 64] {
    let body = cbor::map(&[
        ("v", cbor::uint(1)),
        ("person", cbor::bytes(&public(&person_root()))),
        ("device", cbor::bytes(&public(&linked()))),
        ("x25519", cbor::bytes(&unhex::<32>(R_HEX))),
        ("created", cbor::uint(TIME)),
    ]);
    signed_by(&person_root(), b"sebaya/v1/device-cert", &body)
}

/// The device revocation of 16.7, its signature made here over `sebaya/v1/device-revoke`.
fn revocation_signature() -> [u8; 64] {
    let body = cbor::map(&[
        ("v", cbor::uint(1)),
        ("person", cbor::bytes(&public(&person_root()))),
        ("device", cbor::bytes(&public(&linked()))),
        ("time", cbor::uint(1_767_312_000)),
    ]);
    signed_by(&person_root(), b"sebaya/v1/device-revoke", &body)
}

/// The signature a succession carries: by the old person key over the label ‖ old ‖ new.
fn succession_signature() -> [u8; 64] {
    let old = public(&person_root());
    signed_by(
        &person_root(),
        b"sebaya/v1/person-succession",
        &[old, new_person()].concat(),
    )
}

/// One statement of the vector: its name, author, parent, op by hand and op for the crate.
struct OpVector {
    name: &'static str,
    author: Ed25519KeyPair,
    parent: &'static str,
    op_by_hand: Vec<u8>,
    op: Op,
}

fn op_vectors() -> Vec<OpVector> {
    let person = public(&person_root());
    let r: [u8; 32] = unhex(R_HEX);
    let gate: [u8; 32] = unhex(GATE_HEX);
    let device = DeviceId(public(&linked()));
    let one = |name: &str, inner: Vec<(&str, Vec<u8>)>| cbor::map(&[(name, cbor::map(&inner))]);
    vec![
        OpVector {
            name: "add",
            author: admin(),
            parent: GENESIS_ID_HEX,
            op_by_hand: one(
                "add",
                vec![
                    ("device", cbor::bytes(&member())),
                    ("role", cbor::text("admin")),
                    ("person", cbor::null()),
                    ("x25519", cbor::bytes(&[0x09; 32])),
                ],
            ),
            op: Op::Add {
                device: DeviceId(member()),
                role: Role::Admin,
                person: None,
                x25519: Some([0x09; 32]),
            },
        },
        OpVector {
            name: "set_role",
            author: admin(),
            parent: ADD_ID_HEX,
            op_by_hand: one(
                "set_role",
                vec![
                    ("device", cbor::bytes(&member())),
                    ("role", cbor::text("admin")),
                ],
            ),
            op: Op::SetRole {
                device: DeviceId(member()),
                role: Role::Admin,
                last_seq: None,
            },
        },
        OpVector {
            name: "remove",
            author: admin(),
            parent: ADD_ID_HEX,
            op_by_hand: one(
                "remove",
                vec![
                    ("device", cbor::bytes(&member())),
                    ("last_seq", cbor::uint(7)),
                ],
            ),
            op: Op::Remove {
                device: DeviceId(member()),
                last_seq: 7,
            },
        },
        OpVector {
            name: "invite",
            author: admin(),
            parent: GENESIS_ID_HEX,
            op_by_hand: one(
                "invite",
                vec![
                    ("invite", cbor::bytes(&[0x5a; 16])),
                    ("expires", cbor::uint(TIME + 3600)),
                    ("gate", cbor::bytes(&gate)),
                ],
            ),
            op: Op::Invite {
                invite: [0x5a; 16],
                expires: TIME + 3600,
                gate: Some(gate),
            },
        },
        OpVector {
            name: "uninvite",
            author: admin(),
            parent: INVITE_ID_HEX,
            op_by_hand: one("uninvite", vec![("invite", cbor::bytes(&[0x5a; 16]))]),
            op: Op::Uninvite { invite: [0x5a; 16] },
        },
        OpVector {
            name: "vouch",
            author: linked(),
            parent: ADD_ID_HEX,
            op_by_hand: one(
                "vouch",
                vec![
                    ("person", cbor::bytes(&person)),
                    ("x25519", cbor::bytes(&r)),
                    ("created", cbor::uint(TIME)),
                    ("signature", cbor::bytes(&certificate_signature())),
                ],
            ),
            op: Op::Vouch {
                person,
                x25519: r,
                created: TIME,
                signature: certificate_signature(),
            },
        },
        OpVector {
            name: "revoke_device",
            author: admin(),
            parent: ADD_ID_HEX,
            op_by_hand: one(
                "revoke_device",
                vec![
                    ("device", cbor::bytes(&device.0)),
                    ("person", cbor::bytes(&person)),
                    ("time", cbor::uint(1_767_312_000)),
                    ("signature", cbor::bytes(&revocation_signature())),
                    ("last_seq", cbor::uint(5)),
                ],
            ),
            op: Op::RevokeDevice {
                device,
                person,
                time: 1_767_312_000,
                signature: revocation_signature(),
                last_seq: 5,
            },
        },
        OpVector {
            name: "recertify",
            author: linked(),
            parent: ADD_ID_HEX,
            op_by_hand: one(
                "recertify",
                vec![
                    ("device", cbor::bytes(&device.0)),
                    ("person", cbor::bytes(&person)),
                    ("x25519", cbor::bytes(&r)),
                    ("created", cbor::uint(TIME)),
                    ("signature", cbor::bytes(&certificate_signature())),
                ],
            ),
            op: Op::Recertify {
                device,
                person,
                x25519: r,
                created: TIME,
                signature: certificate_signature(),
            },
        },
        OpVector {
            name: "succession",
            author: admin(),
            parent: ADD_ID_HEX,
            op_by_hand: one(
                "succession",
                vec![
                    ("old", cbor::bytes(&person)),
                    ("new", cbor::bytes(&new_person())),
                    ("signature", cbor::bytes(&succession_signature())),
                ],
            ),
            op: Op::Succession {
                old: person,
                new: new_person(),
                signature: succession_signature(),
            },
        },
        // 15.11: the member of 15.9 leaves on its own word, its cutoff the number of the envelope
        // that carries it (3); or, instead, ends its own writing in the envelope it numbers 4.
        OpVector {
            name: "leave",
            author: key([0x12; 32]),
            parent: ADD_ID_HEX,
            op_by_hand: one(
                "leave",
                vec![
                    ("device", cbor::bytes(&member())),
                    ("last_seq", cbor::uint(3)),
                ],
            ),
            op: Op::Leave {
                device: DeviceId(member()),
                last_seq: 3,
            },
        },
        OpVector {
            name: "end",
            author: key([0x12; 32]),
            parent: ADD_ID_HEX,
            op_by_hand: one(
                "end",
                vec![
                    ("device", cbor::bytes(&member())),
                    ("last_seq", cbor::uint(4)),
                ],
            ),
            op: Op::End {
                device: DeviceId(member()),
                last_seq: 4,
            },
        },
    ]
}

fn statement_by_hand(v: &OpVector) -> Vec<u8> {
    cbor::map(&[
        ("v", cbor::uint(1)),
        ("space", cbor::bytes(&SPACE)),
        (
            "parents",
            cbor::array(&[cbor::bytes(&unhex::<32>(v.parent))]),
        ),
        ("author", cbor::bytes(&public(&v.author))),
        ("time", cbor::uint(TIME)),
        ("op", v.op_by_hand.clone()),
    ])
}

/// (name, statement hex, statement id hex) as documented in 15.9.
const OP_VECTORS: [(&str, &str, &str); 11] = [
    (
        "add",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e74738158201200964b3e5668f6c804db49ed0c5d170c7a7c665727b33992ab",
            "36a2b879b5da66617574686f725820d04ab232742bb4ab3a1368bd4615e4e6d0",
            "224ab71a016baf8520a332c97787376474696d651a6955b900626f70a1636164",
            "64a4666465766963655820204040e364c10f2bec9c1fe500a1cd4c247c89d650",
            "a01ed7e82caba867877c2164726f6c656561646d696e66706572736f6ef66678",
            "3235353139582009090909090909090909090909090909090909090909090909",
            "09090909090909",
        ),
        "376494379d4e4fe745ae756b73470e0b2d1bedd75cf9b970714ac2ec50acbbd9",
    ),
    (
        "set_role",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e747381582059169600396272c4e28189879d70bbb01a1be9baccc8c40f6102",
            "40c702a9c1c666617574686f725820d04ab232742bb4ab3a1368bd4615e4e6d0",
            "224ab71a016baf8520a332c97787376474696d651a6955b900626f70a1687365",
            "745f726f6c65a2666465766963655820204040e364c10f2bec9c1fe500a1cd4c",
            "247c89d650a01ed7e82caba867877c2164726f6c656561646d696e",
        ),
        "8d63f7edc701fadc581b24c145ad193bafd9c1e1c268f0ff96beadd4998e1217",
    ),
    (
        "remove",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e747381582059169600396272c4e28189879d70bbb01a1be9baccc8c40f6102",
            "40c702a9c1c666617574686f725820d04ab232742bb4ab3a1368bd4615e4e6d0",
            "224ab71a016baf8520a332c97787376474696d651a6955b900626f70a1667265",
            "6d6f7665a2666465766963655820204040e364c10f2bec9c1fe500a1cd4c247c",
            "89d650a01ed7e82caba867877c21686c6173745f73657107",
        ),
        "126330956e836fe6287115d5a133ada9de5569eddc6a97507019d0eba335f99a",
    ),
    (
        "invite",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e74738158201200964b3e5668f6c804db49ed0c5d170c7a7c665727b33992ab",
            "36a2b879b5da66617574686f725820d04ab232742bb4ab3a1368bd4615e4e6d0",
            "224ab71a016baf8520a332c97787376474696d651a6955b900626f70a166696e",
            "76697465a366696e76697465505a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a676578",
            "70697265731a6955c71064676174655820df2f0bac289c3fb568f629463c01b7",
            "9d32b218c9f8c2a3de5b133a6d088f0142",
        ),
        "39134dd7263c8a64ca3050cae9ed325431a8010917ab429cadd762b31c5c15ee",
    ),
    (
        "uninvite",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e7473815820ac02fa2cb6ffab8ea257c2b1d0d88c7bbfc45ff1f871cd0d82fe",
            "99488a4dad2966617574686f725820d04ab232742bb4ab3a1368bd4615e4e6d0",
            "224ab71a016baf8520a332c97787376474696d651a6955b900626f70a168756e",
            "696e76697465a166696e76697465505a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
        ),
        "63d368d2ad2e600a13f555e4a0fd6a90e63eb87f58917b390a77095242977e36",
    ),
    (
        "vouch",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e747381582059169600396272c4e28189879d70bbb01a1be9baccc8c40f6102",
            "40c702a9c1c666617574686f7258205b6489c9c7fd0dcf50545e7c164886ef40",
            "491ec06c7f1b123041797e8117535e6474696d651a6955b900626f70a165766f",
            "756368a466706572736f6e582040f784350b02365be9b9cc5d410b0ff386638f",
            "10cbd14bea40bbdf54169ef20d66783235353139582079fcf7f4c04d3277b425",
            "449f0d32209342908b4bc3772dfabe315f82034f6e6467637265617465641a69",
            "55b900697369676e61747572655840caec136be7dc18c56969bd07dc8b118c26",
            "c964e7926392d17263b53a4a2dbada659315ee043ba949439ef0a46f3fb76b84",
            "e3632423142fb83eed86d22d7af50a",
        ),
        "a56fae8149353ce3d49dc74ae3732c8d27f589cae422ba82527c9ac151549d01",
    ),
    (
        "revoke_device",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e747381582059169600396272c4e28189879d70bbb01a1be9baccc8c40f6102",
            "40c702a9c1c666617574686f725820d04ab232742bb4ab3a1368bd4615e4e6d0",
            "224ab71a016baf8520a332c97787376474696d651a6955b900626f70a16d7265",
            "766f6b655f646576696365a56664657669636558205b6489c9c7fd0dcf50545e",
            "7c164886ef40491ec06c7f1b123041797e8117535e66706572736f6e582040f7",
            "84350b02365be9b9cc5d410b0ff386638f10cbd14bea40bbdf54169ef20d6474",
            "696d651a69570a80697369676e617475726558409ef878946d9ac2a3c8812bdc",
            "9d57d21de0ff37a66a2b4c2fe107584218f12786b0df198d788b2f6eac231ca2",
            "f2af0d8120b7b3b8bfe9145e5de597fdb062b109686c6173745f73657105",
        ),
        "aa8de32cd2c087ac533fcffc63c069ae3f5905e1a49c2d9a864526baf47a2cbe",
    ),
    (
        "recertify",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e747381582059169600396272c4e28189879d70bbb01a1be9baccc8c40f6102",
            "40c702a9c1c666617574686f7258205b6489c9c7fd0dcf50545e7c164886ef40",
            "491ec06c7f1b123041797e8117535e6474696d651a6955b900626f70a1697265",
            "63657274696679a56664657669636558205b6489c9c7fd0dcf50545e7c164886",
            "ef40491ec06c7f1b123041797e8117535e66706572736f6e582040f784350b02",
            "365be9b9cc5d410b0ff386638f10cbd14bea40bbdf54169ef20d667832353531",
            "39582079fcf7f4c04d3277b425449f0d32209342908b4bc3772dfabe315f8203",
            "4f6e6467637265617465641a6955b900697369676e61747572655840caec136b",
            "e7dc18c56969bd07dc8b118c26c964e7926392d17263b53a4a2dbada659315ee",
            "043ba949439ef0a46f3fb76b84e3632423142fb83eed86d22d7af50a",
        ),
        "d751f6f3681d87f5d5ff5734fc975e04e9514e2bbd803beb4b1f0ceb9fe43d1f",
    ),
    (
        "succession",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e747381582059169600396272c4e28189879d70bbb01a1be9baccc8c40f6102",
            "40c702a9c1c666617574686f725820d04ab232742bb4ab3a1368bd4615e4e6d0",
            "224ab71a016baf8520a332c97787376474696d651a6955b900626f70a16a7375",
            "6363657373696f6ea3636f6c64582040f784350b02365be9b9cc5d410b0ff386",
            "638f10cbd14bea40bbdf54169ef20d636e65775820fec1428673f6afe89264b3",
            "807344ae8b269d125a503855202687db5a7128579f697369676e617475726558",
            "40b568a1b1146ffdc3119f71b5231fc92699087ef32c508546157cee1c0919f7",
            "f001222f23f50dbc347957fcb9c85127c97899be88fa781d8772492f4fc0bf0c",
            "03",
        ),
        "891f683dfb8ed848e4cd99b645de583d287a1c1abf07e1579893dc0f5d85a8a5",
    ),
    (
        "leave",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e747381582059169600396272c4e28189879d70bbb01a1be9baccc8c40f6102",
            "40c702a9c1c666617574686f725820204040e364c10f2bec9c1fe500a1cd4c24",
            "7c89d650a01ed7e82caba867877c216474696d651a6955b900626f70a1656c65",
            "617665a2666465766963655820204040e364c10f2bec9c1fe500a1cd4c247c89",
            "d650a01ed7e82caba867877c21686c6173745f73657103",
        ),
        "8ed89dacca3e9b6a439010218e5c91283a88db9694e159fbbc6d7f1951a2045d",
    ),
    (
        "end",
        concat!(
            "a661760165737061636550222222222222222222222222222222226770617265",
            "6e747381582059169600396272c4e28189879d70bbb01a1be9baccc8c40f6102",
            "40c702a9c1c666617574686f725820204040e364c10f2bec9c1fe500a1cd4c24",
            "7c89d650a01ed7e82caba867877c216474696d651a6955b900626f70a163656e",
            "64a2666465766963655820204040e364c10f2bec9c1fe500a1cd4c247c89d650",
            "a01ed7e82caba867877c21686c6173745f73657104",
        ),
        "e2b09ec817b057a2671f6d939b563f60e507f6e4bb925b6bc997d3c7773db7ca",
    ),
];

#[test]
fn the_statements_of_every_op_of_15_9_are_byte_exact_and_documented() {
    let vectors = op_vectors();
    assert_eq!(vectors.len(), OP_VECTORS.len());
    for (v, (name, statement_hex, id_hex)) in vectors.iter().zip(OP_VECTORS) {
        assert_eq!(v.name, name);
        let by_hand = statement_by_hand(v);
        let signature = signed_by(&v.author, b"sebaya/v1/membership", &by_hand);
        let wire = [by_hand.clone(), signature.to_vec()].concat();
        let signed = Statement::new(
            SpaceId(SPACE),
            vec![StatementId(unhex(v.parent))],
            DeviceId(public(&v.author)),
            TIME,
            v.op,
        )
        .sign(&v.author)
        .unwrap();
        assert_eq!(signed.statement_bytes(), by_hand.as_slice(), "{name}");
        assert_eq!(signed.to_bytes(), wire, "{name}");
        // Read back with every check of 15.3 (certificates, revocations and successions verified).
        assert_eq!(
            SignedStatement::from_bytes(&wire).unwrap(),
            signed,
            "{name}"
        );
        assert_eq!(hex::encode(&by_hand), statement_hex, "{name}");
        assert_eq!(hex::encode(sha256(&wire)), id_hex, "{name}");
        assert_eq!(signed.id().to_hex(), id_hex, "{name}");
        assert_documented(name, statement_hex);
        assert_documented(name, id_hex);
        // 15.11's statements are documented with their signatures too: the exact signed bytes.
        if matches!(name, "leave" | "end") {
            assert_documented(name, &hex::encode(signature));
        }
    }
    // The signature inside the succession, on its own.
    assert_eq!(
        sebaya_proto::membership::succession_message(&public(&person_root()), &new_person()),
        [
            b"sebaya/v1/person-succession".to_vec(),
            public(&person_root()).to_vec(),
            new_person().to_vec()
        ]
        .concat()
    );
    assert_documented("succession signature", &hex::encode(succession_signature()));
    assert_documented("new person", &hex::encode(new_person()));
}

// ------------------------------------------------------------------------------------------
// 13.9: the sync messages with every optional key (the join lists of 18.3, the erase lists of 23).

/// The invite of 18.5: space `11` × 16, invite id, request token and joining device.
const JOIN_SPACE: [u8; 16] = [0x11; 16];
const JOIN_INVITE_HEX: &str = "191690c91b911c26abbf47fa537da569";
const JOIN_TOKEN_HEX: &str = "bc05e5ad13728baeff2a19dde4f3227b";
const JOIN_DEVICE_HEX: &str = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";

fn full_request() -> SyncRequest {
    let invite: [u8; 16] = unhex(JOIN_INVITE_HEX);
    SyncRequest {
        v: 1,
        spaces: vec![SpaceVector {
            space: SPACE.to_vec(),
            vector: vec![AuthorSeq {
                author: public(&admin()).to_vec(),
                seq: 1,
            }],
        }],
        envelopes: vec![],
        max_response_bytes: 1_048_576,
        join_requests: vec![JoinPost {
            space: JOIN_SPACE.to_vec(),
            invite: invite.to_vec(),
            body: b"request".to_vec(),
            token: unhex::<16>(JOIN_TOKEN_HEX).to_vec(),
        }],
        join_answers: vec![JoinAnswer {
            space: JOIN_SPACE.to_vec(),
            invite: invite.to_vec(),
            device: unhex::<32>(JOIN_DEVICE_HEX).to_vec(),
            body: b"answer".to_vec(),
        }],
        taken_join_answers: vec![JoinTaken {
            space: JOIN_SPACE.to_vec(),
            invite: invite.to_vec(),
        }],
        erase: vec![ByteBuf::from(vec![0x33; 16])],
        erasures: Vec::new(),
        admission: Some(Admission {
            certificate: b"certificate".to_vec(),
            grants: vec![ByteBuf::from(b"grant".to_vec())],
            others: vec![OtherKey {
                certificate: b"other".to_vec(),
                possession: vec![0x77; 64],
            }],
        }),
    }
}

fn full_request_by_hand() -> Vec<u8> {
    let invite: [u8; 16] = unhex(JOIN_INVITE_HEX);
    cbor::map(&[
        ("v", cbor::uint(1)),
        (
            "spaces",
            cbor::array(&[cbor::map(&[
                ("space", cbor::bytes(&SPACE)),
                (
                    "vector",
                    cbor::array(&[cbor::map(&[
                        ("author", cbor::bytes(&public(&admin()))),
                        ("seq", cbor::uint(1)),
                    ])]),
                ),
            ])]),
        ),
        ("envelopes", cbor::array(&[])),
        ("max_response_bytes", cbor::uint(1_048_576)),
        (
            "join_requests",
            cbor::array(&[cbor::map(&[
                ("space", cbor::bytes(&JOIN_SPACE)),
                ("invite", cbor::bytes(&invite)),
                ("body", cbor::bytes(b"request")),
                ("token", cbor::bytes(&unhex::<16>(JOIN_TOKEN_HEX))),
            ])]),
        ),
        (
            "join_answers",
            cbor::array(&[cbor::map(&[
                ("space", cbor::bytes(&JOIN_SPACE)),
                ("invite", cbor::bytes(&invite)),
                ("device", cbor::bytes(&unhex::<32>(JOIN_DEVICE_HEX))),
                ("body", cbor::bytes(b"answer")),
            ])]),
        ),
        (
            "taken_join_answers",
            cbor::array(&[cbor::map(&[
                ("space", cbor::bytes(&JOIN_SPACE)),
                ("invite", cbor::bytes(&invite)),
            ])]),
        ),
        ("erase", cbor::array(&[cbor::bytes(&[0x33; 16])])),
        (
            "admission",
            cbor::map(&[
                ("certificate", cbor::bytes(b"certificate")),
                ("grants", cbor::array(&[cbor::bytes(b"grant")])),
                (
                    "others",
                    cbor::array(&[cbor::map(&[
                        ("certificate", cbor::bytes(b"other")),
                        ("possession", cbor::bytes(&[0x77; 64])),
                    ])]),
                ),
            ]),
        ),
    ])
}

fn full_response() -> SyncResponse {
    let invite: [u8; 16] = unhex(JOIN_INVITE_HEX);
    let rejected = |reason: &str| {
        vec![Rejected {
            index: 0,
            reason: reason.into(),
        }]
    };
    SyncResponse {
        v: 1,
        spaces: vec![SpaceVector {
            space: SPACE.to_vec(),
            vector: vec![AuthorSeq {
                author: public(&admin()).to_vec(),
                seq: 1,
            }],
        }],
        envelopes: vec![],
        rejected: vec![],
        more: false,
        refused_spaces: vec![RefusedSpace::new(SpaceId([0x44; 16]), reason::NOT_A_MEMBER)],
        join_requests: vec![JoinPost {
            space: JOIN_SPACE.to_vec(),
            invite: invite.to_vec(),
            body: b"request".to_vec(),
            token: vec![],
        }],
        join_answers: vec![JoinAnswer {
            space: JOIN_SPACE.to_vec(),
            invite: invite.to_vec(),
            device: unhex::<32>(JOIN_DEVICE_HEX).to_vec(),
            body: b"answer".to_vec(),
        }],
        refused_join_requests: rejected(reason::MAILBOX_FULL),
        refused_join_answers: rejected(reason::NOT_REQUESTED),
        erased: vec![ByteBuf::from(vec![0x33; 16])],
        refused_erase: vec![RefusedSpace::new(
            SpaceId([0x55; 16]),
            reason::NOT_AUTHORISED,
        )],
        erasures: Vec::new(),
    }
}

fn full_response_by_hand() -> Vec<u8> {
    let invite: [u8; 16] = unhex(JOIN_INVITE_HEX);
    let refused = |space: &[u8], reason: &str| {
        cbor::array(&[cbor::map(&[
            ("space", cbor::bytes(space)),
            ("reason", cbor::text(reason)),
        ])])
    };
    let rejected = |reason: &str| {
        cbor::array(&[cbor::map(&[
            ("index", cbor::uint(0)),
            ("reason", cbor::text(reason)),
        ])])
    };
    cbor::map(&[
        ("v", cbor::uint(1)),
        (
            "spaces",
            cbor::array(&[cbor::map(&[
                ("space", cbor::bytes(&SPACE)),
                (
                    "vector",
                    cbor::array(&[cbor::map(&[
                        ("author", cbor::bytes(&public(&admin()))),
                        ("seq", cbor::uint(1)),
                    ])]),
                ),
            ])]),
        ),
        ("envelopes", cbor::array(&[])),
        ("rejected", cbor::array(&[])),
        ("more", cbor::boolean(false)),
        ("refused_spaces", refused(&[0x44; 16], "not-a-member")),
        (
            "join_requests",
            cbor::array(&[cbor::map(&[
                ("space", cbor::bytes(&JOIN_SPACE)),
                ("invite", cbor::bytes(&invite)),
                ("body", cbor::bytes(b"request")),
            ])]),
        ),
        (
            "join_answers",
            cbor::array(&[cbor::map(&[
                ("space", cbor::bytes(&JOIN_SPACE)),
                ("invite", cbor::bytes(&invite)),
                ("device", cbor::bytes(&unhex::<32>(JOIN_DEVICE_HEX))),
                ("body", cbor::bytes(b"answer")),
            ])]),
        ),
        ("refused_join_requests", rejected("mailbox-full")),
        ("refused_join_answers", rejected("not-requested")),
        ("erased", cbor::array(&[cbor::bytes(&[0x33; 16])])),
        ("refused_erase", refused(&[0x55; 16], "not-authorised")),
    ])
}

const FULL_REQUEST_HEX: &str = concat!(
    "a96176016673706163657381a265737061636550222222222222222222222222",
    "2222222266766563746f7281a266617574686f725820d04ab232742bb4ab3a13",
    "68bd4615e4e6d0224ab71a016baf8520a332c9778737637365710169656e7665",
    "6c6f70657380726d61785f726573706f6e73655f62797465731a001000006d6a",
    "6f696e5f726571756573747381a4657370616365501111111111111111111111",
    "111111111166696e7669746550191690c91b911c26abbf47fa537da56964626f",
    "6479477265717565737465746f6b656e50bc05e5ad13728baeff2a19dde4f322",
    "7b6c6a6f696e5f616e737765727381a465737061636550111111111111111111",
    "1111111111111166696e7669746550191690c91b911c26abbf47fa537da56966",
    "64657669636558208139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a2",
    "5df60f5b8fc9b39464626f647946616e737765727274616b656e5f6a6f696e5f",
    "616e737765727381a26573706163655011111111111111111111111111111111",
    "66696e7669746550191690c91b911c26abbf47fa537da5696565726173658150",
    "333333333333333333333333333333336961646d697373696f6ea36b63657274",
    "696669636174654b6365727469666963617465666772616e747381456772616e",
    "74666f746865727381a26b6365727469666963617465456f746865726a706f73",
    "73657373696f6e58407777777777777777777777777777777777777777777777",
    "7777777777777777777777777777777777777777777777777777777777777777",
    "777777777777777777",
);
const FULL_RESPONSE_HEX: &str = concat!(
    "ac6176016673706163657381a265737061636550222222222222222222222222",
    "2222222266766563746f7281a266617574686f725820d04ab232742bb4ab3a13",
    "68bd4615e4e6d0224ab71a016baf8520a332c9778737637365710169656e7665",
    "6c6f706573806872656a656374656480646d6f7265f46e726566757365645f73",
    "706163657381a265737061636550444444444444444444444444444444446672",
    "6561736f6e6c6e6f742d612d6d656d6265726d6a6f696e5f7265717565737473",
    "81a3657370616365501111111111111111111111111111111166696e76697465",
    "50191690c91b911c26abbf47fa537da56964626f647947726571756573746c6a",
    "6f696e5f616e737765727381a465737061636550111111111111111111111111",
    "1111111166696e7669746550191690c91b911c26abbf47fa537da56966646576",
    "69636558208139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f",
    "5b8fc9b39464626f647946616e7377657275726566757365645f6a6f696e5f72",
    "6571756573747381a265696e6465780066726561736f6e6c6d61696c626f782d",
    "66756c6c74726566757365645f6a6f696e5f616e737765727381a265696e6465",
    "780066726561736f6e6d6e6f742d726571756573746564666572617365648150",
    "333333333333333333333333333333336d726566757365645f657261736581a2",
    "657370616365505555555555555555555555555555555566726561736f6e6e6e",
    "6f742d617574686f7269736564",
);

#[test]
fn an_admission_proofs_bounds_follow_the_statements_it_carries() {
    assert_eq!(
        sebaya_proto::sync::MAX_ADMISSION_GRANT_LEN,
        sebaya_proto::programme::MAX_PROGRAMME_STATEMENT_LEN
    );
    let mut r = full_request();
    let proof = r.admission.as_mut().unwrap();
    proof.grants = vec![ByteBuf::from(vec![0; 1024]); 16];
    r.check().unwrap();
    let proof = r.admission.as_mut().unwrap();
    proof.grants.push(ByteBuf::from(vec![0; 1]));
    assert!(r.check().is_err(), "17 grants");
    let proof = r.admission.as_mut().unwrap();
    proof.grants = vec![ByteBuf::from(vec![0; 1025])];
    assert!(r.check().is_err(), "a grant of 1025 bytes");
    let proof = r.admission.as_mut().unwrap();
    proof.grants.clear();
    proof.certificate = vec![0; 513];
    assert!(r.check().is_err(), "a certificate of 513 bytes");
    let proof = r.admission.as_mut().unwrap();
    proof.certificate.clear();
    proof.others = vec![
        OtherKey {
            certificate: vec![0; 10],
            possession: vec![0; 64],
        };
        5
    ];
    assert!(r.check().is_err(), "five other certificates");
}

#[test]
fn the_sync_messages_with_every_optional_key_of_13_9_are_byte_exact_and_documented() {
    let request = sync::encode(&full_request()).unwrap();
    assert_eq!(request, full_request_by_hand());
    assert_eq!(hex::encode(&request), FULL_REQUEST_HEX);
    let read: SyncRequest = sync::decode(&request).unwrap();
    read.check().unwrap();
    assert_eq!(read, full_request());
    let response = sync::encode(&full_response()).unwrap();
    assert_eq!(response, full_response_by_hand());
    assert_eq!(hex::encode(&response), FULL_RESPONSE_HEX);
    let read: SyncResponse = sync::decode(&response).unwrap();
    read.check().unwrap();
    assert_eq!(read, full_response());
    assert_documented("sync request with every optional key", FULL_REQUEST_HEX);
    assert_documented("sync response with every optional key", FULL_RESPONSE_HEX);
    // The join request's invite, token and device are those of 18.5.
    for h in [JOIN_INVITE_HEX, JOIN_TOKEN_HEX, JOIN_DEVICE_HEX] {
        assert_documented("18.5 value", h);
    }
}

// ------------------------------------------------------------------------------------------
// 9.7: every reason code, spelled as the code spells it.

/// `(constant name, code)` for every `pub const NAME: &str = "code";` of `proto/src/reason.rs`.
fn reason_constants() -> Vec<(String, String)> {
    let text = repo_file("proto/src/reason.rs");
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("pub const ") else {
            continue;
        };
        let (name, value) = rest.split_once(": &str = \"").unwrap();
        let value = value.strip_suffix("\";").unwrap();
        out.push((name.to_string(), value.to_string()));
    }
    out
}

#[test]
fn every_reason_code_is_in_the_table_of_9_7() {
    let found = reason_constants();
    assert!(found.len() >= 19, "only {} reason codes found", found.len());
    // The parse read the real constants.
    for (name, code) in [
        ("CONFLICT", reason::CONFLICT),
        ("NOT_REQUESTED", reason::NOT_REQUESTED),
        ("ERASED", reason::ERASED),
    ] {
        assert!(found.contains(&(name.to_string(), code.to_string())));
    }
    let table = section(&spec(), "### 9.7 Reason codes");
    let mut rows = Vec::new();
    for line in table.lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        rows.push(rest[..rest.find('`').unwrap()].to_string());
    }
    let mut codes: Vec<String> = found.into_iter().map(|(_, c)| c).collect();
    codes.sort();
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(
        sorted, codes,
        "the table of 9.7 against proto/src/reason.rs"
    );
    // And every code the relay writes comes from those constants: no reason spelled in the server.
    let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !name.ends_with(".rs") || name.contains("tests") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for code in &codes {
                let quoted = format!("reason: \"{code}\"");
                assert!(
                    !text.contains(&quoted),
                    "{}: writes {quoted} without reason::",
                    path.display()
                );
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// 25: the peer messages the vectors of 25 and 25.2 do not show.

fn peer_by_hand() -> Vec<(&'static str, PeerMessage, Vec<u8>)> {
    vec![
        (
            "Hello",
            PeerMessage::Hello(Hello {
                v: 1,
                cert: ByteBuf::from(vec![7; 4]),
                carry: None,
            }),
            [
                vec![1],
                cbor::map(&[("v", cbor::uint(1)), ("cert", cbor::bytes(&[7; 4]))]),
            ]
            .concat(),
        ),
        (
            "Vectors",
            PeerMessage::Vectors(Vectors {
                spaces: vec![SpaceVector {
                    space: vec![7; 16],
                    vector: vec![AuthorSeq {
                        author: vec![1; 32],
                        seq: 3,
                    }],
                }],
            }),
            [
                vec![2],
                cbor::map(&[(
                    "spaces",
                    cbor::array(&[cbor::map(&[
                        ("space", cbor::bytes(&[7; 16])),
                        (
                            "vector",
                            cbor::array(&[cbor::map(&[
                                ("author", cbor::bytes(&[1; 32])),
                                ("seq", cbor::uint(3)),
                            ])]),
                        ),
                    ])]),
                )]),
            ]
            .concat(),
        ),
        (
            "Chunk",
            PeerMessage::Chunk(Chunk {
                n: 0,
                envelopes: vec![ByteBuf::from(b"env".to_vec())],
                carried: vec![],
            }),
            [
                vec![3],
                cbor::map(&[
                    ("n", cbor::uint(0)),
                    ("envelopes", cbor::array(&[cbor::bytes(b"env")])),
                ]),
            ]
            .concat(),
        ),
        (
            "Done",
            PeerMessage::Done(Done { chunks: 0 }),
            [vec![5], cbor::map(&[("chunks", cbor::uint(0))])].concat(),
        ),
        (
            "Refuse",
            PeerMessage::Refuse(Refuse {
                reason: reason::NOT_A_MEMBER.into(),
            }),
            [
                vec![6],
                cbor::map(&[("reason", cbor::text("not-a-member"))]),
            ]
            .concat(),
        ),
    ]
}

#[test]
fn the_peer_messages_of_25_are_byte_exact_and_documented() {
    let doc: String = section(&spec(), "## 25. Peer sessions")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for (name, message, by_hand) in peer_by_hand() {
        let bytes = message.encode().unwrap();
        assert_eq!(bytes, by_hand, "{name}");
        assert_eq!(PeerMessage::decode(&bytes).unwrap(), message, "{name}");
        let h = hex::encode(&bytes);
        assert!(doc.contains(&h), "section 25 lacks {name}: {h}");
    }
}

// ------------------------------------------------------------------------------------------
// 16.6: every live label names the section of its vector, and that section uses the label.

#[test]
fn every_label_of_16_6_names_a_vector_that_uses_it() {
    let doc = spec();
    let table = section(&doc, "### 16.6 Labels");
    let mut live = 0;
    let mut missing = Vec::new();
    for line in table.lines() {
        let Some(rest) = line.strip_prefix("| `sebaya/") else {
            continue;
        };
        let label = format!("sebaya/{}", &rest[..rest.find('`').unwrap()]);
        if line.contains("retired") {
            continue;
        }
        live += 1;
        let cells: Vec<&str> = line.trim_end_matches('|').split('|').collect();
        let vector = cells.last().unwrap().trim();
        let mut named = 0;
        for number in vector.split(", ") {
            assert!(
                number.chars().all(|c| c.is_ascii_digit() || c == '.') && !number.is_empty(),
                "{label}: the vector column holds {vector:?}, not section numbers"
            );
            let heading = if number.contains('.') {
                format!("\n### {number} ")
            } else {
                format!("\n## {number}. ")
            };
            let text = section(&doc, &heading);
            if !text.contains(&label) {
                missing.push(format!("{label} in {number}"));
            }
            named += 1;
        }
        assert!(named > 0, "{label} names no vector");
    }
    assert!(
        missing.is_empty(),
        "sections named as vectors that do not mention their label: {missing:?}"
    );
    assert!(live >= 33, "only {live} live labels");
}

// ------------------------------------------------------------------------------------------

#[test]
#[ignore]
fn print_vectors() {
    for v in op_vectors() {
        let s = statement_by_hand(&v);
        let signature = signed_by(&v.author, b"sebaya/v1/membership", &s);
        let wire = [s.clone(), signature.to_vec()].concat();
        println!(
            "{} ({} bytes): {}\n  signature {}\n  id {}",
            v.name,
            s.len(),
            hex::encode(&s),
            hex::encode(signature),
            hex::encode(sha256(&wire))
        );
    }
    println!("new person {}", hex::encode(new_person()));
    println!(
        "succession signature {}",
        hex::encode(succession_signature())
    );
    println!("linked device {}", hex::encode(public(&linked())));
    println!(
        "full request {}",
        hex::encode(sync::encode(&full_request()).unwrap())
    );
    println!(
        "full response {}",
        hex::encode(sync::encode(&full_response()).unwrap())
    );
    for (name, m, _) in peer_by_hand() {
        println!("{name} {}", hex::encode(m.encode().unwrap()));
    }
}

// ------------------------------------------------------------------------------------------
// 9.8: an admission proof's possession signature for another key.

#[test]
fn the_admission_possession_signature_is_byte_exact_and_documented() {
    let key = Ed25519KeyPair::from_seed_unchecked(&[0x0a; 32]).unwrap();
    let relay = [0u8; 16];
    let requester = DeviceId([0x0c; 32]);
    let person = sebaya_proto::PersonId([0x0b; 32]);
    let input = OtherKey::signing_input(&relay, &requester, &person);
    assert_eq!(
        input,
        [
            b"sebaya/v1/admission-key".as_slice(),
            &relay,
            &requester.0,
            &person.0
        ]
        .concat()
    );
    let other = OtherKey::sign(Vec::new(), &key, &relay, &requester, &person);
    assert_eq!(other.possession, key.sign(&input).as_ref());
    assert_documented(
        "admission possession key",
        &hex::encode(key.public_key().as_ref()),
    );
    assert_documented("admission possession", &hex::encode(&other.possession));
}
