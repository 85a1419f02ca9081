//! What the load saw, counted on the client side: every request's kind, latency and outcome. The
//! relay keeps no counters (it logs nothing about requests, by design), so the soak counts for it.
//!
//! An outcome is one of three: served as it should be; refused *as it should be* (a stranger, an
//! oversized body: counted, never a failure); or a failure (a request that should have succeeded did
//! not, or one that should have been refused was not). Any failure fails the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sebaya_core::{HttpClient, HttpRequest, HttpResponse, ReqwestClient};

/// How one request ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Served as expected.
    Ok,
    /// Refused, as it should have been (the relay's error code or what the answer said).
    Refused(String),
    /// A failure: what went wrong.
    Failed(String),
}

/// Counts since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// HTTP requests (and raw connections) made.
    pub requests: u64,
    /// Actions of the simulated people completed.
    pub actions: u64,
    /// Requests refused as they should have been.
    pub expected_refusals: u64,
    /// Failures (requests and actions).
    pub failures: u64,
}

/// The requests between two samples.
#[derive(Clone, Debug, Default)]
pub struct Window {
    /// How many.
    pub requests: u64,
    /// Per second over the window.
    pub per_sec: f64,
    /// Median latency, milliseconds (all kinds).
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds (all kinds).
    pub p99_ms: f64,
}

#[derive(Default)]
struct KindStats {
    requests: u64,
    ok: u64,
    refused: BTreeMap<String, u64>,
    failed: BTreeMap<String, u64>,
    /// Latencies in microseconds, after warm-up only.
    latencies_us: Vec<u32>,
}

struct Inner {
    kinds: BTreeMap<&'static str, KindStats>,
    window: Vec<u32>,
    window_start: Instant,
    totals: Totals,
    /// The first failures, for the summary (kind and what happened; never content).
    first_failures: Vec<String>,
}

/// The shared counters of one run. Cheap to share behind an `Arc`.
pub struct Metrics {
    inner: Mutex<Inner>,
    measuring: AtomicBool,
}

/// Kinds whose duration the client sets (a request trickled in, a connection held idle): kept out
/// of the all-kinds latency of each sample.
pub const UNTIMED: [&str; 5] = [
    "slow",
    "idle",
    "abandoned",
    "abandoned-open",
    "abandoned-closed",
];

/// At most this many failures are kept word for word.
const KEPT_FAILURES: usize = 50;

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty counters; latencies are kept only after [`Metrics::start_measuring`].
    pub fn new() -> Metrics {
        Metrics {
            inner: Mutex::new(Inner {
                kinds: BTreeMap::new(),
                window: Vec::new(),
                window_start: Instant::now(),
                totals: Totals::default(),
                first_failures: Vec::new(),
            }),
            measuring: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Warm-up is over: keep latencies for the report from now on.
    pub fn start_measuring(&self) {
        self.measuring.store(true, Ordering::SeqCst);
    }

    /// Records one request of `kind` that took `latency`.
    pub fn record(&self, kind: &'static str, latency: Duration, outcome: Outcome) {
        let us = latency.as_micros().min(u32::MAX as u128) as u32;
        let measuring = self.measuring.load(Ordering::Relaxed);
        let mut g = self.lock();
        g.totals.requests += 1;
        // Slow and idle connections take as long as the client makes them: not the relay's latency.
        if !UNTIMED.contains(&kind) {
            g.window.push(us);
        }
        let failed = matches!(outcome, Outcome::Failed(_));
        let k = g.kinds.entry(kind).or_default();
        k.requests += 1;
        if measuring {
            k.latencies_us.push(us);
        }
        match outcome {
            Outcome::Ok => k.ok += 1,
            Outcome::Refused(code) => {
                *k.refused.entry(code).or_default() += 1;
                g.totals.expected_refusals += 1;
            }
            Outcome::Failed(what) => {
                *k.failed.entry(what.clone()).or_default() += 1;
                g.totals.failures += 1;
                if g.first_failures.len() < KEPT_FAILURES {
                    g.first_failures.push(format!("{kind}: {what}"));
                }
            }
        }
        if failed {
            eprintln!("sebaya-soak: failure: {kind}");
        }
    }

    /// Records a failure that is not one request (a vault action that failed, a sync report that
    /// says an envelope was refused).
    pub fn failure(&self, kind: &'static str, what: String) {
        let mut g = self.lock();
        g.totals.failures += 1;
        *g.kinds
            .entry(kind)
            .or_default()
            .failed
            .entry(what.clone())
            .or_default() += 1;
        if g.first_failures.len() < KEPT_FAILURES {
            g.first_failures.push(format!("{kind}: {what}"));
        }
        eprintln!("sebaya-soak: failure: {kind}: {what}");
    }

    /// Records a refusal that is not one request but was expected (an envelope refused within
    /// a sync that otherwise succeeded).
    pub fn expected(&self, kind: &'static str, what: String) {
        let mut g = self.lock();
        g.totals.expected_refusals += 1;
        *g.kinds
            .entry(kind)
            .or_default()
            .refused
            .entry(what)
            .or_default() += 1;
    }

    /// One action of a simulated person is done.
    pub fn action_done(&self) {
        self.lock().totals.actions += 1;
    }

    /// The counts so far.
    pub fn totals(&self) -> Totals {
        self.lock().totals
    }

    /// The requests since the previous call, and starts a new window.
    pub fn take_window(&self) -> Window {
        let mut g = self.lock();
        let mut lat = std::mem::take(&mut g.window);
        let secs = g.window_start.elapsed().as_secs_f64().max(1e-3);
        g.window_start = Instant::now();
        drop(g);
        lat.sort_unstable();
        Window {
            requests: lat.len() as u64,
            per_sec: lat.len() as f64 / secs,
            p50_ms: percentile(&lat, 50.0),
            p99_ms: percentile(&lat, 99.0),
        }
    }

    /// Per kind: counts, outcomes and latency percentiles after warm-up.
    pub fn report(&self) -> Report {
        let g = self.lock();
        let kinds = g
            .kinds
            .iter()
            .map(|(name, k)| {
                let mut lat = k.latencies_us.clone();
                lat.sort_unstable();
                KindReport {
                    kind: name,
                    requests: k.requests,
                    ok: k.ok,
                    refused: k.refused.clone(),
                    failed: k.failed.clone(),
                    measured: lat.len() as u64,
                    p50_ms: percentile(&lat, 50.0),
                    p90_ms: percentile(&lat, 90.0),
                    p99_ms: percentile(&lat, 99.0),
                    max_ms: lat.last().map_or(0.0, |m| *m as f64 / 1000.0),
                }
            })
            .collect();
        Report {
            kinds,
            totals: g.totals,
            first_failures: g.first_failures.clone(),
        }
    }
}

/// The `p`th percentile (nearest rank) of sorted microseconds, in milliseconds; 0 when empty.
pub fn percentile(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

/// One kind of request over the run.
#[derive(Clone, Debug)]
pub struct KindReport {
    /// The kind.
    pub kind: &'static str,
    /// Requests made.
    pub requests: u64,
    /// Served as expected.
    pub ok: u64,
    /// Refused as expected, by code.
    pub refused: BTreeMap<String, u64>,
    /// Failures, by what happened.
    pub failed: BTreeMap<String, u64>,
    /// Requests whose latency was kept (after warm-up).
    pub measured: u64,
    /// Latency percentiles after warm-up, milliseconds.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// Every kind, the totals and the first failures.
#[derive(Clone, Debug)]
pub struct Report {
    /// Per kind, by name.
    pub kinds: Vec<KindReport>,
    /// Counts of the whole run.
    pub totals: Totals,
    /// The first failures, word for word.
    pub first_failures: Vec<String>,
}

impl Report {
    /// `latency.csv`: one row per kind.
    pub fn latency_csv(&self) -> String {
        let mut out = String::from(
            "kind,requests,ok,expected_refusals,failures,measured,p50_ms,p90_ms,p99_ms,max_ms\n",
        );
        for k in &self.kinds {
            out.push_str(&format!(
                "{},{},{},{},{},{},{:.2},{:.2},{:.2},{:.2}\n",
                k.kind,
                k.requests,
                k.ok,
                k.refused.values().sum::<u64>(),
                k.failed.values().sum::<u64>(),
                k.measured,
                k.p50_ms,
                k.p90_ms,
                k.p99_ms,
                k.max_ms
            ));
        }
        out
    }
}

/// The HTTP client every simulated device syncs through: reqwest, timed and counted. A request to
/// `/v1/info` counts as kind `info`; any other as the label the device's current action set.
pub struct MeteredHttp {
    inner: ReqwestClient,
    metrics: Arc<Metrics>,
    label: Mutex<&'static str>,
    /// Why the relay refused pushed envelopes since the last [`MeteredHttp::take_rejections`]:
    /// each refusal's kind of envelope and reason code.
    rejections: Mutex<Vec<String>>,
}

impl MeteredHttp {
    /// A client counting into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> MeteredHttp {
        MeteredHttp {
            inner: ReqwestClient::new().expect("an HTTP client"),
            metrics,
            label: Mutex::new("sync"),
            rejections: Mutex::new(Vec::new()),
        }
    }

    /// Why pushed envelopes were refused since the last call (kind of envelope and reason code).
    pub fn take_rejections(&self) -> Vec<String> {
        std::mem::take(&mut *self.rejections.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The kind the next requests count as.
    pub fn label(&self, kind: &'static str) {
        *self.label.lock().unwrap_or_else(|p| p.into_inner()) = kind;
    }
}

impl HttpClient for MeteredHttp {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let kind = if request.url.ends_with("/v1/info") {
            "info"
        } else {
            *self.label.lock().unwrap_or_else(|p| p.into_inner())
        };
        let pushed = (kind != "info")
            .then(|| {
                sebaya_proto::sync::decode::<sebaya_proto::sync::SyncRequest>(&request.body).ok()
            })
            .flatten();
        let start = Instant::now();
        let r = self.inner.send(request);
        if let (Some(req), Ok(resp)) = (&pushed, &r)
            && resp.status == 200
            && let Ok(answer) =
                sebaya_proto::sync::decode::<sebaya_proto::sync::SyncResponse>(&resp.body)
            && !answer.rejected.is_empty()
        {
            let mut out = self.rejections.lock().unwrap_or_else(|p| p.into_inner());
            for rej in &answer.rejected {
                let what = req
                    .envelopes
                    .get(rej.index as usize)
                    .and_then(|e| sebaya_proto::Envelope::parse(e).ok())
                    .map_or("?".to_string(), |e| envelope_name(&e));
                out.push(format!("{what} envelope: {}", rej.reason));
            }
        }
        let outcome = match &r {
            Ok(resp) if resp.status == 200 => Outcome::Ok,
            Ok(resp) => Outcome::Failed(format!("HTTP {} {}", resp.status, error_code(&resp.body))),
            Err(_) => Outcome::Failed("no answer".into()),
        };
        self.metrics.record(kind, start.elapsed(), outcome);
        r
    }
}

/// An envelope's kind, and for a membership statement its operation (never content: the relay
/// could read as much).
fn envelope_name(e: &sebaya_proto::Envelope) -> String {
    let Ok(h) = e.header() else {
        return "?".into();
    };
    match sebaya_proto::membership::SignedStatement::from_envelope(e) {
        Ok(s) => {
            let op = format!("{:?}", s.statement().op);
            let name = op.split([' ', '{', '(']).next().unwrap_or("?");
            format!("{:?} {name}", h.kind)
        }
        Err(_) => format!("{:?}", h.kind),
    }
}

/// The `error` field of a relay's refusal (`docs/protocol.md`, section 11), or `-`.
pub fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
        assert_eq!(percentile(&[3000], 1.0), 3.0);
    }

    #[test]
    fn failures_and_refusals_are_counted_apart() {
        let m = Metrics::new();
        m.record("a", Duration::from_millis(2), Outcome::Ok);
        m.record("a", Duration::from_millis(4), Outcome::Refused("x".into()));
        m.start_measuring();
        m.record("b", Duration::from_millis(8), Outcome::Failed("y".into()));
        m.failure("c", "z".into());
        let t = m.totals();
        assert_eq!((t.requests, t.expected_refusals, t.failures), (3, 1, 2));
        let r = m.report();
        let b = r.kinds.iter().find(|k| k.kind == "b").unwrap();
        assert_eq!((b.measured, b.p50_ms), (1, 8.0));
        let a = r.kinds.iter().find(|k| k.kind == "a").unwrap();
        assert_eq!(a.measured, 0, "latencies before warm-up are not kept");
        assert_eq!(r.first_failures, vec!["b: y", "c: z"]);
        m.record("idle", Duration::from_secs(30), Outcome::Ok);
        assert_eq!(
            m.take_window().requests,
            3,
            "idle connections are not timed"
        );
        assert_eq!(m.take_window().requests, 0);
    }
}
