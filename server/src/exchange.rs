//! The relay's side of the sync exchange: store what a device pushed, answer with what it lacks.
//!
//! This runs after the request was authenticated and decoded, on a blocking thread (it verifies
//! signatures and talks to the store). It depends only on [`RelayStore`], so every store behaves alike.
//!
//! **Authorisation (first slice).** Any authenticated device may push to and pull from any space it
//! names. The 16-byte random space id acts as a capability: knowing it is the permission. Membership
//! logs signed by a space's admins will replace this; until then, anyone who learns a space id can read
//! its (encrypted, signed) envelopes and add validly signed envelopes of their own to it.
//!
//! Rules, in order:
//! 1. Each pushed envelope is checked on its own: it must parse, be format version 1, carry a valid
//!    author signature, have a sequence number in `1..=i64::MAX`, and belong to a space the request
//!    names. A refused envelope is reported in `rejected` with its index; the others still count.
//! 2. Accepted envelopes are stored in one transaction. The same (space, author, seq) with the same id
//!    is a harmless duplicate; with a different id it is a `conflict` and the first one stays.
//! 3. For each requested space the answer carries the relay's vector after storing (the ack).
//! 4. The answer carries the stored envelopes the device lacks, judged by its *effective* vector: the
//!    vector it sent plus what it pushed in this request (so it never gets its own push back). Only
//!    envelopes within the relay's contiguous run per author are sent: one held above a gap waits until
//!    the gap is filled, exactly as the vector rule says. They go in arrival order, except that one
//!    author's envelopes always go in sequence order (they take the arrival slots of that author's
//!    envelopes in sequence order). So every page extends the device's contiguous vector, and paging
//!    always ends.
//! 5. A page holds envelopes until adding the next would pass `min(max_response_bytes, 8 MiB)`, but at
//!    least one; `more` says something was left for the next request.

use std::collections::{BTreeMap, HashMap};

use sebaya_proto::envelope::FORMAT_V1;
use sebaya_proto::sync::{Rejected, SYNC_VERSION, SpaceVector, SyncResponse};
use sebaya_proto::{DeviceId, Envelope, ProtoError, SpaceId, VersionVector};

use crate::error::StoreError;
use crate::store::{InsertOutcome, NewEnvelope, RelayStore, RequestFreshness};

/// Largest page of envelopes the relay sends, whatever the device asks for. With the 4 MiB envelope
/// limit this keeps every answer well under the 16 MiB message limit.
pub const MAX_PAGE_BYTES: u64 = 8 * 1024 * 1024;

/// Machine-readable reasons in [`SyncResponse::rejected`].
pub mod reason {
    /// The bytes are not a well-formed envelope (bad frame, bad lengths, sequence number out of range).
    pub const MALFORMED: &str = "malformed";
    /// The envelope's format version is not 1.
    pub const UNSUPPORTED_VERSION: &str = "unsupported-version";
    /// The author's signature does not verify.
    pub const BAD_SIGNATURE: &str = "bad-signature";
    /// The envelope's space is not among the request's `spaces`.
    pub const NOT_REQUESTED_SPACE: &str = "not-requested-space";
    /// A different envelope with the same (space, author, seq) is already stored; the first one stays.
    pub const CONFLICT: &str = "conflict";
}

/// A decoded, authenticated sync request, ready to run.
#[derive(Debug)]
pub struct SyncInput {
    /// The signing device.
    pub device: DeviceId,
    /// Its request id, recorded before anything is stored.
    pub request_id: [u8; 16],
    /// The request's signed timestamp (Unix seconds).
    pub timestamp: u64,
    /// The relay's clock when the request arrived (Unix seconds).
    pub now: u64,
    /// The spaces named, with the device's contiguous vector for each; no space twice.
    pub spaces: Vec<(SpaceId, BTreeMap<DeviceId, u64>)>,
    /// Pushed envelopes, raw.
    pub envelopes: Vec<serde_bytes::ByteBuf>,
    /// Page size the device asked for.
    pub max_response_bytes: u64,
}

/// Why a whole sync request failed (as opposed to single envelopes being rejected).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The device already used this request id; nothing was done.
    #[error("request id already used")]
    Replayed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks one pushed envelope on its own; returns it with its author and sequence number.
fn check_envelope(
    raw: &[u8],
    requested: &HashMap<SpaceId, usize>,
) -> Result<(Envelope, DeviceId, u64), &'static str> {
    let env = Envelope::parse(raw).map_err(|_| reason::MALFORMED)?;
    if env.version() != FORMAT_V1 {
        return Err(reason::UNSUPPORTED_VERSION);
    }
    let header = env.header().map_err(|_| reason::MALFORMED)?;
    env.verify().map_err(|e| match e {
        ProtoError::BadSignature => reason::BAD_SIGNATURE,
        _ => reason::MALFORMED,
    })?;
    if header.seq == 0 || i64::try_from(header.seq).is_err() {
        return Err(reason::MALFORMED);
    }
    if !requested.contains_key(&header.space) {
        return Err(reason::NOT_REQUESTED_SPACE);
    }
    Ok((env, header.author, header.seq))
}

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// One envelope the device lacks, with the arrival slot it is sent in.
struct Pending {
    slot: u64,
    serial: u64,
    len: u64,
}

/// Runs one sync request against `store`. Blocks; call from a blocking thread.
pub fn run(store: &dyn RelayStore, input: SyncInput) -> Result<SyncResponse, ExchangeError> {
    if store.record_request(&input.device, &input.request_id, input.timestamp, input.now)?
        == RequestFreshness::Replayed
    {
        return Err(ExchangeError::Replayed);
    }

    let requested: HashMap<SpaceId, usize> = input
        .spaces
        .iter()
        .enumerate()
        .map(|(i, (s, _))| (*s, i))
        .collect();
    let mut effective: Vec<VersionVector> = input
        .spaces
        .iter()
        .map(|(_, v)| VersionVector::from_contiguous(v.clone()))
        .collect();

    // 1. Check each envelope on its own.
    let mut rejected = Vec::new();
    let mut accepted = Vec::new();
    for (i, raw) in input.envelopes.iter().enumerate() {
        match check_envelope(raw, &requested) {
            Ok((env, author, seq)) => accepted.push((i, env, author, seq)),
            Err(why) => rejected.push(Rejected {
                index: index_u32(i),
                reason: why.to_string(),
            }),
        }
    }

    // 2. Store what passed.
    if !accepted.is_empty() {
        let batch: Vec<NewEnvelope<'_>> = accepted
            .iter()
            .map(|(_, env, author, seq)| NewEnvelope {
                space: env.space(),
                author: *author,
                seq: *seq,
                id: env.id(),
                bytes: env.as_bytes(),
            })
            .collect();
        let outcomes = store.insert_envelopes(&batch, input.now)?;
        for ((i, env, author, seq), outcome) in accepted.iter().zip(outcomes) {
            match outcome {
                InsertOutcome::Stored | InsertOutcome::Duplicate => {
                    if let Some(v) = requested
                        .get(&env.space())
                        .and_then(|k| effective.get_mut(*k))
                    {
                        v.insert(*author, *seq);
                    }
                }
                InsertOutcome::Conflict => rejected.push(Rejected {
                    index: index_u32(*i),
                    reason: reason::CONFLICT.to_string(),
                }),
            }
        }
        rejected.sort_by_key(|r| r.index);
    }

    // 3 and 4. The relay's vectors, and what the device lacks.
    let mut spaces = Vec::with_capacity(input.spaces.len());
    let mut pending: Vec<Pending> = Vec::new();
    for ((space, _), client) in input.spaces.iter().zip(&effective) {
        let held = store.space_vector(space)?;
        spaces.push(SpaceVector::new(*space, held.contiguous()));
        for (author, &top) in held.contiguous() {
            let from = client.get(author);
            if top <= from {
                continue;
            }
            let rows: Vec<_> = store
                .list_range(space, author, from, top)?
                .into_iter()
                .filter(|m| !client.contains(author, m.seq))
                .collect();
            // Rows come in sequence order; give them this author's arrival slots in ascending order.
            let mut slots: Vec<u64> = rows.iter().map(|m| m.serial).collect();
            slots.sort_unstable();
            pending.extend(rows.iter().zip(slots).map(|(m, slot)| Pending {
                slot,
                serial: m.serial,
                len: m.len,
            }));
        }
    }
    pending.sort_unstable_by_key(|p| p.slot);

    // 5. Page.
    let budget = input.max_response_bytes.min(MAX_PAGE_BYTES);
    let mut total: u64 = 0;
    let mut chosen = Vec::new();
    for p in &pending {
        let next = total.saturating_add(p.len);
        if next > budget && !chosen.is_empty() {
            break;
        }
        total = next;
        chosen.push(p.serial);
    }
    let more = chosen.len() < pending.len();
    let envelopes = store
        .load_envelopes(&chosen)?
        .into_iter()
        .map(serde_bytes::ByteBuf::from)
        .collect();

    Ok(SyncResponse {
        v: SYNC_VERSION,
        spaces,
        envelopes,
        rejected,
        more,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::SqliteStore;
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use sebaya_proto::{EpochId, HeaderV1, Kind};

    fn device(n: u8) -> (Ed25519KeyPair, DeviceId) {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[n; 32]).unwrap();
        let id = DeviceId::from_slice(kp.public_key().as_ref()).unwrap();
        (kp, id)
    }

    fn seal(n: u8, space: SpaceId, seq: u64, payload: &[u8]) -> Vec<u8> {
        let (kp, author) = device(n);
        let header = HeaderV1 {
            kind: Kind::Changes,
            space,
            epoch: EpochId([0; 32]),
            author,
            seq,
        };
        Envelope::seal_v1(header, &[0; 32], [0; 4], payload, &kp)
            .unwrap()
            .into_bytes()
    }

    fn input(
        rid: u8,
        spaces: Vec<(SpaceId, BTreeMap<DeviceId, u64>)>,
        envs: Vec<Vec<u8>>,
        max: u64,
    ) -> SyncInput {
        SyncInput {
            device: device(9).1,
            request_id: [rid; 16],
            timestamp: 1000,
            now: 1000,
            spaces,
            envelopes: envs.into_iter().map(serde_bytes::ByteBuf::from).collect(),
            max_response_bytes: max,
        }
    }

    #[test]
    fn one_authors_envelopes_go_out_in_sequence_order_and_gaps_wait() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let space = SpaceId([3; 16]);
        let (e1, e2, e3, e5) = (
            seal(1, space, 1, b"one"),
            seal(1, space, 2, b"two"),
            seal(1, space, 3, b"three"),
            seal(1, space, 5, b"five"),
        );
        // Arrival order 3, 5, 2, 1.
        let r = run(
            &store,
            input(
                1,
                vec![(space, BTreeMap::new())],
                vec![e3.clone(), e5, e2.clone(), e1.clone()],
                0,
            ),
        )
        .unwrap();
        assert!(r.rejected.is_empty());
        assert_eq!(r.spaces[0].vector[0].seq, 3, "5 sits above the gap at 4");

        // A second device pulls one envelope per page: 1, 2, 3, and never 5.
        let mut vector = BTreeMap::new();
        let mut got = Vec::new();
        for rid in 2..10 {
            let r = run(&store, input(rid, vec![(space, vector.clone())], vec![], 0)).unwrap();
            assert!(r.envelopes.len() <= 1);
            for e in &r.envelopes {
                got.push(e.to_vec());
            }
            vector.insert(
                device(1).1,
                r.envelopes.len() as u64 + vector.get(&device(1).1).copied().unwrap_or(0),
            );
            if !r.more {
                break;
            }
        }
        assert_eq!(got, vec![e1, e2, e3]);
    }

    #[test]
    fn replayed_request_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let space = SpaceId([3; 16]);
        run(
            &store,
            input(
                1,
                vec![(space, BTreeMap::new())],
                vec![seal(1, space, 1, b"a")],
                0,
            ),
        )
        .unwrap();
        let again = run(
            &store,
            input(
                1,
                vec![(space, BTreeMap::new())],
                vec![seal(1, space, 2, b"b")],
                0,
            ),
        );
        assert!(matches!(again, Err(ExchangeError::Replayed)));
        assert_eq!(store.space_vector(&space).unwrap().get(&device(1).1), 1);
    }
}
