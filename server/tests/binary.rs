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
fn binary_refuses_unknown_flags_missing_values_and_bad_values() {
    for (args, says) in [
        (&["--frobnicate"][..], "'--frobnicate'"),
        (&["--port"][..], "--port"),
        (
            &["--port", "seventy"][..],
            "--port: not a port number: seventy",
        ),
        (
            &["--admission", "credential"][..],
            "needs at least one --programme",
        ),
        (
            &["serve", "--space-quota-mib", "0"][..],
            "--space-quota-mib: must be at least 1",
        ),
        (&["backup"][..], "--to"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sebaya-relay"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn version_and_help_answer_on_stdout() {
    let out = Command::new(env!("CARGO_BIN_EXE_sebaya-relay"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("sebaya-relay {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(env!("CARGO_BIN_EXE_sebaya-relay"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--data-dir",
        "SEBAYA_RELAY_DEVICE_QUOTA_MIB",
        "migrate",
        "backup",
        "--metrics-bind",
    ] {
        assert!(help.contains(word), "{word}: {help}");
    }
}

/// The data directory the relay's stdout line names, started with these flags and environment.
fn data_dir_of(args: &[&str], env: &[(&str, &std::path::Path)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sebaya-relay"));
    cmd.args(args)
        .env_remove("SEBAYA_RELAY_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // Our own child, by its handle.
    child.kill().unwrap();
    child.wait().unwrap();
    line.rsplit_once("(data: ")
        .unwrap()
        .1
        .trim_end()
        .trim_end_matches(')')
        .to_string()
}

/// The binary reads the flag, then the environment, then the `--config` file (the full table of
/// precedence is `config/tests.rs`); `serve` named or not is the same.
#[test]
fn the_binary_takes_a_setting_from_the_flag_the_environment_or_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let (file, env, flag) = (
        dir.path().join("f"),
        dir.path().join("e"),
        dir.path().join("g"),
    );
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        format!("port = 0\ndata-dir = \"{}\"\n", file.display()),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let g = flag.to_str().unwrap();
    assert_eq!(
        data_dir_of(&["--config", c], &[]),
        file.display().to_string()
    );
    assert_eq!(
        data_dir_of(
            &["serve", "--config", c],
            &[("SEBAYA_RELAY_DATA_DIR", &env)]
        ),
        env.display().to_string()
    );
    assert_eq!(
        data_dir_of(
            &["--config", c, "--data-dir", g],
            &[("SEBAYA_RELAY_DATA_DIR", &env)]
        ),
        g
    );
    assert_eq!(
        data_dir_of(
            &["--data-dir", g, "--port", "0"],
            &[("SEBAYA_RELAY_CONFIG", &config)]
        ),
        g
    );
}
