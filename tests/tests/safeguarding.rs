//! Issue 14, item 14: a supporter's safeguarding concern about a child never sits on the child's
//! phone. It goes to the programme's safeguarding space, which only coordinators and supporters
//! belong to (never a participant's device), its content sealed for the coordinators: a supporter
//! adds its own concern, reads no one else's, and edits or deletes nothing; every device refuses
//! what a modified client writes against that. The coordinator's caseload and acknowledgement work
//! for concerns as for referrals; a concern raised before anyone could receive it waits on the
//! supporter's phone. Legacy `safeguarding-minor` referrals in care records stay readable for
//! coordinators and leave the participant's view and export. Through a real relay on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_tests::net::{Net, net, sync};

use sebaya_core::space::SpaceKind;
use sebaya_core::{Error, ProgrammeRole, Role, SpaceId, Vault};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

fn now() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(d.as_millis()).unwrap()
}

struct Programme {
    coordinator: Vault,
    /// The child's supporter, a member of the care record.
    supporter: Vault,
    /// Another supporter of the programme, not in this child's record.
    other: Vault,
    participant: Vault,
    care: SpaceId,
    programme: [u8; 32],
}

/// A programme with a coordinator, two certified supporters and an enrolled child who agreed to the
/// duty-of-care rule; everyone synced. No safeguarding space yet.
fn programme(n: &Net, dir: &tempfile::TempDir) -> Programme {
    let mut coordinator = vault(dir, "c.db", 1);
    let mut supporter = vault(dir, "s.db", 2);
    let mut other = vault(dir, "o.db", 4);
    let mut participant = vault(dir, "p.db", 3);
    let programme = coordinator.create_programme("PIK-R SMP 2").unwrap();
    for s in [&mut supporter, &mut other] {
        let grant = coordinator
            .grant_programme_role(
                &programme,
                &s.person_id().unwrap(),
                ProgrammeRole::PeerSupporter,
                180,
            )
            .unwrap();
        s.add_programme_credential(&grant.credential).unwrap();
    }
    let (care, resp) = coordinator
        .enrol_participant_as(&participant.link_request().unwrap(), programme, true)
        .unwrap();
    participant.join_space(&resp).unwrap();
    let resp = coordinator
        .approve_group_member(&care, &supporter.link_request().unwrap(), Role::Member)
        .unwrap();
    supporter.join_space(&resp).unwrap();
    for v in [&mut coordinator, &mut participant, &mut supporter] {
        sync(n, v);
    }
    participant
        .give_consent(&care, "duty-of-care", true)
        .unwrap();
    for v in [&mut participant, &mut coordinator, &mut supporter] {
        sync(n, v);
    }
    Programme {
        coordinator,
        supporter,
        other,
        participant,
        care,
        programme,
    }
}

/// The coordinator makes the programme's safeguarding space and adds both supporters (in person,
/// as for the report space); everyone synced.
fn safeguarding_space(n: &Net, p: &mut Programme) -> SpaceId {
    let space = p
        .coordinator
        .create_safeguarding_space(p.programme)
        .unwrap();
    // Only a coordinator makes it.
    assert!(matches!(
        p.supporter.create_safeguarding_space(p.programme),
        Err(Error::NotAllowed(_))
    ));
    for s in [&mut p.supporter, &mut p.other] {
        let resp = p
            .coordinator
            .approve_group_member(&space, &s.link_request().unwrap(), Role::Member)
            .unwrap();
        assert_eq!(
            s.join_space(&resp).unwrap(),
            (space, SpaceKind::Safeguarding)
        );
    }
    for v in [&mut p.coordinator, &mut p.supporter, &mut p.other] {
        sync(n, v);
    }
    space
}

/// What the participant's phone holds and shows must say nothing of the concern.
fn participant_knows_nothing(p: &mut Programme, space: &SpaceId, concern: &str) {
    let participant = &mut p.participant;
    assert!(
        participant
            .shared_spaces()
            .iter()
            .all(|(id, kind, _)| id != space && *kind != SpaceKind::Safeguarding),
        "the participant's phone holds no safeguarding space"
    );
    assert!(matches!(
        participant.read_space(space, |_| ()),
        Err(Error::NotFound(_))
    ));
    assert!(participant.concerns().unwrap().is_empty());
    let seen = participant.referrals(&p.care).unwrap();
    assert!(
        seen.iter()
            .all(|r| r.id != concern && r.reason.as_deref() != Some("safeguarding-minor")),
        "{seen:?}"
    );
    let export = participant.export_all(0).unwrap();
    assert!(!export.contains(concern));
    assert!(!export.contains("safeguarding"));
    // Nor may it write there.
    assert!(participant.with_space(space, |_, _| Ok(())).is_err());
}

#[test]
fn a_supporters_concern_reaches_the_coordinator_and_never_the_childs_phone() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let referrals_before = p.coordinator.referrals(&p.care).unwrap().len();

    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    let mine = p.supporter.concerns().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, concern);
    assert_eq!(mine[0].care, Some(p.care));
    assert_eq!(mine[0].state, "queued");
    assert!(mine[0].mine);
    for v in [
        &mut p.supporter,
        &mut p.coordinator,
        &mut p.participant,
        &mut p.other,
    ] {
        sync(&n, v);
    }
    assert_eq!(p.supporter.concerns().unwrap()[0].state, "sent");

    // The care record holds nothing new: not on the coordinator's copy, not on the child's.
    assert_eq!(
        p.coordinator.referrals(&p.care).unwrap().len(),
        referrals_before
    );
    participant_knows_nothing(&mut p, &space, &concern);
    // The relay serves the space only to its members, by the log the coordinator's device holds too.
    let log = p.coordinator.space_membership(&space).unwrap();
    assert!(!log.may_read(&p.participant.device_id()));
    assert!(log.may_read(&p.supporter.device_id()));

    // The coordinator reads it: about this child's record, sealed for coordinators and opened here.
    let seen = p.coordinator.concerns().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, concern);
    assert_eq!(seen[0].space, Some(space));
    assert_eq!(seen[0].care, Some(p.care));
    assert_eq!(seen[0].participant, p.participant.person_id().map(|x| x.0));
    assert_eq!(seen[0].state, "sent");
    assert!(!seen[0].mine);
    // It leads the caseload like a referral, and is acknowledged the same way.
    let caseload = p.coordinator.caseload().unwrap();
    let item = caseload.iter().find(|r| r.id == concern).unwrap();
    assert_eq!(item.care, space);
    assert_eq!(item.reason.as_deref(), Some("safeguarding-minor"));
    let late = p.coordinator.caseload_at(now() + 25 * 3_600_000).unwrap();
    assert!(late.iter().find(|r| r.id == concern).unwrap().overdue);
    assert!(matches!(
        p.supporter
            .update_referral(&space, &concern, "acknowledged"),
        Err(Error::NotAllowed(_))
    ));
    p.coordinator
        .update_referral(&space, &concern, "acknowledged")
        .unwrap();
    sync(&n, &mut p.coordinator);
    sync(&n, &mut p.supporter);
    let mine = p.supporter.concerns().unwrap();
    assert_eq!(mine[0].state, "acknowledged");
    assert!(mine[0].time_to_acknowledge_ms().is_some());
    assert!(mine[0].acknowledged_by.is_some());
    sync(&n, &mut p.participant);
    participant_knows_nothing(&mut p, &space, &concern);
}

#[test]
fn a_supporter_reads_nothing_of_another_supporters_concern() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.other);
    // The other supporter holds the space's document, but nothing in it names the child or the
    // record, and its view lists nothing.
    assert!(p.other.concerns().unwrap().is_empty());
    let bytes = p
        .other
        .read_space(&space, |d| d.clone().save_nocompress())
        .unwrap();
    let person = p.participant.person_id().unwrap().0;
    for needle in [
        p.care.0.to_vec(),
        p.care.to_hex().into_bytes(),
        person.to_vec(),
        hex::encode(person).into_bytes(),
        b"safeguarding".to_vec(),
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
            "the other supporter's copy names whom the concern is about"
        );
    }
    assert!(
        bytes
            .windows(concern.len())
            .any(|w| w == concern.as_bytes())
    );
    // A concern is raised about a record one holds: not this one.
    assert!(matches!(
        p.other.refer_now(&p.care, true),
        Err(Error::NotFound(_))
    ));
    // The coordinator opens it.
    sync(&n, &mut p.coordinator);
    assert_eq!(p.coordinator.concerns().unwrap()[0].care, Some(p.care));
}

/// A supporter with a modified app deletes or rewrites another's concern, or acknowledges it: its
/// own phone refuses (the honest check), and every other device refuses it on receipt.
#[test]
fn a_member_abusing_the_space_is_refused_on_receipt_by_every_device() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.other);
    let record = |doc: &automerge::AutoCommit| {
        use automerge::ReadDoc;
        let c = match doc.get(automerge::ROOT, "concerns").unwrap() {
            Some((automerge::Value::Object(_), c)) => c,
            _ => panic!("no concerns container"),
        };
        doc.get(&c, concern.as_str()).unwrap().map(|(_, r)| (c, r))
    };
    let (c, r) = p.other.read_space(&space, record).unwrap().unwrap();
    type Edit<'a> =
        Box<dyn Fn(&mut automerge::AutoCommit, &automerge::ObjId, &automerge::ObjId) + 'a>;
    let edits: Vec<(&str, Edit<'_>)> = vec![
        (
            "delete",
            Box::new(|d, c, _| {
                use automerge::transaction::Transactable;
                d.delete(c, concern.as_str()).unwrap();
            }),
        ),
        (
            "rewrite",
            Box::new(|d, _, r| {
                use automerge::transaction::Transactable;
                d.put(r, "sealed", automerge::ScalarValue::Bytes(vec![0; 8]))
                    .unwrap();
            }),
        ),
    ];
    for (what, edit) in &edits {
        assert!(
            matches!(
                p.other.with_space(&space, |d, _| {
                    edit(d, &c, &r);
                    Ok(())
                }),
                Err(Error::NotAllowed(_))
            ),
            "{what}"
        );
    }
    // A forged acknowledgement by a supporter, refused by its own phone too.
    assert!(matches!(
        p.other.update_referral(&space, &concern, "acknowledged"),
        Err(Error::NotAllowed(_))
    ));
    // Past the honest check: written anyway, sent.
    for (_, edit) in &edits {
        p.other
            .with_space_unchecked_for_tests(&space, |d, _| {
                edit(d, &c, &r);
                Ok(())
            })
            .unwrap();
    }
    // On the modified client's own copy the concern is gone: what it sends deletes it.
    assert!(p.other.read_space(&space, record).unwrap().is_none());
    sync(&n, &mut p.other);
    for v in [&mut p.coordinator, &mut p.supporter] {
        sync(&n, v);
        assert!(
            v.read_space(&space, record).unwrap().is_some(),
            "the concern is still there"
        );
        let seen = v.concerns().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].care, Some(p.care), "and still opens");
    }
}

/// Before the programme has a safeguarding space this supporter belongs to, nobody could receive a
/// concern: it waits on the supporter's phone (never in the child's record), says so, and goes to
/// the coordinators once the supporter is added.
#[test]
fn a_concern_waits_on_the_supporters_phone_until_someone_can_receive_it() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    let mine = p.supporter.concerns().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, "queued");
    assert_eq!(mine[0].space, None);
    assert_eq!(mine[0].coordinators, 0);
    // The supporter is told what to do about it (review H2), not the participant's wording.
    assert_eq!(
        mine[0].notice(),
        sebaya_core::care::CareNotice::ConcernNotDelivered
    );
    sync(&n, &mut p.coordinator);
    assert!(p.coordinator.concerns().unwrap().is_empty());
    sync(&n, &mut p.participant);
    let space = safeguarding_space(&n, &mut p);
    // The next sync after joining writes it there.
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.coordinator);
    let seen = p.coordinator.concerns().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, concern);
    assert_eq!(seen[0].care, Some(p.care));
    let mine = p.supporter.concerns().unwrap();
    assert_eq!(mine.len(), 1, "sent once, no longer queued");
    assert_eq!(mine[0].space, Some(space));
    sync(&n, &mut p.participant);
    participant_knows_nothing(&mut p, &space, &concern);
}

/// A `safeguarding-minor` referral written into a care record by an earlier version stays in the
/// coordinators' inbox (a risk signal is never dropped), and leaves the participant's view and
/// export.
#[test]
fn a_legacy_safeguarding_referral_stays_with_the_coordinators_only() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let me = p.supporter.device_id().to_hex();
    let id = "00000000000000d1";
    p.supporter
        .with_space(&p.care, |doc, now| {
            sebaya_core::care::add_referral(doc, id, "supporter", "safeguarding-minor", &me, now)
        })
        .unwrap();
    for v in [&mut p.supporter, &mut p.coordinator, &mut p.participant] {
        sync(&n, v);
    }
    let inbox = p.coordinator.referral_inbox().unwrap();
    assert_eq!(
        inbox.iter().find(|r| r.id == id).unwrap().reason.as_deref(),
        Some("safeguarding-minor")
    );
    assert!(p.coordinator.caseload().unwrap().iter().any(|r| r.id == id));
    assert!(p.participant.referrals(&p.care).unwrap().is_empty());
    let export = p.participant.export_all(0).unwrap();
    assert!(!export.contains(id));
    assert!(!export.contains("safeguarding"));
}

/// Review H1: the normal app never adds a participant's phone to the safeguarding space. The
/// coordinator's device refuses to approve the child (whose care record it holds) or anyone who
/// holds no role in the programme; and the child's phone refuses a safeguarding space's response
/// made for it anyway (here by the coordinator of another programme who gave the child a role
/// there, which the first check cannot see).
#[test]
fn a_participants_phone_is_never_added_to_the_safeguarding_space() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let request = p.participant.link_request().unwrap();
    assert!(matches!(
        p.coordinator
            .approve_group_member(&space, &request, Role::Member),
        Err(Error::NotAllowed(_))
    ));
    assert!(
        !p.coordinator
            .space_membership(&space)
            .unwrap()
            .is_member(&p.participant.device_id())
    );
    // Someone with no role in the programme: refused too.
    let stranger = vault(&dir, "x.db", 9);
    assert!(matches!(
        p.coordinator
            .approve_group_member(&space, &stranger.link_request().unwrap(), Role::Member),
        Err(Error::NotAllowed(_))
    ));
    // The child's phone refuses a safeguarding space's response made for it.
    let mut elsewhere = vault(&dir, "e.db", 10);
    let other = elsewhere.create_programme("another").unwrap();
    let grant = elsewhere
        .grant_programme_role(
            &other,
            &p.participant.person_id().unwrap(),
            ProgrammeRole::PeerSupporter,
            180,
        )
        .unwrap();
    p.participant
        .add_programme_credential(&grant.credential)
        .unwrap();
    let theirs = elsewhere.create_safeguarding_space(other).unwrap();
    let resp = elsewhere
        .approve_group_member(
            &theirs,
            &p.participant.link_request().unwrap(),
            Role::Member,
        )
        .unwrap();
    assert!(matches!(
        p.participant.join_space(&resp),
        Err(Error::NotAllowed(_))
    ));
    assert!(
        p.participant
            .shared_spaces()
            .iter()
            .all(|(_, kind, _)| *kind != SpaceKind::Safeguarding)
    );
}

/// Review H2: a concern raised offline, before the programme had a safeguarding space, reaches the
/// coordinator without any relay: the supporter joins in person and hands over a bundle. While it
/// waits, the supporter is told what to do (not the participant's "no coordinator yet"), and once
/// past the deadline, to phone the coordinator.
#[test]
fn a_queued_concern_reaches_the_coordinator_offline_by_join_and_bundle() {
    use sebaya_core::care::CareNotice;
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    // The coordinator is told the programme has no safeguarding space yet.
    let info = p.coordinator.programmes().unwrap();
    let mine = info.iter().find(|i| i.id == p.programme).unwrap();
    assert!(!mine.safeguarding_space);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    let waiting = p.supporter.concerns().unwrap();
    assert_eq!(waiting[0].state, "queued");
    assert_eq!(waiting[0].notice(), CareNotice::ConcernNotDelivered);
    assert_eq!(
        CareNotice::ConcernNotDelivered.message_id(),
        "care-concern-not-delivered"
    );
    // Aged past the deadline (24 hours by default), the notice escalates.
    let late = p.supporter.concerns_at(now() + 25 * 3_600_000).unwrap();
    assert!(late[0].overdue);
    assert_eq!(late[0].notice(), CareNotice::OverdueCallCoordinator);

    let space = p
        .coordinator
        .create_safeguarding_space(p.programme)
        .unwrap();
    let info = p.coordinator.programmes().unwrap();
    assert!(
        info.iter()
            .find(|i| i.id == p.programme)
            .unwrap()
            .safeguarding_space
    );
    let resp = p
        .coordinator
        .approve_group_member(&space, &p.supporter.link_request().unwrap(), Role::Member)
        .unwrap();
    p.supporter.join_space(&resp).unwrap();
    // A join brings the space's membership, not its document (who the coordinators are): the
    // coordinator's bundle brings that, and the concern is written into the space at its import,
    // then goes back with the supporter's bundle. No relay anywhere.
    let from_coordinator = p
        .coordinator
        .export_bundle(&[], Some(&p.supporter.device_id()))
        .unwrap();
    p.supporter.import_bundle(&from_coordinator).unwrap();
    let mine = p.supporter.concerns().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].space, Some(space));
    let bundle = p
        .supporter
        .export_bundle(&[], Some(&p.coordinator.device_id()))
        .unwrap();
    p.coordinator.import_bundle(&bundle).unwrap();
    let seen = p.coordinator.concerns().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, concern);
    assert_eq!(seen[0].care, Some(p.care));
}

/// Review M1: a supporter's full bundle never takes the safeguarding space to a participant's
/// phone, even one that carries for others.
#[test]
fn a_supporters_bundle_never_takes_the_safeguarding_space_to_the_child() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    p.participant.set_carry_quota(10_000_000).unwrap();
    let holds_space = |bundle: &[u8]| {
        sebaya_proto::bundle::open(bundle)
            .unwrap()
            .spaces
            .iter()
            .any(|part| part.space.as_slice() == space.0.as_slice())
    };
    for peer in [None, Some(p.participant.device_id())] {
        let bundle = p.supporter.export_bundle(&[], peer.as_ref()).unwrap();
        assert!(
            !holds_space(&bundle),
            "the space is in a bundle for {peer:?}"
        );
        // The same bytes twice (same second, same content) are a replay: nothing new either way.
        match p.participant.import_bundle(&bundle) {
            Ok(_) | Err(Error::BundleReplayed) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    // Nothing of it carried on either: the child's own full bundle does not hold it.
    let theirs = p.participant.export_bundle(&[], None).unwrap();
    assert!(!holds_space(&theirs));
    participant_knows_nothing(&mut p, &space, &concern);
    // To a member (the coordinator) it goes.
    let bundle = p
        .supporter
        .export_bundle(&[], Some(&p.coordinator.device_id()))
        .unwrap();
    p.coordinator.import_bundle(&bundle).unwrap();
    assert_eq!(p.coordinator.concerns().unwrap().len(), 1);
}

/// Review M4: a legacy `safeguarding-minor` referral does not tell the participant, through a
/// refused erase, that something is hidden from them; the coordinators still keep the record until
/// one of them acknowledges it.
#[test]
fn a_legacy_concern_does_not_show_through_the_participants_erase() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let me = p.supporter.device_id().to_hex();
    let id = "00000000000000d2";
    p.supporter
        .with_space_unchecked_for_tests(&p.care, |doc, now| {
            sebaya_core::care::add_referral(doc, id, "supporter", "safeguarding-minor", &me, now)
        })
        .unwrap();
    for v in [&mut p.supporter, &mut p.coordinator, &mut p.participant] {
        sync(&n, v);
    }
    assert!(p.participant.referrals(&p.care).unwrap().is_empty());
    p.participant.erase_care_record(&p.care).unwrap();
    sync(&n, &mut p.participant);
    // The coordinator keeps the record, and the concern in its inbox, until it is acknowledged.
    sync(&n, &mut p.coordinator);
    assert!(
        p.coordinator
            .referral_inbox()
            .unwrap()
            .iter()
            .any(|r| r.id == id)
    );
}

/// Review M3 (a): a concern's key is wrapped for the coordinators' devices and its writer's only,
/// never for another supporter's (a mutation wrapping for every member passed every other test).
#[test]
fn a_concern_is_wrapped_for_no_other_supporter() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.other);
    let wrapped: Vec<String> = p
        .other
        .read_space(&space, |doc| {
            use automerge::ReadDoc;
            let get = |obj: &automerge::ObjId, key: &str| match doc.get(obj, key).unwrap() {
                Some((automerge::Value::Object(_), o)) => o,
                _ => panic!("no {key}"),
            };
            let wraps = get(&get(&get(&automerge::ROOT, "concerns"), &concern), "wraps");
            doc.keys(&wraps).collect()
        })
        .unwrap();
    let mut expected = vec![
        p.coordinator.device_id().to_hex(),
        p.supporter.device_id().to_hex(),
    ];
    expected.sort();
    let mut got = wrapped.clone();
    got.sort();
    assert_eq!(got, expected);
    assert!(!wrapped.contains(&p.other.device_id().to_hex()));
}

/// Review M3 (b): a coordinator's state on a legacy `safeguarding-minor` referral leaves the
/// participant's export too, not only the referral.
#[test]
fn a_legacy_concerns_state_leaves_the_participants_export() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let me = p.supporter.device_id().to_hex();
    let id = "00000000000000d3";
    p.supporter
        .with_space_unchecked_for_tests(&p.care, |doc, now| {
            sebaya_core::care::add_referral(doc, id, "supporter", "safeguarding-minor", &me, now)
        })
        .unwrap();
    for v in [&mut p.supporter, &mut p.coordinator] {
        sync(&n, v);
    }
    p.coordinator
        .update_referral(&p.care, id, "acknowledged")
        .unwrap();
    sync(&n, &mut p.coordinator);
    sync(&n, &mut p.participant);
    let held = p
        .participant
        .read_space(&p.care, |d| d.clone().save_nocompress())
        .unwrap();
    assert!(
        held.windows(id.len()).any(|w| w == id.as_bytes()),
        "the state reached the participant's copy"
    );
    let export = p.participant.export_all(0).unwrap();
    assert!(!export.contains(id), "{export}");
    assert!(!export.contains("safeguarding"));
    assert!(!export.contains("acknowledged"));
}

/// Review M3 (c): on receipt, a supporter's forged state in the safeguarding space, and a concern
/// whose `by` names another device, are refused by every other device (each from its own writer,
/// so neither hides behind the other's refusal).
#[test]
fn a_forged_state_or_writer_is_refused_on_receipt() {
    use automerge::ReadDoc;
    use automerge::transaction::Transactable;
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.other);
    let coordinator = p.coordinator.device_id().to_hex();
    let (state_id, forged) = ("00000000000000f2", "00000000000000f1");
    let container =
        |d: &automerge::AutoCommit, key: &str| match d.get(automerge::ROOT, key).unwrap() {
            Some((automerge::Value::Object(_), o)) => o,
            _ => panic!("no {key}"),
        };
    // Another supporter closes the concern, in a coordinator's name.
    p.other
        .with_space_unchecked_for_tests(&space, |d, now| {
            let states = container(d, "states");
            let r = d
                .put_object(&states, state_id, automerge::ObjType::Map)
                .unwrap();
            for (k, v) in [
                ("referral", concern.as_str()),
                ("state", "closed"),
                ("by", coordinator.as_str()),
            ] {
                d.put(&r, k, v).unwrap();
            }
            d.put(&r, "at", now).unwrap();
            Ok(())
        })
        .unwrap();
    // The writer of a concern adds one more, naming the coordinator's device as its writer.
    p.supporter
        .with_space_unchecked_for_tests(&space, |d, now| {
            let concerns = container(d, "concerns");
            let c = d
                .put_object(&concerns, forged, automerge::ObjType::Map)
                .unwrap();
            d.put(&c, "by", coordinator.as_str()).unwrap();
            d.put(&c, "at", now).unwrap();
            Ok(())
        })
        .unwrap();
    sync(&n, &mut p.other);
    sync(&n, &mut p.supporter);
    let has = |v: &Vault, key: &str, id: &str| {
        v.read_space(&space, |d| d.get(container(d, key), id).unwrap().is_some())
            .unwrap()
    };
    sync(&n, &mut p.coordinator);
    assert!(
        !has(&p.coordinator, "states", state_id),
        "a supporter's state"
    );
    assert!(!has(&p.coordinator, "concerns", forged), "a forged writer");
    let seen = p.coordinator.concerns().unwrap();
    assert!(seen.iter().all(|c| c.id != forged));
    let it = seen.iter().find(|c| c.id == concern).unwrap();
    assert_eq!(it.state, "sent");
    assert!(it.closed_ms.is_none());
    // The other supporter's device refuses the forged writer; the writer's refuses the state.
    assert!(!has(&p.other, "concerns", forged));
    assert!(!has(&p.supporter, "states", state_id));
    assert_eq!(p.supporter.concerns().unwrap()[0].state, "sent");
}

/// Another coordinator of the programme, added to its safeguarding space by the first (in person),
/// not a member of any care record.
fn second_coordinator(p: &mut Programme, space: &SpaceId, v: &mut Vault) {
    coordinator_as(p, space, v, Role::Member);
}

/// [`second_coordinator`], added to the safeguarding space with `role`.
fn coordinator_as(p: &mut Programme, space: &SpaceId, v: &mut Vault, role: Role) {
    let grant = p
        .coordinator
        .grant_programme_role(
            &p.programme,
            &v.person_id().unwrap(),
            ProgrammeRole::Coordinator,
            180,
        )
        .unwrap();
    v.add_programme_credential(&grant.credential).unwrap();
    let resp = p
        .coordinator
        .approve_group_member(space, &v.link_request().unwrap(), role)
        .unwrap();
    assert_eq!(
        v.join_space(&resp).unwrap(),
        (*space, SpaceKind::Safeguarding)
    );
}

/// Review M2: a coordinator added to the safeguarding space after a concern was written, and a new
/// device of a coordinator who was there, open whom it is about once a coordinator device that can
/// open it has synced (it adds their wraps); no other supporter gains one.
#[test]
fn a_coordinator_added_later_opens_an_earlier_concern() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.coordinator);

    let mut late = vault(&dir, "c2.db", 5);
    second_coordinator(&mut p, &space, &mut late);
    let mut tablet = Vault::open(&dir.path().join("tablet.db"), &[6; 32]).unwrap();
    let resp = p
        .coordinator
        .approve_link(&tablet.link_request().unwrap())
        .unwrap();
    tablet.complete_link(&resp).unwrap();
    sync(&n, &mut p.coordinator);
    sync(&n, &mut late);
    sync(&n, &mut tablet);
    sync(&n, &mut tablet);
    assert!(
        tablet
            .shared_spaces()
            .iter()
            .any(|(id, kind, _)| id == &space && *kind == SpaceKind::Safeguarding),
        "the tablet holds the safeguarding space"
    );
    // An existing coordinator's device syncs: it adds what the newcomers lack.
    sync(&n, &mut p.coordinator);
    sync(&n, &mut p.coordinator);
    sync(&n, &mut late);
    sync(&n, &mut tablet);
    let participant = p.participant.person_id().map(|x| x.0);
    for (who, v) in [
        ("the later coordinator", &mut late),
        ("the new device", &mut tablet),
    ] {
        let seen = v.concerns().unwrap();
        assert_eq!(seen.len(), 1, "{who}");
        assert_eq!(seen[0].id, concern, "{who}");
        assert_eq!(seen[0].care, Some(p.care), "{who} opens it");
        assert_eq!(seen[0].participant, participant, "{who}");
    }
    // The other supporter still reads nothing of it.
    sync(&n, &mut p.other);
    assert!(p.other.concerns().unwrap().is_empty());
}

/// A wrap-shaped value: a key wrap's length (93 bytes), its version byte first, so only the rule's
/// other checks can refuse it.
fn wrap_shaped() -> automerge::ScalarValue {
    let mut b = vec![0x5a; 93];
    b[0] = 1;
    automerge::ScalarValue::Bytes(b)
}

/// Puts `value` at the root key `key` of `space` on `v`: through the device's own check when
/// `checked`, else as a modified client would. Whether it was written.
fn put_root(v: &mut Vault, space: &SpaceId, key: &str, checked: bool) -> bool {
    let edit = |d: &mut automerge::AutoCommit, _now: i64| {
        use automerge::transaction::Transactable;
        d.put(automerge::ROOT, key, wrap_shaped())?;
        Ok(())
    };
    if checked {
        v.with_space(space, edit).is_ok()
    } else {
        v.with_space_unchecked_for_tests(space, edit).is_ok()
    }
}

/// The root keys of `space` on `v` that start with `prefix`.
fn root_keys(v: &Vault, space: &SpaceId, prefix: &str) -> Vec<String> {
    v.read_space(space, |doc| {
        use automerge::ReadDoc;
        doc.keys(automerge::ROOT)
            .filter(|k| k.starts_with(prefix))
            .collect::<Vec<_>>()
    })
    .unwrap()
}

/// Review M2 and M3 (with H2): only an admin of the safeguarding space who holds `coordinator`
/// adds a wrap, in its own name. A coordinator who is a member only, the concern's writer and
/// another supporter each write a wrap-shaped value (a key wrap's length, so the length check
/// refuses none of them), each as the one bad write of its author: their own phones refuse it, and
/// so does every other device on receipt. The admin coordinator's own wrap is taken. No supporter
/// gains a wrap.
#[test]
fn only_an_admin_coordinator_adds_a_wrap() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    let mut late = vault(&dir, "c2.db", 5);
    second_coordinator(&mut p, &space, &mut late);
    for v in [
        &mut p.coordinator,
        &mut late,
        &mut p.supporter,
        &mut p.other,
    ] {
        sync(&n, v);
    }
    let hex = |v: &Vault| v.device_id().to_hex();
    let (c1, c2, s, o) = (
        hex(&p.coordinator),
        hex(&late),
        hex(&p.supporter),
        hex(&p.other),
    );
    let key =
        |device: &str, adder: &str| sebaya_core::rewrap_key_for_tests(&concern, device, adder);
    let bad = [
        (
            "a coordinator who is a member only, for itself",
            key(&c2, &c2),
        ),
        ("the concern's writer, for a coordinator", key(&c2, &s)),
        ("another supporter, for itself", key(&o, &o)),
    ];
    for ((who, k), v) in bad.iter().zip([&mut late, &mut p.supporter, &mut p.other]) {
        assert!(
            !put_root(v, &space, k, true),
            "its own phone refuses: {who}"
        );
        assert!(put_root(v, &space, k, false));
        sync(&n, v);
    }
    sync(&n, &mut p.coordinator);
    sync(&n, &mut p.coordinator);
    for v in [&mut late, &mut p.supporter, &mut p.other] {
        sync(&n, v);
    }
    for (i, (who, k)) in bad.iter().enumerate() {
        // Every device but the author's own (which holds what it wrote).
        let others: Vec<(&str, &Vault)> = [
            ("the admin", &p.coordinator),
            ("the member coordinator", &late),
            ("the writer", &p.supporter),
            ("the other supporter", &p.other),
        ]
        .into_iter()
        .enumerate()
        .filter(|(j, _)| *j != i + 1)
        .map(|(_, x)| x)
        .collect();
        for (name, v) in others {
            let held = v
                .read_space(&space, |doc| {
                    use automerge::ReadDoc;
                    doc.get_all(automerge::ROOT, k.as_str()).unwrap().len()
                })
                .unwrap();
            assert_eq!(held, 0, "{name} refuses {who}");
        }
    }
    // The admin coordinator's own wrap for the newcomer was taken, and opens it.
    sync(&n, &mut late);
    assert!(root_keys(&late, &space, "rewrap/").contains(&key(&c2, &c1)));
    let seen = late.concerns().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].care, Some(p.care), "the admin's wrap opens it");
    // Nothing is wrapped for a supporter.
    for v in [&p.coordinator, &late] {
        let keys = root_keys(v, &space, "rewrap/");
        assert!(
            keys.iter().all(|k| !k.contains(&o) && !k.contains(&s)),
            "{keys:?}"
        );
    }
}

/// Review H1: a concern raised while offline, and a wrap its writer (here the admin coordinator)
/// added for a coordinator it learnt of before anything left its phone, go out together; every
/// receiver takes both, and the newcomer opens the concern. (That a concern and its added wrap in
/// one envelope are taken together is judged directly in `core/src/care/concern_wraps_tests.rs`.)
#[test]
fn a_concern_and_a_wrap_added_before_it_left_reach_every_coordinator() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    // A second coordinator joins; its first sync publishes its credential.
    let mut late = vault(&dir, "c2.db", 5);
    second_coordinator(&mut p, &space, &mut late);
    sync(&n, &mut p.coordinator);
    sync(&n, &mut late);
    // The coordinator raises a concern offline (its copy does not yet show the newcomer as a
    // coordinator, so the concern is not sealed for it), then takes the newcomer's bundle before
    // anything has left its phone.
    let concern = p.coordinator.refer_now(&p.care, true).unwrap();
    let bundle = late
        .export_bundle(&[], Some(&p.coordinator.device_id()))
        .unwrap();
    p.coordinator.import_bundle(&bundle).unwrap();
    // Its app lists the concerns (a wrap for the newcomer is added then), then it syncs.
    assert_eq!(p.coordinator.concerns().unwrap().len(), 1);
    let wrap = sebaya_core::rewrap_key_for_tests(
        &concern,
        &late.device_id().to_hex(),
        &p.coordinator.device_id().to_hex(),
    );
    assert!(
        root_keys(&p.coordinator, &space, "rewrap/").contains(&wrap),
        "a wrap was added before the concern left"
    );
    sync(&n, &mut p.coordinator);
    sync(&n, &mut late);
    let seen = late.concerns().unwrap();
    assert_eq!(seen.len(), 1, "the newcomer took the envelope in");
    assert_eq!(seen[0].id, concern);
    assert_eq!(seen[0].care, Some(p.care), "and opens the concern");
    // Nothing the coordinator writes next waits on that envelope.
    p.coordinator
        .update_referral(&space, &concern, "acknowledged")
        .unwrap();
    sync(&n, &mut p.coordinator);
    sync(&n, &mut late);
    assert_eq!(late.concerns().unwrap()[0].state, "acknowledged");
}

/// Review H2: a device still on rules version 9 (the previous release) refuses a `rewrap/` key from
/// anyone but an admin of the space, and then everything built on it waits there. So only an admin
/// adds wraps: an updated supporter who wrote a concern and an updated coordinator who is a member
/// only add none, and an older creator coordinator takes in the supporter's next concern and, once
/// it acknowledges, the supporter sees it.
#[test]
fn a_device_on_the_previous_rules_takes_in_everything_built_on_added_wraps() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let older = |v: &mut Vault| sebaya_core::judged_as_rules_9_for_tests(|| sync(&n, v));
    let first = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    older(&mut p.coordinator);
    // A second coordinator joins: the supporter's concern lacks a wrap for it.
    let mut late = vault(&dir, "c2.db", 5);
    second_coordinator(&mut p, &space, &mut late);
    older(&mut p.coordinator);
    sync(&n, &mut late);
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.supporter);
    // The supporter raises another concern.
    let second = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    older(&mut p.coordinator);
    let ids: Vec<String> = p
        .coordinator
        .concerns()
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(
        ids.contains(&second),
        "the older device took it in: {ids:?}"
    );
    // Every added wrap is the admin's.
    let c1 = p.coordinator.device_id().to_hex();
    for k in root_keys(&p.coordinator, &space, "rewrap/") {
        assert!(k.ends_with(&c1), "{k}");
    }
    // The newcomer opens the first concern by the admin's wrap.
    older(&mut p.coordinator);
    sync(&n, &mut late);
    let seen = late.concerns().unwrap();
    let f = seen.iter().find(|c| c.id == first).unwrap();
    assert_eq!(f.care, Some(p.care));
    // The older coordinator acknowledges; the supporter, on the previous rules too, sees it.
    p.coordinator
        .update_referral(&space, &second, "acknowledged")
        .unwrap();
    older(&mut p.coordinator);
    sebaya_core::judged_as_rules_9_for_tests(|| sync(&n, &mut p.supporter));
    let mine = p.supporter.concerns().unwrap();
    let s = mine.iter().find(|c| c.id == second).unwrap();
    assert_eq!(s.state, "acknowledged");
}

/// Review M1: whether an added wrap is taken does not hang on what the receiver knows of the
/// device it is for (its place in the log, its role now): a wrap for a device no log names is
/// taken like any other, so the admin's later changes (an acknowledgement) reach everyone.
#[test]
fn an_added_wrap_is_judged_without_the_receivers_view_of_its_target() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.coordinator);
    let c1 = p.coordinator.device_id().to_hex();
    let nobody = "ee".repeat(32);
    let key = sebaya_core::rewrap_key_for_tests(&concern, &nobody, &c1);
    assert!(put_root(&mut p.coordinator, &space, &key, false));
    sync(&n, &mut p.coordinator);
    p.coordinator
        .update_referral(&space, &concern, "acknowledged")
        .unwrap();
    sync(&n, &mut p.coordinator);
    sync(&n, &mut p.supporter);
    let mine = p.supporter.concerns().unwrap();
    assert_eq!(mine[0].state, "acknowledged", "the acknowledgement arrived");
}

/// Review M2: one bad wrap (written by another admin coordinator) does not keep the good one out:
/// each adder has its own key, so the first coordinator still adds its own for the newcomer, who
/// then opens the concern.
#[test]
fn one_bad_wrap_does_not_keep_the_good_one_out() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    // Raised before the supporter learns of anyone new.
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    let mut admin = vault(&dir, "c3.db", 7);
    coordinator_as(&mut p, &space, &mut admin, Role::Admin);
    let mut late = vault(&dir, "c2.db", 5);
    second_coordinator(&mut p, &space, &mut late);
    sync(&n, &mut p.coordinator);
    sync(&n, &mut admin);
    sync(&n, &mut late);
    // The concern goes out, wrapped for the first coordinator and its writer only.
    sync(&n, &mut p.supporter);
    // The other admin (a modified app, or a mistake) puts 93 bytes that open nothing where its wrap
    // for the newcomer goes; its own phone takes it (it cannot tell either).
    sync(&n, &mut admin);
    let key = sebaya_core::rewrap_key_for_tests(
        &concern,
        &late.device_id().to_hex(),
        &admin.device_id().to_hex(),
    );
    assert!(put_root(&mut admin, &space, &key, true));
    sync(&n, &mut admin);
    // The first coordinator learns of the concern and the bad wrap, then adds its own wraps.
    sync(&n, &mut p.coordinator);
    sync(&n, &mut p.coordinator);
    sync(&n, &mut late);
    let seen = late.concerns().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].care, Some(p.care), "the good wrap opens it");
}

/// Review M6: the deadline travels sealed inside the concern, so a coordinator who holds no copy of
/// the child's record sees it overdue when the writer does, by the record's deadline.
#[test]
fn a_concerns_deadline_is_the_same_on_every_device() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    assert_eq!(p.coordinator.set_ack_deadline(&p.programme, 2).unwrap(), 1);
    sync(&n, &mut p.coordinator);
    sync(&n, &mut p.supporter);
    let space = safeguarding_space(&n, &mut p);
    let mut late = vault(&dir, "c2.db", 5);
    second_coordinator(&mut p, &space, &mut late);
    for v in [&mut p.coordinator, &mut late] {
        sync(&n, v);
    }
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    // The coordinator's device wraps it for the later coordinator before its next send.
    for v in [&mut p.supporter, &mut p.coordinator] {
        sync(&n, v);
    }
    sync(&n, &mut p.coordinator);
    sync(&n, &mut late);
    let at = now() + 3 * 3_600_000;
    let writer = p.supporter.concerns_at(at).unwrap();
    let theirs = late.concerns_at(at).unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].id, concern);
    assert_eq!(theirs[0].care, Some(p.care), "sealed for this coordinator");
    assert!(writer[0].overdue, "the writer holds the record: 2 hours");
    assert!(theirs[0].overdue, "the deadline came with the concern");
    // Within the deadline, neither.
    let soon = now() + 3_600_000;
    assert!(!late.concerns_at(soon).unwrap()[0].overdue);
    assert!(!p.supporter.concerns_at(soon).unwrap()[0].overdue);
}

/// Review M5: the programme's report counts safeguarding concerns from the safeguarding space
/// (raised, acknowledged, overdue, time to acknowledge), small counts suppressed as every other
/// count, and never whom a concern is about.
#[test]
fn the_programme_report_counts_concerns_and_suppresses_small_numbers() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    let start = now() - 3_600_000;
    let first = p.supporter.refer_now(&p.care, true).unwrap();
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.coordinator);
    let end = now() + 3_600_000;
    let report = p
        .coordinator
        .programme_report(&p.programme, start, end)
        .unwrap();
    let raised = report.get("concerns.raised").expect("a row for concerns");
    assert_eq!(raised.value, None, "one concern: suppressed");
    assert!(report.suppressed().contains(&"concerns.raised"));

    let mut ids = vec![first];
    for _ in 0..9 {
        ids.push(p.supporter.refer_now(&p.care, true).unwrap());
    }
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.coordinator);
    // Five acknowledged, five not yet (within the deadline).
    for id in &ids[..5] {
        p.coordinator
            .update_referral(&space, id, "acknowledged")
            .unwrap();
    }
    let end = now() + 3_600_000;
    let report = p
        .coordinator
        .programme_report(&p.programme, start, end)
        .unwrap();
    let count = |id: &str| match report.get(id).and_then(|m| m.value) {
        Some(sebaya_core::reports::MetricValue::Count(c)) => Some(c),
        _ => None,
    };
    assert_eq!(count("concerns.raised"), Some(10));
    assert_eq!(count("concerns.acknowledged"), Some(5));
    assert_eq!(count("concerns.unacknowledged"), Some(5));
    assert_eq!(count("concerns.overdue"), None, "none: suppressed");
    assert!(count("concerns.ack_time_median_ms").is_some());
    // Not one of them counted as a care record's referral.
    assert_eq!(count("referrals.total"), None);
    // Nothing names the child: not the record, not the person, not a concern.
    let json = report.to_json().unwrap();
    let person = hex::encode(p.participant.person_id().unwrap().0);
    for secret in [p.care.to_hex(), person, ids[0].clone()] {
        assert!(!json.contains(&secret) && !report.to_csv().contains(&secret));
    }
    // A supporter's device counts none: the concerns are the coordinators' to report.
    let theirs = p
        .supporter
        .programme_report(&p.programme, start, end)
        .unwrap();
    assert_eq!(theirs.get("concerns.raised").unwrap().value, None);
}

/// Review M2 with H2: a concern's writer (a supporter) adds no wrap for a coordinator added later,
/// since a device of the previous rules would refuse it from anyone but an admin; the admin
/// coordinator adds it once it learns of the newcomer and holds the concern.
#[test]
fn the_writer_leaves_a_later_coordinators_wrap_to_the_admin() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut p = programme(&n, &dir);
    let space = safeguarding_space(&n, &mut p);
    // Raised on the supporter's phone before it learns of the newcomer.
    let concern = p.supporter.refer_now(&p.care, true).unwrap();
    let mut late = vault(&dir, "c2.db", 5);
    second_coordinator(&mut p, &space, &mut late);
    // The first coordinator sends the newcomer's membership, not having the concern yet.
    sync(&n, &mut p.coordinator);
    sync(&n, &mut late);
    // The writer's first sync sends the concern and learns of the newcomer; its next adds nothing.
    sync(&n, &mut p.supporter);
    sync(&n, &mut p.supporter);
    let s = p.supporter.device_id().to_hex();
    let keys = root_keys(&p.supporter, &space, "rewrap/");
    assert!(keys.iter().all(|k| !k.ends_with(&s)), "{keys:?}");
    sync(&n, &mut late);
    assert_eq!(late.concerns().unwrap()[0].care, None, "not yet wrapped");
    // The admin coordinator takes the concern in, then adds the newcomer's wrap.
    sync(&n, &mut p.coordinator);
    sync(&n, &mut p.coordinator);
    sync(&n, &mut late);
    let seen = late.concerns().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, concern);
    assert_eq!(seen[0].care, Some(p.care), "the admin wrapped it");
    let c1 = p.coordinator.device_id().to_hex();
    let mine = sebaya_core::rewrap_key_for_tests(&concern, &late.device_id().to_hex(), &c1);
    assert!(root_keys(&late, &space, "rewrap/").contains(&mine));
}
