//! Live sync at the relay (protocol section 28; issue 16, item 2): `POST /v1/wait` answers when a
//! named space holds something the device lacks, names only such spaces of those it may read, ends
//! at its timeout with nothing, is refused to strangers and removed devices and beyond its bounds,
//! and ends when the relay shuts down. No assertion here is about timing: each wait is given far
//! longer than the test could need, and what it answers is checked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sebaya_proto::SpaceId;
use sebaya_proto::live::{WAIT_PATH, WaitRequest, WaitResponse};
use sebaya_proto::membership::Role;
use sebaya_proto::sync::{self, SpaceVector};
use sebaya_relay::live::LiveLimits;
use sebaya_relay::{RelayHandle, RelayState};

use support::{Client, Device, Founded, device, empty_vector, request, seal};

fn start(dir: &std::path::Path, limits: LiveLimits) -> (RelayHandle, RelayState) {
    let state = RelayState::open_database(&support::database(dir))
        .unwrap()
        .with_live_limits(limits);
    let handle = sebaya_relay::spawn_state(state.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    (handle, state)
}

fn wait_body(spaces: Vec<SpaceVector>, timeout_ms: u64) -> Vec<u8> {
    sync::encode(&WaitRequest {
        v: 1,
        spaces,
        timeout_ms,
    })
    .unwrap()
}

/// Waits as `dev` on `spaces` and returns the changed spaces (the status must be 200).
fn wait(c: &Client, dev: &Device, spaces: Vec<SpaceVector>, timeout_ms: u64) -> Vec<SpaceId> {
    let resp = c.post_signed(dev, WAIT_PATH, wait_body(spaces, timeout_ms));
    assert_eq!(resp.status(), StatusCode::OK);
    let answer: WaitResponse = sync::decode(&resp.bytes().unwrap()).unwrap();
    answer.spaces().unwrap()
}

/// What `dev` holds of `space` after pulling everything: the relay's vector.
fn pulled(c: &Client, dev: &Device, space: SpaceId) -> SpaceVector {
    let r = c.sync(dev, &request(vec![empty_vector(space)], vec![]));
    assert!(r.refused_spaces.is_empty(), "{:?}", r.refused_spaces);
    r.spaces.into_iter().next().unwrap()
}

/// Polls until the relay holds `n` waits (a registration the test must not race), for at most a
/// minute.
fn until_waiting(state: &RelayState, n: usize) {
    let start = Instant::now();
    while state.live().waiting() != n {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no wait registered"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn error_code(resp: reqwest::blocking::Response) -> (StatusCode, String) {
    let status = resp.status();
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().unwrap()).unwrap();
    (status, body["error"].as_str().unwrap().to_string())
}

#[test]
fn a_push_by_another_device_answers_a_wait_with_exactly_its_space() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, _state) = start(dir.path(), LiveLimits::default());
    let c = Client::new(&relay.url());
    let (alice, bob) = (device(1), device(2));
    let (a, b) = (SpaceId([1; 16]), SpaceId([2; 16]));
    let mut fa = Founded::new(&c, a);
    fa.add(&c, &alice, Role::Member, None);
    fa.add(&c, &bob, Role::Member, None);
    let mut fb = Founded::new(&c, b);
    fb.add(&c, &bob, Role::Member, None);
    let held = vec![pulled(&c, &bob, a), pulled(&c, &bob, b)];

    let waiter = {
        let c = Client::new(&relay.url());
        let held = held.clone();
        std::thread::spawn(move || wait(&c, &device(2), held, 20_000))
    };
    let r = c.sync(
        &alice,
        &request(vec![empty_vector(a)], vec![seal(&alice, a, 1, b"referral")]),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(waiter.join().unwrap(), vec![a]);

    // Held already: a new wait with the old vectors is answered at once, and one with the new
    // vectors and a short timeout ends with nothing.
    assert_eq!(wait(&c, &bob, held, 20_000), vec![a]);
    let now_held = vec![pulled(&c, &bob, a), pulled(&c, &bob, b)];
    assert_eq!(wait(&c, &bob, now_held, 100), Vec::<SpaceId>::new());
}

#[test]
fn a_device_own_push_does_not_answer_its_wait_and_another_push_does() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, state) = start(dir.path(), LiveLimits::default());
    let c = Client::new(&relay.url());
    let (alice, bob) = (device(1), device(2));
    let (a, b) = (SpaceId([1; 16]), SpaceId([2; 16]));
    for space in [a, b] {
        let mut f = Founded::new(&c, space);
        f.add(&c, &alice, Role::Member, None);
        f.add(&c, &bob, Role::Member, None);
    }
    // Bob's vector of `a` already counts the envelope he is about to push from another connection.
    let mut held_a = pulled(&c, &bob, a);
    held_a.vector.push(sebaya_proto::sync::AuthorSeq {
        author: bob.id.0.to_vec(),
        seq: 1,
    });
    let held = vec![held_a.clone(), pulled(&c, &bob, b)];
    let waiter = {
        let c = Client::new(&relay.url());
        std::thread::spawn(move || wait(&c, &device(2), held, 20_000))
    };
    until_waiting(&state, 1);
    let r = c.sync(
        &bob,
        &request(vec![held_a], vec![seal(&bob, a, 1, b"mine")]),
    );
    assert!(r.rejected.is_empty());
    c.sync(
        &alice,
        &request(vec![empty_vector(b)], vec![seal(&alice, b, 1, b"x")]),
    );
    assert_eq!(waiter.join().unwrap(), vec![b]);
}

#[test]
fn spaces_the_device_may_not_read_are_never_named_and_alone_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, state) = start(dir.path(), LiveLimits::default());
    let c = Client::new(&relay.url());
    let (alice, bob, carol) = (device(1), device(2), device(3));
    let (mine, theirs, unknown) = (SpaceId([1; 16]), SpaceId([2; 16]), SpaceId([9; 16]));
    let mut fm = Founded::new(&c, mine);
    fm.add(&c, &alice, Role::Member, None);
    fm.add(&c, &bob, Role::Member, None);
    let mut ft = Founded::new(&c, theirs);
    ft.add(&c, &carol, Role::Member, None);

    // Alone, a space the device may not read and one that does not exist get the same refusal.
    for space in [theirs, unknown] {
        let resp = c.post_signed(&bob, WAIT_PATH, wait_body(vec![empty_vector(space)], 1000));
        assert_eq!(
            error_code(resp),
            (StatusCode::FORBIDDEN, "not-a-member".to_string())
        );
    }
    // A stranger to every space too.
    let resp = c.post_signed(
        &device(50),
        WAIT_PATH,
        wait_body(vec![empty_vector(mine)], 1000),
    );
    assert_eq!(
        error_code(resp),
        (StatusCode::FORBIDDEN, "not-a-member".to_string())
    );

    // Mixed with a readable space: the others are left out; a push into Carol's space, which Bob's
    // empty vector lacks, neither answers nor ends his wait; a push into his own space does.
    let held = vec![
        empty_vector(theirs),
        pulled(&c, &bob, mine),
        empty_vector(unknown),
    ];
    let waiter = {
        let c = Client::new(&relay.url());
        std::thread::spawn(move || wait(&c, &device(2), held, 20_000))
    };
    until_waiting(&state, 1);
    c.sync(
        &carol,
        &request(
            vec![empty_vector(theirs)],
            vec![seal(&carol, theirs, 1, b"x")],
        ),
    );
    assert_eq!(state.live().waiting(), 1);
    c.sync(
        &alice,
        &request(vec![empty_vector(mine)], vec![seal(&alice, mine, 1, b"y")]),
    );
    assert_eq!(waiter.join().unwrap(), vec![mine]);
}

#[test]
fn a_removed_device_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, _state) = start(dir.path(), LiveLimits::default());
    let c = Client::new(&relay.url());
    let bob = device(2);
    let a = SpaceId([1; 16]);
    let mut fa = Founded::new(&c, a);
    fa.add(&c, &bob, Role::Member, None);
    let held = pulled(&c, &bob, a);
    assert_eq!(
        wait(&c, &bob, vec![held.clone()], 50),
        Vec::<SpaceId>::new()
    );
    fa.remove(&c, &bob, 0);
    let resp = c.post_signed(&bob, WAIT_PATH, wait_body(vec![held], 1000));
    assert_eq!(
        error_code(resp),
        (StatusCode::FORBIDDEN, "not-a-member".to_string())
    );
}

#[test]
fn unsigned_replayed_and_malformed_waits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, _state) = start(dir.path(), LiveLimits::default());
    let c = Client::new(&relay.url());
    let bob = device(2);
    let a = SpaceId([1; 16]);
    let mut fa = Founded::new(&c, a);
    fa.add(&c, &bob, Role::Member, None);
    // A body signed for /v1/sync does not verify for /v1/wait.
    let body = wait_body(vec![empty_vector(a)], 10);
    let auth = sebaya_proto::request::RequestAuth::sign(
        &bob.key,
        bob.id,
        &c.relay_id,
        "POST",
        "/v1/sync",
        support::now(),
        support::request_id(),
        &body,
    )
    .unwrap();
    let mut r = c
        .http
        .post(format!("{}{WAIT_PATH}", c.base))
        .body(body.clone());
    for (name, value) in auth.to_headers() {
        r = r.header(name, value);
    }
    assert_eq!(
        error_code(r.send().unwrap()),
        (StatusCode::UNAUTHORIZED, "bad-signature".to_string())
    );
    let resp = c.post_signed(&bob, WAIT_PATH, wait_body(vec![], 10));
    assert_eq!(
        error_code(resp),
        (StatusCode::BAD_REQUEST, "malformed".to_string())
    );
    let resp = c.post_signed(
        &bob,
        WAIT_PATH,
        wait_body(vec![empty_vector(a), empty_vector(a)], 10),
    );
    assert_eq!(
        error_code(resp),
        (StatusCode::BAD_REQUEST, "malformed".to_string())
    );
}

#[test]
fn the_bounds_per_device_and_in_all_refuse_with_their_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, state) = start(
        dir.path(),
        LiveLimits {
            per_device: 1,
            total: 2,
        },
    );
    let c = Client::new(&relay.url());
    let (alice, bob, carol) = (device(1), device(2), device(3));
    let a = SpaceId([1; 16]);
    let mut fa = Founded::new(&c, a);
    for d in [&alice, &bob, &carol] {
        fa.add(&c, d, Role::Member, None);
    }
    let held = pulled(&c, &bob, a);
    let spawn_wait = |seed: u8| {
        let c = Client::new(&relay.url());
        let held = vec![held.clone()];
        std::thread::spawn(move || wait(&c, &device(seed), held, 20_000))
    };
    let bob_waits = spawn_wait(2);
    until_waiting(&state, 1);
    let resp = c.post_signed(&bob, WAIT_PATH, wait_body(vec![held.clone()], 20_000));
    assert_eq!(
        error_code(resp),
        (StatusCode::TOO_MANY_REQUESTS, "too-many-waits".to_string())
    );
    let carol_waits = spawn_wait(3);
    until_waiting(&state, 2);
    let resp = c.post_signed(&alice, WAIT_PATH, wait_body(vec![held], 20_000));
    assert_eq!(
        error_code(resp),
        (StatusCode::SERVICE_UNAVAILABLE, "relay-busy".to_string())
    );
    // A push ends both waits; the registry is empty again.
    c.sync(
        &alice,
        &request(vec![empty_vector(a)], vec![seal(&alice, a, 1, b"z")]),
    );
    assert_eq!(bob_waits.join().unwrap(), vec![a]);
    assert_eq!(carol_waits.join().unwrap(), vec![a]);
    until_waiting(&state, 0);
    assert_eq!(state.live().spaces_watched(), 0);
}

#[test]
fn shutting_down_ends_open_waits_with_nothing_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, state) = start(dir.path(), LiveLimits::default());
    let c = Client::new(&relay.url());
    let bob = device(2);
    let a = SpaceId([1; 16]);
    let mut fa = Founded::new(&c, a);
    fa.add(&c, &bob, Role::Member, None);
    let held = vec![pulled(&c, &bob, a)];
    let waiter = {
        let c = Client::new(&relay.url());
        // The client gives up after 20 s (support::http): an answer at all shows the wait ended.
        std::thread::spawn(move || wait(&c, &device(2), held, 25_000))
    };
    until_waiting(&state, 1);
    relay.shutdown();
    assert_eq!(waiter.join().unwrap(), Vec::<SpaceId>::new());
}
