//! Review finding (issue 17, item 2): a sync waiting for the vault's sync gate (another sync holds
//! it) could be neither cancelled nor timed out, so a background task's expiry handler had no effect
//! until the other sync ended.

#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

use super::{SebayaError, SyncControl, Vault};

#[test]
fn a_sync_waiting_for_another_to_end_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db").to_string_lossy().into_owned();
    let v = Vault::open(path, vec![9; 32]).unwrap();
    let control = SyncControl::new();
    let held = v.sync_gate.lock().unwrap();
    let (done, outcome) = mpsc::channel();
    std::thread::scope(|scope| {
        let (v, waiting) = (&v, control.clone());
        scope.spawn(move || {
            let r = v.sync_until("http://127.0.0.1:9".into(), waiting, None);
            let _ = done.send(r.map(|_| ()));
        });
        std::thread::sleep(Duration::from_millis(100));
        control.cancel();
        let r = outcome.recv_timeout(Duration::from_secs(30));
        drop(held);
        assert!(
            matches!(r, Ok(Err(SebayaError::Cancelled { .. }))),
            "the waiting sync did not end on cancel: {r:?}"
        );
    });
}
