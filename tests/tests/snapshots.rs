//! Snapshots and compaction (issue 5, item 5; protocol section 26): a new device syncs a snapshot plus
//! the tail and gets the same journal; the relay prunes covered change envelopes after the retention
//! period and a device offline since before the prune still converges; damaged, forged and
//! non-members' snapshots change nothing; the newest snapshot wins; a snapshot after a key rotation is
//! sealed under the new epoch and a device linked after it reads everything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use ring::signature::{Ed25519KeyPair, KeyPair};
use sebaya_core::{ReqwestClient, SyncReport, Vault};
use sebaya_proto::envelope::HeaderV1;
use sebaya_proto::{DeviceId, Envelope, EpochId, Kind, snapshot};

struct Relay {
    dir: tempfile::TempDir,
    handle: sebaya_relay::RelayHandle,
    http: ReqwestClient,
}

/// A loopback relay keeping covered envelopes `retention` seconds (`None`: never pruning).
fn relay(retention: Option<u64>) -> Relay {
    let dir = tempfile::tempdir().unwrap();
    let handle = sebaya_relay::spawn_with_retention(
        sebaya_relay::RelayConfig {
            data_dir: dir.path().join("relay"),
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        retention,
    )
    .unwrap();
    Relay {
        dir,
        handle,
        http: ReqwestClient::new().unwrap(),
    }
}

impl Relay {
    fn sync(&self, v: &mut Vault) -> SyncReport {
        v.sync_with(&self.http, &self.handle.url()).unwrap()
    }

    /// (envelopes stored, of which pruned) at the relay, read from its database.
    fn counts(&self) -> (u64, u64) {
        let db = rusqlite::Connection::open(self.dir.path().join("relay").join("relay.sqlite3"))
            .unwrap();
        db.query_row(
            "SELECT count(*), coalesce(sum(pruned), 0) FROM envelopes",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )
        .unwrap()
    }
}

fn texts(v: &Vault) -> Vec<String> {
    let mut t: Vec<String> = v.journal_list().into_iter().map(|e| e.text).collect();
    t.sort();
    t
}

fn open(dir: &Path, name: &str, key: u8) -> Vault {
    Vault::open(&dir.join(name), &[key; 32]).unwrap()
}

/// A new device of the same person, linked by `phone`.
fn link(phone: &mut Vault, dir: &Path, name: &str, key: u8) -> Vault {
    let mut v = open(dir, name, key);
    let resp = phone.approve_link(&v.link_request().unwrap()).unwrap();
    v.complete_link(&resp).unwrap();
    v
}

/// Writes `n` entries, syncing after each, so that each is its own envelope at the relay.
fn write_and_sync(r: &Relay, v: &mut Vault, from: usize, n: usize) {
    for i in from..from + n {
        v.journal_add(&format!("Catatan nomor {i}: hari ini cukup baik."), 3, &[])
            .unwrap();
        r.sync(v);
    }
}

fn snapshot_of(v: &mut Vault) -> Vec<u8> {
    v.outgoing_envelopes()
        .unwrap()
        .into_iter()
        .find(|e| e[5] == 2)
        .expect("a snapshot waiting to be sent")
}

#[test]
fn a_new_device_syncs_the_snapshot_and_the_tail() {
    let r = relay(None);
    let dir = tempfile::tempdir().unwrap();
    let mut phone = open(dir.path(), "phone.db", 1);
    phone.create_person().unwrap();
    phone.set_snapshot_every(0).unwrap();
    write_and_sync(&r, &mut phone, 0, 40);
    let size = phone
        .snapshot_now(None)
        .unwrap()
        .expect("journals have snapshots");
    assert!(size > 0);
    r.sync(&mut phone);
    write_and_sync(&r, &mut phone, 40, 3);

    // A device with nothing: the snapshot is smaller than the 40 envelopes it covers, so it comes
    // instead of them, then the three envelopes after it.
    let mut tablet = link(&mut phone, dir.path(), "tablet.db", 2);
    let report = r.sync(&mut tablet);
    assert_eq!(texts(&tablet), texts(&phone));
    assert_eq!(texts(&tablet).len(), 43);
    assert!(
        report.pulled <= 4,
        "snapshot, tail and membership only, not 40 change envelopes: {report:?}"
    );
    assert_eq!(report.quarantined, 0);

    // The tablet writes; both converge, and a second sync of the tablet pulls nothing again.
    tablet.journal_add("Dari tablet.", 4, &[]).unwrap();
    r.sync(&mut tablet);
    r.sync(&mut phone);
    assert_eq!(texts(&tablet), texts(&phone));
    // (The next sync brings the person's index, which admitted the tablet meanwhile; after that,
    // nothing is pulled twice.)
    r.sync(&mut tablet);
    assert_eq!(r.sync(&mut tablet).pulled, 0);
    // Nothing was pruned: this relay never prunes.
    assert_eq!(r.counts().1, 0);
}

#[test]
fn the_relay_prunes_after_retention_and_a_device_offline_since_converges() {
    let r = relay(Some(0));
    let dir = tempfile::tempdir().unwrap();
    let mut phone = open(dir.path(), "phone.db", 1);
    phone.create_person().unwrap();
    phone.set_snapshot_every(0).unwrap();
    let mut tablet = link(&mut phone, dir.path(), "tablet.db", 2);
    write_and_sync(&r, &mut phone, 0, 2);
    r.sync(&mut tablet);
    assert_eq!(texts(&tablet).len(), 2);

    // The tablet goes into a drawer ("offline for months") and writes there.
    tablet.journal_add("Ditulis tanpa sinyal.", 2, &[]).unwrap();

    write_and_sync(&r, &mut phone, 2, 30);
    phone.snapshot_now(None).unwrap().unwrap();
    r.sync(&mut phone);
    // The covered envelopes are older than the retention (0 s) once a second has passed; the next
    // sync of the space prunes them.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write_and_sync(&r, &mut phone, 32, 2);
    let (stored, pruned) = r.counts();
    assert!(
        pruned >= 30,
        "covered change envelopes pruned: {pruned} of {stored}"
    );

    // A fresh device gets the snapshot and the tail.
    let mut laptop = link(&mut phone, dir.path(), "laptop.db", 3);
    r.sync(&mut laptop);
    assert_eq!(texts(&laptop), texts(&phone));

    // The tablet's vector is below the pruned range: it merges the snapshot into what it has,
    // sends what it wrote offline, and every device converges.
    let report = r.sync(&mut tablet);
    assert_eq!(report.quarantined, 0, "{report:?}");
    r.sync(&mut phone);
    r.sync(&mut laptop);
    assert_eq!(texts(&tablet), texts(&phone));
    assert_eq!(texts(&laptop), texts(&phone));
    assert_eq!(texts(&phone).len(), 35);
    assert!(texts(&phone).contains(&"Ditulis tanpa sinyal.".to_string()));
}

/// A phone, a tablet and a laptop of one person (the laptop linked, never synced). The tablet writes
/// 12 entries; the phone seals a snapshot covering them, and the relay (retention 0) prunes them.
/// Returns the devices and the snapshot's bytes.
fn tablet_pruned_under_a_phone_snapshot(r: &Relay, dir: &Path) -> (Vault, Vault, Vault, Vec<u8>) {
    let mut phone = open(dir, "phone.db", 1);
    phone.create_person().unwrap();
    phone.set_snapshot_every(0).unwrap();
    let mut tablet = link(&mut phone, dir, "tablet.db", 2);
    tablet.set_snapshot_every(0).unwrap();
    let laptop = link(&mut phone, dir, "laptop.db", 3);
    write_and_sync(r, &mut tablet, 0, 12);
    r.sync(&mut phone);
    phone.snapshot_now(None).unwrap().unwrap();
    let snap = snapshot_of(&mut phone);
    r.sync(&mut phone);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write_and_sync(r, &mut phone, 12, 2);
    let (_, pruned) = r.counts();
    assert!(pruned >= 12, "the tablet's envelopes were pruned: {pruned}");
    (phone, tablet, laptop, snap)
}

/// A snapshot by one device stands for another device's pruned envelopes: the new device bounds
/// every cover by what it knows exists (protocol 26.3), and the relay's answer, which counts them,
/// is that knowledge. So it takes the snapshot once, and its next sync pulls nothing again.
#[test]
fn a_snapshot_standing_for_another_devices_pruned_envelopes_is_taken_once() {
    let r = relay(Some(0));
    let dir = tempfile::tempdir().unwrap();
    let (phone, mut tablet, mut laptop, _) = tablet_pruned_under_a_phone_snapshot(&r, dir.path());
    let first = r.sync(&mut laptop);
    assert_eq!(first.quarantined, 0, "{first:?}");
    assert_eq!(texts(&laptop), texts(&phone));
    let again = r.sync(&mut laptop);
    assert_eq!(again.pulled, 0, "nothing comes twice: {again:?}");
    tablet
        .journal_add("Dari tablet, sesudahnya.", 3, &[])
        .unwrap();
    r.sync(&mut tablet);
    r.sync(&mut laptop);
    assert!(texts(&laptop).contains(&"Dari tablet, sesudahnya.".to_string()));
}

/// A snapshot taken from a hand-over (no relay count yet) names another device's envelopes the
/// taker does not hold: its count for them waits. The next relay answer counts them, and the count
/// rises then, without loading the snapshot again (the relay does not send it twice): afterwards a
/// peer holding those envelopes has nothing to send.
#[test]
fn a_cover_beyond_what_is_known_waits_for_the_relays_count() {
    let r = relay(Some(0));
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, _tablet, mut laptop, snap) =
        tablet_pruned_under_a_phone_snapshot(&r, dir.path());
    // The laptop takes the snapshot handed over alone: the tablet's envelopes are not counted.
    let got = laptop.receive_envelopes(&[snap]).unwrap();
    assert_eq!((got.stored, got.quarantined), (1, 0), "{got:?}");
    // The relay's answer counts them: the laptop's count rises, and nothing is lacked any more.
    r.sync(&mut laptop);
    let again = sebaya_tests::peers::report(&mut phone, &mut laptop);
    assert_eq!(
        again.sent, 0,
        "nothing lacked after the relay's count: {again:?}"
    );
    assert_eq!(texts(&laptop), texts(&phone));
}

#[test]
fn damaged_forged_and_strangers_snapshots_change_nothing() {
    let r = relay(None);
    let dir = tempfile::tempdir().unwrap();
    let mut phone = open(dir.path(), "phone.db", 1);
    phone.create_person().unwrap();
    phone.set_snapshot_every(0).unwrap();
    let mut tablet = link(&mut phone, dir.path(), "tablet.db", 2);
    phone.journal_add("Satu.", 3, &[]).unwrap();
    r.sync(&mut phone);
    r.sync(&mut tablet);
    phone.journal_add("Dua.", 3, &[]).unwrap();
    phone.snapshot_now(None).unwrap().unwrap();
    let good = snapshot_of(&mut phone);
    let before = texts(&tablet);
    let counts = tablet.envelope_counts().unwrap();

    let mut bad: Vec<Vec<u8>> = vec![good[..good.len() - 1].to_vec(), good[..120].to_vec()];
    for at in [
        5usize,
        30,
        100,
        115,
        good.len() / 2,
        good.len() - 70,
        good.len() - 1,
    ] {
        let mut b = good.clone();
        b[at] ^= 0x01;
        bad.push(b);
    }
    for b in &bad {
        let rep = tablet.receive_envelopes(std::slice::from_ref(b)).unwrap();
        assert_eq!(
            rep.stored, 0,
            "a damaged snapshot is refused before it is stored"
        );
        assert_eq!(texts(&tablet), before);
    }
    assert_eq!(tablet.envelope_counts().unwrap(), counts);

    // A well-formed snapshot signed by a stranger: stored nowhere useful, applied never.
    let env = Envelope::parse(&good).unwrap();
    let h = env.header().unwrap();
    let stranger = Ed25519KeyPair::from_seed_unchecked(&[0x77; 32]).unwrap();
    let forged = snapshot::seal(
        HeaderV1 {
            kind: Kind::Snapshot,
            space: h.space,
            epoch: EpochId([9; 32]),
            author: DeviceId::from_slice(stranger.public_key().as_ref()).unwrap(),
            seq: 1,
        },
        &[5; 32],
        [0; 4],
        &snapshot::Cover::new(),
        b"\x01not a document",
        &stranger,
    )
    .unwrap();
    let rep = tablet
        .receive_envelopes(&[forged.as_bytes().to_vec()])
        .unwrap();
    assert_eq!(rep.applied, 0);
    assert_eq!(texts(&tablet), before);

    // The genuine one still works after all that.
    let rep = tablet.receive_envelopes(&[good]).unwrap();
    assert_eq!(rep.applied, 1, "{rep:?}");
    assert_eq!(texts(&tablet).len(), 2);
}

#[test]
fn the_newest_snapshot_wins_and_a_rotation_moves_snapshots_to_the_new_epoch() {
    let r = relay(Some(0));
    let dir = tempfile::tempdir().unwrap();
    let mut phone = open(dir.path(), "phone.db", 1);
    phone.create_person().unwrap();
    phone.set_snapshot_every(0).unwrap();
    let mut old = link(&mut phone, dir.path(), "old.db", 2);
    r.sync(&mut old);
    write_and_sync(&r, &mut phone, 0, 10);
    phone.snapshot_now(None).unwrap().unwrap();
    let first = Envelope::parse(&snapshot_of(&mut phone)).unwrap();
    r.sync(&mut phone);
    // The old device is lost: removed, and the journal's key rotated.
    let lost = old.device_id();
    phone.remove_device(&lost).unwrap();
    write_and_sync(&r, &mut phone, 10, 10);
    phone.snapshot_now(None).unwrap().unwrap();
    let second = Envelope::parse(&snapshot_of(&mut phone)).unwrap();
    assert_ne!(
        first.header().unwrap().epoch,
        second.header().unwrap().epoch,
        "the second snapshot is sealed under the epoch after the rotation"
    );
    r.sync(&mut phone);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write_and_sync(&r, &mut phone, 20, 1);
    let db = rusqlite::Connection::open(r.dir.path().join("relay").join("relay.sqlite3")).unwrap();
    let live: Vec<Vec<u8>> = db
        .prepare("SELECT id FROM envelopes WHERE kind = 2 AND pruned = 0")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(|x| x.unwrap())
        .collect();
    assert_eq!(
        live,
        vec![second.id().0.to_vec()],
        "the newest snapshot stays; the older one is pruned under it"
    );

    // A device linked now reads everything through the newest snapshot (the older one is pruned
    // under it) and the tail.
    let mut fresh = link(&mut phone, dir.path(), "fresh.db", 3);
    let report = r.sync(&mut fresh);
    assert_eq!(report.quarantined, 0, "{report:?}");
    assert_eq!(texts(&fresh), texts(&phone));
    assert_eq!(texts(&fresh).len(), 21);
    // The removed device gets nothing more.
    let before = texts(&old);
    let _ = old.sync_with(&r.http, &r.handle.url());
    assert_eq!(texts(&old), before);
}

#[test]
fn the_snapshot_policy_is_kept_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = open(dir.path(), "v.db", 1);
    v.create_person().unwrap();
    assert_eq!(
        v.snapshot_every().unwrap(),
        sebaya_core::space::DEFAULT_SNAPSHOT_EVERY
    );
    assert!(v.set_snapshot_every(3).is_err());
    v.set_snapshot_every(20).unwrap();
    drop(v);
    let mut v = open(dir.path(), "v.db", 1);
    assert_eq!(v.snapshot_every().unwrap(), 20);
    // Many changes in one envelope: a snapshot would repeat them, so none is sealed.
    for i in 0..40 {
        v.journal_add(&format!("e{i}"), 3, &[]).unwrap();
    }
    let out = v.outgoing_envelopes().unwrap();
    assert!(
        out.iter().all(|e| e[5] != 2),
        "not due: {} envelopes",
        out.len()
    );
    // Spread over several envelopes (a device that seals often), the next seal after 20 changes
    // makes one by itself.
    for i in 40..56 {
        v.journal_add(&format!("e{i}"), 3, &[]).unwrap();
        v.outgoing_envelopes().unwrap();
    }
    let out = v.outgoing_envelopes().unwrap();
    assert_eq!(out.iter().filter(|e| e[5] == 2).count(), 1, "due once");
}

/// A snapshot carries documents, not membership statements or key wraps: a device that takes one
/// first (its vector raised over everything the snapshot covers) still accepts the membership
/// statement it covers when it arrives afterwards, and then accepts the new device's envelopes.
#[test]
fn a_membership_statement_covered_by_a_snapshot_taken_first_is_still_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut phone = open(dir.path(), "phone.db", 1);
    phone.create_person().unwrap();
    phone.set_snapshot_every(0).unwrap();
    phone.journal_add("Pertama.", 3, &[]).unwrap();
    let mut laptop = link(&mut phone, dir.path(), "laptop.db", 2);
    let before: Vec<Vec<u8>> = phone.outgoing_envelopes().unwrap();
    laptop.receive_envelopes(&before).unwrap();
    // The phone links a tablet (an `add` statement, no rotation), writes on, and snapshots.
    let mut tablet = link(&mut phone, dir.path(), "tablet.db", 3);
    phone.journal_add("Kedua.", 3, &[]).unwrap();
    phone.snapshot_now(None).unwrap().expect("a snapshot");
    let all = phone.outgoing_envelopes().unwrap();
    let snapshot: Vec<Vec<u8>> = all.iter().filter(|e| e[5] == 2).cloned().collect();
    let membership: Vec<Vec<u8>> = all
        .iter()
        .filter(|e| e[5] == 3 && !before.contains(e))
        .cloned()
        .collect();
    assert_eq!(snapshot.len(), 1);
    assert!(!membership.is_empty(), "the tablet's add statement");
    // The laptop takes the snapshot first, then the statement it covers.
    laptop.receive_envelopes(&snapshot).unwrap();
    assert!(texts(&laptop).contains(&"Kedua.".to_string()));
    let r = laptop.receive_envelopes(&membership).unwrap();
    assert_eq!(
        r.duplicates, 0,
        "a covered statement is not a duplicate: {r:?}"
    );
    assert!(r.stored >= 1, "{r:?}");
    // The tablet's own writes are now accepted and read on the laptop.
    tablet.journal_add("Dari tablet.", 4, &[]).unwrap();
    let from_tablet = tablet.outgoing_envelopes().unwrap();
    let r = laptop.receive_envelopes(&from_tablet).unwrap();
    assert_eq!(r.quarantined, 0, "{r:?}");
    assert!(
        texts(&laptop).contains(&"Dari tablet.".to_string()),
        "{:?}",
        texts(&laptop)
    );
}
