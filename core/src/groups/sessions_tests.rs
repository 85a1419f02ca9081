//! Running a programme group's sessions takes the group-facilitation module (issue 14, item 11),
//! judged by every receiving device from the records the group holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::transaction::Transactable;
use automerge::{ROOT, ScalarValue};
use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::membership::{Op, Role};
use sebaya_proto::programme::{ProgrammeRole, RoleGrant};
use sebaya_proto::training::TrainingRecord;

use crate::identity::person::PersonKey;
use crate::space::rules::tests::{Device, device};
use crate::space::rules::{CRED_PREFIX, PROGRAMME_KEY, TRAIN_PREFIX};
use crate::space::{CODEC_BUNDLE, Space, SpaceKind};

/// When the facilitator writes (2025-06-15), in seconds.
const AT: u64 = 1_750_000_000;
const DAY: u64 = 86_400;

fn outgoing(d: &Device, s: &mut Space) -> Vec<Vec<u8>> {
    s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap();
    s.unacked(&d.store).unwrap()
}

fn publish(s: &mut Space, prefix: &str, bytes: Vec<u8>) {
    let key = format!("{prefix}{}", hex::encode(crate::crypto::sha256(&bytes)));
    s.doc.put(ROOT, key, ScalarValue::Bytes(bytes)).unwrap();
}

/// A facilitator (a peer supporter of the programme) whose client publishes `records` (module,
/// completed) runs a session in a group bound to the programme; a member's device receives it.
/// Returns how many envelopes the member's device set aside, and how many sessions it shows.
fn session_with(records: &[(&str, u64)]) -> (u32, usize) {
    let (f, m) = (device(1), device(2));
    let prog = Ed25519KeyPair::from_seed_unchecked(&[0x50; 32]).unwrap();
    let programme: [u8; 32] = prog.public_key().as_ref().try_into().unwrap();
    let person = PersonKey::from_seed(zeroize::Zeroizing::new([0x61; 32])).unwrap();
    let mut fs = Space::create(&f.store, SpaceKind::Group, &f.id).unwrap();
    crate::groups::init(&mut fs.doc, "Kelompok", (AT * 1000) as i64).unwrap();
    fs.persist(&f.store).unwrap();
    let cert = person.certify(f.id.device, f.id.x25519_public, AT).unwrap();
    fs.write_statement(
        &f.store,
        &f.id,
        Op::Recertify {
            device: f.id.device,
            person: person.id().0,
            x25519: f.id.x25519_public,
            created: AT,
            signature: cert.signature().unwrap(),
        },
    )
    .unwrap();
    fs.add_member(
        &f.store,
        &f.id,
        m.id.device,
        m.id.x25519_public,
        Role::Member,
        None,
    )
    .unwrap();
    let grant = RoleGrant {
        programme,
        person: person.id(),
        role: ProgrammeRole::PeerSupporter,
        issuer: programme,
        issued: AT - 100 * DAY,
        expires: AT + 300 * DAY,
        chain: None,
    }
    .sign(&prog)
    .unwrap()
    .into_bytes();
    fs.doc
        .put(ROOT, PROGRAMME_KEY, hex::encode(programme))
        .unwrap();
    publish(&mut fs, CRED_PREFIX, grant);
    for (module, completed) in records {
        let record = TrainingRecord {
            programme,
            person: person.id(),
            module: module.to_string(),
            completed: *completed,
            expires: completed + 365 * DAY,
            issuer: programme,
            chain: None,
        }
        .sign(&prog)
        .unwrap()
        .into_bytes();
        publish(&mut fs, TRAIN_PREFIX, record);
    }
    fs.doc
        .commit_with(automerge::transaction::CommitOptions::default().with_time(AT as i64));
    fs.persist(&f.store).unwrap();
    let me = f.id.device.to_hex();
    crate::groups::add_session(
        &mut fs.doc,
        "00000000000000a1",
        (AT * 1000) as i64,
        "Mengelola cemas",
        &me,
        (AT * 1000) as i64,
    )
    .unwrap();
    fs.persist(&f.store).unwrap();
    let mut ms = Space::adopt_at(
        &m.store,
        fs.id,
        SpaceKind::Group,
        zeroize::Zeroizing::new(*fs.key()),
        fs.epoch,
        m.id.device,
    )
    .unwrap();
    let mut all = fs.membership_envelopes(&f.store).unwrap();
    all.extend(outgoing(&f, &mut fs));
    let r = ms.receive(&m.store, &m.id, &all).unwrap();
    (r.quarantined, crate::groups::sessions(&ms.doc).len())
}

#[test]
fn a_programme_groups_session_needs_a_current_group_facilitation_record() {
    // The one-to-one curriculum is not group facilitation.
    let one_to_one: Vec<(&str, u64)> = crate::space::rules::credentials::REQUIRED_FOR_PAIRING
        .iter()
        .map(|m| (*m, AT - 10 * DAY))
        .collect();
    assert_eq!(session_with(&one_to_one), (1, 0));
    // Expired before the session.
    assert_eq!(
        session_with(&[("group-facilitation", AT - 400 * DAY)]),
        (1, 0)
    );
    // Current: the session counts.
    assert_eq!(
        session_with(&[("group-facilitation", AT - 10 * DAY)]),
        (0, 1)
    );
}

#[test]
fn the_honest_facilitator_is_told_what_is_missing_before_writing() {
    use crate::Vault;
    use crate::care::programmes::now_secs;
    use crate::error::Error;
    let dir = tempfile::tempdir().unwrap();
    let mut v = Vault::open(&dir.path().join("f.db"), &[1; 32]).unwrap();
    v.create_person().unwrap();
    let p = v.create_programme("PIK-R SMA 1").unwrap();
    let g = v.create_group_in("Kelompok", Some(p)).unwrap();
    let me = v.device_id().to_hex();
    let session = |v: &mut Vault| {
        v.with_group_sessions(&g, |d, now| {
            crate::groups::add_session(d, "00000000000000a1", now, "Sesi", &me, now)
        })
    };
    match session(&mut v) {
        Err(Error::NotCertified(missing)) => assert_eq!(missing, "group-facilitation"),
        other => panic!("{other:?}"),
    }
    assert!(
        v.read_space(&g, crate::groups::sessions)
            .unwrap()
            .is_empty()
    );
    let person = v.person_id().unwrap();
    let c = v
        .certify_training(&p, &person, "group-facilitation", now_secs() - DAY, 365)
        .unwrap();
    v.add_training_record(&c).unwrap();
    session(&mut v).unwrap();
    assert_eq!(v.read_space(&g, crate::groups::sessions).unwrap().len(), 1);
    // A group bound to no programme asks only for its admin.
    let free = v.create_group("Kelompok bebas").unwrap();
    v.with_group_sessions(&free, |d, now| {
        crate::groups::add_session(d, "00000000000000b1", now, "Sesi", &me, now)
    })
    .unwrap();
}
