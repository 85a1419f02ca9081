//! Live sync end to end (issue 16, item 2): a device running the live loop against a real relay on
//! loopback is told that the group another device wrote to changed, syncs it, and can read the
//! note; a stop ends the loop at once, also in the middle of a wait. No assertion is about timing:
//! the loop is given far longer than it could need, and what it reports is checked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use sebaya_core::groups;
use sebaya_core::sync::live::LiveEvent;
use sebaya_core::{Error, ReqwestClient, Role, SyncStop, Vault};
use sebaya_tests::net::{net, sync};

/// Longest the test waits for any one event: far above what loopback needs.
const PATIENCE: Duration = Duration::from_secs(60);

#[test]
fn a_live_device_is_told_of_anothers_write_syncs_it_and_stops() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut facilitator = Vault::open(&dir.path().join("f.db"), &[1; 32]).unwrap();
    let mut supporter = Vault::open(&dir.path().join("s.db"), &[2; 32]).unwrap();
    let g = facilitator.create_group("Kelompok Kamis").unwrap();
    let resp = facilitator
        .approve_group_member(&g, &supporter.link_request().unwrap(), Role::Admin)
        .unwrap();
    supporter.join_group(&resp).unwrap();
    sync(&n, &mut facilitator);
    sync(&n, &mut supporter);

    let url = n.relay.url();
    let stop = SyncStop::new();
    let (events, seen) = mpsc::channel::<(Vec<sebaya_core::SpaceId>, u32)>();
    let live = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let http: Arc<dyn sebaya_core::HttpClient> = Arc::new(ReqwestClient::new().unwrap());
            let ended = supporter.live_with(http, &url, 20_000, &stop, &mut |e| {
                if let LiveEvent::Synced { spaces, report } = e {
                    let _ = events.send((spaces, report.pulled));
                }
            });
            (supporter, ended)
        })
    };
    // The loop's first sync (of every space) comes before the write, so the write must come to it
    // through a wait.
    let (first, _) = seen.recv_timeout(PATIENCE).unwrap();
    assert!(first.is_empty(), "the first sync is of every space");

    let me = facilitator.device_id().to_hex();
    facilitator
        .with_space(&g, |d, now| {
            groups::add_note(d, "00000000000000a1", "Rencana", "Check-in dulu.", &me, now)
        })
        .unwrap();
    sync(&n, &mut facilitator);
    let (spaces, pulled) = seen.recv_timeout(PATIENCE).unwrap();
    assert_eq!(spaces, vec![g], "the wake-up names exactly the group");
    assert!(pulled > 0);

    // The loop is waiting again: the stop ends it without waiting for the relay's answer.
    stop.cancel();
    let (supporter, ended) = live.join().unwrap();
    assert!(matches!(ended, Err(Error::Cancelled)), "{ended:?}");
    let note = supporter
        .read_space(&g, |d| groups::note(d, "00000000000000a1"))
        .unwrap()
        .unwrap();
    assert_eq!(note.text, "Check-in dulu.");
}
