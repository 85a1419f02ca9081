//! The PostgreSQL store's schema, versioned in table `schema_version` (one row).
//!
//! [`migrate`] is the one place that creates or upgrades it, inside one transaction that first takes
//! an advisory lock: several relay nodes starting at once against an empty database create it once,
//! and the others then find it made. To change the schema, add a step `n -> n+1` in `upgrade_from`
//! and bump [`END_VERSION`]; never edit an existing step.
//!
//! Every table a space's data lives in leads its primary key with the space id (`envelopes`,
//! `vectors`, the three mailbox tables keyed by space or, for answers, by device), so that the schema
//! can later be spread over several database servers by space id (`docs/operations.md`).

use postgres::Transaction;

use crate::error::StoreError;

/// Schema version this build creates and understands (its own line, apart from SQLite's).
pub const END_VERSION: u32 = 3;

/// Key of the advisory lock held while the schema is checked and upgraded (single-key form, so it
/// never meets the two-key locks per space and device).
const MIGRATION_LOCK: i64 = 0x5365_6261_7961_0001;

/// Brings the schema reached by the transaction's connection (its search path) to [`END_VERSION`],
/// making the relay id on first start. Returns the version found (0: none).
pub(super) fn migrate(tx: &mut Transaction<'_>) -> Result<u32, StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let exists: Option<String> = tx
        .query_one("SELECT to_regclass('schema_version')::text", &[])?
        .get(0);
    let found = if exists.is_some() {
        let v: i32 = tx
            .query_opt("SELECT version FROM schema_version", &[])?
            .ok_or(StoreError::Corrupt("schema version missing"))?
            .get(0);
        u32::try_from(v).map_err(|_| StoreError::Corrupt("negative schema version"))?
    } else {
        0
    };
    if found > END_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: END_VERSION,
        });
    }
    for version in found..END_VERSION {
        upgrade_from(tx, version)?;
    }
    if found != END_VERSION {
        let v = i32::try_from(END_VERSION).map_err(|_| StoreError::Corrupt("schema version"))?;
        tx.execute("UPDATE schema_version SET version = $1", &[&v])?;
    }
    Ok(found)
}

/// One explicit schema step from `version` to `version + 1`.
fn upgrade_from(tx: &mut Transaction<'_>, version: u32) -> Result<(), StoreError> {
    match version {
        0 => upgrade_v0_to_v1(tx),
        1 => upgrade_v1_to_v2(tx),
        2 => super::push::upgrade_v2_to_v3(tx),
        _ => Err(StoreError::Corrupt(
            "no migration step from this schema version",
        )),
    }
}

/// v2: the erasure statements of shared spaces (protocol 23.2), as SQLite's schema 10 keeps them:
/// an author's first statement for a space stands.
fn upgrade_v1_to_v2(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    tx.batch_execute(
        "CREATE TABLE erasure_statements (
             space     BYTEA NOT NULL,
             author    BYTEA NOT NULL,
             statement BYTEA NOT NULL,
             PRIMARY KEY (space, author)
         );",
    )?;
    Ok(())
}

/// v1: everything SQLite's schema 9 holds, in PostgreSQL's types. Envelope serials come from one
/// sequence: arrival order per space, since every write to a space holds that space's lock
/// (`postgres.rs`), so a higher serial is never committed before a lower one of the same space.
fn upgrade_v0_to_v1(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    tx.batch_execute(
        "CREATE TABLE schema_version (version INTEGER NOT NULL);
         INSERT INTO schema_version (version) VALUES (0);
         CREATE TABLE meta (
             key   TEXT PRIMARY KEY,
             value BYTEA NOT NULL
         );
         CREATE SEQUENCE envelope_serial;
         CREATE TABLE envelopes (
             space       BYTEA NOT NULL,
             author      BYTEA NOT NULL,
             seq         BIGINT NOT NULL,
             serial      BIGINT NOT NULL,
             id          BYTEA NOT NULL,
             bytes       BYTEA NOT NULL,
             received_at BIGINT NOT NULL,
             kind        SMALLINT NOT NULL,
             pruned      BOOLEAN NOT NULL DEFAULT FALSE,
             cover       BYTEA,
             PRIMARY KEY (space, author, seq)
         );
         CREATE INDEX envelopes_by_serial ON envelopes (serial);
         CREATE INDEX envelopes_membership ON envelopes (space, serial) WHERE kind = 3;
         CREATE INDEX envelopes_snapshot ON envelopes (space, serial) WHERE kind = 2;
         CREATE INDEX envelopes_pruned ON envelopes (space, author, seq) WHERE pruned;
         CREATE TABLE vectors (
             space      BYTEA NOT NULL,
             author     BYTEA NOT NULL,
             contiguous BIGINT NOT NULL,
             PRIMARY KEY (space, author)
         );
         CREATE TABLE seen_requests (
             device     BYTEA NOT NULL,
             request_id BYTEA NOT NULL,
             ts         BIGINT NOT NULL,
             PRIMARY KEY (device, request_id)
         );
         CREATE INDEX seen_requests_by_ts ON seen_requests (ts);
         CREATE SEQUENCE mailbox_serial;
         CREATE TABLE join_requests (
             space       BYTEA NOT NULL,
             invite      BYTEA NOT NULL,
             hash        BYTEA NOT NULL,
             serial      BIGINT NOT NULL DEFAULT nextval('mailbox_serial'),
             device      BYTEA NOT NULL,
             body        BYTEA NOT NULL,
             received_at BIGINT NOT NULL,
             PRIMARY KEY (space, invite, hash)
         );
         CREATE INDEX join_requests_by_received ON join_requests (received_at);
         CREATE TABLE join_answers (
             device      BYTEA NOT NULL,
             space       BYTEA NOT NULL,
             invite      BYTEA NOT NULL,
             serial      BIGINT NOT NULL DEFAULT nextval('mailbox_serial'),
             body        BYTEA NOT NULL,
             received_at BIGINT NOT NULL,
             PRIMARY KEY (device, space, invite)
         );
         CREATE INDEX join_answers_by_received ON join_answers (received_at);
         CREATE INDEX join_answers_by_space ON join_answers (space);
         CREATE TABLE join_askers (
             space    BYTEA NOT NULL,
             invite   BYTEA NOT NULL,
             device   BYTEA NOT NULL,
             asked_at BIGINT NOT NULL,
             PRIMARY KEY (space, invite, device)
         );
         CREATE INDEX join_askers_by_asked ON join_askers (asked_at);
         CREATE TABLE erased (
             space     BYTEA PRIMARY KEY,
             erased_at BIGINT NOT NULL
         );
         CREATE TABLE usage (
             scope     BYTEA PRIMARY KEY,
             bytes     BIGINT NOT NULL,
             envelopes BIGINT NOT NULL
         );
         CREATE TABLE admitted_persons (
             person BYTEA PRIMARY KEY,
             until  BIGINT NOT NULL
         );
         CREATE TABLE admitted_devices (
             device BYTEA PRIMARY KEY,
             person BYTEA NOT NULL
         );
         CREATE TABLE admitted_spaces (
             space   BYTEA PRIMARY KEY,
             at      BIGINT NOT NULL,
             founder BYTEA NOT NULL
         );",
    )?;
    let mut id = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id)
        .map_err(|_| StoreError::Random)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('relay_id', $1)",
        &[&id.as_slice()],
    )?;
    Ok(())
}
