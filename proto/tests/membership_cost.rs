//! What a hostile membership log costs (issue 15, item 1): an experiment, not a check. Run it in
//! release, by hand:
//!
//! ```text
//! COST_M=256,512,1024 cargo test --release -p sebaya-proto --features test-shapes --test membership_cost -- --ignored --nocapture
//! ```
//!
//! For each shape and each `m` it prints the time to build the log statement by statement (what a
//! relay or a device meeting the statements one by one does), to rebuild it at once with `insert_many`
//! (what a relay restart and `Vault::open` do), and of one more insert on the full log (what one pushed
//! statement costs). `COST_SHAPES` picks shapes by name (default: all, `membership::shapes::NAMES`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use sebaya_proto::membership::shapes::{self, SPACE};
use sebaya_proto::membership::{MembershipLog, SignedStatement};

fn measure(shape: &str, m: usize, statements: Vec<SignedStatement>) {
    let (last, rest) = statements.split_last().unwrap();
    let mut log = MembershipLog::new(SPACE);
    let t = Instant::now();
    for s in rest {
        log.insert(s.clone()).unwrap();
    }
    let build = t.elapsed();
    let t = Instant::now();
    let mut copy = log.clone();
    let clone = t.elapsed();
    let t = Instant::now();
    copy.insert(last.clone()).unwrap();
    let one = t.elapsed();
    let t = Instant::now();
    let mut rebuilt = MembershipLog::new(SPACE);
    rebuilt.insert_many(statements.iter().cloned());
    let rebuild = t.elapsed();
    println!(
        "{shape:>14} m={m:>5} n={:>5}  build {:>8.3} s  rebuild {:>8.3} s  clone {:>7.3} ms  one insert {:>8.3} ms  work {:>11}",
        statements.len(),
        build.as_secs_f64(),
        rebuild.as_secs_f64(),
        clone.as_secs_f64() * 1e3,
        one.as_secs_f64() * 1e3,
        copy.work(),
    );
}

#[test]
#[ignore]
fn cost_of_hostile_logs() {
    let ms: Vec<usize> = std::env::var("COST_M")
        .unwrap_or_else(|_| "256,512".into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let shapes: Vec<String> = std::env::var("COST_SHAPES")
        .unwrap_or_else(|_| shapes::NAMES.join(","))
        .split(',')
        .map(str::to_string)
        .collect();
    for m in ms {
        for shape in &shapes {
            let statements =
                shapes::by_name(shape, m).unwrap_or_else(|| panic!("unknown shape {shape}"));
            measure(shape, m, statements);
        }
    }
}
