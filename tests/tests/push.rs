//! Registering for wake-ups from the device (issue 16, item 4; protocol 28.9) against a relay on
//! loopback that sends them: the device registers the subscription its push library made and gets
//! the relay's VAPID key; a write by another member then wakes it at its endpoint; each refusal comes
//! back as its reason; the vault remembers what it registered, so an app knows when to register
//! again without asking the relay.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use sebaya_core::groups;
use sebaya_core::sync::push::REREGISTER_AFTER_SECS;
use sebaya_core::{Error, PushRefusal, ReqwestClient, Role, Vault, WebPushSubscription};
use sebaya_relay::RelayState;
use sebaya_relay::wakeups::WakeSettings;
use sebaya_relay::webpush::VapidKey;

/// The P-256 generator point, uncompressed: a valid `p256dh` the relay takes.
const GENERATOR: &str = concat!(
    "04",
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
);

fn subscription(endpoint: &str) -> WebPushSubscription {
    WebPushSubscription {
        endpoint: endpoint.to_owned(),
        p256dh: hex::decode(GENERATOR).unwrap(),
        auth: vec![0x22; 16],
    }
}

struct Relay {
    _dir: tempfile::TempDir,
    handle: sebaya_relay::RelayHandle,
    key: Option<Vec<u8>>,
    http: ReqwestClient,
}

impl Relay {
    fn url(&self) -> String {
        self.handle.url()
    }
    fn sync(&self, v: &mut Vault) {
        v.sync_with(&self.http, &self.url()).unwrap();
    }
    fn register(&self, v: &Vault, s: Option<&WebPushSubscription>) -> Result<Vec<u8>, Error> {
        v.register_push_with(&self.http, &self.url(), s)
    }
}

/// A relay on loopback; with `push`, it sends wake-ups (to loopback too) at most `max` subscriptions.
fn relay(push: bool, max: u64) -> Relay {
    let dir = tempfile::tempdir().unwrap();
    let mut state = RelayState::open(&dir.path().join("relay")).unwrap();
    let mut key = None;
    if push {
        let rng = ring::rand::SystemRandom::new();
        let k = VapidKey::load_or_create(&dir.path().join("vapid.p8"), &rng).unwrap();
        key = Some(k.public_key().to_vec());
        let settings = WakeSettings {
            interval: Duration::from_millis(500),
            jitter: Duration::from_millis(100),
            allow_loopback: true,
            max_subscriptions: max,
            ..WakeSettings::new("mailto:ops@example.org")
        };
        state = state.with_push_key(k, settings).unwrap();
    }
    let handle = sebaya_relay::spawn_state(state, "127.0.0.1:0".parse().unwrap()).unwrap();
    Relay {
        _dir: dir,
        handle,
        key,
        http: ReqwestClient::new().unwrap(),
    }
}

/// Two vaults in one group, both synced with `r`.
fn two_in_a_group(dir: &tempfile::TempDir, r: &Relay) -> (Vault, Vault, sebaya_core::SpaceId) {
    let mut a = Vault::open(&dir.path().join("a.db"), &[1; 32]).unwrap();
    let mut b = Vault::open(&dir.path().join("b.db"), &[2; 32]).unwrap();
    let g = a.create_group("Kelompok Kamis").unwrap();
    let resp = a
        .approve_group_member(&g, &b.link_request().unwrap(), Role::Admin)
        .unwrap();
    b.join_group(&resp).unwrap();
    r.sync(&mut a);
    r.sync(&mut b);
    (a, b, g)
}

/// A push service on loopback: every request's path is sent on the channel, and answered 201.
fn push_service() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let _ = stream.write_all(
                b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            if tx.send(path).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[test]
fn a_registered_device_gets_the_key_and_is_woken_by_anothers_write() {
    let dir = tempfile::tempdir().unwrap();
    let r = relay(true, 100);
    let (mut a, b, g) = two_in_a_group(&dir, &r);
    let (service, posts) = push_service();
    let sub = subscription(&format!("{service}/wake/b"));
    let now = 1_800_000_000;

    // Before: due, and no key known.
    assert!(b.push_registration_due(&r.url(), &sub, now).unwrap());
    assert_eq!(b.push_server_key(&r.url()).unwrap(), None);

    let key = r.register(&b, Some(&sub)).unwrap();
    assert_eq!(
        Some(key.clone()),
        r.key,
        "the answer carries the relay's VAPID key"
    );
    assert_eq!(b.push_server_key(&r.url()).unwrap(), Some(key));

    // The relay wakes b at its endpoint when a writes to the group.
    let me = a.device_id().to_hex();
    a.with_space(&g, |d, now| {
        groups::add_note(d, "00000000000000a1", "Rencana", "Check-in dulu.", &me, now)
    })
    .unwrap();
    r.sync(&mut a);
    let path = posts.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(path, "/wake/b");
}

#[test]
fn the_vault_knows_when_to_register_again() {
    let dir = tempfile::tempdir().unwrap();
    let r = relay(true, 100);
    let (_a, b, _g) = two_in_a_group(&dir, &r);
    let sub = subscription("https://push.example.net/s/b");
    r.register(&b, Some(&sub)).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    assert!(!b.push_registration_due(&r.url(), &sub, now).unwrap());
    // Another endpoint, or other keys: due.
    let moved = subscription("https://push.example.net/s/b2");
    assert!(b.push_registration_due(&r.url(), &moved, now).unwrap());
    let mut rekeyed = sub.clone();
    rekeyed.auth = vec![0x33; 16];
    assert!(b.push_registration_due(&r.url(), &rekeyed, now).unwrap());
    // Review P2: the device registers again daily, so a subscription the relay dropped (a new key,
    // a 410) comes back within a day, and one never lapses (the relay keeps it at least a week).
    assert!(
        b.push_registration_due(&r.url(), &sub, now + 86_400 + 60)
            .unwrap()
    );
    // Old enough: due; just short of it: not.
    assert!(
        !b.push_registration_due(&r.url(), &sub, now + REREGISTER_AFTER_SECS - 60)
            .unwrap()
    );
    assert!(
        b.push_registration_due(&r.url(), &sub, now + REREGISTER_AFTER_SECS + 60)
            .unwrap()
    );
    // A clock set back far: due.
    assert!(
        b.push_registration_due(&r.url(), &sub, now - 3 * 86_400)
            .unwrap()
    );
    // Another relay: due.
    assert!(
        b.push_registration_due("http://127.0.0.1:9", &sub, now)
            .unwrap()
    );

    // Removed: the key comes back, and registering is due again.
    let key = r.register(&b, None).unwrap();
    assert_eq!(Some(key), r.key);
    assert!(b.push_registration_due(&r.url(), &sub, now).unwrap());
}

#[test]
fn each_refusal_comes_back_as_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let r = relay(true, 100);
    let sub = subscription("https://push.example.net/s/1");

    // Never synced with this relay: sync first, and nothing is sent.
    let fresh = Vault::open(&dir.path().join("fresh.db"), &[9; 32]).unwrap();
    assert!(matches!(
        r.register(&fresh, Some(&sub)),
        Err(Error::PushRefused(PushRefusal::SyncFirst))
    ));

    let (a, b, _g) = two_in_a_group(&dir, &r);
    // A key of the right shape that is no point on the curve: the relay's 400.
    let mut off_curve = sub.clone();
    off_curve.p256dh = [vec![4], vec![0x11; 64]].concat();
    assert!(matches!(
        r.register(&a, Some(&off_curve)),
        Err(Error::PushRefused(PushRefusal::Malformed))
    ));
    // A shape that is wrong never leaves the device.
    let mut short = sub.clone();
    short.auth.truncate(8);
    assert!(matches!(
        r.register(&a, Some(&short)),
        Err(Error::InvalidInput(_))
    ));
    assert!(r.register(&a, Some(&sub)).is_ok());
    assert!(!a.push_registration_due(&r.url(), &sub, now_secs()).unwrap());
    // A refused registration is not remembered as made.
    assert!(
        r.register(&a, Some(&off_curve)).is_err()
            && !a.push_registration_due(&r.url(), &sub, now_secs()).unwrap()
    );

    // A relay full of subscriptions: busy.
    let full = relay(true, 1);
    let (ca, cb, _d2) = {
        let d2 = tempfile::tempdir().unwrap();
        let t = two_in_a_group(&d2, &full);
        (t.0, t.1, d2)
    };
    assert!(full.register(&ca, Some(&sub)).is_ok());
    assert!(matches!(
        full.register(&cb, Some(&subscription("https://push.example.net/s/2"))),
        Err(Error::PushRefused(PushRefusal::RelayBusy))
    ));

    // A relay that sends no wake-ups: not served.
    let plain = relay(false, 0);
    let mut p = Vault::open(&dir.path().join("p.db"), &[8; 32]).unwrap();
    p.create_group("Kelompok").unwrap();
    plain.sync(&mut p);
    assert!(matches!(
        plain.register(&p, Some(&sub)),
        Err(Error::PushRefused(PushRefusal::NotServed))
    ));
    drop(b);
}

#[test]
fn a_fifth_device_on_one_endpoint_is_told_it_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let r = relay(true, 100);
    let mut owner = Vault::open(&dir.path().join("o.db"), &[1; 32]).unwrap();
    let g = owner.create_group("Kelompok").unwrap();
    let mut others = Vec::new();
    for i in 0..4u8 {
        let mut v = Vault::open(&dir.path().join(format!("m{i}.db")), &[10 + i; 32]).unwrap();
        let resp = owner
            .approve_group_member(&g, &v.link_request().unwrap(), Role::Member)
            .unwrap();
        v.join_group(&resp).unwrap();
        others.push(v);
    }
    r.sync(&mut owner);
    let shared = subscription("https://push.example.net/s/shared");
    assert!(r.register(&owner, Some(&shared)).is_ok());
    for (i, v) in others.iter_mut().enumerate() {
        r.sync(v);
        let got = r.register(v, Some(&shared));
        if i < 3 {
            assert!(got.is_ok(), "device {i}: {got:?}");
        } else {
            assert!(
                matches!(got, Err(Error::PushRefused(PushRefusal::EndpointTaken))),
                "{got:?}"
            );
        }
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
