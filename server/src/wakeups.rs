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
//!    [`POSTS_AT_ONCE`] at once and [`POSTS_PER_SERVICE`] to one push service; the others wait in
//!    a queue per service, and the task goes on meanwhile (review S1).
//! 4. Read the answer: gone (404, 410) deletes the subscription; throttled (429) and unavailable
//!    (5xx) hold back every wake-up to that push service until its `Retry-After` (or the sender's
//!    own back-off) and try the device again then, at most [`MAX_ATTEMPTS`] times in all.
//!
//! Nothing of a device, a space or an endpoint reaches a log or a metric: the metric
//! `sebaya_relay_wakeups_sent_total` counts outcomes only.
//!
//! With several nodes on one PostgreSQL database, the node that took a push sends its wake-ups;
//! each node coalesces on its own.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use sebaya_proto::{DeviceId, SpaceId};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::access::Access;
use crate::error::StoreError;
use crate::live::Notifier;
use crate::metrics::{Metrics, WakeOutcome};
use crate::store::{RelayStore, StoredSubscription};
use crate::webpush::{
    Delivery, Poster, Scheduled, Subscription, VapidKey, WakeRequest, WakeSchedule,
};

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
/// Default time a subscription is kept after it was registered, unless the device registers it again
/// (`--push-subscription-days`, review S3): devices re-register daily (`push_registration_due`),
/// so one that has not for 30 days is gone or forgotten, and a stranger's keys hold their places
/// only while they keep registering.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(30 * 86_400);
/// Longest time between two sweeps of lapsed subscriptions.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Pushes waiting to be judged, at most; more are dropped.
pub const QUEUE: usize = 4096;
/// Wake-ups being posted at once, at most.
pub const POSTS_AT_ONCE: usize = 16;
/// Wake-ups being posted at once to one push service (an endpoint's origin), at most: half the
/// [`POSTS_AT_ONCE`] slots. A service that answers slowly, or never, holds this many and no more, so
/// wake-ups through every other service go on (review S1); a shared service that answers fast (the
/// publisher's gateway, which every FCM and APNs phone is behind) still gets enough for its many
/// phones (review P1), and within it the spaces take turns.
pub const POSTS_PER_SERVICE: usize = POSTS_AT_ONCE / 2;
/// Posts at once to a service not proven fast (review P9): one that has not answered within
/// [`FAST_ANSWER`] in the last [`PROVEN_FOR`] gets this many, and all such services together
/// [`UNPROVEN_AT_ONCE`], so silent hosts on any number of origins leave half the slots to the
/// services that answer.
pub const UNPROVEN_PER_SERVICE: usize = 2;
/// Posts at once to services not proven fast, all together.
pub const UNPROVEN_AT_ONCE: usize = POSTS_AT_ONCE / 2;
/// An answer (any but a failure) within this long is fast.
pub const FAST_ANSWER: Duration = Duration::from_secs(1);
/// A service is proven fast when at least this many of its last [`PROOF_WINDOW`] answers were
/// kept, and nine in ten of them were fast (review P11: one fast answer proves nothing).
pub const PROOF_MIN: usize = 5;
/// How many of a service's last answers are judged.
pub const PROOF_WINDOW: usize = 20;
/// How long a fast answer keeps a service proven.
pub const PROVEN_FOR: Duration = Duration::from_secs(600);
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
    /// How long a subscription is kept after it was registered (`--push-subscription-days`): an
    /// older one is not woken, takes no place under `max_subscriptions`, and is swept.
    pub lifetime: Duration,
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
            lifetime: DEFAULT_LIFETIME,
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
    metrics: Arc<Metrics>,
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
            self.metrics.wake_dropped();
        }
    }

    fn notes_readers(&self) -> bool {
        true
    }
}

impl Wakeups {
    /// A sender signing with `key`, not started yet, counting dropped news in `metrics`.
    pub fn new(key: VapidKey, settings: WakeSettings, metrics: Arc<Metrics>) -> Wakeups {
        let (tx, rx) = mpsc::channel(QUEUE);
        Wakeups {
            key: Arc::new(key),
            settings,
            tx,
            rx: Mutex::new(Some(rx)),
            dropped: AtomicU64::new(0),
            metrics,
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

    /// Registrations before this time (Unix seconds) have lapsed at `now`.
    pub fn live_since(&self, now: u64) -> u64 {
        now.saturating_sub(self.settings.lifetime.as_secs())
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

/// A wake-up built and ready to post, waiting for a slot of its push service.
struct Ready {
    device: DeviceId,
    /// The space whose push asked for it (the newest, if several rode on one): within a service,
    /// spaces take turns, so one space's burst does not queue another's wake-up behind all of it.
    space: SpaceId,
    subscription: StoredSubscription,
    attempts: u8,
    request: WakeRequest,
}

/// The post slots: wake-ups waiting per push service, and how many are in flight, per service and
/// in all. Nothing here waits: a wake-up whose service has no free slot waits in its queue while
/// the task goes on judging news and reading answers (review S1).
#[derive(Default)]
struct Slots {
    /// Per service, its spaces in turn, each with its wake-ups in order.
    ready: HashMap<String, VecDeque<(SpaceId, VecDeque<Ready>)>>,
    /// The devices waiting in `ready`: a device falls due again while its wake-up still waits
    /// (a slow service, a long queue) rides on the one waiting instead of being posted twice.
    queued: std::collections::HashSet<DeviceId>,
    in_flight: HashMap<String, usize>,
    total: usize,
    /// Each service's last answers, fast or not, and when the last fast one came (review P9, P11).
    proven: HashMap<String, (VecDeque<bool>, Instant)>,
    /// Where the next round of `dispatch` starts, so no service always gets the first look.
    turn: usize,
}

impl Slots {
    fn push(&mut self, service: String, ready: Ready) {
        if !self.queued.insert(ready.device) {
            return;
        }
        let spaces = self.ready.entry(service).or_default();
        match spaces.iter_mut().find(|(s, _)| *s == ready.space) {
            Some((_, queue)) => queue.push_back(ready),
            None => spaces.push_back((ready.space, VecDeque::from([ready]))),
        }
    }

    /// The next wake-up of `service`: the first of the space whose turn it is.
    fn take(&mut self, service: &str) -> Option<Ready> {
        let spaces = self.ready.get_mut(service)?;
        let (space, mut queue) = spaces.pop_front()?;
        let job = queue.pop_front();
        if !queue.is_empty() {
            spaces.push_back((space, queue));
        }
        if spaces.is_empty() {
            self.ready.remove(service);
        }
        if let Some(j) = &job {
            self.queued.remove(&j.device);
        }
        job
    }

    fn is_proven(&self, service: &str, now: Instant) -> bool {
        self.proven.get(service).is_some_and(|(answers, at)| {
            let fast = answers.iter().filter(|f| **f).count();
            answers.len() >= PROOF_MIN
                && fast * 10 >= answers.len() * 9
                && now.saturating_duration_since(*at) < PROVEN_FOR
        })
    }

    /// Starts posts, one service at a time in turn, while slots are free.
    fn dispatch(&mut self, poster: &Poster, done: &mpsc::UnboundedSender<Done>) {
        let now = Instant::now();
        let mut unproven: usize = self
            .in_flight
            .iter()
            .filter(|(s, _)| !self.is_proven(s, now))
            .map(|(_, n)| *n)
            .sum();
        loop {
            let mut started = false;
            let mut services: Vec<String> = self.ready.keys().cloned().collect();
            if !services.is_empty() {
                let len = services.len();
                services.rotate_left(self.turn % len);
                self.turn = self.turn.wrapping_add(1);
            }
            for service in services {
                if self.total >= POSTS_AT_ONCE {
                    return;
                }
                let busy = self.in_flight.get(&service).copied().unwrap_or(0);
                let proven = self.is_proven(&service, now);
                if proven && busy >= POSTS_PER_SERVICE
                    || !proven && (busy >= UNPROVEN_PER_SERVICE || unproven >= UNPROVEN_AT_ONCE)
                {
                    continue;
                }
                let Some(job) = self.take(&service) else {
                    continue;
                };
                *self.in_flight.entry(service).or_default() += 1;
                self.total += 1;
                if !proven {
                    unproven += 1;
                }
                started = true;
                let (poster, done) = (poster.clone(), done.clone());
                tokio::spawn(async move {
                    let began = Instant::now();
                    // The client's own timeout ends a post; this one holds even if it did not.
                    let delivery = tokio::time::timeout(
                        crate::webpush::POST_TIMEOUT + Duration::from_secs(1),
                        poster.post(job.request),
                    )
                    .await
                    .unwrap_or(Delivery::Failed);
                    let _ = done.send(Done {
                        device: job.device,
                        subscription: job.subscription,
                        attempts: job.attempts.saturating_add(1),
                        fast: began.elapsed() < FAST_ANSWER && delivery != Delivery::Failed,
                        delivery,
                    });
                });
            }
            if !started {
                return;
            }
        }
    }

    /// A post to `service` ended, `fast` or not.
    fn finished(&mut self, service: &str, fast: bool) {
        let now = Instant::now();
        if self.proven.len() >= 4096 {
            self.proven
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < PROVEN_FOR);
        }
        let (answers, at) = self
            .proven
            .entry(service.to_owned())
            .or_insert_with(|| (VecDeque::new(), now));
        answers.push_back(fast);
        if answers.len() > PROOF_WINDOW {
            answers.pop_front();
        }
        if fast {
            *at = now;
        }
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.in_flight.get_mut(service) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.in_flight.remove(service);
            }
        }
    }
}

/// One post's answer, back at the task.
struct Done {
    device: DeviceId,
    subscription: StoredSubscription,
    attempts: u8,
    /// Answered (anything but a failure) within [`FAST_ANSWER`].
    fast: bool,
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
    live_since: u64,
) -> Result<Vec<(DeviceId, StoredSubscription, SpaceId)>, StoreError> {
    let mut out = Vec::new();
    for space in &wish.spaces {
        let candidates: Vec<_> = store
            .wake_candidates(space, live_since)?
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
        out.extend(may.into_iter().map(|(d, s)| (d, s, *space)));
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
        // The space whose push each pending device was last wished for (turns within a service).
        let mut spaces: HashMap<DeviceId, SpaceId> = HashMap::new();
        // Push services that asked the relay to wait, until when.
        let mut held_back: HashMap<String, u64> = HashMap::new();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let mut slots = Slots::default();
        // Lapsed subscriptions are deleted at least twice per lifetime, and at least hourly.
        let mut sweep = tokio::time::interval(
            (self.settings.lifetime / 2).clamp(Duration::from_secs(1), SWEEP_EVERY),
        );
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
                    let live_since = unix_now().saturating_sub(self.settings.lifetime.as_secs());
                    let found = tokio::task::spawn_blocking(move || {
                        judge(store.as_ref(), &access, &wish, live_since)
                    })
                    .await;
                    let found = match found {
                        Ok(Ok(found)) => found,
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "could not read whom a push wakes");
                            continue;
                        }
                        Err(_) => continue,
                    };
                    let at = now();
                    for (device, subscription, space) in found {
                        match schedule.wake(device, at, random(&rng)) {
                            Scheduled::Full => {}
                            Scheduled::At(_) => {
                                pending.insert(device, (subscription, 0));
                                spaces.insert(device, space);
                            }
                            Scheduled::Coalesced => {
                                // The newest subscription, the attempts so far.
                                let attempts = pending.get(&device).map_or(0, |(_, a)| *a);
                                pending.insert(device, (subscription, attempts));
                                spaces.insert(device, space);
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
                        let service = service_of(&subscription.endpoint);
                        // A retry has no space of its own any more: it takes the turn of no space.
                        let space = spaces.remove(&device).unwrap_or(SpaceId([0; 16]));
                        slots.push(service, Ready { device, space, subscription, attempts, request });
                    }
                    slots.dispatch(&poster, &done_tx);
                }
                _ = sweep.tick() => {
                    let store = self.store.clone();
                    let before = unix_now().saturating_sub(self.settings.lifetime.as_secs());
                    let swept =
                        tokio::task::spawn_blocking(move || store.expire_push_subscriptions(before))
                            .await;
                    if let Ok(Err(e)) = swept {
                        tracing::warn!(error = %e, "could not delete lapsed push subscriptions");
                    }
                }
                Some(done) = done_rx.recv() => {
                    slots.finished(&service_of(&done.subscription.endpoint), done.fast);
                    self.answered(done, now(), &mut schedule, &mut pending, &mut held_back, &rng).await;
                    slots.dispatch(&poster, &done_tx);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Review S10: news dropped because the queue was full is counted where the operator sees it.
    #[test]
    fn news_dropped_on_a_full_queue_is_counted_in_the_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let key = VapidKey::load_or_create(&dir.path().join("k.p8"), &SystemRandom::new()).unwrap();
        let metrics = Arc::new(Metrics::default());
        let wakeups = Wakeups::new(
            key,
            WakeSettings::new("mailto:ops@example.org"),
            metrics.clone(),
        );
        // Not started: nothing takes the news, so the queue fills.
        for _ in 0..=QUEUE {
            wakeups.changed(&[SpaceId([1; 16])], &DeviceId([2; 32]));
        }
        let text = metrics.render(None);
        assert!(
            text.contains("\nsebaya_relay_wakeups_dropped_total 1\n"),
            "{text}"
        );
    }
}
