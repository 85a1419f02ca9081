//! Web Push, the way the relay wakes an offline device (issue 16, item 4; `docs/protocol.md`,
//! section 28.8): a message encrypted to the device's push subscription (RFC 8291, content encoding
//! `aes128gcm` of RFC 8188), sent with a VAPID token that names this relay to the push service
//! (RFC 8292), carrying nothing but the word `sync`.
//!
//! Sans-I/O: this module builds and reads the bytes and headers of one push request; it opens no
//! connection and keeps no state, so that the sender (which holds the subscriptions, coalesces and
//! jitters) and the tests' push service use one implementation of the formats. It knows nothing of
//! spaces or members.
//!
//! Layout: `encrypt.rs` (RFC 8291 both ways), `vapid.rs` (the relay's signing key and its tokens),
//! `wake.rs` (the one request a wake-up is: payload, headers), `schedule.rs` (when each leaves: coalesced
//! per recipient, jittered), `endpoint.rs` (which endpoints and addresses the relay posts to at all),
//! `send.rs` (the one place that opens connections: posting a wake-up and reading the answer).

mod encrypt;
mod endpoint;
mod schedule;
mod send;
mod vapid;
mod wake;

#[cfg(test)]
mod endpoint_tests;
#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod tests;

pub use encrypt::{
    AUTH_SECRET_LEN, EphemeralSender, HEADER_LEN, MAX_PLAINTEXT, PUBLIC_KEY_LEN, RECORD_SIZE,
    SALT_LEN, SenderKey, decrypt, encrypt,
};
pub use endpoint::{address_allowed, check_endpoint, is_global};
pub use schedule::{DEFAULT_INTERVAL_MS, DEFAULT_JITTER_MS, Scheduled, WakeSchedule};
pub use send::{Delivery, GuardedResolver, MAX_RETRY_AFTER, Poster, retry_after};
pub use vapid::{VAPID_LIFETIME_SECS, VapidKey, VapidToken, verify_token};
pub use wake::{
    Subscription, WAKE_PAYLOAD, WAKE_TOPIC, WAKE_TTL_SECS, WAKE_URGENCY, WakeRequest,
    redacted_endpoint,
};

/// Why a push message could not be built or read. No variant carries a key, a token or an endpoint:
/// these errors reach logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebPushError {
    /// A subscription's `p256dh` is not a 65-byte uncompressed P-256 point on the curve.
    #[error("the subscription's public key is not an uncompressed P-256 point")]
    BadPublicKey,
    /// A subscription's `auth` secret is not 16 bytes.
    #[error("the subscription's auth secret is not 16 bytes")]
    BadAuthSecret,
    /// The payload does not fit one record of a 4096-byte message.
    #[error("the payload is larger than one Web Push record")]
    TooLarge,
    /// A message or token did not read: wrong length, wrong header, a failed tag or signature.
    #[error("the Web Push message or token does not read")]
    Malformed,
    /// An endpoint the relay does not post to: not an absolute `https` URL, with a user or password,
    /// or naming an address that is not global (loopback, private, link-local...; loopback is taken
    /// behind the test switch only).
    #[error("the push endpoint is not an https URL of a public host")]
    BadEndpoint,
    /// The system's random source or a key failed; nothing was sent.
    #[error("a cryptographic operation failed")]
    Crypto,
}
