//! `sebaya-crash child-sqlite DB SYNCHRONOUS CUT LOSS SEED`: the power-cut VFS on plain SQLite, so
//! a test can show the simulation loses what it must (tests/tests/crash.rs). The child opens `DB` in
//! WAL mode with the given `synchronous` setting and commits one row per transaction, printing
//! `ack N` after each commit returns, until the power goes at the `CUT`-th mutating call. Under
//! `synchronous=FULL` every acknowledged row must survive any loss model; under `NORMAL` a loss of
//! everything unsynced takes acknowledged rows with it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::ExitCode;

use sebaya_tests::powercut::{self, Loss, Plan};

pub fn child(args: &[String]) -> ExitCode {
    let [db, sync, cut, loss, seed] = args else {
        return ExitCode::from(2);
    };
    powercut::install(Plan {
        cut_at: cut.parse().unwrap(),
        loss: Loss::parse(loss).unwrap(),
        seed: seed.parse().unwrap(),
    })
    .unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", sync).unwrap();
    conn.execute_batch("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        .unwrap();
    let mut out = std::io::stdout();
    for i in 0u64.. {
        conn.execute(
            "INSERT INTO t (k, v) VALUES (?1, randomblob(1500))",
            [i as i64],
        )
        .unwrap();
        let _ = writeln!(out, "ack {i}");
        let _ = out.flush();
    }
    ExitCode::SUCCESS
}
