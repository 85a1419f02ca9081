//! The deployment examples (`deploy/`) agree with the relay: the proxy's body limit is above the
//! largest request, it proxies to the default port without cutting a live wait, and systemd waits longer than the relay's grace.

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

/// A live wait is held for up to `MAX_WAIT_MS` with nothing on the wire: a proxy that reads from
/// the relay with a shorter timeout would cut every wait and turn it into an error.
#[test]
fn the_proxy_does_not_cut_a_live_wait() {
    for key in ["read_timeout ", "write_timeout "] {
        let secs: u64 = setting(CADDYFILE, key)
            .strip_suffix('s')
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            secs * 1000 > sebaya_proto::live::MAX_WAIT_MS + 5_000,
            "{key}would cut a live wait"
        );
    }
}

#[test]
fn systemd_waits_longer_than_the_relays_grace() {
    let secs: u64 = setting(UNIT, "TimeoutStopSec=").parse().unwrap();
    assert!(secs > sebaya_relay::config::DEFAULT_SHUTDOWN_GRACE.as_secs());
    assert_eq!(setting(UNIT, "KillSignal="), "SIGTERM");
}
