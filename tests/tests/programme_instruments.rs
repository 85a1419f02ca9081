//! Programme-defined instruments and cut-offs end to end (issue 14, item 8): a coordinator adds a
//! published instrument as data to the programme; it reaches the participant's device in the care
//! record; a screening with it is scored there and a risk answer raises the same sealed referral as
//! the built-ins, with the crisis numbers; SRQ-20's cut-off and age limits are the programme's, with
//! a citation; the saved screening says which wording, language and version were used.
//!
//! "TEST-3" is FICTIONAL: placeholder items and labels, no real instrument's wording or citation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_tests::net::{net, sync};

use sebaya_core::care::instruments::Instrument;
use sebaya_core::care::programme_instruments::DefinitionError;
use sebaya_core::space::SpaceKind;
use sebaya_core::{Error, ProgrammeRole, Role, SpaceId, Vault};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

/// A coordinator, a supporter and a participant who agreed to the duty-of-care rule, synced.
fn programme(
    n: &sebaya_tests::net::Net,
    dir: &tempfile::TempDir,
) -> (Vault, Vault, Vault, SpaceId, [u8; 32]) {
    let mut coordinator = vault(dir, "c.db", 1);
    let mut supporter = vault(dir, "s.db", 2);
    let mut participant = vault(dir, "p.db", 3);
    let programme = coordinator.create_programme("PIK-R SMA 8").unwrap();
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
    assert_eq!(
        participant.join_space(&resp).unwrap(),
        (care, SpaceKind::Care)
    );
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
    (coordinator, supporter, participant, care, programme)
}

/// TEST-3 (fictional): three placeholder items 0–2, item 2 reversed, item 3 raising a flag.
fn test3(version: &str) -> String {
    serde_json::json!({
        "schema": "sebaya-instrument/1",
        "id": "x-test3",
        "name": "TEST-3 (fictional)",
        "version": version,
        "citation": {
            "authors": "Sebaya test fixture",
            "year": 2026,
            "title": "TEST-3, a fictional three-item instrument for tests",
            "published_in": "not published: a test fixture"
        },
        "licence": "fictional, for tests only",
        "age": {"min": 12, "max": 17},
        "scoring": {"reverse_items": [2], "multiplier": 1},
        "bands": [
            {"id": "low", "min": 0, "max": 2, "positive": false},
            {"id": "high", "min": 3, "max": 6, "positive": true}
        ],
        "risk_items": [{"item": 3, "values": [1, 2]}],
        "languages": [{
            "language": "en",
            "items": ["Placeholder item one", "Placeholder item two", "Placeholder item three"],
            "options": [
                {"label": "Placeholder answer A", "value": 0},
                {"label": "Placeholder answer B", "value": 1},
                {"label": "Placeholder answer C", "value": 2}
            ],
            "bands": {"low": "Placeholder low", "high": "Placeholder high"}
        }]
    })
    .to_string()
}

#[test]
fn a_programme_instrument_reaches_the_participant_and_a_risk_answer_refers() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care, programme) = programme(&n, &dir);

    // Only a coordinator adds one; a bad one is refused whole with its typed fault.
    assert!(matches!(
        supporter.set_programme_instrument(&programme, &test3("1.0")),
        Err(Error::NotAllowed(_))
    ));
    let mut bad: serde_json::Value = serde_json::from_str(&test3("1.0")).unwrap();
    bad["bands"][1]["min"] = 2.into();
    match coordinator.set_programme_instrument(&programme, &bad.to_string()) {
        Err(Error::InvalidInput(m)) => assert!(
            m.starts_with(DefinitionError::BandsOverlap { at: 2 }.code()),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(coordinator.programme_instruments().is_empty());
    let d = coordinator
        .set_programme_instrument(&programme, &test3("1.0"))
        .unwrap();
    assert_eq!(d.id, "x-test3");
    sync(&n, &mut coordinator);

    // The participant's device gets it with the care record; not offered in a language it lacks.
    sync(&n, &mut participant);
    let got = participant.programme_instruments();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].version, "1.0");
    assert!(
        participant
            .programme_instrument_offered("x-test3", "en")
            .unwrap()
    );
    assert!(
        !participant
            .programme_instrument_offered("x-test3", "id")
            .unwrap()
    );
    assert!(matches!(
        participant.programme_instrument_offered("x-none", "en"),
        Err(Error::NotFound(_))
    ));

    // No risk: scored, kept with its wording, language and version; nothing referred.
    let esc = participant
        .submit_programme_screening("x-test3", "en", &[1, 1, 0], "ID")
        .unwrap();
    let s = esc.programme_score.clone().unwrap();
    assert_eq!((s.total, s.band.as_str()), (2, "low"));
    assert!(esc.rules.is_empty() && esc.referrals.is_empty());
    assert!(!esc.resources.is_empty(), "crisis numbers always come back");
    // A language it has no form in is refused before anything is scored or kept.
    assert!(matches!(
        participant.submit_programme_screening("x-test3", "id", &[0, 0, 2], "ID"),
        Err(Error::NotFound(_))
    ));
    // Wrong answers are refused.
    assert!(matches!(
        participant.submit_programme_screening("x-test3", "en", &[0, 0, 3], "ID"),
        Err(Error::InvalidInput(_))
    ));

    // A risk answer: the same ladder as the built-ins.
    let esc = participant
        .submit_programme_screening("x-test3", "en", &[0, 2, 2], "ID")
        .unwrap();
    assert_eq!(esc.rules, vec!["x-test3-item3".to_string()]);
    assert_eq!(esc.referrals.len(), 1);
    assert!(esc.show_safety_plan && esc.saved);
    assert_eq!(esc.resources, participant.crisis_resources("id").unwrap());
    let kept = participant.screenings();
    assert_eq!(kept.len(), 2);
    let last = &kept[1];
    assert_eq!(last.instrument, "x-test3");
    assert_eq!(last.instrument_version.as_deref(), Some("1.0"));
    assert_eq!(last.language.as_deref(), Some("en"));
    assert_eq!(last.wording.as_deref(), Some("x-test3@1.0/en"));
    assert_eq!(last.risk, vec!["x-test3-item3".to_string()]);

    // The coordinator opens the sealed reason; the supporter sees "participant", never the rule.
    sync(&n, &mut participant);
    sync(&n, &mut coordinator);
    let inbox = coordinator.referral_inbox().unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].reason.as_deref(), Some("x-test3-item3"));
    assert!(inbox[0].verified && inbox[0].reason_sealed);
    sync(&n, &mut supporter);
    let seen = supporter.referrals(&care).unwrap();
    assert_eq!(seen[0].reason, None);
    assert_eq!(seen[0].origin, "participant");

    // A supporter entering it for the participant escalates by the same rule.
    let esc = supporter
        .submit_programme_screening_for(&care, "x-test3", &[0, 0, 1], "ID")
        .unwrap();
    assert_eq!(esc.rules, vec!["x-test3-item3".to_string()]);
    assert_eq!(esc.referrals.len(), 1);
    assert!(
        esc.programme_score.is_none(),
        "a supporter never sees a score"
    );

    // A new version replaces the old one on every device.
    coordinator
        .set_programme_instrument(&programme, &test3("1.1"))
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    assert_eq!(participant.programme_instruments()[0].version, "1.1");
}

#[test]
fn a_supporter_cannot_slip_an_instrument_into_the_policy_by_hand() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (_coordinator, mut supporter, _participant, care, _) = programme(&n, &dir);
    let json = test3("6.6");
    // The rules every device applies on receipt refuse it (judged here first, as on receipt).
    let forged = supporter.with_space(&care, |doc, now| {
        use automerge::ReadDoc;
        use automerge::transaction::Transactable;
        let policy = match doc.get(automerge::ROOT, "policy").unwrap() {
            Some((_, id)) => id,
            None => panic!("no policy map"),
        };
        doc.put(&policy, "instrument/x-test3", json.as_str())?;
        doc.put(&policy, "instrument_at/x-test3", now)?;
        Ok(())
    });
    assert!(matches!(forged, Err(Error::NotAllowed(_))), "{forged:?}");
    assert!(supporter.programme_instruments().is_empty());
}

#[test]
fn srq20_cutoff_and_age_limits_are_the_programmes_with_a_citation() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, _care, programme) = programme(&n, &dir);
    let mut seven = [0u8; 20];
    for a in seven.iter_mut().take(7) {
        *a = 1;
    }
    // The default: the national survey's cut-off 6, with its citation, and no age limit.
    let d = participant.srq20_settings();
    assert_eq!(d.cutoff, 6);
    assert!(d.citation.contains("Riskesdas"));
    assert_eq!((d.min_age, d.max_age), (None, None));
    assert!(d.default);
    let esc = participant
        .submit_screening(Instrument::Srq20, &seven, "ID")
        .unwrap();
    assert!(esc.score.unwrap().positive_screen);

    // Only a coordinator sets them; the citation is required; the cut-off is 1 to 20.
    assert!(matches!(
        supporter.set_srq20_settings(&programme, 8, Some(18), None, "A study"),
        Err(Error::NotAllowed(_))
    ));
    for (cutoff, min, max, cite) in [
        (8, Some(18), None, " "),
        (0, None, None, "A study"),
        (21, None, None, "A study"),
        (8, Some(20), Some(18), "A study"),
    ] {
        assert!(matches!(
            coordinator.set_srq20_settings(&programme, cutoff, min, max, cite),
            Err(Error::InvalidInput(_))
        ));
    }
    coordinator
        .set_srq20_settings(
            &programme,
            8,
            Some(18),
            None,
            "Fictional validation study, for tests only (2026)",
        )
        .unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    let s = participant.srq20_settings();
    assert_eq!((s.cutoff, s.min_age, s.max_age), (8, Some(18), None));
    assert!(!s.default);
    assert!(s.citation.starts_with("Fictional validation study"));
    // Seven yes answers are now below the programme's cut-off; item 17 still fires at any cut-off.
    let esc = participant
        .submit_screening(Instrument::Srq20, &seven, "ID")
        .unwrap();
    assert!(!esc.score.unwrap().positive_screen);
    let mut risky = [0u8; 20];
    risky[16] = 1;
    let esc = participant
        .submit_screening(Instrument::Srq20, &risky, "ID")
        .unwrap();
    assert_eq!(esc.rules, vec!["srq20-item17".to_string()]);
    assert_eq!(esc.referrals.len(), 1);
    // Age limits are the app's to apply before offering it; the core answers for an age.
    assert!(!participant.srq20_suits_age(17));
    assert!(participant.srq20_suits_age(18));
}

#[test]
fn a_built_in_screening_records_its_wording_language_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vault(&dir, "w.db", 4);
    v.submit_screening_with(Instrument::Phq9, "en-GB", &[0; 9], "ID")
        .unwrap();
    // Not offered in a language with no wording: refused before anything is kept.
    assert!(matches!(
        v.submit_screening_with(Instrument::Phq9, "id", &[0; 9], "ID"),
        Err(Error::NotFound(_))
    ));
    // The older call keeps what it always kept: no wording or language.
    v.submit_screening(Instrument::Gad7, &[0; 7], "ID").unwrap();
    let kept = v.screenings();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].wording.as_deref(), Some("builtin:phq9/en"));
    assert_eq!(kept[0].language.as_deref(), Some("en"));
    assert_eq!(
        kept[0].instrument_version.as_deref(),
        Some(sebaya_core::care::instruments::BUILTIN_VERSION)
    );
    assert_eq!(kept[1].wording, None);
    assert_eq!(kept[1].language, None);
}

/// A participant a coordinator enrols after the programme set its instruments and SRQ-20 settings
/// gets them with the new record (they live in each record, so a record made later must be given
/// them).
#[test]
fn a_participant_enrolled_later_by_a_coordinator_gets_the_programmes_settings() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, _supporter, _participant, _care, programme) = programme(&n, &dir);
    coordinator
        .set_programme_instrument(&programme, &test3("2.0"))
        .unwrap();
    coordinator
        .set_srq20_settings(
            &programme,
            9,
            Some(16),
            None,
            "Fictional study, for tests only",
        )
        .unwrap();
    let mut later = vault(&dir, "later.db", 5);
    let (care2, resp) = coordinator
        .enrol_participant(&later.link_request().unwrap(), programme)
        .unwrap();
    later.join_space(&resp).unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut later);
    later.give_consent(&care2, "duty-of-care", true).unwrap();
    let got = later.programme_instruments();
    assert_eq!(got.len(), 1, "the instrument came with the new record");
    assert_eq!(got[0].version, "2.0");
    assert_eq!(later.srq20_settings().cutoff, 9);
    let esc = later
        .submit_programme_screening("x-test3", "en", &[0, 0, 1], "ID")
        .unwrap();
    assert_eq!(esc.referrals.len(), 1);
}

/// Review finding: definitions were merged across every care record on the device by id, the
/// newest winning, so a second programme that published an instrument under the same id (with no
/// risk items, or different ones) silenced the first programme's risk rule. A participant enrolled
/// in both must be referred when either programme's definition flags the answer, and a supporter
/// entering a screening in one record scores it by that record's definition.
#[test]
fn another_programmes_instrument_of_the_same_id_never_silences_a_risk_rule() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut coordinator, mut supporter, mut participant, care, programme) = programme(&n, &dir);
    coordinator
        .set_programme_instrument(&programme, &test3("1.0"))
        .unwrap();
    sync(&n, &mut coordinator);

    // A second programme, its own coordinator, the same participant enrolled there too; later it
    // publishes an unrelated instrument under the same id, without risk items.
    let mut other = vault(&dir, "c2.db", 4);
    let programme_b = other.create_programme("Posyandu Remaja").unwrap();
    let (care_b, resp) = other
        .enrol_participant(&participant.link_request().unwrap(), programme_b)
        .unwrap();
    assert_eq!(
        participant.join_space(&resp).unwrap(),
        (care_b, SpaceKind::Care)
    );
    let mut quiet: serde_json::Value = serde_json::from_str(&test3("9.0")).unwrap();
    quiet["risk_items"] = serde_json::json!([]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    other
        .set_programme_instrument(&programme_b, &quiet.to_string())
        .unwrap();
    sync(&n, &mut other);
    sync(&n, &mut participant);
    participant
        .give_consent(&care_b, "duty-of-care", true)
        .unwrap();

    // Item 3 answered 2 raises programme A's rule, whatever programme B's definition says.
    let esc = participant
        .submit_programme_screening("x-test3", "en", &[0, 2, 2], "ID")
        .unwrap();
    assert_eq!(esc.rules, vec!["x-test3-item3".to_string()]);
    assert!(
        !esc.referrals.is_empty(),
        "referred in programme A's record"
    );

    // The supporter, in programme A's record only, scores by that record's definition.
    sync(&n, &mut supporter);
    let esc = supporter
        .submit_programme_screening_for(&care, "x-test3", &[0, 0, 1], "ID")
        .unwrap();
    assert_eq!(esc.rules, vec!["x-test3-item3".to_string()]);
}
