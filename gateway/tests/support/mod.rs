//! What the gateway's tests share: local FCM and APNs servers that check every request against the
//! providers' documented formats (`fcm.rs`, `apns.rs`), a gateway built from settings as the binary
//! builds it, and a relay-side sender of Web Push requests (a VAPID key of its own).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unused_imports
)]

pub mod apns;
pub mod fcm;

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sebaya_push_gateway::config::{Config, Layers};
use sebaya_push_gateway::{Gateway, GatewayHandle};
use sebaya_relay::webpush::VapidKey;

/// A provider's next answer to a device token: status, error reason or code (or ""), Retry-After.
pub type Answer = (u16, &'static str, Option<u64>);

pub const CONTACT: &str = "mailto:ops@example.org";
pub const APNS_TOKEN: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
pub const FCM_TOKEN: &str = "dGVzdC1kZXZpY2U:APA91bH-test_token-0123456789";

pub fn now() -> u64 {
    sebaya_push_gateway::unix_now()
}

/// Both providers on loopback and their key files in `dir`.
pub struct Providers {
    pub fcm: fcm::FakeFcm,
    pub apns: apns::FakeApns,
}

impl Providers {
    pub fn start(dir: &Path) -> Providers {
        // The tests' own HTTP clients use rustls with ring, as the gateway does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Providers {
            fcm: fcm::FakeFcm::start(dir),
            apns: apns::FakeApns::start(dir),
        }
    }

    /// The flags of a gateway using both.
    pub fn flags(&self) -> BTreeMap<&'static str, String> {
        let mut f = BTreeMap::new();
        f.insert("allow-loopback", "true".to_owned());
        // Most tests take any relay; those about the list set `relay-keys`.
        f.insert("allow-any-relay", "true".to_owned());
        f.insert("fcm-service-account", self.fcm.account_file.clone());
        f.insert("fcm-base", self.fcm.base.clone());
        f.insert("apns-key", self.apns.key_file.clone());
        f.insert("apns-key-id", apns::KEY_ID.to_owned());
        f.insert("apns-team-id", apns::TEAM_ID.to_owned());
        f.insert("apns-topic", apns::TOPIC.to_owned());
        f.insert("apns-base", self.apns.base.clone());
        f
    }

    pub fn assert_no_problems(&self) {
        self.fcm.assert_no_problems();
        self.apns.assert_no_problems();
    }

    pub fn arrivals(&self) -> usize {
        self.fcm.arrivals().len() + self.apns.arrivals().len()
    }
}

/// A gateway from `flags` (as the binary reads them), its origin its own loopback address.
pub fn gateway(mut flags: BTreeMap<&'static str, String>) -> GatewayHandle {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    flags.entry("origin").or_insert(origin);
    let config = Config::new(Layers::read(&flags, |_| None).unwrap()).unwrap();
    let gateway: Gateway = config.gateway().unwrap();
    sebaya_push_gateway::serve(gateway, listener).unwrap()
}

/// A relay's side: its VAPID key, and a Web Push request as the relay sends one.
pub struct RelaySide {
    pub key: VapidKey,
    http: reqwest::blocking::Client,
}

impl RelaySide {
    pub fn new() -> RelaySide {
        let rng = ring::rand::SystemRandom::new();
        RelaySide {
            key: VapidKey::generate(&rng).unwrap().0,
            http: reqwest::blocking::Client::new(),
        }
    }

    pub fn public_b64(&self) -> String {
        B64.encode(self.key.public_key())
    }

    pub fn authorization(&self, endpoint: &str, at: u64) -> String {
        self.key
            .token(endpoint, CONTACT, at, &ring::rand::SystemRandom::new())
            .unwrap()
            .authorization()
    }

    /// Posts a well-formed wake-up to `endpoint`, with `authorization`.
    pub fn post_with(
        &self,
        endpoint: &str,
        authorization: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> reqwest::blocking::Response {
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in [
            ("ttl", "86400"),
            ("urgency", "high"),
            ("topic", "sebaya-sync"),
            ("content-encoding", "aes128gcm"),
            ("authorization", authorization),
        ]
        .iter()
        .chain(extra)
        {
            // An extra header replaces the usual one; `+name` adds a second value.
            let name = |n: &str| reqwest::header::HeaderName::from_bytes(n.as_bytes()).unwrap();
            let value: reqwest::header::HeaderValue = v.parse().unwrap();
            match k.strip_prefix('+') {
                Some(n) => {
                    headers.append(name(n), value);
                }
                None => {
                    headers.insert(name(k), value);
                }
            }
        }
        self.http
            .post(endpoint)
            .headers(headers)
            .body(body)
            .send()
            .unwrap()
    }

    /// Posts a well-formed wake-up to `endpoint`.
    pub fn post(&self, endpoint: &str) -> reqwest::blocking::Response {
        let auth = self.authorization(endpoint, now());
        self.post_with(endpoint, &auth, vec![7u8; 120], &[])
    }
}

/// The endpoint of a device at `gw`.
pub fn endpoint(gw: &GatewayHandle, provider: &str, mode: &str, token: &str) -> String {
    format!("{}/v1/wake/{provider}/{mode}/{token}", gw.url())
}

/// Splits a JWT, checking it is three base64url parts, and returns its header and claims as JSON,
/// the signed input and the signature.
pub fn split_jwt(jwt: &str) -> Option<(serde_json::Value, serde_json::Value, String, Vec<u8>)> {
    let mut parts = jwt.split('.');
    let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&B64.decode(h).ok()?).ok()?;
    let claims = serde_json::from_slice(&B64.decode(c).ok()?).ok()?;
    Some((header, claims, format!("{h}.{c}"), B64.decode(s).ok()?))
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

/// A loopback server on its own runtime, serving `app` over HTTP/1 (`h2 = false`) or HTTP/2 with
/// prior knowledge (`h2 = true`), until dropped.
pub struct Served {
    pub base: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

pub fn serve(app: axum::Router, h2: bool) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    if h2 {
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
                });
            }
        });
    } else {
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }
    Served {
        base,
        runtime: Some(runtime),
    }
}
