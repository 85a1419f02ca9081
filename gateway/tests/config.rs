//! The gateway's settings: a flag wins over the environment, which wins over the file; an error
//! names the setting and where it came from but never its value; the file names only settings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use sebaya_push_gateway::config::{Config, Layers};

fn layers(
    flags: &[(&'static str, &str)],
    env: &[(&str, &str)],
    file: Option<&str>,
) -> Result<Layers, String> {
    let dir = tempfile::tempdir().unwrap();
    let mut f: BTreeMap<&'static str, String> =
        flags.iter().map(|(k, v)| (*k, v.to_string())).collect();
    if let Some(text) = file {
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, text).unwrap();
        f.insert("config", path.to_str().unwrap().to_owned());
    }
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Layers::read(&f, |name| env.get(name).cloned())
}

#[test]
fn a_flag_wins_over_the_environment_which_wins_over_the_file() {
    let file = "bind = \"127.0.0.1:1001\"\nlog-level = \"warn\"\nlog-format = \"text\"\n";
    let env = [
        ("SEBAYA_GATEWAY_BIND", "127.0.0.1:1002"),
        ("SEBAYA_GATEWAY_LOG_LEVEL", "debug"),
        ("SEBAYA_GATEWAY_LOG_FORMAT", ""),
    ];
    let l = layers(&[("bind", "127.0.0.1:1003")], &env, Some(file)).unwrap();
    assert_eq!(l.get("bind"), Some("127.0.0.1:1003"));
    assert_eq!(l.get("log-level"), Some("debug"));
    // An empty variable counts as unset.
    assert_eq!(l.get("log-format"), Some("text"));
    let c = Config::new(l).unwrap();
    assert_eq!(c.bind.port(), 1003);
    assert_eq!(c.log_level, tracing::Level::DEBUG);
}

#[test]
fn errors_name_the_setting_and_its_source_but_not_its_value() {
    let e = Config::new(layers(&[], &[("SEBAYA_GATEWAY_BIND", "secret-ish")], None).unwrap())
        .unwrap_err();
    assert!(e.contains("--bind") && e.contains("environment"), "{e}");
    assert!(!e.contains("secret-ish"), "{e}");
    let e = layers(&[], &[], Some("orign = \"https://x.example\"\n")).unwrap_err();
    assert!(e.contains("orign"), "{e}");
    let e = layers(&[], &[], Some("config = \"/etc/other.toml\"\n")).unwrap_err();
    assert!(e.contains("config"), "{e}");
    // An origin that is not https, unless the tests' switch allows loopback.
    let c = Config::new(layers(&[("origin", "http://push.example.org")], &[], None).unwrap());
    let e = c.unwrap().gateway().unwrap_err();
    assert!(e.contains("--origin") && e.contains("flag"), "{e}");
    // A key file that is not a key names neither its path's content nor the key.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("AuthKey.p8");
    std::fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let flags = [
        ("origin", "https://push.example.org"),
        ("apns-key", bad.to_str().unwrap()),
        ("apns-key-id", "ABC123DEFG"),
        ("apns-team-id", "DEF123GHIJ"),
        ("apns-topic", "org.sebaya.app"),
    ];
    let e = Config::new(layers(&flags, &[], None).unwrap())
        .unwrap()
        .gateway()
        .unwrap_err();
    assert!(e.contains("--apns-key") && !e.contains("c2VjcmV0"), "{e}");
}

#[test]
fn a_relay_keys_file_takes_keys_and_comments_and_names_the_first_bad_line() {
    let key = format!("BA{}", "A".repeat(85));
    let keys = sebaya_push_gateway::read_relay_keys(&format!("# ours\n\n{key}\n")).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        sebaya_push_gateway::read_relay_keys(&format!("{key}\nnot a key\n")),
        Err(2)
    );
    // 65 bytes, but not an uncompressed point's form.
    let wrong = format!("AA{}", "A".repeat(85));
    assert_eq!(sebaya_push_gateway::read_relay_keys(&wrong), Err(1));
}

/// Review G2: a gateway serves only listed relays unless its operator says any relay may use it.
#[test]
fn a_gateway_needs_a_list_of_relays_or_an_explicit_open_door() {
    let dir = tempfile::tempdir().unwrap();
    let p8 = dir.path().join("AuthKey.p8");
    let doc = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(doc.as_ref());
    std::fs::write(
        &p8,
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    let base = [
        ("origin", "https://push.example.org"),
        ("apns-key", p8.to_str().unwrap()),
        ("apns-key-id", "ABC123DEFG"),
        ("apns-team-id", "DEF123GHIJ"),
        ("apns-topic", "org.sebaya.app"),
    ];
    let e = Config::new(layers(&base, &[], None).unwrap())
        .unwrap()
        .gateway()
        .unwrap_err();
    assert!(
        e.contains("--relay-keys") && e.contains("--allow-any-relay"),
        "{e}"
    );
    let mut open = base.to_vec();
    open.push(("allow-any-relay", "true"));
    assert!(
        Config::new(layers(&open, &[], None).unwrap())
            .unwrap()
            .gateway()
            .is_ok()
    );
}
