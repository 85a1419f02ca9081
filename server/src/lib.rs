//! Sebaya relay: stores and forwards sealed envelopes, never holds a key.
//!
//! A relay is just a peer that is always online. Devices push the signed, encrypted envelopes they wrote
//! and pull the ones they lack, in one signed HTTP request (`POST /v1/sync`, CBOR). The relay checks
//! signatures (it needs no key for that: the author's public key is in the envelope), keeps envelopes in
//! arrival order, acknowledges with its version vectors, and pages large answers. It cannot read what it
//! stores and does not log it.
//!
//! Layout: [`api`] (HTTP endpoints and error answers; `api/observe.rs` the access log and the
//! metrics route; `api/wait.rs` live waits), [`exchange`] (the sync rules, store-agnostic), [`live`]
//! (the waits open now and what wakes them), [`wakeups`] (waking offline devices through Web Push;
//! [`webpush`] the message, its key, its schedule and its one HTTP client), [`access`] (each space's membership
//! log, cached), [`store`] (the [`RelayStore`] trait), `sqlite` (the default store; `sqlite/backup.rs`
//! backup and migrate), [`config`] (the operator's settings: flags, environment, file), [`metrics`]
//! (counters and their Prometheus text), [`logs`] (the log form), [`error`]. Operators:
//! `docs/operations.md`.
//!
//! Two ways to run it:
//! - from async code: [`RelayState::open`], bind a `tokio::net::TcpListener`, then [`serve`];
//! - from synchronous code (CLI demo, tests): [`spawn`] returns a [`RelayHandle`] running the relay on
//!   its own thread and runtime, stopped by [`RelayHandle::shutdown`] or on drop.
//!
//! **Authorisation:** every space is governed by its membership log, carried in envelopes of kind
//! membership that the relay reads (they are signed, not sealed). A space exists for the relay once it
//! holds the space's genesis; a pushed envelope is accepted only if its author may write it, and a
//! device is given a space's envelopes only while it is a member. Rules: [`exchange`] and
//! `docs/protocol.md`, sections 9.5 and 15.
//!
//! **Remote invites:** the relay also keeps two small mailboxes (section 18). A joiner, not yet a
//! member, leaves a sealed join request under an invite the space's log shows open; the relay hands it
//! only to the invite's author. The author answers with an `Admit` statement and a join answer
//! addressed to the joiner's device; the relay keeps the answer only if the log shows the invite spent
//! on that device by that author, and hands it only to that device. The relay cannot open either.

pub mod access;
pub mod admission;
pub mod api;
pub mod config;
pub mod error;
pub mod exchange;
pub mod live;
pub mod logs;
pub mod metrics;
mod postgres;
pub mod quota;
mod sqlite;
pub mod store;
pub mod wakeups;
pub mod webpush;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

pub use api::{ApiError, RelayState, metrics_router, router};
pub use error::{RelayError, StoreError};
pub use postgres::{
    CopyReport, POSTGRES_END_VERSION, PostgresMigrated, PostgresStore, PostgresUrl,
    copy_sqlite_into,
};
pub use sqlite::{BackupReport, DB_FILE_NAME, END_VERSION, Migrated, SqliteStore, backup, migrate};
pub use store::{RelayId, RelayStore, SpaceHold};

/// Port the binary listens on by default.
pub const DEFAULT_PORT: u16 = 8787;
/// Data directory the binary uses by default (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "./sebaya-relay-data";
/// Environment variable that overrides the default data directory (`config` names every setting's
/// variable the same way).
pub const DATA_DIR_ENV: &str = "SEBAYA_RELAY_DATA_DIR";
/// How long a [`RelayHandle`]'s shutdown waits for open connections and running requests before
/// dropping them (the binary's is `--shutdown-grace-secs`).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Where the relay keeps its data: SQLite in a data directory (the default: one process, nothing to
/// run beside it), or a PostgreSQL database that several relay nodes share (`--database`;
/// `docs/operations.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// `relay.sqlite3` in this directory (created if missing).
    Sqlite(PathBuf),
    /// This PostgreSQL database (its schema created or upgraded at open).
    Postgres(PostgresUrl),
}

impl Database {
    /// Opens the store, creating or upgrading its schema. Blocks.
    pub fn open(&self) -> Result<std::sync::Arc<dyn RelayStore>, StoreError> {
        Ok(match self {
            Database::Sqlite(dir) => std::sync::Arc::new(SqliteStore::open(dir)?),
            Database::Postgres(url) => std::sync::Arc::new(PostgresStore::open(url)?),
        })
    }

    /// What the relay prints about where its data is: the directory, or only that it is PostgreSQL
    /// (the URL may hold a password).
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(dir) => dir.display().to_string(),
            Database::Postgres(_) => "PostgreSQL".to_string(),
        }
    }

    /// `sebaya-relay migrate`: upgrades the schema, returning the versions before and after.
    /// SQLite refuses a directory with no database; PostgreSQL creates the schema in an empty one.
    pub fn migrate(&self) -> Result<Migrated, StoreError> {
        match self {
            Database::Sqlite(dir) => migrate(dir),
            Database::Postgres(url) => {
                let m = PostgresStore::migrate(url)?;
                Ok(Migrated {
                    from: m.from,
                    to: m.to,
                })
            }
        }
    }
}

/// Where a relay keeps its data and where it listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayConfig {
    /// Directory holding `relay.sqlite3` (created if missing).
    pub data_dir: PathBuf,
    /// Address to listen on. Port 0 picks a free port; read it back from [`RelayHandle::addr`].
    pub bind: SocketAddr,
}

/// How long a connection may take to send a request's head, counted from when the relay starts
/// waiting for it: also how long a connection may sit silent (no request yet, or idle between
/// keep-alive requests) before the relay closes it. A phone that lost its network mid-request sends
/// no FIN; without this each such connection held a file descriptor for good (soak finding S1,
/// `docs/reliability.md`).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the relay on `listener` until `shutdown` completes, then finishes the requests in flight and
/// returns. This is what the binary runs; it needs a tokio runtime with I/O and time enabled.
///
/// HTTP/1.1 only, each connection served by hyper with a timer, so that [`HEADER_READ_TIMEOUT`]
/// applies (`axum::serve` gives hyper no timer, and its HTTP/1-or-2 detection reads the first bytes
/// with no timeout at all).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: RelayState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    let metrics = state.metrics();
    let live = state.live();
    // Several nodes on one PostgreSQL database: this node hears the others' pushes while it serves.
    let fanout = state
        .fanout()
        .map(|f| f.start(live.clone(), metrics.clone()));
    // Wake-ups of offline devices, while the relay serves.
    let wakeups = state.start_wakeups();
    let app = router(state);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // A connection that failed while queued is the peer's problem; anything else
                    // (out of file descriptors) is waited out rather than spun on.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                    ) {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection =
            graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _live = metrics.connection();
            // A connection's end (closed, timed out, reset) concerns only that connection.
            let _ = connection.await;
        });
    }
    drop(listener);
    // Waits would hold their connections through the grace period: they answer now.
    live.close();
    graceful.shutdown().await;
    // After the requests in flight: their pushes are published before the connection closes.
    if let Some(fanout) = fanout {
        fanout.stop().await;
    }
    if let Some(wakeups) = wakeups {
        wakeups.abort();
    }
    Ok(())
}

/// [`serve`] with a deadline: once `shutdown` completes the relay stops accepting connections, lets
/// the requests in flight finish for at most `grace`, then returns, dropping whatever is still open
/// (the binary's SIGTERM and SIGINT; `--shutdown-grace-secs`). Returns whether everything finished
/// in time.
pub async fn serve_with_grace(
    listener: tokio::net::TcpListener,
    state: RelayState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<bool, RelayError> {
    let metrics = state.metrics();
    let (asked, mut deadline) = tokio::sync::watch::channel(false);
    let stop = async move {
        shutdown.await;
        let _ = asked.send(true);
    };
    let forced = async move {
        // Err: the sender is gone, which happens only once `stop` completed.
        let _ = deadline.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = serve(listener, state, stop) => result.map(|()| true),
        () = forced => {
            tracing::warn!(
                open_connections = metrics.live_connections(),
                "shutdown deadline passed; dropping the connections still open"
            );
            Ok(false)
        }
    }
}

/// A relay running on its own thread. Dropping it shuts the relay down (as [`RelayHandle::shutdown`]).
///
/// Shutting down blocks the calling thread until the relay's thread ends (at most a few seconds): from
/// async code, drop it inside `spawn_blocking`.
#[derive(Debug)]
pub struct RelayHandle {
    addr: SocketAddr,
    relay_id: RelayId,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<Result<(), RelayError>>>,
}

impl RelayHandle {
    /// The address actually bound (the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the relay, e.g. `http://127.0.0.1:8787`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The relay's persistent id (also published by `GET /v1/info`).
    pub fn relay_id(&self) -> RelayId {
        self.relay_id
    }

    /// Stops accepting connections, lets requests in flight finish (for at most a few seconds), and
    /// waits for the relay's thread to end. Blocks.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            // An error means the server already ended; there is nothing left to tell.
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "the relay stopped with an error"),
                Err(_) => tracing::error!(error = %RelayError::ThreadPanicked, "the relay stopped"),
            }
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Starts a relay on a background thread with its own tokio runtime, for synchronous callers (the CLI
/// demo, tests). Opening the store and binding happen before this returns, so their errors are
/// reported here and the relay accepts connections as soon as it returns.
pub fn spawn(config: RelayConfig) -> Result<RelayHandle, RelayError> {
    spawn_with_retention(config, Some(exchange::DEFAULT_SNAPSHOT_RETENTION_SECS))
}

/// [`spawn`] with the time envelopes covered by a snapshot are kept before they are pruned (`None`:
/// never; section 26). Tests use `Some(0)` to see pruning at once.
pub fn spawn_with_retention(
    config: RelayConfig,
    snapshot_retention_secs: Option<u64>,
) -> Result<RelayHandle, RelayError> {
    let state =
        RelayState::open(&config.data_dir)?.with_snapshot_retention(snapshot_retention_secs);
    spawn_state(state, config.bind)
}

/// [`spawn`] for a state the caller made ([`RelayState::open`] and its `with_*` settings: quotas,
/// admission, retention), listening on `bind`.
pub fn spawn_state(state: RelayState, bind: SocketAddr) -> Result<RelayHandle, RelayError> {
    let relay_id = state.relay_id();
    let std_listener = std::net::TcpListener::bind(bind)
        .map_err(|source| RelayError::Bind { addr: bind, source })?;
    std_listener
        .set_nonblocking(true)
        .map_err(|source| RelayError::Bind { addr: bind, source })?;
    let addr = std_listener
        .local_addr()
        .map_err(|source| RelayError::Bind { addr: bind, source })?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The runtime is built, used and dropped on the relay's own thread only, so `spawn` and the
    // handle's drop are safe to call even from inside another runtime. Startup errors come back here.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), RelayError>>();
    let thread = std::thread::Builder::new()
        .name("sebaya-relay".into())
        .spawn(move || -> Result<(), RelayError> {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .max_blocking_threads(16)
                .thread_name("sebaya-relay-worker")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(RelayError::Runtime(e)));
                    return Ok(());
                }
            };
            let listener = {
                let _guard = runtime.enter();
                tokio::net::TcpListener::from_std(std_listener)
            };
            let listener = match listener {
                Ok(l) => l,
                Err(source) => {
                    let _ = ready_tx.send(Err(RelayError::Bind { addr: bind, source }));
                    return Ok(());
                }
            };
            let _ = ready_tx.send(Ok(()));
            let result = runtime.block_on(run_until_stopped(listener, state, stop_rx));
            runtime.shutdown_timeout(SHUTDOWN_GRACE);
            result
        })
        .map_err(RelayError::Runtime)?;
    let started = ready_rx.recv();
    if !matches!(started, Ok(Ok(()))) {
        let joined = thread.join();
        return Err(match (started, joined) {
            (Ok(Err(e)), _) => e,
            (_, Ok(Err(e))) => e,
            _ => RelayError::ThreadPanicked,
        });
    }
    Ok(RelayHandle {
        addr,
        relay_id,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

/// Serves until the stop flag is raised (or its sender dropped); then shuts down gracefully, giving up
/// on connections still open after [`SHUTDOWN_GRACE`].
async fn run_until_stopped(
    listener: tokio::net::TcpListener,
    state: RelayState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), RelayError> {
    let signal = async move {
        // Err: the handle is gone, which also means stop.
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    serve_with_grace(listener, state, signal, SHUTDOWN_GRACE)
        .await
        .map(|_| ())
}
