//! Section `snapshot` of `sebaya-bench`: initial sync of a journal with 10,000 changes through the
//! relay, by snapshot plus tail (protocol section 26), against Automerge's own `save()` of the same
//! document; and the syncing device's peak memory, measured in a child process (VmHWM from
//! `/proc/self/status`), against a child that only runs `AutoCommit::load` of that `save()`.
//!
//! The space: device A applies `ops(1, 10_000)` (workloads.md section 1; one commit per op) and syncs
//! every 100 ops, so the relay holds ~100 change envelopes plus the snapshots A seals every
//! `DEFAULT_SNAPSHOT_EVERY` changes. Device B, linked beforehand and empty, then syncs in the child.

use std::process::Command;
use std::time::Instant;

use automerge::{AutoCommit, ReadDoc};
use sebaya_core::Vault;
use sebaya_tests::workload;

use super::{Row, apply_op_doc, apply_op_vault, workload_shape_doc};

const OPS: usize = 10_000;
const SYNC_EVERY: usize = 100;

/// Reads this process's peak resident set (VmHWM), in bytes.
fn vm_hwm() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Child modes, dispatched before anything else runs in the bench binary. Returns true when this
/// process was a child (it has printed its one result line).
pub fn child(args: &[String]) -> bool {
    match args.get(1).map(String::as_str) {
        Some("--snapshot-child-sync") => {
            let (path, url) = (&args[2], &args[3]);
            let http = sebaya_core::ReqwestClient::new().unwrap();
            let t0 = Instant::now();
            let mut v = Vault::open(std::path::Path::new(path), &[2; 32]).unwrap();
            let r = v.sync_with(&http, url).unwrap();
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            println!(
                "{}",
                serde_json::json!({"entries": v.journal_list().len(), "sent": r.bytes_sent,
                    "received": r.bytes_received, "pulled": r.pulled, "ms": ms, "hwm": vm_hwm()})
            );
            true
        }
        Some("--snapshot-child-load") => {
            let bytes = std::fs::read(&args[2]).unwrap();
            let t0 = Instant::now();
            let doc = AutoCommit::load(&bytes).unwrap();
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            // Journal-shaped or workloads.md-shaped (entries under an `entries` map).
            let entries = match doc.get(automerge::ROOT, "entries").unwrap() {
                Some((_, obj)) => doc.length(&obj),
                None => sebaya_core::journal::list(&doc).len(),
            };
            println!(
                "{}",
                serde_json::json!({"entries": entries, "ms": ms, "hwm": vm_hwm()})
            );
            true
        }
        _ => false,
    }
}

fn run_child(args: &[&str]) -> serde_json::Value {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

/// Runs the section; appends its rows.
pub fn run(rows: &mut Vec<Row>) {
    let ops = workload::ops(1, OPS);
    let dir = tempfile::tempdir().unwrap();
    let relay = sebaya_relay::spawn(sebaya_relay::RelayConfig {
        data_dir: dir.path().join("relay"),
        bind: "127.0.0.1:0".parse().unwrap(),
    })
    .unwrap();
    let url = relay.url();
    let http = sebaya_core::ReqwestClient::new().unwrap();
    let mut a = Vault::open(&dir.path().join("a.db"), &[1; 32]).unwrap();
    let b_path = dir.path().join("b.db");
    {
        let mut b = Vault::open(&b_path, &[2; 32]).unwrap();
        let resp = a.approve_link(&b.link_request().unwrap()).unwrap();
        b.complete_link(&resp).unwrap();
    }
    let every = a.snapshot_every().unwrap();
    let t0 = Instant::now();
    for (i, op) in ops.iter().enumerate() {
        apply_op_vault(&mut a, op, i);
        if (i + 1) % SYNC_EVERY == 0 {
            a.sync_with(&http, &url).unwrap();
        }
    }
    a.sync_with(&http, &url).unwrap();
    let build_s = t0.elapsed().as_secs_f64();

    // The baseline document: the same operations on a plain Automerge document.
    let mut doc = AutoCommit::new();
    for (i, op) in ops.iter().enumerate() {
        apply_op_doc(&mut doc, op, i);
    }
    let saved = doc.save();
    let save_path = dir.path().join("w.automerge");
    std::fs::write(&save_path, &saved).unwrap();

    // The same operations with text as Automerge Text (workloads.md's default shape; journal
    // version 1): what loading costs when every character is an operation.
    let text_path = dir.path().join("w-text.automerge");
    std::fs::write(&text_path, workload_shape_doc(&ops).save()).unwrap();

    let synced = run_child(&["--snapshot-child-sync", b_path.to_str().unwrap(), &url]);
    let loaded = run_child(&["--snapshot-child-load", save_path.to_str().unwrap()]);
    let loaded_text = run_child(&["--snapshot-child-load", text_path.to_str().unwrap()]);
    let entries = synced["entries"].as_u64().unwrap();
    assert_eq!(entries, a.journal_list().len() as u64);
    assert_eq!(loaded["entries"].as_u64().unwrap(), entries);
    assert_eq!(loaded_text["entries"].as_u64().unwrap(), entries);
    let wire = synced["sent"].as_f64().unwrap() + synced["received"].as_f64().unwrap();
    println!(
        "snapshot: built {OPS} ops in {build_s:.1} s (snapshot every {every} changes); new device pulled {} envelopes",
        synced["pulled"]
    );
    rows.push(Row::new(
        "initial sync of a 10,000-change journal via snapshot + tail: bytes on the wire, both ways (vs Automerge save() of the same document)",
        wire,
        saved.len() as f64,
        "B",
    ));
    rows.push(Row::new(
        "initial sync of a 10,000-change journal via snapshot + tail: new device's sync time incl. opening the vault, ms (vs AutoCommit::load of the save() in a process of its own)",
        synced["ms"].as_f64().unwrap(),
        loaded["ms"].as_f64().unwrap(),
        "ms",
    ));
    rows.push(Row::new(
        "initial sync of a 10,000-change journal: peak RSS (VmHWM) of the syncing device's process, MB (vs a process that only loads the save())",
        synced["hwm"].as_f64().unwrap() / 1048576.0,
        loaded["hwm"].as_f64().unwrap() / 1048576.0,
        "MB",
    ));
    rows.push(Row::new(
        "initial sync of a 10,000-change journal: peak RSS of the syncing device, MB (vs a process that only loads the same journal with text as Automerge Text, journal version 1)",
        synced["hwm"].as_f64().unwrap() / 1048576.0,
        loaded_text["hwm"].as_f64().unwrap() / 1048576.0,
        "MB",
    ));

    // Reading an entry whose text two devices edited concurrently: the reader finds each version's
    // base through the change that wrote it (protocol 27.2), against reading a settled entry.
    let ids: Vec<String> = sebaya_core::journal::list(&doc)
        .into_iter()
        .map(|e| e.id)
        .collect();
    let (merged_id, plain_id) = (&ids[ids.len() / 2], &ids[ids.len() / 3]);
    let base = sebaya_core::journal::get(&doc, merged_id).unwrap().text;
    let mut other = doc.fork();
    sebaya_core::journal::edit(
        &mut doc,
        merged_id,
        Some(&format!("Pagi. {base}")),
        None,
        None,
        1,
    )
    .unwrap();
    sebaya_core::journal::edit(
        &mut other,
        merged_id,
        Some(&format!("{base} Malam.")),
        None,
        None,
        2,
    )
    .unwrap();
    doc.merge(&mut other).unwrap();
    let merged = sebaya_core::journal::get(&doc, merged_id).unwrap();
    assert_eq!(merged.text, format!("Pagi. {base} Malam."));
    let time_get = |id: &str| {
        let mut xs = Vec::new();
        for _ in 0..21 {
            let t0 = Instant::now();
            std::hint::black_box(sebaya_core::journal::get(&doc, id));
            xs.push(t0.elapsed().as_secs_f64() * 1e6);
        }
        super::median(xs)
    };
    rows.push(Row::new(
        "reading one entry edited concurrently on two devices (merged on reading) in a 10,000-change journal, median of 21, µs (vs reading an entry with one value)",
        time_get(merged_id),
        time_get(plain_id),
        "µs",
    ));

    // Choosing N: for each candidate, the snapshot bytes one device uploads over the 10,000 changes
    // (a save() every N changes) against the changes' own bytes (incremental saves), and what a new
    // device gets on average (the newest snapshot plus half a period of tail) against save().
    let mut checkpoints: Vec<(usize, usize, usize)> = Vec::new(); // (ops done, save len, incr len)
    let mut d = AutoCommit::new();
    let mut heads = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        apply_op_doc(&mut d, op, i);
        if (i + 1) % 250 == 0 {
            let incr = d.save_after(&heads).len();
            heads = d.get_heads();
            checkpoints.push((i + 1, d.save().len(), incr));
        }
    }
    let changes_bytes: usize = checkpoints.iter().map(|c| c.2).sum();
    for n in [250usize, 500, 1000, 2000, 5000] {
        let uploaded: usize = checkpoints
            .iter()
            .filter(|c| c.0 % n == 0)
            .map(|c| c.1)
            .sum();
        // Half a period of tail on average, from the per-250 incremental sizes near the end.
        let tail: usize = checkpoints
            .iter()
            .rev()
            .take(n / 250)
            .map(|c| c.2)
            .sum::<usize>()
            / 2;
        rows.push(Row::new(
            &format!(
                "snapshot every {n} changes: snapshot bytes uploaded over 10,000 changes (vs the changes' own bytes)"
            ),
            uploaded as f64,
            changes_bytes as f64,
            "B",
        ));
        rows.push(Row::new(
            &format!(
                "snapshot every {n} changes: a new device's expected download, final save() as the newest snapshot + half a period of tail (vs save())"
            ),
            (saved.len() + tail) as f64,
            saved.len() as f64,
            "B",
        ));
    }
    relay.shutdown();
}
