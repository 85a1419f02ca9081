//! A sequence number is never used for two different envelopes that others keep, and a write is
//! never lost because of one (issue 15, defect 6). A vault restored from an older copy (a backup, or
//! what a power loss used to leave with `synchronous=NORMAL`) no longer holds envelopes it already
//! sent: its counter is behind its own author at the relay or at a peer. It must take their highest
//! sequence number as a floor and seal what the restore left unsent under fresh numbers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sebaya_core::groups::{add_note, notes};
use sebaya_core::{HttpClient, HttpRequest, HttpResponse, SpaceId, Vault};
use sebaya_tests::day::group_pair;
use sebaya_tests::net::{Net, net, pushed};
use sebaya_tests::peers;

const FAC_KEY: [u8; 32] = [40; 32];

fn files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .collect()
}

/// Copies the (closed) vault `db` with its WAL to `to`, as a backup would.
fn back_up(db: &Path, to: &Path) {
    for (from, to) in files(db).iter().zip(files(to)) {
        if from.exists() {
            std::fs::copy(from, to).unwrap();
        } else if to.exists() {
            std::fs::remove_file(to).unwrap();
        }
    }
}

fn note(v: &mut Vault, g: &SpaceId, id: &str, text: &str) {
    let me = v.device_id().to_hex();
    v.with_space(g, |d, now| add_note(d, id, "Catatan", text, &me, now))
        .unwrap();
}

fn texts(v: &mut Vault, g: &SpaceId) -> Vec<String> {
    let mut t: Vec<String> = v
        .read_space(g, notes)
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect();
    t.sort();
    t
}

/// (space, author, seq) of an envelope.
type Place = ([u8; 16], [u8; 32], u64);

/// Logs every envelope pushed to the relay by (space, author, seq) with its id.
struct Logged<'a> {
    net: &'a Net,
    seen: Mutex<BTreeMap<Place, Vec<[u8; 32]>>>,
}

impl HttpClient for Logged<'_> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        if let Some(envs) = pushed(&request) {
            let mut seen = self.seen.lock().unwrap();
            for (e, id) in envs {
                let env = sebaya_proto::Envelope::parse(&e).unwrap();
                let h = env.header().unwrap();
                let ids = seen.entry((h.space.0, h.author.0, h.seq)).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        self.net.http.send(request)
    }
}

/// The facilitator's vault is restored from a copy taken before a sync that pushed its note; it
/// writes again and syncs. The relay refuses the reused number (`conflict`); the device must take
/// the relay's counter as a floor and send the new write under a fresh number, so the member gets
/// both notes and nothing else reuses a number.
#[test]
fn a_restored_vault_reseals_what_the_relay_refused_and_loses_no_write() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut fac, mut member, g) = group_pair(dir.path());
    let link = Logged {
        net: &n,
        seen: Mutex::new(BTreeMap::new()),
    };
    let url = n.relay.url();
    fac.sync_with(&link, &url).unwrap();
    member.sync_with(&link, &url).unwrap();

    note(&mut fac, &g, "00000000000000a1", "satu");
    drop(fac);
    let db = dir.path().join("fac.db");
    let copy = dir.path().join("fac-copy.db");
    back_up(&db, &copy);
    let mut fac = Vault::open(&db, &FAC_KEY).unwrap();
    fac.sync_with(&link, &url).unwrap();
    drop(fac);

    // Restored: the note is in the document, but the envelope that carried it is not in the vault.
    back_up(&copy, &db);
    let mut fac = Vault::open(&db, &FAC_KEY).unwrap();
    note(&mut fac, &g, "00000000000000a2", "dua");
    fac.sync_with(&link, &url).unwrap();
    // A second sync changes nothing if the first one recovered.
    fac.sync_with(&link, &url).unwrap();
    member.sync_with(&link, &url).unwrap();

    assert_eq!(texts(&mut member, &g), ["dua", "satu"], "a write was lost");
    assert_eq!(texts(&mut fac, &g), ["dua", "satu"]);
    // The one number the restore made the device seal twice was refused by the relay; every
    // number sealed after it is fresh.
    let me = fac.device_id().0;
    let twice: Vec<u64> = link
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|((_, a, _), ids)| *a == me && ids.len() > 1)
        .map(|((_, _, s), _)| *s)
        .collect();
    assert!(twice.len() <= 1, "numbers used twice: {twice:?}");
    // Nothing of the facilitator's is left unsent.
    fac.seal_pending().unwrap();
    assert_eq!(fac.sync_with(&link, &url).unwrap().pushed, 0);
    assert_eq!(fac.sync_with(&link, &url).unwrap().rejected, 0);
}

/// The same restore, with a peer: the member got the facilitator's envelope in a session, the
/// facilitator's vault is restored from a copy taken before it, and it writes again. In the next
/// session the member's vector shows the facilitator's own author ahead: the facilitator must seal
/// above it, so the member gets the new write instead of thinking it holds it already.
#[test]
fn a_restored_vault_takes_a_peers_counter_as_its_floor() {
    let dir = tempfile::tempdir().unwrap();
    let (mut fac, mut member, g) = group_pair(dir.path());
    peers::session(&mut fac, &mut member);

    note(&mut fac, &g, "00000000000000b1", "satu");
    drop(fac);
    let db = dir.path().join("fac.db");
    let copy = dir.path().join("fac-copy.db");
    back_up(&db, &copy);
    let mut fac = Vault::open(&db, &FAC_KEY).unwrap();
    peers::session(&mut fac, &mut member);
    assert_eq!(texts(&mut member, &g), ["satu"]);
    drop(fac);

    back_up(&copy, &db);
    let mut fac = Vault::open(&db, &FAC_KEY).unwrap();
    note(&mut fac, &g, "00000000000000b2", "dua");
    peers::session(&mut fac, &mut member);
    peers::session(&mut member, &mut fac);

    assert_eq!(texts(&mut member, &g), ["dua", "satu"], "a write was lost");
    assert_eq!(texts(&mut fac, &g), ["dua", "satu"]);
}

/// Answers every envelope a device pushes with `conflict`, as a hostile relay could, and counts
/// the requests (giving up after 60 so a test that loops still ends).
struct AlwaysConflict<'a> {
    net: &'a Net,
    requests: Mutex<u32>,
}

impl HttpClient for AlwaysConflict<'_> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let Some(envs) = pushed(&request) else {
            return self.net.http.send(request);
        };
        {
            let mut n = self.requests.lock().unwrap();
            *n += 1;
            if *n > 60 {
                return Err("the test gives up".into());
            }
        }
        let count = envs.len();
        let mut resp = self.net.http.send(request)?;
        if resp.status == 200 {
            let mut answer: sebaya_proto::sync::SyncResponse =
                sebaya_proto::sync::decode(&resp.body).unwrap();
            for i in 0..count {
                answer.rejected.push(sebaya_proto::sync::Rejected {
                    index: u32::try_from(i).unwrap(),
                    reason: sebaya_proto::reason::CONFLICT.to_string(),
                });
            }
            resp.body = sebaya_proto::sync::encode(&answer).unwrap();
        }
        Ok(resp)
    }
}

/// Review finding (issue 15, defect 6): a relay that answers `conflict` to everything must not
/// make a device re-seal round after round (each a signature, a full-sync commit and a burnt
/// number, up to the 10,000-round limit, at every sync): each space re-seals at most once per sync.
#[test]
fn a_relay_answering_conflict_forever_costs_one_reseal_per_space_per_sync() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let (mut fac, _member, g) = group_pair(dir.path());
    let hostile = AlwaysConflict {
        net: &n,
        requests: Mutex::new(0),
    };
    note(&mut fac, &g, "00000000000000c1", "Satu");
    let _ = fac.sync_with(&hostile, &n.relay.url());
    let requests = *hostile.requests.lock().unwrap();
    assert!(requests <= 6, "{requests} requests in one sync");
}
