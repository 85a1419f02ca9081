//! Programme roles (`docs/protocol.md`, section 19): the registry's rule (chains to the programme key,
//! revocations, expiry, chain length), refusal of malformed and forged input without any change, the
//! bounds, presenting a chain to a fresh registry, and a property test that roles are a function of
//! the set of statements, whatever order they arrive in, checked against a direct reading of the rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::programme::{
    MAX_CHAIN_LEN, MAX_GRANTS, MAX_REVOCATIONS, ProgrammeRegistry, ProgrammeRole, RoleGrant,
    RoleRevocation, SignedRoleGrant, SignedRoleRevocation,
};
use sebaya_proto::{PersonId, ProtoError};

use ProgrammeRole::{Coordinator, Participant, PeerSupporter};

/// The programme root key's seed byte.
const ROOT: u8 = 0x50;
/// Another programme's root key.
const OTHER_ROOT: u8 = 0x4f;
/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600;
const DAY: u64 = 86_400;
const YEAR: u64 = 365 * DAY;

fn key(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}

/// The public key of seed `seed` × 32 (computed once per seed: tests ask often).
fn pk(seed: u8) -> [u8; 32] {
    static KEYS: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        (0..=255u8)
            .map(|s| key(s).public_key().as_ref().try_into().unwrap())
            .collect()
    })[seed as usize]
}

fn person(seed: u8) -> PersonId {
    PersonId(pk(seed))
}

/// A grant by `issuer` (the programme key when `chain` is `None`) to `to`.
fn grant_at(
    issuer: u8,
    chain: Option<&SignedRoleGrant>,
    to: u8,
    role: ProgrammeRole,
    issued: u64,
    expires: u64,
) -> SignedRoleGrant {
    RoleGrant {
        programme: pk(ROOT),
        person: person(to),
        role,
        issuer: pk(issuer),
        issued,
        expires,
        chain: chain.map(|c| c.id()),
    }
    .sign(&key(issuer))
    .unwrap()
}

/// A grant by the programme key, for the year 2026.
fn by_root(to: u8, role: ProgrammeRole) -> SignedRoleGrant {
    grant_at(ROOT, None, to, role, T0, T0 + YEAR)
}

/// A grant by the coordinator whose grant is `chain`, for the year 2026.
fn by(chain: &SignedRoleGrant, to: u8, role: ProgrammeRole) -> SignedRoleGrant {
    let issuer = chain.verify().unwrap().person;
    let seed = seed_of(&issuer);
    grant_at(seed, Some(chain), to, role, T0, T0 + YEAR)
}

/// The seed byte of a test person (they are all `n` × 32).
fn seed_of(p: &PersonId) -> u8 {
    (0..=255u8).find(|s| pk(*s) == p.0).unwrap()
}

fn revoke(issuer: u8, grant: &SignedRoleGrant) -> SignedRoleRevocation {
    RoleRevocation {
        programme: pk(ROOT),
        grant: grant.id(),
        issuer: pk(issuer),
        time: T0 + 10 * DAY,
    }
    .sign(&key(issuer))
    .unwrap()
}

fn registry(
    grants: &[&SignedRoleGrant],
    revocations: &[&SignedRoleRevocation],
) -> ProgrammeRegistry {
    let mut reg = ProgrammeRegistry::new(pk(ROOT));
    for g in grants {
        reg.insert_grant(g.as_bytes()).unwrap();
    }
    for r in revocations {
        reg.insert_revocation(r.as_bytes()).unwrap();
    }
    reg
}

const NOW: u64 = T0 + 30 * DAY;
const C1: u8 = 1;
const C2: u8 = 2;
const C3: u8 = 3;
const S: u8 = 4;
const P: u8 = 5;
const Q: u8 = 6;

#[test]
fn grants_give_roles_and_the_highest_counts() {
    let c1 = by_root(C1, Coordinator);
    let p_root = by_root(P, Participant);
    let p_sup = by(&c1, P, PeerSupporter);
    let s = by(&c1, S, PeerSupporter);
    let reg = registry(&[&c1, &p_root, &p_sup, &s], &[]);
    assert_eq!(reg.role_of(&person(C1), NOW), Some(Coordinator));
    assert_eq!(reg.role_of(&person(P), NOW), Some(PeerSupporter));
    assert_eq!(reg.role_of(&person(S), NOW), Some(PeerSupporter));
    assert_eq!(reg.role_of(&person(Q), NOW), None);
    let roles = reg.roles(NOW);
    assert_eq!(
        roles,
        BTreeMap::from([
            (person(C1), Coordinator),
            (person(P), PeerSupporter),
            (person(S), PeerSupporter),
        ])
    );
    // The best grant is presented: the supporter grant and its chain.
    assert_eq!(
        reg.chain_for(&person(P), NOW),
        vec![p_sup.as_bytes().to_vec(), c1.as_bytes().to_vec()]
    );
    assert_eq!(
        reg.chain_for(&person(C1), NOW),
        vec![c1.as_bytes().to_vec()]
    );
    assert!(reg.chain_for(&person(Q), NOW).is_empty());
    assert!(reg.is_grant_valid(&p_root.id(), NOW));
    assert!(!reg.is_grant_valid(&[0; 32], NOW));
    assert_eq!(reg.grant_count(), 4);
    assert_eq!(reg.programme(), pk(ROOT));
    // Before any grant is current (beyond the skew), and after all expired: nobody.
    assert!(reg.roles(T0 - 301).is_empty());
    assert!(reg.roles(T0 + YEAR + 1).is_empty());
}

#[test]
fn revoking_a_coordinator_invalidates_every_grant_they_issued() {
    let c1 = by_root(C1, Coordinator);
    let c2 = by(&c1, C2, Coordinator);
    let s = by(&c2, S, PeerSupporter);
    let p = by(&c1, P, Participant);
    let c3 = by_root(C3, Coordinator);
    let q = by(&c3, Q, Participant);
    let all = [&c1, &c2, &s, &p, &c3, &q];
    let reg = registry(&all, &[]);
    assert_eq!(reg.roles(NOW).len(), 6);

    // By the programme key, or by another coordinator: the same effect, at every depth.
    for revoker in [ROOT, C3] {
        let reg = registry(&all, &[&revoke(revoker, &c1)]);
        assert_eq!(
            reg.roles(NOW),
            BTreeMap::from([(person(C3), Coordinator), (person(Q), Participant)]),
            "revoked by {revoker}"
        );
        assert!(reg.chain_for(&person(S), NOW).is_empty());
    }
    // Revoking the middle link cuts only what hangs below it.
    let reg = registry(&all, &[&revoke(ROOT, &c2)]);
    assert_eq!(reg.role_of(&person(C1), NOW), Some(Coordinator));
    assert_eq!(reg.role_of(&person(P), NOW), Some(Participant));
    assert_eq!(reg.role_of(&person(C2), NOW), None);
    assert_eq!(reg.role_of(&person(S), NOW), None);
}

#[test]
fn a_revocation_by_a_non_coordinator_does_nothing() {
    let c1 = by_root(C1, Coordinator);
    let s = by(&c1, S, PeerSupporter);
    let p = by(&c1, P, Participant);
    // A supporter, a participant and a stranger revoke grants: nothing happens.
    let revs = [
        revoke(S, &p),
        revoke(P, &s),
        revoke(P, &c1),
        revoke(Q, &c1),
        revoke(Q, &p),
    ];
    let mut reg = registry(&[&c1, &s, &p], &revs.iter().collect::<Vec<_>>());
    assert_eq!(reg.revocation_count(), 5);
    let before = registry(&[&c1, &s, &p], &[]).roles(NOW);
    assert_eq!(reg.roles(NOW), before);
    // A coordinator whose grant expired no longer revokes.
    let old = grant_at(ROOT, None, C2, Coordinator, T0 - 100 * DAY, T0);
    reg.insert_grant(old.as_bytes()).unwrap();
    reg.insert_revocation(revoke(C2, &s).as_bytes()).unwrap();
    assert_eq!(reg.roles(NOW), before);
    // The rule reads the set: once Q is made a coordinator, Q's earlier revocations count.
    reg.insert_grant(by_root(Q, Coordinator).as_bytes())
        .unwrap();
    assert_eq!(reg.role_of(&person(Q), NOW), Some(Coordinator));
    let roles = reg.roles(NOW);
    assert_eq!(roles.get(&person(C1)), None);
    assert_eq!(roles.get(&person(P)), None);
    assert_eq!(roles.get(&person(S)), None);
}

#[test]
fn an_expired_coordinator_grant_invalidates_its_grants_from_then_on() {
    let c1 = grant_at(ROOT, None, C1, Coordinator, T0, T0 + 100 * DAY);
    let s = grant_at(C1, Some(&c1), S, PeerSupporter, T0 + DAY, T0 + 300 * DAY);
    let reg = registry(&[&c1, &s], &[]);
    for at in [T0 + DAY, T0 + 50 * DAY, T0 + 100 * DAY] {
        assert_eq!(reg.role_of(&person(S), at), Some(PeerSupporter), "at {at}");
    }
    for at in [T0 + 100 * DAY + 1, T0 + 200 * DAY, T0 + 300 * DAY] {
        assert_eq!(reg.role_of(&person(S), at), None, "at {at}");
        assert_eq!(reg.role_of(&person(C1), at), None, "at {at}");
    }
    // Renewing the coordinator does not revive grants chained to the old grant (section 19.9).
    let renewed = grant_at(ROOT, None, C1, Coordinator, T0 + 90 * DAY, T0 + 400 * DAY);
    let reg = registry(&[&c1, &s, &renewed], &[]);
    assert_eq!(reg.role_of(&person(C1), T0 + 200 * DAY), Some(Coordinator));
    assert_eq!(reg.role_of(&person(S), T0 + 200 * DAY), None);
}

#[test]
fn the_time_window_tolerates_five_minutes_of_skew() {
    let p = grant_at(ROOT, None, P, Participant, T0, T0 + DAY);
    let reg = registry(&[&p], &[]);
    assert_eq!(reg.role_of(&person(P), T0 - 301), None);
    assert_eq!(reg.role_of(&person(P), T0 - 300), Some(Participant));
    assert_eq!(reg.role_of(&person(P), T0 + DAY), Some(Participant));
    assert_eq!(reg.role_of(&person(P), T0 + DAY + 1), None);
    // A chain grant issued "in the future" holds back what hangs below it too.
    let c1 = grant_at(ROOT, None, C1, Coordinator, T0 + 10 * DAY, T0 + YEAR);
    let s = grant_at(C1, Some(&c1), S, PeerSupporter, T0, T0 + YEAR);
    let reg = registry(&[&c1, &s], &[]);
    assert_eq!(reg.role_of(&person(S), T0 + DAY), None);
    assert_eq!(reg.role_of(&person(S), T0 + 10 * DAY), Some(PeerSupporter));
}

#[test]
fn chains_of_more_than_four_grants_do_not_count() {
    let a = by_root(1, Coordinator);
    let b = by(&a, 2, Coordinator);
    let c = by(&b, 3, Coordinator);
    let d = by(&c, 4, Coordinator);
    let e = by(&d, 5, Participant);
    let reg = registry(&[&a, &b, &c, &d, &e], &[]);
    assert_eq!(reg.role_of(&person(4), NOW), Some(Coordinator));
    assert_eq!(reg.chain_for(&person(4), NOW).len(), MAX_CHAIN_LEN);
    assert_eq!(reg.role_of(&person(5), NOW), None);
    assert!(!reg.is_grant_valid(&e.id(), NOW));
    // The same person reached by a shorter path counts, and that path is presented.
    let e2 = by(&b, 5, Participant);
    let reg = registry(&[&a, &b, &c, &d, &e, &e2], &[]);
    assert_eq!(reg.role_of(&person(5), NOW), Some(Participant));
    assert_eq!(
        reg.chain_for(&person(5), NOW),
        vec![
            e2.as_bytes().to_vec(),
            b.as_bytes().to_vec(),
            a.as_bytes().to_vec()
        ]
    );
}

#[test]
fn a_chain_must_make_the_issuer_a_coordinator() {
    let c1 = by_root(C1, Coordinator);
    let s = by_root(S, PeerSupporter);
    // S names their own supporter grant as chain: S is no coordinator.
    let from_supporter = by(&s, P, Participant);
    // C2 names C1's coordinator grant, which is not theirs.
    let wrong_person = grant_at(C2, Some(&c1), P, Participant, T0, T0 + YEAR);
    // A grant naming a chain the registry does not hold.
    let unknown_chain = grant_at(
        C3,
        Some(&by_root(C3, Coordinator)),
        Q,
        Participant,
        T0,
        T0 + YEAR,
    );
    let reg = registry(
        &[&c1, &s, &from_supporter, &wrong_person, &unknown_chain],
        &[],
    );
    assert_eq!(reg.role_of(&person(P), NOW), None);
    assert_eq!(reg.role_of(&person(Q), NOW), None);
    // The chain arrives later: the grant counts from then on.
    let mut reg = reg;
    reg.insert_grant(by_root(C3, Coordinator).as_bytes())
        .unwrap();
    assert_eq!(reg.role_of(&person(Q), NOW), Some(Participant));
}

#[test]
fn coordinators_revoking_each_other_both_lose_until_the_programme_key_decides() {
    let c1 = by_root(C1, Coordinator);
    let c2 = by_root(C2, Coordinator);
    let s1 = by(&c1, S, PeerSupporter);
    let p2 = by(&c2, P, Participant);
    let r12 = revoke(C1, &c2);
    let r21 = revoke(C2, &c1);
    let reg = registry(&[&c1, &c2, &s1, &p2], &[&r12, &r21]);
    assert!(reg.roles(NOW).is_empty(), "{:?}", reg.roles(NOW));
    // The programme key revokes C2: C2's revocation no longer counts, C1 and what C1 issued return.
    let reg = registry(&[&c1, &c2, &s1, &p2], &[&r12, &r21, &revoke(ROOT, &c2)]);
    assert_eq!(
        reg.roles(NOW),
        BTreeMap::from([(person(C1), Coordinator), (person(S), PeerSupporter)])
    );
    // A coordinator revoked by another coordinator (not by the programme key) still revokes.
    let c3 = by_root(C3, Coordinator);
    let reg = registry(&[&c1, &c3, &s1], &[&revoke(C3, &c1), &revoke(C1, &s1)]);
    assert_eq!(reg.role_of(&person(C1), NOW), None);
    assert_eq!(reg.role_of(&person(S), NOW), None);
    assert_eq!(reg.role_of(&person(C3), NOW), Some(Coordinator));
}

#[test]
fn the_programme_key_revokes_and_time_is_informative() {
    let p = by_root(P, Participant);
    let late = RoleRevocation {
        programme: pk(ROOT),
        grant: p.id(),
        issuer: pk(ROOT),
        time: T0 + 10 * YEAR,
    }
    .sign(&key(ROOT))
    .unwrap();
    let reg = registry(&[&p], &[&late]);
    assert_eq!(reg.role_of(&person(P), T0), None);
    // A revocation that arrives before its grant, and repeats: the same.
    let mut reg = ProgrammeRegistry::new(pk(ROOT));
    for _ in 0..2 {
        reg.insert_revocation(late.as_bytes()).unwrap();
        reg.insert_grant(p.as_bytes()).unwrap();
    }
    assert_eq!(reg.grant_count(), 1);
    assert_eq!(reg.revocation_count(), 1);
    assert_eq!(reg.role_of(&person(P), T0), None);
}

#[test]
fn malformed_forged_and_foreign_input_changes_nothing() {
    let c1 = by_root(C1, Coordinator);
    let s = by(&c1, S, PeerSupporter);
    let mut reg = registry(&[&c1, &s], &[]);
    let roles = reg.roles(NOW);
    let check = |reg: &ProgrammeRegistry| {
        assert_eq!(reg.grant_count(), 2);
        assert_eq!(reg.revocation_count(), 0);
        assert_eq!(reg.roles(NOW), roles);
    };

    // A grant naming C1 as issuer but signed by someone else's key.
    let body = RoleGrant {
        programme: pk(ROOT),
        person: person(P),
        role: Coordinator,
        issuer: pk(C1),
        issued: T0,
        expires: T0 + YEAR,
        chain: Some(c1.id()),
    }
    .to_body()
    .unwrap();
    let mut forged = body.clone();
    forged.extend_from_slice(
        key(S)
            .sign(&[b"sebaya/v1/programme-grant".as_slice(), &body].concat())
            .as_ref(),
    );
    assert_eq!(reg.insert_grant(&forged), Err(ProtoError::BadSignature));
    check(&reg);
    // A revocation naming the programme key as issuer, signed by C1.
    let body = RoleRevocation {
        programme: pk(ROOT),
        grant: s.id(),
        issuer: pk(ROOT),
        time: T0,
    }
    .to_body()
    .unwrap();
    let mut forged = body.clone();
    forged.extend_from_slice(
        key(C1)
            .sign(&[b"sebaya/v1/programme-revoke".as_slice(), &body].concat())
            .as_ref(),
    );
    assert_eq!(
        reg.insert_revocation(&forged),
        Err(ProtoError::BadSignature)
    );
    check(&reg);

    // Every flipped bit and every truncation of a new grant and of a revocation.
    let p = by(&c1, P, Participant);
    let r = revoke(ROOT, &s);
    for (bytes, is_grant) in [(p.as_bytes(), true), (r.as_bytes(), false)] {
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.to_vec();
            b[i / 8] ^= 1 << (i % 8);
            let got = if is_grant {
                reg.insert_grant(&b).map(|_| ())
            } else {
                reg.insert_revocation(&b).map(|_| ())
            };
            assert!(
                matches!(
                    got,
                    Err(ProtoError::BadSignature
                        | ProtoError::Malformed(_)
                        | ProtoError::Decode(_))
                ),
                "bit {i}: {got:?}"
            );
        }
        for n in 0..bytes.len() {
            let got = if is_grant {
                reg.insert_grant(&bytes[..n]).map(|_| ())
            } else {
                reg.insert_revocation(&bytes[..n]).map(|_| ())
            };
            assert!(got.is_err(), "prefix of {n} bytes");
        }
    }
    check(&reg);
    assert!(matches!(
        reg.insert_grant(&vec![0u8; 1025]),
        Err(ProtoError::TooLarge { .. })
    ));
    assert!(matches!(
        reg.insert_grant(&[]),
        Err(ProtoError::Truncated { .. })
    ));

    // Another programme's grant and revocation.
    let foreign = RoleGrant {
        programme: pk(OTHER_ROOT),
        person: person(P),
        role: Participant,
        issuer: pk(OTHER_ROOT),
        issued: T0,
        expires: T0 + YEAR,
        chain: None,
    }
    .sign(&key(OTHER_ROOT))
    .unwrap();
    assert_eq!(
        reg.insert_grant(foreign.as_bytes()),
        Err(ProtoError::Malformed("grant of another programme"))
    );
    let foreign = RoleRevocation {
        programme: pk(OTHER_ROOT),
        grant: s.id(),
        issuer: pk(OTHER_ROOT),
        time: T0,
    }
    .sign(&key(OTHER_ROOT))
    .unwrap();
    assert_eq!(
        reg.insert_revocation(foreign.as_bytes()),
        Err(ProtoError::Malformed("revocation of another programme"))
    );
    // A revocation's bytes are not a grant.
    assert!(reg.insert_grant(r.as_bytes()).is_err());
    assert!(reg.insert_revocation(p.as_bytes()).is_err());
    check(&reg);
}

#[test]
fn a_presented_chain_proves_the_role_to_a_fresh_registry() {
    let c1 = by_root(C1, Coordinator);
    let c2 = by(&c1, C2, Coordinator);
    let s = by(&c2, S, PeerSupporter);
    let noise = by_root(P, Participant);
    let holder = registry(&[&noise, &s, &c2, &c1], &[]);
    let chain = holder.chain_for(&person(S), NOW);
    assert_eq!(chain.len(), 3);

    let mut fresh = ProgrammeRegistry::new(pk(ROOT));
    fresh.insert_chain(&chain).unwrap();
    assert_eq!(fresh.role_of(&person(S), NOW), Some(PeerSupporter));
    assert_eq!(fresh.grant_count(), 3);
    // A receiver that knows a revocation of a link sees no role.
    let mut knowing = registry(&[], &[&revoke(ROOT, &c2)]);
    knowing.insert_chain(&chain).unwrap();
    assert_eq!(knowing.role_of(&person(S), NOW), None);
    // Presenting it again changes nothing; a partial chain proves nothing.
    fresh.insert_chain(&chain).unwrap();
    assert_eq!(fresh.grant_count(), 3);
    let mut partial = ProgrammeRegistry::new(pk(ROOT));
    partial.insert_chain(&chain[..2]).unwrap();
    assert_eq!(partial.role_of(&person(S), NOW), None);

    // A chain with one bad grant is refused whole.
    let mut bad = chain.clone();
    let last = bad[2].len() - 1;
    bad[2][last] ^= 1;
    let mut reg = ProgrammeRegistry::new(pk(ROOT));
    assert_eq!(reg.insert_chain(&bad), Err(ProtoError::BadSignature));
    assert_eq!(reg.grant_count(), 0);
    // More than four grants is refused before anything is read.
    let five = vec![chain[0].clone(); MAX_CHAIN_LEN + 1];
    assert!(matches!(
        reg.insert_chain(&five),
        Err(ProtoError::TooLarge { .. })
    ));
    assert_eq!(reg.grant_count(), 0);
}

#[test]
fn grants_are_bounded() {
    let mut reg = ProgrammeRegistry::new(pk(ROOT));
    let root = key(ROOT);
    let (programme, p) = (pk(ROOT), person(P));
    let grant = |i: u64| {
        RoleGrant {
            programme,
            person: p,
            role: Participant,
            issuer: programme,
            issued: T0 + i,
            expires: T0 + YEAR,
            chain: None,
        }
        .sign(&root)
        .unwrap()
    };
    let first = grant(0);
    for i in 0..MAX_GRANTS as u64 {
        reg.insert_grant(grant(i).as_bytes()).unwrap();
    }
    assert_eq!(reg.grant_count(), MAX_GRANTS);
    assert_eq!(
        reg.insert_grant(grant(MAX_GRANTS as u64).as_bytes()),
        Err(ProtoError::TooLarge {
            what: "programme grants",
            len: MAX_GRANTS as u64 + 1,
            max: MAX_GRANTS as u64,
        })
    );
    // A held grant is still accepted (nothing changes), and so is a chain of held grants.
    assert_eq!(reg.insert_grant(first.as_bytes()), Ok(first.id()));
    reg.insert_chain(&[first.as_bytes()]).unwrap();
    assert!(matches!(
        reg.insert_chain(&[grant(MAX_GRANTS as u64 + 1).as_bytes()]),
        Err(ProtoError::TooLarge { .. })
    ));
    assert_eq!(reg.grant_count(), MAX_GRANTS);
    assert_eq!(reg.role_of(&person(P), NOW), Some(Participant));
}

#[test]
fn revocations_are_bounded() {
    let mut reg = ProgrammeRegistry::new(pk(ROOT));
    let root = key(ROOT);
    let programme = pk(ROOT);
    let revocation = |i: u64| {
        RoleRevocation {
            programme,
            grant: [0; 32],
            issuer: programme,
            time: i,
        }
        .sign(&root)
        .unwrap()
    };
    for i in 0..MAX_REVOCATIONS as u64 {
        reg.insert_revocation(revocation(i).as_bytes()).unwrap();
    }
    assert!(matches!(
        reg.insert_revocation(revocation(MAX_REVOCATIONS as u64).as_bytes()),
        Err(ProtoError::TooLarge { .. })
    ));
    assert_eq!(
        reg.insert_revocation(revocation(0).as_bytes()),
        Ok(revocation(0).id())
    );
    assert_eq!(reg.revocation_count(), MAX_REVOCATIONS);
}

// ------------------------------------------------------------------------------------------------
// Property: roles are a function of the set of statements, and match a direct reading of the rule.

/// People of the property test: seeds 1..=PEOPLE.
const PEOPLE: u8 = 5;

#[derive(Clone, Debug)]
enum Step {
    /// A grant by the programme key.
    Root {
        to: u8,
        role: u8,
        start: u64,
        len: u64,
    },
    /// A grant chained to an earlier grant (by that grant's person, whatever its role): the latest
    /// one when `parent` is `None`, so long chains are common.
    Chained {
        parent: Option<prop::sample::Index>,
        to: u8,
        role: u8,
        start: u64,
        len: u64,
    },
    /// A ladder from the programme key: each person makes the next a coordinator, the last gets
    /// `role`; so chains at and beyond the length limit are common.
    Ladder {
        people: Vec<u8>,
        role: u8,
        start: u64,
        len: u64,
    },
    /// A revocation of an earlier grant by the programme key (`by` = 0) or a person.
    Revoke { target: prop::sample::Index, by: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    // Half of the grants make coordinators, so long chains and revoking coordinators are common.
    let role = 0u8..4;
    let start = 0u64..200;
    let len = 1u64..=731;
    prop_oneof![
        1 => (1..=PEOPLE, role.clone(), start.clone(), len.clone())
            .prop_map(|(to, role, start, len)| Step::Root { to, role, start, len }),
        3 => (
            prop::option::of(any::<prop::sample::Index>()),
            1..=PEOPLE,
            role.clone(),
            start.clone(),
            len.clone(),
        )
            .prop_map(|(parent, to, role, start, len)| Step::Chained {
                parent,
                to,
                role,
                start,
                len,
            }),
        1 => (prop::collection::vec(1..=PEOPLE, 2..=6), role, start, len)
            .prop_map(|(people, role, start, len)| Step::Ladder { people, role, start, len }),
        // The programme key revokes a third of the time.
        3 => (any::<prop::sample::Index>(), prop_oneof![1 => Just(0u8), 2 => 1..=PEOPLE])
            .prop_map(|(target, by)| Step::Revoke { target, by }),
    ]
}

fn role_of_byte(b: u8) -> ProgrammeRole {
    [Participant, PeerSupporter, Coordinator, Coordinator][b as usize]
}

fn build(steps: &[Step]) -> (Vec<SignedRoleGrant>, Vec<SignedRoleRevocation>) {
    let mut grants: Vec<SignedRoleGrant> = Vec::new();
    let mut revs = Vec::new();
    for s in steps {
        match s {
            Step::Root {
                to,
                role,
                start,
                len,
            } => {
                let issued = T0 + start * DAY;
                grants.push(grant_at(
                    ROOT,
                    None,
                    *to,
                    role_of_byte(*role),
                    issued,
                    issued + len * DAY,
                ));
            }
            Step::Chained {
                parent,
                to,
                role,
                start,
                len,
            } => {
                if grants.is_empty() {
                    continue;
                }
                let parent = &grants[parent.map_or(grants.len() - 1, |i| i.index(grants.len()))];
                let issuer = seed_of(&parent.verify().unwrap().person);
                let to = if *to == issuer { to % PEOPLE + 1 } else { *to };
                let issued = T0 + start * DAY;
                let g = grant_at(
                    issuer,
                    Some(parent),
                    to,
                    role_of_byte(*role),
                    issued,
                    issued + len * DAY,
                );
                grants.push(g);
            }
            Step::Ladder {
                people,
                role,
                start,
                len,
            } => {
                let issued = T0 + start * DAY;
                let mut issuer = ROOT;
                let mut parent: Option<SignedRoleGrant> = None;
                for (k, &to) in people.iter().enumerate() {
                    if to == issuer {
                        continue;
                    }
                    let role = if k + 1 == people.len() {
                        role_of_byte(*role)
                    } else {
                        Coordinator
                    };
                    let g = grant_at(
                        issuer,
                        parent.as_ref(),
                        to,
                        role,
                        issued,
                        issued + len * DAY,
                    );
                    grants.push(g.clone());
                    (issuer, parent) = (to, Some(g));
                }
            }
            Step::Revoke { target, by } => {
                if grants.is_empty() {
                    continue;
                }
                let target = &grants[target.index(grants.len())];
                revs.push(revoke(if *by == 0 { ROOT } else { *by }, target));
            }
        }
    }
    (grants, revs)
}

/// The rule of section 19.5, read directly: no caches, no indexes.
fn reference_roles(
    gs: &[(RoleGrant, [u8; 32])],
    rs: &[RoleRevocation],
    now: u64,
) -> BTreeMap<PersonId, ProgrammeRole> {
    let find = |id: &[u8; 32]| gs.iter().find(|(_, gid)| gid == id).map(|(g, _)| *g);
    let valid_under = |g0: &RoleGrant, id0: [u8; 32], x: &dyn Fn(&[u8; 32]) -> bool| -> bool {
        let (mut g, mut id) = (*g0, id0);
        for n in 1..=4 {
            let current = g.issued <= now + 300 && now <= g.expires;
            let revoked = rs.iter().any(|r| r.grant == id && x(&r.issuer));
            if !current || revoked {
                return false;
            }
            let Some(next_id) = g.chain else {
                return g.issuer == pk(ROOT);
            };
            if n == 4 {
                return false;
            }
            let Some(next) = find(&next_id) else {
                return false;
            };
            if next.role != Coordinator || next.person.0 != g.issuer {
                return false;
            }
            (g, id) = (next, next_id);
        }
        false
    };
    let root_only = |k: &[u8; 32]| *k == pk(ROOT);
    let revokers: Vec<[u8; 32]> = gs
        .iter()
        .filter(|(g, id)| g.role == Coordinator && valid_under(g, *id, &root_only))
        .map(|(g, _)| g.person.0)
        .collect();
    let counting = |k: &[u8; 32]| *k == pk(ROOT) || revokers.contains(k);
    let mut out = BTreeMap::new();
    for (g, id) in gs {
        if valid_under(g, *id, &counting) {
            let e = out.entry(g.person).or_insert(g.role);
            *e = (*e).max(g.role);
        }
    }
    out
}

fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    // Fisher-Yates with xorshift64*.
    let mut x = seed | 1;
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        order.swap(i, (r % (i as u64 + 1)) as usize);
    }
    order
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn roles_are_a_function_of_the_set(
        steps in prop::collection::vec(step(), 1..=20),
        orders in prop::collection::vec(
            (any::<u64>(), prop::collection::vec(any::<prop::sample::Index>(), 0..4)),
            3,
        ),
    ) {
        let (grants, revs) = build(&steps);
        let parsed: Vec<(RoleGrant, [u8; 32])> =
            grants.iter().map(|g| (g.verify().unwrap(), g.id())).collect();
        let parsed_revs: Vec<RoleRevocation> = revs.iter().map(|r| r.verify().unwrap()).collect();
        let items: Vec<(bool, Vec<u8>)> = grants
            .iter()
            .map(|g| (true, g.as_bytes().to_vec()))
            .chain(revs.iter().map(|r| (false, r.as_bytes().to_vec())))
            .collect();
        let times: Vec<u64> = (0..10).map(|k| T0 + k * 100 * DAY).collect();
        let reference: Vec<_> =
            times.iter().map(|&t| reference_roles(&parsed, &parsed_revs, t)).collect();
        let mut first: Option<ProgrammeRegistry> = None;
        for (seed, dups) in orders {
            let mut order = shuffled(items.len(), seed);
            if !items.is_empty() {
                order.extend(dups.iter().map(|d| d.index(items.len())));
            }
            let mut reg = ProgrammeRegistry::new(pk(ROOT));
            for &i in &order {
                let (is_grant, bytes) = &items[i];
                if *is_grant {
                    reg.insert_grant(bytes).unwrap();
                } else {
                    reg.insert_revocation(bytes).unwrap();
                }
            }
            for (t, expected) in times.iter().zip(&reference) {
                prop_assert_eq!(&reg.roles(*t), expected, "at {}", t);
                for p in 1..=PEOPLE {
                    let want = expected.get(&person(p)).copied();
                    prop_assert_eq!(reg.role_of(&person(p), *t), want);
                    let chain = reg.chain_for(&person(p), *t);
                    prop_assert!(chain.len() <= MAX_CHAIN_LEN);
                    prop_assert_eq!(chain.is_empty(), want.is_none());
                    if let Some(f) = &first {
                        // The same set: the same chain presented.
                        prop_assert_eq!(&f.chain_for(&person(p), *t), &chain);
                    } else {
                        // The presented chain convinces a registry that holds nothing else of the
                        // same role (without revocations, every link of a valid chain stays valid).
                        let mut fresh = ProgrammeRegistry::new(pk(ROOT));
                        fresh.insert_chain(&chain).unwrap();
                        prop_assert_eq!(fresh.role_of(&person(p), *t), want);
                    }
                }
                if let Some(f) = &first {
                    for (_, id) in &parsed {
                        prop_assert_eq!(f.is_grant_valid(id, *t), reg.is_grant_valid(id, *t));
                    }
                }
            }
            first = Some(reg);
        }
    }
}
