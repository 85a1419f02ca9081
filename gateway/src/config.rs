//! The operator's settings, each from a flag, an environment variable or a TOML file, as the relay
//! reads its own: the flag is `--NAME`, the variable `SEBAYA_GATEWAY_` + NAME in upper case with `_`
//! for `-`, the file key NAME itself (file given by `--config`). A flag wins over the variable, the
//! variable over the file, the file over the default; an empty variable counts as unset. An error
//! names the setting and where its value came from, never the value.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::{Gateway, apns, fcm, limit};

/// Prefix of every environment variable the gateway reads.
pub const ENV_PREFIX: &str = "SEBAYA_GATEWAY_";
/// The default listening address (behind the same TLS proxy as the relay).
pub const DEFAULT_BIND: &str = "127.0.0.1:8790";
/// The default per-token limit per minute.
pub const DEFAULT_PER_TOKEN: u32 = 20;
/// The default bound on provider requests in flight.
pub const DEFAULT_IN_FLIGHT: usize = 256;

/// One setting: flag name (and file key), value placeholder, help line.
pub type Setting = (&'static str, &'static str, &'static str);

/// The file of settings (flag or environment only).
pub const CONFIG: Setting = (
    "config",
    "FILE",
    "TOML file of settings, keys named as the flags without --",
);

/// Every other setting.
pub const SETTINGS: &[Setting] = &[
    (
        "bind",
        "ADDR",
        "IP:PORT to listen on [default: 127.0.0.1:8790]",
    ),
    (
        "origin",
        "URL",
        "this gateway's public origin (https://push.example.org), the audience relays' VAPID tokens must name [required]",
    ),
    (
        "relay-keys",
        "FILE",
        "file of the relay VAPID public keys taken, base64url, one a line [default: any relay]",
    ),
    (
        "allow-any-relay",
        "true|false",
        "without --relay-keys, take wake-ups signed by any VAPID key: anyone may then use this gateway, up to the per-token limit [default: false]",
    ),
    (
        "per-token-per-minute",
        "N",
        "most wake-ups per device token per minute, 0 for no limit [default: 20]",
    ),
    (
        "max-in-flight",
        "N",
        "most provider requests in flight at once; more wake-ups get 503 [default: 256]",
    ),
    (
        "fcm-service-account",
        "FILE",
        "the FCM service account's JSON key file [default: no FCM]",
    ),
    (
        "fcm-base",
        "URL",
        "FCM's API base [default: https://fcm.googleapis.com]",
    ),
    (
        "apns-key",
        "FILE",
        "the APNs token-signing key (.p8) [default: no APNs]",
    ),
    ("apns-key-id", "ID", "the APNs key's id (kid)"),
    ("apns-team-id", "ID", "the publisher's Apple team id (iss)"),
    (
        "apns-topic",
        "BUNDLE_ID",
        "the app's bundle id (apns-topic)",
    ),
    (
        "apns-base",
        "URL",
        "APNs' base [default: https://api.push.apple.com; https://api.sandbox.push.apple.com for development builds]",
    ),
    (
        "allow-loopback",
        "true|false",
        "tests only: take http:// origin and provider bases on loopback [default: false]",
    ),
    (
        "log-format",
        "json|text",
        "how log lines on stderr look [default: json]",
    ),
    (
        "log-level",
        "LEVEL",
        "error, warn, info, debug or trace [default: info]",
    ),
];

/// The environment variable of setting `name`.
pub fn env_name(name: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// Every setting's value and where it came from.
#[derive(Debug, Default)]
pub struct Layers {
    values: BTreeMap<&'static str, (String, &'static str)>,
}

impl Layers {
    /// Reads the layers: `flags` (given on the command line), `env` (a variable's value), and the
    /// file named by `--config` (flag or environment).
    pub fn read(
        flags: &BTreeMap<&'static str, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let env = |name: &str| env(&env_name(name)).filter(|v| !v.is_empty());
        let mut file: BTreeMap<String, toml::Value> = BTreeMap::new();
        if let Some(path) = flags.get(CONFIG.0).cloned().or_else(|| env(CONFIG.0)) {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("--config: the file could not be read ({})", e.kind()))?;
            file = toml::from_str(&text)
                .map_err(|_| "--config: the file is not TOML of settings".to_owned())?;
        }
        for key in file.keys() {
            if !SETTINGS.iter().any(|s| s.0 == key) {
                return Err(format!("--config: no setting is called {key:?}"));
            }
        }
        let mut values = BTreeMap::new();
        for &(name, _, _) in SETTINGS {
            let value = if let Some(v) = flags.get(name) {
                Some((v.clone(), "flag"))
            } else if let Some(v) = env(name) {
                Some((v, "environment"))
            } else {
                match file.get(name) {
                    Some(toml::Value::String(s)) => Some((s.clone(), "file")),
                    Some(toml::Value::Integer(i)) => Some((i.to_string(), "file")),
                    Some(toml::Value::Boolean(b)) => Some((b.to_string(), "file")),
                    Some(_) => return Err(format!("--config: {name} is not a string or number")),
                    None => None,
                }
            };
            if let Some(v) = value {
                values.insert(name, v);
            }
        }
        Ok(Self { values })
    }

    /// A setting's value, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(v, _)| v.as_str())
    }

    fn bad(&self, name: &str, what: &str) -> String {
        let from = self.values.get(name).map_or("default", |(_, f)| f);
        format!("--{name} (from the {from}): {what}")
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        name: &str,
        default: T,
        what: &str,
    ) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| self.bad(name, what)),
        }
    }
}

/// The settings read and checked.
#[derive(Debug)]
pub struct Config {
    /// Where to listen.
    pub bind: SocketAddr,
    /// How log lines look.
    pub log_format: sebaya_relay::logs::LogFormat,
    /// The most verbose level logged.
    pub log_level: tracing::Level,
    layers: Layers,
    allow_loopback: bool,
}

/// Whether `base` is a URL the gateway may post to: `https`, or (tests) `http` on loopback.
pub fn base_ok(base: &str, allow_loopback: bool) -> bool {
    let Ok(url) = url::Url::parse(base) else {
        return false;
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => return false,
    };
    url.username().is_empty()
        && url.password().is_none()
        && (url.scheme() == "https" || (allow_loopback && loopback && url.scheme() == "http"))
}

impl Config {
    /// Checks `layers`.
    pub fn new(layers: Layers) -> Result<Self, String> {
        let bind = layers.parsed(
            "bind",
            DEFAULT_BIND.parse().map_err(|_| "bind")?,
            "not IP:PORT",
        )?;
        let log_format = match layers.get("log-format").unwrap_or("json") {
            "json" => sebaya_relay::logs::LogFormat::Json,
            "text" => sebaya_relay::logs::LogFormat::Text,
            _ => return Err(layers.bad("log-format", "json or text")),
        };
        let log_level = layers.parsed("log-level", tracing::Level::INFO, "not a log level")?;
        let allow_loopback = layers.parsed("allow-loopback", false, "true or false")?;
        Ok(Self {
            bind,
            log_format,
            log_level,
            layers,
            allow_loopback,
        })
    }

    /// The gateway these settings describe: reads the key files.
    pub fn gateway(&self) -> Result<Gateway, String> {
        let l = &self.layers;
        let origin = l
            .get("origin")
            .ok_or_else(|| "--origin is required (the gateway's public https origin)".to_owned())?;
        if !base_ok(origin, self.allow_loopback) {
            return Err(l.bad("origin", "not an https URL"));
        }
        let origin = url::Url::parse(origin)
            .map_err(|_| l.bad("origin", "not a URL"))?
            .origin()
            .ascii_serialization();
        let relay_keys = match l.get("relay-keys") {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| l.bad("relay-keys", &format!("unreadable ({})", e.kind())))?;
                let keys: HashSet<[u8; 65]> = crate::read_relay_keys(&text).map_err(|line| {
                    l.bad(
                        "relay-keys",
                        &format!("line {line} is not a VAPID public key"),
                    )
                })?;
                Some(keys)
            }
        };
        let per_token = l.parsed("per-token-per-minute", DEFAULT_PER_TOKEN, "not a number")?;
        let in_flight = l.parsed("max-in-flight", DEFAULT_IN_FLIGHT, "not a number")?;
        if in_flight == 0 || in_flight > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(l.bad("max-in-flight", "must be at least 1"));
        }
        let fcm_base = l.get("fcm-base").unwrap_or(fcm::DEFAULT_BASE);
        if !base_ok(fcm_base, self.allow_loopback) {
            return Err(l.bad("fcm-base", "not an https URL"));
        }
        let fcm = match l.get("fcm-service-account") {
            None => None,
            Some(path) => {
                let f = fcm::Fcm::from_file(&PathBuf::from(path), fcm_base)
                    .map_err(|e| l.bad("fcm-service-account", &e.to_string()))?;
                if !base_ok(f.token_uri(), self.allow_loopback) {
                    return Err(l.bad("fcm-service-account", "its token_uri is not an https URL"));
                }
                Some(f)
            }
        };
        let apns_base = l.get("apns-base").unwrap_or(apns::DEFAULT_BASE);
        if !base_ok(apns_base, self.allow_loopback) {
            return Err(l.bad("apns-base", "not an https URL"));
        }
        let apns = match l.get("apns-key") {
            None => None,
            Some(path) => Some(
                apns::Apns::from_file(
                    &PathBuf::from(path),
                    l.get("apns-key-id").unwrap_or(""),
                    l.get("apns-team-id").unwrap_or(""),
                    l.get("apns-topic").unwrap_or(""),
                    apns_base,
                )
                .map_err(|e| l.bad("apns-key", &e.to_string()))?,
            ),
        };
        if fcm.is_none() && apns.is_none() {
            return Err("give --fcm-service-account, --apns-key or both".to_owned());
        }
        let any_relay = l.parsed("allow-any-relay", false, "true or false")?;
        if relay_keys.is_none() && !any_relay {
            return Err(
                "give --relay-keys FILE (the VAPID keys of the relays this gateway serves), or --allow-any-relay true to serve any relay"
                    .to_owned(),
            );
        }
        Ok(Gateway {
            origin,
            relay_keys,
            limiter: limit::Limiter::new(per_token),
            in_flight: tokio::sync::Semaphore::new(in_flight),
            per_key: limit::KeyShare::new(in_flight / 4),
            fcm,
            apns,
        })
    }
}
