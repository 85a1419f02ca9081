//! Posting one wake-up to a push service (RFC 8030, section 5), and what its answer means to the
//! sender: delivered, gone for good (the subscription is deleted), or to be tried later (the push
//! service is busy or failing; it may say when with `Retry-After`).
//!
//! The relay posts to URLs devices chose, so the client is built to go nowhere else (review finding
//! F1): the endpoint is checked again before each post (`endpoint.rs`), the host name is resolved
//! by [`GuardedResolver`], which hands the connection only the addresses it checked (so the address
//! connected to is the address checked: a name that resolves to a public address when checked and
//! to a private one when connecting cannot exist here), no redirect is followed, no proxy from the
//! environment is used, and every request has a connect and a total timeout. Nothing of the
//! endpoint, the device or the answer's body reaches a log or an error.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::WebPushError;
use super::endpoint::{address_allowed, check_endpoint};
use super::wake::WakeRequest;

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole post may take.
pub const POST_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest `Retry-After` taken as it is; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What became of one post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The push service took it (2xx).
    Sent,
    /// The subscription is gone (404, 410): it is deleted and never posted to again.
    Gone,
    /// The push service asks the relay to slow down (429), for `retry_after` if it said.
    Throttled {
        /// `Retry-After`, at most [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },
    /// The push service failed (5xx), for `retry_after` if it said: worth trying later.
    Unavailable {
        /// `Retry-After`, at most [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },
    /// Anything else: the endpoint or its address is refused, no connection, a timeout, a redirect,
    /// another status. Not tried again for this wake-up.
    Failed,
}

/// Resolves host names for the sender's client and keeps only the addresses it may connect to
/// ([`address_allowed`]); a name with none left does not resolve.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver {
    allow_loopback: bool,
}

impl GuardedResolver {
    /// A resolver that refuses every non-global address (and, with `allow_loopback`, takes loopback).
    pub fn new(allow_loopback: bool) -> Self {
        Self { allow_loopback }
    }

    /// Of `addrs`, those the sender may connect to.
    pub fn keep(&self, addrs: impl IntoIterator<Item = SocketAddr>) -> Vec<SocketAddr> {
        addrs
            .into_iter()
            .filter(|a| address_allowed(a.ip(), self.allow_loopback))
            .collect()
    }
}

/// The error of a name that resolved to no address the sender may use (it names no address).
#[derive(Debug, thiserror::Error)]
#[error("the push service's name resolves to no address the relay may post to")]
struct NoAllowedAddress;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = *self;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let kept = this.keep(found);
            if kept.is_empty() {
                return Err(Box::new(NoAllowedAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The sender's HTTP client.
#[derive(Clone, Debug)]
pub struct Poster {
    client: reqwest::Client,
    allow_loopback: bool,
}

impl Poster {
    /// A client that posts only to endpoints [`check_endpoint`] takes, resolved by
    /// [`GuardedResolver`], following no redirect and using no proxy.
    pub fn new(allow_loopback: bool) -> Result<Self, WebPushError> {
        // Installing the provider twice is harmless; the second call reports the first one won.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(allow_loopback)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(POST_TIMEOUT)
            .https_only(!allow_loopback)
            .build()
            .map_err(|_| WebPushError::Crypto)?;
        Ok(Self {
            client,
            allow_loopback,
        })
    }

    /// Posts `request` and reads what its answer means. Never fails: a failure is [`Delivery::Failed`].
    pub async fn post(&self, request: WakeRequest) -> Delivery {
        let Ok(url) = check_endpoint(&request.endpoint, self.allow_loopback) else {
            return Delivery::Failed;
        };
        let mut builder = self.client.post(url).body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let Ok(answer) = builder.send().await else {
            return Delivery::Failed;
        };
        let status = answer.status().as_u16();
        let retry_after = answer
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        match status {
            200..=299 => Delivery::Sent,
            404 | 410 => Delivery::Gone,
            429 => Delivery::Throttled { retry_after },
            500..=599 => Delivery::Unavailable { retry_after },
            _ => Delivery::Failed,
        }
    }
}

/// A `Retry-After` value in seconds (RFC 9110, 10.2.3), at most [`MAX_RETRY_AFTER`]. An HTTP date
/// is not read: the sender's own back-off applies then.
pub fn retry_after(value: &str) -> Option<Duration> {
    let secs: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}
