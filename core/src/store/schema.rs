//! The vault's on-disk schema and its migrations: one initializer, explicit numbered steps.
//!
//! Every value column holds a sealed `{version, nonce, ciphertext}` blob; every lookup column holds a
//! keyed hash. The layout is specified in `docs/protocol.md` ("Vault schema").

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The schema version this build writes. Opening a newer file is refused; older ones are migrated.
pub const END_VERSION: i64 = 3;

/// Reads the file's schema version without writing anything.
pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Whether the file is a brand-new, empty database (no tables at all).
pub fn is_empty(conn: &Connection) -> Result<bool> {
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    Ok(n == 0)
}

/// Brings the schema from its current version to [`END_VERSION`], one step at a time, in one
/// transaction the caller commits. Called only after the master key has been verified (or for a new vault).
pub fn upgrade(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    let from = version(tx)?;
    if from > END_VERSION {
        return Err(Error::SchemaTooNew {
            found: from,
            supported: END_VERSION,
        });
    }
    if from == END_VERSION {
        return Ok(());
    }
    let mut v = from;
    while v < END_VERSION {
        match v {
            0 => step_0_to_1(tx)?,
            1 => step_1_to_2(tx)?,
            2 => step_2_to_3(tx)?,
            _ => return Err(Error::Internal("missing migration step")),
        }
        v += 1;
    }
    tx.pragma_update(None, "user_version", END_VERSION)?;
    Ok(())
}

fn step_0_to_1(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "
        -- name -> value; holds the wrapped data key (itself sealed by the master key).
        CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
        -- keyed hash of a setting name -> sealed value (device identity, the journal's space id).
        CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL);
        -- keyed hash of a space id -> sealed space record (keys, counters, vectors).
        CREATE TABLE spaces (k BLOB PRIMARY KEY, v BLOB NOT NULL);
        -- sealed Automerge save() / save_after(persisted heads) chunks of each space, in order.
        CREATE TABLE doc_chunks (n INTEGER PRIMARY KEY AUTOINCREMENT, space BLOB NOT NULL, v BLOB NOT NULL);
        CREATE INDEX doc_chunks_by_space ON doc_chunks (space, n);
        -- every envelope held, sealed again under the vault key; k = keyed hash of (space, author, seq).
        -- state: 0 waiting to apply, 1 applied, 2 quarantined (3 held apart, from version 3).
        CREATE TABLE envelopes (
            k BLOB PRIMARY KEY,
            n INTEGER NOT NULL UNIQUE,
            space BLOB NOT NULL,
            state INTEGER NOT NULL,
            v BLOB NOT NULL
        );
        CREATE INDEX envelopes_by_state ON envelopes (space, state, n);
        ",
    )?;
    Ok(())
}

/// Version 2: membership statements of each space, kept apart from the other envelopes so a space's
/// log can be rebuilt on open without decrypting every envelope.
fn step_1_to_2(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "
        -- keyed hash of (space, statement id) -> the sealed membership envelope that carries it.
        CREATE TABLE membership (k BLOB PRIMARY KEY, space BLOB NOT NULL, v BLOB NOT NULL);
        CREATE INDEX membership_by_space ON membership (space);
        ",
    )?;
    Ok(())
}

/// Version 3: an envelope's state may be 3, held apart (its author not admitted by the space's log;
/// `space/apart.rs`). No table changes: the number moves so that a build which does not know the
/// state (and would take such a row's key for a stored envelope) refuses the file instead.
fn step_2_to_3(_tx: &rusqlite::Transaction<'_>) -> Result<()> {
    Ok(())
}
