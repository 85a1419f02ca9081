//! What evaluating a hostile log costs, counted in units of work (issue 15, item 1): every shape of
//! `shapes` at m = 1,500 (about 3,000 statements) costs near-linear work per statement, inserted one by
//! one as a relay or a device meets them. Counts, not times, so that the bound holds in any profile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::shapes::{self, SPACE};
use super::*;

/// Near-linear in the log's size: 32 · n · log2 n units for a log of `n` statements.
fn bound(n: usize) -> u64 {
    let n = n.max(2) as u64;
    32 * n * u64::from(64 - n.leading_zeros())
}

/// What rebuilding a log of `n` statements may cost in all: `n` units per statement for its ancestor
/// and descendant sets, and twice the near-linear bound for judging and evaluating.
pub(crate) fn rebuild_bound(n: usize) -> u64 {
    (n as u64) * (n as u64) + 2 * bound(n)
}

/// Inserts every statement of `shape` one by one and returns the largest work one insert took, with
/// the log's size then.
fn worst_insert(shape: &str, m: usize) -> (u64, usize) {
    let mut log = MembershipLog::new(SPACE);
    let mut worst = (0, 0);
    for st in shapes::by_name(shape, m).unwrap() {
        let before = log.work();
        log.insert(st)
            .unwrap_or_else(|e| panic!("{shape}: insert refused at {}: {e}", log.len()));
        let took = log.work() - before;
        if took > worst.0 {
            worst = (took, log.len());
        }
    }
    worst
}

fn check_shapes(m: usize) {
    let mut over = Vec::new();
    for shape in shapes::NAMES.iter().filter(|s| **s != "crossfire") {
        let (took, n) = worst_insert(shape, m);
        if took > bound(n) {
            over.push(format!(
                "{shape}: {took} units at {n} statements (bound {})",
                bound(n)
            ));
        }
    }
    assert!(
        over.is_empty(),
        "inserts over the bound:\n{}",
        over.join("\n")
    );
}

#[test]
fn each_statement_of_a_hostile_log_of_300_costs_near_linear_work() {
    check_shapes(150);
}

#[test]
fn each_statement_of_a_hostile_log_of_3000_costs_near_linear_work() {
    check_shapes(1500);
}

/// The one shape whose evaluation is not near-linear: every revocation by one admin attacked by
/// every revocation of it. Each insert then costs the bound plus a few units per attack, of which
/// there are at most (m/2)².
#[test]
fn a_log_of_crossfire_costs_the_bound_plus_its_attacks() {
    let m = 1500;
    let (took, n) = worst_insert("crossfire", m);
    let attacks = ((m / 2) * (m / 2)) as u64;
    assert!(
        took <= bound(n) + 4 * attacks,
        "{took} units at {n} statements (bound {} + 4 × {attacks})",
        bound(n)
    );
}

/// A log rebuilt with `insert_many` (a relay after a restart, a device opening its vault) ends in the
/// same state as one built statement by statement, and evaluates the whole log once: for every shape
/// at m = 1,500 it costs at most `n` units per statement (keeping each statement's ancestor and
/// descendant sets) plus twice the near-linear bound in all.
#[test]
fn a_rebuild_evaluates_once_and_agrees_with_inserting_one_by_one() {
    let mut over = Vec::new();
    for shape in shapes::NAMES {
        let statements = shapes::by_name(shape, 1500).unwrap();
        let mut rebuilt = MembershipLog::new(SPACE);
        assert!(
            rebuilt
                .insert_many(statements.clone())
                .iter()
                .all(Result::is_ok)
        );
        let n = rebuilt.len();
        if rebuilt.work() > rebuild_bound(n) {
            over.push(format!(
                "{shape}: {} units at {n} statements",
                rebuilt.work()
            ));
        }
        // Against the one-by-one build, on a smaller log (the same shape at m = 150).
        let small = shapes::by_name(shape, 150).unwrap();
        let mut a = MembershipLog::new(SPACE);
        a.insert_many(small.clone());
        let mut b = MembershipLog::new(SPACE);
        for st in &small {
            b.insert(st.clone()).unwrap();
        }
        for st in &small {
            assert_eq!(a.status(&st.id()), b.status(&st.id()), "{shape}");
            assert_eq!(
                a.authorised_in_past(&st.id()),
                b.authorised_in_past(&st.id()),
                "{shape}"
            );
        }
        assert_eq!(a.state(), b.state(), "{shape}");
    }
    assert!(
        over.is_empty(),
        "rebuilds over the bound:\n{}",
        over.join("\n")
    );
}
