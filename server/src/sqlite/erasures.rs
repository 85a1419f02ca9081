//! Erasing at the relay, as SQLite does it: deleting an erased space's envelopes (protocol 23), and
//! the erasure statements of shared spaces (protocol 23.2), with schema step v9 -> v10. One small row
//! per member who erased a space; rows outlive the space's erasure, so a device that syncs late still
//! learns of it.

use rusqlite::{Connection, TransactionBehavior, params};
use sebaya_proto::{DeviceId, SpaceId};

use crate::error::StoreError;

use super::{MEMBERSHIP_KIND, bump_all, device_of, fill_vectors, sql_int};

/// v10: erasure statements of shared spaces (protocol 23.2): at most one per (space, author), kept
/// from a current member of the space and handed to its members; they outlive the space's erasure,
/// so a device that syncs late still learns of it and can check it.
pub(super) fn upgrade_v9_to_v10(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE erasure_statements (
             space     BLOB NOT NULL,
             author    BLOB NOT NULL,
             statement BLOB NOT NULL,
             PRIMARY KEY (space, author)
         ) STRICT, WITHOUT ROWID;",
    )?;
    Ok(())
}

/// Keeps `author`'s statement for `space`; the first statement of an author stands (another, of a
/// later time, says nothing new).
pub(super) fn put(
    conn: &Connection,
    space: &SpaceId,
    author: &DeviceId,
    statement: &[u8],
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO erasure_statements (space, author, statement) VALUES (?1, ?2, ?3)",
        params![space.0.as_slice(), author.0.as_slice(), statement],
    )?;
    Ok(())
}

/// The statements kept for `space`, by author.
pub(super) fn of(conn: &Connection, space: &SpaceId) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT statement FROM erasure_statements WHERE space = ?1 ORDER BY author",
    )?;
    let rows = stmt
        .query_map(params![space.0.as_slice()], |r| r.get(0))?
        .collect::<Result<Vec<Vec<u8>>, _>>()?;
    Ok(rows)
}

/// Erases a space (section 23; `RelayStore::erase_space`): every envelope but its membership
/// statements, its mailboxes, and the row that remembers it erased, in one transaction; then the
/// write-ahead log is emptied so the deleted pages are overwritten in the file too.
pub(super) fn erase_space(
    conn: &mut Connection,
    space: &SpaceId,
    at: u64,
) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let gone: Vec<(Vec<u8>, i64, i64)> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT author, sum(length(bytes)), sum(pruned = 0) FROM envelopes
             WHERE space = ?1 AND kind != {MEMBERSHIP_KIND} GROUP BY author"
        ))?;
        stmt.query_map(params![space.0.as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?
    };
    for (author, bytes, count) in gone {
        bump_all(&tx, space, &device_of(&author)?, -bytes, -count)?;
    }
    let n = tx.execute(
        &format!("DELETE FROM envelopes WHERE space = ?1 AND kind != {MEMBERSHIP_KIND}"),
        params![space.0.as_slice()],
    )?;
    // The contiguous tops, counted again from what stays (membership statements): erasing is
    // rare and walks the space's rows anyway.
    tx.execute(
        "DELETE FROM vectors WHERE space = ?1",
        params![space.0.as_slice()],
    )?;
    tx.execute(
        &fill_vectors("WHERE space = ?1"),
        params![space.0.as_slice()],
    )?;
    tx.execute(
        "DELETE FROM join_requests WHERE space = ?1",
        params![space.0.as_slice()],
    )?;
    tx.execute(
        "DELETE FROM join_answers WHERE space = ?1",
        params![space.0.as_slice()],
    )?;
    tx.execute(
        "DELETE FROM join_askers WHERE space = ?1",
        params![space.0.as_slice()],
    )?;
    tx.execute(
        "DELETE FROM push_readers WHERE space = ?1",
        params![space.0.as_slice()],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO erased (space, erased_at) VALUES (?1, ?2)",
        params![space.0.as_slice(), sql_int(at)],
    )?;
    tx.commit()?;
    // The write-ahead log still holds the pages as they were before the erasure: copy the
    // overwritten pages into the database and empty the log now (erasing is rare). A reader
    // that keeps the log busy only delays this to the next checkpoint, never fails the erasure.
    // A checkpoint that fails leaves the erasure committed: it is not the request's failure.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    });
    Ok(n as u64)
}
