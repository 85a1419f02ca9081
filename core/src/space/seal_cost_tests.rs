//! Issue 15, item 10: sealing costs what was written since the last seal, not the whole history.
//! Work is counted in changes read from the document (`Space::seal_work`), never in time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicI64, Ordering};

use automerge::transaction::Transactable;
use automerge::{ChangeHash, ROOT};
use sebaya_proto::{Envelope, Kind};

use super::outgoing::Walk;
use super::rules::tests::{Device, device, group, joined};
use super::{CODEC_BUNDLE, Space, SpaceKind};
use crate::groups;

/// `n` changes by the space's own device, one commit each (each writes a value never written
/// before: a put of the value a key holds already may make no change).
fn write(s: &mut Space, n: usize) {
    static NEXT: AtomicI64 = AtomicI64::new(0);
    for i in 0..n {
        let v = NEXT.fetch_add(1, Ordering::Relaxed);
        s.doc.put(ROOT, format!("k{}", i % 97), v).unwrap();
        assert!(s.doc.commit().is_some());
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

/// The changes in `s`'s envelopes not in `seen` (which it then holds too).
fn newly_sealed(s: &mut Space, d: &Device, seen: &mut Vec<Vec<u8>>) -> Vec<ChangeHash> {
    let mut out = Vec::new();
    for bytes in s.unacked(&d.store).unwrap() {
        if seen.contains(&bytes) {
            continue;
        }
        let env = Envelope::parse(&bytes).unwrap();
        if env.kind() == Kind::Changes && env.header().unwrap().author == d.id.device {
            out.extend(
                s.decode_envelope(&env)
                    .unwrap()
                    .unwrap()
                    .iter()
                    .map(|c| c.hash()),
            );
        }
        seen.push(bytes);
    }
    out.sort();
    out
}

/// This device's changes the walk of every change finds unsealed (what a seal must take).
fn due(s: &mut Space) -> Vec<ChangeHash> {
    let mut out: Vec<ChangeHash> = s
        .unsealed_mine(Walk::Everything)
        .0
        .iter()
        .map(|c| c.hash())
        .collect();
    out.sort();
    out
}

/// Persists and seals, and checks that exactly the changes the full walk finds were sealed, reading at most
/// `bound` changes. Returns the changes read.
fn seal_checked(s: &mut Space, d: &Device, seen: &mut Vec<Vec<u8>>, bound: u64, step: &str) -> u64 {
    // The seal would add the envelope-versions announcement (protocol 12.1) first: added here, so
    // the full walk below finds it too.
    s.announce_if_needed();
    s.persist(&d.store).unwrap();
    let expected = due(s);
    assert!(!expected.is_empty(), "{step}: something to seal");
    let before = s.seal_work();
    s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap();
    let work = s.seal_work() - before;
    assert_eq!(
        newly_sealed(s, d, seen),
        expected,
        "{step}: what was sealed"
    );
    assert!(work <= bound, "{step}: read {work} changes, bound {bound}");
    assert!(due(s).is_empty(), "{step}: nothing left");
    work
}

/// Changes by another device merged into `s`'s document (as received changes are).
fn merge_foreign(s: &mut Space, n: usize) {
    let mut other = s.doc.fork();
    for i in 0..n {
        other.put(ROOT, format!("o{}", i % 13), i as i64).unwrap();
        other.commit();
    }
    s.doc.merge(&mut other).unwrap();
}

#[test]
fn the_cursor_seals_what_the_full_walk_would_across_merges_reloads_compaction_snapshots_and_unknown_heads()
 {
    let d = device(2);
    let mut s = Space::create(&d.store, SpaceKind::Journal, &d.id).unwrap();
    let id = s.id;
    let mut seen = Vec::new();
    write(&mut s, 300);
    s.persist(&d.store).unwrap();
    // The first seal has no cursor: it reads everything once.
    seal_checked(&mut s, &d, &mut seen, 301, "first");

    // Another device's changes merged in between: read once, with this device's own.
    merge_foreign(&mut s, 50);
    write(&mut s, 2);
    s.persist(&d.store).unwrap();
    seal_checked(&mut s, &d, &mut seen, 52, "after a merge");

    // Reopened: the cursor was kept in the vault.
    write(&mut s, 1);
    s.persist(&d.store).unwrap();
    drop(s);
    let mut s = Space::load(&d.store, &id, &d.id).unwrap();
    seal_checked(&mut s, &d, &mut seen, 1, "after a reload");

    // Compacted into one save(), then reopened.
    write(&mut s, 1);
    s.persist(&d.store).unwrap();
    s.compact(&d.store).unwrap();
    drop(s);
    let mut s = Space::load(&d.store, &id, &d.id).unwrap();
    seal_checked(&mut s, &d, &mut seen, 1, "after a compaction");

    // A snapshot sealed in between.
    assert!(s.seal_snapshot(&d.store, &d.id).unwrap().is_some());
    seen = s.unacked(&d.store).unwrap();
    write(&mut s, 1);
    seal_checked(&mut s, &d, &mut seen, 1, "after a snapshot");

    // Nothing of its own to seal: the cursor still moves past what was merged.
    merge_foreign(&mut s, 20);
    assert_eq!(s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap(), 0);
    write(&mut s, 1);
    seal_checked(&mut s, &d, &mut seen, 1, "after an empty seal");

    // Heads the document does not know (a record from elsewhere, a document replaced): one walk
    // of everything, and the cursor goes on from there.
    s.sealed_heads = vec![ChangeHash([7; 32])];
    write(&mut s, 1);
    let all = s.doc.get_changes(&[]).len() as u64;
    assert_eq!(
        seal_checked(&mut s, &d, &mut seen, all, "unknown heads"),
        all
    );
    write(&mut s, 1);
    seal_checked(&mut s, &d, &mut seen, 1, "after unknown heads");

    // A record written before the cursor existed has none: the same single walk.
    s.sealed_heads = Vec::new();
    s.save_record(&d.store).unwrap();
    drop(s);
    let mut s = Space::load(&d.store, &id, &d.id).unwrap();
    write(&mut s, 1);
    let all = s.doc.get_changes(&[]).len() as u64;
    seal_checked(&mut s, &d, &mut seen, all, "an old record");
    write(&mut s, 1);
    seal_checked(&mut s, &d, &mut seen, 1, "after an old record");
    assert!(s.all_sent() || s.relay_acked.is_empty());
}

/// A member's envelope that fails while applied puts the facilitator's document back to a copy
/// (`apply_pending`'s checkpoint): the facilitator's next seal takes exactly its own new change and
/// reads only what came since its last seal.
#[test]
fn after_a_quarantine_puts_the_document_back_the_next_seal_is_still_exact_and_bounded() {
    let (f, m) = (device(1), device(2));
    let mut fs = group(&f);
    let mut f_seen = Vec::new();
    fs.seal_outgoing(&f.store, &f.id, CODEC_BUNDLE).unwrap();
    let mut ms = joined(&f, &mut fs, &m, None);
    newly_sealed(&mut fs, &f, &mut f_seen);
    let me = m.id.device.to_hex();
    let mut m_seen = ms.unacked(&m.store).unwrap();
    // Announced before the fork, as in `apply_tests.rs`.
    ms.announce_if_needed();
    // And its rules version (protocol 12.2), which its first seal would write too.
    ms.announce_rules_if_needed();
    let member_sealed = |ms: &mut Space, seen: &mut Vec<Vec<u8>>| {
        ms.persist(&m.store).unwrap();
        ms.seal_outgoing(&m.store, &m.id, CODEC_BUNDLE).unwrap();
        let new: Vec<Vec<u8>> = ms
            .unacked(&m.store)
            .unwrap()
            .into_iter()
            .filter(|e| !seen.contains(e))
            .collect();
        seen.extend(new.iter().cloned());
        new
    };
    // As `apply_tests.rs`: a fork under the member's own actor, which Automerge refuses.
    let mut twin = ms.doc.clone();
    groups::add_note(&mut ms.doc, "00000000000000a1", "", "satu", &me, 2).unwrap();
    let first = member_sealed(&mut ms, &mut m_seen);
    groups::add_note(&mut twin, "00000000000000b1", "", "tiruan", &me, 2).unwrap();
    std::mem::swap(&mut ms.doc, &mut twin);
    ms.sealed_change_seq -= 1;
    let forged = member_sealed(&mut ms, &mut m_seen);
    std::mem::swap(&mut ms.doc, &mut twin);
    groups::add_note(&mut ms.doc, "00000000000000c1", "", "dua", &me, 3).unwrap();
    let last = member_sealed(&mut ms, &mut m_seen);
    let all: Vec<Vec<u8>> = [first, forged, last].concat();
    let report = fs.receive(&f.store, &f.id, &all).unwrap();
    assert_eq!(report.quarantined, 1, "{report:?}");

    let fme = f.id.device.to_hex();
    groups::add_note(&mut fs.doc, "00000000000000d1", "", "tiga", &fme, 4).unwrap();
    fs.persist(&f.store).unwrap();
    // The member's two applied changes, its envelope-versions (protocol 12.1) and rules (12.2)
    // announcements, and the facilitator's own.
    seal_checked(&mut fs, &f, &mut f_seen, 5, "after a quarantine");
}

/// A sync seals, then checks whether a snapshot is due (`Vault::seal_pending_with`): that check
/// counts the document's changes, and must not read the whole history at every sync either.
#[test]
fn a_syncs_snapshot_check_after_a_long_history_reads_a_bounded_number_of_changes() {
    let d = device(3);
    let mut s = Space::create(&d.store, SpaceKind::Journal, &d.id).unwrap();
    // Five envelopes of 400 changes: enough envelopes for a snapshot to be weighed at all.
    for _ in 0..5 {
        write(&mut s, 400);
        s.persist(&d.store).unwrap();
        s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap();
    }
    // A policy of one snapshot every 10,000 changes: none is due, but the count is taken.
    assert!(
        s.snapshot_if_due(&d.store, &d.id, 10_000)
            .unwrap()
            .is_none()
    );
    // 2,000 written and the envelope-versions announcement of the first seal (protocol 12.1).
    assert_eq!(s.change_count(), 2_001);
    write(&mut s, 1);
    s.persist(&d.store).unwrap();
    s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap();
    let before = s.seal_work();
    assert!(
        s.snapshot_if_due(&d.store, &d.id, 10_000)
            .unwrap()
            .is_none()
    );
    let work = s.seal_work() - before;
    assert!(
        work <= 2,
        "the snapshot check after 2,002 changes read {work} changes"
    );
    assert_eq!(s.change_count(), 2_002);

    // The count stays the document's own through a merge and a document put back to an older
    // copy (whose heads do not include the ones last counted).
    let older = s.doc.clone();
    merge_foreign(&mut s, 30);
    assert_eq!(s.change_count(), 2_032);
    s.doc = older;
    assert_eq!(s.change_count(), 2_002);
    assert_eq!(s.change_count(), s.doc.get_changes(&[]).len() as u64);
}
