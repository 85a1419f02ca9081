//! Errors of the relay.
//!
//! Two layers, as everywhere in Sebaya: [`StoreError`] is what storage reports (rich enough for an
//! operator to act on), [`RelayError`] is what starting and running the relay reports to the binary or an
//! embedding program. Neither ever carries request or envelope content: at most a path, an address or a
//! database message. What a *client* is told lives in `api.rs` and is a fixed code plus a fixed English
//! sentence.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the store could not answer. Every variant means the operation changed nothing that a later
/// successful operation relies on: writes happen in transactions that either commit whole or not at all.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed (disk full, I/O error, locked database, constraint...).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed (`--database postgres://…`). Only the SQLSTATE code and the
    /// server's one-line message are kept: its detail and hint may quote stored values (a duplicate
    /// key's bytes), and a client error's text never reaches a device anyway (`api.rs`).
    #[error("PostgreSQL error: {message}{}", code.as_ref().map(|c| format!(" (SQLSTATE {c})")).unwrap_or_default())]
    Postgres {
        /// The SQLSTATE code, when the server answered (`40001`: serialisation failure).
        code: Option<String>,
        /// What went wrong, without detail or hint.
        message: String,
    },
    /// The `--database` setting is not a PostgreSQL URL this relay can use. The URL is never
    /// repeated: it may hold a password.
    #[error("the database URL could not be read: {0}")]
    DatabaseUrl(&'static str),
    /// `backup` was asked of a PostgreSQL store: PostgreSQL's own tools back it up.
    #[error(
        "sebaya-relay backup copies the SQLite store only; back PostgreSQL up with pg_dump or pg_basebackup"
    )]
    BackupNotSqlite,
    /// `copy-to-postgres` found data in the target database: a copy never mixes two relays.
    #[error("the PostgreSQL database holds relay data already; copy only into an empty one")]
    TargetNotEmpty,
    /// The data directory could not be created or read.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The database was written by a newer relay; opening it could damage it, so we refuse.
    #[error("database schema version {found} is newer than this relay understands ({supported})")]
    SchemaTooNew {
        /// `PRAGMA user_version` found on disk.
        found: u32,
        /// The newest version this build can migrate to.
        supported: u32,
    },
    /// Stored data contradicts the schema's own rules (e.g. a relay id of the wrong length).
    #[error("store is inconsistent: {0}")]
    Corrupt(&'static str),
    /// `migrate` or `backup` found no database where it looked.
    #[error("no relay database at {path}")]
    NoDatabase {
        /// Where it looked.
        path: PathBuf,
    },
    /// `backup` would overwrite a file: it never does.
    #[error("{path} exists already; a backup never overwrites a file")]
    BackupExists {
        /// The target.
        path: PathBuf,
    },
    /// The backup copy could not be written, synced or renamed into place.
    #[error("backup file {path}: {source}")]
    BackupFile {
        /// The target.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The system's random generator failed while making the relay id.
    #[error("no randomness available to make the relay id or a node id")]
    Random,
}

/// Why the relay could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Opening or migrating the store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The listening socket could not be bound (address in use, no permission...).
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The async runtime or the relay's thread could not be created.
    #[error("could not start the relay runtime: {0}")]
    Runtime(std::io::Error),
    /// The HTTP server failed while running.
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
    /// The relay's background thread ended by panicking (a bug; reported instead of propagated).
    #[error("the relay thread panicked")]
    ThreadPanicked,
}
