//! HTTP endpoints of the relay.
//!
//! | method, path | auth | answer |
//! |---|---|---|
//! | `GET /v1/info` | none | JSON `{"relay_id": hex, "time": unix secs, "protocol": 1}` (and `"programmes": [hex]` when it admits programmes' people, protocol 9.8): what a device needs to sign |
//! | `POST /v1/sync` | signed | CBOR `SyncRequest` in, CBOR `SyncResponse` out |
//! | `POST /v1/wait` | signed | CBOR `WaitRequest` in, CBOR `WaitResponse` out once a named space changed or the wait timed out (`api/wait.rs`, protocol 28) |
//! | `GET /v1/openapi.json` | none | the OpenAPI 3.1 description of these endpoints ([`OPENAPI`]) |
//! | `GET /healthz` | none | `200 ok` while the process serves HTTP |
//! | `GET /readyz` | none | `200 ready` when the store answers a query, else `503` |
//!
//! Every refusal is JSON `{"error": code, "message": English sentence}`; every 401 also carries
//! `"relay_time"` so a device with a wrong clock can correct it and retry. Messages are fixed sentences:
//! nothing from the request (and no envelope content) is echoed or logged. A refused request stores
//! nothing.
//!
//! Handlers never block the executor: the store and signature checks run in `spawn_blocking`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sebaya_proto::request::{RequestAuth, TIME_WINDOW_SECS};
use sebaya_proto::sync::{self, MAX_MESSAGE_LEN, SYNC_VERSION, SyncRequest};
use sebaya_proto::{ProtoError, SpaceId};
use serde::Serialize;

mod observe;
mod push;
mod wait;

pub use observe::metrics_router;

use crate::access::Access;
use crate::exchange::{self, ExchangeError, SyncInput};
use crate::store::{RelayId, RelayStore};

/// Path of the sync endpoint, exactly as signed.
pub const SYNC_PATH: &str = "/v1/sync";
/// Content type of sync requests and answers.
pub const CBOR_CONTENT_TYPE: &str = "application/cbor";

/// Shared state of every handler: the store, the relay id read from it, and the spaces' membership
/// logs. Cheap to clone.
#[derive(Clone)]
pub struct RelayState {
    store: Arc<dyn RelayStore>,
    relay_id: RelayId,
    access: Arc<Access>,
    snapshots: Arc<exchange::SnapshotPolicy>,
    metrics: Arc<crate::metrics::Metrics>,
    live: Arc<crate::live::Live>,
    /// With PostgreSQL: what tells the other nodes sharing the database of this node's pushes.
    fanout: Option<Arc<crate::postgres::Fanout>>,
    /// The wake-up sender and its key (protocol 28.8); without one the relay sends none, notes no
    /// readers and `POST /v1/push` is not found.
    wakeups: Option<Arc<crate::wakeups::Wakeups>>,
}

impl std::fmt::Debug for RelayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayState")
            .field("relay_id", &self.relay_id)
            .finish()
    }
}

impl RelayState {
    /// Wraps any store. The relay id is read from it once, here. Membership logs are read from the
    /// store when first needed, and cached; from a store other processes share
    /// ([`RelayStore::shared`]), a cached log is checked against the store whenever it is used.
    pub fn new(store: Arc<dyn RelayStore>) -> RelayState {
        let relay_id = store.relay_id();
        RelayState {
            store,
            relay_id,
            access: Arc::new(Access::new()),
            snapshots: Arc::new(exchange::SnapshotPolicy::default()),
            metrics: Arc::new(crate::metrics::Metrics::default()),
            live: Arc::new(crate::live::Live::new(crate::live::LiveLimits::default())),
            fanout: None,
            wakeups: None,
        }
    }

    /// Sends wake-ups (protocol 28.8) signed with `key` and takes devices' registrations for them
    /// (28.9), answering with `key`'s public half. The store is bound to `key` the first time; a
    /// store bound to another key refuses (review finding F2: every node of one database must sign
    /// with the key devices subscribed with). Blocks on the store: call before serving, outside the
    /// runtime or from a blocking thread.
    pub fn with_push_key(
        mut self,
        key: crate::webpush::VapidKey,
        settings: crate::wakeups::WakeSettings,
    ) -> Result<RelayState, crate::wakeups::KeyError> {
        if !self.store.bind_push_key(&key.public_key())? {
            return Err(crate::wakeups::KeyError::Mismatch);
        }
        self.wakeups = Some(Arc::new(crate::wakeups::Wakeups::new(key, settings)));
        Ok(self)
    }

    /// Starts the wake-up sender, if wake-ups are on ([`crate::serve`] does, on its runtime).
    pub(crate) fn start_wakeups(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.wakeups.as_ref()?.start(
            self.store.clone(),
            self.access.clone(),
            self.metrics.clone(),
        )
    }

    /// Sets how many live waits (section 28) the relay holds per device and in all (default
    /// [`crate::live::LiveLimits::default`]). Call before serving.
    pub fn with_live_limits(mut self, limits: crate::live::LiveLimits) -> RelayState {
        self.live = Arc::new(crate::live::Live::new(limits));
        self
    }

    /// The live waits open now: [`crate::serve`] closes them when it shuts down.
    pub fn live(&self) -> Arc<crate::live::Live> {
        self.live.clone()
    }

    /// Sets how long envelopes covered by a snapshot stay before they are pruned (`None`: never;
    /// default [`exchange::DEFAULT_SNAPSHOT_RETENTION_SECS`]; tests use 0).
    pub fn with_snapshot_retention(mut self, secs: Option<u64>) -> RelayState {
        self.snapshots = Arc::new(exchange::SnapshotPolicy::new(secs));
        self
    }

    /// Sets the bounds on what authors, spaces and the whole relay may store (default
    /// [`crate::quota::Quotas::default`]). Call before serving.
    pub fn with_quotas(mut self, quotas: crate::quota::Quotas) -> RelayState {
        self.access = self.access_with(
            self.access.cache_budget(),
            quotas,
            self.access.admissions().policy().clone(),
        );
        self
    }

    /// Sets the memory bound of the membership-log cache, in bytes as
    /// [`crate::access::CACHE_BUDGET_BYTES`] counts them (default that constant). An operator of a
    /// small machine lowers it: logs left out are rebuilt from the store when next needed. Keeps the
    /// quotas and admission policy already set. Call before serving.
    pub fn with_log_cache(mut self, bytes: usize) -> RelayState {
        self.access = self.access_with(
            bytes,
            *self.access.quotas(),
            self.access.admissions().policy().clone(),
        );
        self
    }

    /// Sets who may store here (default: everyone; [`crate::admission`]). Call before serving.
    pub fn with_admission(mut self, policy: crate::admission::Policy) -> RelayState {
        self.access = self.access_with(self.access.cache_budget(), *self.access.quotas(), policy);
        self
    }

    /// A fresh [`Access`] with these settings: the `with_*` setters each change one and keep the
    /// others (before serving, nothing is cached yet that a fresh one would lose).
    fn access_with(
        &self,
        budget: usize,
        quotas: crate::quota::Quotas,
        policy: crate::admission::Policy,
    ) -> Arc<Access> {
        Arc::new(
            Access::with_cache_budget(budget)
                .with_quotas(quotas)
                .with_admission(policy),
        )
    }

    /// Proofs of admission that admitted nothing since this state was made.
    pub fn admission_refusals(&self) -> u64 {
        self.access.admission_refusals()
    }

    /// Envelopes refused for quota since this state was made.
    pub fn quota_refusals(&self) -> u64 {
        self.access.quota_refusals()
    }

    /// Opens the default SQLite store in `data_dir` (created if missing). Blocks on disk I/O: call it
    /// before starting the runtime or from a blocking context.
    pub fn open(data_dir: &std::path::Path) -> Result<RelayState, crate::StoreError> {
        let store = crate::SqliteStore::open(data_dir)?;
        Ok(RelayState::new(Arc::new(store)))
    }

    /// Opens the store `database` chooses (SQLite or PostgreSQL). Blocks: call it before starting
    /// the runtime or from a blocking context.
    ///
    /// With PostgreSQL the state also holds the node's live fan-out: [`crate::serve`] runs it, so
    /// that a push through any node wakes the waits every node holds (`postgres/fanout.rs`).
    pub fn open_database(database: &crate::Database) -> Result<RelayState, crate::StoreError> {
        let mut state = RelayState::new(database.open()?);
        if let crate::Database::Postgres(url) = database {
            state.fanout = Some(Arc::new(crate::postgres::Fanout::new(
                url,
                &state.relay_id,
            )?));
        }
        Ok(state)
    }

    /// The live fan-out to the other nodes, when the store is shared through PostgreSQL.
    pub(crate) fn fanout(&self) -> Option<Arc<crate::postgres::Fanout>> {
        self.fanout.clone()
    }

    /// The relay's id.
    pub fn relay_id(&self) -> RelayId {
        self.relay_id
    }

    /// The relay's counters: what [`metrics_router`] serves; the accept loop counts connections.
    pub fn metrics(&self) -> Arc<crate::metrics::Metrics> {
        self.metrics.clone()
    }
}

/// Path of the OpenAPI document.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// The OpenAPI 3.1 description of [`ROUTES`], written by hand (`api/openapi.json`) and served as is.
pub const OPENAPI: &str = include_str!("api/openapi.json");

/// Every route the relay serves, as (method, path): [`router`] serves exactly these, and a test
/// checks that the OpenAPI document describes exactly these.
pub const ROUTES: [(&str, &str); 7] = [
    ("get", "/v1/info"),
    ("post", SYNC_PATH),
    ("post", sebaya_proto::live::WAIT_PATH),
    ("post", sebaya_proto::push::PUSH_PATH),
    ("get", OPENAPI_PATH),
    ("get", "/healthz"),
    ("get", "/readyz"),
];

/// The handler of each entry of [`ROUTES`], in the same order.
fn handlers() -> [axum::routing::MethodRouter<RelayState>; ROUTES.len()] {
    [
        get(info),
        post(sync_handler),
        post(wait::wait_handler),
        post(push::push_handler),
        get(openapi),
        get(healthz),
        get(readyz),
    ]
}

/// The relay's routes with their body limit, each request counted and written to the access log.
/// Serve it with [`crate::serve`] or any axum-compatible server.
pub fn router(state: RelayState) -> Router {
    let metrics = state.metrics.clone();
    let mut router = Router::new();
    for ((_, path), handler) in ROUTES.into_iter().zip(handlers()) {
        router = router.route(path, handler);
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_LEN))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            observe::track,
        ))
        .with_state(state)
}

/// The relay's clock, Unix seconds. A clock before 1970 reads as 0 (and every request then looks skewed,
/// which is the honest answer).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A refused request: a status, a stable code, a fixed sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Authentication headers missing or unreadable. 401 `unsigned`.
    #[error(
        "the request is not signed: the sebaya-device, sebaya-time, sebaya-request-id and sebaya-signature headers are required"
    )]
    Unsigned,
    /// The signature does not verify for this relay, method, path and body. 401 `bad-signature`.
    #[error("the request signature does not verify")]
    BadSignature,
    /// The signed time is outside the relay's window. 401 `clock-skew`.
    #[error(
        "the request time is too far from the relay's time; correct the clock with relay_time and retry"
    )]
    ClockSkew,
    /// The device already used this request id. 409 `replayed-request`.
    #[error("this request id was already used; sign a new request")]
    Replayed,
    /// Body over `MAX_MESSAGE_LEN`. 413 `too-large`.
    #[error("the request body exceeds the size limit")]
    TooLarge,
    /// Body not a valid `SyncRequest`. 400 `malformed`.
    #[error("the request body is not a valid sync request")]
    Malformed,
    /// Content type other than CBOR. 415 `unsupported-media-type`.
    #[error("the request body must be application/cbor")]
    UnsupportedMediaType,
    /// No such endpoint. 404 `not-found`.
    #[error("no such endpoint")]
    NotFound,
    /// The store did not answer the readiness query. 503 `not-ready`.
    #[error("the relay's store is not ready")]
    NotReady,
    /// The store failed. 500 `internal`.
    #[error("the relay could not complete the request; retry later")]
    Internal,
    /// A wait names no space the device may read (section 28): the same answer whether the spaces
    /// exist or not. 403 `not-a-member`.
    #[error("this device may not wait on any of the named spaces")]
    NothingToWaitOn,
    /// A subscription from a device the relay has given no space (section 28.9): sync first.
    /// 403 `not-a-member`.
    #[error("this device reads no space at this relay yet; sync first")]
    NotAReader,
    /// The device already holds as many waits as the relay allows one device. 429 `too-many-waits`.
    #[error("this device already holds as many waits as the relay allows; end one first")]
    TooManyWaits,
    /// The relay already holds as many waits as it allows in all. 503 `relay-busy`.
    #[error("the relay holds as many waits as it can; sync instead and wait again later")]
    RelayBusy,
    /// The relay keeps as many wake-up subscriptions as it allows in all (section 28.9). 503
    /// `relay-busy`.
    #[error("the relay keeps as many wake-up subscriptions as it can; sync without wake-ups")]
    SubscriptionsFull,
    /// As many other devices as the relay allows hold subscriptions naming this endpoint (section
    /// 28.9). 409 `endpoint-taken`.
    #[error("other devices already hold this push endpoint")]
    EndpointTaken,
}

impl ApiError {
    /// HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ApiError::Unsigned | ApiError::BadSignature | ApiError::ClockSkew => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Replayed | ApiError::EndpointTaken => StatusCode::CONFLICT,
            ApiError::NothingToWaitOn | ApiError::NotAReader => StatusCode::FORBIDDEN,
            ApiError::TooManyWaits => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Malformed => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::NotReady | ApiError::RelayBusy | ApiError::SubscriptionsFull => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code (the `error` field).
    pub fn code(self) -> &'static str {
        match self {
            ApiError::Unsigned => "unsigned",
            ApiError::BadSignature => "bad-signature",
            ApiError::ClockSkew => "clock-skew",
            ApiError::Replayed => "replayed-request",
            ApiError::TooLarge => "too-large",
            ApiError::Malformed => "malformed",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::NotFound => "not-found",
            ApiError::NotReady => "not-ready",
            ApiError::Internal => "internal",
            ApiError::NothingToWaitOn | ApiError::NotAReader => "not-a-member",
            ApiError::TooManyWaits => "too-many-waits",
            ApiError::RelayBusy | ApiError::SubscriptionsFull => "relay-busy",
            ApiError::EndpointTaken => "endpoint-taken",
        }
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    relay_time: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let relay_time = (self.status() == StatusCode::UNAUTHORIZED).then(unix_now);
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
            relay_time,
        };
        let mut response = (self.status(), Json(body)).into_response();
        // For the access log and the metrics: the code, never anything of the request.
        response.extensions_mut().insert(self);
        response
    }
}

#[derive(Serialize)]
struct InfoBody {
    relay_id: String,
    time: u64,
    protocol: u8,
    /// The programmes whose people this relay admits (protocol 9.8), hex; left out when it lists
    /// none, so a device shows no credential to a relay that has no use for one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    programmes: Vec<String>,
}

async fn info(State(state): State<RelayState>) -> Json<InfoBody> {
    Json(InfoBody {
        relay_id: state.relay_id.to_hex(),
        time: unix_now(),
        protocol: SYNC_VERSION,
        programmes: state
            .access
            .admissions()
            .policy()
            .programmes
            .iter()
            .map(hex::encode)
            .collect(),
    })
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<RelayState>) -> Response {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.ping()).await {
        Ok(Ok(())) => "ready".into_response(),
        _ => ApiError::NotReady.into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn sync_handler(State(state): State<RelayState>, request: Request) -> Response {
    match sync_inner(state, request).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, CBOR_CONTENT_TYPE)], bytes).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Refuses a declared length over the limit before reading a byte of the body.
fn check_declared_length(headers: &HeaderMap) -> Result<(), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > MAX_MESSAGE_LEN as u64 => Err(ApiError::TooLarge),
        _ => Ok(()),
    }
}

/// Accepts a missing content type (some clients omit it) or CBOR; refuses anything else.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .map_err(|_| ApiError::UnsupportedMediaType)?
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    if essence.eq_ignore_ascii_case(CBOR_CONTENT_TYPE) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

fn authenticate(
    headers: &HeaderMap,
    relay_id: &RelayId,
    path: &str,
    body: &[u8],
    now: u64,
) -> Result<RequestAuth, ApiError> {
    let auth = RequestAuth::from_headers(|name| headers.get(name).and_then(|v| v.to_str().ok()))
        .map_err(|_| ApiError::Unsigned)?;
    auth.verify(&relay_id.0, "POST", path, body)
        .map_err(|_| ApiError::BadSignature)?;
    if auth.timestamp.abs_diff(now) > TIME_WINDOW_SECS {
        return Err(ApiError::ClockSkew);
    }
    Ok(auth)
}

/// Decodes and checks the body; converts the wire vectors. Any fault is `malformed`.
fn decode_request(body: &[u8]) -> Result<SyncRequest, ApiError> {
    let req: SyncRequest = sync::decode(body).map_err(|_| ApiError::Malformed)?;
    req.check().map_err(|_| ApiError::Malformed)?;
    Ok(req)
}

/// The checks every signed endpoint makes before it reads (a declared length over the limit, a
/// media type other than CBOR), then its headers and whole body. The body limit layer caps what
/// this reads at MAX_MESSAGE_LEN, also for chunked bodies.
pub(super) async fn read_signed_body(request: Request) -> Result<(HeaderMap, Bytes), ApiError> {
    check_declared_length(request.headers())?;
    check_content_type(request.headers())?;
    let headers = request.headers().clone();
    let body = Bytes::from_request(request, &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::Malformed
            }
        })?;
    Ok((headers, body))
}

async fn sync_inner(state: RelayState, request: Request) -> Result<Vec<u8>, ApiError> {
    let (headers, body) = read_signed_body(request).await?;

    let store = state.store.clone();
    let access = state.access.clone();
    let snapshots = state.snapshots.clone();
    let relay_id = state.relay_id;
    let metrics = state.metrics.clone();
    let live = state.live.clone();
    let fanout = state.fanout.clone();
    let wakeups = state.wakeups.clone();
    let now = unix_now();
    let job = move || -> Result<Vec<u8>, ApiError> {
        let auth = authenticate(&headers, &relay_id, SYNC_PATH, &body, now)?;
        let req = decode_request(&body)?;
        let mut seen = HashSet::with_capacity(req.spaces.len());
        let mut spaces = Vec::with_capacity(req.spaces.len());
        let mut oversized = Vec::new();
        for sv in &req.spaces {
            let space = SpaceId::from_slice(&sv.space).map_err(|_| ApiError::Malformed)?;
            if !seen.insert(space) {
                return Err(ApiError::Malformed);
            }
            match sv.parse() {
                Ok((_, vector)) => spaces.push((space, vector)),
                // One space's vector too large for the protocol is refused alone (issue 15, item 3).
                Err(ProtoError::TooLarge { .. }) => oversized.push(space),
                Err(_) => return Err(ApiError::Malformed),
            }
        }
        let pushed = req.envelopes.len();
        let input = SyncInput {
            oversized,
            admission: req.admission,
            device: auth.device,
            request_id: auth.request_id,
            timestamp: auth.timestamp,
            now,
            spaces,
            envelopes: req.envelopes,
            max_response_bytes: req.max_response_bytes,
            join_requests: req.join_requests,
            join_answers: req.join_answers,
            taken_join_answers: req.taken_join_answers,
            // `check` has bounded the list and the length of each id.
            erase: req
                .erase
                .iter()
                .filter_map(|s| sebaya_proto::SpaceId::from_slice(s).ok())
                .collect(),
            erasures: req.erasures,
        };
        // This node's waits, then (with PostgreSQL) the other nodes'.
        let others: &dyn crate::live::Notifier = match &fanout {
            Some(f) => f.as_ref(),
            None => &crate::live::Silent,
        };
        // And this node's wake-ups of offline devices (protocol 28.8).
        let wakes: &dyn crate::live::Notifier = match &wakeups {
            Some(w) => w.as_ref(),
            None => &crate::live::Silent,
        };
        let others = (others, wakes);
        let notifier = (live.as_ref(), &others);
        let response = exchange::run_noting(store.as_ref(), &access, input, &snapshots, &notifier)
            .map_err(|e| match e {
                ExchangeError::Replayed => ApiError::Replayed,
                ExchangeError::Store(err) => {
                    // Operators need to learn about a failing disk; the message holds no request content.
                    tracing::error!(error = %err, "store error during sync");
                    ApiError::Internal
                }
            })?;
        observe::count_answer(&metrics, pushed, &response);
        sync::encode(&response).map_err(|_| ApiError::Internal)
    };
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|_| ApiError::Internal)?
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// Setting the log cache's bound keeps the quotas, and setting the quotas keeps the bound.
    #[test]
    fn the_log_cache_bound_and_the_quotas_keep_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = crate::quota::Quotas {
            device_bytes: 5 << 20,
            ..Default::default()
        };
        let a = RelayState::open(dir.path())
            .unwrap()
            .with_log_cache(1 << 20)
            .with_quotas(quotas);
        let b = RelayState::open(dir.path())
            .unwrap()
            .with_quotas(quotas)
            .with_log_cache(1 << 20);
        for s in [a, b] {
            assert_eq!(s.access.cache_budget(), 1 << 20);
            assert_eq!(s.access.quotas().device_bytes, 5 << 20);
        }
    }

    /// The OpenAPI document describes exactly the routes the router serves, and every error code.
    #[test]
    fn the_openapi_document_describes_every_route_and_error() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for (method, path) in ROUTES {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} is not described"
            );
        }
        let described: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(
            described,
            ROUTES.len(),
            "the document describes a route not served"
        );
        let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
            .as_array()
            .unwrap();
        for e in ALL_ERRORS {
            assert!(codes.iter().any(|c| c == e.code()), "{} missing", e.code());
        }
        assert_eq!(codes.len(), ALL_ERRORS.len());
    }

    const ALL_ERRORS: [ApiError; 14] = [
        ApiError::Unsigned,
        ApiError::BadSignature,
        ApiError::ClockSkew,
        ApiError::Replayed,
        ApiError::TooLarge,
        ApiError::Malformed,
        ApiError::UnsupportedMediaType,
        ApiError::NotFound,
        ApiError::NotReady,
        ApiError::Internal,
        ApiError::NothingToWaitOn,
        ApiError::TooManyWaits,
        ApiError::RelayBusy,
        ApiError::EndpointTaken,
    ];

    /// Protocol section 11 lists every error a request refused as a whole can get, with its status
    /// and code as this enum writes them; a new error without a row (or a changed code) fails here.
    #[test]
    fn every_error_is_a_row_of_section_11() {
        let doc = include_str!("../../docs/protocol.md");
        let start = doc.find("## 11. Relay endpoints").unwrap_or(0);
        let end = doc.find("## 12. Versioning rules").unwrap_or(doc.len());
        let eleven = &doc[start..end];
        let all = ALL_ERRORS;
        for e in all {
            let row = format!("| {} | `{}` |", e.status().as_u16(), e.code());
            assert!(eleven.contains(&row), "section 11 lacks the row {row}");
        }
        let rows = eleven
            .lines()
            .filter(|l| {
                l.len() > 6 && l.starts_with("| ") && l[2..5].bytes().all(|b| b.is_ascii_digit())
            })
            .count();
        assert_eq!(
            rows,
            all.len(),
            "section 11 lists an error the relay does not have"
        );
    }
}
