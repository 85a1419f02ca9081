//! Case notes for the supporter and their supervisor only (issue 14, item 12), between vaults that
//! exchange bundles: the supervisor must prove the coordinator role in the programme, and nobody
//! beyond the supporter, one supervisor and a handed-over successor is a member — refused by the
//! honest client before writing, and refused on receipt by every device when a modified client
//! adds someone anyway.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_proto::membership::Role;
use sebaya_proto::programme::ProgrammeRole;

use super::{CaseNotesStanding, casenotes};
use crate::error::Error;
use crate::space::SpaceKind;
use crate::{SpaceId, Vault};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

/// `c` makes a programme (so its person coordinates it) and grants each of `supporters` the peer
/// supporter role there.
fn programme(c: &mut Vault, supporters: &mut [&mut Vault]) -> [u8; 32] {
    let p = c.create_programme("Layanan Psikososial").unwrap();
    for s in supporters.iter_mut() {
        let g = c
            .grant_programme_role(
                &p,
                &s.person_id().unwrap(),
                ProgrammeRole::PeerSupporter,
                180,
            )
            .unwrap();
        s.add_programme_credential(&g.credential).unwrap();
    }
    p
}

/// Everything `from` holds, carried to `to` in a file; how many envelopes `to` set aside.
fn carry(from: &mut Vault, to: &mut Vault) -> u32 {
    let bundle = from.export_bundle(&[], None).expect("export");
    to.import_bundle(&bundle).expect("import").quarantined
}

/// `v` joins with `resp` and records in the space's log that its device is its person's (what its
/// first sync does), so its person's roles count for what it writes.
fn join(v: &mut Vault, resp: &str) -> SpaceId {
    let (id, _) = v.join_space(resp).unwrap();
    let me = v.person_id().unwrap();
    v.claim_spaces(me.0).unwrap();
    id
}

fn request(v: &Vault) -> String {
    v.link_request().unwrap()
}

/// `v`'s proof of its role in `p`.
fn shown(v: &Vault, p: &[u8; 32]) -> Vec<u8> {
    v.certification_presentation(p).unwrap()
}

/// The standings `v` sees in `notes`, by device.
fn standings(v: &Vault, notes: &SpaceId) -> Vec<(crate::DeviceId, CaseNotesStanding)> {
    v.case_notes_members(notes)
        .unwrap()
        .into_iter()
        .map(|m| (m.device, m.standing))
        .collect()
}

/// A modified client: `admin` adds the device that showed `req` as an admin of `notes`, skipping
/// every check the honest client makes. Returns the response code for that device.
fn add_bypassing_checks(admin: &mut Vault, notes: &SpaceId, req: &str) -> String {
    let (store, identity, s) = admin.held_mut(notes).unwrap();
    crate::space::devices::approve_into(store, identity, s, req, Role::Admin, None)
        .unwrap()
        .to_code()
        .unwrap()
}

/// A modified client: `v` publishes its credentials and writes a case note straight into its copy
/// of the document, skipping its own client's check.
fn note_bypassing_checks(v: &mut Vault, notes: &SpaceId, id: &str) {
    let me = v.device_id().to_hex();
    let (store, _, s) = v.held_mut(notes).unwrap();
    crate::space::credentials::publish_credentials(store, s).unwrap();
    let now = i64::try_from(crate::care::programmes::now_secs()).unwrap() * 1_000;
    casenotes::add_note(&mut s.doc, id, "Catatan dari orang lain.", &me, now).unwrap();
    s.persist(store).unwrap();
}

/// The honest client: a coordinator becomes supervisor and reviews; a peer supporter who is no
/// coordinator, or the participant, cannot be named supervisor; a third person cannot be added.
/// Nothing is created or changed by a refusal.
#[test]
fn only_a_coordinator_becomes_supervisor_and_nobody_else_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut supporter = vault(&dir, "s.db", 2);
    let mut other = vault(&dir, "o.db", 3);
    let mut fourth = vault(&dir, "f.db", 4);
    let participant = vault(&dir, "p.db", 5);
    let p = programme(
        &mut coordinator,
        &mut [&mut supporter, &mut other, &mut fourth],
    );

    let (notes, resp) = supporter
        .create_case_notes(
            "pairing-7f3a",
            &request(&coordinator),
            &shown(&coordinator, &p),
            &p,
        )
        .unwrap();
    assert_eq!(join(&mut coordinator, &resp), notes);
    let mut both = vec![
        (supporter.device_id(), CaseNotesStanding::Supporter),
        (coordinator.device_id(), CaseNotesStanding::Supervisor),
    ];
    both.sort_by_key(|(d, _)| *d);
    assert_eq!(standings(&supporter, &notes), both);
    let s_me = supporter.device_id().to_hex();
    supporter
        .with_space(&notes, |d, now| {
            casenotes::add_note(d, "00000000000000d1", "Rujukan dibahas.", &s_me, now)
        })
        .unwrap();
    assert_eq!(carry(&mut supporter, &mut coordinator), 0);
    let c_me = coordinator.device_id().to_hex();
    coordinator
        .with_space(&notes, |d, now| {
            casenotes::add_review(
                d,
                "00000000000000e1",
                "00000000000000d1",
                "Baik.",
                &c_me,
                now,
            )
        })
        .unwrap();
    assert_eq!(carry(&mut coordinator, &mut supporter), 0);
    assert_eq!(
        supporter
            .read_space(&notes, casenotes::reviews)
            .unwrap()
            .len(),
        1
    );

    // A peer supporter who is no coordinator is not a supervisor: nothing is created.
    let held = supporter.shared_spaces().len();
    let r = supporter.create_case_notes("pairing-2", &request(&other), &shown(&other, &p), &p);
    assert!(
        matches!(r, Err(Error::NotSupervisor)),
        "a non-coordinator became supervisor: {r:?}"
    );
    // Nor is the participant, who holds no role to show; nor someone showing another's proof.
    let r = supporter.create_case_notes("pairing-3", &request(&participant), &[], &p);
    assert!(matches!(r, Err(Error::NotSupervisor)), "{r:?}");
    let r = supporter.create_case_notes(
        "pairing-3",
        &request(&participant),
        &shown(&coordinator, &p),
        &p,
    );
    assert!(matches!(r, Err(Error::BadCredential)), "{r:?}");
    assert_eq!(supporter.shared_spaces().len(), held);

    // A third person is refused by the honest client; the membership does not change.
    let members = supporter.space_membership(&notes).unwrap().members.len();
    let r = supporter.approve_group_member(&notes, &request(&fourth), Role::Member);
    assert!(
        matches!(r, Err(Error::CaseNotesFull)),
        "a third person was let into the case notes: {r:?}"
    );
    assert_eq!(
        supporter.space_membership(&notes).unwrap().members.len(),
        members
    );
}

/// A modified supporter's client adds a fourth person to case notes that have their supervisor,
/// and opens case notes whose "supervisor" is no coordinator: what those members write is refused
/// on receipt by every other device.
#[test]
fn writes_from_members_beyond_the_cap_are_refused_on_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut supporter = vault(&dir, "s.db", 2);
    let mut other = vault(&dir, "o.db", 3);
    let mut fourth = vault(&dir, "f.db", 4);
    let p = programme(
        &mut coordinator,
        &mut [&mut supporter, &mut other, &mut fourth],
    );

    // Case notes with a real supervisor; then a fourth person, a certified peer supporter, is
    // added as an admin by a client that skips the check.
    let (notes, resp) = supporter
        .create_case_notes(
            "pairing-7f3a",
            &request(&coordinator),
            &shown(&coordinator, &p),
            &p,
        )
        .unwrap();
    join(&mut coordinator, &resp);
    let resp = add_bypassing_checks(&mut supporter, &notes, &request(&fourth));
    join(&mut fourth, &resp);
    carry(&mut supporter, &mut fourth);
    carry(&mut supporter, &mut coordinator);
    note_bypassing_checks(&mut fourth, &notes, "00000000000000f1");
    assert!(
        carry(&mut fourth, &mut coordinator) >= 1,
        "the supervisor's device took a fourth person's note"
    );
    assert!(
        coordinator
            .read_space(&notes, casenotes::notes)
            .unwrap()
            .is_empty()
    );
    // Both honest devices see the fourth person as beyond the cap and write nothing new there
    // until the supporter removes them; then writing goes on.
    for v in [&supporter, &coordinator] {
        assert!(
            standings(v, &notes).contains(&(fourth.device_id(), CaseNotesStanding::Refused)),
            "{:?}",
            standings(v, &notes)
        );
    }
    let s_me = supporter.device_id().to_hex();
    let note = |v: &mut Vault, id: &str| {
        v.with_space(&notes, |d, now| {
            casenotes::add_note(d, id, "Sesi ketiga.", &s_me, now)
        })
    };
    assert!(matches!(
        note(&mut supporter, "00000000000000d1"),
        Err(Error::CaseNotesFull)
    ));
    let f_device = fourth.device_id();
    supporter.remove_group_member(&notes, &f_device).unwrap();
    note(&mut supporter, "00000000000000d1").unwrap();
    assert!(
        standings(&supporter, &notes)
            .iter()
            .all(|(_, s)| *s != CaseNotesStanding::Refused)
    );

    // Case notes whose only other member is a peer supporter made "supervisor" by a modified
    // client: what that member writes is refused by the supporter's device.
    let (bad, resp) = {
        let r = request(&other);
        let (id, resp) = supporter
            .open_shared(
                SpaceKind::CaseNotes,
                |d, now| casenotes::init(d, "pairing-9", now),
                &r,
                Role::Admin,
            )
            .unwrap();
        let (store, _, s) = supporter.held_mut(&id).unwrap();
        Vault::bind_programme(store, s, &p).unwrap();
        let me = supporter.person_id().unwrap();
        supporter.claim_spaces(me.0).unwrap();
        (id, resp)
    };
    join(&mut other, &resp);
    carry(&mut supporter, &mut other);
    note_bypassing_checks(&mut other, &bad, "00000000000000f2");
    assert!(
        carry(&mut other, &mut supporter) >= 1,
        "the supporter's device took a note from a supervisor who is no coordinator"
    );
    assert!(
        supporter
            .read_space(&bad, casenotes::notes)
            .unwrap()
            .is_empty()
    );
}

/// One supervisor, never two: a second coordinator added by a modified client makes both stand
/// refused (which one the supporter chose cannot be told), and a device the log names no person
/// for is refused too. The supporter's devices stay the supporter's.
#[test]
fn a_second_coordinator_or_a_device_of_nobody_is_beyond_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut supporter = vault(&dir, "s.db", 2);
    let mut second = vault(&dir, "c2.db", 3);
    let nobody = Vault::open(&dir.path().join("n.db"), &[4; 32]).unwrap();
    let p = programme(&mut coordinator, &mut [&mut supporter]);
    let g = coordinator
        .grant_programme_role(
            &p,
            &second.person_id().unwrap(),
            ProgrammeRole::Coordinator,
            180,
        )
        .unwrap();
    second.add_programme_credential(&g.credential).unwrap();

    let (notes, resp) = supporter
        .create_case_notes(
            "pairing-7f3a",
            &request(&coordinator),
            &shown(&coordinator, &p),
            &p,
        )
        .unwrap();
    join(&mut coordinator, &resp);
    // A device of nobody: refused, the rest stands.
    let _ = add_bypassing_checks(&mut supporter, &notes, &request(&nobody));
    let seen = standings(&supporter, &notes);
    assert!(seen.contains(&(nobody.device_id(), CaseNotesStanding::Refused)));
    assert!(seen.contains(&(coordinator.device_id(), CaseNotesStanding::Supervisor)));
    assert!(seen.contains(&(supporter.device_id(), CaseNotesStanding::Supporter)));
    supporter
        .remove_group_member(&notes, &nobody.device_id())
        .unwrap();

    // A second coordinator publishing its own grant is refused whole (with its grant counted,
    // there would be two coordinators, so it stands refused), and its grant never enters.
    let resp = add_bypassing_checks(&mut supporter, &notes, &request(&second));
    join(&mut second, &resp);
    carry(&mut supporter, &mut second);
    {
        let (store, _, s) = second.held_mut(&notes).unwrap();
        crate::space::credentials::publish_credentials(store, s).unwrap();
    }
    assert!(carry(&mut second, &mut supporter) >= 1);
    assert!(
        standings(&supporter, &notes)
            .contains(&(coordinator.device_id(), CaseNotesStanding::Supervisor))
    );
    // When the adder publishes it (as it does a supervisor's), neither coordinator is the
    // supervisor.
    let second_person = second.person_id().unwrap();
    let grants = supporter
        .supervisor_credentials(p, second_person, &shown(&second, &p))
        .unwrap();
    {
        let (store, _, s) = supporter.held_mut(&notes).unwrap();
        crate::care::training::publish_grants(store, s, &grants).unwrap();
    }
    let seen = standings(&supporter, &notes);
    assert!(
        seen.contains(&(second.device_id(), CaseNotesStanding::Refused)),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(coordinator.device_id(), CaseNotesStanding::Refused)),
        "{seen:?}"
    );
    assert!(seen.contains(&(supporter.device_id(), CaseNotesStanding::Supporter)));
    // Once the second is removed, the first is the supervisor again.
    supporter
        .remove_group_member(&notes, &second.device_id())
        .unwrap();
    assert!(
        standings(&supporter, &notes)
            .contains(&(coordinator.device_id(), CaseNotesStanding::Supervisor))
    );
}

/// Case notes made before the cap, as an older client made them (bound to no programme, so no
/// supervisor can be proven a coordinator): kept and readable on every device, the supervisor
/// marked refused, its new writes refused on receipt, and nothing new written by the supporter's
/// updated client until the supervisor is removed (the migration rule, docs/care.md).
#[test]
fn case_notes_from_before_the_cap_are_kept_and_read_only_until_the_refused_member_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut supporter = vault(&dir, "s.db", 1);
    let mut supervisor = vault(&dir, "v.db", 2);
    let (notes, resp) = supporter
        .open_shared(
            SpaceKind::CaseNotes,
            |d, now| casenotes::init(d, "pairing-lama", now),
            &request(&supervisor),
            Role::Admin,
        )
        .unwrap();
    let me = supporter.person_id().unwrap();
    supporter.claim_spaces(me.0).unwrap();
    note_bypassing_checks(&mut supporter, &notes, "00000000000000d1");
    join(&mut supervisor, &resp);
    assert_eq!(carry(&mut supporter, &mut supervisor), 0);
    assert_eq!(
        supervisor
            .read_space(&notes, casenotes::notes)
            .unwrap()
            .len(),
        1,
        "kept and read"
    );
    for v in [&supporter, &supervisor] {
        assert!(
            standings(v, &notes).contains(&(supervisor.device_id(), CaseNotesStanding::Refused))
        );
    }
    let s_me = supporter.device_id().to_hex();
    let write = |v: &mut Vault| {
        v.with_space(&notes, |d, now| {
            casenotes::add_note(d, "00000000000000d2", "Baru.", &s_me, now)
        })
    };
    assert!(matches!(write(&mut supporter), Err(Error::CaseNotesFull)));
    assert_eq!(
        supporter
            .read_space(&notes, casenotes::notes)
            .unwrap()
            .len(),
        1
    );
    // What the supervisor's older client writes is refused on the supporter's device.
    let v_me = supervisor.device_id().to_hex();
    {
        let (store, _, s) = supervisor.held_mut(&notes).unwrap();
        let now = i64::try_from(crate::care::programmes::now_secs()).unwrap() * 1_000;
        casenotes::add_review(
            &mut s.doc,
            "00000000000000e1",
            "00000000000000d1",
            "Baik.",
            &v_me,
            now,
        )
        .unwrap();
        s.persist(store).unwrap();
    }
    assert!(carry(&mut supervisor, &mut supporter) >= 1);
    assert!(
        supporter
            .read_space(&notes, casenotes::reviews)
            .unwrap()
            .is_empty()
    );
    // Removed, the supervisor reads nothing new; the supporter writes on.
    supporter
        .remove_group_member(&notes, &supervisor.device_id())
        .unwrap();
    write(&mut supporter).unwrap();
    assert_eq!(
        supporter
            .read_space(&notes, casenotes::notes)
            .unwrap()
            .len(),
        2
    );
}
