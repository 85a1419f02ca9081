//! A member's envelope that fails part-way while being applied puts the document back as it was and
//! takes nothing of it, while the envelopes around it go in: what `apply_pending`'s one checkpoint
//! per batch must give (it replaced a copy of the document per envelope, which cost a copy of a
//! large group's whole document for each envelope received).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::rules::tests::{device, group, joined};
use super::{CODEC_BUNDLE, Space};
use crate::groups;

#[test]
fn an_envelope_that_fails_while_applied_is_refused_and_the_ones_around_it_go_in() {
    let (f, m) = (device(1), device(2));
    let mut fs = group(&f);
    let mut ms = joined(&f, &mut fs, &m, None);
    let me = m.id.device.to_hex();
    let sealed = |ms: &mut Space, seen: &mut Vec<Vec<u8>>| -> Vec<Vec<u8>> {
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
    let mut seen = ms.unacked(&m.store).unwrap();
    // The member announces its envelope versions (protocol 12.1) before the fork, as its first
    // seal would: the fork below is then of its notes alone.
    ms.announce_if_needed();
    // And its rules version (protocol 12.2), which its first seal would write too.
    ms.announce_rules_if_needed();
    // The member's document forked under its own actor: two different changes with one sequence
    // number, which Automerge refuses to apply over each other.
    let mut twin = ms.doc.clone();
    groups::add_note(&mut ms.doc, "00000000000000a1", "", "satu", &me, 2).unwrap();
    let first = sealed(&mut ms, &mut seen);
    groups::add_note(&mut twin, "00000000000000b1", "", "tiruan", &me, 2).unwrap();
    std::mem::swap(&mut ms.doc, &mut twin);
    ms.sealed_change_seq -= 1;
    let forged = sealed(&mut ms, &mut seen);
    std::mem::swap(&mut ms.doc, &mut twin);
    groups::add_note(&mut ms.doc, "00000000000000c1", "", "dua", &me, 3).unwrap();
    let last = sealed(&mut ms, &mut seen);
    assert_eq!((first.len(), forged.len(), last.len()), (1, 1, 1));

    let all: Vec<Vec<u8>> = [first, forged, last].concat();
    let report = fs.receive(&f.store, &f.id, &all).unwrap();
    assert_eq!(report.quarantined, 1, "{report:?}");
    assert!(groups::note(&fs.doc, "00000000000000a1").is_some());
    assert!(groups::note(&fs.doc, "00000000000000c1").is_some());
    assert!(groups::note(&fs.doc, "00000000000000b1").is_none());
    // What the facilitator's device holds is whole: it saves and loads again.
    assert!(automerge::AutoCommit::load(&fs.doc.save()).is_ok());
}
