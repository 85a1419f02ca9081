//! Issue 15, item 1: opening a vault that holds a hostile membership log costs near-linear work per
//! statement. Each shape of `sebaya_proto::membership::shapes` at m = 1,500 (about 3,000 statements)
//! is stored as a member's vault would hold it, and `Space::load` (what `Vault::open` does for each
//! space) is bounded in units of work, not time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rusqlite::params;
use sebaya_proto::EpochId;
use sebaya_proto::membership::{MembershipLog, shapes};

use super::rules::tests::device;
use super::{Space, SpaceKind};

#[test]
fn opening_a_vault_with_a_hostile_log_costs_near_linear_work_for_every_shape() {
    let mut over = Vec::new();
    for name in shapes::NAMES {
        let d = device(3);
        let space = Space::adopt_at(
            &d.store,
            shapes::SPACE,
            SpaceKind::Group,
            zeroize::Zeroizing::new([7; 32]),
            EpochId([0; 32]),
            d.id.device,
        )
        .unwrap();
        drop(space);
        let statements = shapes::by_name(name, 1500).unwrap();
        let sk = Space::row_key(&d.store, &shapes::SPACE);
        for (st, env) in statements.iter().zip(shapes::envelopes(&statements, 1500)) {
            let k = Space::membership_key(&d.store, &shapes::SPACE, st);
            let v = d.store.seal("membership", &k, env.as_bytes()).unwrap();
            d.store
                .conn
                .execute(
                    "INSERT INTO membership (k, space, v) VALUES (?1, ?2, ?3)",
                    params![k, sk, v],
                )
                .unwrap();
        }
        let loaded = Space::load(&d.store, &shapes::SPACE, &d.id).unwrap();
        let mut expected = MembershipLog::new(shapes::SPACE);
        expected.insert_many(statements);
        assert_eq!(loaded.membership(), &expected.state(), "{name}");
        let n = expected.len().max(2);
        // `n` units per statement for its ancestor and descendant sets, and near-linear judging and
        // evaluation: as `proto/src/membership/cost_tests.rs` bounds a rebuild.
        let bound = (n * n) as u64 + 64 * n as u64 * u64::from(usize::BITS - n.leading_zeros());
        if loaded.membership_work() > bound {
            over.push(format!(
                "{name}: {} units for {n} statements",
                loaded.membership_work()
            ));
        }
    }
    assert!(
        over.is_empty(),
        "opens over the bound:\n{}",
        over.join("\n")
    );
}
