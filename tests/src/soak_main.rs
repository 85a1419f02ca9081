//! `sebaya-soak`: the relay under steady mixed load for a long time, sampled as it goes
//! (`sebaya_tests::soak`; the documented run is `scripts/soak.sh`, results in
//! `docs/reliability.md`, "Soak").
//!
//! ```text
//! sebaya-soak [--relay PATH] [--out DIR] [--duration SECS] [--warmup SECS] [--sample-every SECS]
//!             [--workers N] [--rate ACTIONS_PER_S] [--people N] [--refusal-rate PER_S] [--idle N]
//!             [--abandon-every SECS]
//!             [--retention-days N] [--log-cache-mib N] [--seed N] [--rss-bound MIB] [--slope-bound MIB_PER_H]
//!             [--fd-bound N]
//! ```
//! Defaults: the relay binary next to this one, `soak-out/`, one hour with five minutes of warm-up,
//! a sample every 10 s, 4 workers at 8 actions a second in all, 24 people each, 2 refusals a second,
//! 16 idle connections, one connection abandoned every 30 s (0: none). Exits 0 when every check passed, 1 when one failed, 2 on a usage or setup
//! error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use sebaya_tests::soak::{self, Config, verdict::Bounds};

fn parse(args: &[String]) -> Result<Config, String> {
    let here = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut c = Config {
        relay_bin: here.with_file_name("sebaya-relay"),
        out_dir: PathBuf::from("soak-out"),
        duration: Duration::from_secs(3600),
        warmup: Duration::from_secs(300),
        sample_every: Duration::from_secs(10),
        workers: 4,
        rate: 8.0,
        people: 24,
        refusal_rate: 2.0,
        idle_connections: 16,
        abandon_every: Some(Duration::from_secs(30)),
        retention_days: 0,
        log_cache_mib: None,
        seed: 1,
        bounds: Bounds::default(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let num = |v: String| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("{flag}: not a number: {v}"))
        };
        let secs = |v: String| num(v).map(Duration::from_secs_f64);
        match flag.as_str() {
            "--relay" => c.relay_bin = PathBuf::from(value()?),
            "--out" => c.out_dir = PathBuf::from(value()?),
            "--duration" => c.duration = secs(value()?)?,
            "--warmup" => c.warmup = secs(value()?)?,
            "--sample-every" => c.sample_every = secs(value()?)?.max(Duration::from_millis(100)),
            "--workers" => c.workers = num(value()?)?.max(1.0) as usize,
            "--rate" => c.rate = num(value()?)?.max(0.01),
            "--people" => c.people = num(value()?)? as usize,
            "--refusal-rate" => c.refusal_rate = num(value()?)?.max(0.01),
            "--idle" => c.idle_connections = num(value()?)? as usize,
            "--abandon-every" => {
                let s = num(value()?)?;
                c.abandon_every = (s > 0.0).then(|| Duration::from_secs_f64(s));
            }
            "--retention-days" => c.retention_days = num(value()?)? as u32,
            "--log-cache-mib" => c.log_cache_mib = Some(num(value()?)?.max(1.0) as u32),
            "--seed" => c.seed = num(value()?)? as u32,
            "--rss-bound" => c.bounds.rss_growth_mib = num(value()?)?,
            "--slope-bound" => c.bounds.slope_mib_per_hour = num(value()?)?,
            "--fd-bound" => c.bounds.fd_growth = num(value()?)? as u64,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(c)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("see the module doc of tests/src/soak_main.rs for the flags");
        return ExitCode::SUCCESS;
    }
    let config = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sebaya-soak: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("sebaya-soak: {config:?}");
    match soak::run(&config) {
        Ok(outcome) => {
            print!("{}", outcome.summary.text());
            if outcome.summary.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("sebaya-soak: {e}");
            ExitCode::from(2)
        }
    }
}
