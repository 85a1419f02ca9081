//! Hostile and ordinary shapes of membership logs, built from fixed keys: what the cost tests of
//! issue 15, item 1 measure evaluation against (`proto/tests/membership_work.rs`, the relay's rebuild
//! and `Vault::open`), and what `proto/tests/membership_cost.rs` times by hand. Test support only:
//! compiled with the `test-shapes` feature, never in a build that ships.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::membership::{Op, Role, SignedStatement, Statement, StatementId};
use crate::{DeviceId, SpaceId};

pub const SPACE: SpaceId = SpaceId([0x33; 16]);
pub const TIME: u64 = 1_767_225_600;

/// A distinct key for every (tag, index).
pub fn key(tag: u8, i: usize) -> Ed25519KeyPair {
    let mut seed = [tag; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Ed25519KeyPair::from_seed_unchecked(&seed).unwrap()
}

pub fn dev(k: &Ed25519KeyPair) -> DeviceId {
    DeviceId::from_slice(k.public_key().as_ref()).unwrap()
}

pub fn sign(k: &Ed25519KeyPair, parents: &[StatementId], op: Op) -> SignedStatement {
    let mut p = parents.to_vec();
    p.sort_unstable();
    p.dedup();
    Statement::new(SPACE, p, dev(k), TIME, op).sign(k).unwrap()
}

pub fn genesis(k: &Ed25519KeyPair) -> SignedStatement {
    sign(
        k,
        &[],
        Op::Genesis {
            admin: dev(k),
            x25519: None,
        },
    )
}

pub fn add(by: &Ed25519KeyPair, parent: StatementId, d: DeviceId, role: Role) -> SignedStatement {
    sign(
        by,
        &[parent],
        Op::Add {
            device: d,
            role,
            person: None,
            x25519: None,
        },
    )
}

/// Genesis by admin 0, then admins 1..=m added one after the other (each add follows the previous).
pub fn admins(m: usize) -> (Vec<Ed25519KeyPair>, Vec<SignedStatement>) {
    let keys: Vec<Ed25519KeyPair> = (0..=m).map(|i| key(1, i)).collect();
    let mut log = vec![genesis(&keys[0])];
    for k in &keys[1..] {
        let parent = log.last().unwrap().id();
        log.push(add(&keys[0], parent, dev(k), Role::Admin));
    }
    (keys, log)
}

/// Admin i revokes admin i+1, all on the last add; pushed last to first, so the labelling settles
/// one revocation per pass. `demote`: `SetRole(Member)` instead of `Remove`.
pub fn chain(m: usize, demote: bool) -> Vec<SignedStatement> {
    let (keys, mut log) = admins(m);
    let top = log.last().unwrap().id();
    let mut revs = Vec::new();
    for i in 1..m {
        let target = dev(&keys[i + 1]);
        let op = if demote {
            Op::SetRole {
                device: target,
                role: Role::Member,
                last_seq: Some(0),
            }
        } else {
            Op::Remove {
                device: target,
                last_seq: 0,
            }
        };
        revs.push(sign(&keys[i], &[top], op));
    }
    revs.reverse();
    log.extend(revs);
    log
}

/// As [`chain`], pushed first to last (the labelling settles the chain in one pass).
pub fn chain_forward(m: usize) -> Vec<SignedStatement> {
    let (keys, mut log) = admins(m);
    let top = log.last().unwrap().id();
    for i in 1..m {
        let target = dev(&keys[i + 1]);
        log.push(sign(
            &keys[i],
            &[top],
            Op::Remove {
                device: target,
                last_seq: 0,
            },
        ));
    }
    log
}

/// Pairs of admins removing each other on one parent (settled by seniority).
pub fn mutual(m: usize) -> Vec<SignedStatement> {
    let (keys, mut log) = admins(m);
    let top = log.last().unwrap().id();
    for i in (1..m).step_by(2) {
        for (a, b) in [(i, i + 1), (i + 1, i)] {
            log.push(sign(
                &keys[a],
                &[top],
                Op::Remove {
                    device: dev(&keys[b]),
                    last_seq: 0,
                },
            ));
        }
    }
    log
}

/// Each admin removes the next one and the last removes the first, on one parent, pushed last to
/// first: a cycle the labelling cannot decide.
pub fn ring(m: usize) -> Vec<SignedStatement> {
    let (keys, mut log) = admins(m);
    let top = log.last().unwrap().id();
    let mut revs = Vec::new();
    for i in 1..=m {
        let next = if i == m { 1 } else { i + 1 };
        revs.push(sign(
            &keys[i],
            &[top],
            Op::Remove {
                device: dev(&keys[next]),
                last_seq: 0,
            },
        ));
    }
    revs.reverse();
    log.extend(revs);
    log
}

pub fn certified(person: &Ed25519KeyPair, device: DeviceId) -> ([u8; 32], [u8; 64]) {
    let cert = crate::DeviceCertificate {
        person: crate::PersonId::from_slice(person.public_key().as_ref()).unwrap(),
        device,
        x25519: [9; 32],
        created: TIME,
    }
    .sign(person)
    .unwrap();
    let bytes = cert.as_bytes();
    let sig: [u8; 64] = bytes[bytes.len() - 64..].try_into().unwrap();
    (cert.verify().unwrap().person.0, sig)
}

/// One person's device added, then `2m` more devices of that person vouching themselves in, each on
/// the previous statement (so each statement's past is the whole log).
pub fn vouches(m: usize) -> Vec<SignedStatement> {
    let admin = key(1, 0);
    let person = key(2, 0);
    let mut log = vec![genesis(&admin)];
    let first = key(3, 0);
    log.push(sign(
        &admin,
        &[log[0].id()],
        Op::Add {
            device: dev(&first),
            role: Role::Member,
            person: Some(person.public_key().as_ref().try_into().unwrap()),
            x25519: Some([9; 32]),
        },
    ));
    for i in 1..2 * m {
        let d = key(3, i);
        let (p, signature) = certified(&person, dev(&d));
        let parent = log.last().unwrap().id();
        log.push(sign(
            &d,
            &[parent],
            Op::Vouch {
                person: p,
                x25519: [9; 32],
                created: TIME,
                signature,
            },
        ));
    }
    log
}

/// `m` invites, each spent by an admit, one after the other.
pub fn admits(m: usize) -> Vec<SignedStatement> {
    let admin = key(1, 0);
    let mut log = vec![genesis(&admin)];
    for i in 0..m {
        let mut invite = [0u8; 16];
        invite[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let parent = log.last().unwrap().id();
        log.push(sign(
            &admin,
            &[parent],
            Op::Invite {
                invite,
                expires: u64::MAX,
                gate: None,
            },
        ));
        let parent = log.last().unwrap().id();
        log.push(sign(
            &admin,
            &[parent],
            Op::Admit {
                device: dev(&key(4, i)),
                person: None,
                x25519: [9; 32],
                invite,
            },
        ));
    }
    log
}

/// Plain members added one after the other (what a large, legitimate group looks like).
pub fn members(m: usize) -> Vec<SignedStatement> {
    let admin = key(1, 0);
    let mut log = vec![genesis(&admin)];
    for i in 0..2 * m {
        let parent = log.last().unwrap().id();
        log.push(add(&admin, parent, dev(&key(5, i)), Role::Member));
    }
    log
}

/// Admin 1 revoked by `m` other admins on one parent while it signs `m` adds on that same parent:
/// every statement of its checks every standing revocation of it.
pub fn target(m: usize) -> Vec<SignedStatement> {
    let (keys, mut log) = admins(m);
    let top = log.last().unwrap().id();
    for k in &keys[2..] {
        log.push(sign(
            k,
            &[top],
            Op::Remove {
                device: dev(&keys[1]),
                last_seq: 0,
            },
        ));
    }
    for i in 0..m {
        log.push(add(&keys[1], top, dev(&key(6, i)), Role::Member));
    }
    log
}

/// Something like a programme's report space over a few years: per person an invite and its admit
/// and a recertify; every third person a second device that vouches itself in; every fifth person
/// leaves (remove and rotate). `m` people; about 4.7 statements each.
pub fn programme(m: usize) -> Vec<SignedStatement> {
    let admin = key(1, 0);
    let mut log = vec![genesis(&admin)];
    let head = |log: &Vec<SignedStatement>| log.last().unwrap().id();
    for i in 0..m {
        let person = key(7, i);
        let phone = key(8, i);
        let mut invite = [0u8; 16];
        invite[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let st = sign(
            &admin,
            &[head(&log)],
            Op::Invite {
                invite,
                expires: u64::MAX,
                gate: None,
            },
        );
        log.push(st);
        let pid: [u8; 32] = person.public_key().as_ref().try_into().unwrap();
        let st = sign(
            &admin,
            &[head(&log)],
            Op::Admit {
                device: dev(&phone),
                person: Some(pid),
                x25519: [9; 32],
                invite,
            },
        );
        log.push(st);
        let (p, signature) = certified(&person, dev(&phone));
        let st = sign(
            &phone,
            &[head(&log)],
            Op::Recertify {
                device: dev(&phone),
                person: p,
                x25519: [9; 32],
                created: TIME,
                signature,
            },
        );
        log.push(st);
        if i % 3 == 0 {
            let tablet = key(9, i);
            let (p, signature) = certified(&person, dev(&tablet));
            let st = sign(
                &tablet,
                &[head(&log)],
                Op::Vouch {
                    person: p,
                    x25519: [9; 32],
                    created: TIME,
                    signature,
                },
            );
            log.push(st);
        }
        if i % 5 == 4 {
            let st = sign(
                &admin,
                &[head(&log)],
                Op::Remove {
                    device: dev(&phone),
                    last_seq: 0,
                },
            );
            log.push(st);
            let st = sign(
                &admin,
                &[head(&log)],
                Op::Rotate {
                    commit: [i as u8; 32],
                },
            );
            log.push(st);
        }
    }
    log
}

/// Admin 1 removes admins 2..=m/2 while admins m/2+1..=m each remove admin 1, all on one parent:
/// every revocation by admin 1 is attacked by every revocation of it, about m²/4 attacks in all
/// (the shape whose labelling costs most per statement).
pub fn crossfire(m: usize) -> Vec<SignedStatement> {
    let (keys, mut log) = admins(m);
    let top = log.last().unwrap().id();
    let half = m / 2;
    for k in &keys[2..=half] {
        log.push(sign(
            &keys[1],
            &[top],
            Op::Remove {
                device: dev(k),
                last_seq: 0,
            },
        ));
    }
    for k in &keys[half + 1..=m] {
        log.push(sign(
            k,
            &[top],
            Op::Remove {
                device: dev(&keys[1]),
                last_seq: 0,
            },
        ));
    }
    log
}

/// Every shape by name, for tests that go through them all.
pub const NAMES: &[&str] = &[
    "chain",
    "chain-demote",
    "chain-forward",
    "mutual",
    "ring",
    "vouches",
    "admits",
    "members",
    "target",
    "programme",
    "crossfire",
];

/// The shape called `name` at size `m`, or `None` for a name not in [`NAMES`]. `programme` takes
/// `m / 2` people and `target` `2m / 3` admins, so every shape has about `2m` statements.
pub fn by_name(name: &str, m: usize) -> Option<Vec<SignedStatement>> {
    Some(match name {
        "chain" => chain(m, false),
        "chain-demote" => chain(m, true),
        "chain-forward" => chain_forward(m),
        "mutual" => mutual(m),
        "ring" => ring(m),
        "vouches" => vouches(m),
        "admits" => admits(m),
        "members" => members(m),
        "target" => target(m * 2 / 3),
        "programme" => programme(m / 2),
        "crossfire" => crossfire(m),
        _ => return None,
    })
}

/// Every statement carried in an envelope of its own author (as a membership envelope must be), each
/// author's sequence numbers counting up from 1: what a relay's store or a device's vault holds of
/// the log. `m` is the size the statements were built at.
pub fn envelopes(statements: &[SignedStatement], m: usize) -> Vec<crate::Envelope> {
    let mut keys = std::collections::HashMap::new();
    for tag in [1u8, 3, 8, 9] {
        for i in 0..=2 * m {
            let k = key(tag, i);
            keys.insert(dev(&k), k);
        }
    }
    let mut seqs: std::collections::HashMap<DeviceId, u64> = std::collections::HashMap::new();
    statements
        .iter()
        .map(|st| {
            let author = st.statement().author;
            let seq = seqs.entry(author).or_insert(0);
            *seq += 1;
            st.to_envelope(SPACE, *seq, &keys[&author]).unwrap()
        })
        .collect()
}
