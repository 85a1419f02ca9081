//! `sebaya-relay backup` and `sebaya-relay migrate`: what an operator does to the database file
//! besides serving it.
//!
//! A backup uses SQLite's online backup API, so it may run while a relay serves the same file (WAL
//! mode lets it read beside the relay's writes) and the copy is one consistent moment of it. The copy
//! is then vacuumed: pages the live file freed (the envelopes of an erased space, protocol 23) stay in
//! its free list until reused, and a backup must not bring them back to life on another disk. The copy
//! is written beside its target and renamed into place only once whole and checked, so a backup cut
//! short never leaves a file that looks complete.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{DB_FILE_NAME, END_VERSION, SqliteStore};
use crate::error::StoreError;

/// What a finished backup holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupReport {
    /// Envelope rows in the copy (a pruned envelope's row counts; its bytes are gone).
    pub envelopes: u64,
    /// Spaces erased (their markers are in the copy, so they stay erased once restored).
    pub erased_spaces: u64,
    /// Size of the copy in bytes.
    pub bytes: u64,
    /// Schema version of the copy.
    pub schema: u32,
}

/// What `migrate` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migrated {
    /// Schema version found.
    pub from: u32,
    /// Schema version now ([`END_VERSION`]).
    pub to: u32,
}

/// Opens an existing database without creating one: a mistyped data directory is an error here,
/// not a fresh empty relay.
fn open_existing(data_dir: &Path) -> Result<Connection, StoreError> {
    let path = data_dir.join(DB_FILE_NAME);
    if !path.is_file() {
        return Err(StoreError::NoDatabase { path });
    }
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Upgrades the database in `data_dir` to this build's schema and returns the versions before and
/// after. Refuses a directory with no database, and a database of a newer relay.
pub fn migrate(data_dir: &Path) -> Result<Migrated, StoreError> {
    let from = user_version(&open_existing(data_dir)?)?;
    drop(SqliteStore::open(data_dir)?);
    Ok(Migrated {
        from,
        to: END_VERSION,
    })
}

/// Copies the database in `data_dir` to the new file `to`, whether or not a relay is serving it.
/// Refuses to overwrite an existing file.
pub fn backup(data_dir: &Path, to: &Path) -> Result<BackupReport, StoreError> {
    if to.exists() {
        return Err(StoreError::BackupExists {
            path: to.to_path_buf(),
        });
    }
    let source = open_existing(data_dir)?;
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let io = |source: std::io::Error| StoreError::BackupFile {
        path: to.to_path_buf(),
        source,
    };
    match std::fs::remove_file(&partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    let result = copy_to(&source, &partial);
    drop(source);
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&partial, to).map_err(io)?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename is durable once the directory is; some file systems refuse to sync one.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(BackupReport {
        bytes: std::fs::metadata(to).map_err(io)?.len(),
        ..report
    })
}

/// The backup proper, into `partial`: copy, make it stand alone without free pages, check it.
fn copy_to(source: &Connection, partial: &Path) -> Result<BackupReport, StoreError> {
    let mut copy = Connection::open(partial)?;
    {
        let backup = Backup::new(source, &mut copy)?;
        // All pages in one step: one read transaction, so one consistent moment of the source. A
        // writer holding the lock (it never holds it long) is waited out.
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    // A file of its own (no -wal beside it) with only live pages: see the module's note on erasure.
    let _mode: String = copy.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    copy.execute_batch("VACUUM")?;
    let check: String = copy.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(
            "the backup copy failed its integrity check",
        ));
    }
    let count = |sql: &str| -> Result<u64, StoreError> {
        let n: i64 = copy.query_row(sql, [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let report = BackupReport {
        envelopes: count("SELECT count(*) FROM envelopes")?,
        erased_spaces: count("SELECT count(*) FROM erased")?,
        bytes: 0,
        schema: user_version(&copy)?,
    };
    copy.close().map_err(|(_, e)| StoreError::Sqlite(e))?;
    Ok(report)
}
