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
