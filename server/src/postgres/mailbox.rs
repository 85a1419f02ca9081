//! The invite mailboxes (protocol section 18) as PostgreSQL keeps them: the statements behind the
//! store's join request and join answer methods. The writes run inside `PostgresStore::write`, which
//! holds the space's lock (requests) or the device's (answers), so a mailbox's limit is checked and
//! the item stored without another node slipping in between.

use postgres::{GenericClient, Transaction};
use sebaya_proto::invite::InviteId;
use sebaya_proto::{DeviceId, SpaceId};

use crate::error::StoreError;
use crate::store::rows::{device_of, from_sql_int, invite_of, space_of, sql_int};
use crate::store::{
    MailboxOutcome, NewJoinAnswer, NewJoinRequest, StoredJoinAnswer, StoredJoinRequest,
};

/// [`crate::RelayStore::put_join_request`], inside the caller's transaction.
pub(super) fn put_join_request(
    tx: &mut Transaction<'_>,
    request: &NewJoinRequest<'_>,
    max_per_invite: usize,
    received_at: u64,
) -> Result<MailboxOutcome, StoreError> {
    let hash = ring::digest::digest(&ring::digest::SHA256, request.body);
    let (space, invite) = (request.space.0.as_slice(), request.invite.0.as_slice());
    let device = request.device.0.as_slice();
    let held = tx.query_opt(
        "SELECT 1 FROM join_requests WHERE space = $1 AND invite = $2 AND hash = $3",
        &[&space, &invite, &hash.as_ref()],
    )?;
    let count: i64 = tx
        .query_one(
            "SELECT count(*) FROM join_requests WHERE space = $1 AND invite = $2",
            &[&space, &invite],
        )?
        .get(0);
    let outcome = if held.is_some() {
        MailboxOutcome::Duplicate
    } else if from_sql_int(count)? >= max_per_invite as u64 {
        MailboxOutcome::Full
    } else {
        tx.execute(
            "INSERT INTO join_requests (space, invite, hash, device, body, received_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &space,
                &invite,
                &hash.as_ref(),
                &device,
                &request.body,
                &sql_int(received_at),
            ],
        )?;
        MailboxOutcome::Stored
    };
    if outcome != MailboxOutcome::Full {
        tx.execute(
            "INSERT INTO join_askers (space, invite, device, asked_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (space, invite, device)
             DO UPDATE SET asked_at = greatest(join_askers.asked_at, excluded.asked_at)",
            &[&space, &invite, &device, &sql_int(received_at)],
        )?;
    }
    Ok(outcome)
}

/// [`crate::RelayStore::join_request_invites`].
pub(super) fn join_request_invites(
    client: &mut impl GenericClient,
    space: &SpaceId,
) -> Result<Vec<InviteId>, StoreError> {
    let rows = client.query(
        "SELECT invite FROM join_requests WHERE space = $1 GROUP BY invite ORDER BY min(serial)",
        &[&space.0.as_slice()],
    )?;
    rows.iter()
        .map(|r| invite_of(r.get::<_, &[u8]>(0)))
        .collect()
}

/// [`crate::RelayStore::join_requests`].
pub(super) fn join_requests(
    client: &mut impl GenericClient,
    space: &SpaceId,
    invite: &InviteId,
) -> Result<Vec<StoredJoinRequest>, StoreError> {
    let rows = client.query(
        "SELECT device, body, received_at FROM join_requests
         WHERE space = $1 AND invite = $2 ORDER BY serial",
        &[&space.0.as_slice(), &invite.0.as_slice()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(StoredJoinRequest {
                space: *space,
                invite: *invite,
                device: device_of(r.get::<_, &[u8]>(0))?,
                body: r.get(1),
                received_at: from_sql_int(r.get(2))?,
            })
        })
        .collect()
}

/// [`crate::RelayStore::put_join_answer`], inside the caller's transaction.
pub(super) fn put_join_answer(
    tx: &mut Transaction<'_>,
    answer: &NewJoinAnswer<'_>,
    max_per_device: usize,
    max_bytes_per_device: u64,
    received_at: u64,
) -> Result<MailboxOutcome, StoreError> {
    let device = answer.device.0.as_slice();
    let space = answer.space.0.as_slice();
    let invite = answer.invite.0.as_slice();
    let totals = tx.query_one(
        "SELECT count(*), coalesce(sum(octet_length(body)), 0)::BIGINT FROM join_answers
         WHERE device = $1",
        &[&device],
    )?;
    let (count, bytes) = (from_sql_int(totals.get(0))?, from_sql_int(totals.get(1))?);
    let replaced: Option<i64> = tx
        .query_opt(
            "SELECT octet_length(body)::BIGINT FROM join_answers
             WHERE device = $1 AND space = $2 AND invite = $3",
            &[&device, &space, &invite],
        )?
        .map(|r| r.get(0));
    let asked = replaced.is_some()
        || tx
            .query_opt(
                "SELECT 1 FROM join_askers WHERE space = $1 AND invite = $2 AND device = $3",
                &[&space, &invite, &device],
            )?
            .is_some();
    let kept = match replaced {
        Some(old) => bytes.saturating_sub(from_sql_int(old)?),
        None => bytes,
    };
    let after = kept.saturating_add(answer.body.len() as u64);
    Ok(if !asked {
        MailboxOutcome::NotRequested
    } else if (replaced.is_none() && count >= max_per_device as u64) || after > max_bytes_per_device
    {
        MailboxOutcome::Full
    } else if replaced.is_some() {
        // The arrival time stays: posting again never keeps an answer longer.
        tx.execute(
            "UPDATE join_answers SET body = $4 WHERE device = $1 AND space = $2 AND invite = $3",
            &[&device, &space, &invite, &answer.body],
        )?;
        MailboxOutcome::Replaced
    } else {
        tx.execute(
            "INSERT INTO join_answers (device, space, invite, body, received_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &device,
                &space,
                &invite,
                &answer.body,
                &sql_int(received_at),
            ],
        )?;
        // One request, one answer: the note that the device asked is used up.
        tx.execute(
            "DELETE FROM join_askers WHERE space = $1 AND invite = $2 AND device = $3",
            &[&space, &invite, &device],
        )?;
        MailboxOutcome::Stored
    })
}

/// [`crate::RelayStore::join_answers`].
pub(super) fn join_answers(
    client: &mut impl GenericClient,
    device: &DeviceId,
) -> Result<Vec<StoredJoinAnswer>, StoreError> {
    let rows = client.query(
        "SELECT space, invite, body, received_at FROM join_answers
         WHERE device = $1 ORDER BY serial",
        &[&device.0.as_slice()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(StoredJoinAnswer {
                device: *device,
                space: space_of(r.get::<_, &[u8]>(0))?,
                invite: invite_of(r.get::<_, &[u8]>(1))?,
                body: r.get(2),
                received_at: from_sql_int(r.get(3))?,
            })
        })
        .collect()
}
