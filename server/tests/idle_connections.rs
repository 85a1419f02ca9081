//! Connections the relay must let go (issue 15, soak; `docs/reliability.md`, "Soak", finding S1).
//! A phone that leaves the network mid-request sends no FIN: the relay sees a connection that stays
//! silent, with half a request or none, or idle after a request it kept alive. `axum::serve` gave
//! hyper no timer, so hyper's header-read timeout (30 s by default, only with a timer) never ran and
//! nothing else closed such a connection: each held a file descriptor for the life of the process
//! (the hour-long soak run showed one more open file per abandoned connection).
//!
//! Fixed by serving each connection with hyper's HTTP/1 connection and a timer
//! ([`sebaya_relay::HEADER_READ_TIMEOUT`], 30 s): this test takes about that long.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sebaya_relay::RelayConfig;

/// How long a silent connection may stay open: twice the relay's header-read timeout.
const PATIENCE: Duration = Duration::from_secs(60);

/// Whether the relay closed `c` within `PATIENCE` (end of stream, a reset, or an answer such as 408).
fn closed_by_relay(c: &mut TcpStream, since: Instant) -> bool {
    let left = PATIENCE
        .saturating_sub(since.elapsed())
        .max(Duration::from_millis(10));
    c.set_read_timeout(Some(left)).unwrap();
    let mut buf = [0u8; 256];
    match c.read(&mut buf) {
        // End of stream.
        Ok(0) => true,
        // An answer (a 408, say) before closing.
        Ok(_answered) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn silent_half_sent_and_idle_connections_are_closed_by_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let relay = sebaya_relay::spawn(RelayConfig {
        data_dir: dir.path().join("relay"),
        bind: "127.0.0.1:0".parse().unwrap(),
    })
    .unwrap();
    let start = Instant::now();
    let mut silent = TcpStream::connect(relay.addr()).unwrap();
    let mut half = TcpStream::connect(relay.addr()).unwrap();
    half.write_all(b"POST /v1/sync HTTP/1.1\r\nHost: relay\r\nContent-Le")
        .unwrap();
    // The relay serves meanwhile: the check is about silence, not about a stalled relay.
    // A keep-alive connection that made one request and then went quiet.
    let mut kept = TcpStream::connect(relay.addr()).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 17];
    kept.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
    let mut rest = [0u8; 256];
    let _ = kept.read(&mut rest).unwrap();
    let mut ok = TcpStream::connect(relay.addr()).unwrap();
    ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    ok.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    assert!(
        closed_by_relay(&mut half, start),
        "half a request, then silence: still open after {PATIENCE:?}"
    );
    assert!(
        closed_by_relay(&mut silent, start),
        "a connection that never sent a byte: still open after {PATIENCE:?}"
    );
    assert!(
        closed_by_relay(&mut kept, start),
        "an idle keep-alive connection: still open after {PATIENCE:?}"
    );
}
