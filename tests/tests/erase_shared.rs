//! Erasing a group, a pairing and a care record for good by destroying their keys (issue 14, item
//! 17), with the journal's guarantees (`erase.rs`): the key is destroyed on the erasing device at
//! once and on every member's device that learns of it, the relay deletes the ciphertext, a late
//! device or an old join code never brings the space back, and the other members see it erased.
//! Who may: a group's facilitator (admin); the participant for their own pairing and care record
//! (not while a referral waits for a coordinator's acknowledgement). Everyone else is refused with
//! a typed error, and nothing changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::space::SpaceKind;
use sebaya_core::{Error, ProgrammeRole, ReqwestClient, Role, SpaceId, Vault};

struct Relay {
    dir: tempfile::TempDir,
    handle: sebaya_relay::RelayHandle,
    http: ReqwestClient,
}

impl Relay {
    fn start() -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let handle = sebaya_relay::spawn(sebaya_relay::RelayConfig {
            data_dir: dir.path().join("relay"),
            bind: "127.0.0.1:0".parse().unwrap(),
        })
        .unwrap();
        Relay {
            dir,
            handle,
            http: ReqwestClient::new().unwrap(),
        }
    }

    fn sync(&self, v: &mut Vault) -> sebaya_core::SyncReport {
        v.sync_with(&self.http, &self.handle.url()).unwrap()
    }

    /// Envelopes the relay holds for a space: (all, membership statements).
    fn held(&self, space: &SpaceId) -> (i64, i64) {
        let db = rusqlite::Connection::open(
            self.dir
                .path()
                .join("relay")
                .join(sebaya_relay::DB_FILE_NAME),
        )
        .unwrap();
        let count = |sql: &str| -> i64 {
            db.query_row(sql, [space.0.as_slice()], |r| r.get(0))
                .unwrap()
        };
        (
            count("SELECT count(*) FROM envelopes WHERE space = ?1"),
            count("SELECT count(*) FROM envelopes WHERE space = ?1 AND kind = 3"),
        )
    }
}

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

fn erased(v: &Vault) -> Vec<(SpaceId, SpaceKind)> {
    v.erased_spaces()
        .into_iter()
        .map(|e| (e.id, e.kind))
        .collect()
}

#[test]
fn a_facilitator_erases_a_group_everywhere_and_nobody_else_can() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let mut facilitator = vault(&dir, "f.db", 1);
    let mut member = vault(&dir, "m.db", 2);
    let mut stranger = vault(&dir, "x.db", 3);
    let group = facilitator.create_group("Kelompok Rabu").unwrap();
    let code = facilitator
        .approve_group_member(&group, &member.link_request().unwrap(), Role::Member)
        .unwrap();
    member.join_space(&code).unwrap();
    relay.sync(&mut facilitator);
    relay.sync(&mut member);
    let me = member.device_id().to_hex();
    member
        .with_space(&group, |d, now| {
            sebaya_core::groups::add_note(
                d,
                "00000000000000b1",
                "Rabu",
                "Catatan anggota.",
                &me,
                now,
            )
        })
        .unwrap();
    for _ in 0..2 {
        relay.sync(&mut facilitator);
        relay.sync(&mut member);
    }
    let (before, _) = relay.held(&group);
    assert!(before > 0);

    // A plain member and a stranger are refused, and nothing changes anywhere.
    assert!(matches!(
        member.erase_group(&group),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        stranger.erase_group(&group),
        Err(Error::NotFound(_))
    ));
    // Not a group: refused as the wrong kind, the journal stays.
    facilitator.journal_add("Catatan pribadi.", 3, &[]).unwrap();
    let journal = facilitator.journal_space().unwrap();
    assert!(matches!(
        facilitator.erase_group(&journal),
        Err(Error::InvalidInput(_))
    ));
    relay.sync(&mut member);
    assert_eq!(member.groups().len(), 1);
    assert!(erased(&member).is_empty());
    assert_eq!(relay.held(&group).0, before);

    // The facilitator erases: gone here at once, shown as erased.
    facilitator.erase_group(&group).unwrap();
    assert!(facilitator.groups().is_empty());
    assert_eq!(erased(&facilitator), vec![(group, SpaceKind::Group)]);
    assert!(matches!(
        facilitator.space_membership(&group),
        Err(Error::NotFound(_))
    ));

    // At the relay: only membership statements remain.
    relay.sync(&mut facilitator);
    let (all, membership) = relay.held(&group);
    assert_eq!(all, membership, "only membership statements remain");
    assert!(all < before);

    // The member's next sync destroys it there too, and says so.
    let report = relay.sync(&mut member);
    assert_eq!(report.erased, 1);
    assert!(member.groups().is_empty());
    assert_eq!(erased(&member), vec![(group, SpaceKind::Group)]);
    assert!(matches!(
        member.space_membership(&group),
        Err(Error::NotFound(_))
    ));

    // The old join code (which carries the key) never brings it back.
    assert!(matches!(
        member.join_space(&code),
        Err(Error::NotAllowed(_))
    ));
    assert!(member.groups().is_empty());
    relay.sync(&mut member);
    assert!(member.groups().is_empty());
}

/// A programme with a coordinator (who enrols), a supporter and an enrolled participant who
/// agreed to the duty-of-care rule; everyone synced.
fn programme(relay: &Relay, dir: &tempfile::TempDir) -> (Vault, Vault, Vault, SpaceId) {
    let mut coordinator = vault(dir, "c.db", 1);
    let mut supporter = vault(dir, "s.db", 2);
    let mut participant = vault(dir, "p.db", 3);
    let programme = coordinator.create_programme("PIK-R SMA 1").unwrap();
    let grant = coordinator
        .grant_programme_role(
            &programme,
            &supporter.person_id().unwrap(),
            ProgrammeRole::PeerSupporter,
            180,
        )
        .unwrap();
    supporter
        .add_programme_credential(&grant.credential)
        .unwrap();
    let (care, resp) = coordinator
        .enrol_participant(&participant.link_request().unwrap(), programme)
        .unwrap();
    participant.join_space(&resp).unwrap();
    let resp = coordinator
        .approve_group_member(&care, &supporter.link_request().unwrap(), Role::Member)
        .unwrap();
    supporter.join_space(&resp).unwrap();
    for v in [&mut coordinator, &mut participant, &mut supporter] {
        relay.sync(v);
    }
    participant
        .give_consent(&care, "duty-of-care", true)
        .unwrap();
    for v in [&mut participant, &mut coordinator, &mut supporter] {
        relay.sync(v);
    }
    (coordinator, supporter, participant, care)
}

#[test]
fn the_participant_erases_their_care_record_once_no_referral_waits() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&relay, &dir);

    // "I need help now": a referral no coordinator has acknowledged yet.
    let esc = participant.ask_for_help("ID").unwrap();
    assert_eq!(esc.referrals.len(), 1);
    let (_, referral) = esc.referrals[0].clone();
    // Erasing now would drop it silently: refused, typed, and nothing changes.
    assert!(matches!(
        participant.erase_care_record(&care),
        Err(Error::OpenReferrals)
    ));
    assert_eq!(participant.care_records().len(), 1);

    // Nobody else erases the participant's record: not the supporter, not the coordinator.
    for v in [&mut supporter, &mut coordinator] {
        assert!(matches!(
            v.erase_care_record(&care),
            Err(Error::NotAllowed(_))
        ));
        assert_eq!(v.care_records().len(), 1);
    }

    // Once a coordinator acknowledged it, the participant may.
    relay.sync(&mut participant);
    relay.sync(&mut coordinator);
    coordinator
        .update_referral(&care, &referral, "acknowledged")
        .unwrap();
    relay.sync(&mut coordinator);
    relay.sync(&mut participant);
    let (before, _) = relay.held(&care);
    participant.erase_care_record(&care).unwrap();
    assert!(participant.care_records().is_empty());
    assert_eq!(erased(&participant), vec![(care, SpaceKind::Care)]);

    // The participant's sync tells the relay; the supporter's and the coordinator's devices destroy
    // their copies at theirs, and the coordinator's (an admin there) has the relay delete it.
    relay.sync(&mut participant);
    for v in [&mut supporter, &mut coordinator] {
        let r = relay.sync(v);
        assert_eq!(r.erased, 1);
        assert!(v.care_records().is_empty());
        assert_eq!(erased(v), vec![(care, SpaceKind::Care)]);
    }
    // The coordinator's statement went out in the same sync: the relay deleted the ciphertext.
    let (all, membership) = relay.held(&care);
    assert_eq!(all, membership, "only membership statements remain");
    assert!(all < before);
}

/// Review finding: the supporter's "refer now" raised offline reached the coordinator in the same
/// exchange as the participant's erasure statement, and every device destroyed the record before any
/// coordinator saw it: a lost risk signal. A device keeps a care record while a referral in it waits
/// for a coordinator's acknowledgement (and an admin's device sends no statement of its own until
/// then); once acknowledged, the erasure the relay keeps serving takes effect everywhere.
#[test]
fn an_erasure_never_drops_a_referral_no_coordinator_has_acknowledged() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&relay, &dir);

    // The supporter refers offline; the participant, who has not seen it, erases.
    let referral = supporter.refer_now(&care, false).unwrap();
    participant.erase_care_record(&care).unwrap();
    relay.sync(&mut participant);
    relay.sync(&mut supporter);
    relay.sync(&mut coordinator);

    // The coordinator holds the record and sees the referral; so does the supporter's device.
    assert_eq!(
        coordinator.care_records().len(),
        1,
        "the coordinator keeps the record"
    );
    assert!(
        coordinator
            .referrals(&care)
            .unwrap()
            .iter()
            .any(|r| r.id == referral),
        "the coordinator sees the referral"
    );
    assert_eq!(supporter.care_records().len(), 1);

    // Acknowledged: the erasure takes effect at the next syncs, and the relay deletes.
    coordinator
        .update_referral(&care, &referral, "acknowledged")
        .unwrap();
    relay.sync(&mut coordinator);
    relay.sync(&mut supporter);
    relay.sync(&mut coordinator);
    for v in [&supporter, &coordinator] {
        assert!(v.care_records().is_empty());
        assert_eq!(erased(v), vec![(care, SpaceKind::Care)]);
    }
    let (all, membership) = relay.held(&care);
    assert_eq!(all, membership, "only membership statements remain");
}

#[test]
fn the_participant_erases_a_pairing_and_the_supporter_may_not() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let mut supporter = vault(&dir, "s.db", 2);
    let mut participant = vault(&dir, "p.db", 3);
    let (pairing, resp) = sebaya_tests::pairings::certified_pairing(
        &mut supporter,
        &participant.link_request().unwrap(),
    )
    .unwrap();
    participant.join_space(&resp).unwrap();
    for _ in 0..2 {
        relay.sync(&mut supporter);
        relay.sync(&mut participant);
    }
    assert!(matches!(
        supporter.erase_pairing(&pairing),
        Err(Error::NotAllowed(_))
    ));
    let (before, _) = relay.held(&pairing);
    participant.erase_pairing(&pairing).unwrap();
    assert_eq!(erased(&participant), vec![(pairing, SpaceKind::Pairing)]);
    relay.sync(&mut participant);
    let r = relay.sync(&mut supporter);
    assert_eq!(r.erased, 1);
    assert_eq!(erased(&supporter), vec![(pairing, SpaceKind::Pairing)]);
    // The supporter's statement went out in the same sync.
    let (all, membership) = relay.held(&pairing);
    assert_eq!(all, membership);
    assert!(all < before);
    // The participant's old join code does not bring it back.
    assert!(matches!(
        participant.join_space(&resp),
        Err(Error::NotAllowed(_))
    ));
}

/// A bundle file made before the erasure (its envelopes sealed under the destroyed key, and the
/// group's membership statements) brings nothing back on any device, and nothing of it is read.
#[test]
fn a_bundle_made_before_the_erasure_brings_nothing_back() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let mut facilitator = vault(&dir, "f.db", 1);
    let mut member = vault(&dir, "m.db", 2);
    let group = facilitator.create_group("Kelompok Jumat").unwrap();
    let code = facilitator
        .approve_group_member(&group, &member.link_request().unwrap(), Role::Member)
        .unwrap();
    member.join_space(&code).unwrap();
    for _ in 0..2 {
        relay.sync(&mut facilitator);
        relay.sync(&mut member);
    }
    let old_from_facilitator = facilitator.export_bundle(&[group], None).unwrap();
    let old_from_member = member.export_bundle(&[group], None).unwrap();

    facilitator.erase_group(&group).unwrap();
    relay.sync(&mut facilitator);
    assert_eq!(relay.sync(&mut member).erased, 1);

    // Replayed on either device: refused or ignored, and the group stays gone.
    let _ = member.import_bundle(&old_from_facilitator);
    let _ = facilitator.import_bundle(&old_from_member);
    for v in [&mut facilitator, &mut member] {
        assert!(v.groups().is_empty());
        assert!(matches!(
            v.space_membership(&group),
            Err(Error::NotFound(_))
        ));
        relay.sync(v);
        assert!(v.groups().is_empty());
        assert_eq!(erased(v), vec![(group, SpaceKind::Group)]);
    }
}

/// The facilitator's linked tablet and a phone restored from the phrase later: the tablet destroys
/// the group at its next sync, and the restored phone never adopts it from the person's index.
#[test]
fn the_facilitators_other_devices_and_a_restored_phone_do_not_keep_or_adopt_it() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Vault::open(&dir.path().join("phone.db"), &[1; 32]).unwrap();
    let phrase = phone.create_person().unwrap().as_str().to_owned();
    let group = phone.create_group("Kelompok Sabtu").unwrap();
    let mut tablet = Vault::open(&dir.path().join("tablet.db"), &[2; 32]).unwrap();
    let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
    tablet.complete_link(&resp).unwrap();
    for _ in 0..2 {
        relay.sync(&mut phone);
        relay.sync(&mut tablet);
    }
    assert_eq!(tablet.groups().len(), 1, "the tablet holds the group");

    phone.erase_group(&group).unwrap();
    relay.sync(&mut phone);
    assert_eq!(relay.sync(&mut tablet).erased, 1);
    assert!(tablet.groups().is_empty());
    assert_eq!(erased(&tablet), vec![(group, SpaceKind::Group)]);

    let mut restored = Vault::open(&dir.path().join("restored.db"), &[3; 32]).unwrap();
    restored.restore_person(&phrase).unwrap();
    relay.sync(&mut restored);
    relay.sync(&mut restored);
    assert!(restored.groups().is_empty());
    assert!(matches!(
        restored.space_membership(&group),
        Err(Error::NotFound(_))
    ));
}
