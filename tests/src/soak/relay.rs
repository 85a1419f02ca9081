//! The relay under soak: the `sebaya-relay` binary started as its own process (so that what is
//! measured is the relay alone, not the load generator), and its samples from `/proc/PID`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::metrics::{Totals, Window};

/// A running relay process with its store in `data_dir`. Killed (by its own pid) when dropped.
pub struct RelayProcess {
    child: Child,
    url: String,
    addr: SocketAddr,
    data_dir: PathBuf,
}

impl RelayProcess {
    /// Starts `bin --port 0 --data-dir DATA --snapshot-retention-days N [--log-cache-mib M]`,
    /// stderr to `log`, and reads the one line it prints once listening.
    pub fn start(
        bin: &Path,
        data_dir: &Path,
        log: &Path,
        retention_days: u32,
        log_cache_mib: Option<u32>,
    ) -> Result<RelayProcess, String> {
        let log = std::fs::File::create(log).map_err(|e| format!("relay log: {e}"))?;
        let mut child = Command::new(bin)
            .args(["--port", "0", "--snapshot-retention-days"])
            .arg(retention_days.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .args(log_cache_mib.map(|m| format!("--log-cache-mib={m}")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("relay banner: {e}"))?;
        let Some(url) = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("unexpected relay banner: {line:?}"));
        };
        let addr: SocketAddr = url
            .trim_start_matches("http://")
            .parse()
            .map_err(|_| format!("unexpected relay address: {url}"))?;
        Ok(RelayProcess {
            url: url.to_string(),
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The loopback address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// One sample of the process at `t` since the start, with the load's counts alongside.
    /// `Err` when the process is gone.
    pub fn sample(&self, t: Duration, window: &Window, totals: Totals) -> Result<Sample, String> {
        let proc_dir = PathBuf::from(format!("/proc/{}", self.pid()));
        let status = std::fs::read_to_string(proc_dir.join("status"))
            .map_err(|e| format!("/proc status: {e}"))?;
        if status_field(&status, "State:").is_some_and(|s| s.starts_with('Z')) {
            return Err("the relay process has exited".into());
        }
        let kib = |name| {
            status_field(&status, name)
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let fds = std::fs::read_dir(proc_dir.join("fd"))
            .map_err(|e| format!("/proc fd: {e}"))?
            .count() as u64;
        let size = |name: &str| {
            std::fs::metadata(self.data_dir.join(name))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        let db = sebaya_relay::DB_FILE_NAME;
        Ok(Sample {
            t_secs: t.as_secs_f64(),
            rss_kib: kib("VmRSS:"),
            hwm_kib: kib("VmHWM:"),
            fds,
            threads: kib("Threads:"),
            db_bytes: size(db),
            wal_bytes: size(&format!("{db}-wal")),
            window: window.clone(),
            totals,
        })
    }

    /// Stops the relay (SIGKILL to its own pid; it keeps nothing in memory that the store lacks).
    /// Returns how it had exited when it was already gone before this call.
    pub fn stop(mut self) -> Option<ExitStatus> {
        let before = self.child.try_wait().ok().flatten();
        let _ = self.child.kill();
        let _ = self.child.wait();
        before
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(str::trim)
}

/// One sample: the relay process, its files, and the load up to then.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Seconds since the run started.
    pub t_secs: f64,
    /// Resident memory (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident memory so far (`VmHWM`), KiB.
    pub hwm_kib: u64,
    /// Open file descriptors (entries of `/proc/PID/fd`): sockets, the database, its WAL...
    pub fds: u64,
    /// Threads of the process.
    pub threads: u64,
    /// The database file.
    pub db_bytes: u64,
    /// Its write-ahead log.
    pub wal_bytes: u64,
    /// Requests since the previous sample.
    pub window: Window,
    /// Counts since the start.
    pub totals: Totals,
}

impl Sample {
    /// The header line of `samples.csv`.
    pub const CSV_HEADER: &'static str = "t_s,rss_kib,hwm_kib,fds,threads,db_bytes,wal_bytes,\
requests,actions,expected_refusals,failures,window_requests,window_req_per_s,window_p50_ms,window_p99_ms";

    /// This sample as a line of `samples.csv`.
    pub fn csv_row(&self) -> String {
        format!(
            "{:.1},{},{},{},{},{},{},{},{},{},{},{},{:.1},{:.2},{:.2}",
            self.t_secs,
            self.rss_kib,
            self.hwm_kib,
            self.fds,
            self.threads,
            self.db_bytes,
            self.wal_bytes,
            self.totals.requests,
            self.totals.actions,
            self.totals.expected_refusals,
            self.totals.failures,
            self.window.requests,
            self.window.per_sec,
            self.window.p50_ms,
            self.window.p99_ms,
        )
    }

    /// A short line for the console while the run goes on.
    pub fn progress_line(&self) -> String {
        format!(
            "t={:>6.0}s rss={:>7.1} MiB fds={:>3} threads={:>3} db={:>7.1} MiB wal={:>6.1} MiB req={} ({:.1}/s, p99 {:.0} ms) failures={}",
            self.t_secs,
            self.rss_kib as f64 / 1024.0,
            self.fds,
            self.threads,
            self.db_bytes as f64 / 1048576.0,
            self.wal_bytes as f64 / 1048576.0,
            self.totals.requests,
            self.window.per_sec,
            self.window.p99_ms,
            self.totals.failures,
        )
    }
}
