//! The vault: one SQLite file per device, every value sealed under a random data key that the
//! platform's master key (Android Keystore / iOS Keychain, or a passphrase) wraps.
//!
//! Opening performs I/O and must not run on a UI thread. A wrong master key is detected before
//! anything is written: the file is left exactly as it was.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use zeroize::Zeroizing;

use crate::crypto::{self, Key32};
use crate::error::{Error, Result};
use crate::store::schema;

const LABEL_KEK: &[u8] = b"sebaya/v1/vault-kek";
const LABEL_VALUE: &[u8] = b"sebaya/v1/vault-value";
const LABEL_MAC: &[u8] = b"sebaya/v1/vault-lookup";
const WRAPPED_KEY: &str = "wrapped-data-key";

/// The open store: the SQLite connection plus the keys that seal and address its values.
pub struct Store {
    pub(crate) conn: Connection,
    value_key: Key32,
    mac_key: Key32,
}

impl Store {
    /// Opens (or creates) the vault file at `path` with the 32-byte master key.
    pub fn open(path: &Path, master_key: &[u8; 32]) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let kek = crypto::derive(master_key, LABEL_KEK)?;
        let data_key = if schema::is_empty(&conn)? {
            None
        } else {
            let v = schema::version(&conn)?;
            if v > schema::END_VERSION {
                return Err(Error::SchemaTooNew {
                    found: v,
                    supported: schema::END_VERSION,
                });
            }
            let wrapped: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT value FROM meta WHERE name = ?1",
                    [WRAPPED_KEY],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|_| Error::Corrupt("vault header"))?;
            let wrapped = wrapped.ok_or(Error::Corrupt("vault header"))?;
            let dk = crypto::open_value(&kek, WRAPPED_KEY.as_bytes(), &wrapped, "data key")
                .map_err(|_| Error::WrongKey)?;
            let arr: [u8; 32] = dk
                .as_slice()
                .try_into()
                .map_err(|_| Error::Corrupt("data key"))?;
            Some(Zeroizing::new(arr))
        };
        let mut conn = conn;
        // Only now, with the key verified (or a new file), may anything be written.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL for everyday writes (a power loss may undo the last few); a transaction that takes a
        // sequence number commits with FULL (`Store::durable_transaction`), which also makes everything
        // committed before it durable.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        let tx = conn.transaction()?;
        schema::upgrade(&tx)?;
        let data_key = match data_key {
            Some(k) => k,
            None => {
                let dk = crypto::random_key()?;
                let wrapped = crypto::seal_value(&kek, WRAPPED_KEY.as_bytes(), dk.as_ref())?;
                tx.execute(
                    "INSERT INTO meta (name, value) VALUES (?1, ?2)",
                    params![WRAPPED_KEY, wrapped],
                )?;
                dk
            }
        };
        tx.commit()?;
        Ok(Store {
            conn,
            value_key: crypto::derive(data_key.as_ref(), LABEL_VALUE)?,
            mac_key: crypto::derive(data_key.as_ref(), LABEL_MAC)?,
        })
    }

    /// Keyed hash that replaces a lookup key in `table`.
    pub fn lookup(&self, table: &str, key: &[u8]) -> Vec<u8> {
        crypto::keyed_hash(&self.mac_key, table, key)
    }

    /// Seals a value for its place (`table`, row key).
    pub fn seal(&self, table: &str, row: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        crypto::seal_value(&self.value_key, &aad(table, row), plaintext)
    }

    /// Opens a value sealed for its place.
    pub fn open_value(
        &self,
        table: &'static str,
        row: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        crypto::open_value(&self.value_key, &aad(table, row), sealed, table)
    }

    /// Begins a transaction whose commit is on disk when `commit` returns (`synchronous=FULL` for it:
    /// SQLite syncs the write-ahead log, and with it every transaction committed before). A sequence
    /// number is taken only in one of these, so no envelope of this device's can be sent, and then
    /// lost by a power loss, before it is durable (docs/protocol.md, section 6.1).
    pub(crate) fn durable_transaction(&self) -> Result<DurableTransaction<'_>> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        match self.conn.unchecked_transaction() {
            Ok(tx) => Ok(DurableTransaction {
                tx: Some(tx),
                conn: &self.conn,
            }),
            Err(e) => {
                self.conn.pragma_update(None, "synchronous", "NORMAL")?;
                Err(e.into())
            }
        }
    }

    /// Reads a setting (sealed, under a keyed-hash name).
    pub fn kv_get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let k = self.lookup("kv", name.as_bytes());
        let v: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT v FROM kv WHERE k = ?1", [&k], |r| r.get(0))
            .optional()?;
        v.map(|v| self.open_value("kv", &k, &v)).transpose()
    }

    /// Writes a setting.
    pub fn kv_put(&self, name: &str, value: &[u8]) -> Result<()> {
        let k = self.lookup("kv", name.as_bytes());
        let v = self.seal("kv", &k, value)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)",
            params![k, v],
        )?;
        Ok(())
    }
}

/// A transaction that commits durably (see [`Store::durable_transaction`]); dropped uncommitted, it
/// rolls back. Either way the connection returns to `synchronous=NORMAL`.
pub(crate) struct DurableTransaction<'a> {
    tx: Option<rusqlite::Transaction<'a>>,
    conn: &'a Connection,
}

impl DurableTransaction<'_> {
    /// Commits, and returns once the commit is on disk.
    pub(crate) fn commit(mut self) -> Result<()> {
        if let Some(tx) = self.tx.take() {
            tx.commit()?;
        }
        Ok(())
    }
}

impl Drop for DurableTransaction<'_> {
    fn drop(&mut self) {
        drop(self.tx.take());
        // Failing to lower it again only costs speed, never safety.
        let _ = self.conn.pragma_update(None, "synchronous", "NORMAL");
    }
}

fn aad(table: &str, row: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(table.len() + 1 + row.len());
    a.extend_from_slice(table.as_bytes());
    a.push(0);
    a.extend_from_slice(row);
    a
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn synchronous(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    }

    /// Everyday writes run with NORMAL (1); a durable transaction commits with FULL (2), and the
    /// connection is back to NORMAL after it, committed or not.
    #[test]
    fn a_durable_transaction_commits_with_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("v.db"), &[7; 32]).unwrap();
        assert_eq!(synchronous(&store.conn), 1);
        let tx = store.durable_transaction().unwrap();
        assert_eq!(synchronous(&store.conn), 2);
        store.kv_put("x", b"1").unwrap();
        tx.commit().unwrap();
        assert_eq!(synchronous(&store.conn), 1);
        assert_eq!(store.kv_get("x").unwrap().unwrap().as_slice(), b"1");
        let tx = store.durable_transaction().unwrap();
        store.kv_put("x", b"2").unwrap();
        drop(tx);
        assert_eq!(synchronous(&store.conn), 1);
        assert_eq!(store.kv_get("x").unwrap().unwrap().as_slice(), b"1");
    }
}
