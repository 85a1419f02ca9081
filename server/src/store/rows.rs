//! How both stores turn ids and numbers into column values and back: the same integer bounds and the
//! same usage scopes whichever database holds them, so that one store's rows mean what the other's do.

use sebaya_proto::invite::InviteId;
use sebaya_proto::{DeviceId, PersonId, SpaceId};

use crate::error::StoreError;
use crate::store::{Amount, Usage};

/// The largest sequence number stored (the sync code refuses larger ones).
pub(crate) const MAX_SEQ: u64 = i64::MAX.unsigned_abs();

/// Both stores forget old request ids and mailbox items at most this often (seconds), on a call to
/// `record_request` at least this long after the last time they did: pruning is not worth a query
/// per request.
pub(crate) const PRUNE_INTERVAL_SECS: u64 = 60;

/// Sequence numbers and times go to the database as i64. Stored sequence numbers never exceed
/// `i64::MAX` (the sync code refuses larger ones), so clamping a bound changes no answer.
pub(crate) fn sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored integer that can never be negative, read back.
pub(crate) fn from_sql_int(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt("negative integer where none can be"))
}

/// A stored space id, read back.
pub(crate) fn space_of(raw: &[u8]) -> Result<SpaceId, StoreError> {
    SpaceId::from_slice(raw)
        .map_err(|_| StoreError::Corrupt("stored space id has the wrong length"))
}

/// A stored invite id, read back.
pub(crate) fn invite_of(raw: &[u8]) -> Result<InviteId, StoreError> {
    InviteId::from_slice(raw)
        .map_err(|_| StoreError::Corrupt("stored invite id has the wrong length"))
}

/// A stored device id, read back.
pub(crate) fn device_of(raw: &[u8]) -> Result<DeviceId, StoreError> {
    DeviceId::from_slice(raw)
        .map_err(|_| StoreError::Corrupt("stored device id has the wrong length"))
}

/// The key of a usage count (table `usage` in both stores): `s` + space id, `a` + author id, `t`
/// for the whole store, `p` + person id (what an admitted person's devices stored), `f` + person id
/// (what the spaces its devices founded hold), `A` for the admitted spaces together.
pub(crate) fn scope(tag: u8, id: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(1 + id.len());
    s.push(tag);
    s.extend_from_slice(id);
    s
}

/// One usage row's two counts, read back. A negative count cannot be stored by either store's
/// arithmetic; should one appear it reads as nothing rather than as a huge allowance.
pub(crate) fn amount_of(row: Option<(i64, i64)>) -> Amount {
    let (bytes, envelopes) = row.unwrap_or((0, 0));
    Amount {
        bytes: u64::try_from(bytes).unwrap_or(0),
        envelopes: u64::try_from(envelopes).unwrap_or(0),
    }
}

/// Assembles what `RelayStore::usage` reports from the scopes it names, so that both stores ask for
/// the same scopes in the same way; `read` looks one scope up inside the store's one snapshot.
pub(crate) fn gather_usage(
    spaces: &[SpaceId],
    authors: &[DeviceId],
    persons: &[PersonId],
    mut read: impl FnMut(Vec<u8>) -> Result<Amount, StoreError>,
) -> Result<Usage, StoreError> {
    let mut usage = Usage {
        total: read(scope(b't', &[]))?,
        admitted: read(scope(b'A', &[]))?,
        ..Usage::default()
    };
    for p in persons {
        usage.persons.insert(*p, read(scope(b'p', &p.0))?);
        usage.founders.insert(*p, read(scope(b'f', &p.0))?);
    }
    for s in spaces {
        usage.spaces.insert(*s, read(scope(b's', &s.0))?);
    }
    for a in authors {
        usage.authors.insert(*a, read(scope(b'a', &a.0))?);
    }
    Ok(usage)
}
