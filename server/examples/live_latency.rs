//! How long a waiting device takes to hear of a push (issue 16, item 2; docs/benchmarks.md, "Live
//! sync"). One relay on loopback, one space with a writer and a reader; the writer pushes one
//! envelope at a random moment, and the time from sending that push to the reader knowing the space
//! changed is measured:
//!
//! - Sebaya: the reader holds `POST /v1/wait` (protocol section 28); the time to its answer;
//! - baseline, in the same run: the same reader polling `POST /v1/sync` once a second (what an app
//!   without live sync does while open); the time until a poll brings the envelope.
//!
//! `cargo run --profile perf -p sebaya-relay --example live_latency [ROUNDS]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The relay tests' device-side helpers (devices, envelopes, a founded space, a signing client);
// the rest of that folder starts the relay binary, which only tests have.
#[path = "../tests/support/client.rs"]
mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use sebaya_proto::SpaceId;
use sebaya_proto::live::{WAIT_PATH, WaitRequest, WaitResponse};
use sebaya_proto::membership::Role;
use sebaya_proto::sync::{self, SpaceVector};
use sebaya_relay::RelayState;

use support::{Client, Founded, device, empty_vector, request, seal};

/// A pause before each push, so it lands at a random moment of the reader's wait or poll cycle.
fn random_pause(max_ms: u64) -> Duration {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap();
    Duration::from_millis(u64::from_le_bytes(b) % max_ms)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn pull(c: &Client, space: SpaceId, held: &SpaceVector) -> (SpaceVector, usize) {
    let _ = space;
    let r = c.sync(&device(2), &request(vec![held.clone()], vec![]));
    (r.spaces.into_iter().next().unwrap(), r.envelopes.len())
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let state = RelayState::open(dir.path()).unwrap();
    let relay = sebaya_relay::spawn_state(state.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let url = relay.url();
    let c = Client::new(&url);
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([1; 16]);
    let mut f = Founded::new(&c, space);
    f.add(&c, &alice, Role::Member, None);
    f.add(&c, &bob, Role::Member, None);
    let mut seq = 0u64;

    // Sebaya: the reader waits; after each answer it pulls (not timed) and waits again.
    let (told, heard) = mpsc::channel::<Instant>();
    let (held, _) = pull(&c, space, &empty_vector(space));
    let reader = {
        let url = url.clone();
        std::thread::spawn(move || {
            let c = Client::new(&url);
            let bob = device(2);
            let mut held = held;
            for _ in 0..rounds {
                let body = sync::encode(&WaitRequest {
                    v: 1,
                    spaces: vec![held.clone()],
                    timeout_ms: 25_000,
                })
                .unwrap();
                let resp = c.post_signed(&bob, WAIT_PATH, body);
                let at = Instant::now();
                let answer: WaitResponse = sync::decode(&resp.bytes().unwrap()).unwrap();
                assert_eq!(answer.spaces().unwrap(), vec![space]);
                told.send(at).unwrap();
                held = pull(&c, space, &held).0;
            }
        })
    };
    let mut live = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        // Only once the reader is waiting again, so that every push finds a wait held open.
        while state.live().waiting() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(random_pause(200));
        seq += 1;
        let sent = Instant::now();
        c.sync(
            &alice,
            &request(
                vec![empty_vector(space)],
                vec![seal(&alice, space, seq, b"ping")],
            ),
        );
        let at = heard.recv_timeout(Duration::from_secs(60)).unwrap();
        live.push(at.duration_since(sent).as_secs_f64() * 1000.0);
    }
    reader.join().unwrap();

    // Baseline: the same reader polls once a second.
    let poll_rounds = rounds.min(20);
    let (seen_tx, seen) = mpsc::channel::<Instant>();
    let (stop_tx, stop) = mpsc::channel::<()>();
    let (mut held, _) = pull(&c, space, &empty_vector(space));
    let poller = {
        let url = url.clone();
        std::thread::spawn(move || {
            let c = Client::new(&url);
            loop {
                let (now_held, got) = pull(&c, space, &held);
                held = now_held;
                if got > 0 {
                    seen_tx.send(Instant::now()).unwrap();
                }
                if stop.recv_timeout(Duration::from_secs(1)).is_ok() {
                    return;
                }
            }
        })
    };
    let mut polled = Vec::with_capacity(poll_rounds);
    for _ in 0..poll_rounds {
        std::thread::sleep(random_pause(1000));
        seq += 1;
        let sent = Instant::now();
        c.sync(
            &alice,
            &request(
                vec![empty_vector(space)],
                vec![seal(&alice, space, seq, b"ping")],
            ),
        );
        let at = seen.recv_timeout(Duration::from_secs(60)).unwrap();
        polled.push(at.duration_since(sent).as_secs_f64() * 1000.0);
    }
    stop_tx.send(()).unwrap();
    poller.join().unwrap();

    live.sort_by(f64::total_cmp);
    polled.sort_by(f64::total_cmp);
    let row = |name: &str, p: f64| {
        let (s, b) = (percentile(&live, p), percentile(&polled, p));
        println!("| {name} | {s:.1} | {b:.1} | {:.3}x |", s / b);
    };
    println!(
        "live: {} rounds, polling: {} rounds (ms from sending the push to the reader knowing)",
        live.len(),
        polled.len()
    );
    println!("| metric | Sebaya | baseline | ratio |");
    println!("|---|---|---|---|");
    row("push to a waiting reader told, p50, ms", 0.5);
    row("push to a waiting reader told, p99, ms", 0.99);
    row("push to a waiting reader told, max, ms", 1.0);
}
