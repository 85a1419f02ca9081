//! `sebaya-relay`: runs a relay until Ctrl-C (or SIGTERM).
//!
//! ```text
//! sebaya-relay [--port N] [--bind ADDR] [--data-dir DIR] [--snapshot-retention-days N|never]
//!              [--device-quota-mib N] [--person-quota-mib N] [--founder-quota-mib N] [--space-quota-mib N]
//!              [--total-quota-mib N] [--unadmitted-quota-mib N]
//!              [--admission open|credential] [--programme KEY_HEX]...
//!              [--log-cache-mib N]
//! ```
//! `--admission credential` stores only for the people of the programmes listed with `--programme`
//! (each a programme's 64-hex-digit key; at least one): see `docs/protocol.md` section 9.8.
//! Defaults: `127.0.0.1:8787`, data in `./sebaya-relay-data` (or `$SEBAYA_RELAY_DATA_DIR`). `--bind`
//! takes an IP address (combined with `--port`) or a full `IP:PORT`. Port 0 picks a free port. Once
//! listening it prints exactly one line to stdout:
//! `sebaya-relay listening on http://ADDR (data: DIR)`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use sebaya_relay::{DATA_DIR_ENV, DEFAULT_DATA_DIR, DEFAULT_PORT, RelayState};

const USAGE: &str = "usage: sebaya-relay [--port N] [--bind ADDR|ADDR:PORT] [--data-dir DIR] [--snapshot-retention-days N|never] [--device-quota-mib N] [--person-quota-mib N] [--founder-quota-mib N] [--space-quota-mib N] [--total-quota-mib N] [--unadmitted-quota-mib N] [--admission open|credential] [--programme KEY_HEX]... [--log-cache-mib N]";

#[derive(Debug)]
struct Args {
    bind: SocketAddr,
    data_dir: PathBuf,
    /// Seconds envelopes covered by a snapshot are kept (`None`: never pruned; protocol 26).
    retention: Option<u64>,
    /// What authors, spaces and the relay may store (issue 15, item 2).
    quotas: sebaya_relay::quota::Quotas,
    /// Who may store (issue 15, item 2).
    admission: sebaya_relay::admission::Policy,
    /// Memory bound of the membership-log cache, bytes (soak finding S2).
    log_cache: usize,
}

/// Reads a number of MiB for a quota flag, as bytes.
fn mib(flag: &str, v: &str) -> Result<u64, String> {
    let n: u64 = v
        .parse()
        .map_err(|_| format!("{flag}: not a number of MiB: {v}"))?;
    if n == 0 {
        return Err(format!("{flag}: must be at least 1"));
    }
    Ok(n.saturating_mul(1024 * 1024))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut port: Option<u16> = None;
    let mut bind: Option<String> = None;
    let mut data_dir: Option<PathBuf> = None;
    let mut retention = Some(sebaya_relay::exchange::DEFAULT_SNAPSHOT_RETENTION_SECS);
    let mut quotas = sebaya_relay::quota::Quotas::default();
    let mut admission = sebaya_relay::admission::Policy::default();
    let mut log_cache = sebaya_relay::access::CACHE_BUDGET_BYTES;
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                let v = value("--port")?;
                port = Some(
                    v.parse()
                        .map_err(|_| format!("--port: not a port number: {v}"))?,
                );
            }
            "--bind" => bind = Some(value("--bind")?),
            "--data-dir" => data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--snapshot-retention-days" => {
                let v = value("--snapshot-retention-days")?;
                retention = if v == "never" {
                    None
                } else {
                    let days: u64 = v.parse().map_err(|_| {
                        format!("--snapshot-retention-days: not a number of days: {v}")
                    })?;
                    Some(days.saturating_mul(24 * 60 * 60))
                };
            }
            "--device-quota-mib" => {
                quotas.device_bytes = mib("--device-quota-mib", &value("--device-quota-mib")?)?;
            }
            "--space-quota-mib" => {
                quotas.space_bytes = mib("--space-quota-mib", &value("--space-quota-mib")?)?;
            }
            "--person-quota-mib" => {
                quotas.person_bytes = mib("--person-quota-mib", &value("--person-quota-mib")?)?;
            }
            "--founder-quota-mib" => {
                quotas.founder_bytes = mib("--founder-quota-mib", &value("--founder-quota-mib")?)?;
            }
            "--unadmitted-quota-mib" => {
                quotas.unadmitted_bytes =
                    mib("--unadmitted-quota-mib", &value("--unadmitted-quota-mib")?)?;
            }
            "--total-quota-mib" => {
                quotas.total_bytes = mib("--total-quota-mib", &value("--total-quota-mib")?)?;
            }
            "--admission" => {
                admission.mode = match value("--admission")?.as_str() {
                    "open" => sebaya_relay::admission::Mode::Open,
                    "credential" => sebaya_relay::admission::Mode::Credential,
                    v => return Err(format!("--admission: open or credential, not {v}")),
                };
            }
            "--programme" => {
                let v = value("--programme")?;
                let key: [u8; 32] = hex::decode(&v)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| format!("--programme: not a 64-hex-digit key: {v}"))?;
                admission.programmes.push(key);
            }
            "--log-cache-mib" => {
                log_cache = usize::try_from(mib("--log-cache-mib", &value("--log-cache-mib")?)?)
                    .unwrap_or(usize::MAX);
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    if admission.mode == sebaya_relay::admission::Mode::Credential
        && admission.programmes.is_empty()
    {
        return Err("--admission credential needs at least one --programme".into());
    }
    let bind = match bind {
        None => SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            port.unwrap_or(DEFAULT_PORT),
        ),
        Some(text) => {
            if let Ok(ip) = text.parse::<IpAddr>() {
                SocketAddr::new(ip, port.unwrap_or(DEFAULT_PORT))
            } else {
                let mut addr: SocketAddr = text
                    .parse()
                    .map_err(|_| format!("--bind: not an IP address or IP:PORT: {text}"))?;
                if let Some(p) = port {
                    addr.set_port(p);
                }
                addr
            }
        }
    };
    let data_dir = data_dir
        .or_else(|| {
            std::env::var_os(DATA_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    Ok(Some(Args {
        bind,
        data_dir,
        retention,
        quotas,
        admission,
        log_cache,
    }))
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling available: run until killed.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn run(args: Args) -> Result<(), String> {
    let dir = args.data_dir.clone();
    let state = tokio::task::spawn_blocking(move || RelayState::open(&dir))
        .await
        .map_err(|_| "opening the store failed unexpectedly".to_string())?
        .map_err(|e| e.to_string())?
        .with_snapshot_retention(args.retention)
        .with_quotas(args.quotas)
        .with_admission(args.admission)
        .with_log_cache(args.log_cache);
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| format!("could not listen on {}: {e}", args.bind))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("could not read the bound address: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        // If stdout is closed nobody is reading the line; the relay still serves.
        let _ = writeln!(
            out,
            "sebaya-relay listening on http://{addr} (data: {})",
            args.data_dir.display()
        );
        let _ = out.flush();
    }
    sebaya_relay::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("sebaya-relay: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sebaya-relay: could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("sebaya-relay: {msg}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn parse(args: &[&str]) -> Args {
        parse_args(args.iter().map(|s| s.to_string()))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn quota_flags_set_the_quotas_in_mib() {
        let a = parse(&["--device-quota-mib", "16", "--total-quota-mib=2048"]);
        assert_eq!(a.quotas.device_bytes, 16 * 1024 * 1024);
        assert_eq!(
            a.quotas.unadmitted_bytes,
            u64::MAX,
            "no bound of its own by default"
        );
        let b = parse(&["--person-quota-mib", "64", "--unadmitted-quota-mib", "1024"]);
        assert_eq!(b.quotas.person_bytes, 64 * 1024 * 1024);
        assert_eq!(
            parse(&["--founder-quota-mib=8"]).quotas.founder_bytes,
            8 * 1024 * 1024
        );
        assert_eq!(b.quotas.unadmitted_bytes, 1024 * 1024 * 1024);
        assert_eq!(a.quotas.total_bytes, 2048 * 1024 * 1024);
        assert_eq!(
            a.quotas.space_bytes,
            sebaya_relay::quota::Quotas::default().space_bytes
        );
        for bad in [["--space-quota-mib", "0"], ["--space-quota-mib", "lots"]] {
            assert!(parse_args(bad.iter().map(|s| s.to_string())).is_err());
        }
    }

    #[test]
    fn admission_by_credential_names_its_programmes() {
        use sebaya_relay::admission::Mode;
        assert_eq!(parse(&[]).admission.mode, Mode::Open);
        let key = "ab".repeat(32);
        let a = parse(&["--admission", "credential", "--programme", &key]);
        assert_eq!(a.admission.mode, Mode::Credential);
        assert_eq!(a.admission.programmes, vec![[0xab; 32]]);
        for bad in [
            vec!["--admission", "credential"],
            vec!["--admission", "closed"],
            vec!["--programme", "abcd"],
        ] {
            assert!(parse_args(bad.iter().map(|s| s.to_string())).is_err());
        }
    }

    #[test]
    fn the_log_cache_flag_sets_its_budget_in_mib() {
        assert_eq!(
            parse(&[]).log_cache,
            sebaya_relay::access::CACHE_BUDGET_BYTES
        );
        assert_eq!(parse(&["--log-cache-mib", "16"]).log_cache, 16 << 20);
        assert!(parse_args(["--log-cache-mib=0".to_string()].into_iter()).is_err());
    }

    #[test]
    fn flags_combine() {
        let a = parse(&["--port", "0", "--data-dir", "/tmp/x"]);
        assert_eq!(a.bind, "127.0.0.1:0".parse().unwrap());
        assert_eq!(a.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(
            parse(&["--bind", "::1", "--port=9"]).bind,
            "[::1]:9".parse().unwrap()
        );
        assert_eq!(
            parse(&["--bind=127.0.0.1:5"]).bind,
            "127.0.0.1:5".parse().unwrap()
        );
        assert!(parse_args(["--bogus".to_string()].into_iter()).is_err());
        assert!(parse_args(["--port".to_string()].into_iter()).is_err());
    }

    #[test]
    fn snapshot_retention_is_in_days_or_never() {
        assert_eq!(
            parse(&[]).retention,
            Some(sebaya_relay::exchange::DEFAULT_SNAPSHOT_RETENTION_SECS)
        );
        assert_eq!(
            parse(&["--snapshot-retention-days", "2"]).retention,
            Some(2 * 86_400)
        );
        assert_eq!(parse(&["--snapshot-retention-days=never"]).retention, None);
        assert!(parse_args(["--snapshot-retention-days=soon".to_string()].into_iter()).is_err());
    }
}
