//! Several relay processes on one PostgreSQL database (issue 16, item 1): they are equivalent. Each
//! test starts two `sebaya-relay` processes on a fresh schema of the `SEBAYA_TEST_POSTGRES`
//! database; without that variable they say PostgreSQL was skipped and check nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use sebaya_proto::membership::Role;
use sebaya_proto::sync::{SpaceVector, SyncResponse};
use sebaya_proto::{Envelope, SpaceId};

use support::*;

/// Two relay processes on one fresh schema (`None`: PostgreSQL skipped).
fn two_nodes() -> Option<(RelayProcess, RelayProcess)> {
    let url = fresh_postgres_url()?;
    let args = ["--port", "0", "--database", url.as_str()];
    // The first makes the schema; both would do, one after the other (schema.rs).
    let a = start_binary(&args, &[], 1);
    let b = start_binary(&args, &[], 1);
    Some((a, b))
}

/// Everything `dev` may read of `space` through `c`, paging on, as (author, seq) → envelope.
fn pull_all(c: &Client, dev: &Device, space: SpaceId) -> BTreeMap<(Vec<u8>, u64), Vec<u8>> {
    let mut vector = BTreeMap::new();
    let mut got = BTreeMap::new();
    for _ in 0..1000 {
        let r = c.sync(
            dev,
            &request(vec![SpaceVector::new(space, &vector)], vec![]),
        );
        assert!(r.refused_spaces.is_empty(), "{:?}", r.refused_spaces);
        for e in &r.envelopes {
            let h = Envelope::parse(e).unwrap().header().unwrap();
            let top = vector.entry(h.author).or_insert(0);
            if h.seq == *top + 1 {
                *top = h.seq;
            }
            let old = got.insert((h.author.0.to_vec(), h.seq), e.to_vec());
            assert!(old.is_none(), "a slot was sent twice");
        }
        if !r.more {
            return got;
        }
    }
    panic!("paging did not end");
}

fn push(c: &Client, dev: &Device, space: SpaceId, envs: Vec<Vec<u8>>) -> SyncResponse {
    c.sync(dev, &request(vec![empty_vector(space)], envs))
}

#[test]
fn a_removal_accepted_by_one_node_is_enforced_by_the_other_at_the_next_request() {
    let Some((a, b)) = two_nodes() else {
        return;
    };
    let (ca, cb) = (Client::new(&a.url), Client::new(&b.url));
    let space = SpaceId([0x51; 16]);
    let bob = device(2);
    let mut f = Founded::new(&ca, space);
    f.add(&ca, &bob, Role::Member, None);
    // Node B reads the log (and keeps it) while Bob is a member.
    let r = push(&cb, &bob, space, vec![seal(&bob, space, 1, b"one")]);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(r.refused_spaces.is_empty());
    // Node A takes Bob's removal; Bob's very next request, at node B, is refused.
    f.remove(&ca, &bob, 1);
    let r = push(&cb, &bob, space, vec![seal(&bob, space, 2, b"two")]);
    assert_eq!(r.rejected.len(), 1, "node B took a removed device's write");
    assert_eq!(r.refused_spaces.len(), 1, "node B served a removed device");
    assert!(r.envelopes.is_empty());
}

#[test]
fn an_addition_accepted_by_one_node_lets_the_device_in_at_the_other() {
    let Some((a, b)) = two_nodes() else {
        return;
    };
    let (ca, cb) = (Client::new(&a.url), Client::new(&b.url));
    let space = SpaceId([0x52; 16]);
    let (bob, carol) = (device(2), device(3));
    let mut f = Founded::new(&ca, space);
    f.add(&ca, &bob, Role::Member, None);
    let r = push(&cb, &bob, space, vec![seal(&bob, space, 1, b"one")]);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    // Carol, a stranger to node B's copy of the log, is added at node A: node B lets her in.
    f.add(&ca, &carol, Role::Member, None);
    let r = push(&cb, &carol, space, vec![seal(&carol, space, 1, b"hi")]);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(r.refused_spaces.is_empty(), "{:?}", r.refused_spaces);
}

#[test]
fn concurrent_pushes_to_one_space_through_two_nodes_lose_nothing_and_store_no_duplicate() {
    let Some((a, b)) = two_nodes() else {
        return;
    };
    let urls = [a.url.clone(), b.url.clone()];
    let space = SpaceId([0x53; 16]);
    let writers: Vec<u8> = (10..14).collect();
    let mut f = Founded::new(&Client::new(&urls[0]), space);
    for w in &writers {
        f.add(&Client::new(&urls[0]), &device(*w), Role::Member, None);
    }
    let cheat = device(20);
    f.add(&Client::new(&urls[0]), &cheat, Role::Member, None);
    // Each writer pushes 24 envelopes, three at a time, through the two nodes in turn; at the same
    // moment a cloned device pushes two different envelopes for one slot, one through each node.
    let start = Arc::new(Barrier::new(writers.len() + 2));
    let mut threads = Vec::new();
    for w in writers.clone() {
        let (urls, start) = (urls.clone(), start.clone());
        threads.push(std::thread::spawn(move || {
            let dev = device(w);
            let clients = [Client::new(&urls[0]), Client::new(&urls[1])];
            start.wait();
            let mut acked = Vec::new();
            for batch in 0..8u64 {
                let envs: Vec<Vec<u8>> = (1..=3)
                    .map(|i| seal(&dev, space, batch * 3 + i, &[w, batch as u8, i as u8]))
                    .collect();
                let r = push(&clients[(batch % 2) as usize], &dev, space, envs.clone());
                assert!(r.rejected.is_empty(), "{:?}", r.rejected);
                acked.extend(envs);
            }
            acked
        }));
    }
    let twins: Vec<std::thread::JoinHandle<SyncResponse>> = (0..2)
        .map(|n| {
            let (url, start) = (urls[n].clone(), start.clone());
            std::thread::spawn(move || {
                let dev = device(20);
                let c = Client::new(&url);
                start.wait();
                push(
                    &c,
                    &dev,
                    space,
                    vec![seal(&dev, space, 1, &[b'x', n as u8])],
                )
            })
        })
        .collect();
    let acked: Vec<Vec<u8>> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let twins: Vec<SyncResponse> = twins.into_iter().map(|t| t.join().unwrap()).collect();
    let taken = twins.iter().filter(|r| r.rejected.is_empty()).count();
    assert_eq!(
        taken, 1,
        "exactly one of two envelopes for one slot is taken"
    );
    for r in twins.iter().filter(|r| !r.rejected.is_empty()) {
        assert_eq!(r.rejected[0].reason, "conflict");
    }
    // Read back through either node: everything acknowledged, each slot once.
    for url in &urls {
        let held = pull_all(&Client::new(url), &device(10), space);
        for e in &acked {
            let h = Envelope::parse(e).unwrap().header().unwrap();
            assert_eq!(held.get(&(h.author.0.to_vec(), h.seq)), Some(e), "lost");
        }
        let cheats: BTreeSet<u64> = held
            .keys()
            .filter(|(author, _)| author.as_slice() == cheat.id.0.as_slice())
            .map(|(_, seq)| *seq)
            .collect();
        assert_eq!(cheats, BTreeSet::from([1]));
    }
}

#[test]
fn a_node_killed_mid_push_loses_nothing_it_acknowledged() {
    let Some((mut a, b)) = two_nodes() else {
        return;
    };
    let space = SpaceId([0x54; 16]);
    let dev = device(10);
    let mut f = Founded::new(&Client::new(&a.url), space);
    f.add(&Client::new(&a.url), &dev, Role::Member, None);
    let all: Vec<Vec<u8>> = (1..=2000u64)
        .map(|seq| seal(&dev, space, seq, &seq.to_be_bytes()))
        .collect();
    // Push through node A, four at a time, noting what it acknowledged, until it is killed.
    let url = a.url.clone();
    let progress = Arc::new(AtomicUsize::new(0));
    let pushing = {
        let (all, progress) = (all.clone(), progress.clone());
        std::thread::spawn(move || {
            let c = Client::new(&url);
            let dev = device(10);
            let mut acked = 0usize;
            for chunk in all.chunks(4) {
                let resp = c.try_sync(&dev, &request(vec![empty_vector(space)], chunk.to_vec()));
                match resp {
                    Some(r) if r.rejected.is_empty() => acked += chunk.len(),
                    _ => break,
                }
                progress.store(acked, Ordering::SeqCst);
            }
            acked
        })
    };
    // Kill it once it has acknowledged a few pushes, while the device keeps pushing.
    let started = std::time::Instant::now();
    while progress.load(Ordering::SeqCst) < 40 {
        assert!(
            started.elapsed().as_secs() < 60,
            "node A acknowledged nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    a.child.kill().unwrap(); // SIGKILL
    let _ = a.child.wait();
    let acked = pushing.join().unwrap();
    assert!(
        acked > 0,
        "node A acknowledged nothing before it was killed"
    );
    assert!(acked < all.len(), "node A was killed after the whole push");
    // Node B holds everything A acknowledged.
    let cb = Client::new(&b.url);
    let held = pull_all(&cb, &dev, space);
    for e in &all[..acked] {
        let h = Envelope::parse(e).unwrap().header().unwrap();
        assert_eq!(held.get(&(h.author.0.to_vec(), h.seq)), Some(e), "lost");
    }
    // The device pushes everything again through node B: nothing conflicts, and each slot is held
    // once.
    for chunk in all.chunks(200) {
        let r = push(&cb, &dev, space, chunk.to_vec());
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    }
    let held = pull_all(&cb, &dev, space);
    let mine = held
        .keys()
        .filter(|(author, _)| author.as_slice() == dev.id.0.as_slice())
        .count();
    assert_eq!(mine, all.len());
}
