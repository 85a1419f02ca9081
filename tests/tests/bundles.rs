//! Sync by file, with no relay at all (issue 5, bundles): two devices of one person, and a supporter
//! and a participant, exchange signed bundles; damaged, replayed and strangers' bundles are refused
//! whole and change nothing; a bundle for a known peer carries only what it lacks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::{Error, Vault, pairing};

fn texts(v: &Vault) -> Vec<String> {
    let mut t: Vec<String> = v.journal_list().into_iter().map(|e| e.text).collect();
    t.sort();
    t
}

#[test]
fn two_devices_sync_by_file_and_bad_files_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Vault::open(&dir.path().join("phone.db"), &[1; 32]).unwrap();
    phone.create_person().unwrap();
    phone.journal_add("Dari ponsel.", 4, &[]).unwrap();
    let mut tablet = Vault::open(&dir.path().join("tablet.db"), &[2; 32]).unwrap();
    let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
    tablet.complete_link(&resp).unwrap();

    // Offline, the tablet writes; its bundle reaches the phone on an SD card.
    tablet
        .journal_add("Dari tablet, tanpa sinyal.", 3, &[])
        .unwrap();
    let full = tablet.export_bundle(&[], None).unwrap();
    let before = texts(&phone);

    // Damaged copies are refused whole, and nothing changes.
    for bad in [
        full[..full.len() / 2].to_vec(),
        {
            let mut b = full.clone();
            let mid = b.len() / 2;
            b[mid] ^= 0x40;
            b
        },
        Vec::new(),
        b"SBYB1 not a bundle".to_vec(),
    ] {
        assert!(matches!(
            phone.import_bundle(&bad),
            Err(Error::BadBundle(_))
        ));
        assert_eq!(texts(&phone), before);
    }

    let report = phone.import_bundle(&full).unwrap();
    assert_eq!(report.exporter, tablet.device_id());
    assert!(report.stored > 0 && report.applied > 0);
    assert_eq!(
        texts(&phone),
        vec![
            "Dari ponsel.".to_string(),
            "Dari tablet, tanpa sinyal.".to_string()
        ]
    );
    // The same file again: refused as a replay.
    assert!(matches!(
        phone.import_bundle(&full),
        Err(Error::BundleReplayed)
    ));

    // A stranger's bundle (another person's device, another journal): refused, nothing kept.
    let mut stranger = Vault::open(&dir.path().join("s.db"), &[3; 32]).unwrap();
    stranger.create_person().unwrap();
    stranger.journal_add("Orang lain.", 2, &[]).unwrap();
    let theirs = stranger.export_bundle(&[], None).unwrap();
    assert!(matches!(
        phone.import_bundle(&theirs),
        Err(Error::StrangerBundle)
    ));
    assert_eq!(texts(&phone).len(), 2);

    // Back to the tablet: only what it lacks (the phone knows its vector from its bundle).
    phone.journal_add("Balasan dari ponsel.", 5, &[]).unwrap();
    let delta = phone.export_bundle(&[], Some(&tablet.device_id())).unwrap();
    let everything = phone.export_bundle(&[], None).unwrap();
    assert!(
        delta.len() < everything.len(),
        "delta {} bytes, full {} bytes",
        delta.len(),
        everything.len()
    );
    tablet.import_bundle(&delta).unwrap();
    assert_eq!(texts(&tablet), texts(&phone));
    // Asking for a space this device does not hold is NotFound.
    assert!(matches!(
        phone.export_bundle(&[sebaya_core::SpaceId([9; 16])], None),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn a_supporter_and_a_participant_keep_a_pairing_in_step_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut supporter = Vault::open(&dir.path().join("s.db"), &[1; 32]).unwrap();
    supporter.create_person().unwrap();
    let mut participant = Vault::open(&dir.path().join("p.db"), &[2; 32]).unwrap();
    participant.create_person().unwrap();
    let (pair, resp) = supporter
        .create_pairing(&participant.link_request().unwrap())
        .unwrap();
    participant.join_space(&resp).unwrap();
    // The pairing's first changes travel by file, then a check-in comes back the same way.
    let to_participant = supporter.export_bundle(&[pair], None).unwrap();
    participant.import_bundle(&to_participant).unwrap();
    let me = participant.device_id().to_hex();
    participant
        .with_group(&pair, |d, now| {
            pairing::add_checkin(d, "00000000000000a1", 4, "Lebih baik.", &me, now)
        })
        .unwrap();
    let back = participant
        .export_bundle(&[pair], Some(&supporter.device_id()))
        .unwrap();
    supporter.import_bundle(&back).unwrap();
    let checkins = supporter.read_group(&pair, pairing::checkins).unwrap();
    assert_eq!(checkins.len(), 1);
    assert_eq!(checkins[0].note, "Lebih baik.");
}
