//! Registering for wake-ups (issue 16, item 4; protocol 28.9): the device hands the relay the Web
//! Push subscription its platform's push library made (a UnifiedPush distributor, or the publisher's
//! gateway in front of FCM or APNs), signed like a sync, and learns the relay's VAPID public key, which
//! the app gives its push service as `applicationServerKey`. The core makes no key: the subscription's
//! P-256 key pair belongs to the platform's push library, which decrypts the wake-up (whose content
//! nobody reads: it only starts a sync).
//!
//! Sans-I/O like sync: [`Vault::push_register_request`] builds the request and
//! [`Vault::push_register_answer`] reads the answer; [`Vault::register_push_with`] does both through
//! an [`HttpClient`]. The vault remembers per relay a fingerprint of what it registered and when
//! (sealed in its settings), so [`Vault::push_registration_due`] tells an app at start whether to
//! register again: never registered, another subscription, or older than
//! [`REREGISTER_AFTER_SECS`] (the relay lets a subscription lapse after 30 days unless renewed, and
//! may drop one without telling the device: a new key, a push service's 410).

use serde::{Deserialize, Serialize};

use sebaya_proto::push::{
    AUTH_LEN, MAX_ENDPOINT_LEN, P256DH_LEN, PUSH_PATH, PUSH_VERSION, PushRequest, PushResponse,
    PushSubscription,
};
use sebaya_proto::sync as wire;

use super::relay::{HttpClient, HttpRequest, HttpResponse, RelaySync, now_secs};
use crate::Vault;
use crate::crypto;
use crate::error::{Error, PushRefusal, Result};

/// How old a registration may grow before the app registers it again, in seconds (1 day): a
/// subscription the relay dropped without telling the device (a new key, a push service's 410)
/// comes back within a day of the app's next start (review P2), and one never lapses (a relay keeps
/// it at least 7 days, 30 by default; protocol 28.9). One small signed request a day.
pub const REREGISTER_AFTER_SECS: i64 = 86_400;

/// A Web Push subscription as the platform's push library gives it. Its `Debug` shows lengths only:
/// an endpoint is a capability to wake the device.
#[derive(Clone, PartialEq, Eq)]
pub struct WebPushSubscription {
    /// Where wake-ups are posted (an absolute `https` URL; `http` only to a relay's tests on loopback).
    pub endpoint: String,
    /// The subscription's public key, an uncompressed P-256 point (65 bytes, `04 ‖ x ‖ y`).
    pub p256dh: Vec<u8>,
    /// The subscription's 16-byte auth secret.
    pub auth: Vec<u8>,
}

impl std::fmt::Debug for WebPushSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebPushSubscription")
            .field("endpoint_len", &self.endpoint.len())
            .field("p256dh_len", &self.p256dh.len())
            .field("auth_len", &self.auth.len())
            .finish()
    }
}

impl WebPushSubscription {
    /// Checks the shape the relay requires before anything is sent (the relay also checks that the
    /// key is a point on the curve and that the host is public; the core holds no P-256 code).
    pub fn check(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::InvalidInput(format!("push subscription: {what}")));
        let e = &self.endpoint;
        if e.is_empty() || e.len() > MAX_ENDPOINT_LEN {
            return bad("the endpoint must be 1 to 1,024 bytes");
        }
        let rest = e
            .strip_prefix("https://")
            .or_else(|| e.strip_prefix("http://"));
        let Some(rest) = rest else {
            return bad("the endpoint must be an https URL");
        };
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        if host.is_empty() || host.contains('@') {
            return bad("the endpoint must name a host and no user");
        }
        if e.contains('#') || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("the endpoint must have no fragment and no spaces");
        }
        if self.p256dh.len() != P256DH_LEN || self.p256dh.first() != Some(&0x04) {
            return bad("p256dh must be an uncompressed P-256 point (65 bytes, 04 first)");
        }
        if self.auth.len() != AUTH_LEN {
            return bad("auth must be 16 bytes");
        }
        Ok(())
    }

    /// What the vault remembers of it: a hash, never the endpoint itself.
    fn fingerprint(&self) -> String {
        let mut data = Vec::with_capacity(8 + self.endpoint.len() + 81);
        data.extend((self.endpoint.len() as u64).to_be_bytes());
        data.extend(self.endpoint.as_bytes());
        data.extend(&self.p256dh);
        data.extend(&self.auth);
        hex::encode(crypto::sha256(&data))
    }
}

/// What the vault keeps of the last registration with one relay.
#[derive(Serialize, Deserialize)]
struct Registered {
    /// [`WebPushSubscription::fingerprint`] of what was registered.
    fp: String,
    /// When, in seconds since the Unix epoch (this device's clock).
    at: i64,
}

fn base(relay_url: &str) -> &str {
    relay_url.trim_end_matches('/')
}

fn registered_setting(relay_url: &str) -> String {
    format!("push-registered/{}", base(relay_url))
}

fn key_setting(relay_url: &str) -> String {
    format!("push-key/{}", base(relay_url))
}

/// The refusal a relay's status means (protocol 28.9), or `None` for one it does not name.
fn refusal(status: u16, code: &str) -> Option<PushRefusal> {
    match (status, code) {
        (403, "not-a-member") => Some(PushRefusal::SyncFirst),
        (409, "endpoint-taken") => Some(PushRefusal::EndpointTaken),
        (503, "relay-busy") => Some(PushRefusal::RelayBusy),
        (404, _) => Some(PushRefusal::NotServed),
        (400, _) => Some(PushRefusal::Malformed),
        _ => None,
    }
}

impl Vault {
    /// The signed request that registers `subscription` for wake-ups at the relay at `relay_url`
    /// (`None`: removes this device's subscription there). `PushRefused(SyncFirst)` when this device
    /// has not synced with that relay yet (a sync learns the relay's id and clock the request is
    /// signed with); `InvalidInput` when the subscription's shape is wrong. Nothing is sent here.
    pub fn push_register_request(
        &self,
        relay_url: &str,
        subscription: Option<&WebPushSubscription>,
    ) -> Result<HttpRequest> {
        if let Some(s) = subscription {
            s.check()?;
        }
        let sync = self.recall_relay(RelaySync::new(relay_url))?;
        let Some((relay_id, offset)) = sync.signer() else {
            return Err(Error::PushRefused(PushRefusal::SyncFirst));
        };
        let request = PushRequest {
            v: PUSH_VERSION,
            subscription: subscription.map(|s| PushSubscription {
                endpoint: s.endpoint.clone(),
                p256dh: serde_bytes::ByteBuf::from(s.p256dh.clone()),
                auth: serde_bytes::ByteBuf::from(s.auth.clone()),
            }),
        };
        request.check()?;
        let body = wire::encode(&request)?;
        super::signed::signed_cbor_post(
            &self.identity,
            (relay_id, offset),
            relay_url,
            PUSH_PATH,
            body,
        )
    }

    /// Reads the relay's answer to [`Vault::push_register_request`] for the same `subscription`,
    /// taken at `now` (seconds since the Unix epoch): the relay's VAPID public key (65 bytes), which
    /// the app hands its push service as `applicationServerKey`. Remembers the registration (or its
    /// removal) and the key. A refusal is `PushRefused` with its reason; another status is
    /// `Error::Relay` with the relay's code (`clock-skew`, `replayed-request`...).
    pub fn push_register_answer(
        &self,
        relay_url: &str,
        subscription: Option<&WebPushSubscription>,
        response: HttpResponse,
        now: i64,
    ) -> Result<Vec<u8>> {
        if response.status != 200 {
            let code = serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v.get("error").and_then(|c| c.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "unknown".into());
            return Err(match refusal(response.status, &code) {
                Some(r) => Error::PushRefused(r),
                None => Error::Relay {
                    status: response.status,
                    code,
                },
            });
        }
        let bad = || Error::Relay {
            status: 200,
            code: "bad-push-answer".into(),
        };
        let answer: PushResponse = wire::decode(&response.body).map_err(|_| bad())?;
        if answer.v != PUSH_VERSION
            || answer.key.len() != P256DH_LEN
            || answer.key.first() != Some(&0x04)
        {
            return Err(bad());
        }
        let key = answer.key.into_vec();
        self.store.kv_put(&key_setting(relay_url), &key)?;
        let record = match subscription {
            Some(s) => serde_json::to_vec(&Registered {
                fp: s.fingerprint(),
                at: now,
            })
            .map_err(|_| Error::Internal("push setting not encodable"))?,
            // Removed: an empty record reads as never registered.
            None => Vec::new(),
        };
        self.store.kv_put(&registered_setting(relay_url), &record)?;
        Ok(key)
    }

    /// Whether the app should register `subscription` with the relay at `relay_url` (again) at
    /// `now` (seconds since the Unix epoch): never registered there (or removed since), the
    /// subscription changed (a new endpoint or keys), the last registration is
    /// [`REREGISTER_AFTER_SECS`] old or more, or it is dated in the future (the clock was set back).
    /// Asks nobody: cheap to call at every app start.
    pub fn push_registration_due(
        &self,
        relay_url: &str,
        subscription: &WebPushSubscription,
        now: i64,
    ) -> Result<bool> {
        // A setting that does not open reads as never registered: registering again is harmless.
        let Ok(Some(bytes)) = self.store.kv_get(&registered_setting(relay_url)) else {
            return Ok(true);
        };
        let Ok(r) = serde_json::from_slice::<Registered>(&bytes) else {
            return Ok(true);
        };
        Ok(r.fp != subscription.fingerprint()
            || now.saturating_sub(r.at) >= REREGISTER_AFTER_SECS
            || r.at > now.saturating_add(86_400))
    }

    /// The relay's VAPID public key as its last answer gave it (65 bytes), or `None` before any
    /// answer. An app subscribes at its push service with it; when a registration's answer brings
    /// another key (the operator replaced it), the app subscribes again with the new one.
    pub fn push_server_key(&self, relay_url: &str) -> Result<Option<Vec<u8>>> {
        Ok(match self.store.kv_get(&key_setting(relay_url)) {
            Ok(Some(k)) if k.len() == P256DH_LEN => Some(k.to_vec()),
            _ => None,
        })
    }

    /// Registers `subscription` (or removes this device's, `None`) at the relay at `relay_url`
    /// through `http`, holding the vault throughout; returns the relay's VAPID public key. No answer
    /// is `Error::Network`.
    pub fn register_push_with(
        &self,
        http: &dyn HttpClient,
        relay_url: &str,
        subscription: Option<&WebPushSubscription>,
    ) -> Result<Vec<u8>> {
        let request = self.push_register_request(relay_url, subscription)?;
        let response = http.send(request).map_err(Error::Network)?;
        self.push_register_answer(relay_url, subscription, response, now_secs())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sub() -> WebPushSubscription {
        let mut p256dh = vec![4];
        p256dh.extend([7; 64]);
        WebPushSubscription {
            endpoint: "https://push.example.net/s/1".into(),
            p256dh,
            auth: vec![9; 16],
        }
    }

    #[test]
    fn shapes_are_checked_before_sending() {
        assert!(sub().check().is_ok());
        let edits: [fn(&mut WebPushSubscription); 9] = [
            |s| s.endpoint.clear(),
            |s| s.endpoint = format!("https://h/{}", "x".repeat(MAX_ENDPOINT_LEN)),
            |s| s.endpoint = "ftp://push.example.net/x".into(),
            |s| s.endpoint = "https:///x".into(),
            |s| s.endpoint = "https://u@push.example.net/x".into(),
            |s| s.endpoint = "https://push.example.net/x#1".into(),
            |s| s.p256dh.truncate(64),
            |s| s.p256dh[0] = 2,
            |s| s.auth.push(0),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut s = sub();
            edit(&mut s);
            assert!(
                matches!(s.check(), Err(Error::InvalidInput(_))),
                "edit {i} passed"
            );
        }
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let cases = [
            (403, "not-a-member", Some(PushRefusal::SyncFirst)),
            (409, "endpoint-taken", Some(PushRefusal::EndpointTaken)),
            (503, "relay-busy", Some(PushRefusal::RelayBusy)),
            (404, "not-found", Some(PushRefusal::NotServed)),
            (400, "malformed", Some(PushRefusal::Malformed)),
            (409, "replayed-request", None),
            (401, "clock-skew", None),
        ];
        for (status, code, want) in cases {
            assert_eq!(refusal(status, code), want, "{status} {code}");
        }
    }

    #[test]
    fn the_debug_form_shows_no_endpoint_or_key() {
        let shown = format!("{:?}", sub());
        assert!(!shown.contains("push.example.net") && !shown.contains("7, 7"));
    }
}
