//! `docs/protocol.md` 28.10's test vectors are what the gateway sends: the FCM message and the APNs
//! request (headers and body) for a fixed device token, both modes, at a fixed time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_push_gateway::provider::Mode;
use sebaya_push_gateway::{apns, fcm};

const TOKEN_FCM: &str = "fcm-token-0001";
const TOKEN_APNS: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const NOW: u64 = 1_800_000_000;

fn section() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let start = doc
        .find("### 28.10 ")
        .expect("docs/protocol.md has no 28.10");
    let rest = &doc[start..];
    let end = rest[4..].find("\n## ").map_or(rest.len(), |e| e + 4);
    rest[..end].to_owned()
}

#[test]
fn the_fcm_messages_are_as_specified() {
    let s = section();
    for mode in [Mode::Silent, Mode::Alert] {
        let json = fcm::message(TOKEN_FCM, mode).to_string();
        assert!(
            s.contains(&json),
            "28.10 lacks the {mode:?} message:\n{json}"
        );
    }
}

#[test]
fn the_apns_requests_are_as_specified() {
    let s = section();
    for mode in [Mode::Silent, Mode::Alert] {
        let (headers, body) = apns::request("org.sebaya.app", mode, NOW);
        let mut text = format!(":method: POST\n:path: /3/device/{TOKEN_APNS}\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text.push('\n');
        text.push_str(&body);
        text.push('\n');
        assert!(
            s.contains(&text),
            "28.10 lacks the {mode:?} request:\n{text}"
        );
    }
}
