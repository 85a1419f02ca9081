//! What both modes of `sebaya-crash` share: options, the tally, children and their output, the
//! record of pushed envelopes, and SQLite's own integrity check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sebaya_core::{HttpClient, HttpRequest, HttpResponse, ReqwestClient};
use sebaya_tests::powercut::{CUT_EXIT, Loss};

/// A run's options (see the binary's usage).
#[derive(Clone, Debug)]
pub struct Opts {
    pub power: bool,
    pub verbose: bool,
    pub trials: u64,
    pub seed: u64,
    pub chain: u64,
    pub max_kill_ms: u64,
    pub max_cut: Option<u64>,
    pub relay_bin: Option<PathBuf>,
    pub dir: Option<PathBuf>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            power: false,
            verbose: false,
            trials: 10,
            seed: 0,
            chain: 20,
            max_kill_ms: 800,
            max_cut: None,
            relay_bin: None,
            dir: None,
        }
    }
}

impl Opts {
    /// The way this run ends a child.
    pub fn how(&self) -> &'static str {
        if self.power { "power-loss" } else { "kill -9" }
    }
}

/// A seed from the clock, for a run not given one (printed, so it can be given next time).
pub fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    (t ^ u64::from(std::process::id())).max(1)
}

/// The loss model of a power-cut trial, from its random source (counted in the tally).
pub fn pick_loss(rng: &mut sebaya_tests::crashrng::Rng, tally: &mut Tally) -> Loss {
    let i = rng.below(3) as usize;
    tally.losses[i] += 1;
    [Loss::All, Loss::Prefix, Loss::Torn][i]
}

/// What a run found. The first block must stay zero; the second is measured.
#[derive(Debug, Default)]
pub struct Tally {
    pub trials: u64,
    /// Database files whose `PRAGMA integrity_check` did not say `ok`.
    pub corrupt: u64,
    /// Vaults (or relays) that did not open again.
    pub failed_opens: u64,
    /// Acknowledged writes not found again that the durability policy promises (kill -9: every
    /// one; power loss: those sent or synced before the cut).
    pub lost_acked: u64,
    /// Two different envelopes pushed under one (space, author, seq).
    pub duplicates: u64,
    /// Acknowledged writes the vault holds that a linked device did not get after a sync.
    pub not_delivered: u64,
    /// Relay usage rows that disagree with a recount of the stored envelopes.
    pub usage_mismatch: u64,
    /// Something went wrong that is not a finding about the product's files (a child's own error,
    /// a sync that failed in a check): printed; counted so a run cannot pass by not looking.
    pub harness_errors: u64,

    /// Writes the API acknowledged in all.
    pub acked: u64,
    /// Distinct envelopes the relay acknowledged (relay mode), each checked after every later kill.
    pub envelopes_acked: u64,
    /// Power-cut trials by loss model: everything unsynced lost, an ordered prefix kept, torn.
    pub losses: [u64; 3],
    /// Acknowledged writes lost by a power cut before any sync sealed them (allowed by the policy:
    /// everyday commits use `synchronous=NORMAL`).
    pub lost_unsynced: u64,
    /// Trials in which that happened.
    pub trials_losing_unsynced: u64,
    /// Children ended by SIGKILL / by the power cut / that ended otherwise.
    pub killed: u64,
    pub cut: u64,
    /// Envelopes of this device the relay refused as `conflict` in a check's sync.
    pub conflicts: u64,
    /// Seconds the run took.
    pub seconds: f64,
}

impl Tally {
    /// Whether every must-be-zero count is zero.
    pub fn clean(&self) -> bool {
        self.corrupt == 0
            && self.failed_opens == 0
            && self.lost_acked == 0
            && self.duplicates == 0
            && self.not_delivered == 0
            && self.usage_mismatch == 0
            && self.harness_errors == 0
    }

    pub fn print(&self, mode: &str, o: &Opts) {
        println!(
            "sebaya-crash {mode} {}: seed {}, {} trials in {:.0} s ({} killed, {} power cuts)",
            o.how(),
            o.seed,
            self.trials,
            self.seconds,
            self.killed,
            self.cut
        );
        println!(
            "  corrupt files {}, failed opens {}, lost acknowledged writes {}, duplicate (author, seq) {}, \
             not delivered {}, usage mismatches {}, harness errors {}",
            self.corrupt,
            self.failed_opens,
            self.lost_acked,
            self.duplicates,
            self.not_delivered,
            self.usage_mismatch,
            self.harness_errors
        );
        println!(
            "  acknowledged writes {}, lost before any sync (allowed under power loss) {} in {} trials, \
             conflicts answered in checks {}",
            self.acked, self.lost_unsynced, self.trials_losing_unsynced, self.conflicts
        );
        if self.envelopes_acked > 0 {
            println!(
                "  envelopes the relay acknowledged {} (each checked after every later kill of its chain)",
                self.envelopes_acked
            );
        }
        if o.power {
            println!(
                "  loss models: all unsynced lost {}, ordered prefix kept {}, torn by sector {}",
                self.losses[0], self.losses[1], self.losses[2]
            );
        }
        println!("  {}", if self.clean() { "PASS" } else { "FAIL" });
    }
}

/// Where an envelope sits: (space, author, seq).
pub type Place = ([u8; 16], [u8; 32], u64);

/// Every envelope pushed, by place: two ids at one place are two envelopes under one number.
#[derive(Debug, Default)]
pub struct Pushes(HashMap<Place, BTreeSet<[u8; 32]>>);

impl Pushes {
    pub fn add(&mut self, place: Place, id: [u8; 32]) {
        self.0.entry(place).or_default().insert(id);
    }

    /// Places that got more than one envelope.
    pub fn duplicates(&self) -> u64 {
        self.0.values().filter(|ids| ids.len() > 1).count() as u64
    }
}

/// Hex of bytes, for the child's lines.
pub fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

/// Reads a place and id from a child's `push` line (`push SPACE AUTHOR SEQ ID`).
pub fn parse_push(words: &[&str]) -> Option<(Place, [u8; 32])> {
    let [space, author, seq, id] = words else {
        return None;
    };
    let space: [u8; 16] = hex::decode(space).ok()?.try_into().ok()?;
    let author: [u8; 32] = hex::decode(author).ok()?.try_into().ok()?;
    let id: [u8; 32] = hex::decode(id).ok()?.try_into().ok()?;
    Some(((space, author, seq.parse().ok()?), id))
}

/// The envelopes of a sync request with their places and ids (`None` for other requests).
pub fn pushed(request: &HttpRequest) -> Option<Vec<(Place, [u8; 32])>> {
    let envs = sebaya_tests::net::pushed(request)?;
    Some(
        envs.into_iter()
            .filter_map(|(bytes, id)| {
                let env = sebaya_proto::Envelope::parse(&bytes).ok()?;
                let h = env.header().ok()?;
                Some(((h.space.0, h.author.0, h.seq), id))
            })
            .collect(),
    )
}

/// Told of every envelope pushed (before it is sent) and of the relay's answer.
pub trait PushSink: Sync {
    fn pushing(&self, envelopes: &[(Place, [u8; 32])]);
    /// `accepted[i]`: the relay answered 200 and did not refuse envelope `i`; `conflicts`: how
    /// many it refused as `conflict`.
    fn answered(&self, envelopes: &[(Place, [u8; 32])], accepted: &[bool], conflicts: u64);
}

/// An HTTP client that reports pushes to a [`PushSink`].
pub struct Logged<'a> {
    pub inner: ReqwestClient,
    pub sink: &'a dyn PushSink,
}

impl HttpClient for Logged<'_> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let envs = pushed(&request);
        if let Some(e) = &envs {
            self.sink.pushing(e);
        }
        let resp = self.inner.send(request)?;
        if let Some(e) = envs {
            let mut accepted = vec![resp.status == 200; e.len()];
            let mut conflicts = 0;
            if resp.status == 200 {
                let answer: sebaya_proto::sync::SyncResponse =
                    sebaya_proto::sync::decode(&resp.body).map_err(|e| e.to_string())?;
                for r in &answer.rejected {
                    if let Some(a) = accepted.get_mut(r.index as usize) {
                        *a = false;
                    }
                    conflicts += u64::from(r.reason == sebaya_proto::reason::CONFLICT);
                }
            }
            self.sink.answered(&e, &accepted, conflicts);
        }
        Ok(resp)
    }
}

/// `PRAGMA integrity_check` on a database file: `Ok` when SQLite says `ok`, else what it said.
pub fn integrity(path: &Path) -> Result<(), String> {
    let conn = rusqlite::Connection::open(path).map_err(|e| format!("open: {e}"))?;
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(|e| format!("integrity_check: {e}"))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| format!("integrity_check: {e}"))?;
    if rows == ["ok"] {
        Ok(())
    } else {
        Err(rows.join("; "))
    }
}

/// Removes a database file with its WAL and shared-memory index.
pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// A child process of this program, its stdout lines gathered as they come.
pub struct Running {
    pub child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    errors: Arc<Mutex<Vec<String>>>,
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Killed,
    Cut,
    /// It ended by itself, with this status (a finding or a harness error: the caller says).
    Other(Option<i32>),
}

impl Running {
    /// Starts `program` (this program when `None`) with `args`.
    pub fn start(program: Option<&Path>, args: &[String]) -> Running {
        let exe = match program {
            Some(p) => p.to_path_buf(),
            None => std::env::current_exe().unwrap(),
        };
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let (l, e) = (lines.clone(), errors.clone());
        let readers = vec![
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    l.lock().unwrap().push(line);
                }
            }),
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    e.lock().unwrap().push(line);
                }
            }),
        ];
        Running {
            child,
            lines,
            readers,
            errors,
        }
    }

    /// The lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a line starting with `prefix` is printed (or the child ends, or `limit` passes).
    pub fn wait_for(&self, prefix: &str, limit: Duration) -> Option<String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(l) = self.lines().into_iter().find(|l| l.starts_with(prefix)) {
                return Some(l);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        None
    }

    /// Sends SIGKILL (to this child's pid only) and waits for it.
    pub fn kill(mut self) -> (End, Vec<String>, Vec<String>) {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.finish(status)
    }

    /// Waits for the child to end by itself for at most `limit`; then kills it.
    pub fn wait(mut self, limit: Duration) -> (End, Vec<String>, Vec<String>) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return self.finish(status);
            }
            if start.elapsed() > limit {
                return self.kill();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn finish(self, status: ExitStatus) -> (End, Vec<String>, Vec<String>) {
        for r in self.readers {
            let _ = r.join();
        }
        use std::os::unix::process::ExitStatusExt;
        let end = if status.signal() == Some(9) {
            End::Killed
        } else if status.code() == Some(CUT_EXIT) {
            End::Cut
        } else {
            End::Other(status.code())
        };
        let lines = self.lines.lock().unwrap().clone();
        let errors = self.errors.lock().unwrap().clone();
        (end, lines, errors)
    }
}
