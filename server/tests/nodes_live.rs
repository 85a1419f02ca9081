//! Live sync across relay nodes on one PostgreSQL database (issue 16, item 2; protocol section 28):
//! a push stored through one node wakes the waits another node holds, the pusher's own waits
//! excepted; a node whose listening connection was cut reconnects and goes on waking; a flood of
//! pushes to many spaces reaches every wait. Each test starts two `sebaya-relay` processes on a
//! fresh schema of the `SEBAYA_TEST_POSTGRES` database; without that variable they say PostgreSQL
//! was skipped and check nothing.
//!
//! The time bounds are far above what a wake-up takes (milliseconds on loopback) and far below the
//! wait's own timeout, which is what a missed wake-up would cost: they tell the two apart, they do
//! not benchmark (`examples/nodes_latency.rs` measures).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use sebaya_proto::SpaceId;
use sebaya_proto::membership::Role;
use sebaya_proto::sync::SpaceVector;

use support::*;

/// How long a woken wait may take to answer here: generous for a debug build on a loaded machine,
/// and well under the wait's timeout.
const WOKEN_WITHIN: Duration = Duration::from_secs(5);
/// The timeout each wait asks for (under the test client's own 20 s).
const WAIT_MS: u64 = 18_000;

/// Two relay processes on one fresh schema, node B with its metrics served and `extra_b` flags,
/// with node B's metrics URL (`None`: PostgreSQL skipped).
fn two_nodes(extra_b: &[&str]) -> Option<(RelayProcess, RelayProcess, String)> {
    let url = fresh_postgres_url()?;
    let a = start_binary(&["--port", "0", "--database", url.as_str()], &[], 1);
    let mut args = vec![
        "--port",
        "0",
        "--database",
        url.as_str(),
        "--metrics-bind",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra_b);
    let b = start_binary(&args, &[], 2);
    let metrics = b.more[0]
        .strip_prefix("sebaya-relay metrics on ")
        .unwrap()
        .to_string();
    Some((a, b, metrics))
}

/// The value of the metric `name` (a gauge or counter without labels) at the node whose metrics
/// are at `metrics`, `None` when the node does not serve it.
fn metric(metrics: &str, name: &str) -> Option<u64> {
    let text = http().get(metrics).send().unwrap().text().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Waits open at the node whose metrics are at `metrics`.
fn waits_open(metrics: &str) -> u64 {
    metric(metrics, "sebaya_relay_live_waits").unwrap()
}

/// Polls until the node holds `n` waits and all of them finished looking at the store and sleep
/// (for at most a minute), so that a push after this is one they must be woken for.
fn until_waits(metrics: &str, n: u64) {
    let start = Instant::now();
    loop {
        let asleep = metric(metrics, "sebaya_relay_live_waits_asleep")
            .expect("the node tells how many waits sleep");
        if waits_open(metrics) == n && asleep == n {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the waits were not registered, or did not finish their first look"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A space with `members` besides its admin (seed 100), founded through `c`.
fn space_with(c: &Client, space: SpaceId, members: &[&Device]) {
    let mut f = Founded::new(c, space);
    for m in members {
        f.add(c, m, Role::Member, None);
    }
}

/// Founds every space of `spaces` with `members`, as many spaces a request as the relay takes
/// statements (the genesis and the additions of each).
fn found_many(c: &Client, spaces: &[SpaceId], members: &[&Device]) {
    let admin = device(100);
    let per_request =
        sebaya_proto::membership::MAX_NEW_STATEMENTS_PER_REQUEST / (1 + members.len());
    for chunk in spaces.chunks(per_request) {
        let mut envs = Vec::new();
        for &space in chunk {
            let (mut f, genesis) = Founded::unsent(space);
            envs.push(genesis);
            for m in members {
                envs.push(f.add_unsent(m, Role::Member, None));
            }
        }
        let vectors = chunk.iter().map(|s| empty_vector(*s)).collect();
        let r = c.sync(&admin, &request(vectors, envs));
        assert!(r.rejected.is_empty(), "{:?}", r.rejected.first());
    }
}

/// A wait of `dev` (by seed) at `url` on a thread: its answer and when it came.
fn wait_at(
    url: &str,
    seed: u8,
    held: Vec<SpaceVector>,
) -> std::thread::JoinHandle<(Vec<SpaceId>, Instant)> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let c = Client::new(&url);
        let got = c.wait(&device(seed), held, WAIT_MS);
        (got, Instant::now())
    })
}

/// The backends of the nodes' listening connections for relay `relay_hex` (their
/// `application_name` names the relay).
fn listeners(relay_hex: &str) -> Vec<i32> {
    let admin = std::env::var(POSTGRES_ENV).unwrap();
    let mut db = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    db.query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid",
        &[&format!("sebaya-live {relay_hex}")],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Polls until `n` listening connections other than `old` are open, for at most a minute.
fn until_listening(relay_hex: &str, n: usize, old: &[i32]) -> Vec<i32> {
    let start = Instant::now();
    loop {
        let now: Vec<i32> = listeners(relay_hex)
            .into_iter()
            .filter(|p| !old.contains(p))
            .collect();
        if now.len() == n {
            return now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} listening connections, not {n}",
            now.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_push_through_one_node_wakes_a_wait_held_by_the_other() {
    let Some((a, mut b, metrics)) = two_nodes(&[]) else {
        return;
    };
    let (ca, cb) = (Client::new(&a.url), Client::new(&b.url));
    let (alice, bob) = (device(1), device(2));
    let (s1, s2) = (SpaceId([0x61; 16]), SpaceId([0x62; 16]));
    space_with(&ca, s1, &[&alice, &bob]);
    space_with(&ca, s2, &[&alice, &bob]);
    let held = vec![cb.pulled(&bob, s1), cb.pulled(&bob, s2)];
    let waiter = wait_at(&b.url, 2, held);
    until_waits(&metrics, 1);
    let sent = Instant::now();
    let r = ca.sync(
        &alice,
        &request(
            vec![empty_vector(s2)],
            vec![seal(&alice, s2, 1, b"referral")],
        ),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let (got, at) = waiter.join().unwrap();
    assert_eq!(got, vec![s2]);
    let took = at.duration_since(sent);
    assert!(
        took < WOKEN_WITHIN,
        "node B answered {took:?} after the push at node A: it was not woken"
    );
    // A node stopping closes its listening connection, and only its own.
    let relay_hex = hex::encode(&ca.relay_id);
    until_listening(&relay_hex, 2, &[]);
    b.terminate();
    let status = b
        .wait_exit(Duration::from_secs(30))
        .expect("node B did not stop");
    assert!(status.success(), "{status:?}");
    until_listening(&relay_hex, 1, &[]);
}

#[test]
fn a_device_own_push_through_one_node_does_not_wake_its_wait_at_the_other() {
    let Some((a, b, metrics)) = two_nodes(&[]) else {
        return;
    };
    let (ca, cb) = (Client::new(&a.url), Client::new(&b.url));
    let (alice, bob) = (device(1), device(2));
    let (s1, s2) = (SpaceId([0x63; 16]), SpaceId([0x64; 16]));
    space_with(&ca, s1, &[&alice, &bob]);
    space_with(&ca, s2, &[&alice, &bob]);
    // Bob waits with his vector of s1 from before his own push: woken for it, the wait would find
    // s1 holding something that vector lacks and name it.
    let held_s1 = cb.pulled(&bob, s1);
    let waiter = wait_at(&b.url, 2, vec![held_s1.clone(), cb.pulled(&bob, s2)]);
    until_waits(&metrics, 1);
    let r = ca.sync(
        &bob,
        &request(vec![held_s1], vec![seal(&bob, s1, 1, b"mine")]),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    // Long enough for a wake-up from node A to reach node B many times over.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(waits_open(&metrics), 1, "bob's own push ended his wait");
    let r = ca.sync(
        &alice,
        &request(vec![empty_vector(s2)], vec![seal(&alice, s2, 1, b"x")]),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let (got, _) = waiter.join().unwrap();
    assert_eq!(got, vec![s2]);
}

#[test]
fn a_cut_listening_connection_reconnects_and_a_later_push_still_wakes() {
    let Some((a, b, metrics)) = two_nodes(&[]) else {
        return;
    };
    let (ca, cb) = (Client::new(&a.url), Client::new(&b.url));
    let relay_hex = hex::encode(&ca.relay_id);
    let (alice, bob) = (device(1), device(2));
    let s1 = SpaceId([0x65; 16]);
    space_with(&ca, s1, &[&alice, &bob]);
    // Each node listens on its own connection; both are cut while bob waits at node B.
    let old = until_listening(&relay_hex, 2, &[]);
    let waiter = wait_at(&b.url, 2, vec![cb.pulled(&bob, s1)]);
    until_waits(&metrics, 1);
    let admin = std::env::var(POSTGRES_ENV).unwrap();
    let mut db = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    for pid in &old {
        db.execute("SELECT pg_terminate_backend($1)", &[pid])
            .unwrap();
    }
    until_listening(&relay_hex, 2, &old);
    // Node B says it listens again.
    let start = Instant::now();
    while metric(&metrics, "sebaya_relay_fanout_listening") != Some(1) {
        assert!(start.elapsed() < Duration::from_secs(60), "not listening");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The wait held across the cut is still held (a reconnection wakes it to look again, and it
    // finds nothing new), and a push now wakes it.
    assert_eq!(waits_open(&metrics), 1);
    let sent = Instant::now();
    let r = ca.sync(
        &alice,
        &request(vec![empty_vector(s1)], vec![seal(&alice, s1, 1, b"after")]),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let (got, at) = waiter.join().unwrap();
    assert_eq!(got, vec![s1]);
    assert!(
        at.duration_since(sent) < WOKEN_WITHIN,
        "not woken after the reconnection"
    );
    // And a wait begun after the cut is woken too.
    let waiter = wait_at(&b.url, 2, vec![cb.pulled(&bob, s1)]);
    until_waits(&metrics, 1);
    let sent = Instant::now();
    let r = ca.sync(
        &alice,
        &request(vec![empty_vector(s1)], vec![seal(&alice, s1, 2, b"again")]),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let (got, at) = waiter.join().unwrap();
    assert_eq!(got, vec![s1]);
    assert!(at.duration_since(sent) < WOKEN_WITHIN, "not woken");
}

#[test]
fn a_flood_of_pushes_to_many_spaces_wakes_every_wait_at_the_other_node() {
    // More spaces than one notification names (200), so the news goes out in several.
    const SPACES: usize = 250;
    let Some((a, b, metrics)) = two_nodes(&["--max-waits-per-device", "32"]) else {
        return;
    };
    let (ca, cb) = (Client::new(&a.url), Client::new(&b.url));
    let bob = device(2);
    let spaces: Vec<SpaceId> = (0..SPACES)
        .map(|i| {
            let mut id = [0x70; 16];
            id[1..3].copy_from_slice(&(i as u16).to_be_bytes());
            SpaceId(id)
        })
        .collect();
    // The admin (who wrote seqs 1 and 2 of each space: its genesis, bob's addition) pushes.
    found_many(&ca, &spaces, &[&bob]);
    // Bob waits on single spaces spread over the whole list, each wait of its own: every push
    // below, and each part of the largest push's news (spaces 0 to 199, 200 to 209, in id
    // order), stores in some of them.
    let mut watched: Vec<usize> = (0..SPACES).step_by(10).collect();
    watched.push(SPACES - 1);
    let waiters: Vec<_> = watched
        .iter()
        .map(|&i| (i, wait_at(&b.url, 2, vec![cb.pulled(&bob, spaces[i])])))
        .collect();
    until_waits(&metrics, watched.len() as u64);
    // The flood, all at once: one push storing in 210 spaces (its news alone is cut in two) and
    // four storing in ten spaces each.
    let mut parts = vec![spaces[..210].to_vec()];
    parts.extend(spaces[210..].chunks(10).map(<[SpaceId]>::to_vec));
    let pushing: Vec<_> = parts
        .into_iter()
        .map(|mine| {
            let url = a.url.clone();
            std::thread::spawn(move || {
                let (c, admin) = (Client::new(&url), device(100));
                let envs = mine.iter().map(|s| seal(&admin, *s, 3, b"flood")).collect();
                let vectors = mine.iter().map(|s| empty_vector(*s)).collect();
                let r = c.sync(&admin, &request(vectors, envs));
                assert!(r.rejected.is_empty(), "{:?}", r.rejected.first());
                Instant::now()
            })
        })
        .collect();
    let last = pushing
        .into_iter()
        .map(|t| t.join().unwrap())
        .max()
        .unwrap();
    for (i, waiter) in waiters {
        let (got, at) = waiter.join().unwrap();
        assert_eq!(got, vec![spaces[i]], "the wait on space {i}");
        // Woken at the latest a moment after the pushes were answered (the relay tells the other
        // nodes before it answers the push).
        assert!(
            at < last + WOKEN_WITHIN,
            "the wait on space {i} was not woken"
        );
    }
}

#[test]
fn a_flood_of_forged_wake_everything_notices_is_bounded_and_the_node_still_answers() {
    // Anyone who may connect to the database can send `1 NODE *`: each makes every wait at the
    // node look at the store again. A node coalesces them (one wake-all a second at most), and
    // those looks queue apart from the requests, which go on answering.
    const SPACES: usize = 20;
    const WAITS: usize = 48;
    let Some((a, b, metrics)) = two_nodes(&["--max-waits-per-device", "64"]) else {
        return;
    };
    let (ca, cb) = (Client::new(&a.url), Client::new(&b.url));
    let (alice, bob) = (device(1), device(2));
    let spaces: Vec<SpaceId> = (0..SPACES).map(|i| SpaceId([0x80 + i as u8; 16])).collect();
    found_many(&ca, &spaces, &[&alice, &bob]);
    let held: Vec<SpaceVector> = spaces.iter().map(|s| cb.pulled(&bob, *s)).collect();
    // Each waits again when its wait times out, as an app does: under load this test may last
    // longer than one wait.
    let waiters: Vec<_> = (0..WAITS)
        .map(|_| {
            let (url, held) = (b.url.clone(), held.clone());
            std::thread::spawn(move || {
                let (c, start) = (Client::new(&url), Instant::now());
                loop {
                    let got = c.wait(&device(2), held.clone(), 10_000);
                    if !got.is_empty() || start.elapsed() > Duration::from_secs(180) {
                        return (got, Instant::now());
                    }
                }
            })
        })
        .collect();
    until_waits(&metrics, WAITS as u64);
    let before = metric(&metrics, "sebaya_relay_live_wake_all_total")
        .expect("the node counts its wake-alls");
    // 100 forged wake-everything notices, each in its own transaction (PostgreSQL folds equal
    // notices of one transaction into one), then requests through node B right after.
    let admin = std::env::var(POSTGRES_ENV).unwrap();
    let mut db = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    let channel = format!("sebaya_live_{}", hex::encode(&ca.relay_id));
    let forging = Instant::now();
    for i in 0..100u64 {
        let payload = format!("1 {:016x} *", i + 1);
        db.execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
            .unwrap();
    }
    let forged_in = forging.elapsed();
    let pulls: Vec<SpaceVector> = spaces.iter().map(|s| empty_vector(*s)).collect();
    for _ in 0..10 {
        // `sync` asserts the answer is 200.
        let r = cb.sync(&alice, &request(pulls.clone(), vec![]));
        assert!(r.rejected.is_empty(), "{:?}", r.rejected.first());
    }
    // A wake-all put off is done a second later at most: let those come, then count.
    std::thread::sleep(Duration::from_secs(3));
    let rounds = metric(&metrics, "sebaya_relay_live_wake_all_total").unwrap() - before;
    let bound = 2 + forged_in.as_secs();
    assert!(
        (1..=bound).contains(&rounds),
        "{rounds} wake-all rounds for 100 notices sent in {forged_in:?} (at most {bound})"
    );
    // The waits looked again, found nothing new, and sleep again; a push ends them, right after
    // another flood (a push wakes a wait that still queues for its turn to look).
    until_waits(&metrics, WAITS as u64);
    for i in 0..100u64 {
        let payload = format!("1 {:016x} *", i + 1);
        db.execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
            .unwrap();
    }
    let sent = Instant::now();
    let r = cb.sync(
        &alice,
        &request(
            vec![cb.pulled(&alice, spaces[0])],
            vec![seal(&alice, spaces[0], 1, b"after the flood")],
        ),
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    for w in waiters {
        let (got, at) = w.join().unwrap();
        assert_eq!(got, vec![spaces[0]]);
        assert!(at.duration_since(sent) < WOKEN_WITHIN, "not woken");
    }
}
