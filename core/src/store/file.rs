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
        Store::open_with(path, master_key, || {
            Ok((crypto::random_key()?, crypto::random()?))
        })
    }

    /// [`Store::open`] with the data key and the nonce that seals it given (`fresh` is called only
    /// when the file is new): the one code path behind `open`, and the one the test vectors fix
    /// (docs/protocol.md, section 16.8).
    pub(crate) fn open_with(
        path: &Path,
        master_key: &[u8; 32],
        fresh: impl FnOnce() -> Result<(Key32, [u8; 12])>,
    ) -> Result<Store> {
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
                let (dk, nonce) = fresh()?;
                let wrapped =
                    crypto::seal_value_with(&kek, nonce, WRAPPED_KEY.as_bytes(), dk.as_ref())?;
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
        self.seal_with(crypto::random()?, table, row, plaintext)
    }

    /// [`Store::seal`] with the nonce given: the one code path behind `seal`, and the one the test
    /// vectors fix.
    pub(crate) fn seal_with(
        &self,
        nonce: [u8; 12],
        table: &str,
        row: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        crypto::seal_value_with(&self.value_key, nonce, &aad(table, row), plaintext)
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

    // The vault's test vector (docs/protocol.md, section 16.8).
    const MASTER_KEY: [u8; 32] = [0xa1; 32];
    const DATA_KEY: [u8; 32] = [0xa2; 32];
    const WRAP_NONCE: [u8; 12] = [0xa3; 12];
    const VALUE_NONCE: [u8; 12] = [0xa4; 12];
    const KEK_HEX: &str = "9e79096f165e9d0fa60e4bc85b5969c5950d92b6cf25a65b62c69950c4fbf968";
    const WRAPPED_HEX: &str = concat!(
        "01a3a3a3a3a3a3a3a3a3a3a3a382aafaa4f6897eb2a519a978aac5150a75db48",
        "f52e8f2b4a0d914da3c8d050b344a068e4b52c5b3c3022ee2f4b0c914f",
    );
    const VALUE_KEY_HEX: &str = "42ab28fa1d241b53c707770eff0fbf3a71d19597228ec422140a83baafa5a81b";
    const LOOKUP_KEY_HEX: &str = "09089b49ac92bd5a80f537ff4fc995f39ea2a5453f84c40f583aa791bb960e45";
    const ROW_HEX: &str = "d86b08d3d11a9ca576a00750bee004e58fd0bdd67143e4b46e4c899375108cf1";
    const SEALED_HEX: &str = "01a4a4a4a4a4a4a4a4a4a4a4a4605c333c661794d66d9db718f5f6554e486b";

    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
        ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), data)
            .as_ref()
            .to_vec()
    }

    /// HKDF-SHA256 with an empty salt and one output block, by hand (RFC 5869).
    fn hkdf_by_hand(ikm: &[u8], info: &[u8]) -> Vec<u8> {
        hmac(&hmac(&[], ikm), &[info, &[1u8]].concat())
    }

    /// The vector runs through `Store::open` (by `open_with`, the data key and its nonce fixed) and
    /// `seal` (by `seal_with`); every value is also computed here from the document's text, and the
    /// hex must appear in docs/protocol.md.
    #[test]
    fn the_vault_vector_is_byte_exact_and_documented() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let store = Store::open_with(&path, &MASTER_KEY, || {
            Ok((Zeroizing::new(DATA_KEY), WRAP_NONCE))
        })
        .unwrap();
        let wrapped: Vec<u8> = store
            .conn
            .query_row(
                "SELECT value FROM meta WHERE name = ?1",
                [WRAPPED_KEY],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hex::encode(&wrapped), WRAPPED_HEX);
        assert_eq!(hex::encode(store.value_key.as_ref()), VALUE_KEY_HEX);
        assert_eq!(hex::encode(store.mac_key.as_ref()), LOOKUP_KEY_HEX);
        let row = store.lookup("kv", b"locale");
        assert_eq!(hex::encode(&row), ROW_HEX);
        let sealed = store.seal_with(VALUE_NONCE, "kv", &row, b"sw").unwrap();
        assert_eq!(hex::encode(&sealed), SEALED_HEX);
        assert_eq!(
            store.open_value("kv", &row, &sealed).unwrap().as_slice(),
            b"sw"
        );

        // By hand, from the text of 16.8.
        let kek = hkdf_by_hand(&MASTER_KEY, b"sebaya/v1/vault-kek");
        assert_eq!(hex::encode(&kek), KEK_HEX);
        let value_key = hkdf_by_hand(&DATA_KEY, b"sebaya/v1/vault-value");
        assert_eq!(hex::encode(&value_key), VALUE_KEY_HEX);
        let lookup_key = hkdf_by_hand(&DATA_KEY, b"sebaya/v1/vault-lookup");
        assert_eq!(hex::encode(&lookup_key), LOOKUP_KEY_HEX);
        assert_eq!(hex::encode(hmac(&lookup_key, b"kv\x00locale")), ROW_HEX);
        let seal_by_hand = |key: &[u8], nonce: [u8; 12], ad: &[u8], plain: &[u8]| {
            let k = ring::aead::LessSafeKey::new(
                ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, key).unwrap(),
            );
            let mut buf = plain.to_vec();
            k.seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(ad),
                &mut buf,
            )
            .unwrap();
            [&[1u8][..], &nonce, &buf].concat()
        };
        assert_eq!(
            seal_by_hand(&kek, WRAP_NONCE, b"wrapped-data-key", &DATA_KEY),
            wrapped
        );
        let ad = [&b"kv\x00"[..], &row].concat();
        assert_eq!(seal_by_hand(&value_key, VALUE_NONCE, &ad, b"sw"), sealed);

        // The file opens again with the master key through the ordinary path, with the same keys.
        drop(store);
        let again = Store::open(&path, &MASTER_KEY).unwrap();
        assert_eq!(hex::encode(again.lookup("kv", b"locale")), ROW_HEX);
        assert_eq!(
            again.open_value("kv", &row, &sealed).unwrap().as_slice(),
            b"sw"
        );

        let doc = include_str!("../../../docs/protocol.md").replace(['\n', ' '], "");
        for h in [
            KEK_HEX,
            WRAPPED_HEX,
            VALUE_KEY_HEX,
            LOOKUP_KEY_HEX,
            ROW_HEX,
            SEALED_HEX,
        ] {
            assert!(doc.contains(h), "{h} is not in docs/protocol.md");
        }
    }

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
