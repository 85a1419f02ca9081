//! Who may push to and pull from a space: the relay's copy of each space's membership log.
//!
//! A space's log is made of its stored envelopes of kind membership (`docs/protocol.md`, section 15),
//! so nothing is persisted apart from them: after a restart, or when a space left the cache, its log
//! is rebuilt by replaying those envelopes in arrival order through the same admission rule that let
//! them in ([`SpaceLog::plan`]). Replaying reproduces every decision, because each statement was judged
//! against exactly the statements stored before it.
//!
//! Rebuilding judges each statement's past and evaluates the whole log once
//! ([`MembershipLog::insert_many_if`]): work near-linear per statement, counted by [`SpaceLog::work`]
//! and bounded by a test at about 3,000 statements of every hostile shape known. Logs are still cached
//! in memory, bounded by an estimate of their size ([`CACHE_BUDGET_BYTES`]), least recently used first
//! out. Spaces without a genesis are never cached: looking them up is one indexed query.
//!
//! **Locking.** Each space has its own reader-writer gate, which orders pushes against pulls of that
//! space. A push holds the write side of the spaces it names while it judges envelopes, stores them
//! and updates the cached logs; a pull holds the read side of the spaces it names while it checks who
//! may read and lists what to send. So every pull sees a log and stored envelopes that belong
//! together, no push decides on a log another push is changing, and a request for one space never
//! waits for a request that touches only others (issue 15, item 1). A request takes all its gates at
//! once or none (never holding some while waiting for others), so two requests naming the same
//! spaces in any order cannot deadlock; requests are served in arrival order per space, so none is
//! starved by later ones. Logs that are not cached are rebuilt before the gates are taken and brought up
//! to date under them ([`SpaceLog::catch_up`]), so a long rebuild holds up only the request that
//! needs it.
//!
//! **Several processes on one store** (PostgreSQL, [`RelayStore::shared`]). The gates order the
//! requests of one process; the store's [`RelayStore::lock_spaces`], taken right after them, orders
//! them across processes, so a push on one node and a pull on another never interleave either. A
//! cached log may then lack statements another node stored: whenever one is used (under the gates,
//! and for the stranger screen) it is first brought up to date from the store by serial, so a
//! removal taken by one node is enforced by every other at the very next request.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use sebaya_proto::membership::{
    Inserted, Judged, MAX_STATEMENTS, MembershipLog, MembershipState, Op, SignedStatement,
};
use sebaya_proto::{DeviceId, Envelope, ProtoError, SpaceId, reason};

use crate::admission::{Admissions, Policy};
use crate::error::StoreError;
use crate::quota::Quotas;
use crate::store::{RelayStore, SpaceHold};

/// Upper bound on the estimated memory of cached logs. A log of `n` statements is counted as
/// [`LOG_OVERHEAD_BYTES`]` + n × 1 KiB + n² / 4` bytes (each statement keeps bit sets of its
/// ancestors and descendants): about 8 MiB for a log at [`MAX_STATEMENTS`], about 10 KiB for a
/// group's usual log.
pub const CACHE_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// What a cached log takes whatever its length: its state's maps and sets, the cache's entry. A log
/// of a genesis and one add takes about 7 KB (measured in the soak, `docs/reliability.md`, finding
/// S2); counted without this at 2.3 KB, a relay with many small spaces held about three times its
/// budget.
pub const LOG_OVERHEAD_BYTES: usize = 6 * 1024;

/// One space's membership log as the relay holds it, with the state it determines.
#[derive(Clone, Debug)]
pub struct SpaceLog {
    log: MembershipLog,
    state: MembershipState,
    /// Every device some held statement makes an admin (valid or not): a device outside this set cannot
    /// be an admin in any state of this log, so its statements are refused without trying them.
    ever_admins: HashSet<DeviceId>,
    /// Serial of the last stored membership envelope replayed into this log (0: none). Statements
    /// added by pushes do not move it: replaying them again changes nothing.
    through: u64,
}

/// What admitting a statement takes, decided by [`SpaceLog::plan`] without changing the log.
#[derive(Debug)]
pub enum Plan {
    /// The log holds the statement already: nothing changes.
    Held,
    /// Insert it: it is known to be authorised.
    Insert,
}

impl SpaceLog {
    /// An empty log: the space does not exist until its genesis arrives.
    pub fn new(space: SpaceId) -> SpaceLog {
        SpaceLog {
            log: MembershipLog::new(space),
            state: MembershipState::default(),
            ever_admins: HashSet::new(),
            through: 0,
        }
    }

    /// Whether the relay holds the space's genesis (whether the space exists for it).
    pub fn has_genesis(&self) -> bool {
        self.log.genesis().is_some()
    }

    /// The device that founded the space: the author of its genesis.
    pub fn founder(&self) -> Option<DeviceId> {
        let genesis = self.log.genesis()?;
        self.log.get(&genesis).map(|g| g.statement().author)
    }

    /// The membership state of the held statements.
    pub fn state(&self) -> &MembershipState {
        &self.state
    }

    /// The log itself.
    pub fn log(&self) -> &MembershipLog {
        &self.log
    }

    /// Estimated memory use, for the cache budget.
    fn cost(&self) -> usize {
        let n = self.log.len();
        n.saturating_mul(1024)
            .saturating_add(n.saturating_mul(n) / 4)
            .saturating_add(LOG_OVERHEAD_BYTES)
    }

    /// Decides whether `statement` may join the log (the rules of `docs/protocol.md` 9.5), without
    /// changing it. Errors are reason codes.
    ///
    /// - held already: [`Plan::Held`];
    /// - no genesis held: only a genesis is admitted (the first one wins), anything else is
    ///   `unknown-space`; a second, different genesis is `conflict`;
    /// - a parent not held: `missing-parents` (nothing waits at the relay);
    /// - the log at [`MAX_STATEMENTS`]: `log-full`;
    /// - the author not an admin in the state of the statement's own past (`authorised_in_past`):
    ///   `not-authorised` (for a vouch: no device of its person in its past; for a recertify: the
    ///   author not a member there).
    ///
    /// An author no statement ever made an admin is refused at once; otherwise the log judges the
    /// statement's past ([`MembershipLog::judge`]: nothing to evaluate when its parents are the
    /// heads, one evaluation of its past otherwise), on the log itself, never a copy.
    pub fn plan(&self, statement: &SignedStatement) -> Result<Plan, &'static str> {
        Self::admit(&self.log, &self.ever_admins, statement)
    }

    /// [`SpaceLog::plan`] on a log and its set of ever-admins.
    fn admit(
        log: &MembershipLog,
        ever_admins: &HashSet<DeviceId>,
        statement: &SignedStatement,
    ) -> Result<Plan, &'static str> {
        let id = statement.id();
        if log.get(&id).is_some() {
            return Ok(Plan::Held);
        }
        let s = statement.statement();
        let is_genesis = matches!(s.op, Op::Genesis { .. });
        if log.genesis().is_none() {
            // An empty log (this relay never keeps a statement waiting for parents).
            return if is_genesis {
                Ok(Plan::Insert)
            } else {
                Err(reason::UNKNOWN_SPACE)
            };
        }
        if is_genesis {
            return Err(reason::CONFLICT);
        }
        if !s.parents.iter().all(|p| log.is_applied(p)) {
            return Err(reason::MISSING_PARENTS);
        }
        if log.len() >= MAX_STATEMENTS {
            return Err(reason::LOG_FULL);
        }
        // A vouch (a person's new device) or a recertify is not an admin's statement: its authority
        // comes from the person's devices in its past, so only its past can judge it.
        let by_person = matches!(
            s.op,
            Op::Vouch { .. }
                | Op::Recertify { .. }
                | Op::RevokeDevice { .. }
                | Op::Succession { .. }
        );
        // A leave or an end (15.11): a member's own word, judged by its past like a vouch.
        let by_person = by_person || s.op.by_member();
        if !by_person && !ever_admins.contains(&s.author) {
            return Err(reason::NOT_AUTHORISED);
        }
        match log.judge(statement) {
            Ok(Judged::Held) => Ok(Plan::Held),
            Ok(Judged::Missing(_)) => Err(reason::MISSING_PARENTS),
            Ok(Judged::Applicable { authorised: true }) => Ok(Plan::Insert),
            Ok(Judged::Applicable { authorised: false }) => Err(reason::NOT_AUTHORISED),
            Err(ProtoError::TooLarge { .. }) => Err(reason::LOG_FULL),
            Err(ProtoError::BadSignature) => Err(reason::BAD_SIGNATURE),
            Err(_) => Err(reason::MALFORMED),
        }
    }

    /// Remembers the devices a statement may make an admin (valid or not).
    fn note_admins(ever_admins: &mut HashSet<DeviceId>, statement: &SignedStatement) {
        let op = statement.statement().op;
        if let Some(d) = op.granted_admin() {
            ever_admins.insert(d);
        }
        // A person's new device takes the highest role of that person's devices: maybe admin.
        if matches!(op, Op::Vouch { .. }) {
            ever_admins.insert(statement.statement().author);
        }
    }

    /// Carries out a [`Plan`] made by [`SpaceLog::plan`] on this same log. An error (a reason code)
    /// means the log did not change.
    pub fn commit(&mut self, statement: SignedStatement, plan: Plan) -> Result<(), &'static str> {
        match plan {
            Plan::Held => return Ok(()),
            Plan::Insert => match self.log.insert(statement.clone()) {
                Ok(Inserted::Applied { .. } | Inserted::Duplicate) => {}
                // `plan` checked the parents, so this cannot happen; if it did, the statement would
                // sit in the log waiting, which this relay never allows.
                Ok(Inserted::Pending { .. }) => {
                    return Err(reason::MISSING_PARENTS);
                }
                Err(ProtoError::TooLarge { .. }) => return Err(reason::LOG_FULL),
                Err(ProtoError::BadSignature) => return Err(reason::BAD_SIGNATURE),
                Err(_) => return Err(reason::MALFORMED),
            },
        }
        Self::note_admins(&mut self.ever_admins, &statement);
        self.state = self.log.state();
        Ok(())
    }

    /// Rebuilds a space's log from its stored membership envelopes ([`SpaceLog::catch_up`] from
    /// nothing).
    pub fn rebuild(store: &dyn RelayStore, space: SpaceId) -> Result<SpaceLog, StoreError> {
        let mut space_log = SpaceLog::new(space);
        space_log.catch_up(store)?;
        Ok(space_log)
    }

    /// Replays the space's membership envelopes stored after the last one this log replayed, in
    /// arrival order, through the same rule that admitted them ([`SpaceLog::plan`]). Statements the
    /// log holds already change nothing; an envelope the rule refuses (only possible for envelopes
    /// stored before the relay authorised membership) is skipped. Since the relay stores a membership
    /// envelope only after admitting it against every statement stored before it, a log replayed this
    /// way is the log the relay had when it stored the last one.
    pub fn catch_up(&mut self, store: &dyn RelayStore) -> Result<(), StoreError> {
        let rows = store.membership_envelopes(&self.log.space(), self.through)?;
        self.replay(rows);
        Ok(())
    }

    /// [`SpaceLog::catch_up`] with the rows read already.
    fn replay(&mut self, rows: Vec<(u64, Vec<u8>)>) {
        let space = self.log.space();
        let mut statements = Vec::new();
        for (serial, bytes) in rows {
            self.through = self.through.max(serial);
            let Ok(envelope) = Envelope::parse(&bytes) else {
                continue;
            };
            let Ok(statement) = SignedStatement::from_envelope(&envelope) else {
                continue;
            };
            if statement.statement().space == space {
                statements.push(statement);
            }
        }
        if statements.is_empty() {
            return;
        }
        // One evaluation of the whole log at the end, not one per statement replayed.
        let ever_admins = &mut self.ever_admins;
        self.log.insert_many_if(statements, |log, statement| {
            let admitted = matches!(Self::admit(log, ever_admins, statement), Ok(Plan::Insert));
            if admitted {
                Self::note_admins(ever_admins, statement);
            }
            admitted
        });
        self.state = self.log.state();
    }

    /// Units of work every evaluation of this log has taken ([`MembershipLog::work`]).
    pub fn work(&self) -> u64 {
        self.log.work()
    }
}

struct Entry {
    log: Arc<SpaceLog>,
    cost: usize,
    used: u64,
}

struct Cache {
    map: HashMap<SpaceId, Entry>,
    bytes: usize,
    budget: usize,
    tick: u64,
}

impl Cache {
    fn new(budget: usize) -> Cache {
        Cache {
            map: HashMap::new(),
            bytes: 0,
            budget,
            tick: 0,
        }
    }

    fn get(&mut self, space: &SpaceId) -> Option<Arc<SpaceLog>> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(space).map(|e| {
            e.used = tick;
            e.log.clone()
        })
    }

    fn remove(&mut self, space: &SpaceId) {
        if let Some(old) = self.map.remove(space) {
            self.bytes = self.bytes.saturating_sub(old.cost);
        }
    }

    fn put(&mut self, space: SpaceId, log: Arc<SpaceLog>) {
        self.remove(&space);
        if !log.has_genesis() {
            return;
        }
        self.tick += 1;
        let cost = log.cost();
        self.bytes = self.bytes.saturating_add(cost);
        self.map.insert(
            space,
            Entry {
                log,
                cost,
                used: self.tick,
            },
        );
        while self.bytes > self.budget && self.map.len() > 1 {
            let oldest = self
                .map
                .iter()
                .filter(|(s, _)| **s != space)
                .min_by_key(|(_, e)| e.used)
                .map(|(s, _)| *s);
            match oldest {
                Some(s) => self.remove(&s),
                None => break,
            }
        }
    }
}

/// Who holds the gate of one space, and who waits for it.
#[derive(Default)]
struct Gate {
    readers: usize,
    writer: bool,
    /// Requests waiting for this space, by ticket (arrival order), and whether each would write.
    waiting: std::collections::BTreeMap<u64, bool>,
}

/// The gates of the spaces some request holds or waits for (a space nobody uses has no entry).
#[derive(Default)]
struct Gates {
    spaces: HashMap<SpaceId, Gate>,
    /// The next request's ticket.
    next: u64,
}

/// The relay's membership logs: a cache of [`SpaceLog`]s and the per-space gates that order pushes
/// and pulls. Shared by every request of one relay process.
///
/// Logs missing from the cache are rebuilt *before* the gates are taken, so that rebuilding a long log
/// holds up no other request; once the gates are held they are brought up to date with what was
/// stored meanwhile ([`SpaceLog::catch_up`], one indexed query).
pub struct Access {
    /// The bounds on what authors and spaces may store ([`crate::quota`]).
    quotas: Quotas,
    /// Envelopes refused for quota since the relay started (for operators).
    quota_refusals: AtomicU64,
    /// Who may store here ([`crate::admission`]).
    admissions: Admissions,
    /// Admission proofs that admitted nothing, since the relay started (for operators).
    admission_refusals: AtomicU64,
    /// Envelope signatures checked since the relay started (for operators, and for the tests that
    /// show a stranger's envelopes cost none).
    signature_checks: AtomicU64,
    gates: Mutex<Gates>,
    /// Signalled whenever a request lets gates go.
    released: Condvar,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cache = self.cache();
        f.debug_struct("Access")
            .field("cached_spaces", &cache.map.len())
            .field("cached_bytes", &cache.bytes)
            .finish()
    }
}

impl Default for Access {
    fn default() -> Self {
        Access::with_cache_budget(CACHE_BUDGET_BYTES)
    }
}

/// Logs rebuilt ahead of taking the gates, for spaces missing from the cache.
type Prepared = Vec<SpaceLog>;

impl Access {
    /// An empty cache with the default budget, [`CACHE_BUDGET_BYTES`].
    pub fn new() -> Access {
        Access::default()
    }

    /// An empty cache holding logs of at most about `bytes` (always at least the last one used).
    pub fn with_cache_budget(bytes: usize) -> Access {
        Access {
            quotas: Quotas::default(),
            quota_refusals: AtomicU64::new(0),
            signature_checks: AtomicU64::new(0),
            admissions: Admissions::default(),
            admission_refusals: AtomicU64::new(0),
            gates: Mutex::new(Gates::default()),
            released: Condvar::new(),
            cache: Mutex::new(Cache::new(bytes)),
        }
    }

    /// The cache's memory bound, as [`CACHE_BUDGET_BYTES`] counts it.
    pub fn cache_budget(&self) -> usize {
        self.cache().budget
    }

    /// Sets the quotas (default [`Quotas::default`]).
    pub fn with_quotas(mut self, quotas: Quotas) -> Access {
        self.quotas = quotas;
        self
    }

    /// Sets the admission policy (default: open to all).
    pub fn with_admission(mut self, policy: Policy) -> Access {
        self.admissions = Admissions::new(policy);
        self
    }

    /// The relay's admissions.
    pub fn admissions(&self) -> &Admissions {
        &self.admissions
    }

    /// Counts a proof of admission that admitted nothing.
    pub(crate) fn note_admission_refusal(&self) {
        self.admission_refusals.fetch_add(1, Ordering::Relaxed);
    }

    /// Proofs of admission that admitted nothing since the relay started: a device of a programme
    /// the operator forgot to list, an expired grant, or someone trying.
    pub fn admission_refusals(&self) -> u64 {
        self.admission_refusals.load(Ordering::Relaxed)
    }

    /// The quotas in force.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// Counts envelopes refused for quota.
    pub(crate) fn note_quota_refusals(&self, n: u64) {
        self.quota_refusals.fetch_add(n, Ordering::Relaxed);
    }

    /// Envelopes refused for quota since the relay started: what an operator watches to see a
    /// bound being hit (by a flood, or by honest use outgrowing it).
    pub fn quota_refusals(&self) -> u64 {
        self.quota_refusals.load(Ordering::Relaxed)
    }

    /// Counts envelope signatures checked.
    pub(crate) fn note_signature_check(&self) {
        self.signature_checks.fetch_add(1, Ordering::Relaxed);
    }

    /// Envelope signatures checked since the relay started: the relay's costliest work per envelope,
    /// which it spends only on envelopes whose author the space's log has heard of (issue 15, item 2).
    pub fn signature_checks(&self) -> u64 {
        self.signature_checks.load(Ordering::Relaxed)
    }

    /// The cache. A panic while it was locked may have left it half-updated; everything in it can be
    /// rebuilt from the store, so a poisoned cache is emptied and used again.
    fn cache(&self) -> MutexGuard<'_, Cache> {
        match self.cache.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                *guard = Cache::new(guard.budget);
                self.cache.clear_poison();
                guard
            }
        }
    }

    /// Rebuilds, without holding the gates, the logs of `spaces` that are not cached. Stops preparing
    /// once the rebuilt logs would pass half the cache budget (the rest are rebuilt under the gates when
    /// needed), so that one request naming many spaces cannot hold many large logs at once.
    fn prepare(&self, store: &dyn RelayStore, spaces: &[SpaceId]) -> Result<Prepared, StoreError> {
        let mut missing: Vec<SpaceId> = {
            let cache = self.cache();
            spaces
                .iter()
                .filter(|s| !cache.map.contains_key(s))
                .copied()
                .collect()
        };
        missing.sort_unstable();
        missing.dedup();
        let budget = self.cache().budget / 2;
        let mut prepared = Vec::new();
        let mut cost = 0usize;
        for space in missing {
            if cost > budget {
                break;
            }
            let log = SpaceLog::rebuild(store, space)?;
            cost = cost.saturating_add(log.cost());
            prepared.push(log);
        }
        Ok(prepared)
    }

    /// Under the gates: brings the prepared logs up to date and caches those with a genesis (unless
    /// another request cached the space meanwhile). Returns the logs of spaces without a genesis, which
    /// are never cached but stay valid while the gates are held.
    fn settle(
        &self,
        store: &dyn RelayStore,
        prepared: Prepared,
    ) -> Result<HashMap<SpaceId, Arc<SpaceLog>>, StoreError> {
        let mut uncached = HashMap::new();
        for mut log in prepared {
            let space = log.log.space();
            if self.cache().map.contains_key(&space) {
                continue;
            }
            log.catch_up(store)?;
            let log = Arc::new(log);
            if log.has_genesis() {
                self.cache().put(space, log);
            } else {
                uncached.insert(space, log);
            }
        }
        Ok(uncached)
    }

    /// Takes the read side of the gates of `spaces`, for checking who may read them and listing what to
    /// send. Their logs are prepared first, outside the gates.
    pub fn reader(
        &self,
        store: &dyn RelayStore,
        spaces: &[SpaceId],
    ) -> Result<Reader<'_>, StoreError> {
        let prepared = self.prepare(store, spaces)?;
        let held = self.take(spaces, false);
        let hold = store.lock_spaces(spaces, false)?;
        let uncached = self.settle(store, prepared)?;
        Ok(Reader {
            access: self,
            uncached,
            _hold: hold,
            _held: held,
        })
    }

    /// Takes the write side of the gates of `spaces`, for judging and storing envelopes pushed to them.
    /// Their logs are prepared first, outside the gates.
    pub fn writer(
        &self,
        store: &dyn RelayStore,
        spaces: &[SpaceId],
    ) -> Result<Writer<'_>, StoreError> {
        let prepared = self.prepare(store, spaces)?;
        let held = self.take(spaces, true);
        let hold = store.lock_spaces(spaces, true)?;
        let uncached = self.settle(store, prepared)?;
        Ok(Writer {
            access: self,
            uncached,
            _hold: hold,
            _held: held,
        })
    }

    /// The gates, whatever a panicking holder left: a gate's counts are changed only under this lock
    /// and never left half-changed.
    fn gates(&self) -> MutexGuard<'_, Gates> {
        self.gates.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until every gate of `spaces` is free for this request, then takes them all at once.
    /// Requests are served in arrival order per space: a reader waits for writers that came before
    /// it, a writer for everyone who came before it, so a request waiting for several spaces is never
    /// overtaken on one of them by later requests (no starvation), and since a request takes all its
    /// gates at once or none, none holds one while waiting for another (no deadlock).
    fn take(&self, spaces: &[SpaceId], write: bool) -> Held<'_> {
        let mut spaces = spaces.to_vec();
        spaces.sort_unstable();
        spaces.dedup();
        let mut gates = self.gates();
        let ticket = gates.next;
        gates.next += 1;
        for s in &spaces {
            gates
                .spaces
                .entry(*s)
                .or_default()
                .waiting
                .insert(ticket, write);
        }
        loop {
            let free = spaces.iter().all(|s| {
                gates.spaces.get(s).is_none_or(|g| {
                    let ahead = g
                        .waiting
                        .range(..ticket)
                        .any(|(_, earlier_writes)| write || *earlier_writes);
                    !(g.writer || ahead || (write && g.readers > 0))
                })
            });
            if free {
                break;
            }
            gates = self.released.wait(gates).unwrap_or_else(|p| p.into_inner());
        }
        for s in &spaces {
            let g = gates.spaces.entry(*s).or_default();
            g.waiting.remove(&ticket);
            if write {
                g.writer = true;
            } else {
                g.readers += 1;
            }
        }
        drop(gates);
        // Readers behind this one may share the gates it just took.
        self.released.notify_all();
        Held {
            access: self,
            spaces,
            write,
        }
    }

    /// Requests waiting for some gate (for tests and diagnostics).
    pub fn waiting(&self) -> usize {
        let gates = self.gates();
        let mut tickets: HashSet<u64> = HashSet::new();
        for g in gates.spaces.values() {
            tickets.extend(g.waiting.keys());
        }
        tickets.len()
    }

    /// The space's log: prepared, cached, or (if it was neither) rebuilt now and cached if it has a
    /// genesis. Callers hold a side of the space's gate, so no push changes its envelopes meanwhile.
    fn log(
        &self,
        store: &dyn RelayStore,
        uncached: &mut HashMap<SpaceId, Arc<SpaceLog>>,
        space: SpaceId,
    ) -> Result<Arc<SpaceLog>, StoreError> {
        if let Some(log) = uncached.remove(&space) {
            return Ok(log);
        }
        if let Some(log) = self.fresh(store, &space)? {
            return Ok(log);
        }
        let log = Arc::new(SpaceLog::rebuild(store, space)?);
        self.cache().put(space, log.clone());
        Ok(log)
    }

    /// The cached log of `space`, if any; from a shared store ([`RelayStore::shared`]) first
    /// brought up to date with the membership envelopes other processes stored since it was read
    /// (one indexed query when there are none), and cached so.
    fn fresh(
        &self,
        store: &dyn RelayStore,
        space: &SpaceId,
    ) -> Result<Option<Arc<SpaceLog>>, StoreError> {
        let Some(cached) = self.cache().get(space) else {
            return Ok(None);
        };
        if !store.shared() {
            return Ok(Some(cached));
        }
        let rows = store.membership_envelopes(space, cached.through)?;
        if rows.is_empty() {
            return Ok(Some(cached));
        }
        let mut log = (*cached).clone();
        drop(cached);
        log.replay(rows);
        let log = Arc::new(log);
        self.cache().put(*space, log.clone());
        Ok(Some(log))
    }

    /// Whether `device` is a stranger to `space` by its cached log (from a shared store, brought up
    /// to date first): the space exists, and the device is neither a member nor was ever removed
    /// from it. Read without the space's gate, so a push in progress may admit the device a moment
    /// later: good only for refusing `not-a-member` (which clears at the next sync) before waiting
    /// for the gate. False when the log is not cached, or the store could not be read (the request
    /// then goes on to the gate, where the store is read again).
    pub fn is_stranger(&self, store: &dyn RelayStore, space: &SpaceId, device: &DeviceId) -> bool {
        self.fresh(store, space).ok().flatten().is_some_and(|log| {
            let st = log.state();
            log.has_genesis() && !st.is_member(device) && !st.removed.contains_key(device)
        })
    }

    /// Makes sure the logs of `spaces` are cached before [`Access::is_stranger`] is asked about them,
    /// rebuilding those that are not (as any request naming them would) under the read side of their
    /// gates, briefly. Returns the spaces of which no genesis is held: everyone is a stranger there.
    /// A busy space's log is cached already (its writer cached it), so this waits on no busy space
    /// in practice; it waits only where a log must be rebuilt anyway.
    pub fn screen(
        &self,
        store: &dyn RelayStore,
        spaces: &[SpaceId],
    ) -> Result<HashSet<SpaceId>, StoreError> {
        let missing: Vec<SpaceId> = {
            let cache = self.cache();
            spaces
                .iter()
                .filter(|s| !cache.map.contains_key(s))
                .copied()
                .collect()
        };
        if missing.is_empty() {
            return Ok(HashSet::new());
        }
        let reader = self.reader(store, &missing)?;
        Ok(reader.uncached.keys().copied().collect())
    }

    /// Number of spaces whose logs are cached (for tests and diagnostics).
    pub fn cached_spaces(&self) -> usize {
        self.cache().map.len()
    }
}

/// Gates one request holds; let go when dropped.
struct Held<'a> {
    access: &'a Access,
    spaces: Vec<SpaceId>,
    write: bool,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut gates = self.access.gates();
        for s in &self.spaces {
            if let Some(g) = gates.spaces.get_mut(s) {
                if self.write {
                    g.writer = false;
                } else {
                    g.readers = g.readers.saturating_sub(1);
                }
                if g.readers == 0 && !g.writer && g.waiting.is_empty() {
                    gates.spaces.remove(s);
                }
            }
        }
        drop(gates);
        self.access.released.notify_all();
    }
}

/// The read side of the gates of the spaces a pull names: pushes to them wait while it is held. Ask
/// only for the logs of those spaces.
pub struct Reader<'a> {
    access: &'a Access,
    uncached: HashMap<SpaceId, Arc<SpaceLog>>,
    /// The other processes' side of the gates (a shared store); let go before this process's.
    _hold: SpaceHold,
    _held: Held<'a>,
}

impl Reader<'_> {
    /// The space's log. Ask once per space (a prepared log without genesis is handed over, not kept).
    pub fn log(
        &mut self,
        store: &dyn RelayStore,
        space: SpaceId,
    ) -> Result<Arc<SpaceLog>, StoreError> {
        self.access.log(store, &mut self.uncached, space)
    }
}

/// The write side of the gates of the spaces a push names: nobody else reads or changes their logs
/// while it is held. Ask only for the logs of those spaces.
pub struct Writer<'a> {
    access: &'a Access,
    uncached: HashMap<SpaceId, Arc<SpaceLog>>,
    /// The other processes' side of the gates (a shared store); let go before this process's.
    _hold: SpaceHold,
    _held: Held<'a>,
}

impl Writer<'_> {
    /// The space's log. Ask once per space (a prepared log without genesis is handed over, not kept).
    pub fn log(
        &mut self,
        store: &dyn RelayStore,
        space: SpaceId,
    ) -> Result<Arc<SpaceLog>, StoreError> {
        self.access.log(store, &mut self.uncached, space)
    }

    /// Drops the cached log of `space`, so that changing the caller's copy does not copy it again (the
    /// cache held the other reference). Call before changing a log; [`Writer::put`] it back once the
    /// store has committed. A log never put back is rebuilt from the store when next needed.
    pub fn forget(&self, space: &SpaceId) {
        self.access.cache().remove(space);
    }

    /// Caches the log of `space` after the store committed the envelopes it was changed by.
    pub fn put(&self, space: SpaceId, log: Arc<SpaceLog>) {
        self.access.cache().put(space, log);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::SqliteStore;
    use crate::store::NewEnvelope;
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use sebaya_proto::Kind;
    use sebaya_proto::membership::Role;
    use sebaya_proto::membership::{Statement, StatementId};

    const SPACE: SpaceId = SpaceId([6; 16]);

    fn device(n: u8) -> DeviceId {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[n; 32]).unwrap();
        DeviceId::from_slice(kp.public_key().as_ref()).unwrap()
    }

    fn sign(n: u8, parents: &[StatementId], op: Op) -> SignedStatement {
        let kp = Ed25519KeyPair::from_seed_unchecked(&[n; 32]).unwrap();
        Statement::new(SPACE, parents.to_vec(), device(n), 7, op)
            .sign(&kp)
            .unwrap()
    }

    fn add(by: u8, parents: &[StatementId], who: u8, role: Role) -> SignedStatement {
        sign(
            by,
            parents,
            Op::Add {
                device: device(who),
                role,
                person: None,
                x25519: None,
            },
        )
    }

    /// What a plain log says: the statement is authorised in its own past.
    fn truth(log: &MembershipLog, s: &SignedStatement) -> bool {
        let mut copy = log.clone();
        copy.insert(s.clone()).unwrap();
        copy.authorised_in_past(&s.id()) == Some(true)
    }

    fn admit(l: &mut SpaceLog, s: &SignedStatement) -> Result<(), &'static str> {
        let plan = l.plan(s)?;
        l.commit(s.clone(), plan)
    }

    /// Soak finding S2 (`docs/reliability.md`, "Soak"): a cached log of a genesis and one add was
    /// counted as 2,305 bytes while it took about 7 KB of the process's memory (measured in the perf
    /// profile: 3,700 such logs cached, RSS +24.6 MiB; with a 64 KiB budget, +1.8 MiB). Counted
    /// that low, the 256 MiB budget let the cache of a relay with many small spaces (every journal,
    /// index and group is one) grow to about three times the budget. The estimate must cover what
    /// was measured, and still grow with the log.
    #[test]
    fn a_small_logs_estimated_cost_covers_its_measured_memory() {
        let mut l = SpaceLog::new(SPACE);
        let g = sign(
            1,
            &[],
            Op::Genesis {
                admin: device(1),
                x25519: None,
            },
        );
        admit(&mut l, &g).unwrap();
        let a = add(1, &[g.id()], 2, Role::Member);
        admit(&mut l, &a).unwrap();
        assert!(
            l.cost() >= 7 * 1024,
            "a genesis and an add counted as {} bytes",
            l.cost()
        );
        let two = l.cost();
        admit(&mut l, &add(1, &[a.id()], 3, Role::Member)).unwrap();
        assert!(l.cost() > two, "the estimate grows with the log");
    }

    #[test]
    fn plan_agrees_with_the_log_on_every_path() {
        let mut l = SpaceLog::new(SPACE);
        let g = sign(
            1,
            &[],
            Op::Genesis {
                admin: device(1),
                x25519: None,
            },
        );
        assert_eq!(
            l.plan(&add(1, &[g.id()], 2, Role::Admin)).unwrap_err(),
            reason::UNKNOWN_SPACE
        );
        admit(&mut l, &g).unwrap();
        let add_b = add(1, &[g.id()], 2, Role::Admin);
        admit(&mut l, &add_b).unwrap();
        let add_c = add(1, &[add_b.id()], 3, Role::Member);
        admit(&mut l, &add_c).unwrap();
        let remove_b = sign(
            1,
            &[add_c.id()],
            Op::Remove {
                device: device(2),
                last_seq: 0,
            },
        );
        admit(&mut l, &remove_b).unwrap();

        // (statement, expected verdict); the fast path, the shortcut for never-admins and the trial
        // insert must all agree with the log itself.
        let cases: Vec<(SignedStatement, Result<(), &str>)> = vec![
            // B, removed, signing with its old parents: authorised in its past (slow path).
            (add(2, &[add_b.id()], 4, Role::Member), Ok(())),
            // B signing after its removal (parents = heads): not authorised (fast path).
            (
                add(2, &l.state().heads.clone(), 5, Role::Member),
                Err(reason::NOT_AUTHORISED),
            ),
            // C, never an admin (shortcut).
            (
                add(3, &l.state().heads.clone(), 5, Role::Member),
                Err(reason::NOT_AUTHORISED),
            ),
            // A with old parents (slow path), and with the heads (fast path).
            (add(1, &[add_b.id()], 6, Role::Member), Ok(())),
        ];
        for (s, expected) in cases {
            assert_eq!(truth(l.log(), &s), expected.is_ok());
            let before = l.log().len();
            assert_eq!(admit(&mut l, &s), expected);
            assert_eq!(l.log().len(), before + usize::from(expected.is_ok()));
            assert_eq!(l.state(), &l.log().state());
        }
        let latest = add(1, &l.state().heads.clone(), 7, Role::Member);
        assert!(truth(l.log(), &latest));
        assert!(matches!(l.plan(&latest).unwrap(), Plan::Insert));
        admit(&mut l, &latest).unwrap();
        assert!(l.state().is_member(&device(7)));
        assert!(!l.state().is_member(&device(2)));
        // B's backdated add is kept (every holder keeps the same set) but has no effect: it is
        // concurrent with B's removal.
        let backdated = add(2, &[add_b.id()], 4, Role::Member).id();
        assert_eq!(
            l.log().status(&backdated),
            Some(sebaya_proto::membership::Status::Invalid)
        );
        assert!(!l.state().is_member(&device(4)));

        // Held, a second genesis, unknown parents.
        assert!(matches!(l.plan(&add_c).unwrap(), Plan::Held));
        assert_eq!(
            l.plan(&sign(
                9,
                &[],
                Op::Genesis {
                    admin: device(9),
                    x25519: None
                }
            ))
            .unwrap_err(),
            reason::CONFLICT
        );
        assert_eq!(
            l.plan(&add(1, &[StatementId([0xee; 32])], 8, Role::Member))
                .unwrap_err(),
            reason::MISSING_PARENTS
        );
    }

    /// Random histories of five devices, concurrent branches included: whatever path `plan` takes,
    /// it admits exactly the statements the log itself finds authorised in their past.
    #[test]
    fn plan_agrees_with_the_log_on_random_histories() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..8 {
            let mut l = SpaceLog::new(SPACE);
            admit(
                &mut l,
                &sign(
                    1,
                    &[],
                    Op::Genesis {
                        admin: device(1),
                        x25519: None,
                    },
                ),
            )
            .unwrap();
            let (mut admitted, mut refused) = (0, 0);
            for step in 0..120u64 {
                let ids: Vec<StatementId> = l.log().statements().map(SignedStatement::id).collect();
                let parents = if next(2) == 0 {
                    l.state().heads.clone()
                } else {
                    let mut p = vec![ids[next(ids.len())], ids[next(ids.len())]];
                    p.sort();
                    p.dedup();
                    p
                };
                let author = 1 + next(5) as u8;
                let target = device(1 + next(5) as u8);
                let role = if next(3) == 0 {
                    Role::Admin
                } else {
                    Role::Member
                };
                let op = match next(3) {
                    0 => Op::Add {
                        device: target,
                        role,
                        person: None,
                        x25519: None,
                    },
                    1 => Op::Remove {
                        device: target,
                        last_seq: step,
                    },
                    _ => Op::SetRole {
                        device: target,
                        role,
                        last_seq: None,
                    },
                };
                let st = sign(author, &parents, op);
                let expected = truth(l.log(), &st);
                match admit(&mut l, &st) {
                    Ok(()) => {
                        assert!(
                            expected,
                            "admitted an unauthorised statement at step {step}"
                        );
                        admitted += 1;
                    }
                    Err(why) => {
                        assert_eq!(why, reason::NOT_AUTHORISED, "step {step}");
                        assert!(!expected, "refused an authorised statement at step {step}");
                        refused += 1;
                    }
                }
                assert_eq!(l.state(), &l.log().state());
            }
            assert!(admitted > 10 && refused > 10, "{admitted} {refused}");
        }
    }

    #[test]
    fn a_rebuilt_log_equals_the_admitted_one_and_the_cache_keeps_to_its_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let kp = Ed25519KeyPair::from_seed_unchecked(&[1; 32]).unwrap();
        let g = sign(
            1,
            &[],
            Op::Genesis {
                admin: device(1),
                x25519: None,
            },
        );
        let a = add(1, &[g.id()], 2, Role::Member);
        let forged = add(3, &[g.id()], 3, Role::Admin);
        let mut admitted = SpaceLog::new(SPACE);
        admit(&mut admitted, &g).unwrap();
        admit(&mut admitted, &a).unwrap();
        // Stored as a relay before this one would have stored them: a forged statement and an add
        // before its genesis. Replay skips what the rule refuses.
        let kp3 = Ed25519KeyPair::from_seed_unchecked(&[3; 32]).unwrap();
        let envs = [
            a.to_envelope(SPACE, 2, &kp).unwrap(),
            g.to_envelope(SPACE, 1, &kp).unwrap(),
            forged.to_envelope(SPACE, 1, &kp3).unwrap(),
            a.to_envelope(SPACE, 3, &kp).unwrap(),
        ];
        let batch: Vec<NewEnvelope<'_>> = envs
            .iter()
            .map(|e| {
                let h = e.header().unwrap();
                NewEnvelope {
                    space: SPACE,
                    author: h.author,
                    seq: h.seq,
                    kind: Kind::Membership,
                    id: e.id(),
                    bytes: e.as_bytes(),
                }
            })
            .collect();
        store.insert_envelopes(&batch, 1).unwrap();
        let mut rebuilt = SpaceLog::rebuild(&store, SPACE).unwrap();
        assert_eq!(rebuilt.state(), admitted.state());
        assert_eq!(rebuilt.log().len(), 2);

        // Stored later (by another request): catching up replays only what is new.
        let b = add(1, &[a.id()], 4, Role::Member);
        admit(&mut admitted, &b).unwrap();
        let later = b.to_envelope(SPACE, 4, &kp).unwrap();
        let h = later.header().unwrap();
        store
            .insert_envelopes(
                &[NewEnvelope {
                    space: SPACE,
                    author: h.author,
                    seq: h.seq,
                    kind: Kind::Membership,
                    id: later.id(),
                    bytes: later.as_bytes(),
                }],
                2,
            )
            .unwrap();
        rebuilt.catch_up(&store).unwrap();
        assert_eq!(rebuilt.state(), admitted.state());
        assert!(rebuilt.state().is_member(&device(4)));
        rebuilt.catch_up(&store).unwrap();
        assert_eq!(rebuilt.log().len(), 3);
        let again = SpaceLog::rebuild(&store, SPACE).unwrap();
        assert_eq!(again.state(), admitted.state());

        // A budget below one log keeps only the last one used.
        let access = Access::with_cache_budget(1);
        {
            let mut reader = access.reader(&store, &[SPACE, SpaceId([7; 16])]).unwrap();
            assert_eq!(access.cached_spaces(), 1, "prepared and cached");
            assert_eq!(reader.log(&store, SPACE).unwrap().state(), admitted.state());
            // A space without genesis is not cached.
            assert!(!reader.log(&store, SpaceId([7; 16])).unwrap().has_genesis());
            assert!(!reader.log(&store, SpaceId([9; 16])).unwrap().has_genesis());
            assert_eq!(access.cached_spaces(), 1);
        }
        let writer = access.writer(&store, &[]).unwrap();
        let mut other = SpaceLog::new(SpaceId([8; 16]));
        let g8 = Statement::new(
            SpaceId([8; 16]),
            vec![],
            device(1),
            7,
            Op::Genesis {
                admin: device(1),
                x25519: None,
            },
        )
        .sign(&kp)
        .unwrap();
        admit(&mut other, &g8).unwrap();
        writer.put(SpaceId([8; 16]), Arc::new(other));
        assert_eq!(access.cached_spaces(), 1, "the older log was evicted");
        writer.forget(&SpaceId([8; 16]));
        assert_eq!(access.cached_spaces(), 0);
    }

    /// Issue 15, item 1: a relay that restarts rebuilds each log from its store with near-linear work
    /// per statement (units of work, not time), for every hostile shape known at m = 1,500 (about
    /// 3,000 statements), through its own admission rule, and ends in the state the log gives.
    #[test]
    fn a_rebuild_after_a_restart_costs_near_linear_work_for_every_hostile_shape() {
        use sebaya_proto::membership::shapes;
        let mut over = Vec::new();
        for name in shapes::NAMES {
            let statements = shapes::by_name(name, 1500).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(dir.path()).unwrap();
            let envelopes = shapes::envelopes(&statements, 1500);
            let batch: Vec<NewEnvelope<'_>> = envelopes
                .iter()
                .map(|e| {
                    let h = e.header().unwrap();
                    NewEnvelope {
                        space: shapes::SPACE,
                        author: h.author,
                        seq: h.seq,
                        kind: Kind::Membership,
                        id: e.id(),
                        bytes: e.as_bytes(),
                    }
                })
                .collect();
            store.insert_envelopes(&batch, 1).unwrap();
            let rebuilt = SpaceLog::rebuild(&store, shapes::SPACE).unwrap();
            // The same statements in one batch (which the log's own tests show ends where inserting
            // them one by one does).
            let mut expected = MembershipLog::new(shapes::SPACE);
            expected.insert_many(
                statements
                    .iter()
                    .filter(|st| rebuilt.log().get(&st.id()).is_some())
                    .cloned(),
            );
            assert_eq!(rebuilt.state(), &expected.state(), "{name}");
            let n = rebuilt.log().len().max(2);
            // `n` units per statement for its ancestor and descendant sets, and near-linear judging and
            // evaluation: as `proto/src/membership/cost_tests.rs` bounds a rebuild.
            let bound = (n * n) as u64 + 64 * n as u64 * u64::from(usize::BITS - n.leading_zeros());
            if rebuilt.work() > bound {
                over.push(format!(
                    "{name}: {} units for {n} statements",
                    rebuilt.work()
                ));
            }
        }
        assert!(
            over.is_empty(),
            "rebuilds over the bound:\n{}",
            over.join("\n")
        );
    }
}
