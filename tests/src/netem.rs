//! The bad-link driver (issue 5): syncs a day of group activity between two devices through a
//! 2G-like link and through a link that is cut mid-transfer, and measures both.
//!
//! `scripts/netem.sh` builds the link in network namespaces (rate with `tc tbf`, loss with
//! `iptables statistic`) and runs, inside the relay's namespace, `sebaya-relay` and
//! `sebaya-netem serve ADDR` (the measuring endpoint); then, outside, `sebaya-netem run --relay ADDR
//! --serve ADDR [--delay-ms 300] [--rate-kbit 50] [--json FILE]`. The delay is added here, by an
//! in-process proxy, in each direction (the kernel has no netem), and the proxy cuts the link on
//! command. Panics on any failure: this is a test driver, its exit code is the verdict.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sebaya_core::sync::policy::{Link, SyncPolicy};
use sebaya_core::{HttpClient, HttpRequest, HttpResponse, ReqwestClient, SyncReport, Vault};
use sebaya_tests::day::{day_of_activity, group_notes, group_pair};
use sebaya_tests::net::pushed;
use sebaya_tests::proxy::{Proxy, fetch, serve};

/// The real client, logging which envelopes each sync request pushed and whether its answer came.
struct Recording<'a> {
    inner: &'a ReqwestClient,
    log: Mutex<Vec<(Vec<[u8; 32]>, bool)>>,
}

impl HttpClient for Recording<'_> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let Some(pushed) = pushed(&request) else {
            return self.inner.send(request);
        };
        let ids = pushed.into_iter().map(|(_, id)| id).collect();
        let answer = self.inner.send(request);
        self.log.lock().unwrap().push((ids, answer.is_ok()));
        answer
    }
}

impl Recording<'_> {
    /// Checks that no envelope a request got an answer for (the relay acknowledged it) was pushed
    /// by a later request; returns how many envelopes requests without an answer carried.
    fn check_nothing_acked_resent(&self) -> usize {
        let log = self.log.lock().unwrap();
        let mut acked: HashSet<[u8; 32]> = HashSet::new();
        let mut lost = 0;
        for (ids, answered) in log.iter() {
            for id in ids {
                assert!(
                    !acked.contains(id),
                    "an acknowledged envelope was sent again"
                );
            }
            if *answered {
                acked.extend(ids);
            } else {
                lost += ids.len();
            }
        }
        lost
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn timed_sync(v: &mut Vault, http: &dyn HttpClient, url: &str) -> (Duration, SyncReport) {
    let t = Instant::now();
    let (_, r) = v.sync_on(http, url, Link::Metered).unwrap();
    (t.elapsed(), r)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => serve(args[2].parse().unwrap()),
        Some("run") => run(&args),
        _ => {
            eprintln!(
                "usage: sebaya-netem serve ADDR | run --relay ADDR --serve ADDR [--delay-ms 300] [--rate-kbit 50] [--json FILE]"
            );
            std::process::exit(2);
        }
    }
}

fn run(args: &[String]) {
    let relay: SocketAddr = arg(args, "--relay").unwrap().parse().unwrap();
    let serve_at: SocketAddr = arg(args, "--serve").unwrap().parse().unwrap();
    let delay_ms: u64 = arg(args, "--delay-ms").map_or(300, |s| s.parse().unwrap());
    let rate_kbit: f64 = arg(args, "--rate-kbit").map_or(50.0, |s| s.parse().unwrap());
    let json = arg(args, "--json");
    let delay = Duration::from_millis(delay_ms);
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let link = Proxy::start(local, relay, delay);
    let probe = Proxy::start(local, serve_at, delay);

    // What the link actually is: round trips of one byte, then a bulk transfer.
    let mut rtts: Vec<f64> = (0..9)
        .map(|_| fetch(probe.addr, 1).unwrap().as_secs_f64())
        .collect();
    rtts.sort_by(f64::total_cmp);
    let rtt = rtts[4];
    let bulk = 32 * 1024u64;
    let t = fetch(probe.addr, bulk).unwrap().as_secs_f64();
    let rate_bps = bulk as f64 * 8.0 / (t - rtt).max(0.001);
    println!(
        "measured: round trip {:.0} ms (median of 9), rate {:.1} kbit/s ({bulk} B bulk in {t:.1} s)",
        rtt * 1000.0,
        rate_bps / 1000.0
    );

    let started = Instant::now();
    let url = format!("http://{}", link.addr);
    let http = ReqwestClient::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut fac, mut member, g) = group_pair(dir.path());
    fac.sync_with(&http, &url).unwrap();
    member.sync_with(&http, &url).unwrap();
    println!(
        "set up a group of two devices over the link in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 1. A day of group activity over the 2G-like link, in the metered policy's default chunks.
    let sealed = day_of_activity(&mut fac, &g, 1, 200, 300, 5);
    let c = &link.control;
    let (bytes0, conns0) = (
        c.total(),
        c.connections.load(std::sync::atomic::Ordering::SeqCst),
    );
    let (t_push, push) = timed_sync(&mut fac, &http, &url);
    let (t_pull, pull) = timed_sync(&mut member, &http, &url);
    let wire = c.total() - bytes0;
    let conns = c.connections.load(std::sync::atomic::Ordering::SeqCst) - conns0;
    assert!(push.pushed >= sealed);
    assert!(pull.pulled >= sealed);
    assert_eq!(group_notes(&mut member, &g), group_notes(&mut fac, &g));
    let took = (t_push + t_pull).as_secs_f64();
    let trips = push.round_trips + pull.round_trips + conns as u32;
    let nominal_rtt = 2.0 * delay.as_secs_f64();
    let limit = wire as f64 * 8.0 / (rate_kbit * 1000.0) + trips as f64 * nominal_rtt;
    println!(
        "2G-like link: {sealed} envelopes pushed in {:.1} s and pulled in {:.1} s; {wire} B on the wire, {trips} round trips ({conns} connections); limit {limit:.1} s; ratio {:.2}x; retries {}",
        t_push.as_secs_f64(),
        t_pull.as_secs_f64(),
        took / limit,
        push.retries + pull.retries
    );

    // 2. Half a day more in 16 KiB chunks, with the link cut mid-transfer each way; it comes back.
    let small = SyncPolicy {
        metered_chunk_bytes: 16 * 1024,
        ..Default::default()
    };
    fac.set_sync_policy(small).unwrap();
    member.set_sync_policy(small).unwrap();
    let t_write = Instant::now();
    let sealed2 = day_of_activity(&mut fac, &g, 2, 100, 300, 5);
    println!(
        "wrote 100 more changes on the facilitator's phone in {:.1} s",
        t_write.elapsed().as_secs_f64()
    );
    let rec = Recording {
        inner: &http,
        log: Mutex::new(Vec::new()),
    };
    c.cut_after(20_000);
    let (t_cut_push, cut_push) = timed_sync(&mut fac, &rec, &url);
    let lost_push = rec.check_nothing_acked_resent();
    let rec2 = Recording {
        inner: &http,
        log: Mutex::new(Vec::new()),
    };
    // Well inside the first answer page (16 KiB): a cut after most of a page may land after its
    // last byte, and then there is nothing to resume.
    c.cut_after(6_000);
    let (t_cut_pull, cut_pull) = timed_sync(&mut member, &rec2, &url);
    rec2.check_nothing_acked_resent();
    let cuts = c.cuts.load(std::sync::atomic::Ordering::SeqCst);
    assert!(cuts >= 2, "the link was cut twice ({cuts})");
    assert!(
        cut_push.retries >= 1 && cut_pull.retries >= 1,
        "{cut_push:?} {cut_pull:?}"
    );
    assert_eq!(cut_push.resent as usize, lost_push);
    let chunk_envelopes = rec
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.0.len())
        .max()
        .unwrap();
    assert!(lost_push <= chunk_envelopes * cut_push.retries as usize);
    assert!(cut_push.pushed >= sealed2);
    assert!(cut_pull.pulled >= sealed2);
    assert_eq!(group_notes(&mut member, &g), group_notes(&mut fac, &g));
    println!(
        "cut link: {sealed2} envelopes in 16 KiB chunks; push {:.1} s with {} retries re-sending {} envelopes (largest chunk {chunk_envelopes}); pull {:.1} s with {} retries; nothing acknowledged was sent again; both devices hold the same {} notes",
        t_cut_push.as_secs_f64(),
        cut_push.retries,
        cut_push.resent,
        t_cut_pull.as_secs_f64(),
        cut_pull.retries,
        group_notes(&mut fac, &g).len()
    );
    if let Some(path) = json {
        let out = serde_json::json!({
            "measured_rtt_ms": rtt * 1000.0,
            "measured_rate_bps": rate_bps,
            "nominal_rate_kbit": rate_kbit,
            "nominal_rtt_ms": nominal_rtt * 1000.0,
            "envelopes": sealed,
            "wire_bytes": wire,
            "round_trips": trips,
            "completion_s": took,
            "limit_s": limit,
            "ratio": took / limit,
            "cut_push_retries": cut_push.retries,
            "cut_push_resent": cut_push.resent,
            "cut_pull_retries": cut_pull.retries,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
        println!("wrote {path}");
    }
}
