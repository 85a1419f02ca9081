//! Wake-ups (issue 16, item 4; protocol 28.9): the app registers the Web Push subscription its push
//! library made (a UnifiedPush distributor, or the publisher's gateway in front of FCM or APNs) with
//! the relay, through its HTTP transport, and gets the relay's VAPID key to subscribe with. The
//! library makes and holds no push key: the platform's push library does. A wake-up's payload is
//! never read: on one, the app runs one sync.

use std::sync::Arc;

use sebaya_core::WebPushSubscription;

use super::{Result, SebayaError, Vault, platform, with};

/// Why a relay did not take a registration for wake-ups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum PushRefusal {
    /// This device has not synced with the relay yet, or holds no space there: sync, then register.
    SyncFirst,
    /// Enough devices already hold this endpoint: ask the push service for a new one.
    EndpointTaken,
    /// The relay takes no more subscriptions now: try again later (syncing works as before).
    RelayBusy,
    /// The relay sends no wake-ups: sync as before, without them.
    NotServed,
    /// The relay found the subscription malformed (a key that is not a point on the curve, or an
    /// endpoint it does not post to).
    Malformed,
}

/// The binding's error for a core refusal.
pub(crate) fn refused(r: sebaya_core::PushRefusal, detail: String) -> SebayaError {
    use sebaya_core::PushRefusal as R;
    let (reason, id) = match r {
        R::SyncFirst => (PushRefusal::SyncFirst, "error-push-sync-first"),
        R::EndpointTaken => (PushRefusal::EndpointTaken, "error-push-endpoint-taken"),
        R::RelayBusy => (PushRefusal::RelayBusy, "error-push-relay-busy"),
        R::NotServed => (PushRefusal::NotServed, "error-push-not-served"),
        R::Malformed => (PushRefusal::Malformed, "error-push-malformed"),
    };
    SebayaError::PushRefused {
        message_id: id.into(),
        detail,
        reason,
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Vault {
    /// One registration (or removal, `None`) through the app's transport; the vault is taken only to
    /// sign the request and to read the answer.
    fn push_exchange(
        &self,
        relay_url: &str,
        subscription: Option<WebPushSubscription>,
    ) -> Result<Vec<u8>> {
        if self.quiet {
            // A duress vault never talks to a relay: as if the relay sent no wake-ups.
            return Err(refused(
                sebaya_core::PushRefusal::NotServed,
                "the relay sends no wake-ups".into(),
            ));
        }
        let http = platform::transport()?;
        let request = with(&self.inner, |v| {
            v.push_register_request(relay_url, subscription.as_ref())
        })?;
        let response = platform::send_or_reason(http.as_ref(), request)
            .map_err(|reason| SebayaError::from(sebaya_core::Error::Network(reason)))?;
        with(&self.inner, |v| {
            v.push_register_answer(relay_url, subscription.as_ref(), response, now_secs())
        })
    }
}

#[uniffi::export]
impl Vault {
    /// Registers this device for wake-ups at the relay at `relay_url` with the Web Push subscription
    /// the platform's push library made: its `endpoint` (an `https` URL), `p256dh` (its public key,
    /// 65 bytes, `04` first) and `auth` (16 bytes). Returns the relay's VAPID public key (65 bytes):
    /// the `applicationServerKey` to subscribe with; if it differs from the one the subscription was
    /// made with, subscribe again with it and register the new subscription. Throws `PushRefused`
    /// (`reason`: sync first, endpoint taken, relay busy, not served, malformed), `InvalidInput` for
    /// a wrong shape (nothing is sent), `Network` without an answer, `NoHttpTransport`.
    pub fn register_push(
        self: Arc<Self>,
        relay_url: String,
        endpoint: String,
        p256dh: Vec<u8>,
        auth: Vec<u8>,
    ) -> Result<Vec<u8>> {
        self.push_exchange(
            &relay_url,
            Some(WebPushSubscription {
                endpoint,
                p256dh,
                auth,
            }),
        )
    }

    /// Removes this device's subscription at the relay at `relay_url` (it wakes this device no more)
    /// and returns the relay's VAPID public key: an app that has none yet learns it this way before
    /// subscribing.
    pub fn unregister_push(self: Arc<Self>, relay_url: String) -> Result<Vec<u8>> {
        self.push_exchange(&relay_url, None)
    }

    /// Whether to call `register_push` (again) for this subscription at `relay_url` now: never
    /// registered there, another endpoint or keys, or the last registration is a day old (a relay
    /// may drop one without telling: a new key, a push service's 410). Asks nobody: call it at
    /// every app start.
    pub fn push_registration_due(
        self: Arc<Self>,
        relay_url: String,
        endpoint: String,
        p256dh: Vec<u8>,
        auth: Vec<u8>,
    ) -> Result<bool> {
        let s = WebPushSubscription {
            endpoint,
            p256dh,
            auth,
        };
        with(&self.inner, |v| {
            v.push_registration_due(&relay_url, &s, now_secs())
        })
    }

    /// The relay's VAPID public key as its last registration answer gave it, or none yet.
    pub fn push_server_key(self: Arc<Self>, relay_url: String) -> Result<Option<Vec<u8>>> {
        with(&self.inner, |v| v.push_server_key(&relay_url))
    }
}
