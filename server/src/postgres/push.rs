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
    client.execute(
        "INSERT INTO push_readers (space, device)
         SELECT s, $2 FROM unnest($1::BYTEA[]) AS s
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
