//! A local FCM (HTTP v1) with its OAuth 2.0 token endpoint. The token endpoint checks the
//! `jwt-bearer` grant's assertion: RS256 by the service account's key, `iss` the account, `scope`
//! FCM's, `aud` the token endpoint, `iat` now and `exp` at most an hour later. The send endpoint
//! checks the bearer token is one it granted, the project in the path, the JSON content type, and
//! that the message holds the device token and nothing but the constant fields. Every problem is
//! recorded (`assert_no_problems`); answers can be set per device token.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ring::signature::KeyPair;
use serde_json::json;

use super::{Served, keys, now, serve, split_jwt};

pub const PROJECT: &str = "sebaya-test";
pub const EMAIL: &str = "gateway@sebaya-test.iam.gserviceaccount.com";
const KEY_PEM: &str = include_str!("../data/fcm-test-key.pem");

#[derive(Clone, Debug)]
pub struct Arrival {
    pub token: String,
    pub alert: bool,
    pub bearer: String,
}

#[derive(Default)]
struct Inner {
    token_uri: String,
    expires_in: Option<u64>,
    public_key: Vec<u8>,
    granted: Vec<String>,
    token_requests: usize,
    arrivals: Vec<Arrival>,
    problems: Vec<String>,
    answers: HashMap<String, VecDeque<super::Answer>>,
}

pub struct FakeFcm {
    pub base: String,
    pub account_file: String,
    inner: Arc<Mutex<Inner>>,
    _served: Served,
}

impl FakeFcm {
    pub fn start(dir: &Path) -> FakeFcm {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .route("/token", axum::routing::post(token))
            .route("/v1/projects/{project}/{send}", axum::routing::post(send))
            .with_state(inner.clone());
        let served = serve(app, false);
        let token_uri = format!("{}/token", served.base);
        let der = sebaya_push_gateway::jwt::pkcs8_from_pem(KEY_PEM).unwrap();
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
        {
            let mut i = inner.lock().unwrap();
            i.token_uri = token_uri.clone();
            i.public_key = pair.public_key().as_ref().to_vec();
        }
        let account = json!({
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "0123456789abcdef",
            "private_key": KEY_PEM,
            "client_email": EMAIL,
            "client_id": "1234567890",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        });
        let account_file = dir.join("fcm-account.json");
        std::fs::write(&account_file, account.to_string()).unwrap();
        FakeFcm {
            base: served.base.clone(),
            account_file: account_file.to_str().unwrap().to_owned(),
            inner,
            _served: served,
        }
    }

    /// The next answers to `token`'s sends: (status, FCM error code or "", Retry-After).
    pub fn answer(&self, token: &str, answers: &[super::Answer]) {
        self.inner
            .lock()
            .unwrap()
            .answers
            .insert(token.to_owned(), answers.iter().copied().collect());
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.inner.lock().unwrap().arrivals.clone()
    }

    /// The `expires_in` of the access tokens granted from now on (3599 by default).
    pub fn grant_for(&self, secs: u64) {
        self.inner.lock().unwrap().expires_in = Some(secs);
    }

    pub fn token_requests(&self) -> usize {
        self.inner.lock().unwrap().token_requests
    }

    pub fn assert_no_problems(&self) {
        let p = self.inner.lock().unwrap().problems.clone();
        assert!(p.is_empty(), "the FCM server saw: {p:?}");
    }
}

fn problem(inner: &Mutex<Inner>, what: String) -> Response {
    inner.lock().unwrap().problems.push(what);
    StatusCode::BAD_REQUEST.into_response()
}

async fn token(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (token_uri, public_key) = {
        let mut i = inner.lock().unwrap();
        i.token_requests += 1;
        (i.token_uri.clone(), i.public_key.clone())
    };
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        return problem(&inner, "token: content type".into());
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.len() != 2
        || form.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return problem(&inner, format!("token: form fields {:?}", form.keys()));
    }
    let Some((header, claims, signed, sig)) = form.get("assertion").and_then(|a| split_jwt(a))
    else {
        return problem(&inner, "token: assertion is not a JWT".into());
    };
    if header["alg"] != "RS256" || header["typ"] != "JWT" {
        return problem(&inner, format!("token: header {header}"));
    }
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        &public_key,
    );
    if key.verify(signed.as_bytes(), &sig).is_err() {
        return problem(&inner, "token: RS256 signature".into());
    }
    let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
    let t = now();
    let times_ok = matches!((iat, exp), (Some(iat), Some(exp))
        if iat <= t + 60 && iat + 300 >= t && exp > t && exp <= iat + 3600);
    if claims["iss"] != EMAIL
        || claims["scope"] != "https://www.googleapis.com/auth/firebase.messaging"
        || claims["aud"] != token_uri.as_str()
        || !times_ok
        || keys(&claims) != ["aud", "exp", "iat", "iss", "scope"]
    {
        return problem(&inner, format!("token: claims {claims}"));
    }
    let (access, expires_in) = {
        let mut i = inner.lock().unwrap();
        let a = format!("ya29.test-access-{}", i.granted.len() + 1);
        i.granted.push(a.clone());
        (a, i.expires_in.unwrap_or(3599))
    };
    axum::Json(json!({"access_token": access, "expires_in": expires_in, "token_type": "Bearer"}))
        .into_response()
}

async fn send(
    State(inner): State<Arc<Mutex<Inner>>>,
    UrlPath((project, send)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if project != PROJECT || send != "messages:send" {
        return problem(&inner, format!("send: path {project}/{send}"));
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_owned();
    if !inner.lock().unwrap().granted.contains(&bearer) {
        return problem(&inner, "send: bearer token not granted".into());
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return problem(&inner, format!("send: content type {ct}"));
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
        return problem(&inner, "send: body is not JSON".into());
    };
    let m = &v["message"];
    let token = m["token"].as_str().unwrap_or("").to_owned();
    let android = &m["android"];
    let alert = android.get("notification").is_some();
    let mut want_android = vec!["collapse_key", "priority", "ttl"];
    if alert {
        want_android.push("notification");
        want_android.sort();
    }
    let shape_ok = keys(&v) == ["message"]
        && keys(m) == ["android", "data", "token"]
        && m["data"] == json!({"t": "sync"})
        && keys(android) == want_android
        && android["priority"] == "high"
        && android["ttl"] == "86400s"
        && android["collapse_key"] == "sebaya-sync"
        && (!alert
            || android["notification"]
                == json!({"title_loc_key": "sebaya_wake_title", "body_loc_key": "sebaya_wake_body"}));
    if !shape_ok || token.is_empty() {
        return problem(&inner, format!("send: message {body}"));
    }
    let answer = {
        let mut i = inner.lock().unwrap();
        i.arrivals.push(Arrival {
            token: token.clone(),
            alert,
            bearer,
        });
        i.answers.get_mut(&token).and_then(VecDeque::pop_front)
    };
    match answer {
        None | Some((200, _, _)) => {
            axum::Json(json!({"name": format!("projects/{PROJECT}/messages/0:1")})).into_response()
        }
        Some((status, code, retry)) => {
            let status_name = match status {
                404 => "NOT_FOUND",
                429 => "RESOURCE_EXHAUSTED",
                503 => "UNAVAILABLE",
                _ => "INVALID_ARGUMENT",
            };
            // `CODE+FIELD`: the FcmError detail and a field violation of the message as well.
            let (code, field) = match code.strip_suffix("+FIELD") {
                Some(c) => (c, true),
                None => (code, false),
            };
            let mut details = vec![
                json!({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}),
            ];
            if field {
                details.push(json!({"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "message.android.ttl", "description": "Invalid value"}]}));
            }
            let body = json!({"error": {"code": status, "message": "test", "status": status_name,
                "details": details}});
            let mut r = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
            if let Some(s) = retry {
                r.headers_mut()
                    .insert("retry-after", s.to_string().parse().unwrap());
            }
            r
        }
    }
}
