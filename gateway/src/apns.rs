//! Apple Push Notification service, token-based authentication.
//!
//! The gateway signs a provider token (an ES256 JWT whose header names the key id, `kid`, and whose
//! claims name the team, `iss`, and the time it was made, `iat`) with the publisher's `.p8` key and
//! reuses it for [`TOKEN_REUSE`]: Apple refuses a token older than an hour and asks providers not to
//! make a new one more often than every 20 minutes. A wake-up is an HTTP/2
//! `POST {base}/3/device/{token}` with the headers and body of [`request`] (`docs/protocol.md` 28.10).

use std::path::Path;
use std::time::{Duration, Instant};

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair};
use zeroize::Zeroizing;

use crate::jwt;
use crate::provider::{self, BODY_KEY, COLLAPSE, Mode, Outcome, TITLE_KEY, TTL_SECS};

/// The production base.
pub const DEFAULT_BASE: &str = "https://api.push.apple.com";
/// How long one provider token is used (Apple: at most an hour, renewed at most every 20 minutes).
pub const TOKEN_REUSE: Duration = Duration::from_secs(50 * 60);
/// The least age of a provider token that may be replaced after APNs refused it: Apple answers 429
/// `TooManyProviderTokenUpdates` to tokens renewed more often than every 20 minutes.
pub const MIN_RENEWAL: Duration = Duration::from_secs(20 * 60);

/// Why the APNs settings could not be used. Names no key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("the APNs key file could not be read: {0}")]
    Read(std::io::ErrorKind),
    /// The key is not a P-256 PKCS#8 key (Apple's `.p8`).
    #[error("the APNs key file is not a P-256 PKCS#8 key (.p8)")]
    Key,
    /// The key id, team id or topic is empty or has characters they never have.
    #[error("the APNs key id, team id and topic must be set (letters, digits, '.', '-')")]
    Names,
    /// The HTTP client could not be built (no TLS roots on this system, most likely).
    #[error("the HTTP client for APNs could not be built")]
    Client,
}

/// The publisher's APNs sender.
pub struct Apns {
    key: EcdsaKeyPair,
    key_id: String,
    team_id: String,
    topic: String,
    base: String,
    http: reqwest::Client,
    rng: SystemRandom,
    jwt: tokio::sync::Mutex<Option<(Zeroizing<String>, Instant)>>,
}

impl std::fmt::Debug for Apns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Apns").finish_non_exhaustive()
    }
}

/// The headers (besides `authorization`) and the body of a wake-up at unix time `now`, for the
/// app `topic` (its bundle id): only constants.
pub fn request(topic: &str, mode: Mode, now: u64) -> (Vec<(&'static str, String)>, String) {
    let (push_type, priority, body) = match mode {
        Mode::Silent => (
            "background",
            "5",
            serde_json::json!({"aps": {"content-available": 1}}),
        ),
        Mode::Alert => (
            "alert",
            "10",
            serde_json::json!({"aps": {"alert": {"title-loc-key": TITLE_KEY, "loc-key": BODY_KEY}}}),
        ),
    };
    let headers = vec![
        ("apns-topic", topic.to_owned()),
        ("apns-push-type", push_type.to_owned()),
        ("apns-priority", priority.to_owned()),
        ("apns-expiration", (now + TTL_SECS).to_string()),
        ("apns-collapse-id", COLLAPSE.to_owned()),
    ];
    (headers, body.to_string())
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

impl Apns {
    /// The sender of the `.p8` key in `path` (key id `key_id`, team `team_id`) for the app
    /// `topic`, posting to `base` (normally [`DEFAULT_BASE`]).
    pub fn from_file(
        path: &Path,
        key_id: &str,
        team_id: &str,
        topic: &str,
        base: &str,
    ) -> Result<Self, KeyError> {
        if !(name_ok(key_id) && name_ok(team_id) && name_ok(topic)) {
            return Err(KeyError::Names);
        }
        let text = Zeroizing::new(std::fs::read(path).map_err(|e| KeyError::Read(e.kind()))?);
        let pem = std::str::from_utf8(&text).map_err(|_| KeyError::Key)?;
        let der = jwt::pkcs8_from_pem(pem).ok_or(KeyError::Key)?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
            .map_err(|_| KeyError::Key)?;
        let base = base.trim_end_matches('/').to_owned();
        // HTTP/2 only: over TLS the client offers ALPN `h2` alone, so it can never fall back to an
        // HTTP/1.1 that APNs does not speak; over plain HTTP (the tests' server) by prior knowledge.
        let http = provider::client(true).map_err(|_| KeyError::Client)?;
        Ok(Self {
            key,
            key_id: key_id.to_owned(),
            team_id: team_id.to_owned(),
            topic: topic.to_owned(),
            base,
            http,
            rng,
            jwt: tokio::sync::Mutex::new(None),
        })
    }

    /// A provider token made at unix time `now`.
    pub fn provider_token(&self, now: u64) -> Option<String> {
        let header = serde_json::json!({"alg": "ES256", "kid": self.key_id});
        let claims = serde_json::json!({"iss": self.team_id, "iat": now});
        jwt::es256(
            &self.key,
            &header.to_string(),
            &claims.to_string(),
            &self.rng,
        )
    }

    async fn current_token(&self) -> Option<Zeroizing<String>> {
        let mut cached = self.jwt.lock().await;
        if let Some((token, made)) = cached.as_ref() {
            if made.elapsed() < TOKEN_REUSE {
                return Some(token.clone());
            }
        }
        let token = Zeroizing::new(self.provider_token(crate::unix_now())?);
        *cached = Some((token.clone(), Instant::now()));
        Some(token)
    }

    /// Sends one wake-up to `token`.
    pub async fn send(&self, token: &str, mode: Mode) -> Outcome {
        let Some(jwt) = self.current_token().await else {
            return Outcome::Failed;
        };
        let (headers, body) = request(&self.topic, mode, crate::unix_now());
        let mut builder = self
            .http
            .post(format!("{}/3/device/{token}", self.base))
            .header("authorization", format!("bearer {}", jwt.as_str()))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let Ok(answer) = builder.send().await else {
            return Outcome::Unavailable(None);
        };
        let status = answer.status().as_u16();
        let retry = provider::retry_after(answer.headers());
        if status == 200 {
            return Outcome::Sent;
        }
        let body = answer.bytes().await.unwrap_or_default();
        let reason = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("reason")?.as_str().map(str::to_owned));
        match (status, reason.as_deref()) {
            (410, _) | (400, Some("BadDeviceToken" | "DeviceTokenNotForTopic")) => Outcome::Gone,
            (429, Some("TooManyProviderTokenUpdates")) => {
                tracing::error!(status, "APNs refused a provider token renewed too often");
                Outcome::Failed
            }
            // "Too many requests for the same device token": about this phone (review G1).
            (429, _) => Outcome::Dropped,
            (500..=599, _) => Outcome::Unavailable(retry),
            (403, Some("ExpiredProviderToken" | "InvalidProviderToken")) => {
                // A new provider token next time, but not more often than Apple takes (review G4).
                let mut cached = self.jwt.lock().await;
                if cached
                    .as_ref()
                    .is_some_and(|(_, made)| made.elapsed() >= MIN_RENEWAL)
                {
                    *cached = None;
                }
                tracing::error!(status, "APNs refused the gateway's provider token");
                Outcome::Failed
            }
            _ => {
                tracing::error!(status, "APNs refused a wake-up");
                Outcome::Failed
            }
        }
    }
}
