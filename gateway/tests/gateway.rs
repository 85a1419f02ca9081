//! The push gateway against local FCM and APNs servers that check every request (`support/`): a
//! relay's Web Push wake-up becomes exactly one well-formed provider request; bad VAPID tokens,
//! unknown relays, bad paths and bodies reach no provider; the providers' answers become the
//! push-service answers a relay acts on; one device token is rate-limited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::StatusCode;
use support::{APNS_TOKEN, FCM_TOKEN, Providers, RelaySide, endpoint, gateway, now};

#[test]
fn a_wake_up_becomes_one_well_formed_fcm_message_and_the_access_token_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let gw = gateway(p.flags());
    let relay = RelaySide::new();
    let silent = relay.post(&endpoint(&gw, "fcm", "silent", FCM_TOKEN));
    assert_eq!(silent.status(), StatusCode::CREATED);
    let alert = relay.post(&endpoint(&gw, "fcm", "alert", FCM_TOKEN));
    assert_eq!(alert.status(), StatusCode::CREATED);
    p.assert_no_problems();
    let arrived = p.fcm.arrivals();
    assert_eq!(arrived.len(), 2);
    assert!(arrived.iter().all(|a| a.token == FCM_TOKEN));
    assert_eq!((arrived[0].alert, arrived[1].alert), (false, true));
    // One OAuth grant serves both.
    assert_eq!(p.fcm.token_requests(), 1);
    assert_eq!(arrived[0].bearer, arrived[1].bearer);
    assert!(p.apns.arrivals().is_empty());
}

#[test]
fn an_access_token_about_to_expire_is_renewed_and_a_refused_one_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let gw = gateway(p.flags());
    let relay = RelaySide::new();
    let e = endpoint(&gw, "fcm", "silent", FCM_TOKEN);
    // Within five minutes of its end a token is not used: every send asks for a new one.
    p.fcm.grant_for(240);
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    assert_eq!(p.fcm.token_requests(), 2);
    // An hour's token is kept...
    p.fcm.grant_for(3599);
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    assert_eq!(p.fcm.token_requests(), 3);
    // ...until FCM refuses it.
    p.fcm
        .answer(FCM_TOKEN, &[(401, "THIRD_PARTY_AUTH_ERROR", None)]);
    assert_eq!(relay.post(&e).status(), StatusCode::BAD_REQUEST);
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    assert_eq!(p.fcm.token_requests(), 4);
    let bearers: Vec<String> = p.fcm.arrivals().into_iter().map(|a| a.bearer).collect();
    assert_eq!(
        bearers[0..4]
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );
    assert_ne!(bearers[4], bearers[5]);
    p.assert_no_problems();
}

#[test]
fn a_wake_up_becomes_one_well_formed_apns_request_and_the_provider_token_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let gw = gateway(p.flags());
    let relay = RelaySide::new();
    for mode in ["silent", "alert"] {
        let r = relay.post(&endpoint(&gw, "apns", mode, APNS_TOKEN));
        assert_eq!(r.status(), StatusCode::CREATED, "{mode}");
    }
    p.assert_no_problems();
    let arrived = p.apns.arrivals();
    assert_eq!(arrived.len(), 2);
    assert!(arrived.iter().all(|a| a.token == APNS_TOKEN));
    assert_eq!((arrived[0].alert, arrived[1].alert), (false, true));
    assert_eq!(
        arrived[0].jwt, arrived[1].jwt,
        "the provider token is reused"
    );
    assert!(p.fcm.arrivals().is_empty());
}

#[test]
fn forged_expired_and_misaddressed_vapid_tokens_and_unknown_relays_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let relay = RelaySide::new();
    let stranger = RelaySide::new();
    let keys_file = dir.path().join("relays.txt");
    std::fs::write(
        &keys_file,
        format!("# the programme's relay\n\n{}\n", relay.public_b64()),
    )
    .unwrap();
    let mut flags = p.flags();
    flags.insert("relay-keys", keys_file.to_str().unwrap().to_owned());
    let gw = gateway(flags);
    let e = endpoint(&gw, "apns", "silent", APNS_TOKEN);
    let body = || vec![1u8; 100];

    // Signed by the stranger, naming the listed relay's key.
    let forged = stranger
        .authorization(&e, now())
        .replace(&stranger.public_b64(), &relay.public_b64());
    assert_eq!(relay.post_with(&e, &forged, body(), &[]).status(), 401);
    // Expired: made 13 hours ago, for 12.
    let expired = relay.authorization(&e, now() - 13 * 3600);
    assert_eq!(relay.post_with(&e, &expired, body(), &[]).status(), 401);
    // For another push service's origin.
    let elsewhere = relay.authorization("https://push.example.net/v1/wake/x", now());
    assert_eq!(relay.post_with(&e, &elsewhere, body(), &[]).status(), 401);
    // None at all; not VAPID.
    assert_eq!(relay.post_with(&e, "", body(), &[]).status(), 401);
    assert_eq!(relay.post_with(&e, "Bearer abc", body(), &[]).status(), 401);
    // A good token by a relay that is not listed.
    assert_eq!(stranger.post(&e).status(), StatusCode::FORBIDDEN);
    assert_eq!(p.arrivals(), 0);
    // The listed relay gets through.
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    assert_eq!(p.apns.arrivals().len(), 1);
    p.assert_no_problems();
}

#[test]
fn bad_paths_headers_and_bodies_reach_no_provider() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let gw = gateway(p.flags());
    let relay = RelaySide::new();
    let long_fcm = "a".repeat(600);
    let long_apns = "ab".repeat(101);
    for (provider, mode, token) in [
        ("gcm", "silent", FCM_TOKEN),
        ("fcm", "loud", FCM_TOKEN),
        ("apns", "silent", "0a1b2c"),
        ("apns", "silent", &long_apns),
        ("apns", "silent", &APNS_TOKEN.replace('0', "g")),
        ("apns", "silent", &format!("{}0", APNS_TOKEN)),
        ("fcm", "silent", "abc%2Fdef"),
        ("fcm", "silent", "abc.def"),
        ("fcm", "silent", &long_fcm),
    ] {
        let r = relay.post(&endpoint(&gw, provider, mode, token));
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "{provider} {mode} {token}"
        );
    }
    let e = endpoint(&gw, "fcm", "silent", FCM_TOKEN);
    let auth = relay.authorization(&e, now());
    // A body over 4096 bytes.
    let r = relay.post_with(&e, &auth, vec![0u8; 4097], &[]);
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // An empty body; another content encoding; no TTL; a bad urgency or topic.
    assert_eq!(relay.post_with(&e, &auth, vec![], &[]).status(), 400);
    for extra in [
        ("content-encoding", "aesgcm"),
        ("ttl", "soon"),
        ("urgency", "now"),
        ("topic", "not a topic!"),
        ("+content-encoding", "aes128gcm"),
        ("+ttl", "60"),
    ] {
        let r = relay.post_with(&e, &auth, vec![1u8; 10], &[extra]);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{extra:?}");
    }
    assert_eq!(p.arrivals(), 0);
    // Exactly 4096 bytes is a push.
    assert_eq!(
        relay.post_with(&e, &auth, vec![0u8; 4096], &[]).status(),
        StatusCode::CREATED
    );
    assert_eq!(p.fcm.arrivals().len(), 1);
    // A gateway without APNs settings has no APNs endpoints.
    let mut fcm_only = p.flags();
    fcm_only.retain(|k, _| !k.starts_with("apns"));
    let gw2 = gateway(fcm_only);
    assert_eq!(
        relay
            .post(&endpoint(&gw2, "apns", "silent", APNS_TOKEN))
            .status(),
        StatusCode::NOT_FOUND
    );
    p.assert_no_problems();
}

fn retry_after(r: &reqwest::blocking::Response) -> Option<u64> {
    r.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[test]
fn provider_answers_become_the_push_service_answers_a_relay_acts_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let gw = gateway(p.flags());
    let relay = RelaySide::new();
    // Review G1: what concerns one token is never a 5xx or a 429, which the relay reads as "the
    // push service is down" and so holds back every phone behind the gateway.
    p.fcm.answer(
        FCM_TOKEN,
        &[
            (404, "UNREGISTERED", None),
            (400, "UNREGISTERED", None),
            (429, "QUOTA_EXCEEDED", Some(7)),
            (503, "UNAVAILABLE", Some(30)),
            (500, "INTERNAL", None),
            (403, "SENDER_ID_MISMATCH", None),
            (400, "INVALID_ARGUMENT", None),
            // Review G9: a field of the gateway's own message is its fault, not the token's.
            (400, "INVALID_ARGUMENT+FIELD", None),
        ],
    );
    let e = endpoint(&gw, "fcm", "silent", FCM_TOKEN);
    let got: Vec<(u16, Option<u64>)> = (0..8)
        .map(|_| {
            let r = relay.post(&e);
            (r.status().as_u16(), retry_after(&r))
        })
        .collect();
    assert_eq!(
        got,
        [
            (410, None),
            (410, None),
            (429, Some(7)),
            (503, Some(30)),
            (503, Some(60)),
            (410, None),
            (410, None),
            (400, None)
        ]
    );
    p.apns.answer(
        APNS_TOKEN,
        &[
            (410, "Unregistered", None),
            (400, "BadDeviceToken", None),
            (429, "TooManyRequests", Some(5)),
            (503, "ServiceUnavailable", None),
            (500, "InternalServerError", Some(2)),
            (403, "InvalidProviderToken", None),
            (429, "TooManyProviderTokenUpdates", None),
            (413, "PayloadTooLarge", None),
        ],
    );
    let e = endpoint(&gw, "apns", "silent", APNS_TOKEN);
    let got: Vec<(u16, Option<u64>)> = (0..8)
        .map(|_| {
            let r = relay.post(&e);
            (r.status().as_u16(), retry_after(&r))
        })
        .collect();
    // APNs' 429 TooManyRequests is about this one device, which was just woken: the wake-up is
    // dropped as delivered. The gateway's own refusals (credentials, size) are 400: no hold-back.
    assert_eq!(
        got,
        [
            (410, None),
            (410, None),
            (201, None),
            (503, Some(60)),
            (503, Some(2)),
            (400, None),
            (400, None),
            (400, None)
        ]
    );
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    assert_eq!(p.apns.arrivals().len(), 9);
    p.assert_no_problems();
}

#[test]
fn one_device_token_is_rate_limited_and_others_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let mut flags = p.flags();
    flags.insert("per-token-per-minute", "2".to_owned());
    let gw = gateway(flags);
    let relay = RelaySide::new();
    let e = endpoint(&gw, "apns", "silent", APNS_TOKEN);
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    // Past its limit a token's wake-ups are dropped as delivered (the phone was just woken): a 429
    // would make the relay hold back every phone behind the gateway (review G1).
    assert_eq!(relay.post(&e).status(), StatusCode::CREATED);
    // The same token under the other mode is the same device, and so is the token in capitals
    // (review G3).
    let alert = relay.post(&endpoint(&gw, "apns", "alert", APNS_TOKEN));
    assert_eq!(alert.status(), StatusCode::CREATED);
    let upper = relay.post(&endpoint(&gw, "apns", "silent", &APNS_TOKEN.to_uppercase()));
    assert_eq!(upper.status(), StatusCode::CREATED);
    assert_eq!(p.apns.arrivals().len(), 2);
    let other = APNS_TOKEN.replace('a', "b");
    assert_eq!(
        relay
            .post(&endpoint(&gw, "apns", "silent", &other))
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(p.apns.arrivals().len(), 3);
    p.assert_no_problems();
}

#[test]
fn healthz_answers() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let gw = gateway(p.flags());
    let r = reqwest::blocking::get(format!("{}/healthz", gw.url())).unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[test]
fn provider_requests_in_flight_are_bounded_and_the_rest_are_told_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    p.apns.delay(std::time::Duration::from_millis(1500));
    let mut flags = p.flags();
    flags.insert("max-in-flight", "2".to_owned());
    let gw = std::sync::Arc::new(gateway(flags));
    let tokens: Vec<String> = (0..4)
        .map(|i| APNS_TOKEN.replace('0', &i.to_string()))
        .collect();
    let posts: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let e = endpoint(&gw, "apns", "silent", t);
            std::thread::spawn(move || {
                // The first two are in flight before the others arrive.
                std::thread::sleep(std::time::Duration::from_millis(if i < 2 {
                    0
                } else {
                    500
                }));
                let r = RelaySide::new().post(&e);
                (r.status().as_u16(), retry_after(&r))
            })
        })
        .collect();
    let mut got: Vec<(u16, Option<u64>)> = posts.into_iter().map(|t| t.join().unwrap()).collect();
    got.sort();
    assert_eq!(
        got,
        [(201, None), (201, None), (503, Some(1)), (503, Some(1))]
    );
    assert_eq!(p.apns.arrivals().len(), 2);
    // Once they are answered, there is room again.
    p.apns.delay(std::time::Duration::ZERO);
    assert_eq!(
        RelaySide::new()
            .post(&endpoint(&gw, "apns", "silent", &tokens[3]))
            .status(),
        StatusCode::CREATED
    );
    p.assert_no_problems();
}

/// Review G4: a refused provider token is not remade on every request (Apple refuses renewals more
/// often than every 20 minutes); one made within the last 20 minutes is kept.
#[test]
fn a_refused_provider_token_is_not_remade_on_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let gw = gateway(p.flags());
    let relay = RelaySide::new();
    p.apns.answer(
        APNS_TOKEN,
        &[
            (403, "InvalidProviderToken", None),
            (403, "ExpiredProviderToken", None),
            (403, "InvalidProviderToken", None),
        ],
    );
    let e = endpoint(&gw, "apns", "silent", APNS_TOKEN);
    for want in [400, 400, 400, 201] {
        assert_eq!(relay.post(&e).status().as_u16(), want);
    }
    let jwts: Vec<String> = p.apns.arrivals().into_iter().map(|a| a.jwt).collect();
    assert_eq!(jwts.len(), 4);
    assert!(
        jwts.iter().all(|j| *j == jwts[0]),
        "a new provider token per refusal"
    );
    p.assert_no_problems();
}

/// Review G2: one relay key (or a stranger's) cannot hold every provider request in flight: each key
/// gets at most a quarter of `--max-in-flight`, so other relays still get through.
#[test]
fn one_relay_key_cannot_hold_every_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    p.apns.delay(std::time::Duration::from_millis(1500));
    let mut flags = p.flags();
    flags.insert("max-in-flight", "4".to_owned());
    let gw = std::sync::Arc::new(gateway(flags));
    let hog = std::sync::Arc::new(RelaySide::new());
    let posts: Vec<_> = (0..4)
        .map(|i| {
            let e = endpoint(
                &gw,
                "apns",
                "silent",
                &APNS_TOKEN.replace('0', &i.to_string()),
            );
            let hog = hog.clone();
            std::thread::spawn(move || hog.post(&e).status().as_u16())
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let other = RelaySide::new().post(&endpoint(
        &gw,
        "apns",
        "silent",
        &APNS_TOKEN.replace('0', "9"),
    ));
    assert_eq!(other.status(), StatusCode::CREATED);
    let mut hogged: Vec<u16> = posts.into_iter().map(|t| t.join().unwrap()).collect();
    hogged.sort();
    assert_eq!(hogged, [201, 503, 503, 503]);
    p.assert_no_problems();
}
