//! The soak tool's smoke run (issue 15): `sebaya-soak` for about 25 s against the relay binary, so
//! that the tool does not rot between documented runs. It checks that the run passes, that every
//! kind of traffic happened (and every refusal was the expected one), and that the CSV holds a row
//! per sample. Memory growth is not judged here: 25 s of a debug build says nothing about it; the
//! hour-long run in `docs/reliability.md` ("Soak") does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn relay_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SEBAYA_RELAY_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/<this test> -> target/<profile>/sebaya-relay
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("sebaya-relay");
    assert!(
        bin.exists(),
        "build the relay first: cargo build -p sebaya-relay ({})",
        bin.display()
    );
    bin
}

#[test]
fn a_short_soak_passes_and_exercises_every_kind_of_traffic() {
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_sebaya-soak"))
        .arg("--relay")
        .arg(relay_binary())
        .arg("--out")
        .arg(out.path())
        .args([
            "--duration",
            "25",
            "--warmup",
            "8",
            "--sample-every",
            "1",
            "--workers",
            "2",
            "--rate",
            "5",
            "--people",
            "8",
            "--refusal-rate",
            "3",
            "--idle",
            "4",
            "--seed",
            "3",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "soak failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("soak: PASSED"), "{stdout}");

    let samples = std::fs::read_to_string(out.path().join("samples.csv")).unwrap();
    let rows: Vec<&str> = samples.lines().skip(1).collect();
    assert!(rows.len() >= 20, "one sample a second: {}", rows.len());
    let last: Vec<u64> = rows[rows.len() - 1]
        .split(',')
        .skip(1)
        .take(6)
        .map(|v| v.parse().unwrap())
        .collect();
    let (rss, fds, threads) = (last[0], last[2], last[3]);
    assert!(rss > 1024, "the relay's RSS is read: {rss} KiB");
    assert!(fds >= 4 && threads >= 2, "fds {fds}, threads {threads}");

    // Every kind of traffic happened; the refusals came as expected, and nothing failed.
    let latency = std::fs::read_to_string(out.path().join("latency.csv")).unwrap();
    let kinds: Vec<Vec<&str>> = latency
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let count = |name: &str, col: usize| -> u64 {
        kinds
            .iter()
            .find(|k| k[0] == name)
            .map_or(0, |k| k[col].parse().unwrap())
    };
    for kind in [
        "info",
        "journal-push",
        "group-push",
        "person-new",
        "group-new",
        "slow",
        "idle",
    ] {
        assert!(count(kind, 2) > 0, "no {kind} served:\n{latency}");
    }
    for kind in [
        "stranger",
        "garbage-signed",
        "unsigned",
        "wrong-type",
        "oversized",
        "replay",
        "bad-signature",
        "clock-skew",
    ] {
        assert!(count(kind, 3) > 0, "no {kind} refused:\n{latency}");
    }
    assert!(kinds.iter().all(|k| k[4] == "0"), "failures:\n{latency}");
}
