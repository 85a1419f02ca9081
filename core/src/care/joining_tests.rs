//! Duty of care as a condition of joining (issue 14, item 15): a coordinator's programme setting,
//! enrolment refused without the participant's agreement, and the text on the limits of
//! confidentiality in both languages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_proto::programme::ProgrammeRole;

use crate::Role;
use crate::Vault;
use crate::error::Error;

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

fn carry(from: &mut Vault, to: &mut Vault) {
    let bundle = from.export_bundle(&[], None).expect("export");
    to.import_bundle(&bundle).expect("import");
}

#[test]
fn a_programme_may_make_duty_of_care_a_condition_of_joining() {
    let dir = tempfile::tempdir().unwrap();
    let mut coord = vault(&dir, "c.db", 1);
    let mut sup = vault(&dir, "s.db", 2);
    let mut part = vault(&dir, "p.db", 3);
    let p = coord.create_programme("PIK-R SMA 2").unwrap();
    let grant = coord
        .grant_programme_role(
            &p,
            &sup.person_id().unwrap(),
            ProgrammeRole::PeerSupporter,
            180,
        )
        .unwrap();
    sup.add_programme_credential(&grant.credential).unwrap();
    assert!(!coord.duty_of_care_required(&p));

    // Only a coordinator sets it; before any record exists it is kept on their device.
    assert!(matches!(
        sup.set_duty_of_care_required(&p, true),
        Err(Error::NotAllowed(_))
    ));
    coord.set_duty_of_care_required(&p, true).unwrap();
    assert!(coord.duty_of_care_required(&p));

    // Enrolment without the participant's agreement is refused, and nothing is made.
    assert!(matches!(
        coord.enrol_participant(&part.link_request().unwrap(), p),
        Err(Error::DutyOfCareRequired)
    ));
    assert!(matches!(
        coord.enrol_participant_as(&part.link_request().unwrap(), p, true),
        Err(Error::DutyOfCareRequired)
    ));
    assert!(coord.care_records().is_empty());
    let (care, resp) = coord
        .enrol_participant_with(&part.link_request().unwrap(), p, false, true)
        .unwrap();
    part.join_space(&resp).unwrap();
    carry(&mut coord, &mut part);
    // The record carries the condition, so the participant's app asks for their own agreement.
    let info = &part.care_records()[0];
    assert!(info.duty_of_care_required);
    assert!(!part.has_consent(&care, "duty-of-care").unwrap());

    // A supporter who holds a record of the programme is bound by it too.
    let resp = coord
        .approve_group_member(&care, &sup.link_request().unwrap(), Role::Member)
        .unwrap();
    sup.join_space(&resp).unwrap();
    carry(&mut coord, &mut sup);
    assert!(sup.duty_of_care_required(&p));
    let other = vault(&dir, "o.db", 4);
    assert!(matches!(
        sup.enrol_participant(&other.link_request().unwrap(), p),
        Err(Error::DutyOfCareRequired)
    ));

    // Lifted: enrolment goes ahead without it.
    coord.set_duty_of_care_required(&p, false).unwrap();
    carry(&mut coord, &mut sup);
    assert!(!sup.duty_of_care_required(&p));
    sup.enrol_participant(&other.link_request().unwrap(), p)
        .unwrap();
}

#[test]
fn the_limits_of_confidentiality_are_told_in_both_languages() {
    for key in [
        "consent-duty-of-care-limits",
        "consent-duty-of-care-limits-title",
        "error-duty-of-care-required",
        "pairing-waiting-for-guardian",
    ] {
        let id = crate::i18n::message("id", key, &[]);
        let en = crate::i18n::message("en", key, &[]);
        assert_ne!(id, key);
        assert_ne!(en, key);
        assert_ne!(id, en);
    }
}

/// Review M5 and L1: the texts do not promise more than the app keeps. The limits of confidentiality
/// say that in danger the coordinator may tell others who can keep the person safe (a parent or
/// guardian for a minor, emergency services) and that a supporter who takes over reads the notes;
/// the guardian's pairing text says a coordinator's best-interests exception can start it.
#[test]
fn the_texts_say_who_else_may_be_told_and_that_an_exception_can_start_a_pairing() {
    let words = |locale: &str, key: &str, expected: &[&str]| {
        let text = crate::i18n::message(locale, key, &[]).to_lowercase();
        for w in expected {
            assert!(text.contains(w), "{locale} {key} lacks {w:?}");
        }
    };
    let limits = "consent-duty-of-care-limits";
    words(
        "en",
        limits,
        &[
            "emergency services",
            "guardian",
            "under 18",
            "takes over",
            "notes",
        ],
    );
    words(
        "id",
        limits,
        &[
            "layanan darurat",
            "wali",
            "18 tahun",
            "menggantikan",
            "catatan",
        ],
    );
    words("en", "consent-pairing", &["best interests", "records why"]);
    words(
        "id",
        "consent-pairing",
        &["kepentingan terbaik", "mencatat alasannya"],
    );
}
