//! Persons with several devices, through a real relay on loopback: linking a device certified by its
//! person reaches every space of that person (the index, then vouches), and a phone restored from the
//! recovery phrase onto an empty vault gets everything back from the relay's ciphertext alone, as a
//! new device.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_tests::net::{Net, net, sync};

use sebaya_core::groups;
use sebaya_core::{Role, Vault};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    Vault::open(&dir.path().join(name), &[seed; 32]).unwrap()
}

fn note(v: &mut Vault, g: &sebaya_core::SpaceId, id: &str, text: &str) {
    let me = v.device_id().to_hex();
    v.with_space(g, |d, now| {
        groups::add_note(d, id, "Catatan", text, &me, now)
    })
    .unwrap();
}

fn texts(v: &Vault, g: &sebaya_core::SpaceId) -> Vec<String> {
    let mut t: Vec<String> = v
        .read_space(g, groups::notes)
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect();
    t.sort();
    t
}

/// A phone with a person, a journal, a group it facilitates and a group it belongs to as a member
/// (facilitated by someone else), all synced.
struct World {
    n: Net,
    dir: tempfile::TempDir,
    phone: Vault,
    other: Vault,
    own_group: sebaya_core::SpaceId,
    their_group: sebaya_core::SpaceId,
    phrase: String,
}

fn world() -> World {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut phone = vault(&dir, "phone.db", 1);
    let mut other = vault(&dir, "other.db", 2);
    let phrase = phone.create_person().unwrap().as_str().to_string();
    phone.journal_add("Hari ini cukup baik.", 4, &[]).unwrap();
    let own_group = phone.create_group("Kelompok Rina").unwrap();
    note(&mut phone, &own_group, "00000000000000a1", "Catatan Rina");
    let their_group = other.create_group("Kelompok Eko").unwrap();
    let resp = other
        .approve_group_member(&their_group, &phone.link_request().unwrap(), Role::Member)
        .unwrap();
    phone.join_group(&resp).unwrap();
    note(&mut other, &their_group, "00000000000000b1", "Catatan Eko");
    // A rotation in Eko's group before anything else: keys of two epochs.
    let gone = vault(&dir, "gone.db", 9);
    other
        .approve_group_member_with(
            &their_group,
            &gone.link_request().unwrap(),
            Role::Member,
            true,
        )
        .unwrap();
    other
        .remove_group_member(&their_group, &gone.device_id())
        .unwrap();
    note(
        &mut other,
        &their_group,
        "00000000000000b2",
        "Setelah rotasi",
    );
    sync(&n, &mut other);
    sync(&n, &mut phone);
    sync(&n, &mut phone);
    assert_eq!(texts(&phone, &their_group).len(), 2);
    World {
        n,
        dir,
        phone,
        other,
        own_group,
        their_group,
        phrase,
    }
}

#[test]
fn a_phone_restored_from_the_phrase_gets_every_space_back_as_a_new_device() {
    let World {
        n,
        dir,
        mut phone,
        mut other,
        own_group,
        their_group,
        phrase,
    } = world();
    // The phone is lost. A new, empty vault and the phrase written down at onboarding:
    let mut restored = vault(&dir, "restored.db", 3);
    restored.restore_person(&phrase).unwrap();
    assert_eq!(restored.person_id(), phone.person_id());
    assert_ne!(
        restored.device_id(),
        phone.device_id(),
        "a new device, never the old author"
    );
    let r = sync(&n, &mut restored);
    eprintln!("first {r:?}");
    assert!(r.from_index >= 3, "journal and both groups: {r:?}");
    let r = sync(&n, &mut restored);
    eprintln!("second {r:?}");
    for (id, kind, role) in restored.shared_spaces() {
        let m = restored.space_membership(&id).unwrap();
        eprintln!(
            "{kind:?} {role:?} members {} heads {}",
            m.members.len(),
            m.heads.len()
        );
    }
    // The journal, the group it facilitates (as facilitator) and the group it belongs to.
    let entries = restored.journal_list();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].text, "Hari ini cukup baik.");
    assert_eq!(texts(&restored, &own_group), vec!["Catatan Rina"]);
    assert_eq!(
        texts(&restored, &their_group),
        vec!["Catatan Eko", "Setelah rotasi"]
    );
    let roles: std::collections::HashMap<_, _> = restored
        .groups()
        .into_iter()
        .map(|g| (g.id, g.role))
        .collect();
    assert_eq!(roles[&own_group], Some(Role::Admin));
    assert_eq!(roles[&their_group], Some(Role::Member));
    // It writes as itself, and the others read it.
    note(
        &mut restored,
        &their_group,
        "00000000000000c1",
        "Saya kembali",
    );
    sync(&n, &mut restored);
    sync(&n, &mut other);
    assert!(texts(&other, &their_group).contains(&"Saya kembali".to_string()));
    let state = other.space_membership(&their_group).unwrap();
    assert_eq!(
        state.persons.get(&restored.device_id()),
        phone.person_id().map(|p| p.0).as_ref()
    );
    // Its facilitator role is real: it removes the lost phone from its own group, rotating the key.
    restored
        .remove_group_member(&own_group, &phone.device_id())
        .unwrap();
    sync(&n, &mut restored);
    assert_eq!(sync(&n, &mut phone).refused_spaces, 1);
}

#[test]
fn a_linked_device_certified_by_its_person_reaches_every_space_of_that_person() {
    let World {
        n,
        dir,
        mut phone,
        mut other,
        own_group,
        their_group,
        ..
    } = world();
    let mut tablet = vault(&dir, "tablet.db", 4);
    let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
    tablet.complete_link(&resp).unwrap();
    assert_eq!(
        tablet.person_id(),
        phone.person_id(),
        "certified by the person"
    );
    sebaya_core::verify_device_certificate(&tablet.device_certificate().unwrap()).unwrap();
    sync(&n, &mut phone);
    let r = sync(&n, &mut tablet);
    assert!(r.from_index >= 2, "{r:?}");
    sync(&n, &mut tablet);
    assert_eq!(texts(&tablet, &own_group), vec!["Catatan Rina"]);
    assert_eq!(
        texts(&tablet, &their_group),
        vec!["Catatan Eko", "Setelah rotasi"]
    );
    // The other members see the tablet as the same person's device.
    sync(&n, &mut other);
    let state = other.space_membership(&their_group).unwrap();
    assert!(state.is_member(&tablet.device_id()));
    assert_eq!(
        state.persons.get(&tablet.device_id()),
        phone.person_id().map(|p| p.0).as_ref()
    );
    // And the phone is told a new device was linked elsewhere? No: the phone linked it itself.
    assert!(phone.new_linked_devices().unwrap().is_empty());
}

#[test]
fn a_stranger_with_a_certificate_of_another_person_cannot_vouch_into_a_space() {
    let World {
        n,
        dir,
        mut other,
        their_group,
        ..
    } = world();
    // Someone with a person of their own restores nothing of Rina's: their index lists nothing, and
    // a group of Eko's is not theirs.
    let mut stranger = vault(&dir, "stranger.db", 5);
    stranger.create_person().unwrap();
    let r = sync(&n, &mut stranger);
    assert_eq!(r.from_index, 0);
    assert!(stranger.groups().is_empty());
    sync(&n, &mut other);
    assert!(
        !other
            .space_membership(&their_group)
            .unwrap()
            .is_member(&stranger.device_id())
    );
}

#[test]
fn after_the_phrase_is_replaced_the_old_one_opens_nothing_new() {
    let World {
        n,
        dir,
        mut phone,
        mut other,
        own_group,
        their_group,
        phrase: old_phrase,
    } = world();
    let old_person = phone.person_id().unwrap();
    let new_phrase = phone
        .replace_recovery_phrase()
        .unwrap()
        .as_str()
        .to_string();
    assert_ne!(new_phrase, old_phrase);
    let new_person = phone.person_id().unwrap();
    assert_ne!(new_person, old_person);
    note(
        &mut phone,
        &own_group,
        "00000000000000a2",
        "Setelah ganti frasa",
    );
    sync(&n, &mut phone);
    sync(&n, &mut other);
    // Everyone now knows the phone as the new person's device.
    assert_eq!(
        other
            .space_membership(&their_group)
            .unwrap()
            .persons
            .get(&phone.device_id()),
        Some(&new_person.0)
    );

    // Someone holding the old phrase restores it: nothing comes back, nothing is joined.
    let mut thief = vault(&dir, "thief.db", 6);
    thief.restore_person(&old_phrase).unwrap();
    let r = sync(&n, &mut thief);
    assert_eq!(r.from_index, 0, "{r:?}");
    sync(&n, &mut thief);
    assert!(thief.groups().is_empty());
    assert!(thief.journal_list().is_empty());
    sync(&n, &mut other);
    assert!(
        !other
            .space_membership(&their_group)
            .unwrap()
            .is_member(&thief.device_id())
    );

    // The new phrase restores everything, including what was written after the replacement.
    let mut restored = vault(&dir, "new.db", 7);
    restored.restore_person(&new_phrase).unwrap();
    let r = sync(&n, &mut restored);
    assert!(r.from_index >= 3, "{r:?}");
    sync(&n, &mut restored);
    assert_eq!(
        texts(&restored, &own_group),
        vec!["Catatan Rina", "Setelah ganti frasa"]
    );
    assert_eq!(restored.journal_list().len(), 1);
}

#[test]
fn revoking_a_lost_linked_device_reaches_groups_where_the_person_is_a_plain_member() {
    let World {
        n,
        dir,
        mut phone,
        mut other,
        their_group,
        ..
    } = world();
    // A tablet linked to the person reaches Eko's group (where the person is a plain member).
    let mut tablet = vault(&dir, "tablet.db", 4);
    let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
    tablet.complete_link(&resp).unwrap();
    sync(&n, &mut phone);
    sync(&n, &mut tablet);
    sync(&n, &mut tablet);
    sync(&n, &mut other);
    sync(&n, &mut phone);
    assert!(
        other
            .space_membership(&their_group)
            .unwrap()
            .is_member(&tablet.device_id())
    );
    // The tablet is lost. The phone (holding the person key) revokes it everywhere, Eko's group
    // included, on the person's word; Eko's device rotates the group key when it learns of it.
    phone.remove_device(&tablet.device_id()).unwrap();
    sync(&n, &mut phone);
    sync(&n, &mut other);
    assert!(
        !other
            .space_membership(&their_group)
            .unwrap()
            .is_member(&tablet.device_id())
    );
    note(
        &mut other,
        &their_group,
        "00000000000000e1",
        "Setelah tablet hilang",
    );
    sync(&n, &mut other);
    sync(&n, &mut phone);
    assert!(texts(&phone, &their_group).contains(&"Setelah tablet hilang".to_string()));
    // The tablet is refused by the relay and, handed the envelopes, could not read them anyway.
    let r = sync(&n, &mut tablet);
    assert!(r.refused_spaces >= 1, "{r:?}");
    assert!(!texts(&tablet, &their_group).contains(&"Setelah tablet hilang".to_string()));
}
