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
        .wake_candidates(&space, 0)
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
        .wake_candidates(&space, 0)
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

/// Review S3: a subscription lapses `lifetime` after it was registered unless the device registers
/// it again: a lapsed one is not woken, no longer holds a place under the relay's bound, and the
/// sender's sweep deletes it; a renewed one lives on.
#[test]
fn a_subscription_not_renewed_lapses_frees_its_place_and_is_swept() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    // Registration times are whole seconds: the margins below are a second or more.
    let lifetime = Duration::from_secs(5);
    let relay = start(
        dir.path(),
        &service,
        WakeSettings {
            max_subscriptions: 2,
            lifetime,
            ..settings()
        },
    );
    let c = &relay.client;
    let space = SpaceId([0x68; 16]);
    let mut f = Founded::new(c, space);
    let (a, b, late) = (device(1), device(2), device(3));
    for d in [&a, &b, &late] {
        f.add(c, d, Role::Member, None);
    }
    let (sa, sb, slate) = (
        service.subscribe("a"),
        service.subscribe("b"),
        service.subscribe("late"),
    );
    read_and_register(c, &a, space, &sa);
    read_and_register(c, &b, space, &sb);
    c.sync(&late, &request(vec![empty_vector(space)], vec![]));
    assert_eq!(
        register(c, &late, slate.registration()),
        StatusCode::SERVICE_UNAVAILABLE,
        "full"
    );
    // a renews 3 s on; b does not.
    let renewed_after = Duration::from_secs(3);
    std::thread::sleep(renewed_after);
    assert_eq!(register(c, &a, sa.registration()), StatusCode::OK);
    // b is now more than a lifetime (and a second) old; a about 3 s.
    std::thread::sleep(lifetime - renewed_after + Duration::from_millis(1200));
    // b's lapsed: its place is free, and it is not woken.
    assert_eq!(register(c, &late, slate.registration()), StatusCode::OK);
    // (The admin's genesis and three additions took its sequence numbers 1 to 4.)
    push_change(c, &f.admin, space, 5);
    assert_eq!(service.wait_for(&sa, 1, Duration::from_secs(10)).len(), 1);
    assert_eq!(
        service.wait_for(&slate, 1, Duration::from_secs(10)).len(),
        1
    );
    std::thread::sleep(JITTER + Duration::from_millis(500));
    assert_eq!(
        service.arrivals_for(&sb).len(),
        0,
        "a lapsed subscription was woken"
    );
    // b went when late registered; a lapsed since, and the sweep (every half lifetime) deleted it:
    // nothing registered before late is left to expire.
    std::thread::sleep(lifetime);
    let store = support::open_store(dir.path());
    // (late registered about a lifetime and a second ago; a three seconds before it.)
    let before_late = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - lifetime.as_secs()
        - 3;
    assert_eq!(store.expire_push_subscriptions(before_late).unwrap(), 0);
    service.assert_no_problems();
    relay.handle.shutdown();
}

/// Review S1: a push service that never answers (here: one that takes the connection and says
/// nothing) holds at most half of the sender's post slots, and each post for at most the post
/// timeout: a wake-up through another service goes out at once meanwhile.
#[test]
fn a_push_service_that_never_answers_holds_back_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    let relay = start(dir.path(), &service, settings());
    let c = &relay.client;
    // Two tarpits (two origins: review P9): each answers its first post at once (review P11: to be
    // taken for a fast service) and then accepts connections, never reads or answers; held open
    // until the test ends.
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let tarpits: Vec<String> = (0..2)
        .map(|_| {
            let tarpit = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let base = format!("http://{}", tarpit.local_addr().unwrap());
            let held = held.clone();
            std::thread::spawn(move || {
                let mut first = true;
                for mut s in tarpit.incoming().flatten() {
                    if std::mem::take(&mut first) {
                        answer_once(&mut s);
                    } else {
                        held.lock().unwrap().push(s);
                    }
                }
            });
            base
        })
        .collect();
    let slow_space = SpaceId([0x69; 16]);
    let mut slow = Founded::new(c, slow_space);
    let n = sebaya_relay::wakeups::POSTS_AT_ONCE;
    let devices: Vec<Device> = (1..=n as u8).map(device).collect();
    // Every member first, then every registration: an addition is a push that would wake those
    // registered before it, and this test counts the tarpit's connections from its own push only.
    for d in &devices {
        slow.add(c, d, Role::Member, None);
        c.sync(d, &request(vec![empty_vector(slow_space)], vec![]));
    }
    for (i, d) in devices.iter().enumerate() {
        let mut s = service.subscribe(&format!("slow{i}")).registration();
        s.endpoint = format!("{}/slow/{i}", tarpits[i % 2]);
        assert_eq!(register(c, d, s), StatusCode::OK);
    }
    // Each tarpit answers one wake-up fast first (a push of the admin's to a space the first two
    // devices read), then hangs the rest.
    let prove_space = SpaceId([0x6e; 16]);
    let mut prove = Founded::new(c, prove_space);
    for d in &devices[..2] {
        prove.add(c, d, Role::Member, None);
        c.sync(d, &request(vec![empty_vector(prove_space)], vec![]));
    }
    push_change(c, &prove.admin, prove_space, 4);
    std::thread::sleep(JITTER + Duration::from_millis(700));
    held.lock().unwrap().clear();
    let ok_space = SpaceId([0x6a; 16]);
    let ok = Founded::new(c, ok_space);
    let mut ok = ok;
    let reader = device(60);
    ok.add(c, &reader, Role::Member, None);
    let sub = service.subscribe("ok");
    read_and_register(c, &reader, ok_space, &sub);

    // (The admin's genesis and additions took sequence numbers 1 to n + 1, and 1 to 2.)
    let slow_pushed = Instant::now();
    push_change(c, &slow.admin, slow_space, n as u64 + 2);
    std::thread::sleep(JITTER + Duration::from_millis(700));
    let pushed = Instant::now();
    push_change(c, &ok.admin, ok_space, 3);
    let woke = service.wait_for(&sub, 1, Duration::from_secs(20));
    let connections = held.lock().unwrap().len();
    assert_eq!(woke.len(), 1);
    // The tarpits' connections while their first posts wait: together they hold at most half the
    // slots (a round of timeouts may have started the next ones).
    assert!(
        connections <= sebaya_relay::wakeups::POSTS_AT_ONCE / 2,
        "{connections} connections to the tarpits"
    );
    let after = woke[0].at.duration_since(pushed);
    assert!(
        after < JITTER + Duration::from_secs(2),
        "woken {after:?} after its push"
    );
    // A post that is never answered ends at the post timeout and counts as failed.
    let limit = slow_pushed + sebaya_relay::webpush::POST_TIMEOUT + JITTER + Duration::from_secs(3);
    while relay.metrics.wakeups(WakeOutcome::Failed) == 0 {
        assert!(
            Instant::now() < limit,
            "no post to the tarpit ended by its timeout"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    service.assert_no_problems();
    relay.handle.shutdown();
}

/// Review S12: a subscription the endpoint rule now refuses (kept under an older rule, or while the
/// tests' loopback switch was on) is never posted to and is deleted at its first wake-up, as a gone
/// one is, instead of failing at every post and holding a place for ever.
#[test]
fn a_subscription_the_rule_now_refuses_is_deleted_not_posted_to() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    let relay = start(dir.path(), &service, settings());
    let c = &relay.client;
    let space = SpaceId([0x6b; 16]);
    let mut f = Founded::new(c, space);
    let (a, b) = (device(1), device(2));
    f.add(c, &a, Role::Member, None);
    f.add(c, &b, Role::Member, None);
    let sb = service.subscribe("b");
    read_and_register(c, &b, space, &sb);
    c.sync(&a, &request(vec![empty_vector(space)], vec![]));
    relay.handle.shutdown();

    // The same database and key, without the switch: b's loopback endpoint is refused now.
    let relay = start(
        dir.path(),
        &service,
        WakeSettings {
            allow_loopback: false,
            ..settings()
        },
    );
    let c = &relay.client;
    push_change(c, &a, space, 1);
    let deleted = Instant::now() + JITTER + Duration::from_secs(5);
    while support::open_store(dir.path())
        .wake_candidates(&space, 0)
        .unwrap()
        .iter()
        .any(|(d, _)| *d == b.id)
    {
        assert!(
            Instant::now() < deleted,
            "the refused subscription was kept"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        service.arrivals_for(&sb).len(),
        0,
        "posted to a refused endpoint"
    );
    assert_eq!(relay.metrics.wakeups(WakeOutcome::Gone), 1);
    assert_eq!(relay.metrics.wakeups(WakeOutcome::Failed), 0);
    relay.handle.shutdown();
}

/// Review P1: one push service shared by many phones (the publisher's gateway, a public UnifiedPush
/// server) answering in 100 ms: a burst of one space's wake-ups there does not queue another
/// space's wake-up on the same service behind all of it.
#[test]
fn a_burst_for_one_space_on_a_shared_service_does_not_hold_back_another_space() {
    let dir = tempfile::tempdir().unwrap();
    let service = PushService::start();
    let relay = start(dir.path(), &service, settings());
    let c = &relay.client;
    let busy_space = SpaceId([0x6c; 16]);
    let mut busy = Founded::new(c, busy_space);
    // (device(100) is the founding admin: the pusher, never woken.)
    let readers: Vec<Device> = (1..=121u8).filter(|&n| n != 100).map(device).collect();
    // Every member first, then every registration (an addition is a push).
    for d in &readers {
        busy.add(c, d, Role::Member, None);
        c.sync(d, &request(vec![empty_vector(busy_space)], vec![]));
    }
    for (i, d) in readers.iter().enumerate() {
        assert_eq!(
            register(c, d, service.subscribe(&format!("busy{i}")).registration()),
            StatusCode::OK
        );
    }
    let quiet_space = SpaceId([0x6d; 16]);
    let mut quiet = Founded::new(c, quiet_space);
    let reader = device(200);
    quiet.add(c, &reader, Role::Member, None);
    let sub = service.subscribe("quiet");
    read_and_register(c, &reader, quiet_space, &sub);
    service.slow_down(Duration::from_millis(100));

    // (The admin's genesis and additions took sequence numbers 1 to 121, and 1 to 2.)
    push_change(c, &busy.admin, busy_space, 122);
    std::thread::sleep(JITTER + Duration::from_millis(100));
    let pushed = Instant::now();
    push_change(c, &quiet.admin, quiet_space, 3);
    let woke = service.wait_for(&sub, 1, Duration::from_secs(30));
    assert_eq!(woke.len(), 1);
    let after = woke[0].at.duration_since(pushed);
    assert!(
        after < JITTER + Duration::from_secs(1),
        "woken {after:?} after its push, behind the other space's burst"
    );
    // Every busy reader is woken once, none twice.
    let end = Instant::now() + Duration::from_secs(30);
    while service.arrivals().len() < readers.len() + 1 {
        assert!(
            Instant::now() < end,
            "{} of {} readers woken; {}",
            service.arrivals().len() - 1,
            readers.len(),
            relay.metrics.render(None)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(service.arrivals().len(), readers.len() + 1);
    service.assert_no_problems();
    relay.handle.shutdown();
}

/// Reads one HTTP request from `s` (headers and a `content-length` body) and answers 201.
fn answer_once(s: &mut std::net::TcpStream) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let _ = s.write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}
