//! `sebaya-bench`: Sebaya against an in-process Automerge baseline, in the same run.
//!
//! Usage: `cargo run --release -p sebaya-tests --bin sebaya-bench -- [--json FILE] [--quick]
//! [--only w1,add,removal,join,invite,paths,peer,snapshot,seal,passcode] [--seal-sizes 10000,100000]` (`--only`:
//! just the named sections; all by default. `--seal-sizes`: the history sizes of section `seal`).
//!
//! W1 of shared/design/workloads.md: device A makes the deterministic journal operation stream
//! `ops(1, 1000)` (one commit per op); device B syncs. Sebaya's bytes are the request and response
//! bodies through a real relay on loopback; the baseline's are the messages of Automerge's own sync
//! protocol (`sync::State` generate/receive) between two in-memory documents that make exactly the
//! same document operations (the same `sebaya_core::journal` functions). Prints a table; `--json`
//! also writes the rows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};
use sebaya_core::Vault;
use sebaya_core::journal;
use sebaya_core::sync::policy::Link;
use sebaya_tests::workload::{self, Op};

mod passcode_bench;
mod seal_bench;
mod snapshot_bench;

struct Row {
    metric: String,
    sebaya: f64,
    baseline: f64,
    unit: &'static str,
}

impl Row {
    fn new(metric: &str, sebaya: f64, baseline: f64, unit: &'static str) -> Row {
        Row {
            metric: metric.to_string(),
            sebaya,
            baseline,
            unit,
        }
    }
}

fn apply_op_vault(v: &mut Vault, op: &Op, i: usize) {
    match op {
        Op::New {
            id,
            text,
            mood,
            tags,
            created,
        } => v
            .journal_add_with_id(id, text, *mood as u8, tags, *created)
            .unwrap(),
        Op::Edit { id, text } => v
            .journal_edit_at(id, Some(text), None, None, op.commit_time(i) * 1000)
            .unwrap(),
    }
}

fn apply_op_doc(d: &mut AutoCommit, op: &Op, i: usize) {
    match op {
        Op::New {
            id,
            text,
            mood,
            tags,
            created,
        } => journal::add(d, id, text, *mood as u8, tags, *created).unwrap(),
        Op::Edit { id, text } => {
            journal::edit(d, id, Some(text), None, None, op.commit_time(i) * 1000).unwrap()
        }
    }
}

/// Runs Automerge's sync loop between two documents until quiet; returns (bytes a→b, bytes b→a,
/// messages, round trips).
fn am_sync(
    a: &mut AutoCommit,
    sa: &mut sync::State,
    b: &mut AutoCommit,
    sb: &mut sync::State,
) -> (u64, u64, u32, u32) {
    let (mut ab, mut ba, mut msgs, mut rounds) = (0u64, 0u64, 0u32, 0u32);
    loop {
        let mut progressed = false;
        let mut this_round = false;
        if let Some(m) = a.sync().generate_sync_message(sa) {
            let bytes = m.encode();
            ab += bytes.len() as u64;
            msgs += 1;
            this_round = true;
            b.sync()
                .receive_sync_message(sb, sync::Message::decode(&bytes).unwrap())
                .unwrap();
            progressed = true;
        }
        if let Some(m) = b.sync().generate_sync_message(sb) {
            let bytes = m.encode();
            ba += bytes.len() as u64;
            msgs += 1;
            this_round = true;
            a.sync()
                .receive_sync_message(sa, sync::Message::decode(&bytes).unwrap())
                .unwrap();
            progressed = true;
        }
        if this_round {
            rounds += 1;
        }
        if !progressed {
            break;
        }
    }
    (ab, ba, msgs, rounds)
}

struct Devices {
    _dir: tempfile::TempDir,
    a: Vault,
    b: Vault,
}

fn devices(codec: u8) -> Devices {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Vault::open(&dir.path().join("a.db"), &[1; 32]).unwrap();
    let mut b = Vault::open(&dir.path().join("b.db"), &[2; 32]).unwrap();
    a.set_codec(codec).unwrap();
    b.set_codec(codec).unwrap();
    let response = a.approve_link(&b.link_request().unwrap()).unwrap();
    b.complete_link(&response).unwrap();
    Devices { _dir: dir, a, b }
}

/// The document shape workloads.md specifies (an `entries` map; edits splice the whole text), for
/// comparison with the anchors' numbers.
fn workload_shape_save(ops: &[Op]) -> usize {
    workload_shape_doc(ops).save().len()
}

/// The workloads.md document itself, text as Automerge Text (its default shape, and how journal
/// version 1 kept text).
fn workload_shape_doc(ops: &[Op]) -> AutoCommit {
    use automerge::transaction::{CommitOptions, Transactable};
    use automerge::{ObjType, ReadDoc};
    let mut d = AutoCommit::new();
    let entries = d
        .put_object(automerge::ROOT, "entries", ObjType::Map)
        .unwrap();
    d.commit();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::New {
                id,
                text,
                mood,
                tags,
                created,
            } => {
                let e = d.put_object(&entries, id.as_str(), ObjType::Map).unwrap();
                let t = d.put_object(&e, "text", ObjType::Text).unwrap();
                d.splice_text(&t, 0, 0, text).unwrap();
                d.put(&e, "mood", *mood).unwrap();
                let l = d.put_object(&e, "tags", ObjType::List).unwrap();
                d.insert(&l, 0, tags[0].as_str()).unwrap();
                d.insert(&l, 1, tags[1].as_str()).unwrap();
                d.put(&e, "created", *created).unwrap();
            }
            Op::Edit { id, text } => {
                let (_, e) = d.get(&entries, id.as_str()).unwrap().unwrap();
                let (_, t) = d.get(&e, "text").unwrap().unwrap();
                let len = d.length(&t);
                d.splice_text(&t, 0, len as isize, text).unwrap();
            }
        }
        d.commit_with(CommitOptions::default().with_time(op.commit_time(i)));
    }
    d
}

/// A ratio with two decimals, or two significant digits below 0.1 (0.0018, not 0.00).
fn ratio(x: f64) -> String {
    if x > 0.0 && x < 0.1 {
        let decimals = (-x.log10()).ceil() as usize + 1;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.2}")
    }
}

/// The median of unsorted samples.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    percentile(&xs, 0.5)
}

/// Adds a note to a group, written by `v`.
fn group_note(v: &mut Vault, g: &sebaya_core::SpaceId, id: &str, text: &str) {
    let me = v.device_id().to_hex();
    v.with_space(g, |d, now| {
        sebaya_core::groups::add_note(d, id, "Catatan", text, &me, now)
    })
    .unwrap();
}

/// Notes of the day of group activity (sections `paths` and `peer`), and edits after them.
const DAY_NOTES: usize = 150;
const DAY_EDITS: usize = 50;

/// The day of group activity of sections `paths` and `peer`: the facilitator writes 150 notes and
/// edits 50 of them, one commit each, and so does a plain Automerge document. Returns the plain
/// document's incremental save of those changes and its whole compressed save(), in bytes.
fn group_day(fac: &mut Vault, g: &sebaya_core::SpaceId) -> (f64, f64) {
    let mut plain = AutoCommit::new();
    sebaya_core::groups::init(&mut plain, "Kelompok Sabtu", 0).unwrap();
    let heads = plain.get_heads();
    let me = fac.device_id().to_hex();
    for i in 0..DAY_NOTES + DAY_EDITS {
        let id = format!("{:016x}", i % DAY_NOTES);
        let text = format!("Catatan sesi {i}: siapa hadir, apa yang dibagikan, tindak lanjut.");
        if i < DAY_NOTES {
            group_note(fac, g, &id, &text);
            sebaya_core::groups::add_note(&mut plain, &id, "Catatan", &text, &me, 1).unwrap();
        } else {
            fac.with_space(g, |d, now| {
                sebaya_core::groups::edit_note(d, &id, None, Some(&text), now)
            })
            .unwrap();
            sebaya_core::groups::edit_note(&mut plain, &id, None, Some(&text), 1).unwrap();
        }
    }
    (
        plain.save_after(&heads).len() as f64,
        plain.save().len() as f64,
    )
}

/// A facilitator's fresh vault with a group holding one note, synced to the relay.
fn group_with_note(
    dir: &std::path::Path,
    file: &str,
    seed: u8,
    http: &sebaya_core::ReqwestClient,
    url: &str,
) -> (Vault, sebaya_core::SpaceId) {
    let mut admin = Vault::open(&dir.join(file), &[seed; 32]).unwrap();
    let g = admin.create_group("Kelompok Jumat").unwrap();
    group_note(&mut admin, &g, "00000000000000a1", "catatan pertama");
    admin.sync_with(http, url).unwrap();
    (admin, g)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The sections `--only` may name (comma-separated); all of them run without it.
const SECTIONS: [&str; 10] = [
    "w1", "add", "removal", "join", "invite", "paths", "peer", "snapshot", "seal", "passcode",
];

/// Which sections this run measures.
struct Sections(Option<Vec<String>>);

impl Sections {
    fn from_args(args: &[String]) -> Sections {
        let Some(i) = args.iter().position(|a| a == "--only") else {
            return Sections(None);
        };
        let list: Vec<String> = args
            .get(i + 1)
            .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
            .unwrap_or_default();
        if list.is_empty() || list.iter().any(|x| !SECTIONS.contains(&x.as_str())) {
            panic!(
                "--only takes a comma-separated list of {}",
                SECTIONS.join(", ")
            );
        }
        Sections(Some(list))
    }

    fn run(&self, section: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|l| l.iter().any(|x| x == section))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if snapshot_bench::child(&args) {
        return;
    }
    let json_out = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let sections = Sections::from_args(&args);
    let ops = workload::ops(1, 1000);
    let fp = workload::fingerprint(&ops);
    println!(
        "W1 operation stream ops(1, 1000): fingerprint {fp} (spec: 374e19fc1873ee44; see docs/benchmarks.md)"
    );
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = sebaya_relay::spawn(sebaya_relay::RelayConfig {
        data_dir: relay_dir.path().to_path_buf(),
        bind: "127.0.0.1:0".parse().unwrap(),
    })
    .unwrap();
    let url = relay.url();
    let http = sebaya_core::ReqwestClient::new().unwrap();
    let mut rows: Vec<Row> = Vec::new();

    if sections.run("w1") {
        for (codec, name) in [
            (sebaya_core::space::CODEC_BUNDLE, "bundle"),
            (sebaya_core::space::CODEC_DEFLATE_CHANGES, "deflate"),
        ] {
            // (a) one sync to an empty second device after all 1,000 ops.
            let mut d = devices(codec);
            for (i, op) in ops.iter().enumerate() {
                apply_op_vault(&mut d.a, op, i);
            }
            let ra = d.a.sync_with(&http, &url).unwrap();
            let rb = d.b.sync_with(&http, &url).unwrap();
            assert_eq!(d.a.journal_list(), d.b.journal_list());
            if codec == sebaya_core::space::CODEC_BUNDLE {
                // Opening a vault whose journal holds all of W1 (the basis for one journal document
                // per person), against loading the same document's save() from memory.
                let a_path = d._dir.path().join("a.db");
                let mut am_doc = AutoCommit::new();
                for (i, op) in ops.iter().enumerate() {
                    apply_op_doc(&mut am_doc, op, i);
                }
                let saved = am_doc.save();
                let (mut to, mut tl) = (Vec::new(), Vec::new());
                for _ in 0..5 {
                    let t0 = Instant::now();
                    let v = Vault::open(&a_path, &[1; 32]).unwrap();
                    to.push(t0.elapsed().as_secs_f64() * 1e3);
                    assert_eq!(v.journal_list().len(), 700);
                    let t0 = Instant::now();
                    let doc = AutoCommit::load(&saved).unwrap();
                    tl.push(t0.elapsed().as_secs_f64() * 1e3);
                    assert_eq!(journal::list(&doc).len(), 700);
                }
                to.sort_by(|a, b| a.total_cmp(b));
                tl.sort_by(|a, b| a.total_cmp(b));
                rows.push(Row::new(
                "open a vault holding W1's journal, median ms (vs AutoCommit::load of its save())",
                percentile(&to, 0.5),
                percentile(&tl, 0.5),
                "ms",
            ));
                rows.push(Row::new(
                "W1 journal document, save() bytes (vs the workload's own shape, splice-all edits)",
                saved.len() as f64,
                workload_shape_save(&ops) as f64,
                "B",
            ));
            }
            let mut da = AutoCommit::new();
            for (i, op) in ops.iter().enumerate() {
                apply_op_doc(&mut da, op, i);
            }
            let mut db = AutoCommit::new();
            let (ab, ba, _, _) = am_sync(
                &mut da,
                &mut sync::State::new(),
                &mut db,
                &mut sync::State::new(),
            );
            let am_total = (ab + ba) as f64;
            rows.push(Row::new(
                &format!("W1a [{name}] A upload, bytes (vs Automerge A<->B total)"),
                (ra.bytes_sent + ra.bytes_received) as f64,
                am_total,
                "B",
            ));
            rows.push(Row::new(
                &format!("W1a [{name}] B download, bytes (vs Automerge A<->B total)"),
                (rb.bytes_sent + rb.bytes_received) as f64,
                am_total,
                "B",
            ));

            // (b) a sync after every 10 ops.
            let mut d = devices(codec);
            let (mut up, mut down) = (0u64, 0u64);
            let mut da = AutoCommit::new();
            let mut db = AutoCommit::new();
            let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
            let mut am = 0u64;
            for (chunk_i, chunk) in ops.chunks(10).enumerate() {
                for (j, op) in chunk.iter().enumerate() {
                    let i = chunk_i * 10 + j;
                    apply_op_vault(&mut d.a, op, i);
                    apply_op_doc(&mut da, op, i);
                }
                let ra = d.a.sync_with(&http, &url).unwrap();
                let rb = d.b.sync_with(&http, &url).unwrap();
                up += ra.bytes_sent + ra.bytes_received;
                down += rb.bytes_sent + rb.bytes_received;
                let (ab, ba, _, _) = am_sync(&mut da, &mut sa, &mut db, &mut sb);
                am += ab + ba;
            }
            assert_eq!(d.a.journal_list(), d.b.journal_list());
            rows.push(Row::new(
                &format!("W1b10 [{name}] A upload, bytes, 100 syncs"),
                up as f64,
                am as f64,
                "B",
            ));
            rows.push(Row::new(
                &format!("W1b10 [{name}] B download, bytes, 100 syncs"),
                down as f64,
                am as f64,
                "B",
            ));

            // (c) 100 more ops after both are in sync at 900 (W1b: persisted sync states for
            // Automerge). The 1,001st change makes a snapshot due: on an unmetered link it is sealed
            // and travels (a whole save(), to the relay and to B); on a metered one it waits.
            for metered in [false, true] {
                let link = if metered {
                    Link::Metered
                } else {
                    Link::Unmetered
                };
                let tag = if metered {
                    format!("{name}, metered link: the snapshot waits")
                } else {
                    format!("{name}, unmetered: a snapshot falls due and travels")
                };
                let mut d = devices(codec);
                let mut da = AutoCommit::new();
                let mut db = AutoCommit::new();
                let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
                for (i, op) in ops[..900].iter().enumerate() {
                    apply_op_vault(&mut d.a, op, i);
                    apply_op_doc(&mut da, op, i);
                }
                d.a.sync_with(&http, &url).unwrap();
                d.b.sync_with(&http, &url).unwrap();
                am_sync(&mut da, &mut sa, &mut db, &mut sb);
                // Both restart: Automerge reloads documents and persisted sync states.
                let mut da = AutoCommit::load(&da.save()).unwrap();
                let mut db = AutoCommit::load(&db.save()).unwrap();
                let mut sa = sync::State::decode(&sa.encode()).unwrap();
                let mut sb = sync::State::decode(&sb.encode()).unwrap();
                for (i, op) in ops.iter().enumerate().skip(900) {
                    apply_op_vault(&mut d.a, op, i);
                    apply_op_doc(&mut da, op, i);
                }
                let (_, ra) = d.a.sync_on(&http, &url, link).unwrap();
                let (_, rb) = d.b.sync_on(&http, &url, link).unwrap();
                assert_eq!(d.a.journal_list(), d.b.journal_list());
                let (ab, ba, _, _) = am_sync(&mut da, &mut sa, &mut db, &mut sb);
                rows.push(Row::new(
                    &format!("W1c [{tag}] A upload, bytes, +100 ops"),
                    (ra.bytes_sent + ra.bytes_received) as f64,
                    (ab + ba) as f64,
                    "B",
                ));
                rows.push(Row::new(
                    &format!("W1c [{tag}] B download, bytes, +100 ops"),
                    (rb.bytes_sent + rb.bytes_received) as f64,
                    (ab + ba) as f64,
                    "B",
                ));
            }
        }
    }

    // Time to add one entry durably, against a plain rusqlite insert of the same bytes (same pragmas).
    if sections.run("add") {
        let dir = tempfile::tempdir().unwrap();
        let mut v = Vault::open(&dir.path().join("t.db"), &[3; 32]).unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("plain.db")).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body BLOB)", [])
            .unwrap();
        let (mut ts, mut tb, mut tm) = (Vec::new(), Vec::new(), Vec::new());
        let mut mem = AutoCommit::new();
        for (i, op) in ops.iter().enumerate() {
            if let Op::New {
                id,
                text,
                mood,
                tags,
                created,
            } = op
            {
                let body = format!("{text}|{mood}|{}|{}|{created}", tags[0], tags[1]);
                let t0 = Instant::now();
                conn.execute(
                    "INSERT INTO t (id, body) VALUES (?1, ?2)",
                    rusqlite::params![id, body.as_bytes()],
                )
                .unwrap();
                tb.push(t0.elapsed().as_secs_f64() * 1e6);
                let t0 = Instant::now();
                apply_op_vault(&mut v, op, i);
                ts.push(t0.elapsed().as_secs_f64() * 1e6);
                let t0 = Instant::now();
                apply_op_doc(&mut mem, op, i);
                let chunk = mem.save_incremental();
                tm.push(t0.elapsed().as_secs_f64() * 1e6);
                assert!(!chunk.is_empty());
            }
        }
        ts.sort_by(|a, b| a.total_cmp(b));
        tb.sort_by(|a, b| a.total_cmp(b));
        tm.sort_by(|a, b| a.total_cmp(b));
        for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
            rows.push(Row::new(
                &format!(
                    "durable journal add, {name}, µs (vs plain rusqlite insert of the same bytes)"
                ),
                percentile(&ts, q),
                percentile(&tb, q),
                "µs",
            ));
            rows.push(Row::new(
            &format!(
                "durable journal add, {name}, µs (vs in-memory Automerge add + save_incremental)"
            ),
            percentile(&ts, q),
            percentile(&tm, q),
            "µs",
        ));
        }
    }
    // Removal with key rotation in a 50-device journal: time on the remover's device and bytes of the
    // key-wraps envelope, against the unavoidable part (50 raw key wraps: the same X25519 + HKDF + AEAD
    // work, and 93 bytes each).
    if sections.run("removal") {
        use ring::signature::KeyPair;
        let dir = tempfile::tempdir().unwrap();
        let mut admin = Vault::open(&dir.path().join("admin.db"), &[9; 32]).unwrap();
        let mut devices = Vec::new();
        for n in 0..50u8 {
            let kp =
                ring::signature::Ed25519KeyPair::from_seed_unchecked(&[n.wrapping_add(100); 32])
                    .unwrap();
            let device = sebaya_core::DeviceId::from_slice(kp.public_key().as_ref()).unwrap();
            let secret = x25519_dalek::StaticSecret::from([n.wrapping_add(1); 32]);
            let x25519 = x25519_dalek::PublicKey::from(&secret).to_bytes();
            let request = sebaya_core::identity::link::LinkRequest {
                device,
                x25519,
                certificate: None,
            };
            admin.approve_link(&request.to_code().unwrap()).unwrap();
            devices.push((device, x25519));
        }
        let (removed, _) = devices[0];
        let t0 = Instant::now();
        let report = admin.remove_device(&removed).unwrap();
        let rotation_ms = t0.elapsed().as_secs_f64() * 1e3;
        assert_eq!(report.wrapped, 49);
        let space = sebaya_core::SpaceId([1; 16]);
        let epoch = sebaya_proto::EpochId([2; 32]);
        let key = [3u8; 32];
        let t0 = Instant::now();
        let mut raw_bytes = 0usize;
        for (_, x) in devices.iter().skip(1) {
            raw_bytes += sebaya_core::crypto::keywrap::wrap(&key, x, &space, &epoch)
                .unwrap()
                .to_bytes()
                .len();
        }
        let raw_ms = t0.elapsed().as_secs_f64() * 1e3;
        rows.push(Row::new(
            "remove a device from a 50-device space + rotate, ms on the remover (vs 49 raw key wraps)",
            rotation_ms,
            raw_ms,
            "ms",
        ));
        rows.push(Row::new(
            "key-wraps envelope for 49 remaining devices, bytes (vs 49 raw wraps)",
            report.bytes as f64,
            raw_bytes as f64,
            "B",
        ));
    }

    // Joining: from scanning a new device's link request to its first synced note, over loopback, against
    // a plain sync that brings one new note to an already-linked device.
    if sections.run("join") {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Vault::open(&dir.path().join("ja.db"), &[5; 32]).unwrap();
        let mut b = Vault::open(&dir.path().join("jb.db"), &[6; 32]).unwrap();
        a.journal_add("catatan pertama", 3, &[]).unwrap();
        a.sync_with(&http, &url).unwrap();
        let t0 = Instant::now();
        let response = a.approve_link(&b.link_request().unwrap()).unwrap();
        b.complete_link(&response).unwrap();
        a.sync_with(&http, &url).unwrap();
        b.sync_with(&http, &url).unwrap();
        let join_ms = t0.elapsed().as_secs_f64() * 1e3;
        assert_eq!(b.journal_list().len(), 1);
        a.journal_add("catatan kedua", 3, &[]).unwrap();
        let t0 = Instant::now();
        a.sync_with(&http, &url).unwrap();
        b.sync_with(&http, &url).unwrap();
        let plain_ms = t0.elapsed().as_secs_f64() * 1e3;
        assert_eq!(b.journal_list().len(), 2);
        rows.push(Row::new(
            "join: link request to first synced note on the new device, ms (vs syncing one note between linked devices)",
            join_ms,
            plain_ms,
            "ms",
        ));
    }
    // Joining by remote invite (issue 3: "invite to first synced note"), end to end through the
    // relay on loopback: create_invite; the admin's sync publishes it (1); accept_invite and the
    // joiner's sync sends the request (2); the admin's sync fetches it (3); approve_join_request
    // and the admin's sync leaves the answer and the Admit (4); the joiner's sync takes the answer
    // and pulls the group (5); the joiner reads the group's note. Baselines in the same process, on
    // a group of the same shape (one note, synced before the clock starts): a plain sync bringing
    // one new note to a member (as in the join row above), and an in-person group join (link
    // request scanned to the first synced note, 2 syncs). Fresh devices and groups each repetition;
    // medians.
    if sections.run("invite") {
        const REPS: usize = 7;
        let (mut t_invite, mut t_plain, mut t_person) = (Vec::new(), Vec::new(), Vec::new());
        let (mut req_sent, mut idle_sent) = (Vec::new(), Vec::new());
        let (mut answer_received, mut person_received) = (Vec::new(), Vec::new());
        let (mut code_chars, mut link_chars) = (0usize, 0usize);
        for _ in 0..REPS {
            let dir = tempfile::tempdir().unwrap();
            let (mut admin, g) = group_with_note(dir.path(), "ia.db", 7, &http, &url);
            let mut joiner = Vault::open(&dir.path().join("ij.db"), &[8; 32]).unwrap();
            // The joiner's request bytes are compared with an idle sync of the same device.
            idle_sent.push(joiner.sync_with(&http, &url).unwrap().bytes_sent as f64);

            let t0 = Instant::now();
            let invite = admin.create_invite_with(&g, 3600, true).unwrap();
            admin.sync_with(&http, &url).unwrap();
            joiner.accept_invite(&invite.code, "Rina").unwrap();
            let sent = joiner.sync_with(&http, &url).unwrap();
            let fetched = admin.sync_with(&http, &url).unwrap();
            assert_eq!(fetched.join_requests, 1);
            let requests = admin.join_requests().unwrap();
            admin.approve_join_request(&requests[0].id).unwrap();
            admin.sync_with(&http, &url).unwrap();
            let answered = joiner.sync_with(&http, &url).unwrap();
            assert_eq!(answered.joined, 1);
            let notes = joiner.read_space(&g, sebaya_core::groups::notes).unwrap();
            t_invite.push(t0.elapsed().as_secs_f64() * 1e3);
            assert_eq!(notes.len(), 1);
            assert_eq!(notes[0].text, "catatan pertama");
            code_chars = invite.code.chars().count();
            req_sent.push(sent.bytes_sent as f64);
            answer_received.push(answered.bytes_received as f64);

            group_note(&mut admin, &g, "00000000000000a2", "catatan kedua");
            let t0 = Instant::now();
            admin.sync_with(&http, &url).unwrap();
            joiner.sync_with(&http, &url).unwrap();
            let notes = joiner.read_space(&g, sebaya_core::groups::notes).unwrap();
            t_plain.push(t0.elapsed().as_secs_f64() * 1e3);
            assert_eq!(notes.len(), 2);

            let (mut admin, g) = group_with_note(dir.path(), "pa.db", 10, &http, &url);
            let mut met = Vault::open(&dir.path().join("pm.db"), &[11; 32]).unwrap();
            let t0 = Instant::now();
            let request = met.link_request().unwrap();
            let response = admin
                .approve_group_member_with(&g, &request, sebaya_core::Role::Member, true)
                .unwrap();
            met.join_group(&response).unwrap();
            admin.sync_with(&http, &url).unwrap();
            let first = met.sync_with(&http, &url).unwrap();
            let notes = met.read_space(&g, sebaya_core::groups::notes).unwrap();
            t_person.push(t0.elapsed().as_secs_f64() * 1e3);
            assert_eq!(notes.len(), 1);
            link_chars = request.chars().count();
            person_received.push(first.bytes_received as f64);
        }
        let invite_ms = median(t_invite);
        rows.push(Row::new(
            &format!(
                "join by remote invite: create_invite to the first group note read on the joiner, 5 syncs, loopback, median of {REPS}, ms (vs syncing one group note to a member)"
            ),
            invite_ms,
            median(t_plain),
            "ms",
        ));
        rows.push(Row::new(
            &format!(
                "join by remote invite, median of {REPS}, ms (vs an in-person group join: link request scanned to the first group note, 2 syncs)"
            ),
            invite_ms,
            median(t_person),
            "ms",
        ));
        rows.push(Row::new(
            "invite code, characters (vs an in-person link request code)",
            code_chars as f64,
            link_chars as f64,
            "chars",
        ));
        rows.push(Row::new(
            "join request: the joiner's sync that sends it, request bytes (vs the same device's idle sync)",
            median(req_sent),
            median(idle_sent),
            "B",
        ));
        rows.push(Row::new(
            "join answer: the joiner's sync that takes it and pulls the group, response bytes (vs an in-person joiner's first sync)",
            median(answer_received),
            median(person_received),
            "B",
        ));
    }
    if sections.run("paths") {
        // A day of group activity, about 200 changes (issue 5): 150 notes and 50 edits by the
        // facilitator, delivered to a member by each path. Baseline: Automerge's own incremental
        // save of the same 200 changes on a plain document (what any Automerge sync must move at
        // least, before encryption and signatures).
        let dir = tempfile::tempdir().unwrap();
        let (mut fac, mut member, g) = sebaya_tests::day::group_pair_seeded(dir.path(), 20);
        fac.sync_with(&http, &url).unwrap();
        member.sync_with(&http, &url).unwrap();
        // The member's bundle tells the facilitator what it holds.
        let hello = member.export_bundle(&[g], None).unwrap();
        fac.import_bundle(&hello).unwrap();

        let (baseline, compact) = group_day(&mut fac, &g);
        let bundle = fac.export_bundle(&[g], Some(&member.device_id())).unwrap();
        let pushed = fac.sync_with(&http, &url).unwrap();
        let pulled = member.sync_with(&http, &url).unwrap();
        assert_eq!(
            member
                .read_space(&g, sebaya_core::groups::notes)
                .unwrap()
                .len(),
            DAY_NOTES
        );
        rows.push(Row::new(
            "a day of group activity (200 changes), relay: request bytes the facilitator's sync sent (vs Automerge's incremental save of the same changes)",
            pushed.bytes_sent as f64,
            baseline,
            "B",
        ));
        rows.push(Row::new(
            "a day of group activity (200 changes), relay: response bytes the member's sync received (vs the same baseline)",
            pulled.bytes_received as f64,
            baseline,
            "B",
        ));
        rows.push(Row::new(
            "a day of group activity (200 changes), bundle file of only what the member lacked (vs the same baseline)",
            bundle.len() as f64,
            baseline,
            "B",
        ));
        rows.push(Row::new(
            "a day of group activity (200 changes), bundle file of only what the member lacked (vs Automerge's compressed save() of the whole plain document)",
            bundle.len() as f64,
            compact,
            "B",
        ));
    }
    if sections.run("peer") {
        // The same day of group activity (200 changes), delivered face to face by a peer session
        // (issue 5, protocol 25), against the bundle of only what the member lacked and against
        // Automerge's incremental save of the same changes.
        let dir = tempfile::tempdir().unwrap();
        let (mut fac, mut member, g) = sebaya_tests::day::group_pair_seeded(dir.path(), 22);
        sebaya_tests::peers::report(&mut fac, &mut member);
        let hello = member.export_bundle(&[g], None).unwrap();
        fac.import_bundle(&hello).unwrap();
        let (baseline, _) = group_day(&mut fac, &g);
        let bundle = fac.export_bundle(&[g], Some(&member.device_id())).unwrap();
        let t = Instant::now();
        let r = sebaya_tests::peers::report(&mut fac, &mut member);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(
            member
                .read_space(&g, sebaya_core::groups::notes)
                .unwrap()
                .len(),
            DAY_NOTES
        );
        // The session's own cost with nothing to move: handshake, certificates, vectors, ends.
        let idle = sebaya_tests::peers::report(&mut fac, &mut member);
        rows.push(Row::new(
            "a day of group activity (200 changes), peer session: bytes both ways, handshake included (vs the bundle file of only what the member lacked)",
            (r.bytes_sent + r.bytes_received) as f64,
            bundle.len() as f64,
            "B",
        ));
        rows.push(Row::new(
            "a day of group activity (200 changes), peer session: bytes both ways (vs Automerge's incremental save of the same changes)",
            (r.bytes_sent + r.bytes_received) as f64,
            baseline,
            "B",
        ));
        rows.push(Row::new(
            "peer session with nothing to move: bytes both ways (vs the bundle file above)",
            (idle.bytes_sent + idle.bytes_received) as f64,
            bundle.len() as f64,
            "B",
        ));
        println!(
            "peer: {} envelope(s) sent in {} chunk(s), {ms:.1} ms in memory for both sides",
            r.sent, r.chunks_sent
        );
    }
    if sections.run("snapshot") {
        snapshot_bench::run(&mut rows);
    }
    if sections.run("seal") {
        let sizes: Vec<usize> = args
            .iter()
            .position(|a| a == "--seal-sizes")
            .and_then(|i| args.get(i + 1))
            .map(|l| l.split(',').map(|x| x.trim().parse().unwrap()).collect())
            .unwrap_or_else(|| vec![10_000, 100_000]);
        seal_bench::run(&mut rows, &sizes);
    }
    if sections.run("passcode") {
        passcode_bench::run(&mut rows);
    }
    relay.shutdown();

    println!();
    println!("| metric | Sebaya | baseline | ratio |");
    println!("|---|---|---|---|");
    for r in &rows {
        let fmt = |x: f64| match r.unit {
            "B" | "chars" => format!("{x:.0}"),
            "ms" if x < 1.0 => format!("{x:.3}"),
            "ms" => format!("{x:.2}"),
            _ => format!("{x:.1}"),
        };
        println!(
            "| {} | {} | {} | {}x |",
            r.metric,
            fmt(r.sebaya),
            fmt(r.baseline),
            ratio(r.sebaya / r.baseline)
        );
    }
    if let Some(path) = json_out {
        let arr: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({"metric": r.metric, "sebaya": r.sebaya, "baseline": r.baseline,
                    "ratio": r.sebaya / r.baseline, "unit": r.unit})
            })
            .collect();
        std::fs::write(&path, serde_json::to_string_pretty(&arr).unwrap()).unwrap();
        println!("wrote {path}");
    }
}
