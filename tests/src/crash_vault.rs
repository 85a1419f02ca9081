//! `sebaya-crash vault`: a vault killed (or its power cut) while it writes, syncs and rotates keys,
//! then opened and checked by the parent.
//!
//! Each chain makes a phone (a person, a journal) and a tablet linked to it, and a relay on loopback
//! in the parent that lives for the chain. Each trial runs the child on the phone's vault until it
//! is killed or loses its power, then, in the parent: `PRAGMA integrity_check`; `Vault::open`; every
//! write the child acknowledged (and every one of earlier trials) is in the journal; the phone syncs
//! and the tablet, syncing after it, holds them all; no (space, author, seq) was ever pushed with two
//! different envelopes, by the child or by the checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sebaya_core::{ReqwestClient, Vault};
use sebaya_tests::crashrng::{Rng, trial_seed};
use sebaya_tests::powercut::{self, Loss, Plan};

use crate::crash_common::{
    End, Logged, Opts, Place, PushSink, Pushes, Running, Tally, hex, integrity, parse_push,
    pick_loss, remove_db,
};

const PHONE_KEY: [u8; 32] = [0x51; 32];
const TABLET_KEY: [u8; 32] = [0x52; 32];
const EXTRA_KEY: [u8; 32] = [0x53; 32];
/// The default range of power-cut points (mutating SQLite calls): chosen by trial so that a cut falls
/// within about a second of the child's work, some 100 operations (`child-vault ... --ops N` prints
/// the calls N operations make).
const DEFAULT_MAX_CUT: u64 = 1_500;

/// Pushes seen by the parent's checks.
struct ParentSink {
    pushes: Mutex<Pushes>,
    conflicts: Mutex<u64>,
}

impl PushSink for ParentSink {
    fn pushing(&self, envelopes: &[(Place, [u8; 32])]) {
        let mut p = self.pushes.lock().unwrap();
        for (place, id) in envelopes {
            p.add(*place, *id);
        }
    }

    fn answered(&self, _: &[(Place, [u8; 32])], _: &[bool], conflicts: u64) {
        *self.conflicts.lock().unwrap() += conflicts;
    }
}

/// Pushes seen by the child: printed before they leave, so the parent knows of them even when the
/// child dies before the answer.
struct ChildSink;

impl PushSink for ChildSink {
    fn pushing(&self, envelopes: &[(Place, [u8; 32])]) {
        let mut out = std::io::stdout().lock();
        for ((space, author, seq), id) in envelopes {
            let _ = writeln!(out, "push {} {} {seq} {}", hex(space), hex(author), hex(id));
        }
        let _ = out.flush();
    }

    fn answered(&self, _: &[(Place, [u8; 32])], _: &[bool], _: u64) {}
}

struct Chain {
    dir: PathBuf,
    relay: sebaya_relay::RelayHandle,
    phone: PathBuf,
    tablet: PathBuf,
    /// Writes acknowledged and still owed by the vault (all of them, less those a power cut was
    /// allowed to lose).
    expected: BTreeSet<String>,
    sink: ParentSink,
    /// Places with two envelopes found so far on this chain.
    dups_seen: u64,
}

fn new_chain(base: &Path, n: u64) -> Chain {
    let dir = base.join(format!("chain-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let relay = sebaya_relay::spawn(sebaya_relay::RelayConfig {
        data_dir: dir.join("relay"),
        bind: "127.0.0.1:0".parse().unwrap(),
    })
    .unwrap();
    let (phone, tablet) = (dir.join("phone.db"), dir.join("tablet.db"));
    let chain = Chain {
        dir,
        relay,
        phone,
        tablet,
        expected: BTreeSet::new(),
        dups_seen: 0,
        sink: ParentSink {
            pushes: Mutex::new(Pushes::default()),
            conflicts: Mutex::new(0),
        },
    };
    let http = Logged {
        inner: ReqwestClient::new().unwrap(),
        sink: &chain.sink,
    };
    let mut p = Vault::open(&chain.phone, &PHONE_KEY).unwrap();
    p.create_person().unwrap();
    p.journal_add("Hari pertama.", 3, &[]).unwrap();
    let mut t = Vault::open(&chain.tablet, &TABLET_KEY).unwrap();
    t.complete_link(&p.approve_link(&t.link_request().unwrap()).unwrap())
        .unwrap();
    p.sync_with(&http, &chain.relay.url()).unwrap();
    t.sync_with(&http, &chain.relay.url()).unwrap();
    chain
}

/// Runs the vault trials.
pub fn run(o: &Opts) -> Tally {
    let start = Instant::now();
    let mut tally = Tally::default();
    let tmp = tempfile::tempdir().unwrap();
    let base = o.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    println!(
        "sebaya-crash vault {}: seed {} ({} trials, chains of {})",
        o.how(),
        o.seed,
        o.trials,
        o.chain
    );
    let mut chain: Option<Chain> = None;
    for n in 0..o.trials {
        if n % o.chain == 0 {
            if let Some(c) = chain.take() {
                finish_chain(c, o);
            }
            chain = Some(new_chain(&base, n));
        }
        let c = chain.as_mut().unwrap();
        let broken = trial(c, o, n, &mut tally);
        tally.trials += 1;
        if broken {
            // The vault did not open: nothing after it on this chain means anything.
            if let Some(c) = chain.take() {
                finish_chain(c, o);
            }
        }
    }
    if let Some(c) = chain.take() {
        finish_chain(c, o);
    }
    tally.seconds = start.elapsed().as_secs_f64();
    tally
}

fn finish_chain(c: Chain, o: &Opts) {
    let Chain { dir, relay, .. } = c;
    relay.shutdown();
    if o.dir.is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// One trial; returns true when the chain cannot go on (the vault did not open).
fn trial(c: &mut Chain, o: &Opts, n: u64, tally: &mut Tally) -> bool {
    let seed = trial_seed(o.seed, n);
    let mut rng = Rng::new(seed);
    let mut args: Vec<String> = vec![
        "child-vault".into(),
        c.phone.display().to_string(),
        c.relay.url(),
        c.dir.join("extra.db").display().to_string(),
        seed.to_string(),
        n.to_string(),
    ];
    let mut loss = None;
    if o.power {
        let l = pick_loss(&mut rng, tally);
        let cut = rng.range(1, o.max_cut.unwrap_or(DEFAULT_MAX_CUT));
        args.extend([cut.to_string(), l.name().to_string()]);
        loss = Some((cut, l));
    }
    let child = Running::start(None, &args);
    let (end, lines, errors) = if o.power {
        child.wait(Duration::from_secs(60))
    } else {
        std::thread::sleep(Duration::from_millis(rng.range(0, o.max_kill_ms)));
        child.kill()
    };
    let say = |what: String| println!("trial {n} (seed {seed}): {what}");
    match end {
        End::Killed => tally.killed += 1,
        End::Cut => tally.cut += 1,
        End::Other(code) => {
            tally.harness_errors += 1;
            say(format!("the child ended by itself ({code:?}): {errors:?}"));
        }
    }
    if o.power && end == End::Killed {
        say(format!("no power cut before the time limit ({loss:?})"));
    }

    // What the child acknowledged: writes, and which of them a finished sync carried.
    let mut acked: Vec<String> = Vec::new();
    let mut sent: BTreeSet<String> = BTreeSet::new();
    for line in &lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["write", id] => acked.push((*id).to_string()),
            ["sync"] => sent.extend(acked.iter().cloned()),
            ["push", rest @ ..] => match parse_push(rest) {
                Some((place, id)) => c.sink.pushes.lock().unwrap().add(place, id),
                None => say(format!("unreadable line: {line}")),
            },
            ["err", ..] => {
                tally.harness_errors += 1;
                say(format!("child: {line}"));
            }
            _ => {}
        }
    }
    tally.acked += acked.len() as u64;

    if let Err(e) = integrity(&c.phone) {
        tally.corrupt += 1;
        say(format!("integrity_check: {e}"));
    }
    let mut phone = match Vault::open(&c.phone, &PHONE_KEY) {
        Ok(v) => v,
        Err(e) => {
            tally.failed_opens += 1;
            say(format!("the vault did not open: {e}"));
            return true;
        }
    };
    let present: BTreeSet<String> = phone.journal_list().into_iter().map(|e| e.id).collect();
    let mut lost_now = 0;
    for id in c.expected.iter().chain(acked.iter()) {
        if present.contains(id) {
            continue;
        }
        // Owed for sure: anything under kill -9; under power loss what an earlier trial's check
        // synced or a finished sync of this child carried.
        if !o.power || c.expected.contains(id) || sent.contains(id) {
            tally.lost_acked += 1;
            say(format!("acknowledged write {id} lost"));
        } else {
            lost_now += 1;
        }
    }
    if lost_now > 0 {
        tally.lost_unsynced += lost_now;
        tally.trials_losing_unsynced += 1;
        if o.verbose {
            say(format!("{lost_now} unsynced writes lost ({loss:?})"));
        }
    }
    c.expected
        .extend(acked.into_iter().filter(|id| present.contains(id)));

    let conflicts_before = *c.sink.conflicts.lock().unwrap();
    let http = Logged {
        inner: ReqwestClient::new().unwrap(),
        sink: &c.sink,
    };
    let url = c.relay.url();
    // Twice: the first may learn of a number used before and re-seal; the second sends that.
    for _ in 0..2 {
        if let Err(e) = phone.sync_with(&http, &url) {
            tally.harness_errors += 1;
            say(format!("the phone's sync failed: {e}"));
        }
    }
    drop(phone);
    tally.conflicts += *c.sink.conflicts.lock().unwrap() - conflicts_before;
    match Vault::open(&c.tablet, &TABLET_KEY) {
        Ok(mut t) => {
            if let Err(e) = t.sync_with(&http, &url) {
                tally.harness_errors += 1;
                say(format!("the tablet's sync failed: {e}"));
            }
            let got: BTreeSet<String> = t.journal_list().into_iter().map(|e| e.id).collect();
            let missing = c.expected.difference(&got).count() as u64;
            if missing > 0 {
                tally.not_delivered += missing;
                say(format!(
                    "{missing} acknowledged writes did not reach the tablet"
                ));
            }
        }
        Err(e) => {
            tally.harness_errors += 1;
            say(format!("the tablet did not open: {e}"));
        }
    }
    // The count is chain-wide: add what is new since the last trial.
    let dups = c.sink.pushes.lock().unwrap().duplicates();
    if dups > c.dups_seen {
        say(format!(
            "{} more places pushed with two different envelopes",
            dups - c.dups_seen
        ));
        tally.duplicates += dups - c.dups_seen;
        c.dups_seen = dups;
    }
    if o.verbose {
        say(format!("{end:?}, {} lines, {loss:?}", lines.len()));
    }
    false
}

/// The child: opens the vault (on the power-cut VFS if asked) and works until it dies.
///
/// Arguments: `DB RELAY_URL EXTRA_DB SEED TRIAL [CUT LOSS] [--ops N]`. With `--ops N` it stops after
/// N operations and prints how many mutating SQLite calls it made (to size `--max-cut`).
pub fn child(args: &[String]) -> ExitCode {
    let (db, url, extra, seed, trial) = match args {
        [db, url, extra, seed, trial, ..] => (
            PathBuf::from(db),
            url.clone(),
            PathBuf::from(extra),
            seed.parse::<u64>().unwrap(),
            trial.parse::<u64>().unwrap(),
        ),
        _ => return ExitCode::from(2),
    };
    let mut ops_limit = None;
    let mut rest = &args[5..];
    if let [cut, loss, tail @ ..] = rest {
        if cut != "--ops" {
            let plan = Plan {
                cut_at: cut.parse().unwrap(),
                loss: Loss::parse(loss).unwrap(),
                seed,
            };
            powercut::install(plan).unwrap();
            rest = tail;
        }
    }
    if let [flag, n] = rest
        && flag == "--ops"
    {
        ops_limit = Some(n.parse::<u64>().unwrap());
        if powercut::mutating_calls() == 0
            && sebaya_tests::powercut::install(Plan {
                cut_at: 0,
                loss: Loss::All,
                seed,
            })
            .is_err()
        {
            return ExitCode::from(2);
        }
    }
    let mut rng = Rng::new(seed ^ 0x7a11);
    let mut v = match Vault::open(&db, &PHONE_KEY) {
        Ok(v) => v,
        Err(e) => {
            println!("err open {e}");
            return ExitCode::from(3);
        }
    };
    let http = Logged {
        inner: ReqwestClient::new().unwrap(),
        sink: &ChildSink,
    };
    let mut out = std::io::stdout();
    for i in 0.. {
        if ops_limit.is_some_and(|n| i >= n) {
            println!("calls {}", powercut::mutating_calls());
            return ExitCode::SUCCESS;
        }
        let r = rng.below(100);
        let line = if r < 70 {
            let text = format!("Percobaan {trial}, catatan {i}.");
            match v.journal_add(&text, (i % 5 + 1) as u8, &[]) {
                Ok(id) => format!("write {id}"),
                Err(e) => format!("err write {e}"),
            }
        } else if r < 94 {
            match v.sync_with(&http, &url) {
                Ok(_) => "sync".to_string(),
                Err(e) => format!("err sync {e}"),
            }
        } else {
            match rotate(&mut v, &extra) {
                Ok(()) => "rotate".to_string(),
                Err(e) => format!("err rotate {e}"),
            }
        };
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    ExitCode::SUCCESS
}

/// Links a fresh device to the journal and removes it again: the journal's key rotates.
fn rotate(v: &mut Vault, extra: &Path) -> sebaya_core::Result<()> {
    remove_db(extra);
    let other = Vault::open(extra, &EXTRA_KEY)?;
    v.approve_link(&other.link_request()?)?;
    v.remove_device(&other.device_id())?;
    Ok(())
}
