//! Leaving a space and ending it (issue 18, item 1; protocol 15.11): a device's own signed leave,
//! judged the same on every device whatever order the statements came in; a leave nobody else can
//! sign; a stranger's end (the rest of ending: `end_tests.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ring::signature::{Ed25519KeyPair, KeyPair};

use super::*;
use crate::{DeviceId, ProtoError, SpaceId};

const SPACE: SpaceId = SpaceId([0x45; 16]);
const TIME: u64 = 1_767_225_600;

fn key(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}
fn dev(k: &Ed25519KeyPair) -> DeviceId {
    DeviceId::from_slice(k.public_key().as_ref()).unwrap()
}
fn sign(k: &Ed25519KeyPair, parents: Vec<StatementId>, op: Op) -> SignedStatement {
    Statement::new(SPACE, parents, dev(k), TIME, op)
        .sign(k)
        .unwrap()
}

/// Admin A (seed 1) with members B (2) and C (3).
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
    let add_b = sign(
        &a,
        vec![g.id()],
        Op::Add {
            device: dev(&b),
            role: Role::Member,
            person: None,
            x25519: Some([9; 32]),
        },
    );
    let add_c = sign(
        &a,
        vec![add_b.id()],
        Op::Add {
            device: dev(&c),
            role: Role::Member,
            person: None,
            x25519: Some([9; 32]),
        },
    );
    let mut log = MembershipLog::new(SPACE);
    let all = vec![g, add_b, add_c];
    for s in &all {
        log.insert(s.clone()).unwrap();
    }
    (log, all)
}

#[test]
fn a_member_leaves_on_its_own_word_and_writes_nothing_after_its_cutoff() {
    let (mut log, all) = group();
    let b = key(2);
    let leave = sign(
        &b,
        vec![all[2].id()],
        Op::Leave {
            device: dev(&b),
            last_seq: 5,
        },
    );
    assert!(matches!(
        log.insert(leave).unwrap(),
        Inserted::Applied { .. }
    ));
    let st = log.state();
    assert!(!st.is_member(&dev(&b)));
    assert!(st.is_member(&dev(&key(3))));
    assert!(
        st.may_write(&dev(&b), 5),
        "what it wrote before leaving stays"
    );
    assert!(!st.may_write(&dev(&b), 6), "nothing after its leave");
    assert_eq!(st.writing_role_at(&dev(&b), 5), Some(Role::Member));
    assert_eq!(st.writing_role_at(&dev(&b), 6), None);
    // A remaining admin rotates: the key in use may be held by the leaver.
    assert!(log.removed_since(None));
}

#[test]
fn nobody_signs_another_devices_leave_and_a_stranger_has_no_leave_to_give() {
    let (mut log, all) = group();
    let (b, c, stranger) = (key(2), key(3), key(7));
    // C names B: refused by the structure alone.
    let forged = Statement::new(
        SPACE,
        vec![all[2].id()],
        dev(&c),
        TIME,
        Op::Leave {
            device: dev(&b),
            last_seq: 1,
        },
    );
    assert!(matches!(forged.sign(&c), Err(ProtoError::Malformed(_))));
    // C's key over a statement naming B as author: the signature does not hold.
    let mut bytes = Statement::new(
        SPACE,
        vec![all[2].id()],
        dev(&b),
        TIME,
        Op::Leave {
            device: dev(&b),
            last_seq: 1,
        },
    )
    .encode()
    .unwrap();
    let sig = c.sign(&signed_input_for_tests(&bytes));
    bytes.extend_from_slice(sig.as_ref());
    assert!(matches!(
        SignedStatement::from_bytes(&bytes),
        Err(ProtoError::BadSignature)
    ));
    // A stranger's own leave: valid in form, counts for nothing.
    let theirs = sign(
        &stranger,
        vec![all[2].id()],
        Op::Leave {
            device: dev(&stranger),
            last_seq: 1,
        },
    );
    let before = log.state();
    log.insert(theirs.clone()).unwrap();
    assert_eq!(log.is_valid(&theirs.id()), Some(false));
    assert_eq!(log.state().members, before.members);
    assert!(!log.state().removed.contains_key(&dev(&stranger)));
    assert!(!log.removed_since(None));
}

#[test]
fn a_leave_travels_only_in_an_envelope_numbered_as_its_cutoff() {
    let (_, all) = group();
    let b = key(2);
    let leave = sign(
        &b,
        vec![all[2].id()],
        Op::Leave {
            device: dev(&b),
            last_seq: 4,
        },
    );
    let ok = leave.to_envelope(SPACE, 4, &b).unwrap();
    assert_eq!(
        SignedStatement::from_envelope(&ok).unwrap().id(),
        leave.id()
    );
    // Numbered past its cutoff, its author could go on writing below it after leaving.
    let bad = leave.to_envelope(SPACE, 3, &b).unwrap();
    assert!(matches!(
        SignedStatement::from_envelope(&bad),
        Err(ProtoError::Malformed(_))
    ));
    let bad = leave.to_envelope(SPACE, 5, &b).unwrap();
    assert!(SignedStatement::from_envelope(&bad).is_err());
}

#[test]
fn a_replayed_leave_does_not_remove_a_device_added_back_after_it() {
    let (mut log, all) = group();
    let (a, b) = (key(1), key(2));
    let leave = sign(
        &b,
        vec![all[2].id()],
        Op::Leave {
            device: dev(&b),
            last_seq: 2,
        },
    );
    log.insert(leave.clone()).unwrap();
    let back = sign(
        &a,
        vec![leave.id()],
        Op::Add {
            device: dev(&b),
            role: Role::Member,
            person: None,
            x25519: Some([9; 32]),
        },
    );
    log.insert(back).unwrap();
    assert!(log.state().is_member(&dev(&b)));
    // The same leave again is the same statement: nothing changes, in any order.
    assert!(matches!(
        log.insert(leave.clone()).unwrap(),
        Inserted::Duplicate
    ));
    assert!(log.state().is_member(&dev(&b)));
    let mut other = MembershipLog::new(SPACE);
    let mut st: Vec<SignedStatement> = log.statements().cloned().collect();
    st.reverse();
    for s in st {
        let _ = other.insert(s);
    }
    assert_eq!(other.state(), log.state());
}

#[test]
fn a_stranger_cannot_end_a_space() {
    let (mut log, all) = group();
    let s = key(8);
    let end = sign(
        &s,
        vec![all[2].id()],
        Op::End {
            device: dev(&s),
            last_seq: 1,
        },
    );
    log.insert(end.clone()).unwrap();
    assert_eq!(log.is_valid(&end.id()), Some(false));
    assert!(!log.state().is_ended());
    assert_eq!(
        log.state().writing_role_at(&dev(&key(2)), 1),
        Some(Role::Member)
    );
}

fn signed_input_for_tests(bytes: &[u8]) -> Vec<u8> {
    signed::signing_input(bytes)
}

/// Review H4 (r6 inverted): an admin X demoted by A with cutoff 3 signs a leave on parents from
/// before the demotion, numbered 10. Its envelopes 4..10 stay a member's, in every order the
/// statements arrive in, whichever of the two walks first: a leave never raises its author's admin
/// cutoff past a standing demotion concurrent with it. The same with a concurrent removal.
#[test]
fn a_leave_concurrent_with_a_demotion_keeps_the_demotion_in_every_order() {
    let (a, c, x) = (key(1), key(3), key(4));
    let g = sign(
        &a,
        vec![],
        Op::Genesis {
            admin: dev(&a),
            x25519: Some([9; 32]),
        },
    );
    let add = |after: &SignedStatement, d: DeviceId, role: Role| {
        sign(
            &a,
            vec![after.id()],
            Op::Add {
                device: d,
                role,
                person: None,
                x25519: Some([9; 32]),
            },
        )
    };
    let add_x = add(&g, dev(&x), Role::Admin);
    let add_c = add(&add_x, dev(&c), Role::Member);
    let demote = sign(
        &a,
        vec![add_c.id()],
        Op::SetRole {
            device: dev(&x),
            role: Role::Member,
            last_seq: Some(3),
        },
    );
    let remove = sign(
        &a,
        vec![add_c.id()],
        Op::Remove {
            device: dev(&x),
            last_seq: 3,
        },
    );
    for time in 0..8u64 {
        // Different times give different ids: the leave walks before or after the demotion.
        let leave = Statement::new(
            SPACE,
            vec![add_c.id()],
            dev(&x),
            TIME + time,
            Op::Leave {
                device: dev(&x),
                last_seq: 10,
            },
        )
        .sign(&x)
        .unwrap();
        for against in [&demote, &remove] {
            let all = [&g, &add_x, &add_c, against, &leave];
            let orders: [[usize; 5]; 4] = [
                [0, 1, 2, 3, 4],
                [0, 1, 2, 4, 3],
                [4, 3, 2, 1, 0],
                [3, 4, 0, 2, 1],
            ];
            for order in orders {
                let mut log = MembershipLog::new(SPACE);
                for i in order {
                    log.insert(all[i].clone()).unwrap();
                }
                let st = log.state();
                assert!(!st.is_member(&dev(&x)));
                assert_eq!(st.writing_role_at(&dev(&x), 3), Some(Role::Admin));
                let after = if against.id() == demote.id() {
                    Some(Role::Member)
                } else {
                    None
                };
                assert_eq!(st.writing_role_at(&dev(&x), 4), after, "time {time}");
                assert_eq!(st.writing_role_at(&dev(&x), 8), after, "time {time}");
                assert_eq!(st.writing_role_at(&dev(&x), 11), None);
            }
        }
    }
}

/// Review L1 (r4 inverted): the only admin's leave counts for nothing on receipt too (nobody would be
/// left to rotate the key away from it); with two admins leaving concurrently, one leave counts and
/// the other does not, the same in every order.
#[test]
fn the_only_admins_leave_counts_for_nothing() {
    let (mut log, all) = group();
    let a = key(1);
    let l = sign(
        &a,
        vec![all[2].id()],
        Op::Leave {
            device: dev(&a),
            last_seq: 3,
        },
    );
    log.insert(l.clone()).unwrap();
    assert_eq!(log.is_valid(&l.id()), Some(false));
    assert!(log.state().is_admin(&dev(&a)));
    assert!(!log.removed_since(None));

    // A second admin X; both leave concurrently.
    let x = key(4);
    let (mut log, all) = group();
    let add_x = sign(
        &a,
        vec![all[2].id()],
        Op::Add {
            device: dev(&x),
            role: Role::Admin,
            person: None,
            x25519: Some([9; 32]),
        },
    );
    log.insert(add_x.clone()).unwrap();
    let la = sign(
        &a,
        vec![add_x.id()],
        Op::Leave {
            device: dev(&a),
            last_seq: 4,
        },
    );
    let lx = sign(
        &x,
        vec![add_x.id()],
        Op::Leave {
            device: dev(&x),
            last_seq: 1,
        },
    );
    log.insert(la.clone()).unwrap();
    log.insert(lx.clone()).unwrap();
    let st = log.state();
    let counted = [&la, &lx]
        .iter()
        .filter(|s| log.is_valid(&s.id()) == Some(true))
        .count();
    assert_eq!(counted, 1);
    assert_eq!(
        st.members.values().filter(|r| **r == Role::Admin).count(),
        1
    );
    let mut other = MembershipLog::new(SPACE);
    let mut stmts: Vec<SignedStatement> = log.statements().cloned().collect();
    stmts.reverse();
    for s in stmts {
        let _ = other.insert(s);
    }
    assert_eq!(other.state(), st);
}
