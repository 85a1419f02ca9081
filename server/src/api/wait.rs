//! `POST /v1/wait`: an online device waits for its spaces to change (protocol section 28).
//!
//! The request is checked as a sync is (signature for this path, clock window, request id never
//! used before), then each named space is judged as a pull would be: a space erased, unknown,
//! whose log the device is a stranger to, or that it may not read is left out without a word, so
//! the answer is the same whether such a space exists or not. A wait left with no space is refused
//! (`not-a-member`). The relay answers at once with the spaces that hold something the device's
//! vectors lack; otherwise it registers the wait, looks again (a push between the first look and
//! the registration would otherwise be missed), and holds the request until a push stores
//! something in one of the spaces, the timeout passes, or the relay shuts down. Woken, it looks
//! again at the woken spaces (the device may read them still, and they hold something it lacks)
//! and answers with those, or goes back to waiting.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sebaya_proto::live::{MAX_WAIT_MS, WAIT_PATH, WaitRequest, WaitResponse};
use sebaya_proto::sync;
use sebaya_proto::{DeviceId, SpaceId};

use super::{ApiError, CBOR_CONTENT_TYPE, RelayState, authenticate, read_signed_body, unix_now};
use crate::access::Access;
use crate::live::Refused;
use crate::store::{RelayStore, RequestFreshness};

/// One space of a wait with the device's contiguous vector.
type Named = (SpaceId, BTreeMap<DeviceId, u64>);

pub(super) async fn wait_handler(State(state): State<RelayState>, request: Request) -> Response {
    match wait_inner(state, request).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, CBOR_CONTENT_TYPE)], bytes).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Runs `job` on a blocking thread (store and signature work never block the executor).
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|_| ApiError::Internal)?
}

fn store_failed(err: crate::StoreError) -> ApiError {
    tracing::error!(error = %err, "store error during a wait");
    ApiError::Internal
}

async fn wait_inner(state: RelayState, request: Request) -> Result<Vec<u8>, ApiError> {
    let (headers, body) = read_signed_body(request).await?;
    let (store, access, relay_id) = (state.store.clone(), state.access.clone(), state.relay_id);
    let now = unix_now();
    let (device, named, timeout, readable, lacking) = blocking(move || {
        let auth = authenticate(&headers, &relay_id, WAIT_PATH, &body, now)?;
        let req: WaitRequest = sync::decode(&body).map_err(|_| ApiError::Malformed)?;
        req.check().map_err(|_| ApiError::Malformed)?;
        let mut seen = HashSet::with_capacity(req.spaces.len());
        let mut named: Vec<Named> = Vec::with_capacity(req.spaces.len());
        for sv in &req.spaces {
            let (space, vector) = sv.parse().map_err(|_| ApiError::Malformed)?;
            if !seen.insert(space) {
                return Err(ApiError::Malformed);
            }
            named.push((space, vector));
        }
        if store
            .record_request(&auth.device, &auth.request_id, auth.timestamp, now)
            .map_err(store_failed)?
            == RequestFreshness::Replayed
        {
            return Err(ApiError::Replayed);
        }
        let (readable, lacking) =
            judge(store.as_ref(), &access, &auth.device, &named).map_err(store_failed)?;
        let timeout = Duration::from_millis(req.timeout_ms.min(MAX_WAIT_MS));
        Ok((auth.device, named, timeout, readable, lacking))
    })
    .await?;
    if readable.is_empty() {
        return Err(ApiError::NothingToWaitOn);
    }
    if !lacking.is_empty() || timeout.is_zero() {
        return answer(&lacking);
    }
    let named: Vec<Named> = named
        .into_iter()
        .filter(|(s, _)| readable.contains(s))
        .collect();
    let wait = match state.live.register(device, &readable) {
        Ok(w) => w,
        Err(Refused::DeviceFull) => return Err(ApiError::TooManyWaits),
        Err(Refused::RelayFull) => return Err(ApiError::RelayBusy),
        // Shutting down: nothing changed as far as this relay will tell.
        Err(Refused::Closing) => return answer(&[]),
    };
    let _counted = state.metrics.wait();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut look_at = named.clone();
    let mut after_wake_all = false;
    loop {
        // The first pass looks at every space (anything stored before the registration); later
        // passes only at the woken ones. A look after a wake-all waits for its turn (bounded
        // apart from the requests, `live.rs`), never past the wait's deadline, and not once a
        // push woke the wait meanwhile (that look is one a push costs anyway; it covers every
        // space, as the wake-all asked).
        let turn = if after_wake_all {
            let mut turn = std::pin::pin!(state.live.recheck_turn());
            loop {
                tokio::select! {
                    t = &mut turn => break t,
                    woke = wait.woken() => {
                        if woke.spaces.is_empty() {
                            // The relay is closing.
                            return answer(&[]);
                        }
                        if !woke.everything {
                            break None;
                        }
                    }
                    () = tokio::time::sleep_until(deadline) => return answer(&[]),
                }
            }
        } else {
            None
        };
        let (store, access) = (state.store.clone(), state.access.clone());
        let lacking = blocking(move || {
            judge(store.as_ref(), &access, &device, &look_at)
                .map(|(_, lacking)| lacking)
                .map_err(store_failed)
        })
        .await?;
        drop(turn);
        if !lacking.is_empty() {
            return answer(&lacking);
        }
        let woke = {
            let _asleep = state.metrics.asleep();
            match tokio::time::timeout_at(deadline, wait.woken()).await {
                Ok(woke) => woke,
                Err(_) => return answer(&[]),
            }
        };
        if woke.spaces.is_empty() {
            // The relay is closing.
            return answer(&[]);
        }
        after_wake_all = woke.everything;
        let woken: HashSet<SpaceId> = woke.spaces.into_iter().collect();
        look_at = named
            .iter()
            .filter(|(s, _)| woken.contains(s))
            .cloned()
            .collect();
    }
}

fn answer(changed: &[SpaceId]) -> Result<Vec<u8>, ApiError> {
    sync::encode(&WaitResponse::new(changed)).map_err(|_| ApiError::Internal)
}

/// Which of `named` the device may read, and which of those hold something its vector lacks, in the
/// order named. A space erased, unknown, or whose log the device is a stranger to or may not read
/// is in neither list.
fn judge(
    store: &dyn RelayStore,
    access: &Access,
    device: &DeviceId,
    named: &[Named],
) -> Result<(Vec<SpaceId>, Vec<SpaceId>), crate::StoreError> {
    let ids: Vec<SpaceId> = named.iter().map(|(s, _)| *s).collect();
    let erased: HashSet<SpaceId> = store.erased(&ids)?.into_iter().collect();
    let candidates: Vec<SpaceId> = ids
        .into_iter()
        .filter(|s| !erased.contains(s) && !access.is_stranger(store, s, device))
        .collect();
    let mut reader = access.reader(store, &candidates)?;
    let mut readable = Vec::new();
    let mut lacking = Vec::new();
    for (space, vector) in named {
        if !candidates.contains(space) {
            continue;
        }
        let log = reader.log(store, *space)?;
        if !log.has_genesis() || !log.state().may_read(device) {
            continue;
        }
        readable.push(*space);
        let held = store.space_vector(space)?;
        if held
            .contiguous()
            .iter()
            .any(|(author, top)| vector.get(author).copied().unwrap_or(0) < *top)
        {
            lacking.push(*space);
        }
    }
    Ok((readable, lacking))
}
