//! `sebaya-crash relay`: the relay killed (or its power cut) while devices push and pull, then its
//! database checked and the relay started again on it.
//!
//! Each chain makes three devices (each with a journal; one group holding all three, whose
//! facilitator is the first) and a relay data directory; the devices seal a snapshot every 16
//! changes and the relay prunes what a snapshot covers at once, so pruning runs under the kills too.
//! Each trial starts the relay child on the data directory, lets the three devices write and sync
//! from threads of the parent, and kills the child after a random delay (or lets its power go at a
//! random SQLite call). Then, with the relay down: `PRAGMA integrity_check`; every envelope the
//! relay answered 200 for without refusing it is stored under its place with the same id; the
//! `usage` table agrees with a recount of the stored envelopes. A chain ends by starting the relay
//! once more and letting every device sync until the three see the same group notes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, params};
use sebaya_core::{ReqwestClient, Role, SpaceId, Vault};
use sebaya_tests::crashrng::{Rng, trial_seed};
use sebaya_tests::powercut::{self, Loss, Plan};

use crate::crash_common::{
    End, Logged, Opts, Place, PushSink, Pushes, Running, Tally, integrity, pick_loss,
};

const DEVICES: u8 = 3;
/// The default range of power-cut points (mutating SQLite calls): chosen by trial so that a cut
/// falls within about a second of this load.
const DEFAULT_MAX_CUT: u64 = 400;
const BANNER: &str = "sebaya-relay listening on ";

/// What the relay acknowledged, and every push.
#[derive(Default)]
struct Record {
    acked: Mutex<HashMap<Place, [u8; 32]>>,
    pushes: Mutex<Pushes>,
}

impl PushSink for Record {
    fn pushing(&self, envelopes: &[(Place, [u8; 32])]) {
        let mut p = self.pushes.lock().unwrap();
        for (place, id) in envelopes {
            p.add(*place, *id);
        }
    }

    fn answered(&self, envelopes: &[(Place, [u8; 32])], accepted: &[bool], _: u64) {
        let mut a = self.acked.lock().unwrap();
        for ((place, id), ok) in envelopes.iter().zip(accepted) {
            if *ok {
                a.insert(*place, *id);
            }
        }
    }
}

struct Chain {
    dir: PathBuf,
    data: PathBuf,
    devices: Vec<Vault>,
    group: SpaceId,
    record: Record,
    dups_seen: u64,
}

fn start_relay(
    o: &Opts,
    data: &Path,
    cut: Option<(u64, Loss, u64)>,
) -> Result<(Running, String), String> {
    let mut args: Vec<String>;
    let program = match (&o.relay_bin, cut) {
        (Some(bin), None) => {
            args = vec![
                "--port".into(),
                "0".into(),
                "--snapshot-retention-days".into(),
                "0".into(),
            ];
            args.extend(["--data-dir".into(), data.display().to_string()]);
            Some(bin.as_path())
        }
        _ => {
            args = vec!["child-relay".into(), data.display().to_string()];
            if let Some((at, loss, seed)) = cut {
                args.extend([at.to_string(), loss.name().to_string(), seed.to_string()]);
            }
            None
        }
    };
    let relay = Running::start(program, &args);
    match relay.wait_for(BANNER, Duration::from_secs(30)) {
        Some(line) => {
            let url = line
                .split_whitespace()
                .find(|w| w.starts_with("http://"))
                .unwrap_or_default()
                .to_string();
            Ok((relay, url))
        }
        None => {
            let (end, lines, errors) = relay.kill();
            Err(format!(
                "the relay did not start ({end:?}): {lines:?} {errors:?}"
            ))
        }
    }
}

fn note(v: &mut Vault, g: &SpaceId, id: &str, text: &str) -> sebaya_core::Result<()> {
    let me = v.device_id().to_hex();
    v.with_space(g, |d, now| {
        sebaya_core::groups::add_note(d, id, "Catatan", text, &me, now)
    })
}

/// One sync, abandoned at the first failure (the relay may be gone): no retries and waits.
fn sync_once(v: &mut Vault, http: &Logged<'_>, url: &str) -> bool {
    use sebaya_core::HttpClient;
    let Ok(mut s) = v.sync_begin(url) else {
        return false;
    };
    loop {
        match v.sync_next_request(&mut s) {
            Ok(Some(req)) => match http.send(req) {
                Ok(resp) => {
                    if v.sync_handle_response(&mut s, resp).is_err() {
                        return false;
                    }
                }
                Err(_) => return false,
            },
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

fn new_chain(o: &Opts, base: &Path, n: u64) -> Chain {
    let dir = base.join(format!("chain-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("relay");
    let mut devices: Vec<Vault> = (0..DEVICES)
        .map(|i| {
            let mut v = Vault::open(&dir.join(format!("device-{i}.db")), &[0x61 + i; 32]).unwrap();
            v.create_person().unwrap();
            v.set_snapshot_every(16).unwrap();
            v.journal_add("Hari pertama.", 3, &[]).unwrap();
            v
        })
        .collect();
    let group = devices[0].create_group("Kelompok Kamis").unwrap();
    for i in 1..devices.len() {
        let request = devices[i].link_request().unwrap();
        let response = devices[0]
            .approve_group_member(&group, &request, Role::Member)
            .unwrap();
        devices[i].join_group(&response).unwrap();
    }
    let mut chain = Chain {
        dir,
        data,
        devices,
        group,
        record: Record::default(),
        dups_seen: 0,
    };
    let (relay, url) = start_relay(o, &chain.data, None).unwrap();
    let http = Logged {
        inner: ReqwestClient::new().unwrap(),
        sink: &chain.record,
    };
    for v in chain.devices.iter_mut() {
        assert!(sync_once(v, &http, &url), "a first sync failed");
    }
    drop(http);
    relay.kill();
    chain
}

/// Runs the relay trials.
pub fn run(o: &Opts) -> Tally {
    let start = Instant::now();
    let mut tally = Tally::default();
    let tmp = tempfile::tempdir().unwrap();
    let base = o.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    println!(
        "sebaya-crash relay {}: seed {} ({} trials, chains of {}, relay {})",
        o.how(),
        o.seed,
        o.trials,
        o.chain,
        match (&o.relay_bin, o.power) {
            (Some(b), false) => b.display().to_string(),
            _ => "served by this program".to_string(),
        }
    );
    let mut chain: Option<Chain> = None;
    for n in 0..o.trials {
        if n % o.chain == 0 {
            if let Some(c) = chain.take() {
                finish_chain(c, o, &mut tally);
            }
            chain = Some(new_chain(o, &base, n));
        }
        let c = chain.as_mut().unwrap();
        let broken = trial(c, o, n, &mut tally);
        tally.trials += 1;
        if broken {
            if let Some(c) = chain.take() {
                tally.envelopes_acked += c.record.acked.lock().unwrap().len() as u64;
            }
        }
    }
    if let Some(c) = chain.take() {
        finish_chain(c, o, &mut tally);
    }
    tally.seconds = start.elapsed().as_secs_f64();
    tally
}

/// Starts the relay once more; every device syncs until all three hold the same group notes.
fn finish_chain(mut c: Chain, o: &Opts, tally: &mut Tally) {
    tally.envelopes_acked += c.record.acked.lock().unwrap().len() as u64;
    match start_relay(o, &c.data, None) {
        Ok((relay, url)) => {
            let http = Logged {
                inner: ReqwestClient::new().unwrap(),
                sink: &c.record,
            };
            for _ in 0..2 {
                for v in c.devices.iter_mut() {
                    if !sync_once(v, &http, &url) {
                        tally.harness_errors += 1;
                        println!("a device's sync failed after the last restart");
                    }
                }
            }
            let notes: Vec<Vec<String>> = c
                .devices
                .iter()
                .map(|v| {
                    let mut ids: Vec<String> = v
                        .read_space(&c.group, sebaya_core::groups::notes)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|n| n.id)
                        .collect();
                    ids.sort();
                    ids
                })
                .collect();
            if notes.windows(2).any(|w| w[0] != w[1]) {
                tally.not_delivered += 1;
                println!(
                    "the devices disagree on the group's notes after the last sync: {:?}",
                    notes.iter().map(Vec::len).collect::<Vec<_>>()
                );
            }
            drop(http);
            relay.kill();
        }
        Err(e) => {
            tally.failed_opens += 1;
            println!("the relay did not start at the end of a chain: {e}");
        }
    }
    if o.dir.is_none() {
        let _ = std::fs::remove_dir_all(&c.dir);
    }
}

/// One trial; returns true when the chain cannot go on (the relay did not start).
fn trial(c: &mut Chain, o: &Opts, n: u64, tally: &mut Tally) -> bool {
    let seed = trial_seed(o.seed, n);
    let mut rng = Rng::new(seed);
    let say = |what: String| println!("trial {n} (seed {seed}): {what}");
    let cut = o.power.then(|| {
        let loss = pick_loss(&mut rng, tally);
        (
            rng.range(1, o.max_cut.unwrap_or(DEFAULT_MAX_CUT)),
            loss,
            seed,
        )
    });
    let (relay, url) = match start_relay(o, &c.data, cut) {
        Ok(r) => r,
        Err(e) => {
            tally.failed_opens += 1;
            say(e);
            return true;
        }
    };
    let stop = AtomicBool::new(false);
    let delay = Duration::from_millis(rng.range(20, o.max_kill_ms));
    let record = &c.record;
    let group = c.group;
    let writes = Mutex::new(0u64);
    let (end, _, errors) = std::thread::scope(|s| {
        for (i, v) in c.devices.iter_mut().enumerate() {
            let (stop, url, writes) = (&stop, &url, &writes);
            let mut rng = Rng::new(seed ^ (i as u64 + 1));
            s.spawn(move || {
                let http = Logged {
                    inner: ReqwestClient::new().unwrap(),
                    sink: record,
                };
                let mut k = 0;
                while !stop.load(Ordering::SeqCst) {
                    for _ in 0..rng.range(1, 3) {
                        k += 1;
                        let text = format!("Percobaan {n}, perangkat {i}, catatan {k}.");
                        let done = if rng.below(2) == 0 {
                            v.journal_add(&text, 3, &[]).map(|_| ())
                        } else {
                            let id = format!("{:016x}", rng.next_u64());
                            note(v, &group, &id, &text)
                        };
                        done.unwrap();
                        *writes.lock().unwrap() += 1;
                    }
                    if !sync_once(v, &http, url) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            });
        }
        let ended = if o.power {
            relay.wait(Duration::from_secs(60))
        } else {
            std::thread::sleep(delay);
            relay.kill()
        };
        stop.store(true, Ordering::SeqCst);
        ended
    });
    tally.acked += *writes.lock().unwrap();
    match end {
        End::Killed => tally.killed += 1,
        End::Cut => tally.cut += 1,
        End::Other(code) => {
            tally.harness_errors += 1;
            say(format!("the relay ended by itself ({code:?}): {errors:?}"));
        }
    }
    if o.power && end == End::Killed {
        say(format!("no power cut before the time limit ({cut:?})"));
    }
    check_store(c, tally, &say);
    let dups = c.record.pushes.lock().unwrap().duplicates();
    if dups > c.dups_seen {
        say(format!(
            "{} more places pushed with two different envelopes",
            dups - c.dups_seen
        ));
        tally.duplicates += dups - c.dups_seen;
        c.dups_seen = dups;
    }
    if o.verbose {
        say(format!(
            "{end:?}, {cut:?}, {} acknowledged envelopes so far",
            c.record.acked.lock().unwrap().len()
        ));
    }
    false
}

/// With the relay down: integrity, every acknowledged envelope stored, usage equal to a recount.
fn check_store(c: &Chain, tally: &mut Tally, say: &dyn Fn(String)) {
    let db = c.data.join(sebaya_relay::DB_FILE_NAME);
    if let Err(e) = integrity(&db) {
        tally.corrupt += 1;
        say(format!("integrity_check: {e}"));
    }
    let conn = match rusqlite::Connection::open(&db) {
        Ok(c) => c,
        Err(e) => {
            tally.failed_opens += 1;
            say(format!("the relay's database did not open: {e}"));
            return;
        }
    };
    let mut find = conn
        .prepare("SELECT id FROM envelopes WHERE space = ?1 AND author = ?2 AND seq = ?3")
        .unwrap();
    for ((space, author, seq), id) in c.record.acked.lock().unwrap().iter() {
        let held: Option<Vec<u8>> = find
            .query_row(params![&space[..], &author[..], *seq as i64], |r| r.get(0))
            .optional()
            .unwrap_or(None);
        if held.as_deref() != Some(&id[..]) {
            tally.lost_acked += 1;
            say(format!(
                "an acknowledged envelope (seq {seq}) is not stored"
            ));
        }
    }
    drop(find);
    match usage_mismatches(&conn) {
        Ok(0) => {}
        Ok(k) => {
            tally.usage_mismatch += k;
            say(format!("{k} usage rows disagree with a recount"));
        }
        Err(e) => {
            tally.harness_errors += 1;
            say(format!("usage recount failed: {e}"));
        }
    }
}

/// Usage scopes (space, author, total) whose row differs from a recount of the envelopes.
fn usage_mismatches(conn: &rusqlite::Connection) -> rusqlite::Result<u64> {
    let rows = |sql: &str| -> rusqlite::Result<BTreeMap<Vec<u8>, (i64, i64)>> {
        let mut stmt = conn.prepare(sql)?;
        let v = stmt
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(v)
    };
    let stored = rows("SELECT scope, bytes, envelopes FROM usage")?;
    let mut counted = rows(
        "SELECT CAST(x'73' || space AS BLOB), sum(length(bytes)), sum(pruned = 0) FROM envelopes GROUP BY space
         UNION ALL
         SELECT CAST(x'61' || author AS BLOB), sum(length(bytes)), sum(pruned = 0) FROM envelopes GROUP BY author",
    )?;
    let total: (i64, i64) = conn.query_row(
        "SELECT coalesce(sum(length(bytes)), 0), coalesce(sum(pruned = 0), 0) FROM envelopes",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    counted.insert(b"t".to_vec(), total);
    let mut bad = 0;
    for scope in stored
        .keys()
        .chain(counted.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let a = stored.get(scope).copied().unwrap_or((0, 0));
        let b = counted.get(scope).copied().unwrap_or((0, 0));
        bad += u64::from(a != b);
    }
    Ok(bad)
}

/// The relay child: `DATA_DIR [CUT LOSS SEED]`. Serves the relay library as `sebaya-relay` does
/// (with snapshot retention 0), on the power-cut VFS when a cut is given.
pub fn child(args: &[String]) -> ExitCode {
    let Some(data) = args.first().map(PathBuf::from) else {
        return ExitCode::from(2);
    };
    if let [_, cut, loss, seed] = args {
        let plan = Plan {
            cut_at: cut.parse().unwrap(),
            loss: Loss::parse(loss).unwrap(),
            seed: seed.parse().unwrap(),
        };
        powercut::install(plan).unwrap();
    }
    let state = match sebaya_relay::RelayState::open(&data) {
        Ok(s) => s.with_snapshot_retention(Some(0)),
        Err(e) => {
            println!("open-failed {e}");
            return ExitCode::from(3);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        println!("{BANNER}http://{addr} (data: {})", data.display());
        let _ = sebaya_relay::serve(listener, state, std::future::pending()).await;
    });
    ExitCode::SUCCESS
}
