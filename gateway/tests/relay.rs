//! End to end: a real relay (in-process, its wake-ups allowed to loopback as the relay's
//! `--push-allow-loopback true` allows them) wakes devices whose push endpoints are this gateway;
//! each wake-up reaches the local APNs or FCM server as exactly one well-formed request, and a token
//! the provider calls gone makes the gateway answer 410, so the relay deletes the subscription.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../server/tests/support/client.rs"]
#[allow(unused_imports)]
mod client;
mod support;

use std::time::{Duration, Instant};

use client::{Client, Device, Founded, device, empty_vector, request, seal};
use reqwest::StatusCode;
use sebaya_proto::SpaceId;
use sebaya_proto::membership::Role;
use sebaya_proto::push::{PUSH_PATH, PushRequest, PushSubscription};
use sebaya_proto::sync;
use sebaya_relay::wakeups::WakeSettings;
use sebaya_relay::webpush::VapidKey;
use sebaya_relay::{Database, RelayState};
use serde_bytes::ByteBuf;
use support::{APNS_TOKEN, FCM_TOKEN, Providers, endpoint, gateway};

/// What an app registers: the gateway endpoint of its token, and a P-256 key and auth secret made
/// on the phone (the relay encrypts to them; the gateway never reads the body).
fn subscription(endpoint: String) -> PushSubscription {
    let rng = ring::rand::SystemRandom::new();
    let private =
        ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::ECDH_P256, &rng).unwrap();
    let public = private.compute_public_key().unwrap();
    PushSubscription {
        endpoint,
        p256dh: ByteBuf::from(public.as_ref().to_vec()),
        auth: ByteBuf::from(vec![9u8; 16]),
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

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

#[test]
fn a_relay_wakes_phones_through_the_gateway_and_forgets_a_gone_token() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let rng = ring::rand::SystemRandom::new();
    let key = VapidKey::load_or_create(&dir.path().join("vapid.p8"), &rng).unwrap();
    // The gateway takes this relay's key only.
    let keys_file = dir.path().join("relays.txt");
    {
        use base64::Engine;
        let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.public_key());
        std::fs::write(&keys_file, format!("{k}\n")).unwrap();
    }
    let mut flags = p.flags();
    flags.insert("relay-keys", keys_file.to_str().unwrap().to_owned());
    let gw = gateway(flags);

    let settings = WakeSettings {
        interval: Duration::from_millis(500),
        jitter: Duration::from_millis(100),
        allow_loopback: true,
        ..WakeSettings::new(support::CONTACT)
    };
    let data = dir.path().join("relay");
    std::fs::create_dir_all(&data).unwrap();
    let state = RelayState::open_database(&Database::Sqlite(data.clone()))
        .unwrap()
        .with_push_key(key, settings)
        .unwrap();
    let relay = sebaya_relay::spawn_state(state, "127.0.0.1:0".parse().unwrap()).unwrap();
    let c = &Client::new(&relay.url());

    let space = SpaceId([0x71; 16]);
    let mut f = Founded::new(c, space);
    let (pusher, iphone, android) = (device(1), device(2), device(3));
    for d in [&pusher, &iphone, &android] {
        f.add(c, d, Role::Member, None);
    }
    for (d, e) in [
        (&iphone, endpoint(&gw, "apns", "silent", APNS_TOKEN)),
        (&android, endpoint(&gw, "fcm", "alert", FCM_TOKEN)),
    ] {
        let r = c.sync(d, &request(vec![empty_vector(space)], vec![]));
        assert!(r.refused_spaces.is_empty());
        assert_eq!(register(c, d, subscription(e)), StatusCode::OK);
    }
    // The Android phone's token is gone at FCM.
    p.fcm.answer(FCM_TOKEN, &[(404, "UNREGISTERED", None)]);

    // The admin's statements took its sequence numbers 1 and 2; the pusher starts at 1.
    let r = c.sync(
        &pusher,
        &request(
            vec![empty_vector(space)],
            vec![seal(&pusher, space, 1, b"x")],
        ),
    );
    assert!(r.rejected.is_empty());

    assert!(wait_until(Duration::from_secs(10), || {
        p.apns.arrivals().len() == 1 && p.fcm.arrivals().len() == 1
    }));
    let store = Database::Sqlite(data).open().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || {
            !store
                .wake_candidates(&space, 0)
                .unwrap()
                .iter()
                .any(|(d, _)| *d == android.id)
        }),
        "the relay kept the gone token's subscription"
    );
    // Exactly one each, well-formed; the silent APNs wake-up and the FCM alert.
    std::thread::sleep(Duration::from_millis(800));
    let (apns, fcm) = (p.apns.arrivals(), p.fcm.arrivals());
    assert_eq!((apns.len(), fcm.len()), (1, 1));
    assert!(!apns[0].alert && apns[0].token == APNS_TOKEN);
    assert!(fcm[0].alert && fcm[0].token == FCM_TOKEN);
    assert!(
        store
            .wake_candidates(&space, 0)
            .unwrap()
            .iter()
            .any(|(d, _)| *d == iphone.id)
    );
    p.assert_no_problems();
    relay.shutdown();
}

/// Review G1: a stranger's bogus token behind the gateway must not make the relay hold back every
/// phone the gateway serves: FCM's answer for a malformed token is about that token alone.
#[test]
fn a_bogus_token_does_not_hold_back_the_other_phones_behind_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let rng = ring::rand::SystemRandom::new();
    let key = VapidKey::load_or_create(&dir.path().join("vapid.p8"), &rng).unwrap();
    let gw = gateway(p.flags());
    let settings = WakeSettings {
        interval: Duration::from_millis(500),
        jitter: Duration::from_millis(100),
        allow_loopback: true,
        ..WakeSettings::new(support::CONTACT)
    };
    let data = dir.path().join("relay");
    std::fs::create_dir_all(&data).unwrap();
    let state = RelayState::open_database(&Database::Sqlite(data.clone()))
        .unwrap()
        .with_push_key(key, settings)
        .unwrap();
    let relay = sebaya_relay::spawn_state(state, "127.0.0.1:0".parse().unwrap()).unwrap();
    let c = &Client::new(&relay.url());
    let space = SpaceId([0x72; 16]);
    let mut f = Founded::new(c, space);
    let (pusher, stranger, iphone) = (device(1), device(2), device(3));
    for d in [&pusher, &stranger, &iphone] {
        f.add(c, d, Role::Member, None);
    }
    let bogus = "x";
    p.fcm.answer(bogus, &[(400, "INVALID_ARGUMENT", None); 8]);
    for (d, e) in [
        (&stranger, endpoint(&gw, "fcm", "silent", bogus)),
        (&iphone, endpoint(&gw, "apns", "silent", APNS_TOKEN)),
    ] {
        c.sync(d, &request(vec![empty_vector(space)], vec![]));
        assert_eq!(register(c, d, subscription(e)), StatusCode::OK);
    }
    for seq in 1..=2 {
        let r = c.sync(
            &pusher,
            &request(
                vec![empty_vector(space)],
                vec![seal(&pusher, space, seq, b"x")],
            ),
        );
        assert!(r.rejected.is_empty());
        std::thread::sleep(Duration::from_millis(1000));
    }
    assert!(
        wait_until(Duration::from_secs(3), || p.apns.arrivals().len() == 2),
        "the iPhone's second wake-up was held back: {} arrived",
        p.apns.arrivals().len()
    );
    p.assert_no_problems();
    relay.shutdown();
}
