//! The relay over real HTTP on loopback: each test starts its own relay on 127.0.0.1, port 0, with a
//! fresh data directory, and talks to it with a blocking reqwest client exactly as a device would.
//!
//! Every space needs a genesis before the relay accepts anything else in it: [`found`] makes one with
//! a separate admin device and adds the test's devices as members. Membership rules themselves are
//! tested at the end of this file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::membership::{Op, Role, SignedStatement, Statement, StatementId};
use sebaya_proto::request::{RequestAuth, TIME_WINDOW_SECS};
use sebaya_proto::sync::{
    self, AuthorSeq, MAX_MESSAGE_LEN, RefusedSpace, SpaceVector, SyncRequest, SyncResponse,
};
use sebaya_proto::{DeviceId, Envelope, EpochId, HeaderV1, Kind, SpaceId};
use sebaya_relay::{RelayConfig, RelayHandle};
use serde_bytes::ByteBuf;

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn start(dir: &Path) -> RelayHandle {
    support::spawn_relay(dir, loopback())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fresh request id per call (unique within this test process).
fn request_id() -> [u8; 16] {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut id = [0xA5u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id
}

struct Device {
    key: Ed25519KeyPair,
    id: DeviceId,
}

fn device(n: u8) -> Device {
    let key = Ed25519KeyPair::from_seed_unchecked(&[n; 32]).unwrap();
    let id = DeviceId::from_slice(key.public_key().as_ref()).unwrap();
    Device { key, id }
}

fn seal(dev: &Device, space: SpaceId, seq: u64, payload: &[u8]) -> Vec<u8> {
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

fn request(
    spaces: Vec<SpaceVector>,
    envelopes: Vec<Vec<u8>>,
    max_response_bytes: u64,
) -> SyncRequest {
    SyncRequest {
        v: 1,
        spaces,
        envelopes: envelopes.into_iter().map(ByteBuf::from).collect(),
        max_response_bytes,
        join_requests: Vec::new(),
        join_answers: Vec::new(),
        taken_join_answers: Vec::new(),
        erase: Vec::new(),
        erasures: Vec::new(),
        admission: None,
    }
}

fn empty_vector(space: SpaceId) -> SpaceVector {
    SpaceVector {
        space: space.0.to_vec(),
        vector: vec![],
    }
}

/// A vector as the relay sends it (authors in ascending order).
fn vector_of(space: SpaceId, entries: &[(&Device, u64)]) -> SpaceVector {
    let mut vector: Vec<AuthorSeq> = entries
        .iter()
        .map(|(d, s)| AuthorSeq {
            author: d.id.0.to_vec(),
            seq: *s,
        })
        .collect();
    vector.sort_by(|a, b| a.author.cmp(&b.author));
    SpaceVector {
        space: space.0.to_vec(),
        vector,
    }
}

/// A statement by `by` following `parents`.
fn statement(by: &Device, space: SpaceId, parents: &[StatementId], op: Op) -> SignedStatement {
    Statement::new(space, parents.to_vec(), by.id, now(), op)
        .sign(&by.key)
        .unwrap()
}

/// The statement in a membership envelope of its author, at `seq`.
fn carry(by: &Device, st: &SignedStatement, seq: u64) -> Vec<u8> {
    st.to_envelope(st.statement().space, seq, &by.key)
        .unwrap()
        .into_bytes()
}

fn genesis_op(admin: &Device) -> Op {
    Op::Genesis {
        admin: admin.id,
        x25519: None,
    }
}

fn add_op(who: &Device, role: Role) -> Op {
    Op::Add {
        device: who.id,
        role,
        person: None,
        x25519: None,
    }
}

fn remove_op(who: &Device, last_seq: u64) -> Op {
    Op::Remove {
        device: who.id,
        last_seq,
    }
}

/// A space founded on the relay by its own admin device, which writes a linear log.
struct Founded {
    space: SpaceId,
    admin: Device,
    /// The admin's next sequence number in the space.
    next_seq: u64,
    /// The last statement: the parent of the next one.
    head: StatementId,
    /// Every membership envelope made so far, in order.
    envs: Vec<Vec<u8>>,
}

impl Founded {
    /// Signs `op` after the head and carries it in the admin's next envelope (not pushed).
    fn sign(&mut self, op: Op) -> Vec<u8> {
        let st = statement(&self.admin, self.space, &[self.head], op);
        let env = carry(&self.admin, &st, self.next_seq);
        self.next_seq += 1;
        self.head = st.id();
        self.envs.push(env.clone());
        env
    }

    /// Signs `op` and pushes it as the admin; it must be accepted.
    fn push(&mut self, c: &Client, op: Op) -> Vec<u8> {
        let env = self.sign(op);
        let r = c.sync(
            &self.admin,
            &request(vec![self.vector(&[])], vec![env.clone()], 0),
        );
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        env
    }

    /// The vector of a device that holds the membership log plus `entries`.
    fn vector(&self, entries: &[(&Device, u64)]) -> SpaceVector {
        let mut all = vec![(&self.admin, self.next_seq - 1)];
        all.extend_from_slice(entries);
        vector_of(self.space, &all)
    }

    /// The membership envelopes followed by `more`: what a device pulling from scratch receives.
    fn then(&self, more: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut all = self.envs.clone();
        all.extend_from_slice(more);
        all
    }
}

/// Founds `space` with a fresh admin device (seed 100): its genesis and an add of each member, pushed
/// in one request.
fn found(c: &Client, space: SpaceId, members: &[&Device]) -> Founded {
    let admin = device(100);
    let genesis = statement(&admin, space, &[], genesis_op(&admin));
    let mut f = Founded {
        space,
        next_seq: 2,
        head: genesis.id(),
        envs: vec![carry(&admin, &genesis, 1)],
        admin,
    };
    for m in members {
        f.sign(add_op(m, Role::Member));
    }
    let r = c.sync(
        &f.admin,
        &request(vec![empty_vector(space)], f.envs.clone(), 0),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(r.refused_spaces.is_empty());
    assert_eq!(r.spaces, vec![f.vector(&[])]);
    f
}

struct Client {
    http: reqwest::blocking::Client,
    base: String,
    relay_id: Vec<u8>,
}

impl Client {
    fn new(relay: &RelayHandle) -> Client {
        // reqwest is built without a TLS provider (ring is the project's one crypto library); it insists
        // on one being installed even for plain http.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let base = relay.url();
        let info = json(http.get(format!("{base}/v1/info")).send().unwrap());
        let relay_id = hex::decode(info["relay_id"].as_str().unwrap()).unwrap();
        assert_eq!(relay_id, relay.relay_id().0);
        Client {
            http,
            base,
            relay_id,
        }
    }

    /// Signs `body` (as if at `timestamp` with `rid`) and sends `sent` (normally the same bytes).
    fn post_signed(
        &self,
        dev: &Device,
        body: &[u8],
        sent: Vec<u8>,
        timestamp: u64,
        rid: [u8; 16],
    ) -> reqwest::blocking::Response {
        let auth = RequestAuth::sign(
            &dev.key,
            dev.id,
            &self.relay_id,
            "POST",
            "/v1/sync",
            timestamp,
            rid,
            body,
        )
        .unwrap();
        let mut req = self
            .http
            .post(format!("{}/v1/sync", self.base))
            .header("content-type", "application/cbor")
            .body(sent);
        for (name, value) in auth.to_headers() {
            req = req.header(name, value);
        }
        req.send().unwrap()
    }

    fn post(&self, dev: &Device, body: Vec<u8>) -> reqwest::blocking::Response {
        self.post_signed(dev, &body.clone(), body, now(), request_id())
    }

    fn sync(&self, dev: &Device, req: &SyncRequest) -> SyncResponse {
        let resp = self.post(dev, sync::encode(req).unwrap());
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/cbor");
        sync::decode(&resp.bytes().unwrap()).unwrap()
    }

    /// Pulls `space` from scratch, following `more`, and returns every envelope received in order.
    fn pull_all(&self, dev: &Device, space: SpaceId, page: u64) -> Vec<Vec<u8>> {
        let mut vector = std::collections::BTreeMap::new();
        let mut got = Vec::new();
        for _ in 0..1000 {
            let r = self.sync(
                dev,
                &request(vec![SpaceVector::new(space, &vector)], vec![], page),
            );
            for e in &r.envelopes {
                let h = Envelope::parse(e).unwrap().header().unwrap();
                let top = vector.entry(h.author).or_insert(0);
                if h.seq == *top + 1 {
                    *top = h.seq;
                }
                got.push(e.to_vec());
            }
            if !r.more {
                return got;
            }
        }
        panic!("paging did not end");
    }
}

fn json(resp: reqwest::blocking::Response) -> serde_json::Value {
    serde_json::from_slice(&resp.bytes().unwrap()).unwrap()
}

fn error_of(resp: reqwest::blocking::Response) -> (StatusCode, serde_json::Value) {
    let status = resp.status();
    let body = json(resp);
    (status, body)
}

fn assert_unauthorized(resp: reqwest::blocking::Response, code: &str) {
    let (status, body) = error_of(resp);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], code);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    let relay_time = body["relay_time"]
        .as_u64()
        .expect("every 401 carries relay_time");
    assert!(relay_time.abs_diff(now()) < 60);
}

#[test]
fn info_health_and_readiness() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    assert_eq!(relay.addr().ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_ne!(relay.addr().port(), 0, "port 0 resolves to the real port");
    assert_eq!(
        relay.url(),
        format!("http://127.0.0.1:{}", relay.addr().port())
    );
    let c = Client::new(&relay);
    let info = json(c.http.get(format!("{}/v1/info", c.base)).send().unwrap());
    assert_eq!(info["relay_id"].as_str().unwrap().len(), 32);
    assert_eq!(info["protocol"], 1);
    assert!(info["time"].as_u64().unwrap().abs_diff(now()) < 60);
    let health = c.http.get(format!("{}/healthz", c.base)).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().unwrap(), "ok");
    let ready = c.http.get(format!("{}/readyz", c.base)).send().unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let missing = c.http.get(format!("{}/v1/nothing", c.base)).send().unwrap();
    assert_eq!(
        error_of(missing),
        (
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "not-found", "message": "no such endpoint"})
        )
    );
    relay.shutdown();
}

#[test]
fn push_then_pull_between_two_devices() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice, &bob]);
    let envs: Vec<Vec<u8>> = (1..=3)
        .map(|s| seal(&alice, space, s, format!("change {s}").as_bytes()))
        .collect();

    let r = c.sync(&alice, &request(vec![f.vector(&[])], envs.clone(), 1 << 20));
    assert!(r.rejected.is_empty());
    assert!(
        r.envelopes.is_empty(),
        "a device never gets back what it just pushed"
    );
    assert!(!r.more);
    assert_eq!(
        r.spaces,
        vec![f.vector(&[(&alice, 3)])],
        "the relay's vector acknowledges the push"
    );

    let r = c.sync(&bob, &request(vec![empty_vector(space)], vec![], 1 << 20));
    assert_eq!(
        r.envelopes.iter().map(|e| e.to_vec()).collect::<Vec<_>>(),
        f.then(&envs),
        "the membership log, then Alice's changes"
    );
    assert!(!r.more);
    assert_eq!(r.spaces, vec![f.vector(&[(&alice, 3)])]);

    // Bob answers; Alice, who holds her own three, gets only Bob's.
    let reply = seal(&bob, space, 1, b"reply");
    let r = c.sync(
        &bob,
        &request(vec![f.vector(&[(&alice, 3)])], vec![reply.clone()], 1 << 20),
    );
    assert!(r.envelopes.is_empty() && r.rejected.is_empty());
    let r = c.sync(
        &alice,
        &request(vec![f.vector(&[(&alice, 3)])], vec![], 1 << 20),
    );
    assert_eq!(r.envelopes, vec![ByteBuf::from(reply)]);

    // Another space stays separate: the relay knows nothing of it.
    let other = SpaceId([8; 16]);
    let r = c.sync(&bob, &request(vec![empty_vector(other)], vec![], 1 << 20));
    assert!(r.envelopes.is_empty());
    assert!(r.spaces.is_empty());
    assert_eq!(
        r.refused_spaces,
        vec![RefusedSpace::new(other, "unknown-space")]
    );
}

#[test]
fn duplicate_push_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice, &bob]);
    let e1 = seal(&alice, space, 1, b"one");
    c.sync(
        &alice,
        &request(vec![f.vector(&[])], vec![e1.clone()], 1 << 20),
    );
    // Again, and twice in one request (an interrupted sync resent).
    let r = c.sync(
        &alice,
        &request(vec![f.vector(&[])], vec![e1.clone(), e1.clone()], 1 << 20),
    );
    assert!(r.rejected.is_empty());
    assert!(r.envelopes.is_empty());
    assert_eq!(r.spaces, vec![f.vector(&[(&alice, 1)])]);
    assert_eq!(c.pull_all(&bob, space, 1 << 20), f.then(&[e1]));
}

#[test]
fn conflicting_sequence_number_is_rejected_and_the_first_stays() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice, &bob]);
    let first = seal(&alice, space, 1, b"first");
    let second = seal(&alice, space, 1, b"second, same seq");
    let e2 = seal(&alice, space, 2, b"two");
    c.sync(
        &alice,
        &request(vec![f.vector(&[])], vec![first.clone()], 1 << 20),
    );
    let r = c.sync(
        &alice,
        &request(vec![f.vector(&[])], vec![second, e2.clone()], 1 << 20),
    );
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(
        (r.rejected[0].index, r.rejected[0].reason.as_str()),
        (0, "conflict")
    );
    assert_eq!(
        r.spaces,
        vec![f.vector(&[(&alice, 2)])],
        "the rest of the request still counts"
    );
    assert_eq!(c.pull_all(&bob, space, 1 << 20), f.then(&[first, e2]));
}

#[test]
fn flipped_bit_is_rejected_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice, &bob]);
    let good = seal(&alice, space, 1, b"payload");
    // Flip one bit in every position class: frame, header, nonce, ciphertext, signature.
    for pos in [
        0usize,
        4,
        5,
        10,
        23,
        30,
        70,
        95,
        100,
        110,
        good.len() - 70,
        good.len() - 1,
    ] {
        let mut bad = good.clone();
        bad[pos] ^= 0x01;
        let r = c.sync(
            &alice,
            &request(vec![empty_vector(space)], vec![bad], 1 << 20),
        );
        assert_eq!(r.rejected.len(), 1, "bit at {pos}");
        let reason = r.rejected[0].reason.as_str();
        assert!(
            [
                "bad-signature",
                "malformed",
                "unsupported-version",
                "not-requested-space",
                // A flipped author names a stranger, refused before its signature is checked.
                "not-a-member"
            ]
            .contains(&reason),
            "bit at {pos}: {reason}"
        );
        assert_eq!(
            r.spaces,
            vec![f.vector(&[])],
            "bit at {pos}: nothing stored"
        );
    }
    let mut bad_sig = good.clone();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 0x80;
    let r = c.sync(
        &alice,
        &request(vec![empty_vector(space)], vec![bad_sig], 1 << 20),
    );
    assert_eq!(r.rejected[0].reason, "bad-signature");
    let r = c.sync(
        &alice,
        &request(
            vec![empty_vector(space)],
            vec![good[..good.len() - 1].to_vec(), b"junk".to_vec()],
            1 << 20,
        ),
    );
    assert_eq!(
        r.rejected
            .iter()
            .map(|x| (x.index, x.reason.as_str()))
            .collect::<Vec<_>>(),
        vec![(0, "malformed"), (1, "malformed")]
    );
    assert_eq!(c.pull_all(&bob, space, 1 << 20), f.then(&[]));
}

#[test]
fn envelope_rules_version_space_and_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let alice = device(1);
    let (space, other) = (SpaceId([7; 16]), SpaceId([9; 16]));
    let f = found(&c, space, &[&alice]);
    let g = found(&c, other, &[&alice]);
    // A well-framed envelope of a future format version (3: the relay verifies 1 and 2): frame
    // header + opaque body.
    let mut v3 = Vec::new();
    v3.extend_from_slice(b"SBYE");
    v3.push(3);
    v3.push(1);
    v3.extend_from_slice(&space.0);
    v3.extend_from_slice(&10u32.to_be_bytes());
    v3.extend_from_slice(&[0u8; 10]);
    assert!(Envelope::parse(&v3).is_ok());
    let elsewhere = seal(&alice, other, 1, b"not asked for");
    let ok = seal(&alice, space, 1, b"fine");
    let r = c.sync(
        &alice,
        &request(vec![f.vector(&[])], vec![v3, elsewhere, ok], 1 << 20),
    );
    assert_eq!(
        r.rejected
            .iter()
            .map(|x| (x.index, x.reason.as_str()))
            .collect::<Vec<_>>(),
        vec![(0, "unsupported-version"), (1, "not-requested-space")]
    );
    assert_eq!(r.spaces, vec![f.vector(&[(&alice, 1)])]);
    let r = c.sync(&alice, &request(vec![g.vector(&[])], vec![], 1 << 20));
    assert_eq!(
        r.spaces,
        vec![g.vector(&[])],
        "the refused envelope was not stored"
    );
}

/// Envelope format version 2 (protocol 3.1, 5.2): the relay verifies it like v1, stores it and
/// serves it to members; it never opens it.
#[test]
fn a_version_2_envelope_is_verified_stored_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice, &bob]);
    let header = HeaderV1 {
        kind: Kind::Changes,
        space,
        epoch: EpochId([0; 32]),
        author: alice.id,
        seq: 1,
    };
    let v2 = Envelope::seal_v2(header, &[0; 32], [5; 24], b"dua", &alice.key)
        .unwrap()
        .into_bytes();
    let mut forged = v2.clone();
    let at = forged.len() - 70;
    forged[at] ^= 1;
    let r = c.sync(&alice, &request(vec![f.vector(&[])], vec![forged], 1 << 20));
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].reason, "bad-signature");
    let r = c.sync(
        &alice,
        &request(vec![f.vector(&[])], vec![v2.clone()], 1 << 20),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(c.pull_all(&bob, space, 1 << 20), f.then(&[v2]));
}

#[test]
fn unsigned_request_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let body = sync::encode(&request(vec![empty_vector(SpaceId([1; 16]))], vec![], 0)).unwrap();
    let resp = c
        .http
        .post(format!("{}/v1/sync", c.base))
        .header("content-type", "application/cbor")
        .body(body.clone())
        .send()
        .unwrap();
    assert_unauthorized(resp, "unsigned");
    // Headers present but unreadable.
    let resp = c
        .http
        .post(format!("{}/v1/sync", c.base))
        .header("sebaya-device", "zz")
        .header("sebaya-time", "soon")
        .header("sebaya-request-id", "00")
        .header("sebaya-signature", "00")
        .body(body)
        .send()
        .unwrap();
    assert_unauthorized(resp, "unsigned");
}

#[test]
fn tampered_body_is_refused_and_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let alice = device(1);
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice]);
    let signed = sync::encode(&request(
        vec![empty_vector(space)],
        vec![seal(&alice, space, 1, b"a")],
        0,
    ))
    .unwrap();
    let sent = sync::encode(&request(
        vec![empty_vector(space)],
        vec![seal(&alice, space, 1, b"b")],
        0,
    ))
    .unwrap();
    let resp = c.post_signed(&alice, &signed, sent, now(), request_id());
    assert_unauthorized(resp, "bad-signature");
    // Signed by one device, claimed by another.
    let bob = device(2);
    let auth = RequestAuth::sign(
        &alice.key,
        bob.id,
        &c.relay_id,
        "POST",
        "/v1/sync",
        now(),
        request_id(),
        &signed,
    )
    .unwrap();
    let mut req = c
        .http
        .post(format!("{}/v1/sync", c.base))
        .body(signed.clone());
    for (n, v) in auth.to_headers() {
        req = req.header(n, v);
    }
    assert_unauthorized(req.send().unwrap(), "bad-signature");
    // Signed for another relay.
    let mut other = c.relay_id.clone();
    other[0] ^= 1;
    let auth = RequestAuth::sign(
        &alice.key,
        alice.id,
        &other,
        "POST",
        "/v1/sync",
        now(),
        request_id(),
        &signed,
    )
    .unwrap();
    let mut req = c.http.post(format!("{}/v1/sync", c.base)).body(signed);
    for (n, v) in auth.to_headers() {
        req = req.header(n, v);
    }
    assert_unauthorized(req.send().unwrap(), "bad-signature");
    let r = c.sync(&alice, &request(vec![f.vector(&[])], vec![], 0));
    assert_eq!(r.spaces, vec![f.vector(&[])]);
}

#[test]
fn clock_skew_is_refused_with_the_relay_time() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let alice = device(1);
    let space = SpaceId([7; 16]);
    let body = sync::encode(&request(
        vec![empty_vector(space)],
        vec![seal(&alice, space, 1, b"a")],
        0,
    ))
    .unwrap();
    for ts in [now() - TIME_WINDOW_SECS - 60, now() + TIME_WINDOW_SECS + 60] {
        let resp = c.post_signed(&alice, &body, body.clone(), ts, request_id());
        assert_unauthorized(resp, "clock-skew");
    }
    // Within the window (a phone a couple of minutes off) is fine.
    let resp = c.post_signed(&alice, &body, body.clone(), now() - 120, request_id());
    assert_eq!(resp.status(), StatusCode::OK);
}

#[test]
fn replayed_request_id_is_refused_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let alice = device(1);
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice]);
    let rid = request_id();
    let ts = now();
    let body = sync::encode(&request(
        vec![empty_vector(space)],
        vec![seal(&alice, space, 1, b"a")],
        0,
    ))
    .unwrap();
    assert_eq!(
        c.post_signed(&alice, &body, body.clone(), ts, rid).status(),
        StatusCode::OK
    );
    let (status, err) = error_of(c.post_signed(&alice, &body, body.clone(), ts, rid));
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::CONFLICT, Some("replayed-request"))
    );
    // The same id with a new, validly signed body is refused too and stores nothing.
    let body2 = sync::encode(&request(
        vec![empty_vector(space)],
        vec![seal(&alice, space, 2, b"b")],
        0,
    ))
    .unwrap();
    let (status, _) = error_of(c.post_signed(&alice, &body2, body2.clone(), ts, rid));
    assert_eq!(status, StatusCode::CONFLICT);
    let r = c.sync(&alice, &request(vec![f.vector(&[])], vec![], 0));
    assert_eq!(r.spaces, vec![f.vector(&[(&alice, 1)])]);
}

/// Sends raw HTTP/1.1 and returns the whole answer as text (the server closes the connection).
fn raw_http(addr: SocketAddr, head: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&out).contains("\"message\"") && out.ends_with(b"}") {
                    break;
                }
            }
            Err(e) => panic!("reading the answer: {e}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn oversized_body_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    // Announces 16 MiB + 1 and sends none of it: the relay must answer at once, not wait for the body.
    let answer = raw_http(
        relay.addr(),
        &format!(
            "POST /v1/sync HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/cbor\r\ncontent-length: {}\r\n\r\n",
            MAX_MESSAGE_LEN + 1
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"error\":\"too-large\""), "{answer}");
}

#[test]
fn oversized_streamed_body_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    // Chunked (no length announced): the relay reads up to the limit, then refuses.
    let reader = std::io::repeat(0u8).take(MAX_MESSAGE_LEN as u64 + 1);
    let resp = c
        .http
        .post(format!("{}/v1/sync", c.base))
        .header("content-type", "application/cbor")
        .body(reqwest::blocking::Body::new(reader))
        .send();
    match resp {
        Ok(resp) => {
            let (status, body) = error_of(resp);
            assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::PAYLOAD_TOO_LARGE, Some("too-large"))
            );
        }
        // The relay may close the connection while the client is still writing; then the client sees
        // the cut instead of the answer. Either way nothing was accepted.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    // With a length: refused from the header, while the client is still sending.
    let resp = c
        .http
        .post(format!("{}/v1/sync", c.base))
        .header("content-type", "application/cbor")
        .body(vec![0u8; MAX_MESSAGE_LEN + 1])
        .send();
    match resp {
        Ok(resp) => {
            let (status, body) = error_of(resp);
            assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::PAYLOAD_TOO_LARGE, Some("too-large"))
            );
        }
        // Usually the client is cut off mid-write (broken pipe): HTTP/1.1 has no clean way to refuse a
        // body the client insists on sending. Devices check the limit before sending.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    let ready = c.http.get(format!("{}/readyz", c.base)).send().unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

#[test]
fn malformed_body_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let alice = device(1);
    let bad_version = sync::encode(&SyncRequest {
        v: 2,
        ..request(vec![], vec![], 0)
    })
    .unwrap();
    let bad_space = sync::encode(&request(
        vec![SpaceVector {
            space: vec![1, 2, 3],
            vector: vec![],
        }],
        vec![],
        0,
    ))
    .unwrap();
    let twice = sync::encode(&request(
        vec![
            empty_vector(SpaceId([1; 16])),
            empty_vector(SpaceId([1; 16])),
        ],
        vec![],
        0,
    ))
    .unwrap();
    for body in [
        b"\xff\x00 not cbor".to_vec(),
        Vec::new(),
        bad_version,
        bad_space,
        twice,
    ] {
        let (status, err) = error_of(c.post(&alice, body));
        assert_eq!(
            (status, err["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed"))
        );
        assert!(err.get("relay_time").is_none());
    }
    let resp = c
        .http
        .post(format!("{}/v1/sync", c.base))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(error_of(resp).1["error"], "unsupported-media-type");
}

#[test]
fn paging_with_more_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob, carol) = (device(1), device(2), device(3));
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice, &bob, &carol]);
    let payload = vec![0x42u8; 1000];
    // Interleave two authors so arrival order matters (Alice carries Bob's too).
    let mut all = Vec::new();
    for s in 1..=6 {
        all.push(seal(&alice, space, s, &payload));
        all.push(seal(&bob, space, s, &payload));
    }
    let r = c.sync(&alice, &request(vec![f.vector(&[])], all.clone(), 0));
    assert!(r.rejected.is_empty());
    let one = all[0].len() as u64;

    // Pages of three envelopes; Carol, who holds the membership log, resumes with her updated vector
    // each time.
    let mut vector = std::collections::BTreeMap::from([(f.admin.id, f.next_seq - 1)]);
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let r = c.sync(
            &carol,
            &request(vec![SpaceVector::new(space, &vector)], vec![], 3 * one + 10),
        );
        pages += 1;
        assert!(r.envelopes.len() <= 3);
        for e in &r.envelopes {
            let h = Envelope::parse(e).unwrap().header().unwrap();
            vector.insert(h.author, h.seq);
            got.push(e.to_vec());
        }
        if !r.more {
            break;
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 4);
    assert_eq!(got, all, "every envelope once, in arrival order");

    // A page never comes back empty while something is pending, even when the budget is tiny.
    let r = c.sync(&carol, &request(vec![empty_vector(space)], vec![], 1));
    assert_eq!(r.envelopes.len(), 1);
    assert!(r.more);
    assert_eq!(c.pull_all(&carol, space, 0), f.then(&all));
}

#[test]
fn relay_id_and_envelopes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([7; 16]);
    let envs: Vec<Vec<u8>> = (1..=2).map(|s| seal(&alice, space, s, b"kept")).collect();
    let first = start(dir.path());
    let id = first.relay_id();
    let c = Client::new(&first);
    let f = found(&c, space, &[&alice, &bob]);
    c.sync(&alice, &request(vec![f.vector(&[])], envs.clone(), 0));
    first.shutdown();

    let second = start(dir.path());
    assert_eq!(second.relay_id(), id);
    let c = Client::new(&second);
    assert_eq!(c.pull_all(&bob, space, 1 << 20), f.then(&envs));
    if !support::on_postgres() {
        assert!(dir.path().join("relay.sqlite3").exists());
    }
    drop(second);
}

#[test]
fn binding_a_busy_address_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let other = tempfile::tempdir().unwrap();
    let err = sebaya_relay::spawn(RelayConfig {
        data_dir: other.path().to_path_buf(),
        bind: relay.addr(),
    })
    .unwrap_err();
    assert!(
        matches!(err, sebaya_relay::RelayError::Bind { .. }),
        "{err:?}"
    );
    relay.shutdown();
}

// ------------------------------------------------------------------------------------------
// Membership: who may push and pull.

fn reasons(r: &SyncResponse) -> Vec<(u32, &str)> {
    r.rejected
        .iter()
        .map(|x| (x.index, x.reason.as_str()))
        .collect()
}

/// `dev`'s pull of `space` is refused for `reason`: no vector, no envelope.
fn assert_pull_refused(c: &Client, dev: &Device, space: SpaceId, reason: &str) {
    let r = c.sync(dev, &request(vec![empty_vector(space)], vec![], 1 << 20));
    assert!(r.spaces.is_empty(), "{:?}", r.spaces);
    assert!(r.envelopes.is_empty());
    assert!(!r.more);
    assert_eq!(r.refused_spaces, vec![RefusedSpace::new(space, reason)]);
}

#[test]
fn a_genesis_founds_the_space_for_its_admin_only() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([7; 16]);
    assert_pull_refused(&c, &alice, space, "unknown-space");

    // Pushed and pulled in one request: the push is answered first, so Alice may already read.
    let g = statement(&alice, space, &[], genesis_op(&alice));
    let genesis = carry(&alice, &g, 1);
    let change = seal(&alice, space, 2, b"first note");
    let r = c.sync(
        &alice,
        &request(
            vec![empty_vector(space)],
            vec![genesis.clone(), change.clone()],
            1 << 20,
        ),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(r.refused_spaces.is_empty());
    assert_eq!(r.spaces, vec![vector_of(space, &[(&alice, 2)])]);

    // Anyone else is refused, with nothing of the space in the answer, even next to a space it may read.
    assert_pull_refused(&c, &bob, space, "not-a-member");
    let other = SpaceId([8; 16]);
    let f = found(&c, other, &[&bob]);
    let r = c.sync(
        &bob,
        &request(
            vec![empty_vector(space), empty_vector(other)],
            vec![],
            1 << 20,
        ),
    );
    assert_eq!(r.spaces, vec![f.vector(&[])]);
    assert_eq!(r.envelopes.len(), f.envs.len());
    assert_eq!(
        r.refused_spaces,
        vec![RefusedSpace::new(space, "not-a-member")]
    );
    assert_eq!(c.pull_all(&alice, space, 1 << 20), vec![genesis, change]);
}

#[test]
fn nothing_but_a_genesis_enters_an_unknown_space() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let alice = device(1);
    let space = SpaceId([7; 16]);
    let g = statement(&alice, space, &[], genesis_op(&alice));
    let add = statement(&alice, space, &[g.id()], add_op(&device(2), Role::Member));
    let r = c.sync(
        &alice,
        &request(
            vec![empty_vector(space)],
            vec![seal(&alice, space, 1, b"early"), carry(&alice, &add, 2)],
            1 << 20,
        ),
    );
    assert_eq!(
        reasons(&r),
        vec![(0, "unknown-space"), (1, "unknown-space")]
    );
    assert_eq!(
        r.refused_spaces,
        vec![RefusedSpace::new(space, "unknown-space")]
    );
}

#[test]
fn a_non_members_changes_are_refused_and_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, mallory) = (device(1), device(6));
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice]);
    let r = c.sync(
        &mallory,
        &request(
            vec![empty_vector(space)],
            vec![seal(&mallory, space, 1, b"spam")],
            1 << 20,
        ),
    );
    assert_eq!(reasons(&r), vec![(0, "not-a-member")]);
    assert_eq!(
        r.refused_spaces,
        vec![RefusedSpace::new(space, "not-a-member")]
    );
    assert!(r.spaces.is_empty() && r.envelopes.is_empty());
    assert_eq!(c.pull_all(&alice, space, 1 << 20), f.then(&[]));
}

#[test]
fn an_added_device_may_push_and_pull_until_removed_then_only_up_to_last_seq() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob, carrier) = (device(1), device(2), device(3));
    let space = SpaceId([7; 16]);
    let mut f = found(&c, space, &[&alice]);
    assert_pull_refused(&c, &bob, space, "not-a-member");

    // The admin adds Bob; Bob pushes two changes and pulls.
    let add_bob = f.push(&c, add_op(&bob, Role::Member));
    let bob_envs: Vec<Vec<u8>> = (1..=4)
        .map(|s| seal(&bob, space, s, format!("bob {s}").as_bytes()))
        .collect();
    let r = c.sync(
        &bob,
        &request(vec![empty_vector(space)], bob_envs[..2].to_vec(), 1 << 20),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(r.refused_spaces.is_empty());
    assert_eq!(r.spaces, vec![f.vector(&[(&bob, 2)])]);
    assert_eq!(
        r.envelopes.len(),
        f.envs.len(),
        "Bob got the membership log"
    );

    // Bob wrote 3 offline, and the admin knew it when removing him with last_seq = 3.
    f.push(&c, remove_op(&bob, 3));
    assert_pull_refused(&c, &bob, space, "not-a-member");

    // Bob's 3 still counts, carried by a device that is no member at all; his 4 does not, whoever
    // pushes it.
    let r = c.sync(
        &carrier,
        &request(
            vec![empty_vector(space)],
            vec![bob_envs[2].clone(), bob_envs[3].clone()],
            1 << 20,
        ),
    );
    assert_eq!(reasons(&r), vec![(1, "not-a-member")]);
    assert_eq!(
        r.refused_spaces,
        vec![RefusedSpace::new(space, "not-a-member")],
        "the carrier learns nothing else of the space"
    );
    let r = c.sync(
        &bob,
        &request(
            vec![empty_vector(space)],
            vec![bob_envs[3].clone()],
            1 << 20,
        ),
    );
    assert_eq!(reasons(&r), vec![(0, "not-a-member")]);
    assert!(r.spaces.is_empty() && r.envelopes.is_empty());

    // Replaying the old add (the same envelope) is a harmless duplicate: Bob stays removed.
    let r = c.sync(
        &bob,
        &request(vec![empty_vector(space)], vec![add_bob], 1 << 20),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(
        r.refused_spaces,
        vec![RefusedSpace::new(space, "not-a-member")]
    );
    let r = c.sync(
        &bob,
        &request(
            vec![empty_vector(space)],
            vec![seal(&bob, space, 5, b"x")],
            1 << 20,
        ),
    );
    assert_eq!(reasons(&r), vec![(0, "not-a-member")]);

    // Alice sees Bob's 1 to 3 and nothing later, in arrival order.
    let (log, removal) = f.envs.split_at(f.envs.len() - 1);
    let mut expected = log.to_vec();
    expected.extend_from_slice(&bob_envs[..2]);
    expected.extend_from_slice(removal);
    expected.push(bob_envs[2].clone());
    assert!(
        c.pull_all(&alice, space, 1 << 20) == expected,
        "Alice receives the log and Bob's 1 to 3"
    );
}

#[test]
fn forged_unknown_parent_and_second_genesis_statements_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob, mallory) = (device(1), device(2), device(6));
    let space = SpaceId([7; 16]);
    let mut f = found(&c, space, &[&alice, &bob]);
    let head = f.head;

    // Bob is a member, not an admin: his add of Mallory is not authorised.
    let forged = statement(&bob, space, &[head], add_op(&mallory, Role::Admin));
    // The admin naming a parent the relay never saw.
    let dangling = statement(
        &f.admin,
        space,
        &[StatementId([0xee; 32])],
        add_op(&mallory, Role::Member),
    );
    // Mallory founding the space again.
    let rival = statement(&mallory, space, &[], genesis_op(&mallory));
    // And the real genesis again: a duplicate.
    let r = c.sync(
        &bob,
        &request(
            vec![empty_vector(space)],
            vec![
                carry(&bob, &forged, 1),
                carry(&f.admin, &dangling, f.next_seq),
                carry(&mallory, &rival, 1),
                f.envs[0].clone(),
            ],
            1 << 20,
        ),
    );
    assert_eq!(
        reasons(&r),
        vec![
            (0, "not-authorised"),
            (1, "missing-parents"),
            (2, "conflict")
        ]
    );
    assert_eq!(
        r.spaces,
        vec![f.vector(&[])],
        "nothing was stored: Bob's and the admin's vectors did not move"
    );
    assert_pull_refused(&c, &mallory, space, "not-a-member");
    let r = c.sync(
        &mallory,
        &request(
            vec![empty_vector(space)],
            vec![seal(&mallory, space, 2, b"in?")],
            1 << 20,
        ),
    );
    assert_eq!(reasons(&r), vec![(0, "not-a-member")]);

    // The refused statements left no trace: the admin's next statement (with the same seq the
    // dangling one used) is accepted, and Alice receives only the real log.
    f.push(&c, add_op(&device(4), Role::Member));
    assert_eq!(c.pull_all(&alice, space, 1 << 20), f.then(&[]));
}

#[test]
fn a_device_pushing_its_own_add_may_pull_in_the_same_request() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob) = (device(1), device(2));
    let space = SpaceId([7; 16]);
    let mut f = found(&c, space, &[&alice]);
    let note = seal(&alice, space, 1, b"welcome");
    c.sync(&alice, &request(vec![f.vector(&[])], vec![note.clone()], 0));
    // The admin signed Bob's add (e.g. approving his join request) but Bob carries it to the relay,
    // with his first change: the add is judged first, whatever the order in the request.
    let add_bob = f.sign(add_op(&bob, Role::Member));
    let hello = seal(&bob, space, 1, b"hello");
    let r = c.sync(
        &bob,
        &request(vec![empty_vector(space)], vec![hello, add_bob], 1 << 20),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(r.refused_spaces.is_empty());
    assert_eq!(r.spaces, vec![f.vector(&[(&alice, 1), (&bob, 1)])]);
    let got: Vec<Vec<u8>> = r.envelopes.iter().map(|e| e.to_vec()).collect();
    let mut expected = f.envs[..f.envs.len() - 1].to_vec();
    expected.push(note);
    assert_eq!(got, expected, "everything but what Bob pushed himself");
}

#[test]
fn membership_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (device(1), device(2), device(3));
    let space = SpaceId([7; 16]);
    let first = start(dir.path());
    let c = Client::new(&first);
    let mut f = found(&c, space, &[&alice, &bob]);
    f.push(&c, remove_op(&bob, 0));
    first.shutdown();

    let second = start(dir.path());
    let c = Client::new(&second);
    assert_pull_refused(&c, &bob, space, "not-a-member");
    assert_pull_refused(&c, &carol, space, "not-a-member");
    let r = c.sync(
        &bob,
        &request(
            vec![empty_vector(space)],
            vec![seal(&bob, space, 1, b"late")],
            0,
        ),
    );
    assert_eq!(reasons(&r), vec![(0, "not-a-member")]);
    // The log goes on from where it was: the admin adds Carol after the removal.
    f.push(&c, add_op(&carol, Role::Member));
    let hello = seal(&carol, space, 1, b"hi");
    let r = c.sync(
        &carol,
        &request(vec![f.vector(&[])], vec![hello.clone()], 0),
    );
    assert!(r.rejected.is_empty() && r.refused_spaces.is_empty());
    assert_eq!(c.pull_all(&alice, space, 1 << 20), f.then(&[hello]));
}

#[test]
fn a_carrier_may_push_a_members_envelope_but_not_pull() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob, carrier) = (device(1), device(2), device(3));
    let space = SpaceId([7; 16]);
    let f = found(&c, space, &[&alice, &bob]);
    // Alice's change reaches the relay through a phone that belongs to no member.
    let note = seal(&alice, space, 1, b"written offline");
    let r = c.sync(
        &carrier,
        &request(vec![empty_vector(space)], vec![note.clone()], 1 << 20),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(r.spaces.is_empty() && r.envelopes.is_empty());
    assert_eq!(
        r.refused_spaces,
        vec![RefusedSpace::new(space, "not-a-member")]
    );
    // The carrier's own word counts for nothing: an envelope it signs itself is refused.
    let r = c.sync(
        &carrier,
        &request(
            vec![empty_vector(space)],
            vec![seal(&carrier, space, 1, b"mine")],
            1 << 20,
        ),
    );
    assert_eq!(reasons(&r), vec![(0, "not-a-member")]);
    assert_eq!(c.pull_all(&bob, space, 1 << 20), f.then(&[note]));
}

#[test]
fn a_removed_admins_backdated_statement_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, bob, mallory) = (device(1), device(2), device(6));
    let space = SpaceId([7; 16]);
    let mut f = found(&c, space, &[&alice]);
    f.push(&c, add_op(&bob, Role::Admin));
    let bobs_past = f.head;
    f.push(&c, remove_op(&bob, 0));
    // Bob signs an add naming the parents he knew before his removal. His author was an admin in that
    // past, but his sequence number is beyond the removal's `last_seq`: refused like his other
    // envelopes (protocol 15.8), so a removed device cannot fill the log with backdated statements.
    let backdated = statement(&bob, space, &[bobs_past], add_op(&mallory, Role::Member));
    let env = carry(&bob, &backdated, 1);
    let r = c.sync(
        &bob,
        &request(vec![empty_vector(space)], vec![env.clone()], 1 << 20),
    );
    assert_eq!(reasons(&r), vec![(0, "not-a-member")]);
    assert_eq!(
        r.refused_spaces,
        vec![RefusedSpace::new(space, "not-a-member")]
    );
    assert_pull_refused(&c, &mallory, space, "not-a-member");
    // Signed after the removal (naming it as a parent), it is refused.
    let late = statement(&bob, space, &[f.head], add_op(&mallory, Role::Member));
    let r = c.sync(
        &bob,
        &request(
            vec![empty_vector(space)],
            vec![carry(&bob, &late, 2)],
            1 << 20,
        ),
    );
    assert_eq!(reasons(&r), vec![(0, "not-a-member")]);
    assert_eq!(c.pull_all(&alice, space, 1 << 20), f.then(&[]));
}

#[test]
fn concurrent_pushes_and_pulls_of_members_all_count() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let writers: Vec<Device> = (1..=4).map(device).collect();
    let space = SpaceId([7; 16]);
    let mut f = found(&c, space, &writers.iter().collect::<Vec<_>>());
    std::thread::scope(|scope| {
        for w in &writers {
            let c = &c;
            scope.spawn(move || {
                for s in 1..=10 {
                    let r = c.sync(
                        w,
                        &request(
                            vec![empty_vector(space)],
                            vec![seal(w, space, s, b"note")],
                            1 << 20,
                        ),
                    );
                    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
                    assert!(r.refused_spaces.is_empty());
                }
            });
        }
        // Meanwhile the admin adds and removes a fifth device.
        let extra = device(5);
        f.push(&c, add_op(&extra, Role::Member));
        f.push(&c, remove_op(&extra, 0));
    });
    let r = c.sync(&writers[0], &request(vec![f.vector(&[])], vec![], 1 << 20));
    let entries: Vec<(&Device, u64)> = writers.iter().map(|w| (w, 10)).collect();
    assert_eq!(r.spaces, vec![f.vector(&entries)]);
    assert_pull_refused(&c, &device(5), space, "not-a-member");
}

#[test]
fn only_a_person_erases_their_own_space_and_an_erased_space_takes_and_serves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (alice, tablet, bob) = (device(1), device(2), device(3));
    let person = |p: u8, who: &Device, role: Role| Op::Add {
        device: who.id,
        role,
        person: Some([p; 32]),
        x25519: None,
    };
    let ask = |space: SpaceId| {
        let mut r = request(vec![empty_vector(space)], Vec::new(), 1 << 20);
        r.erase = vec![ByteBuf::from(space.0.to_vec())];
        r
    };

    // A shared space (two persons): nobody erases it, not even an admin.
    let shared = SpaceId([7; 16]);
    let mut g = found(&c, shared, &[]);
    g.push(&c, person(1, &alice, Role::Admin));
    g.push(&c, person(3, &bob, Role::Member));
    for who in [&alice, &bob, &g.admin] {
        let r = c.sync(who, &ask(shared));
        assert!(r.erased.is_empty());
        assert_eq!(
            r.refused_erase,
            vec![RefusedSpace::new(shared, "not-authorised")]
        );
    }
    // A space the relay never held is not closed by anyone's word.
    let r = c.sync(&alice, &ask(SpaceId([8; 16])));
    assert_eq!(
        r.refused_erase,
        vec![RefusedSpace::new(SpaceId([8; 16]), "unknown-space")]
    );

    // A person's own space (every member a device of person 1, once the founder has left).
    let own = SpaceId([9; 16]);
    let mut f = found(&c, own, &[]);
    f.push(&c, person(1, &alice, Role::Admin));
    f.push(&c, person(1, &tablet, Role::Member));
    let st = statement(&alice, own, &[f.head], remove_op(&f.admin, 0));
    let r = c.sync(
        &alice,
        &request(
            vec![empty_vector(own)],
            vec![carry(&alice, &st, 1)],
            1 << 20,
        ),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let r = c.sync(
        &alice,
        &request(
            vec![empty_vector(own)],
            vec![seal(&alice, own, 2, b"catatan")],
            1 << 20,
        ),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    // Its plain member may not; its admin may.
    assert_eq!(c.sync(&tablet, &ask(own)).refused_erase.len(), 1);
    let r = c.sync(&alice, &ask(own));
    assert_eq!(r.erased, vec![ByteBuf::from(own.0.to_vec())]);
    assert_eq!(r.refused_spaces, vec![RefusedSpace::new(own, "erased")]);
    assert!(r.envelopes.is_empty());
    // From then on it takes nothing and serves nothing, to anyone.
    let r = c.sync(
        &tablet,
        &request(
            vec![empty_vector(own)],
            vec![seal(&tablet, own, 1, b"terlambat")],
            1 << 20,
        ),
    );
    assert_eq!(reasons(&r), vec![(0, "erased")]);
    assert_eq!(r.refused_spaces, vec![RefusedSpace::new(own, "erased")]);
    // Asking again is harmless and confirmed.
    assert_eq!(c.sync(&alice, &ask(own)).erased.len(), 1);
    // Too many ids in one request are refused whole.
    let mut flood = request(Vec::new(), Vec::new(), 1 << 20);
    flood.erase = (0..17u8).map(|i| ByteBuf::from(vec![i; 16])).collect();
    let resp = c.post(&alice, sync::encode(&flood).unwrap());
    assert!(!resp.status().is_success());
}

/// Issue 15, item 3: a request naming one space with a vector of more authors than the protocol
/// carries (`MAX_AUTHORS`) has that space refused alone, `too-many-authors`; the request's other
/// spaces are answered as usual. (It used to fail the whole request with 400.)
#[test]
fn a_vector_of_too_many_authors_refuses_its_space_alone() {
    use sebaya_proto::sync::MAX_AUTHORS;
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let alice = device(1);
    let (space, big) = (SpaceId([7; 16]), SpaceId([9; 16]));
    let f = found(&c, space, &[&alice]);
    let _ = found(&c, big, &[&alice]);
    let mut huge = empty_vector(big);
    huge.vector = (0..=MAX_AUTHORS)
        .map(|i| {
            let mut author = [0x11u8; 32];
            author[..8].copy_from_slice(&(i as u64).to_le_bytes());
            AuthorSeq {
                author: author.to_vec(),
                seq: 1,
            }
        })
        .collect();
    let note = seal(&alice, space, 1, b"still goes");
    let r = c.sync(
        &alice,
        &request(vec![huge, f.vector(&[])], vec![note], 1 << 20),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(
        r.refused_spaces,
        vec![RefusedSpace::new(big, "too-many-authors")]
    );
    assert_eq!(r.spaces, vec![f.vector(&[(&alice, 1)])]);
}

/// Issue 15, item 2: a fresh device (a stranger's key, in a space it founds itself) pushing 64
/// envelopes of about 4 MiB is refused, `quota-exceeded`, once what it has stored reaches its quota
/// (128 MiB by default); each refusal is of one envelope inside a 200 answer, the request's other
/// envelopes still judged, and the database stops growing.
#[test]
fn a_fresh_device_pushing_64_envelopes_of_4_mib_is_refused_after_its_quota_and_the_store_stops_growing()
 {
    // The default quota of one device (`Quotas::default().device_bytes`).
    const QUOTA: u64 = 128 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let stranger = device(77);
    let space = SpaceId([77; 16]);
    let genesis = statement(&stranger, space, &[], genesis_op(&stranger));
    let r = c.sync(
        &stranger,
        &request(
            vec![empty_vector(space)],
            vec![carry(&stranger, &genesis, 1)],
            0,
        ),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let size = || -> u64 {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    };
    let payload = vec![0x5au8; 4 * 1024 * 1024 - 1024];
    let (mut stored, mut refused) = (0u64, 0u64);
    let mut size_at_first_refusal = None;
    for batch in (2..66u64).collect::<Vec<_>>().chunks(3) {
        let envs: Vec<Vec<u8>> = batch
            .iter()
            .map(|&seq| seal(&stranger, space, seq, &payload))
            .collect();
        let r = c.sync(&stranger, &request(vec![empty_vector(space)], envs, 0));
        for rej in &r.rejected {
            assert_eq!(rej.reason, "quota-exceeded", "{:?}", r.rejected);
        }
        refused += r.rejected.len() as u64;
        stored += (batch.len() - r.rejected.len()) as u64;
        if refused > 0 && size_at_first_refusal.is_none() {
            size_at_first_refusal = Some(size());
        }
    }
    let envelope = seal(&stranger, space, 2, &payload).len() as u64;
    let genesis_len = carry(&stranger, &genesis, 1).len() as u64;
    assert_eq!(
        stored,
        (QUOTA - genesis_len) / envelope,
        "as many as fit in the quota"
    );
    assert_eq!(stored + refused, 64);
    let grown = size() - size_at_first_refusal.unwrap();
    assert!(
        grown < 2 * 1024 * 1024,
        "the database grew by {grown} bytes after the quota was reached"
    );
}
