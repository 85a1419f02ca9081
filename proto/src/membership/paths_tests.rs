//! The three ways a log is built agree (issue 15, item 1, review): one by one in order (where `step`
//! carries the evaluation over statements that follow the heads), in a random order (statements
//! waiting for parents released, the memo of pasts used) and all at once (`insert_many`); and after
//! every step the carried evaluation equals a full one. On random histories of every kind of
//! statement, many naming exactly the current heads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use ring::signature::{Ed25519KeyPair, KeyPair};

use super::evaluate::Bits;
use super::*;
use crate::{DeviceId, ProtoError, SpaceId};

const SPACE: SpaceId = SpaceId([0x44; 16]);
const TIME: u64 = 1_767_225_600;

fn key(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}
fn dev(k: &Ed25519KeyPair) -> DeviceId {
    DeviceId::from_slice(k.public_key().as_ref()).unwrap()
}
fn pid(k: &Ed25519KeyPair) -> [u8; 32] {
    k.public_key().as_ref().try_into().unwrap()
}
fn cert_sig(person: &Ed25519KeyPair, device: DeviceId) -> [u8; 64] {
    let cert = crate::DeviceCertificate {
        person: crate::PersonId::from_slice(person.public_key().as_ref()).unwrap(),
        device,
        x25519: [9; 32],
        created: TIME,
    }
    .sign(person)
    .unwrap();
    let b = cert.as_bytes();
    b[b.len() - 64..].try_into().unwrap()
}
fn rev_sig(person: &Ed25519KeyPair, device: DeviceId) -> [u8; 64] {
    let rev = crate::DeviceRevocation {
        person: crate::PersonId::from_slice(person.public_key().as_ref()).unwrap(),
        device,
        time: TIME,
    }
    .sign(person)
    .unwrap();
    let b = rev.as_bytes();
    b[b.len() - 64..].try_into().unwrap()
}

const DEVICES: usize = 6;
const PERSONS: usize = 2;
const INVITES: [[u8; 16]; 2] = [[0x51; 16], [0x52; 16]];

/// (author, kind, target, person, role/flag, parents picks)
type Step = (usize, u8, usize, usize, bool, Vec<prop::sample::Index>);

fn step_strategy() -> impl Strategy<Value = Step> {
    (
        0..DEVICES,
        0u8..13,
        0..DEVICES,
        0..PERSONS,
        any::<bool>(),
        prop::collection::vec(any::<prop::sample::Index>(), 1..=3),
    )
}

fn history(steps: &[Step]) -> Vec<SignedStatement> {
    let devs: Vec<Ed25519KeyPair> = (1..=DEVICES as u8).map(key).collect();
    let persons: Vec<Ed25519KeyPair> = (100..100 + PERSONS as u8).map(key).collect();
    let sign = |k: &Ed25519KeyPair, parents: Vec<StatementId>, op: Op| {
        Statement::new(SPACE, parents, dev(k), TIME, op)
            .sign(k)
            .ok()
    };
    let mut out = vec![
        sign(
            &devs[0],
            vec![],
            Op::Genesis {
                admin: dev(&devs[0]),
                x25519: Some([9; 32]),
            },
        )
        .unwrap(),
    ];
    for (author, kind, target, person, flag, picks) in steps {
        // Parents: one or two of the last few statements (concurrency is likely).
        let recent = out.len().min(5);
        let base = out.len() - recent;
        let parents: Vec<StatementId> = if picks.len() == 1 {
            // The heads so far: the path `step` takes.
            out.iter()
                .filter(|s| !out.iter().any(|c| c.statement().parents.contains(&s.id())))
                .map(|s| s.id())
                .collect()
        } else {
            picks
                .iter()
                .map(|p| out[base + p.index(recent)].id())
                .collect()
        };
        let mut parents = parents;
        parents.sort_unstable();
        parents.dedup();
        let a = &devs[*author];
        let t = dev(&devs[*target]);
        let p = &persons[*person];
        let role = if *flag { Role::Admin } else { Role::Member };
        let st = match kind {
            0 => sign(
                a,
                parents,
                Op::Add {
                    device: t,
                    role,
                    person: flag
                        .then(|| pid(p))
                        .or(Some(pid(p)))
                        .filter(|_| *target % 3 != 0),
                    x25519: Some([9; 32]),
                },
            ),
            1 => sign(
                a,
                parents,
                Op::Remove {
                    device: t,
                    last_seq: 0,
                },
            ),
            2 => sign(
                a,
                parents,
                Op::SetRole {
                    device: t,
                    role,
                    last_seq: None,
                },
            ),
            3 => sign(
                &devs[*target],
                parents,
                Op::Vouch {
                    person: pid(p),
                    x25519: [9; 32],
                    created: TIME,
                    signature: cert_sig(p, t),
                },
            ),
            4 => sign(
                &devs[*target],
                parents,
                Op::Recertify {
                    device: t,
                    person: pid(p),
                    x25519: [9; 32],
                    created: TIME,
                    signature: cert_sig(p, t),
                },
            ),
            5 => {
                let new = &persons[(*person + 1) % PERSONS];
                let sig = p.sign(&succession_message(&pid(p), &pid(new)));
                sign(
                    a,
                    parents,
                    Op::Succession {
                        old: pid(p),
                        new: pid(new),
                        signature: sig.as_ref().try_into().unwrap(),
                    },
                )
            }
            6 => sign(
                a,
                parents,
                Op::RevokeDevice {
                    device: t,
                    person: pid(p),
                    time: TIME,
                    signature: rev_sig(p, t),
                    last_seq: 0,
                },
            ),
            7 => sign(
                a,
                parents,
                Op::Invite {
                    invite: INVITES[usize::from(*flag)],
                    expires: TIME,
                    gate: None,
                },
            ),
            8 => sign(
                a,
                parents,
                Op::Uninvite {
                    invite: INVITES[usize::from(*flag)],
                },
            ),
            9 => sign(
                a,
                parents,
                Op::Admit {
                    device: t,
                    person: flag.then(|| pid(p)),
                    x25519: [9; 32],
                    invite: INVITES[*target % 2],
                },
            ),
            // A device's own leave or end (15.11), numbered by the step so two differ.
            11 => sign(
                &devs[*target],
                parents,
                Op::Leave {
                    device: t,
                    last_seq: out.len() as u64,
                },
            ),
            12 => sign(
                &devs[*target],
                parents,
                Op::End {
                    device: t,
                    last_seq: out.len() as u64,
                },
            ),
            _ => sign(a, parents, Op::Rotate { commit: [7; 32] }),
        };
        if let Some(st) = st {
            if !out.iter().any(|s| s.id() == st.id()) {
                out.push(st);
            }
        }
    }
    out
}

/// After each insert, a log whose evaluation is up to date holds what a full evaluation gives.
fn check(log: &MembershipLog, what: &str) -> Result<(), TestCaseError> {
    if !log.fresh {
        return Ok(());
    }
    let full = log.evaluate(&Bits::all(log.nodes.len()));
    prop_assert_eq!(&log.current.state, &full.state, "{}: state", what);
    let mut valid = log.current.valid.clone();
    valid.resize(log.nodes.len(), false);
    prop_assert_eq!(valid, full.valid, "{}: valid", what);
    Ok(())
}

fn authorised(log: &MembershipLog) -> Vec<(StatementId, bool)> {
    let mut v: Vec<(StatementId, bool)> = log
        .nodes
        .iter()
        .map(|n| (n.statement.id(), n.authorised))
        .collect();
    v.sort_unstable();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PATHS_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
    ))]

    #[test]
    fn every_way_of_building_a_log_agrees_with_a_full_evaluation(
        steps in prop::collection::vec(step_strategy(), 1..=24),
        seed in any::<u64>(),
    ) {
        let statements = history(&steps);
        let mut log = MembershipLog::new(SPACE);
        for (k, s) in statements.iter().enumerate() {
            log.insert(s.clone()).unwrap();
            check(&log, &format!("in order, after {k}"))?;
        }
        let mut x = seed | 1;
        let mut order: Vec<usize> = (0..statements.len()).collect();
        for i in (1..order.len()).rev() {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
            order.swap(i, (r % (i as u64 + 1)) as usize);
        }
        let mut shuffled = MembershipLog::new(SPACE);
        for &i in &order {
            shuffled.insert(statements[i].clone()).unwrap();
            check(&shuffled, "shuffled")?;
        }
        let mut many = MembershipLog::new(SPACE);
        for r in many.insert_many(statements.iter().cloned()) {
            r.unwrap();
        }
        check(&many, "insert_many")?;
        prop_assert_eq!(log.state(), many.state());
        prop_assert_eq!(shuffled.state(), many.state());
        prop_assert_eq!(authorised(&log), authorised(&many));
        prop_assert_eq!(authorised(&shuffled), authorised(&many));
    }
}

/// Review finding: a statement that follows the heads and names a person for a device some
/// revocation targets sets aside, under the rule of 20.1, an earlier vouch under that person
/// concurrent with the revocation. Carrying the evaluation over it (`step`) missed that.
#[test]
fn a_later_add_naming_a_person_sets_aside_an_earlier_vouch_whichever_way_the_log_is_built() {
    let a = key(1);
    let d1 = key(2);
    let d2 = key(3);
    let e = key(4);
    let p = key(100);
    let sign = |k: &Ed25519KeyPair, mut parents: Vec<StatementId>, op: Op| {
        parents.sort_unstable();
        Statement::new(SPACE, parents, dev(k), TIME, op)
            .sign(k)
            .unwrap()
    };
    let g = sign(
        &a,
        vec![],
        Op::Genesis {
            admin: dev(&a),
            x25519: None,
        },
    );
    let a1 = sign(
        &a,
        vec![g.id()],
        Op::Add {
            device: dev(&d1),
            role: Role::Member,
            person: Some(pid(&p)),
            x25519: Some([9; 32]),
        },
    );
    let a2 = sign(
        &a,
        vec![a1.id()],
        Op::Add {
            device: dev(&e),
            role: Role::Member,
            person: None,
            x25519: None,
        },
    );
    let v = sign(
        &d2,
        vec![a2.id()],
        Op::Vouch {
            person: pid(&p),
            x25519: [9; 32],
            created: TIME,
            signature: cert_sig(&p, dev(&d2)),
        },
    );
    let r = sign(
        &a,
        vec![a2.id()],
        Op::Remove {
            device: dev(&e),
            last_seq: 0,
        },
    );
    let x = sign(
        &a,
        vec![v.id(), r.id()],
        Op::Add {
            device: dev(&e),
            role: Role::Member,
            person: Some(pid(&p)),
            x25519: None,
        },
    );
    let all = vec![g, a1, a2, v, r, x];
    let mut one_by_one = MembershipLog::new(SPACE);
    for s in &all {
        one_by_one.insert(s.clone()).unwrap();
        check(&one_by_one, "one by one").unwrap();
    }
    let mut at_once = MembershipLog::new(SPACE);
    for r in at_once.insert_many(all.iter().cloned()) {
        r.unwrap();
    }
    assert_eq!(one_by_one.state(), at_once.state());
    assert!(!one_by_one.state().is_member(&dev(&d2)));
}

/// Review finding: `judge` must refuse, as `insert` would, a statement waiting for parents when the
/// log already keeps `MAX_PENDING` waiting (else `Space::receive` took it and then failed whole).
#[test]
fn judge_refuses_a_waiting_statement_past_the_pending_bound_as_insert_does() {
    let a = key(1);
    let sign = |parents: Vec<StatementId>, op: Op| {
        Statement::new(SPACE, parents, dev(&a), TIME, op)
            .sign(&a)
            .unwrap()
    };
    let mut log = MembershipLog::new(SPACE);
    log.insert(sign(
        vec![],
        Op::Genesis {
            admin: dev(&a),
            x25519: None,
        },
    ))
    .unwrap();
    let orphan = |i: u64| {
        let mut commit = [0u8; 32];
        commit[..8].copy_from_slice(&i.to_le_bytes());
        sign(vec![StatementId([0xee; 32])], Op::Rotate { commit })
    };
    for i in 0..MAX_PENDING as u64 {
        log.insert(orphan(i)).unwrap();
    }
    let next = orphan(999_999);
    assert!(matches!(log.judge(&next), Err(ProtoError::TooLarge { .. })));
    assert!(matches!(log.insert(next), Err(ProtoError::TooLarge { .. })));
}
