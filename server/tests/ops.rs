//! The relay as an operator runs it (issue 16, item 5): backup and restore with erasures kept,
//! migrate, the access log and what it never names, metrics on their own listener, and a stop on
//! SIGTERM within its deadline. The relay binary runs as a child process of the test, on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sebaya_proto::SpaceId;
use sebaya_proto::membership::{Op, Role, Statement};
use sebaya_proto::sync::RefusedSpace;
use serde_bytes::ByteBuf;
use support::*;

/// `n` bytes no compressor shrinks, the same for a given seed.
fn noise(seed: u8, n: usize) -> Vec<u8> {
    let mut x = u64::from(seed) | 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A backup taken while the relay serves restores into a relay with the same id and envelopes; a
/// space erased before the backup stays erased, and its envelopes' bytes are not in the copy.
#[test]
fn a_backup_of_a_running_relay_restores_with_its_envelopes_and_its_erasures() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let relay = start_binary(&["--port", "0", "--data-dir", path_str(&live)], &[], 1);
    let c = Client::new(&relay.url);
    let alice = device(1);

    // A space that stays, with one envelope of alice's.
    let kept = SpaceId([0x11; 16]);
    let mut k = Founded::new(&c, kept);
    k.add(&c, &alice, Role::Member, None);
    let note = seal(&alice, kept, 1, &noise(1, 4096));
    let r = c.sync(
        &alice,
        &request(vec![empty_vector(kept)], vec![note.clone()]),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);

    // A space of alice's person alone (its founder removed), with a large envelope, then erased.
    let gone = SpaceId([0x22; 16]);
    let mut g = Founded::new(&c, gone);
    g.add(&c, &alice, Role::Admin, Some([1; 32]));
    let st = Statement::new(
        gone,
        vec![g.head],
        alice.id,
        now(),
        Op::Remove {
            device: g.admin.id,
            last_seq: 0,
        },
    )
    .sign(&alice.key)
    .unwrap();
    let removal = st.to_envelope(gone, 1, &alice.key).unwrap().into_bytes();
    let secret = seal(&alice, gone, 2, &noise(2, 16 * 1024));
    let r = c.sync(
        &alice,
        &request(vec![empty_vector(gone)], vec![removal, secret.clone()]),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let mut erase = request(vec![empty_vector(gone)], vec![]);
    erase.erase = vec![ByteBuf::from(gone.0.to_vec())];
    assert_eq!(c.sync(&alice, &erase).erased.len(), 1);

    // The backup, by a second process while the relay serves.
    let copy = dir.path().join("relay-backup.sqlite3");
    let out = run_binary(&[
        "backup",
        "--data-dir",
        path_str(&live),
        "--to",
        path_str(&copy),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("1 erased-space markers"), "{said}");
    let bytes = std::fs::read(&copy).unwrap();
    let chunk = &secret[secret.len() / 2..secret.len() / 2 + 64];
    assert!(
        !contains(&bytes, chunk),
        "the erased space's envelope is in the backup"
    );
    assert!(contains(&bytes, &note[note.len() / 2..note.len() / 2 + 64]));
    // A backup never overwrites a file.
    let again = run_binary(&[
        "backup",
        "--data-dir",
        path_str(&live),
        "--to",
        path_str(&copy),
    ]);
    assert!(!again.status.success());
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);
    // Nor does it make a database where there was none.
    let nowhere = dir.path().join("nowhere");
    let none = run_binary(&[
        "backup",
        "--data-dir",
        path_str(&nowhere),
        "--to",
        path_str(&dir.path().join("x.sqlite3")),
    ]);
    assert!(!none.status.success());
    assert!(!nowhere.exists());
    drop(relay);

    // Restore: the copy as the database of a fresh data directory.
    let restored = dir.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(&copy, restored.join(sebaya_relay::DB_FILE_NAME)).unwrap();
    let relay = start_binary(&["--port", "0", "--data-dir", path_str(&restored)], &[], 1);
    let d = Client::new(&relay.url);
    assert_eq!(
        d.relay_id, c.relay_id,
        "devices' signatures name the same relay"
    );
    let r = d.sync(&alice, &request(vec![empty_vector(kept)], vec![]));
    assert!(r.envelopes.iter().any(|e| e.as_slice() == note.as_slice()));
    assert_eq!(r.envelopes.len(), 3, "genesis, add, note");
    let late = seal(&alice, gone, 3, b"after the restore");
    let r = d.sync(&alice, &request(vec![empty_vector(gone)], vec![late]));
    assert_eq!(r.refused_spaces, vec![RefusedSpace::new(gone, "erased")]);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].reason, "erased");
    assert!(r.envelopes.is_empty());
}

/// `migrate` upgrades an old database (an empty file is schema version 0) and refuses a directory
/// without one rather than making a new relay there.
/// An erased space's envelopes leave the live database too, not only the backups: with the relay
/// still running, neither the database file nor its write-ahead log holds their bytes (found by the
/// backup test above: SQLite left them in free pages and in the log).
#[test]
fn an_erased_spaces_bytes_leave_the_live_database_and_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let relay = start_binary(&["--port", "0", "--data-dir", path_str(&live)], &[], 1);
    let c = Client::new(&relay.url);
    let alice = device(1);
    let gone = SpaceId([0x33; 16]);
    let mut g = Founded::new(&c, gone);
    g.add(&c, &alice, Role::Admin, Some([1; 32]));
    let st = Statement::new(
        gone,
        vec![g.head],
        alice.id,
        now(),
        Op::Remove {
            device: g.admin.id,
            last_seq: 0,
        },
    )
    .sign(&alice.key)
    .unwrap();
    let removal = st.to_envelope(gone, 1, &alice.key).unwrap().into_bytes();
    let secret = seal(&alice, gone, 2, &noise(3, 16 * 1024));
    let r = c.sync(
        &alice,
        &request(vec![empty_vector(gone)], vec![removal, secret.clone()]),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let chunk = &secret[secret.len() / 2..secret.len() / 2 + 64];
    let on_disk = || {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&live).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
        }
        all
    };
    assert!(contains(&on_disk(), chunk), "stored before the erasure");

    let mut erase = request(vec![empty_vector(gone)], vec![]);
    erase.erase = vec![ByteBuf::from(gone.0.to_vec())];
    assert_eq!(c.sync(&alice, &erase).erased.len(), 1);
    assert!(
        !contains(&on_disk(), chunk),
        "the erased space's envelope is still in the relay's files"
    );
}

#[test]
fn migrate_upgrades_the_schema_and_refuses_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join(sebaya_relay::DB_FILE_NAME), b"").unwrap();
    let out = run_binary(&["migrate", "--data-dir", path_str(&data)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "schema version 0 -> {}",
            sebaya_relay::END_VERSION
        )),
        "{said}"
    );
    let again = run_binary(&["migrate", "--data-dir", path_str(&data)]);
    let said = String::from_utf8_lossy(&again.stdout);
    let end = sebaya_relay::END_VERSION;
    assert!(
        said.contains(&format!("schema version {end} -> {end}")),
        "{said}"
    );
    let missing = dir.path().join("missing");
    let out = run_binary(&["migrate", "--data-dir", path_str(&missing)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no relay database"));
    assert!(!missing.exists());
}

/// At the most verbose level, the logs of a sync name the request's route and status but none of
/// its ids (device, space, request) nor any address; each line is one JSON object.
#[test]
fn the_logs_of_a_sync_name_no_id_and_no_address_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut relay = start_binary(
        &["--port", "0", "--data-dir", path_str(&data)],
        &[
            ("SEBAYA_RELAY_LOG_LEVEL", "trace"),
            ("SEBAYA_RELAY_LOG_FORMAT", "json"),
        ],
        1,
    );
    let c = Client::new(&relay.url);
    let alice = device(7);
    let space = SpaceId(*b"canary-space-id!");
    let mut f = Founded::new(&c, space);
    f.add(&c, &alice, Role::Member, None);
    let rid = [0xC4; 16];
    let resp = c.post(
        &alice,
        &request(
            vec![empty_vector(space)],
            vec![seal(
                &alice,
                space,
                1,
                b"canary content: I am not safe at home",
            )],
        ),
        rid,
    );
    assert!(resp.status().is_success());
    // Refused requests too: a replay, and a stranger's pull.
    assert_eq!(
        c.post(&alice, &request(vec![], vec![]), rid)
            .status()
            .as_u16(),
        409
    );
    let r = c.sync(&device(9), &request(vec![empty_vector(space)], vec![]));
    assert_eq!(r.refused_spaces.len(), 1);
    relay.terminate();
    assert!(relay.wait_exit(Duration::from_secs(20)).unwrap().success());
    let logs = relay.stderr();

    assert!(
        logs.lines().any(|l| l.contains("\"route\":\"/v1/sync\"")
            && l.contains("\"status\":200")
            && l.contains("\"method\":\"POST\"")),
        "no access-log line for the sync:\n{logs}"
    );
    assert!(logs.contains("\"error\":\"replayed-request\""), "{logs}");
    for line in logs.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
    let forbidden = [
        hex::encode(alice.id.0),
        hex::encode(f.admin.id.0),
        hex::encode(device(9).id.0),
        hex::encode(space.0),
        hex::encode(rid),
        "canary".to_string(),
        "127.0.0.1".to_string(),
        c.relay_id.iter().map(|b| format!("{b:02x}")).collect(),
    ];
    for word in forbidden {
        assert!(!logs.contains(&word), "the logs name {word}:\n{logs}");
    }
}

fn scrape(url: &str) -> String {
    http().get(url).send().unwrap().text().unwrap()
}

fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// With `--metrics-bind` the relay serves Prometheus text on that address only; after a sync it
/// counts requests by route and status, refusals by code, the envelopes stored and the sync's
/// latency, and names no space or device.
#[test]
fn metrics_are_served_on_their_own_listener_and_count_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let relay = start_binary(
        &[
            "--port",
            "0",
            "--data-dir",
            path_str(&data),
            "--metrics-bind",
            "127.0.0.1:0",
        ],
        &[],
        2,
    );
    let metrics_url = relay.more[0]
        .strip_prefix("sebaya-relay metrics on ")
        .unwrap()
        .to_string();
    assert!(metrics_url.ends_with("/metrics"), "{metrics_url}");
    let c = Client::new(&relay.url);
    let alice = device(3);
    let space = SpaceId([0x33; 16]);
    let mut f = Founded::new(&c, space);
    f.add(&c, &alice, Role::Member, None);
    // Four syncs answered 200 in all: the genesis, the add, this one, and a stranger's below.
    let r = c.sync(
        &alice,
        &request(
            vec![empty_vector(space)],
            vec![seal(&alice, space, 1, b"x")],
        ),
    );
    assert!(r.rejected.is_empty());
    // A refusal of a whole request, and of one envelope.
    let unsigned = c
        .http
        .post(format!("{}/v1/sync", relay.url))
        .body(vec![0u8; 4])
        .send()
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let r = c.sync(
        &device(4),
        &request(vec![], vec![seal(&device(4), space, 1, b"y")]),
    );
    assert_eq!(r.rejected.len(), 1);
    let code = r.rejected[0].reason.clone();

    let text = scrape(&metrics_url);
    assert_eq!(
        value(
            &text,
            "sebaya_relay_http_requests_total{route=\"/v1/sync\",status=\"200\"}"
        ),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "sebaya_relay_refusals_total{scope=\"request\",code=\"unsigned\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            &format!("sebaya_relay_refusals_total{{scope=\"envelope\",code=\"{code}\"}}")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, "sebaya_relay_stored_envelopes"), Some(3.0));
    assert!(value(&text, "sebaya_relay_stored_bytes").unwrap() > 0.0);
    assert_eq!(
        value(&text, "sebaya_relay_sync_duration_seconds_count"),
        Some(5.0)
    );
    assert_eq!(value(&text, "sebaya_relay_store_up"), Some(1.0));
    assert!(value(&text, "sebaya_relay_connections_live").is_some());
    for id in [
        hex::encode(alice.id.0),
        hex::encode(f.admin.id.0),
        hex::encode(space.0),
    ] {
        assert!(!text.contains(&id), "metrics name {id}");
    }
    // Not on the public listener.
    let public = c.http.get(format!("{}/metrics", relay.url)).send().unwrap();
    assert_eq!(public.status().as_u16(), 404);
}

/// A request half sent when SIGTERM comes.
fn half_sent(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(
        b"POST /v1/sync HTTP/1.1\r\nhost: relay\r\ncontent-type: application/cbor\r\ncontent-length: 8\r\n\r\nabcd",
    )
    .unwrap();
    s
}

/// On SIGTERM the relay stops accepting connections, answers a request in flight that completes
/// within the deadline, and exits successfully.
#[test]
fn sigterm_lets_a_request_in_flight_finish_and_refuses_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut relay = start_binary(
        &[
            "--port",
            "0",
            "--data-dir",
            path_str(&data),
            "--shutdown-grace-secs",
            "30",
        ],
        &[],
        1,
    );
    let addr = relay.addr();
    let mut s = half_sent(&addr);
    // The relay has read the head once a second request on another connection was answered.
    let mut probe = TcpStream::connect(&addr).unwrap();
    probe
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    probe.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(200));
    relay.terminate();
    // New connections are refused once the listener is closed (give the signal a moment).
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(&addr).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(refused, "still accepting connections after SIGTERM");
    assert!(
        relay.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    s.write_all(b"efgh").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    // Unsigned, but answered: the request in flight was served to the end.
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let status = relay.wait_exit(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "{status}");
}

/// A request that never completes does not hold the relay past `--shutdown-grace-secs`.
#[test]
fn sigterm_gives_up_on_a_stalled_request_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut relay = start_binary(
        &[
            "--port",
            "0",
            "--data-dir",
            path_str(&data),
            "--shutdown-grace-secs",
            "1",
            "--log-format",
            "text",
        ],
        &[],
        1,
    );
    let mut s = half_sent(&relay.addr());
    std::thread::sleep(Duration::from_millis(300));
    relay.terminate();
    // Without the deadline it would wait for the body's last bytes for ever.
    let status = relay
        .wait_exit(Duration::from_secs(20))
        .expect("the relay is still waiting for the stalled request");
    assert!(status.success(), "{status}");
    let mut rest = Vec::new();
    // The connection was dropped: end of stream or a reset.
    let _ = s.read_to_end(&mut rest);
    let logs = relay.stderr();
    assert!(logs.contains("shutdown deadline passed"), "{logs}");
}

/// `/v1/openapi.json` is served as JSON, and every route it lists answers (none is a 404), so the
/// document and the router agree over HTTP too.
#[test]
fn every_route_of_the_openapi_document_is_served() {
    let dir = tempfile::tempdir().unwrap();
    // With a push key, so that POST /v1/push is served too (without one it is not found).
    let key = dir.path().join("vapid.p8");
    let relay = start_binary(
        &[
            "--port",
            "0",
            "--data-dir",
            path_str(&dir.path().join("d")),
            "--push-key",
            path_str(&key),
            "--push-contact",
            "mailto:ops@example.org",
        ],
        &[],
        1,
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the push key is made owner-only");
    }
    let http = http();
    let resp = http
        .get(format!("{}/v1/openapi.json", relay.url))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let doc: serde_json::Value = serde_json::from_slice(&resp.bytes().unwrap()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), sebaya_relay::api::ROUTES.len());
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let url = format!("{}{path}", relay.url);
            let resp = match method.as_str() {
                "get" => http.get(&url).send().unwrap(),
                "post" => http.post(&url).body(Vec::new()).send().unwrap(),
                other => panic!("unexpected method {other}"),
            };
            assert_ne!(resp.status().as_u16(), 404, "{method} {path}");
        }
    }
    let missing = http
        .get(format!("{}/v1/nothing", relay.url))
        .send()
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

/// `/healthz` says the process is up whatever the store does; `/readyz` asks the store, and says
/// 503 `not-ready` when its query fails (here: another process dropped the table it reads).
#[test]
fn readiness_follows_the_store_and_liveness_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let relay = start_binary(&["--port", "0", "--data-dir", path_str(&data)], &[], 1);
    let http = http();
    let get = |path: &str| http.get(format!("{}{path}", relay.url)).send().unwrap();
    assert_eq!(get("/readyz").status().as_u16(), 200);
    let db = rusqlite::Connection::open(data.join(sebaya_relay::DB_FILE_NAME)).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.execute_batch("DROP TABLE meta").unwrap();
    let ready = get("/readyz");
    assert_eq!(ready.status().as_u16(), 503);
    let body: serde_json::Value = serde_json::from_slice(&ready.bytes().unwrap()).unwrap();
    assert_eq!(body["error"], "not-ready");
    let live = get("/healthz");
    assert_eq!(live.status().as_u16(), 200);
    assert_eq!(live.text().unwrap(), "ok");
}

/// A relay given another VAPID key file than the one its database was first served with refuses to
/// start, saying why and naming no key (review finding F2); `--push-key` without `--push-contact`
/// is refused before anything starts.
#[test]
fn a_relay_with_another_push_key_than_its_database_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let first = dir.path().join("first.p8");
    let relay = start_binary(
        &[
            "--port",
            "0",
            "--data-dir",
            path_str(&data),
            "--push-key",
            path_str(&first),
            "--push-contact",
            "mailto:ops@example.org",
        ],
        &[],
        1,
    );
    relay.terminate();
    drop(relay);
    let other = dir.path().join("other.p8");
    let out = run_binary(&[
        "--port",
        "0",
        "--data-dir",
        path_str(&data),
        "--push-key",
        path_str(&other),
        "--push-contact",
        "mailto:ops@example.org",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("give every node the same key file"), "{err}");
    assert!(err.contains("other.p8"), "{err}");
    // The same file again serves.
    let relay = start_binary(
        &[
            "--port",
            "0",
            "--data-dir",
            path_str(&data),
            "--push-key",
            path_str(&first),
            "--push-contact",
            "mailto:ops@example.org",
        ],
        &[],
        1,
    );
    relay.terminate();
    let out = run_binary(&[
        "--port",
        "0",
        "--data-dir",
        path_str(&data),
        "--push-key",
        path_str(&first),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--push-contact"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
