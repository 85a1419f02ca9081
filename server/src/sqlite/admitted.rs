//! What the relay admitted (issue 15, item 2; `crate::admission`), as SQLite keeps it: schema step
//! v7 -> v8 and the statements behind the store's admission methods. Three small tables, one row per
//! admitted person, device and space, so nothing here grows with what is stored.

use rusqlite::{Connection, OptionalExtension, params};
use sebaya_proto::{DeviceId, PersonId, SpaceId};

use crate::error::StoreError;

use super::{from_sql_int, sql_int};

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
             space BLOB PRIMARY KEY,
             at    INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;",
    )?;
    Ok(())
}

/// Notes `person` admitted until `until` (a later end wins over an earlier one) with `device`.
pub(super) fn admit_person(
    conn: &mut Connection,
    person: &PersonId,
    until: u64,
    device: &DeviceId,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO admitted_persons (person, until) VALUES (?1, ?2)
         ON CONFLICT (person) DO UPDATE SET until = max(until, excluded.until)",
        params![person.0.as_slice(), sql_int(until)],
    )?;
    admit_device_in(&tx, device, person)?;
    tx.commit()?;
    Ok(())
}

/// Notes `device` as a device of `person`.
pub(super) fn admit_device(
    conn: &Connection,
    device: &DeviceId,
    person: &PersonId,
) -> Result<(), StoreError> {
    admit_device_in(conn, device, person)
}

fn admit_device_in(
    conn: &Connection,
    device: &DeviceId,
    person: &PersonId,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO admitted_devices (device, person) VALUES (?1, ?2)
         ON CONFLICT (device) DO UPDATE SET person = excluded.person",
    )?
    .execute(params![device.0.as_slice(), person.0.as_slice()])?;
    Ok(())
}

/// Notes `space` admitted from `at`; a space noted already keeps its first time.
pub(super) fn admit_space(conn: &Connection, space: &SpaceId, at: u64) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR IGNORE INTO admitted_spaces (space, at) VALUES (?1, ?2)")?
        .execute(params![space.0.as_slice(), sql_int(at)])?;
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

/// Whether `space` is admitted.
pub(super) fn space(conn: &Connection, space: &SpaceId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM admitted_spaces WHERE space = ?1")?
        .query_row(params![space.0.as_slice()], |_| Ok(()))
        .optional()?
        .is_some())
}
