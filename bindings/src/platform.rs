//! Host capabilities the platform owns, as foreign traits (issue 6): the app's HTTP stack, the app's
//! key store, and "this space changed" notifications.
//!
//! **HTTP.** The mobile library carries no HTTP client of its own: reqwest with rustls would need the
//! platform's certificate store initialised under JNA on Android, and with hyper and tokio it is the
//! largest part of the library (docs/size.md). The app passes its platform's stack once per process
//! with [`set_http_transport`] (Android: OkHttp or `HttpURLConnection`, iOS: `URLSession`), so TLS,
//! proxies and certificate pinning follow the platform's rules. Every later `Vault.sync` uses it;
//! without one, sync throws `NoHttpTransport` and changes nothing.
//!
//! **Key store.** [`Vault::open_with_key_store`] keeps the vault's master key in the app's key store
//! (Android Keystore-backed storage, iOS Keychain): made from the CSPRNG on first open, read back on
//! every later one. The key crosses the boundary only between the core and the store.
//!
//! **Listeners.** [`Vault::subscribe`] tells a [`SpaceListener`] which spaces changed after every call
//! that changed them: a local write, a relay sync, a bundle import, a join. Listeners run on the
//! calling thread once that call holds nothing (the vault, a peer session and the sync gate are all
//! released), so a listener may call any vault method, `sync` included; a listener that throws is
//! logged (warn, `sebaya::listeners`) and never fails the call that told it (issue 17, item 3).
//!
//! *Thread.* A listener runs on the thread whose call made the change, before that call returns,
//! when it holds nothing of the library's (for a sync: after its last answer is applied and the sync
//! gate is released). A nested call's own changes are told on the same thread, inside the listener.
//! It delays its caller: keep it short. *Order.* Listeners are told in the order they subscribed,
//! the spaces of one call in id order; a sync tells once, at its end, of every space it changed.
//! Calls on different threads tell their listeners independently, so one listener may run on two
//! threads at once: no listener ever waits for another, which is what makes calling back safe.
//! *Throwing.* A throw never fails the call that told the listener nor stops the ones after it; it
//! is logged at warn level without its message (which may hold anything).
//!
//! *Why the caller's thread, not a dispatcher thread of the library's.* A call returns only after
//! its listeners were told, so a screen that writes and then reads sees its listener's effect, and
//! a test needs no waiting; a slow listener delays the call that made the change, not every other
//! listener of the process; and the library starts no thread the app can neither name nor stop.
//! What made the caller's thread unsafe before was telling listeners while something was held (the
//! sync gate; one listener's turn while another waited for it), not the thread itself.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::ThreadId;

use zeroize::Zeroizing;

use super::{Result, SebayaError, Shared, SpaceKind, Vault};

// --- HTTP -----------------------------------------------------------------------------------------

/// One HTTP header.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// Header name, lowercase.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// One HTTP request the core asks the app's transport to send.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// "GET" or "POST" today. A string, not an enum, on purpose: HTTP methods are an open set and
    /// every platform's HTTP API takes the name as a string, so the app passes it on unchanged.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers to send (lowercase names); the body is CBOR, its content type is among them when set.
    pub headers: Vec<HttpHeader>,
    /// Body bytes (empty for GET).
    pub body: Vec<u8>,
}

/// The answer to an [`HttpRequest`]: every status code is an answer (the core reads the relay's
/// error bodies), only "no answer at all" is a [`TransportError`].
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Why no HTTP answer arrived. Sync turns each into `SebayaError.Network` (local data intact, retry
/// later); the reason goes to logs only.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    /// No connection: no route, DNS failure, connection refused, airplane mode.
    #[error("could not connect: {reason}")]
    Unreachable {
        /// What the platform said.
        reason: String,
    },
    /// Connected, but no answer in time.
    #[error("timed out: {reason}")]
    Timeout {
        /// What the platform said.
        reason: String,
    },
    /// The TLS handshake failed (certificate not trusted, pin mismatch, captive portal).
    #[error("TLS failed: {reason}")]
    Tls {
        /// What the platform said.
        reason: String,
    },
    /// Any other failure before an answer arrived.
    #[error("request failed: {reason}")]
    Failed {
        /// What the platform said.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportError::Failed {
            reason: format!("the transport threw an undeclared error: {}", e.reason),
        }
    }
}

/// The app's HTTP stack, as the core needs it: send one request, wait for its answer. Called on the
/// thread that called `sync`, never while the vault is held; one sync sends its requests one at a
/// time. Implement with OkHttp/`HttpURLConnection` (Android) or `URLSession` (iOS).
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    /// Sends `request` and returns the answer, whatever its status; throws only when none arrived.
    fn send(&self, request: HttpRequest) -> std::result::Result<HttpResponse, TransportError>;
}

static TRANSPORT: RwLock<Option<Arc<dyn HttpTransport>>> = RwLock::new(None);

/// Sets the HTTP transport every later sync uses (call once at app start; calling again replaces it,
/// for syncs that start afterwards).
#[uniffi::export]
pub fn set_http_transport(transport: Arc<dyn HttpTransport>) {
    let mut t = match TRANSPORT.write() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    };
    *t = Some(transport);
}

/// Removes the HTTP transport (tests, or an app shutting its network stack down): later syncs throw
/// `NoHttpTransport` until one is set again.
#[uniffi::export]
pub fn clear_http_transport() {
    let mut t = match TRANSPORT.write() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    };
    *t = None;
}

/// The transport set now, or `NoHttpTransport`.
pub(crate) fn transport() -> Result<Arc<dyn HttpTransport>> {
    let t = match TRANSPORT.read() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    };
    t.clone().ok_or_else(|| SebayaError::NoHttpTransport {
        message_id: "error-no-http-transport".into(),
        detail: "no HTTP transport set: call set_http_transport at app start".into(),
    })
}

/// Longest transport reason kept in an error's detail (platform messages can be long).
const MAX_REASON: usize = 200;

/// Sends one of the core's requests through the app's transport. A failure comes back as the
/// transport's reason (cut to a short length), which the sync loop hands to
/// `RelaySync::network_failed` to decide whether to retry.
pub(crate) fn send_or_reason(
    transport: &dyn HttpTransport,
    request: sebaya_core::HttpRequest,
) -> std::result::Result<sebaya_core::HttpResponse, String> {
    let (get, sent) = (request.method == "GET", request.body.len());
    let started = std::time::Instant::now();
    let request = HttpRequest {
        method: request.method,
        url: request.url,
        headers: request
            .headers
            .into_iter()
            .map(|(name, value)| HttpHeader { name, value })
            .collect(),
        body: request.body,
    };
    let outcome = transport.send(request);
    let (method, ms) = (
        if get { "GET" } else { "POST" },
        started.elapsed().as_millis(),
    );
    match outcome {
        Ok(r) => {
            log::debug!(
                target: "sebaya::http",
                "{method} answered {} in {ms} ms: {sent} bytes sent, {} received",
                r.status,
                r.body.len()
            );
            Ok(sebaya_core::HttpResponse {
                status: r.status,
                body: r.body,
            })
        }
        Err(e) => {
            // The kind only: the platform's reason may name the host or the network.
            let kind = match e {
                TransportError::Unreachable { .. } => "unreachable",
                TransportError::Timeout { .. } => "timeout",
                TransportError::Tls { .. } => "tls",
                TransportError::Failed { .. } => "failed",
            };
            log::info!(target: "sebaya::http", "{method} got no answer after {ms} ms: {kind}");
            let mut detail = e.to_string();
            if detail.len() > MAX_REASON {
                let mut cut = MAX_REASON;
                while !detail.is_char_boundary(cut) {
                    cut -= 1;
                }
                detail.truncate(cut);
            }
            Err(detail)
        }
    }
}

// --- key store ------------------------------------------------------------------------------------

/// Why the app's key store could not do what was asked.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyStoreError {
    /// The store cannot be used now (device locked, user not authenticated, hardware failure).
    #[error("key store unavailable: {reason}")]
    Unavailable {
        /// What the platform said.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeyStoreError::Unavailable {
            reason: format!("the key store threw an undeclared error: {}", e.reason),
        }
    }
}

/// The app's secret storage (Android: Keystore-wrapped storage; iOS: Keychain), holding named byte
/// strings. The core stores one 32-byte key in it per vault.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// The value stored under `name`, or null when there is none.
    fn get(&self, name: String) -> std::result::Result<Option<Vec<u8>>, KeyStoreError>;
    /// Stores `value` under `name`, replacing what was there.
    fn put(&self, name: String, value: Vec<u8>) -> std::result::Result<(), KeyStoreError>;
    /// Removes what is stored under `name` (nothing stored is not an error).
    fn delete(&self, name: String) -> std::result::Result<(), KeyStoreError>;
}

fn key_store_error(e: KeyStoreError) -> SebayaError {
    SebayaError::KeyStore {
        message_id: "error-key-store".into(),
        detail: e.to_string(),
    }
}

/// Whether a vault file with content is at `path` (a new vault is an absent or empty file).
fn vault_exists(path: &std::path::Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
}

#[uniffi::export]
impl Vault {
    /// Opens (or creates) the vault at `path` with its master key kept in the app's `key_store` under
    /// `key_name`. On first open the key is made from the system CSPRNG, stored with `put` and read
    /// back to check the store kept it; later opens read it with `get`. Throws `KeyStore` when the
    /// store fails or holds something that is not a 32-byte key, `KeyMissing` when the vault exists
    /// but the store has no key for it (its data cannot be opened: restore from the recovery phrase
    /// into a new vault), `WrongKey` when the stored key does not open it. None of these changes the
    /// vault or the store. Open a vault once per process (two first opens at once would race).
    #[uniffi::constructor]
    pub fn open_with_key_store(
        path: String,
        key_store: Arc<dyn KeyStore>,
        key_name: String,
    ) -> Result<Arc<Vault>> {
        let path = PathBuf::from(path);
        if key_store
            .get(format!("{key_name}.passcode"))
            .map_err(key_store_error)?
            .is_some()
        {
            return Err(SebayaError::PasscodeRequired {
                message_id: "error-passcode-required".into(),
                detail: "this vault has a passcode: open it with VaultLock.unlock".into(),
            });
        }
        let stored = key_store
            .get(key_name.clone())
            .map_err(key_store_error)?
            .map(Zeroizing::new);
        if let Some(key) = stored {
            if key.len() != 32 {
                return Err(SebayaError::KeyStore {
                    message_id: "error-key-store".into(),
                    detail: format!(
                        "the key store holds {} bytes under this name, not a 32-byte key",
                        key.len()
                    ),
                });
            }
            let v = sebaya_core::Vault::open(&path, &key)?;
            return Ok(Vault::wrap(v));
        }
        if vault_exists(&path) {
            return Err(SebayaError::KeyMissing {
                message_id: "error-key-missing".into(),
                detail: "the vault exists but the key store has no key for it".into(),
            });
        }
        let key = Zeroizing::new(sebaya_core::crypto::random_key()?.to_vec());
        key_store
            .put(key_name.clone(), key.to_vec())
            .map_err(key_store_error)?;
        let back = key_store
            .get(key_name.clone())
            .map_err(key_store_error)?
            .map(Zeroizing::new);
        if back.as_deref().map(|b| b.as_slice()) != Some(key.as_slice()) {
            // Do not create a vault whose key the store did not keep: it could never be opened again.
            let _ = key_store.delete(key_name);
            return Err(SebayaError::KeyStore {
                message_id: "error-key-store".into(),
                detail: "the key store did not keep the new key".into(),
            });
        }
        match sebaya_core::Vault::open(&path, &key) {
            Ok(v) => Ok(Vault::wrap(v)),
            Err(e) => {
                // Nothing was created that needs this key: leave the store as it was.
                let _ = key_store.delete(key_name);
                Err(e.into())
            }
        }
    }
}

// --- listeners ------------------------------------------------------------------------------------

/// What a foreign callback threw (a [`SpaceListener`] or a `LogSink`). The library never shows it
/// anywhere: a throw is the app's bug, and its message may hold anything (user content included),
/// so only the fact that one was thrown is logged.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    /// The callback failed.
    #[error("the callback failed")]
    Failed {
        /// The app's own words (never logged or shown by the library).
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { reason: e.reason }
    }
}

/// Told when a space's content changed (a write, a sync, a bundle import, a join), on the thread of
/// the call that changed it once that call holds nothing: it may call any vault method, `sync`
/// included. A throw is logged and never fails that call. Order and threads: docs/android.md, ios.md.
#[uniffi::export(with_foreign)]
pub trait SpaceListener: Send + Sync {
    /// `space_id` (hex), a space of `kind`, changed.
    fn space_changed(
        &self,
        space_id: String,
        kind: SpaceKind,
    ) -> std::result::Result<(), CallbackError>;
}

thread_local! {
    /// How many listener calls this thread is inside (a listener that writes is told of its write).
    static IN_LISTENER: Cell<u32> = const { Cell::new(0) };
}

struct SubState {
    active: bool,
    /// The threads inside this listener now, once per call (a thread may be in it more than once).
    callers: Vec<ThreadId>,
}

struct SubInner {
    vault: std::sync::Weak<Mutex<Option<sebaya_core::Vault>>>,
    listener: Arc<dyn SpaceListener>,
    state: Mutex<SubState>,
    idle: Condvar,
}

impl SubInner {
    fn state(&self) -> MutexGuard<'_, SubState> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// Calls the listener unless stopped; false when it threw or panicked. Never waits for another
    /// thread: two threads may be inside one listener at once, so no listener can wait on another.
    fn call(&self, space_id: &str, kind: &SpaceKind) -> bool {
        let me = std::thread::current().id();
        {
            let mut s = self.state();
            if !s.active {
                return true;
            }
            s.callers.push(me);
        }
        let listener = self.listener.clone();
        let (id, k) = (space_id.to_owned(), kind.clone());
        IN_LISTENER.with(|n| n.set(n.get() + 1));
        let outcome = catch_unwind(AssertUnwindSafe(move || listener.space_changed(id, k)));
        IN_LISTENER.with(|n| n.set(n.get().saturating_sub(1)));
        let mut s = self.state();
        if let Some(i) = s.callers.iter().position(|t| *t == me) {
            s.callers.swap_remove(i);
        }
        self.idle.notify_all();
        matches!(outcome, Ok(Ok(())))
    }

    /// Marks the subscription stopped; from outside every listener, also waits until no thread is
    /// inside this one. From inside a listener (this one or another) it does not wait: the thread
    /// it would wait for may be waiting for this one.
    fn stop(&self) {
        let inside = IN_LISTENER.with(Cell::get) > 0;
        let mut s = self.state();
        s.active = false;
        while !inside && !s.callers.is_empty() {
            s = match self.idle.wait(s) {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
        }
    }
}

/// Every live subscription, of every vault in this process.
static SUBSCRIPTIONS: Mutex<Vec<Arc<SubInner>>> = Mutex::new(Vec::new());
/// How many are live: while none is, vault calls skip the before/after snapshot altogether.
static LIVE: AtomicUsize = AtomicUsize::new(0);

fn subscriptions() -> MutexGuard<'static, Vec<Arc<SubInner>>> {
    match SUBSCRIPTIONS.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    }
}

fn listeners_of(shared: &Shared) -> Vec<Arc<SubInner>> {
    if LIVE.load(Ordering::Acquire) == 0 {
        return Vec::new();
    }
    subscriptions()
        .iter()
        .filter(|s| s.vault.as_ptr() == Arc::as_ptr(shared))
        .cloned()
        .collect()
}

/// Whether anyone listens to this vault (then calls snapshot its spaces before and after).
pub(crate) fn watched(shared: &Shared) -> bool {
    !listeners_of(shared).is_empty()
}

/// Tells this vault's listeners about `changes`. Must be called holding nothing of the library's
/// (the vault, a peer session, the sync gate): a listener may call anything. A listener that throws
/// or panics is logged and skipped; the others are told, and the caller never sees it.
pub(crate) fn notify(shared: &Shared, changes: &[sebaya_core::sync::watch::SpaceChange]) {
    if changes.is_empty() {
        return;
    }
    let subs = listeners_of(shared);
    for c in changes {
        let (id, kind) = (c.space.to_hex(), SpaceKind::from(c.kind));
        for s in &subs {
            if !s.call(&id, &kind) {
                log::warn!(
                    target: "sebaya::listeners",
                    "a space listener threw (a {kind:?} space changed); the change is kept and the other listeners are told"
                );
            }
        }
    }
}

/// Adds `more` to `changes`, each space once (a sync changes a space in several steps).
pub(crate) fn merge_changes(
    changes: &mut Vec<sebaya_core::sync::watch::SpaceChange>,
    more: Vec<sebaya_core::sync::watch::SpaceChange>,
) {
    for c in more {
        if !changes.iter().any(|k| k.space == c.space) {
            changes.push(c);
        }
    }
}

/// A live listener registration. `stop()` ends it: once `stop` returns (called from outside every
/// listener) the listener is not called again and no call of it is still running. Dropping or closing the object stops it too,
/// so keep it for as long as you want to be told (Kotlin: `close()` or `use { }`).
#[derive(uniffi::Object)]
pub struct Subscription {
    inner: Arc<SubInner>,
}

#[uniffi::export]
impl Subscription {
    /// Stops the listener. Safe to call more than once, from any thread, even from a listener (then
    /// it does not wait for calls running on other threads; no new call starts).
    pub fn stop(&self) {
        self.inner.stop();
        let mut subs = subscriptions();
        let before = subs.len();
        subs.retain(|s| !Arc::ptr_eq(s, &self.inner));
        if subs.len() < before {
            LIVE.fetch_sub(before - subs.len(), Ordering::AcqRel);
        }
    }

    /// Whether the listener is still told of changes.
    pub fn is_active(&self) -> bool {
        self.inner.state().active
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stop();
    }
}

#[uniffi::export]
impl Vault {
    /// Starts telling `listener` which spaces of this vault changed (through this object, any domain
    /// object taken from it, sync and bundle import). Returns the handle that stops it.
    pub fn subscribe(&self, listener: Arc<dyn SpaceListener>) -> Arc<Subscription> {
        let inner = Arc::new(SubInner {
            vault: Arc::downgrade(&self.inner),
            listener,
            state: Mutex::new(SubState {
                active: true,
                callers: Vec::new(),
            }),
            idle: Condvar::new(),
        });
        let mut subs = subscriptions();
        // Subscriptions of vaults already freed can never fire again: drop them here.
        let before = subs.len();
        subs.retain(|s| s.vault.strong_count() > 0);
        LIVE.fetch_sub(before - subs.len(), Ordering::AcqRel);
        subs.push(inner.clone());
        LIVE.fetch_add(1, Ordering::AcqRel);
        Arc::new(Subscription { inner })
    }
}

/// Tests that set the process's transport or log sink take this first, so they do not race.
#[cfg(test)]
pub(crate) fn globals() -> MutexGuard<'static, ()> {
    static GLOBALS: Mutex<()> = Mutex::new(());
    match GLOBALS.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Memory {
        items: Mutex<HashMap<String, Vec<u8>>>,
        keep: bool,
    }

    impl KeyStore for Memory {
        fn get(&self, name: String) -> std::result::Result<Option<Vec<u8>>, KeyStoreError> {
            Ok(self.items.lock().unwrap().get(&name).cloned())
        }
        fn put(&self, name: String, value: Vec<u8>) -> std::result::Result<(), KeyStoreError> {
            if self.keep {
                self.items.lock().unwrap().insert(name, value);
            }
            Ok(())
        }
        fn delete(&self, name: String) -> std::result::Result<(), KeyStoreError> {
            self.items.lock().unwrap().remove(&name);
            Ok(())
        }
    }

    fn memory() -> Arc<Memory> {
        Arc::new(Memory {
            keep: true,
            ..Memory::default()
        })
    }

    fn path(dir: &tempfile::TempDir, name: &str) -> String {
        dir.path().join(name).to_string_lossy().into_owned()
    }

    #[test]
    fn the_key_is_made_once_and_bad_keys_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = memory();
        let p = path(&dir, "v.db");
        let v = Vault::open_with_key_store(p.clone(), store.clone(), "k".into()).unwrap();
        let device = v.device_id().unwrap();
        drop(v);
        let key = store.items.lock().unwrap()["k"].clone();
        assert_eq!(key.len(), 32);
        let again = Vault::open_with_key_store(p.clone(), store.clone(), "k".into()).unwrap();
        assert_eq!(again.device_id().unwrap(), device);
        drop(again);
        assert_eq!(store.items.lock().unwrap()["k"], key);

        store.items.lock().unwrap().insert("k".into(), vec![1; 31]);
        let e = Vault::open_with_key_store(p.clone(), store.clone(), "k".into()).err();
        assert!(matches!(e, Some(SebayaError::KeyStore { .. })), "{e:?}");
        store.items.lock().unwrap().insert("k".into(), vec![1; 32]);
        let e = Vault::open_with_key_store(p.clone(), store.clone(), "k".into()).err();
        assert!(matches!(e, Some(SebayaError::WrongKey { .. })), "{e:?}");
        store.items.lock().unwrap().clear();
        let e = Vault::open_with_key_store(p.clone(), store.clone(), "k".into()).err();
        assert!(matches!(e, Some(SebayaError::KeyMissing { .. })), "{e:?}");
        assert!(store.items.lock().unwrap().is_empty());

        let forgetful = Arc::new(Memory::default());
        let q = path(&dir, "w.db");
        let e = Vault::open_with_key_store(q.clone(), forgetful, "k".into()).err();
        assert!(matches!(e, Some(SebayaError::KeyStore { .. })), "{e:?}");
        assert!(!vault_exists(std::path::Path::new(&q)));
    }

    struct Count(Mutex<Vec<(String, SpaceKind)>>);
    impl SpaceListener for Count {
        fn space_changed(
            &self,
            space_id: String,
            kind: SpaceKind,
        ) -> std::result::Result<(), CallbackError> {
            self.0.lock().unwrap().push((space_id, kind));
            Ok(())
        }
    }

    struct Panics;
    impl SpaceListener for Panics {
        fn space_changed(
            &self,
            _space_id: String,
            _kind: SpaceKind,
        ) -> std::result::Result<(), CallbackError> {
            panic!("listener failed");
        }
    }

    /// What a foreign listener's exception arrives as: an error value, not a panic.
    struct Throws;
    impl SpaceListener for Throws {
        fn space_changed(
            &self,
            _space_id: String,
            _kind: SpaceKind,
        ) -> std::result::Result<(), CallbackError> {
            Err(CallbackError::Failed {
                reason: "MARKER-listener-reason".into(),
            })
        }
    }

    #[test]
    fn listeners_hear_writes_until_stopped_and_a_panicking_one_never_fails_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(path(&dir, "v.db"), vec![3; 32]).unwrap();
        let heard = Arc::new(Count(Mutex::new(Vec::new())));
        let sub = v.subscribe(heard.clone());
        v.journal().list().unwrap();
        assert!(heard.0.lock().unwrap().is_empty(), "a read was announced");
        v.journal().add("satu".into(), 3, vec![]).unwrap();
        assert_eq!(heard.0.lock().unwrap().len(), 1);
        assert_eq!(heard.0.lock().unwrap()[0].1, SpaceKind::Journal);

        // Subscribed after the panicking one: still told.
        let bad = v.subscribe(Arc::new(Panics));
        let throws = v.subscribe(Arc::new(Throws));
        let later = Arc::new(Count(Mutex::new(Vec::new())));
        let after = v.subscribe(later.clone());
        let j = v.journal();
        let caught = catch_unwind(AssertUnwindSafe(|| j.add("dua".into(), 3, vec![])));
        assert!(
            matches!(caught, Ok(Ok(_))),
            "a panicking listener failed the write"
        );
        assert_eq!(
            heard.0.lock().unwrap().len(),
            2,
            "an earlier listener was not told"
        );
        assert_eq!(
            later.0.lock().unwrap().len(),
            1,
            "a later listener was not told"
        );
        bad.stop();
        throws.stop();
        after.stop();
        // The vault was not held while the listener ran: it is not poisoned, and the write was kept.
        v.journal().add("tiga".into(), 3, vec![]).unwrap();
        let texts: Vec<String> = v
            .journal()
            .list()
            .unwrap()
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(texts, ["satu", "dua", "tiga"]);

        sub.stop();
        assert!(!sub.is_active());
        v.journal().add("empat".into(), 3, vec![]).unwrap();
        assert_eq!(heard.0.lock().unwrap().len(), 3);
        drop(sub);
        assert!(!watched(&v.inner));
    }

    struct Down;
    impl HttpTransport for Down {
        fn send(&self, _r: HttpRequest) -> std::result::Result<HttpResponse, TransportError> {
            Err(TransportError::Unreachable {
                reason: "x".repeat(1000),
            })
        }
    }

    #[test]
    fn sync_needs_a_transport_and_a_failing_one_is_a_short_network_error() {
        let _g = globals();
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(path(&dir, "v.db"), vec![4; 32]).unwrap();
        clear_http_transport();
        let e = v.sync("http://127.0.0.1:9".into()).err();
        assert!(
            matches!(e, Some(SebayaError::NoHttpTransport { .. })),
            "{e:?}"
        );
        set_http_transport(Arc::new(Down));
        match v.sync("http://127.0.0.1:9".into()) {
            Err(SebayaError::Network { detail, .. }) => {
                // The platform's 1,000-character reason is cut; the kind of failure stays.
                assert!(detail.contains("could not connect"), "{detail}");
                assert!(detail.len() < MAX_REASON + 50, "{} bytes", detail.len());
            }
            other => panic!("expected Network, got {other:?}"),
        }
        clear_http_transport();
    }
}
