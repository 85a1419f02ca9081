//! Remote invites at the relay, over real HTTP on loopback: join requests left under an invite for its
//! author, and join answers left for the admitted device (`exchange.rs`, rules 3, 4 and 8).
//!
//! Each test starts its own relay on 127.0.0.1, port 0, with a fresh data directory. Every space is
//! founded by an admin device (seed 100) that also opens the invites; the relay cannot open what is
//! left in its mailboxes, so most bodies are arbitrary bytes (one test seals a real join request).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_proto::invite::{
    InviteId, JoinRequest, MAX_JOIN_ANSWER_LEN, MAX_JOIN_REQUEST_LEN, invite_id,
};
use sebaya_proto::membership::{Op, Role, SignedStatement, Statement, StatementId};
use sebaya_proto::request::RequestAuth;
use sebaya_proto::sync::{
    self, AuthorSeq, JoinAnswer, JoinPost, RefusedSpace, Rejected, SpaceVector, SyncRequest,
    SyncResponse,
};
use sebaya_proto::{DeviceId, SpaceId};
use sebaya_relay::RelayHandle;
use serde_bytes::ByteBuf;

// ------------------------------------------------------------------------------------------
// Helpers, in the style of `relay.rs`.

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
    let mut id = [0x5Au8; 16];
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

fn request(spaces: Vec<SpaceVector>, envelopes: Vec<Vec<u8>>) -> SyncRequest {
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

/// A request naming no space that only leaves join requests and answers.
fn joins(posts: Vec<JoinPost>, answers: Vec<JoinAnswer>) -> SyncRequest {
    let mut r = request(vec![], vec![]);
    r.join_requests = posts;
    r.join_answers = answers;
    r
}

fn empty_vector(space: SpaceId) -> SpaceVector {
    SpaceVector {
        space: space.0.to_vec(),
        vector: vec![],
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

fn add_op(who: &Device, role: Role) -> Op {
    Op::Add {
        device: who.id,
        role,
        person: None,
        x25519: None,
    }
}

fn invite_op(invite: InviteId, expires: u64) -> Op {
    Op::Invite {
        invite: invite.0,
        expires,
        gate: None,
    }
}

fn admit_op(who: &Device, invite: InviteId) -> Op {
    Op::Admit {
        device: who.id,
        person: None,
        x25519: [9; 32],
        invite: invite.0,
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
}

impl Founded {
    /// Signs `op` after the head and carries it in the admin's next envelope (not pushed).
    fn sign(&mut self, op: Op) -> Vec<u8> {
        let st = statement(&self.admin, self.space, &[self.head], op);
        let env = carry(&self.admin, &st, self.next_seq);
        self.next_seq += 1;
        self.head = st.id();
        env
    }

    /// Signs `op` and pushes it as the admin; it must be accepted.
    fn push(&mut self, c: &Client, op: Op) -> SyncResponse {
        let env = self.sign(op);
        let r = c.sync(&self.admin, &request(vec![self.vector()], vec![env]));
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        r
    }

    /// The vector of a device that holds the whole membership log.
    fn vector(&self) -> SpaceVector {
        SpaceVector {
            space: self.space.0.to_vec(),
            vector: vec![AuthorSeq {
                author: self.admin.id.0.to_vec(),
                seq: self.next_seq - 1,
            }],
        }
    }
}

/// Founds `space` with a fresh admin device (seed 100): its genesis and an add of each (device, role).
fn found(c: &Client, space: SpaceId, members: &[(&Device, Role)]) -> Founded {
    found_by(c, space, device(100), members)
}

/// Founds `space` with `admin` as its first admin: its genesis and an add of each (device, role).
fn found_by(c: &Client, space: SpaceId, admin: Device, members: &[(&Device, Role)]) -> Founded {
    let genesis = statement(
        &admin,
        space,
        &[],
        Op::Genesis {
            admin: admin.id,
            x25519: None,
        },
    );
    let mut envs = vec![carry(&admin, &genesis, 1)];
    let mut f = Founded {
        space,
        next_seq: 2,
        head: genesis.id(),
        admin,
    };
    for (m, role) in members {
        envs.push(f.sign(add_op(m, *role)));
    }
    let r = c.sync(&f.admin, &request(vec![empty_vector(space)], envs));
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(r.refused_spaces.is_empty());
    f
}

struct Client {
    http: reqwest::blocking::Client,
    base: String,
    relay_id: Vec<u8>,
}

impl Client {
    fn new(relay: &RelayHandle) -> Client {
        // reqwest is built without a TLS provider; it insists on one being installed even for http.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Client {
            http,
            base: relay.url(),
            relay_id: relay.relay_id().0.to_vec(),
        }
    }

    fn sync(&self, dev: &Device, req: &SyncRequest) -> SyncResponse {
        let body = sync::encode(req).unwrap();
        let auth = RequestAuth::sign(
            &dev.key,
            dev.id,
            &self.relay_id,
            "POST",
            "/v1/sync",
            now(),
            request_id(),
            &body,
        )
        .unwrap();
        let mut http = self
            .http
            .post(format!("{}/v1/sync", self.base))
            .header("content-type", "application/cbor")
            .body(body);
        for (name, value) in auth.to_headers() {
            http = http.header(name, value);
        }
        let resp = http.send().unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let answer: SyncResponse = sync::decode(&resp.bytes().unwrap()).unwrap();
        answer.check().unwrap();
        answer
    }

    /// What `dev` is handed from the mailboxes when it syncs naming `spaces` (pushing nothing).
    fn mailbox(&self, dev: &Device, spaces: Vec<SpaceVector>) -> SyncResponse {
        let r = self.sync(dev, &request(spaces, vec![]));
        assert!(!r.more);
        r
    }
}

fn post(space: SpaceId, invite: InviteId, body: &[u8]) -> JoinPost {
    JoinPost {
        space: space.0.to_vec(),
        invite: invite.0.to_vec(),
        body: body.to_vec(),
        token: Vec::new(),
    }
}

fn answer(space: SpaceId, invite: InviteId, to: &Device, body: &[u8]) -> JoinAnswer {
    JoinAnswer {
        space: space.0.to_vec(),
        invite: invite.0.to_vec(),
        device: to.id.0.to_vec(),
        body: body.to_vec(),
    }
}

fn refusals(list: &[Rejected]) -> Vec<(u32, &str)> {
    list.iter().map(|x| (x.index, x.reason.as_str())).collect()
}

/// An invite id the way an admin's device makes one: from a secret.
fn new_invite(space: SpaceId, secret: u8) -> InviteId {
    invite_id(&space, &[secret; 16]).unwrap()
}

/// What the store keeps under `(space, invite)`, read with the relay stopped.
fn stored_requests(dir: &Path, space: SpaceId, invite: InviteId) -> usize {
    let store = support::open_store(dir);
    store.join_requests(&space, &invite).unwrap().len()
}

const SPACE: SpaceId = SpaceId([0x31; 16]);

// ------------------------------------------------------------------------------------------
// Join requests.

#[test]
fn a_join_request_is_kept_once_and_handed_to_the_inviter_only() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (admin2, member, joiner, stranger) = (device(2), device(3), device(10), device(11));
    let mut f = found(
        &c,
        SPACE,
        &[(&admin2, Role::Admin), (&member, Role::Member)],
    );
    let invite = new_invite(SPACE, 0x22);
    f.push(&c, invite_op(invite, now() + 3600));

    // A real sealed request: the relay keeps it without being able to open it.
    let sealed = JoinRequest {
        space: SPACE,
        invite,
        device: joiner.id,
        x25519: [9; 32],
        certificate: None,
        name: "Sari".into(),
        time: now(),
    }
    .seal(&[0x22; 16], &joiner.key, [7; 12])
    .unwrap();

    // Unknown invite, unknown space, and the real one, in one request: judged one by one.
    let r = c.sync(
        &joiner,
        &joins(
            vec![
                post(SPACE, new_invite(SPACE, 0x99), b"nobody opened this"),
                post(SpaceId([0x77; 16]), invite, b"no such space"),
                post(SPACE, invite, &sealed),
            ],
            vec![],
        ),
    );
    assert_eq!(
        refusals(&r.refused_join_requests),
        vec![(0, "unknown-invite"), (1, "unknown-space")]
    );
    assert!(r.join_requests.is_empty(), "not to the poster");
    assert!(r.refused_join_answers.is_empty());

    // The same post again changes nothing.
    let r = c.sync(&joiner, &joins(vec![post(SPACE, invite, &sealed)], vec![]));
    assert!(r.refused_join_requests.is_empty());

    // The inviter, naming the space, gets it (once); it stays until the invite closes.
    for _ in 0..2 {
        let r = c.mailbox(&f.admin, vec![f.vector()]);
        assert_eq!(r.join_requests, vec![post(SPACE, invite, &sealed)]);
        assert!(r.join_answers.is_empty());
    }
    // Not when it does not name the space.
    assert!(c.mailbox(&f.admin, vec![]).join_requests.is_empty());
    // Never to another admin, a member, the poster, or a stranger.
    for dev in [&admin2, &member] {
        let r = c.mailbox(dev, vec![empty_vector(SPACE)]);
        assert!(r.refused_spaces.is_empty());
        assert!(r.join_requests.is_empty());
    }
    for dev in [&joiner, &stranger] {
        let r = c.mailbox(dev, vec![empty_vector(SPACE)]);
        assert_eq!(
            r.refused_spaces,
            vec![RefusedSpace::new(SPACE, "not-a-member")]
        );
        assert!(r.join_requests.is_empty());
    }

    // Paging from scratch, one envelope a page: the request comes on the last page only.
    let mut vector = std::collections::BTreeMap::new();
    let mut delivered = Vec::new();
    let mut pages = 0;
    loop {
        let mut req = request(vec![SpaceVector::new(SPACE, &vector)], vec![]);
        req.max_response_bytes = 0;
        let r = c.sync(&f.admin, &req);
        pages += 1;
        assert!(r.envelopes.len() <= 1);
        if !r.envelopes.is_empty() {
            *vector.entry(f.admin.id).or_insert(0) += 1;
        }
        assert!(r.join_requests.is_empty() || !r.more);
        delivered.extend(r.join_requests);
        if !r.more {
            break;
        }
        assert!(pages < 100);
    }
    assert!(pages > 2);
    assert_eq!(delivered, vec![post(SPACE, invite, &sealed)]);

    relay.shutdown();
    assert_eq!(stored_requests(dir.path(), SPACE, invite), 1, "kept once");
}

#[test]
fn an_admit_spends_the_invite_and_drops_its_requests() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let joiner = device(10);
    let mut f = found(&c, SPACE, &[]);
    let invite = new_invite(SPACE, 1);
    f.push(&c, invite_op(invite, now() + 3600));
    let r = c.sync(
        &joiner,
        &joins(
            vec![
                post(SPACE, invite, b"please"),
                post(SPACE, invite, b"again"),
            ],
            vec![],
        ),
    );
    assert!(r.refused_join_requests.is_empty());
    assert_eq!(c.mailbox(&f.admin, vec![f.vector()]).join_requests.len(), 2);

    // The push of the admit is the inviter's sync naming the space: the relay notices there.
    let r = f.push(&c, admit_op(&joiner, invite));
    assert!(r.join_requests.is_empty());
    relay.shutdown();
    assert_eq!(stored_requests(dir.path(), SPACE, invite), 0);

    let relay = start(dir.path());
    let c = Client::new(&relay);
    let r = c.sync(
        &device(12),
        &joins(vec![post(SPACE, invite, b"me too")], vec![]),
    );
    assert_eq!(
        refusals(&r.refused_join_requests),
        vec![(0, "invite-spent")]
    );
    assert!(
        c.mailbox(&f.admin, vec![f.vector()])
            .join_requests
            .is_empty()
    );
    relay.shutdown();
    assert_eq!(stored_requests(dir.path(), SPACE, invite), 0);
}

#[test]
fn revoked_and_expired_invites_take_no_requests() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let joiner = device(10);
    let mut f = found(&c, SPACE, &[]);
    let (revoked, expired) = (new_invite(SPACE, 1), new_invite(SPACE, 2));
    f.push(&c, invite_op(revoked, now() + 3600));
    f.push(&c, invite_op(expired, now() - 10));

    let r = c.sync(
        &joiner,
        &joins(vec![post(SPACE, revoked, b"early")], vec![]),
    );
    assert!(r.refused_join_requests.is_empty());
    f.push(&c, Op::Uninvite { invite: revoked.0 });

    let r = c.sync(
        &joiner,
        &joins(
            vec![post(SPACE, revoked, b"late"), post(SPACE, expired, b"late")],
            vec![],
        ),
    );
    assert_eq!(
        refusals(&r.refused_join_requests),
        vec![(0, "invite-revoked"), (1, "invite-expired")]
    );
    assert!(
        c.mailbox(&f.admin, vec![f.vector()])
            .join_requests
            .is_empty()
    );
    relay.shutdown();
    assert_eq!(stored_requests(dir.path(), SPACE, revoked), 0);
    assert_eq!(stored_requests(dir.path(), SPACE, expired), 0);
}

#[test]
fn an_invite_keeps_sixteen_requests_of_bounded_size() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let joiner = device(10);
    let mut f = found(&c, SPACE, &[]);
    let (invite, other) = (new_invite(SPACE, 1), new_invite(SPACE, 2));
    f.push(&c, invite_op(invite, now() + 3600));
    f.push(&c, invite_op(other, now() + 3600));

    let bodies: Vec<Vec<u8>> = (0..17u8).map(|i| vec![i; 100]).collect();
    let posts: Vec<JoinPost> = bodies.iter().map(|b| post(SPACE, invite, b)).collect();
    let r = c.sync(&joiner, &joins(posts[..16].to_vec(), vec![]));
    assert!(r.refused_join_requests.is_empty());
    // The 17th distinct one is refused; a replay of a kept one is still accepted.
    let r = c.sync(
        &joiner,
        &joins(vec![posts[16].clone(), posts[3].clone()], vec![]),
    );
    assert_eq!(
        refusals(&r.refused_join_requests),
        vec![(0, "mailbox-full")]
    );
    let got = c.mailbox(&f.admin, vec![f.vector()]).join_requests;
    assert_eq!(got, posts[..16].to_vec());

    // Sizes and lengths, on another invite.
    let largest = vec![1u8; MAX_JOIN_REQUEST_LEN];
    let over = vec![2u8; MAX_JOIN_REQUEST_LEN + 1];
    let r = c.sync(
        &joiner,
        &joins(
            vec![
                post(SPACE, other, &over),
                post(SPACE, other, &largest),
                post(SPACE, other, b""),
                JoinPost {
                    space: vec![0x31; 15],
                    invite: other.0.to_vec(),
                    body: b"short space id".to_vec(),
                    token: Vec::new(),
                },
                JoinPost {
                    space: SPACE.0.to_vec(),
                    invite: vec![1; 17],
                    body: b"long invite id".to_vec(),
                    token: Vec::new(),
                },
            ],
            vec![],
        ),
    );
    assert_eq!(
        refusals(&r.refused_join_requests),
        vec![
            (0, "too-large"),
            (2, "malformed"),
            (3, "malformed"),
            (4, "malformed")
        ]
    );
    let got = c.mailbox(&f.admin, vec![f.vector()]).join_requests;
    assert_eq!(got.len(), 17);
    assert_eq!(got[16], post(SPACE, other, &largest));
    relay.shutdown();
}

// ------------------------------------------------------------------------------------------
// Join answers.

#[test]
fn an_answer_needs_the_inviters_admit_of_that_device_and_reaches_that_device_only() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let (admin2, member, joiner, stranger) = (device(2), device(3), device(10), device(11));
    let mut f = found(
        &c,
        SPACE,
        &[(&admin2, Role::Admin), (&member, Role::Member)],
    );
    let invite = new_invite(SPACE, 1);
    f.push(&c, invite_op(invite, now() + 3600));
    c.sync(
        &joiner,
        &joins(vec![post(SPACE, invite, b"let me in")], vec![]),
    );

    // Before any admit: not yet.
    let early = answer(SPACE, invite, &joiner, b"too early");
    let r = c.sync(&f.admin, &joins(vec![], vec![early]));
    assert_eq!(
        refusals(&r.refused_join_answers),
        vec![(0, "not-authorised")]
    );

    // The admit and its answer in one request: the answer is judged after the admit is stored.
    let welcome = answer(SPACE, invite, &joiner, b"welcome: key and log");
    let admit = f.sign(admit_op(&joiner, invite));
    let mut req = request(vec![f.vector()], vec![admit]);
    req.join_answers = vec![welcome.clone()];
    let r = c.sync(&f.admin, &req);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(
        r.refused_join_answers.is_empty(),
        "{:?}",
        r.refused_join_answers
    );
    assert!(r.join_answers.is_empty(), "not to the sender");

    // Another admin, or an answer for a device other than the admitted one: refused.
    let r = c.sync(
        &admin2,
        &joins(vec![], vec![answer(SPACE, invite, &joiner, b"from admin2")]),
    );
    assert_eq!(
        refusals(&r.refused_join_answers),
        vec![(0, "not-authorised")]
    );
    let r = c.sync(
        &f.admin,
        &joins(
            vec![],
            vec![
                answer(SPACE, invite, &stranger, b"wrong device"),
                answer(SPACE, new_invite(SPACE, 9), &joiner, b"no such invite"),
                answer(SpaceId([0x77; 16]), invite, &joiner, b"no such space"),
                JoinAnswer {
                    device: vec![1; 31],
                    ..answer(SPACE, invite, &joiner, b"short device")
                },
                answer(SPACE, invite, &joiner, b""),
            ],
        ),
    );
    assert_eq!(
        refusals(&r.refused_join_answers),
        vec![
            (0, "not-authorised"),
            (1, "unknown-invite"),
            (2, "unknown-space"),
            (3, "malformed"),
            (4, "malformed")
        ]
    );

    // Only the admitted device gets it, without naming the space.
    assert_eq!(
        c.mailbox(&joiner, vec![]).join_answers,
        vec![welcome.clone()]
    );
    for dev in [&f.admin, &admin2, &member, &stranger] {
        assert!(c.mailbox(dev, vec![]).join_answers.is_empty());
        assert!(
            c.mailbox(dev, vec![empty_vector(SPACE)])
                .join_answers
                .is_empty()
        );
    }
    relay.shutdown();

    // It survives a restart, and the admitted device, now a member, may pull the space.
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let r = c.mailbox(&joiner, vec![empty_vector(SPACE)]);
    assert!(r.refused_spaces.is_empty());
    assert!(!r.envelopes.is_empty());
    assert_eq!(r.join_answers, vec![welcome]);

    // A later answer for the same join replaces it.
    let again = answer(SPACE, invite, &joiner, b"welcome, take two");
    let r = c.sync(&f.admin, &joins(vec![], vec![again.clone()]));
    assert!(r.refused_join_answers.is_empty());
    assert_eq!(c.mailbox(&joiner, vec![]).join_answers, vec![again]);

    // Once the joiner says it took the answer, the relay forgets it; another device's "taken"
    // changes nothing for this one.
    let mut other = request(vec![], vec![]);
    other.taken_join_answers = vec![sebaya_proto::sync::JoinTaken {
        space: SPACE.0.to_vec(),
        invite: invite.0.to_vec(),
    }];
    c.sync(&f.admin, &other);
    assert_eq!(c.mailbox(&joiner, vec![]).join_answers.len(), 1);
    let r = c.sync(&joiner, &other);
    assert!(
        r.join_answers.is_empty(),
        "forgotten before the mailbox is read"
    );
    assert!(c.mailbox(&joiner, vec![]).join_answers.is_empty());
    relay.shutdown();
}

#[test]
fn a_device_keeps_at_most_sixteen_answers() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let joiner = device(10);
    let mut f = found(&c, SPACE, &[]);
    // Seventeen invites, the device asking under each, each spent on it (an admit of a member still
    // spends it), and an answer for each. The statements take two requests each way (the relay
    // judges at most 16 new statements of a space per request); the answers go with the last.
    let invites: Vec<InviteId> = (1..=17u8).map(|i| new_invite(SPACE, i)).collect();
    let opens: Vec<Vec<u8>> = invites
        .iter()
        .map(|&inv| f.sign(invite_op(inv, now() + 3600)))
        .collect();
    for batch in opens.chunks(16) {
        let r = c.sync(&f.admin, &request(vec![f.vector()], batch.to_vec()));
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    }
    let asks: Vec<JoinPost> = invites
        .iter()
        .map(|&inv| post(SPACE, inv, b"let me in"))
        .collect();
    let r = c.sync(&joiner, &joins(asks, vec![]));
    assert!(r.refused_join_requests.is_empty());
    let admits: Vec<Vec<u8>> = invites
        .iter()
        .map(|&inv| f.sign(admit_op(&joiner, inv)))
        .collect();
    let answers: Vec<JoinAnswer> = invites
        .iter()
        .map(|&inv| answer(SPACE, inv, &joiner, &inv.0))
        .collect();
    let batches: Vec<Vec<Vec<u8>>> = admits.chunks(16).map(<[Vec<u8>]>::to_vec).collect();
    let (last, first) = batches.split_last().unwrap();
    for batch in first {
        let r = c.sync(&f.admin, &request(vec![f.vector()], batch.clone()));
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    }
    let mut req = request(vec![f.vector()], last.clone());
    req.join_answers = answers.clone();
    let r = c.sync(&f.admin, &req);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(
        refusals(&r.refused_join_answers),
        vec![(16, "mailbox-full")]
    );
    // Replacing one of the sixteen still works.
    let r = c.sync(
        &f.admin,
        &joins(vec![], vec![answer(SPACE, invites[0], &joiner, b"new")]),
    );
    assert!(r.refused_join_answers.is_empty());
    let got = c.mailbox(&joiner, vec![]).join_answers;
    assert_eq!(got.len(), 16);
    assert_eq!(got[0].body, b"new");
    assert_eq!(got[1..], answers[1..16]);
    relay.shutdown();
}

#[test]
fn a_gated_invite_takes_requests_only_with_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let mut f = found(&c, SPACE, &[]);
    let secret = [0x42u8; 16];
    let invite = sebaya_proto::invite::invite_id(&SPACE, &secret).unwrap();
    let token = sebaya_proto::invite::request_token(&SPACE, &secret).unwrap();
    f.push(
        &c,
        Op::Invite {
            invite: invite.0,
            expires: now() + 3600,
            gate: Some(sebaya_proto::invite::gate_of(&token)),
        },
    );
    let joiner = device(20);
    let without = post(SPACE, invite, b"no token");
    let mut wrong = post(SPACE, invite, b"wrong token");
    wrong.token = vec![0x11; 16];
    let mut right = post(SPACE, invite, b"right token");
    right.token = token.to_vec();
    let mut short = post(SPACE, invite, b"short token");
    short.token = vec![0x11; 3];
    let r = c.sync(
        &joiner,
        &joins(vec![without, wrong, right.clone(), short], vec![]),
    );
    assert_eq!(
        refusals(&r.refused_join_requests),
        vec![
            (0, "not-authorised"),
            (1, "not-authorised"),
            (3, "malformed")
        ]
    );
    assert_eq!(stored_requests(dir.path(), SPACE, invite), 1);
    // The inviter receives the request, without the token.
    let got = c.mailbox(&f.admin, vec![empty_vector(SPACE)]).join_requests;
    assert_eq!(got.len(), 1);
    assert!(got[0].token.is_empty());
    assert_eq!(got[0].body, right.body);
    relay.shutdown();
}

// ------------------------------------------------------------------------------------------
// A stranger's own space does not open another device's mailbox (issue 15, item 5).

/// A space a stranger founds at the relay for itself.
const STRANGERS_SPACE: SpaceId = SpaceId([0x66; 16]);

#[test]
fn a_stranger_cannot_fill_the_answers_of_a_device_that_never_asked_it() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path());
    let c = Client::new(&relay);
    let victim = device(10);

    // The real admin's invite, and the victim's request under it.
    let mut f = found(&c, SPACE, &[]);
    let invite = new_invite(SPACE, 1);
    f.push(&c, invite_op(invite, now() + 3600));
    let r = c.sync(
        &victim,
        &joins(vec![post(SPACE, invite, b"let me in")], vec![]),
    );
    assert!(r.refused_join_requests.is_empty());

    // A stranger founds a space of its own, opens seventeen invites there and spends each on the
    // victim's device id, which never asked under any of them. Its log is its own to write: every
    // statement is accepted.
    let mut s = found_by(&c, STRANGERS_SPACE, device(66), &[]);
    let invites: Vec<InviteId> = (1..=17u8).map(|i| new_invite(STRANGERS_SPACE, i)).collect();
    let mut envs = Vec::new();
    for &inv in &invites {
        envs.push(s.sign(invite_op(inv, now() + 3600)));
        envs.push(s.sign(admit_op(&victim, inv)));
    }
    for batch in envs.chunks(16) {
        let r = c.sync(&s.admin, &request(vec![s.vector()], batch.to_vec()));
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    }

    // (a) Its answers for the victim (sixteen would fill the victim's mailbox) are refused, each
    // with a reason of its own, and nothing is kept for the victim.
    let junk: Vec<JoinAnswer> = invites
        .iter()
        .map(|&inv| answer(STRANGERS_SPACE, inv, &victim, b"junk"))
        .collect();
    let r = c.sync(&s.admin, &joins(vec![], junk.clone()));
    let expected: Vec<(u32, &str)> = (0..17).map(|i| (i, "not-requested")).collect();
    assert_eq!(refusals(&r.refused_join_answers), expected);
    assert!(c.mailbox(&victim, vec![]).join_answers.is_empty());

    // (c) Posting them again, or at the largest size (two would fill the victim's bytes), keeps
    // nothing and starts no clock: the refusal is the same every time.
    let large: Vec<JoinAnswer> = invites[..2]
        .iter()
        .map(|&inv| answer(STRANGERS_SPACE, inv, &victim, &vec![7; MAX_JOIN_ANSWER_LEN]))
        .collect();
    for again in [junk.clone(), large, junk] {
        let n = again.len() as u32;
        let r = c.sync(&s.admin, &joins(vec![], again));
        let expected: Vec<(u32, &str)> = (0..n).map(|i| (i, "not-requested")).collect();
        assert_eq!(refusals(&r.refused_join_answers), expected);
    }
    assert!(c.mailbox(&victim, vec![]).join_answers.is_empty());

    // (b) The real admin's answer, for the request the victim did leave, is kept and delivered.
    let welcome = answer(SPACE, invite, &victim, b"welcome: key and log");
    let admit = f.sign(admit_op(&victim, invite));
    let mut req = request(vec![f.vector()], vec![admit]);
    req.join_answers = vec![welcome.clone()];
    let r = c.sync(&f.admin, &req);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(
        r.refused_join_answers.is_empty(),
        "{:?}",
        r.refused_join_answers
    );
    assert_eq!(c.mailbox(&victim, vec![]).join_answers, vec![welcome]);

    // An answer for a device that asked under another invite than the one it names is refused
    // too: asking under the real invite opens no other.
    let r = c.sync(
        &s.admin,
        &joins(
            vec![],
            vec![answer(STRANGERS_SPACE, invites[0], &victim, b"x")],
        ),
    );
    assert_eq!(
        refusals(&r.refused_join_answers),
        vec![(0, "not-requested")]
    );
    relay.shutdown();
}
