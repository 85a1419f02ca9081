//! Sending wake-ups (protocol 28.8; issue 16, item 4) to a Web Push service on loopback that checks
//! every request as a push service does (`support/push_service.rs`): a push wakes the space's other
//! readers, coalesced and jittered, never the pusher, a removed member or a stranger named in a log;
//! a gone subscription is deleted; a throttled service is waited for; one key per database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sebaya_proto::SpaceId;
use sebaya_proto::membership::Role;
use sebaya_proto::push::{PUSH_PATH, PushRequest, PushSubscription};
use sebaya_proto::sync;
use sebaya_relay::metrics::{Metrics, WakeOutcome};
use sebaya_relay::wakeups::{KeyError, WakeSettings};
use sebaya_relay::webpush::VapidKey;
use sebaya_relay::{RelayHandle, RelayState};
use support::push_service::{PushService, Sub};
use support::{Client, Device, Founded, device, empty_vector, request, seal};

const INTERVAL: Duration = Duration::from_millis(1500);
const JITTER: Duration = Duration::from_millis(300);

fn settings() -> WakeSettings {
    WakeSettings {
        interval: INTERVAL,
        jitter: JITTER,
        contact: "mailto:ops@example.org".to_owned(),
        allow_loopback: true,
        ..WakeSettings::new("mailto:ops@example.org")
    }
}

struct Relay {
    handle: RelayHandle,
    metrics: std::sync::Arc<Metrics>,
    client: Client,
}

fn start(dir: &std::path::Path, service: &PushService, settings: WakeSettings) -> Relay {
    let rng = ring::rand::SystemRandom::new();
    let key = VapidKey::load_or_create(&dir.join("vapid.p8"), &rng).unwrap();
    service.expect_key(key.public_key());
    let state = RelayState::open_database(&support::database(dir))
        .unwrap()
        .with_push_key(key, settings)
        .unwrap();
    let metrics = state.metrics();
    let handle = sebaya_relay::spawn_state(state, "127.0.0.1:0".parse().unwrap()).unwrap();
    let client = Client::new(&handle.url());
    Relay {
        handle,
        metrics,
        client,
    }
}

fn register(c: &Client, dev: &Device, s: PushSubscription) -> StatusCode {
    let body = sync::encode(&PushRequest {
        v: 1,
        subscription: Some(s),
    })
    .unwrap();
    c.post_signed(dev, PUSH_PATH, body).status()
}

/// `dev` pulls `space` (which makes it a reader) and registers `sub`.
fn read_and_register(c: &Client, dev: &Device, space: SpaceId, sub: &Sub) {
    let r = c.sync(dev, &request(vec![empty_vector(space)], vec![]));
    assert!(r.refused_spaces.is_empty(), "{:?}", r.refused_spaces);
    assert_eq!(register(c, dev, sub.registration()), StatusCode::OK);
}

fn push_change(c: &Client, dev: &Device, space: SpaceId, seq: u64) {
    let r = c.sync(
        dev,
        &request(vec![empty_vector(space)], vec![seal(dev, space, seq, b"x")]),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
}

#[test]
fn a_push_wakes_the_other_readers_once_per_interval_and_never_the_pusher() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    let relay = start(dir.path(), &service, settings());
    let c = &relay.client;
    let space = SpaceId([0x61; 16]);
    let mut f = Founded::new(c, space);
    let (a, b) = (device(1), device(2));
    f.add(c, &a, Role::Member, None);
    f.add(c, &b, Role::Member, None);
    let (sa, sb, sadmin) = (
        service.subscribe("a"),
        service.subscribe("b"),
        service.subscribe("admin"),
    );
    read_and_register(c, &a, space, &sa);
    read_and_register(c, &b, space, &sb);
    read_and_register(c, &f.admin, space, &sadmin);

    let pushed = Instant::now();
    push_change(c, &a, space, 1);
    let woke_b = service.wait_for(&sb, 1, Duration::from_secs(10));
    let woke_admin = service.wait_for(&sadmin, 1, Duration::from_secs(10));
    assert_eq!((woke_b.len(), woke_admin.len()), (1, 1));
    // Within the jitter (and the test's own slack), not at once for certain but soon.
    for w in [&woke_b[0], &woke_admin[0]] {
        assert!(w.at.duration_since(pushed) < JITTER + Duration::from_secs(3));
    }

    // More pushes within the interval ride on one more wake-up, an interval after the first.
    push_change(c, &a, space, 2);
    push_change(c, &a, space, 3);
    push_change(c, &a, space, 4);
    let woke_b = service.wait_for(&sb, 2, Duration::from_secs(10));
    assert_eq!(woke_b.len(), 2);
    assert!(
        woke_b[1].at.duration_since(woke_b[0].at) >= INTERVAL - Duration::from_millis(50),
        "{:?}",
        woke_b[1].at.duration_since(woke_b[0].at)
    );
    std::thread::sleep(INTERVAL + JITTER + Duration::from_millis(500));
    assert_eq!(service.arrivals_for(&sb).len(), 2, "coalesced");
    assert_eq!(service.arrivals_for(&sadmin).len(), 2, "coalesced");
    // The pusher is never woken by its own pushes.
    assert_eq!(service.arrivals_for(&sa).len(), 0);
    service.assert_no_problems();
    assert_eq!(relay.metrics.wakeups(WakeOutcome::Sent), 4);
    let text = relay.metrics.render(None);
    assert!(
        text.contains("sebaya_relay_wakeups_sent_total{outcome=\"sent\"} 4"),
        "{text}"
    );
    relay.handle.shutdown();
}

#[test]
fn a_removed_member_and_a_stranger_named_in_a_log_are_never_woken() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    let relay = start(dir.path(), &service, settings());
    let c = &relay.client;
    let space = SpaceId([0x62; 16]);
    let mut f = Founded::new(c, space);
    let (a, removed, victim) = (device(1), device(2), device(3));
    f.add(c, &a, Role::Member, None);
    f.add(c, &removed, Role::Member, None);
    f.add(c, &victim, Role::Member, None);
    let (sa, sr, sv) = (
        service.subscribe("a"),
        service.subscribe("removed"),
        service.subscribe("victim"),
    );
    read_and_register(c, &a, space, &sa);
    read_and_register(c, &removed, space, &sr);
    read_and_register(c, &victim, space, &sv);

    // A stranger founds a space of its own naming the victim, who never pulled it, and pushes to it:
    // that wakes nobody.
    let stranger_space = SpaceId([0x63; 16]);
    let mut g = Founded::new(c, stranger_space);
    g.add(c, &victim, Role::Member, None);
    // (The admin's own statements took its sequence numbers 1 and 2.)
    push_change(c, &g.admin, stranger_space, 3);
    push_change(c, &g.admin, stranger_space, 4);
    std::thread::sleep(JITTER + Duration::from_secs(1));
    assert_eq!(service.arrivals_for(&sv).len(), 0, "woken by a stranger");

    // The admin removes a member: its reader row and subscription stay, yet it is never woken,
    // while the others are, by the removal and by the next push.
    f.remove(c, &removed, 0);
    assert_eq!(service.wait_for(&sv, 1, Duration::from_secs(10)).len(), 1);
    std::thread::sleep(INTERVAL);
    push_change(c, &a, space, 1);
    assert_eq!(service.wait_for(&sv, 2, Duration::from_secs(10)).len(), 2);
    std::thread::sleep(JITTER + Duration::from_millis(500));
    assert_eq!(service.arrivals_for(&sr).len(), 0, "the removed member");
    // Judged once as unable to read the space, the removed member is no longer noted as its reader.
    let candidates: Vec<_> = support::open_store(dir.path())
        .wake_candidates(&space)
        .unwrap()
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    assert!(!candidates.contains(&removed.id));
    assert!(candidates.contains(&victim.id));
    assert_eq!(
        service.arrivals_for(&sa).len(),
        1,
        "woken by the removal only"
    );
    service.assert_no_problems();
    relay.handle.shutdown();
}

#[test]
fn a_gone_subscription_is_deleted_and_a_throttled_service_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    let relay = start(dir.path(), &service, settings());
    let c = &relay.client;
    let space = SpaceId([0x64; 16]);
    let mut f = Founded::new(c, space);
    let (a, gone, busy) = (device(1), device(2), device(3));
    for d in [&a, &gone, &busy] {
        f.add(c, d, Role::Member, None);
    }
    let (sg, sb) = (service.subscribe("gone"), service.subscribe("busy"));
    service.answer("gone", &[(410, None)]);
    service.answer("busy", &[(429, Some(3))]);
    read_and_register(c, &gone, space, &sg);
    read_and_register(c, &busy, space, &sb);
    let pushed = Instant::now();
    push_change(c, &a, space, 1);

    assert_eq!(service.wait_for(&sg, 1, Duration::from_secs(10)).len(), 1);
    let deleted = Instant::now() + Duration::from_secs(5);
    while support::open_store(dir.path())
        .wake_candidates(&space)
        .unwrap()
        .iter()
        .any(|(d, _)| *d == gone.id)
    {
        assert!(Instant::now() < deleted, "the gone subscription was kept");
        std::thread::sleep(Duration::from_millis(50));
    }

    // 429 with Retry-After: 3 s: tried again, not before.
    let busy_posts = service.wait_for(&sb, 2, Duration::from_secs(15));
    assert_eq!(busy_posts.len(), 2);
    assert_eq!(busy_posts[0].status, 429);
    assert!(
        busy_posts[1].at.duration_since(busy_posts[0].at) >= Duration::from_millis(2950),
        "{:?}",
        busy_posts[1].at.duration_since(busy_posts[0].at)
    );
    assert!(busy_posts[1].at.duration_since(pushed) < Duration::from_secs(10));
    // And the gone one is never posted to again.
    push_change(c, &a, space, 2);
    std::thread::sleep(INTERVAL + JITTER + Duration::from_millis(500));
    assert_eq!(service.arrivals_for(&sg).len(), 1);
    service.assert_no_problems();
    assert_eq!(relay.metrics.wakeups(WakeOutcome::Gone), 1);
    assert_eq!(relay.metrics.wakeups(WakeOutcome::Throttled), 1);
    relay.handle.shutdown();
}

#[test]
fn endpoints_on_private_addresses_are_refused_at_registration() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    // Without the tests' switch, as every relay runs.
    let relay = start(
        dir.path(),
        &service,
        WakeSettings {
            allow_loopback: false,
            ..settings()
        },
    );
    let c = &relay.client;
    let space = SpaceId([0x65; 16]);
    let mut f = Founded::new(c, space);
    let a = device(1);
    f.add(c, &a, Role::Member, None);
    c.sync(&a, &request(vec![empty_vector(space)], vec![]));
    let sub = service.subscribe("a");
    for endpoint in [
        sub.endpoint.as_str(),
        "https://127.0.0.1/p",
        "https://10.0.0.7:5432/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00::1]/p",
        "https://[::ffff:10.0.0.1]/p",
        "https://0x7f.1/p",
        "https://localhost/p",
        "https://user:pw@push.example.net/p",
    ] {
        let mut s = sub.registration();
        s.endpoint = endpoint.to_owned();
        assert_eq!(register(c, &a, s), StatusCode::BAD_REQUEST, "{endpoint}");
    }
    let mut s = sub.registration();
    s.endpoint = "https://push.example.net/p".to_owned();
    assert_eq!(register(c, &a, s), StatusCode::OK);
    relay.handle.shutdown();
}

#[test]
fn relays_racing_on_one_key_file_share_its_key_and_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("vapid.p8");
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let (file, db) = (key_file.clone(), dir.path().to_path_buf());
            std::thread::spawn(move || {
                let key =
                    VapidKey::load_or_create(&file, &ring::rand::SystemRandom::new()).unwrap();
                let public = key.public_key();
                RelayState::open_database(&support::database(&db))
                    .unwrap()
                    .with_push_key(key, settings())
                    .map(|_| public)
            })
        })
        .collect();
    let keys: Vec<[u8; 65]> = starts
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]));
    // A node given another key file refuses to start, saying why and naming no key.
    let other = VapidKey::load_or_create(
        &dir.path().join("other.p8"),
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    let err = RelayState::open_database(&support::database(dir.path()))
        .unwrap()
        .with_push_key(other, settings())
        .unwrap_err();
    assert!(matches!(err, KeyError::Mismatch));
    assert!(err.to_string().contains("same key file"), "{err}");
}

#[test]
fn an_endpoint_is_shared_by_few_devices_and_the_relay_keeps_a_bounded_number() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    let relay = start(
        dir.path(),
        &service,
        WakeSettings {
            max_subscriptions: 6,
            ..settings()
        },
    );
    let c = &relay.client;
    let space = SpaceId([0x66; 16]);
    let mut f = Founded::new(c, space);
    let devices: Vec<Device> = (1..=8).map(device).collect();
    for d in &devices {
        f.add(c, d, Role::Member, None);
        c.sync(d, &request(vec![empty_vector(space)], vec![]));
    }
    // One endpoint (a victim's, or a push service's URL meant to get this relay throttled) held by
    // many devices would turn one push into many posts to it: a few may share it, no more.
    let shared = service.subscribe("shared");
    let per_endpoint = sebaya_relay::wakeups::MAX_DEVICES_PER_ENDPOINT;
    for (i, d) in devices.iter().enumerate() {
        let want = if i < per_endpoint {
            StatusCode::OK
        } else {
            StatusCode::CONFLICT
        };
        assert_eq!(register(c, d, shared.registration()), want, "device {i}");
    }
    // The relay keeps at most its bound in all; a device holding one may always replace it.
    let mut kept = per_endpoint;
    let mut refused = 0;
    for (i, d) in devices.iter().enumerate().skip(per_endpoint) {
        let own = service.subscribe(&format!("own{i}"));
        match register(c, d, own.registration()) {
            StatusCode::OK => kept += 1,
            StatusCode::SERVICE_UNAVAILABLE => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((kept, refused), (6, 2));
    let again = service.subscribe("again");
    assert_eq!(
        register(c, &devices[0], again.registration()),
        StatusCode::OK
    );
    relay.handle.shutdown();
}

/// Review S2: one endpoint spelt many ways (a fragment, which is never sent; a dot segment; the
/// scheme's or host's case) is one endpoint: a fragment is refused, and the other spellings count
/// against the same few devices.
#[test]
fn an_endpoint_spelt_another_way_counts_as_the_same_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    let relay = start(dir.path(), &service, settings());
    let c = &relay.client;
    let space = SpaceId([0x67; 16]);
    let mut f = Founded::new(c, space);
    let devices: Vec<Device> = (1..=8).map(device).collect();
    for d in &devices {
        f.add(c, d, Role::Member, None);
        c.sync(d, &request(vec![empty_vector(space)], vec![]));
    }
    let shared = service.subscribe("spelt");
    let per_endpoint = sebaya_relay::wakeups::MAX_DEVICES_PER_ENDPOINT;
    for d in devices.iter().take(per_endpoint) {
        assert_eq!(register(c, d, shared.registration()), StatusCode::OK);
    }
    let spelt = |endpoint: String| {
        let mut s = shared.registration();
        s.endpoint = endpoint;
        s
    };
    let e = shared.endpoint.clone();
    let fragment = spelt(format!("{e}#{}", per_endpoint + 1));
    assert_eq!(
        register(c, &devices[per_endpoint], fragment),
        StatusCode::BAD_REQUEST
    );
    let (scheme, rest) = e.split_once("://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    for (i, other) in [
        format!("{}://{rest}", scheme.to_ascii_uppercase()),
        format!("{scheme}://{host}/./{path}"),
        format!("{scheme}://{host}/x/../{path}"),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            register(c, &devices[per_endpoint + i], spelt(other.clone())),
            StatusCode::CONFLICT,
            "{other}"
        );
    }
    relay.handle.shutdown();
}
