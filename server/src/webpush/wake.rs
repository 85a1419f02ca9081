//! The one push request a wake-up is. Every wake-up from every relay looks the same to the push
//! service and to anyone watching it: the same payload, priority, lifetime and collapse key, so that
//! none of them tells which space, which change, or how urgent; only its time and its recipient differ
//! (`docs/protocol.md`, section 28.8).

use ring::rand::SecureRandom;

use super::WebPushError;
use super::encrypt::{EphemeralSender, SALT_LEN, encrypt};
use super::vapid::{VapidKey, audience};

/// The whole plaintext of a wake-up: the device syncs, and learns what changed from the relay.
pub const WAKE_PAYLOAD: &[u8] = b"sync";
/// RFC 8030 `TTL`: a device offline for longer syncs when it is back anyway.
pub const WAKE_TTL_SECS: u32 = 24 * 3600;
/// RFC 8030 `Urgency`, the same for every wake-up: a referral must not wait for a phone's next
/// maintenance window, and a constant level tells nothing about which wake-up carried one.
pub const WAKE_URGENCY: &str = "high";
/// RFC 8030 `Topic`: wake-ups not yet delivered replace each other at the push service, so a phone
/// that was off gets one, not one per change.
pub const WAKE_TOPIC: &str = "sebaya-sync";

/// A device's push subscription, as a browser's `PushSubscription` or a UnifiedPush distributor gives
/// it: where to post, and the two keys the message is encrypted to. Its `Debug` shows the endpoint's
/// origin only and none of the keys: the path is a capability to push to the device, and `auth` a
/// secret (review finding F8).
#[derive(Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The push service's URL for this device (`https`).
    pub endpoint: String,
    /// `p256dh`: the subscription's P-256 public key, uncompressed (65 bytes).
    pub p256dh: Vec<u8>,
    /// `auth`: the subscription's 16-byte secret.
    pub auth: Vec<u8>,
}

/// One HTTP request to a push service, to be sent as it is (`POST`). Its `Debug` shows the
/// endpoint's origin and the header names only (the `authorization` value is a signed token).
#[derive(Clone, PartialEq, Eq)]
pub struct WakeRequest {
    /// Where to post.
    pub endpoint: String,
    /// The headers, names in lower case.
    pub headers: Vec<(&'static str, String)>,
    /// The encrypted message.
    pub body: Vec<u8>,
}

/// An endpoint as `Debug` shows it: its origin, never its path or query.
pub fn redacted_endpoint(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(url) => format!("{}/…", url.origin().ascii_serialization()),
        Err(_) => "<not a URL>".to_owned(),
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("endpoint", &redacted_endpoint(&self.endpoint))
            .field("p256dh", &format_args!("<{} bytes>", self.p256dh.len()))
            .field("auth", &format_args!("<{} bytes>", self.auth.len()))
            .finish()
    }
}

impl std::fmt::Debug for WakeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        f.debug_struct("WakeRequest")
            .field("endpoint", &redacted_endpoint(&self.endpoint))
            .field("headers", &names)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl Subscription {
    /// Checks what a device registers before the relay keeps it: an endpoint a wake-up may be sent
    /// to (`https` to a public host, so that the relay is never made to post into its own network;
    /// `allow_loopback` is the tests' switch) and keys of the right form.
    pub fn check(&self, allow_loopback: bool) -> Result<(), WebPushError> {
        super::endpoint::check_endpoint(&self.endpoint, allow_loopback)?;
        self.check_keys()
    }

    /// The keys' form alone: a point on the curve and a 16-byte secret.
    fn check_keys(&self) -> Result<(), WebPushError> {
        audience(&self.endpoint)?;
        if self.p256dh.len() != super::PUBLIC_KEY_LEN || self.p256dh.first() != Some(&0x04) {
            return Err(WebPushError::BadPublicKey);
        }
        if self.auth.len() != super::AUTH_SECRET_LEN {
            return Err(WebPushError::BadAuthSecret);
        }
        // A point off the curve would fail every wake-up: refuse it now (ring checks the point when
        // it agrees, so agree once with a throwaway key).
        let rng = ring::rand::SystemRandom::new();
        let sender = super::encrypt::EphemeralSender::generate(&rng)?;
        let peer = <[u8; super::PUBLIC_KEY_LEN]>::try_from(self.p256dh.as_slice())
            .map_err(|_| WebPushError::BadPublicKey)?;
        super::encrypt::SenderKey::agree(sender, &peer).map(|_| ())
    }

    /// The wake-up request for this subscription at unix time `now`, signed by `vapid` with the
    /// operator's contact `subject`. A fresh sender key and salt per request.
    pub fn wake(
        &self,
        vapid: &VapidKey,
        subject: &str,
        now: u64,
        rng: &dyn SecureRandom,
    ) -> Result<WakeRequest, WebPushError> {
        self.check_keys()?;
        let mut salt = [0u8; SALT_LEN];
        rng.fill(&mut salt).map_err(|_| WebPushError::Crypto)?;
        let sender = EphemeralSender::generate(rng)?;
        let body = encrypt(WAKE_PAYLOAD, &self.p256dh, &self.auth, sender, salt)?;
        let token = vapid.token(&self.endpoint, subject, now, rng)?;
        Ok(WakeRequest {
            endpoint: self.endpoint.clone(),
            headers: vec![
                ("authorization", token.authorization()),
                ("content-encoding", "aes128gcm".to_owned()),
                ("content-type", "application/octet-stream".to_owned()),
                ("ttl", WAKE_TTL_SECS.to_string()),
                ("urgency", WAKE_URGENCY.to_owned()),
                ("topic", WAKE_TOPIC.to_owned()),
            ],
            body,
        })
    }
}
