//! What the operator-facing tests share: the relay's wire from a device's side (`client.rs`) and
//! the relay binary as a child process (ours, stopped by its pid).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unused_imports
)]

mod client;
pub mod push_service;
mod store;

pub use client::*;
pub use store::*;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The relay binary, started by this test; killed (by its own pid, through `Child`) if still running
/// when dropped.
pub struct RelayProcess {
    pub child: Child,
    /// `http://ADDR` from its first stdout line.
    pub url: String,
    /// The rest of its stdout lines read so far (the metrics line, with `--metrics-bind`).
    pub more: Vec<String>,
    /// Reads stderr as it comes (a full pipe would stall the relay), until the child exits.
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// Starts `sebaya-relay` with `args` (add `--port 0` yourself) and `env`, waits for its URL line and,
/// when `lines` is 2, for the metrics line.
pub fn start_binary(args: &[&str], env: &[(&str, &str)], lines: usize) -> RelayProcess {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sebaya-relay"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let url = first
        .trim_start_matches("sebaya-relay listening on ")
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let mut more = Vec::new();
    for _ in 1..lines {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        more.push(line.trim_end().to_string());
    }
    let mut pipe = child.stderr.take().unwrap();
    let stderr = Some(std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    }));
    RelayProcess {
        child,
        url,
        more,
        stderr,
    }
}

impl RelayProcess {
    /// `host:port` of the relay.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// Sends SIGTERM to our child, by its pid.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the child to exit; its status, or `None` if it is still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the child wrote to stderr (call once it has exited).
    pub fn stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|t| t.join().unwrap())
            .unwrap_or_default()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the relay binary to completion with `args`.
pub fn run_binary(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sebaya-relay"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}
