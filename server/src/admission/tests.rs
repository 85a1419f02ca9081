//! Admission by credential through whole requests ([`crate::exchange::run`]) against a real SQLite
//! store: who founds spaces, who writes, what a proof admits, and that an admitted space stays so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::membership::{Op, Role, SignedStatement, Statement};
use sebaya_proto::programme::{ProgrammeRole, RoleGrant};
use sebaya_proto::sync::Admission;
use sebaya_proto::{
    DeviceCertificate, DeviceId, Envelope, EpochId, HeaderV1, Kind, PersonId, SpaceId, reason,
};

use super::{Mode, Policy};
use crate::SqliteStore;
use crate::access::Access;
use crate::exchange::{SyncInput, run};
use crate::store::RelayStore;
use sebaya_proto::sync::SyncResponse as SyncOutput;

const NOW: u64 = 1_767_225_600;

fn key(n: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[n; 32]).unwrap()
}

fn id(n: u8) -> DeviceId {
    DeviceId::from_slice(key(n).public_key().as_ref()).unwrap()
}

fn pk(n: u8) -> [u8; 32] {
    key(n).public_key().as_ref().try_into().unwrap()
}

/// Programme 100 and 101 (not listed); persons 110, 111; devices 1..=9.
fn policy() -> Policy {
    Policy {
        mode: Mode::Credential,
        programmes: vec![pk(100)],
    }
}

fn certificate(person: u8, device: u8) -> Vec<u8> {
    DeviceCertificate {
        person: PersonId(pk(person)),
        device: id(device),
        x25519: [7; 32],
        created: NOW,
    }
    .sign(&key(person))
    .unwrap()
    .into_bytes()
}

fn grant(programme: u8, person: u8, expires: u64) -> Vec<u8> {
    RoleGrant {
        programme: pk(programme),
        person: PersonId(pk(person)),
        role: ProgrammeRole::Participant,
        issuer: pk(programme),
        issued: NOW - 86_400,
        expires,
        chain: None,
    }
    .sign(&key(programme))
    .unwrap()
    .into_bytes()
}

fn proof(person: u8, device: u8, grants: Vec<Vec<u8>>) -> Admission {
    Admission {
        certificate: certificate(person, device),
        grants: grants.into_iter().map(serde_bytes::ByteBuf::from).collect(),
        others: Vec::new(),
    }
}

fn statement(
    n: u8,
    space: SpaceId,
    parents: Vec<sebaya_proto::membership::StatementId>,
    op: Op,
) -> SignedStatement {
    Statement::new(space, parents, id(n), NOW, op)
        .sign(&key(n))
        .unwrap()
}

fn carry(n: u8, st: &SignedStatement, seq: u64) -> Vec<u8> {
    st.to_envelope(st.statement().space, seq, &key(n))
        .unwrap()
        .into_bytes()
}

fn genesis(n: u8, space: SpaceId) -> SignedStatement {
    statement(
        n,
        space,
        vec![],
        Op::Genesis {
            admin: id(n),
            x25519: None,
        },
    )
}

fn change(n: u8, space: SpaceId, seq: u64) -> Vec<u8> {
    let header = HeaderV1 {
        kind: Kind::Changes,
        space,
        epoch: EpochId([0; 32]),
        author: id(n),
        seq,
    };
    Envelope::seal_v1(header, &[0; 32], [0; 4], b"x", &key(n))
        .unwrap()
        .into_bytes()
}

/// A request by device `n` at `now`, naming `spaces`.
fn request(
    n: u8,
    rid: u8,
    now: u64,
    spaces: &[SpaceId],
    envs: Vec<Vec<u8>>,
    admission: Option<Admission>,
) -> SyncInput {
    SyncInput {
        device: id(n),
        request_id: [rid; 16],
        timestamp: now,
        now,
        spaces: spaces.iter().map(|s| (*s, BTreeMap::new())).collect(),
        envelopes: envs.into_iter().map(serde_bytes::ByteBuf::from).collect(),
        max_response_bytes: 1 << 20,
        join_requests: Vec::new(),
        join_answers: Vec::new(),
        taken_join_answers: Vec::new(),
        erase: Vec::new(),
        erasures: Vec::new(),
        oversized: Vec::new(),
        admission,
    }
}

fn reasons(out: &SyncOutput) -> Vec<&str> {
    out.rejected.iter().map(|r| r.reason.as_str()).collect()
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn a_stranger_founds_nothing_and_a_programmes_person_founds_and_writes() {
    let (_d, store) = store();
    let access = Access::new().with_admission(policy());
    let space = SpaceId([1; 16]);
    let g = genesis(1, space);
    // No proof: the genesis and the change are refused, nothing is stored.
    let out = run(
        &store,
        &access,
        request(
            1,
            1,
            NOW,
            &[space],
            vec![carry(1, &g, 1), change(1, space, 2)],
            None,
        ),
    )
    .unwrap();
    assert_eq!(
        reasons(&out),
        vec![reason::NOT_ADMITTED, reason::UNKNOWN_SPACE]
    );
    assert!(store.admitted_space(&space).unwrap().is_none());
    // A proof of a grant of another programme admits nothing, and is counted.
    let wrong = proof(110, 1, vec![grant(101, 110, NOW + 86_400)]);
    let out = run(
        &store,
        &access,
        request(1, 2, NOW, &[space], vec![carry(1, &g, 1)], Some(wrong)),
    )
    .unwrap();
    assert_eq!(reasons(&out), vec![reason::NOT_ADMITTED]);
    assert_eq!(access.admission_refusals(), 1);
    // A grant of the listed programme: the space is founded and written to.
    let right = proof(110, 1, vec![grant(100, 110, NOW + 86_400)]);
    let out = run(
        &store,
        &access,
        request(
            1,
            3,
            NOW,
            &[space],
            vec![carry(1, &g, 1), change(1, space, 2)],
            Some(right),
        ),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(
        store.admitted_space(&space).unwrap(),
        Some(PersonId(pk(110)))
    );
    assert_eq!(
        store.admitted_device(&id(1)).unwrap(),
        Some(PersonId(pk(110)))
    );
}

#[test]
fn a_proof_for_another_device_or_an_expired_grant_admits_nothing() {
    let (_d, store) = store();
    let access = Access::new().with_admission(policy());
    let space = SpaceId([2; 16]);
    let g = genesis(1, space);
    // Device 2's certificate presented by device 1.
    let other = proof(110, 2, vec![grant(100, 110, NOW + 86_400)]);
    let out = run(
        &store,
        &access,
        request(1, 1, NOW, &[space], vec![carry(1, &g, 1)], Some(other)),
    )
    .unwrap();
    assert_eq!(reasons(&out), vec![reason::NOT_ADMITTED]);
    // A grant that ran out yesterday.
    let expired = proof(110, 1, vec![grant(100, 110, NOW - 3_600)]);
    let out = run(
        &store,
        &access,
        request(1, 2, NOW, &[space], vec![carry(1, &g, 1)], Some(expired)),
    )
    .unwrap();
    assert_eq!(reasons(&out), vec![reason::NOT_ADMITTED]);
    // A certificate under another person's key than it names does not verify.
    let mut forged = proof(110, 1, vec![grant(100, 110, NOW + 86_400)]);
    let last = forged.certificate.len() - 1;
    forged.certificate[last] ^= 1;
    let out = run(
        &store,
        &access,
        request(1, 3, NOW, &[space], vec![carry(1, &g, 1)], Some(forged)),
    )
    .unwrap();
    assert_eq!(reasons(&out), vec![reason::NOT_ADMITTED]);
    assert_eq!(access.admission_refusals(), 3);
    assert_eq!(store.admitted_device(&id(1)).unwrap(), None);
}

#[test]
fn a_restored_device_needs_only_its_certificate_and_members_write_in_admitted_spaces() {
    let (_d, store) = store();
    let access = Access::new().with_admission(policy());
    let journal = SpaceId([3; 16]);
    let g = genesis(1, journal);
    let add = statement(
        1,
        journal,
        vec![g.id()],
        Op::Add {
            device: id(2),
            role: Role::Admin,
            person: Some(pk(110)),
            x25519: None,
        },
    );
    let add_member = statement(
        1,
        journal,
        vec![add.id()],
        Op::Add {
            device: id(3),
            role: Role::Member,
            person: None,
            x25519: None,
        },
    );
    let right = proof(110, 1, vec![grant(100, 110, NOW + 86_400)]);
    let out = run(
        &store,
        &access,
        request(
            1,
            1,
            NOW,
            &[journal],
            vec![carry(1, &g, 1), carry(1, &add, 2), carry(1, &add_member, 3)],
            Some(right),
        ),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    // Device 2, restored from the phrase, has no grant: its certificate by the same person suffices,
    // in its journal and for a space of its own.
    let own = SpaceId([4; 16]);
    let out = run(
        &store,
        &access,
        request(
            2,
            2,
            NOW,
            &[journal, own],
            vec![change(2, journal, 1), carry(2, &genesis(2, own), 1)],
            Some(proof(110, 2, vec![])),
        ),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    // Device 3, in no programme, writes in the admitted space it was added to, and founds nothing.
    let mine = SpaceId([5; 16]);
    let out = run(
        &store,
        &access,
        request(
            3,
            3,
            NOW,
            &[journal, mine],
            vec![change(3, journal, 1), carry(3, &genesis(3, mine), 1)],
            None,
        ),
    )
    .unwrap();
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].index, 1);
    assert_eq!(out.rejected[0].reason, reason::NOT_ADMITTED);
}

#[test]
fn an_admitted_space_stays_admitted_after_its_founders_grant_ends_and_after_a_restart() {
    let (dir, store) = store();
    let access = Access::new().with_admission(policy());
    let space = SpaceId([6; 16]);
    let g = genesis(1, space);
    let right = proof(110, 1, vec![grant(100, 110, NOW + 86_400)]);
    let out = run(
        &store,
        &access,
        request(1, 1, NOW, &[space], vec![carry(1, &g, 1)], Some(right)),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    drop(access);
    drop(store);
    // A week later, the grant ended; a new process.
    let store = SqliteStore::open(dir.path()).unwrap();
    let access = Access::new().with_admission(policy());
    let later = NOW + 7 * 86_400;
    let out = run(
        &store,
        &access,
        request(1, 2, later, &[space], vec![change(1, space, 2)], None),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    // But the device founds no new space.
    let other = SpaceId([7; 16]);
    let out = run(
        &store,
        &access,
        request(
            1,
            3,
            later,
            &[other],
            vec![carry(1, &genesis(1, other), 1)],
            None,
        ),
    )
    .unwrap();
    assert_eq!(reasons(&out), vec![reason::NOT_ADMITTED]);
}

#[test]
fn in_a_space_founded_before_credentials_only_revocations_are_taken() {
    let (dir, store) = store();
    let space = SpaceId([8; 16]);
    let g = genesis(1, space);
    let add = statement(
        1,
        space,
        vec![g.id()],
        Op::Add {
            device: id(2),
            role: Role::Member,
            person: None,
            x25519: None,
        },
    );
    let open = Access::new();
    let out = run(
        &store,
        &open,
        request(
            1,
            1,
            NOW,
            &[space],
            vec![carry(1, &g, 1), carry(1, &add, 2)],
            None,
        ),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    drop(open);
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    let access = Access::new().with_admission(policy());
    let remove = statement(
        1,
        space,
        vec![add.id()],
        Op::Remove {
            device: id(2),
            last_seq: 0,
        },
    );
    let out = run(
        &store,
        &access,
        request(
            1,
            2,
            NOW,
            &[space],
            vec![change(1, space, 3), carry(1, &remove, 4)],
            None,
        ),
    )
    .unwrap();
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].index, 0);
    assert_eq!(out.rejected[0].reason, reason::NOT_ADMITTED);
}

#[test]
fn at_an_open_relay_strangers_fill_only_the_unadmitted_bound_and_a_person_only_theirs() {
    let (_d, store) = store();
    let quotas = crate::quota::Quotas {
        unadmitted_bytes: 4_000,
        person_bytes: 6_000,
        ..crate::quota::Quotas::default()
    };
    let open = Policy {
        mode: Mode::Open,
        programmes: vec![pk(100)],
    };
    let access = Access::new().with_quotas(quotas).with_admission(open);
    // Strangers, each under a fresh key and a space of its own, fill the unadmitted bound.
    let mut refused = 0;
    for n in 1..=30u8 {
        let space = SpaceId([n; 16]);
        let mut envs = vec![carry(n, &genesis(n, space), 1)];
        envs.extend((2..=3).map(|seq| change(n, space, seq)));
        let out = run(&store, &access, request(n, n, NOW, &[space], envs, None)).unwrap();
        // A refused genesis leaves its space unknown for the changes that follow it.
        assert!(
            out.rejected
                .iter()
                .all(|r| r.reason == reason::NOT_ADMITTED || r.reason == reason::UNKNOWN_SPACE),
            "{:?}",
            out.rejected
        );
        refused += reasons(&out)
            .iter()
            .filter(|r| **r == reason::NOT_ADMITTED)
            .count();
    }
    assert!(refused > 0, "the bound was reached");
    let total = store.usage(&[], &[], &[]).unwrap().total.bytes;
    assert!(total <= 4_000, "{total}");
    // A programme's person still founds and writes; then meets its own bound, across two devices.
    let mine = SpaceId([200; 16]);
    let mut envs = vec![carry(40, &genesis(40, mine), 1)];
    envs.extend((2..=20).map(|seq| change(40, mine, seq)));
    let proof40 = proof(110, 40, vec![grant(100, 110, NOW + 86_400)]);
    let out = run(
        &store,
        &access,
        request(40, 200, NOW, &[mine], envs, Some(proof40)),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    let other = SpaceId([201; 16]);
    let mut envs = vec![carry(41, &genesis(41, other), 1)];
    envs.extend((2..=40).map(|seq| change(41, other, seq)));
    let proof41 = proof(110, 41, vec![]);
    let out = run(
        &store,
        &access,
        request(41, 201, NOW, &[other], envs, Some(proof41)),
    )
    .unwrap();
    assert!(
        !out.rejected.is_empty(),
        "the person's bound is shared by its devices"
    );
    assert!(
        out.rejected
            .iter()
            .all(|r| r.reason == reason::QUOTA_EXCEEDED)
    );
    let p = store.usage(&[], &[], &[PersonId(pk(110))]).unwrap().persons[&PersonId(pk(110))];
    assert!(p.bytes <= 6_000 && p.bytes > 4_000, "{p:?}");
}

#[test]
fn another_key_counts_for_a_person_only_with_its_holders_signature() {
    use sebaya_proto::sync::OtherKey;
    let (_d, store) = store();
    let access = Access::new().with_admission(policy());
    let relay = store.relay_id().0;
    let space = SpaceId([9; 16]);
    // Person 111's device 5 was never admitted. Person 110 certifies it and shows it as its own key,
    // with no signature of device 5's (it cannot make one): device 5 stays nobody's.
    let claim = OtherKey {
        certificate: certificate(110, 5),
        possession: vec![0; 64],
    };
    let mut p = proof(110, 1, vec![grant(100, 110, NOW + 86_400)]);
    p.others = vec![claim];
    let out = run(
        &store,
        &access,
        request(
            1,
            1,
            NOW,
            &[space],
            vec![carry(1, &genesis(1, space), 1)],
            Some(p),
        ),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(store.admitted_device(&id(5)).unwrap(), None);
    // A key whose holder signed for this relay, this requester and this person counts.
    let own = OtherKey::sign(
        certificate(110, 6),
        &key(6),
        &relay,
        &id(1),
        &PersonId(pk(110)),
    );
    // The same proof replayed by another requester does not.
    let replayed = OtherKey::sign(
        certificate(110, 7),
        &key(7),
        &relay,
        &id(2),
        &PersonId(pk(110)),
    );
    let mut p = proof(110, 1, vec![]);
    p.others = vec![own, replayed];
    run(
        &store,
        &access,
        request(1, 2, NOW, &[space], vec![], Some(p)),
    )
    .unwrap();
    assert_eq!(
        store.admitted_device(&id(6)).unwrap(),
        Some(PersonId(pk(110)))
    );
    assert_eq!(store.admitted_device(&id(7)).unwrap(), None);
    // Device 5's own proof, for its own person, still admits it.
    let out = run(
        &store,
        &access,
        request(
            5,
            3,
            NOW,
            &[SpaceId([10; 16])],
            vec![carry(5, &genesis(5, SpaceId([10; 16])), 1)],
            Some(proof(111, 5, vec![grant(100, 111, NOW + 86_400)])),
        ),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(
        store.admitted_device(&id(5)).unwrap(),
        Some(PersonId(pk(111)))
    );
}

#[test]
fn a_genesis_refused_for_quota_admits_no_space_and_a_space_id_admitted_takes_no_strangers_genesis()
{
    let (_d, store) = store();
    let quotas = crate::quota::Quotas {
        device_bytes: 10,
        ..crate::quota::Quotas::default()
    };
    let access = Access::new().with_quotas(quotas).with_admission(policy());
    let space = SpaceId([11; 16]);
    let right = proof(110, 1, vec![grant(100, 110, NOW + 86_400)]);
    let out = run(
        &store,
        &access,
        request(
            1,
            1,
            NOW,
            &[space],
            vec![carry(1, &genesis(1, space), 1)],
            Some(right),
        ),
    )
    .unwrap();
    assert_eq!(reasons(&out), vec![reason::QUOTA_EXCEEDED]);
    assert!(
        store.admitted_space(&space).unwrap().is_none(),
        "nothing stored, nothing admitted"
    );
    let out = run(
        &store,
        &access,
        request(
            2,
            2,
            NOW,
            &[space],
            vec![carry(2, &genesis(2, space), 1)],
            None,
        ),
    )
    .unwrap();
    assert_eq!(reasons(&out), vec![reason::NOT_ADMITTED]);
}

#[test]
fn keys_a_member_adds_to_its_own_spaces_write_within_its_founder_bound() {
    let (_d, store) = store();
    let quotas = crate::quota::Quotas {
        founder_bytes: 6_000,
        ..crate::quota::Quotas::default()
    };
    let access = Access::new().with_quotas(quotas).with_admission(policy());
    // Person 110 founds a space and adds fresh keys 20..=29, which no programme admitted.
    let space = SpaceId([12; 16]);
    let g = genesis(1, space);
    let mut envs = vec![carry(1, &g, 1)];
    let mut parent = g.id();
    for (i, n) in (20..=29u8).enumerate() {
        let add = statement(
            1,
            space,
            vec![parent],
            Op::Add {
                device: id(n),
                role: Role::Member,
                person: None,
                x25519: None,
            },
        );
        parent = add.id();
        envs.push(carry(1, &add, i as u64 + 2));
    }
    let right = proof(110, 1, vec![grant(100, 110, NOW + 86_400)]);
    let out = run(
        &store,
        &access,
        request(1, 1, NOW, &[space], envs, Some(right)),
    )
    .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    // Each fresh key writes 20 changes; together they meet the founder's bound.
    let mut refused = 0;
    for n in 20..=29u8 {
        let envs: Vec<Vec<u8>> = (1..=20).map(|seq| change(n, space, seq)).collect();
        let out = run(
            &store,
            &access,
            request(n, 100 + n, NOW, &[space], envs, None),
        )
        .unwrap();
        assert!(
            out.rejected
                .iter()
                .all(|r| r.reason == reason::QUOTA_EXCEEDED)
        );
        refused += out.rejected.len();
    }
    assert!(refused > 0, "the founder's bound was reached");
    let f = store
        .usage(&[], &[], &[PersonId(pk(110))])
        .unwrap()
        .founders[&PersonId(pk(110))];
    assert!(f.bytes <= 6_000 && f.bytes > 5_000, "{f:?}");
}
