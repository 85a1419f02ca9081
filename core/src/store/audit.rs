//! Self-checks that what should be ciphertext is ciphertext: used by `sebaya demo`, the test suite,
//! and available to apps for a support screen ("is my data encrypted on this phone?").

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;

/// Automerge's chunk magic: unencrypted Automerge data starts every chunk with it.
pub const AUTOMERGE_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file (or database) where it was found.
    pub file: PathBuf,
    /// What was found (marker index or "automerge-magic in table.column").
    pub what: String,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    crate::order::sort(&mut out);
    out
}

/// An SQLite database file and its write-ahead log and shared-memory files, those that exist: the
/// places a database's bytes can be on disk.
pub fn sqlite_files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", db.display())))
        .filter(|f| f.exists())
        .collect()
}

/// Looks for each marker's bytes (UTF-8) in the raw bytes of every file given (databases, their WAL
/// and shared-memory files included).
pub fn scan_files_for_markers(files: &[PathBuf], markers: &[&str]) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        for (i, m) in markers.iter().enumerate() {
            if contains(&bytes, m.as_bytes()) {
                out.push(Finding {
                    file: f.clone(),
                    what: format!("marker #{i}"),
                });
            }
        }
    }
    out
}

/// Opens an SQLite database read-only and looks inside every BLOB value of every table for
/// Automerge's magic bytes (compressed, unencrypted Automerge data would hide text markers).
pub fn scan_database_blobs(db: &Path) -> Result<Vec<Finding>> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let tables: Vec<String> = {
        let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{}\"", t.replace('"', "")))?;
        let cols = stmt.column_count();
        let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            for c in 0..cols {
                if let Ok(rusqlite::types::ValueRef::Blob(b)) = row.get_ref(c) {
                    if contains(b, &AUTOMERGE_MAGIC) {
                        out.push(Finding {
                            file: db.to_path_buf(),
                            what: format!(
                                "automerge-magic in {t}.{}",
                                names.get(c).map(String::as_str).unwrap_or("?")
                            ),
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}
