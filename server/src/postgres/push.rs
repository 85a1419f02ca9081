//! Wake-up subscriptions and who reads each space (protocol 28.9), as PostgreSQL keeps them, with
//! schema step v2 -> v3. Same tables and rules as `sqlite/push.rs`.

use postgres::{GenericClient, Transaction};
use sebaya_proto::{DeviceId, SpaceId};

use crate::error::StoreError;
use crate::store::StoredSubscription;
use crate::store::rows::{device_of, sql_int};

/// v3: `push_subscriptions` and `push_readers`, as SQLite's schema 11 keeps them.
pub(super) fn upgrade_v2_to_v3(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    tx.batch_execute(
        "CREATE TABLE push_subscriptions (
             device        BYTEA PRIMARY KEY,
             endpoint      TEXT NOT NULL,
             p256dh        BYTEA NOT NULL,
             auth          BYTEA NOT NULL,
             registered_at BIGINT NOT NULL
         );
         CREATE TABLE push_readers (
             space  BYTEA NOT NULL,
             device BYTEA NOT NULL,
             PRIMARY KEY (space, device)
         );",
    )?;
    Ok(())
}

pub(super) fn set_subscription(
    client: &mut impl GenericClient,
    device: &DeviceId,
    subscription: Option<&StoredSubscription>,
    now: u64,
) -> Result<(), StoreError> {
    match subscription {
        Some(s) => client.execute(
            "INSERT INTO push_subscriptions (device, endpoint, p256dh, auth, registered_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (device) DO UPDATE SET endpoint = excluded.endpoint,
                 p256dh = excluded.p256dh, auth = excluded.auth,
                 registered_at = excluded.registered_at",
            &[
                &device.0.as_slice(),
                &s.endpoint,
                &s.p256dh,
                &s.auth,
                &sql_int(now),
            ],
        )?,
        None => client.execute(
            "DELETE FROM push_subscriptions WHERE device = $1",
            &[&device.0.as_slice()],
        )?,
    };
    Ok(())
}

/// Only the pairs not noted yet are written (see `sqlite/push.rs`).
pub(super) fn note_readers(
    client: &mut impl GenericClient,
    device: &DeviceId,
    spaces: &[SpaceId],
) -> Result<(), StoreError> {
    let spaces: Vec<&[u8]> = spaces.iter().map(|s| s.0.as_slice()).collect();
    let known = client.query(
        "SELECT space FROM push_readers WHERE device = $2 AND space = ANY($1::BYTEA[])",
        &[&spaces, &device.0.as_slice()],
    )?;
    let known: Vec<&[u8]> = known.iter().map(|r| r.get::<_, &[u8]>(0)).collect();
    let missing: Vec<&[u8]> = spaces.into_iter().filter(|s| !known.contains(s)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    // Never for a space erased meanwhile (review finding F5; see `sqlite/push.rs`).
    client.execute(
        "INSERT INTO push_readers (space, device)
         SELECT s, $2 FROM unnest($1::BYTEA[]) AS s
         WHERE NOT EXISTS (SELECT 1 FROM erased e WHERE e.space = s)
         ON CONFLICT DO NOTHING",
        &[&missing, &device.0.as_slice()],
    )?;
    Ok(())
}

pub(super) fn reads_any(
    client: &mut impl GenericClient,
    device: &DeviceId,
) -> Result<bool, StoreError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM push_readers WHERE device = $1 LIMIT 1",
            &[&device.0.as_slice()],
        )?
        .is_some())
}

pub(super) fn wake_candidates(
    client: &mut impl GenericClient,
    space: &SpaceId,
) -> Result<Vec<(DeviceId, StoredSubscription)>, StoreError> {
    let rows = client.query(
        "SELECT s.device, s.endpoint, s.p256dh, s.auth
         FROM push_readers r JOIN push_subscriptions s ON s.device = r.device
         WHERE r.space = $1 ORDER BY s.device",
        &[&space.0.as_slice()],
    )?;
    rows.iter()
        .map(|r| {
            Ok((
                device_of(r.get::<_, &[u8]>(0))?,
                StoredSubscription {
                    endpoint: r.get(1),
                    p256dh: r.get(2),
                    auth: r.get(3),
                },
            ))
        })
        .collect()
}

/// The meta row that binds the database to one VAPID public key (see `sqlite/push.rs`).
const PUSH_KEY_ROW: &str = "push_key";

pub(super) fn bind_key(client: &mut impl GenericClient, public: &[u8]) -> Result<bool, StoreError> {
    client.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        &[&PUSH_KEY_ROW, &public],
    )?;
    let held: Vec<u8> = client
        .query_one("SELECT value FROM meta WHERE key = $1", &[&PUSH_KEY_ROW])?
        .get(0);
    Ok(held == public)
}

pub(super) fn subscription_counts(
    client: &mut impl GenericClient,
    endpoint: &str,
    device: &DeviceId,
) -> Result<(u64, u64), StoreError> {
    let row = client.query_one(
        "SELECT (SELECT count(*) FROM push_subscriptions WHERE endpoint = $1 AND device <> $2),
                (SELECT count(*) FROM push_subscriptions WHERE device <> $2)",
        &[&endpoint, &device.0.as_slice()],
    )?;
    let (same, all): (i64, i64) = (row.get(0), row.get(1));
    Ok((
        u64::try_from(same).unwrap_or(0),
        u64::try_from(all).unwrap_or(0),
    ))
}

pub(super) fn forget_subscription(
    client: &mut impl GenericClient,
    device: &DeviceId,
    endpoint: &str,
) -> Result<bool, StoreError> {
    let n = client.execute(
        "DELETE FROM push_subscriptions WHERE device = $1 AND endpoint = $2",
        &[&device.0.as_slice(), &endpoint],
    )?;
    Ok(n > 0)
}

pub(super) fn forget_readers(
    client: &mut impl GenericClient,
    space: &SpaceId,
    devices: &[DeviceId],
) -> Result<(), StoreError> {
    let devices: Vec<&[u8]> = devices.iter().map(|d| d.0.as_slice()).collect();
    client.execute(
        "DELETE FROM push_readers WHERE space = $1 AND device = ANY($2::BYTEA[])",
        &[&space.0.as_slice(), &devices],
    )?;
    Ok(())
}
