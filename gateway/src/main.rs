//! `sebaya-push-gateway`: the push gateway's command.
//!
//! ```text
//! sebaya-push-gateway --origin https://push.example.org [--bind IP:PORT] [--relay-keys FILE]
//!     [--fcm-service-account FILE] [--apns-key FILE --apns-key-id ID --apns-team-id ID --apns-topic ID]
//! sebaya-push-gateway --version | --help
//! ```
//! Every setting is also an environment variable (`SEBAYA_GATEWAY_` + the flag's name) and a key of
//! the `--config` TOML file (`config.rs`). Once listening it prints exactly one line to stdout,
//! `sebaya-push-gateway listening on http://ADDR`, and serves until SIGTERM or Ctrl-C. Logs go to
//! stderr (`--log-format`, `--log-level`) and name no device token. `docs/push-gateway.md`.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use clap::{Arg, ArgAction, Command};
use sebaya_push_gateway::config::{CONFIG, Config, Layers, SETTINGS, env_name};

fn command() -> Command {
    let args = std::iter::once(&CONFIG)
        .chain(SETTINGS)
        .map(|&(name, value, help)| {
            Arg::new(name)
                .long(name)
                .value_name(value)
                .help(format!("{help} [env: {}]", env_name(name)))
                .action(ArgAction::Set)
        });
    Command::new("sebaya-push-gateway")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "Sebaya push gateway: turns relays' content-free Web Push wake-ups into FCM and APNs pushes.",
        )
        .args(args)
}

fn run() -> Result<(), String> {
    let matches = command().get_matches();
    let mut flags = BTreeMap::new();
    for &(name, _, _) in std::iter::once(&CONFIG).chain(SETTINGS) {
        if let Some(v) = matches.get_one::<String>(name) {
            flags.insert(name, v.clone());
        }
    }
    let config = Config::new(Layers::read(&flags, |n| std::env::var(n).ok())?)?;
    sebaya_relay::logs::init(config.log_format, config.log_level)?;
    let gateway = config.gateway()?;
    let handle = sebaya_push_gateway::spawn(gateway, config.bind).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "sebaya-push-gateway listening on {}", handle.url());
    let _ = out.flush();
    tracing::info!("serving");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .map_err(|e| e.to_string())?;
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        Ok::<(), String>(())
    })?;
    tracing::info!("stopping");
    handle.shutdown();
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sebaya-push-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
