//! The deployment examples (`deploy/`) agree with the relay: the proxy's body limit is above the
//! largest request, it proxies to the default port, and systemd waits longer than the relay's grace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

const CADDYFILE: &str = include_str!("../../deploy/Caddyfile");
const UNIT: &str = include_str!("../../deploy/sebaya-relay.service");

/// The value of the first line of `text` starting with `key` (after indentation).
fn setting<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key}"))
        .trim()
}

#[test]
fn the_proxy_takes_the_largest_request_and_reaches_the_relay() {
    let size = setting(CADDYFILE, "max_size ");
    let mib: usize = size.strip_suffix("MiB").unwrap().parse().unwrap();
    assert!(
        mib * 1024 * 1024 > sebaya_proto::sync::MAX_MESSAGE_LEN,
        "the proxy would refuse requests the relay takes"
    );
    assert!(CADDYFILE.contains(&format!("127.0.0.1:{}", sebaya_relay::DEFAULT_PORT)));
    // No site `log` directive (an access log); the only `log` is the global one that silences
    // Caddy's error logger, which writes the client's address and the request's headers (device
    // id, request id) whenever the relay is down or slow (review finding).
    let logs: Vec<&str> = CADDYFILE
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("log"))
        .collect();
    assert_eq!(
        logs,
        ["log default {"],
        "a proxy log would record client addresses"
    );
    assert!(CADDYFILE.contains("exclude http.log.error"));
}

#[test]
fn systemd_waits_longer_than_the_relays_grace() {
    let secs: u64 = setting(UNIT, "TimeoutStopSec=").parse().unwrap();
    assert!(secs > sebaya_relay::config::DEFAULT_SHUTDOWN_GRACE.as_secs());
    assert_eq!(setting(UNIT, "KillSignal="), "SIGTERM");
}
