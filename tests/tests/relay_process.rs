//! Two vaults syncing through the relay running as a separate process on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use sebaya_core::store::audit;
use sebaya_core::{Error, HttpClient, HttpRequest, HttpResponse, ReqwestClient, Vault};

struct Relay {
    child: Child,
    url: String,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay_binary() -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/sebaya-relay
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join("sebaya-relay");
    assert!(
        bin.exists(),
        "build the relay first: cargo build -p sebaya-relay ({})",
        bin.display()
    );
    bin
}

fn start_relay(data: &Path) -> Relay {
    let mut child = Command::new(relay_binary())
        .args(["--port", "0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("unexpected relay banner: {line}"))
        .to_string();
    Relay { child, url }
}

/// Forwards requests but loses the answer to the first N sync requests, like a link cut mid-exchange.
struct LosesAnswers {
    inner: ReqwestClient,
    lose: AtomicU32,
}

impl HttpClient for LosesAnswers {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let is_sync = request.url.ends_with("/v1/sync");
        let r = self.inner.send(request)?;
        if is_sync && self.lose.load(Ordering::SeqCst) > 0 {
            self.lose.fetch_sub(1, Ordering::SeqCst);
            return Err("connection reset".into());
        }
        Ok(r)
    }
}

#[test]
fn journal_travels_through_a_relay_process_and_no_plaintext_lands_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let relay_dir = dir.path().join("relay");
    let relay = start_relay(&relay_dir);
    let a_path = dir.path().join("a.db");
    let b_path = dir.path().join("b.db");
    let mut a = Vault::open(&a_path, &[7; 32]).unwrap();
    let mut b = Vault::open(&b_path, &[8; 32]).unwrap();
    let response = a.approve_link(&b.link_request().unwrap()).unwrap();
    b.complete_link(&response).unwrap();

    let markers = [
        "ZEBRA-rahasia-4471",
        "QUOKKA-secret-9034",
        "OKAPI-catatan-1220",
    ];
    for (i, m) in markers.iter().enumerate() {
        a.journal_add(&format!("entry {i}: {m}"), 3, &[format!("tag-{m}")])
            .unwrap();
    }

    // A link that drops the answer: the sync fails, nothing is lost, and the retry completes.
    let lossy = LosesAnswers {
        inner: ReqwestClient::new().unwrap(),
        lose: AtomicU32::new(1),
    };
    // The answer is lost after the relay stored the push: the sync re-sends the same body under a
    // new signature and request id, and the relay takes the envelope as a harmless duplicate.
    let retry = a.sync_with(&lossy, &relay.url).unwrap();
    assert_eq!(retry.retries, 1);
    assert!(retry.resent >= 1);
    assert_eq!(
        retry.rejected, 0,
        "re-sending an unacknowledged envelope is harmless"
    );
    let again = a.sync(&relay.url).unwrap();
    assert_eq!(again.pushed, 0, "nothing acknowledged is sent again");

    let r = b.sync(&relay.url).unwrap();
    assert_eq!(r.applied, 1);
    assert_eq!(b.journal_list(), a.journal_list());
    assert_eq!(b.journal_list().len(), 3);

    // Scan everything on disk while the relay still runs (WAL files included).
    let mut files = audit::files_under(&relay_dir);
    for p in [&a_path, &b_path] {
        files.extend(audit::sqlite_files(p));
    }
    assert!(files.len() >= 3);
    let found = audit::scan_files_for_markers(&files, &markers);
    assert!(found.is_empty(), "plaintext found: {found:?}");
    // The check itself works: an unencrypted copy would be found.
    let control = dir.path().join("control.txt");
    std::fs::write(&control, format!("x {} y", markers[1])).unwrap();
    assert_eq!(audit::scan_files_for_markers(&[control], &markers).len(), 1);
    drop(a);
    drop(b);
    for db in [relay_dir.join("relay.sqlite3"), a_path, b_path] {
        let blobs = audit::scan_database_blobs(&db).unwrap();
        assert!(
            blobs.is_empty(),
            "unencrypted Automerge data in {}: {blobs:?}",
            db.display()
        );
    }
}

#[test]
fn the_audit_finds_unencrypted_automerge_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plain.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("CREATE TABLE t (v BLOB)", []).unwrap();
    let mut doc = automerge::AutoCommit::new();
    sebaya_core::journal::add(&mut doc, "0123456789abcdef", "hi", 3, &[], 1).unwrap();
    conn.execute("INSERT INTO t (v) VALUES (?1)", [doc.save()])
        .unwrap();
    drop(conn);
    assert_eq!(audit::scan_database_blobs(&db).unwrap().len(), 1);
}

#[test]
fn a_relay_that_is_down_gives_a_network_error_and_keeps_local_data() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut a = Vault::open(&dir.path().join("a.db"), &[7; 32]).unwrap();
    a.journal_add("still here", 3, &[]).unwrap();
    assert!(matches!(a.sync(&url), Err(Error::Network(_))));
    assert_eq!(a.journal_list().len(), 1);
}

/// Lies about the relay's clock in `/v1/info`, as a wrong phone clock would look after correction.
struct SkewedInfo {
    inner: ReqwestClient,
}

impl HttpClient for SkewedInfo {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let is_info = request.url.ends_with("/v1/info");
        let mut r = self.inner.send(request)?;
        if is_info {
            let mut v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            let t = v["time"].as_u64().unwrap();
            v["time"] = serde_json::json!(t - 3600);
            r.body = serde_json::to_vec(&v).unwrap();
        }
        Ok(r)
    }
}

#[test]
fn a_skewed_clock_is_corrected_from_the_relays_answer() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay"));
    let mut a = Vault::open(&dir.path().join("a.db"), &[7; 32]).unwrap();
    a.journal_add("jam yang salah", 3, &[]).unwrap();
    let http = SkewedInfo {
        inner: ReqwestClient::new().unwrap(),
    };
    let r = a.sync_with(&http, &relay.url).unwrap();
    assert_eq!(r.pushed, 2, "the journal's genesis statement and its entry");
    assert_eq!(r.rejected, 0);
    assert_eq!(
        r.round_trips, 3,
        "info, refused as skewed, re-signed and accepted"
    );
}
