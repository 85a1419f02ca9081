//! The receipt rule for wraps added to a safeguarding concern later (protocol 22.4, rules version
//! 10), judged the way a receiving device judges an envelope (`rules::allowed`, against the
//! document before it): each check alone decides one case, so a case passes only while its check
//! stands (review M3); a concern and a wrap for it in one envelope are taken together (review H1);
//! and what the rule accepts, a device of the previous rules (9) accepts too (review H2).
#![allow(clippy::unwrap_used)]

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ROOT, ScalarValue};

use crate::space::SpaceKind;
use crate::space::rules;
use crate::{SpaceId, Vault};

fn now_secs() -> i64 {
    crate::store::clock::now_ms() / 1000
}

/// A coordinator (the safeguarding space's creator, so its admin) holding a care record and the
/// programme's safeguarding space; the care record's id.
fn coordinator_with_space(dir: &tempfile::TempDir) -> (Vault, SpaceId, SpaceId) {
    let mut c = Vault::open(&dir.path().join("c.db"), &[1; 32]).unwrap();
    c.create_person().unwrap();
    let mut p = Vault::open(&dir.path().join("p.db"), &[2; 32]).unwrap();
    p.create_person().unwrap();
    let programme = c.create_programme("P").unwrap();
    let (care, _) = c
        .enrol_participant_as(&p.link_request().unwrap(), programme, true)
        .unwrap();
    let space = c.create_safeguarding_space(programme).unwrap();
    (c, care, space)
}

/// The same, with one concern of its own written into the space.
fn coordinator_with_concern(dir: &tempfile::TempDir) -> (Vault, SpaceId, String) {
    let (mut c, care, space) = coordinator_with_space(dir);
    let id = c.raise_concern(&care).unwrap();
    (c, space, id)
}

/// A wrap-shaped value: a key wrap's length, its version byte first.
fn wrap_shaped() -> ScalarValue {
    let mut b = vec![0x5a; crate::crypto::keywrap::KEY_WRAP_LEN];
    b[0] = 1;
    ScalarValue::Bytes(b)
}

/// Whether the space's members would take in, from this device, the changes `edit` makes to
/// `base` (the space's document, or one a test moved on).
fn judged(
    c: &Vault,
    space: &SpaceId,
    base: &AutoCommit,
    edit: impl FnOnce(&mut AutoCommit),
) -> bool {
    judged_as(c, space, base, edit, true)
}

/// [`judged`], with the author's programme credentials read (`true`) or not (`false`: an admin of
/// the space who holds no role in the programme, such as a creator whose grant was revoked).
fn judged_as(
    c: &Vault,
    space: &SpaceId,
    base: &AutoCommit,
    edit: impl FnOnce(&mut AutoCommit),
    with_programme: bool,
) -> bool {
    let s = c.held_ref(space).unwrap();
    let mut doc = base.clone();
    let before = doc.get_heads();
    let mut trial = doc
        .fork()
        .with_actor(crate::space::actor_of(&c.identity.device));
    edit(&mut trial);
    trial.commit_with(CommitOptions::default().with_time(now_secs()));
    let changes = trial.get_changes(&before);
    let registry = rules::registry_for(base, &changes).filter(|_| with_programme);
    let author = rules::author(
        s.membership(),
        s.creator(),
        (c.identity.device, u64::MAX / 2),
        registry.as_ref(),
    );
    rules::allowed(base, SpaceKind::Safeguarding, &author, &changes)
}

fn put(key: String) -> impl FnOnce(&mut AutoCommit) {
    move |d| {
        d.put(ROOT, key.as_str(), wrap_shaped()).unwrap();
    }
}

#[test]
fn each_check_of_the_rule_decides_its_own_case() {
    let dir = tempfile::tempdir().unwrap();
    let (c, space, id) = coordinator_with_concern(&dir);
    let doc = c.held_ref(&space).unwrap().doc.clone();
    let me = c.identity.device.to_hex();
    let someone = "ab".repeat(32);
    let key = |concern: &str, device: &str, adder: &str| {
        crate::rewrap_key_for_tests(concern, device, adder)
    };
    // The admin coordinator's wrap of a concern it holds, for a device, in its own name: taken.
    assert!(judged(&c, &space, &doc, put(key(&id, &me, &me))), "control");
    // The same by an admin of the space who holds no coordinator role: refused (review N1 of the
    // second review: this check alone decides it).
    assert!(
        !judged_as(&c, &space, &doc, put(key(&id, &me, &me)), false),
        "coordinator"
    );
    // The same, in another adder's name: refused.
    assert!(
        !judged(&c, &space, &doc, put(key(&id, &me, &someone))),
        "adder"
    );
    // For a concern the document does not hold: refused.
    assert!(
        !judged(&c, &space, &doc, put(key("00000000000000ff", &me, &me))),
        "concern"
    );
    // Not a key wrap's length: refused.
    assert!(
        !judged(&c, &space, &doc, |d| {
            d.put(
                ROOT,
                key(&id, &me, &me).as_str(),
                ScalarValue::Bytes(vec![1; 80]),
            )
            .unwrap();
        }),
        "length"
    );
    // A device id that is not one: refused.
    assert!(
        !judged(&c, &space, &doc, put(key(&id, "xyz", &me))),
        "device"
    );
    // Once there, never edited or deleted, by anyone.
    let mut held = doc.clone();
    held.put(ROOT, key(&id, &me, &me).as_str(), wrap_shaped())
        .unwrap();
    held.commit_with(CommitOptions::default().with_time(now_secs()));
    // (Another value: Automerge writes nothing for a put of the value already there.)
    let other = |d: &mut AutoCommit| {
        let mut b = vec![0x6b; crate::crypto::keywrap::KEY_WRAP_LEN];
        b[0] = 1;
        d.put(ROOT, key(&id, &me, &me).as_str(), ScalarValue::Bytes(b))
            .unwrap();
    };
    assert!(
        judged(&c, &space, &doc, other),
        "control: that value where none stood"
    );
    assert!(!judged(&c, &space, &held, other), "edit");
    assert!(
        !judged(&c, &space, &held, |d| {
            d.delete(ROOT, key(&id, &me, &me).as_str()).unwrap();
        }),
        "delete"
    );
}

/// Review H1: a concern and a wrap added for it before either left this device travel in one
/// envelope; every receiver takes both.
#[test]
fn a_concern_and_its_added_wrap_in_one_envelope_are_taken_together() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, care, space) = coordinator_with_space(&dir);
    // The document as the receivers hold it: before the concern was written.
    let before = c.held_ref(&space).unwrap().doc.clone();
    let h0 = before.clone().get_heads();
    let id = c.raise_concern(&care).unwrap();
    let me = c.identity.device.to_hex();
    let key = crate::rewrap_key_for_tests(&id, &"cd".repeat(32), &me);
    let s = c.held_ref(&space).unwrap();
    let mut doc = s.doc.clone();
    let mut changes = doc.get_changes(&h0);
    assert!(!changes.is_empty());
    let concern_only = changes.len();
    // The wrap's change, made on top: one envelope judged against `before`.
    let heads = doc.get_heads();
    let mut trial = doc
        .fork()
        .with_actor(crate::space::actor_of(&c.identity.device));
    trial.put(ROOT, key.as_str(), wrap_shaped()).unwrap();
    trial.commit_with(CommitOptions::default().with_time(now_secs()));
    changes.extend(trial.get_changes(&heads));
    let registry = rules::registry_for(&before, &changes);
    let author = rules::author(
        s.membership(),
        s.creator(),
        (c.identity.device, u64::MAX / 2),
        registry.as_ref(),
    );
    assert!(
        rules::allowed(
            &before,
            SpaceKind::Safeguarding,
            &author,
            &changes[..concern_only]
        ),
        "the concern alone"
    );
    assert!(
        rules::allowed(&before, SpaceKind::Safeguarding, &author, &changes),
        "the concern and its wrap, in one envelope"
    );
}

/// Review H2: a device still on rules version 9 takes in the wrap the rule accepts (an admin's
/// root key), so nothing built on it waits there.
#[test]
fn what_the_rule_takes_a_device_on_rules_9_takes_too() {
    let dir = tempfile::tempdir().unwrap();
    let (c, space, id) = coordinator_with_concern(&dir);
    let doc = c.held_ref(&space).unwrap().doc.clone();
    let me = c.identity.device.to_hex();
    let key = crate::rewrap_key_for_tests(&id, &"cd".repeat(32), &me);
    assert!(judged(&c, &space, &doc, put(key.clone())));
    assert!(crate::judged_as_rules_9_for_tests(|| judged(
        &c,
        &space,
        &doc,
        put(key)
    )));
}

/// Second review N2: a wrap is judged against its own change's past, not against what the receiver
/// holds now. A wrap made where the concern was not yet known (a change concurrent with the
/// concern, which only a modified app sends) is refused by a device that holds the concern too:
/// otherwise a device that got the concern first would take the wrap and one that got the wrap
/// first would refuse it for good.
#[test]
fn a_wrap_without_the_concern_in_its_past_is_refused_where_the_concern_is_held_too() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, care, space) = coordinator_with_space(&dir);
    let before = c.held_ref(&space).unwrap().doc.clone();
    let h0 = before.clone().get_heads();
    let id = c.raise_concern(&care).unwrap();
    let holding = c.held_ref(&space).unwrap().doc.clone();
    let me = c.identity.device.to_hex();
    let key = crate::rewrap_key_for_tests(&id, &me, &me);
    // Control: made on top of the concern, taken by a device holding it.
    assert!(judged(&c, &space, &holding, put(key.clone())), "control");
    // Made on the document before the concern (its dependencies name no concern).
    let mut trial = before
        .clone()
        .fork()
        .with_actor(crate::space::actor_of(&c.identity.device));
    trial.put(ROOT, key.as_str(), wrap_shaped()).unwrap();
    trial.commit_with(CommitOptions::default().with_time(now_secs()));
    let changes = trial.get_changes(&h0);
    assert_eq!(changes.len(), 1);
    let s = c.held_ref(&space).unwrap();
    let registry = rules::registry_for(&holding, &changes);
    let author = rules::author(
        s.membership(),
        s.creator(),
        (c.identity.device, u64::MAX / 2),
        registry.as_ref(),
    );
    assert!(
        !rules::allowed(&before, SpaceKind::Safeguarding, &author, &changes),
        "refused where the concern is not held"
    );
    assert!(
        !rules::allowed(&holding, SpaceKind::Safeguarding, &author, &changes),
        "and refused alike where it is held"
    );
}
