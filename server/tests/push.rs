//! Registering for wake-ups (protocol 28.9; issue 16, item 4): a device keeps one subscription at
//! the relay, set and removed by itself alone, once the relay has given it some space; only a device the relay gave a space's envelopes to
//! is ever a candidate to be woken for that space, never one merely named in its log or a stranger;
//! bad registrations are refused and lose nothing; a relay without a push key takes none.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::StatusCode;
use sebaya_proto::membership::Role;
use sebaya_proto::push::{PUSH_PATH, PushRequest, PushResponse, PushSubscription};
use sebaya_proto::request::RequestAuth;
use sebaya_proto::sync;
use sebaya_proto::{DeviceId, SpaceId};
use sebaya_relay::webpush::VapidKey;
use sebaya_relay::{RelayHandle, RelayState};
use serde_bytes::ByteBuf;
use support::{Client, Device, Founded, device, empty_vector, request};

fn start(dir: &std::path::Path, with_key: bool) -> (RelayHandle, Option<[u8; 65]>) {
    let mut state = RelayState::open_database(&support::database(dir)).unwrap();
    let mut public = None;
    if with_key {
        let rng = ring::rand::SystemRandom::new();
        let (key, _) = VapidKey::generate(&rng).unwrap();
        public = Some(key.public_key());
        state = state
            .with_push_key(
                key,
                sebaya_relay::wakeups::WakeSettings::new("mailto:ops@example.org"),
            )
            .unwrap();
    }
    let handle = sebaya_relay::spawn_state(state, "127.0.0.1:0".parse().unwrap()).unwrap();
    (handle, public)
}

/// A subscription with a real P-256 public key (the relay refuses a point off the curve).
fn subscription(n: u8, endpoint: &str) -> PushSubscription {
    let rng = ring::rand::SystemRandom::new();
    let key =
        ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::ECDH_P256, &rng).unwrap();
    let p256dh = key.compute_public_key().unwrap().as_ref().to_vec();
    PushSubscription {
        endpoint: endpoint.to_owned(),
        p256dh: ByteBuf::from(p256dh),
        auth: ByteBuf::from(vec![n; 16]),
    }
}

fn register(c: &Client, dev: &Device, s: Option<PushSubscription>) -> reqwest::blocking::Response {
    let body = sync::encode(&PushRequest {
        v: 1,
        subscription: s,
    })
    .unwrap();
    c.post_signed(dev, PUSH_PATH, body)
}

fn candidates(dir: &std::path::Path, space: SpaceId) -> Vec<(DeviceId, String)> {
    support::open_store(dir)
        .wake_candidates(&space)
        .unwrap()
        .into_iter()
        .map(|(d, s)| (d, s.endpoint))
        .collect()
}

#[test]
fn only_a_device_given_the_space_is_a_candidate_and_only_it_sets_its_subscription() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, key) = start(dir.path(), true);
    let c = Client::new(&relay.url());
    let space = SpaceId([0x51; 16]);
    let mut f = Founded::new(&c, space);
    let (member, named, stranger) = (device(1), device(3), device(2));
    f.add(&c, &member, Role::Member, None);
    f.add(&c, &named, Role::Member, None);

    // Nobody was given the space yet: a subscription is refused to all three, while asking for the
    // key (registering `null`) is open to anyone.
    for (dev, n) in [(&member, 1), (&named, 3), (&stranger, 2)] {
        let url = format!("https://push.example.net/s/{n}");
        let resp = register(&c, dev, Some(subscription(n, &url)));
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = register(&c, dev, None);
        assert_eq!(resp.status(), StatusCode::OK);
        let answer: PushResponse = sync::decode(&resp.bytes().unwrap()).unwrap();
        assert_eq!((answer.v, answer.key.to_vec()), (1, key.unwrap().to_vec()));
    }
    assert_eq!(candidates(dir.path(), space), vec![]);

    // The member pulls and may then register; the stranger's pull is refused, so it still may not,
    // and the device named in the log but never given anything may not either.
    c.sync(&member, &request(vec![empty_vector(space)], vec![]));
    let refused = c.sync(&stranger, &request(vec![empty_vector(space)], vec![]));
    assert_eq!(refused.refused_spaces.len(), 1);
    let url = "https://push.example.net/s/1";
    assert_eq!(
        register(&c, &member, Some(subscription(1, url))).status(),
        StatusCode::OK
    );
    for (dev, n) in [(&named, 3), (&stranger, 2)] {
        let url = format!("https://push.example.net/s/{n}");
        let resp = register(&c, dev, Some(subscription(n, &url)));
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        candidates(dir.path(), space),
        vec![(member.id, "https://push.example.net/s/1".to_owned())]
    );

    // A new subscription replaces the old; removing it leaves nothing to wake.
    let resp = register(
        &c,
        &member,
        Some(subscription(1, "https://push.example.org/new")),
    );
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        candidates(dir.path(), space),
        vec![(member.id, "https://push.example.org/new".to_owned())]
    );
    assert_eq!(register(&c, &member, None).status(), StatusCode::OK);
    assert_eq!(candidates(dir.path(), space), vec![]);
    relay.shutdown();
}

#[test]
fn bad_registrations_are_refused_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, _) = start(dir.path(), true);
    let c = Client::new(&relay.url());
    let space = SpaceId([0x52; 16]);
    let mut f = Founded::new(&c, space);
    let member = device(1);
    f.add(&c, &member, Role::Member, None);
    let good = subscription(1, "https://push.example.net/s/1");
    c.sync(&member, &request(vec![empty_vector(space)], vec![]));
    assert_eq!(
        register(&c, &member, Some(good.clone())).status(),
        StatusCode::OK
    );

    let mut bad = Vec::new();
    for endpoint in [
        "http://push.example.net/s",
        "http://10.1.2.3/admin",
        "ftp://x/y",
        "",
        "no url",
    ] {
        bad.push(subscription(1, endpoint));
    }
    let long = format!("https://push.example.net/{}", "a".repeat(1100));
    bad.push(subscription(1, &long));
    let mut short_key = good.clone();
    short_key.p256dh.truncate(64);
    bad.push(short_key);
    let mut compressed = good.clone();
    compressed.p256dh[0] = 2;
    bad.push(compressed);
    let mut off_curve = good.clone();
    off_curve.p256dh[64] ^= 1;
    bad.push(off_curve);
    let mut long_auth = good.clone();
    long_auth.auth.push(0);
    bad.push(long_auth);
    for s in bad {
        let resp = register(&c, &member, Some(s));
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
    let v2 = sync::encode(&PushRequest {
        v: 2,
        subscription: Some(good.clone()),
    })
    .unwrap();
    assert_eq!(
        c.post_signed(&member, PUSH_PATH, v2).status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.post_signed(&member, PUSH_PATH, b"not cbor".to_vec())
            .status(),
        StatusCode::BAD_REQUEST
    );
    // Unsigned, and signed for another path.
    let http = support::http();
    let unsigned = http
        .post(format!("{}{PUSH_PATH}", relay.url()))
        .header("content-type", "application/cbor")
        .body(
            sync::encode(&PushRequest {
                v: 1,
                subscription: None,
            })
            .unwrap(),
        )
        .send()
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    // A replayed request: the same id twice.
    let body = sync::encode(&PushRequest {
        v: 1,
        subscription: None,
    })
    .unwrap();
    let auth = RequestAuth::sign(
        &member.key,
        member.id,
        &c.relay_id,
        "POST",
        PUSH_PATH,
        support::now(),
        [7; 16],
        &body,
    )
    .unwrap();
    let send = || {
        let mut r = http
            .post(format!("{}{PUSH_PATH}", relay.url()))
            .header("content-type", "application/cbor")
            .body(body.clone());
        for (name, value) in auth.to_headers() {
            r = r.header(name, value);
        }
        r.send().unwrap().status()
    };
    let wrong_path = {
        let wait_auth = RequestAuth::sign(
            &member.key,
            member.id,
            &c.relay_id,
            "POST",
            sebaya_proto::live::WAIT_PATH,
            support::now(),
            [8; 16],
            &body,
        )
        .unwrap();
        let mut r = http
            .post(format!("{}{PUSH_PATH}", relay.url()))
            .header("content-type", "application/cbor")
            .body(body.clone());
        for (name, value) in wait_auth.to_headers() {
            r = r.header(name, value);
        }
        r.send().unwrap().status()
    };
    assert_eq!(wrong_path, StatusCode::UNAUTHORIZED);
    // Nothing refused above changed the subscription.
    assert_eq!(
        candidates(dir.path(), space),
        vec![(member.id, "https://push.example.net/s/1".to_owned())]
    );
    assert_eq!(send(), StatusCode::OK);
    assert_eq!(send(), StatusCode::CONFLICT);
    assert_eq!(candidates(dir.path(), space), vec![]);
    relay.shutdown();
}

#[test]
fn a_relay_without_a_push_key_takes_no_registration() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, _) = start(dir.path(), false);
    let c = Client::new(&relay.url());
    let resp = register(
        &c,
        &device(1),
        Some(subscription(1, "https://push.example.net/s/1")),
    );
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Nor does it keep who reads what (review finding F6): a pull notes no reader.
    let space = SpaceId([0x53; 16]);
    let mut f = Founded::new(&c, space);
    let member = device(1);
    f.add(&c, &member, Role::Member, None);
    let r = c.sync(&member, &request(vec![empty_vector(space)], vec![]));
    assert!(r.refused_spaces.is_empty());
    let store = support::open_store(dir.path());
    assert!(!store.reads_any(&member.id).unwrap());
    assert!(!store.reads_any(&f.admin.id).unwrap());
    relay.shutdown();
}
