//! Sebaya's push gateway (issue 16, item 4): the one place that holds the app publisher's FCM and
//! APNs credentials. Relays send it the same content-free Web Push wake-ups (RFC 8030, 8291, 8292)
//! they send any push service; it checks each as a push service does, drops the encrypted body
//! unread, and asks FCM (HTTP v1) or APNs (token authentication) to wake the device whose token is
//! in the endpoint's path, with a message made only of constants. `docs/push-gateway.md` says how to
//! run it; `docs/protocol.md` 28.10 specifies what it accepts and sends.
//!
//! Layout: `api.rs` (the push-service endpoint and `/healthz`), `provider.rs` (tokens, modes,
//! outcomes, the HTTP client), `fcm.rs`, `apns.rs` (one provider each), `jwt.rs` (JWT and PEM
//! bits), `limit.rs` (the per-token rate limit), `config.rs` (the operator's settings).

pub mod api;
pub mod apns;
pub mod config;
pub mod fcm;
pub mod jwt;
pub mod limit;
pub mod provider;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

/// Unix time in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A running gateway's state.
#[derive(Debug)]
pub struct Gateway {
    /// This gateway's origin (`https://push.example.org`): the audience a relay's VAPID token must
    /// name.
    pub origin: String,
    /// The relay VAPID keys taken (uncompressed P-256 points), or any key if `None`.
    pub relay_keys: Option<HashSet<[u8; 65]>>,
    /// The per-token rate limit.
    pub limiter: limit::Limiter,
    /// Provider requests in flight, at most its permits; a wake-up finding none left is answered 503.
    pub in_flight: tokio::sync::Semaphore,
    /// Provider requests in flight per relay key, at most a quarter of `in_flight`'s permits.
    pub per_key: limit::KeyShare,
    /// The FCM sender, if configured.
    pub fcm: Option<fcm::Fcm>,
    /// The APNs sender, if configured.
    pub apns: Option<apns::Apns>,
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be listened on.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime could not start.
    #[error("could not start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// A gateway serving on its own threads until [`GatewayHandle::shutdown`] or drop.
pub struct GatewayHandle {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GatewayHandle {
    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the threads.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Serves `gateway` on `bind` from a runtime of its own.
pub fn spawn(gateway: Gateway, bind: SocketAddr) -> Result<GatewayHandle, StartError> {
    let listener = std::net::TcpListener::bind(bind)
        .map_err(|source| StartError::Bind { addr: bind, source })?;
    serve(gateway, listener)
}

/// Serves `gateway` on `listener` (bound already, so that a caller can name its own address as the
/// gateway's origin) from a runtime of its own.
pub fn serve(
    gateway: Gateway,
    listener: std::net::TcpListener,
) -> Result<GatewayHandle, StartError> {
    let unbound = SocketAddr::from(([0, 0, 0, 0], 0));
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: unbound,
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| StartError::Bind { addr, source })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = api::router(Arc::new(gateway));
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    Ok(GatewayHandle {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Reads a file of relay VAPID public keys: one base64url key a line; blank lines and lines
/// starting with `#` are skipped. Returns the line number of the first that is not a key.
pub fn read_relay_keys(text: &str) -> Result<HashSet<[u8; 65]>, usize> {
    use base64::Engine;
    let mut keys = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(line.trim_end_matches('='))
            .ok()
            .and_then(|k| <[u8; 65]>::try_from(k.as_slice()).ok())
            .filter(|k| k[0] == 4)
            .ok_or(i + 1)?;
        keys.insert(key);
    }
    Ok(keys)
}
