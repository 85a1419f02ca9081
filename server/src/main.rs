//! `sebaya-relay`: the relay's command.
//!
//! ```text
//! sebaya-relay [serve] [--port N] [--bind ADDR] [--data-dir DIR] [--config FILE] ...
//! sebaya-relay migrate [--data-dir DIR]           upgrade the database's schema, then exit
//! sebaya-relay backup --to FILE [--data-dir DIR]  copy the database, also while a relay serves it
//! sebaya-relay copy-to-postgres --data-dir DIR --database URL   move a stopped SQLite relay into PostgreSQL
//! sebaya-relay --version | --help
//! ```
//! `serve` is the default, so `sebaya-relay --port 0` still serves. Every setting is a flag, an
//! environment variable (`SEBAYA_RELAY_` + the flag's name) and a key of the `--config` TOML file,
//! in that order of precedence (`config.rs` holds the table; the flags here are built from it).
//! `--admission credential` stores only for the people of the programmes listed with `--programme`
//! (each a programme's 64-hex-digit key; at least one): `docs/protocol.md` section 9.8.
//! Defaults: `127.0.0.1:8787`, data in `./sebaya-relay-data`. `--bind` takes an IP address (combined
//! with `--port`) or a full `IP:PORT`. Port 0 picks a free port. Once listening, `serve` prints
//! exactly one line to stdout, `sebaya-relay listening on http://ADDR (data: DIR)`, and with
//! `--metrics-bind` a second, `sebaya-relay metrics on http://ADDR/metrics`. Logs go to stderr
//! (`--log-format`, `--log-level`). Operators: `docs/operations.md`.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command};
use sebaya_relay::config::{self, COMMON, CONFIG, Layers, SERVE, Setting, env_name};
use sebaya_relay::{RelayState, logs};

const ENV_HELP: &str = "Every flag can also be set by an environment variable, SEBAYA_RELAY_ and the \
flag's name in upper case with _ for - (SEBAYA_RELAY_DEVICE_QUOTA_MIB), or in the TOML file given by \
--config, keyed by the flag's name (device-quota-mib = 16). A flag wins over the variable, the \
variable over the file. See docs/operations.md.";

/// The clap arguments of `settings`, each taking a value, the last given counting.
fn args<'a>(settings: impl Iterator<Item = &'a Setting>) -> Vec<Arg> {
    settings
        .map(|s| {
            Arg::new(s.name)
                .long(s.name)
                .value_name(s.value)
                .help(format!("{} [env: {}]", s.help, env_name(s.name)))
                .action(if s.repeated {
                    ArgAction::Append
                } else {
                    ArgAction::Set
                })
        })
        .collect()
}

fn common() -> impl Iterator<Item = &'static Setting> {
    std::iter::once(&CONFIG).chain(COMMON)
}

fn command() -> Command {
    let serve_args = || args(common().chain(SERVE));
    Command::new("sebaya-relay")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Sebaya relay: stores and forwards sealed envelopes, never holds a key.")
        .after_help(ENV_HELP)
        .args_override_self(true)
        .args_conflicts_with_subcommands(true)
        .args(serve_args())
        .subcommand(
            Command::new("serve")
                .about("Serve until SIGTERM or Ctrl-C (the default when no subcommand is given)")
                .after_help(ENV_HELP)
                .args_override_self(true)
                .args(serve_args()),
        )
        .subcommand(
            Command::new("migrate")
                .about("Upgrade the database's schema to this version's, then exit")
                .args_override_self(true)
                .args(args(common())),
        )
        .subcommand(
            Command::new("copy-to-postgres")
                .about("Copy a stopped SQLite relay (--data-dir) into an empty PostgreSQL database (--database), relay id and all")
                .args_override_self(true)
                .args(args(common())),
        )
        .subcommand(
            Command::new("backup")
                .about("Copy the database to a new file (SQLite's online backup: the relay may keep serving)")
                .args_override_self(true)
                .args(args(common()))
                .arg(
                    Arg::new("to")
                        .long("to")
                        .value_name("FILE")
                        .required(true)
                        .help("the new file (never overwritten)"),
                ),
        )
}

/// The settings given as flags, by name.
fn flags(m: &ArgMatches) -> BTreeMap<&'static str, Vec<String>> {
    let mut out = BTreeMap::new();
    for s in common().chain(SERVE) {
        if let Ok(Some(values)) = m.try_get_many::<String>(s.name) {
            out.insert(s.name, values.cloned().collect());
        }
    }
    out
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
    let signal = tokio::select! {
        () = ctrl_c => "SIGINT",
        () = term => "SIGTERM",
    };
    tracing::info!(
        signal,
        "stopping: no new connections, requests in flight may finish"
    );
}

async fn serve(s: config::Serve) -> Result<(), String> {
    let database = s.common.database();
    let (push_key, wakes) = (s.push_key.clone(), s.wakes.clone());
    // Opening the store and binding it to the push key both block.
    let state = tokio::task::spawn_blocking(move || -> Result<RelayState, String> {
        let state = RelayState::open_database(&database).map_err(|e| e.to_string())?;
        let Some(file) = push_key else {
            return Ok(state);
        };
        let key = sebaya_relay::webpush::VapidKey::load_or_create(
            &file,
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|e| {
            format!(
                "could not read or make the push key {}: {e}",
                file.display()
            )
        })?;
        state
            .with_push_key(key, wakes)
            .map_err(|e| format!("push key {}: {e}", file.display()))
    })
    .await
    .map_err(|_| "opening the store failed unexpectedly".to_string())??
    .with_snapshot_retention(s.retention)
    .with_quotas(s.quotas)
    .with_admission(s.admission)
    .with_live_limits(s.live)
    .with_log_cache(s.log_cache);
    let listener = tokio::net::TcpListener::bind(s.bind)
        .await
        .map_err(|e| format!("could not listen on {}: {e}", s.bind))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("could not read the bound address: {e}"))?;
    let metrics = match s.metrics_bind {
        None => None,
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| format!("could not listen for metrics on {at}: {e}"))?;
            let addr = l
                .local_addr()
                .map_err(|e| format!("could not read the metrics address: {e}"))?;
            Some((l, addr))
        }
    };
    {
        let mut out = std::io::stdout().lock();
        // If stdout is closed nobody is reading the lines; the relay still serves.
        let _ = writeln!(
            out,
            "sebaya-relay listening on http://{addr} (data: {})",
            s.common.database().describe()
        );
        if let Some((_, at)) = &metrics {
            let _ = writeln!(out, "sebaya-relay metrics on http://{at}/metrics");
        }
        let _ = out.flush();
    }
    // Addresses go to stdout only: the logs name none, the relay's own included, so that a log
    // line with an address in it is always a bug.
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "relay started");
    if let Some((l, _)) = metrics {
        let router = sebaya_relay::metrics_router(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let in_time =
        sebaya_relay::serve_with_grace(listener, state, shutdown_signal(), s.shutdown_grace)
            .await
            .map_err(|e| e.to_string())?;
    tracing::info!(in_time, "relay stopped");
    Ok(())
}

/// What the command line asks for, its settings read and checked.
enum Plan {
    Serve(Box<config::Serve>),
    Migrate(config::Common),
    Copy(config::Common),
    Backup(config::Common, std::path::PathBuf),
}

impl Plan {
    fn common(&self) -> &config::Common {
        match self {
            Plan::Serve(s) => &s.common,
            Plan::Migrate(c) | Plan::Copy(c) | Plan::Backup(c, _) => c,
        }
    }
}

/// Reads the settings of subcommand `name` (flags in `m`) from every source.
fn plan(name: &str, m: &ArgMatches) -> Result<Plan, config::ConfigError> {
    let env = |k: &str| std::env::var(k).ok();
    let layers = Layers::new(flags(m), &env)?;
    Ok(match name {
        "migrate" => Plan::Migrate(config::Common::resolve(&layers)?),
        "copy-to-postgres" => Plan::Copy(config::Common::resolve(&layers)?),
        "backup" => {
            // clap requires --to; an empty name is the only way to be without one.
            let to = m
                .try_get_one::<String>("to")
                .ok()
                .flatten()
                .cloned()
                .unwrap_or_default();
            Plan::Backup(config::Common::resolve(&layers)?, to.into())
        }
        _ => Plan::Serve(Box::new(config::Serve::resolve(&layers)?)),
    })
}

fn run(plan: Plan) -> Result<(), String> {
    match plan {
        Plan::Migrate(c) => {
            let database = c.database();
            let done = database.migrate().map_err(|e| e.to_string())?;
            tracing::info!(from = done.from, to = done.to, "schema migrated");
            println!(
                "sebaya-relay: schema version {} -> {} (data: {})",
                done.from,
                done.to,
                database.describe()
            );
            Ok(())
        }
        Plan::Copy(c) => {
            let Some(url) = &c.database else {
                return Err("copy-to-postgres needs --database postgres://… (the target)".into());
            };
            let r = sebaya_relay::copy_sqlite_into(&c.data_dir, url).map_err(|e| e.to_string())?;
            tracing::info!(envelopes = r.envelopes, "copied into PostgreSQL");
            println!(
                "sebaya-relay: copied {} envelopes, {} mailbox items and {} erased-space markers from {} into PostgreSQL (relay id kept)",
                r.envelopes,
                r.mailbox,
                r.erased_spaces,
                c.data_dir.display()
            );
            Ok(())
        }
        Plan::Backup(c, to) => {
            if c.database.is_some() {
                return Err(sebaya_relay::StoreError::BackupNotSqlite.to_string());
            }
            let r = sebaya_relay::backup(&c.data_dir, &to).map_err(|e| e.to_string())?;
            tracing::info!(envelopes = r.envelopes, bytes = r.bytes, "backup written");
            println!(
                "sebaya-relay: backed up {} envelopes and {} erased-space markers ({} bytes, schema version {}) to {}",
                r.envelopes,
                r.erased_spaces,
                r.bytes,
                r.schema,
                to.display()
            );
            Ok(())
        }
        Plan::Serve(s) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("could not start the runtime: {e}"))?;
            let result = runtime.block_on(serve(*s));
            // A request still on a blocking thread after the deadline is not waited for.
            runtime.shutdown_timeout(Duration::from_secs(1));
            result
        }
    }
}

fn main() -> ExitCode {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let (name, m) = matches.subcommand().unwrap_or(("serve", &matches));
    let plan = match plan(name, m) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sebaya-relay: {e}\n(sebaya-relay --help lists the settings)");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = logs::init(plan.common().log_format, plan.common().log_level) {
        eprintln!("sebaya-relay: {e}");
        return ExitCode::FAILURE;
    }
    match run(plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            // Plain text, not a log line: it may name an address (the one that could not be bound).
            eprintln!("sebaya-relay: {msg}");
            ExitCode::FAILURE
        }
    }
}
