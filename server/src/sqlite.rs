//! The SQLite store: one file, `<data_dir>/relay.sqlite3`, in WAL mode.
//!
//! The schema is versioned with `PRAGMA user_version`. [`SqliteStore::open`] is the one place that
//! creates or upgrades it: it reads the version, runs the explicit upgrade steps from there to
//! [`END_VERSION`] in one transaction, and refuses a database from a newer relay. To change the schema,
//! add a step `n -> n+1` in `upgrade_from` and bump `END_VERSION`; never edit an existing step.
//!
//! One connection behind a mutex serves every request. Each method holds the lock for one short
//! statement or transaction. Calls block: run them in `spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sebaya_proto::invite::InviteId;
use sebaya_proto::request::TIME_WINDOW_SECS;
use sebaya_proto::{DeviceId, Envelope, EnvelopeId, Kind, PersonId, SpaceId, VersionVector};

use crate::error::StoreError;
use crate::store::rows::{
    self, MAX_SEQ, PRUNE_INTERVAL_SECS, device_of, from_sql_int, invite_of, scope, space_of,
    sql_int,
};
use crate::store::{
    ASK_RETENTION_SECS, EnvelopeMeta, InsertOutcome, MAILBOX_RETENTION_SECS, MailboxOutcome,
    NewEnvelope, NewJoinAnswer, NewJoinRequest, RelayId, RelayStore, RequestFreshness, Slot,
    StoredJoinAnswer, StoredJoinRequest, StoredSnapshot, StoredSubscription, Usage,
};
use sebaya_proto::snapshot;
use std::collections::BTreeMap;

mod admitted;
mod backup;
mod erasures;
mod push;

pub use backup::{BackupReport, Migrated, backup, migrate};

/// File name of the database inside the data directory.
pub const DB_FILE_NAME: &str = "relay.sqlite3";
/// Schema version this build creates and understands.
pub const END_VERSION: u32 = 11;

/// The SQLite implementation of [`RelayStore`].
pub struct SqliteStore {
    conn: Mutex<Connection>,
    relay_id: RelayId,
    path: PathBuf,
    last_prune: AtomicU64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("relay_id", &self.relay_id)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`: creates the directory, opens
    /// `relay.sqlite3`, switches to WAL, migrates the schema to [`END_VERSION`] (making the relay id on
    /// first start) and reads the relay id. Blocks on disk I/O.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DB_FILE_NAME);
        // Openers racing on a new file (a relay starting while `migrate` or another node's start runs)
        // can meet a "busy" that SQLite answers at once, without its busy timeout, while the file is
        // switched to WAL: each such opener waits a little and opens again, for at most ~10 s.
        let mut attempt = 0u32;
        loop {
            match Self::open_at(&path) {
                Err(StoreError::Sqlite(e)) if is_busy(&e) && attempt < 40 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(25 * u64::from(attempt.min(10))));
                }
                other => return other,
            }
        }
    }

    fn open_at(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut conn = Connection::open(path)?;
        prepare(&conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > END_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: END_VERSION,
            });
        }
        for version in found..END_VERSION {
            upgrade_from(&tx, version)?;
        }
        if found != END_VERSION {
            tx.pragma_update(None, "user_version", END_VERSION)?;
        }
        tx.commit()?;
        let relay_id = finish(&conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            relay_id,
            path: path.to_path_buf(),
            last_prune: AtomicU64::new(0),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection. A panic while the lock was held cannot leave the connection half-written (open
    /// transactions roll back when dropped), so a poisoned lock is simply taken over.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether SQLite said another connection holds the file (worth trying again).
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Connection settings applied on every open, before any migration.
fn prepare(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt("the database refused WAL mode"));
    }
    // FULL: a sync answer acknowledges envelopes, so a committed insert must survive a power cut.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Deleted rows are overwritten, not left in free pages: an erased space's ciphertext must not
    // outlive its erasure in the file (protocol 23).
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(())
}

/// One explicit schema step from `version` to `version + 1`.
fn upgrade_from(tx: &rusqlite::Transaction<'_>, version: u32) -> Result<(), StoreError> {
    match version {
        0 => upgrade_v0_to_v1(tx),
        1 => upgrade_v1_to_v2(tx),
        2 => upgrade_v2_to_v3(tx),
        3 => upgrade_v3_to_v4(tx),
        4 => upgrade_v4_to_v5(tx),
        5 => upgrade_v5_to_v6(tx),
        6 => upgrade_v6_to_v7(tx),
        7 => admitted::upgrade_v7_to_v8(tx),
        8 => upgrade_v8_to_v9(tx),
        9 => erasures::upgrade_v9_to_v10(tx),
        10 => push::upgrade_v10_to_v11(tx),
        _ => Err(StoreError::Corrupt(
            "no migration step from this schema version",
        )),
    }
}

/// v1: meta (with the relay id), envelopes, seen_requests.
fn upgrade_v0_to_v1(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE meta (
             key   TEXT PRIMARY KEY,
             value BLOB NOT NULL
         ) STRICT;
         CREATE TABLE envelopes (
             serial      INTEGER PRIMARY KEY AUTOINCREMENT,
             space       BLOB NOT NULL,
             author      BLOB NOT NULL,
             seq         INTEGER NOT NULL,
             id          BLOB NOT NULL UNIQUE,
             bytes       BLOB NOT NULL,
             received_at INTEGER NOT NULL,
             UNIQUE (space, author, seq)
         ) STRICT;
         CREATE TABLE seen_requests (
             device     BLOB NOT NULL,
             request_id BLOB NOT NULL,
             ts         INTEGER NOT NULL,
             PRIMARY KEY (device, request_id)
         ) STRICT, WITHOUT ROWID;
         CREATE INDEX seen_requests_by_ts ON seen_requests (ts);",
    )?;
    let mut id = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id)
        .map_err(|_| StoreError::Random)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('relay_id', ?1)",
        params![id.as_slice()],
    )?;
    Ok(())
}

/// v2: envelopes gain their frame's `kind` (filled in from the stored bytes: the kind byte is at frame
/// offset 5), and membership envelopes get an index by space in arrival order, from which the relay
/// rebuilds a space's membership log.
fn upgrade_v1_to_v2(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch("ALTER TABLE envelopes ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;")?;
    {
        let mut read = tx.prepare("SELECT serial, substr(bytes, 6, 1) FROM envelopes")?;
        let mut write = tx.prepare("UPDATE envelopes SET kind = ?1 WHERE serial = ?2")?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let serial: i64 = row.get(0)?;
            let kind: Vec<u8> = row.get(1)?;
            // Every stored envelope passed `Envelope::parse`, so it has a kind byte.
            let kind = kind.first().copied().ok_or(StoreError::Corrupt(
                "a stored envelope is shorter than its frame",
            ))?;
            write.execute(params![i64::from(kind), serial])?;
        }
    }
    tx.execute_batch(&format!(
        "CREATE INDEX envelopes_membership ON envelopes (space, serial) WHERE kind = {MEMBERSHIP_KIND};"
    ))?;
    Ok(())
}

/// v3: the invite mailboxes. `join_requests` holds sealed join requests by (space, invite), one copy of
/// each distinct body (`hash` is its SHA-256); `join_answers` holds at most one answer per (device,
/// space, invite). Both are indexed by arrival time for pruning.
fn upgrade_v2_to_v3(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE join_requests (
             serial      INTEGER PRIMARY KEY AUTOINCREMENT,
             space       BLOB NOT NULL,
             invite      BLOB NOT NULL,
             hash        BLOB NOT NULL,
             device      BLOB NOT NULL,
             body        BLOB NOT NULL,
             received_at INTEGER NOT NULL,
             UNIQUE (space, invite, hash)
         ) STRICT;
         CREATE INDEX join_requests_by_received ON join_requests (received_at);
         CREATE TABLE join_answers (
             serial      INTEGER PRIMARY KEY AUTOINCREMENT,
             device      BLOB NOT NULL,
             space       BLOB NOT NULL,
             invite      BLOB NOT NULL,
             body        BLOB NOT NULL,
             received_at INTEGER NOT NULL,
             UNIQUE (device, space, invite)
         ) STRICT;
         CREATE INDEX join_answers_by_received ON join_answers (received_at);",
    )?;
    Ok(())
}

/// v4: erased spaces. A row here means the space's envelopes (all but membership statements) were
/// deleted at an admin's request, and nothing more of it is taken or served.
fn upgrade_v3_to_v4(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE erased (
             space     BLOB PRIMARY KEY,
             erased_at INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;",
    )?;
    Ok(())
}

/// v5: snapshots (protocol section 26). A snapshot's cover (what it stands for, read from its signed
/// clear part) is kept next to it, and an envelope a snapshot covers may be pruned after the
/// retention period: its bytes go, its row stays (`pruned = 1`), so the vector, conflict detection
/// and the arrival order are unchanged.
fn upgrade_v4_to_v5(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(&format!(
        "ALTER TABLE envelopes ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE envelopes ADD COLUMN cover BLOB;
         CREATE INDEX envelopes_snapshot ON envelopes (space, serial) WHERE kind = {SNAPSHOT_KIND};"
    ))?;
    Ok(())
}

/// v6: who asked under which invite (`docs/protocol.md`, section 18.3). A row says that `device` left
/// a join request under (`space`, `invite`), last at `asked_at`; a join answer for that device is
/// kept only against such a row, which it then uses up. Rows outlive the requests themselves (those
/// go once their invite is spent), so that the answer can still come; they are filled in from the
/// requests already held, so joins under way keep working.
fn upgrade_v5_to_v6(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE join_askers (
             space    BLOB NOT NULL,
             invite   BLOB NOT NULL,
             device   BLOB NOT NULL,
             asked_at INTEGER NOT NULL,
             PRIMARY KEY (space, invite, device)
         ) STRICT, WITHOUT ROWID;
         CREATE INDEX join_askers_by_asked ON join_askers (asked_at);
         INSERT INTO join_askers (space, invite, device, asked_at)
             SELECT space, invite, device, max(received_at) FROM join_requests
             GROUP BY space, invite, device;",
    )?;
    Ok(())
}

/// v7: running counts of what each space, each author and the whole store hold (bytes of stored
/// envelopes and their number; pruned tombstones count for nothing), what quotas are judged by
/// (issue 15, item 2). A row's `scope` is
/// `s` + space id, `a` + author id, or `t` for the whole store; filled in from the envelopes held.
fn upgrade_v6_to_v7(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE usage (
             scope     BLOB PRIMARY KEY,
             bytes     INTEGER NOT NULL,
             envelopes INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;
         INSERT INTO usage (scope, bytes, envelopes)
             SELECT CAST(x'73' || space AS BLOB), sum(length(bytes)), sum(pruned = 0) FROM envelopes
             GROUP BY space;
         INSERT INTO usage (scope, bytes, envelopes)
             SELECT CAST(x'61' || author AS BLOB), sum(length(bytes)), sum(pruned = 0) FROM envelopes
             GROUP BY author;
         INSERT INTO usage (scope, bytes, envelopes)
             SELECT x'74', coalesce(sum(length(bytes)), 0), coalesce(sum(pruned = 0), 0) FROM envelopes;",
    )?;
    Ok(())
}

/// v9: what a sync request reads of a space costs a few index lookups, not a walk of its rows
/// (issue 15, item 10). `vectors` keeps, per space and author, the top of the contiguous run of
/// sequence numbers stored (from 1), kept as envelopes are stored and erased; the vector is that
/// plus the few rows above a gap. `envelopes_pruned` indexes the pruned tombstones, so the pruned
/// floor is one lookup per author. Filled in from the envelopes held.
fn upgrade_v8_to_v9(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE vectors (
             space      BLOB NOT NULL,
             author     BLOB NOT NULL,
             contiguous INTEGER NOT NULL,
             PRIMARY KEY (space, author)
         ) STRICT, WITHOUT ROWID;
         CREATE INDEX envelopes_pruned ON envelopes (space, author, seq) WHERE pruned = 1;",
    )?;
    tx.execute_batch(&format!("{};", fill_vectors("")))?;
    Ok(())
}

/// SQL that fills `vectors` for the envelopes `filter` selects (a `WHERE` clause, or nothing for
/// all): per (space, author), the top of the contiguous run from 1. A row's sequence number equals
/// its rank in its author's order exactly while every number below it is stored (they are distinct
/// and at least 1).
fn fill_vectors(filter: &str) -> String {
    format!(
        "INSERT INTO vectors (space, author, contiguous)
         SELECT space, author, coalesce(max(CASE WHEN seq = rank THEN seq END), 0)
         FROM (SELECT space, author, seq,
                      row_number() OVER (PARTITION BY space, author ORDER BY seq) AS rank
               FROM envelopes {filter})
         GROUP BY space, author"
    )
}

/// Raises the contiguous top of (`space`, `author`) after envelope `seq` was stored there, inside
/// the caller's transaction: over `seq` and whatever was stored above a gap it fills. Each stored
/// envelope is stepped over at most once, so this is constant work per envelope on the whole.
fn advance(
    tx: &rusqlite::Transaction<'_>,
    space: &SpaceId,
    author: &DeviceId,
    seq: u64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO vectors (space, author, contiguous) VALUES (?1, ?2, 0) ON CONFLICT DO NOTHING",
    )?
    .execute(params![space.0.as_slice(), author.0.as_slice()])?;
    let top: i64 = tx
        .prepare_cached("SELECT contiguous FROM vectors WHERE space = ?1 AND author = ?2")?
        .query_row(params![space.0.as_slice(), author.0.as_slice()], |r| {
            r.get(0)
        })?;
    let mut top = from_sql_int(top)?;
    if seq != top.saturating_add(1) {
        // Above a gap: read as such until the gap is filled.
        return Ok(());
    }
    top = seq;
    let mut next =
        tx.prepare_cached("SELECT 1 FROM envelopes WHERE space = ?1 AND author = ?2 AND seq = ?3")?;
    while top < MAX_SEQ
        && next
            .query_row(
                params![space.0.as_slice(), author.0.as_slice(), sql_int(top + 1)],
                |_| Ok(()),
            )
            .optional()?
            .is_some()
    {
        top += 1;
    }
    tx.prepare_cached("UPDATE vectors SET contiguous = ?3 WHERE space = ?1 AND author = ?2")?
        .execute(params![
            space.0.as_slice(),
            author.0.as_slice(),
            sql_int(top)
        ])?;
    Ok(())
}

/// Adds `bytes` and `envelopes` (either may be negative) to a usage scope, inside the caller's
/// transaction.
fn bump(
    tx: &rusqlite::Transaction<'_>,
    scope: &[u8],
    bytes: i64,
    envelopes: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO usage (scope, bytes, envelopes) VALUES (?1, ?2, ?3)
         ON CONFLICT (scope) DO UPDATE SET bytes = max(0, bytes + excluded.bytes),
             envelopes = max(0, envelopes + excluded.envelopes)",
    )?
    .execute(params![scope, bytes, envelopes])?;
    Ok(())
}

/// Adds to the usage of a space, an author and the whole store at once.
fn bump_all(
    tx: &rusqlite::Transaction<'_>,
    space: &SpaceId,
    author: &DeviceId,
    bytes: i64,
    envelopes: i64,
) -> Result<(), StoreError> {
    bump(tx, &scope(b's', &space.0), bytes, envelopes)?;
    bump(tx, &scope(b'a', &author.0), bytes, envelopes)?;
    bump(tx, &scope(b't', &[]), bytes, envelopes)?;
    admitted::bump_admitted(tx, space, author, bytes, envelopes)
}

/// The kind byte of snapshot envelopes, as stored in `envelopes.kind`.
const SNAPSHOT_KIND: u8 = 2;
/// Kind bytes of the envelopes a snapshot may stand for (changes and earlier snapshots); membership
/// and key-wraps envelopes are never pruned.
const PRUNABLE_KINDS: &str = "(1, 2)";

/// The kind byte of membership envelopes, as stored in `envelopes.kind`.
const MEMBERSHIP_KIND: u8 = 3;

/// After migration: read what every later call needs.
fn finish(conn: &Connection) -> Result<RelayId, StoreError> {
    let raw: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = 'relay_id'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let raw = raw.ok_or(StoreError::Corrupt("relay id missing"))?;
    let id: [u8; 16] = raw
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt("relay id has the wrong length"))?;
    Ok(RelayId(id))
}

/// Every author of `space` with its contiguous top (0 when all it holds is above a gap).
fn read_tops(conn: &Connection, space: &SpaceId) -> Result<Vec<(DeviceId, u64)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT author, contiguous FROM vectors WHERE space = ?1")?;
    let mut rows = stmt.query(params![space.0.as_slice()])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push((
            device_of(&row.get::<_, Vec<u8>>(0)?)?,
            from_sql_int(row.get(1)?)?,
        ));
    }
    Ok(out)
}

impl RelayStore for SqliteStore {
    fn relay_id(&self) -> RelayId {
        self.relay_id
    }

    fn ping(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        let _: i64 = conn.query_row("SELECT count(*) FROM meta", [], |r| r.get(0))?;
        Ok(())
    }

    fn record_request(
        &self,
        device: &DeviceId,
        request_id: &[u8; 16],
        timestamp: u64,
        now: u64,
    ) -> Result<RequestFreshness, StoreError> {
        let conn = self.conn();
        let last = self.last_prune.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= PRUNE_INTERVAL_SECS {
            let cutoff = now.saturating_sub(2 * TIME_WINDOW_SECS);
            conn.execute(
                "DELETE FROM seen_requests WHERE ts < ?1",
                params![sql_int(cutoff)],
            )?;
            let stale = sql_int(now.saturating_sub(MAILBOX_RETENTION_SECS));
            conn.execute(
                "DELETE FROM join_requests WHERE received_at < ?1",
                params![stale],
            )?;
            conn.execute(
                "DELETE FROM join_answers WHERE received_at < ?1",
                params![stale],
            )?;
            conn.execute(
                "DELETE FROM join_askers WHERE asked_at < ?1",
                params![sql_int(now.saturating_sub(ASK_RETENTION_SECS))],
            )?;
            self.last_prune.store(now, Ordering::Relaxed);
        }
        let inserted = conn.execute(
            "INSERT INTO seen_requests (device, request_id, ts) VALUES (?1, ?2, ?3)
             ON CONFLICT (device, request_id) DO NOTHING",
            params![
                device.0.as_slice(),
                request_id.as_slice(),
                sql_int(timestamp)
            ],
        )?;
        Ok(if inserted == 1 {
            RequestFreshness::Fresh
        } else {
            RequestFreshness::Replayed
        })
    }

    fn insert_envelopes(
        &self,
        envelopes: &[NewEnvelope<'_>],
        received_at: u64,
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::with_capacity(envelopes.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO envelopes (space, author, seq, id, bytes, received_at, kind, cover)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            )?;
            let mut existing = tx.prepare_cached(
                "SELECT id FROM envelopes WHERE space = ?1 AND author = ?2 AND seq = ?3",
            )?;
            for env in envelopes {
                // A snapshot's cover, re-encoded from its signed clear part (the caller checked it).
                let cover = if env.kind == Kind::Snapshot {
                    Envelope::parse(env.bytes)
                        .and_then(|e| snapshot::cover(&e))
                        .and_then(|c| snapshot::encode_cover(&c))
                        .ok()
                } else {
                    None
                };
                let changed = insert.execute(params![
                    env.space.0.as_slice(),
                    env.author.0.as_slice(),
                    sql_int(env.seq),
                    env.id.0.as_slice(),
                    env.bytes,
                    sql_int(received_at),
                    i64::from(env.kind.to_byte()),
                    cover,
                ])?;
                let outcome = if changed == 1 {
                    let len = i64::try_from(env.bytes.len()).unwrap_or(i64::MAX);
                    bump_all(&tx, &env.space, &env.author, len, 1)?;
                    advance(&tx, &env.space, &env.author, env.seq)?;
                    InsertOutcome::Stored
                } else {
                    let held: Option<Vec<u8>> = existing
                        .query_row(
                            params![
                                env.space.0.as_slice(),
                                env.author.0.as_slice(),
                                sql_int(env.seq)
                            ],
                            |r| r.get(0),
                        )
                        .optional()?;
                    match held {
                        Some(id) if id.as_slice() != env.id.0.as_slice() => InsertOutcome::Conflict,
                        // Same id at the same place, or (impossible for SHA-256) the same id elsewhere:
                        // these exact bytes are stored already.
                        _ => InsertOutcome::Duplicate,
                    }
                };
                outcomes.push(outcome);
            }
        }
        tx.commit()?;
        Ok(outcomes)
    }

    fn usage(
        &self,
        spaces: &[SpaceId],
        authors: &[DeviceId],
        persons: &[PersonId],
    ) -> Result<Usage, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT bytes, envelopes FROM usage WHERE scope = ?1")?;
        rows::gather_usage(spaces, authors, persons, |scope| {
            let row = stmt
                .query_row(params![scope], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            Ok(rows::amount_of(row))
        })
    }

    fn space_vector(&self, space: &SpaceId) -> Result<VersionVector, StoreError> {
        let conn = self.conn();
        // Each author's contiguous top, kept as envelopes are stored (`advance`), then only the
        // rows above it: a few lookups per author, however many envelopes the space holds.
        let tops = read_tops(&conn, space)?;
        let mut vector = VersionVector::from_contiguous(
            tops.iter()
                .filter(|(_, top)| *top > 0)
                .map(|(a, t)| (*a, *t))
                .collect(),
        );
        let mut above = conn.prepare_cached(
            "SELECT seq FROM envelopes WHERE space = ?1 AND author = ?2 AND seq > ?3 ORDER BY seq",
        )?;
        for (author, top) in &tops {
            let mut rows = above.query(params![
                space.0.as_slice(),
                author.0.as_slice(),
                sql_int(*top)
            ])?;
            while let Some(row) = rows.next()? {
                vector.insert(*author, from_sql_int(row.get(0)?)?);
            }
        }
        Ok(vector)
    }

    fn list_range(
        &self,
        space: &SpaceId,
        author: &DeviceId,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<EnvelopeMeta>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT serial, seq, length(bytes), kind, pruned FROM envelopes
             WHERE space = ?1 AND author = ?2 AND seq > ?3 AND seq <= ?4 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![
            space.0.as_slice(),
            author.0.as_slice(),
            sql_int(after),
            sql_int(up_to)
        ])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(EnvelopeMeta {
                serial: from_sql_int(row.get(0)?)?,
                seq: from_sql_int(row.get(1)?)?,
                len: from_sql_int(row.get(2)?)?,
                kind: Kind::from_byte(u8::try_from(row.get::<_, i64>(3)?).unwrap_or(0)),
                pruned: row.get::<_, i64>(4)? != 0,
            });
        }
        Ok(out)
    }

    fn load_envelopes(&self, serials: &[u64]) -> Result<Vec<Vec<u8>>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT bytes FROM envelopes WHERE serial = ?1 AND pruned = 0")?;
        let mut out = Vec::with_capacity(serials.len());
        for serial in serials {
            // A row listed a moment ago is gone only when its space was erased, or it was pruned,
            // meanwhile.
            let bytes: Option<Vec<u8>> = stmt
                .query_row(params![sql_int(*serial)], |r| r.get(0))
                .optional()?;
            out.extend(bytes);
        }
        Ok(out)
    }

    fn held_ids(&self, slots: &[Slot]) -> Result<Vec<Option<EnvelopeId>>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM envelopes WHERE space = ?1 AND author = ?2 AND seq = ?3",
        )?;
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            let id: Option<Vec<u8>> = stmt
                .query_row(
                    params![
                        slot.space.0.as_slice(),
                        slot.author.0.as_slice(),
                        sql_int(slot.seq)
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            out.push(
                id.map(|id| {
                    EnvelopeId::from_slice(&id)
                        .map_err(|_| StoreError::Corrupt("stored envelope id has the wrong length"))
                })
                .transpose()?,
            );
        }
        Ok(out)
    }

    fn membership_envelopes(
        &self,
        space: &SpaceId,
        after: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let conn = self.conn();
        // The kind is a literal so that the partial index `envelopes_membership` serves the query.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT serial, bytes FROM envelopes
             WHERE space = ?1 AND kind = {MEMBERSHIP_KIND} AND serial > ?2 ORDER BY serial"
        ))?;
        let mut rows = stmt.query(params![space.0.as_slice(), sql_int(after)])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push((from_sql_int(row.get(0)?)?, row.get(1)?));
        }
        Ok(out)
    }

    fn put_join_request(
        &self,
        request: &NewJoinRequest<'_>,
        max_per_invite: usize,
        received_at: u64,
    ) -> Result<MailboxOutcome, StoreError> {
        let hash = ring::digest::digest(&ring::digest::SHA256, request.body);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = {
            let space = request.space.0.as_slice();
            let invite = request.invite.0.as_slice();
            let held: Option<i64> = tx
                .prepare_cached(
                    "SELECT serial FROM join_requests WHERE space = ?1 AND invite = ?2 AND hash = ?3",
                )?
                .query_row(params![space, invite, hash.as_ref()], |r| r.get(0))
                .optional()?;
            let count: i64 = tx
                .prepare_cached(
                    "SELECT count(*) FROM join_requests WHERE space = ?1 AND invite = ?2",
                )?
                .query_row(params![space, invite], |r| r.get(0))?;
            let outcome = if held.is_some() {
                MailboxOutcome::Duplicate
            } else if from_sql_int(count)? >= max_per_invite as u64 {
                MailboxOutcome::Full
            } else {
                tx.prepare_cached(
                    "INSERT INTO join_requests (space, invite, hash, device, body, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    space,
                    invite,
                    hash.as_ref(),
                    request.device.0.as_slice(),
                    request.body,
                    sql_int(received_at)
                ])?;
                MailboxOutcome::Stored
            };
            if outcome != MailboxOutcome::Full {
                tx.prepare_cached(
                    "INSERT INTO join_askers (space, invite, device, asked_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (space, invite, device)
                     DO UPDATE SET asked_at = max(asked_at, excluded.asked_at)",
                )?
                .execute(params![
                    space,
                    invite,
                    request.device.0.as_slice(),
                    sql_int(received_at)
                ])?;
            }
            outcome
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn join_request_invites(&self, space: &SpaceId) -> Result<Vec<InviteId>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT invite FROM join_requests WHERE space = ?1
             GROUP BY invite ORDER BY min(serial)",
        )?;
        let mut rows = stmt.query(params![space.0.as_slice()])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let raw: Vec<u8> = row.get(0)?;
            out.push(invite_of(&raw)?);
        }
        Ok(out)
    }

    fn join_requests(
        &self,
        space: &SpaceId,
        invite: &InviteId,
    ) -> Result<Vec<StoredJoinRequest>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT device, body, received_at FROM join_requests
             WHERE space = ?1 AND invite = ?2 ORDER BY serial",
        )?;
        let mut rows = stmt.query(params![space.0.as_slice(), invite.0.as_slice()])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let device: Vec<u8> = row.get(0)?;
            out.push(StoredJoinRequest {
                space: *space,
                invite: *invite,
                device: device_of(&device)?,
                body: row.get(1)?,
                received_at: from_sql_int(row.get(2)?)?,
            });
        }
        Ok(out)
    }

    fn delete_join_requests(&self, space: &SpaceId, invite: &InviteId) -> Result<u64, StoreError> {
        let conn = self.conn();
        let deleted = conn
            .prepare_cached("DELETE FROM join_requests WHERE space = ?1 AND invite = ?2")?
            .execute(params![space.0.as_slice(), invite.0.as_slice()])?;
        Ok(deleted as u64)
    }

    fn put_join_answer(
        &self,
        answer: &NewJoinAnswer<'_>,
        max_per_device: usize,
        max_bytes_per_device: u64,
        received_at: u64,
    ) -> Result<MailboxOutcome, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = {
            let device = answer.device.0.as_slice();
            let space = answer.space.0.as_slice();
            let invite = answer.invite.0.as_slice();
            let (count, bytes): (i64, i64) = tx
                .prepare_cached(
                    "SELECT count(*), coalesce(sum(length(body)), 0) FROM join_answers
                     WHERE device = ?1",
                )?
                .query_row(params![device], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let replaced: Option<i64> = tx
                .prepare_cached(
                    "SELECT length(body) FROM join_answers
                     WHERE device = ?1 AND space = ?2 AND invite = ?3",
                )?
                .query_row(params![device, space, invite], |r| r.get(0))
                .optional()?;
            let asked = replaced.is_some()
                || tx
                    .prepare_cached(
                        "SELECT 1 FROM join_askers WHERE space = ?1 AND invite = ?2 AND device = ?3",
                    )?
                    .query_row(params![space, invite, device], |_| Ok(()))
                    .optional()?
                    .is_some();
            let (count, bytes) = (from_sql_int(count)?, from_sql_int(bytes)?);
            let kept = match replaced {
                Some(old) => bytes.saturating_sub(from_sql_int(old)?),
                None => bytes,
            };
            let after = kept.saturating_add(answer.body.len() as u64);
            if !asked {
                MailboxOutcome::NotRequested
            } else if (replaced.is_none() && count >= max_per_device as u64)
                || after > max_bytes_per_device
            {
                MailboxOutcome::Full
            } else if replaced.is_some() {
                // The arrival time stays: posting again never keeps an answer longer.
                tx.prepare_cached(
                    "UPDATE join_answers SET body = ?4
                     WHERE device = ?1 AND space = ?2 AND invite = ?3",
                )?
                .execute(params![device, space, invite, answer.body])?;
                MailboxOutcome::Replaced
            } else {
                tx.prepare_cached(
                    "INSERT INTO join_answers (device, space, invite, body, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    device,
                    space,
                    invite,
                    answer.body,
                    sql_int(received_at)
                ])?;
                // One request, one answer: the note that the device asked is used up.
                tx.prepare_cached(
                    "DELETE FROM join_askers WHERE space = ?1 AND invite = ?2 AND device = ?3",
                )?
                .execute(params![space, invite, device])?;
                MailboxOutcome::Stored
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn snapshots(&self, space: &SpaceId, limit: usize) -> Result<Vec<StoredSnapshot>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT serial, author, seq, length(bytes), received_at, cover FROM envelopes
             WHERE space = ?1 AND kind = {SNAPSHOT_KIND} AND pruned = 0
             ORDER BY serial DESC LIMIT ?2"
        ))?;
        let mut rows = stmt.query(params![space.0.as_slice(), sql_int(limit as u64)])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let raw: Option<Vec<u8>> = row.get(5)?;
            let cover = raw
                .as_deref()
                .and_then(|c| snapshot::decode_cover_bytes(c).ok())
                .ok_or(StoreError::Corrupt("stored snapshot cover"))?;
            out.push(StoredSnapshot {
                serial: from_sql_int(row.get(0)?)?,
                author: device_of(&row.get::<_, Vec<u8>>(1)?)?,
                seq: from_sql_int(row.get(2)?)?,
                len: from_sql_int(row.get(3)?)?,
                received_at: from_sql_int(row.get(4)?)?,
                cover,
            });
        }
        Ok(out)
    }

    fn prune_covered(
        &self,
        space: &SpaceId,
        cover: &BTreeMap<DeviceId, u64>,
        keep: u64,
        received_before: u64,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(&format!(
                "UPDATE envelopes SET bytes = x'', cover = NULL, pruned = 1
                 WHERE space = ?1 AND author = ?2 AND seq <= ?3 AND received_at < ?4
                   AND serial != ?5 AND pruned = 0 AND kind IN {PRUNABLE_KINDS}"
            ))?;
            let mut freed = tx.prepare_cached(&format!(
                "SELECT coalesce(sum(length(bytes)), 0), count(*) FROM envelopes
                 WHERE space = ?1 AND author = ?2 AND seq <= ?3 AND received_at < ?4
                   AND serial != ?5 AND pruned = 0 AND kind IN {PRUNABLE_KINDS}"
            ))?;
            for (author, top) in cover {
                // The rows stay as tombstones, which count for nothing: a device whose history a
                // snapshot covers gets its room back, bytes and envelopes.
                let (bytes, count): (i64, i64) = freed.query_row(
                    params![
                        space.0.as_slice(),
                        author.0.as_slice(),
                        sql_int(*top),
                        sql_int(received_before),
                        sql_int(keep),
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if count > 0 {
                    bump_all(&tx, space, author, -bytes, -count)?;
                }
                n += stmt.execute(params![
                    space.0.as_slice(),
                    author.0.as_slice(),
                    sql_int(*top),
                    sql_int(received_before),
                    sql_int(keep),
                ])?;
            }
        }
        tx.commit()?;
        Ok(n as u64)
    }

    fn pruned_floor(&self, space: &SpaceId) -> Result<BTreeMap<DeviceId, u64>, StoreError> {
        let conn = self.conn();
        // One lookup per author in the index of pruned tombstones, not a walk of the space's rows.
        let mut stmt = conn.prepare_cached(
            "SELECT max(seq) FROM envelopes WHERE space = ?1 AND author = ?2 AND pruned = 1",
        )?;
        let mut out = BTreeMap::new();
        for (author, _) in read_tops(&conn, space)? {
            let top: Option<i64> = stmt
                .query_row(params![space.0.as_slice(), author.0.as_slice()], |r| {
                    r.get(0)
                })?;
            if let Some(top) = top {
                out.insert(author, from_sql_int(top)?);
            }
        }
        Ok(out)
    }

    fn erase_space(&self, space: &SpaceId, at: u64) -> Result<u64, StoreError> {
        erasures::erase_space(&mut self.conn(), space, at)
    }

    fn set_push_subscription(
        &self,
        device: &DeviceId,
        subscription: Option<&StoredSubscription>,
        now: u64,
    ) -> Result<(), StoreError> {
        push::set_subscription(&self.conn(), device, subscription, now)
    }

    fn note_readers(&self, device: &DeviceId, spaces: &[SpaceId]) -> Result<(), StoreError> {
        push::note_readers(&mut self.conn(), device, spaces)
    }

    fn reads_any(&self, device: &DeviceId) -> Result<bool, StoreError> {
        push::reads_any(&self.conn(), device)
    }

    fn wake_candidates(
        &self,
        space: &SpaceId,
    ) -> Result<Vec<(DeviceId, StoredSubscription)>, StoreError> {
        push::wake_candidates(&self.conn(), space)
    }

    fn bind_push_key(&self, public: &[u8]) -> Result<bool, StoreError> {
        push::bind_key(&self.conn(), public)
    }

    fn push_subscription_counts(
        &self,
        endpoint: &str,
        device: &DeviceId,
    ) -> Result<(u64, u64), StoreError> {
        push::subscription_counts(&self.conn(), endpoint, device)
    }

    fn forget_push_subscription(
        &self,
        device: &DeviceId,
        endpoint: &str,
    ) -> Result<bool, StoreError> {
        push::forget_subscription(&self.conn(), device, endpoint)
    }

    fn forget_readers(&self, space: &SpaceId, devices: &[DeviceId]) -> Result<(), StoreError> {
        push::forget_readers(&self.conn(), space, devices)
    }

    fn admit_person(
        &self,
        person: &PersonId,
        until: u64,
        device: &DeviceId,
    ) -> Result<PersonId, StoreError> {
        admitted::admit_person(&mut self.conn(), person, until, device)
    }

    fn admit_device(&self, device: &DeviceId, person: &PersonId) -> Result<PersonId, StoreError> {
        admitted::admit_device(&self.conn(), device, person)
    }

    fn admit_space(&self, space: &SpaceId, at: u64, founder: &PersonId) -> Result<(), StoreError> {
        admitted::admit_space(&self.conn(), space, at, founder)
    }

    fn admitted_person(&self, person: &PersonId) -> Result<Option<u64>, StoreError> {
        admitted::person(&self.conn(), person)
    }

    fn admitted_device(&self, device: &DeviceId) -> Result<Option<PersonId>, StoreError> {
        admitted::device(&self.conn(), device)
    }

    fn admitted_space(&self, space: &SpaceId) -> Result<Option<PersonId>, StoreError> {
        admitted::space(&self.conn(), space)
    }

    fn put_erasure(
        &self,
        space: &SpaceId,
        author: &DeviceId,
        statement: &[u8],
    ) -> Result<(), StoreError> {
        erasures::put(&self.conn(), space, author, statement)
    }

    fn erasures(&self, space: &SpaceId) -> Result<Vec<Vec<u8>>, StoreError> {
        erasures::of(&self.conn(), space)
    }

    fn erased(&self, spaces: &[SpaceId]) -> Result<Vec<SpaceId>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT 1 FROM erased WHERE space = ?1")?;
        let mut out = Vec::new();
        for s in spaces {
            if stmt
                .query_row(params![s.0.as_slice()], |_| Ok(()))
                .optional()?
                .is_some()
            {
                out.push(*s);
            }
        }
        Ok(out)
    }

    fn delete_join_answer(
        &self,
        device: &DeviceId,
        space: &SpaceId,
        invite: &InviteId,
    ) -> Result<u64, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM join_answers WHERE device = ?1 AND space = ?2 AND invite = ?3",
            params![device.0.as_slice(), space.0.as_slice(), invite.0.as_slice()],
        )?;
        Ok(n as u64)
    }

    fn join_answers(&self, device: &DeviceId) -> Result<Vec<StoredJoinAnswer>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT space, invite, body, received_at FROM join_answers
             WHERE device = ?1 ORDER BY serial",
        )?;
        let mut rows = stmt.query(params![device.0.as_slice()])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let space: Vec<u8> = row.get(0)?;
            let invite: Vec<u8> = row.get(1)?;
            out.push(StoredJoinAnswer {
                device: *device,
                space: space_of(&space)?,
                invite: invite_of(&invite)?,
                body: row.get(2)?,
                received_at: from_sql_int(row.get(3)?)?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod cost_tests;
#[cfg(test)]
mod open_tests;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::store::contract::{amount, join_answer, join_request};
    use sebaya_proto::Kind;

    #[test]
    fn membership_kind_byte_matches_the_protocol() {
        assert_eq!(Kind::Membership.to_byte(), MEMBERSHIP_KIND);
    }

    #[test]
    fn open_creates_the_schema_and_keeps_the_relay_id() {
        let dir = tempfile::tempdir().unwrap();
        let first = SqliteStore::open(dir.path()).unwrap();
        let id = first.relay_id();
        drop(first);
        let again = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(again.relay_id(), id);
        let conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, END_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        conn.pragma_update(None, "user_version", END_VERSION + 1)
            .unwrap();
        drop(conn);
        match SqliteStore::open(dir.path()) {
            Err(StoreError::SchemaTooNew { found, supported }) => {
                assert_eq!((found, supported), (END_VERSION + 1, END_VERSION));
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    /// A frame with the given kind byte and a short body: enough for the v1 -> v2 backfill.
    fn frame(kind: u8, space: u8) -> Vec<u8> {
        let mut f = b"SBYE".to_vec();
        f.push(1);
        f.push(kind);
        f.extend_from_slice(&[space; 16]);
        f.extend_from_slice(&2u32.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f
    }

    #[test]
    fn a_v1_database_is_upgraded_with_kinds_filled_in() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
            let tx = conn.transaction().unwrap();
            upgrade_from(&tx, 0).unwrap();
            tx.pragma_update(None, "user_version", 1).unwrap();
            for (serial, kind) in [(1u8, 1u8), (2, 3), (3, 4), (4, 3)] {
                tx.execute(
                    "INSERT INTO envelopes (space, author, seq, id, bytes, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                    params![
                        [5u8; 16].as_slice(),
                        [1u8; 32].as_slice(),
                        i64::from(serial),
                        [serial; 32].as_slice(),
                        frame(kind, 5)
                    ],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            store.membership_envelopes(&SpaceId([5; 16]), 0).unwrap(),
            vec![(2, frame(3, 5)), (4, frame(3, 5))]
        );
        assert_eq!(
            store.membership_envelopes(&SpaceId([5; 16]), 2).unwrap(),
            vec![(4, frame(3, 5))]
        );
        assert!(
            store
                .membership_envelopes(&SpaceId([6; 16]), 0)
                .unwrap()
                .is_empty()
        );
        let conn = store.conn();
        let kinds: Vec<i64> = conn
            .prepare("SELECT kind FROM envelopes ORDER BY serial")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kinds, vec![1, 3, 4, 3]);
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, END_VERSION);
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT serial, bytes FROM envelopes WHERE space = x'05' AND kind = 3 AND serial > 0 ORDER BY serial",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("envelopes_membership"), "{plan}");
    }

    #[test]
    fn a_v2_database_is_upgraded_to_v3_keeping_its_envelopes() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
            let tx = conn.transaction().unwrap();
            upgrade_from(&tx, 0).unwrap();
            upgrade_from(&tx, 1).unwrap();
            tx.pragma_update(None, "user_version", 2).unwrap();
            tx.execute(
                "INSERT INTO envelopes (space, author, seq, id, bytes, received_at, kind)
                 VALUES (?1, ?2, 1, ?3, ?4, 0, 3)",
                params![
                    [5u8; 16].as_slice(),
                    [1u8; 32].as_slice(),
                    [1u8; 32].as_slice(),
                    frame(3, 5)
                ],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            store.membership_envelopes(&SpaceId([5; 16]), 0).unwrap(),
            vec![(1, frame(3, 5))]
        );
        assert_eq!(
            store
                .put_join_request(&join_request(1, 1, b"sealed"), 16, 10)
                .unwrap(),
            MailboxOutcome::Stored
        );
        assert_eq!(
            store
                .put_join_answer(&join_answer(9, 1, b"answer"), 16, 1 << 20, 10)
                .unwrap(),
            MailboxOutcome::Stored
        );
        // And on to v4: the erased table, empty.
        assert!(store.erased(&[SpaceId([1; 16])]).unwrap().is_empty());
        let conn = store.conn();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, END_VERSION);
    }

    #[test]
    fn a_v5_database_is_upgraded_noting_who_asked_under_the_requests_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
            let tx = conn.transaction().unwrap();
            for v in 0..5 {
                upgrade_from(&tx, v).unwrap();
            }
            tx.pragma_update(None, "user_version", 5).unwrap();
            for (device, hash, at) in [(1u8, 1u8, 10), (1, 2, 20), (2, 3, 30)] {
                tx.execute(
                    "INSERT INTO join_requests (space, invite, hash, device, body, received_at)
                     VALUES (?1, ?2, ?3, ?4, x'01', ?5)",
                    params![
                        [1u8; 16].as_slice(),
                        [1u8; 16].as_slice(),
                        [hash; 32].as_slice(),
                        [device; 32].as_slice(),
                        at
                    ],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let notes: Vec<(Vec<u8>, i64)> = {
            let conn = store.conn();
            let mut stmt = conn
                .prepare("SELECT device, asked_at FROM join_askers ORDER BY device")
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(notes, vec![(vec![1; 32], 20), (vec![2; 32], 30)]);
        for device in [1, 2] {
            assert_eq!(
                store
                    .put_join_answer(&join_answer(device, 1, b"in"), 16, 1 << 20, 40)
                    .unwrap(),
                MailboxOutcome::Stored
            );
        }
        assert_eq!(
            store
                .put_join_answer(&join_answer(3, 1, b"in"), 16, 1 << 20, 40)
                .unwrap(),
            MailboxOutcome::NotRequested
        );
    }

    #[test]
    fn a_v6_database_is_upgraded_with_its_usage_counted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
            let tx = conn.transaction().unwrap();
            for v in 0..6 {
                upgrade_from(&tx, v).unwrap();
            }
            tx.pragma_update(None, "user_version", 6).unwrap();
            for (space, author, seq, bytes) in [(1u8, 1u8, 1, 3), (1, 2, 1, 4), (2, 1, 1, 5)] {
                tx.execute(
                    "INSERT INTO envelopes (space, author, seq, id, bytes, received_at, kind)
                     VALUES (?1, ?2, ?3, ?4, ?5, 1, 1)",
                    params![
                        [space; 16].as_slice(),
                        [author; 32].as_slice(),
                        seq,
                        [space ^ author << 4; 32].as_slice(),
                        vec![7u8; bytes]
                    ],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let u = store
            .usage(
                &[SpaceId([1; 16])],
                &[DeviceId([1; 32]), DeviceId([9; 32])],
                &[],
            )
            .unwrap();
        assert_eq!(u.spaces[&SpaceId([1; 16])], amount(7, 2));
        assert_eq!(u.authors[&DeviceId([1; 32])], amount(8, 2));
        assert_eq!(u.authors[&DeviceId([9; 32])], amount(0, 0));
        assert_eq!(u.total, amount(12, 3));
    }
}
