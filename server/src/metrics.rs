//! The relay's counters, and their Prometheus text form (served on a listener of its own,
//! `--metrics-bind`).
//!
//! Labels are only ever the relay's own closed sets: a route template, an HTTP status, a refusal's
//! scope and reason code. Never a space, device, person, request id or address: a metrics store
//! keeps every label value it ever saw, and it is read by people who must not learn who uses the
//! relay. Counters live in memory and start again at zero with the process, as Prometheus expects.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the sync latency histogram's buckets.
pub const SYNC_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Where a refusal applies: the whole request, or one item of a 200 answer (protocol 9.7, 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// The request was refused whole (an error status).
    Request,
    /// One pushed envelope (`rejected`).
    Envelope,
    /// One requested space (`refused_spaces`).
    Space,
    /// One join request (`refused_join_requests`).
    JoinRequest,
    /// One join answer (`refused_join_answers`).
    JoinAnswer,
    /// One space asked to be erased (`refused_erase`).
    Erase,
}

impl Scope {
    fn label(self) -> &'static str {
        match self {
            Scope::Request => "request",
            Scope::Envelope => "envelope",
            Scope::Space => "space",
            Scope::JoinRequest => "join_request",
            Scope::JoinAnswer => "join_answer",
            Scope::Erase => "erase",
        }
    }
}

/// The relay's counters. Shared by every handler and the accept loop; cheap to update.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    refusals: Mutex<BTreeMap<(Scope, String), u64>>,
    accepted: AtomicU64,
    sync_buckets: [AtomicU64; SYNC_BUCKETS.len()],
    sync_count: AtomicU64,
    sync_micros: AtomicU64,
    live_connections: AtomicU64,
    connections: AtomicU64,
    live_waits: AtomicU64,
    live_waits_asleep: AtomicU64,
    wake_alls: AtomicU64,
    /// 0: no fan-out (SQLite); 1: not listening; 2: listening.
    fanout: AtomicU8,
    /// Wake-ups posted, by [`WakeOutcome`] (in its order).
    wakeups: [AtomicU64; 4],
}

/// What became of one wake-up posted to a push service: the only label of
/// `sebaya_relay_wakeups_sent_total` (never a device, endpoint or space).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WakeOutcome {
    /// The push service took it.
    Sent,
    /// The subscription is gone (404, 410) and was deleted.
    Gone,
    /// The push service asked the relay to slow down (429).
    Throttled,
    /// Anything else: a 5xx, no connection, a timeout, a refused address or answer.
    Failed,
}

impl WakeOutcome {
    const ALL: [WakeOutcome; 4] = [
        WakeOutcome::Sent,
        WakeOutcome::Gone,
        WakeOutcome::Throttled,
        WakeOutcome::Failed,
    ];

    fn label(self) -> &'static str {
        match self {
            WakeOutcome::Sent => "sent",
            WakeOutcome::Gone => "gone",
            WakeOutcome::Throttled => "throttled",
            WakeOutcome::Failed => "failed",
        }
    }
}

/// What the store holds, read when metrics are scraped.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stored {
    /// Envelopes stored (pruned ones not counted).
    pub envelopes: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Adds one to a labelled counter; a poisoned lock (a panic elsewhere mid-update) is taken over,
/// since a counter is never left half-written.
fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K, by: u64) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    let n = map.entry(key).or_insert(0);
    *n = n.saturating_add(by);
}

impl Metrics {
    /// Counts one answered request. `route` is the route template (`/v1/sync`), never a raw path.
    pub fn request(&self, route: &str, status: u16) {
        bump(&self.requests, (route.to_string(), status), 1);
    }

    /// Counts `n` refusals of `scope` for the relay's reason `code`.
    pub fn refused(&self, scope: Scope, code: &str, n: u64) {
        bump(&self.refusals, (scope, code.to_string()), n);
    }

    /// Counts envelopes newly stored or confirmed (pushed and not refused).
    pub fn accepted(&self, n: u64) {
        self.accepted.fetch_add(n, Ordering::Relaxed);
    }

    /// Records how long one sync request took, from its head to its answer.
    pub fn sync_took(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bucket, bound) in self.sync_buckets.iter().zip(SYNC_BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sync_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sync_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// A connection was accepted; the guard counts it as live until dropped.
    pub fn connection(&self) -> ConnectionGuard<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.live_connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self)
    }

    /// A live wait (section 28) began; the guard counts it as open until dropped.
    pub fn wait(&self) -> WaitGuard<'_> {
        self.live_waits.fetch_add(1, Ordering::Relaxed);
        WaitGuard(self)
    }

    /// A live wait finished looking at the store and sleeps until woken; the guard counts it as
    /// asleep until dropped.
    pub fn asleep(&self) -> AsleepGuard<'_> {
        self.live_waits_asleep.fetch_add(1, Ordering::Relaxed);
        AsleepGuard(self)
    }

    /// Every wait of this node was woken to look at the store again (a lost connection to the
    /// other nodes, or a wake-everything notice).
    pub fn woke_all(&self) {
        self.wake_alls.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the live fan-out to the other nodes (PostgreSQL) listens now.
    pub fn fanout_listening(&self, listening: bool) {
        self.fanout
            .store(if listening { 2 } else { 1 }, Ordering::Relaxed);
    }

    /// One wake-up was posted, with this outcome.
    pub fn woke(&self, outcome: WakeOutcome) {
        self.wakeups[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Wake-ups posted with `outcome` since the start.
    pub fn wakeups(&self, outcome: WakeOutcome) -> u64 {
        self.wakeups[outcome as usize].load(Ordering::Relaxed)
    }

    /// Live waits open now.
    pub fn live_waits(&self) -> u64 {
        self.live_waits.load(Ordering::Relaxed)
    }

    /// Connections open now.
    pub fn live_connections(&self) -> u64 {
        self.live_connections.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition (format 0.0.4) of every counter, with `stored` and whether
    /// the store answered (`ready`) as gauges.
    pub fn render(&self, stored: Option<Stored>) -> String {
        let mut out = String::new();
        header(
            &mut out,
            "sebaya_relay_http_requests_total",
            "counter",
            "Requests answered, by route template and status.",
        );
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "sebaya_relay_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        header(
            &mut out,
            "sebaya_relay_refusals_total",
            "counter",
            "Refusals by scope (request, envelope, space, join_request, join_answer, erase) and reason code.",
        );
        for ((scope, code), n) in self
            .refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "sebaya_relay_refusals_total{{scope=\"{}\",code=\"{}\"}} {n}",
                scope.label(),
                escape(code)
            );
        }
        counter(
            &mut out,
            "sebaya_relay_envelopes_accepted_total",
            "Pushed envelopes accepted (stored, or held already).",
            self.accepted.load(Ordering::Relaxed),
        );
        header(
            &mut out,
            "sebaya_relay_sync_duration_seconds",
            "histogram",
            "Time from a sync request's head to its answer.",
        );
        for (bucket, bound) in self.sync_buckets.iter().zip(SYNC_BUCKETS) {
            let _ = writeln!(
                out,
                "sebaya_relay_sync_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.sync_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "sebaya_relay_sync_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "sebaya_relay_sync_duration_seconds_sum {}",
            self.sync_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "sebaya_relay_sync_duration_seconds_count {count}");
        gauge(
            &mut out,
            "sebaya_relay_connections_live",
            "HTTP connections open now.",
            self.live_connections(),
        );
        gauge(
            &mut out,
            "sebaya_relay_live_waits",
            "Live waits (POST /v1/wait) held open now.",
            self.live_waits(),
        );
        gauge(
            &mut out,
            "sebaya_relay_live_waits_asleep",
            "Live waits that finished looking at the store and sleep until woken.",
            self.live_waits_asleep.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "sebaya_relay_live_wake_all_total",
            "Rounds in which every live wait was woken to look again (reconnections to the other nodes, wake-everything notices; at most one a second).",
            self.wake_alls.load(Ordering::Relaxed),
        );
        let fanout = self.fanout.load(Ordering::Relaxed);
        if fanout != 0 {
            gauge(
                &mut out,
                "sebaya_relay_fanout_listening",
                "1 when this node listens to the other nodes' news (PostgreSQL), else 0.",
                u64::from(fanout == 2),
            );
        }
        header(
            &mut out,
            "sebaya_relay_wakeups_sent_total",
            "counter",
            "Wake-ups posted to push services, by outcome (sent, gone, throttled, failed).",
        );
        for outcome in WakeOutcome::ALL {
            let _ = writeln!(
                out,
                "sebaya_relay_wakeups_sent_total{{outcome=\"{}\"}} {}",
                outcome.label(),
                self.wakeups(outcome)
            );
        }
        counter(
            &mut out,
            "sebaya_relay_connections_total",
            "HTTP connections accepted.",
            self.connections.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "sebaya_relay_store_up",
            "1 when the store answered the scrape's query, else 0.",
            u64::from(stored.is_some()),
        );
        if let Some(stored) = stored {
            gauge(
                &mut out,
                "sebaya_relay_stored_envelopes",
                "Envelopes the store holds.",
                stored.envelopes,
            );
            gauge(
                &mut out,
                "sebaya_relay_stored_bytes",
                "Bytes of the envelopes the store holds.",
                stored.bytes,
            );
        }
        out
    }
}

/// Counts a connection as live while it exists.
#[derive(Debug)]
pub struct ConnectionGuard<'a>(&'a Metrics);

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.0.live_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a live wait as open while it exists.
#[derive(Debug)]
pub struct WaitGuard<'a>(&'a Metrics);

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.live_waits.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a live wait as asleep while it exists.
#[derive(Debug)]
pub struct AsleepGuard<'a>(&'a Metrics);

impl Drop for AsleepGuard<'_> {
    fn drop(&mut self) {
        self.0.live_waits_asleep.fetch_sub(1, Ordering::Relaxed);
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// A label value as the text format wants it: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn counters_render_as_prometheus_text() {
        let m = Metrics::default();
        m.request("/v1/sync", 200);
        m.request("/v1/sync", 200);
        m.refused(Scope::Envelope, "quota-exceeded", 3);
        m.refused(Scope::Request, "clock-skew", 1);
        m.sync_took(Duration::from_millis(30));
        m.accepted(2);
        let live = m.connection();
        let waiting = m.wait();
        let text = m.render(Some(Stored {
            envelopes: 5,
            bytes: 700,
        }));
        for line in [
            "sebaya_relay_http_requests_total{route=\"/v1/sync\",status=\"200\"} 2",
            "sebaya_relay_refusals_total{scope=\"envelope\",code=\"quota-exceeded\"} 3",
            "sebaya_relay_refusals_total{scope=\"request\",code=\"clock-skew\"} 1",
            "sebaya_relay_sync_duration_seconds_bucket{le=\"0.025\"} 0",
            "sebaya_relay_sync_duration_seconds_bucket{le=\"0.05\"} 1",
            "sebaya_relay_sync_duration_seconds_bucket{le=\"+Inf\"} 1",
            "sebaya_relay_sync_duration_seconds_sum 0.03",
            "sebaya_relay_sync_duration_seconds_count 1",
            "sebaya_relay_envelopes_accepted_total 2",
            "sebaya_relay_connections_live 1",
            "sebaya_relay_live_waits 1",
            "sebaya_relay_connections_total 1",
            "sebaya_relay_store_up 1",
            "sebaya_relay_stored_envelopes 5",
            "sebaya_relay_stored_bytes 700",
            "# TYPE sebaya_relay_sync_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
        drop((live, waiting));
        let text = m.render(None);
        assert!(text.contains("sebaya_relay_connections_live 0\n"));
        assert!(text.contains("sebaya_relay_live_waits 0\n"));
        assert!(text.contains("sebaya_relay_store_up 0\n"));
        assert!(!text.contains("sebaya_relay_stored_bytes"));
    }

    #[test]
    fn the_live_gauges_count_and_the_fan_out_shows_only_when_there_is_one() {
        let m = Metrics::default();
        let asleep = m.asleep();
        m.woke_all();
        let text = m.render(None);
        assert!(text.contains("sebaya_relay_live_waits_asleep 1\n"));
        assert!(text.contains("sebaya_relay_live_wake_all_total 1\n"));
        assert!(!text.contains("sebaya_relay_fanout_listening"));
        drop(asleep);
        m.fanout_listening(true);
        let text = m.render(None);
        assert!(text.contains("sebaya_relay_live_waits_asleep 0\n"));
        assert!(text.contains("sebaya_relay_fanout_listening 1\n"));
        m.fanout_listening(false);
        assert!(m.render(None).contains("sebaya_relay_fanout_listening 0\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
