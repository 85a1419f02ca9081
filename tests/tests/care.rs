//! The risk escalation ladder end to end across three devices through a real relay on loopback: a
//! coordinator enrols a participant and adds their supporter; the participant agrees to the
//! duty-of-care rule; a PHQ-9 with item 9 = 1, answered offline, shows the crisis numbers and queues
//! a referral carrying the rule, not the answers; it reaches the coordinator at the next syncs; the
//! acknowledgement flows back to participant and supporter. Consent, its withdrawal, guardians and
//! who may write what, checked on every device.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_tests::net::{net, sync};

use sebaya_core::care::instruments::Instrument;
use sebaya_core::space::SpaceKind;
use sebaya_core::{Error, ProgrammeRole, Role, SpaceId, Vault};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

/// A programme with a coordinator, a certified supporter and an enrolled participant who agreed to
/// the duty-of-care rule; everyone synced.
fn programme(
    n: &sebaya_tests::net::Net,
    dir: &tempfile::TempDir,
) -> (Vault, Vault, Vault, SpaceId) {
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
    // A participant without a person cannot be enrolled: the record names a person.
    let dir2 = tempfile::tempdir().unwrap();
    let no_person = Vault::open(&dir2.path().join("x.db"), &[9; 32]).unwrap();
    assert!(matches!(
        coordinator.enrol_participant(&no_person.link_request().unwrap(), programme),
        Err(Error::InvalidInput(_))
    ));
    // Nobody without a role in the programme enrols anyone.
    assert!(matches!(
        participant.enrol_participant(&supporter.link_request().unwrap(), programme),
        Err(Error::NotAllowed(_))
    ));
    let (care, resp) = coordinator
        .enrol_participant(&participant.link_request().unwrap(), programme)
        .unwrap();
    assert_eq!(
        participant.join_space(&resp).unwrap(),
        (care, SpaceKind::Care)
    );
    let resp = coordinator
        .approve_group_member(&care, &supporter.link_request().unwrap(), Role::Member)
        .unwrap();
    assert_eq!(
        supporter.join_space(&resp).unwrap(),
        (care, SpaceKind::Care)
    );
    // Until the record itself has arrived, there is nothing to consent in.
    assert!(matches!(
        participant.give_consent(&care, "duty-of-care", true),
        Err(Error::NotFound(_))
    ));
    for v in [&mut coordinator, &mut participant, &mut supporter] {
        sync(n, v);
    }
    participant
        .give_consent(&care, "duty-of-care", true)
        .unwrap();
    for v in [&mut participant, &mut coordinator, &mut supporter] {
        sync(n, v);
    }
    (coordinator, supporter, participant, care)
}

#[test]
fn a_risk_answer_offline_reaches_the_coordinator_and_the_acknowledgement_flows_back() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);
    assert_eq!(participant.care_records()[0].viewer, "participant");
    assert_eq!(coordinator.care_records()[0].viewer, "coordinator");
    assert_eq!(supporter.care_records()[0].viewer, "supporter");
    // Every device sees the participant's consent.
    for v in [&coordinator, &supporter, &participant] {
        assert!(v.has_consent(&care, "duty-of-care").unwrap());
    }

    // Offline: PHQ-9 with item 9 = 1 (total 1).
    let esc = participant
        .submit_screening(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1], "ID")
        .unwrap();
    assert_eq!(esc.rules, vec!["phq9-item9".to_string()]);
    assert!(esc.show_safety_plan);
    assert_eq!(esc.referrals.len(), 1);
    assert!(esc.not_referred.is_empty());
    let numbers: Vec<(String, Option<String>)> = esc
        .resources
        .iter()
        .map(|r| (r.number.clone(), r.extension.clone()))
        .collect();
    // The built-in list, SEJIWA first (the web service has no number).
    assert_eq!(numbers[0], ("119".into(), Some("8".into())));
    assert_eq!(esc.resources, sebaya_core::care::built_in_resources("id"));
    let (_, referral) = esc.referrals[0].clone();
    let mine = participant.referrals(&care).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, "queued");
    assert!(!mine[0].told(), "nobody has been told while offline");

    // The next sync sends it; the relay holds it.
    sync(&n, &mut participant);
    let mine = participant.referrals(&care).unwrap();
    assert_eq!(mine[0].state, "sent");
    assert!(mine[0].sent_ms.is_some());
    assert!(!mine[0].told());

    // The supporter sees "refer now": never the rule, the score or a band.
    sync(&n, &mut supporter);
    let seen = supporter.referrals(&care).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].reason, None);
    // One origin for everything the participant's side raised: "rule" would tell the supporter
    // that the participant answered the suicide item (issue 14, item 13).
    assert_eq!(seen[0].origin, "participant");
    assert!(!seen[0].told());
    assert!(supporter.screenings().is_empty());
    assert!(coordinator.screenings().is_empty());
    assert_eq!(participant.screenings()[0].total, 1);

    // The coordinator sees the rule that fired, and only that.
    sync(&n, &mut coordinator);
    let inbox = coordinator.referral_inbox().unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].id, referral);
    assert_eq!(inbox[0].reason.as_deref(), Some("phq9-item9"));
    assert_eq!(inbox[0].state, "sent");

    // Only a coordinator acknowledges: the supporter's device refuses itself.
    assert!(matches!(
        supporter.update_referral(&care, &referral, "acknowledged"),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        participant.update_referral(&care, &referral, "closed"),
        Err(Error::NotAllowed(_))
    ));
    coordinator
        .update_referral(&care, &referral, "acknowledged")
        .unwrap();
    sync(&n, &mut coordinator);
    for v in [&mut participant, &mut supporter] {
        sync(&n, v);
        let r = v.referrals(&care).unwrap();
        assert_eq!(r[0].state, "acknowledged");
        assert!(r[0].told());
        assert!(r[0].time_to_acknowledge_ms().is_some());
    }
    coordinator
        .update_referral(&care, &referral, "in-care")
        .unwrap();
    coordinator
        .update_referral(&care, &referral, "closed")
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    let r = participant.referrals(&care).unwrap();
    assert_eq!(r[0].state, "closed");
    assert!(r[0].in_care_ms.is_some() && r[0].closed_ms.is_some());
}

#[test]
fn consent_decides_automatic_referrals_and_only_the_participant_gives_it() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);

    // Nobody else consents for the participant: their own devices refuse, and so would every other.
    for v in [&mut coordinator, &mut supporter] {
        assert!(matches!(
            v.give_consent(&care, "duty-of-care", true),
            Err(Error::NotAllowed(_))
        ));
    }
    // A guardian's consent is recorded by the enrolling coordinator, not by the participant.
    coordinator
        .record_guardian_consent(&care, "data-processing", "ibu", None, true)
        .unwrap();
    assert!(matches!(
        participant.record_guardian_consent(&care, "data-processing", "ibu", None, true),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        participant.give_consent(&care, "marketing", true),
        Err(Error::InvalidInput(_))
    ));

    // Withdrawn: a risk answer still shows the numbers, but refers nobody automatically.
    participant
        .give_consent(&care, "duty-of-care", false)
        .unwrap();
    let esc = participant
        .submit_screening(
            Instrument::Srq20,
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
            "id",
        )
        .unwrap();
    assert_eq!(esc.rules, vec!["srq20-item17".to_string()]);
    assert!(esc.referrals.is_empty());
    assert_eq!(esc.not_referred, vec![care]);
    assert!(!esc.resources.is_empty());
    // A screening without a risk answer escalates nothing.
    let calm = participant
        .submit_screening(Instrument::Gad7, &[1, 1, 1, 1, 1, 1, 1], "id")
        .unwrap();
    assert!(calm.rules.is_empty() && calm.referrals.is_empty() && !calm.show_safety_plan);
    // "I need help now" is the participant's own act: it refers without standing consent.
    let help = participant.ask_for_help("id").unwrap();
    assert_eq!(help.referrals.len(), 1);
    // And a supporter's safeguarding concern.
    let concern = supporter.refer_now(&care, true).unwrap();
    assert!(matches!(
        participant.refer_now(&care, false),
        Err(Error::NotAllowed(_))
    ));
    for v in [&mut participant, &mut supporter, &mut coordinator] {
        sync(&n, v);
    }
    sync(&n, &mut participant);
    sync(&n, &mut supporter);

    let ledger = coordinator.consent_ledger(&care).unwrap();
    let own: Vec<bool> = ledger
        .iter()
        .filter(|r| r.guardian_relation.is_none())
        .map(|r| r.agreed)
        .collect();
    assert_eq!(own, vec![true, false]);
    assert!(ledger.iter().all(|r| r.version == "1"));
    assert_eq!(
        ledger
            .iter()
            .filter(|r| r.guardian_relation.as_deref() == Some("ibu"))
            .count(),
        1
    );
    assert!(!coordinator.has_consent(&care, "duty-of-care").unwrap());

    let inbox = coordinator.referral_inbox().unwrap();
    let mut reasons: Vec<Option<String>> = inbox.iter().map(|r| r.reason.clone()).collect();
    reasons.sort();
    // The concern is not in the care record (issue 14, item 14): with no safeguarding space yet,
    // it waits on the supporter's phone (tests/tests/safeguarding.rs).
    assert_eq!(reasons, vec![Some("help-now".into())]);
    let waiting = supporter.concerns().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].id.as_str(), waiting[0].state),
        (concern.as_str(), "queued")
    );
    // The supporter sees the participant's call as "refer now".
    let seen = supporter.referrals(&care).unwrap();
    assert_eq!(seen.len(), 1);
    assert!(
        seen.iter()
            .any(|r| r.origin == "participant" && r.reason.is_none())
    );
}

#[test]
fn a_programme_sets_its_own_crisis_numbers_and_only_coordinators_may() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, _care) = programme(&n, &dir);
    let programme = coordinator.programmes().unwrap()[0].id;
    let json = r#"[{"kind":"crisis-line","name":"Layanan Sekolah","number":"0211234567"}]"#;
    assert!(matches!(
        supporter.set_crisis_resources(&programme, "id", json),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        coordinator.set_crisis_resources(&programme, "id", "[{]"),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(
        coordinator
            .set_crisis_resources(&programme, "id", json)
            .unwrap(),
        1
    );
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    let got = participant.crisis_resources("id").unwrap();
    assert_eq!(got[0].name, "Layanan Sekolah");
    // The programme's list adds to the national emergency numbers, never replaces them (issue 14,
    // item 16).
    let national: Vec<_> = sebaya_core::care::built_in_resources("id")
        .into_iter()
        .filter(|r| r.kind == "emergency")
        .collect();
    assert!(!national.is_empty());
    assert_eq!(&got[1..], &national[..]);
    // Other countries keep the built-in data (none for Kenya: the app says to call the local
    // emergency number).
    assert!(participant.crisis_resources("ke").unwrap().is_empty());
    assert!(matches!(
        participant.crisis_resources("indonesia"),
        Err(Error::InvalidInput(_))
    ));
    // A code the app got wrong falls back to Indonesia's list: the programme's own, not only the
    // built-in one (review finding).
    let help = participant.ask_for_help("IDN").unwrap();
    assert!(help.country_unknown);
    assert_eq!(help.resources[0].name, "Layanan Sekolah");
    assert_eq!(&help.resources[1..], &national[..]);
}

#[test]
fn a_supporter_sees_only_what_the_participant_shared_and_only_while_consent_stands() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut supporter = vault(&dir, "s.db", 2);
    let mut participant = vault(&dir, "p.db", 3);
    let (pairing, resp) = sebaya_tests::pairings::certified_pairing(
        &mut supporter,
        &participant.link_request().unwrap(),
    )
    .unwrap();
    participant.join_space(&resp).unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut participant);
    let private = participant
        .journal_add("Rahasia: aku belum siap cerita ini.", 2, &[])
        .unwrap();
    let chosen = participant
        .journal_add("Hari ini aku berani bicara di kelas.", 4, &[])
        .unwrap();
    participant
        .submit_screening(Instrument::Phq9, &[2, 2, 2, 2, 2, 2, 2, 2, 0], "id")
        .unwrap();

    // Nothing is shared without an explicit consent record, and only the participant gives it.
    assert!(matches!(
        participant.share_journal_entry(&pairing, &chosen),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        supporter.consent_to_sharing(&pairing, true),
        Err(Error::NotAllowed(_))
    ));
    participant.consent_to_sharing(&pairing, true).unwrap();
    let item = participant.share_journal_entry(&pairing, &chosen).unwrap();
    participant
        .share_checkin_summary(&pairing, 7 * 60, "id")
        .unwrap();
    // The safety plan, once it holds something, is shared as its summary.
    assert!(matches!(
        participant.share_safety_plan(&pairing, "id"),
        Err(Error::InvalidInput(_))
    ));
    participant
        .safety_plan_add(
            sebaya_core::care::safety::Step::WarningSigns,
            "Susah tidur berhari-hari",
        )
        .unwrap();
    participant.share_safety_plan(&pairing, "id").unwrap();
    // The supporter cannot put words in the participant's mouth.
    assert!(matches!(
        supporter.share_safety_plan_text(&pairing, "palsu"),
        Err(Error::NotAllowed(_))
    ));
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    let seen = supporter.shared_in_pairing(&pairing).unwrap();
    assert_eq!(seen.len(), 3);
    let plan = seen.iter().find(|s| s.kind == "safety-plan").unwrap();
    assert!(plan.text.contains("Susah tidur berhari-hari"));
    let entry = seen.iter().find(|s| s.id == item).unwrap();
    assert_eq!(entry.text, "Hari ini aku berani bicara di kelas.");
    assert_eq!(entry.mood, Some(4));
    let summary = seen.iter().find(|s| s.kind == "checkin-summary").unwrap();
    assert!(summary.text.contains("rata-rata"), "{}", summary.text);
    // The supporter's whole view of the pairing holds neither the private entry nor any score.
    let everything = format!("{seen:?}");
    assert!(!everything.contains("Rahasia"));
    assert!(participant.journal_get(&private).is_some());
    assert!(supporter.screenings().is_empty());
    assert!(!everything.contains("phq9"));

    // Withdrawn: everything shared is taken back, on the supporter's device too.
    participant.consent_to_sharing(&pairing, false).unwrap();
    assert!(participant.shared_in_pairing(&pairing).unwrap().is_empty());
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    assert!(supporter.shared_in_pairing(&pairing).unwrap().is_empty());
    assert!(matches!(
        participant.share_journal_entry(&pairing, &chosen),
        Err(Error::NotAllowed(_))
    ));
}

#[test]
fn a_person_exports_everything_they_have_and_nothing_of_others() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);
    participant
        .journal_add("Catatan pribadiku.", 3, &["sekolah".into()])
        .unwrap();
    participant
        .submit_screening(Instrument::Who5, &[3, 3, 3, 3, 3], "id")
        .unwrap();
    participant.ask_for_help("id").unwrap();
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    sync(&n, &mut coordinator);
    let json: serde_json::Value =
        serde_json::from_str(&participant.export_all(1_700_000_000_000).unwrap()).unwrap();
    assert_eq!(json["schema"], "sebaya-export/1");
    assert_eq!(json["journal"][0]["text"], "Catatan pribadiku.");
    assert_eq!(json["journal"][0]["tags"][0], "sekolah");
    assert_eq!(json["screenings"][0]["instrument"], "who5");
    assert_eq!(json["screenings"][0]["total"], 15);
    assert!(json["safety_plan"].is_object());
    let record = &json["care_records"][0];
    assert_eq!(record["id"], care.to_hex());
    assert_eq!(record["consents"][0]["purpose"], "duty-of-care");
    assert_eq!(record["referrals"][0]["reason"], "help-now");
    assert_eq!(
        json["person"],
        hex::encode(participant.person_id().unwrap().0)
    );
    // Nothing secret: no key material, no certificate, no phrase.
    let text = participant.export_all(0).unwrap();
    assert!(!text.contains("key") && !text.contains("certificate"));
    // The supporter's export holds nothing of the participant's: not their journal, not their record.
    let theirs = supporter.export_all(0).unwrap();
    assert!(!theirs.contains("Catatan pribadiku"));
    let theirs: serde_json::Value = serde_json::from_str(&theirs).unwrap();
    assert_eq!(theirs["care_records"].as_array().unwrap().len(), 0);
}

#[test]
fn a_programme_report_holds_counts_from_published_records_with_small_cells_suppressed() {
    use sebaya_core::groups::{self, Attendance};
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);
    let programme = coordinator.programmes().unwrap()[0].id;
    // Only a coordinator makes the report space; the supporter joins it.
    assert!(matches!(
        supporter.create_report_space(programme),
        Err(Error::NotAllowed(_))
    ));
    let report = coordinator.create_report_space(programme).unwrap();
    supporter
        .join_space(
            &coordinator
                .approve_group_member(&report, &supporter.link_request().unwrap(), Role::Member)
                .unwrap(),
        )
        .unwrap();
    sync(&n, &mut coordinator);
    // The supporter runs a programme group with the participant: six sessions, present at each.
    let g = supporter
        .create_group_in("Kelompok Kamis", Some(programme))
        .unwrap();
    participant
        .join_group(
            &supporter
                .approve_group_member(&g, &participant.link_request().unwrap(), Role::Member)
                .unwrap(),
        )
        .unwrap();
    // Running the group's sessions takes group facilitation (issue 14, item 11).
    let completed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 86_400;
    let facilitation = coordinator
        .certify_training(
            &programme,
            &supporter.person_id().unwrap(),
            "group-facilitation",
            completed,
            365,
        )
        .unwrap();
    supporter.add_training_record(&facilitation).unwrap();
    let me = supporter.device_id().to_hex();
    let p_hex = participant.device_id().to_hex();
    let day = 86_400_000i64;
    let start = 1_767_225_600_000i64; // 2026-01-01
    for i in 0..6i64 {
        let id = format!("00000000000000a{i}");
        let at = start + i * 7 * day;
        supporter
            .with_group_sessions(&g, |d, now| {
                groups::add_session(d, &id, at, "Sesi", &me, now)
            })
            .unwrap();
        supporter
            .with_group_sessions(&g, |d, now| {
                groups::set_attendance(d, &id, &p_hex, Attendance::Present, now)
            })
            .unwrap();
    }
    sync(&n, &mut supporter);
    sync(&n, &mut coordinator);
    // Publishing takes a programme role: the participant, not a member of the space, cannot.
    assert!(
        participant
            .publish_activity(&report, start, start + 60 * day)
            .is_err()
    );
    assert_eq!(
        supporter
            .publish_activity(&report, start, start + 60 * day)
            .unwrap(),
        6
    );
    // Publishing again replaces, never duplicates.
    supporter
        .publish_activity(&report, start, start + 60 * day)
        .unwrap();
    // One consenting participant's outcome totals, and one referral.
    participant
        .submit_screening(Instrument::Phq9, &[2, 2, 2, 2, 2, 1, 1, 1, 0], "id")
        .unwrap();
    participant
        .submit_screening(Instrument::Phq9, &[1, 1, 1, 1, 0, 0, 0, 0, 0], "id")
        .unwrap();
    participant
        .give_consent(&care, "report-outcomes", true)
        .unwrap();
    participant.ask_for_help("id").unwrap();
    for v in [&mut supporter, &mut participant, &mut coordinator] {
        sync(&n, v);
    }
    // The supporter, a member of the care record too, cannot open the sealed totals.
    assert!(supporter.report_inputs(&programme).outcomes.is_empty());
    let inputs = coordinator.report_inputs(&programme);
    assert_eq!(inputs.sessions.len(), 6);
    assert_eq!(inputs.outcomes.len(), 1);
    assert_eq!(inputs.outcomes[0].first_total, 13);
    assert_eq!(inputs.outcomes[0].latest_total, 4);
    assert_eq!(inputs.referrals.len(), 1);

    let r = coordinator
        .programme_report(&programme, start, start + 60 * day)
        .unwrap();
    let value = |id: &str| r.get(id).and_then(|m| m.value);
    assert_eq!(
        value("sessions.held"),
        Some(sebaya_core::reports::MetricValue::Count(6))
    );
    assert_eq!(
        value("attendance.total"),
        Some(sebaya_core::reports::MetricValue::Count(6))
    );
    // One referral, one participant's outcome: suppressed, never shown.
    assert_eq!(value("referrals.total"), None);
    assert_eq!(value("outcome.phq9.n"), None);
    assert!(r.suppressed().contains(&"referrals.total"));
    let csv = r.to_csv();
    assert!(csv.contains("<5"));
    let json = r.to_json().unwrap();
    assert!(!json.contains("Sesi") && !json.contains(&p_hex));

    // Withdrawing the outcome consent takes the totals back out of the care record.
    participant
        .give_consent(&care, "report-outcomes", false)
        .unwrap();
    sync(&n, &mut participant);
    sync(&n, &mut coordinator);
    assert!(coordinator.report_inputs(&programme).outcomes.is_empty());
}

#[test]
fn after_the_phrase_is_replaced_the_participant_is_still_the_records_subject() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, _supporter, mut participant, care) = programme(&n, &dir);
    let old = participant.person_id().unwrap();
    participant.replace_recovery_phrase().unwrap();
    assert_ne!(participant.person_id().unwrap(), old);
    sync(&n, &mut participant);
    assert_eq!(participant.care_records()[0].viewer, "participant");
    // Consent and "I need help now" still work, and every device takes them as the participant's.
    participant
        .give_consent(&care, "report-outcomes", true)
        .unwrap();
    assert_eq!(participant.ask_for_help("id").unwrap().referrals.len(), 1);
    sync(&n, &mut participant);
    sync(&n, &mut coordinator);
    assert!(coordinator.has_consent(&care, "report-outcomes").unwrap());
    let inbox = coordinator.referral_inbox().unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].reason.as_deref(), Some("help-now"));
}

/// Care safety, item 1 (issue 14): the crisis lines reach the person whatever else fails. A country
/// code the app got wrong must not stop an escalation: the built-in list stands in.
#[test]
fn a_risk_answer_shows_the_crisis_lines_even_with_a_bad_country_code() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, _supporter, mut participant, _care) = programme(&n, &dir);
    let esc = participant
        .submit_screening(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 2], "Indonesia")
        .expect("a bad country code never stops an escalation");
    assert_eq!(esc.rules, vec!["phq9-item9".to_string()]);
    assert_eq!(esc.referrals.len(), 1, "the referral is made all the same");
    assert!(!esc.resources.is_empty(), "the crisis lines are shown");
    assert!(esc.country_unknown && esc.saved && esc.failed.is_empty());
    let help = participant
        .ask_for_help("")
        .expect("a bad country code never stops a call for help");
    assert_eq!(help.referrals.len(), 1);
    assert!(!help.resources.is_empty());
    assert!(help.country_unknown);
    // A good code is not flagged.
    assert!(!participant.ask_for_help("ID").unwrap().country_unknown);
    sync(&n, &mut participant);
    sync(&n, &mut coordinator);
    // The screening's referral and both calls for help.
    assert_eq!(coordinator.referral_inbox().unwrap().len(), 3);
}

/// Care safety, item 1 (issue 14): when nothing can be written (the vault file is locked by
/// another writer, as a full disk or a failing flash would also make it), a risk answer is still
/// scored and still shows the crisis lines; each care record's referral is tried on its own.
#[test]
fn a_risk_answer_shows_the_crisis_lines_when_nothing_can_be_written() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, _supporter, mut participant, care) = programme(&n, &dir);
    // A second programme, so the participant has two care records.
    let second = coordinator.create_programme("Posyandu Remaja").unwrap();
    let (care2, resp) = coordinator
        .enrol_participant(&participant.link_request().unwrap(), second)
        .unwrap();
    participant.join_space(&resp).unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    participant
        .give_consent(&care2, "duty-of-care", true)
        .unwrap();

    let blocker = rusqlite::Connection::open(dir.path().join("p.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let esc = participant
        .submit_screening(
            Instrument::Srq20,
            &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
            "id",
        )
        .expect("a risk answer is scored and answered even when nothing can be written");
    assert_eq!(esc.score.as_ref().map(|s| s.total), Some(2));
    assert_eq!(esc.rules, vec!["srq20-item17".to_string()]);
    assert!(esc.show_safety_plan);
    assert!(!esc.resources.is_empty(), "the crisis lines are shown");
    assert!(
        !esc.saved,
        "the journal could not be written, and it says so"
    );
    assert!(esc.referrals.is_empty());
    // Each record was tried on its own: both are reported, not only the first.
    let mut failed = esc.failed.clone();
    failed.sort_unstable_by_key(|c| c.0);
    let mut want = vec![care, care2];
    want.sort_unstable_by_key(|c| c.0);
    assert_eq!(failed, want);
    let help = participant
        .ask_for_help("id")
        .expect("a call for help is answered even when nothing can be written");
    assert!(!help.resources.is_empty());
    assert_eq!(help.failed.len(), 2);
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);

    // The vault works again once the file can be written, and a call for help reaches both.
    let again = participant.ask_for_help("id").unwrap();
    let mut to: Vec<SpaceId> = again.referrals.iter().map(|(c, _)| *c).collect();
    to.sort_unstable_by_key(|c| c.0);
    assert_eq!(to, want);
    assert!(again.failed.is_empty());
    // What could not be saved stayed in memory and went out once the file could be written (better
    // late than never): the coordinator has the screening's referral and both calls for help, in
    // each record.
    sync(&n, &mut participant);
    sync(&n, &mut coordinator);
    let mut reasons: Vec<Option<String>> = coordinator
        .referral_inbox()
        .unwrap()
        .into_iter()
        .map(|r| r.reason)
        .collect();
    reasons.sort();
    let help = Some("help-now".to_string());
    let rule = Some("srq20-item17".to_string());
    assert_eq!(
        reasons,
        vec![
            help.clone(),
            help.clone(),
            help.clone(),
            help,
            rule.clone(),
            rule
        ]
    );
}

/// A coordinator who sets the programme's crisis numbers right after enrolling someone, before any
/// sync, seals the record's setup and the numbers in one envelope: every device must take it whole.
/// (Found while making the v1 fixtures: the receiving devices judged the numbers against a record not
/// yet bound to its programme, refused the whole envelope, and the participant never got the record,
/// so no consent and no referral were possible.)
#[test]
fn crisis_numbers_set_before_the_first_sync_travel_with_the_new_record() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut participant = vault(&dir, "p.db", 3);
    let programme = coordinator.create_programme("PIK-R SMA 2").unwrap();
    let (care, resp) = coordinator
        .enrol_participant(&participant.link_request().unwrap(), programme)
        .unwrap();
    participant.join_space(&resp).unwrap();
    let json = r#"[{"kind":"crisis-line","name":"Layanan Sekolah","number":"0211234567"}]"#;
    assert_eq!(
        coordinator
            .set_crisis_resources(&programme, "id", json)
            .unwrap(),
        1
    );
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    participant
        .give_consent(&care, "duty-of-care", true)
        .expect("the record arrived whole");
    let got = participant.crisis_resources("id").unwrap();
    assert_eq!(got[0].name, "Layanan Sekolah");
    assert!(got[1..].iter().all(|r| r.kind == "emergency") && got.len() > 1);
}

/// Issue 14, item 4: the escalation and every referral say honestly who has been told — waiting to
/// be sent, sent with no answer yet, told — and a text says when no one will be told (no consent,
/// or no programme), so that silence never looks like help.
#[test]
fn the_texts_say_honestly_who_has_been_told() {
    use sebaya_core::care::CareNotice as N;
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    // No programme at all: no one will be told, whatever the answer.
    let mut alone = vault(&dir, "alone.db", 7);
    let esc = alone
        .submit_screening(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1], "id")
        .unwrap();
    assert_eq!(esc.notices, vec![N::NoOneToldNoProgramme]);
    assert_eq!(
        alone.ask_for_help("id").unwrap().notices,
        vec![N::NoOneToldNoProgramme]
    );
    // No risk: nothing to say.
    let calm = alone
        .submit_screening(Instrument::Phq9, &[0; 9], "id")
        .unwrap();
    assert!(calm.notices.is_empty());

    let (mut coordinator, _supporter, mut participant, care) = programme(&n, &dir);
    participant
        .give_consent(&care, "duty-of-care", false)
        .unwrap();
    let esc = participant
        .submit_screening(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1], "id")
        .unwrap();
    assert_eq!(esc.notices, vec![N::NoOneToldNoConsent]);
    // Asking for help needs no standing consent: it waits to be sent.
    let help = participant.ask_for_help("id").unwrap();
    assert_eq!(help.notices, vec![N::NotToldYet]);
    let view = |v: &mut Vault| v.referrals(&care).unwrap().pop().unwrap();
    assert_eq!(view(&mut participant).notice(), N::NotToldYet);
    sync(&n, &mut participant);
    assert_eq!(view(&mut participant).notice(), N::SentNoAnswer);
    sync(&n, &mut coordinator);
    let r = view(&mut coordinator);
    coordinator
        .update_referral(&care, &r.id, "acknowledged")
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    assert_eq!(view(&mut participant).notice(), N::Told);
    for notice in [
        N::NotToldYet,
        N::SentNoAnswer,
        N::Told,
        N::ReferralFailed,
        N::NoOneToldNoConsent,
        N::NoOneToldNoProgramme,
    ] {
        for locale in ["en", "id"] {
            let id = notice.message_id();
            assert_ne!(sebaya_core::i18n::message(locale, id, &[]), id);
        }
    }
}

/// Issue 14, item 5: a referral whose writer is not (yet) proven to be the participant — a device
/// linked before its proof arrived, or a member forging the participant's origin — stays visible
/// to coordinators, marked unverified, instead of vanishing; reports still count only verified ones.
#[test]
fn an_unverified_referral_stays_visible_to_coordinators() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, _participant, care) = programme(&n, &dir);
    // A member's device writes a referral as if a rule had fired on the participant's phone.
    let by = supporter.device_id().to_hex();
    supporter
        .with_space(&care, |doc, now| {
            sebaya_core::care::add_referral(doc, "00000000000000e1", "rule", "phq9-item9", &by, now)
        })
        .unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut coordinator);
    let inbox = coordinator.referral_inbox().unwrap();
    let r = inbox
        .iter()
        .find(|r| r.id == "00000000000000e1")
        .expect("visible to the coordinator");
    assert!(!r.verified);
    assert!(
        coordinator
            .referrals(&care)
            .unwrap()
            .iter()
            .filter(|r| r.id != "00000000000000e1")
            .all(|r| r.verified)
    );
}

/// Issue 14, item 2: a record with no coordinator never blocks help. The referral is written and
/// waits in the record; the participant is told honestly that no one can be told yet; the escalation
/// says how many coordinators will be told; the first coordinator added finds it waiting.
#[test]
fn a_record_without_a_coordinator_keeps_the_referral_for_the_first_one_added() {
    use sebaya_core::care::CareNotice as N;
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut supporter = vault(&dir, "s.db", 2);
    let mut participant = vault(&dir, "p.db", 3);
    let programme = coordinator.create_programme("PIK-R SMA 3").unwrap();
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
    // The supporter enrols: the record has no coordinator yet.
    let (care, resp) = supporter
        .enrol_participant(&participant.link_request().unwrap(), programme)
        .unwrap();
    participant.join_space(&resp).unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut participant);
    participant
        .give_consent(&care, "duty-of-care", true)
        .unwrap();
    assert_eq!(participant.care_records()[0].coordinators, 0);
    let esc = participant
        .submit_screening(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1], "id")
        .unwrap();
    assert_eq!(esc.referrals.len(), 1, "help is never blocked");
    assert_eq!(esc.coordinators, vec![(care, 0)]);
    assert_eq!(esc.notices, vec![N::NoCoordinatorYet, N::NotToldYet]);
    assert!(!esc.resources.is_empty());
    sync(&n, &mut participant);
    // The supporter is alerted: the referral says its record has no coordinator.
    sync(&n, &mut supporter);
    let seen = supporter.referrals(&care).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].coordinators, 0);
    assert_eq!(seen[0].notice(), N::NoCoordinatorYet);
    // The first coordinator added finds it waiting.
    let resp = supporter
        .approve_group_member(&care, &coordinator.link_request().unwrap(), Role::Member)
        .unwrap();
    coordinator.join_space(&resp).unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut coordinator);
    let inbox = coordinator.referral_inbox().unwrap();
    assert_eq!(inbox.len(), 1);
    // It was sealed while the record had no coordinator, so for no one (issue 14, item 13): the
    // coordinator sees that a risk rule fired, not which item.
    assert_eq!(inbox[0].origin, "rule");
    assert_eq!(inbox[0].reason, None);
    assert!(inbox[0].reason_sealed);
    // Its credential travels with its next sync (published before each sync, once the record has
    // arrived): then every device counts it.
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    assert_eq!(coordinator.care_records()[0].coordinators, 1);
    assert_eq!(participant.care_records()[0].coordinators, 1);
}

/// Issue 14, item 3: past the programme's acknowledgement deadline a referral is overdue: the
/// participant is told to call a crisis line and tell a trusted adult, the supporter to phone the
/// coordinator, and a coordinator's caseload lists it first, with its age and who acknowledged what.
#[test]
fn an_overdue_referral_escalates_and_comes_first_in_the_caseload() {
    use sebaya_core::care::CareNotice as N;
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);
    let programme = coordinator.programmes().unwrap()[0].id;
    assert!(matches!(
        supporter.set_ack_deadline(&programme, 4),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        coordinator.set_ack_deadline(&programme, 0),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(
        participant.ack_deadline_hours(&care).unwrap(),
        sebaya_core::care::DEFAULT_ACK_HOURS
    );
    assert_eq!(coordinator.set_ack_deadline(&programme, 4).unwrap(), 1);
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    assert_eq!(participant.ack_deadline_hours(&care).unwrap(), 4);
    // Two referrals: help asked first, then a risk answer.
    let first = participant.ask_for_help("id").unwrap().referrals[0]
        .1
        .clone();
    let second = participant
        .submit_screening(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1], "id")
        .unwrap()
        .referrals[0]
        .1
        .clone();
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    sync(&n, &mut coordinator);
    // The coordinator acknowledges the second only.
    coordinator
        .update_referral(&care, &second, "acknowledged")
        .unwrap();
    let now = participant.referrals(&care).unwrap()[0].created_ms;
    let later = now + 5 * 3_600_000;
    // Within the deadline nothing is overdue.
    assert!(
        coordinator
            .caseload_at(now + 60_000)
            .unwrap()
            .iter()
            .all(|r| !r.overdue)
    );
    let case = coordinator.caseload_at(later).unwrap();
    assert_eq!(case.len(), 2);
    assert_eq!(case[0].id, first, "the overdue one first");
    assert!(case[0].overdue && case[0].age_ms >= 5 * 3_600_000 - 1_000);
    assert!(!case[1].overdue, "acknowledged in time");
    assert_eq!(
        case[1].acknowledged_by.as_deref(),
        Some(coordinator.device_id().to_hex().as_str())
    );
    // The participant and the supporter see it escalate.
    let mine = participant.referrals_at(&care, later).unwrap();
    let overdue = mine.iter().find(|r| r.id == first).unwrap();
    assert_eq!(overdue.notice(), N::Overdue);
    let theirs = supporter.referrals_at(&care, later).unwrap();
    let overdue = theirs.iter().find(|r| r.id == first).unwrap();
    assert_eq!(overdue.notice(), N::OverdueCallCoordinator);
    // Closed referrals leave the caseload.
    coordinator
        .update_referral(&care, &first, "closed")
        .unwrap();
    assert_eq!(coordinator.caseload_at(later).unwrap().len(), 1);
    // Someone who coordinates nothing has no caseload.
    assert!(participant.caseload_at(later).unwrap().is_empty());
}

/// Review finding (issue 14, item 3): care records go first both ways. The relay cannot tell a
/// care record from any other space (it sees ciphertext), and pages its answers in arrival order, so
/// a sync's first exchange names the care records alone; a coordinator back from a week offline gets
/// referrals before any group's backlog. Then the sync widens to every space.
#[test]
fn a_syncs_first_exchange_names_only_the_care_records() {
    use sebaya_core::{HttpClient, HttpRequest, HttpResponse};
    struct Named<'a> {
        inner: &'a sebaya_core::ReqwestClient,
        requests: std::sync::Mutex<Vec<Vec<Vec<u8>>>>,
    }
    impl HttpClient for Named<'_> {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
            if request.url.ends_with("/v1/sync") {
                let req: sebaya_proto::sync::SyncRequest =
                    sebaya_proto::sync::decode(&request.body).unwrap();
                self.requests
                    .lock()
                    .unwrap()
                    .push(req.spaces.into_iter().map(|s| s.space).collect());
            }
            self.inner.send(request)
        }
    }
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, _supporter, mut participant, care) = programme(&n, &dir);
    participant.journal_add("catatan", 3, &[]).unwrap();
    participant.ask_for_help("id").unwrap();
    sync(&n, &mut participant);
    let named = Named {
        inner: &n.http,
        requests: std::sync::Mutex::new(Vec::new()),
    };
    coordinator.sync_with(&named, &n.relay.url()).unwrap();
    let requests = named.requests.lock().unwrap();
    assert_eq!(
        requests[0],
        vec![care.0.to_vec()],
        "the first exchange: care records only"
    );
    assert!(
        requests.iter().any(|r| r.len() > 1),
        "then every space: {requests:?}"
    );
    assert_eq!(coordinator.referral_inbox().unwrap().len(), 1);
}

/// Issue 14, item 3: in a sync, care records (referrals, acknowledgements, consents) go before
/// everything else, so a short connection carries the risk signal before a journal's backlog.
#[test]
fn care_records_travel_before_the_journal() {
    use sebaya_core::{HttpClient, HttpRequest, HttpResponse};
    struct Order<'a> {
        inner: &'a sebaya_core::ReqwestClient,
        spaces: std::sync::Mutex<Vec<[u8; 16]>>,
    }
    impl HttpClient for Order<'_> {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
            if let Some(pushed) = sebaya_tests::net::pushed(&request) {
                let mut log = self.spaces.lock().unwrap();
                for (e, _) in pushed {
                    log.push(e[6..22].try_into().unwrap());
                }
            }
            self.inner.send(request)
        }
    }
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (_coordinator, _supporter, mut participant, care) = programme(&n, &dir);
    for i in 0..20 {
        participant
            .journal_add(&format!("catatan {i}"), 3, &[])
            .unwrap();
    }
    participant.ask_for_help("id").unwrap();
    let order = Order {
        inner: &n.http,
        spaces: std::sync::Mutex::new(Vec::new()),
    };
    participant.sync_with(&order, &n.relay.url()).unwrap();
    let log = order.spaces.lock().unwrap();
    let first_care = log
        .iter()
        .position(|s| *s == care.0)
        .expect("the referral went");
    let first_other = log
        .iter()
        .position(|s| *s != care.0)
        .expect("the journal went");
    assert!(
        first_care < first_other,
        "care first: {first_care} vs {first_other}"
    );
}

/// Issue 14, item 9: a supporter reads a screening aloud and enters the answers on the
/// participant's behalf (as PM+ and Friendship Bench helpers do). It is recorded as given by the
/// supporter, escalated by the same rules (the participant's duty-of-care consent), and the supporter
/// never sees a score or band.
#[test]
fn a_screening_given_by_a_supporter_escalates_by_the_same_rules() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);
    // The participant uses their own call.
    assert!(matches!(
        participant.submit_screening_for(&care, Instrument::Phq9, &[0; 9], "id"),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        supporter.submit_screening_for(&care, Instrument::Phq9, &[4; 9], "id"),
        Err(Error::InvalidInput(_))
    ));
    let esc = supporter
        .submit_screening_for(&care, Instrument::Phq9, &[1, 1, 2, 1, 0, 0, 1, 0, 2], "id")
        .unwrap();
    assert!(esc.score.is_none(), "no score or band for the supporter");
    assert_eq!(esc.rules, vec!["phq9-item9".to_string()]);
    assert_eq!(esc.referrals.len(), 1);
    assert!(!esc.resources.is_empty() && esc.show_safety_plan);
    // Nothing risky: nothing to refer, still no score shown.
    let calm = supporter
        .submit_screening_for(&care, Instrument::Gad7, &[0; 7], "id")
        .unwrap();
    assert!(calm.score.is_none() && calm.referrals.is_empty());
    sync(&n, &mut supporter);
    sync(&n, &mut coordinator);
    let inbox = coordinator.referral_inbox().unwrap();
    let r = inbox.iter().find(|r| r.origin == "administered").unwrap();
    assert_eq!(r.reason.as_deref(), Some("phq9-item9"));
    assert!(r.verified);
    sync(&n, &mut participant);
    assert!(
        participant
            .referrals(&care)
            .unwrap()
            .iter()
            .any(|r| r.origin == "administered")
    );
    // Without the participant's duty-of-care consent, nothing is referred from there.
    participant
        .give_consent(&care, "duty-of-care", false)
        .unwrap();
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    let esc = supporter
        .submit_screening_for(&care, Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1], "id")
        .unwrap();
    assert!(esc.referrals.is_empty());
    assert_eq!(esc.not_referred, vec![care]);
}

/// Issue 14, item 15: for a minor, sharing with the supporter and reporting outcomes wait for a
/// guardian's consent, recorded by a coordinator with a reference to the signed form (UU 27/2022
/// asks a parent's or guardian's consent for a child's data), or for a coordinator's best-interests
/// exception with its reason; crisis lines, "I need help now" and referrals never wait.
#[test]
fn a_minors_sharing_and_reporting_wait_for_a_guardian_but_help_never_does() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);
    // Marked a minor by a coordinator, never by the supporter.
    assert!(matches!(
        supporter.mark_minor(&care),
        Err(Error::NotAllowed(_))
    ));
    coordinator.mark_minor(&care).unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    assert!(participant.care_records()[0].minor);
    // Help never waits.
    assert_eq!(participant.ask_for_help("id").unwrap().referrals.len(), 1);
    let esc = participant
        .submit_screening(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1], "id")
        .unwrap();
    assert_eq!(esc.referrals.len(), 1);
    // Sharing waits for a guardian.
    let (pairing, resp) = sebaya_tests::pairings::certified_pairing(
        &mut supporter,
        &participant.link_request().unwrap(),
    )
    .unwrap();
    participant.join_space(&resp).unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut participant);
    assert!(matches!(
        participant.consent_to_sharing(&pairing, true),
        Err(Error::NotAllowed(_))
    ));
    // Outcome reporting waits too: the participant's wish is recorded, nothing is published.
    participant
        .give_consent(&care, "report-outcomes", true)
        .unwrap();
    assert_eq!(participant.publish_outcomes().unwrap(), 0);
    // Only a coordinator records a guardian's consent; without a form reference it opens nothing.
    assert!(matches!(
        supporter.record_guardian_consent(&care, "share-with-supporter", "ibu", Some("F-1"), true),
        Err(Error::NotAllowed(_))
    ));
    coordinator
        .record_guardian_consent(&care, "share-with-supporter", "ibu", None, true)
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    assert!(participant.consent_to_sharing(&pairing, true).is_err());
    coordinator
        .record_guardian_consent(
            &care,
            "share-with-supporter",
            "ibu",
            Some("formulir 2026/041"),
            true,
        )
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    // The pairing itself waits for a guardian (issue 14, item 15); a signed consent to sharing with
    // the supporter presupposes it and lets it run (review M3).
    participant.consent_to_sharing(&pairing, true).unwrap();
    // A best-interests exception, with its reason, opens outcome reporting.
    assert!(matches!(
        coordinator.record_best_interests_exception(&care, "report-outcomes", " "),
        Err(Error::InvalidInput(_))
    ));
    coordinator
        .record_best_interests_exception(
            &care,
            "report-outcomes",
            "guardian unreachable; programme review approved",
        )
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    assert!(participant.publish_outcomes().unwrap() > 0);
    // Enrolled as a minor from the start.
    let mut young = vault(&dir, "y.db", 8);
    let programme_id = coordinator.programmes().unwrap()[0].id;
    let (care2, resp) = coordinator
        .enrol_participant_as(&young.link_request().unwrap(), programme_id, true)
        .unwrap();
    young.join_space(&resp).unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut young);
    assert!(
        young
            .care_records()
            .iter()
            .any(|c| c.id == care2 && c.minor)
    );
}

/// Review finding (issue 14, item 3): a referral's age must not rest on its writer's clock alone.
/// A phone days fast writes an `at` in the future; counted from it, the referral would never be
/// overdue. Its age counts from when this device first saw it, whichever is earlier.
#[test]
fn a_fast_writers_clock_does_not_keep_a_referral_from_being_overdue() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, _participant, care) = programme(&n, &dir);
    let by = supporter.device_id().to_hex();
    let week = 7 * 24 * 3_600_000;
    supporter
        .with_space(&care, |doc, now| {
            sebaya_core::care::add_referral(
                doc,
                "00000000000000f7",
                "supporter",
                "refer-now",
                &by,
                now + week,
            )
        })
        .unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut coordinator);
    let seen_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // First listed now; 25 hours later (the deadline is 24) it is overdue and first.
    assert!(coordinator.caseload_at(seen_at).unwrap()[0].age_ms < 60_000);
    let later = seen_at + 25 * 3_600_000;
    let case = coordinator.caseload_at(later).unwrap();
    assert_eq!(case[0].id, "00000000000000f7");
    assert!(case[0].overdue);
}

/// Review finding (issue 14, items 3 and 15): a coordinator added to a record as a plain member (the
/// usual case when a supporter enrols) can mark the participant a minor, record an exception and
/// set the deadline; before, only an admin could, so a child found to be a minor after enrolment
/// could never be marked.
#[test]
fn a_coordinator_who_is_a_plain_member_marks_a_minor_and_sets_the_deadline() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut supporter = vault(&dir, "s.db", 2);
    let mut participant = vault(&dir, "p.db", 3);
    let programme = coordinator.create_programme("PIK-R SMA 5").unwrap();
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
    let (care, resp) = supporter
        .enrol_participant(&participant.link_request().unwrap(), programme)
        .unwrap();
    participant.join_space(&resp).unwrap();
    let resp = supporter
        .approve_group_member(&care, &coordinator.link_request().unwrap(), Role::Member)
        .unwrap();
    coordinator.join_space(&resp).unwrap();
    for _ in 0..2 {
        for v in [&mut supporter, &mut participant, &mut coordinator] {
            sync(&n, v);
        }
    }
    coordinator.mark_minor(&care).unwrap();
    coordinator
        .record_best_interests_exception(&care, "report-outcomes", "alasan")
        .unwrap();
    assert_eq!(coordinator.set_ack_deadline(&programme, 6).unwrap(), 1);
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    assert!(participant.care_records()[0].minor);
    assert_eq!(participant.ack_deadline_hours(&care).unwrap(), 6);
    // The supporter, an admin without the coordinator role, cannot.
    assert!(matches!(
        supporter.set_ack_deadline(&programme, 2),
        Err(Error::NotAllowed(_))
    ));
}

/// Review finding (issue 14, item 5): a referral that says a supporter made it counts as verified
/// only when its writer is not the participant (a participant's modified app writing "supporter"
/// would otherwise be counted as their supporter's act in the programme's report).
#[test]
fn a_supporters_referral_written_by_the_participant_is_unverified() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, _supporter, mut participant, care) = programme(&n, &dir);
    let by = participant.device_id().to_hex();
    participant
        .with_space(&care, |doc, now| {
            sebaya_core::care::add_referral(
                doc,
                "00000000000000d9",
                "supporter",
                "refer-now",
                &by,
                now,
            )
        })
        .unwrap();
    sync(&n, &mut participant);
    sync(&n, &mut coordinator);
    let r = coordinator
        .referral_inbox()
        .unwrap()
        .into_iter()
        .find(|r| r.id == "00000000000000d9")
        .expect("shown to the coordinator");
    assert!(!r.verified);
}

/// Review finding (issue 14, item 15): what a participant shared, and the outcomes published, before
/// their record was marked a minor's are taken back at their next sync, until a guardian allows it
/// (the gates used to stop only new sharing).
#[test]
fn marking_a_minor_takes_back_what_was_shared_before() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);
    let (pairing, resp) = sebaya_tests::pairings::certified_pairing(
        &mut supporter,
        &participant.link_request().unwrap(),
    )
    .unwrap();
    participant.join_space(&resp).unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut participant);
    participant.consent_to_sharing(&pairing, true).unwrap();
    let entry = participant.journal_add("Aku lelah.", 2, &[]).unwrap();
    participant.share_journal_entry(&pairing, &entry).unwrap();
    participant
        .give_consent(&care, "report-outcomes", true)
        .unwrap();
    participant
        .submit_screening(Instrument::Who5, &[3, 3, 3, 3, 3], "id")
        .unwrap();
    assert!(participant.publish_outcomes().unwrap() > 0);
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    assert_eq!(supporter.shared_in_pairing(&pairing).unwrap().len(), 1);
    coordinator.mark_minor(&care).unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    sync(&n, &mut participant);
    sync(&n, &mut supporter);
    assert!(supporter.shared_in_pairing(&pairing).unwrap().is_empty());
    let outcomes = participant
        .read_space(&care, |doc| {
            use automerge::ReadDoc;
            match doc.get(automerge::ROOT, "outcomes").unwrap() {
                Some((_, o)) => doc.keys(&o).count(),
                None => 0,
            }
        })
        .unwrap();
    assert_eq!(outcomes, 0);
}

/// Review finding (issue 14, item 15): the gates after each sync must not rewrite a minor's
/// outcome totals that a guardian allowed: a change left behind every sync would keep a new
/// referral from ever showing as sent and grow the record's history.
#[test]
fn a_minors_allowed_outcomes_are_not_rewritten_at_every_sync() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, _supporter, mut participant, care) = programme(&n, &dir);
    coordinator.mark_minor(&care).unwrap();
    coordinator
        .record_guardian_consent(&care, "report-outcomes", "ibu", Some("F-7"), true)
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    participant
        .give_consent(&care, "report-outcomes", true)
        .unwrap();
    participant
        .submit_screening(Instrument::Who5, &[3, 3, 3, 3, 3], "id")
        .unwrap();
    assert!(participant.publish_outcomes().unwrap() > 0);
    sync(&n, &mut participant);
    sync(&n, &mut participant);
    assert_eq!(sync(&n, &mut participant).pushed, 0);
    participant.ask_for_help("id").unwrap();
    sync(&n, &mut participant);
    assert!(
        participant
            .referrals(&care)
            .unwrap()
            .iter()
            .all(|r| r.state != "queued")
    );
}

/// Review finding (issue 14, item 3): a sync's care-records-first exchange must not send join
/// answers, whose admitting statement lives in a space that exchange does not push (the relay would
/// refuse them and the joiner would wait a sync longer). A coordinator who also runs a group
/// approves a join; one sync each and the joiner is in.
#[test]
fn a_coordinators_join_approval_is_not_delayed_by_the_care_first_exchange() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, _supporter, _participant, _care) = programme(&n, &dir);
    let mut joiner = vault(&dir, "j.db", 9);
    let g = coordinator.create_group("Kelompok Sabtu").unwrap();
    let invite = coordinator.create_invite_with(&g, 3600, false).unwrap();
    sync(&n, &mut coordinator);
    joiner.accept_invite(&invite.code, "Sari").unwrap();
    sync(&n, &mut joiner);
    sync(&n, &mut coordinator);
    let requests = coordinator.join_requests().unwrap();
    assert_eq!(requests.len(), 1);
    coordinator.approve_join_request(&requests[0].id).unwrap();
    sync(&n, &mut coordinator);
    assert_eq!(sync(&n, &mut joiner).joined, 1);
}

/// Issue 14, item 2: a programme declares its on-call coordinators (at least two persons holding
/// `coordinator` now). The core says plainly when it does not, and when a record reaches fewer than
/// two of them, at enrolment too, without ever blocking enrolment, consent or a referral; the
/// escalation says per programme how many coordinator persons will be told.
#[test]
fn a_programme_declares_its_on_call_coordinators_and_enrolment_warns_when_fewer_than_two() {
    use sebaya_core::care::OnCallState as S;
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);
    let programme = coordinator.programmes().unwrap()[0].id;
    let first = coordinator.person_id().unwrap();
    // Nothing declared yet: said so, on every device.
    for v in [&coordinator, &supporter, &participant] {
        let st = v.on_call_status(&care).unwrap();
        assert_eq!((st.declared, st.state), (0, S::NotDeclared));
        assert!(st.state.warning());
    }
    // Only a coordinator declares; the list names persons, at least one, each once.
    assert!(matches!(
        supporter.set_on_call(&programme, &[first]),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        coordinator.set_on_call(&programme, &[]),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        coordinator.set_on_call(&programme, &[first, first]),
        Err(Error::InvalidInput(_))
    ));
    // One person on call is not a rota: the warning stands.
    assert_eq!(coordinator.set_on_call(&programme, &[first]).unwrap(), 1);
    let st = coordinator.on_call_status(&care).unwrap();
    assert_eq!(
        (st.declared, st.on_call, st.coordinators, st.state),
        (1, 1, 1, S::FewerThanTwoOnCall)
    );
    // A person named who holds no coordinator role does not count as on call.
    let not_a_coordinator = supporter.person_id().unwrap();
    coordinator
        .set_on_call(&programme, &[first, not_a_coordinator])
        .unwrap();
    let st = coordinator.on_call_status(&care).unwrap();
    assert_eq!((st.declared, st.on_call), (2, 1));
    assert_eq!(st.state, S::FewerThanTwoOnCall);
    // A second coordinator joins the programme and the record; two on call now.
    let mut second = vault(&dir, "c2.db", 4);
    let grant = coordinator
        .grant_programme_role(
            &programme,
            &second.person_id().unwrap(),
            ProgrammeRole::Coordinator,
            180,
        )
        .unwrap();
    second.add_programme_credential(&grant.credential).unwrap();
    let resp = coordinator
        .approve_group_member(&care, &second.link_request().unwrap(), Role::Member)
        .unwrap();
    second.join_space(&resp).unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut second);
    sync(&n, &mut second);
    assert_eq!(
        coordinator
            .set_on_call(&programme, &[first, second.person_id().unwrap()])
            .unwrap(),
        1
    );
    for v in [
        &mut coordinator,
        &mut second,
        &mut supporter,
        &mut participant,
    ] {
        sync(&n, v);
    }
    for v in [&supporter, &participant] {
        let st = v.on_call_status(&care).unwrap();
        assert_eq!(
            (st.declared, st.on_call, st.coordinators, st.state),
            (2, 2, 2, S::Ready)
        );
        assert!(!st.state.warning());
    }
    // The escalation says, per programme, how many coordinator persons will be told.
    let esc = participant
        .submit_screening(Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1], "id")
        .unwrap();
    assert_eq!(esc.programmes, vec![(programme, 2)]);
    // The supporter enrols someone new: the record reaches no coordinator yet. The warning names
    // the programme's on-call list, learned from the records this device holds, and nothing waits
    // on it: enrolment, consent and a referral all go ahead.
    let mut newcomer = vault(&dir, "p2.db", 5);
    let (fresh, resp) = supporter
        .enrol_participant(&newcomer.link_request().unwrap(), programme)
        .unwrap();
    let st = supporter.on_call_status(&fresh).unwrap();
    assert_eq!(
        (st.declared, st.on_call, st.coordinators, st.state),
        (2, 2, 0, S::FewerThanTwoReached)
    );
    newcomer.join_space(&resp).unwrap();
    sync(&n, &mut supporter);
    sync(&n, &mut newcomer);
    newcomer.give_consent(&fresh, "duty-of-care", true).unwrap();
    let esc = newcomer.ask_for_help("id").unwrap();
    assert_eq!(esc.referrals.len(), 1, "help is never blocked");
    assert_eq!(esc.programmes, vec![(programme, 0)]);
    // Review finding: a record whose coordinators are not the ones on call is not "ready". The
    // second on-call coordinator leaves this record; a third coordinator, not on the list, joins it:
    // two coordinators are still reached, but only one of those on call.
    let mut third = vault(&dir, "c3-on-call.db", 6);
    let grant = coordinator
        .grant_programme_role(
            &programme,
            &third.person_id().unwrap(),
            ProgrammeRole::Coordinator,
            180,
        )
        .unwrap();
    third.add_programme_credential(&grant.credential).unwrap();
    let resp = coordinator
        .approve_group_member(&care, &third.link_request().unwrap(), Role::Member)
        .unwrap();
    third.join_space(&resp).unwrap();
    coordinator
        .remove_group_member(&care, &second.device_id())
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut third);
    sync(&n, &mut third);
    sync(&n, &mut coordinator);
    let st = coordinator.on_call_status(&care).unwrap();
    assert_eq!(st.coordinators, 2, "{st:?}");
    assert_eq!(st.state, S::FewerThanTwoReached, "{st:?}");
    assert!(st.state.warning());

    // Every state has its text in both languages.
    for s in [
        S::Ready,
        S::NotDeclared,
        S::FewerThanTwoOnCall,
        S::FewerThanTwoReached,
    ] {
        for lang in ["id", "en"] {
            let t = sebaya_core::i18n::message(lang, s.message_id(), &[]);
            assert_ne!(t, s.message_id(), "{lang}");
        }
    }
}

/// Issue 14, item 13: a rule referral's reason (which item was answered) is sealed for the
/// coordinators' devices only, as outcome totals are: the supporter's and the participant's devices
/// hold only its ciphertext, and a coordinator's view opens it. Referrals written before, with the
/// reason in the clear, still read (never dropped).
#[test]
fn a_rule_referrals_reason_is_sealed_for_the_coordinators_only() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care) = programme(&n, &dir);
    let esc = participant
        .submit_screening(
            Instrument::Srq20,
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
            "id",
        )
        .unwrap();
    let (_, id) = esc.referrals[0].clone();
    // A screening the supporter read aloud: sealed the same way.
    let administered = supporter
        .submit_screening_for(&care, Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 2], "id")
        .unwrap()
        .referrals[0]
        .1
        .clone();
    // An old referral, written with its reason in the clear, as earlier versions did.
    let by = participant.device_id().to_hex();
    participant
        .with_space(&care, |doc, now| {
            sebaya_core::care::add_referral(doc, "00000000000000f1", "rule", "phq9-item9", &by, now)
        })
        .unwrap();
    for v in [&mut participant, &mut supporter, &mut coordinator] {
        sync(&n, v);
    }
    for v in [&mut participant, &mut supporter] {
        sync(&n, v);
    }
    // What the document holds on the participant's and the supporter's devices: no reason in the
    // clear for the new ones.
    for v in [&mut participant, &mut supporter] {
        let held = v
            .with_space(&care, |doc, _| Ok(sebaya_core::care::referrals(doc)))
            .unwrap();
        for r in held.iter().filter(|r| r.id == id || r.id == administered) {
            assert!(
                !sebaya_core::care::REASONS.contains(&r.reason.as_str()),
                "{}",
                r.reason
            );
        }
        let views = v.referrals(&care).unwrap();
        for r in views.iter().filter(|r| r.id == id || r.id == administered) {
            assert_eq!(r.reason, None);
        }
    }
    // The participant's phone says its reason is sealed; the supporter's view says nothing that
    // would tell the participant's rule referral from their call for help.
    let own = participant.referrals(&care).unwrap();
    assert!(own.iter().find(|r| r.id == id).unwrap().reason_sealed);
    let seen = supporter.referrals(&care).unwrap();
    let theirs = seen.iter().find(|r| r.id == id).unwrap();
    assert_eq!(theirs.origin, "participant");
    assert!(!theirs.reason_sealed);
    // The coordinator opens it.
    let inbox = coordinator.referral_inbox().unwrap();
    let find = |x: &str| inbox.iter().find(|r| r.id == x).unwrap();
    assert_eq!(find(&id).reason.as_deref(), Some("srq20-item17"));
    assert_eq!(find(&id).origin, "rule");
    assert!(find(&id).reason_sealed);
    assert_eq!(find(&administered).reason.as_deref(), Some("phq9-item9"));
    // The old clear one still reads, for the coordinator as before.
    let old = find("00000000000000f1");
    assert_eq!(old.reason.as_deref(), Some("phq9-item9"));
    assert!(!old.reason_sealed);
}
