//! What the relay admitted (issue 15, item 2; `crate::admission`), as SQLite keeps it: schema step
//! v7 -> v8 and the statements behind the store's admission methods. Three small tables, one row per
//! admitted person, device and space, so nothing here grows with what is stored; and two usage
//! counts they feed (table `usage`): per admitted person (`p` + person id: what its admitted devices
//! stored from their admission on), per founding person (`f` + person id: what the spaces its devices
//! founded hold, from their admission on), and for the admitted spaces together (`A`).

use rusqlite::{Connection, OptionalExtension, params};
use sebaya_proto::{DeviceId, PersonId, SpaceId};

use crate::error::StoreError;

use super::{from_sql_int, scope, sql_int};

/// v8: admitted persons (until when), their devices, and admitted spaces.
pub(super) fn upgrade_v7_to_v8(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE admitted_persons (
             person BLOB PRIMARY KEY,
             until  INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;
         CREATE TABLE admitted_devices (
             device BLOB PRIMARY KEY,
             person BLOB NOT NULL
         ) STRICT, WITHOUT ROWID;
         CREATE TABLE admitted_spaces (
             space   BLOB PRIMARY KEY,
             at      INTEGER NOT NULL,
             founder BLOB NOT NULL
         ) STRICT, WITHOUT ROWID;",
    )?;
    Ok(())
}

/// Notes `person` admitted until `until` (a later end wins over an earlier one) with `device`;
/// returns the device's person as stored.
pub(super) fn admit_person(
    conn: &mut Connection,
    person: &PersonId,
    until: u64,
    device: &DeviceId,
) -> Result<PersonId, StoreError> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO admitted_persons (person, until) VALUES (?1, ?2)
         ON CONFLICT (person) DO UPDATE SET until = max(until, excluded.until)",
        params![person.0.as_slice(), sql_int(until)],
    )?;
    let kept = admit_device_in(&tx, device, person)?;
    tx.commit()?;
    Ok(kept)
}

/// Notes `device` as a device of `person` (a device noted already keeps its first person); returns
/// the device's person as stored.
pub(super) fn admit_device(
    conn: &Connection,
    device: &DeviceId,
    person: &PersonId,
) -> Result<PersonId, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let kept = admit_device_in(&tx, device, person)?;
    tx.commit()?;
    Ok(kept)
}

/// From its admission on, what the device stored counts for its person too, what it held before
/// included.
fn admit_device_in(
    conn: &Connection,
    device: &DeviceId,
    person: &PersonId,
) -> Result<PersonId, StoreError> {
    let new = conn
        .prepare_cached("INSERT OR IGNORE INTO admitted_devices (device, person) VALUES (?1, ?2)")?
        .execute(params![device.0.as_slice(), person.0.as_slice()])?;
    if new == 1 {
        add_usage(conn, &scope(b'p', &person.0), &scope(b'a', &device.0))?;
        return Ok(*person);
    }
    self::device(conn, device)?.ok_or(StoreError::Corrupt("an admitted device without its person"))
}

/// Notes `space` admitted from `at`, founded by `founder`'s device: its bytes count as admitted,
/// and for what `founder`'s spaces hold (`f` + person), from then on; a space noted already keeps its
/// first time and founder.
pub(super) fn admit_space(
    conn: &Connection,
    space: &SpaceId,
    at: u64,
    founder: &PersonId,
) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    let new = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO admitted_spaces (space, at, founder) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![
            space.0.as_slice(),
            sql_int(at),
            founder.0.as_slice()
        ])?;
    if new == 1 {
        add_usage(&tx, &scope(b'A', &[]), &scope(b's', &space.0))?;
        add_usage(&tx, &scope(b'f', &founder.0), &scope(b's', &space.0))?;
    }
    tx.commit()?;
    Ok(())
}

/// Adds what usage scope `from` holds to scope `to`.
fn add_usage(conn: &Connection, to: &[u8], from: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO usage (scope, bytes, envelopes)
             SELECT ?1, bytes, envelopes FROM usage WHERE scope = ?2
         ON CONFLICT (scope) DO UPDATE SET bytes = bytes + excluded.bytes,
             envelopes = envelopes + excluded.envelopes",
    )?
    .execute(params![to, from])?;
    Ok(())
}

/// With every change to what is stored (inside the caller's transaction): the author's person's
/// count, if the author is an admitted device, and the admitted spaces' count, if the space is one.
pub(super) fn bump_admitted(
    tx: &rusqlite::Transaction<'_>,
    space: &SpaceId,
    author: &DeviceId,
    bytes: i64,
    envelopes: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO usage (scope, bytes, envelopes)
             SELECT CAST(x'70' || person AS BLOB), ?2, ?3 FROM admitted_devices WHERE device = ?1
         ON CONFLICT (scope) DO UPDATE SET bytes = max(0, bytes + excluded.bytes),
             envelopes = max(0, envelopes + excluded.envelopes)",
    )?
    .execute(params![author.0.as_slice(), bytes, envelopes])?;
    tx.prepare_cached(
        "INSERT INTO usage (scope, bytes, envelopes)
             SELECT x'41', ?2, ?3 WHERE EXISTS (SELECT 1 FROM admitted_spaces WHERE space = ?1)
         ON CONFLICT (scope) DO UPDATE SET bytes = max(0, bytes + excluded.bytes),
             envelopes = max(0, envelopes + excluded.envelopes)",
    )?
    .execute(params![space.0.as_slice(), bytes, envelopes])?;
    tx.prepare_cached(
        "INSERT INTO usage (scope, bytes, envelopes)
             SELECT CAST(x'66' || founder AS BLOB), ?2, ?3 FROM admitted_spaces WHERE space = ?1
         ON CONFLICT (scope) DO UPDATE SET bytes = max(0, bytes + excluded.bytes),
             envelopes = max(0, envelopes + excluded.envelopes)",
    )?
    .execute(params![space.0.as_slice(), bytes, envelopes])?;
    Ok(())
}

/// Until when `person` is admitted, if ever.
pub(super) fn person(conn: &Connection, person: &PersonId) -> Result<Option<u64>, StoreError> {
    let until: Option<i64> = conn
        .prepare_cached("SELECT until FROM admitted_persons WHERE person = ?1")?
        .query_row(params![person.0.as_slice()], |r| r.get(0))
        .optional()?;
    until.map(from_sql_int).transpose()
}

/// The person of an admitted device.
pub(super) fn device(conn: &Connection, device: &DeviceId) -> Result<Option<PersonId>, StoreError> {
    let person: Option<Vec<u8>> = conn
        .prepare_cached("SELECT person FROM admitted_devices WHERE device = ?1")?
        .query_row(params![device.0.as_slice()], |r| r.get(0))
        .optional()?;
    person
        .map(|p| PersonId::from_slice(&p).map_err(|_| StoreError::Corrupt("an admitted person id")))
        .transpose()
}

/// The person whose device founded `space`, if it is admitted.
pub(super) fn space(conn: &Connection, space: &SpaceId) -> Result<Option<PersonId>, StoreError> {
    let founder: Option<Vec<u8>> = conn
        .prepare_cached("SELECT founder FROM admitted_spaces WHERE space = ?1")?
        .query_row(params![space.0.as_slice()], |r| r.get(0))
        .optional()?;
    founder
        .map(|p| PersonId::from_slice(&p).map_err(|_| StoreError::Corrupt("a founder's person id")))
        .transpose()
}
