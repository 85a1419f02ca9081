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

use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::membership::{Op, SignedStatement, Statement, StatementId};
use sebaya_proto::request::RequestAuth;
use sebaya_proto::sync::{SyncRequest, SyncResponse};
use sebaya_proto::{DeviceId, Envelope, EpochId, HeaderV1, Kind};
use serde_bytes::ByteBuf;
use std::sync::atomic::{AtomicU64, Ordering};

// The relay tests' helpers (server/tests/support), which an example cannot include (they name the
// relay binary, built only for tests): devices, envelopes, a founded space, a signing client.
mod support {
    #![allow(dead_code)]
    use super::*;
    use reqwest::StatusCode;

    pub fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// A fresh request id per call (unique within this test process).
    pub fn request_id() -> [u8; 16] {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut id = [0x5Au8; 16];
        id[..8].copy_from_slice(&n.to_be_bytes());
        id
    }

    pub struct Device {
        pub key: Ed25519KeyPair,
        pub id: DeviceId,
    }

    pub fn device(n: u8) -> Device {
        let key = Ed25519KeyPair::from_seed_unchecked(&[n; 32]).unwrap();
        let id = DeviceId::from_slice(key.public_key().as_ref()).unwrap();
        Device { key, id }
    }

    pub fn seal(dev: &Device, space: SpaceId, seq: u64, payload: &[u8]) -> Vec<u8> {
        let header = HeaderV1 {
            kind: Kind::Changes,
            space,
            epoch: EpochId([0; 32]),
            author: dev.id,
            seq,
        };
        Envelope::seal_v1(header, &[0; 32], [0; 4], payload, &dev.key)
            .unwrap()
            .into_bytes()
    }

    pub fn request(spaces: Vec<SpaceVector>, envelopes: Vec<Vec<u8>>) -> SyncRequest {
        SyncRequest {
            v: 1,
            spaces,
            envelopes: envelopes.into_iter().map(ByteBuf::from).collect(),
            max_response_bytes: 1 << 20,
            join_requests: Vec::new(),
            join_answers: Vec::new(),
            taken_join_answers: Vec::new(),
            erase: Vec::new(),
            admission: None,
        }
    }

    pub fn empty_vector(space: SpaceId) -> SpaceVector {
        SpaceVector {
            space: space.0.to_vec(),
            vector: vec![],
        }
    }

    /// A space founded by its own admin device (seed 100), which writes a linear log.
    pub struct Founded {
        pub space: SpaceId,
        pub admin: Device,
        next_seq: u64,
        pub head: StatementId,
    }

    impl Founded {
        /// Founds `space` with its genesis, pushed by the admin.
        pub fn new(c: &Client, space: SpaceId) -> Founded {
            let admin = device(100);
            let genesis = Statement::new(
                space,
                vec![],
                admin.id,
                now(),
                Op::Genesis {
                    admin: admin.id,
                    x25519: None,
                },
            )
            .sign(&admin.key)
            .unwrap();
            let mut f = Founded {
                space,
                admin,
                next_seq: 1,
                head: genesis.id(),
            };
            let env = f.carry(&genesis);
            f.push_as_admin(c, env);
            f
        }

        fn carry(&mut self, st: &SignedStatement) -> Vec<u8> {
            let env = st
                .to_envelope(self.space, self.next_seq, &self.admin.key)
                .unwrap()
                .into_bytes();
            self.next_seq += 1;
            self.head = st.id();
            env
        }

        fn push_as_admin(&self, c: &Client, env: Vec<u8>) {
            let r = c.sync(
                &self.admin,
                &request(vec![empty_vector(self.space)], vec![env]),
            );
            assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        }

        /// Adds `who` (of `person`, if any) with `role`, signed and pushed by the admin.
        pub fn add(&mut self, c: &Client, who: &Device, role: Role, person: Option<[u8; 32]>) {
            let st = Statement::new(
                self.space,
                vec![self.head],
                self.admin.id,
                now(),
                Op::Add {
                    device: who.id,
                    role,
                    person,
                    x25519: None,
                },
            )
            .sign(&self.admin.key)
            .unwrap();
            let env = self.carry(&st);
            self.push_as_admin(c, env);
        }
    }

    impl Founded {
        /// Removes `who` (whose envelopes up to `last_seq` keep counting), signed and pushed by the admin.
        pub fn remove(&mut self, c: &Client, who: &Device, last_seq: u64) {
            let st = Statement::new(
                self.space,
                vec![self.head],
                self.admin.id,
                now(),
                Op::Remove {
                    device: who.id,
                    last_seq,
                },
            )
            .sign(&self.admin.key)
            .unwrap();
            let env = self.carry(&st);
            self.push_as_admin(c, env);
        }
    }

    /// A plain HTTP client (reqwest is built without a TLS provider and insists on one, even for http).
    pub fn http() -> reqwest::blocking::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    /// Signs and sends sync requests to the relay at `base`, as a device would.
    pub struct Client {
        pub http: reqwest::blocking::Client,
        pub base: String,
        pub relay_id: Vec<u8>,
    }

    impl Client {
        pub fn new(base: &str) -> Client {
            let http = http();
            let info: serde_json::Value = serde_json::from_slice(
                &http
                    .get(format!("{base}/v1/info"))
                    .send()
                    .unwrap()
                    .bytes()
                    .unwrap(),
            )
            .unwrap();
            let relay_id = hex::decode(info["relay_id"].as_str().unwrap()).unwrap();
            Client {
                http,
                base: base.to_string(),
                relay_id,
            }
        }

        /// Signs `req` as `dev` with request id `rid` and sends it.
        pub fn post(
            &self,
            dev: &Device,
            req: &SyncRequest,
            rid: [u8; 16],
        ) -> reqwest::blocking::Response {
            let body = sync::encode(req).unwrap();
            let auth = RequestAuth::sign(
                &dev.key,
                dev.id,
                &self.relay_id,
                "POST",
                "/v1/sync",
                now(),
                rid,
                &body,
            )
            .unwrap();
            let mut r = self
                .http
                .post(format!("{}/v1/sync", self.base))
                .header("content-type", "application/cbor")
                .body(body);
            for (name, value) in auth.to_headers() {
                r = r.header(name, value);
            }
            r.send().unwrap()
        }

        /// Signs `body` as `dev` for `path` with a fresh request id and posts it.
        pub fn post_signed(
            &self,
            dev: &Device,
            path: &str,
            body: Vec<u8>,
        ) -> reqwest::blocking::Response {
            let auth = RequestAuth::sign(
                &dev.key,
                dev.id,
                &self.relay_id,
                "POST",
                path,
                now(),
                request_id(),
                &body,
            )
            .unwrap();
            let mut r = self
                .http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/cbor")
                .body(body);
            for (name, value) in auth.to_headers() {
                r = r.header(name, value);
            }
            r.send().unwrap()
        }

        pub fn sync(&self, dev: &Device, req: &SyncRequest) -> SyncResponse {
            let resp = self.post(dev, req, request_id());
            assert_eq!(resp.status(), StatusCode::OK);
            sync::decode(&resp.bytes().unwrap()).unwrap()
        }
    }
}

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
