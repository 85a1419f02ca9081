//! Sync policy on the links phones have in the field (issue 5): on a metered link with "Wi-Fi only",
//! or past the daily budget, only care records sync (a referral never waits for Wi-Fi); everything
//! else waits for an unmetered link; each space says what waits and when, and how, it last synced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::Vault;
use sebaya_core::space::SpaceKind;
use sebaya_core::sync::policy::{Link, SyncPolicy, SyncScope};
use sebaya_tests::net::{net, sync};

fn vault(dir: &tempfile::TempDir, name: &str, seed: u8) -> Vault {
    let mut v = Vault::open(&dir.path().join(name), &[seed; 32]).unwrap();
    v.create_person().unwrap();
    v
}

#[test]
fn a_referral_goes_on_a_metered_link_and_the_journal_waits_for_wifi() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = vault(&dir, "c.db", 1);
    let mut participant = vault(&dir, "p.db", 2);
    let programme = coordinator.create_programme("PIK-R").unwrap();
    let (care, resp) = coordinator
        .enrol_participant(&participant.link_request().unwrap(), programme)
        .unwrap();
    participant.join_space(&resp).unwrap();
    sync(&n, &mut coordinator);
    sync(&n, &mut participant);
    participant.journal_add("Catatan pribadi.", 2, &[]).unwrap();
    participant.ask_for_help("id").unwrap();

    participant
        .set_sync_policy(SyncPolicy {
            wifi_only: true,
            metered_daily_budget: 0,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        participant.sync_scope(Link::Metered).unwrap(),
        SyncScope::UrgentOnly
    );
    let (scope, report) = participant
        .sync_on(&n.http, &n.relay.url(), Link::Metered)
        .unwrap();
    assert_eq!(scope, SyncScope::UrgentOnly);
    assert!(report.pushed > 0);
    assert!(participant.metered_bytes_today().unwrap() > 0);
    // The referral reached the coordinator; the journal is still waiting.
    sync(&n, &mut coordinator);
    assert_eq!(coordinator.referral_inbox().unwrap().len(), 1);
    let status = participant.space_status().unwrap();
    let journal = status
        .iter()
        .find(|s| s.kind == SpaceKind::Journal)
        .unwrap();
    assert!(journal.waiting);
    let record = status.iter().find(|s| s.space == care).unwrap();
    assert!(!record.waiting);
    assert_eq!(record.last_synced.as_ref().unwrap().1, "relay");

    // On Wi-Fi everything goes.
    let (scope, _) = participant
        .sync_on(&n.http, &n.relay.url(), Link::Unmetered)
        .unwrap();
    assert_eq!(scope, SyncScope::All);
    let status = participant.space_status().unwrap();
    assert!(status.iter().all(|s| !s.waiting));
    assert!(status.iter().all(|s| s.last_synced.is_some()));
}

#[test]
fn past_the_daily_budget_only_urgent_items_go() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut phone = vault(&dir, "p.db", 1);
    phone.journal_add("Satu.", 3, &[]).unwrap();
    phone
        .set_sync_policy(SyncPolicy {
            wifi_only: false,
            metered_daily_budget: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(phone.sync_scope(Link::Metered).unwrap(), SyncScope::All);
    let (scope, _) = phone
        .sync_on(&n.http, &n.relay.url(), Link::Metered)
        .unwrap();
    assert_eq!(scope, SyncScope::All);
    assert_eq!(
        phone.sync_scope(Link::Metered).unwrap(),
        SyncScope::UrgentOnly
    );
    phone.journal_add("Dua.", 3, &[]).unwrap();
    let (scope, report) = phone
        .sync_on(&n.http, &n.relay.url(), Link::Metered)
        .unwrap();
    assert_eq!(scope, SyncScope::UrgentOnly);
    assert_eq!(report.pushed, 0, "the journal waits");
    assert!(phone.space_status().unwrap()[0].waiting);
    // An unmetered link has no budget.
    assert_eq!(phone.sync_scope(Link::Unmetered).unwrap(), SyncScope::All);
}

#[test]
fn a_snapshot_due_waits_for_an_unmetered_link() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let mut phone = vault(&dir, "p.db", 1);
    phone.set_snapshot_every(16).unwrap();
    // Twenty entries in five envelopes, all synced on mobile data: a snapshot is due and waits.
    let mut pushed = 0;
    for round in 0..5 {
        for i in 0..4 {
            phone
                .journal_add(&format!("Catatan {round}.{i}"), 3, &[])
                .unwrap();
        }
        let (_, r) = phone
            .sync_on(&n.http, &n.relay.url(), Link::Metered)
            .unwrap();
        pushed += r.pushed;
    }
    assert!(pushed >= 5, "the changes went: {pushed}");
    let (_, r) = phone
        .sync_on(&n.http, &n.relay.url(), Link::Metered)
        .unwrap();
    assert_eq!(r.pushed, 0, "nothing new on mobile data, no snapshot");
    // On Wi-Fi the snapshot is sealed and goes, alone.
    let (_, r) = phone
        .sync_on(&n.http, &n.relay.url(), Link::Unmetered)
        .unwrap();
    assert_eq!(r.pushed, 1, "the snapshot");
    let (_, r) = phone
        .sync_on(&n.http, &n.relay.url(), Link::Unmetered)
        .unwrap();
    assert_eq!(r.pushed, 0, "and only once");
}
