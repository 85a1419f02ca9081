//! A minor's pairing waits for a guardian (issue 14, item 15), between vaults that exchange bundles:
//! the pairing is set up and kept, but neither side writes into it until a guardian's consent to
//! `pairing` (with the signed form's reference) or a coordinator's best-interests exception stands in
//! the participant's care record. Help never waits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::PairingStanding;
use super::programme_tests::trained_programme;
use crate::care::PAIRING_PURPOSE;
use crate::error::Error;
use crate::{SpaceId, Vault};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

fn carry(from: &mut Vault, to: &mut Vault) {
    let bundle = from.export_bundle(&[], None).expect("export");
    to.import_bundle(&bundle).expect("import");
}

/// A coordinator (trained, so also the supporter) who enrolled `part` (a minor when `minor`) and
/// opened a pairing with them; both in step. Returns the coordinator, the care record, the pairing.
fn enrolled_and_paired(
    dir: &tempfile::TempDir,
    part: &mut Vault,
    minor: bool,
) -> (Vault, SpaceId, SpaceId, [u8; 32]) {
    let mut coord = vault(dir, "c.db", 1);
    let p = trained_programme(&mut coord);
    let (care, resp) = coord
        .enrol_participant_as(&part.link_request().unwrap(), p, minor)
        .unwrap();
    part.join_space(&resp).unwrap();
    carry(&mut coord, part);
    let (pairing, resp) = coord
        .create_pairing(&part.link_request().unwrap(), &p)
        .unwrap();
    part.join_space(&resp).unwrap();
    carry(&mut coord, part);
    carry(part, &mut coord);
    (coord, care, pairing, p)
}

fn message(v: &mut Vault, pairing: &SpaceId, id: &str) -> crate::error::Result<()> {
    v.check_pairing_open(pairing)?;
    let me = v.device_id().to_hex();
    v.with_space(pairing, |d, now| {
        super::send_message(d, id, "Halo", &me, now)
    })
}

#[test]
fn a_minors_pairing_waits_for_a_guardians_consent_with_a_form_and_help_never_waits() {
    let dir = tempfile::tempdir().unwrap();
    let mut part = vault(&dir, "p.db", 2);
    let (mut coord, care, pairing, p) = enrolled_and_paired(&dir, &mut part, true);

    // Set up and kept on both sides, under its programme, but waiting.
    for v in [&coord, &part] {
        assert_eq!(
            v.pairing_standing(&pairing).unwrap(),
            PairingStanding::Programme(p)
        );
        assert!(v.pairing_waits_for_guardian(&pairing).unwrap());
    }
    // Neither side writes into it; sharing waits too.
    assert!(matches!(
        message(&mut part, &pairing, "00000000000000a1"),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        message(&mut coord, &pairing, "00000000000000a2"),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        part.share_safety_plan_text(&pairing, "Rencana"),
        Err(Error::NotAllowed(_))
    ));
    // "I need help now" never waits.
    assert_eq!(part.ask_for_help("id").unwrap().referrals.len(), 1);
    // The participant cannot agree to a pairing for themselves: their guardian does.
    assert!(matches!(
        part.give_consent(&care, PAIRING_PURPOSE, true),
        Err(Error::InvalidInput(_))
    ));
    // A guardian's consent without the signed form's reference opens nothing.
    coord
        .record_guardian_consent(&care, PAIRING_PURPOSE, "ibu", None, true)
        .unwrap();
    assert!(coord.pairing_waits_for_guardian(&pairing).unwrap());
    // With it, the pairing opens on both sides once it has arrived.
    coord
        .record_guardian_consent(&care, PAIRING_PURPOSE, "ibu", Some("F-12"), true)
        .unwrap();
    assert!(part.pairing_waits_for_guardian(&pairing).unwrap());
    carry(&mut coord, &mut part);
    for v in [&coord, &part] {
        assert!(!v.pairing_waits_for_guardian(&pairing).unwrap());
    }
    message(&mut part, &pairing, "00000000000000a3").unwrap();
    message(&mut coord, &pairing, "00000000000000a4").unwrap();
    // The guardian withdraws: it waits again, and is still kept.
    coord
        .record_guardian_consent(&care, PAIRING_PURPOSE, "ibu", Some("F-12"), false)
        .unwrap();
    carry(&mut coord, &mut part);
    assert!(part.pairing_waits_for_guardian(&pairing).unwrap());
    assert_eq!(part.read_space(&pairing, super::messages).unwrap().len(), 2);
}

#[test]
fn a_best_interests_exception_opens_a_minors_pairing_and_an_adults_never_waits() {
    let dir = tempfile::tempdir().unwrap();
    let mut part = vault(&dir, "p.db", 2);
    let (mut coord, care, pairing, _) = enrolled_and_paired(&dir, &mut part, true);
    coord
        .record_best_interests_exception(&care, PAIRING_PURPOSE, "wali tidak dapat dihubungi")
        .unwrap();
    carry(&mut coord, &mut part);
    assert!(!part.pairing_waits_for_guardian(&pairing).unwrap());
    message(&mut part, &pairing, "00000000000000b1").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut adult = vault(&dir, "a.db", 3);
    let (coord, _, pairing, _) = enrolled_and_paired(&dir, &mut adult, false);
    for v in [&coord, &adult] {
        assert!(!v.pairing_waits_for_guardian(&pairing).unwrap());
    }
    message(&mut adult, &pairing, "00000000000000b2").unwrap();
}

#[test]
fn a_pairing_from_before_the_record_said_minor_is_kept_and_waits() {
    let dir = tempfile::tempdir().unwrap();
    let mut part = vault(&dir, "p.db", 2);
    let (mut coord, care, pairing, p) = enrolled_and_paired(&dir, &mut part, false);
    message(&mut part, &pairing, "00000000000000c1").unwrap();
    coord.mark_minor(&care).unwrap();
    carry(&mut coord, &mut part);
    carry(&mut part, &mut coord);
    for v in [&coord, &part] {
        assert!(v.pairing_waits_for_guardian(&pairing).unwrap());
        assert_eq!(
            v.pairing_standing(&pairing).unwrap(),
            PairingStanding::Programme(p)
        );
        assert_eq!(v.read_space(&pairing, super::messages).unwrap().len(), 1);
    }
    // Not a pairing: a typed error.
    assert!(matches!(
        coord.pairing_waits_for_guardian(&care),
        Err(Error::NotFound(_))
    ));
}

/// Review M3: before the `pairing` purpose, a guardian's signed consent to sharing with the supporter
/// was what a minor's ongoing pairing stood on. It presupposes the pairing, so it lets the pairing
/// run too; a guardian's later withdrawal of `pairing` itself still makes it wait.
#[test]
fn a_guardians_signed_consent_to_sharing_with_the_supporter_lets_the_pairing_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut part = vault(&dir, "p.db", 2);
    let (mut coord, care, pairing, _) = enrolled_and_paired(&dir, &mut part, true);
    // Without the signed form's reference it opens nothing.
    coord
        .record_guardian_consent(&care, crate::care::SHARE_PURPOSE, "ibu", None, true)
        .unwrap();
    assert!(coord.pairing_waits_for_guardian(&pairing).unwrap());
    coord
        .record_guardian_consent(
            &care,
            crate::care::SHARE_PURPOSE,
            "ibu",
            Some("formulir 2026/041"),
            true,
        )
        .unwrap();
    carry(&mut coord, &mut part);
    for v in [&coord, &part] {
        assert!(!v.pairing_waits_for_guardian(&pairing).unwrap());
    }
    message(&mut part, &pairing, "00000000000000d1").unwrap();
    message(&mut coord, &pairing, "00000000000000d2").unwrap();
    part.consent_to_sharing(&pairing, true).unwrap();
    // The guardian withdraws the pairing itself: it waits, whatever the sharing consent says.
    coord
        .record_guardian_consent(
            &care,
            PAIRING_PURPOSE,
            "ibu",
            Some("formulir 2026/041"),
            false,
        )
        .unwrap();
    carry(&mut coord, &mut part);
    for v in [&coord, &part] {
        assert!(v.pairing_waits_for_guardian(&pairing).unwrap());
    }
    // Withdrawing the sharing consent alone, with no `pairing` record, makes it wait again too.
    let dir = tempfile::tempdir().unwrap();
    let mut part = vault(&dir, "p.db", 2);
    let (mut coord, care, pairing, _) = enrolled_and_paired(&dir, &mut part, true);
    for agreed in [true, false] {
        coord
            .record_guardian_consent(
                &care,
                crate::care::SHARE_PURPOSE,
                "ibu",
                Some("F-9"),
                agreed,
            )
            .unwrap();
    }
    carry(&mut coord, &mut part);
    assert!(part.pairing_waits_for_guardian(&pairing).unwrap());
}

/// Review M1: a reminder (a task carries free text) is a write into the pairing like a message, so a
/// waiting minor's pairing takes none from either side until a guardian's consent stands.
#[test]
fn a_waiting_minors_pairing_takes_no_reminders() {
    use crate::reminders::{NewReminder, ReminderFor, ReminderKind, Schedule};
    let dir = tempfile::tempdir().unwrap();
    let mut part = vault(&dir, "p.db", 2);
    let (mut coord, care, pairing, _) = enrolled_and_paired(&dir, &mut part, true);
    let tomorrow = crate::store::clock::now_ms() / 1000 + 86_400;
    let task = |for_whom| NewReminder {
        kind: ReminderKind::Task,
        for_whom,
        text: "WA 0812".into(),
        schedule: Schedule::Once {
            at_secs: tomorrow,
            offset_minutes: 7 * 60,
        },
        lead_minutes: 0,
    };
    assert!(matches!(
        coord.add_reminder(&pairing, &task(ReminderFor::Participant)),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        part.add_reminder(&pairing, &task(ReminderFor::Supporter)),
        Err(Error::NotAllowed(_))
    ));
    // Nothing was written on either side (so there is nothing to carry).
    for v in [&coord, &part] {
        assert!(v.reminders(&pairing).unwrap().is_empty());
    }
    // Once the guardian's consent stands, both sides add them.
    coord
        .record_guardian_consent(&care, PAIRING_PURPOSE, "ibu", Some("F-12"), true)
        .unwrap();
    carry(&mut coord, &mut part);
    coord
        .add_reminder(&pairing, &task(ReminderFor::Participant))
        .unwrap();
    part.add_reminder(&pairing, &task(ReminderFor::Supporter))
        .unwrap();
    carry(&mut coord, &mut part);
    assert_eq!(part.reminders(&pairing).unwrap().len(), 2);
}
