//! Pairings under a programme (issue 14, item 11), between vaults that exchange bundles: opened
//! only by a trained supporter under a programme, refused on the participant's device when set up
//! outside one, older ones bound by their supporter's device or kept outside a programme.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::PairingStanding;
use crate::care::programmes::now_secs;
use crate::error::Error;
use crate::space::rules::credentials::REQUIRED_FOR_PAIRING;
use crate::{SpaceId, Vault};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

/// A programme `v`'s person makes (so they coordinate it), with `modules` certified for them by
/// the programme key.
fn programme_with(v: &mut Vault, modules: &[&str]) -> [u8; 32] {
    let p = v.create_programme("PIK-R SMA 1").unwrap();
    let me = v.person_id().unwrap();
    for m in modules {
        let c = v
            .certify_training(&p, &me, m, now_secs() - 86_400, 365)
            .unwrap();
        v.add_training_record(&c).unwrap();
    }
    p
}

/// Everything `from` holds, carried to `to` in a file; how many envelopes `to` set aside.
fn carry(from: &mut Vault, to: &mut Vault) -> u32 {
    let bundle = from.export_bundle(&[], None).expect("export");
    to.import_bundle(&bundle).expect("import").quarantined
}

/// The request code of a participant's device.
fn request(v: &Vault) -> String {
    v.link_request().unwrap()
}

#[test]
fn a_pairing_opens_only_under_a_programme_whose_training_the_supporter_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = vault(&dir, "s.db", 1);
    let mut part = vault(&dir, "p.db", 2);

    // A programme this person holds no role in.
    let foreign = [0x42; 32];
    assert!(matches!(
        sup.create_pairing(&request(&part), &foreign),
        Err(Error::NotAllowed(_))
    ));
    // A role, four of the five modules: the fifth is named, nothing is created.
    let p = programme_with(&mut sup, &REQUIRED_FOR_PAIRING[..4]);
    match sup.create_pairing(&request(&part), &p) {
        Err(Error::NotCertified(missing)) => assert_eq!(missing, "self-care"),
        other => panic!("{other:?}"),
    }
    assert!(sup.shared_spaces().is_empty());

    let me = sup.person_id().unwrap();
    let c = sup
        .certify_training(&p, &me, "self-care", now_secs() - 86_400, 365)
        .unwrap();
    sup.add_training_record(&c).unwrap();
    let (id, response) = sup.create_pairing(&request(&part), &p).unwrap();
    assert_eq!(
        sup.pairing_standing(&id).unwrap(),
        PairingStanding::Programme(p)
    );
    part.join_space(&response).unwrap();
    assert_eq!(carry(&mut sup, &mut part), 0);
    assert_eq!(
        part.pairing_standing(&id).unwrap(),
        PairingStanding::Programme(p)
    );
    assert!(part.read_space(&id, super::supporter).unwrap().is_some());
}

#[test]
fn a_participant_refuses_a_pairing_set_up_outside_a_programme() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = vault(&dir, "s.db", 1);
    let mut part = vault(&dir, "p.db", 2);
    // What a modified client does: no programme, no check.
    let (id, response) = sup
        .create_pairing_outside_programme_for_tests(&request(&part))
        .unwrap();
    part.join_space(&response).unwrap();
    assert!(carry(&mut sup, &mut part) >= 1);
    // Nothing of the set-up reached the participant's document.
    assert_eq!(part.read_space(&id, super::supporter).unwrap(), None);
    assert_eq!(part.read_space(&id, super::participant).unwrap(), None);
}

/// A pairing from before programmes were required: held by a participant's device that joined it
/// then (no note that it needs a binding). Returns the supporter, the participant and the pairing.
fn old_pairing(dir: &tempfile::TempDir) -> (Vault, Vault, SpaceId) {
    let mut sup = vault(dir, "s.db", 1);
    let mut part = vault(dir, "p.db", 2);
    let (id, response) = sup
        .create_pairing_outside_programme_for_tests(&request(&part))
        .unwrap();
    part.join_space(&response).unwrap();
    // Joined by the version before this one, which made no note.
    let name = format!("pairing-needs-programme/{}", id.to_hex());
    let k = part.store.lookup("kv", name.as_bytes());
    part.store
        .conn
        .execute("DELETE FROM kv WHERE k = ?1", [&k])
        .unwrap();
    assert!(part.store.kv_get(&name).unwrap().is_none());
    assert_eq!(carry(&mut sup, &mut part), 0);
    (sup, part, id)
}

#[test]
fn an_older_pairing_stays_outside_a_programme_when_its_programme_cannot_be_told() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = old_pairing(&dir);
    for v in [&sup, &part] {
        assert_eq!(v.pairing_standing(&id).unwrap(), PairingStanding::Outside);
        assert!(v.read_space(&id, super::supporter).unwrap().is_some());
    }
    // Certified in two programmes: which one the pairing belongs to cannot be told.
    programme_with(&mut sup, &REQUIRED_FOR_PAIRING);
    programme_with(&mut sup, &REQUIRED_FOR_PAIRING);
    assert_eq!(sup.bind_pairings_outside_programmes().unwrap(), 0);
    assert_eq!(sup.pairing_standing(&id).unwrap(), PairingStanding::Outside);
    // Still there, and still in use.
    let me = part.device_id().to_hex();
    part.with_space(&id, |d, now| {
        super::send_message(d, "00000000000000c1", "Masih di sini.", &me, now)
    })
    .unwrap();
    assert_eq!(carry(&mut part, &mut sup), 0);
    assert_eq!(sup.read_space(&id, super::messages).unwrap().len(), 1);
    // Asking a pairing's standing of something else is a typed error.
    let g = sup.create_group("Kelompok").unwrap();
    assert!(matches!(
        sup.pairing_standing(&g),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn an_older_pairing_is_bound_to_the_one_programme_its_supporter_is_certified_in() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sup, mut part, id) = old_pairing(&dir);
    // A role without the training binds nothing.
    let p = programme_with(&mut sup, &REQUIRED_FOR_PAIRING[..2]);
    assert_eq!(sup.bind_pairings_outside_programmes().unwrap(), 0);
    let me = sup.person_id().unwrap();
    for m in &REQUIRED_FOR_PAIRING[2..] {
        let c = sup
            .certify_training(&p, &me, m, now_secs() - 86_400, 365)
            .unwrap();
        sup.add_training_record(&c).unwrap();
    }
    assert_eq!(sup.bind_pairings_outside_programmes().unwrap(), 1);
    assert_eq!(
        sup.pairing_standing(&id).unwrap(),
        PairingStanding::Programme(p)
    );
    // The participant's device judges the binding like a new pairing's, and accepts it.
    assert_eq!(carry(&mut sup, &mut part), 0);
    assert_eq!(
        part.pairing_standing(&id).unwrap(),
        PairingStanding::Programme(p)
    );
    assert_eq!(sup.bind_pairings_outside_programmes().unwrap(), 0);
}

/// A programme in which `v`'s person may open pairings (for other tests that need a pairing).
pub(crate) fn trained_programme(v: &mut Vault) -> [u8; 32] {
    programme_with(v, &REQUIRED_FOR_PAIRING)
}
