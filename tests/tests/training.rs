//! The training register through a real relay on loopback: a coordinator (by the programme key) and
//! a second coordinator (by their person key) certify a peer supporter's modules; the supporter gets
//! no programme pairing until every required module is current; the participant's device checks the
//! certification; a supporter who leaves hands a pairing and case notes over to a certified
//! successor, who reads the history and writes on, while the leaver reads nothing new.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_tests::net::{net, sync};

use sebaya_core::care::training::{REQUIRED_FOR_PAIRING, Shortfall, TrainingStatus};
use sebaya_core::pairing::CaseNotesStanding;
use sebaya_core::{Error, ProgrammeRole, SpaceId, Vault, pairing, pairing::casenotes};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The coordinator makes `who` a peer supporter of `programme` and certifies `modules` for them.
fn certify(coordinator: &mut Vault, who: &mut Vault, programme: &[u8; 32], modules: &[&str]) {
    let person = who.person_id().unwrap();
    if who
        .programmes()
        .unwrap()
        .iter()
        .all(|p| p.id != *programme || p.role.is_none())
    {
        let grant = coordinator
            .grant_programme_role(programme, &person, ProgrammeRole::PeerSupporter, 365)
            .unwrap();
        who.add_programme_credential(&grant.credential).unwrap();
    }
    for m in modules {
        let credential = coordinator
            .certify_training(programme, &person, m, now() - 86_400, 365)
            .unwrap();
        who.add_training_record(&credential).unwrap();
    }
}

fn say(v: &mut Vault, space: &SpaceId, id: &str, text: &str) -> sebaya_core::Result<()> {
    let me = v.device_id().to_hex();
    v.with_space(space, |d, now| pairing::send_message(d, id, text, &me, now))
}

fn messages(v: &Vault, space: &SpaceId) -> Vec<String> {
    v.read_space(space, pairing::messages)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect()
}

/// The root keys of a document (to see that nothing was published).
fn root_keys(doc: &automerge::AutoCommit) -> Vec<String> {
    use automerge::ReadDoc;
    doc.keys(automerge::ROOT).collect()
}

#[test]
fn only_a_supporter_with_current_training_opens_a_programme_pairing() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut second = vault(&dir, "c2.db", 2);
    let mut supporter = vault(&dir, "s.db", 3);
    let mut participant = vault(&dir, "p.db", 4);
    let mut stranger = vault(&dir, "x.db", 5);
    let programme = coordinator.create_programme("PIK-R SMA 1").unwrap();

    // No role at all: NotAllowed, nothing created.
    let request = participant.link_request().unwrap();
    assert!(matches!(
        supporter.create_pairing(&request, &programme),
        Err(Error::NotAllowed(_))
    ));
    // A peer supporter without any training: NotCertified, naming every required module.
    certify(&mut coordinator, &mut supporter, &programme, &[]);
    match supporter.create_pairing(&request, &programme) {
        Err(Error::NotCertified(missing)) => {
            assert_eq!(missing, REQUIRED_FOR_PAIRING.join(","))
        }
        other => panic!("expected NotCertified, got {other:?}"),
    }
    assert!(supporter.shared_spaces().is_empty(), "nothing was created");
    // Four modules, by the programme key: still one missing.
    certify(
        &mut coordinator,
        &mut supporter,
        &programme,
        &REQUIRED_FOR_PAIRING[..4],
    );
    match supporter.create_pairing(&request, &programme) {
        Err(Error::NotCertified(missing)) => assert_eq!(missing, "self-care"),
        other => panic!("expected NotCertified, got {other:?}"),
    }
    assert_eq!(
        supporter.training_shortfalls(&programme).unwrap(),
        vec![("self-care".to_string(), Shortfall::Missing)]
    );
    assert!(supporter.shared_spaces().is_empty());

    // A second coordinator, by their person key, certifies self-care.
    let grant = coordinator
        .grant_programme_role(
            &programme,
            &second.person_id().unwrap(),
            ProgrammeRole::Coordinator,
            365,
        )
        .unwrap();
    second.add_programme_credential(&grant.credential).unwrap();
    let person = supporter.person_id().unwrap();
    // Unknown modules, a certification that would already be over, and training in the future are
    // refused before anything is signed.
    assert!(matches!(
        second.certify_training(&programme, &person, "juggling", now(), 30),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        second.certify_training(&programme, &person, "self-care", now() - 40 * 86_400, 30),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        second.certify_training(&programme, &person, "self-care", now() + 86_400, 30),
        Err(Error::InvalidInput(_))
    ));
    // A peer supporter certifies nobody.
    assert!(matches!(
        supporter.certify_training(&programme, &stranger.person_id().unwrap(), "pfa", now(), 30),
        Err(Error::NotAllowed(_))
    ));
    let credential = second
        .certify_training(&programme, &person, "self-care", now(), 365)
        .unwrap();
    // Made for someone else, or damaged: refused, nothing kept.
    assert!(matches!(
        stranger.add_training_record(&credential),
        Err(Error::BadCredential)
    ));
    for at in [10, credential.len() / 2, credential.len() - 1] {
        let mut damaged = credential.clone();
        damaged[at] ^= 0x20;
        assert!(matches!(
            supporter.add_training_record(&damaged),
            Err(Error::BadCredential)
        ));
    }
    assert!(matches!(
        supporter.add_training_record(&credential[..credential.len() - 3]),
        Err(Error::BadCredential)
    ));
    let entry = supporter.add_training_record(&credential).unwrap();
    assert_eq!(entry.module, "self-care");
    assert_eq!(entry.status, TrainingStatus::Current);
    assert!(!entry.by_programme_key);
    assert_eq!(entry.issuer, second.person_id().unwrap().0);

    let list = supporter.training(&programme).unwrap();
    assert_eq!(list.len(), 5);
    assert!(list.iter().all(|e| e.status == TrainingStatus::Current));
    let mut modules: Vec<&str> = list.iter().map(|e| e.module.as_str()).collect();
    modules.sort();
    let mut required = REQUIRED_FOR_PAIRING.to_vec();
    required.sort();
    assert_eq!(modules, required);
    assert!(
        supporter
            .training_shortfalls(&programme)
            .unwrap()
            .is_empty()
    );

    // Now the pairing opens; the participant's device accepts its set-up and the conversation.
    let (pairing_id, response) = supporter.create_pairing(&request, &programme).unwrap();
    participant.join_space(&response).unwrap();
    say(
        &mut supporter,
        &pairing_id,
        "00000000000000a1",
        "Halo, apa kabar?",
    )
    .unwrap();
    sync(&n, &mut supporter);
    let r = sync(&n, &mut participant);
    assert_eq!(r.quarantined, 0, "{r:?}");
    assert_eq!(
        participant
            .read_space(&pairing_id, pairing::supporter)
            .unwrap(),
        Some(supporter.device_id().to_hex())
    );
    assert_eq!(
        messages(&participant, &pairing_id),
        vec!["Halo, apa kabar?"]
    );
    say(&mut participant, &pairing_id, "00000000000000b1", "Baik.").unwrap();
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    assert_eq!(messages(&supporter, &pairing_id).len(), 2);

    // The second coordinator's grant is revoked: their certification is withdrawn everywhere it is
    // judged, and self-care is missing again.
    let revocation = coordinator
        .revoke_programme_grant(&programme, &grant.id)
        .unwrap();
    supporter.add_programme_revocation(&revocation).unwrap();
    let withdrawn: Vec<_> = supporter
        .training(&programme)
        .unwrap()
        .into_iter()
        .filter(|e| e.status == TrainingStatus::Withdrawn)
        .map(|e| e.module)
        .collect();
    assert_eq!(withdrawn, vec!["self-care".to_string()]);
    let request = stranger.link_request().unwrap();
    let held = supporter.shared_spaces().len();
    match supporter.create_pairing(&request, &programme) {
        Err(Error::NotCertified(missing)) => assert_eq!(missing, "self-care"),
        other => panic!("expected NotCertified, got {other:?}"),
    }
    // Nothing was opened instead: there is no pairing without a programme (issue 14, item 11).
    assert_eq!(supporter.shared_spaces().len(), held);
}

#[test]
fn a_leaving_supporter_hands_a_pairing_and_case_notes_to_a_certified_successor() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut leaver = vault(&dir, "a.db", 2);
    let mut successor = vault(&dir, "b.db", 3);
    let mut untrained = vault(&dir, "u.db", 4);
    let mut participant = vault(&dir, "p.db", 5);
    let programme = coordinator.create_programme("Layanan Psikososial").unwrap();
    certify(
        &mut coordinator,
        &mut leaver,
        &programme,
        &REQUIRED_FOR_PAIRING,
    );
    certify(
        &mut coordinator,
        &mut successor,
        &programme,
        &REQUIRED_FOR_PAIRING,
    );
    certify(&mut coordinator, &mut untrained, &programme, &["pfa"]);

    let (pair, response) = leaver
        .create_pairing(&participant.link_request().unwrap(), &programme)
        .unwrap();
    participant.join_space(&response).unwrap();
    let (notes, response) = leaver
        .create_case_notes(
            "pairing-7f3a",
            &coordinator.link_request().unwrap(),
            &coordinator.certification_presentation(&programme).unwrap(),
            &programme,
        )
        .unwrap();
    coordinator.join_space(&response).unwrap();
    say(
        &mut leaver,
        &pair,
        "00000000000000a1",
        "Sebelum serah terima",
    )
    .unwrap();
    let a_me = leaver.device_id().to_hex();
    leaver
        .with_space(&notes, |d, now| {
            casenotes::add_note(d, "00000000000000d1", "Catatan lama.", &a_me, now)
        })
        .unwrap();
    for v in [&mut leaver, &mut participant, &mut coordinator] {
        sync(&n, v);
    }
    assert_eq!(messages(&participant, &pair).len(), 1);
    // The leaver also uses a tablet, linked to the same person: it vouches itself into both spaces.
    let mut tablet = Vault::open(&dir.path().join("a2.db"), &[6; 32]).unwrap();
    let linked = leaver
        .approve_link(&tablet.link_request().unwrap())
        .unwrap();
    tablet.complete_link(&linked).unwrap();
    sync(&n, &mut leaver);
    sync(&n, &mut tablet);
    sync(&n, &mut tablet);
    sync(&n, &mut leaver);
    assert!(
        leaver
            .space_membership(&pair)
            .unwrap()
            .is_member(&tablet.device_id())
    );
    assert_eq!(messages(&tablet, &pair), vec!["Sebelum serah terima"]);

    let keys_before = leaver.read_space(&pair, root_keys).unwrap();
    // Successors who cannot take it: a peer supporter missing modules, a participant of no role,
    // and a presentation that is not the request's person's. Nothing changes.
    let shown = untrained.certification_presentation(&programme).unwrap();
    match leaver.hand_over_space(&pair, &untrained.link_request().unwrap(), &shown) {
        Err(Error::NotCertified(missing)) => {
            assert_eq!(
                missing,
                "active-listening,boundaries,risk-referral,self-care"
            )
        }
        other => panic!("expected NotCertified, got {other:?}"),
    }
    assert!(matches!(
        participant.certification_presentation(&programme),
        Err(Error::NotAllowed(_))
    ));
    let good = successor.certification_presentation(&programme).unwrap();
    assert!(matches!(
        leaver.hand_over_space(&pair, &untrained.link_request().unwrap(), &good),
        Err(Error::BadCredential)
    ));
    assert!(matches!(
        leaver.hand_over_space(&pair, &successor.link_request().unwrap(), b"junk"),
        Err(Error::BadCredential)
    ));
    assert_eq!(
        leaver.read_space(&pair, root_keys).unwrap(),
        keys_before,
        "refused hand-overs wrote nothing"
    );
    assert!(
        leaver
            .space_membership(&pair)
            .unwrap()
            .is_admin(&leaver.device_id())
    );

    // The certified successor takes both spaces.
    let response = leaver
        .hand_over_space(&pair, &successor.link_request().unwrap(), &good)
        .unwrap();
    let response_notes = leaver
        .hand_over_space(&notes, &successor.link_request().unwrap(), &good)
        .unwrap();
    sync(&n, &mut leaver);
    successor.join_space(&response).unwrap();
    successor.join_space(&response_notes).unwrap();
    sync(&n, &mut successor);
    // The history is readable to the successor.
    assert_eq!(messages(&successor, &pair), vec!["Sebelum serah terima"]);
    assert_eq!(
        successor
            .read_space(&notes, casenotes::notes)
            .unwrap()
            .len(),
        1
    );
    let membership = successor.space_membership(&pair).unwrap();
    assert!(membership.is_admin(&successor.device_id()));
    assert!(!membership.is_member(&leaver.device_id()));
    assert!(
        !membership.is_member(&tablet.device_id()),
        "every device of the leaving person is removed"
    );
    assert!(
        !successor
            .space_membership(&notes)
            .unwrap()
            .is_member(&tablet.device_id())
    );
    assert_eq!(
        membership.epochs.last().map(|e| e.author),
        Some(successor.device_id()),
        "the successor rotated the key away from the leaver"
    );

    // The successor writes on; the participant and the supervisor read it.
    say(
        &mut successor,
        &pair,
        "00000000000000a2",
        "Saya pendamping baru.",
    )
    .unwrap();
    let b_me = successor.device_id().to_hex();
    successor
        .with_space(&notes, |d, now| {
            casenotes::add_note(d, "00000000000000d2", "Catatan baru.", &b_me, now)
        })
        .unwrap();
    sync(&n, &mut successor);
    let r = sync(&n, &mut participant);
    assert_eq!(r.quarantined, 0, "{r:?}");
    assert_eq!(
        messages(&participant, &pair),
        vec!["Sebelum serah terima", "Saya pendamping baru."]
    );
    say(&mut participant, &pair, "00000000000000b1", "Terima kasih.").unwrap();
    sync(&n, &mut participant);
    sync(&n, &mut coordinator);
    assert_eq!(
        coordinator
            .read_space(&notes, casenotes::notes)
            .unwrap()
            .len(),
        2
    );
    // Under the cap of case notes (issue 14, item 12): the successor and the supervisor, nobody
    // else, on both devices.
    for v in [&coordinator, &successor] {
        let mut standings: Vec<_> = v
            .case_notes_members(&notes)
            .unwrap()
            .into_iter()
            .map(|m| (m.device, m.standing))
            .collect();
        standings.sort_by_key(|(d, _)| *d);
        let mut expected = vec![
            (successor.device_id(), CaseNotesStanding::Successor),
            (coordinator.device_id(), CaseNotesStanding::Supervisor),
        ];
        expected.sort_by_key(|(d, _)| *d);
        assert_eq!(standings, expected);
    }
    sync(&n, &mut successor);
    assert_eq!(messages(&successor, &pair).len(), 3);

    // The leaver reads nothing new and writes nothing more.
    sync(&n, &mut leaver);
    assert_eq!(messages(&leaver, &pair), vec!["Sebelum serah terima"]);
    assert_eq!(
        leaver.read_space(&notes, casenotes::notes).unwrap().len(),
        1
    );
    assert!(say(&mut leaver, &pair, "00000000000000a3", "Masih di sini?").is_err());
    sync(&n, &mut tablet);
    assert_eq!(messages(&tablet, &pair), vec!["Sebelum serah terima"]);
    assert_eq!(
        tablet.read_space(&notes, casenotes::notes).unwrap().len(),
        1
    );
    assert_eq!(
        leaver
            .shared_spaces()
            .iter()
            .filter(|(_, _, role)| role.is_some())
            .count(),
        0
    );
}

#[test]
fn a_leaving_supporter_hands_the_care_records_they_enrolled_to_a_coordinator() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut leaver = vault(&dir, "l.db", 2);
    let mut participant = vault(&dir, "p.db", 3);
    let programme = coordinator.create_programme("PIK-R").unwrap();
    certify(&mut coordinator, &mut leaver, &programme, &[]);
    let (care, resp) = leaver
        .enrol_participant(&participant.link_request().unwrap(), programme)
        .unwrap();
    participant.join_space(&resp).unwrap();
    sync(&n, &mut leaver);
    sync(&n, &mut participant);
    participant
        .give_consent(&care, "duty-of-care", true)
        .unwrap();
    sync(&n, &mut participant);

    let shown = coordinator.certification_presentation(&programme).unwrap();
    let response = leaver
        .hand_over_space(&care, &coordinator.link_request().unwrap(), &shown)
        .unwrap();
    sync(&n, &mut leaver);
    coordinator.join_space(&response).unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut coordinator);
    assert_eq!(coordinator.care_records()[0].viewer, "coordinator");
    assert!(coordinator.has_consent(&care, "duty-of-care").unwrap());

    // The participant's next call for help reaches the coordinator, not the supporter who left.
    sync(&n, &mut participant);
    participant.ask_for_help("id").unwrap();
    sync(&n, &mut participant);
    sync(&n, &mut coordinator);
    assert_eq!(coordinator.referral_inbox().unwrap().len(), 1);
    sync(&n, &mut leaver);
    assert!(leaver.referral_inbox().unwrap().is_empty());
    // And the coordinator acknowledges it, as every device accepts.
    let id = coordinator.referral_inbox().unwrap()[0].id.clone();
    coordinator
        .update_referral(&care, &id, "acknowledged")
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    assert!(participant.referrals(&care).unwrap()[0].told());
}
