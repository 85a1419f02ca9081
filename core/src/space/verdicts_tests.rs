//! Issue 15, item 7: every device reaches the same verdict on an author's envelopes, whatever order
//! it learns of a removal, a demotion or a promotion concurrent with that author's writes. Verdicts
//! used to be made at receipt with the role the device knew then, so two devices that met the same
//! envelopes in different orders kept different documents for good.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use automerge::ChangeHash;
use proptest::prelude::*;
use sebaya_proto::membership::{Op, Role};

use super::rules::tests::{Device, device, group};
use super::{CODEC_BUNDLE, Space};
use crate::groups;

/// `d` joins `f`'s space with `role`; its copy of the space, with everything `f` holds.
fn join_as(f: &Device, fs: &mut Space, d: &Device, role: Role) -> Space {
    fs.add_member(&f.store, &f.id, d.id.device, d.id.x25519_public, role, None)
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

/// `to` receives everything `from` holds (its own writes sealed first), as a relay, a bundle or a
/// carrier would hand it over.
fn deliver(from: &Device, fs: &mut Space, to: &Device, ts: &mut Space) {
    let _ = fs.seal_outgoing(&from.store, &from.id, CODEC_BUNDLE);
    let all = fs.held_above(&from.store, &BTreeMap::new()).unwrap();
    ts.receive(&to.store, &to.id, &all).unwrap();
}

/// A write by `d`, sealed at once: the sequence number of its envelope and the change it made.
fn sealed_write(
    d: &Device,
    s: &mut Space,
    write: impl FnOnce(&mut automerge::AutoCommit),
) -> Option<(u64, ChangeHash)> {
    let before = s.doc.get_heads();
    write(&mut s.doc);
    let after = s.doc.get_heads();
    if after == before {
        return None;
    }
    s.persist(&d.store).unwrap();
    let seq = s.next_seq();
    s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).ok()?;
    if s.next_seq() == seq {
        return None;
    }
    Some((seq, after[0]))
}

fn note(d: &Device, s: &mut Space, id: &str) -> Option<(u64, ChangeHash)> {
    let me = d.id.device.to_hex();
    sealed_write(d, s, |doc| {
        let _ = groups::add_note(doc, id, "", "catatan", &me, 2);
    })
}

fn rename(d: &Device, s: &mut Space, name: &str) -> Option<(u64, ChangeHash)> {
    sealed_write(d, s, |doc| {
        let _ = groups::rename(doc, name, 2);
    })
}

fn note_ids(s: &Space) -> BTreeSet<String> {
    groups::notes(&s.doc).into_iter().map(|n| n.id).collect()
}

/// A facilitator f, a co-facilitator a (admin) and a member m, each holding everything.
fn three() -> (Device, Device, Device, Space, Space, Space) {
    let f = device(1);
    let a = device(2);
    let m = device(3);
    let mut fs = group(&f);
    let mut as_ = join_as(&f, &mut fs, &a, Role::Admin);
    let mut ms = join_as(&f, &mut fs, &m, Role::Member);
    deliver(&f, &mut fs, &a, &mut as_);
    deliver(&f, &mut fs, &m, &mut ms);
    (f, a, m, fs, as_, ms)
}

/// f removes m while m, not knowing, writes a note that reaches a before the removal does. The
/// note is beyond the removal's last accepted sequence number: f refuses it, and a, which had
/// taken it, must drop it when it learns of the removal.
#[test]
fn a_write_concurrent_with_its_authors_removal_ends_the_same_on_every_device() {
    let (f, a, m, mut fs, mut as_, mut ms) = three();
    note(&m, &mut ms, "00000000000000a1").unwrap();
    deliver(&m, &mut ms, &a, &mut as_);
    deliver(&m, &mut ms, &f, &mut fs);
    fs.remove_member(&f.store, &f.id, m.id.device).unwrap();
    let late = note(&m, &mut ms, "00000000000000a2").unwrap();
    deliver(&m, &mut ms, &a, &mut as_);
    assert!(note_ids(&as_).contains("00000000000000a2"));
    deliver(&m, &mut ms, &f, &mut fs);
    deliver(&f, &mut fs, &a, &mut as_);
    deliver(&a, &mut as_, &f, &mut fs);
    assert_eq!(note_ids(&fs), note_ids(&as_));
    assert!(!note_ids(&as_).contains("00000000000000a2"));
    assert!(as_.doc.get_change_by_hash(&late.1).is_none());
    assert!(
        note_ids(&as_).contains("00000000000000a1"),
        "before the cutoff"
    );
    assert_eq!(fs.doc.get_heads(), as_.doc.get_heads());
}

/// f demotes the co-facilitator a while a, not knowing, renames the group (a facilitator's write);
/// m takes the rename before the demotion, f after. Both end with the same name.
#[test]
fn an_admins_write_concurrent_with_its_demotion_ends_the_same_on_every_device() {
    let (f, a, m, mut fs, mut as_, mut ms) = three();
    let seen = fs.vector.get(&a.id.device);
    fs.write_statement(&f.store, &f.id, demote(a.id.device, seen))
        .unwrap();
    rename(&a, &mut as_, "Nama baru").unwrap();
    deliver(&a, &mut as_, &m, &mut ms);
    assert_eq!(groups::name(&ms.doc), "Nama baru");
    deliver(&a, &mut as_, &f, &mut fs);
    deliver(&f, &mut fs, &m, &mut ms);
    deliver(&f, &mut fs, &a, &mut as_);
    assert_eq!(groups::name(&fs.doc), groups::name(&ms.doc));
    assert_eq!(groups::name(&as_.doc), groups::name(&ms.doc));
    assert_eq!(groups::name(&ms.doc), "Kelompok");
    assert_eq!(fs.doc.get_heads(), ms.doc.get_heads());
    assert_eq!(fs.doc.get_heads(), as_.doc.get_heads());
}

/// m renames the group (outside a member's role: refused by a) while f promotes m; f takes the
/// rename after the promotion. A promotion makes the device an admin for all it wrote, so a takes
/// it too once it learns of the promotion.
#[test]
fn a_members_write_concurrent_with_its_promotion_ends_the_same_on_every_device() {
    let (f, a, m, mut fs, mut as_, mut ms) = three();
    rename(&m, &mut ms, "Nama lain").unwrap();
    deliver(&m, &mut ms, &a, &mut as_);
    assert_eq!(
        groups::name(&as_.doc),
        "Kelompok",
        "a member may not rename"
    );
    fs.write_statement(
        &f.store,
        &f.id,
        Op::SetRole {
            device: m.id.device,
            role: Role::Admin,
            last_seq: None,
        },
    )
    .unwrap();
    deliver(&m, &mut ms, &f, &mut fs);
    deliver(&f, &mut fs, &a, &mut as_);
    assert_eq!(groups::name(&fs.doc), groups::name(&as_.doc));
    assert_eq!(fs.doc.get_heads(), as_.doc.get_heads());
}

/// A demotion of `device`, which the demoter has seen write up to `seen`.
fn demote(device: sebaya_proto::DeviceId, seen: u64) -> Op {
    Op::SetRole {
        device,
        role: Role::Member,
        last_seq: Some(seen),
    }
}

// ---- the property -------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Step {
    /// Device writes a note (any member may), believing itself a member.
    Note(usize),
    /// Device renames the group, where it believes itself an admin.
    Rename(usize),
    /// Device writes a note whatever it knows: a removed device that goes on writing, or one that
    /// backdates by never taking in its removal.
    Rogue(usize),
    /// (admin, target): a removal, where the admin believes it may.
    Remove(usize, usize),
    /// (admin, target): a demotion of an admin.
    Demote(usize, usize),
    /// (admin, target): a promotion of a member.
    Promote(usize, usize),
    /// (from, to): everything `from` holds reaches `to`.
    Deliver(usize, usize),
}

const N: usize = 4;

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..N).prop_map(Step::Note),
        2 => (0..N).prop_map(Step::Rename),
        1 => (0..N).prop_map(Step::Rogue),
        1 => (0..N, 0..N).prop_map(|(a, b)| Step::Remove(a, b)),
        1 => (0..N, 0..N).prop_map(|(a, b)| Step::Demote(a, b)),
        1 => (0..N, 0..N).prop_map(|(a, b)| Step::Promote(a, b)),
        6 => (0..N, 0..N).prop_map(|(a, b)| Step::Deliver(a, b)),
    ]
}

/// What each write was: who, at which sequence number, which change, and whether it was a
/// facilitator's write (a rename).
struct Written {
    author: usize,
    seq: u64,
    hash: ChangeHash,
    admin_only: bool,
}

fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let devices: Vec<Device> = (1..=N as u8).map(device).collect();
    let mut spaces: Vec<Space> = Vec::new();
    let mut first = group(&devices[0]);
    let mut rest: Vec<Space> = (1..N)
        .map(|i| {
            let role = if i == 1 { Role::Admin } else { Role::Member };
            join_as(&devices[0], &mut first, &devices[i], role)
        })
        .collect();
    spaces.push(first);
    spaces.append(&mut rest);
    for i in 1..N {
        let (a, b) = two(&mut spaces, 0, i);
        deliver(&devices[0], a, &devices[i], b);
    }
    let mut written: Vec<Written> = Vec::new();
    let mut n = 0u32;
    for s in steps {
        n += 1;
        match *s {
            Step::Note(d) | Step::Rogue(d) => {
                let member = spaces[d].members.is_member(&devices[d].id.device);
                if matches!(s, Step::Note(_)) && !member {
                    continue;
                }
                if let Some((seq, hash)) = note(&devices[d], &mut spaces[d], &format!("{n:016x}")) {
                    written.push(Written {
                        author: d,
                        seq,
                        hash,
                        admin_only: false,
                    });
                }
            }
            Step::Rename(d) => {
                if !spaces[d].members.is_admin(&devices[d].id.device) {
                    continue;
                }
                if let Some((seq, hash)) =
                    rename(&devices[d], &mut spaces[d], &format!("Kelompok {n}"))
                {
                    written.push(Written {
                        author: d,
                        seq,
                        hash,
                        admin_only: true,
                    });
                }
            }
            Step::Remove(x, y) if x != y => {
                let target = devices[y].id.device;
                let _ = spaces[x].remove_member(&devices[x].store, &devices[x].id, target);
            }
            Step::Demote(x, y) if x != y => {
                let target = devices[y].id.device;
                if spaces[x].members.is_admin(&devices[x].id.device)
                    && spaces[x].members.is_admin(&target)
                {
                    let seen = spaces[x].vector.get(&target);
                    spaces[x]
                        .write_statement(&devices[x].store, &devices[x].id, demote(target, seen))
                        .unwrap();
                }
            }
            Step::Promote(x, y) if x != y => {
                let target = devices[y].id.device;
                if spaces[x].members.is_admin(&devices[x].id.device)
                    && spaces[x].members.role(&target) == Some(Role::Member)
                {
                    spaces[x]
                        .write_statement(
                            &devices[x].store,
                            &devices[x].id,
                            Op::SetRole {
                                device: target,
                                role: Role::Admin,
                                last_seq: None,
                            },
                        )
                        .unwrap();
                }
            }
            Step::Deliver(x, y) if x != y => {
                let (a, b) = two(&mut spaces, x, y);
                deliver(&devices[x], a, &devices[y], b);
            }
            _ => {}
        }
    }
    // Everyone meets everyone until nothing new moves.
    for _ in 0..3 {
        for x in 0..N {
            for y in 0..N {
                if x != y {
                    let (a, b) = two(&mut spaces, x, y);
                    deliver(&devices[x], a, &devices[y], b);
                }
            }
        }
    }
    let members: Vec<usize> = (0..N)
        .filter(|&i| spaces[0].members.is_member(&devices[i].id.device))
        .collect();
    for i in 1..N {
        prop_assert_eq!(
            &spaces[i].members.members,
            &spaces[0].members.members,
            "every log ends the same"
        );
    }
    let Some(&first) = members.first() else {
        return Ok(());
    };
    for &i in &members {
        prop_assert_eq!(
            note_ids(&spaces[i]),
            note_ids(&spaces[first]),
            "device {} and device {} hold different notes",
            i,
            first
        );
        prop_assert_eq!(
            groups::name(&spaces[i].doc),
            groups::name(&spaces[first].doc)
        );
        let mut a = spaces[i].doc.get_heads();
        let mut b = spaces[first].doc.get_heads();
        a.sort();
        b.sort();
        prop_assert_eq!(a, b, "device {} and device {} differ", i, first);
    }
    // No removed author's write beyond its removal's cutoff is in any member's document, and no
    // facilitator's write is there from an author that was not an admin when it wrote it.
    let state = spaces[first].members.clone();
    for w in &written {
        let author = devices[w.author].id.device;
        for &i in &members {
            if spaces[i].doc.get_change_by_hash(&w.hash).is_none() {
                continue;
            }
            prop_assert!(
                state.may_write(&author, w.seq),
                "device {}'s write {} beyond its cutoff was accepted",
                w.author,
                w.seq
            );
            if w.admin_only {
                prop_assert!(
                    writing_role_at(&state, &author, w.seq) == Some(Role::Admin),
                    "device {}'s rename {} accepted without the role",
                    w.author,
                    w.seq
                );
            }
        }
    }
    Ok(())
}

/// The role the log gives an envelope of `author` with sequence number `seq`.
fn writing_role_at(
    state: &sebaya_proto::membership::MembershipState,
    author: &sebaya_proto::DeviceId,
    seq: u64,
) -> Option<Role> {
    state.writing_role_at(author, seq)
}

/// Two distinct spaces of the list, mutably.
fn two(spaces: &mut [Space], x: usize, y: usize) -> (&mut Space, &mut Space) {
    assert_ne!(x, y);
    if x < y {
        let (l, r) = spaces.split_at_mut(y);
        (&mut l[x], &mut r[0])
    } else {
        let (l, r) = spaces.split_at_mut(x);
        (&mut r[0], &mut l[y])
    }
}

fn cases() -> u32 {
    std::env::var("SEBAYA_VERDICT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Random histories of removals, demotions and promotions concurrent with writes (a removed
    /// device that writes on among them), delivered in random orders between random pairs: once
    /// everyone has met everyone, every member device holds the same document, and nothing a
    /// removed author wrote past its cutoff, nor a facilitator's write from a non-admin, is in it.
    #[test]
    fn every_device_reaches_the_same_verdicts(steps in prop::collection::vec(step(), 1..28)) {
        run(&steps)?;
    }
}

/// Found by the property above while this was built: two admins that remove each other while
/// apart each refused the other's removal (a removed device's statement beyond its last accepted
/// number), so their logs never met and 15.6's seniority rule never settled the contest. With the
/// window of `may_state` both statements reach both, and both logs end the same.
#[test]
fn two_admins_removing_each_other_apart_end_with_the_same_log() {
    let (f, a, m, mut fs, mut as_, mut ms) = three();
    fs.remove_member(&f.store, &f.id, a.id.device).unwrap();
    as_.remove_member(&a.store, &a.id, f.id.device).unwrap();
    deliver(&f, &mut fs, &a, &mut as_);
    deliver(&a, &mut as_, &f, &mut fs);
    deliver(&f, &mut fs, &m, &mut ms);
    deliver(&a, &mut as_, &m, &mut ms);
    assert_eq!(fs.members.members, as_.members.members);
    assert_eq!(fs.members.members, ms.members.members);
    assert!(
        fs.members.is_admin(&f.id.device),
        "the more senior admin stays"
    );
}

// ---- review7: findings -------------------------------------------------------------------------

fn put(d: &Device, s: &mut Space, key: &str) -> Option<(u64, ChangeHash)> {
    use automerge::transaction::Transactable;
    sealed_write(d, s, |doc| {
        doc.put(automerge::ROOT, key, "x").unwrap();
    })
}

fn keys(s: &Space) -> BTreeSet<String> {
    use automerge::ReadDoc;
    s.doc.keys(automerge::ROOT).collect()
}

/// review7 #1: in a journal (admins unlimited: the `waiting` path, where Automerge queues what
/// lacks a dependency), p2's own entry built on p3's late write leaves the document when p2
/// learns p3's removal (15.10); p2's next entry takes the same Automerge seq. p1, which holds
/// the left-out entry queued (state 0), refuses the new one as a duplicate seq and never judges
/// it again (p2's role did not change), while p2 keeps it: the journal splits for good.
#[test]
fn review7_a_bystanders_renumbered_write_is_refused_for_good_where_its_old_one_waits() {
    let p1 = device(1);
    let p2 = device(2);
    let p3 = device(3);
    let mut s1 = Space::create(&p1.store, super::SpaceKind::Journal, &p1.id).unwrap();
    put(&p1, &mut s1, "start").unwrap();
    let mut s2 = join_as(&p1, &mut s1, &p2, Role::Admin);
    let mut s3 = join_as(&p1, &mut s1, &p3, Role::Admin);
    deliver(&p1, &mut s1, &p2, &mut s2);
    deliver(&p1, &mut s1, &p3, &mut s3);
    s1.remove_member(&p1.store, &p1.id, p3.id.device).unwrap(); // a lost phone
    put(&p3, &mut s3, "late").unwrap(); // beyond p3's cutoff
    deliver(&p3, &mut s3, &p2, &mut s2);
    assert!(keys(&s2).contains("late"));
    put(&p2, &mut s2, "entry-1").unwrap(); // an honest entry, built on the late write
    deliver(&p2, &mut s2, &p1, &mut s1); // p1: p3's write refused, p2's waits (queued)
    deliver(&p1, &mut s1, &p2, &mut s2); // p2 learns the removal: both leave p2's document
    assert!(!keys(&s2).contains("entry-1"), "p2's own entry is gone for good");
    put(&p2, &mut s2, "entry-2").unwrap(); // p2 writes on
    deliver(&p2, &mut s2, &p1, &mut s1);
    deliver(&p1, &mut s1, &p2, &mut s2);
    assert!(keys(&s2).contains("entry-2"));
    put(&p2, &mut s2, "entry-3").unwrap();
    for _ in 0..3 {
        deliver(&p2, &mut s2, &p1, &mut s1);
        deliver(&p1, &mut s1, &p2, &mut s2);
    }
    let states: Vec<i64> = {
        let mut q = p1.store.conn.prepare("SELECT state FROM envelopes ORDER BY n").unwrap();
        q.query_map([], |r| r.get(0)).unwrap().map(|x| x.unwrap()).collect()
    };
    eprintln!("p1 row states (0 waiting, 1 applied, 2 refused): {states:?}");
    assert_eq!(keys(&s1), keys(&s2), "p1 and p2 hold different journals");
}

/// review7 #2: f, offline for a while, removes m with the cutoff it knows (honest `remove_member`).
/// Meanwhile m wrote a note and the co-facilitator a, an admin whose role never changes, wrote a
/// note on top of it. When the removal arrives, a's note leaves every document for good: a's own
/// write, never judged lower, is lost (it waits on a change no device will take again).
#[test]
fn review7_an_admins_unrelated_note_is_lost_when_a_stale_cutoff_refuses_what_it_followed() {
    let (f, a, m, mut fs, mut as_, mut ms) = three();
    note(&m, &mut ms, "00000000000000c1").unwrap();
    deliver(&m, &mut ms, &a, &mut as_);
    note(&a, &mut as_, "00000000000000c2").unwrap(); // a's own note, after reading m's
    fs.remove_member(&f.store, &f.id, m.id.device).unwrap(); // f had not seen m's note
    for _ in 0..3 {
        deliver(&a, &mut as_, &f, &mut fs);
        deliver(&f, &mut fs, &a, &mut as_);
    }
    assert!(
        note_ids(&as_).contains("00000000000000c2"),
        "a's own note, by an author whose verdict never changed, is gone from a's document"
    );
}

/// review7 #3: a hostile (or mistaken) co-facilitator removes the space's creator with
/// `last_seq: 0`. Every envelope of the creator now ranks none, so the rebuild drops the creator's
/// set-up and everything built on it: every member's notes, on every device, retroactively.
#[test]
fn review7_one_removal_with_cutoff_zero_empties_every_document() {
    let (f, a, m, mut fs, mut as_, mut ms) = three();
    note(&m, &mut ms, "00000000000000d1").unwrap();
    deliver(&m, &mut ms, &f, &mut fs);
    deliver(&m, &mut ms, &a, &mut as_);
    assert!(note_ids(&as_).contains("00000000000000d1"));
    as_.write_statement(
        &a.store,
        &a.id,
        Op::Remove {
            device: f.id.device,
            last_seq: 0,
        },
    )
    .unwrap();
    deliver(&a, &mut as_, &m, &mut ms);
    eprintln!("m's notes after the removal: {:?}, name {:?}", note_ids(&ms), groups::name(&ms.doc));
    assert!(
        note_ids(&ms).contains("00000000000000d1"),
        "m's note, written and applied long before, is gone"
    );
}

/// review7 #4: journals take snapshots, which `rejudge` never looks at. p1 removes the lost phone
/// p3; p3's late write reaches p2, which seals a snapshot before it learns of the removal. p1,
/// which knows the removal, merges the snapshot and so takes p3's late write (no row of its own to
/// judge), while p2, once it learns, rebuilds without it: the journal splits, and a removed
/// author's late write stands on p1.
#[test]
fn review7_a_snapshot_brings_a_removed_authors_late_write_past_rejudge() {
    let p1 = device(1);
    let p2 = device(2);
    let p3 = device(3);
    let mut s1 = Space::create(&p1.store, super::SpaceKind::Journal, &p1.id).unwrap();
    put(&p1, &mut s1, "start").unwrap();
    let mut s2 = join_as(&p1, &mut s1, &p2, Role::Admin);
    let mut s3 = join_as(&p1, &mut s1, &p3, Role::Admin);
    deliver(&p1, &mut s1, &p2, &mut s2);
    deliver(&p1, &mut s1, &p3, &mut s3);
    s1.remove_member(&p1.store, &p1.id, p3.id.device).unwrap();
    put(&p3, &mut s3, "late").unwrap();
    deliver(&p3, &mut s3, &p2, &mut s2);
    assert!(keys(&s2).contains("late"));
    s2.seal_snapshot(&p2.store, &p2.id).unwrap().unwrap();
    for _ in 0..3 {
        deliver(&p2, &mut s2, &p1, &mut s1);
        deliver(&p1, &mut s1, &p2, &mut s2);
    }
    assert!(!keys(&s2).contains("late"), "p2 dropped it");
    assert!(!keys(&s1).contains("late"), "p1 took p3's late write through p2's snapshot");
}
