//! The `sebaya-relay` binary: flags, the one stdout line, serving, and a clean exit on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn binary_prints_its_address_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay-data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sebaya-relay"))
        .args(["--port", "0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let expected_tail = format!(" (data: {})\n", data.display());
    assert!(
        line.starts_with("sebaya-relay listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(line.ends_with(&expected_tail), "{line}");
    let addr = line
        .trim_start_matches("sebaya-relay listening on http://")
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert!(
        !addr.ends_with(":0"),
        "port 0 is replaced by the real port: {addr}"
    );

    let health = get(&addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok"), "{health}");
    let info = get(&addr, "/v1/info");
    assert!(info.contains("\"relay_id\":\""), "{info}");
    assert!(data.join("relay.sqlite3").exists());

    // SIGTERM (to our own child, by its pid): the relay finishes and exits successfully.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the relay did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn binary_refuses_unknown_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_sebaya-relay"))
        .arg("--frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
}
