//! Issue 15, item 10: sealing costs what was written since the last seal, not the whole history.
//! Work is counted in changes read from the document (`Space::seal_work`), never in time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::ROOT;
use automerge::transaction::Transactable;

use super::rules::tests::device;
use super::{CODEC_BUNDLE, Space, SpaceKind};

/// `n` changes by the space's own device, one commit each.
fn write(s: &mut Space, n: usize) {
    for i in 0..n {
        s.doc.put(ROOT, format!("k{}", i % 97), i as i64).unwrap();
        s.doc.commit();
    }
}

#[test]
fn sealing_one_change_after_a_long_history_reads_a_bounded_number_of_changes() {
    let d = device(1);
    let mut s = Space::create(&d.store, SpaceKind::Journal, &d.id).unwrap();
    write(&mut s, 2_000);
    s.persist(&d.store).unwrap();
    assert!(s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap() >= 1);
    write(&mut s, 1);
    s.persist(&d.store).unwrap();
    let before = s.seal_work();
    assert_eq!(s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap(), 1);
    let work = s.seal_work() - before;
    assert!(
        work <= 2,
        "sealing one change after 2,000 read {work} changes"
    );
}
