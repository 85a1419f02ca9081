//! The relay's soak run (issue 15): the `sebaya-relay` binary as its own process, steady mixed load
//! from many simulated devices for a long time, and the process sampled as it goes, so that memory
//! that keeps growing after warm-up, or open files that pile up, show up as a failed run rather than
//! as a phone-side outage weeks after a deployment.
//!
//! The pieces, one idea a file:
//! - [`relay`]: starting the binary on a loopback port with its store in a temp dir, and reading
//!   `/proc/PID` (RSS, peak RSS, open files, threads) and the database and WAL sizes;
//! - [`metrics`]: every request's kind, latency and outcome, counted client-side (the relay keeps no
//!   counters of its own), through an [`HttpClient`](sebaya_core::HttpClient) wrapper;
//! - [`people`]: a programme of simulated people with real [`Vault`](sebaya_core::Vault)s: journals
//!   on phones and tablets, groups with several members, invites, snapshots, erasures, devices and
//!   members removed, people arriving and leaving, at a steady rate;
//! - [`refusals`]: what should be refused (a stranger, an oversized, garbage, unsigned, replayed or
//!   mistyped request), and idle and slow connections, over raw HTTP;
//! - [`verdict`]: the summary (RSS at the end of warm-up and at the end, least-squares slope, open
//!   files, latencies, errors) and the pass/fail rules.
//!
//! [`run`] ties them together; `sebaya-soak` (`tests/src/soak_main.rs`) is its command line and
//! `scripts/soak.sh` the documented run (`docs/reliability.md`, "Soak").

pub mod metrics;
pub mod people;
pub mod refusals;
pub mod relay;
pub mod verdict;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use metrics::Metrics;
use relay::{RelayProcess, Sample};
use verdict::{Bounds, Summary};

/// What a soak run does and how it is judged.
#[derive(Clone, Debug)]
pub struct Config {
    /// The `sebaya-relay` binary to run.
    pub relay_bin: PathBuf,
    /// Where the CSV of samples, the summary and the relay's log go.
    pub out_dir: PathBuf,
    /// Length of the whole run.
    pub duration: Duration,
    /// The first part of the run, whose samples the growth checks ignore (caches and pools filling).
    pub warmup: Duration,
    /// Time between two samples of the relay process.
    pub sample_every: Duration,
    /// Threads of simulated people, each with its own programme of people and groups.
    pub workers: usize,
    /// Actions per second over all workers (each action is one or a few syncs).
    pub rate: f64,
    /// People alive at once in each worker; the oldest leaves (its vault deleted) when one more arrives.
    pub people: usize,
    /// Refused and odd requests per second (strangers, oversized, garbage...).
    pub refusal_rate: f64,
    /// Connections held open without a complete request, at any time.
    pub idle_connections: usize,
    /// How often a connection is abandoned (kept open and unused until the end); `None`: never.
    pub abandon_every: Option<Duration>,
    /// Passed to the relay as `--snapshot-retention-days` (0: covered envelopes are pruned at once).
    pub retention_days: u32,
    /// Passed to the relay as `--log-cache-mib` (its default when `None`).
    pub log_cache_mib: Option<u32>,
    /// Seed of the load's choices.
    pub seed: u32,
    /// The pass/fail bounds.
    pub bounds: Bounds,
}

impl Config {
    /// The smoke run's settings (`tests/tests/soak.rs`): about `secs` seconds, a light load.
    pub fn smoke(relay_bin: PathBuf, out_dir: PathBuf, secs: u64) -> Config {
        Config {
            relay_bin,
            out_dir,
            duration: Duration::from_secs(secs),
            warmup: Duration::from_secs(secs / 3),
            sample_every: Duration::from_secs(1),
            workers: 2,
            rate: 4.0,
            people: 6,
            refusal_rate: 2.0,
            idle_connections: 4,
            abandon_every: None,
            retention_days: 0,
            log_cache_mib: None,
            seed: 7,
            bounds: Bounds::default(),
        }
    }
}

/// What a run produced: the samples, the counts and the verdict.
#[derive(Debug)]
pub struct Outcome {
    /// Every sample of the relay process, in order.
    pub samples: Vec<Sample>,
    /// The figures and the checks.
    pub summary: Summary,
}

/// Runs the soak: starts the relay, drives the load, samples until `duration` has passed, stops
/// everything it started, writes `samples.csv`, `latency.csv` and `summary.txt` under `out_dir`.
/// An `Err` is a setup failure (the relay would not start, a file could not be written); a run that
/// went wrong is an `Ok` whose summary says so.
pub fn run(config: &Config) -> Result<Outcome, String> {
    std::fs::create_dir_all(&config.out_dir).map_err(|e| format!("out dir: {e}"))?;
    let work = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let relay = RelayProcess::start(
        &config.relay_bin,
        &work.path().join("relay"),
        &config.out_dir.join("relay.log"),
        config.retention_days,
        config.log_cache_mib,
    )?;
    let metrics = Arc::new(Metrics::new());
    let stop = Arc::new(AtomicBool::new(false));
    let live_spaces = Arc::new(refusals::LiveSpaces::default());
    let started = Instant::now();

    let mut threads = Vec::new();
    let per_worker = config.rate / config.workers.max(1) as f64;
    for w in 0..config.workers {
        let load = people::Load {
            url: relay.url().to_string(),
            dir: work.path().join(format!("w{w}")),
            rate: per_worker,
            people: config.people,
            seed: config.seed.wrapping_mul(1000).wrapping_add(w as u32),
            metrics: metrics.clone(),
            stop: stop.clone(),
            live_spaces: live_spaces.clone(),
        };
        threads.push(spawn(&format!("soak-w{w}"), move || people::run(load))?);
    }
    let odd = refusals::Odd {
        addr: relay.addr(),
        rate: config.refusal_rate,
        idle: config.idle_connections,
        abandon_every: config.abandon_every,
        seed: config.seed,
        metrics: metrics.clone(),
        stop: stop.clone(),
        live_spaces: live_spaces.clone(),
    };
    threads.extend(refusals::spawn_all(odd)?);

    let mut samples = Vec::new();
    let csv_path = config.out_dir.join("samples.csv");
    let mut csv = std::fs::File::create(&csv_path).map_err(|e| format!("samples.csv: {e}"))?;
    writeln!(csv, "{}", Sample::CSV_HEADER).map_err(|e| e.to_string())?;
    let mut warm = false;
    let mut next = started + config.sample_every;
    let mut relay_died = false;
    loop {
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
        }
        next += config.sample_every;
        let t = started.elapsed();
        if !warm && t >= config.warmup {
            warm = true;
            metrics.start_measuring();
        }
        let window = metrics.take_window();
        match relay.sample(t, &window, metrics.totals()) {
            Ok(s) => {
                writeln!(csv, "{}", s.csv_row()).map_err(|e| e.to_string())?;
                let _ = csv.flush();
                eprintln!("{}", s.progress_line());
                samples.push(s);
            }
            Err(e) => {
                eprintln!("sebaya-soak: the relay cannot be sampled any more: {e}");
                relay_died = true;
                break;
            }
        }
        if t >= config.duration {
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut crashed_threads = 0;
    for t in threads {
        if t.join().is_err() {
            crashed_threads += 1;
        }
    }
    let exited = relay.stop();
    let report = metrics.report();
    std::fs::write(config.out_dir.join("latency.csv"), report.latency_csv())
        .map_err(|e| format!("latency.csv: {e}"))?;
    let summary = Summary::judge(
        &samples,
        config.warmup,
        &report,
        &config.bounds,
        relay_died || exited.is_some(),
        crashed_threads,
    );
    std::fs::write(config.out_dir.join("summary.txt"), summary.text())
        .map_err(|e| format!("summary.txt: {e}"))?;
    Ok(Outcome { samples, summary })
}

fn spawn(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|e| format!("thread {name}: {e}"))
}
