//! Section `seal` of `sebaya-bench` (issue 15, item 10): costs that must not grow with history.
//!
//! Device side: time to seal one new change into an envelope after 10,000 and after 100,000 earlier
//! changes in one journal document, `Space::seal_outgoing` (which reads only the changes after the
//! heads of its last seal) against the walk of every change it replaced
//! (`Space::seal_outgoing_reading_everything`), alternating in the same process. The history is
//! `ops(1, n)` of workloads.md applied to the space's document, one commit per op, then sealed once;
//! each measured seal follows one more op. Both include writing the envelope to the vault. After
//! each seal, what a sync does next: counting the document's changes (whether a snapshot is due),
//! `Space::change_count` against reading every change to count them.
//!
//! Relay side: one relay store holds three spaces of one author, of 100, 10,000 and 100,000
//! envelopes; the time of one sync request that pulls the one envelope the device lacks, and of one
//! that pushes one new envelope, each run by `exchange::run` as the relay's handler does after
//! checking the request's signature (no HTTP), against the same request in the space of 100.

use std::time::Instant;

use sebaya_core::identity::Identity;
use sebaya_core::space::{CODEC_BUNDLE, Space, SpaceKind};
use sebaya_core::store::file::Store;
use sebaya_proto::envelope::HeaderV1;
use sebaya_proto::{Envelope, Kind, SpaceId};
use sebaya_relay::access::Access;
use sebaya_relay::exchange::{self, SyncInput};
use sebaya_relay::store::NewEnvelope;
use sebaya_relay::{RelayStore, SqliteStore};
use sebaya_tests::workload;

use super::{Row, apply_op_doc, median};

/// Measured seals (and requests) per variant.
const SAMPLES: usize = 15;

/// Runs the section with histories of the given sizes; appends its rows.
pub fn run(rows: &mut Vec<Row>, sizes: &[usize]) {
    for &n in sizes {
        seal_rows(rows, n);
    }
    relay_rows(rows, sizes);
}

fn seal_rows(rows: &mut Vec<Row>, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("v.db"), &[3; 32]).unwrap();
    let id = Identity::load_or_create(&store).unwrap();
    let mut s = Space::create(&store, SpaceKind::Journal, &id).unwrap();
    let ops = workload::ops(1, n + 2 * SAMPLES);
    let t0 = Instant::now();
    for (i, op) in ops[..n].iter().enumerate() {
        apply_op_doc(&mut s.doc, op, i);
    }
    s.persist(&store).unwrap();
    s.seal_outgoing(&store, &id, CODEC_BUNDLE).unwrap();
    println!(
        "seal: {n} changes written, stored and sealed in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let (mut cursor, mut full) = (Vec::new(), Vec::new());
    let (mut count, mut count_all) = (Vec::new(), Vec::new());
    let mut since_heads = Vec::new();
    let (mut read_cursor, mut read_full) = (0, 0);
    for (k, op) in ops[n..].iter().enumerate() {
        let heads = s.doc.get_heads();
        apply_op_doc(&mut s.doc, op, n + k);
        s.persist(&store).unwrap();
        // Automerge's own part of the cursor: the changes after the heads before this one.
        let t = Instant::now();
        assert_eq!(s.doc.get_changes(&heads).len(), 1);
        since_heads.push(t.elapsed().as_secs_f64() * 1e3);
        let before = s.seal_work();
        let t = Instant::now();
        let sealed = if k % 2 == 0 {
            s.seal_outgoing(&store, &id, CODEC_BUNDLE).unwrap()
        } else {
            s.seal_outgoing_reading_everything(&store, &id, CODEC_BUNDLE)
                .unwrap()
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(sealed, 1);
        let read = s.seal_work() - before;
        if k % 2 == 0 {
            cursor.push(ms);
            read_cursor = read;
        } else {
            full.push(ms);
            read_full = read;
        }
        // What a sync does next: count the document's changes to see whether a snapshot is due,
        // against counting them by reading every change (as change_count did before).
        let t = Instant::now();
        let counted = s.change_count();
        count.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let all = s.doc.get_changes(&[]).len() as u64;
        count_all.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(counted, all);
    }
    rows.push(Row::new(
        &format!(
            "sealing one new change after {n} earlier ones in one journal document, median of {SAMPLES}, ms (vs reading every change to find it, as before issue 15 item 10)"
        ),
        median(cursor),
        median(full),
        "ms",
    ));
    rows.push(Row::new(
        &format!(
            "sealing one new change after {n} earlier ones: changes read from the document (vs reading every change)"
        ),
        read_cursor as f64,
        read_full as f64,
        "changes",
    ));
    rows.push(Row::new(
        &format!(
            "Automerge get_changes(heads) for the one change after {n}: what the cursor leaves to Automerge, median of {}, ms (vs get_changes of everything)",
            2 * SAMPLES
        ),
        median(since_heads),
        median(count_all.clone()),
        "ms",
    ));
    rows.push(Row::new(
        &format!(
            "a sync's snapshot check after {n} changes (counting the document's changes), median of {}, ms (vs reading every change to count them)",
            2 * SAMPLES
        ),
        median(count),
        median(count_all),
        "ms",
    ));
}

/// One author's space in the relay's store: its genesis, then changes envelopes up to `count`.
struct RelaySpace {
    id: SpaceId,
    space: Space,
    held: u64,
}

fn relay_rows(rows: &mut Vec<Row>, sizes: &[usize]) {
    let dir = tempfile::tempdir().unwrap();
    let vault = Store::open(&dir.path().join("v.db"), &[4; 32]).unwrap();
    let id = Identity::load_or_create(&vault).unwrap();
    let signer = id.signing_key().unwrap();
    let relay = SqliteStore::open(&dir.path().join("relay")).unwrap();
    let access = Access::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let payload = vec![0x5a; 200];
    let seal = |s: &Space, seq: u64| -> Envelope {
        let header = HeaderV1 {
            kind: Kind::Changes,
            space: s.id,
            epoch: s.epoch,
            author: id.device,
            seq,
        };
        Envelope::seal_v1(header, s.key(), [0; 4], &payload, &signer).unwrap()
    };
    let mut make = |count: usize| -> RelaySpace {
        let t0 = Instant::now();
        let space = Space::create(&vault, SpaceKind::Journal, &id).unwrap();
        // The genesis (this device's seq 1), then changes envelopes 2..=count.
        let mut envs: Vec<Envelope> = space
            .unacked(&vault)
            .unwrap()
            .iter()
            .map(|b| Envelope::parse(b).unwrap())
            .collect();
        assert_eq!(envs.len(), 1);
        for seq in 2..=count as u64 {
            envs.push(seal(&space, seq));
        }
        for chunk in envs.chunks(5_000) {
            let batch: Vec<NewEnvelope<'_>> = chunk
                .iter()
                .map(|e| {
                    let h = e.header().unwrap();
                    NewEnvelope {
                        space: h.space,
                        author: h.author,
                        seq: h.seq,
                        kind: h.kind,
                        id: e.id(),
                        bytes: e.as_bytes(),
                    }
                })
                .collect();
            relay.insert_envelopes(&batch, now).unwrap();
        }
        println!(
            "seal: a relay space of {count} envelopes made and stored in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        RelaySpace {
            id: space.id,
            space,
            held: count as u64,
        }
    };
    let mut spaces: Vec<RelaySpace> = std::iter::once(100)
        .chain(sizes.iter().copied())
        .map(&mut make)
        .collect();
    let mut request = 0u64;
    let mut input = |space: SpaceId, have: u64, push: Option<&Envelope>| {
        request += 1;
        let mut rid = [0u8; 16];
        rid[..8].copy_from_slice(&request.to_be_bytes());
        SyncInput {
            device: id.device,
            request_id: rid,
            timestamp: now,
            now,
            spaces: vec![(space, [(id.device, have)].into_iter().collect())],
            envelopes: push
                .map(|e| serde_bytes::ByteBuf::from(e.as_bytes().to_vec()))
                .into_iter()
                .collect(),
            max_response_bytes: 8 << 20,
            join_requests: Vec::new(),
            join_answers: Vec::new(),
            taken_join_answers: Vec::new(),
            erase: Vec::new(),
            erasures: Vec::new(),
            oversized: Vec::new(),
            admission: None,
        }
    };
    // One request before measuring: each log is read into the relay's cache.
    for rs in &spaces {
        exchange::run(&relay, &access, input(rs.id, rs.held, None)).unwrap();
    }
    // The spaces take turns within each sample, so the machine's drift falls on all alike.
    let mut pulls = vec![Vec::new(); spaces.len()];
    let mut pushes = vec![Vec::new(); spaces.len()];
    for _ in 0..SAMPLES {
        for (i, rs) in spaces.iter_mut().enumerate() {
            let t = Instant::now();
            let answer = exchange::run(&relay, &access, input(rs.id, rs.held - 1, None)).unwrap();
            pulls[i].push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(answer.envelopes.len(), 1);
            let env = seal(&rs.space, rs.held + 1);
            let t = Instant::now();
            let answer = exchange::run(&relay, &access, input(rs.id, rs.held, Some(&env))).unwrap();
            pushes[i].push(t.elapsed().as_secs_f64() * 1e3);
            assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
            assert!(answer.envelopes.is_empty());
            rs.held += 1;
        }
    }
    let medians: Vec<(f64, f64)> = pulls
        .into_iter()
        .zip(pushes)
        .map(|(pull, push)| (median(pull), median(push)))
        .collect();
    let (base_pull, base_push) = medians[0];
    for (n, (pull, push)) in sizes.iter().zip(&medians[1..]) {
        rows.push(Row::new(
            &format!(
                "relay: a sync request pulling the one envelope a device lacks, in a space of {n} envelopes, median of {SAMPLES}, ms (vs the same in a space of 100)"
            ),
            *pull,
            base_pull,
            "ms",
        ));
        rows.push(Row::new(
            &format!(
                "relay: a sync request pushing one new envelope, in a space of {n} envelopes, median of {SAMPLES}, ms (vs the same in a space of 100)"
            ),
            *push,
            base_push,
            "ms",
        ));
    }
}
