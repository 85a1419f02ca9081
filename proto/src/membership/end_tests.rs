//! Ending (issue 18, item 1; protocol 15.11), after the review of the first version: an end stops its
//! own author alone, at the number of the envelope carrying it, whatever the space; nobody sets
//! another member's cutoff; an end concurrent with its author's removal counts for nothing; a later
//! end never moves a cutoff; the other party's writes stand until its own end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ring::signature::{Ed25519KeyPair, KeyPair};

use super::*;
use crate::{DeviceId, ProtoError, SpaceId};

const SPACE: SpaceId = SpaceId([0x46; 16]);
const TIME: u64 = 1_767_225_600;

fn key(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}
fn dev(k: &Ed25519KeyPair) -> DeviceId {
    DeviceId::from_slice(k.public_key().as_ref()).unwrap()
}
fn sign(k: &Ed25519KeyPair, parents: Vec<StatementId>, op: Op) -> SignedStatement {
    sign_at(k, parents, TIME, op)
}
fn sign_at(k: &Ed25519KeyPair, parents: Vec<StatementId>, time: u64, op: Op) -> SignedStatement {
    Statement::new(SPACE, parents, dev(k), time, op)
        .sign(k)
        .unwrap()
}
fn end(k: &Ed25519KeyPair, parents: Vec<StatementId>, last_seq: u64) -> SignedStatement {
    sign(
        k,
        parents,
        Op::End {
            device: dev(k),
            last_seq,
        },
    )
}

/// Admin A (seed 1) with members B (2) and C (3): a group, or a pairing's shape with one more.
fn group() -> (MembershipLog, Vec<SignedStatement>) {
    let (a, b, c) = (key(1), key(2), key(3));
    let g = sign(
        &a,
        vec![],
        Op::Genesis {
            admin: dev(&a),
            x25519: Some([9; 32]),
        },
    );
    let add = |after: &SignedStatement, d: DeviceId| {
        sign(
            &a,
            vec![after.id()],
            Op::Add {
                device: d,
                role: Role::Member,
                person: None,
                x25519: Some([9; 32]),
            },
        )
    };
    let add_b = add(&g, dev(&b));
    let add_c = add(&add_b, dev(&c));
    let mut log = MembershipLog::new(SPACE);
    let all = vec![g, add_b, add_c];
    for s in &all {
        log.insert(s.clone()).unwrap();
    }
    (log, all)
}

/// The same statements in reverse: the state must not depend on the order they arrived in.
fn reversed(log: &MembershipLog) -> MembershipState {
    let mut other = MembershipLog::new(SPACE);
    let mut st: Vec<SignedStatement> = log.statements().cloned().collect();
    st.reverse();
    for s in st {
        let _ = other.insert(s);
    }
    other.state()
}

/// Review H1 (r1 inverted): a plain member of a group ends it; every other member writes on as
/// before, on every device and at the relay: the end stopped its author alone.
#[test]
fn an_end_in_a_group_by_a_plain_member_stops_nobody_else() {
    let (mut log, all) = group();
    let (a, b, c) = (key(1), key(2), key(3));
    let e = end(&b, vec![all[2].id()], 4);
    log.insert(e.clone()).unwrap();
    let st = log.state();
    for (d, role) in [(dev(&a), Role::Admin), (dev(&c), Role::Member)] {
        assert_eq!(st.writing_role_at(&d, 1), Some(role));
        assert_eq!(st.writing_role_at(&d, 1_000_000), Some(role));
        assert!(st.may_write(&d, 1_000_000));
    }
    assert_eq!(st.writing_role_at(&dev(&b), 4), Some(Role::Member));
    assert_eq!(st.writing_role_at(&dev(&b), 5), None);
    assert_eq!(reversed(&log), st);
}

/// Review H1/H2: an end naming anyone but its author is not a statement at all: nobody sets another
/// member's cutoff.
#[test]
fn nobody_signs_an_end_for_another_device() {
    let (_, all) = group();
    let (a, b) = (key(1), key(2));
    let forged = Statement::new(
        SPACE,
        vec![all[2].id()],
        dev(&b),
        TIME,
        Op::End {
            device: dev(&a),
            last_seq: 0,
        },
    );
    assert!(matches!(forged.sign(&b), Err(ProtoError::Malformed(_))));
}

/// Review H1 (r7 inverted): a member removed concurrently with its own end (the end on parents from
/// before the removal) ends nothing, whatever its statement's id and the walk order it gets: like
/// every other statement of a member, a concurrent removal of its author sets it aside.
#[test]
fn an_end_concurrent_with_its_authors_removal_counts_for_nothing() {
    let (a, b) = (key(1), key(2));
    let (_, all) = group();
    let remove_b = sign(
        &a,
        vec![all[2].id()],
        Op::Remove {
            device: dev(&b),
            last_seq: 0,
        },
    );
    let mut before = 0;
    for t in 0..32u64 {
        let e = sign_at(
            &b,
            vec![all[1].id()],
            TIME + t,
            Op::End {
                device: dev(&b),
                last_seq: 2,
            },
        );
        // Among statements ready together the smaller id walks first: an end below C's add walks
        // before the removal, which follows that add.
        if e.id() < all[2].id() {
            before += 1;
        }
        let mut log = MembershipLog::new(SPACE);
        for s in all.iter().chain([&remove_b, &e]) {
            log.insert(s.clone()).unwrap();
        }
        assert_eq!(log.is_valid(&e.id()), Some(false), "time {t}");
        let st = log.state();
        assert!(!st.is_ended());
        assert_eq!(st.writing_role_at(&dev(&b), 1), None, "removed at 0");
        assert_eq!(st.writing_role_at(&dev(&a), 9), Some(Role::Admin));
        assert_eq!(reversed(&log), st);
    }
    assert!(before > 0, "some end walks before the removal");
}

/// Review H3 (r1's last assertion inverted): an end travels only in the membership envelope
/// numbered as its cutoff, so its author cannot name itself a cutoff it keeps writing below.
#[test]
fn an_end_travels_only_in_an_envelope_numbered_as_its_cutoff() {
    let (_, all) = group();
    let b = key(2);
    let e = end(&b, vec![all[2].id()], 5);
    let ok = e.to_envelope(SPACE, 5, &b).unwrap();
    assert_eq!(SignedStatement::from_envelope(&ok).unwrap().id(), e.id());
    for seq in [4, 6] {
        let bad = e.to_envelope(SPACE, seq, &b).unwrap();
        assert!(matches!(
            SignedStatement::from_envelope(&bad),
            Err(ProtoError::Malformed(_))
        ));
    }
    let unbounded = end(&b, vec![all[2].id()], u64::MAX);
    let bad = unbounded.to_envelope(SPACE, 5, &b).unwrap();
    assert!(SignedStatement::from_envelope(&bad).is_err());
}

/// Review H2 (r2 inverted): once a device's end counts, a later end (its own, in a later envelope)
/// changes no cutoff, and an end by another member changes only that member's.
#[test]
fn a_later_end_never_moves_a_cutoff() {
    let (mut log, all) = group();
    let (b, c) = (key(2), key(3));
    let first = end(&b, vec![all[2].id()], 6);
    log.insert(first.clone()).unwrap();
    let later = end(&b, vec![first.id()], 9);
    log.insert(later.clone()).unwrap();
    assert_eq!(log.is_valid(&later.id()), Some(false));
    let st = log.state();
    assert_eq!(st.writing_role_at(&dev(&b), 6), Some(Role::Member));
    assert_eq!(st.writing_role_at(&dev(&b), 7), None);
    // C ends at its own number: C's cutoff, nobody else's.
    let theirs = end(&c, vec![later.id()], 3);
    log.insert(theirs).unwrap();
    let st = log.state();
    assert_eq!(st.writing_role_at(&dev(&c), 3), Some(Role::Member));
    assert_eq!(st.writing_role_at(&dev(&c), 4), None);
    assert_eq!(st.writing_role_at(&dev(&b), 6), Some(Role::Member));
    assert_eq!(st.writing_role_at(&dev(&b), 7), None);
    assert_eq!(reversed(&log), st);
}

/// Review H2: the other party's writes stand until its own end, however far past the ender's they
/// are numbered (a check-in in flight when the end was signed), and stop there.
#[test]
fn the_other_partys_writes_stand_until_its_own_end() {
    let (mut log, all) = group();
    let (a, b) = (key(1), key(2));
    let e = end(&a, vec![all[2].id()], 7);
    log.insert(e.clone()).unwrap();
    let st = log.state();
    assert!(st.is_ended());
    assert_eq!(st.writing_role_at(&dev(&b), 40), Some(Role::Member));
    assert!(st.may_write(&dev(&b), 40));
    let own = end(&b, vec![e.id()], 41);
    log.insert(own).unwrap();
    let st = log.state();
    assert_eq!(st.writing_role_at(&dev(&b), 41), Some(Role::Member));
    assert_eq!(st.writing_role_at(&dev(&b), 42), None);
    assert_eq!(st.writing_role_at(&dev(&a), 7), Some(Role::Admin));
    assert_eq!(st.writing_role_at(&dev(&a), 8), None);
    assert_eq!(reversed(&log), st);
}

/// Guards the shape that makes review M2 (r3) impossible: an end is one statement naming its author
/// alone, at its own envelope's number, and it keeps everything its author wrote up to it. (Not r3
/// inverted: r3 was the first of the old N+1 statements, an end naming the other member, refusing
/// the ender's history; this passed on the old code too. That an end naming another device is
/// refused is `nobody_signs_an_end_for_another_device`.)
#[test]
fn an_end_keeps_its_authors_history_up_to_its_cutoff() {
    let (mut log, all) = group();
    let b = key(2);
    log.insert(end(&b, vec![all[2].id()], 7)).unwrap();
    let st = log.state();
    for seq in 1..=7 {
        assert_eq!(st.writing_role_at(&dev(&b), seq), Some(Role::Member));
        assert!(st.may_write(&dev(&b), seq));
    }
    assert_eq!(st.writing_role_at(&dev(&b), 8), None);
    assert!(st.may_read(&dev(&b)), "an ender still reads");
}
