//! The rules-version announcement (docs/protocol.md 12.2): its one form, the floor, who writes it
//! and when, that every rule of every version takes it, and the narrowing helper judged on a
//! change's own causal past.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ROOT};

use sebaya_proto::membership::Role;
use sebaya_proto::{DeviceId, Envelope, Kind};

use super::rules::tests::{Device, device, group, joined};
use super::rules::{self, RULES_VERSION};
use super::rulesann::{
    RULES_LABEL, announced_in_past, floor, parse_rules_announcement, rules_announcement,
};
use super::{CODEC_BUNDLE, Space, SpaceKind};

#[test]
fn a_rules_announcement_is_read_only_in_its_one_form() {
    let l = RULES_LABEL;
    assert_eq!(rules_announcement(9), format!("{l}:9"));
    assert_eq!(parse_rules_announcement(&format!("{l}:9")), Some(9));
    assert_eq!(parse_rules_announcement(&format!("{l}:12")), Some(12));
    assert_eq!(
        parse_rules_announcement(&format!("{l}:4294967295")),
        Some(u32::MAX)
    );
    for bad in [
        "",
        "0",
        "09",
        "+9",
        "-9",
        " 9",
        "9 ",
        "9,10",
        "9.0",
        "4294967296",
        "99999999999",
        "x",
    ] {
        assert_eq!(
            parse_rules_announcement(&format!("{l}:{bad}")),
            None,
            "{bad}"
        );
    }
    assert_eq!(parse_rules_announcement(&format!("{l}9")), None);
    assert_eq!(
        parse_rules_announcement(&super::versions::announcement(&[1, 2])),
        None
    );
    assert_eq!(parse_rules_announcement("hello"), None);
}

/// The floor tables of 12.2.
#[test]
fn the_floor_is_the_lowest_latest_announcement_of_the_members_zero_for_one_without() {
    let (a, b, c) = (DeviceId([1; 32]), DeviceId([2; 32]), DeviceId([3; 32]));
    let t = |pairs: &[(DeviceId, u32)]| pairs.iter().copied().collect::<BTreeMap<_, _>>();
    assert_eq!(floor(&[a, b], &t(&[(a, 9), (b, 9)])), 9);
    assert_eq!(floor(&[a, b], &t(&[(a, 9), (b, 7)])), 7);
    assert_eq!(floor(&[a, b], &t(&[(a, 9)])), 0);
    // C was removed: what it announced, or did not, no longer counts.
    assert_eq!(floor(&[a, b], &t(&[(a, 12), (b, 9)])), 9);
    assert_eq!(floor(&[a, b], &t(&[(a, 12), (b, 12)])), 12);
    assert_eq!(floor(&[a, b, c], &t(&[(a, 12), (b, 12)])), 0);
    assert_eq!(floor(&[], &t(&[(a, 12)])), 0);
}

fn envelopes_of(d: &Device, s: &mut Space) -> (u32, Vec<Vec<u8>>) {
    let n = s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap();
    (n, s.unacked(&d.store).unwrap())
}

fn deliver(all: &[Vec<u8>], d: &Device, s: &mut Space) {
    let r = s.receive(&d.store, &d.id, all).unwrap();
    assert_eq!((r.refused, r.quarantined), (0, 0), "{r:?}");
}

/// A member that only reads announces on its own, once; a writer's announcement rides with its
/// changes; an update announces again; a removed member no longer counts.
#[test]
fn every_member_announces_once_a_reader_on_its_own_and_the_floor_follows() {
    let f = device(1);
    let m = device(2);
    let mut fs = group(&f);
    let mut ms = joined(&f, &mut fs, &m, None);
    // f's first seal (in `joined`) carried its announcement with its own changes.
    assert_eq!(ms.announced_rules(&f.id.device), Some(RULES_VERSION));
    assert_eq!(ms.rules_floor(), 0, "m has not announced");
    assert_eq!(fs.behind_rules(RULES_VERSION), vec![m.id.device]);
    // m wrote nothing: its seal writes the announcement on its own, one envelope.
    let (n, all) = envelopes_of(&m, &mut ms);
    assert_eq!(n, 1);
    assert_eq!(ms.rules_floor(), RULES_VERSION);
    // Once only.
    assert_eq!(envelopes_of(&m, &mut ms).0, 0);
    deliver(&all, &f, &mut fs);
    assert_eq!(fs.announced_rules(&m.id.device), Some(RULES_VERSION));
    assert_eq!(fs.rules_floor(), RULES_VERSION);
    assert!(fs.behind_rules(RULES_VERSION).is_empty());
    // After an update, the next seal announces the new version, once.
    ms.play_rules(RULES_VERSION + 3);
    let (n, all) = envelopes_of(&m, &mut ms);
    assert_eq!(n, 1);
    assert_eq!(envelopes_of(&m, &mut ms).0, 0);
    deliver(&all, &f, &mut fs);
    assert_eq!(fs.announced_rules(&m.id.device), Some(RULES_VERSION + 3));
    assert_eq!(fs.rules_floor(), RULES_VERSION);
    // A member added later that has not announced brings the floor to 0; removed, it counts no more.
    let n3 = device(3);
    let _ns = joined(&f, &mut fs, &n3, None);
    assert_eq!(fs.rules_floor(), 0);
    fs.remove_member(&f.store, &f.id, n3.id.device).unwrap();
    assert_eq!(fs.rules_floor(), RULES_VERSION);
}

/// A write carries the announcement in the same envelope: no envelope of its own.
#[test]
fn a_writer_announces_in_its_ordinary_envelope() {
    let f = device(1);
    let m = device(2);
    let mut fs = group(&f);
    let mut ms = joined(&f, &mut fs, &m, None);
    crate::groups::add_note(
        &mut ms.doc,
        &"ab".repeat(8),
        "",
        "catatan",
        &m.id.device.to_hex(),
        2,
    )
    .unwrap();
    let (n, all) = envelopes_of(&m, &mut ms);
    assert_eq!(n, 1);
    let changes = all
        .iter()
        .map(|b| Envelope::parse(b).unwrap())
        .filter(|e| e.kind() == Kind::Changes && e.header().unwrap().author == m.id.device)
        .count();
    assert_eq!(changes, 1);
    deliver(&all, &f, &mut fs);
    assert_eq!(fs.announced_rules(&m.id.device), Some(RULES_VERSION));
}

/// The announcement has no operation: every rule, for any member in any kind of space, takes it
/// (an older release judges operations the same way, so it takes it too).
#[test]
fn every_rule_takes_the_announcement_from_any_member() {
    let me = DeviceId([7; 32]);
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(&me.0[..]));
    doc.empty_change(CommitOptions::default().with_message(rules_announcement(RULES_VERSION)));
    let change = doc.get_changes(&[]).pop().unwrap();
    let state = sebaya_proto::membership::MembershipState::default();
    for kind in [
        SpaceKind::Group,
        SpaceKind::Pairing,
        SpaceKind::CaseNotes,
        SpaceKind::Care,
        SpaceKind::Report,
        SpaceKind::Safeguarding,
    ] {
        let mut author = rules::author(&state, None, (me, 1), None);
        author.role = Some(Role::Member);
        let empty = AutoCommit::new();
        assert!(
            rules::allowed(&empty, kind, &author, std::slice::from_ref(&change)),
            "{kind:?}"
        );
    }
}

/// 12.2's narrowing vector: a change judged by what its own past holds, not by what the receiver
/// holds now. `c1` was written before B announced 12, `c2` after it saw B's announcement.
#[test]
fn a_narrowing_rule_applies_only_with_every_announcement_in_the_changes_own_past() {
    let a = DeviceId([0xa1; 32]);
    let b = DeviceId([0xb2; 32]);
    let members = [a, b];
    let mut da = AutoCommit::new().with_actor(automerge::ActorId::from(&a.0[..]));
    da.empty_change(CommitOptions::default().with_message(rules_announcement(12)));
    da.put(ROOT, "x", 1).unwrap();
    da.commit();
    let c1 = da.get_last_local_change().unwrap();
    let mut db = AutoCommit::new().with_actor(automerge::ActorId::from(&b.0[..]));
    db.empty_change(CommitOptions::default().with_message(rules_announcement(12)));
    da.merge(&mut db).unwrap();
    da.put(ROOT, "x", 2).unwrap();
    da.commit();
    let c2 = da.get_last_local_change().unwrap();
    // The receiver holds B's announcement now, for both.
    assert!(!announced_in_past(&mut da, c1.deps(), &members, 12));
    assert!(announced_in_past(&mut da, c2.deps(), &members, 12));
    // A later announcement of 9 by B, after c2, changes neither verdict.
    db.empty_change(CommitOptions::default().with_message(rules_announcement(9)));
    da.merge(&mut db).unwrap();
    assert!(!announced_in_past(&mut da, c1.deps(), &members, 12));
    assert!(announced_in_past(&mut da, c2.deps(), &members, 12));
    // Past: 9 is announced by both; a member that never announced keeps it from applying.
    assert!(announced_in_past(&mut da, c2.deps(), &members, 9));
    assert!(!announced_in_past(
        &mut da,
        c2.deps(),
        &[a, b, DeviceId([3; 32])],
        9
    ));
    assert!(!announced_in_past(&mut da, c2.deps(), &[], 0));
}

/// A journal (one person's devices) never announces, and a device removed from a space writes no
/// announcement there (it would only be refused).
#[test]
fn a_journal_and_a_removed_device_do_not_announce() {
    let d = device(4);
    let mut js = Space::create(&d.store, SpaceKind::Journal, &d.id).unwrap();
    assert_eq!(envelopes_of(&d, &mut js).0, 0);
    assert_eq!(js.announced_rules(&d.id.device), None);

    let f = device(1);
    let m = device(2);
    let mut fs = group(&f);
    let mut ms = joined(&f, &mut fs, &m, None);
    fs.remove_member(&f.store, &f.id, m.id.device).unwrap();
    let (_, all) = envelopes_of(&f, &mut fs);
    ms.receive(&m.store, &m.id, &all).unwrap();
    assert!(!ms.membership().is_member(&m.id.device));
    assert_eq!(envelopes_of(&m, &mut ms).0, 0);
    assert_eq!(ms.announced_rules(&m.id.device), None);
}
