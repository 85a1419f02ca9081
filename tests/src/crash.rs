//! `sebaya-crash`: kills a vault or the relay at random moments, or cuts its power, and checks what
//! it finds on disk afterwards (issue 15, crash consistency; docs/reliability.md, "Crash
//! consistency").
//!
//! ```text
//! sebaya-crash vault|relay [--power] [--trials N] [--seed S] [--chain L] [--max-kill-ms M]
//!                          [--max-cut K] [--relay-bin PATH] [--dir DIR] [--verbose]
//! ```
//! - `vault`: a child process opens a vault and loops writing journal entries, syncing with a relay
//!   on loopback and rotating the journal key (linking a device and removing it), printing a line
//!   after each operation returns; the parent kills it (SIGKILL) after a random delay, then opens the
//!   vault itself and checks it.
//! - `relay`: the child is the relay (the `sebaya-relay` binary with `--relay-bin`, else this
//!   program serving the same library code); three devices push and pull through it from threads of
//!   the parent; the parent kills it, checks its database, and starts it again on the same data.
//! - `--power`: instead of a kill, the child runs on the power-cut VFS (`sebaya_tests::powercut`)
//!   and loses the power at a random mutating SQLite call (at most the `--max-cut`-th): what was not
//!   synced is lost, wholly, as an ordered prefix, or torn by sector.
//!
//! A trial is L consecutive trials' worth of one vault (or relay) history: `--chain` trials share
//! one vault and relay before fresh ones are made. The seed (printed) fixes every choice a run makes;
//! the moments of a kill still depend on the machine's speed. Exits 0 only when every must-be-zero
//! count is zero.

use std::path::PathBuf;
use std::process::ExitCode;

mod crash_calibrate;
mod crash_common;
mod crash_relay;
mod crash_vault;

use crash_common::Opts;

const USAGE: &str = "usage: sebaya-crash vault|relay [--power] [--trials N] [--seed S] [--chain L] \
                     [--max-kill-ms M] [--max-cut K] [--relay-bin PATH] [--dir DIR] [--verbose]";

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        match a.as_str() {
            "--power" => o.power = true,
            "--verbose" => o.verbose = true,
            "--trials" => o.trials = number("--trials", value("--trials")?)?,
            "--seed" => o.seed = number("--seed", value("--seed")?)?,
            "--chain" => o.chain = number("--chain", value("--chain")?)?.max(1),
            "--max-kill-ms" => o.max_kill_ms = number("--max-kill-ms", value("--max-kill-ms")?)?,
            "--max-cut" => o.max_cut = Some(number("--max-cut", value("--max-cut")?)?.max(1)),
            "--relay-bin" => o.relay_bin = Some(PathBuf::from(value("--relay-bin")?)),
            "--dir" => o.dir = Some(PathBuf::from(value("--dir")?)),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match mode.as_str() {
        // The children: run by the parent, never by hand.
        "child-vault" => return crash_vault::child(rest),
        "child-relay" => return crash_relay::child(rest),
        "child-sqlite" => return crash_calibrate::child(rest),
        "vault" | "relay" => {}
        "-h" | "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("sebaya-crash: unknown mode {other}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let mut opts = match parse(rest) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("sebaya-crash: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if opts.seed == 0 {
        opts.seed = crash_common::fresh_seed();
    }
    let tally = if mode == "vault" {
        crash_vault::run(&opts)
    } else {
        crash_relay::run(&opts)
    };
    tally.print(mode, &opts);
    if tally.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
