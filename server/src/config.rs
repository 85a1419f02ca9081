//! The operator's settings: each one from a flag, an environment variable or a TOML file.
//!
//! One table ([`COMMON`], [`SERVE`]) names every setting once. Its flag is `--NAME`, its environment
//! variable `SEBAYA_RELAY_` + NAME in upper case with `_` for `-` (`--device-quota-mib` is
//! `SEBAYA_RELAY_DEVICE_QUOTA_MIB`), and its key in the file given by `--config` is NAME itself
//! (`device-quota-mib = 16`). A flag wins over the environment, which wins over the file, which wins
//! over the default; an empty environment variable counts as unset. Whatever the source, a value goes
//! through the same check, and an error names where it came from, so an operator knows which of the
//! three to fix. The binary builds its clap command from the same table (`main.rs`), so a setting
//! cannot exist as a flag and be missing from the environment or the file.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::admission::{Mode, Policy};
use crate::logs::LogFormat;
use crate::quota::Quotas;
use crate::{DEFAULT_DATA_DIR, DEFAULT_PORT};

/// Prefix of every environment variable the relay reads.
pub const ENV_PREFIX: &str = "SEBAYA_RELAY_";
/// How long a stopping relay waits for requests in flight by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// One setting: its name (flag without `--`, file key), what its value looks like, and what it does.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// Flag name without `--`; also the file key and, upper-cased, the environment variable's tail.
    pub name: &'static str,
    /// Placeholder shown in `--help`.
    pub value: &'static str,
    /// One line of `--help`.
    pub help: &'static str,
    /// Whether it may be given several times (flags repeated, a list in the file, commas in the
    /// environment).
    pub repeated: bool,
}

const fn one(name: &'static str, value: &'static str, help: &'static str) -> Setting {
    Setting {
        name,
        value,
        help,
        repeated: false,
    }
}

/// The file of settings. Read by flag or environment only: a file cannot name another file.
pub const CONFIG: Setting = one(
    "config",
    "FILE",
    "TOML file of settings, keys named as the flags without --",
);

/// Settings every subcommand reads.
pub const COMMON: &[Setting] = &[
    one(
        "data-dir",
        "DIR",
        "directory of the SQLite database [default: ./sebaya-relay-data]",
    ),
    one(
        "database",
        "URL",
        "postgres://USER@HOST:PORT/DB: keep the data in PostgreSQL instead (several nodes may share it) [default: SQLite in --data-dir]",
    ),
    one(
        "log-format",
        "json|text",
        "how log lines on stderr look [default: json]",
    ),
    one(
        "log-level",
        "LEVEL",
        "error, warn, info, debug or trace [default: info]",
    ),
];

/// Settings of `serve` only.
pub const SERVE: &[Setting] = &[
    one(
        "port",
        "N",
        "port to listen on [default: 8787; 0: any free port]",
    ),
    one(
        "bind",
        "ADDR",
        "IP address to listen on (with --port), or IP:PORT [default: 127.0.0.1]",
    ),
    one(
        "snapshot-retention-days",
        "N|never",
        "days envelopes covered by a snapshot are kept [default: 30]",
    ),
    one("device-quota-mib", "N", "what one device may store, MiB"),
    one(
        "person-quota-mib",
        "N",
        "what one admitted person's devices may store together, MiB",
    ),
    one(
        "founder-quota-mib",
        "N",
        "what the spaces one person founded may hold together, MiB",
    ),
    one("space-quota-mib", "N", "what one space may hold, MiB"),
    one("total-quota-mib", "N", "what the whole relay may hold, MiB"),
    one(
        "unadmitted-quota-mib",
        "N",
        "what spaces no programme admitted may hold together, MiB",
    ),
    one(
        "admission",
        "open|credential",
        "who may store: everyone, or the people of the programmes listed [default: open]",
    ),
    Setting {
        name: "programme",
        value: "KEY_HEX",
        help: "a programme whose people are admitted (64 hex digits); repeat for several",
        repeated: true,
    },
    one(
        "log-cache-mib",
        "N",
        "memory bound of the membership-log cache, MiB",
    ),
    one(
        "max-waits",
        "N",
        "live waits (POST /v1/wait) held at once in all [default: 10000]",
    ),
    one(
        "max-waits-per-device",
        "N",
        "live waits held at once per device [default: 4]",
    ),
    one(
        "push-key",
        "FILE",
        "send wake-ups and take their registrations (POST /v1/push), signing with the VAPID key in FILE, made there if missing; needs --push-contact [default: off]",
    ),
    one(
        "push-contact",
        "mailto:ADDR|https://URL",
        "how push services reach the operator (the VAPID subject)",
    ),
    one(
        "push-interval-secs",
        "N",
        "least time between two wake-ups of one device [default: 60]",
    ),
    one(
        "push-jitter-secs",
        "N",
        "largest random delay added to each wake-up [default: 15]",
    ),
    one(
        "push-max-subscriptions",
        "N",
        "wake-up subscriptions kept in all [default: 100000]",
    ),
    one(
        "push-allow-loopback",
        "true|false",
        "tests only: take push endpoints on loopback addresses, plain http too [default: false]",
    ),
    one(
        "metrics-bind",
        "IP:PORT",
        "serve Prometheus metrics at http://IP:PORT/metrics [default: off]",
    ),
    one(
        "shutdown-grace-secs",
        "N",
        "on SIGTERM, how long requests in flight may finish [default: 10]",
    ),
];

/// Why the settings could not be read. Each message names the flag, variable or file key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value does not check.
    #[error("{origin}: {message}")]
    Invalid {
        /// `--port`, `SEBAYA_RELAY_PORT` or `FILE: port`.
        origin: String,
        /// What is wrong, with the value.
        message: String,
    },
    /// The config file could not be read.
    #[error("config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The config file is not TOML.
    #[error("config file {path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The config file names a setting that does not exist (a typo would otherwise go unnoticed).
    #[error("config file {path}: unknown setting {key}")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// Wake-ups with no contact for the push services.
    #[error("--push-key needs --push-contact (mailto:ADDR or https://URL)")]
    NoPushContact,
    /// Admission by credential with no programme to admit.
    #[error("--admission credential needs at least one --programme")]
    NoProgramme,
}

/// The three sources, before any value is checked.
pub struct Layers<'a> {
    flags: BTreeMap<&'static str, Vec<String>>,
    env: &'a dyn Fn(&str) -> Option<String>,
    file: Option<(PathBuf, toml::Table)>,
}

impl std::fmt::Debug for Layers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layers")
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

/// The environment variable of a setting.
pub fn env_name(setting: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        setting.to_ascii_uppercase().replace('-', "_")
    )
}

impl<'a> Layers<'a> {
    /// The flags given (setting name → values), the environment (`env`, e.g. over
    /// `std::env::var`), and the config file, read here when `--config` or `SEBAYA_RELAY_CONFIG`
    /// names one. Unknown keys in the file are refused.
    pub fn new(
        flags: BTreeMap<&'static str, Vec<String>>,
        env: &'a dyn Fn(&str) -> Option<String>,
    ) -> Result<Layers<'a>, ConfigError> {
        let mut layers = Layers {
            flags,
            env,
            file: None,
        };
        if let Some((_, mut values)) = layers.raw(&CONFIG)? {
            if let Some(path) = values.pop() {
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                layers.file = Some(parse_file(&path, &text)?);
            }
        }
        Ok(layers)
    }

    /// The first source that gives `setting`, with its raw values; `None` when none does.
    fn raw(&self, setting: &Setting) -> Result<Option<(String, Vec<String>)>, ConfigError> {
        if let Some(values) = self.flags.get(setting.name).filter(|v| !v.is_empty()) {
            return Ok(Some((format!("--{}", setting.name), values.clone())));
        }
        let var = env_name(setting.name);
        if let Some(value) = (self.env)(&var).filter(|v| !v.is_empty()) {
            let values = if setting.repeated {
                value
                    .split([',', ' '])
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .collect()
            } else {
                vec![value]
            };
            return Ok(Some((var, values)));
        }
        let Some((path, table)) = &self.file else {
            return Ok(None);
        };
        if setting.name == CONFIG.name {
            return Ok(None);
        }
        let Some(value) = table.get(setting.name) else {
            return Ok(None);
        };
        let where_ = format!("{}: {}", path.display(), setting.name);
        let texts = match value {
            toml::Value::Array(items) if setting.repeated => items
                .iter()
                .map(|v| scalar(v, &where_))
                .collect::<Result<Vec<_>, _>>()?,
            v => vec![scalar(v, &where_)?],
        };
        Ok(Some((where_, texts)))
    }

    /// The one value of `setting`, checked by `parse`, or `None` when no source gives it.
    fn value<T>(
        &self,
        setting: &Setting,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let Some((origin, mut values)) = self.raw(setting)? else {
            return Ok(None);
        };
        // A flag given twice: the last one counts, as with most tools.
        let Some(text) = values.pop() else {
            return Ok(None);
        };
        parse(&text)
            .map(Some)
            .map_err(|message| ConfigError::Invalid { origin, message })
    }

    /// Every value of a repeated `setting`, each checked by `parse` (empty when no source gives it).
    fn values<T>(
        &self,
        setting: &Setting,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Vec<T>, ConfigError> {
        let Some((origin, values)) = self.raw(setting)? else {
            return Ok(Vec::new());
        };
        values
            .iter()
            .map(|v| {
                parse(v).map_err(|message| ConfigError::Invalid {
                    origin: origin.clone(),
                    message,
                })
            })
            .collect()
    }

    /// The table's row of `name` (a name this module spells; a row of no setting otherwise).
    fn setting(name: &str) -> Setting {
        COMMON
            .iter()
            .chain(SERVE)
            .find(|s| s.name == name)
            .copied()
            .unwrap_or(one("", "", ""))
    }

    fn get<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.value(&Self::setting(name), parse)
    }
}

/// A file value as text: strings as they are, integers in decimal; anything else is refused.
fn scalar(value: &toml::Value, origin: &str) -> Result<String, ConfigError> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        _ => Err(ConfigError::Invalid {
            origin: origin.to_string(),
            message: "expected a string or a whole number".into(),
        }),
    }
}

/// A `--database` value: a PostgreSQL URL. The message never repeats it (it may hold a password).
fn database_url(text: &str) -> Result<crate::PostgresUrl, String> {
    crate::PostgresUrl::parse(text).map_err(|e| e.to_string())
}

fn parse_file(path: &Path, text: &str) -> Result<(PathBuf, toml::Table), ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
    for key in table.keys() {
        if !COMMON.iter().chain(SERVE).any(|s| s.name == key) {
            return Err(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                key: key.clone(),
            });
        }
    }
    Ok((path.to_path_buf(), table))
}

/// What every subcommand needs: where the database is and how to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Common {
    /// Directory of `relay.sqlite3`.
    pub data_dir: PathBuf,
    /// A PostgreSQL database to use instead of SQLite (`--database`); never shown (it may hold a
    /// password).
    pub database: Option<crate::PostgresUrl>,
    /// How log lines look.
    pub log_format: LogFormat,
    /// The most verbose level logged.
    pub log_level: tracing::Level,
}

impl Common {
    /// The store these settings choose: PostgreSQL when `--database` is given, else SQLite in the
    /// data directory.
    pub fn database(&self) -> crate::Database {
        match &self.database {
            Some(url) => crate::Database::Postgres(url.clone()),
            None => crate::Database::Sqlite(self.data_dir.clone()),
        }
    }

    /// Reads the common settings.
    pub fn resolve(layers: &Layers<'_>) -> Result<Common, ConfigError> {
        Ok(Common {
            data_dir: layers
                .get("data-dir", path)?
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database: layers.get("database", database_url)?,
            log_format: layers
                .get("log-format", log_format)?
                .unwrap_or(LogFormat::Json),
            log_level: layers
                .get("log-level", log_level)?
                .unwrap_or(tracing::Level::INFO),
        })
    }
}

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct Serve {
    /// Data directory and logging.
    pub common: Common,
    /// Where the relay listens.
    pub bind: SocketAddr,
    /// Seconds envelopes covered by a snapshot are kept (`None`: never pruned; protocol 26).
    pub retention: Option<u64>,
    /// What authors, spaces and the relay may store (issue 15, item 2).
    pub quotas: Quotas,
    /// Who may store (protocol 9.8).
    pub admission: Policy,
    /// Memory bound of the membership-log cache, bytes (soak finding S2).
    pub log_cache: usize,
    /// How many live waits are held at once (protocol 28).
    pub live: crate::live::LiveLimits,
    /// The VAPID key file for wake-ups (protocol 28.8, 28.9), if they are on.
    pub push_key: Option<PathBuf>,
    /// How wake-ups are sent (with `push_key`).
    pub wakes: crate::wakeups::WakeSettings,
    /// Where metrics are served, if anywhere.
    pub metrics_bind: Option<SocketAddr>,
    /// How long requests in flight may finish once a stop is asked for.
    pub shutdown_grace: Duration,
}

impl Serve {
    /// Reads and checks every setting of `serve`.
    pub fn resolve(layers: &Layers<'_>) -> Result<Serve, ConfigError> {
        let common = Common::resolve(layers)?;
        let port = layers.get("port", port)?;
        let bind = match layers.get("bind", bind)? {
            None => SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                port.unwrap_or(DEFAULT_PORT),
            ),
            Some(Bind::Ip(ip)) => SocketAddr::new(ip, port.unwrap_or(DEFAULT_PORT)),
            Some(Bind::Full(mut addr)) => {
                if let Some(p) = port {
                    addr.set_port(p);
                }
                addr
            }
        };
        let mut quotas = Quotas::default();
        for (name, field) in [
            ("device-quota-mib", &mut quotas.device_bytes),
            ("person-quota-mib", &mut quotas.person_bytes),
            ("founder-quota-mib", &mut quotas.founder_bytes),
            ("space-quota-mib", &mut quotas.space_bytes),
            ("total-quota-mib", &mut quotas.total_bytes),
            ("unadmitted-quota-mib", &mut quotas.unadmitted_bytes),
        ] {
            if let Some(bytes) = layers.get(name, mib)? {
                *field = bytes;
            }
        }
        let admission = Policy {
            mode: layers.get("admission", mode)?.unwrap_or(Mode::Open),
            programmes: layers.values(&Layers::setting("programme"), programme)?,
        };
        if admission.mode == Mode::Credential && admission.programmes.is_empty() {
            return Err(ConfigError::NoProgramme);
        }
        let push_key = layers.get("push-key", path)?;
        let contact = layers.get("push-contact", contact)?;
        if push_key.is_some() && contact.is_none() {
            return Err(ConfigError::NoPushContact);
        }
        let mut wakes = crate::wakeups::WakeSettings::new(&contact.unwrap_or_default());
        if let Some(secs) = layers.get("push-interval-secs", seconds)? {
            wakes.interval = secs;
        }
        if let Some(secs) = layers.get("push-jitter-secs", seconds)? {
            wakes.jitter = secs;
        }
        if let Some(n) = layers.get("push-max-subscriptions", count)? {
            wakes.max_subscriptions = u64::try_from(n).unwrap_or(u64::MAX);
        }
        wakes.allow_loopback = layers.get("push-allow-loopback", boolean)?.unwrap_or(false);
        Ok(Serve {
            common,
            bind,
            retention: layers
                .get("snapshot-retention-days", retention)?
                .unwrap_or(Some(crate::exchange::DEFAULT_SNAPSHOT_RETENTION_SECS)),
            quotas,
            admission,
            log_cache: layers
                .get("log-cache-mib", |v| {
                    mib(v).map(|b| usize::try_from(b).unwrap_or(usize::MAX))
                })?
                .unwrap_or(crate::access::CACHE_BUDGET_BYTES),
            live: crate::live::LiveLimits {
                per_device: layers
                    .get("max-waits-per-device", count)?
                    .unwrap_or(crate::live::DEFAULT_WAITS_PER_DEVICE),
                total: layers
                    .get("max-waits", count)?
                    .unwrap_or(crate::live::DEFAULT_WAITS_TOTAL),
            },
            push_key,
            wakes,
            metrics_bind: layers.get("metrics-bind", socket)?,
            shutdown_grace: layers
                .get("shutdown-grace-secs", |v| {
                    v.parse::<u64>()
                        .map(Duration::from_secs)
                        .map_err(|_| format!("not a number of seconds: {v}"))
                })?
                .unwrap_or(DEFAULT_SHUTDOWN_GRACE),
        })
    }
}

fn seconds(v: &str) -> Result<Duration, String> {
    v.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("not a number of seconds: {v}"))
}

fn boolean(v: &str) -> Result<bool, String> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("true or false, not {v}")),
    }
}

fn contact(v: &str) -> Result<String, String> {
    if (v.starts_with("mailto:") || v.starts_with("https://")) && v.len() > "https://".len() {
        Ok(v.to_owned())
    } else {
        Err("mailto:ADDR or https://URL".into())
    }
}

fn count(v: &str) -> Result<usize, String> {
    v.parse().map_err(|_| format!("not a whole number: {v}"))
}

fn path(v: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(v))
}

fn port(v: &str) -> Result<u16, String> {
    v.parse().map_err(|_| format!("not a port number: {v}"))
}

enum Bind {
    Ip(IpAddr),
    Full(SocketAddr),
}

fn bind(v: &str) -> Result<Bind, String> {
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Ok(Bind::Ip(ip));
    }
    v.parse()
        .map(Bind::Full)
        .map_err(|_| format!("not an IP address or IP:PORT: {v}"))
}

fn socket(v: &str) -> Result<SocketAddr, String> {
    v.parse().map_err(|_| format!("not an IP:PORT: {v}"))
}

/// A number of MiB, at least 1, as bytes.
fn mib(v: &str) -> Result<u64, String> {
    let n: u64 = v.parse().map_err(|_| format!("not a number of MiB: {v}"))?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n.saturating_mul(1024 * 1024))
}

fn retention(v: &str) -> Result<Option<u64>, String> {
    if v == "never" {
        return Ok(None);
    }
    let days: u64 = v
        .parse()
        .map_err(|_| format!("not a number of days: {v}"))?;
    Ok(Some(days.saturating_mul(24 * 60 * 60)))
}

fn mode(v: &str) -> Result<Mode, String> {
    match v {
        "open" => Ok(Mode::Open),
        "credential" => Ok(Mode::Credential),
        _ => Err(format!("open or credential, not {v}")),
    }
}

fn programme(v: &str) -> Result<[u8; 32], String> {
    hex::decode(v)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("not a 64-hex-digit key: {v}"))
}

fn log_format(v: &str) -> Result<LogFormat, String> {
    match v {
        "json" => Ok(LogFormat::Json),
        "text" => Ok(LogFormat::Text),
        _ => Err(format!("json or text, not {v}")),
    }
}

fn log_level(v: &str) -> Result<tracing::Level, String> {
    v.parse()
        .map_err(|_| format!("error, warn, info, debug or trace, not {v}"))
}

#[cfg(test)]
mod tests;
