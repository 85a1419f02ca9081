//! The crash harness in short (issue 15, crash consistency): a few trials of each mode of
//! `sebaya-crash`, so CI runs it; the 1,000-trial runs are documented in docs/reliability.md. And a
//! calibration of the power-cut VFS on plain SQLite: it loses acknowledged commits made under
//! `synchronous=NORMAL` and none made under `FULL`, so a check run under it can fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

const EXE: &str = env!("CARGO_BIN_EXE_sebaya-crash");

/// Runs `sebaya-crash ARGS`; returns its output, failing the test when it did not pass.
fn harness(args: &[&str]) -> String {
    let out = Command::new(EXE).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "sebaya-crash {args:?} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("PASS"), "{text}");
    text
}

/// The count printed after `label` (e.g. "power cuts").
fn count(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label} in {text}"));
    text[..at]
        .rsplit(|c: char| !c.is_ascii_digit())
        .find(|w| !w.is_empty())
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_vault_killed_while_it_writes_syncs_and_rotates_loses_nothing() {
    let t = harness(&[
        "vault",
        "--trials",
        "3",
        "--chain",
        "3",
        "--seed",
        "11",
        "--max-kill-ms",
        "400",
    ]);
    assert_eq!(count(&t, "killed"), 3, "{t}");
}

#[test]
fn a_vault_losing_its_power_keeps_everything_it_sent() {
    let t = harness(&[
        "vault",
        "--power",
        "--trials",
        "3",
        "--chain",
        "3",
        "--seed",
        "12",
        "--max-cut",
        "600",
    ]);
    assert_eq!(count(&t, "power cuts"), 3, "{t}");
}

#[test]
fn a_relay_killed_under_load_keeps_every_acknowledged_envelope() {
    let t = harness(&[
        "relay",
        "--trials",
        "3",
        "--chain",
        "3",
        "--seed",
        "13",
        "--max-kill-ms",
        "400",
    ]);
    assert_eq!(count(&t, "killed"), 3, "{t}");
}

#[test]
fn a_relay_losing_its_power_keeps_every_acknowledged_envelope() {
    let t = harness(&[
        "relay",
        "--power",
        "--trials",
        "3",
        "--chain",
        "3",
        "--seed",
        "14",
        "--max-cut",
        "200",
    ]);
    assert_eq!(count(&t, "power cuts"), 3, "{t}");
}

/// Rows acknowledged before the power cut, and rows found after it.
fn sqlite_trial(sync: &str, cut: u64, loss: &str, seed: u64) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let args = [
        db.display().to_string(),
        sync.into(),
        cut.to_string(),
        loss.into(),
        seed.to_string(),
    ];
    let out = Command::new(EXE)
        .arg("child-sqlite")
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(sebaya_tests::powercut::CUT_EXIT),
        "{out:?}"
    );
    let acked: BTreeSet<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("ack ")?.parse().ok())
        .collect();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{sync} {cut} {loss} {seed}");
    let found: BTreeSet<u64> = match conn.prepare("SELECT k FROM t") {
        Ok(mut stmt) => stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|k| k.unwrap() as u64)
            .collect(),
        // The table itself was never synced.
        Err(_) => BTreeSet::new(),
    };
    (acked, found)
}

#[test]
fn the_power_cut_loses_unsynced_commits_and_keeps_synced_ones() {
    let mut lost_under_normal = 0;
    for (i, loss) in ["all", "prefix", "torn"].iter().enumerate() {
        for cut in [40, 150, 400] {
            let seed = 100 + i as u64 * 7 + cut;
            let (acked, found) = sqlite_trial("FULL", cut, loss, seed);
            assert!(
                acked.is_subset(&found),
                "FULL lost a commit: {loss} at {cut}"
            );
            let (acked, found) = sqlite_trial("NORMAL", cut, loss, seed);
            lost_under_normal += acked.difference(&found).count();
            // Nothing appears that was never written, and what survives is a prefix of the commits.
            let last = found.iter().max().copied();
            assert_eq!(
                found.len() as u64,
                last.map_or(0, |l| l + 1),
                "a hole in the commits"
            );
        }
    }
    assert!(
        lost_under_normal > 0,
        "the simulated power cut lost nothing unsynced"
    );
}
