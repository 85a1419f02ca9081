//! The settings' checks (ported from the hand-written parser's tests) and their precedence: flag over
//! environment over file over default.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};

use super::*;

/// Flags as `--name value` or `--name=value` pairs, as clap hands them over.
fn flags(args: &[&str]) -> BTreeMap<&'static str, Vec<String>> {
    let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let arg = arg.trim_start_matches("--");
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (arg.to_string(), it.next().unwrap().to_string()),
        };
        let known = std::iter::once(&CONFIG)
            .chain(COMMON)
            .chain(SERVE)
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no setting {name}"));
        out.entry(known.name).or_default().push(value);
    }
    out
}

fn resolve(args: &[&str], env: &[(&str, &str)]) -> Result<Serve, ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| env.get(k).cloned();
    let layers = Layers::new(flags(args), &lookup)?;
    Serve::resolve(&layers)
}

fn parse(args: &[&str]) -> Serve {
    resolve(args, &[]).unwrap()
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
    assert_eq!(a.quotas.space_bytes, Quotas::default().space_bytes);
    for bad in [["--space-quota-mib", "0"], ["--space-quota-mib", "lots"]] {
        assert!(resolve(&bad, &[]).is_err());
    }
}

#[test]
fn admission_by_credential_names_its_programmes() {
    assert_eq!(parse(&[]).admission.mode, Mode::Open);
    let key = "ab".repeat(32);
    let a = parse(&["--admission", "credential", "--programme", &key]);
    assert_eq!(a.admission.mode, Mode::Credential);
    assert_eq!(a.admission.programmes, vec![[0xab; 32]]);
    let two = parse(&["--programme", &key, "--programme", &"cd".repeat(32)]);
    assert_eq!(two.admission.programmes, vec![[0xab; 32], [0xcd; 32]]);
    for bad in [
        vec!["--admission", "credential"],
        vec!["--admission", "closed"],
        vec!["--programme", "abcd"],
    ] {
        assert!(resolve(&bad, &[]).is_err(), "{bad:?}");
    }
}

#[test]
fn the_log_cache_flag_sets_its_budget_in_mib() {
    assert_eq!(parse(&[]).log_cache, crate::access::CACHE_BUDGET_BYTES);
    assert_eq!(parse(&["--log-cache-mib", "16"]).log_cache, 16 << 20);
    assert!(resolve(&["--log-cache-mib=0"], &[]).is_err());
}

#[test]
fn the_live_wait_bounds_are_set_by_their_flags_and_checked() {
    assert_eq!(parse(&[]).live, crate::live::LiveLimits::default());
    let s = parse(&["--max-waits", "500", "--max-waits-per-device", "2"]);
    assert_eq!(
        s.live,
        crate::live::LiveLimits {
            per_device: 2,
            total: 500
        }
    );
    assert!(resolve(&["--max-waits", "many"], &[]).is_err());
}

#[test]
fn flags_combine() {
    let a = parse(&["--port", "0", "--data-dir", "/tmp/x"]);
    assert_eq!(a.bind, "127.0.0.1:0".parse().unwrap());
    assert_eq!(a.common.data_dir, PathBuf::from("/tmp/x"));
    assert_eq!(
        parse(&["--bind", "::1", "--port=9"]).bind,
        "[::1]:9".parse().unwrap()
    );
    assert_eq!(
        parse(&["--bind=127.0.0.1:5"]).bind,
        "127.0.0.1:5".parse().unwrap()
    );
    assert_eq!(
        parse(&["--bind=127.0.0.1:5", "--port", "6"]).bind,
        "127.0.0.1:6".parse().unwrap()
    );
    assert!(resolve(&["--port", "seventy"], &[]).is_err());
    assert!(resolve(&["--bind", "localhost"], &[]).is_err());
}

#[test]
fn snapshot_retention_is_in_days_or_never() {
    assert_eq!(
        parse(&[]).retention,
        Some(crate::exchange::DEFAULT_SNAPSHOT_RETENTION_SECS)
    );
    assert_eq!(
        parse(&["--snapshot-retention-days", "2"]).retention,
        Some(2 * 86_400)
    );
    assert_eq!(parse(&["--snapshot-retention-days=never"]).retention, None);
    assert!(resolve(&["--snapshot-retention-days=soon"], &[]).is_err());
}

#[test]
fn defaults_without_any_source() {
    let d = parse(&[]);
    assert_eq!(d.bind, "127.0.0.1:8787".parse().unwrap());
    assert_eq!(d.common.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    assert_eq!(d.common.log_format, LogFormat::Json);
    assert_eq!(d.common.log_level, tracing::Level::INFO);
    assert_eq!(d.metrics_bind, None);
    assert_eq!(d.shutdown_grace, DEFAULT_SHUTDOWN_GRACE);
    assert_eq!(d.quotas, Quotas::default());
}

#[test]
fn the_new_settings_check_their_values() {
    let a = parse(&[
        "--metrics-bind",
        "127.0.0.1:9100",
        "--shutdown-grace-secs",
        "3",
        "--log-format",
        "text",
        "--log-level",
        "trace",
    ]);
    assert_eq!(a.metrics_bind, Some("127.0.0.1:9100".parse().unwrap()));
    assert_eq!(a.shutdown_grace, Duration::from_secs(3));
    assert_eq!(a.common.log_format, LogFormat::Text);
    assert_eq!(a.common.log_level, tracing::Level::TRACE);
    for bad in [
        ["--metrics-bind", "9100"],
        ["--shutdown-grace-secs", "soon"],
        ["--log-format", "xml"],
        ["--log-level", "loud"],
    ] {
        assert!(resolve(&bad, &[]).is_err(), "{bad:?}");
    }
}

fn file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path.display().to_string())
}

/// Each setting from each source, and a flag over the environment over the file over the default.
#[test]
fn a_flag_wins_over_the_environment_which_wins_over_the_file() {
    let (_dir, path) = file(
        "port = 1001\ndevice-quota-mib = 3\nspace-quota-mib = 5\ndata-dir = \"/from/file\"\n\
         programme = [\"{}\"]\nsnapshot-retention-days = \"never\"\n"
            .replace("{}", &"ab".repeat(32))
            .as_str(),
    );
    let env = [
        ("SEBAYA_RELAY_PORT", "1002"),
        ("SEBAYA_RELAY_DEVICE_QUOTA_MIB", "4"),
        ("SEBAYA_RELAY_LOG_LEVEL", "debug"),
        ("SEBAYA_RELAY_DATA_DIR", ""),
    ];
    let s = resolve(&["--config", &path, "--port", "1003"], &env).unwrap();
    assert_eq!(s.bind.port(), 1003, "flag over environment and file");
    assert_eq!(s.quotas.device_bytes, 4 << 20, "environment over file");
    assert_eq!(s.quotas.space_bytes, 5 << 20, "file over default");
    assert_eq!(
        s.common.log_level,
        tracing::Level::DEBUG,
        "environment over default"
    );
    assert_eq!(
        s.common.data_dir,
        PathBuf::from("/from/file"),
        "an empty variable counts as unset"
    );
    assert_eq!(s.admission.programmes, vec![[0xab; 32]]);
    assert_eq!(s.retention, None);
    assert_eq!(
        s.quotas.total_bytes,
        Quotas::default().total_bytes,
        "default"
    );

    let s = resolve(&["--config", &path], &env).unwrap();
    assert_eq!(s.bind.port(), 1002, "environment over file");
    let s = resolve(&["--config", &path], &[]).unwrap();
    assert_eq!(s.bind.port(), 1001, "file over default");
    assert_eq!(s.quotas.device_bytes, 3 << 20);

    // The file named by the environment, a repeated setting as a list in the environment.
    let both = format!("{},{}", "cd".repeat(32), "ef".repeat(32));
    let s = resolve(
        &[],
        &[
            ("SEBAYA_RELAY_CONFIG", path.as_str()),
            ("SEBAYA_RELAY_PROGRAMME", &both),
        ],
    )
    .unwrap();
    assert_eq!(s.bind.port(), 1001);
    assert_eq!(s.admission.programmes, vec![[0xcd; 32], [0xef; 32]]);
}

/// A bad value is refused whatever its source, and the error names the source to fix.
#[test]
fn errors_name_the_flag_the_variable_or_the_file_key() {
    let (_dir, path) = file("device-quota-mib = 0\n");
    let e = resolve(&["--config", &path], &[]).unwrap_err().to_string();
    assert!(e.contains("relay.toml: device-quota-mib"), "{e}");
    let e = resolve(&[], &[("SEBAYA_RELAY_DEVICE_QUOTA_MIB", "0")])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("SEBAYA_RELAY_DEVICE_QUOTA_MIB: "), "{e}");
    let e = resolve(&["--device-quota-mib", "0"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("--device-quota-mib: "), "{e}");
    // A flag's good value hides the file's bad one: the file's is never used.
    assert!(resolve(&["--config", &path, "--device-quota-mib", "2"], &[]).is_ok());
}

#[test]
fn a_file_with_an_unknown_key_a_wrong_type_or_bad_syntax_is_refused() {
    for (text, says) in [
        ("prot = 8787\n", "unknown setting prot"),
        ("config = \"other.toml\"\n", "unknown setting config"),
        ("port = true\n", "expected a string or a whole number"),
        ("port = [1, 2]\n", "expected a string or a whole number"),
        ("port = \n", "config file"),
    ] {
        let (_dir, path) = file(text);
        let e = resolve(&["--config", &path], &[]).unwrap_err().to_string();
        assert!(e.contains(says), "{text:?}: {e}");
    }
    let e = resolve(&["--config", "/nonexistent/relay.toml"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("config file /nonexistent/relay.toml"), "{e}");
}

#[test]
fn environment_names_follow_the_flags() {
    assert_eq!(
        env_name("device-quota-mib"),
        "SEBAYA_RELAY_DEVICE_QUOTA_MIB"
    );
    assert_eq!(env_name("data-dir"), crate::DATA_DIR_ENV);
}

#[test]
fn wake_up_settings_have_their_defaults_and_are_checked() {
    let d = parse(&[]);
    assert_eq!(d.push_key, None);
    assert_eq!(d.wakes.interval, Duration::from_secs(60));
    assert_eq!(d.wakes.jitter, Duration::from_secs(15));
    assert!(
        !d.wakes.allow_loopback,
        "loopback endpoints are off unless asked for"
    );
    let s = parse(&[
        "--push-key",
        "/tmp/vapid.p8",
        "--push-contact",
        "mailto:ops@example.org",
        "--push-interval-secs",
        "120",
        "--push-jitter-secs",
        "30",
        "--push-allow-loopback",
        "true",
        "--push-max-subscriptions",
        "500",
    ]);
    assert_eq!(s.wakes.max_subscriptions, 500);
    assert_eq!(s.push_key, Some(PathBuf::from("/tmp/vapid.p8")));
    assert_eq!(s.wakes.contact, "mailto:ops@example.org");
    assert_eq!(s.wakes.interval, Duration::from_secs(120));
    assert_eq!(s.wakes.jitter, Duration::from_secs(30));
    assert!(s.wakes.allow_loopback);
    let env = resolve(
        &["--push-key", "/k"],
        &[("SEBAYA_RELAY_PUSH_CONTACT", "https://ops.example.org")],
    )
    .unwrap();
    assert_eq!(env.wakes.contact, "https://ops.example.org");
    assert!(matches!(
        resolve(&["--push-key", "/k"], &[]),
        Err(ConfigError::NoPushContact)
    ));
    for bad in [
        ["--push-interval-secs", "soon"],
        ["--push-jitter-secs", "-1"],
        ["--push-allow-loopback", "yes"],
        ["--push-contact", "ops@example.org"],
        ["--push-max-subscriptions", "many"],
    ] {
        assert!(resolve(&bad, &[]).is_err(), "{bad:?}");
    }
}
