//! What the relay tells its operator about each request: one access-log line and the metrics.
//!
//! The access log names the method, the route *template* (`/v1/sync`, never a raw path: a path a
//! client typed may hold anything), the status, the refusal code if any, the time taken and the
//! bytes in and out. It never names the client's address, a space, a device, a person or a request
//! id, at any level: who talks to a peer-support relay, and when, is itself sensitive. The same
//! holds for the metrics' labels ([`crate::metrics`]).

use std::sync::Arc;
use std::time::Instant;

use axum::body::HttpBody;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sebaya_proto::sync::SyncResponse;

use super::{ApiError, RelayState, SYNC_PATH};
use crate::metrics::{Metrics, Scope, Stored};

/// Route label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// The method as a label: the standard ones by name, anything else (a client may send any token)
/// as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware of every route: times the request, counts it, and writes its access-log line.
pub(super) async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, |p| p.as_str())
        .to_string();
    let bytes_in = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let response = next.run(request).await;
    let took = start.elapsed();
    let status = response.status().as_u16();
    let refusal = response.extensions().get::<ApiError>().map(|e| e.code());
    if let Some(code) = refusal {
        metrics.refused(Scope::Request, code, 1);
    }
    metrics.request(&route, status);
    if route == SYNC_PATH {
        metrics.sync_took(took);
    }
    let bytes_out = response.body().size_hint().exact().unwrap_or(0);
    tracing::info!(
        target: "sebaya_relay::access",
        method,
        route = route.as_str(),
        status,
        error = refusal.unwrap_or(""),
        duration_ms = took.as_secs_f64() * 1000.0,
        bytes_in,
        bytes_out,
        "request"
    );
    response
}

/// Counts what one sync answer refused and accepted. Only codes: never which space or envelope.
pub(super) fn count_answer(metrics: &Metrics, pushed: usize, answer: &SyncResponse) {
    for r in &answer.rejected {
        metrics.refused(Scope::Envelope, &r.reason, 1);
    }
    for r in &answer.refused_spaces {
        metrics.refused(Scope::Space, &r.reason, 1);
    }
    for r in &answer.refused_join_requests {
        metrics.refused(Scope::JoinRequest, &r.reason, 1);
    }
    for r in &answer.refused_join_answers {
        metrics.refused(Scope::JoinAnswer, &r.reason, 1);
    }
    for r in &answer.refused_erase {
        metrics.refused(Scope::Erase, &r.reason, 1);
    }
    let accepted = pushed.saturating_sub(answer.rejected.len());
    metrics.accepted(u64::try_from(accepted).unwrap_or(u64::MAX));
}

/// The metrics listener's routes: `GET /metrics` only. Serve it on its own address
/// (`--metrics-bind`), never on the relay's public one.
pub fn metrics_router(state: RelayState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(state)
}

async fn metrics(State(state): State<RelayState>) -> Response {
    let store = state.store.clone();
    let stored = tokio::task::spawn_blocking(move || store.usage(&[], &[], &[]))
        .await
        .ok()
        .and_then(Result::ok)
        .map(|u| Stored {
            envelopes: u.total.envelopes,
            bytes: u.total.bytes,
        });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(stored),
    )
        .into_response()
}
