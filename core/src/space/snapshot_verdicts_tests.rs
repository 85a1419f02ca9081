//! Review finding F4 (protocol 15.10, *Limits*; protocol 26): the changes a snapshot carries have no
//! envelope of their own, so nothing judges them by their author's number. A holder that knows the
//! log refuses an envelope a snapshot's cover names refuses the snapshot; one that took the
//! snapshot before it learnt the statement is the open half (ignored test below).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use sebaya_proto::membership::Role;

use super::rules::tests::{Device, device};
use super::{CODEC_BUNDLE, Space, SpaceKind};
use crate::journal;

fn deliver(from: &Device, fs: &mut Space, to: &Device, ts: &mut Space) {
    let _ = fs.seal_outgoing(&from.store, &from.id, CODEC_BUNDLE);
    let all = fs.held_above(&from.store, &BTreeMap::new()).unwrap();
    ts.receive(&to.store, &to.id, &all).unwrap();
}

/// What a relay hands a device that syncs after a snapshot: the snapshot alone, standing for the
/// envelopes it covers (here: every envelope `from` holds, none of the tail).
fn deliver_snapshot(from: &Device, fs: &Space, to: &Device, ts: &mut Space) {
    let all = fs.held_above(&from.store, &BTreeMap::new()).unwrap();
    let snapshots: Vec<Vec<u8>> = all
        .into_iter()
        .filter(|e| {
            sebaya_proto::Envelope::parse(e).unwrap().kind() == sebaya_proto::Kind::Snapshot
        })
        .collect();
    assert_eq!(snapshots.len(), 1);
    ts.receive(&to.store, &to.id, &snapshots).unwrap();
}

fn join(f: &Device, fs: &mut Space, d: &Device) -> Space {
    fs.add_member(
        &f.store,
        &f.id,
        d.id.device,
        d.id.x25519_public,
        Role::Admin,
        None,
    )
    .unwrap();
    let mut ds = Space::adopt_at(
        &d.store,
        fs.id,
        fs.kind,
        zeroize::Zeroizing::new(*fs.key()),
        fs.epoch,
        d.id.device,
    )
    .unwrap();
    deliver(f, fs, d, &mut ds);
    ds
}

fn entry(d: &Device, s: &mut Space, id: &str) {
    journal::add(&mut s.doc, id, "catatan", 3, &[], 1_790_000_000_000).unwrap();
    s.persist(&d.store).unwrap();
    s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap();
}

fn has(s: &Space, id: &str) -> bool {
    journal::list(&s.doc).iter().any(|e| e.id == id)
}

/// One person's journal on devices a, b and c. a revokes b (lost, say) with a cutoff at what it had
/// seen; b, unaware, writes an entry past it, which c takes before it learns of the revocation and
/// seals into a snapshot. a refuses b's envelope, and must refuse it inside c's snapshot too: c,
/// once it learns of the revocation, takes the entry out (nothing was built on it), so a snapshot
/// taken as it came would leave the late entry on a only.
#[test]
fn a_snapshot_standing_for_an_envelope_the_log_refuses_is_refused() {
    let (a, b, c) = (device(1), device(2), device(3));
    let mut as_ = Space::create(&a.store, SpaceKind::Journal, &a.id).unwrap();
    let mut bs = join(&a, &mut as_, &b);
    let mut cs = join(&a, &mut as_, &c);
    deliver(&a, &mut as_, &b, &mut bs);
    deliver(&a, &mut as_, &c, &mut cs);
    entry(&b, &mut bs, "00000000000000b1");
    deliver(&b, &mut bs, &a, &mut as_);
    deliver(&b, &mut bs, &c, &mut cs);
    as_.remove_member(&a.store, &a.id, b.id.device).unwrap();
    entry(&b, &mut bs, "00000000000000b2");
    deliver(&b, &mut bs, &c, &mut cs);
    assert!(
        has(&cs, "00000000000000b2"),
        "c took it before the revocation"
    );
    assert!(cs.seal_snapshot(&c.store, &c.id).unwrap().is_some());
    deliver(&c, &mut cs, &a, &mut as_);
    deliver(&a, &mut as_, &c, &mut cs);
    deliver(&c, &mut cs, &a, &mut as_);
    assert!(has(&cs, "00000000000000b1") && has(&as_, "00000000000000b1"));
    assert!(
        !has(&cs, "00000000000000b2"),
        "past the cutoff, built on by nobody"
    );
    assert!(
        !has(&as_, "00000000000000b2"),
        "not through the snapshot either"
    );
    let (mut ha, mut hc) = (as_.doc.get_heads(), cs.doc.get_heads());
    ha.sort();
    hc.sort();
    assert_eq!(ha, hc);
}

/// The open half of F4: d takes c's snapshot (with b's late entry) before it learns of b's
/// revocation, the snapshot alone, as a relay hands it after pruning what it covers. The snapshot raised d's vector past b's cutoff, so d never holds b's late envelope,
/// and nothing here tells which of b's changes came from envelopes past the cutoff: d keeps the
/// entry that every other holder takes out. Judging it needs the snapshot to say which changes each
/// covered envelope carried (a change of the snapshot format), or d to fetch the covered envelopes.
#[test]
#[ignore = "review finding F4, open half: a snapshot taken before its holder learns a cutoff is not judged again (protocol 15.10, Limits)"]
fn a_late_write_in_a_snapshot_taken_before_the_revocation_leaves_when_it_is_learnt() {
    let (a, b, c, d) = (device(1), device(2), device(3), device(4));
    let mut as_ = Space::create(&a.store, SpaceKind::Journal, &a.id).unwrap();
    let mut bs = join(&a, &mut as_, &b);
    let mut cs = join(&a, &mut as_, &c);
    let mut ds = join(&a, &mut as_, &d);
    for (x, xs) in [(&b, &mut bs), (&c, &mut cs), (&d, &mut ds)] {
        deliver(&a, &mut as_, x, xs);
    }
    as_.remove_member(&a.store, &a.id, b.id.device).unwrap();
    entry(&b, &mut bs, "00000000000000b2");
    deliver(&b, &mut bs, &c, &mut cs);
    assert!(cs.seal_snapshot(&c.store, &c.id).unwrap().is_some());
    deliver_snapshot(&c, &cs, &d, &mut ds);
    assert!(has(&ds, "00000000000000b2"), "d took the snapshot first");
    for _ in 0..2 {
        deliver(&a, &mut as_, &c, &mut cs);
        deliver(&a, &mut as_, &d, &mut ds);
        deliver(&c, &mut cs, &d, &mut ds);
        deliver(&d, &mut ds, &c, &mut cs);
    }
    assert!(!has(&cs, "00000000000000b2"));
    assert!(
        !has(&ds, "00000000000000b2"),
        "past the cutoff, built on by nobody"
    );
    let (mut hc, mut hd) = (cs.doc.get_heads(), ds.doc.get_heads());
    hc.sort();
    hd.sort();
    assert_eq!(hc, hd);
}

/// The state `holder` gave the envelope `author` numbered `seq` here (1: applied or taken).
fn state_of(d: &Device, s: &Space, author: &Device, seq: u64) -> i64 {
    let k = Space::envelope_key(&d.store, &s.id, &author.id.device, seq);
    d.store
        .conn
        .query_row("SELECT state FROM envelopes WHERE k = ?1", [&k], |r| {
            r.get(0)
        })
        .unwrap()
}

/// Review finding F1 (protocol 15.10 "Built on", 26.3): a removed device's late write that a member
/// in good standing built on is kept everywhere. A snapshot sealed after it must still be taken by
/// every other holder: its cover stops below the late envelope (the envelope itself still goes
/// as an envelope), so no honest snapshot names a number the log refuses.
#[test]
fn a_snapshot_after_a_late_write_built_on_is_taken_by_every_holder() {
    let (a, b, c) = (device(1), device(2), device(3));
    let mut as_ = Space::create(&a.store, SpaceKind::Journal, &a.id).unwrap();
    let mut bs = join(&a, &mut as_, &b);
    let mut cs = join(&a, &mut as_, &c);
    deliver(&a, &mut as_, &b, &mut bs);
    deliver(&a, &mut as_, &c, &mut cs);
    entry(&b, &mut bs, "00000000000000b1");
    deliver(&b, &mut bs, &a, &mut as_);
    deliver(&b, &mut bs, &c, &mut cs);
    as_.remove_member(&a.store, &a.id, b.id.device).unwrap();
    entry(&b, &mut bs, "00000000000000b2");
    deliver(&b, &mut bs, &c, &mut cs);
    entry(&c, &mut cs, "00000000000000c1");
    for _ in 0..2 {
        deliver(&a, &mut as_, &c, &mut cs);
        deliver(&c, &mut cs, &a, &mut as_);
    }
    for s in [&as_, &cs] {
        assert!(has(s, "00000000000000b2"), "built on by c: kept");
        assert!(has(s, "00000000000000c1"));
    }
    let late = bs.next_seq - 1;
    assert!(!as_.in_good_standing(&b.id.device, late));
    // a seals a snapshot; c takes it.
    assert!(as_.seal_snapshot(&a.store, &a.id).unwrap().is_some());
    let a_snap = as_.next_seq - 1;
    deliver(&a, &mut as_, &c, &mut cs);
    assert_eq!(state_of(&c, &cs, &a, a_snap), 1, "c takes a's snapshot");
    // And the other way round.
    entry(&c, &mut cs, "00000000000000c2");
    assert!(cs.seal_snapshot(&c.store, &c.id).unwrap().is_some());
    let c_snap = cs.next_seq - 1;
    deliver(&c, &mut cs, &a, &mut as_);
    assert_eq!(state_of(&a, &as_, &c, c_snap), 1, "a takes c's snapshot");
    // A refused snapshot never cuts its author's cover: a's next snapshot still stands for all
    // a holds of c (a snapshot of c's included).
    assert!(as_.seal_snapshot(&a.store, &a.id).unwrap().is_some());
    let cover = as_.applied_cover(&a.store).unwrap();
    assert!(cover.get(&c.id.device).copied().unwrap_or(0) >= c_snap);
    assert!(cover.get(&b.id.device).copied().unwrap_or(0) < late);
    let (mut ha, mut hc) = (as_.doc.get_heads(), cs.doc.get_heads());
    ha.sort();
    hc.sort();
    assert_eq!(ha, hc);
}

/// Review finding F2 (protocol 8.1, 15.10): a vault restored from a copy older than its own
/// generation's start takes, on seeing its own later changes come back, a generation above every
/// one it used, and never seals those changes again. Without it, it wrote on under the old actor
/// (reusing numbers other holders may keep) and sealed its own received changes again.
#[test]
fn a_restored_vault_takes_a_fresh_generation_and_seals_nothing_twice() {
    let (a, b) = (device(1), device(2));
    let mut as_ = Space::create(&a.store, SpaceKind::Journal, &a.id).unwrap();
    let mut bs = join(&a, &mut as_, &b);
    entry(&a, &mut as_, "00000000000000a1");
    deliver(&a, &mut as_, &b, &mut bs);
    // The copy of a's vault it is later restored from.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    a.store
        .conn
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    // a starts its next generation (as when one of its own changes leaves) and writes in it.
    as_.generation = 1;
    as_.doc.set_actor(as_.actor());
    entry(&a, &mut as_, "00000000000000a2");
    deliver(&a, &mut as_, &b, &mut bs);
    // The restore: the older copy, which knows nothing of generation 1.
    let store = crate::store::Store::open(&copy, &[1; 32]).unwrap();
    let id = crate::identity::Identity::load_or_create(&store).unwrap();
    assert_eq!(id.device, a.id.device);
    let mut rs = Space::load(&store, &as_.id, &id).unwrap();
    assert_eq!(rs.generation, 0);
    let all = bs.held_above(&b.store, &BTreeMap::new()).unwrap();
    rs.receive(&store, &id, &all).unwrap();
    assert!(
        has(&rs, "00000000000000a2"),
        "its own later change came back"
    );
    assert!(rs.generation >= 2, "a generation above every one it used");
    assert_eq!(
        rs.seal_outgoing(&store, &id, CODEC_BUNDLE).unwrap(),
        0,
        "nothing of its own is sealed twice"
    );
    // It writes on; both hold the same document.
    journal::add(
        &mut rs.doc,
        "00000000000000a3",
        "catatan",
        3,
        &[],
        1_790_000_000_000,
    )
    .unwrap();
    rs.persist(&store).unwrap();
    assert_eq!(rs.seal_outgoing(&store, &id, CODEC_BUNDLE).unwrap(), 1);
    let mine = rs.held_above(&store, &BTreeMap::new()).unwrap();
    bs.receive(&b.store, &b.id, &mine).unwrap();
    assert!(has(&bs, "00000000000000a3"));
    let (mut hr, mut hb) = (rs.doc.get_heads(), bs.doc.get_heads());
    hr.sort();
    hb.sort();
    assert_eq!(hr, hb);
}
