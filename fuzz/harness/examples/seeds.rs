//! Writes the seed corpus of every fuzz target from real encodings: the envelopes and join answers
//! in the v1 fixtures' relay database (written by the product, tests/fixtures/v1), and values made
//! with the library's own encoders and the harness's fixed keys (so the harness's re-signing keeps
//! their meaning). Deterministic but for key wraps, whose ephemeral key is random (`keywrap::wrap`).
//!
//! ```sh
//! cargo run -p sebaya-fuzz-harness --example seeds -- fuzz/seeds
//! ```
//!
//! The committed corpus (`fuzz/corpus/<target>/`) is these seeds plus what fuzzing found, minimised
//! with `cargo fuzz cmin` (docs/reliability.md).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use automerge::AutoCommit;
use ring::signature::Ed25519KeyPair;
use sebaya_core::crypto::keywrap;
use sebaya_core::identity::link::{LinkRequest, LinkResponse};
use sebaya_core::journal;
use sebaya_core::space::{
    CODEC_BUNDLE, CODEC_DEFLATE_CHANGES, SNAPSHOT_CODEC_SAVE, actor_of, encode_changes,
};
use sebaya_fuzz_harness::{
    EPOCH, INVITE_SECRET, SPACE, SPACE_KEY, X25519_SECRET, device_of, join_parts, other_key,
    programme_key, public_of, signer,
};
use sebaya_proto::bundle::{self, BundleBody, BundleSpace};
use sebaya_proto::invite::{InviteCode, JoinRequest, invite_id};
use sebaya_proto::keywraps::KeyWrapSet;
use sebaya_proto::membership::{Op, Role, Statement};
use sebaya_proto::peer::{self, Ack, Carrying, Chunk, Done, Hello, PeerMessage, Refuse, Vectors};
use sebaya_proto::programme::{ProgrammeRole, RoleGrant, RoleRevocation};
use sebaya_proto::request::RequestAuth;
use sebaya_proto::snapshot;
use sebaya_proto::sync::{
    self, JoinAnswer, JoinPost, RefusedSpace, Rejected, SpaceVector, SyncRequest, SyncResponse,
};
use sebaya_proto::training::TrainingRecord;
use sebaya_proto::{DeviceCertificate, DeviceRevocation, Envelope, HeaderV1, Kind, PersonId};
use serde_bytes::ByteBuf;

struct Out {
    root: PathBuf,
}

impl Out {
    fn put(&self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus dir");
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
    }
}

fn key(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}

fn x25519_public(secret: [u8; 32]) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(secret)).to_bytes()
}

/// Envelopes and join answers from the v1 fixtures' relay database.
fn fixtures(root: &Path) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let db = root.join("tests/fixtures/v1/relay.sqlite3");
    // Immutable: SQLite then writes no -wal or -shm file next to the fixture.
    let uri = format!("file:{}?immutable=1", db.display());
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let conn = rusqlite::Connection::open_with_flags(uri, flags).expect("fixture relay database");
    let rows = |sql: &str| -> Vec<Vec<u8>> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    (
        rows("SELECT bytes FROM envelopes ORDER BY serial"),
        rows("SELECT body FROM join_answers ORDER BY serial"),
    )
}

fn main() {
    let out_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/seeds".into());
    let out = Out {
        root: PathBuf::from(out_dir),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (envelopes, answers) = fixtures(&root);
    let me = device_of(signer());
    let other = device_of(other_key());
    let person = key(0x70);
    let person_id = PersonId(public_of(&person));
    let my_x = x25519_public([0x61; 32]);

    // --- envelopes: the fixtures' (smallest of each kind first), and a stream of three.
    let mut by_kind: BTreeMap<u8, Vec<&Vec<u8>>> = BTreeMap::new();
    for e in &envelopes {
        by_kind.entry(e[5]).or_default().push(e);
    }
    let mut picked = Vec::new();
    for (k, mut list) in by_kind {
        list.sort_by_key(|e| e.len());
        for (i, e) in list.iter().take(4).enumerate() {
            out.put("envelope", &format!("fixture-kind{k}-{i}"), e);
            picked.push((*e).clone());
        }
    }
    out.put(
        "envelope",
        "stream",
        &picked.iter().take(3).flatten().copied().collect::<Vec<_>>(),
    );

    // --- membership statements: a small log by the harness's devices.
    let genesis = Statement::new(
        SPACE,
        vec![],
        me,
        1_790_000_000,
        Op::Genesis {
            admin: me,
            x25519: Some(my_x),
        },
    );
    let g = genesis.sign(signer()).unwrap();
    let add = Statement::new(
        SPACE,
        vec![g.id()],
        me,
        1_790_000_001,
        Op::Add {
            device: other,
            role: Role::Admin,
            person: Some(person_id.0),
            x25519: Some(x25519_public([0x62; 32])),
        },
    )
    .sign(signer())
    .unwrap();
    let invite = invite_id(&SPACE, &INVITE_SECRET).unwrap();
    let inv = Statement::new(
        SPACE,
        vec![add.id()],
        other,
        1_790_000_002,
        Op::Invite {
            invite: invite.0,
            expires: 1_800_000_000,
            gate: Some([9; 32]),
        },
    )
    .sign(other_key())
    .unwrap();
    let demote = Statement::new(
        SPACE,
        vec![add.id()],
        me,
        1_790_000_003,
        Op::SetRole {
            device: other,
            role: Role::Member,
            last_seq: Some(3),
        },
    )
    .sign(signer())
    .unwrap();
    let remove = Statement::new(
        SPACE,
        vec![add.id()],
        other,
        1_790_000_003,
        Op::Remove {
            device: me,
            last_seq: 7,
        },
    )
    .sign(other_key())
    .unwrap();
    let rotate = Statement::new(
        SPACE,
        vec![demote.id(), inv.id()],
        me,
        1_790_000_004,
        Op::Rotate { commit: [5; 32] },
    )
    .sign(signer())
    .unwrap();
    let log = [&g, &add, &inv, &demote, &remove, &rotate];
    for (i, s) in log.iter().enumerate() {
        out.put(
            "membership_statement",
            &format!("log-{i}"),
            s.statement_bytes(),
        );
        out.put(
            "membership_statement",
            &format!("signed-{i}"),
            &s.to_bytes(),
        );
    }
    for e in &envelopes {
        if e[5] == 3 {
            if let Ok(env) = Envelope::parse(e) {
                let p = env.payload().unwrap();
                out.put(
                    "membership_statement",
                    &format!("fixture-{}", env.id().to_hex()),
                    p,
                );
            }
        }
    }
    let bytes: Vec<&[u8]> = log.iter().map(|s| s.statement_bytes()).collect();
    out.put(
        "membership_log",
        "concurrent-demote-remove",
        &join_parts(&bytes),
    );
    out.put("membership_log", "genesis-add", &join_parts(&bytes[..2]));

    // --- envelope bodies the harness signs: kind, seq, payload.
    let with = |name: &str, kind: u8, seq: u8, payload: &[u8]| {
        let mut b = vec![kind, seq];
        b.extend_from_slice(payload);
        out.put("envelope_sealed", name, &b);
    };
    with("changes", 1, 5, b"\x01hello");
    with("membership", 3, 1, &g.to_bytes());
    let wraps = KeyWrapSet {
        epoch: EPOCH,
        wraps: vec![(
            me,
            keywrap::wrap(&[0x44; 32], &x25519_public(X25519_SECRET), &SPACE, &EPOCH)
                .unwrap()
                .to_bytes(),
        )],
        history: vec![(sebaya_proto::EpochId([1; 32]), vec![2; 48])],
    };
    with("keywraps", 4, 2, &wraps.encode().unwrap());
    let cover = BTreeMap::from([(other, 3u64)]);
    let mut snap = snapshot::encode_cover(&cover).unwrap();
    snap.extend_from_slice(&[0xaa; 24]);
    with("snapshot", 2, 9, &snap);
    with("unknown", 9, 1, b"future");
    out.put("snapshot", "cover-and-doc", &snap);
    out.put(
        "snapshot",
        "cover",
        &snapshot::encode_cover(&cover).unwrap(),
    );
    let header = HeaderV1 {
        kind: Kind::Snapshot,
        space: SPACE,
        epoch: EPOCH,
        author: me,
        seq: 1_000,
    };
    let sealed = snapshot::seal(header, &SPACE_KEY, [1; 4], &cover, b"\x01doc", signer()).unwrap();
    out.put("snapshot", "sealed-payload", sealed.payload().unwrap());

    // --- key wraps.
    out.put("keywraps", "set", &wraps.encode().unwrap());
    out.put("keywraps", "wrap", &wraps.wraps[0].1);
    for e in &envelopes {
        if e[5] == 4 {
            if let Ok(env) = Envelope::parse(e) {
                out.put(
                    "keywraps",
                    &format!("fixture-{}", env.id().to_hex()),
                    env.payload().unwrap(),
                );
            }
        }
    }

    // --- sync messages.
    let small: Vec<ByteBuf> = picked
        .iter()
        .take(2)
        .map(|e| ByteBuf::from(e.clone()))
        .collect();
    let vector = SpaceVector::new(SPACE, &BTreeMap::from([(me, 3u64), (other, 1)]));
    let req = JoinRequest {
        space: SPACE,
        invite,
        device: me,
        x25519: my_x,
        certificate: None,
        name: "Sari".into(),
        time: 1_790_000_000,
    };
    let sealed_req = req.seal(&INVITE_SECRET, signer(), [3; 12]).unwrap();
    let request = SyncRequest {
        v: 1,
        spaces: vec![vector.clone()],
        envelopes: small.clone(),
        max_response_bytes: 1 << 20,
        join_requests: vec![JoinPost {
            space: SPACE.0.to_vec(),
            invite: invite.0.to_vec(),
            body: sealed_req.clone(),
            token: vec![1; 16],
        }],
        join_answers: vec![],
        taken_join_answers: vec![],
        erase: vec![ByteBuf::from(vec![7; 16])],
        erasures: Vec::new(),
        admission: None,
    };
    out.put("sync_request", "request", &sync::encode(&request).unwrap());
    let response = SyncResponse {
        v: 1,
        spaces: vec![vector.clone()],
        envelopes: small.clone(),
        rejected: vec![Rejected {
            index: 0,
            reason: "conflict".into(),
        }],
        more: true,
        refused_spaces: vec![RefusedSpace::new(SPACE, "not-a-member")],
        join_requests: vec![],
        join_answers: answers
            .iter()
            .take(1)
            .map(|a| JoinAnswer {
                space: SPACE.0.to_vec(),
                invite: invite.0.to_vec(),
                device: me.0.to_vec(),
                body: a.clone(),
            })
            .collect(),
        refused_join_requests: vec![],
        refused_join_answers: vec![],
        erased: vec![],
        refused_erase: vec![],
        erasures: Vec::new(),
    };
    out.put(
        "sync_response",
        "response",
        &sync::encode(&response).unwrap(),
    );

    // --- certificates and revocations.
    let cert = DeviceCertificate {
        person: person_id,
        device: me,
        x25519: my_x,
        created: 1_790_000_000,
    };
    let signed_cert = cert.sign(&person).unwrap();
    out.put("certificate", "cert", signed_cert.as_bytes());
    out.put("certificate", "cert-body", &cert.to_body().unwrap());
    let rev = DeviceRevocation {
        person: person_id,
        device: me,
        time: 1_790_000_100,
    };
    out.put(
        "certificate",
        "revocation",
        rev.sign(&person).unwrap().as_bytes(),
    );

    // --- invites, join requests, link codes and answers.
    let code = InviteCode {
        kind: 2,
        space: SPACE,
        secret: INVITE_SECRET.into(),
        expires: 1_800_000_000,
        inviter: other,
    };
    out.put("invite", "code", code.to_code().as_bytes());
    out.put("invite", "sealed-request", &sealed_req);
    out.put(
        "invite",
        "request-plaintext",
        &req.to_plaintext(signer()).unwrap(),
    );
    let with_cert = JoinRequest {
        certificate: Some(signed_cert.as_bytes().to_vec()),
        ..req.clone()
    };
    out.put(
        "invite",
        "request-plaintext-cert",
        &with_cert.to_plaintext(signer()).unwrap(),
    );
    let link_req = LinkRequest {
        device: me,
        x25519: my_x,
        certificate: Some(signed_cert.as_bytes().to_vec()),
    };
    out.put(
        "link",
        "request-code",
        link_req.to_code().unwrap().as_bytes(),
    );
    let resp = LinkResponse {
        space: SPACE,
        kind: 1,
        epoch: EPOCH,
        wrap: keywrap::wrap(&[0x45; 32], &x25519_public(X25519_SECRET), &SPACE, &EPOCH).unwrap(),
        envelopes: vec![g.to_envelope(SPACE, 1, signer()).unwrap().into_bytes()],
        history: vec![(sebaya_proto::EpochId([1; 32]), vec![2; 48])],
        certificate: Some(signed_cert.as_bytes().to_vec()),
        index: None,
    };
    out.put("link", "answer", &resp.to_bytes().unwrap());
    out.put("link", "response-code", resp.to_code().unwrap().as_bytes());
    for (i, a) in answers.iter().enumerate() {
        out.put("link", &format!("fixture-answer-{i}"), a);
    }

    // --- bundles: a signed file, and the body the harness signs itself.
    let body = BundleBody {
        v: 1,
        exporter: ByteBuf::from(me.0.to_vec()),
        created: 1_790_000_000,
        spaces: vec![BundleSpace {
            space: ByteBuf::from(SPACE.0.to_vec()),
            vector: vec![(ByteBuf::from(me.0.to_vec()), 3)],
            envelopes: small.clone(),
        }],
    };
    let file = bundle::seal(&body, signer()).unwrap();
    out.put("bundle", "file", &file);
    out.put("bundle", "body", &file[9..file.len() - 64]);

    // --- peer messages, alone and as a framed stream.
    let messages = [
        PeerMessage::Hello(Hello {
            v: 1,
            cert: ByteBuf::from(signed_cert.as_bytes().to_vec()),
            carry: Some(1),
        }),
        PeerMessage::Vectors(Vectors {
            spaces: vec![vector.clone()],
        }),
        PeerMessage::Chunk(Chunk {
            n: 0,
            envelopes: small.clone(),
            carried: vec![],
        }),
        PeerMessage::Ack(Ack { n: 0, stored: 2 }),
        PeerMessage::Done(Done { chunks: 1 }),
        PeerMessage::Refuse(Refuse {
            reason: "not-a-member".into(),
        }),
        PeerMessage::Carrying(Carrying {
            tags: vec![ByteBuf::from(vec![1; 16])],
        }),
    ];
    let mut stream = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let enc = m.encode().unwrap();
        out.put("peer", &format!("message-{i}"), &enc);
        if enc.len() < 2000 {
            stream.extend_from_slice(&peer::frame(&enc).unwrap());
        }
    }
    out.put("peer", "stream", &stream);

    // --- programme grants, revocations and training records.
    let prog = public_of(programme_key());
    let coordinator = key(0x71);
    let grant = RoleGrant {
        programme: prog,
        person: PersonId(public_of(&coordinator)),
        role: ProgrammeRole::Coordinator,
        issuer: prog,
        issued: 1_790_000_000,
        expires: 1_810_000_000,
        chain: None,
    };
    let signed_grant = grant.sign(programme_key()).unwrap();
    let supporter = RoleGrant {
        programme: prog,
        person: person_id,
        role: ProgrammeRole::PeerSupporter,
        issuer: public_of(&coordinator),
        issued: 1_790_000_000,
        expires: 1_800_000_000,
        chain: Some(signed_grant.id()),
    };
    let signed_supporter = supporter.sign(&coordinator).unwrap();
    out.put("programme", "grant", signed_grant.as_bytes());
    out.put("programme", "grant-body", &grant.to_body().unwrap());
    out.put(
        "programme",
        "chain",
        &join_parts(&[signed_supporter.as_bytes(), signed_grant.as_bytes()]),
    );
    let revocation = RoleRevocation {
        programme: prog,
        grant: signed_supporter.id(),
        issuer: prog,
        time: 1_795_000_000,
    };
    out.put(
        "programme",
        "revocation",
        revocation.sign(programme_key()).unwrap().as_bytes(),
    );
    out.put(
        "programme",
        "revocation-body",
        &revocation.to_body().unwrap(),
    );
    let record = TrainingRecord {
        programme: prog,
        person: person_id,
        module: "safety-planning".into(),
        completed: 1_790_000_000,
        expires: 1_800_000_000,
        issuer: prog,
        chain: None,
    };
    if let Ok(s) = record.sign(programme_key()) {
        out.put("training", "record", s.as_bytes());
        out.put("training", "record-body", &record.to_body().unwrap());
    }
    let by_coordinator = TrainingRecord {
        issuer: public_of(&coordinator),
        chain: Some(signed_grant.id()),
        module: "active-listening".into(),
        ..record.clone()
    };
    if let Ok(s) = by_coordinator.sign(&coordinator) {
        out.put("training", "record-coordinator", s.as_bytes());
    }

    // --- request headers.
    let auth = RequestAuth::sign(
        signer(),
        me,
        &[0x77; 32],
        "POST",
        "/v1/sync",
        1_790_000_000,
        [4; 16],
        b"body",
    )
    .unwrap();
    let lines: Vec<String> = auth.to_headers().iter().map(|(_, v)| v.clone()).collect();
    out.put("request_auth", "headers", lines.join("\n").as_bytes());

    // --- Automerge: a journal by the harness's device, its changes in both codecs, a snapshot of
    // it with the same entry edited concurrently (the merge at read time).
    let mut doc = AutoCommit::new().with_actor(actor_of(&me));
    journal::add(
        &mut doc,
        "0123456789abcdef",
        "hari ini baik",
        4,
        &[],
        1_790_000_000_000,
    )
    .unwrap();
    journal::add(
        &mut doc,
        "00000000000000aa",
        "entry",
        3,
        &["a".into()],
        1_790_000_050_000,
    )
    .unwrap();
    journal::edit(
        &mut doc,
        "0123456789abcdef",
        Some("hari ini sangat baik"),
        Some(5),
        None,
        1_790_000_060_000,
    )
    .ok();
    let changes = doc.get_changes(&[]);
    for (name, codec) in [("bundle", CODEC_BUNDLE), ("deflate", CODEC_DEFLATE_CHANGES)] {
        let payload = encode_changes(&doc, &changes, codec).unwrap();
        out.put("changes", name, &payload);
        let mut b = vec![0];
        b.extend_from_slice(&payload);
        out.put("journal_merge", &format!("changes-{name}"), &b);
    }
    let mut b = vec![SNAPSHOT_CODEC_SAVE];
    b.extend_from_slice(&doc.save());
    out.put("journal_merge", "snapshot", &b);
}
