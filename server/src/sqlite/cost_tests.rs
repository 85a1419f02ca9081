//! Issue 15, item 10: what one sync request reads of a space in the relay's store does not grow
//! with the envelopes the space holds. Work is counted in SQLite virtual-machine steps (a progress
//! handler on the store's connection), never in time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::StatementStatus;
use rusqlite::params;
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use sebaya_proto::{DeviceId, EnvelopeId, Kind, SpaceId, VersionVector};

use super::SqliteStore;
use crate::store::{NewEnvelope, RelayStore};

const AUTHOR: DeviceId = DeviceId([1; 32]);

fn space(n: u8) -> SpaceId {
    SpaceId([n; 16])
}

/// A distinct envelope id per (space, seq).
fn id(space: u8, seq: u64) -> EnvelopeId {
    let mut id = [0u8; 32];
    id[0] = space;
    id[1..9].copy_from_slice(&seq.to_be_bytes());
    EnvelopeId(id)
}

/// Stores envelopes `seqs` of `AUTHOR` in space `s`.
fn fill(store: &SqliteStore, s: u8, seqs: impl Iterator<Item = u64>) {
    let seqs: Vec<u64> = seqs.collect();
    for chunk in seqs.chunks(1_000) {
        let batch: Vec<NewEnvelope<'_>> = chunk
            .iter()
            .map(|&seq| NewEnvelope {
                space: space(s),
                author: AUTHOR,
                seq,
                kind: Kind::Changes,
                id: id(s, seq),
                bytes: b"sealed",
            })
            .collect();
        store.insert_envelopes(&batch, 10).unwrap();
    }
}

/// Counts SQLite's virtual-machine steps on the store's connection from now on: at the end of
/// each statement's run, what its step counter gained. (Progress callbacks, the simpler way, are
/// left out of the bundled SQLite for size.)
fn count_steps(store: &SqliteStore) -> Arc<AtomicU64> {
    let total = Arc::new(AtomicU64::new(0));
    let t = Arc::clone(&total);
    let mut last: HashMap<String, u64> = HashMap::new();
    store
        .conn()
        .trace_v2(
            TraceEventCodes::SQLITE_TRACE_PROFILE,
            Some(move |e: TraceEvent<'_>| {
                if let TraceEvent::Profile(stmt, _) = e {
                    let now = u64::try_from(stmt.get_status(StatementStatus::VmStep)).unwrap();
                    let before = last.insert(stmt.sql().into_owned(), now).unwrap_or(0);
                    // A statement prepared again under the same text counts from zero.
                    let gained = if now >= before { now - before } else { now };
                    t.fetch_add(gained, Ordering::Relaxed);
                }
            }),
        )
        .unwrap();
    total
}

/// Virtual-machine steps SQLite takes while `f` runs, by the counter of `count_steps`.
fn steps(counted: &AtomicU64, f: impl FnOnce()) -> u64 {
    let before = counted.load(Ordering::Relaxed);
    f();
    counted.load(Ordering::Relaxed) - before
}

/// What a sync request reads of space `s` holding `n` envelopes (the first half pruned): its
/// vector, what pruning left, its snapshots, the one envelope the device lacks; and one push.
fn request_work(store: &SqliteStore, counted: &AtomicU64, s: u8, n: u64) -> u64 {
    steps(counted, || {
        let v = store.space_vector(&space(s)).unwrap();
        assert_eq!(v.get(&AUTHOR), n);
        let floor = store.pruned_floor(&space(s)).unwrap();
        assert_eq!(floor.get(&AUTHOR).copied(), Some(n / 2));
        store.snapshots(&space(s), 8).unwrap();
        assert_eq!(
            store
                .list_range(&space(s), &AUTHOR, n - 1, n)
                .unwrap()
                .len(),
            1
        );
        fill(store, s, n + 1..=n + 1);
    })
}

#[test]
fn a_sync_requests_reads_of_a_space_do_not_grow_with_the_envelopes_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let counted = count_steps(&store);
    let (small, large) = (100u64, 5_000u64);
    fill(&store, 1, 1..=small);
    fill(&store, 2, 1..=large);
    for (s, n) in [(1u8, small), (2, large)] {
        store
            .conn()
            .execute(
                "UPDATE envelopes SET bytes = x'', pruned = 1 WHERE space = ?1 AND seq <= ?2",
                params![space(s).0.as_slice(), (n / 2) as i64],
            )
            .unwrap();
    }
    let few = request_work(&store, &counted, 1, small);
    let many = request_work(&store, &counted, 2, large);
    assert!(few > 0, "the steps are counted");
    println!("steps of a request's reads: {few} at {small} envelopes, {many} at {large}");
    // The same few index lookups either way (a B-tree a little deeper at most), not a walk of the
    // space's rows: 50 times the envelopes may cost no more than twice the steps.
    assert!(
        many <= 2 * few,
        "a request's reads took {many} steps in a space of {large} envelopes, {few} in one of {small}"
    );
}

/// The vector as read from every row of the space (what `space_vector` did before it was kept).
fn vector_from_rows(store: &SqliteStore, s: u8) -> VersionVector {
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT author, seq FROM envelopes WHERE space = ?1")
        .unwrap();
    let mut v = VersionVector::new();
    let rows = stmt
        .query_map(params![space(s).0.as_slice()], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
        })
        .unwrap();
    for row in rows {
        let (a, seq) = row.unwrap();
        v.insert(DeviceId::from_slice(&a).unwrap(), seq as u64);
    }
    v
}

fn stored(store: &SqliteStore, s: u8, author: u8, seqs: &[u64]) {
    let batch: Vec<NewEnvelope<'_>> = seqs
        .iter()
        .map(|&seq| NewEnvelope {
            space: space(s),
            author: DeviceId([author; 32]),
            seq,
            kind: if seq == 1 {
                Kind::Membership
            } else {
                Kind::Changes
            },
            id: id(s.wrapping_mul(16).wrapping_add(author), seq),
            bytes: b"sealed",
        })
        .collect();
    store.insert_envelopes(&batch, 10).unwrap();
}

fn same_vectors(store: &SqliteStore, what: &str) {
    for s in [1u8, 2] {
        assert_eq!(
            store.space_vector(&space(s)).unwrap(),
            vector_from_rows(store, s),
            "space {s}, {what}"
        );
    }
}

#[test]
fn the_kept_vector_is_the_one_every_row_gives_through_gaps_erasure_and_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    // Out of order, above gaps, filled later, duplicates and conflicts, two authors, two spaces.
    stored(&store, 1, 1, &[3, 5, 6, 9]);
    same_vectors(&store, "only above a gap");
    stored(&store, 1, 1, &[1, 2, 2]);
    stored(&store, 1, 2, &[1, 2, 3, 7]);
    stored(&store, 2, 1, &[2, 1, 4]);
    same_vectors(&store, "gaps partly filled");
    stored(&store, 1, 1, &[4, 8, 7]);
    same_vectors(&store, "a gap filled with more above it");
    assert_eq!(store.space_vector(&space(1)).unwrap().get(&AUTHOR), 9);

    // Pruned rows stay (tombstones): the vector does not move; the floor is their top.
    store
        .conn()
        .execute(
            "UPDATE envelopes SET pruned = 1 WHERE space = ?1 AND author = ?2 AND seq <= 4 AND seq > 1",
            params![space(1).0.as_slice(), AUTHOR.0.as_slice()],
        )
        .unwrap();
    same_vectors(&store, "after pruning");
    let floor = store.pruned_floor(&space(1)).unwrap();
    assert_eq!(floor.get(&AUTHOR).copied(), Some(4));
    assert_eq!(floor.len(), 1);

    // An upgrade from v8 fills the table in from the rows.
    let before: Vec<VersionVector> = [1, 2]
        .iter()
        .map(|s| store.space_vector(&space(*s)).unwrap())
        .collect();
    drop(store);
    {
        let conn = rusqlite::Connection::open(dir.path().join(super::DB_FILE_NAME)).unwrap();
        // Back to v8: what v9, v10 and v11 added goes too.
        conn.execute_batch(
            "DROP TABLE vectors; DROP INDEX envelopes_pruned; DROP TABLE erasure_statements;
             DROP TABLE push_subscriptions; DROP TABLE push_readers;",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 8).unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let after: Vec<VersionVector> = [1, 2]
        .iter()
        .map(|s| store.space_vector(&space(*s)).unwrap())
        .collect();
    assert_eq!(after, before);
    same_vectors(&store, "after the upgrade");
    stored(&store, 2, 1, &[3]);
    same_vectors(&store, "stored after the upgrade");
    assert_eq!(store.space_vector(&space(2)).unwrap().get(&AUTHOR), 4);

    // Erasing keeps the membership statements (seq 1 here) and counts again from them.
    store.erase_space(&space(1), 20).unwrap();
    same_vectors(&store, "after erasure");
    assert_eq!(store.space_vector(&space(1)).unwrap().get(&AUTHOR), 1);
    assert!(store.pruned_floor(&space(1)).unwrap().is_empty());
}
