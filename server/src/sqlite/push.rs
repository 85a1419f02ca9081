//! Wake-up subscriptions and who reads each space (protocol 28.9), as SQLite keeps them, with
//! schema step v10 -> v11: one row per device that registered a subscription, and one per (space,
//! device) the relay gave envelopes to. An erased space's readers go with it.

use rusqlite::{Connection, params};
use sebaya_proto::{DeviceId, SpaceId};

use crate::error::StoreError;
use crate::store::StoredSubscription;
use crate::store::rows::{device_of, sql_int};

/// v11: `push_subscriptions` (a device's one subscription) and `push_readers` (who was given a
/// space's envelopes).
pub(super) fn upgrade_v10_to_v11(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE push_subscriptions (
             device        BLOB PRIMARY KEY,
             endpoint      TEXT NOT NULL,
             p256dh        BLOB NOT NULL,
             auth          BLOB NOT NULL,
             registered_at INTEGER NOT NULL
         ) STRICT;
         CREATE TABLE push_readers (
             space  BLOB NOT NULL,
             device BLOB NOT NULL,
             PRIMARY KEY (space, device)
         ) STRICT, WITHOUT ROWID;",
    )?;
    Ok(())
}

pub(super) fn set_subscription(
    conn: &Connection,
    device: &DeviceId,
    subscription: Option<&StoredSubscription>,
    now: u64,
) -> Result<(), StoreError> {
    match subscription {
        Some(s) => conn.execute(
            "INSERT INTO push_subscriptions (device, endpoint, p256dh, auth, registered_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (device) DO UPDATE SET endpoint = excluded.endpoint,
                 p256dh = excluded.p256dh, auth = excluded.auth,
                 registered_at = excluded.registered_at",
            params![
                device.0.as_slice(),
                s.endpoint,
                s.p256dh,
                s.auth,
                sql_int(now)
            ],
        )?,
        None => conn.execute(
            "DELETE FROM push_subscriptions WHERE device = ?1",
            params![device.0.as_slice()],
        )?,
    };
    Ok(())
}

/// Only the pairs not noted yet are written: a pull notes the same spaces every time, and a write
/// transaction per pull would cost the read path a lock it never needs otherwise.
pub(super) fn note_readers(
    conn: &mut Connection,
    device: &DeviceId,
    spaces: &[SpaceId],
) -> Result<(), StoreError> {
    let mut missing = Vec::new();
    {
        let mut known =
            conn.prepare_cached("SELECT 1 FROM push_readers WHERE space = ?1 AND device = ?2")?;
        for space in spaces {
            if !known.exists(params![space.0.as_slice(), device.0.as_slice()])? {
                missing.push(space);
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        // Never for a space erased meanwhile (review finding F5): an erasure that committed between
        // the pull's check and this note deleted the space's readers, and they stay deleted.
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO push_readers (space, device)
             SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM erased WHERE space = ?1)",
        )?;
        for space in missing {
            stmt.execute(params![space.0.as_slice(), device.0.as_slice()])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn reads_any(conn: &Connection, device: &DeviceId) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM push_readers WHERE device = ?1 LIMIT 1")?;
    Ok(stmt.exists(params![device.0.as_slice()])?)
}

pub(super) fn wake_candidates(
    conn: &Connection,
    space: &SpaceId,
) -> Result<Vec<(DeviceId, StoredSubscription)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.device, s.endpoint, s.p256dh, s.auth
         FROM push_readers r JOIN push_subscriptions s ON s.device = r.device
         WHERE r.space = ?1 ORDER BY s.device",
    )?;
    let rows = stmt
        .query_map(params![space.0.as_slice()], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(device, endpoint, p256dh, auth)| {
            Ok((
                device_of(&device)?,
                StoredSubscription {
                    endpoint,
                    p256dh,
                    auth,
                },
            ))
        })
        .collect()
}

/// The meta row that binds the database to one VAPID public key (review finding F2).
const PUSH_KEY_ROW: &str = "push_key";

pub(super) fn bind_key(conn: &Connection, public: &[u8]) -> Result<bool, StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
        params![PUSH_KEY_ROW, public],
    )?;
    let held: Vec<u8> = conn.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        params![PUSH_KEY_ROW],
        |r| r.get(0),
    )?;
    Ok(held == public)
}

pub(super) fn subscription_counts(
    conn: &Connection,
    endpoint: &str,
    device: &DeviceId,
) -> Result<(u64, u64), StoreError> {
    let (same, all): (i64, i64) = conn.query_row(
        "SELECT (SELECT count(*) FROM push_subscriptions WHERE endpoint = ?1 AND device != ?2),
                (SELECT count(*) FROM push_subscriptions WHERE device != ?2)",
        params![endpoint, device.0.as_slice()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((
        u64::try_from(same).unwrap_or(0),
        u64::try_from(all).unwrap_or(0),
    ))
}

pub(super) fn forget_subscription(
    conn: &Connection,
    device: &DeviceId,
    endpoint: &str,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "DELETE FROM push_subscriptions WHERE device = ?1 AND endpoint = ?2",
        params![device.0.as_slice(), endpoint],
    )?;
    Ok(n > 0)
}

pub(super) fn forget_readers(
    conn: &Connection,
    space: &SpaceId,
    devices: &[DeviceId],
) -> Result<(), StoreError> {
    let mut stmt =
        conn.prepare_cached("DELETE FROM push_readers WHERE space = ?1 AND device = ?2")?;
    for device in devices {
        stmt.execute(params![space.0.as_slice(), device.0.as_slice()])?;
    }
    Ok(())
}
