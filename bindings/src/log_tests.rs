//! Issue 17, item 4: the opt-in log sink. Lines arrive at the level set, from Sebaya's own targets
//! only, never while the vault is held, and hold counts and codes: never content, ids or what a
//! platform or a listener said (a listener's throw and a transport's reason carry a marker here).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use crate::logging::{LogLevel, LogSink, clear_log_sink, hold, set_log_sink};
use crate::platform::CallbackError;
use crate::platform::{
    HttpRequest, HttpResponse, HttpTransport, SpaceListener, TransportError, set_http_transport,
};
use crate::{SebayaError, SpaceKind, Vault};

const MARKER: &str = "MARKER-kesepian-malam-ini-7f3a";

#[derive(Default)]
struct Collect(Mutex<Vec<(LogLevel, String, String)>>);
impl LogSink for Collect {
    fn log(
        &self,
        level: LogLevel,
        target: String,
        message: String,
    ) -> std::result::Result<(), CallbackError> {
        self.0.lock().unwrap().push((level, target, message));
        Ok(())
    }
}

struct Throws;
impl SpaceListener for Throws {
    fn space_changed(
        &self,
        _space_id: String,
        _kind: SpaceKind,
    ) -> std::result::Result<(), CallbackError> {
        Err(CallbackError::Failed {
            reason: MARKER.into(),
        })
    }
}

struct Down;
impl HttpTransport for Down {
    fn send(&self, _r: HttpRequest) -> std::result::Result<HttpResponse, TransportError> {
        Err(TransportError::Unreachable {
            reason: MARKER.into(),
        })
    }
}

fn hex_run(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 16 {
            return true;
        }
    }
    false
}

#[test]
fn a_write_and_a_failing_sync_log_counts_and_codes_never_content_or_ids() {
    let _g = crate::platform::globals();
    let sink = Arc::new(Collect::default());
    set_log_sink(sink.clone(), LogLevel::Trace);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db").to_string_lossy().into_owned();
    let v = Vault::open(path, vec![5; 32]).unwrap();
    let sub = v.subscribe(Arc::new(Throws));
    v.journal().add(MARKER.into(), 3, vec![]).unwrap();
    set_http_transport(Arc::new(Down));
    let e = v.sync("http://127.0.0.1:9".into()).err();
    assert!(matches!(e, Some(SebayaError::Network { .. })), "{e:?}");
    sub.stop();
    clear_log_sink();
    let lines = sink.0.lock().unwrap().clone();
    let text: String = lines
        .iter()
        .map(|(l, t, m)| format!("{l:?} {t} {m}\n"))
        .collect();
    let has = |level: LogLevel, target: &str, words: &str| {
        lines
            .iter()
            .any(|(l, t, m)| *l == level && t == target && m.contains(words))
    };
    assert!(
        has(LogLevel::Warn, "sebaya::listeners", "listener threw"),
        "{text}"
    );
    assert!(has(LogLevel::Info, "sebaya::http", "no answer"), "{text}");
    assert!(has(LogLevel::Info, "sebaya::sync", "retry 1"), "{text}");
    assert!(
        has(LogLevel::Warn, "sebaya::sync", "error-network"),
        "{text}"
    );
    assert!(!text.contains("MARKER"), "content in the log: {text}");
    for s in v.space_status().unwrap() {
        assert!(!text.contains(&s.space_id), "a space id in the log: {text}");
    }
    assert!(!text.contains(&v.device_id().unwrap()), "{text}");
    assert!(!hex_run(&text), "a hex run in the log: {text}");

    // Cleared: nothing more arrives, not even formatted.
    let n = sink.0.lock().unwrap().len();
    let _ = v.sync("http://127.0.0.1:9".into());
    assert_eq!(sink.0.lock().unwrap().len(), n);
}

#[test]
fn lines_logged_while_the_vault_is_held_wait_for_it_and_the_level_filters() {
    let _g = crate::platform::globals();
    let sink = Arc::new(Collect::default());
    set_log_sink(sink.clone(), LogLevel::Info);
    {
        let _held = hold();
        log::info!(target: "sebaya::sync", "inside");
        log::debug!(target: "sebaya::sync", "below the level");
        log::info!(target: "rustls::client", "not ours");
        assert!(sink.0.lock().unwrap().is_empty(), "delivered while held");
    }
    clear_log_sink();
    let lines = sink.0.lock().unwrap().clone();
    assert_eq!(
        lines,
        [(
            LogLevel::Info,
            "sebaya::sync".to_owned(),
            "inside".to_owned()
        )]
    );
}

/// A relay's reason code reaches a line only when it reads as one: plain words, not hex, short.
#[test]
fn only_plain_reason_codes_are_logged() {
    use sebaya_core::sync::relay::loggable_code;
    for plain in [
        "conflict",
        "not-admitted",
        "unknown-space",
        "too-many-statements",
        "erased",
    ] {
        assert_eq!(loggable_code(plain), plain);
    }
    let id = "3f9c0a1b2c3d4e5f";
    for odd in [
        id,
        "",
        "Conflict",
        "a b",
        MARKER,
        &"x".repeat(41),
        "dead-beef",
    ] {
        assert_eq!(loggable_code(odd), "other", "{odd}");
    }
}
