//! The PostgreSQL store (`--database postgres://…`): what several relay nodes share.
//!
//! Same contract as the SQLite store ([`RelayStore`]'s docs), kept in one PostgreSQL schema
//! (`postgres/schema.rs`, versioned, created or upgraded by `sebaya-relay migrate` and at start).
//! Calls block: the blocking `postgres` client runs each statement, and an r2d2 pool hands out
//! connections, so a call from `spawn_blocking` takes one, uses it, and gives it back.
//!
//! **Several nodes.** Every write that reads before it writes (storing envelopes, pruning, erasing,
//! a mailbox's limits, admitting a space) first takes a transaction-scoped advisory lock on each
//! space it touches (two-key form: [`LOCK_SPACE`] and the space id's first four bytes), in sorted
//! order; join answers lock their device ([`LOCK_DEVICE`]). So two nodes storing in one space take
//! turns, a space's serials are committed in arrival order (what catching a membership log up by
//! serial relies on), and the running usage counts, changed inside the same transactions, stay
//! exact. A transaction PostgreSQL aborts as a deadlock victim or for a serialisation failure is
//! run again, a few times. Whole sync requests are ordered across nodes by
//! [`RelayStore::lock_spaces`], held by `access.rs` for each request (`docs/operations.md`, "Scale out").

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use postgres::{NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use sebaya_proto::invite::InviteId;
use sebaya_proto::request::TIME_WINDOW_SECS;
use sebaya_proto::snapshot;
use sebaya_proto::{DeviceId, Envelope, EnvelopeId, Kind, PersonId, SpaceId, VersionVector};

use crate::error::StoreError;
use crate::store::rows::{
    self, MAX_SEQ, PRUNE_INTERVAL_SECS, device_of, from_sql_int, scope, sql_int,
};
use crate::store::{
    ASK_RETENTION_SECS, EnvelopeMeta, InsertOutcome, MAILBOX_RETENTION_SECS, MailboxOutcome,
    NewEnvelope, NewJoinAnswer, NewJoinRequest, RelayId, RelayStore, RequestFreshness, Slot,
    SpaceHold, StoredJoinAnswer, StoredJoinRequest, StoredSnapshot, StoredSubscription, Usage,
};

mod admitted;
mod fanout;
mod import;
mod mailbox;
mod push;
mod schema;

pub use fanout::Fanout;
pub use import::{CopyReport, copy_sqlite_into};

pub use schema::END_VERSION as POSTGRES_END_VERSION;
#[cfg(test)]
use schema::END_VERSION;

/// Connections the statement pool keeps open at most per relay node: calls beyond it wait for one
/// (at most [`CONNECT_TIMEOUT`]). With [`LOCK_POOL_SIZE`] and the live fan-out's one
/// (`postgres/fanout.rs`), 32 a node: PostgreSQL's default `max_connections` (100, of which 3 are
/// kept for superusers) holds three nodes.
const POOL_SIZE: u32 = 12;
/// Connections that hold requests' space locks ([`RelayStore::lock_spaces`]): one per request
/// holding or waiting for its spaces. Apart from the statement pool, so that requests waiting for a
/// lock never take the connections the request holding it needs to finish. (20 until the live
/// fan-out took one of the 32.)
const LOCK_POOL_SIZE: u32 = 19;
/// How long a request waits for another node's request on the same space before failing.
const LOCK_TIMEOUT: &str = "30s";
/// How long a call waits for a pooled connection, or a new one, before failing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times a transaction aborted as a deadlock victim or for a serialisation failure is run.
const ATTEMPTS: u32 = 5;
/// First key of the advisory locks on a space (the second is the space id's first four bytes).
const LOCK_SPACE: i32 = 0x5345_0001;
/// First key of the advisory locks on a device's join answers.
const LOCK_DEVICE: i32 = 0x5345_0002;

/// The kind bytes as stored in `envelopes.kind`.
const SNAPSHOT_KIND: i16 = 2;
const MEMBERSHIP_KIND: i16 = 3;

type Manager = PostgresConnectionManager<NoTls>;

/// A PostgreSQL connection URL (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`), checked. Never shown:
/// its `Debug` hides it, since it may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// Checks that `text` is a `postgres://` or `postgresql://` URL the client can read. The error
    /// does not repeat it.
    pub fn parse(text: &str) -> Result<PostgresUrl, StoreError> {
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(StoreError::DatabaseUrl(
                "it must start with postgres:// or postgresql://",
            ));
        }
        config_of(text)?;
        Ok(PostgresUrl(text.to_string()))
    }

    /// The URL as given, for the client (never for a log).
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresUrl(…)")
    }
}

fn config_of(text: &str) -> Result<postgres::Config, StoreError> {
    text.parse::<postgres::Config>().map_err(|_| {
        StoreError::DatabaseUrl("the client could not read it (postgres://USER@HOST:PORT/DB)")
    })
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        match e.as_db_error() {
            Some(db) => StoreError::Postgres {
                code: Some(db.code().code().to_string()),
                message: db.message().to_string(),
            },
            // Not the server's answer: a connection or protocol failure, which names no stored value.
            None => StoreError::Postgres {
                code: e.code().map(|c| c.code().to_string()),
                message: e.to_string(),
            },
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> StoreError {
        StoreError::Postgres {
            code: None,
            message: format!("no database connection: {e}"),
        }
    }
}

/// Whether PostgreSQL aborted the transaction only because of another one (deadlock victim,
/// serialisation failure): running it again is the remedy.
fn retryable(e: &StoreError) -> bool {
    matches!(e, StoreError::Postgres { code: Some(c), .. } if c == "40001" || c == "40P01")
}

/// The second key of a space's advisory lock. Two spaces sharing it only take turns needlessly.
fn space_key(space: &SpaceId) -> i32 {
    i32::from_be_bytes([space.0[0], space.0[1], space.0[2], space.0[3]])
}

fn device_key(device: &DeviceId) -> i32 {
    i32::from_be_bytes([device.0[0], device.0[1], device.0[2], device.0[3]])
}

/// What a write locks before it reads: (first key, second key) pairs.
type Locks = Vec<(i32, i32)>;

fn space_locks<'a>(spaces: impl IntoIterator<Item = &'a SpaceId>) -> Locks {
    spaces
        .into_iter()
        .map(|s| (LOCK_SPACE, space_key(s)))
        .collect()
}

/// The PostgreSQL implementation of [`RelayStore`].
pub struct PostgresStore {
    /// Always `Some` until dropped (see the `Drop` impl).
    pool: Option<r2d2::Pool<Manager>>,
    /// Connections holding requests' space locks; `Some` until dropped.
    locks: Option<r2d2::Pool<Manager>>,
    relay_id: RelayId,
    last_prune: AtomicU64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("relay_id", &self.relay_id)
            .finish_non_exhaustive()
    }
}

/// What [`PostgresStore::migrate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostgresMigrated {
    /// Schema version found (0: an empty database).
    pub from: u32,
    /// Schema version now.
    pub to: u32,
}

impl PostgresStore {
    /// Connects to `url`, creates or upgrades the schema (in the schema the URL's search path names;
    /// `public` by default) and reads the relay id. Blocks.
    pub fn open(url: &PostgresUrl) -> Result<PostgresStore, StoreError> {
        Ok(Self::open_migrated(url)?.0)
    }

    /// `sebaya-relay migrate` for PostgreSQL: brings the schema to this build's version.
    pub fn migrate(url: &PostgresUrl) -> Result<PostgresMigrated, StoreError> {
        let (_, from) = Self::open_migrated(url)?;
        Ok(PostgresMigrated {
            from,
            to: schema::END_VERSION,
        })
    }

    fn open_migrated(url: &PostgresUrl) -> Result<(PostgresStore, u32), StoreError> {
        let config = config_of(url.as_str())?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .build_unchecked(PostgresConnectionManager::new(config.clone(), NoTls));
        let locks = r2d2::Pool::builder()
            .max_size(LOCK_POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(CONNECT_TIMEOUT)
            .build_unchecked(PostgresConnectionManager::new(config, NoTls));
        let mut conn = pool.get()?;
        let mut tx = conn.transaction()?;
        let from = schema::migrate(&mut tx)?;
        tx.commit()?;
        let raw: Vec<u8> = conn
            .query_opt("SELECT value FROM meta WHERE key = 'relay_id'", &[])?
            .ok_or(StoreError::Corrupt("relay id missing"))?
            .get(0);
        let id: [u8; 16] = raw
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("relay id has the wrong length"))?;
        drop(conn);
        Ok((
            PostgresStore {
                pool: Some(pool),
                locks: Some(locks),
                relay_id: RelayId(id),
                last_prune: AtomicU64::new(0),
            },
            from,
        ))
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        let pool = self
            .pool
            .as_ref()
            .ok_or(StoreError::Corrupt("the store's pool is gone"))?;
        Ok(pool.get()?)
    }

    /// Runs `body` in one transaction after taking the advisory `locks` (sorted, each once, so two
    /// writers never wait on each other in a circle), committing if it returns `Ok`. A transaction
    /// PostgreSQL aborted because of another one is run again, up to [`ATTEMPTS`] times.
    fn write<T>(
        &self,
        mut locks: Locks,
        mut body: impl FnMut(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        locks.sort_unstable();
        locks.dedup();
        let mut conn = self.conn()?;
        let mut attempt = 1;
        loop {
            let result = (|| {
                let mut tx = conn.transaction()?;
                for (class, key) in &locks {
                    tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[class, key])?;
                }
                let out = body(&mut tx)?;
                tx.commit()?;
                Ok(out)
            })();
            match result {
                Err(e) if attempt < ATTEMPTS && retryable(&e) => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(5 * u64::from(attempt)));
                }
                other => return other,
            }
        }
    }
}

impl Drop for PostgresStore {
    /// Closing a connection of the blocking client blocks on the client's own runtime, which tokio
    /// forbids on a thread that drives a runtime (the relay's state is dropped there when it stops):
    /// there, the pool is closed on a thread of its own.
    fn drop(&mut self) {
        let pools = (self.pool.take(), self.locks.take());
        if tokio::runtime::Handle::try_current().is_ok() {
            // If no thread can be made, the pool is leaked rather than the process aborted; the
            // server closes the connections when the process ends.
            if std::thread::Builder::new()
                .name("sebaya-relay-pg-close".into())
                .spawn(move || drop(pools))
                .is_err()
            {
                tracing::warn!("could not close the database connections on a thread of their own");
            }
        } else {
            drop(pools);
        }
    }
}

/// The key of a request's lock on a space (single-key form: the space id's first eight bytes; two
/// spaces sharing it only take turns needlessly).
fn request_key(space: &SpaceId) -> i64 {
    let s = &space.0;
    i64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
}

/// A request's locks on its spaces: a transaction on a connection of its own holding
/// transaction-scoped advisory locks, so that they go when it ends, and with the session if the
/// node dies (a node killed mid-request blocks nobody).
struct RequestLocks(Option<r2d2::PooledConnection<Manager>>);

impl Drop for RequestLocks {
    fn drop(&mut self) {
        if let Some(mut conn) = self.0.take() {
            // If the rollback fails the connection is broken, and the pool drops it: its session,
            // and so its locks, end with it.
            if let Err(e) = conn.batch_execute("ROLLBACK") {
                tracing::warn!(error = %StoreError::from(e), "releasing space locks failed");
            }
        }
    }
}

/// Adds `bytes` and `envelopes` (either may be negative) to a usage count, inside the caller's
/// transaction; a count never goes below zero.
fn bump(
    tx: &mut Transaction<'_>,
    scope: &[u8],
    bytes: i64,
    envelopes: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO usage (scope, bytes, envelopes) VALUES ($1, $2, $3)
         ON CONFLICT (scope) DO UPDATE SET bytes = greatest(0, usage.bytes + excluded.bytes),
             envelopes = greatest(0, usage.envelopes + excluded.envelopes)",
        &[&scope, &bytes, &envelopes],
    )?;
    Ok(())
}

/// Adds to the usage of an author (first: its row lock orders this against the author's admission,
/// `postgres/admitted.rs`), its person if admitted, a space, its founder and the admitted spaces if
/// admitted, and the whole store.
fn bump_all(
    tx: &mut Transaction<'_>,
    space: &SpaceId,
    author: &DeviceId,
    bytes: i64,
    envelopes: i64,
) -> Result<(), StoreError> {
    bump(tx, &scope(b'a', &author.0), bytes, envelopes)?;
    admitted::bump_admitted(tx, space, author, bytes, envelopes)?;
    bump(tx, &scope(b's', &space.0), bytes, envelopes)?;
    bump(tx, &scope(b't', &[]), bytes, envelopes)
}

/// Raises the contiguous top of (`space`, `author`) after envelope `seq` was stored there, inside the
/// caller's transaction (which holds the space's lock): over `seq` and whatever was stored above a
/// gap it fills.
fn advance(
    tx: &mut Transaction<'_>,
    space: &SpaceId,
    author: &DeviceId,
    seq: u64,
) -> Result<(), StoreError> {
    let (s, a) = (space.0.as_slice(), author.0.as_slice());
    tx.execute(
        "INSERT INTO vectors (space, author, contiguous) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
        &[&s, &a],
    )?;
    let top: i64 = tx
        .query_one(
            "SELECT contiguous FROM vectors WHERE space = $1 AND author = $2",
            &[&s, &a],
        )?
        .get(0);
    let mut top = from_sql_int(top)?;
    if seq != top.saturating_add(1) {
        return Ok(());
    }
    top = seq;
    let next =
        tx.prepare("SELECT 1 FROM envelopes WHERE space = $1 AND author = $2 AND seq = $3")?;
    while top < MAX_SEQ && tx.query_opt(&next, &[&s, &a, &sql_int(top + 1)])?.is_some() {
        top += 1;
    }
    tx.execute(
        "UPDATE vectors SET contiguous = $3 WHERE space = $1 AND author = $2",
        &[&s, &a, &sql_int(top)],
    )?;
    Ok(())
}

/// Every author of `space` with its contiguous top (0 when all it holds is above a gap).
fn read_tops(
    client: &mut impl postgres::GenericClient,
    space: &SpaceId,
) -> Result<Vec<(DeviceId, u64)>, StoreError> {
    let rows = client.query(
        "SELECT author, contiguous FROM vectors WHERE space = $1",
        &[&space.0.as_slice()],
    )?;
    rows.iter()
        .map(|r| Ok((device_of(r.get::<_, &[u8]>(0))?, from_sql_int(r.get(1))?)))
        .collect()
}

impl RelayStore for PostgresStore {
    fn relay_id(&self) -> RelayId {
        self.relay_id
    }

    fn shared(&self) -> bool {
        true
    }

    fn lock_spaces(&self, spaces: &[SpaceId], write: bool) -> Result<SpaceHold, StoreError> {
        let mut keys: Vec<i64> = spaces.iter().map(request_key).collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(SpaceHold::none());
        }
        let pool = self
            .locks
            .as_ref()
            .ok_or(StoreError::Corrupt("the store's lock pool is gone"))?;
        let mut held = RequestLocks(Some(pool.get()?));
        let conn = held
            .0
            .as_mut()
            .ok_or(StoreError::Corrupt("a lock connection went missing"))?;
        conn.batch_execute(&format!("BEGIN; SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))?;
        let take = if write {
            "SELECT pg_advisory_xact_lock($1)"
        } else {
            "SELECT pg_advisory_xact_lock_shared($1)"
        };
        for key in &keys {
            // On failure `held` is dropped, rolling back: nothing stays locked.
            conn.execute(take, &[key])?;
        }
        Ok(SpaceHold::new(held))
    }

    fn ping(&self) -> Result<(), StoreError> {
        let _: i64 = self
            .conn()?
            .query_one("SELECT count(*) FROM meta", &[])?
            .get(0);
        Ok(())
    }

    fn record_request(
        &self,
        device: &DeviceId,
        request_id: &[u8; 16],
        timestamp: u64,
        now: u64,
    ) -> Result<RequestFreshness, StoreError> {
        let mut conn = self.conn()?;
        let last = self.last_prune.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= PRUNE_INTERVAL_SECS {
            let cutoff = sql_int(now.saturating_sub(2 * TIME_WINDOW_SECS));
            conn.execute("DELETE FROM seen_requests WHERE ts < $1", &[&cutoff])?;
            let stale = sql_int(now.saturating_sub(MAILBOX_RETENTION_SECS));
            conn.execute(
                "DELETE FROM join_requests WHERE received_at < $1",
                &[&stale],
            )?;
            conn.execute("DELETE FROM join_answers WHERE received_at < $1", &[&stale])?;
            let asked = sql_int(now.saturating_sub(ASK_RETENTION_SECS));
            conn.execute("DELETE FROM join_askers WHERE asked_at < $1", &[&asked])?;
            self.last_prune.store(now, Ordering::Relaxed);
        }
        // Two nodes seeing the same id at once: the second insert waits for the first and then
        // finds it, so exactly one of them answers Fresh.
        let inserted = conn.execute(
            "INSERT INTO seen_requests (device, request_id, ts) VALUES ($1, $2, $3)
             ON CONFLICT (device, request_id) DO NOTHING",
            &[
                &device.0.as_slice(),
                &request_id.as_slice(),
                &sql_int(timestamp),
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
        if envelopes.is_empty() {
            return Ok(Vec::new());
        }
        let locks = space_locks(envelopes.iter().map(|e| &e.space));
        self.write(locks, |tx| {
            let insert = tx.prepare(
                "INSERT INTO envelopes (space, author, seq, serial, id, bytes, received_at, kind, cover)
                 VALUES ($1, $2, $3, nextval('envelope_serial'), $4, $5, $6, $7, $8)
                 ON CONFLICT DO NOTHING",
            )?;
            let existing =
                tx.prepare("SELECT id FROM envelopes WHERE space = $1 AND author = $2 AND seq = $3")?;
            let mut outcomes = Vec::with_capacity(envelopes.len());
            for env in envelopes {
                let cover = if env.kind == Kind::Snapshot {
                    Envelope::parse(env.bytes)
                        .and_then(|e| snapshot::cover(&e))
                        .and_then(|c| snapshot::encode_cover(&c))
                        .ok()
                } else {
                    None
                };
                let (space, author) = (env.space.0.as_slice(), env.author.0.as_slice());
                let changed = tx.execute(
                    &insert,
                    &[
                        &space,
                        &author,
                        &sql_int(env.seq),
                        &env.id.0.as_slice(),
                        &env.bytes,
                        &sql_int(received_at),
                        &i16::from(env.kind.to_byte()),
                        &cover,
                    ],
                )?;
                let outcome = if changed == 1 {
                    let len = i64::try_from(env.bytes.len()).unwrap_or(i64::MAX);
                    bump_all(tx, &env.space, &env.author, len, 1)?;
                    advance(tx, &env.space, &env.author, env.seq)?;
                    InsertOutcome::Stored
                } else {
                    let held = tx.query_opt(&existing, &[&space, &author, &sql_int(env.seq)])?;
                    match held {
                        Some(row) if row.get::<_, &[u8]>(0) != env.id.0.as_slice() => {
                            InsertOutcome::Conflict
                        }
                        _ => InsertOutcome::Duplicate,
                    }
                };
                outcomes.push(outcome);
            }
            Ok(outcomes)
        })
    }

    fn usage(
        &self,
        spaces: &[SpaceId],
        authors: &[DeviceId],
        persons: &[PersonId],
    ) -> Result<Usage, StoreError> {
        let mut conn = self.conn()?;
        // One snapshot for every count, as SQLite's single connection gives.
        let mut tx = conn
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let stmt = tx.prepare("SELECT bytes, envelopes FROM usage WHERE scope = $1")?;
        let usage = rows::gather_usage(spaces, authors, persons, |scope| {
            let row = tx.query_opt(&stmt, &[&scope])?;
            Ok(rows::amount_of(row.map(|r| (r.get(0), r.get(1)))))
        })?;
        tx.commit()?;
        Ok(usage)
    }

    fn space_vector(&self, space: &SpaceId) -> Result<VersionVector, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let tops = read_tops(&mut tx, space)?;
        let mut vector = VersionVector::from_contiguous(
            tops.iter()
                .filter(|(_, top)| *top > 0)
                .map(|(a, t)| (*a, *t))
                .collect(),
        );
        let above = tx.prepare(
            "SELECT seq FROM envelopes WHERE space = $1 AND author = $2 AND seq > $3 ORDER BY seq",
        )?;
        for (author, top) in &tops {
            for row in tx.query(
                &above,
                &[&space.0.as_slice(), &author.0.as_slice(), &sql_int(*top)],
            )? {
                vector.insert(*author, from_sql_int(row.get(0))?);
            }
        }
        tx.commit()?;
        Ok(vector)
    }

    fn list_range(
        &self,
        space: &SpaceId,
        author: &DeviceId,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<EnvelopeMeta>, StoreError> {
        let rows = self.conn()?.query(
            "SELECT serial, seq, octet_length(bytes)::BIGINT, kind, pruned FROM envelopes
             WHERE space = $1 AND author = $2 AND seq > $3 AND seq <= $4 ORDER BY seq",
            &[
                &space.0.as_slice(),
                &author.0.as_slice(),
                &sql_int(after),
                &sql_int(up_to),
            ],
        )?;
        rows.iter()
            .map(|r| {
                Ok(EnvelopeMeta {
                    serial: from_sql_int(r.get(0))?,
                    seq: from_sql_int(r.get(1))?,
                    len: from_sql_int(r.get(2))?,
                    kind: Kind::from_byte(u8::try_from(r.get::<_, i16>(3)).unwrap_or(0)),
                    pruned: r.get(4),
                })
            })
            .collect()
    }

    fn load_envelopes(&self, serials: &[u64]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut conn = self.conn()?;
        let stmt = conn.prepare("SELECT bytes FROM envelopes WHERE serial = $1 AND NOT pruned")?;
        let mut out = Vec::with_capacity(serials.len());
        for serial in serials {
            // Gone meanwhile only if its space was erased or it was pruned.
            if let Some(row) = conn.query_opt(&stmt, &[&sql_int(*serial)])? {
                out.push(row.get(0));
            }
        }
        Ok(out)
    }

    fn held_ids(&self, slots: &[Slot]) -> Result<Vec<Option<EnvelopeId>>, StoreError> {
        let mut conn = self.conn()?;
        let stmt =
            conn.prepare("SELECT id FROM envelopes WHERE space = $1 AND author = $2 AND seq = $3")?;
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            let row = conn.query_opt(
                &stmt,
                &[
                    &slot.space.0.as_slice(),
                    &slot.author.0.as_slice(),
                    &sql_int(slot.seq),
                ],
            )?;
            out.push(
                row.map(|r| {
                    EnvelopeId::from_slice(r.get::<_, &[u8]>(0))
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
        let rows = self.conn()?.query(
            "SELECT serial, bytes FROM envelopes
             WHERE space = $1 AND kind = 3 AND serial > $2 ORDER BY serial",
            &[&space.0.as_slice(), &sql_int(after)],
        )?;
        rows.iter()
            .map(|r| Ok((from_sql_int(r.get(0))?, r.get(1))))
            .collect()
    }

    fn put_join_request(
        &self,
        request: &NewJoinRequest<'_>,
        max_per_invite: usize,
        received_at: u64,
    ) -> Result<MailboxOutcome, StoreError> {
        self.write(space_locks([&request.space]), |tx| {
            mailbox::put_join_request(tx, request, max_per_invite, received_at)
        })
    }

    fn join_request_invites(&self, space: &SpaceId) -> Result<Vec<InviteId>, StoreError> {
        mailbox::join_request_invites(&mut *self.conn()?, space)
    }

    fn join_requests(
        &self,
        space: &SpaceId,
        invite: &InviteId,
    ) -> Result<Vec<StoredJoinRequest>, StoreError> {
        mailbox::join_requests(&mut *self.conn()?, space, invite)
    }

    fn delete_join_requests(&self, space: &SpaceId, invite: &InviteId) -> Result<u64, StoreError> {
        Ok(self.conn()?.execute(
            "DELETE FROM join_requests WHERE space = $1 AND invite = $2",
            &[&space.0.as_slice(), &invite.0.as_slice()],
        )?)
    }

    fn put_join_answer(
        &self,
        answer: &NewJoinAnswer<'_>,
        max_per_device: usize,
        max_bytes_per_device: u64,
        received_at: u64,
    ) -> Result<MailboxOutcome, StoreError> {
        let locks = vec![(LOCK_DEVICE, device_key(&answer.device))];
        self.write(locks, |tx| {
            mailbox::put_join_answer(
                tx,
                answer,
                max_per_device,
                max_bytes_per_device,
                received_at,
            )
        })
    }

    fn join_answers(&self, device: &DeviceId) -> Result<Vec<StoredJoinAnswer>, StoreError> {
        mailbox::join_answers(&mut *self.conn()?, device)
    }

    fn snapshots(&self, space: &SpaceId, limit: usize) -> Result<Vec<StoredSnapshot>, StoreError> {
        let rows = self.conn()?.query(
            "SELECT serial, author, seq, octet_length(bytes)::BIGINT, received_at, cover
             FROM envelopes WHERE space = $1 AND kind = $2 AND NOT pruned
             ORDER BY serial DESC LIMIT $3",
            &[&space.0.as_slice(), &SNAPSHOT_KIND, &sql_int(limit as u64)],
        )?;
        rows.iter()
            .map(|r| {
                let raw: Option<&[u8]> = r.get(5);
                let cover = raw
                    .and_then(|c| snapshot::decode_cover_bytes(c).ok())
                    .ok_or(StoreError::Corrupt("stored snapshot cover"))?;
                Ok(StoredSnapshot {
                    serial: from_sql_int(r.get(0))?,
                    author: device_of(r.get::<_, &[u8]>(1))?,
                    seq: from_sql_int(r.get(2))?,
                    len: from_sql_int(r.get(3))?,
                    received_at: from_sql_int(r.get(4))?,
                    cover,
                })
            })
            .collect()
    }

    fn prune_covered(
        &self,
        space: &SpaceId,
        cover: &BTreeMap<DeviceId, u64>,
        keep: u64,
        received_before: u64,
    ) -> Result<u64, StoreError> {
        self.write(space_locks([space]), |tx| {
            let mut n = 0;
            for (author, top) in cover {
                let args: [&(dyn postgres::types::ToSql + Sync); 5] = [
                    &space.0.as_slice(),
                    &author.0.as_slice(),
                    &sql_int(*top),
                    &sql_int(received_before),
                    &sql_int(keep),
                ];
                let freed = tx.query_one(
                    "SELECT coalesce(sum(octet_length(bytes)), 0)::BIGINT, count(*) FROM envelopes
                     WHERE space = $1 AND author = $2 AND seq <= $3 AND received_at < $4
                       AND serial != $5 AND NOT pruned AND kind IN (1, 2)",
                    &args,
                )?;
                let (bytes, count): (i64, i64) = (freed.get(0), freed.get(1));
                if count > 0 {
                    bump_all(tx, space, author, -bytes, -count)?;
                }
                n += tx.execute(
                    "UPDATE envelopes SET bytes = ''::BYTEA, cover = NULL, pruned = TRUE
                     WHERE space = $1 AND author = $2 AND seq <= $3 AND received_at < $4
                       AND serial != $5 AND NOT pruned AND kind IN (1, 2)",
                    &args,
                )?;
            }
            Ok(n)
        })
    }

    fn pruned_floor(&self, space: &SpaceId) -> Result<BTreeMap<DeviceId, u64>, StoreError> {
        let mut conn = self.conn()?;
        let stmt = conn.prepare(
            "SELECT max(seq) FROM envelopes WHERE space = $1 AND author = $2 AND pruned",
        )?;
        let mut out = BTreeMap::new();
        for (author, _) in read_tops(&mut *conn, space)? {
            let top: Option<i64> = conn
                .query_one(&stmt, &[&space.0.as_slice(), &author.0.as_slice()])?
                .get(0);
            if let Some(top) = top {
                out.insert(author, from_sql_int(top)?);
            }
        }
        Ok(out)
    }

    fn erase_space(&self, space: &SpaceId, at: u64) -> Result<u64, StoreError> {
        self.write(space_locks([space]), |tx| {
            let s = space.0.as_slice();
            let gone = tx.query(
                "SELECT author, coalesce(sum(octet_length(bytes)), 0)::BIGINT,
                        count(*) FILTER (WHERE NOT pruned)
                 FROM envelopes WHERE space = $1 AND kind != $2 GROUP BY author",
                &[&s, &MEMBERSHIP_KIND],
            )?;
            for row in &gone {
                let author = device_of(row.get::<_, &[u8]>(0))?;
                bump_all(
                    tx,
                    space,
                    &author,
                    -row.get::<_, i64>(1),
                    -row.get::<_, i64>(2),
                )?;
            }
            let n = tx.execute(
                "DELETE FROM envelopes WHERE space = $1 AND kind != $2",
                &[&s, &MEMBERSHIP_KIND],
            )?;
            // The contiguous tops, counted again from what stays (membership statements).
            tx.execute("DELETE FROM vectors WHERE space = $1", &[&s])?;
            tx.execute(
                "INSERT INTO vectors (space, author, contiguous)
                 SELECT space, author, coalesce(max(CASE WHEN seq = rn THEN seq END), 0)
                 FROM (SELECT space, author, seq,
                              row_number() OVER (PARTITION BY space, author ORDER BY seq) AS rn
                       FROM envelopes WHERE space = $1) AS held
                 GROUP BY space, author",
                &[&s],
            )?;
            tx.execute("DELETE FROM join_requests WHERE space = $1", &[&s])?;
            tx.execute("DELETE FROM join_answers WHERE space = $1", &[&s])?;
            tx.execute("DELETE FROM join_askers WHERE space = $1", &[&s])?;
            tx.execute("DELETE FROM push_readers WHERE space = $1", &[&s])?;
            tx.execute(
                "INSERT INTO erased (space, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&s, &sql_int(at)],
            )?;
            Ok(n)
        })
    }

    fn admit_person(
        &self,
        person: &PersonId,
        until: u64,
        device: &DeviceId,
    ) -> Result<PersonId, StoreError> {
        self.write(Vec::new(), |tx| {
            admitted::admit_person(tx, person, until, device)
        })
    }

    fn set_push_subscription(
        &self,
        device: &DeviceId,
        subscription: Option<&StoredSubscription>,
        now: u64,
    ) -> Result<(), StoreError> {
        push::set_subscription(&mut *self.conn()?, device, subscription, now)
    }

    fn note_readers(&self, device: &DeviceId, spaces: &[SpaceId]) -> Result<(), StoreError> {
        push::note_readers(&mut *self.conn()?, device, spaces)
    }

    fn reads_any(&self, device: &DeviceId) -> Result<bool, StoreError> {
        push::reads_any(&mut *self.conn()?, device)
    }

    fn wake_candidates(
        &self,
        space: &SpaceId,
    ) -> Result<Vec<(DeviceId, StoredSubscription)>, StoreError> {
        push::wake_candidates(&mut *self.conn()?, space)
    }

    fn bind_push_key(&self, public: &[u8]) -> Result<bool, StoreError> {
        push::bind_key(&mut *self.conn()?, public)
    }

    fn push_subscription_counts(
        &self,
        endpoint: &str,
        device: &DeviceId,
    ) -> Result<(u64, u64), StoreError> {
        push::subscription_counts(&mut *self.conn()?, endpoint, device)
    }

    fn forget_push_subscription(
        &self,
        device: &DeviceId,
        endpoint: &str,
    ) -> Result<bool, StoreError> {
        push::forget_subscription(&mut *self.conn()?, device, endpoint)
    }

    fn forget_readers(&self, space: &SpaceId, devices: &[DeviceId]) -> Result<(), StoreError> {
        push::forget_readers(&mut *self.conn()?, space, devices)
    }

    fn admit_device(&self, device: &DeviceId, person: &PersonId) -> Result<PersonId, StoreError> {
        self.write(Vec::new(), |tx| admitted::admit_device(tx, device, person))
    }

    fn admit_space(&self, space: &SpaceId, at: u64, founder: &PersonId) -> Result<(), StoreError> {
        self.write(space_locks([space]), |tx| {
            admitted::admit_space(tx, space, at, founder)
        })
    }

    fn admitted_person(&self, person: &PersonId) -> Result<Option<u64>, StoreError> {
        admitted::person(&mut *self.conn()?, person)
    }

    fn admitted_device(&self, device: &DeviceId) -> Result<Option<PersonId>, StoreError> {
        admitted::device(&mut *self.conn()?, device)
    }

    fn admitted_space(&self, space: &SpaceId) -> Result<Option<PersonId>, StoreError> {
        admitted::space(&mut *self.conn()?, space)
    }

    fn put_erasure(
        &self,
        space: &SpaceId,
        author: &DeviceId,
        statement: &[u8],
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO erasure_statements (space, author, statement) VALUES ($1, $2, $3)
             ON CONFLICT (space, author) DO NOTHING",
            &[&space.0.as_slice(), &author.0.as_slice(), &statement],
        )?;
        Ok(())
    }

    fn erasures(&self, space: &SpaceId) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = self.conn()?.query(
            "SELECT statement FROM erasure_statements WHERE space = $1 ORDER BY author",
            &[&space.0.as_slice()],
        )?;
        rows.iter()
            .map(|r| r.try_get::<_, Vec<u8>>(0).map_err(StoreError::from))
            .collect()
    }

    fn erased(&self, spaces: &[SpaceId]) -> Result<Vec<SpaceId>, StoreError> {
        let mut conn = self.conn()?;
        let stmt = conn.prepare("SELECT 1 FROM erased WHERE space = $1")?;
        let mut out = Vec::new();
        for s in spaces {
            if conn.query_opt(&stmt, &[&s.0.as_slice()])?.is_some() {
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
        Ok(self.conn()?.execute(
            "DELETE FROM join_answers WHERE device = $1 AND space = $2 AND invite = $3",
            &[
                &device.0.as_slice(),
                &space.0.as_slice(),
                &invite.0.as_slice(),
            ],
        )?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::store::testing::PgSchema;

    #[test]
    fn open_creates_the_schema_once_and_keeps_the_relay_id() {
        let Some(schema) = PgSchema::new() else {
            return;
        };
        // Two nodes starting at once on an empty database: one makes the schema, both read one id.
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| schema.store());
            let b = s.spawn(|| schema.store());
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!(a.relay_id(), b.relay_id());
        let m = PostgresStore::migrate(schema.url()).unwrap();
        assert_eq!((m.from, m.to), (schema::END_VERSION, schema::END_VERSION));
        a.ping().unwrap();
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let Some(schema) = PgSchema::new() else {
            return;
        };
        let store = schema.store();
        store
            .conn()
            .unwrap()
            .execute("UPDATE schema_version SET version = version + 1", &[])
            .unwrap();
        match PostgresStore::open(schema.url()) {
            Err(StoreError::SchemaTooNew { found, supported }) => {
                assert_eq!((found, supported), (END_VERSION + 1, END_VERSION));
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn a_url_is_checked_and_never_shown() {
        let err = PostgresUrl::parse("mysql://u:secret@h/db").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        let url = PostgresUrl::parse("postgres://u:secret@127.0.0.1:5432/db").unwrap();
        assert!(!format!("{url:?}").contains("secret"));
        assert!(PostgresUrl::parse("postgres://u@h:notaport/db").is_err());
    }

    #[test]
    fn a_database_error_keeps_its_code_and_not_its_detail() {
        let Some(schema) = PgSchema::new() else {
            return;
        };
        let store = schema.store();
        let mut conn = store.conn().unwrap();
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('k', '\\x00c0ffee')",
            &[],
        )
        .unwrap();
        let err: StoreError = conn
            .execute(
                "INSERT INTO meta (key, value) VALUES ('k', '\\x00c0ffee')",
                &[],
            )
            .unwrap_err()
            .into();
        match &err {
            StoreError::Postgres { code, .. } => assert_eq!(code.as_deref(), Some("23505")),
            other => panic!("expected a PostgreSQL error, got {other:?}"),
        }
        // The server's detail names the duplicate key; the error must not.
        assert!(!err.to_string().contains("(k)"), "{err}");
    }
}
