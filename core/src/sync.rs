//! Sync with a relay: one signed HTTP request pushes what the relay has not acknowledged and pulls what
//! this device lacks, for every space at once; paged answers continue until nothing is left.
//!
//! HTTP sits behind [`HttpClient`] so an app can hand in its platform's HTTP stack; [`ReqwestClient`]
//! (blocking, rustls on ring) is the default. Every step is idempotent: an interrupted sync loses
//! nothing, and the next one re-sends only what the relay has not acknowledged.
//!
//! Performs network I/O and blocks: never call it on a UI thread or inside an async runtime.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use sebaya_proto::request::RequestAuth;
use sebaya_proto::sync::{self as wire, SpaceVector, SyncRequest, SyncResponse};

use crate::crypto;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::space::Space;
use crate::vault::Store;

/// An HTTP request as the core needs it: small, explicit, easy for a platform to implement.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// "GET" or "POST".
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Extra headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for GET).
    pub body: Vec<u8>,
}

/// An HTTP answer.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The one network capability sync needs. Implementations return `Err` only when no HTTP answer
/// arrived (no route, timeout, TLS failure); any status code is an `Ok`.
pub trait HttpClient: Send + Sync {
    /// Sends one request and waits for its answer.
    fn send(&self, request: HttpRequest) -> std::result::Result<HttpResponse, String>;
}

/// The default HTTP client: reqwest, blocking, rustls on ring (no OpenSSL, no second crypto library).
pub struct ReqwestClient {
    client: reqwest::blocking::Client,
}

impl ReqwestClient {
    /// Builds a client with a 60-second timeout per request.
    pub fn new() -> Result<ReqwestClient> {
        // Installing the provider twice is harmless; the second call reports the first one won.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Network(format!("cannot build HTTP client: {e}")))?;
        Ok(ReqwestClient { client })
    }
}

impl HttpClient for ReqwestClient {
    fn send(&self, request: HttpRequest) -> std::result::Result<HttpResponse, String> {
        let mut rb = match request.method.as_str() {
            "GET" => self.client.get(&request.url),
            "POST" => self.client.post(&request.url).body(request.body),
            other => return Err(format!("unsupported method {other}")),
        };
        for (k, v) in &request.headers {
            rb = rb.header(k, v);
        }
        let resp = rb.send().map_err(|e| describe_reqwest(&e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().map_err(|e| describe_reqwest(&e))?.to_vec();
        Ok(HttpResponse { status, body })
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    // Never include the URL's query or any body: only the kind of failure.
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "request failed".into()
    }
}

/// What one sync did, for the app's status line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Envelopes sent and acknowledged.
    pub pushed: u32,
    /// Envelopes received and newly stored.
    pub pulled: u32,
    /// Envelopes whose changes reached the document.
    pub applied: u32,
    /// Received envelopes set aside (content could not be applied).
    pub quarantined: u32,
    /// Pushed envelopes the relay refused.
    pub rejected: u32,
    /// HTTP round trips made.
    pub round_trips: u32,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
}

#[derive(Deserialize)]
struct RelayInfo {
    relay_id: String,
    time: u64,
}

#[derive(Deserialize)]
struct RelayErrorBody {
    error: String,
    #[serde(default)]
    relay_time: Option<u64>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Largest push batch per request, leaving room under the relay's message limit.
const MAX_PUSH_BYTES: usize = 8 * 1024 * 1024;
/// Largest answer page asked for.
const PAGE_BYTES: u64 = 4 * 1024 * 1024;
/// Round trips after which a sync stops and reports (it resumes on the next call).
const MAX_ROUNDS: u32 = 10_000;

/// Syncs the given spaces with the relay at `base_url`.
pub fn sync_spaces(
    store: &Store,
    identity: &Identity,
    spaces: &mut [&mut Space],
    http: &dyn HttpClient,
    base_url: &str,
) -> Result<SyncReport> {
    let base = base_url.trim_end_matches('/');
    let mut report = SyncReport::default();
    let info = http
        .send(HttpRequest {
            method: "GET".into(),
            url: format!("{base}/v1/info"),
            headers: vec![],
            body: vec![],
        })
        .map_err(Error::Network)?;
    report.round_trips += 1;
    report.bytes_received += info.body.len() as u64;
    if info.status != 200 {
        return Err(Error::Relay {
            status: info.status,
            code: "info-unavailable".into(),
        });
    }
    let info: RelayInfo = serde_json::from_slice(&info.body).map_err(|_| Error::Relay {
        status: 200,
        code: "bad-info".into(),
    })?;
    let relay_id = hex::decode(&info.relay_id).map_err(|_| Error::Relay {
        status: 200,
        code: "bad-info".into(),
    })?;
    let mut offset = info.time as i64 - now_secs();
    // What has been sent in this sync and not yet acknowledged, so a refused envelope is not re-sent
    // in a loop.
    let mut sent: std::collections::HashSet<[u8; 32]> = std::collections::HashSet::new();

    for _ in 0..MAX_ROUNDS {
        let mut push: Vec<serde_bytes::ByteBuf> = Vec::new();
        let mut push_bytes = 0usize;
        let mut left_unpushed = false;
        for s in spaces.iter() {
            for env in s.unacked(store)? {
                let id = crypto::sha256(&env);
                if sent.contains(&id) {
                    continue;
                }
                if push_bytes + env.len() > MAX_PUSH_BYTES && !push.is_empty() {
                    left_unpushed = true;
                    break;
                }
                push_bytes += env.len();
                sent.insert(id);
                push.push(serde_bytes::ByteBuf::from(env));
            }
        }
        let pushed_now = push.len() as u32;
        let req = SyncRequest {
            v: wire::SYNC_VERSION,
            spaces: spaces
                .iter()
                .map(|s| SpaceVector::new(s.id, s.vector.contiguous()))
                .collect(),
            envelopes: push,
            max_response_bytes: PAGE_BYTES,
        };
        let body = wire::encode(&req)?;
        let mut attempt = 0;
        let resp = loop {
            attempt += 1;
            let ts = (now_secs() + offset).max(0) as u64;
            let auth = RequestAuth::sign(
                &identity.signing_key()?,
                identity.device,
                &relay_id,
                "POST",
                "/v1/sync",
                ts,
                crypto::random()?,
                &body,
            )?;
            let mut headers: Vec<(String, String)> = auth
                .to_headers()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            headers.push(("content-type".into(), "application/cbor".into()));
            let r = http
                .send(HttpRequest {
                    method: "POST".into(),
                    url: format!("{base}/v1/sync"),
                    headers,
                    body: body.clone(),
                })
                .map_err(Error::Network)?;
            report.round_trips += 1;
            report.bytes_sent += body.len() as u64;
            report.bytes_received += r.body.len() as u64;
            if r.status == 200 {
                break r;
            }
            let err: Option<RelayErrorBody> = serde_json::from_slice(&r.body).ok();
            let code = err
                .as_ref()
                .map(|e| e.error.clone())
                .unwrap_or_else(|| "unknown".into());
            if code == "clock-skew" && attempt == 1 {
                if let Some(t) = err.and_then(|e| e.relay_time) {
                    offset = t as i64 - now_secs();
                    continue;
                }
            }
            return Err(Error::Relay {
                status: r.status,
                code,
            });
        };
        let answer: SyncResponse = wire::decode(&resp.body)?;
        answer.check()?;
        report.rejected += answer.rejected.len() as u32;
        report.pushed += pushed_now.saturating_sub(answer.rejected.len() as u32);
        let incoming: Vec<Vec<u8>> = answer.envelopes.into_iter().map(|b| b.into_vec()).collect();
        for s in spaces.iter_mut() {
            let mine: Vec<Vec<u8>> = incoming
                .iter()
                .filter(|e| e.len() >= 22 && e[6..22] == s.id.0)
                .cloned()
                .collect();
            if !mine.is_empty() {
                let r = s.receive(store, &mine)?;
                report.pulled += r.stored;
                report.applied += r.applied;
                report.quarantined += r.quarantined;
            }
            if let Some(v) = answer.spaces.iter().find(|v| v.space == s.id.0) {
                let (_, acked) = v.parse()?;
                s.set_relay_acked(store, acked)?;
            }
        }
        if !answer.more && !left_unpushed {
            break;
        }
    }
    Ok(report)
}
