//! A local APNs over HTTP/2 (prior knowledge on loopback: the workspace has no way to make a test
//! certificate, and the gateway's TLS is reqwest's and rustls' own). It checks every request as
//! Apple documents it: HTTP/2, `POST /3/device/{token}` with a hexadecimal token, `authorization:
//! bearer` an ES256 provider token whose header names the key id and whose claims name the team and
//! a time within the last hour, `apns-topic` the bundle id, `apns-push-type` and `apns-priority`
//! matching (background 5, alert 10), an `apns-expiration` in the future, the collapse id, and a
//! body of only the constant `aps` dictionary.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use ring::signature::KeyPair;
use serde_json::json;

use super::{Served, keys, now, serve, split_jwt};

pub const KEY_ID: &str = "ABC123DEFG";
pub const TEAM_ID: &str = "DEF123GHIJ";
pub const TOPIC: &str = "org.sebaya.app";

#[derive(Clone, Debug)]
pub struct Arrival {
    pub token: String,
    pub alert: bool,
    pub jwt: String,
}

#[derive(Default)]
struct Inner {
    public_key: Vec<u8>,
    delay: std::time::Duration,
    arrivals: Vec<Arrival>,
    problems: Vec<String>,
    answers: HashMap<String, VecDeque<super::Answer>>,
}

pub struct FakeApns {
    pub base: String,
    pub key_file: String,
    inner: Arc<Mutex<Inner>>,
    _served: Served,
}

impl FakeApns {
    pub fn start(dir: &Path) -> FakeApns {
        use base64::Engine;
        let inner = Arc::new(Mutex::new(Inner::default()));
        let rng = ring::rand::SystemRandom::new();
        let doc = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .unwrap();
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            doc.as_ref(),
            &rng,
        )
        .unwrap();
        inner.lock().unwrap().public_key = pair.public_key().as_ref().to_vec();
        let b64 = base64::engine::general_purpose::STANDARD.encode(doc.as_ref());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        let key_file = dir.join(format!("AuthKey_{KEY_ID}.p8"));
        std::fs::write(&key_file, pem).unwrap();
        let app = axum::Router::new()
            .route("/3/device/{token}", axum::routing::post(push))
            .with_state(inner.clone());
        let served = serve(app, true);
        FakeApns {
            base: served.base.clone(),
            key_file: key_file.to_str().unwrap().to_owned(),
            inner,
            _served: served,
        }
    }

    /// The next answers to `token`: (status, APNs reason or "", Retry-After).
    pub fn answer(&self, token: &str, answers: &[super::Answer]) {
        self.inner
            .lock()
            .unwrap()
            .answers
            .insert(token.to_owned(), answers.iter().copied().collect());
    }

    /// Every answer from now on comes this late.
    pub fn delay(&self, by: std::time::Duration) {
        self.inner.lock().unwrap().delay = by;
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.inner.lock().unwrap().arrivals.clone()
    }

    pub fn assert_no_problems(&self) {
        let p = self.inner.lock().unwrap().problems.clone();
        assert!(p.is_empty(), "the APNs server saw: {p:?}");
    }
}

fn problem(inner: &Mutex<Inner>, what: String) -> Response {
    inner.lock().unwrap().problems.push(what);
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"reason": "BadRequest"})),
    )
        .into_response()
}

async fn push(
    State(inner): State<Arc<Mutex<Inner>>>,
    UrlPath(token): UrlPath<String>,
    version: Version,
    headers: HeaderMap,
    body: String,
) -> Response {
    if version != Version::HTTP_2 {
        return problem(&inner, format!("not HTTP/2: {version:?}"));
    }
    if token.len() < 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return problem(&inner, "device token".into());
    }
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let jwt = h("authorization")
        .strip_prefix("bearer ")
        .unwrap_or("")
        .to_owned();
    let Some((header, claims, signed, sig)) = split_jwt(&jwt) else {
        return problem(&inner, "authorization is not a bearer JWT".into());
    };
    let public_key = inner.lock().unwrap().public_key.clone();
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        &public_key,
    );
    if key.verify(signed.as_bytes(), &sig).is_err() {
        return problem(&inner, "ES256 signature".into());
    }
    let t = now();
    if header != json!({"alg": "ES256", "kid": KEY_ID})
        || keys(&claims) != ["iat", "iss"]
        || claims["iss"] != TEAM_ID
        || !claims["iat"]
            .as_u64()
            .is_some_and(|iat| iat <= t + 60 && iat + 3600 > t)
    {
        return problem(&inner, format!("provider token {header} {claims}"));
    }
    let push_type = h("apns-push-type");
    let alert = push_type == "alert";
    let (priority, want_body) = if alert {
        (
            "10",
            json!({"aps": {"alert": {"title-loc-key": "sebaya_wake_title", "loc-key": "sebaya_wake_body"}}}),
        )
    } else {
        ("5", json!({"aps": {"content-available": 1}}))
    };
    let expiration_ok = h("apns-expiration")
        .parse::<u64>()
        .is_ok_and(|e| e > t && e <= t + 86400 + 60);
    if h("apns-topic") != TOPIC
        || !(push_type == "background" || alert)
        || h("apns-priority") != priority
        || !expiration_ok
        || h("apns-collapse-id") != "sebaya-sync"
        || h("content-type") != "application/json"
    {
        return problem(&inner, format!("headers {headers:?}"));
    }
    if serde_json::from_str::<serde_json::Value>(&body).ok() != Some(want_body) {
        return problem(&inner, format!("body {body}"));
    }
    let answer = {
        let mut i = inner.lock().unwrap();
        i.arrivals.push(Arrival {
            token: token.clone(),
            alert,
            jwt,
        });
        i.answers.get_mut(&token).and_then(VecDeque::pop_front)
    };
    let delay = inner.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    let id = [("apns-id", "EC1BF194-B3B2-424A-89A9-5A918A6E4A71")];
    match answer {
        None | Some((200, _, _)) => (StatusCode::OK, id).into_response(),
        Some((status, reason, retry)) => {
            let mut body = json!({"reason": reason});
            if status == 410 {
                body["timestamp"] = json!(t * 1000);
            }
            let mut r =
                (StatusCode::from_u16(status).unwrap(), id, axum::Json(body)).into_response();
            if let Some(s) = retry {
                r.headers_mut()
                    .insert("retry-after", s.to_string().parse().unwrap());
            }
            r
        }
    }
}
