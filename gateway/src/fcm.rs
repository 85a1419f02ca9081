//! Firebase Cloud Messaging, HTTP v1 API.
//!
//! Authentication is Google's OAuth 2.0 flow for service accounts: the gateway signs a JWT assertion
//! (RS256, by the service account's PKCS#8 key) naming the account (`iss`), the FCM scope, the token
//! endpoint (`aud`) and an hour's validity, posts it to `token_uri` as a `jwt-bearer` grant, and keeps
//! the access token it gets until five minutes before it expires. A wake-up is then
//! `POST {base}/v1/projects/{project_id}/messages:send` with `Authorization: Bearer` and a message
//! whose only variable part is the device's token ([`message`]; `docs/protocol.md` 28.10).

use std::path::Path;
use std::time::{Duration, Instant};

use ring::rand::SystemRandom;
use ring::signature::RsaKeyPair;
use zeroize::Zeroizing;

use crate::jwt;
use crate::provider::{self, BODY_KEY, COLLAPSE, DATA, Mode, Outcome, TITLE_KEY, TTL_SECS};

/// The OAuth 2.0 scope FCM's send API takes.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The grant type of a signed JWT assertion (RFC 7523).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The production base of the send API.
pub const DEFAULT_BASE: &str = "https://fcm.googleapis.com";
/// How long an assertion is valid (Google takes at most an hour).
const ASSERTION_SECS: u64 = 3600;
/// An access token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// Why a service account file could not be used. Names neither the key nor the account.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The file could not be read.
    #[error("the FCM service account file could not be read: {0}")]
    Read(std::io::ErrorKind),
    /// The file is not a service account's JSON with the fields needed.
    #[error(
        "the FCM service account file lacks client_email, private_key, token_uri or project_id"
    )]
    Fields,
    /// The private key is not an RSA PKCS#8 key.
    #[error("the FCM service account's private_key is not an RSA PKCS#8 key")]
    Key,
    /// The HTTP client could not be built (no TLS roots on this system, most likely).
    #[error("the HTTP client for FCM could not be built")]
    Client,
}

#[derive(serde::Deserialize)]
struct AccountFile {
    client_email: String,
    private_key: String,
    token_uri: String,
    project_id: String,
}

/// The publisher's FCM sender: a service account and the cached access token.
pub struct Fcm {
    client_email: String,
    key: RsaKeyPair,
    token_uri: String,
    project_id: String,
    base: String,
    http: reqwest::Client,
    rng: SystemRandom,
    access: tokio::sync::Mutex<Option<(Zeroizing<String>, Instant)>>,
}

impl std::fmt::Debug for Fcm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fcm").finish_non_exhaustive()
    }
}

/// The send API's message for `token`: only constant fields beside the token.
pub fn message(token: &str, mode: Mode) -> serde_json::Value {
    let mut android = serde_json::json!({
        "priority": "high",
        "ttl": format!("{TTL_SECS}s"),
        "collapse_key": COLLAPSE,
    });
    if mode == Mode::Alert {
        android["notification"] = serde_json::json!({
            "title_loc_key": TITLE_KEY,
            "body_loc_key": BODY_KEY,
        });
    }
    serde_json::json!({
        "message": {
            "token": token,
            "data": { DATA.0: DATA.1 },
            "android": android,
        }
    })
}

impl Fcm {
    /// The sender of the service account in `path`, posting to `base` (normally [`DEFAULT_BASE`]).
    pub fn from_file(path: &Path, base: &str) -> Result<Self, AccountError> {
        let text = Zeroizing::new(std::fs::read(path).map_err(|e| AccountError::Read(e.kind()))?);
        let mut file: AccountFile =
            serde_json::from_slice(&text).map_err(|_| AccountError::Fields)?;
        // Moved, not copied, into memory that is wiped when dropped.
        let pem = Zeroizing::new(std::mem::take(&mut file.private_key));
        let der = jwt::pkcs8_from_pem(&pem).ok_or(AccountError::Key)?;
        let key = RsaKeyPair::from_pkcs8(&der).map_err(|_| AccountError::Key)?;
        if file.client_email.is_empty() || file.project_id.is_empty() || file.token_uri.is_empty() {
            return Err(AccountError::Fields);
        }
        // Project ids are lower-case letters, digits and hyphens; nothing else reaches the path.
        if !file
            .project_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(AccountError::Fields);
        }
        let http = provider::client(false).map_err(|_| AccountError::Client)?;
        Ok(Self {
            client_email: file.client_email,
            key,
            token_uri: file.token_uri,
            project_id: file.project_id,
            base: base.trim_end_matches('/').to_owned(),
            http,
            rng: SystemRandom::new(),
            access: tokio::sync::Mutex::new(None),
        })
    }

    /// The token endpoint (the service account's `token_uri`).
    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// The signed assertion for unix time `now`.
    pub fn assertion(&self, now: u64) -> Option<String> {
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + ASSERTION_SECS,
        });
        jwt::rs256(
            &self.key,
            r#"{"alg":"RS256","typ":"JWT"}"#,
            &claims.to_string(),
            &self.rng,
        )
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    async fn access_token(&self) -> Result<Zeroizing<String>, Outcome> {
        let mut cached = self.access.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() + RENEW_BEFORE < *until {
                return Ok(token.clone());
            }
        }
        let assertion = self.assertion(crate::unix_now()).ok_or(Outcome::Failed)?;
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", GRANT_TYPE)
            .append_pair("assertion", &assertion)
            .finish();
        let answer = self
            .http
            .post(&self.token_uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|_| Outcome::Unavailable(None))?;
        let status = answer.status().as_u16();
        if status >= 500 {
            return Err(Outcome::Unavailable(provider::retry_after(
                answer.headers(),
            )));
        }
        if status != 200 {
            tracing::error!(status, "the FCM token endpoint refused the service account");
            return Err(Outcome::Failed);
        }
        #[derive(serde::Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: u64,
        }
        let bytes = answer
            .bytes()
            .await
            .map_err(|_| Outcome::Unavailable(None))?;
        let granted: Granted = serde_json::from_slice(&bytes).map_err(|_| Outcome::Failed)?;
        let token = Zeroizing::new(granted.access_token);
        let until = Instant::now() + Duration::from_secs(granted.expires_in.min(ASSERTION_SECS));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    /// Sends one wake-up to `token`.
    pub async fn send(&self, token: &str, mode: Mode) -> Outcome {
        let access = match self.access_token().await {
            Ok(a) => a,
            Err(outcome) => return outcome,
        };
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.base, self.project_id
        );
        let answer = self
            .http
            .post(url)
            .header("authorization", format!("Bearer {}", access.as_str()))
            .header("content-type", "application/json; charset=UTF-8")
            .body(message(token, mode).to_string())
            .send()
            .await;
        let Ok(answer) = answer else {
            return Outcome::Unavailable(None);
        };
        let status = answer.status().as_u16();
        let retry = provider::retry_after(answer.headers());
        if status == 200 {
            return Outcome::Sent;
        }
        let body = answer.bytes().await.unwrap_or_default();
        let error = FcmErrorAnswer::read(&body);
        match (status, error.fcm_code.as_deref()) {
            // About this token (review G1): gone, of another sender, or not a token at all. A
            // malformed field of the gateway's own message is a BadRequest detail instead (below).
            (_, Some("UNREGISTERED" | "SENDER_ID_MISMATCH")) | (404, _) => Outcome::Gone,
            (_, Some("INVALID_ARGUMENT")) if !error.bad_request => Outcome::Gone,
            (_, Some("QUOTA_EXCEEDED")) | (429, _) => Outcome::Throttled(retry),
            (_, Some("UNAVAILABLE" | "INTERNAL")) | (500..=599, _) => Outcome::Unavailable(retry),
            (401, _) | (_, Some("THIRD_PARTY_AUTH_ERROR")) => {
                // The access token may have been revoked: fetch a new one next time.
                *self.access.lock().await = None;
                tracing::error!(status, "FCM refused the gateway's credentials");
                Outcome::Failed
            }
            _ => {
                tracing::error!(
                    status,
                    field_error = error.bad_request,
                    "FCM refused a wake-up"
                );
                Outcome::Failed
            }
        }
    }
}

/// What an FCM error answer says: the `FcmError` detail's `errorCode`, and whether a
/// `google.rpc.BadRequest` detail (a field of the message) is there.
#[derive(Default)]
struct FcmErrorAnswer {
    fcm_code: Option<String>,
    bad_request: bool,
}

impl FcmErrorAnswer {
    fn read(body: &[u8]) -> Self {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Self::default();
        };
        let details = v
            .get("error")
            .and_then(|e| e.get("details"))
            .and_then(|d| d.as_array())
            .cloned()
            .unwrap_or_default();
        let of_type = |d: &serde_json::Value, t: &str| {
            d.get("@type")
                .and_then(|x| x.as_str())
                .is_some_and(|x| x.ends_with(t))
        };
        Self {
            fcm_code: details
                .iter()
                .filter(|d| of_type(d, ".FcmError"))
                .find_map(|d| d.get("errorCode")?.as_str().map(str::to_owned)),
            bad_request: details.iter().any(|d| of_type(d, ".BadRequest")),
        }
    }
}
