//! Which endpoints and addresses the relay posts to (review finding F1), what `Debug` shows of a
//! subscription (F8), and the key file made once by relays starting together (F2).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, SocketAddr};

use ring::rand::SystemRandom;

use super::*;

#[test]
fn endpoints_naming_the_relays_own_networks_are_refused() {
    for endpoint in [
        // Loopback, the relay host itself, in every spelling the URL parser turns into one.
        "https://127.0.0.1/p",
        "https://127.8.9.10:8443/p",
        "https://0x7f.1/p",
        "https://2130706433/p",
        "https://[::1]/p",
        "https://[::ffff:127.0.0.1]/p",
        "https://localhost/p",
        "https://localhost./p",
        "https://api.localhost/p",
        // Private, shared, link-local (cloud metadata), unspecified, broadcast, multicast.
        "https://10.0.0.5:8443/p",
        "https://172.16.0.1/p",
        "https://172.31.255.255/p",
        "https://192.168.1.1/p",
        "https://100.64.0.1/p",
        "https://100.127.255.254/p",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/p",
        "https://255.255.255.255/p",
        "https://224.0.0.1/p",
        "https://192.0.2.7/p",
        "https://198.18.0.1/p",
        // IPv6: unspecified, unique-local, link-local, multicast, documentation, and IPv4 inside.
        "https://[::]/p",
        "https://[fd00::1]/p",
        "https://[fc00::1]/p",
        "https://[fe80::1]/p",
        "https://[ff02::1]/p",
        "https://[2001:db8::1]/p",
        "https://[::ffff:10.0.0.1]/p",
        "https://[::ffff:169.254.169.254]/p",
        "https://[64:ff9b::a00:1]/p",
        "https://[2002:c0a8:101::1]/p",
        // Plain http anywhere, a user or password, other schemes.
        "http://push.example.net/p",
        "http://127.0.0.1:8080/p",
        "https://u:p@push.example.net/p",
        "https://u@push.example.net/p",
        "ftp://push.example.net/p",
        "not a url",
        "",
    ] {
        assert_eq!(
            check_endpoint(endpoint, false).map(|_| ()),
            Err(WebPushError::BadEndpoint),
            "{endpoint}"
        );
    }
    for endpoint in [
        "https://push.example.net/p",
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://8.8.8.8/p",
        "https://[2a00:1450:4001:80b::200a]/p",
        "https://[::ffff:8.8.8.8]/p",
        "https://push.example.net:8443/p",
    ] {
        assert!(check_endpoint(endpoint, false).is_ok(), "{endpoint}");
    }
}

#[test]
fn loopback_is_taken_only_behind_the_test_switch_and_nothing_else_private_is() {
    for endpoint in [
        "http://127.0.0.1:8080/p",
        "http://[::1]:9/p",
        "http://localhost/p",
        "https://127.0.0.1/p",
    ] {
        assert!(check_endpoint(endpoint, false).is_err(), "{endpoint}");
        assert!(check_endpoint(endpoint, true).is_ok(), "{endpoint}");
    }
    for endpoint in [
        "http://10.0.0.5/p",
        "https://10.0.0.5/p",
        "https://169.254.169.254/p",
        "http://push.example.net/p",
    ] {
        assert!(check_endpoint(endpoint, true).is_err(), "{endpoint}");
    }
}

#[test]
fn the_resolver_keeps_only_addresses_the_relay_may_post_to() {
    let addrs: Vec<SocketAddr> = [
        "8.8.8.8:443",
        "10.0.0.1:443",
        "127.0.0.1:443",
        "[::1]:443",
        "[fd00::1]:443",
        "[2a00:1450:4001:80b::200a]:443",
        "169.254.169.254:443",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    let public: Vec<SocketAddr> = ["8.8.8.8:443", "[2a00:1450:4001:80b::200a]:443"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    assert_eq!(GuardedResolver::new(false).keep(addrs.clone()), public);
    let with_loopback = GuardedResolver::new(true).keep(addrs);
    assert_eq!(with_loopback.len(), 4);
    assert!(
        with_loopback
            .iter()
            .all(|a| public.contains(a) || a.ip().is_loopback())
    );
    // A name that resolves only to private addresses resolves to nothing.
    assert!(
        GuardedResolver::new(false)
            .keep(["192.168.0.1:443".parse::<SocketAddr>().unwrap()])
            .is_empty()
    );
    assert!(!is_global("100.64.1.1".parse::<IpAddr>().unwrap()));
    assert!(is_global("1.1.1.1".parse::<IpAddr>().unwrap()));
}

#[test]
fn a_retry_after_in_seconds_is_read_and_bounded() {
    use std::time::Duration;
    assert_eq!(retry_after("5"), Some(Duration::from_secs(5)));
    assert_eq!(retry_after(" 0 "), Some(Duration::ZERO));
    assert_eq!(retry_after("999999999"), Some(MAX_RETRY_AFTER));
    assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    assert_eq!(retry_after("-1"), None);
}

#[test]
fn debug_of_a_subscription_or_a_request_shows_no_path_and_no_key() {
    let rng = SystemRandom::new();
    let ua =
        ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::ECDH_P256, &rng).unwrap();
    let sub = Subscription {
        endpoint: "https://push.example.net/wpush/v2/SECRETPATH?token=SECRETQUERY".to_owned(),
        p256dh: ua.compute_public_key().unwrap().as_ref().to_vec(),
        auth: vec![0xab; 16],
    };
    let (key, _) = VapidKey::generate(&rng).unwrap();
    let request = sub
        .wake(&key, "mailto:ops@example.org", 1_700_000_000, &rng)
        .unwrap();
    let stored = crate::store::StoredSubscription {
        endpoint: sub.endpoint.clone(),
        p256dh: sub.p256dh.clone(),
        auth: sub.auth.clone(),
    };
    let jwt = request.headers[0].1.clone();
    for shown in [
        format!("{sub:?}"),
        format!("{request:?}"),
        format!("{stored:?}"),
    ] {
        assert!(shown.contains("https://push.example.net"), "{shown}");
        for secret in [
            "SECRETPATH".to_owned(),
            "SECRETQUERY".to_owned(),
            hex::encode(&sub.auth),
            format!("{:?}", sub.auth),
            "171, 171".to_owned(),
            hex::encode(&sub.p256dh),
            format!("{:?}", &sub.p256dh[..4])
                .trim_end_matches(']')
                .to_owned(),
            jwt.clone(),
        ] {
            assert!(!shown.contains(&secret), "{shown} shows {secret}");
        }
    }
}

#[test]
fn relays_starting_at_once_on_one_key_file_all_take_the_one_key_made() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vapid.p8");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let keys: Vec<[u8; PUBLIC_KEY_LEN]> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    VapidKey::load_or_create(&path, &SystemRandom::new())
                        .unwrap()
                        .public_key()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert!(keys.iter().all(|k| *k == keys[0]));
        // The file holds that key, and nothing is left beside it.
        let again = VapidKey::load_or_create(&path, &SystemRandom::new()).unwrap();
        assert_eq!(again.public_key(), keys[0]);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}

#[test]
fn an_empty_or_foreign_key_file_is_an_error_and_is_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vapid.p8");
    std::fs::write(&path, b"").unwrap();
    let err = VapidKey::load_or_create(&path, &SystemRandom::new())
        .err()
        .unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(std::fs::read(&path).unwrap(), b"");
}
