//! A document whose `save()` Automerge's `load` refuses (a fuzzing finding, open in Automerge 0.12:
//! docs/reliability.md): compacting into it still leaves a space that opens with every change
//! (`Space::load` reads chunks with `load_incremental`, which takes it), and it is never sealed into
//! a snapshot, which receivers would `load` and refuse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::DeviceId;

use super::rules::tests::device;
use super::{Space, SpaceKind, actor_of, decode_changes};
use crate::journal;

/// The journal of `fuzz/corpus/journal_merge/crash-741ce5b9…`: two entries by one device, then a
/// member's changes after which the document's `save()` no longer loads (`BadChecksum`).
fn unloadable_after_save() -> automerge::AutoCommit {
    let device = |seed: u8| {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        DeviceId::from_slice(kp.public_key().as_ref()).unwrap()
    };
    let mut doc = journal_of_two_entries();
    let hex = include_str!("../../tests/data/changes-after-which-save-does-not-load.hex");
    let payload = hex::decode(hex.trim()).unwrap();
    let changes = decode_changes(&payload, &device(0x5e)).unwrap();
    super::codec::apply_untrusted(&mut doc, changes).unwrap();
    assert!(
        automerge::AutoCommit::load(&doc.save()).is_err(),
        "the finding no longer reproduces: Automerge fixed it, and this test can go"
    );
    doc
}

/// The fuzz harness's journal (device 0x6f): two entries.
fn journal_of_two_entries() -> automerge::AutoCommit {
    let kp = Ed25519KeyPair::from_seed_unchecked(&[0x6f; 32]).unwrap();
    let other = DeviceId::from_slice(kp.public_key().as_ref()).unwrap();
    let mut doc = automerge::AutoCommit::new().with_actor(actor_of(&other));
    journal::add(
        &mut doc,
        "0123456789abcdef",
        "hari ini baik",
        4,
        &["tidur".into()],
        1_790_000_000_000,
    )
    .unwrap();
    journal::add(
        &mut doc,
        "fedcba9876543210",
        "capek",
        2,
        &[],
        1_790_000_100_000,
    )
    .unwrap();
    doc
}

#[test]
fn a_document_whose_save_does_not_load_compacts_opens_again_and_is_not_snapshotted() {
    let d = device(7);
    let mut space = Space::create(&d.store, SpaceKind::Journal, &d.id).unwrap();
    space.persist(&d.store).unwrap();
    let mut doc = unloadable_after_save();
    doc.set_actor(actor_of(&d.id.device));
    space.doc = doc;
    space.persist(&d.store).unwrap();
    let mut heads = space.doc.get_heads();
    heads.sort();
    space.compact(&d.store).unwrap();
    assert!(space.seal_snapshot(&d.store, &d.id).unwrap().is_none());
    let id = space.id;
    drop(space);
    let mut again = Space::load(&d.store, &id, &d.id).expect("the space opens again");
    let mut loaded = again.doc.get_heads();
    loaded.sort();
    assert_eq!(loaded, heads, "every change is still there");
    assert_eq!(journal::list(&again.doc).len(), 2);
}

/// Found by the `journal_merge` fuzz target (fuzz/corpus/journal_merge/crash-05e9e78d…, less its
/// mode byte): a member's bundle whose changes apply to the journal, after which Automerge's `save()`
/// does not load even with `load_incremental` (`MissingOps`). Compacting into that save would leave
/// a space the vault cannot open again.
#[test]
fn a_document_whose_save_does_not_load_incrementally_compacts_and_opens_again() {
    let d = device(7);
    let mut space = Space::create(&d.store, SpaceKind::Journal, &d.id).unwrap();
    space.persist(&d.store).unwrap();
    let mut doc = journal_of_two_entries();
    let hex =
        include_str!("../../tests/data/changes-after-which-save-does-not-load-incrementally.hex");
    let payload = hex::decode(hex.trim()).unwrap();
    let member = {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[0x5e; 32]).unwrap();
        DeviceId::from_slice(kp.public_key().as_ref()).unwrap()
    };
    let changes = decode_changes(&payload, &member).unwrap();
    super::codec::apply_untrusted(&mut doc, changes).unwrap();
    doc.set_actor(actor_of(&d.id.device));
    space.doc = doc;
    space.persist(&d.store).unwrap();
    let mut heads = space.doc.get_heads();
    heads.sort();
    let entries = journal::list(&space.doc);
    space.compact(&d.store).unwrap();
    let id = space.id;
    drop(space);
    let mut again = Space::load(&d.store, &id, &d.id).expect("the space opens again");
    let mut loaded = again.doc.get_heads();
    loaded.sort();
    assert_eq!(loaded, heads, "every change is still there");
    assert_eq!(journal::list(&again.doc), entries);
}
