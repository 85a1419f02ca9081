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
    let (pair, resp) = sebaya_tests::pairings::certified_pairing(
        &mut supporter,
        &participant.link_request().unwrap(),
    )
    .unwrap();
    participant.join_space(&resp).unwrap();
    // The pairing's first changes travel by file, then a check-in comes back the same way.
    let to_participant = supporter.export_bundle(&[pair], None).unwrap();
    participant.import_bundle(&to_participant).unwrap();
    let me = participant.device_id().to_hex();
    participant
        .with_space(&pair, |d, now| {
            pairing::add_checkin(d, "00000000000000a1", 4, "Lebih baik.", &me, now)
        })
        .unwrap();
    let back = participant
        .export_bundle(&[pair], Some(&supporter.device_id()))
        .unwrap();
    supporter.import_bundle(&back).unwrap();
    let checkins = supporter.read_space(&pair, pairing::checkins).unwrap();
    assert_eq!(checkins.len(), 1);
    assert_eq!(checkins[0].note, "Lebih baik.");
}

#[test]
fn a_carrier_hands_what_it_cannot_read_to_the_relay_and_to_another_device() {
    let n = sebaya_tests::net::net();
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Vault::open(&dir.path().join("phone.db"), &[1; 32]).unwrap();
    phone.create_person().unwrap();
    phone.journal_add("Sebelum berangkat.", 3, &[]).unwrap();
    let mut tablet = Vault::open(&dir.path().join("tablet.db"), &[2; 32]).unwrap();
    tablet
        .complete_link(&phone.approve_link(&tablet.link_request().unwrap()).unwrap())
        .unwrap();
    sebaya_tests::net::sync(&n, &mut phone);
    sebaya_tests::net::sync(&n, &mut tablet);

    // In a village without signal, the phone writes and hands a file to a supporter who travels.
    phone
        .journal_add("Dari desa, tanpa sinyal.", 4, &[])
        .unwrap();
    let file = phone.export_bundle(&[], None).unwrap();
    let mut carrier = Vault::open(&dir.path().join("carrier.db"), &[3; 32]).unwrap();
    carrier.create_person().unwrap();
    // Not opted in: a stranger's file is refused.
    assert!(matches!(
        carrier.import_bundle(&file),
        Err(Error::StrangerBundle)
    ));
    assert!(matches!(
        carrier.set_carry_quota(u64::MAX),
        Err(Error::InvalidInput(_))
    ));
    carrier.set_carry_quota(1 << 20).unwrap();
    let r = carrier.import_bundle(&file).unwrap();
    assert!(r.carried > 0);
    assert_eq!(r.stored, 0);
    let status = carrier.carry_status().unwrap();
    assert_eq!(status.envelopes, r.carried);
    assert!(
        carrier.journal_list().is_empty(),
        "the carrier reads nothing"
    );

    // Handed on by file to the person's other device...
    let onward = carrier.export_bundle(&[], None).unwrap();
    let mut other = Vault::open(&dir.path().join("other.db"), &[4; 32]).unwrap();
    other
        .complete_link(&phone.approve_link(&other.link_request().unwrap()).unwrap())
        .unwrap();
    other.import_bundle(&onward).unwrap();
    assert!(
        other
            .journal_list()
            .iter()
            .any(|e| e.text == "Dari desa, tanpa sinyal.")
    );

    // ...and, in town, to the relay, which takes them by their author's signature.
    sebaya_tests::net::sync(&n, &mut carrier);
    assert_eq!(carrier.carry_status().unwrap().envelopes, 0);
    sebaya_tests::net::sync(&n, &mut tablet);
    assert!(
        tablet
            .journal_list()
            .iter()
            .any(|e| e.text == "Dari desa, tanpa sinyal.")
    );
}
