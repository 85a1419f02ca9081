//! The relay's wake-ups (protocol 28.8, 28.9; issue 16, item 4): when a push stores envelopes in a
//! space, every other device the relay gave that space to, that may still read it and holds a
//! subscription, is sent a Web Push message saying only `sync`, at most once per interval and after
//! a random delay.
//!
//! The exchange tells [`Wakeups`] (a [`Notifier`]) which spaces a push changed and by whom; that
//! only queues the news (a full queue drops it: the devices sync when they next open, as without
//! wake-ups). One task ([`Wakeups::start`]) does the rest:
//!
//! 1. Judge: the space's wake candidates (devices noted as its readers that hold a subscription),
//!    less the pusher, each kept only if the space's membership log says it may read the space now
//!    (review finding F4: a removed member is never woken, whatever the reader table holds); those
//!    it says may not are forgotten as readers of the space.
//! 2. Schedule: [`WakeSchedule`] coalesces per device and adds the jitter.
//! 3. Post: each due wake-up is built (`webpush::Subscription::wake`) and posted by
//!    [`Poster`] (which posts only to public addresses, follows no redirect), at most
//!    [`POSTS_AT_ONCE`] at once.
//! 4. Read the answer: gone (404, 410) deletes the subscription; throttled (429) and unavailable
//!    (5xx) hold back every wake-up to that push service until its `Retry-After` (or the sender's
//!    own back-off) and try the device again then, at most [`MAX_ATTEMPTS`] times in all.
//!
//! Nothing of a device, a space or an endpoint reaches a log or a metric: the metric
//! `sebaya_relay_wakeups_sent_total` counts outcomes only.
//!
//! With several nodes on one PostgreSQL database, the node that took a push sends its wake-ups;
//! each node coalesces on its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use sebaya_proto::{DeviceId, SpaceId};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use crate::access::Access;
use crate::error::StoreError;
use crate::live::Notifier;
use crate::metrics::{Metrics, WakeOutcome};
use crate::store::{RelayStore, StoredSubscription};
use crate::webpush::{Delivery, Poster, Scheduled, Subscription, VapidKey, WakeSchedule};

/// Default least time between two wake-ups of one device.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(crate::webpush::DEFAULT_INTERVAL_MS);
/// Default largest random delay added to each wake-up.
pub const DEFAULT_JITTER: Duration = Duration::from_millis(crate::webpush::DEFAULT_JITTER_MS);
/// Devices whose subscriptions may name one endpoint (review finding F7): an endpoint names one
/// app install at its push service, so more than a few devices on it is someone pointing many
/// device keys at a victim's endpoint, or at a push service to get this relay throttled there.
pub const MAX_DEVICES_PER_ENDPOINT: usize = 4;
/// Default bound on the subscriptions the relay keeps in all (`--push-max-subscriptions`).
pub const DEFAULT_MAX_SUBSCRIPTIONS: u64 = 100_000;
/// Pushes waiting to be judged, at most; more are dropped.
pub const QUEUE: usize = 4096;
/// Wake-ups being posted at once, at most.
pub const POSTS_AT_ONCE: usize = 16;
/// Posts of one wake-up, at most (the first and two more after a throttled or failing service).
pub const MAX_ATTEMPTS: u8 = 3;
/// The back-off after a push service's 429 or 5xx that named no `Retry-After`, doubled per
/// attempt.
pub const BACKOFF: Duration = Duration::from_secs(30);

/// How the relay sends wake-ups (`--push-*` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WakeSettings {
    /// Least time between two wake-ups of one device (`--push-interval-secs`).
    pub interval: Duration,
    /// Largest random delay added to each (`--push-jitter-secs`).
    pub jitter: Duration,
    /// How push services reach the operator: the VAPID `sub`, `mailto:` or `https:`
    /// (`--push-contact`).
    pub contact: String,
    /// Tests only: take and post to endpoints on loopback addresses, `http` too
    /// (`--push-allow-loopback`).
    pub allow_loopback: bool,
    /// Subscriptions kept in all, at most (`--push-max-subscriptions`). The schedule remembers as
    /// many devices, so it is never full while every subscription is within this bound.
    pub max_subscriptions: u64,
}

impl WakeSettings {
    /// The defaults, with the operator's `contact`.
    pub fn new(contact: &str) -> WakeSettings {
        WakeSettings {
            interval: DEFAULT_INTERVAL,
            jitter: DEFAULT_JITTER,
            contact: contact.to_owned(),
            allow_loopback: false,
            max_subscriptions: DEFAULT_MAX_SUBSCRIPTIONS,
        }
    }
}

/// Why wake-ups could not be turned on.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The database was bound to another VAPID key (another node's key file, or a new file): the
    /// devices' subscriptions are bound to that one. Give every node the same key file.
    #[error(
        "the push key file holds another key than the one this database's devices subscribed with; give every node the same key file"
    )]
    Mismatch,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// News of one push: the spaces it stored envelopes in, and the device that pushed.
struct Wish {
    spaces: Vec<SpaceId>,
    by: DeviceId,
}

/// The wake-up sender of one relay process: the key, the settings, and the queue between the
/// exchange and the task.
pub struct Wakeups {
    key: Arc<VapidKey>,
    settings: WakeSettings,
    tx: mpsc::Sender<Wish>,
    rx: Mutex<Option<mpsc::Receiver<Wish>>>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for Wakeups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakeups")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Notifier for Wakeups {
    fn changed(&self, spaces: &[SpaceId], by: &DeviceId) {
        if spaces.is_empty() {
            return;
        }
        let wish = Wish {
            spaces: spaces.to_vec(),
            by: *by,
        };
        if self.tx.try_send(wish).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn notes_readers(&self) -> bool {
        true
    }
}

impl Wakeups {
    /// A sender signing with `key`, not started yet.
    pub fn new(key: VapidKey, settings: WakeSettings) -> Wakeups {
        let (tx, rx) = mpsc::channel(QUEUE);
        Wakeups {
            key: Arc::new(key),
            settings,
            tx,
            rx: Mutex::new(Some(rx)),
            dropped: AtomicU64::new(0),
        }
    }

    /// The VAPID key.
    pub fn key(&self) -> &VapidKey {
        &self.key
    }

    /// The settings.
    pub fn settings(&self) -> &WakeSettings {
        &self.settings
    }

    /// Pushes whose wake-ups were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Starts the task that judges, schedules and posts (on the current tokio runtime). Only the
    /// first call starts one; it ends when every sender of news is gone or it is aborted.
    pub fn start(
        &self,
        store: Arc<dyn RelayStore>,
        access: Arc<Access>,
        metrics: Arc<Metrics>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let rx = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        let task = Task {
            key: self.key.clone(),
            settings: self.settings.clone(),
            store,
            access,
            metrics,
        };
        Some(tokio::spawn(task.run(rx)))
    }
}

struct Task {
    key: Arc<VapidKey>,
    settings: WakeSettings,
    store: Arc<dyn RelayStore>,
    access: Arc<Access>,
    metrics: Arc<Metrics>,
}

/// One post's answer, back at the task.
struct Done {
    device: DeviceId,
    subscription: StoredSubscription,
    attempts: u8,
    delivery: Delivery,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn random(rng: &SystemRandom) -> u64 {
    let mut b = [0u8; 8];
    // Without randomness a wake-up leaves at its earliest time (no jitter), never not at all.
    let _ = rng.fill(&mut b);
    u64::from_le_bytes(b)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The push service an endpoint belongs to, for holding back: its origin.
fn service_of(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// The devices to wake for `wish`: each space's candidates but the pusher, each only if the space's
/// log says it may read the space now.
fn judge(
    store: &dyn RelayStore,
    access: &Access,
    wish: &Wish,
) -> Result<Vec<(DeviceId, StoredSubscription)>, StoreError> {
    let mut out = Vec::new();
    for space in &wish.spaces {
        let candidates: Vec<_> = store
            .wake_candidates(space)?
            .into_iter()
            .filter(|(d, _)| *d != wish.by)
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let log = {
            let mut reader = access.reader(store, std::slice::from_ref(space))?;
            reader.log(store, *space)?
        };
        if !log.has_genesis() {
            continue;
        }
        let (may, may_not): (Vec<_>, Vec<_>) = candidates
            .into_iter()
            .partition(|(d, _)| log.state().may_read(d));
        // No longer readers: forgotten, so they stop costing a look at every push (and a later
        // pull they may make notes them again).
        if !may_not.is_empty() {
            let gone: Vec<DeviceId> = may_not.into_iter().map(|(d, _)| d).collect();
            store.forget_readers(space, &gone)?;
        }
        out.extend(may);
    }
    Ok(out)
}

impl Task {
    async fn run(self, mut news: mpsc::Receiver<Wish>) {
        let poster = match Poster::new(self.settings.allow_loopback) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "could not make the wake-up sender's HTTP client; no wake-ups are sent");
                return;
            }
        };
        let rng = SystemRandom::new();
        let start = Instant::now();
        let now = || millis(start.elapsed());
        let mut schedule = WakeSchedule::new(
            millis(self.settings.interval),
            millis(self.settings.jitter),
            usize::try_from(self.settings.max_subscriptions).unwrap_or(usize::MAX),
        );
        // What each scheduled device is woken through, and how many posts it had.
        let mut pending: HashMap<DeviceId, (StoredSubscription, u8)> = HashMap::new();
        // Push services that asked the relay to wait, until when.
        let mut held_back: HashMap<String, u64> = HashMap::new();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let posts = Arc::new(Semaphore::new(POSTS_AT_ONCE));
        loop {
            let next = schedule.next_due();
            let due = async {
                match next {
                    // A due time past what the clock can say (an interval of ages) is never.
                    Some(at) => match start.checked_add(Duration::from_millis(at)) {
                        Some(when) => tokio::time::sleep_until(when).await,
                        None => std::future::pending::<()>().await,
                    },
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                wish = news.recv() => {
                    let Some(wish) = wish else { break };
                    let (store, access) = (self.store.clone(), self.access.clone());
                    let found =
                        tokio::task::spawn_blocking(move || judge(store.as_ref(), &access, &wish)).await;
                    let found = match found {
                        Ok(Ok(found)) => found,
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "could not read whom a push wakes");
                            continue;
                        }
                        Err(_) => continue,
                    };
                    let at = now();
                    for (device, subscription) in found {
                        match schedule.wake(device, at, random(&rng)) {
                            Scheduled::Full => {}
                            Scheduled::At(_) => {
                                pending.insert(device, (subscription, 0));
                            }
                            Scheduled::Coalesced => {
                                // The newest subscription, the attempts so far.
                                let attempts = pending.get(&device).map_or(0, |(_, a)| *a);
                                pending.insert(device, (subscription, attempts));
                            }
                        }
                    }
                }
                () = due => {
                    let at = now();
                    held_back.retain(|_, until| *until > at);
                    for device in schedule.due(at) {
                        let Some((subscription, attempts)) = pending.remove(&device) else {
                            continue;
                        };
                        if let Some(until) = held_back.get(&service_of(&subscription.endpoint)) {
                            // The service asked to wait: the wake-up waits with it.
                            schedule.wake(device, *until, random(&rng));
                            pending.insert(device, (subscription, attempts));
                            continue;
                        }
                        let request = Subscription {
                            endpoint: subscription.endpoint.clone(),
                            p256dh: subscription.p256dh.clone(),
                            auth: subscription.auth.clone(),
                        }
                        .wake(&self.key, &self.settings.contact, unix_now(), &rng);
                        let Ok(request) = request else {
                            self.metrics.woke(WakeOutcome::Failed);
                            continue;
                        };
                        let Ok(permit) = posts.clone().acquire_owned().await else {
                            break;
                        };
                        let (poster, done) = (poster.clone(), done_tx.clone());
                        tokio::spawn(async move {
                            let delivery = poster.post(request).await;
                            drop(permit);
                            let _ = done.send(Done { device, subscription, attempts: attempts.saturating_add(1), delivery });
                        });
                    }
                }
                Some(done) = done_rx.recv() => {
                    self.answered(done, now(), &mut schedule, &mut pending, &mut held_back, &rng).await;
                }
            }
        }
    }

    /// What a push service's answer changes.
    async fn answered(
        &self,
        done: Done,
        at: u64,
        schedule: &mut WakeSchedule<DeviceId>,
        pending: &mut HashMap<DeviceId, (StoredSubscription, u8)>,
        held_back: &mut HashMap<String, u64>,
        rng: &SystemRandom,
    ) {
        let retry = match done.delivery {
            Delivery::Sent => {
                self.metrics.woke(WakeOutcome::Sent);
                return;
            }
            Delivery::Failed => {
                self.metrics.woke(WakeOutcome::Failed);
                return;
            }
            Delivery::Gone => {
                self.metrics.woke(WakeOutcome::Gone);
                schedule.remove(&done.device);
                pending.remove(&done.device);
                let store = self.store.clone();
                let gone = tokio::task::spawn_blocking(move || {
                    store.forget_push_subscription(&done.device, &done.subscription.endpoint)
                })
                .await;
                if let Ok(Err(e)) = gone {
                    tracing::warn!(error = %e, "could not delete a gone push subscription");
                }
                return;
            }
            Delivery::Throttled { retry_after } => {
                self.metrics.woke(WakeOutcome::Throttled);
                retry_after
            }
            Delivery::Unavailable { retry_after } => {
                self.metrics.woke(WakeOutcome::Failed);
                retry_after
            }
        };
        let backoff = BACKOFF.saturating_mul(1 << done.attempts.min(8).saturating_sub(1));
        let wait = retry
            .unwrap_or(backoff)
            .min(crate::webpush::MAX_RETRY_AFTER);
        let until = at.saturating_add(millis(wait));
        let service = service_of(&done.subscription.endpoint);
        let held = held_back.entry(service).or_insert(until);
        *held = (*held).max(until);
        if done.attempts < MAX_ATTEMPTS && !pending.contains_key(&done.device) {
            // Tried again once the service said it may be, with a jitter of its own.
            if let Scheduled::At(_) = schedule.wake(done.device, until, random(rng)) {
                pending.insert(done.device, (done.subscription, done.attempts));
            }
        }
    }
}
