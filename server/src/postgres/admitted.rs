//! What the relay admitted (`crate::admission`), as PostgreSQL keeps it: three small tables (one row
//! per admitted person, device and space) and the usage counts they feed: `p` + person (what its
//! admitted devices stored from their admission on), `f` + person (what the spaces its devices founded
//! hold), `A` (the admitted spaces together). Same rules as `sqlite/admitted.rs`.
//!
//! Across nodes, a device's admission and a store by that device are ordered by the row lock on the
//! device's usage count (`a` + device), which both take first: whichever comes second sees the other
//! committed, so the person's count misses nothing. A space's admission holds the space's lock, as
//! every store in the space does.

use postgres::{GenericClient, Transaction};
use sebaya_proto::{DeviceId, PersonId, SpaceId};

use crate::error::StoreError;
use crate::store::rows::{from_sql_int, scope, sql_int};

/// Notes `person` admitted until `until` (a later end wins) with `device`; returns the device's
/// person as stored.
pub(super) fn admit_person(
    tx: &mut Transaction<'_>,
    person: &PersonId,
    until: u64,
    device: &DeviceId,
) -> Result<PersonId, StoreError> {
    tx.execute(
        "INSERT INTO admitted_persons (person, until) VALUES ($1, $2)
         ON CONFLICT (person) DO UPDATE SET until = greatest(admitted_persons.until, excluded.until)",
        &[&person.0.as_slice(), &sql_int(until)],
    )?;
    admit_device(tx, device, person)
}

/// Notes `device` as a device of `person` (a device noted already keeps its first person); from
/// then on what the device stored, what it held before included, counts for the person too.
pub(super) fn admit_device(
    tx: &mut Transaction<'_>,
    device: &DeviceId,
    person: &PersonId,
) -> Result<PersonId, StoreError> {
    let own = scope(b'a', &device.0);
    // Take the device's count row (making it if the device stored nothing yet): a store by the
    // device on another node waits here, or this waits for it (module docs).
    tx.execute(
        "INSERT INTO usage (scope, bytes, envelopes) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING",
        &[&own],
    )?;
    tx.execute("SELECT 1 FROM usage WHERE scope = $1 FOR UPDATE", &[&own])?;
    let new = tx.execute(
        "INSERT INTO admitted_devices (device, person) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&device.0.as_slice(), &person.0.as_slice()],
    )?;
    if new == 1 {
        add_usage(tx, &scope(b'p', &person.0), &own)?;
        return Ok(*person);
    }
    self::device(tx, device)?.ok_or(StoreError::Corrupt("an admitted device without its person"))
}

/// Notes `space` admitted from `at`, founded by `founder`'s device (a space noted already keeps its
/// first time and founder). The caller holds the space's lock.
pub(super) fn admit_space(
    tx: &mut Transaction<'_>,
    space: &SpaceId,
    at: u64,
    founder: &PersonId,
) -> Result<(), StoreError> {
    let new = tx.execute(
        "INSERT INTO admitted_spaces (space, at, founder) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        &[&space.0.as_slice(), &sql_int(at), &founder.0.as_slice()],
    )?;
    if new == 1 {
        add_usage(tx, &scope(b'A', &[]), &scope(b's', &space.0))?;
        add_usage(tx, &scope(b'f', &founder.0), &scope(b's', &space.0))?;
    }
    Ok(())
}

/// Adds what usage count `from` holds to count `to`.
fn add_usage(tx: &mut Transaction<'_>, to: &[u8], from: &[u8]) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO usage (scope, bytes, envelopes)
             SELECT $1::BYTEA, bytes, envelopes FROM usage WHERE scope = $2
         ON CONFLICT (scope) DO UPDATE SET bytes = usage.bytes + excluded.bytes,
             envelopes = usage.envelopes + excluded.envelopes",
        &[&to, &from],
    )?;
    Ok(())
}

/// With every change to what is stored (inside the caller's transaction, after the author's own
/// count): the author's person's count, if the author is an admitted device, and the admitted
/// spaces' and the founder's counts, if the space is admitted.
pub(super) fn bump_admitted(
    tx: &mut Transaction<'_>,
    space: &SpaceId,
    author: &DeviceId,
    bytes: i64,
    envelopes: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO usage (scope, bytes, envelopes)
             SELECT '\\x70'::BYTEA || person, $2::BIGINT, $3::BIGINT
             FROM admitted_devices WHERE device = $1
         ON CONFLICT (scope) DO UPDATE SET bytes = greatest(0, usage.bytes + excluded.bytes),
             envelopes = greatest(0, usage.envelopes + excluded.envelopes)",
        &[&author.0.as_slice(), &bytes, &envelopes],
    )?;
    tx.execute(
        "INSERT INTO usage (scope, bytes, envelopes)
             SELECT '\\x41'::BYTEA, $2::BIGINT, $3::BIGINT
             WHERE EXISTS (SELECT 1 FROM admitted_spaces WHERE space = $1)
         ON CONFLICT (scope) DO UPDATE SET bytes = greatest(0, usage.bytes + excluded.bytes),
             envelopes = greatest(0, usage.envelopes + excluded.envelopes)",
        &[&space.0.as_slice(), &bytes, &envelopes],
    )?;
    tx.execute(
        "INSERT INTO usage (scope, bytes, envelopes)
             SELECT '\\x66'::BYTEA || founder, $2::BIGINT, $3::BIGINT
             FROM admitted_spaces WHERE space = $1
         ON CONFLICT (scope) DO UPDATE SET bytes = greatest(0, usage.bytes + excluded.bytes),
             envelopes = greatest(0, usage.envelopes + excluded.envelopes)",
        &[&space.0.as_slice(), &bytes, &envelopes],
    )?;
    Ok(())
}

/// Until when `person` is admitted, if ever.
pub(super) fn person(
    client: &mut impl GenericClient,
    person: &PersonId,
) -> Result<Option<u64>, StoreError> {
    client
        .query_opt(
            "SELECT until FROM admitted_persons WHERE person = $1",
            &[&person.0.as_slice()],
        )?
        .map(|r| from_sql_int(r.get(0)))
        .transpose()
}

/// The person of an admitted device.
pub(super) fn device(
    client: &mut impl GenericClient,
    device: &DeviceId,
) -> Result<Option<PersonId>, StoreError> {
    client
        .query_opt(
            "SELECT person FROM admitted_devices WHERE device = $1",
            &[&device.0.as_slice()],
        )?
        .map(|r| {
            PersonId::from_slice(r.get::<_, &[u8]>(0))
                .map_err(|_| StoreError::Corrupt("an admitted person id"))
        })
        .transpose()
}

/// The person whose device founded `space`, if it is admitted.
pub(super) fn space(
    client: &mut impl GenericClient,
    space: &SpaceId,
) -> Result<Option<PersonId>, StoreError> {
    client
        .query_opt(
            "SELECT founder FROM admitted_spaces WHERE space = $1",
            &[&space.0.as_slice()],
        )?
        .map(|r| {
            PersonId::from_slice(r.get::<_, &[u8]>(0))
                .map_err(|_| StoreError::Corrupt("a founder's person id"))
        })
        .transpose()
}
