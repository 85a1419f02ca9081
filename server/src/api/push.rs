//! `POST /v1/push`: a device registers (or removes) the Web Push subscription the relay wakes it
//! through (protocol 28.9). Checked as a sync is (signature for this path, clock window, request id
//! never used before); the subscription is then checked as a wake-up would use it (an `https`
//! endpoint, keys of a point on the curve) and kept as the signing device's only one. Only a device
//! the relay has given some space's envelopes may keep one (so strangers' keys cannot fill the
//! table); removing one, or asking for the key, takes nobody. The answer carries the relay's VAPID
//! public key.

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sebaya_proto::push::{PUSH_PATH, PUSH_VERSION, PushRequest, PushResponse};
use sebaya_proto::sync;

use super::{ApiError, CBOR_CONTENT_TYPE, RelayState, authenticate, read_signed_body, unix_now};
use crate::store::{RequestFreshness, StoredSubscription};
use crate::webpush::Subscription;

pub(super) async fn push_handler(State(state): State<RelayState>, request: Request) -> Response {
    match push_inner(state, request).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, CBOR_CONTENT_TYPE)], bytes).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn push_inner(state: RelayState, request: Request) -> Result<Vec<u8>, ApiError> {
    // A relay that sends no wake-ups has nothing to register with: as if the route did not exist.
    let Some(wakeups) = state.wakeups.clone() else {
        return Err(ApiError::NotFound);
    };
    let (headers, body) = read_signed_body(request).await?;
    let (store, relay_id) = (state.store.clone(), state.relay_id);
    let now = unix_now();
    tokio::task::spawn_blocking(move || {
        let auth = authenticate(&headers, &relay_id, PUSH_PATH, &body, now)?;
        let req: PushRequest = sync::decode(&body).map_err(|_| ApiError::Malformed)?;
        req.check().map_err(|_| ApiError::Malformed)?;
        let subscription = match req.subscription {
            None => None,
            Some(s) => {
                // Kept as the parsed URL spells it (scheme and host in lower case, no default port,
                // no dot segments), so every spelling of one endpoint counts as that one (review S2).
                let endpoint =
                    crate::webpush::check_endpoint(&s.endpoint, wakeups.settings().allow_loopback)
                        .map_err(|_| ApiError::Malformed)?
                        .to_string();
                let s = StoredSubscription {
                    endpoint,
                    p256dh: s.p256dh.into_vec(),
                    auth: s.auth.into_vec(),
                };
                Subscription {
                    endpoint: s.endpoint.clone(),
                    p256dh: s.p256dh.clone(),
                    auth: s.auth.clone(),
                }
                .check(wakeups.settings().allow_loopback)
                .map_err(|_| ApiError::Malformed)?;
                Some(s)
            }
        };
        let failed = |err: crate::StoreError| {
            tracing::error!(error = %err, "store error during a push registration");
            ApiError::Internal
        };
        if store
            .record_request(&auth.device, &auth.request_id, auth.timestamp, now)
            .map_err(failed)?
            == RequestFreshness::Replayed
        {
            return Err(ApiError::Replayed);
        }
        // Keeping a subscription takes a device the relay gave some space to; removing one, or
        // asking for the key with `null`, takes nobody.
        if subscription.is_some() && !store.reads_any(&auth.device).map_err(failed)? {
            return Err(ApiError::NotAReader);
        }
        // Bounded (review finding F7): a few devices per endpoint, and so many in all; a device
        // replacing its own counts as nothing new.
        if let Some(s) = &subscription {
            let (same, all) = store
                .push_subscription_counts(&s.endpoint, &auth.device)
                .map_err(failed)?;
            if same >= crate::wakeups::MAX_DEVICES_PER_ENDPOINT as u64 {
                return Err(ApiError::EndpointTaken);
            }
            if all >= wakeups.settings().max_subscriptions {
                return Err(ApiError::SubscriptionsFull);
            }
        }
        store
            .set_push_subscription(&auth.device, subscription.as_ref(), now)
            .map_err(failed)?;
        sync::encode(&PushResponse {
            v: PUSH_VERSION,
            key: serde_bytes::ByteBuf::from(wakeups.key().public_key().to_vec()),
        })
        .map_err(|_| ApiError::Internal)
    })
    .await
    .map_err(|_| ApiError::Internal)?
}
