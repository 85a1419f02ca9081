//! The erasure carry-over race (issue 15, item 8). A person's phone erases a journal entry while the
//! person's other devices, not yet aware, keep writing into the old journal; each carries over what
//! it wrote there when it learns of the erasure. Whatever the order in which the copies meet — the
//! erasing phone's copy of the journal, a device's carried copy, another device's carried copy of
//! the same entry, edits made meanwhile — every device must end with the same entries, each once,
//! the latest edit of each kept, and nothing erased coming back.
//!
//! The first two tests run the devices on real threads syncing through a relay on loopback, the
//! erasure racing the other devices' edits and syncs, several rounds; the others fix one bad order
//! each, with explicit times, so they fail or pass the same way every run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sebaya_core::{ReqwestClient, Vault};
use sebaya_tests::net::{Net, net, sync};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A person's phone and `others` linked devices, every one synced once. Vault files in `dir`.
fn devices(n: &Net, dir: &std::path::Path, others: usize) -> (Vault, Vec<Vault>) {
    let mut phone = Vault::open(&dir.join("phone.db"), &[1; 32]).unwrap();
    phone.create_person().unwrap();
    let mut linked = Vec::new();
    for i in 0..others {
        let mut v = Vault::open(&dir.join(format!("linked{i}.db")), &[2 + i as u8; 32]).unwrap();
        let resp = phone.approve_link(&v.link_request().unwrap()).unwrap();
        v.complete_link(&resp).unwrap();
        linked.push(v);
    }
    sync(n, &mut phone);
    for v in &mut linked {
        sync(n, v);
    }
    (phone, linked)
}

/// What a device shows: (id, text, conflicts) of every entry, in the journal's order.
fn shown(v: &Vault) -> Vec<(String, String, Vec<String>)> {
    v.journal_list()
        .into_iter()
        .map(|e| (e.id, e.text, e.conflicts))
        .collect()
}

/// Syncs every device in turn until they all show the same and a round changed nothing (at most 8
/// rounds): what they show then is what they end with.
fn settle(n: &Net, all: &mut [&mut Vault]) {
    let mut last = Vec::new();
    for _ in 0..8 {
        for v in all.iter_mut() {
            sync(n, v);
        }
        let now: Vec<_> = all.iter().map(|v| shown(v)).collect();
        if now == last && now.windows(2).all(|w| w[0] == w[1]) {
            return;
        }
        last = now;
    }
}

/// Checks what every device ends with: the same journal, the same entries, each exactly once, with
/// the expected texts (`expected`: id → text), and none of `gone`.
fn check(round: usize, all: &[&Vault], expected: &BTreeMap<String, String>, gone: &[String]) {
    let first = shown(all[0]);
    for (i, v) in all.iter().enumerate() {
        assert_eq!(
            v.journal_space(),
            all[0].journal_space(),
            "round {round}: device {i} is in another journal"
        );
        assert_eq!(
            shown(v),
            first,
            "round {round}: device {i} shows other entries than device 0"
        );
    }
    let ids: Vec<&String> = first.iter().map(|(id, _, _)| id).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ids.len(),
        "round {round}: an entry shows twice"
    );
    for id in gone {
        assert!(
            !ids.contains(&id),
            "round {round}: erased entry {id} came back"
        );
    }
    let got: BTreeMap<String, String> = first.into_iter().map(|(id, text, _)| (id, text)).collect();
    assert_eq!(
        &got, expected,
        "round {round}: the entries, or their latest edits, differ from what was written"
    );
}

/// One device's part in the race: adds one new entry, then edits each of `mine` once, in turn,
/// syncing after each write (so some land in the old journal, carried over later, and some in the
/// new one, depending on when the erasure reaches this device). Each entry is edited once: an edit
/// lost to an older copy is never hidden by a later edit of the same entry. Returns each entry's
/// text as this device last wrote it.
fn edit_and_sync(v: &mut Vault, url: &str, who: &str, mine: &[String]) -> BTreeMap<String, String> {
    let http = ReqwestClient::new().unwrap();
    let mut latest = BTreeMap::new();
    let text = format!("{who}: new, after the erasure");
    let id = v.journal_add(&text, 3, &[]).unwrap();
    latest.insert(id, text);
    v.sync_with(&http, url).unwrap();
    for id in mine {
        let text = format!("{who}: {id} edited");
        v.journal_edit(id, Some(&text), None, None).unwrap();
        latest.insert(id.clone(), text);
        v.sync_with(&http, url).unwrap();
    }
    latest
}

/// Rounds of the race, each with fresh devices and relay, until one fails or 8 rounds or about 15
/// seconds have passed. With `erase_first`, the phone erases before the others start writing (all
/// they carry over was written after the erasure); otherwise they start first and the phone syncs
/// once, then erases, so some of what they wrote before the erasure's time reached the relay but
/// not the phone's copy.
fn race(erase_first: bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    for round in 0..8 {
        if round > 0 && Instant::now() > deadline {
            break;
        }
        let n = net();
        let dir = tempfile::tempdir().unwrap();
        let (mut phone, mut linked) = devices(&n, dir.path(), 2);
        let mut expected = BTreeMap::new();
        let mut sets: Vec<Vec<String>> = vec![Vec::new(), Vec::new(), Vec::new()];
        for (who, set) in sets.iter_mut().enumerate() {
            for k in 0..4 {
                let text = format!("written before, {who} {k}");
                let id = phone.journal_add(&text, 2, &[]).unwrap();
                expected.insert(id.clone(), text);
                set.push(id);
            }
        }
        let secret = phone.journal_add("to be erased", 1, &[]).unwrap();
        sync(&n, &mut phone);
        for v in &mut linked {
            sync(&n, v);
        }
        assert_eq!(linked[1].journal_list().len(), 13);

        // The phone erases and syncs (taking the erasure to the relay), then edits its own entries
        // in the new journal; meanwhile the other two edit theirs and write a new one each, in
        // whichever journal they hold, and sync, not knowing when the erasure reaches them.
        let url = n.relay.url();
        let start = Barrier::new(3);
        let [phone_set, tablet_set, laptop_set] = [&sets[0], &sets[1], &sets[2]];
        let (tablet, laptop) = linked.split_at_mut(1);
        let (tablet, laptop) = (&mut tablet[0], &mut laptop[0]);
        let written = std::thread::scope(|s| {
            let p = s.spawn(|| {
                if !erase_first {
                    start.wait();
                    phone
                        .sync_with(&ReqwestClient::new().unwrap(), &url)
                        .unwrap();
                }
                let at = now_ms();
                phone
                    .erase_journal_entries(std::slice::from_ref(&secret), at)
                    .unwrap();
                if erase_first {
                    // What the others write comes after the erasure's time.
                    while now_ms() <= at {
                        std::hint::spin_loop();
                    }
                    start.wait();
                }
                edit_and_sync(&mut phone, &url, "phone", phone_set)
            });
            let t = s.spawn(|| {
                start.wait();
                edit_and_sync(&mut *tablet, &url, "tablet", tablet_set)
            });
            let l = s.spawn(|| {
                start.wait();
                edit_and_sync(&mut *laptop, &url, "laptop", laptop_set)
            });
            [p.join(), t.join(), l.join()]
        });
        for w in written {
            expected.extend(w.unwrap());
        }
        settle(&n, &mut [&mut phone, &mut *tablet, &mut *laptop]);
        check(
            round,
            &[&phone, tablet, laptop],
            &expected,
            std::slice::from_ref(&secret),
        );
    }
}

#[test]
fn devices_racing_an_erasure_end_with_the_same_latest_entries_and_nothing_erased() {
    race(true);
}

#[test]
fn devices_writing_while_the_phone_erases_keep_what_the_phone_had_not_received() {
    race(false);
}

const A: &str = "1000000000000000";
const B: &str = "2000000000000000";
const C: &str = "3000000000000000";
const ERASED: &str = "9000000000000000";

/// A phone holding entries `A`, `B`, `C` and `ERASED` (times 1–4 ms), and `others` linked devices,
/// all synced.
fn with_entries(n: &Net, dir: &std::path::Path, others: usize) -> (Vault, Vec<Vault>) {
    let (mut phone, mut linked) = devices(n, dir, others);
    for (i, id) in [A, B, C, ERASED].into_iter().enumerate() {
        phone
            .journal_add_with_id(id, &format!("{id} as written"), 3, &[], 1 + i as i64)
            .unwrap();
    }
    sync(n, &mut phone);
    for v in &mut linked {
        sync(n, v);
    }
    (phone, linked)
}

fn text(v: &Vault, id: &str) -> Option<String> {
    v.journal_get(id).map(|e| e.text)
}

#[test]
fn an_edit_carried_over_wins_over_the_older_copy_the_erasure_made() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut linked) = with_entries(&n, dir.path(), 1);
    let tablet = &mut linked[0];
    phone
        .erase_journal_entries(&[ERASED.into()], 10_000)
        .unwrap();
    // The tablet, not knowing, edits C in the old journal after the erasure; the phone's new
    // journal holds C as it was.
    tablet
        .journal_edit_at(C, Some("C, edited on the tablet"), None, None, 20_000)
        .unwrap();
    sync(&n, &mut phone);
    settle(&n, &mut [&mut *tablet, &mut phone]);
    for v in [&phone, &*tablet] {
        assert_eq!(text(v, C).as_deref(), Some("C, edited on the tablet"));
        assert_eq!(text(v, A).as_deref(), Some("1000000000000000 as written"));
        assert_eq!(text(v, ERASED), None);
    }
    assert_eq!(shown(&phone), shown(tablet));
}

#[test]
fn two_devices_carrying_one_entry_keep_its_later_edit() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut linked) = with_entries(&n, dir.path(), 2);
    let (tablet, laptop) = linked.split_at_mut(1);
    let (tablet, laptop) = (&mut tablet[0], &mut laptop[0]);
    phone
        .erase_journal_entries(&[ERASED.into()], 10_000)
        .unwrap();
    // After the erasure, not knowing: the tablet writes N into the old journal and syncs it; the
    // laptop receives N there and writes an entry of its own.
    let n_id = "5000000000000000";
    tablet
        .journal_add_with_id(n_id, "N, first", 3, &[], 20_000)
        .unwrap();
    sync(&n, tablet);
    sync(&n, laptop);
    laptop
        .journal_add_with_id("0100000000000000", "the laptop's own", 3, &[], 20_001)
        .unwrap();
    // The erasure reaches the relay. The tablet learns of it first, carries N over and edits it in
    // the new journal; then the laptop learns of it and carries N over too, as it was.
    sync(&n, &mut phone);
    sync(&n, tablet);
    tablet
        .journal_edit_at(n_id, Some("N, edited later"), None, None, 30_000)
        .unwrap();
    sync(&n, tablet);
    sync(&n, laptop);
    settle(&n, &mut [&mut *laptop, &mut *tablet, &mut phone]);
    for v in [&phone, &*tablet, &*laptop] {
        assert_eq!(text(v, n_id).as_deref(), Some("N, edited later"));
        assert_eq!(
            text(v, "0100000000000000").as_deref(),
            Some("the laptop's own")
        );
        assert_eq!(v.journal_list().len(), 5);
    }
    assert_eq!(shown(&phone), shown(tablet));
    assert_eq!(shown(&phone), shown(laptop));
}

#[test]
fn an_entry_erased_by_a_later_erasure_is_not_carried_back() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut linked) = with_entries(&n, dir.path(), 1);
    let tablet = &mut linked[0];
    phone
        .erase_journal_entries(&[ERASED.into()], 10_000)
        .unwrap();
    sync(&n, &mut phone);
    // The tablet, offline, edits B in the first journal; then the phone erases B from the second.
    tablet
        .journal_edit_at(B, Some("B, edited on the tablet"), None, None, 20_000)
        .unwrap();
    phone.erase_journal_entries(&[B.into()], 30_000).unwrap();
    sync(&n, &mut phone);
    settle(&n, &mut [&mut *tablet, &mut phone]);
    for v in [&phone, &*tablet] {
        assert_eq!(text(v, B), None, "an erased entry came back");
        assert_eq!(text(v, ERASED), None);
        assert_eq!(text(v, C).as_deref(), Some("3000000000000000 as written"));
    }
    assert_eq!(shown(&phone), shown(tablet));
}

#[test]
fn an_edit_the_erasing_device_never_received_is_carried_even_when_made_before_the_erasure() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut linked) = with_entries(&n, dir.path(), 1);
    let tablet = &mut linked[0];
    // The tablet edits C and syncs it to the relay; the phone, not having synced since, erases
    // another entry a moment later: its copy holds C as it was.
    tablet
        .journal_edit_at(C, Some("C, edited on the tablet first"), None, None, 5_000)
        .unwrap();
    sync(&n, tablet);
    phone
        .erase_journal_entries(&[ERASED.into()], 10_000)
        .unwrap();
    sync(&n, &mut phone);
    settle(&n, &mut [&mut *tablet, &mut phone]);
    for v in [&phone, &*tablet] {
        assert_eq!(text(v, C).as_deref(), Some("C, edited on the tablet first"));
        assert_eq!(text(v, ERASED), None);
    }
    assert_eq!(shown(&phone), shown(tablet));
}
