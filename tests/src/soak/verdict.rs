//! The soak's figures and its pass/fail rules. After warm-up, memory must stay flat and open files
//! must not pile up; every request that should succeed must succeed. The database grows with what
//! is stored: that is expected and only reported.
//!
//! - **RSS growth**: the median of the last few samples minus the median of the first few after
//!   warm-up (medians, so one sample taken mid-request does not decide), at most
//!   [`Bounds::rss_growth_mib`].
//! - **RSS slope**: least squares over every sample after warm-up, in MiB an hour, at most
//!   [`Bounds::slope_mib_per_hour`]; judged only when the part after warm-up is at least
//!   [`Bounds::slope_min_minutes`] long (over a short run the slope is noise).
//! - **Open files**: the most open in the last third after warm-up minus the most open in the first
//!   third, at most [`Bounds::fd_growth`] (sockets come and go with requests; a leak climbs).
//! - **Failures**: none; the relay still running; no load thread died.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use super::metrics::Report;
use super::relay::Sample;

/// What a run may show and still pass.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// RSS growth after warm-up, MiB.
    pub rss_growth_mib: f64,
    /// RSS least-squares slope after warm-up, MiB an hour.
    pub slope_mib_per_hour: f64,
    /// Shortest part after warm-up over which the slope is judged, minutes.
    pub slope_min_minutes: f64,
    /// Growth of the most open files, last third against first third after warm-up.
    pub fd_growth: u64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            rss_growth_mib: 32.0,
            slope_mib_per_hour: 16.0,
            slope_min_minutes: 20.0,
            fd_growth: 16,
        }
    }
}

/// One rule and whether the run kept it.
#[derive(Clone, Debug)]
pub struct Check {
    /// What was checked, with the figure.
    pub what: String,
    /// Kept (or not judged).
    pub ok: bool,
}

/// The figures of a run and its checks.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Samples after warm-up.
    pub samples_after_warmup: usize,
    /// RSS at the end of warm-up (median of the first samples after it), MiB.
    pub rss_warm_mib: f64,
    /// RSS at the end (median of the last samples), MiB.
    pub rss_end_mib: f64,
    /// Peak RSS of the whole run (`VmHWM` at the end), MiB.
    pub rss_peak_mib: f64,
    /// Least-squares slope after warm-up, MiB an hour.
    pub slope_mib_per_hour: f64,
    /// Fewest and most open files after warm-up.
    pub fds: (u64, u64),
    /// Fewest and most threads after warm-up.
    pub threads: (u64, u64),
    /// Database and WAL at the end, bytes.
    pub db_end: (u64, u64),
    /// Length of the run as sampled, seconds.
    pub duration_secs: f64,
    /// What the load did.
    pub report: Report,
    /// Every rule.
    pub checks: Vec<Check>,
}

/// Least-squares slope of `ys` over `xs` (0 with fewer than two distinct `xs`).
pub fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len().min(ys.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Summary {
    /// Judges the samples of a run. `relay_gone`: the relay exited (or could not be sampled) before
    /// the end; `crashed_threads`: load threads that panicked.
    pub fn judge(
        samples: &[Sample],
        warmup: Duration,
        report: &Report,
        bounds: &Bounds,
        relay_gone: bool,
        crashed_threads: usize,
    ) -> Summary {
        let after: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.t_secs >= warmup.as_secs_f64())
            .collect();
        let edge = (after.len() / 10).clamp(1, 5).min(after.len());
        let rss = |s: &[&Sample]| median(s.iter().map(|s| mib(s.rss_kib)).collect());
        let rss_warm = rss(&after[..edge]);
        let rss_end = rss(&after[after.len() - edge..]);
        let xs: Vec<f64> = after.iter().map(|s| s.t_secs / 3600.0).collect();
        let ys: Vec<f64> = after.iter().map(|s| mib(s.rss_kib)).collect();
        let slope_h = slope(&xs, &ys);
        let span_min = match (after.first(), after.last()) {
            (Some(a), Some(b)) => (b.t_secs - a.t_secs) / 60.0,
            _ => 0.0,
        };
        let range = |f: fn(&Sample) -> u64| {
            let v = after.iter().map(|s| f(s));
            (v.clone().min().unwrap_or(0), v.max().unwrap_or(0))
        };
        let third = after.len() / 3;
        let max_fds = |s: &[&Sample]| s.iter().map(|s| s.fds).max().unwrap_or(0);
        let fd_growth = if third == 0 {
            0
        } else {
            max_fds(&after[after.len() - third..]).saturating_sub(max_fds(&after[..third]))
        };
        let failures = report.totals.failures;
        let mut checks = vec![
            Check {
                what: format!("at least 3 samples after warm-up ({})", after.len()),
                ok: after.len() >= 3,
            },
            Check {
                what: "the relay ran to the end".into(),
                ok: !relay_gone,
            },
            Check {
                what: format!("no load thread died ({crashed_threads} did)"),
                ok: crashed_threads == 0,
            },
            Check {
                what: format!("no failed request or action ({failures})"),
                ok: failures == 0,
            },
            Check {
                what: format!(
                    "RSS growth after warm-up {:+.1} MiB <= {} MiB",
                    rss_end - rss_warm,
                    bounds.rss_growth_mib
                ),
                ok: rss_end - rss_warm <= bounds.rss_growth_mib,
            },
        ];
        if span_min >= bounds.slope_min_minutes {
            checks.push(Check {
                what: format!(
                    "RSS slope after warm-up {slope_h:+.2} MiB/h <= {} MiB/h",
                    bounds.slope_mib_per_hour
                ),
                ok: slope_h <= bounds.slope_mib_per_hour,
            });
        } else {
            checks.push(Check {
                what: format!(
                    "RSS slope not judged: {span_min:.1} min after warm-up < {} min",
                    bounds.slope_min_minutes
                ),
                ok: true,
            });
        }
        checks.push(Check {
            what: format!(
                "open files: most in the last third - most in the first third = {fd_growth} <= {}",
                bounds.fd_growth
            ),
            ok: fd_growth <= bounds.fd_growth,
        });
        let last = samples.last();
        Summary {
            samples_after_warmup: after.len(),
            rss_warm_mib: rss_warm,
            rss_end_mib: rss_end,
            rss_peak_mib: last.map_or(0.0, |s| mib(s.hwm_kib)),
            slope_mib_per_hour: slope_h,
            fds: range(|s| s.fds),
            threads: range(|s| s.threads),
            db_end: last.map_or((0, 0), |s| (s.db_bytes, s.wal_bytes)),
            duration_secs: last.map_or(0.0, |s| s.t_secs),
            report: report.clone(),
            checks,
        }
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The summary as text (`summary.txt`, and printed at the end).
    pub fn text(&self) -> String {
        let t = &self.report.totals;
        let mut out = String::new();
        out.push_str(&format!(
            "RSS after warm-up {:.1} MiB, at the end {:.1} MiB ({:+.1} MiB), peak {:.1} MiB\n\
             RSS slope after warm-up {:+.2} MiB/h (least squares, {} samples)\n\
             open files after warm-up: min {} max {}; threads: min {} max {}\n\
             database at the end {:.1} MiB, WAL {:.1} MiB\n\
             requests {} (actions {}, {:.2}/s over {:.0} s), refused as expected {}, failures {}\n\n",
            self.rss_warm_mib,
            self.rss_end_mib,
            self.rss_end_mib - self.rss_warm_mib,
            self.rss_peak_mib,
            self.slope_mib_per_hour,
            self.samples_after_warmup,
            self.fds.0,
            self.fds.1,
            self.threads.0,
            self.threads.1,
            self.db_end.0 as f64 / 1048576.0,
            self.db_end.1 as f64 / 1048576.0,
            t.requests,
            t.actions,
            t.actions as f64 / self.duration_secs.max(1.0),
            self.duration_secs,
            t.expected_refusals,
            t.failures,
        ));
        out.push_str(&format!(
            "{:<16} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9}\n",
            "kind", "requests", "ok", "refused", "failed", "p50 ms", "p90 ms", "p99 ms", "max ms"
        ));
        for k in &self.report.kinds {
            out.push_str(&format!(
                "{:<16} {:>8} {:>8} {:>8} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1}\n",
                k.kind,
                k.requests,
                k.ok,
                k.refused.values().sum::<u64>(),
                k.failed.values().sum::<u64>(),
                k.p50_ms,
                k.p90_ms,
                k.p99_ms,
                k.max_ms
            ));
        }
        out.push('\n');
        for c in &self.checks {
            out.push_str(&format!(
                "[{}] {}\n",
                if c.ok { "ok" } else { "FAIL" },
                c.what
            ));
        }
        if !self.report.first_failures.is_empty() {
            out.push_str("\nfirst failures:\n");
            for f in &self.report.first_failures {
                out.push_str(&format!("  {f}\n"));
            }
        }
        out.push_str(if self.passed() {
            "\nsoak: PASSED\n"
        } else {
            "\nsoak: FAILED\n"
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::metrics::{Metrics, Totals, Window};

    fn sample(t: f64, rss_mib: f64, fds: u64) -> Sample {
        Sample {
            t_secs: t,
            rss_kib: (rss_mib * 1024.0) as u64,
            hwm_kib: (rss_mib * 1024.0) as u64,
            fds,
            threads: 10,
            db_bytes: 0,
            wal_bytes: 0,
            window: Window::default(),
            totals: Totals::default(),
        }
    }

    /// An hour sampled every 10 s, warm-up 5 min.
    fn hour(rss: impl Fn(f64) -> f64, fds: impl Fn(f64) -> u64) -> Vec<Sample> {
        (0..=360)
            .map(|i| {
                let t = i as f64 * 10.0;
                sample(t, rss(t), fds(t))
            })
            .collect()
    }

    fn judge(s: &[Sample], failures: bool) -> Summary {
        let m = Metrics::new();
        if failures {
            m.failure("sync", "refused".into());
        }
        Summary::judge(
            s,
            Duration::from_secs(300),
            &m.report(),
            &Bounds::default(),
            false,
            0,
        )
    }

    #[test]
    fn the_slope_is_least_squares() {
        assert!((slope(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]) - 2.0).abs() < 1e-12);
        assert!((slope(&[0.0, 1.0, 2.0, 3.0], &[0.0, 1.0, 0.0, 1.0]) - 0.2).abs() < 1e-12);
        assert_eq!(slope(&[1.0], &[1.0]), 0.0);
        assert_eq!(slope(&[1.0, 1.0], &[0.0, 5.0]), 0.0);
    }

    #[test]
    fn flat_memory_with_noise_and_busy_sockets_passes() {
        // Warm-up climbs to 40 MiB, then noise of ±3 MiB and sockets between 12 and 20.
        let s = hour(
            |t| 40.0f64.min(10.0 + t / 10.0) + ((t / 10.0) as u64 % 7) as f64 - 3.0,
            |t| 12 + (t as u64 / 10) % 9,
        );
        let v = judge(&s, false);
        assert!(v.passed(), "{}", v.text());
        assert!(v.slope_mib_per_hour.abs() < 2.0);
        assert_eq!(v.fds, (12, 20));
    }

    #[test]
    fn memory_that_keeps_growing_fails() {
        // 20 MiB an hour after warm-up: under the growth bound in the end, over the slope bound.
        let s = hour(|t| 40.0 + t / 180.0, |_| 12);
        let v = judge(&s, false);
        assert!(!v.passed());
        assert!((v.slope_mib_per_hour - 20.0).abs() < 0.5, "{}", v.text());
        // 40 MiB in all: over the growth bound too.
        let s = hour(|t| 40.0 + t / 90.0, |_| 12);
        let v = judge(&s, false);
        assert_eq!(v.checks.iter().filter(|c| !c.ok).count(), 2, "{}", v.text());
    }

    #[test]
    fn open_files_that_pile_up_fail() {
        // One more socket every 2 minutes: 27 more by the end.
        let s = hour(|_| 40.0, |t| 12 + (t / 120.0) as u64);
        let v = judge(&s, false);
        assert!(!v.passed(), "{}", v.text());
    }

    #[test]
    fn one_failed_request_fails_the_run() {
        let s = hour(|_| 40.0, |_| 12);
        assert!(judge(&s, false).passed());
        assert!(!judge(&s, true).passed());
    }

    #[test]
    fn a_short_run_does_not_judge_the_slope_but_does_judge_growth() {
        let s: Vec<Sample> = (0..30)
            .map(|i| sample(i as f64, 40.0 + i as f64 * 2.0, 12))
            .collect();
        let v = Summary::judge(
            &s,
            Duration::from_secs(10),
            &Metrics::new().report(),
            &Bounds::default(),
            false,
            0,
        );
        assert!(v.checks.iter().any(|c| c.what.contains("not judged")));
        assert!(!v.passed(), "38 MiB in 20 s: {}", v.text());
    }
}
