//! What the gateway asks of a provider, and what a provider's answer means to the relay.
//!
//! A wake-up is one of two kinds, chosen by the device when it builds its endpoint: `silent` (a
//! background push that lets the app sync, and shows nothing) or `alert` (a visible notification
//! whose title and text are localisation keys the app defines, for coordinators who opt in because
//! iOS throttles silent pushes). Nothing in a provider request comes from the relay: the token is the
//! device's, everything else is a constant of this crate.

use std::time::Duration;

/// Which provider a device's token belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// Firebase Cloud Messaging (HTTP v1 API): Android.
    Fcm,
    /// Apple Push Notification service (token-based authentication): iOS.
    Apns,
}

impl Provider {
    /// The provider named in an endpoint's path (`fcm`, `apns`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "fcm" => Some(Self::Fcm),
            "apns" => Some(Self::Apns),
            _ => None,
        }
    }

    /// Whether `token` may be a device token of this provider: bounded, and only characters the
    /// provider uses (so a token is a path segment as it is, and never carries anything else).
    /// APNs tokens are hexadecimal (32 bytes today, up to 100 bytes allowed); FCM registration
    /// tokens are base64url with `:` separators.
    pub fn token_ok(self, token: &str) -> bool {
        match self {
            Self::Apns => {
                (64..=MAX_APNS_TOKEN).contains(&token.len())
                    && token.len() % 2 == 0
                    && token.bytes().all(|b| b.is_ascii_hexdigit())
            }
            Self::Fcm => {
                (1..=MAX_FCM_TOKEN).contains(&token.len())
                    && token
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b))
            }
        }
    }
}

/// The longest APNs token taken (100 bytes, hexadecimal).
pub const MAX_APNS_TOKEN: usize = 200;
/// The longest FCM registration token taken.
pub const MAX_FCM_TOKEN: usize = 512;

/// Silent or visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A background push; nothing is shown.
    Silent,
    /// A visible notification naming only the app's localisation keys [`TITLE_KEY`], [`BODY_KEY`].
    Alert,
}

impl Mode {
    /// The mode named in an endpoint's path (`silent`, `alert`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "silent" => Some(Self::Silent),
            "alert" => Some(Self::Alert),
            _ => None,
        }
    }
}

/// The app's localisation key of an alert's title. The app holds its neutral text (Indonesian and
/// English); the gateway and the providers see only the key.
pub const TITLE_KEY: &str = "sebaya_wake_title";
/// The app's localisation key of an alert's text.
pub const BODY_KEY: &str = "sebaya_wake_body";
/// The one data field of a silent FCM message, and what a woken app reads: "sync".
pub const DATA: (&str, &str) = ("t", "sync");
/// How long a provider keeps an undelivered wake-up (the relay's own Web Push TTL, 24 h).
pub const TTL_SECS: u64 = 24 * 3600;
/// The collapse key (FCM) and collapse id (APNs): a phone offline for a while gets one wake-up,
/// not one per push (the relay's Web Push `Topic`).
pub const COLLAPSE: &str = "sebaya-sync";

/// What became of one request to a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted.
    Sent,
    /// The token is no longer valid: the relay should delete the subscription.
    Gone,
    /// The provider throttles this one device, which it has just been asked to wake many times:
    /// the wake-up is dropped as delivered (wake-ups collapse into one anyway). Never told to the
    /// relay as throttling, which it reads as the whole gateway's (review G1).
    Dropped,
    /// The provider throttles the publisher's whole project or key (for this long, if it said).
    Throttled(Option<Duration>),
    /// The provider failed or is unreachable (try again after this long, if it said).
    Unavailable(Option<Duration>),
    /// The provider refused the request for another reason (the gateway's credentials, most likely).
    /// Told to the relay as a 400: about this request, no reason to hold back others.
    Failed,
}

impl Outcome {
    /// The label used in logs and metrics (it names no token).
    pub fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Gone => "gone",
            Self::Dropped => "dropped",
            Self::Throttled(_) => "throttled",
            Self::Unavailable(_) => "unavailable",
            Self::Failed => "failed",
        }
    }
}

/// The `Retry-After` of a provider's answer, in seconds (at most an hour).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(sebaya_relay::webpush::retry_after)
}

/// The gateway's HTTP client for one provider: no redirect, no proxy from the environment, bounded
/// time. `h2_only` (APNs): HTTP/2 alone, offered as ALPN `h2` over TLS and spoken by prior
/// knowledge over plain HTTP (the tests' server on loopback).
pub fn client(h2_only: bool) -> Result<reqwest::Client, reqwest::Error> {
    // Installing the provider twice is harmless; the second call reports the first one won.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15));
    if h2_only {
        builder = builder.http2_prior_knowledge();
    }
    builder.build()
}
