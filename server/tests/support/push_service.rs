//! A Web Push service on loopback for the wake-up tests: it checks every request as a push service
//! does (RFC 8030 headers, a VAPID token by the relay's key for this endpoint's origin, RFC 8292; a
//! body that decrypts with the subscription's private key, RFC 8291) and records what arrived, and
//! answers each endpoint as the test tells it (200 by default; 410 gone, 429 with `Retry-After`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sebaya_proto::push::PushSubscription;
use serde_bytes::ByteBuf;

/// One subscription at this service: its endpoint and its private key (which only a device and its
/// push service know; here the test).
pub struct Sub {
    pub endpoint: String,
    pub path: String,
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Sub {
    /// What a device registers at the relay.
    pub fn registration(&self) -> PushSubscription {
        let point = self.secret.public_key().to_encoded_point(false);
        PushSubscription {
            endpoint: self.endpoint.clone(),
            p256dh: ByteBuf::from(point.as_bytes().to_vec()),
            auth: ByteBuf::from(self.auth.to_vec()),
        }
    }
}

/// One request that reached the service and passed every check.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub path: String,
    pub at: Instant,
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    relay_key: Option<[u8; 65]>,
    subs: HashMap<String, (p256::SecretKey, [u8; 16], String)>,
    answers: HashMap<String, VecDeque<(u16, Option<u64>)>>,
    arrivals: Vec<Arrival>,
    problems: Vec<String>,
}

/// The service, served on its own runtime until dropped.
pub struct PushService {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl PushService {
    pub fn start() -> PushService {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/push/{id}", axum::routing::post(receive))
            .with_state(inner.clone());
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PushService {
            base: format!("http://{addr}"),
            inner,
            runtime: Some(runtime),
        }
    }

    /// The relay's VAPID public key, which every token must be signed by.
    pub fn expect_key(&self, key: [u8; 65]) {
        self.inner.lock().unwrap().relay_key = Some(key);
    }

    /// A new subscription named `id`.
    pub fn subscribe(&self, id: &str) -> Sub {
        let rng = ring::rand::SystemRandom::new();
        let secret = loop {
            let mut bytes = [0u8; 32];
            ring::rand::SecureRandom::fill(&rng, &mut bytes).unwrap();
            if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
                break k;
            }
        };
        let mut auth = [0u8; 16];
        ring::rand::SecureRandom::fill(&rng, &mut auth).unwrap();
        let path = format!("/push/{id}");
        let endpoint = format!("{}{path}", self.base);
        self.inner
            .lock()
            .unwrap()
            .subs
            .insert(id.to_owned(), (secret.clone(), auth, endpoint.clone()));
        Sub {
            endpoint,
            path,
            secret,
            auth,
        }
    }

    /// The next answers to `id`'s posts, in order (status, `Retry-After` seconds); 200 after them.
    pub fn answer(&self, id: &str, answers: &[(u16, Option<u64>)]) {
        self.inner
            .lock()
            .unwrap()
            .answers
            .entry(id.to_owned())
            .or_default()
            .extend(answers.iter().copied());
    }

    /// Every request that passed the checks so far.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.inner.lock().unwrap().arrivals.clone()
    }

    /// The requests to `sub` so far.
    pub fn arrivals_for(&self, sub: &Sub) -> Vec<Arrival> {
        self.arrivals()
            .into_iter()
            .filter(|a| a.path == sub.path)
            .collect()
    }

    /// Waits up to `limit` for `n` requests to `sub`.
    pub fn wait_for(&self, sub: &Sub, n: usize, limit: Duration) -> Vec<Arrival> {
        let end = Instant::now() + limit;
        loop {
            let got = self.arrivals_for(sub);
            if got.len() >= n || Instant::now() > end {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Panics with every request that failed a check.
    pub fn assert_no_problems(&self) {
        let problems = self.inner.lock().unwrap().problems.clone();
        assert!(problems.is_empty(), "the push service saw: {problems:?}");
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// What a push service checks of one request; the problem found, if any.
fn check(inner: &Inner, id: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let (secret, auth, endpoint) = inner.subs.get(id).ok_or("no such subscription")?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(format!("no {name} header"))
    };
    let authorization = header("authorization")?;
    let signer = sebaya_relay::webpush::verify_token(authorization, endpoint, now())
        .map_err(|e| format!("VAPID token refused: {e}"))?;
    if Some(signer) != inner.relay_key {
        return Err("signed by another key than the relay's".into());
    }
    if header("content-encoding")? != "aes128gcm" {
        return Err("content-encoding is not aes128gcm".into());
    }
    for (name, want) in [
        ("ttl", sebaya_relay::webpush::WAKE_TTL_SECS.to_string()),
        ("urgency", sebaya_relay::webpush::WAKE_URGENCY.to_owned()),
        ("topic", sebaya_relay::webpush::WAKE_TOPIC.to_owned()),
    ] {
        if header(name)? != want {
            return Err(format!("{name} is not {want}"));
        }
    }
    if body.len() > 4096 {
        return Err("body over 4096 bytes".into());
    }
    let public = secret.public_key().to_encoded_point(false);
    let plain = sebaya_relay::webpush::decrypt(body, public.as_bytes(), auth, |peer| {
        let peer = p256::PublicKey::from_sec1_bytes(peer)
            .map_err(|_| sebaya_relay::webpush::WebPushError::BadPublicKey)?;
        let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
        let mut out = [0u8; 32];
        out.copy_from_slice(shared.raw_secret_bytes());
        Ok(out)
    })
    .map_err(|e| format!("body does not decrypt: {e}"))?;
    if plain != b"sync" {
        return Err("the payload is not \"sync\"".into());
    }
    Ok(())
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Err(problem) = check(&inner, &id, &headers, &body) {
        inner.problems.push(format!("{id}: {problem}"));
        return StatusCode::BAD_REQUEST.into_response();
    }
    let (status, retry) = inner
        .answers
        .get_mut(&id)
        .and_then(|q| q.pop_front())
        .unwrap_or((201, None));
    inner.arrivals.push(Arrival {
        path: format!("/push/{id}"),
        at: Instant::now(),
        status,
    });
    let status = StatusCode::from_u16(status).unwrap();
    match retry {
        Some(secs) => (status, [("retry-after", secs.to_string())]).into_response(),
        None => status.into_response(),
    }
}
