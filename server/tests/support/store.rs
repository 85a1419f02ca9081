//! Which store the HTTP tests' relays run on: SQLite in their data directory (the default), or,
//! with `SEBAYA_TEST_RELAY_STORE=postgres`, a schema of the `SEBAYA_TEST_POSTGRES` database named
//! after that directory, so that a relay restarted on the same directory finds its data again.
//! `scripts/test.sh rust` runs these tests both ways.

use std::net::SocketAddr;
use std::path::Path;

use sebaya_relay::{Database, PostgresUrl, RelayHandle, RelayState, RelayStore};

/// Set to `postgres` to run the relays on PostgreSQL.
pub const STORE_ENV: &str = "SEBAYA_TEST_RELAY_STORE";
/// The PostgreSQL database (a `postgres://` URL) the schemas are made in.
pub const POSTGRES_ENV: &str = "SEBAYA_TEST_POSTGRES";

/// Whether the relays of this run use PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(STORE_ENV).is_ok_and(|v| v == "postgres")
}

/// The store of a relay whose data directory is `dir`.
pub fn database(dir: &Path) -> Database {
    if !on_postgres() {
        return Database::Sqlite(dir.to_path_buf());
    }
    let admin = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!("{STORE_ENV}=postgres needs {POSTGRES_ENV} (a postgres:// URL)")
    });
    let digest = ring::digest::digest(&ring::digest::SHA256, dir.as_os_str().as_encoded_bytes());
    let name = format!("h_{}", hex::encode(&digest.as_ref()[..8]));
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL refused: {e}"));
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {name}"))
        .unwrap();
    let sep = if admin.contains('?') { '&' } else { '?' };
    Database::Postgres(
        PostgresUrl::parse(&format!("{admin}{sep}options=-csearch_path%3D{name}")).unwrap(),
    )
}

/// A relay on `dir`'s store, listening on `bind`.
pub fn spawn_relay(dir: &Path, bind: SocketAddr) -> RelayHandle {
    sebaya_relay::spawn_state(RelayState::open_database(&database(dir)).unwrap(), bind).unwrap()
}

/// `dir`'s store opened directly (the relay on it stopped, or not).
pub fn open_store(dir: &Path) -> std::sync::Arc<dyn RelayStore> {
    database(dir).open().unwrap()
}

/// A fresh schema of the test database, as a `--database` URL for relay processes, or `None`
/// (saying so on stderr, past the harness's capture) when `SEBAYA_TEST_POSTGRES` is unset.
pub fn fresh_postgres_url() -> Option<String> {
    use std::io::Write;
    let Some(admin) = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) else {
        let _ = writeln!(
            std::io::stderr(),
            "PostgreSQL skipped: {POSTGRES_ENV} is not set (scripts/test.sh rust sets it)"
        );
        return None;
    };
    let mut id = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).unwrap();
    let name = format!("n_{}", hex::encode(id));
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL refused: {e}"));
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .unwrap();
    let sep = if admin.contains('?') { '&' } else { '?' };
    Some(format!("{admin}{sep}options=-csearch_path%3D{name}"))
}
