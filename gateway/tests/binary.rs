//! The `sebaya-push-gateway` binary as an operator runs it: `--version`, settings from flags, the
//! environment and a config file, the one line it prints once listening, `/healthz`, a wake-up, a
//! clean stop on SIGTERM, JSON logs that name no device token, and refusal to start without an origin.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{APNS_TOKEN, Providers, RelaySide, apns, now};

const BIN: &str = env!("CARGO_BIN_EXE_sebaya-push-gateway");

#[test]
fn version_and_help_name_the_gateway() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("sebaya-push-gateway {}", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("--apns-key") && help.contains("SEBAYA_GATEWAY_ORIGIN"),
        "{help}"
    );
}

/// The systemd unit beside the relay's names only flags the binary has.
#[test]
fn the_systemd_unit_names_flags_the_gateway_has() {
    let unit = include_str!("../../deploy/sebaya-push-gateway.service");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    assert!(exec.starts_with("/usr/local/bin/sebaya-push-gateway "));
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let flags: Vec<&str> = exec
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .collect();
    assert!(flags.len() >= 3, "{exec}");
    for flag in flags {
        assert!(help.contains(&format!("{flag} ")), "{flag} is not a flag");
    }
}

#[test]
fn it_will_not_start_without_an_origin_or_a_provider() {
    let out = Command::new(BIN)
        .args(["--bind", "127.0.0.1:0"])
        .env_remove("SEBAYA_GATEWAY_ORIGIN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--origin"));
    let out = Command::new(BIN)
        .args([
            "--bind",
            "127.0.0.1:0",
            "--origin",
            "https://push.example.org",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--apns-key"));
}

#[test]
fn the_binary_serves_wake_ups_and_logs_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::start(dir.path());
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "origin = \"https://push.example.org\"\napns-key = {:?}\napns-key-id = \"{}\"\n\
             apns-base = {:?}\nallow-loopback = true\nper-token-per-minute = 5\n",
            p.apns.key_file,
            apns::KEY_ID,
            p.apns.base
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args([
            "--config",
            config.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
        ])
        .args(["--apns-topic", apns::TOPIC])
        .env("SEBAYA_GATEWAY_APNS_TEAM_ID", apns::TEAM_ID)
        .env("SEBAYA_GATEWAY_ALLOW_ANY_RELAY", "true")
        .env("SEBAYA_GATEWAY_LOG_LEVEL", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("sebaya-push-gateway listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();

    let health = reqwest::blocking::get(format!("{url}/healthz")).unwrap();
    assert_eq!(health.status(), 200);
    let relay = RelaySide::new();
    let path = format!("/v1/wake/apns/silent/{APNS_TOKEN}");
    let auth = relay.authorization(&format!("https://push.example.org{path}"), now());
    let r = relay.post_with(&format!("{url}{path}"), &auth, vec![3u8; 200], &[]);
    assert_eq!(r.status(), 201);
    // A token for the gateway's loopback address is not for its origin.
    assert_eq!(relay.post(&format!("{url}{path}")).status(), 401);
    assert_eq!(p.apns.arrivals().len(), 1);
    p.assert_no_problems();

    // SIGTERM, to this child's pid only.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut stopped = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            stopped = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some(status) = stopped else {
        let _ = child.kill();
        panic!("the gateway did not stop on SIGTERM");
    };
    assert!(status.success(), "{status}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["outcome"] == "sent" && l["provider"] == "apns"),
        "{logs}"
    );
    assert!(lines.iter().any(|l| l["outcome"] == "bad-vapid"), "{logs}");
    assert!(
        !logs.contains(APNS_TOKEN),
        "a device token in the logs: {logs}"
    );
    assert!(!logs.contains(&relay.public_b64()), "{logs}");
}
