//! How long a device waiting at one relay node takes to hear of a push through another node on
//! the same PostgreSQL database (issue 16, item 2; docs/benchmarks.md, "Live sync across nodes").
//! Two nodes in this process, each with its own runtime, registry and listening connection, on a
//! fresh schema of the database at `SEBAYA_TEST_POSTGRES` (`scripts/pg-cluster.sh` makes one on
//! loopback). One space, a writer and a reader; each round the reader holds `POST /v1/wait` and the
//! writer pushes one envelope through node A; measured is the time from sending that push to the
//! reader's answer:
//!
//! - Sebaya: the reader waits at node B (the news goes through `NOTIFY`);
//! - baseline, in the same run, rounds interleaved: the reader waits at node A (woken in process).
//!
//! `source scripts/pg-cluster.sh; pg_cluster_start; trap pg_cluster_stop EXIT`
//! `cargo run --profile perf -p sebaya-relay --example nodes_latency [ROUNDS]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The relay tests' device-side helpers (devices, envelopes, a founded space, a signing client).
#[path = "../tests/support/client.rs"]
mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use sebaya_proto::SpaceId;
use sebaya_proto::membership::Role;
use sebaya_relay::{Database, PostgresUrl, RelayState};

use support::{Client, Founded, device, empty_vector, request, seal};

/// A pause before each push, so it lands at a random moment of the wait (after its first look).
fn random_pause(min_ms: u64, spread_ms: u64) -> Duration {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap();
    Duration::from_millis(min_ms + u64::from_le_bytes(b) % spread_ms)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A fresh schema of the database at `SEBAYA_TEST_POSTGRES`, as a URL whose search path names it.
fn fresh_schema() -> PostgresUrl {
    let admin = std::env::var("SEBAYA_TEST_POSTGRES")
        .expect("SEBAYA_TEST_POSTGRES: a postgres:// URL (scripts/pg-cluster.sh sets it)");
    let mut id = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).unwrap();
    let name = format!("bench_{}", hex::encode(id));
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .unwrap();
    let sep = if admin.contains('?') { '&' } else { '?' };
    PostgresUrl::parse(&format!("{admin}{sep}options=-csearch_path%3D{name}")).unwrap()
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let database = Database::Postgres(fresh_schema());
    let states = [
        RelayState::open_database(&database).unwrap(),
        RelayState::open_database(&database).unwrap(),
    ];
    let nodes: Vec<_> = states
        .iter()
        .map(|s| sebaya_relay::spawn_state(s.clone(), "127.0.0.1:0".parse().unwrap()).unwrap())
        .collect();
    let urls: Vec<String> = nodes.iter().map(|n| n.url()).collect();
    let clients: Vec<Client> = urls.iter().map(|u| Client::new(u)).collect();
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([1; 16]);
    let mut f = Founded::new(&clients[0], space);
    f.add(&clients[0], &alice, Role::Member, None);
    f.add(&clients[0], &bob, Role::Member, None);
    // Both nodes listen before the first round (each wakes its waits once when it starts to).
    std::thread::sleep(Duration::from_secs(1));

    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds * 2 {
        // Alternate: node B (across), node A (in process).
        let at_node = if round % 2 == 0 { 1 } else { 0 };
        let held = clients[at_node].pulled(&bob, space);
        let (told, heard) = mpsc::channel::<(Vec<SpaceId>, Instant)>();
        let url = urls[at_node].clone();
        let reader = std::thread::spawn(move || {
            let c = Client::new(&url);
            let got = c.wait(&device(2), vec![held], 25_000);
            told.send((got, Instant::now())).unwrap();
        });
        while states[at_node].live().waiting() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(random_pause(20, 80));
        let seq = round as u64 + 1;
        let sent = Instant::now();
        let r = clients[0].sync(
            &alice,
            &request(
                vec![empty_vector(space)],
                vec![seal(&alice, space, seq, b"ping")],
            ),
        );
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        let (got, at) = heard.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(got, vec![space]);
        reader.join().unwrap();
        times[if at_node == 1 { 0 } else { 1 }]
            .push(at.duration_since(sent).as_secs_f64() * 1000.0);
    }
    drop(nodes);

    for t in &mut times {
        t.sort_by(f64::total_cmp);
    }
    let [across, same] = times;
    let row = |name: &str, p: f64| {
        let (s, b) = (percentile(&across, p), percentile(&same, p));
        println!("| {name} | {s:.1} | {b:.1} | {:.2}x |", s / b);
    };
    println!(
        "{} rounds each (ms from sending the push at node A to the waiting reader's answer; \
         Sebaya: the reader at node B; baseline: at node A)",
        across.len()
    );
    println!("| metric | Sebaya | baseline | ratio |");
    println!("|---|---|---|---|");
    row(
        "push at node A to a reader waiting at node B told, p50, ms",
        0.5,
    );
    row(
        "push at node A to a reader waiting at node B told, p99, ms",
        0.99,
    );
    row(
        "push at node A to a reader waiting at node B told, max, ms",
        1.0,
    );
}
