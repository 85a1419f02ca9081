//! The gateway's HTTP face: a Web Push push service (RFC 8030) for relays.
//!
//! ```text
//! POST /v1/wake/{provider}/{mode}/{token}   provider fcm|apns, mode silent|alert
//! GET  /healthz
//! ```
//! A wake-up request is checked as a push service checks one: `TTL` present, `Urgency` and `Topic`
//! well-formed if present, `Content-Encoding: aes128gcm`, a body of at most 4096 bytes, and a VAPID
//! `Authorization` (RFC 8292) signed by the key it names, for this gateway's origin, not expired
//! (and, if the operator listed relay keys, by one of those). The body is read to its bound and
//! dropped unread: it is encrypted to the device, and nothing of it reaches a provider or a log.
//! Answers: 201 as a push service's, 404 for a path that names no provider, mode or valid token, 401
//! for a bad token, 403 for an unlisted key, 413 for a body too large, 400 for bad headers, 410 when
//! the provider says the device token is gone (the relay then deletes the subscription), 429 or 503
//! with `Retry-After` when the provider throttles the publisher's project or fails, 503 with
//! `Retry-After: 1` when the gateway already has `--max-in-flight` provider requests open (or the
//! relay's key a quarter of them), and 400
//! when the provider refuses the request for another reason. What concerns one token is never a
//! 429 or 5xx, which the relay reads as the whole push service's (review G1): a token over its
//! limit, or one APNs throttles, is answered 201 and dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::Gateway;
use crate::limit::{self, Refused};
use crate::provider::{Mode, Outcome, Provider};

/// The largest body taken (RFC 8030: a push service must take at least 4096 bytes).
pub const MAX_BODY: usize = 4096;
/// `Retry-After` when a provider said nothing.
const DEFAULT_RETRY: Duration = Duration::from_secs(60);
/// `Retry-After` when the gateway has too many provider requests in flight.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// The gateway's router.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .route(
            "/v1/wake/{provider}/{mode}/{token}",
            axum::routing::post(wake),
        )
        .with_state(gateway)
}

fn answer(status: StatusCode) -> Response {
    status.into_response()
}

fn answer_after(status: StatusCode, after: Option<Duration>) -> Response {
    let secs = after.unwrap_or(DEFAULT_RETRY).as_secs().max(1);
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

/// Whether the RFC 8030 headers are those of a push request: `TTL` a number, `Urgency` one of the
/// four, `Topic` at most 32 base64url characters, `Content-Encoding: aes128gcm`.
fn headers_ok(h: &HeaderMap) -> bool {
    // Each at most once: of two values, which one counts would be the reader's guess.
    let once = [
        "ttl",
        "urgency",
        "topic",
        "content-encoding",
        "authorization",
    ];
    if once.iter().any(|name| h.get_all(*name).iter().count() > 1) {
        return false;
    }
    let text = |name: &str| h.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let ttl_ok = text("ttl").is_some_and(|v| v.parse::<u32>().is_ok());
    let urgency_ok =
        text("urgency").is_none_or(|v| matches!(v, "very-low" | "low" | "normal" | "high"));
    let topic_ok = text("topic").is_none_or(|v| {
        !v.is_empty()
            && v.len() <= 32
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    let encoding_ok = text("content-encoding") == Some("aes128gcm");
    ttl_ok && urgency_ok && topic_ok && encoding_ok
}

async fn wake(
    State(gw): State<Arc<Gateway>>,
    Path((provider, mode, token)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (Some(provider), Some(mode)) = (Provider::parse(&provider), Mode::parse(&mode)) else {
        return answer(StatusCode::NOT_FOUND);
    };
    // Hexadecimal is one device however it is spelt (review G3): one form for the limit and APNs.
    let token = match provider {
        Provider::Apns => token.to_ascii_lowercase(),
        Provider::Fcm => token,
    };
    let configured = match provider {
        Provider::Fcm => gw.fcm.is_some(),
        Provider::Apns => gw.apns.is_some(),
    };
    if !configured || !provider.token_ok(&token) {
        return answer(StatusCode::NOT_FOUND);
    }
    let Some(authorization) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return answer(StatusCode::UNAUTHORIZED);
    };
    let Ok(key) = sebaya_relay::webpush::verify_token(authorization, &gw.origin, crate::unix_now())
    else {
        tracing::info!(outcome = "bad-vapid", "wake-up refused");
        return answer(StatusCode::UNAUTHORIZED);
    };
    if let Some(keys) = &gw.relay_keys {
        if !keys.contains(&key) {
            tracing::info!(outcome = "unknown-relay", "wake-up refused");
            return answer(StatusCode::FORBIDDEN);
        }
    }
    if !headers_ok(&headers) {
        return answer(StatusCode::BAD_REQUEST);
    }
    // Read to the bound, then drop: the body is the device's, sealed to it.
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) if !b.is_empty() => drop(b),
        Ok(_) => return answer(StatusCode::BAD_REQUEST),
        Err(_) => return answer(StatusCode::PAYLOAD_TOO_LARGE),
    }
    // Held until the provider has answered. Taken before the token's count, so that a wake-up the
    // gateway is too busy for does not use up the token's minute.
    let Ok(_permit) = gw.in_flight.try_acquire() else {
        tracing::warn!(outcome = "busy", "wake-up refused");
        return answer_after(StatusCode::SERVICE_UNAVAILABLE, Some(BUSY_RETRY));
    };
    // Past its limit a token's wake-up is dropped as delivered: the phone was woken within the
    // minute, and a 429 would make the relay hold back every phone behind this gateway (review G1).
    let Some(_share) = gw.per_key.take(key) else {
        tracing::warn!(outcome = "busy-relay", "wake-up refused");
        return answer_after(StatusCode::SERVICE_UNAVAILABLE, Some(BUSY_RETRY));
    };
    match gw.limiter.check(&token, Instant::now()) {
        Ok(()) => {}
        Err(Refused::OverLimit(_)) => {
            tracing::info!(outcome = "rate-limited", "wake-up dropped");
            return answer(StatusCode::CREATED);
        }
        // Gateway-wide: said as such, so the relay waits and the operator sees it (review G8).
        Err(Refused::Full) => {
            tracing::warn!(outcome = "limit-table-full", "wake-up refused");
            return answer_after(StatusCode::SERVICE_UNAVAILABLE, Some(limit::WINDOW));
        }
    }
    let outcome = match (provider, &gw.fcm, &gw.apns) {
        (Provider::Fcm, Some(fcm), _) => fcm.send(&token, mode).await,
        (Provider::Apns, _, Some(apns)) => apns.send(&token, mode).await,
        // Checked above.
        _ => return answer(StatusCode::NOT_FOUND),
    };
    let provider_name = match provider {
        Provider::Fcm => "fcm",
        Provider::Apns => "apns",
    };
    tracing::info!(
        provider = provider_name,
        outcome = outcome.label(),
        "wake-up"
    );
    match outcome {
        Outcome::Sent | Outcome::Dropped => answer(StatusCode::CREATED),
        Outcome::Gone => answer(StatusCode::GONE),
        Outcome::Throttled(after) => answer_after(StatusCode::TOO_MANY_REQUESTS, after),
        Outcome::Unavailable(after) => answer_after(StatusCode::SERVICE_UNAVAILABLE, after),
        Outcome::Failed => answer(StatusCode::BAD_REQUEST),
    }
}
