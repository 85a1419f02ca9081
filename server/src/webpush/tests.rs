//! RFC 8291's worked example (Appendix A) reproduced byte for byte, RFC 8292 tokens as a push service
//! checks them, and the wake-up's fixed shape; every bad input refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use ring::rand::SystemRandom;

use super::*;

// RFC 8291, Appendix A (base64url as printed there).
const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
const AS_PUBLIC: &str =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
const UA_PUBLIC: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

fn b(s: &str) -> Vec<u8> {
    B64.decode(s).expect("test constant")
}

/// A P-256 key with a chosen private half (the RFC's), which ring cannot make.
struct Fixed(p256::SecretKey);

impl Fixed {
    fn new(private: &str) -> Self {
        Self(p256::SecretKey::from_slice(&b(private)).expect("test key"))
    }

    fn agree(&self, peer: &[u8; PUBLIC_KEY_LEN]) -> Result<[u8; 32], WebPushError> {
        let peer =
            p256::PublicKey::from_sec1_bytes(peer).map_err(|_| WebPushError::BadPublicKey)?;
        let shared = p256::ecdh::diffie_hellman(self.0.to_nonzero_scalar(), peer.as_affine());
        let mut out = [0u8; 32];
        out.copy_from_slice(shared.raw_secret_bytes());
        Ok(out)
    }
}

impl SenderKey for Fixed {
    fn public(&self) -> [u8; PUBLIC_KEY_LEN] {
        let point = self.0.public_key().to_encoded_point(false);
        <[u8; PUBLIC_KEY_LEN]>::try_from(point.as_bytes()).expect("uncompressed point")
    }

    fn agree(self, peer: &[u8; PUBLIC_KEY_LEN]) -> Result<[u8; 32], WebPushError> {
        Fixed::agree(&self, peer)
    }
}

fn salt() -> [u8; SALT_LEN] {
    <[u8; SALT_LEN]>::try_from(b(SALT).as_slice()).expect("16 bytes")
}

fn ua_decrypt(body: &[u8]) -> Result<Vec<u8>, WebPushError> {
    let ua = Fixed::new(UA_PRIVATE);
    decrypt(body, &b(UA_PUBLIC), &b(AUTH), |peer| ua.agree(peer))
}

#[test]
fn the_rfc_8291_example_is_reproduced_byte_for_byte() {
    let sender = Fixed::new(AS_PRIVATE);
    assert_eq!(sender.public().to_vec(), b(AS_PUBLIC));
    let body = encrypt(
        PLAINTEXT.as_bytes(),
        &b(UA_PUBLIC),
        &b(AUTH),
        sender,
        salt(),
    )
    .unwrap();
    assert_eq!(B64.encode(&body), BODY);
}

#[test]
fn the_rfc_8291_example_reads_back() {
    assert_eq!(ua_decrypt(&b(BODY)).unwrap(), PLAINTEXT.as_bytes());
}

#[test]
fn every_flipped_bit_and_truncation_of_the_example_is_refused() {
    let body = b(BODY);
    for i in 0..body.len() {
        // The record size may grow and still hold the record; every other byte is checked.
        if (16..20).contains(&i) {
            continue;
        }
        for bit in 0..8 {
            let mut bad = body.clone();
            bad[i] ^= 1 << bit;
            assert!(ua_decrypt(&bad).is_err(), "byte {i} bit {bit}");
        }
    }
    for len in 0..body.len() {
        assert!(ua_decrypt(&body[..len]).is_err(), "truncated to {len}");
    }
    // A record size smaller than the record it heads.
    let mut small = body.clone();
    small[16..20].copy_from_slice(&17u32.to_be_bytes());
    assert_eq!(ua_decrypt(&small), Err(WebPushError::Malformed));
}

#[test]
fn a_fresh_sender_key_round_trips_and_never_repeats_a_body() {
    let rng = SystemRandom::new();
    let one = encrypt(
        b"sync",
        &b(UA_PUBLIC),
        &b(AUTH),
        EphemeralSender::generate(&rng).unwrap(),
        salt(),
    )
    .unwrap();
    let two = encrypt(
        b"sync",
        &b(UA_PUBLIC),
        &b(AUTH),
        EphemeralSender::generate(&rng).unwrap(),
        salt(),
    )
    .unwrap();
    assert_ne!(one, two);
    assert_eq!(ua_decrypt(&one).unwrap(), b"sync");
    assert_eq!(ua_decrypt(&two).unwrap(), b"sync");
}

#[test]
fn bad_subscription_keys_and_oversized_payloads_are_refused() {
    let rng = SystemRandom::new();
    let sender = || EphemeralSender::generate(&rng).unwrap();
    let ua = b(UA_PUBLIC);
    let auth = b(AUTH);
    assert_eq!(
        encrypt(b"x", &ua[..64], &auth, sender(), salt()),
        Err(WebPushError::BadPublicKey)
    );
    let mut compressed = ua.clone();
    compressed[0] = 0x02;
    assert_eq!(
        encrypt(b"x", &compressed, &auth, sender(), salt()),
        Err(WebPushError::BadPublicKey)
    );
    let mut off_curve = ua.clone();
    off_curve[64] ^= 1;
    assert_eq!(
        encrypt(b"x", &off_curve, &auth, sender(), salt()),
        Err(WebPushError::BadPublicKey)
    );
    assert_eq!(
        encrypt(b"x", &ua, &auth[..15], sender(), salt()),
        Err(WebPushError::BadAuthSecret)
    );
    let too_big = vec![0u8; MAX_PLAINTEXT + 1];
    assert_eq!(
        encrypt(&too_big, &ua, &auth, sender(), salt()),
        Err(WebPushError::TooLarge)
    );
    let biggest = encrypt(&too_big[1..], &ua, &auth, sender(), salt()).unwrap();
    assert_eq!(biggest.len(), RECORD_SIZE as usize);
}

const ENDPOINT: &str = "https://push.example.net/wpush/v2/abc";
const SUBJECT: &str = "mailto:relay-operator@example.org";
const NOW: u64 = 1_800_000_000;

#[test]
fn a_vapid_token_verifies_as_a_push_service_checks_it() {
    let rng = SystemRandom::new();
    let (key, _) = VapidKey::generate(&rng).unwrap();
    let token = key.token(ENDPOINT, SUBJECT, NOW, &rng).unwrap();
    let auth = token.authorization();
    assert_eq!(
        verify_token(&auth, ENDPOINT, NOW).unwrap(),
        key.public_key()
    );
    // The audience is the origin: another path on the same service is fine, another host is not.
    assert!(verify_token(&auth, "https://push.example.net/other", NOW).is_ok());
    assert_eq!(
        verify_token(&auth, "https://push.example.com/wpush/v2/abc", NOW),
        Err(WebPushError::Malformed)
    );
    // Expired, and lifetime.
    assert!(verify_token(&auth, ENDPOINT, NOW + VAPID_LIFETIME_SECS - 1).is_ok());
    assert_eq!(
        verify_token(&auth, ENDPOINT, NOW + VAPID_LIFETIME_SECS),
        Err(WebPushError::Malformed)
    );
    let far = key.token(ENDPOINT, SUBJECT, NOW + 13 * 3600, &rng).unwrap();
    assert_eq!(
        verify_token(&far.authorization(), ENDPOINT, NOW),
        Err(WebPushError::Malformed)
    );
    // The claims, as JSON, name the audience, expiry and subject.
    let claims = token.jwt.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&b(claims)).unwrap();
    assert_eq!(claims["aud"], "https://push.example.net");
    assert_eq!(claims["exp"], NOW + VAPID_LIFETIME_SECS);
    assert_eq!(claims["sub"], SUBJECT);
}

#[test]
fn forged_or_malformed_vapid_tokens_are_refused() {
    let rng = SystemRandom::new();
    let (key, _) = VapidKey::generate(&rng).unwrap();
    let (other, _) = VapidKey::generate(&rng).unwrap();
    let token = key.token(ENDPOINT, SUBJECT, NOW, &rng).unwrap();
    // Another key named as the signer.
    let swapped = VapidToken {
        jwt: token.jwt.clone(),
        key: B64.encode(other.public_key()),
    };
    assert_eq!(
        verify_token(&swapped.authorization(), ENDPOINT, NOW),
        Err(WebPushError::Malformed)
    );
    // Claims rewritten (a later expiry) under the old signature.
    let parts: Vec<&str> = token.jwt.split('.').collect();
    let claims = format!(
        r#"{{"aud":"https://push.example.net","exp":{},"sub":"{SUBJECT}"}}"#,
        NOW + 20 * 3600
    );
    let forged = format!(
        "vapid t={}.{}.{}, k={}",
        parts[0],
        B64.encode(claims),
        parts[2],
        token.key
    );
    assert_eq!(
        verify_token(&forged, ENDPOINT, NOW),
        Err(WebPushError::Malformed)
    );
    for bad in [
        "",
        "vapid",
        "Bearer x",
        "vapid t=a.b.c",
        "vapid k=AAAA",
        "vapid t=a.b, k=AAAA, x=1",
    ] {
        assert_eq!(
            verify_token(bad, ENDPOINT, NOW),
            Err(WebPushError::Malformed),
            "{bad}"
        );
    }
    // Subjects other than mailto: or https: are not tokens a push service will take.
    assert_eq!(
        key.token(ENDPOINT, "relay", NOW, &rng),
        Err(WebPushError::Malformed)
    );
}

#[test]
fn the_vapid_key_is_kept_across_restarts_owner_only_and_a_bad_file_is_an_error() {
    let rng = SystemRandom::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vapid.p8");
    let first = VapidKey::load_or_create(&path, &rng).unwrap();
    let second = VapidKey::load_or_create(&path, &rng).unwrap();
    assert_eq!(first.public_key(), second.public_key());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::write(&path, b"not a key").unwrap();
    let err = VapidKey::load_or_create(&path, &rng).err().unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(!err.to_string().contains("not a key"));
}

fn subscription(endpoint: &str) -> Subscription {
    Subscription {
        endpoint: endpoint.to_owned(),
        p256dh: b(UA_PUBLIC),
        auth: b(AUTH),
    }
}

#[test]
fn every_wake_up_has_one_shape_and_says_only_sync() {
    let rng = SystemRandom::new();
    let (key, _) = VapidKey::generate(&rng).unwrap();
    let a = subscription(ENDPOINT)
        .wake(&key, SUBJECT, NOW, &rng)
        .unwrap();
    let c = subscription("https://updates.push.example.org/x/y")
        .wake(&key, SUBJECT, NOW + 5, &rng)
        .unwrap();
    for w in [&a, &c] {
        assert_eq!(ua_decrypt(&w.body).unwrap(), WAKE_PAYLOAD);
        assert_eq!(w.body.len(), HEADER_LEN + WAKE_PAYLOAD.len() + 1 + 16);
        let auth = &w
            .headers
            .iter()
            .find(|(n, _)| *n == "authorization")
            .unwrap()
            .1;
        assert_eq!(
            verify_token(auth, &w.endpoint, NOW + 5).unwrap(),
            key.public_key()
        );
    }
    let fixed = |w: &WakeRequest| -> Vec<(&'static str, String)> {
        w.headers
            .iter()
            .filter(|(n, _)| *n != "authorization")
            .cloned()
            .collect()
    };
    assert_eq!(fixed(&a), fixed(&c));
    assert_eq!(
        fixed(&a),
        vec![
            ("content-encoding", "aes128gcm".to_owned()),
            ("content-type", "application/octet-stream".to_owned()),
            ("ttl", "86400".to_owned()),
            ("urgency", "high".to_owned()),
            ("topic", "sebaya-sync".to_owned()),
        ]
    );
}

#[test]
fn subscriptions_with_bad_endpoints_or_keys_are_refused_before_anything_is_sent() {
    let rng = SystemRandom::new();
    let (key, _) = VapidKey::generate(&rng).unwrap();
    for endpoint in [
        "http://push.example.net/x",
        "http://10.0.0.5/admin",
        "https://10.0.0.5/admin",
        "http://127.0.0.1:8080/p",
        "ftp://push.example.net/x",
        "file:///etc/passwd",
        "not a url",
        "",
    ] {
        assert_eq!(
            subscription(endpoint).check(false),
            Err(WebPushError::BadEndpoint),
            "{endpoint}"
        );
    }
    for endpoint in [
        "http://push.example.net/x",
        "ftp://push.example.net/x",
        "not a url",
    ] {
        assert!(
            subscription(endpoint)
                .wake(&key, SUBJECT, NOW, &rng)
                .is_err()
        );
    }
    // Loopback only behind the tests' switch (review finding F1; more in `endpoint_tests.rs`).
    for endpoint in [
        "http://127.0.0.1:8080/p",
        "http://[::1]:9/p",
        "http://localhost/p",
    ] {
        assert_eq!(subscription(endpoint).check(true), Ok(()), "{endpoint}");
    }
    assert_eq!(subscription(ENDPOINT).check(false), Ok(()));
    let mut s = subscription(ENDPOINT);
    s.p256dh.truncate(33);
    assert_eq!(s.check(false), Err(WebPushError::BadPublicKey));
    let mut s = subscription(ENDPOINT);
    s.auth.push(0);
    assert_eq!(s.check(false), Err(WebPushError::BadAuthSecret));
    // The right form, off the curve.
    let mut s = subscription(ENDPOINT);
    s.p256dh[64] ^= 1;
    assert_eq!(s.check(false), Err(WebPushError::BadPublicKey));
    let mut s = subscription(ENDPOINT);
    s.p256dh = [vec![4], vec![0; 64]].concat();
    assert_eq!(s.check(false), Err(WebPushError::BadPublicKey));
}

#[test]
fn the_vector_in_the_protocol_is_the_one_tested() {
    let doc = include_str!("../../../docs/protocol.md");
    assert!(doc.contains("### 28.8 Waking an offline device"));
    // The body is folded over two lines there.
    assert!(
        doc.replace('\n', "").contains(BODY),
        "docs/protocol.md 28.8 lacks the body"
    );
    for constant in [AS_PRIVATE, UA_PRIVATE, UA_PUBLIC, AUTH, SALT, PLAINTEXT] {
        assert!(
            doc.contains(constant),
            "docs/protocol.md 28.8 lacks {constant}"
        );
    }
}
