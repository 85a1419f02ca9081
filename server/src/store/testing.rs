//! Stores for tests: a fresh SQLite file, or a fresh schema in the PostgreSQL database that
//! `SEBAYA_TEST_POSTGRES` names (so that tests run in parallel without seeing each other's rows).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::Once;

use crate::{PostgresStore, PostgresUrl, SqliteStore};

/// The variable naming the test database (a `postgres://` URL).
pub(crate) const POSTGRES_ENV: &str = "SEBAYA_TEST_POSTGRES";

/// A SQLite store in a fresh temporary directory (kept as long as the pair lives).
pub(crate) fn sqlite() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (dir, store)
}

/// A schema of its own in the test database; dropped with everything in it when this goes.
pub(crate) struct PgSchema {
    admin: String,
    name: String,
    url: PostgresUrl,
}

impl PgSchema {
    /// A fresh schema, or `None` (saying so on stderr, once per test binary) when
    /// `SEBAYA_TEST_POSTGRES` is unset.
    pub(crate) fn new() -> Option<PgSchema> {
        let Some(admin) = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) else {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                // Past the test harness's capture: a skipped store must be visible in the output.
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL skipped: {POSTGRES_ENV} is not set (scripts/test.sh rust sets it)"
                );
            });
            return None;
        };
        let mut id = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).unwrap();
        let name = format!("t_{}", hex::encode(id));
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL refused: {e}"));
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url =
            PostgresUrl::parse(&format!("{admin}{sep}options=-csearch_path%3D{name}")).unwrap();
        Some(PgSchema { admin, name, url })
    }

    /// The URL of the schema (its search path set).
    pub(crate) fn url(&self) -> &PostgresUrl {
        &self.url
    }

    /// A store on the schema.
    pub(crate) fn store(&self) -> PostgresStore {
        PostgresStore::open(&self.url).unwrap()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

/// One test per store for each named check (a `fn(&dyn RelayStore)` in scope): modules `sqlite`
/// and `postgres`, the latter checking nothing (and saying so) without a test database.
macro_rules! contract_tests {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $check() {
                    let (_dir, store) = $crate::store::testing::sqlite();
                    super::$check(&store);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $check() {
                    if let Some(schema) = $crate::store::testing::PgSchema::new() {
                        let store = schema.store();
                        super::$check(&store);
                    }
                }
            )*
        }
    };
}
pub(crate) use contract_tests;
