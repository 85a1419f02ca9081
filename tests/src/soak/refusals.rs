//! What a relay on the open internet also gets, next to honest phones: requests it must refuse (a
//! stranger asking for a space, an oversized declared body, garbage signed or not, a wrong content
//! type, a replayed request id, a bad signature, a skewed clock, an unknown path), connections that
//! open and then say nothing (or half a request) for a while, and requests trickled in slowly. Each
//! refusal is checked to be the one `docs/protocol.md` (section 11) promises; a refusal that does
//! not come, or comes as something else, is a failure of the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_core::{HttpClient, HttpRequest, ReqwestClient, SpaceId};
use sebaya_proto::DeviceId;
use sebaya_proto::request::RequestAuth;
use sebaya_proto::sync::{self as wire, MAX_MESSAGE_LEN, SpaceVector, SyncRequest, SyncResponse};

use super::metrics::{Metrics, Outcome, error_code};
use crate::workload::Mulberry32;

/// Recent spaces of the simulated people (journals, groups), for strangers to ask for.
#[derive(Default)]
pub struct LiveSpaces {
    spaces: Mutex<VecDeque<SpaceId>>,
}

impl LiveSpaces {
    /// Remembers `space` (the 64 latest are kept).
    pub fn add(&self, space: SpaceId) {
        let mut s = self.spaces.lock().unwrap_or_else(|p| p.into_inner());
        s.push_back(space);
        if s.len() > 64 {
            s.pop_front();
        }
    }

    fn pick(&self, r: u32) -> Option<SpaceId> {
        let s = self.spaces.lock().unwrap_or_else(|p| p.into_inner());
        (!s.is_empty()).then(|| s[r as usize % s.len()])
    }
}

/// Settings of the odd traffic.
pub struct Odd {
    /// The relay.
    pub addr: SocketAddr,
    /// Refused requests per second.
    pub rate: f64,
    /// Idle connections held at any time.
    pub idle: usize,
    /// How often a connection is abandoned: opened, given half a request or nothing, and never
    /// closed by this side until the run ends (a phone that left the network mid-request; no FIN
    /// ever reaches the relay). `None`: never.
    pub abandon_every: Option<Duration>,
    /// Seed of the choices.
    pub seed: u32,
    /// Where outcomes are counted.
    pub metrics: Arc<Metrics>,
    /// Set when the run is over.
    pub stop: Arc<AtomicBool>,
    /// Spaces to ask for as a stranger.
    pub live_spaces: Arc<LiveSpaces>,
}

/// Starts the three threads: refusals, idle connections, slow requests.
pub fn spawn_all(odd: Odd) -> Result<Vec<JoinHandle<()>>, String> {
    let odd = Arc::new(odd);
    let mut out = Vec::new();
    for (name, f) in [
        ("soak-refusals", refusals as fn(&Odd)),
        ("soak-idle", idle_connections),
        ("soak-slow", slow_requests),
    ] {
        let odd = odd.clone();
        out.push(
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || f(&odd))
                .map_err(|e| format!("thread {name}: {e}"))?,
        );
    }
    Ok(out)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

struct Signer {
    http: ReqwestClient,
    url: String,
    relay_id: Vec<u8>,
    rng: SystemRandom,
}

impl Signer {
    fn new(addr: SocketAddr) -> Signer {
        let http = ReqwestClient::new().expect("an HTTP client");
        let url = format!("http://{addr}");
        let info = http
            .send(HttpRequest {
                method: "GET".into(),
                url: format!("{url}/v1/info"),
                headers: vec![],
                body: vec![],
            })
            .expect("the relay's info");
        let info: serde_json::Value = serde_json::from_slice(&info.body).expect("info JSON");
        let relay_id = hex::decode(info["relay_id"].as_str().expect("relay id")).expect("hex");
        Signer {
            http,
            url,
            relay_id,
            rng: SystemRandom::new(),
        }
    }

    fn stranger(&self) -> Ed25519KeyPair {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&self.rng).expect("a key");
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a key")
    }

    /// Headers of `body` signed by `key` at `time` under `request_id`.
    fn headers(
        &self,
        key: &Ed25519KeyPair,
        body: &[u8],
        time: u64,
        request_id: [u8; 16],
    ) -> Vec<(String, String)> {
        let device = DeviceId::from_slice(key.public_key().as_ref()).expect("device id");
        let auth = RequestAuth::sign(
            key,
            device,
            &self.relay_id,
            "POST",
            "/v1/sync",
            time,
            request_id,
            body,
        )
        .expect("signed");
        auth.to_headers()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn request_id(&self) -> [u8; 16] {
        let mut id = [0u8; 16];
        self.rng.fill(&mut id).expect("random");
        id
    }

    fn post(
        &self,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), String> {
        self.http
            .send(HttpRequest {
                method: "POST".into(),
                url: format!("{}/v1/sync", self.url),
                headers,
                body,
            })
            .map(|r| (r.status, r.body))
    }
}

fn empty_request(spaces: Vec<SpaceVector>) -> SyncRequest {
    SyncRequest {
        v: wire::SYNC_VERSION,
        spaces,
        envelopes: vec![],
        max_response_bytes: 1 << 20,
        join_requests: vec![],
        join_answers: vec![],
        taken_join_answers: vec![],
        erase: vec![],
        erasures: Vec::new(),
        admission: None,
    }
}

const CBOR: (&str, &str) = ("content-type", "application/cbor");

/// One refusal the relay owes, by turn; returns its kind and outcome.
fn refuse_one(s: &Signer, turn: u32, r: &mut Mulberry32, odd: &Odd) -> (&'static str, Outcome) {
    let key = s.stranger();
    let expect = |got: Result<(u16, Vec<u8>), String>, status: u16, code: &str| match got {
        Ok((st, body)) if st == status && error_code(&body) == code => {
            Outcome::Refused(code.to_string())
        }
        Ok((st, body)) => Outcome::Failed(format!(
            "expected {status} {code}, got {st} {}",
            error_code(&body)
        )),
        Err(_) => Outcome::Failed("no answer".into()),
    };
    match turn % 9 {
        0 => {
            let Some(space) = odd.live_spaces.pick(r.next_u32()) else {
                // Nobody has made a space yet: an empty pull, served.
                return ("stranger-early", Outcome::Ok);
            };
            let body = wire::encode(&empty_request(vec![SpaceVector::new(
                space,
                &BTreeMap::new(),
            )]))
            .expect("encode");
            let mut h = s.headers(&key, &body, unix_now(), s.request_id());
            h.push((CBOR.0.into(), CBOR.1.into()));
            let outcome = match s.post(h, body) {
                Ok((200, body)) => match wire::decode::<SyncResponse>(&body) {
                    Ok(resp)
                        if resp.envelopes.is_empty()
                            && resp.refused_spaces.iter().any(|f| f.space == space.0) =>
                    {
                        Outcome::Refused("refused-space".into())
                    }
                    Ok(_) => Outcome::Failed("a stranger was served a space".into()),
                    Err(_) => Outcome::Failed("an unreadable answer".into()),
                },
                Ok((st, body)) => {
                    Outcome::Failed(format!("HTTP {st} {} for a stranger", error_code(&body)))
                }
                Err(_) => Outcome::Failed("no answer".into()),
            };
            ("stranger", outcome)
        }
        1 => {
            let mut body = vec![0u8; 16 + r.int(2048) as usize];
            s.rng.fill(&mut body).expect("random");
            let mut h = s.headers(&key, &body, unix_now(), s.request_id());
            h.push((CBOR.0.into(), CBOR.1.into()));
            ("garbage-signed", expect(s.post(h, body), 400, "malformed"))
        }
        2 => {
            let mut body = vec![0u8; 16 + r.int(2048) as usize];
            s.rng.fill(&mut body).expect("random");
            let h = vec![(CBOR.0.into(), CBOR.1.into())];
            ("unsigned", expect(s.post(h, body), 401, "unsigned"))
        }
        3 => {
            let body = wire::encode(&empty_request(vec![])).expect("encode");
            let mut h = s.headers(&key, &body, unix_now(), s.request_id());
            h.push(("content-type".into(), "text/plain".into()));
            (
                "wrong-type",
                expect(s.post(h, body), 415, "unsupported-media-type"),
            )
        }
        4 => ("oversized", oversized(odd.addr)),
        5 => {
            let body = wire::encode(&empty_request(vec![])).expect("encode");
            let mut h = s.headers(&key, &body, unix_now(), s.request_id());
            h.push((CBOR.0.into(), CBOR.1.into()));
            match s.post(h.clone(), body.clone()) {
                Ok((200, _)) => ("replay", expect(s.post(h, body), 409, "replayed-request")),
                other => ("replay", expect(other, 200, "-")),
            }
        }
        6 => {
            let mut body = wire::encode(&empty_request(vec![])).expect("encode");
            let mut h = s.headers(&key, &body, unix_now(), s.request_id());
            h.push((CBOR.0.into(), CBOR.1.into()));
            body.push(0);
            (
                "bad-signature",
                expect(s.post(h, body), 401, "bad-signature"),
            )
        }
        7 => {
            let body = wire::encode(&empty_request(vec![])).expect("encode");
            let mut h = s.headers(&key, &body, unix_now() - 3600, s.request_id());
            h.push((CBOR.0.into(), CBOR.1.into()));
            ("clock-skew", expect(s.post(h, body), 401, "clock-skew"))
        }
        _ => {
            let got = s
                .http
                .send(HttpRequest {
                    method: "GET".into(),
                    url: format!("{}/v1/nothing-here", s.url),
                    headers: vec![],
                    body: vec![],
                })
                .map(|r| (r.status, r.body));
            ("not-found", expect(got, 404, "not-found"))
        }
    }
}

/// A body declared one byte over the limit: refused before it is read (`too-large`).
fn oversized(addr: SocketAddr) -> Outcome {
    let head = format!(
        "POST /v1/sync HTTP/1.1\r\nHost: soak\r\nContent-Type: application/cbor\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        MAX_MESSAGE_LEN + 1
    );
    let answer = (|| -> std::io::Result<String> {
        let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        c.set_read_timeout(Some(Duration::from_secs(30)))?;
        c.write_all(head.as_bytes())?;
        c.write_all(&[0u8; 4096])?;
        let mut buf = Vec::new();
        // The relay answers and closes; a reset after the answer is fine.
        let _ = c.read_to_end(&mut buf);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    })();
    match answer {
        Ok(a) if a.starts_with("HTTP/1.1 413") && a.contains("too-large") => {
            Outcome::Refused("too-large".into())
        }
        Ok(a) => Outcome::Failed(format!(
            "expected 413 too-large, got {:?}",
            a.lines().next().unwrap_or("")
        )),
        Err(_) => Outcome::Failed("no answer".into()),
    }
}

fn refusals(odd: &Odd) {
    let s = Signer::new(odd.addr);
    let mut r = Mulberry32::new(odd.seed ^ 0x5eba);
    let interval = Duration::from_secs_f64(1.0 / odd.rate.max(0.01));
    let mut turn = 0u32;
    while !odd.stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let (kind, outcome) = refuse_one(&s, turn, &mut r, odd);
        odd.metrics.record(kind, start.elapsed(), outcome);
        turn = turn.wrapping_add(1);
        if let Some(rest) = interval.checked_sub(start.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

/// Holds `idle` connections open, each for 10 to 50 s: half say nothing, half send part of a request
/// line and stop. Replaced as they expire, so the relay always has this many idle sockets.
///
/// Every `abandon_every`, one more connection is abandoned: kept open, unused, until the end. At the
/// end each is counted as `abandoned-closed` (the relay closed it) or `abandoned-open` (it did not).
fn idle_connections(odd: &Odd) {
    let mut r = Mulberry32::new(odd.seed ^ 0x1d1e);
    let mut held: VecDeque<(TcpStream, Instant)> = VecDeque::new();
    let mut abandoned: Vec<TcpStream> = Vec::new();
    let mut next_abandon = odd.abandon_every.map(|d| Instant::now() + d);
    while !odd.stop.load(Ordering::Relaxed) {
        if let (Some(at), Some(every)) = (next_abandon, odd.abandon_every)
            && Instant::now() >= at
        {
            next_abandon = Some(at + every);
            let start = Instant::now();
            match TcpStream::connect_timeout(&odd.addr, Duration::from_secs(10)) {
                Ok(mut c) => {
                    if abandoned.len() % 2 == 0 {
                        let _ = c.write_all(b"POST /v1/sync HTTP/1.1\r\nHost: soak\r\nContent-Le");
                    }
                    odd.metrics
                        .record("abandoned", start.elapsed(), Outcome::Ok);
                    abandoned.push(c);
                }
                Err(_) => odd.metrics.record(
                    "abandoned",
                    start.elapsed(),
                    Outcome::Failed("no connection".into()),
                ),
            }
        }
        held.retain(|(_, until)| Instant::now() < *until);
        while held.len() < odd.idle {
            let start = Instant::now();
            match TcpStream::connect_timeout(&odd.addr, Duration::from_secs(10)) {
                Ok(mut c) => {
                    if r.int(2) == 0 {
                        let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHo");
                    }
                    odd.metrics.record("idle", start.elapsed(), Outcome::Ok);
                    let life = Duration::from_secs(10 + r.int(41) as u64);
                    held.push_back((c, Instant::now() + life));
                }
                Err(_) => {
                    odd.metrics.record(
                        "idle",
                        start.elapsed(),
                        Outcome::Failed("no connection".into()),
                    );
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    for mut c in abandoned {
        let mut buf = [0u8; 64];
        let _ = c.set_read_timeout(Some(Duration::from_millis(50)));
        // End of stream or a reset: the relay let it go. No data before the timeout: still open.
        let kind = match c.read(&mut buf) {
            Ok(_) => "abandoned-closed",
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                "abandoned-open"
            }
            Err(_) => "abandoned-closed",
        };
        odd.metrics.record(kind, Duration::ZERO, Outcome::Ok);
    }
}

/// Every 2 s, a `GET /v1/info` sent a byte at a time over about 2 s; the answer must be a 200.
fn slow_requests(odd: &Odd) {
    let req = b"GET /v1/info HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n";
    while !odd.stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let answer = (|| -> std::io::Result<String> {
            let mut c = TcpStream::connect_timeout(&odd.addr, Duration::from_secs(10))?;
            c.set_read_timeout(Some(Duration::from_secs(30)))?;
            c.set_nodelay(true)?;
            for b in req {
                c.write_all(&[*b])?;
                std::thread::sleep(Duration::from_millis(35));
            }
            let mut buf = Vec::new();
            c.read_to_end(&mut buf)?;
            Ok(String::from_utf8_lossy(&buf).into_owned())
        })();
        let outcome = match answer {
            Ok(a) if a.starts_with("HTTP/1.1 200") && a.contains("relay_id") => Outcome::Ok,
            Ok(a) => Outcome::Failed(format!(
                "slow request answered {:?}",
                a.lines().next().unwrap_or("")
            )),
            Err(_) => Outcome::Failed("slow request: no answer".into()),
        };
        odd.metrics.record("slow", start.elapsed(), outcome);
        std::thread::sleep(Duration::from_secs(2));
    }
}
