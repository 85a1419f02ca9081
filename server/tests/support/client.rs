//! The relay's wire, from a device's side, for the relay tests and the live-sync benchmark
//! (`examples/live_latency.rs` includes this file by path): devices, envelopes, a founded space, a
//! signing client for a relay at any URL. Nothing here starts a relay.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::membership::{Op, Role, SignedStatement, Statement, StatementId};
use sebaya_proto::request::RequestAuth;
use sebaya_proto::sync::{self, SpaceVector, SyncRequest, SyncResponse};
use sebaya_proto::{DeviceId, Envelope, EpochId, HeaderV1, Kind, SpaceId};
use serde_bytes::ByteBuf;

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
        erasures: Vec::new(),
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
        let (f, genesis) = Founded::unsent(space);
        f.push_as_admin(c, genesis);
        f
    }

    /// Founds `space` without pushing anything: the space and its genesis envelope, for a caller
    /// that sends many statements in one request.
    pub fn unsent(space: SpaceId) -> (Founded, Vec<u8>) {
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
        (f, env)
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
        let env = self.add_unsent(who, role, person);
        self.push_as_admin(c, env);
    }

    /// The admin's statement adding `who`, as an envelope not pushed yet.
    pub fn add_unsent(&mut self, who: &Device, role: Role, person: Option<[u8; 32]>) -> Vec<u8> {
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
        self.carry(&st)
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
        self.try_post(dev, req, rid).unwrap()
    }

    /// [`Client::sync`] for a relay that may be gone: `None` when the request fails or is not
    /// answered 200.
    pub fn try_sync(&self, dev: &Device, req: &SyncRequest) -> Option<SyncResponse> {
        let resp = self.try_post(dev, req, request_id()).ok()?;
        if resp.status() != StatusCode::OK {
            return None;
        }
        sync::decode(&resp.bytes().ok()?).ok()
    }

    fn try_post(
        &self,
        dev: &Device,
        req: &SyncRequest,
        rid: [u8; 16],
    ) -> reqwest::Result<reqwest::blocking::Response> {
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
        r.send()
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

    /// Holds `POST /v1/wait` as `dev` on `spaces` (with the device's vectors) and returns the
    /// spaces the answer names (the status must be 200).
    pub fn wait(&self, dev: &Device, spaces: Vec<SpaceVector>, timeout_ms: u64) -> Vec<SpaceId> {
        let body = sync::encode(&sebaya_proto::live::WaitRequest {
            v: 1,
            spaces,
            timeout_ms,
        })
        .unwrap();
        let resp = self.post_signed(dev, sebaya_proto::live::WAIT_PATH, body);
        assert_eq!(resp.status(), StatusCode::OK);
        let answer: sebaya_proto::live::WaitResponse =
            sync::decode(&resp.bytes().unwrap()).unwrap();
        answer.spaces().unwrap()
    }

    /// What `dev` holds of `space` once it pulled everything: the relay's vector of it.
    pub fn pulled(&self, dev: &Device, space: SpaceId) -> SpaceVector {
        let r = self.sync(dev, &request(vec![empty_vector(space)], vec![]));
        assert!(r.refused_spaces.is_empty(), "{:?}", r.refused_spaces);
        r.spaces.into_iter().next().unwrap()
    }
}
