//! Live sync across relay nodes (protocol section 28; `docs/operations.md`, "Scale out"): every
//! node sharing one PostgreSQL database hears which spaces the others stored in, and wakes its own
//! waits for them.
//!
//! Each node keeps one connection of its own to the database (not from the statement pools), on
//! which it `LISTEN`s to one channel, [`channel`] (`sebaya_live_` and the relay id, so two relays
//! in one database never hear each other), and through which it publishes (`pg_notify`) what its
//! pushes stored. A push only records its spaces in an outbox ([`Fanout::changed`]: a lock held
//! for a few inserts, never the database): the connection's task publishes them as soon as it can,
//! in batches, so the push's answer never waits on this.
//!
//! A notification names the publishing node (a random id per process: a node ignores its own, its
//! registry was told in process already), the device whose push it was (its waits are not woken,
//! as in process) and up to [`SPACES_PER_NOTICE`] space ids, in hex, well under PostgreSQL's limit
//! of 8000 bytes per payload; more spaces go in more notifications. An outbox grown past
//! [`MAX_PENDING`] spaces (the database unreachable for long) is replaced by one notification that
//! wakes every wait: bounded memory, and nothing lost that a look at the store would not find.
//!
//! A lost notification costs nothing but time: a wait carries the device's vectors, and a woken
//! wait compares them with the store (`api/wait.rs`). So when the connection drops, the node
//! reconnects with a growing pause ([`FIRST_PAUSE`] doubling to [`LAST_PAUSE`]) and, once it
//! listens again, wakes every local wait once: whatever was published while it was deaf is found
//! by those looks. A connection that stops answering is found by a query every [`PING_EVERY`] of
//! silence. The task stops when the relay shuts down (after publishing what is pending).
//!
//! A wake-all (a reconnection, or a `1 NODE *` notice, which anyone who may connect to the
//! database can send) is done at most once every [`WAKE_ALL_EVERY`]: one asked for sooner is put
//! off to then, never dropped, so a flood of them costs one round a second, and each round's looks
//! take turns apart from the requests (`live.rs`).
//!
//! The task is supervised: should it panic, the panic is logged (never its message, which could
//! hold anything) and the task started again after [`FIRST_PAUSE`]; it then wakes every wait once
//! it listens, as after any reconnection. The gauge `sebaya_relay_fanout_listening` tells whether
//! the node listens now.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sebaya_proto::{DeviceId, SpaceId};
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use super::PostgresUrl;
use crate::error::StoreError;
use crate::live::{Live, Notifier};
use crate::metrics::Metrics;
use crate::store::RelayId;

/// Version of the notification payload (its first field).
const PAYLOAD_VERSION: &str = "1";
/// Spaces one notification names at most: 84 bytes of header and 33 a space make 6,683 bytes,
/// under PostgreSQL's 8000-byte payload limit.
pub(crate) const SPACES_PER_NOTICE: usize = 200;
/// PostgreSQL refuses a payload of this many bytes or more.
const PAYLOAD_LIMIT: usize = 8000;
// The longest payload: version, node (16 hex), device (64 hex), three spaces between them, then
// 32 hex digits a space and a comma between two.
const _: () = assert!(1 + 1 + 16 + 1 + 64 + 1 + SPACES_PER_NOTICE * 33 - 1 < PAYLOAD_LIMIT);
/// Spaces the outbox holds before it gives up naming them and wakes everything instead.
pub(crate) const MAX_PENDING: usize = 20_000;
/// The first pause before reconnecting; it doubles after each failure.
pub(crate) const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause before reconnecting.
pub(crate) const LAST_PAUSE: Duration = Duration::from_secs(10);
/// A connection that lasted this long starts the pauses over.
const STEADY: Duration = Duration::from_secs(60);
/// How long connecting, `LISTEN`, publishing or a ping may take before the connection is dropped.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// Silence after which the connection is checked with a query.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(30);
/// Wake-alls are done at most this often.
pub(crate) const WAKE_ALL_EVERY: Duration = Duration::from_secs(1);
/// How long a stopping node may take to publish what is pending.
const FLUSH_WITHIN: Duration = Duration::from_secs(2);

/// The channel of relay `relay`'s nodes: a plain identifier (lower-case letters, digits and `_`).
pub fn channel(relay: &RelayId) -> String {
    format!("sebaya_live_{}", relay.to_hex())
}

/// What the listening connection calls itself (`application_name`, as `pg_stat_activity` shows).
pub fn application_name(relay: &RelayId) -> String {
    format!("sebaya-live {}", relay.to_hex())
}

/// One relay process, for the notifications it publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NodeId([u8; 8]);

/// One notification, read.
#[derive(Debug, PartialEq, Eq)]
enum News {
    /// `by`'s push through `node` stored in `spaces`.
    Changed {
        node: NodeId,
        by: DeviceId,
        spaces: Vec<SpaceId>,
    },
    /// `node` lost track of what changed: every wait should look again.
    Everything { node: NodeId },
}

impl News {
    /// `1 NODE DEVICE SPACE,SPACE,…` or `1 NODE *`, all hex.
    fn encode(&self) -> String {
        match self {
            News::Changed { node, by, spaces } => {
                let list: Vec<String> = spaces.iter().map(|s| hex::encode(s.0)).collect();
                format!(
                    "{PAYLOAD_VERSION} {} {} {}",
                    hex::encode(node.0),
                    hex::encode(by.0),
                    list.join(",")
                )
            }
            News::Everything { node } => format!("{PAYLOAD_VERSION} {} *", hex::encode(node.0)),
        }
    }

    /// `None` for anything else (another version, or not a payload of ours).
    fn decode(payload: &str) -> Option<News> {
        let mut fields = payload.split(' ');
        if fields.next()? != PAYLOAD_VERSION {
            return None;
        }
        let node = NodeId(hex::decode(fields.next()?).ok()?.try_into().ok()?);
        let third = fields.next()?;
        let news = if third == "*" {
            News::Everything { node }
        } else {
            let by = DeviceId::from_slice(&hex::decode(third).ok()?).ok()?;
            let list = fields.next()?;
            let spaces = list
                .split(',')
                .map(|s| SpaceId::from_slice(&hex::decode(s).ok()?).ok())
                .collect::<Option<Vec<SpaceId>>>()?;
            if spaces.is_empty() || spaces.len() > SPACES_PER_NOTICE {
                return None;
            }
            News::Changed { node, by, spaces }
        };
        fields.next().is_none().then_some(news)
    }
}

/// What is still to publish.
#[derive(Debug, Default)]
struct Pending {
    by_device: BTreeMap<DeviceId, BTreeSet<SpaceId>>,
    count: usize,
    everything: bool,
}

impl Pending {
    fn add(&mut self, spaces: &[SpaceId], by: &DeviceId) {
        if self.everything {
            return;
        }
        let mine = self.by_device.entry(*by).or_default();
        for s in spaces {
            if mine.insert(*s) {
                self.count += 1;
            }
        }
        if self.count > MAX_PENDING {
            *self = Pending {
                everything: true,
                ..Pending::default()
            };
        }
    }

    fn merge(&mut self, other: Pending) {
        if other.everything {
            *self = other;
            return;
        }
        for (by, spaces) in other.by_device {
            let spaces: Vec<SpaceId> = spaces.into_iter().collect();
            self.add(&spaces, &by);
        }
    }

    fn is_empty(&self) -> bool {
        !self.everything && self.count == 0
    }

    /// The payloads that tell all of it, each under [`PAYLOAD_LIMIT`].
    fn payloads(&self, node: NodeId) -> Vec<String> {
        if self.everything {
            return vec![News::Everything { node }.encode()];
        }
        let mut out = Vec::new();
        for (by, spaces) in &self.by_device {
            let spaces: Vec<SpaceId> = spaces.iter().copied().collect();
            for chunk in spaces.chunks(SPACES_PER_NOTICE) {
                out.push(
                    News::Changed {
                        node,
                        by: *by,
                        spaces: chunk.to_vec(),
                    }
                    .encode(),
                );
            }
        }
        out
    }
}

/// Why a connection was given up (logged; the node reconnects).
#[derive(Debug, thiserror::Error)]
enum Lost {
    #[error("{0}")]
    Database(#[from] StoreError),
    #[error("the database did not answer {0} in time")]
    Silent(&'static str),
    #[error("the database closed the connection")]
    Closed,
}

impl From<tokio_postgres::Error> for Lost {
    fn from(e: tokio_postgres::Error) -> Lost {
        Lost::Database(StoreError::from(e))
    }
}

/// How a connection's session ended.
enum Ended {
    Stopped,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update leaves the outbox whole before it can panic: a poisoned lock is taken over.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Wake-alls at most one every [`WAKE_ALL_EVERY`]; one asked for sooner is due then.
#[derive(Debug, Default)]
struct WakeGate {
    last: Option<Instant>,
    due: bool,
}

impl WakeGate {
    /// Whether a wake-all asked for at `now` may be done now; if not, it is due at
    /// [`WakeGate::due_at`].
    fn ask(&mut self, now: Instant) -> bool {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < WAKE_ALL_EVERY => {
                self.due = true;
                false
            }
            _ => {
                self.last = Some(now);
                self.due = false;
                true
            }
        }
    }

    /// When a wake-all put off is due.
    fn due_at(&self) -> Option<Instant> {
        self.last
            .filter(|_| self.due)
            .map(|last| last + WAKE_ALL_EVERY)
    }
}

/// One node's share of the fan-out: its outbox and how it reaches the database. Made when the
/// relay opens a PostgreSQL store; [`Fanout::start`] runs it while the relay serves.
pub struct Fanout {
    config: tokio_postgres::Config,
    channel: String,
    node: NodeId,
    pending: Mutex<Pending>,
    ready: tokio::sync::Notify,
    gate: Mutex<WakeGate>,
    restarts: std::sync::atomic::AtomicU64,
    /// Panics the task is to make at its next starts (tests of its supervision).
    #[cfg(test)]
    panics_left: std::sync::atomic::AtomicU32,
}

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration holds the database's password.
        f.debug_struct("Fanout")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl Fanout {
    /// The fan-out of relay `relay` over the database at `url` (nothing connects until started).
    pub fn new(url: &PostgresUrl, relay: &RelayId) -> Result<Fanout, StoreError> {
        let mut config: tokio_postgres::Config = url.as_str().parse().map_err(|_| {
            StoreError::DatabaseUrl("the client could not read it (postgres://USER@HOST:PORT/DB)")
        })?;
        config
            .application_name(application_name(relay))
            .connect_timeout(ANSWER_WITHIN)
            .keepalives(true)
            .keepalives_idle(PING_EVERY);
        let mut node = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut node)
            .map_err(|_| StoreError::Random)?;
        Ok(Fanout {
            config,
            channel: channel(relay),
            node: NodeId(node),
            pending: Mutex::default(),
            ready: tokio::sync::Notify::new(),
            gate: Mutex::default(),
            restarts: std::sync::atomic::AtomicU64::new(0),
            #[cfg(test)]
            panics_left: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// Runs the fan-out for `live` (this node's waits) on the current tokio runtime until the
    /// returned handle is stopped or dropped; `metrics` counts its wake-alls.
    pub fn start(self: &Arc<Self>, live: Arc<Live>, metrics: Arc<Metrics>) -> Running {
        let (stop, stopped) = watch::channel(false);
        let me = self.clone();
        let task = tokio::spawn(async move { me.supervise(live, metrics, stopped).await });
        Running { stop, task }
    }

    /// Runs [`Fanout::run`] in a task of its own, started again after a panic, until stopped.
    async fn supervise(
        self: Arc<Self>,
        live: Arc<Live>,
        metrics: Arc<Metrics>,
        mut stop: watch::Receiver<bool>,
    ) {
        metrics.fanout_listening(false);
        loop {
            let (me, live, m, s) = (self.clone(), live.clone(), metrics.clone(), stop.clone());
            let ran = tokio::spawn(async move { me.run(&live, &m, s).await }).await;
            metrics.fanout_listening(false);
            match ran {
                Ok(()) => return,
                Err(e) if e.is_panic() => {
                    let restarts = 1 + self
                        .restarts
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::error!(
                        restarts,
                        "live fan-out: the task panicked; starting it again (waits at other nodes are not woken by this node's pushes meanwhile)"
                    );
                }
                Err(_) => {
                    tracing::warn!("live fan-out: the task was cancelled");
                    return;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(FIRST_PAUSE) => {}
                () = stopped(&mut stop) => return,
            }
        }
    }

    /// How many times the task was started again after a panic.
    #[cfg(test)]
    fn restarts(&self) -> u64 {
        self.restarts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Wakes every wait of this node now, or once [`WAKE_ALL_EVERY`] has passed since the last.
    fn wake_all(&self, live: &Live, metrics: &Metrics) {
        if lock(&self.gate).ask(Instant::now()) {
            live.wake_all();
            metrics.woke_all();
        } else {
            // The connection's task sleeps until it is due.
            self.ready.notify_one();
        }
    }

    /// Connects, listens and publishes until stopped, reconnecting after each failure.
    async fn run(&self, live: &Live, metrics: &Metrics, mut stop: watch::Receiver<bool>) {
        let mut pause = FIRST_PAUSE;
        loop {
            #[cfg(test)]
            self.panic_if_asked();
            let began = Instant::now();
            match self.session(live, metrics, &mut stop).await {
                Ok(Ended::Stopped) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "live fan-out: the database connection was lost; reconnecting")
                }
            }
            if began.elapsed() >= STEADY {
                pause = FIRST_PAUSE;
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = stopped(&mut stop) => return,
            }
            pause = (pause * 2).min(LAST_PAUSE);
        }
    }

    /// One connection, from connecting to its loss (an error) or the relay stopping.
    async fn session(
        &self,
        live: &Live,
        metrics: &Metrics,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Ended, Lost> {
        let connecting = tokio::time::timeout(ANSWER_WITHIN, self.config.connect(NoTls));
        let (client, mut connection) = tokio::select! {
            c = connecting => c.map_err(|_| Lost::Silent("a connection"))??,
            () = stopped(stop) => return Ok(Ended::Stopped),
        };
        // The connection delivers the notifications as it reads them, and the client's answers.
        let mut reading = std::pin::pin!(async {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        self.heard(n.payload(), live, metrics)
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Lost::from(e),
                    None => return Lost::Closed,
                }
            }
        });
        let working = async {
            answered(
                "LISTEN",
                client.batch_execute(&format!("LISTEN {}", self.channel)),
            )
            .await?;
            metrics.fanout_listening(true);
            // Deaf until now: whatever was published meanwhile is found by a look at the store.
            self.wake_all(live, metrics);
            loop {
                self.publish(&client, ANSWER_WITHIN).await?;
                let due = lock(&self.gate).due_at();
                tokio::select! {
                    () = self.ready.notified() => {}
                    () = until(due) => self.wake_all(live, metrics),
                    () = tokio::time::sleep(PING_EVERY) => {
                        answered("a ping", client.batch_execute("SELECT 1")).await?;
                    }
                    () = stopped(stop) => {
                        if let Err(e) = self.publish(&client, FLUSH_WITHIN).await {
                            tracing::warn!(error = %e, "live fan-out: what was pending at shutdown was not published");
                        }
                        return Ok::<Ended, Lost>(Ended::Stopped);
                    }
                }
            }
        };
        let ended = tokio::select! {
            lost = &mut reading => Err(lost),
            ended = working => ended,
        };
        metrics.fanout_listening(false);
        let ended = ended?;
        // Closing politely: dropping the client queues the goodbye, which the connection sends
        // before it ends.
        drop(client);
        let _ = tokio::time::timeout(FLUSH_WITHIN, reading).await;
        Ok(ended)
    }

    /// Publishes everything pending, in one statement; put back if that fails.
    async fn publish(&self, client: &tokio_postgres::Client, within: Duration) -> Result<(), Lost> {
        let taken = std::mem::take(&mut *lock(&self.pending));
        if taken.is_empty() {
            return Ok(());
        }
        let payloads = taken.payloads(self.node);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&self.channel, &payloads];
        let sent = client.execute(
            "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
            &params,
        );
        match tokio::time::timeout(within, sent).await {
            Ok(Ok(_)) => Ok(()),
            failed => {
                lock(&self.pending).merge(taken);
                Err(match failed {
                    Ok(Err(e)) => Lost::from(e),
                    _ => Lost::Silent("a notification"),
                })
            }
        }
    }

    #[cfg(test)]
    #[allow(clippy::panic)]
    fn panic_if_asked(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        if self
            .panics_left
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("a panic a test asked for");
        }
    }

    /// A notification came: another node's news wakes this node's waits.
    fn heard(&self, payload: &str, live: &Live, metrics: &Metrics) {
        match News::decode(payload) {
            Some(News::Changed { node, by, spaces }) if node != self.node => {
                live.changed(&spaces, &by)
            }
            Some(News::Everything { node }) if node != self.node => self.wake_all(live, metrics),
            // Our own: the registry was told in process.
            Some(_) => {}
            // Not ours to read (another version, or someone else's NOTIFY): nothing to wake.
            None => tracing::debug!("live fan-out: a notification that does not read was ignored"),
        }
    }
}

impl Notifier for Fanout {
    /// Records the news for the other nodes; the connection's task publishes it. Never waits on
    /// the database.
    fn changed(&self, spaces: &[SpaceId], by: &DeviceId) {
        if spaces.is_empty() {
            return;
        }
        lock(&self.pending).add(spaces, by);
        self.ready.notify_one();
    }
}

/// `query` within [`ANSWER_WITHIN`].
async fn answered<T>(
    what: &'static str,
    query: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Lost> {
    match tokio::time::timeout(ANSWER_WITHIN, query).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(Lost::Silent(what)),
    }
}

/// Completes at `due`, never if `None`.
async fn until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Completes when the relay asks the fan-out to stop (or the handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // Err: the handle was dropped, which also means stop.
    let _ = stop.wait_for(|s| *s).await;
}

/// A running fan-out: [`Running::stop`] ends it.
#[derive(Debug)]
pub struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Publishes what is pending (for at most a few seconds), closes the connection and waits for
    /// the task to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        match tokio::time::timeout(FLUSH_WITHIN * 2, self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(
                panicked = e.is_panic(),
                "live fan-out: the task did not end cleanly"
            ),
            Err(_) => tracing::warn!("live fan-out: the connection did not close in time"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn space(i: u32) -> SpaceId {
        let mut id = [7u8; 16];
        id[..4].copy_from_slice(&i.to_be_bytes());
        SpaceId(id)
    }

    #[test]
    fn news_round_trips_and_anything_else_reads_as_nothing() {
        let node = NodeId([1, 2, 3, 4, 5, 6, 7, 8]);
        let changed = News::Changed {
            node,
            by: DeviceId([9; 32]),
            spaces: vec![space(1), space(2)],
        };
        assert_eq!(News::decode(&changed.encode()), Some(changed));
        let all = News::Everything { node };
        assert_eq!(all.encode(), "1 0102030405060708 *");
        assert_eq!(News::decode(&all.encode()), Some(all));
        let good = News::Changed {
            node,
            by: DeviceId([9; 32]),
            spaces: vec![space(1)],
        }
        .encode();
        for bad in [
            String::new(),
            good.replacen('1', "2", 1),
            format!("{good} extra"),
            format!("{good},"),
            good.replace(&hex::encode(space(1).0), "zz"),
            good[..good.len() - 2].to_string(),
            "1 0102030405060708 *  ".to_string(),
            "1 01020304 *".to_string(),
        ] {
            assert_eq!(News::decode(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_payload_vector_is_as_specified() {
        let news = News::Changed {
            node: NodeId([1, 2, 3, 4, 5, 6, 7, 8]),
            by: DeviceId([9; 32]),
            spaces: vec![SpaceId([7; 16]), SpaceId([8; 16])],
        };
        let payload = news.encode();
        assert_eq!(
            payload,
            format!(
                "1 0102030405060708 {} {},{}",
                "09".repeat(32),
                "07".repeat(16),
                "08".repeat(16)
            )
        );
        let doc = include_str!("../../../docs/protocol.md");
        assert!(
            doc.contains(&format!("`{payload}`")),
            "section 28.7 does not show the vector"
        );
        assert_eq!(channel(&RelayId([0xab; 16])).len(), 44);
    }

    #[test]
    fn many_spaces_go_in_several_payloads_each_under_the_limit() {
        let node = NodeId([0xff; 8]);
        let mut pending = Pending::default();
        let spaces: Vec<SpaceId> = (0..450).map(space).collect();
        pending.add(&spaces, &DeviceId([1; 32]));
        pending.add(&spaces[..3], &DeviceId([2; 32]));
        let payloads = pending.payloads(node);
        assert_eq!(payloads.len(), 4);
        let mut seen = Vec::new();
        for p in &payloads {
            assert!(p.len() < PAYLOAD_LIMIT, "{} bytes", p.len());
            match News::decode(p).unwrap() {
                News::Changed { by, spaces, .. } => {
                    seen.extend(spaces.into_iter().map(|s| (by, s)));
                }
                News::Everything { .. } => panic!("everything"),
            }
        }
        assert_eq!(seen.len(), 453);
        // The largest payload the relay makes.
        let full = News::Changed {
            node,
            by: DeviceId([0xff; 32]),
            spaces: vec![SpaceId([0xff; 16]); SPACES_PER_NOTICE],
        }
        .encode();
        assert!(full.len() < PAYLOAD_LIMIT, "{} bytes", full.len());
    }

    #[test]
    fn an_outbox_past_its_bound_becomes_one_wake_everything() {
        let mut pending = Pending::default();
        let spaces: Vec<SpaceId> = (0..=MAX_PENDING as u32).map(space).collect();
        pending.add(&spaces[..MAX_PENDING], &DeviceId([1; 32]));
        assert!(!pending.everything);
        pending.add(&spaces[MAX_PENDING..], &DeviceId([2; 32]));
        assert!(pending.everything && pending.by_device.is_empty());
        assert_eq!(
            pending.payloads(NodeId([0; 8])),
            vec!["1 0000000000000000 *".to_string()]
        );
        // A failed publication put back keeps what came meanwhile.
        let mut now = Pending::default();
        now.add(&[space(1)], &DeviceId([1; 32]));
        let mut failed = Pending::default();
        failed.add(&[space(1), space(2)], &DeviceId([1; 32]));
        now.merge(failed);
        assert_eq!(now.count, 2);
    }

    #[tokio::test]
    async fn a_panic_in_the_fan_out_task_restarts_it_and_it_says_it_does_not_listen() {
        use std::sync::atomic::Ordering::SeqCst;
        // Nothing listens on this port: the task keeps trying to connect.
        let url = PostgresUrl::parse("postgres://nobody@127.0.0.1:1/none").unwrap();
        let fanout = Arc::new(Fanout::new(&url, &RelayId([4; 16])).unwrap());
        fanout.panics_left.store(2, SeqCst);
        let metrics = Arc::new(Metrics::default());
        let running = fanout.start(Arc::new(Live::default()), metrics.clone());
        let start = Instant::now();
        // The second panic comes only from a task started again after the first.
        while fanout.panics_left.load(SeqCst) > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the task was not started again after its panic"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!running.task.is_finished(), "the fan-out stopped");
        assert_eq!(fanout.restarts(), 2);
        assert!(
            metrics
                .render(None)
                .contains("sebaya_relay_fanout_listening 0\n")
        );
        running.stop().await;
    }

    #[test]
    fn wake_alls_are_put_off_to_one_a_second_never_dropped() {
        let mut gate = WakeGate::default();
        let t0 = Instant::now();
        assert!(gate.ask(t0));
        assert_eq!(gate.due_at(), None);
        // A burst within the second: none now, one due at its end.
        for ms in [1, 10, 500, 999] {
            assert!(!gate.ask(t0 + Duration::from_millis(ms)));
        }
        assert_eq!(gate.due_at(), Some(t0 + WAKE_ALL_EVERY));
        assert!(gate.ask(t0 + WAKE_ALL_EVERY));
        assert_eq!(gate.due_at(), None);
    }

    #[test]
    fn the_channel_is_exactly_its_lower_case_name() {
        // `LISTEN` folds an unquoted name to lower case, `pg_notify` takes its argument as it is:
        // the name must already be lower case for the two to meet.
        let name = channel(&RelayId([0xab; 16]));
        assert_eq!(name, format!("sebaya_live_{}", "ab".repeat(16)));
        assert_eq!(name, name.to_lowercase());
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
    }

    #[test]
    fn a_change_waits_in_the_outbox_and_never_on_the_database() {
        // Nothing listens on this port: recording a change must not try to reach it.
        let url = PostgresUrl::parse("postgres://nobody@127.0.0.1:1/none").unwrap();
        let fanout = Fanout::new(&url, &RelayId([3; 16])).unwrap();
        let started = Instant::now();
        for i in 0..1000 {
            fanout.changed(&[space(i)], &DeviceId([1; 32]));
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(lock(&fanout.pending).count, 1000);
        assert_eq!(
            channel(&RelayId([3; 16])),
            "sebaya_live_03030303030303030303030303030303"
        );
    }
}
